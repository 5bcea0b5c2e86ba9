"""Recognition once per track: choose the best shots of a face track, embed only those, vote.

A face seen for ten seconds at 5 fps is 50 detections; embedding each would cost 50 descriptor runs
and 50 searches. A :class:`ShotPolicy` asks for an embedding only when a shot is good enough and
clearly better than every shot already embedded for that track, up to ``max_shots`` per track. The
identity of a track is then a vote over its embedded shots (:func:`vote`), so it can firm up, or
change, as better shots arrive.

Nothing here touches models or storage: the video engine embeds and searches, and feeds the
answers back with :meth:`TrackIdentities.add_result`.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np

from ..errors import InvalidArgumentError
from ..gallery.records import Candidate, Identification

__all__ = ["ShotPolicy", "TrackIdentities", "TrackIdentity", "vote"]


@dataclass(frozen=True)
class ShotPolicy:
    """When a face track deserves another embedding.

    Args:
        min_quality: shots below this overall quality (0..1) are never embedded, unless the track has
            been seen ``fallback_after`` times without a better one (a poor shot beats no answer).
        improve_by: a later shot must beat the best embedded quality by this much.
        max_shots: embeddings per track, at most.
        fallback_after: observations after which the best shot so far is embedded whatever its quality.
        refresh_after: observations after the last embedded shot when a shot nearly as good as the best
            (within ``improve_by``) is embedded again, so long tracks get several votes.
    """

    min_quality: float = 0.35
    improve_by: float = 0.08
    max_shots: int = 3
    fallback_after: int = 5
    refresh_after: int = 10

    def __post_init__(self) -> None:
        if not 0 <= self.min_quality <= 1:
            raise InvalidArgumentError(f"min_quality must be in [0, 1], got {self.min_quality}")
        if self.max_shots < 1:
            raise InvalidArgumentError(f"max_shots must be >= 1, got {self.max_shots}")
        if self.fallback_after < 1 or self.refresh_after < 1:
            raise InvalidArgumentError(
                f"fallback_after and refresh_after must be >= 1, got {self.fallback_after}, {self.refresh_after}"
            )


@dataclass
class TrackIdentity:
    """What is known of one face track's identity so far."""

    track_id: int
    seen: int = 0  # observations
    embedded: int = 0  # shots embedded (and searched)
    best_quality: float = -1.0  # best quality among embedded shots
    best_seen_quality: float = -1.0  # best quality among all shots
    last_taken: int = 0  # observation number of the last embedded shot
    results: list[Identification] = field(default_factory=list)
    person: Candidate | None = None  # the current vote's winner (None: unknown or not yet searched)

    @property
    def searched(self) -> bool:
        return bool(self.results)


def vote(results: Sequence[Identification]) -> Candidate | None:
    """The identity of a track from the searches of its shots.

    Each shot votes for its accepted person (within the open-set threshold); shots that matched
    nobody vote "unknown". The person with most votes wins if they have at least as many votes as
    "unknown"; ties between people go to the smaller best distance. The winner carries its best
    (smallest) distance over the shots.

    Example:
        >>> vote([]) is None
        True
    """
    votes: dict[int, list[Candidate]] = defaultdict(list)
    unknown = 0
    for result in results:
        person = result.person
        if person is None:
            unknown += 1
        else:
            votes[person.person_id].append(person)
    if not votes:
        return None
    pid = max(votes, key=lambda p: (len(votes[p]), -min(c.distance for c in votes[p])))
    if len(votes[pid]) < unknown:
        return None
    return min(votes[pid], key=lambda c: c.distance)


class TrackIdentities:
    """Per-track recognition state for one camera.

    Example:
        >>> ids = TrackIdentities(ShotPolicy())
        >>> ids.observe(7, quality=0.9)     # the first good shot is worth embedding
        True
        >>> ids.observe(7, quality=0.9)     # not better than the one already asked for
        False
    """

    def __init__(self, policy: ShotPolicy | None = None) -> None:
        self.policy = policy or ShotPolicy()
        self._tracks: dict[int, TrackIdentity] = {}

    def get(self, track_id: int) -> TrackIdentity:
        if track_id not in self._tracks:
            self._tracks[track_id] = TrackIdentity(track_id)
        return self._tracks[track_id]

    def observe(self, track_id: int, *, quality: float) -> bool:
        """Record one shot of a track; True when this shot should be embedded now."""
        state = self.get(track_id)
        state.seen += 1
        quality = float(quality) if np.isfinite(quality) else 0.0
        best_seen = state.best_seen_quality
        state.best_seen_quality = max(best_seen, quality)
        p = self.policy
        if state.embedded >= p.max_shots:
            return False
        if quality >= p.min_quality and quality >= state.best_quality + p.improve_by:
            return self._take(state, quality)
        due = state.embedded and state.seen - state.last_taken >= p.refresh_after
        if due and quality >= p.min_quality and quality >= state.best_quality - p.improve_by:
            return self._take(state, quality)
        # fallback: nothing good enough after a while; take this one if it is the best seen so far
        if state.embedded == 0 and state.seen >= p.fallback_after and quality >= best_seen:
            return self._take(state, quality)
        return False

    @staticmethod
    def _take(state: TrackIdentity, quality: float) -> bool:
        state.embedded += 1
        state.last_taken = state.seen
        state.best_quality = max(state.best_quality, quality)
        return True

    def add_result(self, track_id: int, result: Identification) -> tuple[Candidate | None, Candidate | None]:
        """Add one shot's search result; returns ``(before, after)`` identities of the track."""
        state = self.get(track_id)
        before = state.person
        state.results.append(result)
        state.person = vote(state.results)
        return before, state.person

    def end(self, track_id: int) -> TrackIdentity | None:
        """Forget a track that ended; returns its final state (None if it was never observed)."""
        return self._tracks.pop(track_id, None)

    def active(self) -> list[int]:
        return list(self._tracks)
