"""The daily layer in Dagster: a day maps onto its hourly partitions, the schedule asks at 01:00 for
the day that ended, and daily_metrics materializes over the hours the warehouse holds."""
from datetime import datetime, timedelta, timezone

import dagster as dg

from logintel.daily.days import DigestDay
from logintel.daily.route_metrics import route_days
from logintel.store.landing_files import FileLandingZone
from logintel.store.warehouse import connect
from tests.support.factories import burst, steady

DAY = datetime(2026, 11, 23, tzinfo=timezone.utc)


def test_a_daily_partition_maps_onto_its_24_hourly_partitions():
    from definitions import defs
    graph = defs.get_repository_def().asset_graph
    daily, hourly = dg.AssetKey("daily_metrics"), dg.AssetKey("windowed_aggregates")
    mapping = graph.get(daily).partition_mappings.get(hourly) or dg.TimeWindowPartitionMapping()
    upstream = mapping.get_upstream_mapped_partitions_result_for_partitions(
        graph.get(daily).partitions_def.subset_with_partition_keys(["2026-11-23"]),
        graph.get(daily).partitions_def, graph.get(hourly).partitions_def).partitions_subset
    keys = sorted(upstream.get_partition_keys())
    assert len(keys) == 24 and keys[0] == "2026-11-23-00:00" and keys[-1] == "2026-11-23-23:00"


def test_the_schedule_asks_at_0100_for_the_day_that_ended():
    from definitions import defs
    schedule = defs.get_repository_def().get_schedule_def("daily_digest_schedule")
    assert schedule.cron_schedule == "0 1 * * *"
    with dg.instance_for_test() as instance:
        context = dg.build_schedule_context(instance=instance, repository_def=defs.get_repository_def(),
                                            scheduled_execution_time=DAY + timedelta(days=1, hours=1))
        requests = schedule.evaluate_tick(context).run_requests
    assert [r.partition_key for r in requests] == ["2026-11-23"]


def test_daily_metrics_covers_the_hours_held_and_names_the_missing_ones(defs, home):
    zone = FileLandingZone(home / "landing")
    hours = [DAY + timedelta(hours=9), DAY + timedelta(hours=10)]
    zone.write(steady(hours[0], 1, 10) + steady(hours[1], 1, 10)
               + burst(hours[1] + timedelta(minutes=20), 15, 120, error_code="PG_TIMEOUT"))
    with dg.instance_for_test() as instance:
        hourly = defs.resolve_job_def("hourly_incidents")
        for hour in hours:
            assert hourly.execute_in_process(partition_key=hour.strftime("%Y-%m-%d-%H:00"), instance=instance).success
        result = defs.resolve_job_def("daily_briefing").execute_in_process(partition_key="2026-11-23", instance=instance)
    assert result.success
    meta = result.asset_materializations_for_node("daily_metrics")[0].metadata
    assert meta["hours_covered"].value == 2
    assert len(meta["hours_missing"].value) == 22 and "2026-11-23-09:00" not in meta["hours_missing"].value
    assert meta["requests"].value == 1320 and meta["errors"].value == 120
    con = connect(home / "warehouse.duckdb", read_only=True)
    rows = route_days(con, DigestDay.parse("2026-11-23"))
    con.close()
    assert sum(r["errors"] for r in rows if r["route"] != "*") == 120


def test_the_digest_is_written_delivered_to_the_webhook_and_kept_when_the_webhook_is_down(home, monkeypatch):
    import json
    import threading
    from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

    from definitions import build_definitions
    from logintel.config import load_settings

    received = []

    class Webhook(BaseHTTPRequestHandler):
        def do_POST(self):
            received.append(json.loads(self.rfile.read(int(self.headers["Content-Length"]))))
            self.send_response(200)
            self.end_headers()
            self.wfile.write(b"ok")

        def log_message(self, *args):
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Webhook)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    hour = DAY + timedelta(hours=9)
    FileLandingZone(home / "landing").write(steady(hour, 1, 10) + burst(hour + timedelta(minutes=20), 15, 120,
                                                                          error_code="PG_TIMEOUT"))
    try:
        monkeypatch.setenv("LOGINTEL_DIGEST_WEBHOOK_URL", f"http://127.0.0.1:{server.server_port}/services/T0/B0/secret")
        defs = build_definitions(load_settings())
        with dg.instance_for_test() as instance:
            assert defs.resolve_job_def("hourly_incidents").execute_in_process(
                partition_key="2026-11-23-09:00", instance=instance).success
            daily = defs.resolve_job_def("daily_briefing")
            result = daily.execute_in_process(partition_key="2026-11-23", instance=instance)
            assert result.success
            meta = result.asset_materializations_for_node("daily_digest")[0].metadata
            assert meta["delivery"].value["sent"] == 1 and received and "Daily digest" in received[0]["text"]
            assert meta["grounded_pct"].value == 100.0 and "PG\\_TIMEOUT" in meta["digest"].value
            checks = [e.asset_check_evaluation_data for e in result.all_events
                      if e.event_type_value == "ASSET_CHECK_EVALUATION"]
            assert {c.check_name: c.passed for c in checks} == {
                "daily_digest_grounded": True, "sre_findings_grounded": True, "security_findings_grounded": True,
                "efficiency_findings_grounded": True}
            server.shutdown()
            server.server_close()
            # the webhook is gone: the run still succeeds and the message waits in the outbox
            again = daily.execute_in_process(partition_key="2026-11-23", instance=instance)
            assert again.success
        digests = home / "outputs" / "digests"
        assert {p.name for p in digests.iterdir()} >= {"2026-11-23.md", "2026-11-23.html", "2026-11-23.json"}
        pending = list((home / "deliveries" / "pending").glob("*.json"))
        assert len(pending) == 1 and "secret" not in pending[0].read_text()
    finally:
        server.server_close()
