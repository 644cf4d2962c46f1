"""`logintel backfill`: the hours of [start, end) through the hourly graph, then the days they touch."""
import json
import os
import subprocess
import sys
from datetime import datetime, timedelta, timezone

import pytest

from launch.backfill import parse_time, plan
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
    early = _logintel(tmp_path / "home", "digest", "--date", "1999-01-01")
    assert early.returncode == 2 and "not a daily partition" in early.stderr


@pytest.mark.subprocess
def test_backfill_with_bad_arguments_exits_2_with_the_reason(tmp_path):
    done = _backfill(tmp_path / "home", "--start", "2026-11-23T10:00", "--end", "2026-11-23T09:00")
    assert done.returncode == 2 and "must be after --start" in done.stderr
