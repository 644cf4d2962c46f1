"""Hours of one route's requests (steady, noisy or slowed) through the incidents step, for the latency
incident tests."""
from __future__ import annotations

from collections import defaultdict
from datetime import datetime, timedelta, timezone

import numpy as np

from logintel.analysis.incidents.hour_assembly import detect_hour_incidents
from logintel.analysis.incidents.incident import replace_incidents
from logintel.analysis.thresholds import Thresholds
from logintel.analysis.windows import WindowSpec, compute_windows
from logintel.config import LLMConfig
from logintel.llm.gateway import LLMGateway
from logintel.llm.redaction import Redactor
from logintel.narration.incident_text import write_summaries
from logintel.store.landing import HourBatch
from logintel.store.warehouse import load_hour
from tests.support.factories import event

H = datetime(2026, 11, 23, 10)
PRODUCT_PAGE = {"service": "catalog", "route": "/products/{id}"}


def requests(start: datetime, minutes: int, per_minute: int, median_ms: float, rng, sigma: float = 0.3,
             slow: tuple[datetime, datetime, float] | None = None, **route) -> list:
    """`per_minute` successful requests a minute with log-normal durations; inside `slow` (from, to, factor)
    each takes `factor` times longer."""
    found = []
    for m in range(minutes):
        for k in range(per_minute):
            ts = start + timedelta(minutes=m, seconds=60 * k / per_minute)
            ms = median_ms * float(np.exp(sigma * rng.standard_normal()))
            if slow and slow[0] <= ts < slow[1]:
                ms *= slow[2]
            found.append(event(ts, duration_ms=round(ms, 3), user_id=f"u-{k}", **(route or PRODUCT_PAGE)))
    return found


def run_hours(con, events: list, hours: list[datetime], gateway: LLMGateway | None = None) -> dict:
    """Each hour through raw_events → windows → incidents (text offline unless `gateway`, grounded); the
    incidents per hour."""
    by_hour = defaultdict(list)
    for e in events:
        by_hour[e.timestamp.astimezone(timezone.utc).replace(minute=0, second=0, microsecond=0, tzinfo=None)].append(e)
    found, redactor = {}, Redactor()
    for hour in hours:
        lines = [e.to_json() for e in by_hour[hour]]
        load_hour(con, HourBatch(hour=hour, lines=lines, sources=[str(i) for i in range(len(lines))]))
        compute_windows(con, hour)
        incidents = detect_hour_incidents(con, hour, Thresholds(), WindowSpec(), redactor.redact).all
        write_summaries(con, incidents, gateway or LLMGateway(LLMConfig(base_url=None, api_key=None)), redactor)
        replace_incidents(con, hour, incidents)
        found[hour] = incidents
    return found


def standing_latency(incidents: list) -> list:
    return [i for i in incidents if i.kind == "latency" and not i.merged_into]
