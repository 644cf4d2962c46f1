"""A digest day in its time zone, mapped onto the UTC hours of the hourly partitions."""
from datetime import date, datetime

import pytest

from logintel.daily.days import DigestDay, hour_key, hours_covered


def test_a_utc_day_is_its_24_hours():
    day = DigestDay(date(2026, 12, 1))
    hours = day.hours()
    assert len(hours) == 24
    assert hours[0] == datetime(2026, 12, 1, 0) and hours[-1] == datetime(2026, 12, 1, 23)
    assert (day.start, day.end) == (datetime(2026, 12, 1), datetime(2026, 12, 2))
    assert hour_key(hours[13]) == "2026-12-01-13:00"


def test_a_day_in_seoul_starts_at_15_utc_the_day_before():
    day = DigestDay(date(2026, 12, 1), "Asia/Seoul")
    assert day.start == datetime(2026, 11, 30, 15) and day.end == datetime(2026, 12, 1, 15)
    assert len(day.hours()) == 24


@pytest.mark.parametrize("when, hours", [(date(2026, 3, 29), 23), (date(2026, 10, 25), 25)])
def test_daylight_saving_days_have_23_or_25_hours(when, hours):
    assert len(DigestDay(when, "Europe/Berlin").hours()) == hours


def test_a_half_hour_zone_takes_every_hour_that_overlaps_the_day():
    day = DigestDay(date(2026, 12, 1), "Asia/Kolkata")  # UTC+5:30: 18:30 the day before to 18:30
    hours = day.hours()
    assert hours[0] == datetime(2026, 11, 30, 18) and hours[-1] == datetime(2026, 12, 1, 18)
    assert len(hours) == 25


def test_hours_covered_names_the_missing_ones():
    day = DigestDay(date(2026, 12, 1))
    held = {datetime(2026, 12, 1, h) for h in range(0, 24) if h not in (5, 6)} | {datetime(2026, 11, 30, 23)}
    covered, missing = hours_covered(day, held)
    assert len(covered) == 22 and missing == [datetime(2026, 12, 1, 5), datetime(2026, 12, 1, 6)]


def test_a_bad_day_is_refused_with_what_was_expected():
    with pytest.raises(ValueError, match="expected YYYY-MM-DD"):
        DigestDay.parse("01/12/2026")
    assert DigestDay.parse("2026-12-01", "UTC").key == "2026-12-01"
