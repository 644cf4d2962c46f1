"""Reading the window out of a question about a stretch of time, in the digest's time zone."""
from __future__ import annotations

from datetime import date, datetime, timezone

import pytest

from logintel.agents.ask.window_question import asked_window, goes_to_investigation

DAY = date(2026, 11, 23)


def utc(hour: int, minute: int, day: int = 23) -> datetime:
    return datetime(2026, 11, day, hour, minute, tzinfo=timezone.utc)


@pytest.mark.parametrize("question", [
    "what went wrong between 09:00 and 09:10?", "What happened from 9:00 to 9:10", "errors 09:00-09:10",
    "why slow 09:00–09:10 UTC", "from 09:00 until 09:10, anything?"])
def test_the_forms_of_a_window(question):
    assert asked_window(question, DAY, "UTC") == (utc(9, 0), utc(9, 10))


def test_a_window_is_read_on_the_digest_clock_unless_it_says_utc():
    assert asked_window("between 10:00 and 10:30", DAY, "Europe/Berlin") == (utc(9, 0), utc(9, 30))
    assert asked_window("between 10:00 and 10:30 UTC", DAY, "Europe/Berlin") == (utc(10, 0), utc(10, 30))


def test_an_end_before_the_start_crosses_midnight_and_no_window_is_none():
    assert asked_window("between 23:50 and 00:10", DAY, "UTC") == (utc(23, 50), utc(0, 10, day=24))
    assert asked_window("are we under attack?", DAY, "UTC") is None
    assert asked_window("p99 of /checkout at 9", DAY, "UTC") is None


def test_a_time_that_is_no_time_of_day_says_so():
    with pytest.raises(ValueError, match="not a time of day"):
        asked_window("between 25:00 and 26:00", DAY, "UTC")


def test_which_questions_go_to_the_investigation():
    window = (utc(9, 0), utc(9, 10))
    assert goes_to_investigation(window, [("sre", 0.8)])
    assert not goes_to_investigation(window, [("security", 0.9)])
    assert not goes_to_investigation(None, [("sre", 1.0)])
