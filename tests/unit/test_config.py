"""Server settings: TOML, environment, overrides; refusals."""

from __future__ import annotations

import pytest

from faceplane.config import DEV_ADMIN_KEY, load_settings
from faceplane.errors import InvalidArgumentError


def test_file_then_environment_then_options(tmp_path, monkeypatch):
    path = tmp_path / "fp.toml"
    path.write_text('port = 9000\nwatchlists = ["vip"]\n[[cameras]]\nid = "door"\nsource = "x.mp4"\n')
    assert load_settings(path).port == 9000
    monkeypatch.setenv("FACEPLANE_PORT", "9100")
    assert load_settings(path).port == 9100
    settings = load_settings(path, port=9200)
    assert settings.port == 9200 and settings.watchlists == ["vip"] and settings.cameras[0].id == "door"


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("portt = 1\n", "Extra inputs"),
        ("port = 0\n", "port"),
        ('environment = "production"\n', "admin_api_key"),
        (f'environment = "production"\nadmin_api_key = "{DEV_ADMIN_KEY}"\n', "admin_api_key"),
        ('[[cameras]]\nid = "a b"\nsource = "x"\n', "cameras.0.id"),
        ('[[cameras]]\nid = "a"\nsource = "x"\nlines = ["1,2"]\n', "4 numbers"),
        ('trusted_proxies = ["proxy.example"]\n', "trusted_proxies: 'proxy.example' is not an IP address"),
        ("not toml = = \n", "cannot read"),
    ],
)
def test_bad_settings_are_refused_with_the_field_named(tmp_path, text, message):
    path = tmp_path / "fp.toml"
    path.write_text(text)
    with pytest.raises(InvalidArgumentError, match=message):
        load_settings(path)


def test_production_with_real_secrets(monkeypatch):
    monkeypatch.setenv("FACEPLANE_ENVIRONMENT", "production")
    monkeypatch.setenv("FACEPLANE_ADMIN_API_KEY", "k" * 32)
    monkeypatch.setenv("FACEPLANE_ADMIN_PASSWORD", "a long passphrase")
    settings = load_settings()
    assert settings.admin_key() == "k" * 32 and "k" * 32 not in repr(settings)  # secrets are not printed


def test_missing_file():
    with pytest.raises(InvalidArgumentError, match="cannot read config file"):
        load_settings("/no/such/faceplane.toml")


@pytest.mark.parametrize(
    ("days", "hours", "weekday", "minute", "allowed"),
    [
        (["mon"], "07:00-19:00", 0, 7 * 60, True),
        (["mon"], "07:00-19:00", 0, 19 * 60, False),  # the end is exclusive
        (["mon"], "07:00-19:00", 1, 12 * 60, False),
        (["fri"], "22:00-06:00", 4, 23 * 60, True),  # a night shift starting Friday ...
        (["fri"], "22:00-06:00", 5, 5 * 60, True),  # ... goes on into Saturday morning
        (["fri"], "22:00-06:00", 4, 5 * 60, False),  # Friday 05:00 belongs to Thursday's night
        (["sun"], "00:00-24:00", 6, 23 * 60 + 59, True),
    ],
)
def test_access_rules(days, hours, weekday, minute, allowed):
    from faceplane.config import AccessRule

    assert AccessRule(collection="staff", days=days, hours=hours).allows(weekday, minute) is allowed


@pytest.mark.parametrize("hours", ["7:00-19:00", "07:00-25:00", "24:00-06:00", "07:00", ""])
def test_access_rules_refuse_bad_hours(hours):
    from pydantic import ValidationError

    from faceplane.config import AccessRule

    with pytest.raises(ValidationError):
        AccessRule(collection="staff", hours=hours)


def test_liveness_far_must_be_calibrated(tmp_path):
    with pytest.raises(InvalidArgumentError, match="liveness_far"):
        load_settings(None, data_dir=tmp_path, liveness_far=1e-4)


def test_trusted_proxies_are_addresses_or_networks():
    assert load_settings(trusted_proxies=["10.0.0.0/8", "127.0.0.1", "::1"]).trusted_proxies[0] == "10.0.0.0/8"
    assert load_settings().trusted_proxies == []  # by default no forwarded header is believed
