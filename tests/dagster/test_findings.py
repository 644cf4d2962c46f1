"""The analysts in the pipeline: a brute force against one account is seen by the hourly security pass within
its hour, asks for one situation briefing, and the daily run's findings assets feed the digest."""
import dataclasses
import json
from datetime import datetime, timedelta, timezone

import dagster as dg

from logintel.store.findings import finding_documents
from logintel.store.landing_files import FileLandingZone
from logintel.store.warehouse import connect
from sensors.situation_briefing import situation_briefing_sensor
from tests.support.factories import burst, event, steady
from tests.support.sensor_ticks import tick

HOUR = datetime(2026, 11, 23, 10, tzinfo=timezone.utc)
ATTACKER = "185.220.101.7"


def logins(events):
    return [dataclasses.replace(e, method="POST") for e in events]


def test_an_attack_is_found_within_the_hour_briefed_once_and_leads_the_digest(defs, home):
    background = steady(HOUR, 1, 5) + logins(steady(HOUR, 1, 2, service="auth", route="/login"))
    # 60 failed passwords for "admin" in four minutes from one address, then one that works.
    attack = logins(burst(HOUR + timedelta(minutes=30), 4, 60, service="auth", route="/login", status=401,
                          level="warn", error_code="INVALID_CREDENTIALS", user_id="admin", client_ip=ATTACKER))
    attack += logins([event(HOUR + timedelta(minutes=34, seconds=30), service="auth", route="/login",
                            user_id="admin", client_ip=ATTACKER)])
    FileLandingZone(home / "landing").write(background + attack)
    with dg.instance_for_test() as instance:
        hourly = defs.resolve_job_def("hourly_incidents").execute_in_process(
            partition_key="2026-11-23-10:00", instance=instance)
        assert hourly.success
        meta = hourly.asset_materializations_for_node("hourly_security_findings")[0].metadata
        assert meta["findings"].value == 1 and "brute_force" in meta["table"].value
        candidates = meta["briefing_candidates"].value
        assert [c["severity"] for c in candidates] == ["critical"]  # the last attempt got in

        first = tick(situation_briefing_sensor, defs, instance=instance)
        finding_requests = [r for r in first.run_requests if "logintel/finding" in r.tags]
        assert len(finding_requests) == 1
        request = finding_requests[0]
        assert request.run_key == f"briefing:{candidates[0]['finding_id']}"
        assert defs.resolve_job_def("situation_briefing").execute_in_process(
            run_config=request.run_config, instance=instance).success
        assert not tick(situation_briefing_sensor, defs, cursor=first.cursor, instance=instance).run_requests

        daily = defs.resolve_job_def("daily_briefing").execute_in_process(partition_key="2026-11-23", instance=instance)
        assert daily.success
        checks = {e.asset_check_evaluation_data.check_name: e.asset_check_evaluation_data.passed
                  for e in daily.all_events if e.event_type_value == "ASSET_CHECK_EVALUATION"}
        assert checks["security_findings_grounded"] and checks["daily_digest_grounded"]
        daily_meta = daily.asset_materializations_for_node("security_findings")[0].metadata
        assert daily_meta["findings"].value == 1

    briefing = json.loads((home / "outputs" / "briefings" / f"{candidates[0]['finding_id']}.json").read_text())
    assert briefing["severity"] == "critical" and ATTACKER in json.dumps(briefing["sections"])
    assert briefing["grounding"]["ratio"] == 1.0
    digest = json.loads((home / "outputs" / "digests" / "2026-11-23.json").read_text())
    lead = digest["trends"][0]
    assert lead["kind"] == "security:brute_force" and lead["grounded"] is True
    assert lead["finding_id"] == candidates[0]["finding_id"]  # the daily run gives the finding the same id
    con = connect(home / "warehouse.duckdb", read_only=True)
    try:
        stored = finding_documents(con, "2026-11-23", "security")
    finally:
        con.close()
    assert [d["entities"]["client_ips"] for d in stored] == [[ATTACKER]]
