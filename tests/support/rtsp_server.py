"""A looping RTSP camera for tests: serves H.264 MP4 files with gst-rtsp-server, without re-encoding.

Runs under the system Python (python3-gi is a Debian package, not in the venv)::

    /usr/bin/python3 tests/support/rtsp_server.py --port 0 --mount /cam=clip.mp4 [--mount /cam2=other.mp4]

Each file plays in real time in a loop of its own, like a camera that is always on; every mount is one
shared RTSP media fed from it, so several clients watch the same picture. Prints ``ready PORT`` once
listening (``--port 0`` picks a free port).
"""

import argparse
import os
import sys

import gi

gi.require_version("Gst", "1.0")
gi.require_version("GstRtspServer", "1.0")
from gi.repository import GLib, Gst, GstRtspServer  # noqa: E402

MEDIA = "( appsrc name=src is-live=true format=time ! rtph264pay name=pay0 pt=96 )"


def serve_file(path: str, factory: GstRtspServer.RTSPMediaFactory) -> Gst.Pipeline:
    """Play ``path`` in a loop and push its H.264 access units into the mount's current media."""
    player = Gst.parse_launch("filesrc name=file ! qtdemux ! appsink name=out sync=true emit-signals=true")
    player.get_by_name("file").set_property("location", path)
    sources = []  # appsrc of the prepared media (0 or 1: the media is shared)

    def on_sample(sink):
        sample = sink.emit("pull-sample")
        buffer, segment = sample.get_buffer(), sample.get_segment()
        for src in list(sources):
            if src.get_state(0)[1] != Gst.State.PLAYING:
                continue
            # both pipelines run on the system clock: move timestamps from the player's running time (which
            # restarts at each loop) to the media's, which keeps going
            shift = player.get_base_time() - src.get_base_time()
            out = buffer.copy()
            for field in ("pts", "dts"):
                ts = getattr(buffer, field)
                if ts != Gst.CLOCK_TIME_NONE:
                    setattr(out, field, max(0, segment.to_running_time(Gst.Format.TIME, ts) + shift))
            src.set_property("caps", sample.get_caps())
            src.emit("push-buffer", out)
        return Gst.FlowReturn.OK

    def on_configure(_factory, media):
        src = media.get_element().get_by_name_recurse_up("src")
        sources.append(src)
        media.connect("unprepared", lambda _m: sources.remove(src))

    def on_message(_bus, message):
        if message.type == Gst.MessageType.EOS:  # loop: back to the start
            player.seek_simple(Gst.Format.TIME, Gst.SeekFlags.FLUSH | Gst.SeekFlags.KEY_UNIT, 0)
        elif message.type == Gst.MessageType.ERROR:  # exit: the fixture sees the process die
            print(f"rtsp_server: {path}: {message.parse_error()[0].message}", file=sys.stderr, flush=True)
            os._exit(1)
        return True

    player.get_by_name("out").connect("new-sample", on_sample)
    factory.connect("media-configure", on_configure)
    player.get_bus().add_watch(GLib.PRIORITY_DEFAULT, on_message)
    player.set_state(Gst.State.PLAYING)
    if player.get_state(10 * Gst.SECOND)[0] == Gst.StateChangeReturn.FAILURE:
        sys.exit(f"rtsp_server: cannot play {path}")
    return player


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--port", type=int, default=8554)
    parser.add_argument("--address", default="127.0.0.1", help="address to listen on (default: loopback only)")
    parser.add_argument("--mount", action="append", required=True, help="/path=FILE (repeatable)")
    args = parser.parse_args()
    Gst.init(None)
    server = GstRtspServer.RTSPServer(service=str(args.port), address=args.address)
    players = []
    for spec in args.mount:
        mount, _, path = spec.partition("=")
        factory = GstRtspServer.RTSPMediaFactory(launch=MEDIA, shared=True)
        server.get_mount_points().add_factory(mount, factory)
        players.append(serve_file(path, factory))
    if not server.attach(None):
        sys.exit(f"rtsp_server: cannot listen on port {args.port}")
    print(f"ready {server.get_bound_port()}", flush=True)
    GLib.MainLoop().run()


if __name__ == "__main__":
    main()
