"""DynamicSampler: keep errors, slow requests and rule matches; sample the rest 1 in N, N adapting to load.

N grows from base_rate toward max_rate as events/s pass the target or the buffer fills. The verdict
is a hash of trace_id (event_id without one): a trace's normal events share it; a kept one weighs N.
"""
from __future__ import annotations

import hashlib
import threading
import time
from collections import deque
from dataclasses import replace
from typing import Callable

from logintel.events import WideEvent
from logintel.ingest.policy import SamplingPolicy, rule_matches

BUCKETS = 10          # the load window is counted in this many buckets, so it slides cheaply
_SPACE = 1 << 64      # hash values are uniform over [0, 2**64)
BUFFER_BOOST = 9.0    # a full buffer multiplies the load-based rate by up to 1 + BUFFER_BOOST


def trace_hash(key: str) -> int:
    # An unkeyed cryptographic hash: stable across processes and Python versions (unlike hash()),
    # so every emitter of a trace reaches the same verdict.
    return int.from_bytes(hashlib.blake2b(key.encode("utf-8", "surrogatepass"), digest_size=8).digest(), "big")


def keeps(key: str, rate: int) -> bool:
    """Keep iff hash < 2**64 / rate: a trace kept at rate 2N is also kept at N (nested samples)."""
    return rate <= 1 or trace_hash(key) * rate < _SPACE


class DynamicSampler:
    def __init__(self, policy: SamplingPolicy | None = None, clock: Callable[[], float] = time.monotonic,
                 buffer_fill: Callable[[], float] | None = None):
        self._clock = clock
        self.buffer_fill = buffer_fill  # the emitter binds its buffer's fill (0-1) here
        self._lock = threading.Lock()
        self._policy = policy or SamplingPolicy.passthrough()
        self._rate = self._policy.base_rate
        self._changed_at: float | None = None  # None: the first change need not wait min_hold_s
        self._buckets: deque[list] = deque()  # [bucket index, events]
        self._in_window = 0
        self._next_eval = float("-inf")
        self._load = 0.0
        self._fill = 0.0

    # -- policy --------------------------------------------------------------------------------

    @property
    def policy(self) -> SamplingPolicy:
        return self._policy

    @property
    def rate(self) -> int:
        return self._rate

    def set_policy(self, policy: SamplingPolicy) -> None:
        """Apply a new policy now; the current rate is clamped into its bounds."""
        with self._lock:
            if policy.window_s != self._policy.window_s:
                self._buckets.clear()
                self._in_window = 0
            self._policy = policy
            self._rate = min(max(self._rate, policy.base_rate), policy.max_rate)
            self._next_eval = float("-inf")

    # -- verdicts ------------------------------------------------------------------------------

    def decide(self, event: WideEvent) -> tuple[bool, int]:
        """(keep, N): always-kept events get N = 1; others are kept 1 in N by their trace's hash."""
        now = self._clock()
        with self._lock:
            policy = self._policy
            self._count(now, policy)
            if now >= self._next_eval:
                self._reevaluate(now, policy)
            rate = self._rate
        if rate <= 1 or self.always_keeps(event, policy):
            return True, 1
        return keeps(event.trace_id or event.event_id, rate), rate

    def apply(self, event: WideEvent) -> WideEvent | None:
        """The event to enqueue (its sample_rate multiplied by N), or None when sampled out."""
        keep, rate = self.decide(event)
        if not keep:
            return None
        # An event sampled upstream already stands for sample_rate events; ours multiplies that.
        return event if rate == 1 else replace(event, sample_rate=event.sample_rate * rate)

    @staticmethod
    def always_keeps(event: WideEvent, policy: SamplingPolicy) -> bool:
        if event.is_error or event.duration_ms >= policy.slow_ms:
            return True
        return any(rule_matches(rule, event) for rule in policy.always_keep)

    def describe(self) -> dict:
        with self._lock:
            return {"version": self._policy.version, "etag": self._policy.etag, "rate": self._rate,
                    "load_events_per_s": round(self._load, 3), "buffer_fill": round(self._fill, 4)}

    # -- load and the rate (under the lock) -----------------------------------------------------

    def _count(self, now: float, policy: SamplingPolicy) -> None:
        width = policy.window_s / BUCKETS
        index = int(now // width)
        buckets = self._buckets
        if buckets and buckets[-1][0] == index:
            buckets[-1][1] += 1
        else:
            buckets.append([index, 1])
        self._in_window += 1
        while buckets[0][0] <= index - BUCKETS:
            self._in_window -= buckets.popleft()[1]

    def _reevaluate(self, now: float, policy: SamplingPolicy) -> None:
        self._next_eval = now + policy.window_s / BUCKETS
        self._load = self._in_window / policy.window_s
        target = policy.base_rate * max(1.0, self._load / policy.target_events_per_s)
        self._fill = self._read_fill()
        if self._fill > policy.buffer_high_water and policy.buffer_high_water < 1.0:
            over = (self._fill - policy.buffer_high_water) / (1.0 - policy.buffer_high_water)
            target *= 1.0 + BUFFER_BOOST * over
        target = min(max(round(target), policy.base_rate), policy.max_rate)
        current = self._rate
        if target == current:
            return
        far_enough = max(target / current, current / target) >= policy.hysteresis
        # Snapping to a bound is always allowed, or a rate just above base would never settle back.
        at_bound = target in (policy.base_rate, policy.max_rate)
        # Fast attack, slow release: a spike is shed at once, but the rate comes back down only
        # after min_hold_s since the last change, so a bursty load does not make it flap.
        held = (target > current or self._changed_at is None
                or now - self._changed_at >= policy.min_hold_s)
        if (far_enough or at_bound) and held:
            self._rate = target
            self._changed_at = now

    def _read_fill(self) -> float:
        if self.buffer_fill is None:
            return 0.0
        try:
            fill = float(self.buffer_fill())
        except Exception:  # a broken gauge must not break emit(); treat it as empty
            return 0.0
        return min(max(fill, 0.0), 1.0)
