"""Making requests fail: set the error kind and status, and make the time spent fit the failure."""
from __future__ import annotations

import numpy as np

from logintel.simulate.errors import KINDS, KIND_INDEX
from logintel.simulate.table import EventTable


def fail(table: EventTable, rows: np.ndarray, kind_name: str, rng: np.random.Generator,
         scenario: int | None = None) -> None:
    """Turn `rows` into failures of `kind_name`; tag them with `scenario` when one caused them."""
    if not len(rows):
        return
    kind = KINDS[KIND_INDEX[kind_name]]
    table["kind"][rows] = KIND_INDEX[kind_name]
    table["status"][rows] = kind.status
    own = table["own_ms"]
    if kind.timeout_ms is not None:
        # The clock ran out: the wait itself is the timeout, plus the little work around it.
        waited = kind.timeout_ms * rng.uniform(1.0, 1.02, len(rows))
        own[rows] = waited + own[rows] * 0.1
        if kind.waits_on == "db":
            table["db_ms"][rows] = waited
        elif kind.waits_on == "upstream":
            table["upstream_ms"][rows] = waited
    elif kind.time_scale != 1.0:
        own[rows] *= kind.time_scale
        for part in ("db_ms", "upstream_ms"):
            table[part][rows] *= kind.time_scale
    if scenario is not None:
        table["scenario"][rows] = scenario
        table["failed_by"][rows] = scenario


def untouched(table: EventTable, rows: np.ndarray) -> np.ndarray:
    """The subset of `rows` that has not failed yet (one request fails for one reason)."""
    return rows[table["kind"][rows] < 0]
