"""The CLI contract: output formats and exit codes, on real photos."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest


def _run(*args: str, stdin: str | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "faceplane.cli", *args], capture_output=True, text=True, input=stdin, timeout=300
    )


@pytest.mark.e2e
def test_detect_human_and_json(examples):
    human = _run("detect", str(examples / "two_people.jpg"))
    assert human.returncode == 0, human.stderr
    assert "2 faces" in human.stdout and human.stdout.count("box=(") == 2
    js = _run("detect", "--json", str(examples / "two_people.jpg"), str(examples / "biden.jpg"))
    lines = [json.loads(line) for line in js.stdout.splitlines()]
    assert [len(x["faces"]) for x in lines] == [2, 1]
    assert set(lines[0]["faces"][0]) == {"box", "score", "quality", "landmarks"}


@pytest.mark.e2e
def test_verify_exit_codes(examples):
    same = _run("verify", str(examples / "obama.jpg"), str(examples / "obama2.jpg"))
    diff = _run("verify", "--json", str(examples / "obama.jpg"), str(examples / "biden.jpg"))
    assert same.returncode == 0 and same.stdout.startswith("same person")
    assert diff.returncode == 1 and json.loads(diff.stdout)["same_person"] is False


@pytest.mark.e2e
def test_embed_jsonl_goes_on_after_bad_files(examples, tmp_path):
    bad = tmp_path / "corrupt.jpg"
    bad.write_bytes(b"\xff\xd8\xff\xe0 definitely not a jpeg")
    listing = tmp_path / "list.txt"
    listing.write_text(f"{examples / 'biden.jpg'}\n{tmp_path / 'missing.png'}\n")
    res = _run("embed", "--jsonl", str(examples / "two_people.jpg"), str(bad), "--from", str(listing))
    assert res.returncode == 1  # some inputs failed
    lines = [json.loads(line) for line in res.stdout.splitlines()]
    assert [line["path"] for line in lines] == [
        str(examples / "two_people.jpg"), str(bad), str(examples / "biden.jpg"), str(tmp_path / "missing.png")
    ]
    assert len(lines[0]["faces"]) == 2 and len(lines[0]["faces"][0]["embedding"]) == 192
    assert lines[0]["model"] == "mobilefacenet@1"  # the embedding length follows the model
    assert lines[0]["faces"][0]["box"][2] - lines[0]["faces"][0]["box"][0] >= (
        lines[0]["faces"][1]["box"][2] - lines[0]["faces"][1]["box"][0]
    )  # largest face first
    assert "error" in lines[1] and "error" in lines[3] and len(lines[2]["faces"]) == 1
    assert "Traceback" not in res.stderr


@pytest.mark.e2e
@pytest.mark.parametrize(
    ("args", "message"),
    [
        (("detect", "/nonexistent/x.jpg"), "no such file"),
        (("verify", "{bad}", "{bad}"), "not a recognised image format"),
        (("embed",), "no images given"),
    ],
)
def test_errors_are_one_line_no_traceback(args, message, tmp_path):
    bad = tmp_path / "bad.jpg"
    bad.write_text("plain text")
    res = _run(*[a.format(bad=bad) for a in args])
    assert res.returncode in (1, 2)
    assert message in res.stderr and "Traceback" not in res.stderr
    assert len(res.stderr.strip().splitlines()) == 1


@pytest.mark.e2e
def test_detect_with_cnn_detector(examples):
    res = _run("detect", "--detector", "cnn", "--json", str(examples / "two_people.jpg"))
    assert res.returncode == 0, res.stderr
    assert len(json.loads(res.stdout)["faces"]) == 2


@pytest.mark.e2e
def test_demo_runs_on_the_shared_photos(data):
    res = _run("demo", "--data", str(data))
    assert res.returncode == 0, res.stderr
    lines = res.stdout.splitlines()
    verdicts = {line.split()[0] + " " + line.split()[2]: line.split()[-2:] for line in lines if " vs " in line}
    assert verdicts["obama.jpg obama2.jpg"] == ["same", "person"]
    assert verdicts["obama.jpg biden.jpg"] == ["different", "people"]
