"""The suite's leak check (``pytest_sessionfinish`` in tests/conftest.py) on a real pytest run of its own."""

from __future__ import annotations

import shutil
import subprocess
import sys
import time
from pathlib import Path

import psutil
import pytest

CONFTEST = Path(__file__).resolve().parents[1] / "conftest.py"

_LEAKY = """
import subprocess, sys
from pathlib import Path

FORGOTTEN = []

def test_starts_a_server_and_forgets_it():
    FORGOTTEN.append(subprocess.Popen([sys.executable, "-c", "import time; time.sleep(300)"]))
    Path("child.pid").write_text(str(FORGOTTEN[0].pid))

def test_starts_a_server_whose_worker_outlives_it():
    # the server exits at once and leaves its worker to init (or to the nearest subreaper)
    code = "import subprocess as s, sys; print(s.Popen([sys.executable, '-c', 'import time; time.sleep(300)'], "
    code += "stdout=s.DEVNULL, stderr=s.DEVNULL).pid)"
    Path("child.pid").write_text(subprocess.run([sys.executable, "-c", code], capture_output=True, text=True).stdout)

def test_stops_its_server():
    child = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(300)"])
    child.kill()
    child.wait()
"""


def _run(folder: Path, *args: str) -> subprocess.CompletedProcess[str]:
    shutil.copy(CONFTEST, folder / "conftest.py")
    (folder / "test_leaky.py").write_text(_LEAKY)
    command = [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "-W", "error", *args]
    return subprocess.run(command, cwd=folder, capture_output=True, text=True, timeout=120)


@pytest.mark.parametrize(
    ("selected", "status"),
    [("stops_its_server", 0), ("forgets_it", int(pytest.ExitCode.TESTS_FAILED)), ("outlives_it", 1)],
)
def test_a_process_left_behind_fails_the_run_and_is_killed(tmp_path: Path, selected: str, status: int) -> None:
    result = _run(tmp_path, "-k", selected)
    assert result.returncode == status, result.stdout + result.stderr
    assert "1 passed" in result.stdout
    if status == 0:
        assert "left behind" not in result.stdout
        return
    pid = int((tmp_path / "child.pid").read_text())
    assert f"1 processes left behind by the tests (now killed):\n{pid}: " in result.stdout, result.stdout
    deadline = time.monotonic() + 5
    while psutil.pid_exists(pid) and psutil.Process(pid).status() != psutil.STATUS_ZOMBIE:
        assert time.monotonic() < deadline, f"the leaked process {pid} is still running"
        time.sleep(0.05)
