"""Best-shot policy and the vote over a track's shots."""

from __future__ import annotations

import pytest

from faceplane.errors import InvalidArgumentError
from faceplane.gallery.records import Candidate, Identification
from faceplane.video.recognise import ShotPolicy, TrackIdentities, vote


def _result(person_id: int | None, distance: float, thr: float = 0.5) -> Identification:
    if person_id is None:
        return Identification([Candidate(9, "c", "stranger-ish", thr + 0.1, 1)], thr)
    return Identification([Candidate(person_id, "c", f"p{person_id}", distance, person_id)], thr)


@pytest.mark.parametrize(
    ("shots", "winner"),
    [
        ([], None),
        ([(1, 0.4)], 1),
        ([(None, 0)], None),
        ([(1, 0.4), (2, 0.3), (1, 0.45)], 1),  # majority beats a single closer shot
        ([(1, 0.4), (2, 0.3)], 2),  # a tie goes to the closer person
        ([(1, 0.4), (None, 0), (None, 0)], None),  # "unknown" outvotes one match
        ([(1, 0.4), (None, 0)], 1),  # a tie with unknown keeps the match
    ],
)
def test_vote(shots, winner):
    person = vote([_result(p, d) for p, d in shots])
    assert (person.person_id if person else None) == winner


def test_vote_reports_best_distance():
    person = vote([_result(1, 0.45), _result(1, 0.31)])
    assert person is not None and person.distance == pytest.approx(0.31)


def test_policy_embeds_few_shots_and_only_better_ones():
    ids = TrackIdentities(ShotPolicy(min_quality=0.4, improve_by=0.1, max_shots=3, refresh_after=100))
    taken = [ids.observe(1, quality=q) for q in [0.3, 0.5, 0.55, 0.65, 0.7, 0.9, 0.95, 0.99, 1.0]]
    assert taken == [False, True, False, True, False, True, False, False, False]
    assert ids.get(1).embedded == 3


def test_policy_fallback_takes_best_poor_shot():
    ids = TrackIdentities(ShotPolicy(min_quality=0.8, fallback_after=3))
    taken = [ids.observe(2, quality=q) for q in [0.2, 0.3, 0.25, 0.3]]
    assert taken == [False, False, False, True]


def test_policy_refresh_on_long_tracks():
    ids = TrackIdentities(ShotPolicy(min_quality=0.4, improve_by=0.1, max_shots=3, refresh_after=4))
    taken = [ids.observe(3, quality=0.8) for _ in range(10)]
    assert taken == [True, False, False, False, True, False, False, False, True, False]


def test_add_result_changes_identity_and_end_forgets():
    ids = TrackIdentities()
    assert ids.add_result(4, _result(1, 0.4)) == (None, ids.get(4).person)
    before, after = ids.add_result(4, _result(2, 0.2))
    assert before is not None and before.person_id == 1 and after is not None and after.person_id == 2
    state = ids.end(4)
    assert state is not None and len(state.results) == 2 and 4 not in ids.active()


@pytest.mark.parametrize(
    "kwargs", [{"min_quality": 1.5}, {"max_shots": 0}, {"fallback_after": 0}, {"refresh_after": 0}]
)
def test_policy_rejects_bad_values(kwargs):
    with pytest.raises(InvalidArgumentError):
        ShotPolicy(**kwargs)
