"""Long-running commands under test (a Dagster code server, webserver, daemon): started in their own
process group with their output in a log file, waited on until they answer, stopped as a group."""
from __future__ import annotations

import os
import signal
import subprocess
import time
from contextlib import contextmanager
from pathlib import Path
from typing import Callable, Iterator


@contextmanager
def running(argv: list[str], env: dict[str, str], log: Path, cwd: Path | None = None) -> Iterator[subprocess.Popen]:
    """`argv` running until the block ends; then SIGTERM to its group, SIGKILL after 20 s."""
    with open(log, "wb") as out:
        proc = subprocess.Popen(argv, env=env, cwd=cwd, stdin=subprocess.DEVNULL, stdout=out,
                                stderr=subprocess.STDOUT, start_new_session=True)
    try:
        yield proc
    finally:
        stop(proc)


def stop(proc: subprocess.Popen, grace_s: float = 20) -> int:
    if proc.poll() is None:
        _signal_group(proc, signal.SIGTERM)
        try:
            proc.wait(grace_s)
        except subprocess.TimeoutExpired:
            _signal_group(proc, signal.SIGKILL)
            proc.wait(10)
    return proc.returncode


def _signal_group(proc: subprocess.Popen, sig: int) -> None:
    try:
        os.killpg(proc.pid, sig)  # the group this Popen's own session created (pgid == its pid)
    except (ProcessLookupError, PermissionError):
        pass


def wait_until(ready: Callable[[], object], proc: subprocess.Popen, log: Path, what: str,
               timeout_s: float = 120, every_s: float = 0.5):
    """Poll `ready` until it returns something truthy; fail with the log's tail if `proc` exits or time runs out."""
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise AssertionError(f"{what}: exited {proc.returncode} before it was ready\n{tail(log)}")
        try:
            value = ready()
        except Exception:  # not answering yet
            value = None
        if value:
            return value
        time.sleep(every_s)
    raise AssertionError(f"{what}: not ready after {timeout_s:.0f} s\n{tail(log)}")


def tail(log: Path, size: int = 4000) -> str:
    try:
        return log.read_text(errors="replace")[-size:]
    except OSError:
        return ""
