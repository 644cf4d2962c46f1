"""A critical incident opens → situation_briefing_sensor asks for one briefing run (run key
briefing:<incident>), the run writes outputs/briefings/<incident>.md/.json and shows it in the UI,
and later ticks do not ask again; an incident's or a finding's candidate gives the same requests as ever."""
import json
from datetime import datetime, timedelta, timezone

import dagster as dg

from logintel.store.landing_files import FileLandingZone
from sensors.situation_briefing import situation_briefing_sensor
from tests.support.factories import event, steady
from tests.support.sensor_ticks import tick

HOUR = datetime(2026, 11, 23, 10, tzinfo=timezone.utc)


def test_a_critical_incident_gets_one_grounded_briefing(defs, home):
    outage = [event(HOUR + timedelta(minutes=20, seconds=i), error_code="PG_TIMEOUT", user_id=f"u-{i}")
              for i in range(600)]
    FileLandingZone(home / "landing").write(steady(HOUR, 1, 5) + outage)
    with dg.instance_for_test() as instance:
        assert tick(situation_briefing_sensor, defs, instance=instance).skip_message  # nothing materialized yet
        hourly = defs.resolve_job_def("hourly_incidents")
        assert hourly.execute_in_process(partition_key="2026-11-23-10:00", instance=instance).success
        first = tick(situation_briefing_sensor, defs, instance=instance)
        assert len(first.run_requests) == 1
        request = first.run_requests[0]
        incident_id = request.tags["logintel/incident"]
        assert request.run_key == f"briefing:{incident_id}" and request.tags["logintel/severity"] in ("critical", "high")
        run = defs.resolve_job_def("situation_briefing").execute_in_process(run_config=request.run_config,
                                                                             instance=instance)
        assert run.success
        # the next tick starts after the materializations already seen
        again = tick(situation_briefing_sensor, defs, cursor=first.cursor, instance=instance)
        assert not again.run_requests
        shown = instance.get_latest_materialization_event(dg.AssetKey("situation_briefings")).asset_materialization
        # an incident or finding its scope no longer holds (superseded by a re-materialization) is skipped,
        # not a failure
        for config in ({"incident_id": "inc-gone"}, {"finding_id": "sec-gone", "day": "2026-11-23"}):
            gone = defs.resolve_job_def("situation_briefing").execute_in_process(
                run_config={"ops": {"write_situation_briefing": {"config": config}}}, instance=instance)
            assert gone.success and not gone.get_asset_materialization_events()
    markdown = (home / "outputs" / "briefings" / f"{incident_id}.md").read_text()
    assert markdown.index("## What") < markdown.index("## Cause") < markdown.index("## Look first at")
    briefing = json.loads((home / "outputs" / "briefings" / f"{incident_id}.json").read_text())
    assert briefing["subject"] == {"kind": "incident", "id": incident_id} and "incident_id" not in briefing
    assert "PG_TIMEOUT" in briefing["sections"][0]["text"] and r"PG\_TIMEOUT" in markdown  # escaped in markdown
    assert shown.metadata["subject_id"].value == incident_id and shown.metadata["subject_kind"].value == "incident"
    assert shown.metadata["grounded_pct"].value == 100.0


def test_each_candidate_asks_for_one_run_named_by_its_kind(defs):
    """The run requests are the contract with the job and with runs already keyed in the instance: the
    sensor turns an incident's and a finding's candidate into these, whatever the briefings look like."""
    with dg.instance_for_test() as instance:
        for key, candidate in (("incidents", {"incident_id": "inc-1", "severity": "critical"}),
                               ("hourly_security_findings", {"finding_id": "sec-2", "day": "2026-11-23",
                                                             "severity": "high"})):
            instance.report_runless_asset_event(dg.AssetMaterialization(
                key, metadata={"briefing_candidates": dg.MetadataValue.json([candidate])}))
        requests = tick(situation_briefing_sensor, defs, instance=instance).run_requests
    assert [(r.run_key, r.run_config, {k: v for k, v in r.tags.items() if k.startswith("logintel/")})
            for r in requests] == [
        ("briefing:inc-1", {"ops": {"write_situation_briefing": {"config": {"incident_id": "inc-1"}}}},
         {"logintel/trigger": "briefing", "logintel/severity": "critical", "logintel/incident": "inc-1"}),
        ("briefing:sec-2", {"ops": {"write_situation_briefing": {"config": {"finding_id": "sec-2", "day": "2026-11-23"}}}},
         {"logintel/trigger": "briefing", "logintel/severity": "high", "logintel/finding": "sec-2"}),
    ]
