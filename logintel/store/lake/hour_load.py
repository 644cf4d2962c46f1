"""Loading one hour of the landing zone into the lake: the warehouse's own load (`warehouse.load_hour`: the same
checks, dead letters, de-duplication, spans and accounting) run in a scratch DuckDB of this run alone, then its
two tables' hour published — spans first, then raw_events, each in one commit.

No run shares a file with another, so any number of hours load at once. Between the two commits a reader may
see the hour's new spans beside its previous events for a moment; a run that dies between them leaves exactly
that, and its retry (an hour's load is idempotent) puts both right. Nothing reads spans without their events'
hour being loaded first (the hourly graph starts after raw_events), so the two agree wherever it matters.
"""
from __future__ import annotations

import time
from datetime import datetime

from logintel.store.lake.catalog import Lake
from logintel.store.lake.hour_runs import hour_session
from logintel.store.landing import HourBatch
from logintel.store.warehouse import LoadReport, load_hour


HOUR_LOAD_WRITES = ("spans", "raw_events")  # spans first: raw_events' commit is the hour's publication


def load_hour_to_lake(lake: Lake, batch: HourBatch, now: datetime | None = None,
                      threads: int | None = None) -> LoadReport:
    """Replace hour `batch.hour` of the lake's raw_events and spans with the batch's valid, de-duplicated events."""
    started = time.perf_counter()
    with hour_session(lake, batch.hour, HOUR_LOAD_WRITES, threads=threads) as con:
        report = load_hour(con, batch, now=now)
    report.elapsed_s = time.perf_counter() - started
    return report
