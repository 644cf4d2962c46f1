"""The efficiency analyst's defaults (each overridable in the `efficiency` section of LOGINTEL_ANALYST_RULES);
the digest's estimates share theirs, so the two agree. What each rule means is in efficiency_analyst.py."""
from __future__ import annotations

from dataclasses import dataclass

from logintel.daily import savings as digest

MB = 1_000_000.0


@dataclass(frozen=True)
class EfficiencyRules:
    top_routes: int = digest.TOP_ROUTES
    min_time_share: float = digest.MIN_TIME_SHARE
    min_saving: float = digest.MIN_SAVING_S
    min_requests: int = 100
    db_share: float = digest.DB_SHARE
    db_saving_factor: float = digest.DB_SAVING_FACTOR
    n_plus_one_queries: float = 10.0
    n_plus_one_db_share: float = 0.5
    query_count_events: float = 0.5
    batched_queries: float = 2.0
    cheap_p50_ms: float = 50.0
    cheap_db_share: float = 0.8
    min_retries_per_trace: float = digest.MIN_RETRIES_PER_TRACE
    payload_p95_bytes: float = MB
    payload_saving_factor: float = 0.5
