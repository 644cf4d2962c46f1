"""An incident an hour's run judged open (it reached the data's end then) is resolved by a later hour's run once
the data has passed it and that hour did not continue it — so an hour-by-hour backfill ends where one that loaded
every hour first ends (`backfill --parallel`)."""
from datetime import datetime, timedelta

from logintel.analysis.incidents.incident import Incident, list_incidents, replace_incidents, resolve_ended
from logintel.store.warehouse import load_hour
from logintel.store.landing import HourBatch
from tests.support.factories import steady

H3, H4 = datetime(2026, 5, 4, 3), datetime(2026, 5, 4, 4)


def _incident(incident_id: str, hour: datetime, start: datetime, end: datetime) -> Incident:
    return Incident(incident_id=incident_id, partition_hour=hour, service="orders", route="/o", error_code="E",
                    start_time=start, end_time=end, first_seen=start, breached_windows=3, threshold=10, peak_errors=20)


def _load(con, hour):
    events = steady(hour, 1, 1)
    load_hour(con, HourBatch(hour=hour, lines=[e.to_json() for e in events], sources=["test"] * len(events)))


def test_a_later_hour_resolves_what_it_did_not_continue_and_leaves_what_it_did(con):
    _load(con, H3)
    ended = _incident("inc-ended", H3, H3 + timedelta(minutes=50), H3 + timedelta(minutes=59))
    continued = _incident("inc-continued", H3, H3 + timedelta(minutes=52), H3 + timedelta(minutes=59))
    replace_incidents(con, H3, [ended, continued])  # both open: they reach the data's end (03:59)
    assert resolve_ended(con, H3, 1) == 0
    _load(con, H4)
    later = _incident("inc-continued", H4, H4, H4 + timedelta(minutes=10))
    later.status = "resolved"
    replace_incidents(con, H4, [later])
    assert resolve_ended(con, H4, 1) == 1
    statuses = {i["incident_id"]: i["status"] for i in list_incidents(con)}
    assert statuses == {"inc-ended": "resolved", "inc-continued": "resolved"}
    rows = dict(con.execute("SELECT incident_id, status FROM incidents WHERE partition_hour = $h", {"h": H3}).fetchall())
    assert rows == {"inc-ended": "resolved", "inc-continued": "open"}  # the continued one's hour-3 row is its own
    # one that still reaches the data's end stays open
    replace_incidents(con, H4, [later, _incident("inc-now", H4, H4 + timedelta(minutes=50), H4 + timedelta(minutes=59))])
    assert resolve_ended(con, H4 + timedelta(hours=1), 1) == 1  # the continued one's hour-3 row, not inc-now
    assert {i["incident_id"]: i["status"] for i in list_incidents(con)}["inc-now"] == "open"
