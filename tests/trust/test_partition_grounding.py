"""The trust check's verdict on a partition's stored incident texts (a real DuckDB incidents table): it fails on an
invented name (an ERROR for the asset check) and on a share under the minimum (a WARN), and says so; texts with
no claim are "nothing to verify", never a pass by ratio 1.0."""
from __future__ import annotations

from datetime import datetime, timedelta

from logintel.analysis.incidents.incident import Incident, replace_incidents
from logintel.store.warehouse import connect
from logintel.trust.partition_grounding import incident_grounding

HOUR = datetime(2026, 12, 6, 10)


def _incident(n: int, grounding: dict) -> Incident:
    start = HOUR + timedelta(minutes=5 * n)
    return Incident(incident_id=f"inc-{n}", partition_hour=HOUR, service="orders", route="/orders", error_code=None,
                    start_time=start, end_time=start + timedelta(minutes=5), first_seen=start, breached_windows=1,
                    threshold=10, peak_errors=12, summary="…", writer="openai:test", grounding=grounding)


def _verdict(tmp_path, *groundings, min_ratio=0.9):
    con = connect(tmp_path / "w.duckdb")
    try:
        replace_incidents(con, HOUR, [_incident(n, g) for n, g in enumerate(groundings)])
        return incident_grounding(con, HOUR, min_ratio)
    finally:
        con.close()


def test_an_invented_name_fails_the_check_and_names_it(tmp_path):
    verdict = _verdict(tmp_path, {"claims": 5, "grounded": 5},
                       {"claims": 4, "grounded": 3, "invented": ["billing-api"],
                        "ungrounded": [{"claim": {"text": "billing-api"}, "evidence": "no service 'billing-api'"}]})
    assert not verdict.passed and verdict.invented == [{"incident": "inc-1", "writer": "openai:test",
                                                        "entity": "billing-api"}]
    assert verdict.description() == "1 invented entities: billing-api"
    assert verdict.ungrounded[0]["claim"] == "billing-api"


def test_a_share_under_the_minimum_fails_and_says_by_how_much(tmp_path):
    verdict = _verdict(tmp_path, {"claims": 10, "grounded": 8}, {"claims": 10, "grounded": 9})
    assert not verdict.passed and verdict.invented == []
    assert verdict.description() == "only 85% of 20 claims grounded (minimum 90%)"
    assert _verdict(tmp_path, {"claims": 10, "grounded": 9}).passed


def test_texts_without_a_claim_are_nothing_to_verify_not_a_pass_by_ratio(tmp_path):
    verdict = _verdict(tmp_path, {"claims": 0, "grounded": 0})
    assert verdict.ratio is None and not verdict.passed
    assert "nothing to verify" in verdict.description()
    assert _verdict(tmp_path).passed  # no incident at all: nothing to check
