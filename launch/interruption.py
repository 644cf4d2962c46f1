"""Stopping a long command between steps: the first SIGINT or SIGTERM asks the work to stop after the step in
progress, a second one ends the process at once (exit 128 + N either way)."""
from __future__ import annotations

import os
import signal
import sys
import threading
from typing import Callable, TypeVar

T = TypeVar("T")
SIGNALS = (signal.SIGINT, signal.SIGTERM)


class StopRequest:
    """Set by the first signal; the work polls `requested` between its steps."""

    def __init__(self) -> None:
        self._event = threading.Event()
        self.signal_name: str | None = None
        self.exit_code = 0

    @property
    def requested(self) -> bool:
        return self._event.is_set()

    def set(self, signum: int) -> None:
        self.signal_name, self.exit_code = signal.Signals(signum).name, 128 + signum
        self._event.set()


def run_stoppable(work: Callable[[StopRequest], T], out=None) -> tuple[T, StopRequest]:
    """Run `work(stop)` in a worker thread while the main thread takes the signals.

    Dagster replaces the SIGINT handler while it executes a run in the main thread and fails the step
    in progress; in a worker thread it leaves the handlers alone, so the step in progress finishes."""
    out = out or sys.stderr
    stop, result, failure = StopRequest(), [], []

    def handler(signum, _frame) -> None:
        if stop.requested:
            print(f"\n{signal.Signals(signum).name} again: stopping now", file=out, flush=True)
            os._exit(128 + signum)
        stop.set(signum)
        print(f"\n{stop.signal_name}: stopping after the step in progress ({stop.signal_name} again: at once)",
              file=out, flush=True)

    def target() -> None:
        try:
            result.append(work(stop))
        except BaseException as exc:  # re-raised in the main thread below
            failure.append(exc)

    previous = {s: signal.signal(s, handler) for s in SIGNALS}
    try:
        worker = threading.Thread(target=target, name="stoppable-work", daemon=True)
        worker.start()
        while worker.is_alive():
            worker.join(0.2)  # short waits, so the handler runs as soon as a signal comes
    finally:
        for s, h in previous.items():
            signal.signal(s, h)
    if failure:
        raise failure[0]
    return result[0], stop
