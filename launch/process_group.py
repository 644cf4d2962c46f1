"""A command run as a process group of its own, stopped as a whole: how `logintel ui` makes Ctrl-C or SIGTERM
stop `dagster dev` and everything it started (webserver, daemon, code servers, runs)."""
from __future__ import annotations

import os
import signal
import subprocess
import time
from pathlib import Path
from typing import Sequence

STOP_SIGNALS = (signal.SIGINT, signal.SIGTERM)


def _default_stop_signals() -> None:
    # A process started in the background inherits SIGINT as SIG_IGN, and Dagster maps SIGTERM onto SIGINT's
    # handler, so without this `dagster dev` would ignore both.
    for sig in STOP_SIGNALS:
        signal.signal(sig, signal.SIG_DFL)


def start_group(argv: Sequence[str], **popen_kwargs) -> subprocess.Popen:
    """`argv` as the leader of a new session and process group, with SIGINT and SIGTERM at their defaults."""
    return subprocess.Popen(list(argv), start_new_session=True, preexec_fn=_default_stop_signals, **popen_kwargs)


def group_alive(pgid: int) -> bool:
    """Whether a process that still runs is left in process group `pgid`."""
    try:
        os.killpg(pgid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # someone else's process took the id: ours are gone
        return False
    return not _only_zombies(pgid)


def _only_zombies(pgid: int) -> bool:
    """Whether every member of `pgid` has exited and only waits to be reaped (Linux's /proc; elsewhere: no).
    An orphan's zombie belongs to init, which may reap it late; it runs nothing, so it is not waited for."""
    proc = Path("/proc")
    if not proc.is_dir():
        return False
    for entry in proc.iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
        except OSError:  # exited while we looked
            continue
        state, _ppid, group = stat[stat.rindex(")") + 2:].split()[:3]
        if int(group) == pgid and state != "Z":
            return False
    return True


def kill_group(pgid: int, sig: int) -> None:
    try:
        os.killpg(pgid, sig)
    except (ProcessLookupError, PermissionError):
        pass


def _wait_leader(proc: subprocess.Popen, deadline: float) -> bool:
    while time.monotonic() < deadline:
        try:
            proc.wait(timeout=0.2)
            return True
        except subprocess.TimeoutExpired:
            pass
    return proc.poll() is not None


def _wait_group(pgid: int, deadline: float) -> bool:
    while group_alive(pgid) and time.monotonic() < deadline:
        time.sleep(0.1)
    return not group_alive(pgid)


def stop_group(proc: subprocess.Popen, sig: int = signal.SIGINT, grace_s: float = 20.0) -> int:
    """Send `sig` to the whole group, give it `grace_s` to exit, then SIGKILL what is left; the leader's exit
    code (128 + N when signal N ended it)."""
    pgid = proc.pid  # the leader of a new session: its pid is the group's id
    if proc.poll() is None:
        kill_group(pgid, sig)
    finish_group(proc, time.monotonic() + grace_s)
    return exit_code(proc.returncode)


def finish_group(proc: subprocess.Popen, deadline: float) -> None:
    """Wait for the leader and then the rest of its group until `deadline`, then SIGKILL whatever remains."""
    if not _wait_leader(proc, deadline):
        kill_group(proc.pid, signal.SIGKILL)
        proc.wait()
    # Orphans of the leader (a run still finishing) stay in the group; they got the signal too.
    if not _wait_group(proc.pid, deadline):
        kill_group(proc.pid, signal.SIGKILL)


def exit_code(returncode: int) -> int:
    return 128 - returncode if returncode < 0 else returncode


def run_group(argv: Sequence[str], grace_s: float = 20.0, **popen_kwargs) -> int:
    """Run `argv` as its own group until it exits. SIGINT or SIGTERM received here is passed on to the whole
    group, which then has `grace_s` to exit before it is SIGKILLed; a second one SIGKILLs it at once. Returns
    the leader's exit code (128 + N when signal N ended it)."""
    received: list[int] = []
    started: list[subprocess.Popen] = []

    def forward(sig, _frame) -> None:
        received.append(sig)
        if started:
            kill_group(started[0].pid, sig if len(received) == 1 else signal.SIGKILL)

    # Installed first, so a Ctrl-C that comes while the child starts is not lost.
    previous = {sig: signal.signal(sig, forward) for sig in STOP_SIGNALS}
    try:
        proc = start_group(argv, **popen_kwargs)
        started.append(proc)
        if received:
            kill_group(proc.pid, received[0])
        while proc.poll() is None and not received:
            try:
                proc.wait(timeout=0.5)
            except subprocess.TimeoutExpired:
                pass
        finish_group(proc, time.monotonic() + grace_s)
    except BaseException:
        if started:
            kill_group(started[0].pid, signal.SIGKILL)
        raise
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)
    return exit_code(proc.returncode)
