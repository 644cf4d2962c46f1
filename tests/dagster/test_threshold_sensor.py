"""The threshold sensor against a real file landing zone: fires above threshold, not below, once per
(group, window), and its cursor survives a restart. Data sits in the previous hour, 'now'-relative."""
from datetime import timedelta

import pytest

from logintel.store.landing_files import FileLandingZone
from sensors.threshold import error_threshold_sensor
from tests.support.factories import burst, steady
from tests.support.sensor_ticks import partition_key, tick


@pytest.fixture
def zone(home):
    return FileLandingZone(home / "landing")


def test_fires_above_threshold_for_the_affected_partition(defs, zone, previous_hour):
    zone.write(steady(previous_hour, 1, 5) + burst(previous_hour + timedelta(minutes=10), 10, 80, error_code="PG_TIMEOUT"))
    result = tick(error_threshold_sensor, defs)
    assert [r.partition_key for r in result.run_requests] == [partition_key(previous_hour)]
    request = result.run_requests[0]
    assert request.run_key.startswith(f"threshold:{partition_key(previous_hour)}:")
    assert "payments /payments/charge PG_TIMEOUT" in request.tags["logintel/groups"]


def test_does_not_fire_at_or_below_threshold(defs, zone, previous_hour):
    zone.write(steady(previous_hour, 1, 5) + burst(previous_hour + timedelta(minutes=10), 5, 10, error_code="PG_TIMEOUT"))
    result = tick(error_threshold_sensor, defs)
    assert result.run_requests == []
    assert "no new breaches" in result.skip_message


def test_fires_once_per_group_window_and_cursor_survives_restart(defs, zone, previous_hour):
    zone.write(burst(previous_hour + timedelta(minutes=10), 10, 80, error_code="PG_TIMEOUT"))
    first = tick(error_threshold_sensor, defs)
    assert len(first.run_requests) == 1
    # Same data, cursor carried over (a new context, as after a daemon restart): nothing new.
    again = tick(error_threshold_sensor, defs, cursor=first.cursor)
    assert again.run_requests == []
    # New data that touches the hour but adds no new breach: still nothing.
    zone.write(steady(previous_hour + timedelta(minutes=40), 0.1, 2))
    quiet = tick(error_threshold_sensor, defs, cursor=again.cursor)
    assert quiet.run_requests == []
    # A second group breaching later fires once more, for that group only.
    zone.write(burst(previous_hour + timedelta(minutes=45), 5, 40, service="orders", route="/orders",
                     error_code="DB_POOL_EXHAUSTED"))
    third = tick(error_threshold_sensor, defs, cursor=quiet.cursor)
    assert len(third.run_requests) == 1
    assert third.run_requests[0].tags["logintel/groups"] == "orders /orders DB_POOL_EXHAUSTED"
    assert third.run_requests[0].run_key != first.run_requests[0].run_key


def test_without_cursor_everything_is_evaluated_but_old_hours_are_ignored(defs, zone, previous_hour):
    old = previous_hour - timedelta(hours=12)
    zone.write(burst(old + timedelta(minutes=10), 10, 80, error_code="OLD"))
    assert tick(error_threshold_sensor, defs).run_requests == []


def test_a_breach_straddling_the_hour_boundary_is_found_from_the_previous_hours_tail(defs, zone, previous_hour):
    # 8 errors in the last 3 minutes of one hour, 8 in the first 2 of the next: only the windows
    # that span the boundary pass the threshold of 10, and they belong to the later hour.
    earlier = previous_hour - timedelta(hours=1)
    zone.write(steady(earlier, 1, 3) + burst(previous_hour - timedelta(minutes=3), 3, 8, error_code="PG_TIMEOUT")
               + burst(previous_hour, 2, 8, error_code="PG_TIMEOUT"))
    result = tick(error_threshold_sensor, defs)
    assert [r.partition_key for r in result.run_requests] == [partition_key(previous_hour)]
