"""Which processes are still running, read from /proc (Linux): a process tree's descendants and a process
group's members, zombies left out — this machine's init reaps orphans late, and a zombie runs nothing."""
from __future__ import annotations

import time
from pathlib import Path
from typing import NamedTuple


class Proc(NamedTuple):
    pid: int
    ppid: int
    pgid: int
    state: str
    cmdline: str


def _read(pid_dir: Path) -> Proc | None:
    try:
        stat = (pid_dir / "stat").read_text()
        cmdline = (pid_dir / "cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace").strip()
    except OSError:  # gone while we looked
        return None
    # "pid (comm) state ppid pgrp ...": comm may hold spaces and parentheses, so split after its last ')'.
    fields = stat[stat.rindex(")") + 2:].split()
    return Proc(int(pid_dir.name), int(fields[1]), int(fields[2]), fields[0], cmdline)


def running() -> list[Proc]:
    """Every process that is not a zombie."""
    found = (_read(p) for p in Path("/proc").iterdir() if p.name.isdigit())
    return [p for p in found if p is not None and p.state != "Z"]


def descendants(pid: int) -> list[Proc]:
    """The running processes below `pid` (children, their children, …)."""
    procs = running()
    below, frontier = [], {pid}
    while frontier:
        children = [p for p in procs if p.ppid in frontier]
        below += children
        frontier = {p.pid for p in children}
    return below


def in_groups(pgids) -> list[Proc]:
    """The running processes whose process group is one of `pgids`."""
    pgids = set(pgids)
    return [p for p in running() if p.pgid in pgids]


def left_of(procs) -> list[Proc]:
    """Which of `procs` still run (the same pid and command line, so a reused pid does not count)."""
    now = {(p.pid, p.cmdline) for p in running()}
    return [p for p in procs if (p.pid, p.cmdline) in now]


def wait_until_gone(procs, pgids=(), timeout_s: float = 30.0) -> list[Proc]:
    """Wait until none of `procs` and no member of `pgids` runs; what is still left when `timeout_s` ends."""
    deadline = time.monotonic() + timeout_s
    while True:
        left = left_of(procs) + [p for p in in_groups(pgids) if p.pid not in {q.pid for q in procs}]
        if not left or time.monotonic() >= deadline:
            return left
        time.sleep(0.2)
