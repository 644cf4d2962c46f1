"""The SRE analyst on hand-built traffic in a real DuckDB warehouse, and on simulated days."""
from datetime import date, datetime, timedelta

import duckdb
import pytest

from logintel.agents.analyst_report import ground_findings
from logintel.agents.finding import Scope
from logintel.agents.sre import sre_analyst as sre
from logintel.agents.sre.sre_rules import SreRules
from logintel.daily.days import DigestDay
from tests.support.simulated_warehouse import simulated_day

DAY = DigestDay(date(2026, 12, 1))


@pytest.fixture
def con(empty_warehouse):
    return empty_warehouse


def add_traffic(con, route: str, start: datetime, minutes: int, per_minute: int, *, error_share=0.0,
                latency_ms="120 + 40 * random()", status_error=503, service="shop"):
    """`per_minute` requests a minute on `route` for `minutes` from `start`; a share of them server errors;
    latency is a SQL expression of `m` (minutes since start) and random()."""
    con.execute("SELECT setseed(0.42)")
    con.execute(f"""
        INSERT INTO raw_events (event_id, ts, service, route, method, status, duration_ms, level, error_code,
                                sample_rate, attributes, partition_hour)
        SELECT uuid()::VARCHAR, ts, '{service}', '{route}', 'GET', CASE WHEN failed THEN {status_error} ELSE 200 END,
               {latency_ms}, CASE WHEN failed THEN 'error' ELSE 'info' END, CASE WHEN failed THEN 'UNAVAILABLE' END,
               1, '{{}}', date_trunc('hour', ts)
        FROM (SELECT $start + to_microseconds((i * 60000000 // $per)::BIGINT) AS ts,
                     (i // $per)::INTEGER AS m, random() < $share AS failed
              FROM range($n) t(i))""",
                {"start": start, "per": per_minute, "share": error_share, "n": minutes * per_minute})


def findings(con, scope=None, rules=SreRules()):
    return ground_findings(con, sre.analyse(con, scope or Scope.whole_day(DAY), rules)).findings


def test_a_fast_burn_pages_within_its_detection_time(con):
    add_traffic(con, "/pay", DAY.start, 24 * 60, 50)                                  # healthy all day
    add_traffic(con, "/pay", DAY.start + timedelta(hours=10), 30, 50, error_share=0.05)  # 50× for half an hour
    found = findings(con)
    pages = [f for f in found if f.kind == "burn_rate_page"]
    assert len(pages) == 1 and pages[0].entities["routes"] == ["/pay"]
    assert pages[0].evidence["rule"]["burn"] == 14.4 and pages[0].severity == "high"
    start = datetime.fromisoformat(pages[0].evidence["alerts"][0]["start"])
    # 25× in the 5-minute window at once; the hour reaches 14.4× after about 25 minutes (the rule's detection time).
    assert DAY.start + timedelta(hours=10) <= start <= DAY.start + timedelta(hours=10, minutes=30)
    assert all(f.grounding["grounded"] for f in found)


def test_a_burn_under_the_page_rules_is_a_ticket_not_a_page(con):
    add_traffic(con, "/pay", DAY.start, 24 * 60, 50, error_share=0.004)  # 4× the budget all day
    found = findings(con)
    assert [f.kind for f in found] == ["burn_rate_ticket"]
    assert 3.0 < found[0].evidence["alerts"][0]["peak_burn_long"] < 6.0  # the 3-day window, early in the day noisy


def test_errors_within_the_budget_raise_nothing(con):
    add_traffic(con, "/pay", DAY.start, 24 * 60, 50, error_share=0.0005)
    report = sre.analyse(con, Scope.whole_day(DAY))
    assert report.findings == [] and report.abstained
    assert "nothing that stands out" in report.summary() and report.examined["routes"] == 1


def test_client_errors_do_not_spend_the_availability_budget(con):
    add_traffic(con, "/login", DAY.start, 6 * 60, 50, error_share=0.3, status_error=401)
    con.execute("UPDATE raw_events SET level = 'warn' WHERE status = 401")
    assert not [f for f in findings(con) if f.kind.startswith("burn_rate")]


def test_a_steady_creep_is_forecast_before_the_p99_crosses_its_objective(con):
    # 400 requests an hour; from 04:00 the slowest 3% grow by 250 ms an hour toward the 1 s objective.
    add_traffic(con, "/search", DAY.start - timedelta(days=1), 48 * 60, 7,
                latency_ms="CASE WHEN random() < 0.03 AND m >= 1680 THEN 150 + 250 * (m - 1680) / 60.0 "
                           "ELSE 80 + 60 * random() END")
    found = [f for f in findings(con) if f.kind == "latency_forecast"]
    assert len(found) == 1
    raised = datetime.fromisoformat(found[0].evidence["raised_at"])
    breached = datetime.fromisoformat(found[0].evidence["breached_at"])
    assert raised < breached and found[0].evidence["lead_hours"] >= 0.5
    assert found[0].evidence["diurnal_checked"] is True
    assert found[0].grounding["grounded"] is True


def test_a_rise_the_day_before_also_had_is_diurnal_not_a_forecast(con):
    # Every day from 06:00 to 10:00 the tail climbs to 700 ms and falls back: the same each day.
    latency = ("CASE WHEN random() < 0.03 AND (m % 1440) BETWEEN 360 AND 600 "
               "THEN 150 + 140 * ((m % 1440) - 360) / 60.0 ELSE 80 + 60 * random() END")
    add_traffic(con, "/search", DAY.start - timedelta(days=1), 48 * 60, 7, latency_ms=latency)
    assert not [f for f in findings(con) if f.kind == "latency_forecast"]


def test_noise_without_a_trend_raises_no_forecast(con):
    add_traffic(con, "/search", DAY.start - timedelta(days=1), 48 * 60, 7,
                latency_ms="CASE WHEN random() < 0.02 THEN 400 + 500 * random() ELSE 80 + 60 * random() END")
    assert not [f for f in findings(con) if f.kind == "latency_forecast"]


def test_no_raw_events_is_a_clear_abstention(con):
    report = sre.analyse(con, Scope.whole_day(DAY))
    assert report.abstained and report.notes == ["no raw_events in the scope"]


@pytest.mark.slow
def test_the_simulated_leak_is_forecast_and_a_quiet_day_raises_nothing(tmp_path):
    con = duckdb.connect(str(tmp_path / "warehouse.duckdb"))
    simulated_day(con, datetime(2026, 11, 30), seed=107, scenarios=[], requests_per_minute=200)
    simulated_day(con, datetime(2026, 12, 1), seed=7, scenarios=["slow_degradation"], requests_per_minute=200)
    quiet = sre.analyse(con, Scope.whole_day(DAY.previous(1)))
    assert quiet.findings == []
    found = findings(con)
    forecast = [f for f in found if f.kind == "latency_forecast"]
    assert [f.entities["routes"] for f in forecast] == [["/search"]]
    assert forecast[0].evidence["lead_hours"] >= 1.0
    assert not [f for f in found if f.kind.startswith("burn_rate")]
