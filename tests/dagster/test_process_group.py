"""run_group, what `logintel ui` runs `dagster dev` under: SIGTERM or SIGINT to the supervisor reaches the whole
group, and what ignores it is SIGKILLed after the grace period — the leader, and an orphan it left behind."""
import os
import signal
import subprocess
import sys
import textwrap
import time

import pytest

from tests.support import REPO_ROOT
from tests.support.process_tree import in_groups, left_of, running

GRACE_S = 2
# A leader that starts a child which ignores SIGINT and SIGTERM, writes the child's pid, then waits; with
# "stubborn" the leader ignores them too.
LEADER = textwrap.dedent("""
    import signal, subprocess, sys, time
    IGNORE = ("import signal, time; [signal.signal(s, signal.SIG_IGN) for s in (signal.SIGINT, signal.SIGTERM)]; "
              "time.sleep(300)")
    child = subprocess.Popen([sys.executable, "-c", IGNORE])
    if sys.argv[2] == "stubborn":
        for s in (signal.SIGINT, signal.SIGTERM):
            signal.signal(s, signal.SIG_IGN)
    time.sleep(0.3)  # the child has set its handlers
    open(sys.argv[1], "w").write(f"{child.pid}")
    time.sleep(300)
""")
SUPERVISOR = ("import sys; from launch.process_group import run_group; "
              f"sys.exit(run_group([sys.executable, '-c', {LEADER!r}, *sys.argv[1:]], grace_s={GRACE_S}))")


def _child_pid(path, timeout_s=20.0) -> int:
    deadline = time.monotonic() + timeout_s
    while not (path.exists() and path.read_text()):
        assert time.monotonic() < deadline, "the leader never started its child"
        time.sleep(0.05)
    return int(path.read_text())


@pytest.mark.subprocess
@pytest.mark.parametrize("sig,leader,code", [(signal.SIGTERM, "obedient", 128 + signal.SIGTERM),
                                             (signal.SIGINT, "obedient", 128 + signal.SIGINT),
                                             (signal.SIGTERM, "stubborn", 128 + signal.SIGKILL)],
                         ids=["sigterm", "sigint", "stubborn-leader"])
def test_a_stop_signal_stops_the_whole_group_then_kills_what_ignores_it(tmp_path, sig, leader, code):
    pid_file = tmp_path / "child.pid"
    supervisor = subprocess.Popen([sys.executable, "-c", SUPERVISOR, str(pid_file), leader], cwd=REPO_ROOT,
                                  start_new_session=True)
    group = None
    try:
        child = _child_pid(pid_file)
        [proc] = [p for p in running() if p.pid == child]
        group = proc.pgid
        assert group != supervisor.pid  # the leader's own group, not the supervisor's
        started = time.monotonic()
        os.kill(supervisor.pid, sig)
        assert supervisor.wait(timeout=GRACE_S + 10) == code
        assert time.monotonic() - started < GRACE_S + 5
        assert left_of([proc]) == [] and in_groups([group]) == []
    finally:
        for pgid in {supervisor.pid, group} - {None}:
            if in_groups([pgid]):
                os.killpg(pgid, signal.SIGKILL)
        if supervisor.poll() is None:
            supervisor.wait(timeout=10)
