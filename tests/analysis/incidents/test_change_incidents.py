"""Change incidents on hand-made events in a real DuckDB warehouse: a service that stops taking a code path (no
error, no slowdown) opens one, blaming it, with its text grounded; a quiet hour opens none; a change at a service
an error incident already holds folds into it; the hour's last window is examined once its events are in."""
from __future__ import annotations

import random
from datetime import datetime, timedelta

import pytest

from logintel.analysis.incidents.change_incidents import KIND, candidates_at_onset
from logintel.analysis.incidents.hour_assembly import detect_hour_incidents
from logintel.analysis.incidents.incident import Incident
from logintel.analysis.thresholds import Thresholds
from logintel.analysis.windows import WindowSpec, compute_windows
from logintel.config import LLMConfig
from logintel.llm.gateway import LLMGateway
from logintel.llm.redaction import Redactor
from logintel.narration.incident_text import write_summaries
from tests.analysis.investigation.test_investigation_signals import T0, Day, steady

HOUR = datetime(T0.year, T0.month, T0.day, T0.hour)


def hour_of(day: Day, tmp_path, now: datetime | None = None):
    con = day.warehouse(tmp_path)
    compute_windows(con, HOUR)
    found = detect_hour_incidents(con, HOUR, Thresholds(), WindowSpec(), redact=lambda text: text, now=now)
    return con, found


def orders(day: Day, rng: random.Random, skips_check, failing=lambda minute: False, minutes=range(60)) -> None:
    """Ten order reads a minute for the hour, each logging its read and (unless `skips_check`) its price check."""
    for minute in minutes:
        for k in range(10):
            lines = [("o.OrderService", "order read")]
            if not skips_check(minute):
                lines.append(("o.OrderService", "order checked against its price"))
            day.request(minute * 60 + k * 6, "orders", "/orders/{id}", rng.uniform(5, 9), lines=lines,
                        failing=failing(minute) and k < 8)


def test_a_code_path_no_longer_taken_opens_a_change_incident_blaming_its_service(tmp_path):
    rng, day = random.Random(5), Day()
    steady(day, rng, range(60))
    orders(day, rng, skips_check=lambda minute: 30 <= minute < 40)
    con, found = hour_of(day, tmp_path)
    (change,) = [i for i in found.all if i.kind == KIND and not i.merged_into]
    assert change.service == "orders" and change.root_cause["service"] == "orders"
    assert change.root_cause["candidates"][0]["kind"] == "log_pattern"
    assert (change.start_time.minute, change.end_time.minute) == (30, 40)
    write_summaries(con, found.all, LLMGateway(LLMConfig()), Redactor(secret="test"))
    assert "orders" in change.summary and change.grounding["ratio"] == 1.0
    assert not [i for i in found.all if i.kind != KIND and not i.merged_into]  # no error, no slowdown


@pytest.mark.parametrize("last_minute, clock, examined", [
    (60, timedelta(hours=1, seconds=30), True),    # the hour's run sees its own events, which end at 59:54
    (58, timedelta(hours=1, minutes=10), True),    # traffic paused at 58:00, and the window ended 10 minutes ago
    (58, timedelta(hours=1, minutes=2), False),    # ... 2 minutes ago: its last events may still be on their way
    (60, timedelta(minutes=57), False),            # the hour is still open: its last window has not ended
])
def test_the_hours_last_window_is_examined_once_its_events_are_in(tmp_path, last_minute, clock, examined):
    rng, day = random.Random(8), Day()
    steady(day, rng, range(last_minute))
    orders(day, rng, skips_check=lambda minute: minute >= 55, minutes=range(last_minute))
    _, found = hour_of(day, tmp_path, now=HOUR + clock)
    changes = [(i.service, i.start_time.minute) for i in found.all if i.kind == KIND and not i.merged_into]
    assert changes == ([("orders", 55)] if examined else [])


def test_a_quiet_hour_opens_no_change_incident(tmp_path):
    rng, day = random.Random(6), Day()
    steady(day, rng, range(60))
    orders(day, rng, skips_check=lambda minute: False)
    _, found = hour_of(day, tmp_path)
    assert found.changes == []


def test_a_change_at_a_service_an_error_incident_holds_folds_into_it(tmp_path):
    rng, day = random.Random(7), Day()
    steady(day, rng, range(60))
    orders(day, rng, skips_check=lambda minute: 30 <= minute < 40, failing=lambda minute: 30 <= minute < 40)
    _, found = hour_of(day, tmp_path)
    changes = [i for i in found.all if i.kind == KIND]
    standing = [i for i in found.all if not i.merged_into]
    assert changes and all(c.merged_into in {i.incident_id for i in standing} for c in changes)
    assert all(i.kind != KIND for i in standing)


def _incident(start_minute: int, **root_cause) -> Incident:
    start = HOUR.replace(minute=start_minute)
    return Incident(incident_id=f"inc-{start_minute}", partition_hour=HOUR, service="orders", route="/orders/{id}",
                    error_code=None, start_time=start, end_time=start.replace(minute=min(start_minute + 6, 59)),
                    first_seen=start, breached_windows=2, threshold=0.05, peak_errors=9, root_cause=root_cause)


def test_an_incident_of_one_service_gets_the_ranking_of_the_window_it_began_in():
    ranked = {HOUR.replace(minute=5): [{"rank": 1, "service": "payments"}], HOUR.replace(minute=10): [{"rank": 1,
              "service": "orders"}]}
    began_at_7, began_at_10 = _incident(7, kind="attribute"), _incident(10)
    already = _incident(12, candidates=[{"rank": 1, "service": "inventory"}])
    unranked = _incident(40)
    candidates_at_onset([began_at_7, began_at_10, already, unranked], ranked)
    assert began_at_7.root_cause["candidates"] == [{"rank": 1, "service": "payments"}]
    assert began_at_7.root_cause["candidates_window"] == [HOUR.replace(minute=5).isoformat(),
                                                         HOUR.replace(minute=10).isoformat()]
    assert began_at_7.root_cause["kind"] == "attribute"  # its own cause stays
    assert began_at_10.root_cause["candidates"][0]["service"] == "orders"
    assert already.root_cause["candidates"][0]["service"] == "inventory"
    assert "candidates" not in unranked.root_cause


def test_every_standing_incident_of_the_hour_has_ranked_candidates(tmp_path):
    rng, day = random.Random(7), Day()
    steady(day, rng, range(60))
    orders(day, rng, skips_check=lambda minute: False, failing=lambda minute: 30 <= minute < 40)
    _, found = hour_of(day, tmp_path)
    standing = [i for i in found.all if not i.merged_into]
    assert standing and all(i.root_cause.get("candidates") for i in standing)
    assert all(i.root_cause["candidates"][0]["service"] == "orders" for i in standing)
