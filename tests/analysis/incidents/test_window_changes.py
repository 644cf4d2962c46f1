"""The hour's examined windows as a table of their own (window_changes): incidents decided from the stored windows are
the incidents decided from windows investigated on the spot; every window has a row saying what became of it; an
hour never examined reads as None, so the incidents step investigates it itself."""
from __future__ import annotations

import json
import random
from datetime import timedelta

from logintel.analysis.incidents.change_incidents import KIND
from logintel.analysis.incidents.hour_assembly import detect_hour_incidents
from logintel.analysis.incidents.incident import list_incidents, replace_incidents
from logintel.analysis.incidents.window_changes import (EXAMINED, NOTHING_TO_COMPARE, NOT_IN_YET, examine_hour,
                                                        read_window_changes, replace_window_changes)
from logintel.analysis.thresholds import Thresholds
from logintel.analysis.windows import WindowSpec, compute_windows
from logintel.views.window_table import window_rows
from tests.analysis.incidents.test_change_incidents import HOUR, orders
from tests.analysis.investigation.test_investigation_signals import Day, steady


def _stored(con, found) -> list[dict]:
    replace_incidents(con, HOUR, found.all)
    return json.loads(json.dumps(list_incidents(con), default=str))


def test_incidents_from_the_stored_windows_are_those_investigated_on_the_spot(tmp_path):
    rng, day = random.Random(5), Day()
    steady(day, rng, range(60))
    orders(day, rng, skips_check=lambda minute: 30 <= minute < 40)
    con = day.warehouse(tmp_path)
    compute_windows(con, HOUR)
    now = HOUR + timedelta(hours=2)
    assert read_window_changes(con, HOUR) is None  # never examined
    inline = _stored(con, detect_hour_incidents(con, HOUR, Thresholds(), WindowSpec(), redact=lambda t: t, now=now))

    replace_window_changes(con, HOUR, examine_hour(con, HOUR, now=now))
    examined = read_window_changes(con, HOUR)
    # the first window has no minutes before it in the warehouse
    assert [w.status for w in examined] == [NOTHING_TO_COMPARE] + [EXAMINED] * 11
    assert "baseline" in examined[0].investigation["reason"]
    # the stored windows are used as they are: no clock is consulted (a clock before the hour would examine nothing)
    stored = _stored(con, detect_hour_incidents(con, HOUR, Thresholds(), WindowSpec(), redact=lambda t: t,
                                                now=HOUR - timedelta(hours=1), examined=examined))
    assert stored == inline
    assert [i["service"] for i in stored if i["kind"] == KIND and not i.get("merged_into")] == ["orders"]
    rows = window_rows(examined)
    assert [r["opens a change incident"] for r in rows].count("yes") >= 1
    assert rows[6]["window"] == f"{HOUR:%H}:30–{HOUR:%H}:35" and rows[6]["first"].startswith("orders")
    assert rows[0]["opens a change incident"] == "" and rows[0]["first"] == examined[0].investigation["reason"]


def test_every_window_has_a_row_saying_what_became_of_it(tmp_path):
    rng, day = random.Random(6), Day()
    steady(day, rng, range(20))  # traffic for the first 20 minutes only
    con = day.warehouse(tmp_path)
    windows = examine_hour(con, HOUR, now=HOUR + timedelta(minutes=40))
    # 10:00 has no minutes before it; 10:20-10:35 no requests; from 10:35 on, not ended 5 minutes before the clock
    assert [w.status for w in windows] == [NOTHING_TO_COMPARE] + [EXAMINED] * 3 + [NOTHING_TO_COMPARE] * 3 + \
        [NOT_IN_YET] * 5
    assert "no request in" in windows[4].investigation["reason"]
    assert windows[1].investigation["window"]["start"] == (HOUR + timedelta(minutes=5)).isoformat()
    assert len(windows[1].candidates) <= 5
    replace_window_changes(con, HOUR, windows)
    replace_window_changes(con, HOUR, windows)  # a rerun replaces the hour's rows
    again = read_window_changes(con, HOUR)
    assert [(w.start, w.status) for w in again] == [(w.start, w.status) for w in windows]
    assert read_window_changes(con, HOUR + timedelta(hours=1)) is None
