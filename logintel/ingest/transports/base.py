"""The transport interface and its health: failures back off exponentially, with jitter, until a retry."""
from __future__ import annotations

import random
from abc import ABC, abstractmethod
from collections import defaultdict
from datetime import datetime
from typing import Sequence

from logintel.ingest.buffer import Item
from logintel.store.landing import hour_floor


class Transport(ABC):
    name: str

    @abstractmethod
    def send(self, items: Sequence[Item]) -> None:
        """Deliver the whole batch durably or raise; a retry of the same batch must be safe."""

    def close(self) -> None:
        pass


def by_hour(items: Sequence[Item]) -> dict[datetime, list[str]]:
    groups: dict[datetime, list[str]] = defaultdict(list)
    for item in items:
        groups[hour_floor(item.timestamp)].append(item.line)
    return groups


class Health:
    """Healthy until a send fails; then the next attempt (the probe) waits base*2^(n-1), capped,
    scaled by a random factor in [0.5, 1) so many emitters do not retry in lockstep."""

    def __init__(self, base_s: float, cap_s: float, rng: random.Random | None = None):
        self.base_s = base_s
        self.cap_s = cap_s
        self.rng = rng or random.Random()
        self.healthy = True
        self.failures = 0
        self.retry_at = 0.0
        self.last_error: str | None = None

    def ready(self, now: float) -> bool:
        return self.healthy or now >= self.retry_at

    def succeeded(self) -> None:
        self.healthy = True
        self.failures = 0

    def failed(self, now: float, error: BaseException) -> None:
        self.healthy = False
        self.failures += 1
        delay = min(self.cap_s, self.base_s * 2 ** min(self.failures - 1, 30))
        self.retry_at = now + delay * self.rng.uniform(0.5, 1.0)
        self.last_error = f"{type(error).__name__}: {error}"[:500]

    def describe(self) -> dict:
        return {"healthy": self.healthy, "failures": self.failures, "last_error": self.last_error}
