"""People and vehicles with the CNN object detector (NanoDet from the model store) on real clips.

The Hamilton clip (face_recognition's examples): Lin-Manuel Miranda in close-up at 0.2-0.8 s and 2.8-7.2 s, the
audience between, three people of the audience for the last 2 s. OpenCV's HOG people detector finds nobody in
it (its window wants a whole standing body); the CNN finds the close-up person, whose face track names them.
Intel's car-detection clip: 4 cars cross the middle, 2 each way, counted by eye (its SOURCE.txt).
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from faceplane.events import EventBus, MemorySink
from faceplane.video import AnalyzerSettings, LocalAnalyzer, VideoEngine, VideoSource, Zone
from faceplane.video.analyzer import ObjectSettings

pytestmark = pytest.mark.slow

CAR_CLIP = Path("objects/intel-car-detection-video/car-detection.mp4")
WHOLE_FRAME = "all=0,0,1,0,1,1,0,1;classes=person;dwell=2"


def _run_people(gallery, examples, detector: str) -> tuple:
    sink = MemorySink()
    video = VideoEngine(
        engine=gallery.engine,
        gallery=gallery,
        watchlists=["watchlist"],
        bus=EventBus([sink]),
        analyzer=LocalAnalyzer(AnalyzerSettings(embedder=gallery.engine.embedder_name)),
    )
    source = VideoSource(str(examples / "short_hamilton_clip.mp4"), fps=5)
    video.add_camera(source, zones=[Zone.parse(WHOLE_FRAME)], objects=ObjectSettings(("person",), detector))
    (summary,) = video.run(duration_s=300)
    return summary, sink


def test_hog_finds_nobody_in_the_close_up(gallery, examples):
    summary, sink = _run_people(gallery, examples, "hog")
    assert summary.frames == 46 and summary.face_tracks > 0
    assert summary.people_tracks == 0 and not [e for e in sink.events if e.kind.startswith("zone.")]


def test_a_person_is_counted_once_and_named_by_their_face(gallery, examples):
    summary, sink = _run_people(gallery, examples, "nanodet")
    zone = [e for e in sink.events if e.kind.startswith("zone.")]
    face_tracks = {e.track_id for e in sink.events if e.kind in ("visitor.new", "face.unknown", "watchlist.start")}
    person_tracks = {e.track_id for e in zone}
    assert summary.people_tracks >= 1 and summary.object_tracks == {"person": summary.people_tracks}
    # the zone counts person tracks, not the faces inside them (ids are unique across the camera's trackers)
    assert all(e.object_class == "person" for e in zone) and not person_tracks & face_tracks
    entries = [e.track_id for e in zone if e.kind == "zone.enter"]
    assert sorted(entries) == sorted(person_tracks)  # each person enters once: feet at the bottom edge stay inside
    # the close-up of 2.8-7.2 s: one person track, named from the face track inside it
    named = {e.track_id for e in zone if e.person_name == "Lin-Manuel Miranda"}
    assert named, [(e.kind, e.t_s, e.track_id, e.person_name) for e in zone]
    (dwell,) = [e for e in zone if e.kind == "zone.dwell"]  # once, for the only person inside for 2 s
    assert dwell.track_id in named and dwell.dwell_s >= 2.0 and dwell.person_name == "Lin-Manuel Miranda"
    (exit_,) = [e for e in zone if e.kind == "zone.exit" and e.track_id == dwell.track_id]
    assert exit_.dwell_s >= 3.5 and exit_.t_s - dwell.t_s == pytest.approx(exit_.dwell_s - dwell.dwell_s, abs=0.01)


@pytest.mark.xfail(
    strict=True,
    reason="NanoDet and CenterNet score these cars, filmed from straight above, at 0.1-0.3 and miss them mid-frame "
    "for any input size (320-640) and track threshold (0.15-0.5): no car track crosses the line",
)
def test_cli_counts_cars_crossing_the_middle(data, tmp_path):
    """``faceplane run car-detection.mp4 --objects car --line mid=0,0.5,1,0.5``: 2 cars down ("in"), 2 up ("out")."""
    events = tmp_path / "events.jsonl"
    args = [str(data / CAR_CLIP), "--objects", "car", "--line", "mid=0,0.5,1,0.5", "--json", "--events", str(events)]
    args += ["--data-dir", str(tmp_path / "none")]
    done = subprocess.run(
        [str(Path(sys.executable).with_name("faceplane")), "run", *args], capture_output=True, text=True, timeout=600
    )
    assert done.returncode == 0, done.stderr
    summary = json.loads(done.stdout.splitlines()[-1])
    assert summary["line_counts"]["mid"] == {"in": 2, "out": 2}, summary
    assert summary["class_counts"]["mid"] == {"car": {"in": 2, "out": 2}}
    crossed = [e for e in map(json.loads, events.read_text().splitlines()) if e["kind"] == "line.crossed"]
    assert [e["direction"] for e in crossed] == ["out", "in", "out", "in"], crossed  # by eye: 6.1, 16.6, 17.0, 26.6 s
    assert {e["class"] for e in crossed} == {"car"}
