"""MQTT events through a real Mosquitto broker on loopback (Debian's mosquitto, started here)."""

from __future__ import annotations

import json
import shutil
import socket
import subprocess
import threading
import time

import pytest

from faceplane.errors import InvalidArgumentError
from faceplane.events import Event, EventBus
from faceplane.events.mqtt import MqttSink

MOSQUITTO = shutil.which("mosquitto") or "/usr/sbin/mosquitto"


@pytest.fixture
def broker(tmp_path):
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    conf = tmp_path / "mosquitto.conf"
    conf.write_text(f"listener {port} 127.0.0.1\nallow_anonymous true\npersistence false\n")
    try:
        proc = subprocess.Popen([MOSQUITTO, "-c", str(conf)], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    except FileNotFoundError:
        pytest.fail("mosquitto not found: apt-get install mosquitto (scripts/test does)")
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        try:
            socket.create_connection(("127.0.0.1", port), timeout=0.2).close()
            break
        except OSError:
            time.sleep(0.05)
    yield port
    proc.kill()
    proc.wait()


def test_events_arrive_on_their_topics(broker):
    import paho.mqtt.client as mqtt

    got: list[tuple[str, dict]] = []
    subscribed = threading.Event()
    sub = mqtt.Client(mqtt.CallbackAPIVersion.VERSION2, client_id="test-sub")
    sub.on_connect = lambda c, *a: c.subscribe("fp/events/#", qos=1)
    sub.on_subscribe = lambda *a: subscribed.set()
    sub.on_message = lambda c, u, msg: got.append((msg.topic, json.loads(msg.payload)))
    sub.connect("127.0.0.1", broker)
    sub.loop_start()
    sink = MqttSink("127.0.0.1", broker, prefix="fp", client_id="test-pub")
    try:
        assert subscribed.wait(10)
        bus = EventBus([sink])
        event = bus.publish(Event.new("watchlist.start", camera="front door", t_s=1.0, track_id=2, person_name="Ada"))
        deadline = time.monotonic() + 10
        while not got and time.monotonic() < deadline:
            time.sleep(0.05)
    finally:
        sink.close()
        sub.loop_stop()
        sub.disconnect()
    assert got == [("fp/events/front_door/watchlist.start", json.loads(event.to_json()))]


def test_a_watchlist_routed_to_its_own_topic(broker):
    """[collections.vip] mqtt_topics = ["alarm/vip"]: vip's alerts go there instead; other events as before."""
    import paho.mqtt.client as mqtt

    from faceplane.events.routing import AlertRoute, RoutedMqtt

    got: list[tuple[str, str]] = []
    subscribed = threading.Event()
    sub = mqtt.Client(mqtt.CallbackAPIVersion.VERSION2, client_id="test-sub-routes")
    sub.on_connect = lambda c, *a: c.subscribe("#", qos=1)
    sub.on_subscribe = lambda *a: subscribed.set()
    sub.on_message = lambda c, u, msg: got.append((msg.topic, json.loads(msg.payload)["id"]))
    sub.connect("127.0.0.1", broker)
    sub.loop_start()
    sink = RoutedMqtt(MqttSink("127.0.0.1", broker, prefix="fp", client_id="test-pub-routes"),
                      {"vip": AlertRoute(mqtt_topics=("alarm/vip",))})  # fmt: skip
    vip = Event.new("watchlist.start", camera="door", t_s=1.0, track_id=1, collection="vip", person_name="Ada")
    staff = Event.new("watchlist.start", camera="door", t_s=2.0, track_id=2, collection="staff", person_name="Bob")
    try:
        assert subscribed.wait(10)
        EventBus([sink]).publish(vip)
        EventBus([sink]).publish(staff)
        deadline = time.monotonic() + 10
        while len(got) < 2 and time.monotonic() < deadline:
            time.sleep(0.05)
    finally:
        sink.close()
        sub.loop_stop()
        sub.disconnect()
    assert sorted(got) == sorted([("alarm/vip", vip.id), ("fp/events/door/watchlist.start", staff.id)])


def test_bad_prefix():
    with pytest.raises(InvalidArgumentError):
        MqttSink("127.0.0.1", 1, prefix="a/#")
