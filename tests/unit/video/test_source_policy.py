"""The camera source policy: which sources pass, which are refused and why; FFmpeg's options per source;
the ``camera_sources`` settings. (The same tricks through a real server: test_camera_sources.py.)"""

from __future__ import annotations

from pathlib import Path

import pytest

from faceplane.config import load_settings
from faceplane.errors import InvalidArgumentError, PermissionDeniedError, SourceRefusedError
from faceplane.video.source_policy import MEDIA_FORMATS, SourcePolicy, ffmpeg_options, redact_source
from faceplane.video.sources import VideoSource


@pytest.fixture
def media(tmp_path: Path) -> Path:
    root = tmp_path / "media"
    root.mkdir()
    (root / "clip.mp4").write_bytes(b"")
    (tmp_path / "secret.mp4").write_bytes(b"")
    (root / "out").symlink_to(tmp_path)  # a folder symlink that leaves the root
    (root / "in.mp4").symlink_to(root / "clip.mp4")  # one that stays inside
    return root


ALLOWED = ["rtsp://10.0.0.5/stream", "rtsps://user:pw@cam.example:322/s", "RTSP://10.0.0.5/x", "MEDIA/clip.mp4",
           "file://MEDIA/clip.mp4", "MEDIA/in.mp4", "MEDIA/../media/clip.mp4"]  # fmt: skip
REFUSED = [
    ("/etc/passwd", "outside the media roots"),
    ("file:///etc/passwd", "outside the media roots"),
    ("MEDIA/../secret.mp4", "outside the media roots"),
    ("MEDIA/out/secret.mp4", "outside the media roots"),
    ("/dev/video0/../../etc/passwd", "outside the media roots"),
    ("concat:MEDIA/clip.mp4|/etc/passwd", "scheme 'concat'"),
    ("subfile:,,start,0,end,9,,:/etc/passwd", "scheme 'subfile'"),
    ("file:/etc/passwd", "scheme 'file'"),
    ("pipe:0", "scheme 'pipe'"),
    ("http://10.0.0.5/video.mjpg", "scheme 'http'"),
    ("rtsp:/10.0.0.5/x", "scheme 'rtsp'"),
    ("rtsp://", "no host"),
    ("rtsp://127.0.0.1/x", "denied range (127.0.0.0/8)"),
    ("rtsp://localhost/x", "denied range (127.0.0.0/8)"),
    ("rtsp://2130706433/x", "denied range (127.0.0.0/8)"),  # numeric forms FFmpeg resolves too
    ("rtsp://0x7f.1/x", "denied range (127.0.0.0/8)"),
    ("rtsp://[::ffff:127.0.0.1]/x", "denied range (127.0.0.0/8)"),
    ("rtsp://[::1]:554/x", "denied range (::1/128)"),
    ("rtsp://10.0.0.5@169.254.169.254/x", "denied range (169.254.0.0/16)"),  # the host is after the last @
    ("webcam:0", "webcams are not allowed"),
    ("0", "webcams are not allowed"),
    ("/dev/video2", "webcams are not allowed"),
]


@pytest.mark.parametrize("source", ALLOWED)
def test_the_default_policy_allows_streams_and_files_below_a_media_root(media, source):
    SourcePolicy(media_roots=[media]).check(source.replace("MEDIA", str(media)), admin=True)


@pytest.mark.parametrize(("source", "reason"), REFUSED, ids=[r[0] for r in REFUSED])
def test_the_default_policy_refuses(media, source, reason):
    with pytest.raises(SourceRefusedError, match=reason.replace("(", r"\(").replace(")", r"\)").replace(".", r"\.")):
        SourcePolicy(media_roots=[media]).check(source.replace("MEDIA", str(media)), admin=True)


def test_local_files_need_an_admin_and_a_media_root(media):
    with pytest.raises(PermissionDeniedError, match="needs the admin role"):
        SourcePolicy(media_roots=[media]).check(str(media / "clip.mp4"), admin=False)
    with pytest.raises(SourceRefusedError, match="no media roots are configured"):
        SourcePolicy().check(str(media / "clip.mp4"), admin=True)


@pytest.mark.parametrize(
    ("source", "allowed"),
    [
        ("rtsp://door.cams.local/s", True),
        ("rtsp://DOOR.Cams.Local/s", True),
        ("rtsp://cams.local.evil.example/s", False),
        ("rtsp://10.1.2.3/s", True),
        ("rtsp://192.168.1.10/s", False),
        ("https://10.1.2.3/mjpeg", True),
        ("http://10.1.2.3/mjpeg", False),
        ("rtsp://127.0.0.1/s", True),  # deny_hosts emptied: a camera proxy on this host
        ("webcam:1", True),
    ],
)
def test_host_patterns_networks_and_options(source, allowed):
    policy = SourcePolicy(
        schemes=["rtsp", "https"], hosts=["*.cams.local", "10.0.0.0/8", "127.0.0.1"], deny_hosts=[], webcams=True
    )
    if allowed:
        policy.check(source, admin=False)
    else:
        with pytest.raises(SourceRefusedError):
            policy.check(source, admin=False)


@pytest.mark.parametrize(
    ("options", "message"),
    [
        ({"schemes": ["ftp"]}, "unknown camera source scheme"),
        ({"hosts": ["bad host!"]}, "not a host pattern"),
        ({"deny_hosts": ["metadata.internal"]}, "not names"),
    ],
)
def test_bad_policies_are_refused(options, message):
    with pytest.raises(InvalidArgumentError, match=message):
        SourcePolicy(**options)


@pytest.mark.parametrize(
    ("source", "shown"),
    [
        ("rtsp://admin:secret@10.0.0.5/live", "rtsp://***@10.0.0.5/live"),
        ("rtsp://token@10.0.0.5/live", "rtsp://***@10.0.0.5/live"),
        ("http://10.0.0.5/cgi?user=admin&pwd=secret", "http://10.0.0.5/cgi?user=***&pwd=***"),
        ("/srv/clips/a.mp4", "/srv/clips/a.mp4"),
    ],
)
def test_credentials_are_redacted(source, shown):
    assert redact_source(source) == shown


@pytest.mark.parametrize(
    ("url", "ffmpeg_format", "protocols", "formats"),
    [
        ("rtsp://10.0.0.5/s", None, "rtsp,rtp,udp,tcp", None),
        ("rtsps://10.0.0.5/s", None, "rtsps,rtsp,rtp,udp,tcp,tls", None),
        ("http://10.0.0.5/s", None, "http,tcp", MEDIA_FORMATS),
        ("https://10.0.0.5/s", None, "https,tls,tcp", MEDIA_FORMATS),
        ("/srv/clips/a.mp4", None, "file", MEDIA_FORMATS),
        ("/dev/video0", "v4l2", "file", None),
    ],
)
def test_ffmpeg_may_open_only_the_protocols_of_the_scheme(url, ffmpeg_format, protocols, formats):
    options = ffmpeg_options(url, ffmpeg_format)
    assert options["protocol_whitelist"] == protocols
    assert options.get("format_whitelist") == formats
    assert "format_whitelist" not in ffmpeg_options(url, ffmpeg_format, playlists=True)


def test_a_playlist_file_plays_only_where_playlists_are_allowed(tmp_path, examples):
    """An HLS playlist whose segment is a real clip elsewhere: a camera (and an uploaded liveness clip) refuse
    it; the CLI, on a file its user names, plays it."""
    import av

    segment = tmp_path / "elsewhere.ts"
    with av.open(str(examples / "short_hamilton_clip.mp4")) as src, av.open(str(segment), "w", format="mpegts") as dst:
        stream = dst.add_stream_from_template(src.streams.video[0])
        for packet in src.demux(src.streams.video[0]):
            if packet.dts is not None:
                packet.stream = stream
                dst.mux(packet)
    playlist = tmp_path / "list.m3u8"
    playlist.write_text(f"#EXTM3U\n#EXT-X-TARGETDURATION:10\n#EXTINF:10,\n{segment.as_uri()}\n#EXT-X-ENDLIST\n")
    refused = VideoSource(str(playlist), fps=None, end_s=1.0)
    assert list(refused.frames()) == []
    assert refused.status.state == "failed" and "HLS, concat, SDP refused" in refused.status.reason
    assert len(list(VideoSource(str(playlist), fps=None, end_s=1.0, playlists=True).frames())) > 0


def test_the_settings_section_loads_from_toml_and_environment(tmp_path, monkeypatch):
    path = tmp_path / "fp.toml"
    path.write_text('[camera_sources]\nschemes = ["rtsp", "https"]\nhosts = ["*.cams.local", "10.0.0.0/8"]\n')
    sources = load_settings(path).camera_sources
    assert sources.schemes == ["rtsp", "https"] and sources.media_roots == [] and not sources.webcams
    assert "169.254.0.0/16" in sources.deny_hosts  # the default deny-list holds unless replaced
    monkeypatch.setenv("FACEPLANE_CAMERA_SOURCES", '{"media_roots": ["/srv/clips"], "deny_hosts": []}')
    sources = load_settings(path).camera_sources  # the environment's keys replace the file's, one by one
    assert sources.media_roots == [Path("/srv/clips")] and sources.deny_hosts == []
    assert sources.schemes == ["rtsp", "https"] and sources.hosts == ["*.cams.local", "10.0.0.0/8"]
    sources.policy().check("https://10.0.0.1/s", admin=False)


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ('[camera_sources]\nschemes = ["ftp"]\n', "camera_sources.schemes.0"),
        ('[camera_sources]\nhosts = ["a b"]\n', "not a host pattern"),
        ('[camera_sources]\ndeny_hosts = ["metadata.internal"]\n', "not names"),
        ("[camera_sources]\nwebcam = true\n", "Extra inputs"),
    ],
)
def test_bad_source_settings_are_refused(tmp_path, text, message):
    path = tmp_path / "fp.toml"
    path.write_text(text)
    with pytest.raises(InvalidArgumentError, match=message):
        load_settings(path)
