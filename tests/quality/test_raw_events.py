"""Tests of the raw_events partition validation, with real GX on frames read from real DuckDB."""
from __future__ import annotations

from datetime import datetime, timedelta, timezone

import duckdb
import pandas as pd
import pytest

from logintel.quality import CHECKS, validate_raw_events

START = datetime(2025, 3, 1, 10)
END = START + timedelta(hours=1)
ROWS = 200

# The warehouse schema, so the frames carry the dtypes an asset check really gets
# (datetime64[us], Int32 with nulls, int32), not the ones pandas would pick by itself.
_PARTITION_SQL = f"""
SELECT
    'evt-' || lpad(i::VARCHAR, 5, '0')                                  AS event_id,
    TIMESTAMP '{START:%Y-%m-%d %H:%M:%S}' + to_microseconds(i * 17_000_000) AS ts,
    ['checkout', 'auth', 'search'][i % 3 + 1]                            AS service,
    ['/orders/{{id}}', '/login'][i % 2 + 1]                              AS route,
    'GET'::VARCHAR                                                       AS method,
    CASE WHEN i % 10 = 0 THEN NULL ELSE [200, 404, 503][i % 3 + 1] END::INTEGER AS status,
    (i * 1.5)::DOUBLE                                                    AS duration_ms,
    ['debug', 'info', 'warn', 'error', 'fatal'][i % 5 + 1]               AS level,
    NULL::VARCHAR AS error_code, NULL::VARCHAR AS error_type, NULL::VARCHAR AS error_message,
    NULL::VARCHAR AS trace_id, NULL::VARCHAR AS request_id, NULL::VARCHAR AS user_id,
    NULL::VARCHAR AS client_ip, NULL::VARCHAR AS user_agent,
    (1 + i % 4)::INTEGER                                                 AS sample_rate,
    '{{}}'::JSON                                                         AS attributes,
    TIMESTAMP '{START:%Y-%m-%d %H:%M:%S}'                                AS partition_hour
FROM range({ROWS}) AS r(i)
"""


@pytest.fixture(scope="module")
def clean() -> pd.DataFrame:
    with duckdb.connect() as connection:
        return connection.sql(_PARTITION_SQL).df()


def _outcome(report, name):
    return next(outcome for outcome in report.results if outcome.expectation == name)


def _failed(report) -> set[str]:
    return {outcome.expectation for outcome in report.failures}


def test_clean_partition_passes(clean):
    report = validate_raw_events(clean, START, END)
    assert report.success, report.to_markdown()
    assert report.rows == ROWS
    assert report.dead_letter_share == 0
    assert [o.expectation for o in report.results[:-1]] == [check.name for check in CHECKS]
    assert all(o.unexpected_count == 0 and o.sample == [] for o in report.results)
    # status has nulls (every tenth row); a range check counts only the values present.
    assert clean["status"].isna().sum() == ROWS // 10
    # GX is handed converted columns; the caller's frame keeps the warehouse dtypes.
    assert (str(clean["ts"].dtype), str(clean["status"].dtype)) == ("datetime64[us]", "Int32")


def _set(column, value, rows=(7,)):
    def breaks(df):
        for row in rows:
            df.loc[row, column] = value
    return breaks


def _duplicate_id(df):
    df.loc[8, "event_id"] = df.loc[3, "event_id"]


@pytest.mark.parametrize(
    ("breaks", "expectation", "count", "sample"),
    [
        # GX counts every row sharing a repeated id, so one duplicate pair is two rows.
        pytest.param(_duplicate_id, "event_id unique", 2, ["evt-00003"], id="duplicate-event_id"),
        pytest.param(_set("service", None), "service not null", 1, ["evt-00007"], id="null-service"),
        pytest.param(_set("ts", START - timedelta(seconds=1), rows=(7, 9)),
                     "ts between partition bounds", 2, ["2025-03-01 09:59:59"], id="ts-before-hour"),
        pytest.param(_set("ts", END + timedelta(minutes=5)),
                     "ts between partition bounds", 1, ["2025-03-01 11:05:00"], id="ts-after-hour"),
        pytest.param(_set("ts", END), "ts between partition bounds", 1, ["2025-03-01 11:00:00"],
                     id="ts-at-partition-end"),
        pytest.param(_set("duration_ms", -5.0), "duration_ms between 0 and 86,400,000", 1, ["-5"],
                     id="negative-duration"),
        pytest.param(_set("status", 700), "status between 100 and 599", 1, ["700"], id="status-700"),
        pytest.param(_set("level", "loud"), "level in known levels", 1, ["loud"], id="unknown-level"),
        pytest.param(_set("sample_rate", 0), "sample_rate ≥ 1", 1, ["0"], id="sample_rate-0"),
    ],
)
def test_each_broken_property_fails_exactly_its_expectation(clean, breaks, expectation, count, sample):
    df = clean.copy()
    breaks(df)
    report = validate_raw_events(df, START, END)
    assert not report.success
    assert _failed(report) == {expectation}
    failed = _outcome(report, expectation)
    assert failed.unexpected_count == count
    assert failed.sample == sample


def test_partition_bounds_include_start_and_exclude_only_end(clean):
    df = clean.copy()
    df.loc[0, "ts"] = START
    df.loc[1, "ts"] = END - timedelta(microseconds=1)
    assert validate_raw_events(df, START, END).success


def test_aware_bounds_and_aware_timestamps_compare_as_utc(clean):
    paris = timezone(timedelta(hours=1))
    df = clean.assign(ts=clean["ts"].dt.tz_localize("UTC").dt.tz_convert("Europe/Paris"))
    assert validate_raw_events(df, START.replace(tzinfo=timezone.utc), END.replace(tzinfo=timezone.utc)).success
    # 11:00 in Paris is 10:00 UTC: the same hour, written in another zone.
    assert validate_raw_events(clean, START.replace(hour=11, tzinfo=paris), END.replace(hour=12, tzinfo=paris)).success
    shifted = validate_raw_events(clean, START.replace(tzinfo=paris), END.replace(tzinfo=paris))
    assert _failed(shifted) == {"ts between partition bounds"}


def test_too_many_dead_letters_fail_only_the_dead_letter_share(clean):
    report = validate_raw_events(clean, START, END, dead_letters=3)  # 3 of 203 records: 1.48%
    assert _failed(report) == {"dead-letter share ≤ 1.00%"}
    outcome = report.results[-1]
    assert outcome.unexpected_count == 3
    assert report.dead_letter_share == pytest.approx(3 / 203)
    assert outcome.unexpected_percent == pytest.approx(300 / 203)
    assert validate_raw_events(clean, START, END, dead_letters=2).success  # 2 of 202: 0.99%
    assert validate_raw_events(clean, START, END, dead_letters=3, dead_letter_max_share=0.05).success


def test_empty_partition_is_a_clear_success():
    empty = pd.DataFrame(columns=["event_id", "ts", "service", "route", "level"])
    report = validate_raw_events(empty, START, END)
    assert report.success and report.rows == 0
    assert [o.expectation for o in report.results] == ["dead-letter share ≤ 1.00%"]
    assert "No rows in this partition" in report.to_markdown()
    # An hour whose every record was dead-lettered is empty too, and not fine.
    assert not validate_raw_events(empty, START, END, dead_letters=4).success


def test_missing_column_is_reported_not_raised(clean):
    report = validate_raw_events(clean.drop(columns=["sample_rate"]), START, END)
    assert _failed(report) == {"sample_rate ≥ 1"}
    outcome = _outcome(report, "sample_rate ≥ 1")
    assert outcome.unexpected_count is None
    assert "sample_rate" in outcome.error


def test_markdown_shows_every_expectation_and_names_the_failures(clean):
    df = clean.copy()
    df.loc[4, "level"] = "lo|ud"
    df.loc[5, "status"] = 700
    report = validate_raw_events(df, START, END, dead_letters=10)
    markdown = report.to_markdown()
    assert markdown.startswith(f"❌ **3 of {len(CHECKS) + 1} expectations failed:**")
    assert "*level in known levels*" in markdown.splitlines()[0]
    table = [line for line in markdown.splitlines() if line.startswith("| ")]
    assert len(table) == 1 + len(report.results)  # header, then one row per expectation
    assert "| ❌ | status between 100 and 599 | `status` | 1 | 0.556% | `700` |" in table
    assert "| ❌ | level in known levels | `level` | 1 | 0.5% | `lo\\|ud` |" in table
    assert "| ✅ | event_id unique | `event_id` | 0 | 0% |  |" in table
