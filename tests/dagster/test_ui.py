"""`logintel ui` as a user runs it: once the webserver answers, SIGTERM (or Ctrl-C's SIGINT) to the logintel
process alone stops its whole tree — `dagster dev`, the webserver, the daemon and their code servers."""
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest

from tests.support.process_tree import descendants, in_groups, wait_until_gone

START_S = 180  # dagster dev loading the code location twice (webserver, daemon) on a busy 2-core machine
STOP_S = 45    # the command's own grace period (launch/ui.py) and some
# What `dagster dev` (1.13) starts, by a piece of each command line: one code server shared by the
# webserver and the daemon, which serves the code location from a gRPC server of its own.
PARTS = {"webserver": "-m dagster_webserver", "daemon": "-m dagster._daemon run",
         "code server": "dagster code-server start", "grpc server": "dagster api grpc"}


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _answers(port: int) -> bool:
    try:
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/server_info", timeout=2) as response:
            return response.status == 200
    except OSError:
        return False


def _whole_tree(ui: subprocess.Popen, port: int, log: Path, seen: list):
    """Wait until the webserver answers and the daemon and the code server run; the tree below `ui` then.
    `seen` holds every process met on the way, for the cleanup after a failure."""
    deadline = time.monotonic() + START_S
    while time.monotonic() < deadline:
        assert ui.poll() is None, f"logintel ui exited with {ui.returncode}:\n{log.read_text()[-3000:]}"
        tree = descendants(ui.pid)
        seen += [p for p in tree if p.pid not in {q.pid for q in seen}]
        commands = [p.cmdline for p in tree]
        if (_answers(port) and all(any(part in c for c in commands) for part in PARTS.values())):
            return tree
        time.sleep(1)
    pytest.fail(f"the UI did not come up in {START_S} s; tree {[p.cmdline[:80] for p in descendants(ui.pid)]}:\n"
                f"{log.read_text()[-3000:]}")


@pytest.mark.slow
@pytest.mark.subprocess
@pytest.mark.timeout(START_S + 2 * STOP_S + 60)
@pytest.mark.parametrize("sig", [signal.SIGTERM, signal.SIGINT], ids=["sigterm", "sigint"])
def test_ui_stops_its_whole_process_tree(tmp_path, sig):
    port, log = _free_port(), tmp_path / "ui.log"
    env = {k: v for k, v in os.environ.items()
           if k not in ("LOGINTEL_POSTGRES_URL", "LOGINTEL_DAGSTER_POSTGRES_URL", "DAGSTER_HOME")}
    env["LOGINTEL_HOME"] = str(tmp_path / "home")
    logintel = Path(sys.executable).parent / "logintel"
    with log.open("wb") as out:
        # A session of its own, so the test can clean up after a failure without touching pytest's group.
        ui = subprocess.Popen([str(logintel), "ui", "--port", str(port)], env=env, stdout=out, stderr=subprocess.STDOUT,
                              stdin=subprocess.DEVNULL, start_new_session=True)
    seen = []
    try:
        tree = _whole_tree(ui, port, log, seen)
        [dagster_dev] = [p for p in tree if p.ppid == ui.pid]
        assert dagster_dev.pgid == dagster_dev.pid != ui.pid  # dagster dev leads a group of its own
        started = time.monotonic()
        os.kill(ui.pid, sig)  # the logintel process only, as a supervisor or a terminal's Ctrl-C would
        ui.wait(timeout=STOP_S)
        stopped_in = time.monotonic() - started
        left = wait_until_gone(tree, pgids={dagster_dev.pgid}, timeout_s=5)
        assert left == [], f"still running after logintel exited ({stopped_in:.1f} s): {left}"
        assert not _answers(port)
        print(f"{signal.Signals(sig).name}: {len(tree)} processes stopped in {stopped_in:.1f} s, exit {ui.returncode}")
    finally:
        for pgid in {ui.pid} | {p.pgid for p in seen}:
            if in_groups([pgid]):
                os.killpg(pgid, signal.SIGKILL)
        if ui.poll() is None:
            ui.wait(timeout=10)
