"""Every benchmark script imports and answers ``--help``: the README's benchmark commands run as written.

The scripts run as the README runs them (``.venv/bin/python bench/X.py``: this interpreter, the repository
root as working directory), in parallel subprocesses, so a missing dependency (the ``bench`` extra) or a
broken import shows up here rather than at the start of a 10-minute run.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
SCRIPTS = sorted(p for p in (REPO / "bench").glob("*.py") if not p.name.startswith("_"))
TIMEOUT_S = 120  # a script imports faceplane, numpy, psutil... on 2 busy cores


@pytest.fixture(scope="module")
def help_runs() -> dict[str, subprocess.CompletedProcess[str]]:
    """``python bench/X.py --help`` for every script, started together, then collected."""
    procs = {
        p.name: subprocess.Popen(
            [sys.executable, f"bench/{p.name}", "--help"],
            cwd=REPO,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for p in SCRIPTS
    }
    done = {}
    try:
        for name, proc in procs.items():
            out, err = proc.communicate(timeout=TIMEOUT_S)
            done[name] = subprocess.CompletedProcess(proc.args, proc.returncode, out, err)
    finally:
        for proc in procs.values():
            if proc.poll() is None:
                proc.kill()
                proc.communicate()
    return done


def test_the_bench_folder_has_the_readme_scripts():
    names = {p.name for p in SCRIPTS}
    assert {"streams.py", "api_load.py", "lfw_verify.py", "soak.py"} <= names


@pytest.mark.parametrize("script", [p.name for p in SCRIPTS])
def test_script_answers_help(script, help_runs):
    run = help_runs[script]
    assert run.returncode == 0, f"bench/{script} --help exited {run.returncode}:\n{run.stderr[-3000:]}"
    assert run.stdout.startswith(f"usage: {script}"), run.stdout[:500]
    assert "--help" in run.stdout


def test_streams_encodes_720p30_with_pyav_alone(data, tmp_path, monkeypatch):
    """bench/streams.py makes its 720p streams with PyAV (no ffmpeg binary on the PATH): 2 s of a 10 fps clip
    become 60 frames of 1280x720 H.264 at 30 fps, each input frame shown 3 times, in order."""
    import av
    import numpy as np

    monkeypatch.syspath_prepend(str(REPO / "bench"))
    monkeypatch.setenv("PATH", str(tmp_path))
    from streams import encode_720p30

    src, dst = data / "video" / "pets09-s2l1-video" / "vtest.mp4", tmp_path / "pets09.mp4"  # people walk: motion
    encode_720p30(src, dst, limit_s=2.0)
    with av.open(str(dst)) as out:
        stream = out.streams.video[0]
        assert (stream.codec_context.name, stream.width, stream.height) == ("h264", 1280, 720)
        assert (stream.average_rate, stream.pix_fmt) == (30, "yuv420p")
        frames = [f.to_ndarray(format="gray").astype(np.int16) for f in out.decode(video=0)]
    with av.open(str(src)) as inp:
        decoded = (f for _, f in zip(range(20), inp.decode(video=0), strict=False))
        originals = [f.reformat(1280, 720, interpolation="BICUBIC").to_ndarray(format="gray") for f in decoded]
    assert len(frames) == 60
    shown = [int(np.argmin([np.abs(frame - o).mean() for o in originals])) for frame in frames]
    assert shown == [k // 3 for k in range(60)]
