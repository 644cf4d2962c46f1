"""Evaluating one sensor tick the way the daemon would (a sensor context with the code location's
resources), and the hourly partition keys the sensors' run requests name."""
from __future__ import annotations

from contextlib import nullcontext
from datetime import datetime

import dagster as dg

from logintel.config import load_settings


def tick(sensor, defs, cursor=None, instance=None):
    """One evaluation of `sensor` against `defs`. On `instance` when given (a test that then runs the
    requested job on the same instance), otherwise on a throwaway instance of its own."""
    from resources import build_resources
    # nullcontext: an instance the test owns is used as is and left open for it.
    with (dg.instance_for_test() if instance is None else nullcontext(instance)) as active:
        context = dg.build_sensor_context(instance=active, cursor=cursor, definitions=defs,
                                          resources=build_resources(load_settings()))
        return sensor.evaluate_tick(context)


def partition_key(hour: datetime) -> str:
    """The hourly partition key of `hour`, as written out in the tests (not computed by the code under test)."""
    return hour.strftime("%Y-%m-%d-%H:00")
