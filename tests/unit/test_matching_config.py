"""Settings of thresholds per camera and collection, alert routing per watchlist and the enrollment gate."""

from __future__ import annotations

import pytest

from faceplane.bootstrap import _alert_routes
from faceplane.config import CameraConfig, Settings, load_settings
from faceplane.errors import InvalidArgumentError
from faceplane.events.routing import AlertRoute
from faceplane.gallery.gallery import QualityGate
from faceplane.gallery.thresholds import MatchThreshold

HOOKS = [
    {"name": "desk", "url": "https://desk.example.org/hook", "secret": "a-long-secret"},
    {"url": "https://crm.example.org/hook", "secret": "a-long-secret"},
]


def test_a_toml_file_sets_all_of_it(tmp_path):
    path = tmp_path / "faceplane.toml"
    path.write_text(
        """
[[cameras]]
id = "door"
source = "rtsp://10.0.0.5/stream"
match_fpir = 0.001

[[webhooks]]
name = "desk"
url = "https://desk.example.org/hook"
secret = "a-long-secret"

[collections.watchlist]
match_distance = 0.9
webhooks = ["desk"]
mqtt_topics = ["alarm/watchlist"]

[collections.staff]
match_fpir = 0.05

[enrollment_gate]
min_face_px = 80
min_cue = 0.4
largest_face_only = true
"""
    )
    settings = load_settings(path)
    assert settings.cameras[0].match_threshold() == MatchThreshold(fpir=0.001)
    assert settings.collections["watchlist"].match_threshold() == MatchThreshold(distance=0.9)
    assert settings.collections["staff"].match_threshold() == MatchThreshold(fpir=0.05)
    assert settings.enrollment_gate.gate() == QualityGate(min_face_px=80, min_cue=0.4, largest_face_only=True)
    assert _alert_routes(settings) == {"watchlist": AlertRoute(webhooks=("desk",), mqtt_topics=("alarm/watchlist",))}


def test_the_defaults_change_nothing():
    settings = Settings()
    assert settings.collections == {} and _alert_routes(settings) == {}
    assert settings.enrollment_gate.gate() == QualityGate()  # the library's own gate
    assert CameraConfig(id="door", source="rtsp://h/s").match_threshold() is None


@pytest.mark.parametrize(
    "settings",
    [
        {"cameras": [{"id": "d", "source": "rtsp://h/s", "match_fpir": 0.01, "match_distance": 0.9}]},
        {"cameras": [{"id": "d", "source": "rtsp://h/s", "match_fpir": 1.5}]},
        {"collections": {"vip": {"match_fpir": 0.01, "match_distance": 0.9}}},
        {"collections": {"vip": {"match_distance": 3.0}}},
        {"collections": {"vip": {"webhooks": ["nobody"]}}, "webhooks": HOOKS},
        {"collections": {"vip": {"mqtt_topics": ["alarm/#"]}}},
        {"collections": {"not a name!": {"match_fpir": 0.01}}},
        {"collections": {"vip": {"colour": "red"}}},
        {"webhooks": [HOOKS[0], HOOKS[0]]},  # two webhooks called "desk"
        {"enrollment_gate": {"min_cue": 2}},
    ],
)
def test_bad_settings_are_refused(settings):
    with pytest.raises(InvalidArgumentError):
        load_settings(**settings)
