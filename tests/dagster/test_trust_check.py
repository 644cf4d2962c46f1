"""The hourly Dagster job with a hallucinating model behind the fake LLM server: the run records its LLM
calls (in the incidents' metadata and the warehouse's llm_calls table) and the trust check fails."""
from datetime import datetime, timezone

import dagster as dg

from logintel.store.landing_files import FileLandingZone
from tests.support.incident_spike import hallucinating_model, spike


def test_the_dagster_run_records_llm_calls_and_the_trust_check_fails_on_hallucination(home, fake_llm, monkeypatch):
    monkeypatch.setenv("OPENAI_BASE_URL", fake_llm.base_url)
    monkeypatch.setenv("OPENAI_API_KEY", "test-key")
    fake_llm.responder = hallucinating_model
    from definitions import build_definitions
    from logintel.config import load_settings
    defs = build_definitions(load_settings())
    hour = datetime(2026, 11, 23, 10, tzinfo=timezone.utc)
    FileLandingZone(home / "landing").write(spike())
    with dg.instance_for_test() as instance:
        result = defs.resolve_job_def("hourly_incidents").execute_in_process(
            partition_key=hour.strftime("%Y-%m-%d-%H:00"), instance=instance, raise_on_error=False)
    checks = {e.asset_check_evaluation_data.check_name: e.asset_check_evaluation_data
              for e in result.all_events if e.event_type_value == "ASSET_CHECK_EVALUATION"}
    trust = checks["incident_summaries_grounded"]
    assert not trust.passed and trust.severity == dg.AssetCheckSeverity.ERROR
    assert "billing-api" in trust.description
    meta = result.asset_materializations_for_node("incidents")[0].metadata
    assert meta["llm_calls"].value == 1 and meta["llm_prompt_tokens"].value > 0
    from logintel.store.warehouse import connect
    con = connect(home / "warehouse.duckdb", read_only=True)
    rows = con.execute("SELECT prompt_name, writer, outcome, partition FROM llm_calls").fetchall()
    con.close()
    assert rows == [("incident_summary", "openai:gpt-4o-mini", "ok", "2026-11-23-10:00")]
