"""The workload as columns: one numpy array per field, one row per future WideEvent.

Rows are only ever appended, so `parent` (the row of the calling request) stays valid; rows
that never ran (calls cut short by an earlier failure) are marked not `alive` instead of removed.
"""
from __future__ import annotations

import numpy as np

# name -> (dtype, default)
COLUMNS: dict[str, tuple[object, object]] = {
    "ts_us": (np.int64, 0),            # start time, microseconds since the epoch
    "route": (np.int16, 0),            # index into topology.ROUTES
    "parent": (np.int64, -1),          # row of the calling request, -1 for a client request
    "call": (np.int16, -1),            # index into topology.CALLS that made this request
    "depth": (np.int8, 0),
    "status": (np.int16, 200),
    "kind": (np.int16, -1),            # index into errors.KINDS, -1 when the request succeeded
    "own_ms": (np.float64, 0.0),       # time spent in the service itself, calls excluded
    "duration_ms": (np.float64, 0.0),  # own time plus the calls it waited for
    "db_ms": (np.float64, np.nan),
    "db_queries": (np.float64, np.nan),  # queries per request; NaN: the typical 1-4 if it uses a database
    "upstream_ms": (np.float64, np.nan),
    "net_ms": (np.float64, 0.0),       # extra time on the wire to reach this call (a network fault), 0 normally
    "user": (np.int32, -1),            # index into Population.user_ids
    "ip": (np.uint32, 0),
    "agent": (np.int16, -1),           # index into population.AGENTS
    "region": (np.int8, 0),
    "host": (np.int16, 0),             # pod number within the service
    "version": (object, None),
    "heap_mb": (np.float64, np.nan),
    "gc_pause_ms": (np.float64, np.nan),
    "detail": (np.uint32, 0),          # random parts of the error message
    "event_bits": (np.uint64, 0),
    "request_bits": (np.uint64, 0),
    "trace_hi": (np.uint64, 0),
    "trace_lo": (np.uint64, 0),
    "scenario": (np.int8, -1),         # index into scenarios.SCENARIOS that touched this row
    "failed_by": (np.int8, -1),        # the scenario whose fault made this row fail, if one did
    "alive": (bool, True),
}


class EventTable:
    def __init__(self, columns: dict[str, np.ndarray]):
        self.columns = columns

    @classmethod
    def new(cls, n: int, **values) -> "EventTable":
        unknown = set(values) - set(COLUMNS)
        if unknown:
            raise KeyError(f"unknown columns: {sorted(unknown)}")
        columns = {}
        for name, (dtype, default) in COLUMNS.items():
            column = np.empty(n, dtype=dtype)
            column[...] = values.get(name, default)
            columns[name] = column
        return cls(columns)

    @classmethod
    def concat(cls, tables: list["EventTable"]) -> "EventTable":
        return cls({name: np.concatenate([t.columns[name] for t in tables]) for name in COLUMNS})

    def __len__(self) -> int:
        return len(self.columns["ts_us"])

    def __getitem__(self, name: str) -> np.ndarray:
        return self.columns[name]

    def stamp_ids(self, rng: np.random.Generator, rows: np.ndarray | None = None, traces: bool = True) -> None:
        """Draw the random bits of event, request (and, for new traces, trace) ids for `rows`."""
        rows = np.arange(len(self)) if rows is None else rows
        names = ("event_bits", "request_bits", "detail") + (("trace_hi", "trace_lo") if traces else ())
        for name in names:
            dtype = self.columns[name].dtype
            raw = np.frombuffer(rng.bytes(8 * len(rows)), dtype=np.uint64)
            self.columns[name][rows] = raw.astype(dtype) if dtype != np.uint64 else raw
