"""`logintel backfill`: the hours of [start, end) through the hourly graph, then the days they touch."""
import json
import os
import signal
import subprocess
import sys
from datetime import date, datetime, timedelta, timezone

import pytest

from launch.backfill import parse_time, plan
from logintel.daily.partition_span import check_day, check_hours, hour_range
from logintel.store.landing_files import FileLandingZone
from tests.support import REPO_ROOT
from tests.support.factories import burst, steady


def test_the_plan_is_the_hours_from_starts_hour_and_the_days_they_touch():
    hours, days = plan(datetime(2026, 11, 23, 22, 30), datetime(2026, 11, 24, 1, 0), "UTC")
    assert hours == ["2026-11-23-22:00", "2026-11-23-23:00", "2026-11-24-00:00"]
    assert days == ["2026-11-23", "2026-11-24"]
    # In Seoul (UTC+9) those hours all fall on the 24th.
    assert plan(datetime(2026, 11, 23, 22), datetime(2026, 11, 24, 1), "Asia/Seoul")[1] == ["2026-11-24"]


def test_bad_times_are_refused_with_the_flag_named():
    with pytest.raises(ValueError, match="--start: not a time"):
        parse_time("yesterday", "--start")
    assert parse_time("2026-11-23T10:00+09:00", "--end") == datetime(2026, 11, 23, 1)
    with pytest.raises(ValueError, match="must be after --start"):
        plan(datetime(2026, 11, 23, 10), datetime(2026, 11, 23, 10), "UTC")


def _logintel(home, *args):
    env = dict(os.environ, LOGINTEL_HOME=str(home))
    env.pop("LOGINTEL_POSTGRES_URL", None)
    return subprocess.run([sys.executable, "-m", "launch.cli", *args], env=env, capture_output=True,
                          text=True, timeout=600, cwd=REPO_ROOT)


def _backfill(home, *args):
    return _logintel(home, "backfill", *args)


@pytest.mark.subprocess
@pytest.mark.slow
def test_backfill_runs_every_hour_then_the_day_and_reports_json(tmp_path):
    home = tmp_path / "home"
    hour = datetime(2026, 11, 23, 9, tzinfo=timezone.utc)
    FileLandingZone(home / "landing").write(steady(hour, 1, 5) + steady(hour + timedelta(hours=1), 1, 5)
                                            + burst(hour + timedelta(minutes=70), 15, 90, error_code="PG_TIMEOUT"))
    done = _backfill(home, "--start", "2026-11-23T09:00", "--end", "2026-11-23T11:00", "--json")
    assert done.returncode == 0, done.stderr[-3000:]
    report = json.loads(done.stdout)
    assert [r["partition"] for r in report["hourly"]] == ["2026-11-23-09:00", "2026-11-23-10:00"]
    assert [r["partition"] for r in report["daily"]] == ["2026-11-23"] and report["succeeded"]
    assert "[ 2/2] 2026-11-23-10:00  ok" in done.stderr  # the progress went to stderr, the JSON alone to stdout
    assert (home / "dagster" / "storage").exists()  # recorded in the instance the UI reads
    # `logintel digest` prints the digest the backfill wrote: the day's JSON, its issue, its grounding
    digest = _logintel(home, "digest", "--json")
    assert digest.returncode == 0, digest.stderr[-3000:]
    document = json.loads(digest.stdout)
    assert document["date"] == "2026-11-23" and len(document["hours_covered"]) == 2
    assert "PG_TIMEOUT" in document["top_issues"][0]["text"] and document["grounding"]["ratio"] == 1.0
    assert document["markdown_path"].endswith("2026-11-23.md") and document["html_path"].endswith(".html")
    markdown = _logintel(home, "digest", "--date", "2026-11-23")
    assert markdown.returncode == 0 and markdown.stdout.startswith("# Daily digest · 2026-11-23")


@pytest.mark.subprocess
def test_digest_with_a_bad_date_or_no_data_exits_2_with_the_reason(tmp_path):
    bad = _logintel(tmp_path / "home", "digest", "--date", "2026-13-01")
    assert bad.returncode == 2 and "not a day" in bad.stderr
    empty = _logintel(tmp_path / "home", "digest")
    assert empty.returncode == 2 and "holds no events yet" in empty.stderr
    for day in ("1999-01-01", "0001-01-01", "9999-12-31"):
        outside = _logintel(tmp_path / "home", "digest", "--date", day)
        assert outside.returncode == 2 and "outside the daily partitions: they run from" in outside.stderr, day
        assert "Traceback" not in outside.stderr


@pytest.mark.subprocess
def test_backfill_with_bad_arguments_exits_2_with_the_reason(tmp_path):
    done = _backfill(tmp_path / "home", "--start", "2026-11-23T10:00", "--end", "2026-11-23T09:00")
    assert done.returncode == 2 and "must be after --start" in done.stderr

    for start, end in (("2025-01-01T00:00", "2025-01-01T02:00"), ("2099-01-01T00:00", "2099-01-01T02:00"),
                       ("0001-01-01T00:00", "0001-01-01T01:00"), ("9999-12-31T22:00", "9999-12-31T23:00")):
        outside = _backfill(tmp_path / "home", "--start", start, "--end", end)
        assert outside.returncode == 2 and "outside the hourly partitions: they run from" in outside.stderr, start
        assert "Traceback" not in outside.stderr


def test_the_partitions_span_is_from_the_configured_start_to_the_hour_in_progress():
    now = datetime(2026, 12, 6, 7, 44, tzinfo=timezone.utc)
    assert hour_range("2026-01-01T00:00:00", now) == (datetime(2026, 1, 1), datetime(2026, 12, 6, 8))
    check_hours(datetime(2026, 1, 1), datetime(2026, 12, 6, 8), "2026-01-01T00:00:00", now)  # the whole span is fine
    with pytest.raises(ValueError, match="from 2026-01-01T00:00 to 2026-12-06T08:00"):
        check_hours(datetime(2025, 12, 31, 23), datetime(2026, 1, 1, 1), "2026-01-01T00:00:00", now)
    with pytest.raises(ValueError, match="outside the hourly partitions"):
        check_hours(datetime(2026, 12, 6, 8), datetime(2026, 12, 6, 9), "2026-01-01T00:00:00", now)
    # In Seoul it is already the 6th at 07:44 UTC; in Los Angeles still the 5th.
    check_day(date(2026, 12, 6), "2026-01-01", "Asia/Seoul", now)
    with pytest.raises(ValueError, match="to 2026-12-05"):
        check_day(date(2026, 12, 6), "2026-01-01", "America/Los_Angeles", now)


@pytest.mark.subprocess
@pytest.mark.slow
@pytest.mark.parametrize("signum", [signal.SIGTERM, signal.SIGINT])
def test_a_signal_stops_the_backfill_after_the_hour_in_progress_and_reports_what_ran(tmp_path, signum):
    home = tmp_path / "home"
    hour = datetime(2026, 11, 23, 9, tzinfo=timezone.utc)
    FileLandingZone(home / "landing").write([e for h in range(4) for e in steady(hour + timedelta(hours=h), 1, 5)])
    env = dict(os.environ, LOGINTEL_HOME=str(home))
    env.pop("LOGINTEL_POSTGRES_URL", None)
    proc = subprocess.Popen([sys.executable, "-m", "launch.cli", "backfill", "--start", "2026-11-23T09:00",
                             "--end", "2026-11-23T13:00", "--json"], env=env, cwd=REPO_ROOT, text=True,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    for line in proc.stderr:  # once the first hour is done the second is (almost always) in progress
        if "[ 1/4]" in line:
            break
    proc.send_signal(signum)
    stdout, stderr = proc.communicate(timeout=300)
    assert proc.returncode == 128 + signum, stderr[-3000:]
    report = json.loads(stdout)
    assert report["stopped_by"] == signal.Signals(signum).name and not report["succeeded"]
    ran = [r["partition"] for r in report["hourly"]]
    assert ran and all(r["success"] for r in report["hourly"])  # the hour in progress finished, not failed
    assert report["not_run"] == ["2026-11-23-09:00", "2026-11-23-10:00", "2026-11-23-11:00", "2026-11-23-12:00",
                                 "2026-11-23"][len(ran):]
    assert report["daily"] == [] and report["failed"] == []
