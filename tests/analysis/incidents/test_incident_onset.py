"""An incident's candidates come from the minutes it began in: its first burst's leading edge, for at most five
minutes — not from a stray background error before it, nor from another fault that began while it still ran
(hand-made requests in a real DuckDB file)."""
from __future__ import annotations

import random
from datetime import timedelta

from logintel.analysis.incidents.hour_assembly import _rank_candidates
from logintel.analysis.incidents.incident import Incident
from logintel.analysis.incidents.incident_onset import errors_per_minute, first_burst_edge, onset_window
from logintel.analysis.investigation import investigate
from tests.analysis.investigation.test_investigation_signals import T0, Day, steady


def test_the_leading_edge_is_that_of_the_first_burst():
    assert first_burst_edge([2, 30, 28, 1]) == 1  # a stray background error before the burst is not its edge
    assert first_burst_edge([10, 18, 20, 3, 60, 56]) == 0  # a larger burst later is another fault
    assert first_burst_edge([4, 9, 40, 38, 0]) == 2  # the rise is where half the first burst's peak is reached
    assert first_burst_edge([0, 0, 0]) == 0 and first_burst_edge([]) == 0


def _two_faults(tmp_path):
    """`api` calls `db` and `cache`; one api error at 10:19 (its background); db fails 10:20–10:25 and api with it;
    cache fails 10:27–10:32, harder, and api with it."""
    rng, day = random.Random(3), Day()
    steady(day, rng, range(45))
    for minute in range(45):
        for k in range(20):
            at = minute * 60 + k * 3
            db_fails, cache_fails = 20 <= minute < 25 and k < 10, 27 <= minute < 32
            trace = day.request(at, "api", "/items", rng.uniform(10, 20),
                                failing=db_fails or cache_fails or (minute == 19 and k == 0))
            day.request(at + 0.001, "db", "/query", rng.uniform(2, 4), failing=db_fails, trace=trace)
            day.request(at + 0.005, "cache", "/get", rng.uniform(1, 2), failing=cache_fails, trace=trace)
    return day.warehouse(tmp_path)


def _incident() -> Incident:
    return Incident(incident_id="i1", partition_hour=T0, service="api", route="/items", error_code=None,
                    start_time=T0 + timedelta(minutes=19), end_time=T0 + timedelta(minutes=32),
                    first_seen=T0 + timedelta(minutes=19), breached_windows=2, threshold=10, peak_errors=40,
                    services=["api", "db"], root_cause={"kind": "unknown"})


def test_an_incident_is_investigated_over_the_minutes_it_began_in(tmp_path):
    con = _two_faults(tmp_path)
    incident = _incident()
    counts = dict(errors_per_minute(con, incident))
    assert counts[T0 + timedelta(minutes=19)] == 1 and counts[T0 + timedelta(minutes=20)] == 20
    assert counts[T0 + timedelta(minutes=27)] == 20  # api's errors with cache's (cache is not the incident's)
    assert onset_window(con, incident) == (T0 + timedelta(minutes=20), T0 + timedelta(minutes=25))
    # over its whole span, the later, harder fault comes first: the candidates would blame it
    assert investigate(con, incident.start_time, incident.end_time).candidates[0]["service"] == "cache"

    _rank_candidates(con, [incident])
    ranked = [c["service"] for c in incident.root_cause["candidates"]]
    assert ranked[0] == "db" and "cache" not in ranked
    assert incident.root_cause["candidates_window"] == [(T0 + timedelta(minutes=20)).isoformat(),
                                                         (T0 + timedelta(minutes=25)).isoformat()]


def test_an_incident_without_errors_is_investigated_over_its_first_minutes(tmp_path):
    con = _two_faults(tmp_path)
    quiet = _incident()
    quiet.services, quiet.start_time, quiet.end_time = ["frontend"], T0 + timedelta(minutes=2), T0 + timedelta(minutes=4)
    assert errors_per_minute(con, quiet) == []
    assert onset_window(con, quiet) == (quiet.start_time, quiet.end_time)
    quiet.end_time = T0 + timedelta(minutes=40)
    assert onset_window(con, quiet) == (quiet.start_time, quiet.start_time + timedelta(minutes=5))
