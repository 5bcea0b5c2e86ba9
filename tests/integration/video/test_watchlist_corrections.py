"""The video watchlist honours corrections and a camera's own threshold (face_recognition's Hamilton clip).

Lin-Manuel Miranda is on the watchlist (one photo) and is alerted on in the clip (test_watchlist.py). Here an
operator's "not this person" is taken from the alert's snapshot, as ``POST /alerts/{id}/not-this-person``
does (the face nearest to the person named), and the clip is run again as a new visit: the camera decides
per track through ``Gallery.search``, which now rules him out, so no alert is raised. (He *is* Lin-Manuel:
the clip has no look-alike; the look-alike case is tests/integration/test_corrections.py, on LFW photos.)
A camera whose own threshold is stricter than his distance raises no alert either, while the same clip on
a camera with a looser target alerts.
"""

from __future__ import annotations

import pytest

from faceplane.events import EventBus, EventStore, MemorySink
from faceplane.gallery.thresholds import MatchThreshold
from faceplane.services.matching import MatchingService
from faceplane.video import AnalyzerSettings, LocalAnalyzer, VideoEngine, VideoSource

pytestmark = pytest.mark.slow


def _run(gallery, clip, tmp_path, match=None):
    sink = MemorySink()
    store = EventStore(tmp_path / "events")
    video = VideoEngine(
        engine=gallery.engine,
        gallery=gallery,
        watchlists=["watchlist"],
        bus=EventBus([sink], store=store),
        analyzer=LocalAnalyzer(AnalyzerSettings(embedder=gallery.engine.embedder_name)),
    )
    video.add_camera(VideoSource(clip, fps=5), match=match)
    try:
        video.run(duration_s=300)
    finally:
        video.analyzer.close()
    return sink, store


def test_a_corrected_alert_is_not_raised_again(gallery, examples, tmp_path):
    clip = str(examples / "short_hamilton_clip.mp4")
    sink, store = _run(gallery, clip, tmp_path / "first")
    (start,) = sink.of_kind("watchlist.start")
    assert start.person_name == "Lin-Manuel Miranda" and start.snapshot
    shots = [e for e in sink.events if e.kind in ("watchlist.start", "watchlist.update")]
    matching = MatchingService(gallery=gallery, events=store, cameras=lambda: [])
    done = matching.correct_alert(start.id)
    try:
        assert len(done) == len(shots) >= 2  # the visit's snapshots: its start and its better shots after
        assert all(v.after is not None and v.after.person is None for v in done)
        assert {v.correction.template_id for v in done} == {v.id for v in gallery.store.templates_of(start.person_id)}
        again, _ = _run(gallery, clip, tmp_path / "again")
        assert not [e for e in again.events if e.kind.startswith("watchlist.")], "the corrected face alerted again"
        assert again.of_kind("face.unknown"), "his tracks end as unknown faces"
    finally:
        gallery.negatives.remove([v.correction.id for v in done])


def test_a_camera_threshold_holds_its_shots(gallery, examples, tmp_path):
    clip = str(examples / "short_hamilton_clip.mp4")
    strict, _ = _run(gallery, clip, tmp_path / "strict", match=MatchThreshold(distance=0.3))
    assert not strict.of_kind("watchlist.start")
    loose, _ = _run(gallery, clip, tmp_path / "loose", match=MatchThreshold(fpir=0.01))
    assert [e.person_name for e in loose.of_kind("watchlist.start")] == ["Lin-Manuel Miranda"]
