"""The hourly Dagster job with a hallucinating model behind the fake LLM server: the run records its LLM
calls (in the incidents' metadata and the state store's llm_calls table); the hallucinated sentence gives way to
its draft before the incident is stored, so the trust check passes and counts the replacement."""
from datetime import datetime, timezone

import dagster as dg

from logintel.store.landing_files import FileLandingZone
from tests.support.incident_spike import hallucinating_model, spike


def test_the_dagster_run_records_llm_calls_and_the_hallucination_never_reaches_the_table(home, fake_llm, monkeypatch):
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
    assert trust.passed and "billing-api" not in trust.description
    assert trust.metadata["model_sentences_offered"].value == 2
    assert trust.metadata["model_sentences_replaced"].value == 1
    meta = result.asset_materializations_for_node("incidents")[0].metadata
    assert meta["llm_calls"].value == 1 and meta["llm_prompt_tokens"].value > 0
    from logintel.store.warehouse import connect
    con = connect(home / "warehouse.duckdb", read_only=True)
    summaries = [r[0] for r in con.execute("SELECT summary FROM incidents").fetchall()]
    con.close()
    from logintel.store.state_store import StateStore
    rows = [(c["prompt_name"], c["writer"], c["outcome"], c["partition"])
            for c in StateStore(path=home / "state" / "state.db").calls()]
    assert summaries and not [s for s in summaries if "billing" in s]
    assert rows == [("incident_summary", "openai:gpt-4o-mini", "ok", "2026-11-23-10:00")]
