"""The code location end to end: definitions load; partitions materialize on a temporary warehouse."""
import json
from datetime import datetime, timedelta, timezone

import dagster as dg
import pytest

from logintel.analysis.incidents.incident import list_incidents
from logintel.store.dead_letters import DeadLetterStore
from logintel.store.landing_files import FileLandingZone
from logintel.store.warehouse import connect
from tests.support import REPO_ROOT
from tests.support.factories import burst, steady

H = datetime(2026, 11, 23, 10, tzinfo=timezone.utc)


def run(defs, hour, instance):
    job = defs.resolve_job_def("hourly_incidents")
    return job.execute_in_process(partition_key=hour.strftime("%Y-%m-%d-%H:00"), instance=instance)


def test_definitions_load_with_assets_checks_sensor_and_schedule():
    from definitions import defs
    repo = defs.get_repository_def()
    keys = {k.to_user_string() for k in repo.asset_graph.get_all_asset_keys()}
    assert keys == {"raw_events", "windowed_aggregates", "window_changes", "event_templates", "embeddings", "clusters",
                    "incidents",
                    "daily_metrics", "daily_digest", "situation_briefings", "sre_findings", "security_findings",
                    "efficiency_findings", "hourly_security_findings"}
    assert {s.name for s in repo.sensor_defs} == {"error_threshold_sensor", "dump_files_sensor",
                                                 "replayed_partitions_sensor", "kafka_landing_sensor",
                                                 "situation_briefing_sensor"}
    assert {"hourly_incidents", "replay_dumps", "kafka_to_landing", "daily_briefing", "situation_briefing"} <= {j.name for j in repo.get_all_jobs()}
    assert {s.name for s in repo.schedule_defs} == {"hourly_incidents_schedule", "daily_digest_schedule"}
    assert {k.name for k in repo.asset_checks_defs_by_key} == {
        "raw_events_quality", "windows_reconcile_with_raw", "incident_summaries_grounded", "daily_digest_grounded",
        "sre_findings_grounded", "security_findings_grounded", "efficiency_findings_grounded",
        "hourly_security_findings_grounded"}


@pytest.mark.slow
def test_partitions_materialize_into_incidents_with_passing_checks(defs, home):
    zone = FileLandingZone(home / "landing")
    zone.write(steady(H - timedelta(hours=1), 1, 10) + steady(H, 1, 10)
               + burst(H + timedelta(minutes=20), 15, 120, error_code="PG_TIMEOUT"))
    with dg.instance_for_test() as instance:
        for hour in (H - timedelta(hours=1), H):
            result = run(defs, hour, instance)
            assert result.success
        checks = {e.asset_check_evaluation_data.check_name: e.asset_check_evaluation_data
                  for e in result.all_events if e.event_type_value == "ASSET_CHECK_EVALUATION"}
        assert checks["raw_events_quality"].passed and checks["windows_reconcile_with_raw"].passed
        assert checks["incident_summaries_grounded"].passed
        meta = result.asset_materializations_for_node("raw_events")[0].metadata
        assert meta["loaded"].value == 600 + 120
        window_meta = result.asset_materializations_for_node("windowed_aggregates")[0].metadata
        assert window_meta["errors"].value == 120 and window_meta["requests"].value == 720
        incident_meta = result.asset_materializations_for_node("incidents")[0].metadata
        assert incident_meta["incidents"].value == 2  # the burst's rule incident and its change, folded into it
        change_meta = result.asset_materializations_for_node("window_changes")[0].metadata
        assert change_meta["windows"].value == 12 and change_meta["opening_change_incidents"].value >= 1
        assert incident_meta["change_windows"].text == "window_changes"  # decided from that table, not again
    con = connect(home / "warehouse.duckdb", read_only=True)
    rows = list_incidents(con)
    con.close()
    standing = [r for r in rows if not r["merged_into"]]
    assert len(standing) == 1 and standing[0]["error_code"] == "PG_TIMEOUT" and standing[0]["errors"] == 120
    assert [(r["kind"], r["merged_into"]) for r in rows if r["merged_into"]] == [("change", standing[0]["incident_id"])]


def test_bad_input_is_dead_lettered_and_the_partition_still_materializes(defs, home):
    zone = FileLandingZone(home / "landing")
    zone.write(steady(H, 1, 5))
    (zone.hour_dir(H) / "torn.jsonl").write_bytes(b'{"event_id": "ok?", "timestamp": 1\n\xff\xfe\n{"event_id": "x"')
    with dg.instance_for_test() as instance:
        result = run(defs, H, instance)
    assert result.success
    meta = result.asset_materializations_for_node("raw_events")[0].metadata
    assert meta["loaded"].value == 300 and meta["dead_lettered"].value == 3
    # the one canonical segment was read by DuckDB's reader (the hand-placed file, line by line)
    assert meta["landing_segments"].value == 1 and meta["columnar_segments"].value == 0
    causes = DeadLetterStore(home / "deadletters").counts_by_cause()
    assert causes == {"invalid_json": 1, "encoding": 1, "torn_line": 1}


def test_quality_check_fails_on_many_dead_letters(defs, home):
    zone = FileLandingZone(home / "landing")
    zone.write(steady(H, 1, 1))
    (zone.hour_dir(H) / "junk.jsonl").write_text("\n".join(json.dumps({"nope": i}) for i in range(10)) + "\n")
    with dg.instance_for_test() as instance:
        result = run(defs, H, instance)
    checks = {e.asset_check_evaluation_data.check_name: e.asset_check_evaluation_data
              for e in result.all_events if e.event_type_value == "ASSET_CHECK_EVALUATION"}
    assert not checks["raw_events_quality"].passed
    assert "dead" in checks["raw_events_quality"].description


@pytest.mark.slow
@pytest.mark.subprocess
def test_dagster_cli_validates_the_workspace(home):
    import subprocess
    import sys
    from pathlib import Path
    dagster = Path(sys.executable).parent / "dagster"
    out = subprocess.run([str(dagster), "definitions", "validate", "-w", "workspace.yaml"], cwd=REPO_ROOT,
                         capture_output=True, text=True, timeout=300)
    assert out.returncode == 0, out.stderr[-2000:]
    assert "All code locations passed validation" in out.stdout + out.stderr


@pytest.mark.slow
def test_empty_hour_and_odd_messages_materialize_every_asset(defs, home):
    """Bad input for the semantic stages: an empty partition, one template only, a 100 kB message and
    non-UTF-8 bytes in a message all give clear outcomes, not crashes."""
    zone = FileLandingZone(home / "landing")
    with dg.instance_for_test() as instance:
        empty = run(defs, H - timedelta(hours=2), instance)
        assert empty.success
        meta = empty.asset_materializations_for_node("clusters")[0].metadata
        assert meta["patterns"].value == 0 and meta["clusters"].value == 0
        zone.write(burst(H, 30, 40, error_code="E", message="slow " * 12_000)  # 60 kB: mined, capped
                   + burst(H, 30, 5, error_code="E3", message="y" * 100_000)  # over the contract's 64 kB

                   + burst(H, 30, 40, error_code="E2", message="bad bytes \udcff\udcfe here".encode(
                       "utf-8", "surrogateescape").decode("utf-8", "replace")))
        odd = run(defs, H, instance)
        assert odd.success
        templates = odd.asset_materializations_for_node("event_templates")[0].metadata
        assert templates["patterns"].value == 2
        raw = odd.asset_materializations_for_node("raw_events")[0].metadata
        assert raw["dead_lettered"].value == 5
    assert DeadLetterStore(home / "deadletters").counts_by_cause() == {"validation:error.message": 5}
