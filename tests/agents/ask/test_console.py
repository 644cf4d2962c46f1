"""`logintel findings` and `logintel ask` on a real warehouse file: read-only, offline, JSON as documented."""
import json
from datetime import timedelta

import pytest

from logintel import cli
from logintel.store.state_store import StateStore
from logintel.store.warehouse import connect, ensure_schema
from tests.agents.sre.test_sre_analyst import DAY, add_traffic
from tests.support.fake_llm_server import Reply, ToolCall, fake_llm  # noqa: F401


@pytest.fixture
def warehouse(home):
    con = connect(home / "warehouse.duckdb")
    ensure_schema(con)
    add_traffic(con, "/pay", DAY.start, 24 * 60, 20)
    add_traffic(con, "/pay", DAY.start + timedelta(hours=10), 30, 50, error_share=0.05)
    # A brute force: 40 failed logins for one account from one address in four minutes.
    con.execute("""
        INSERT INTO raw_events (event_id, ts, service, route, method, status, duration_ms, level, error_code, user_id,
                                client_ip, sample_rate, attributes, partition_hour)
        SELECT 'bf-' || i, $start + to_microseconds(i * 6000000), 'auth', '/login', 'POST', 401, 30, 'warn',
               'INVALID_CREDENTIALS', 'admin', '203.0.113.9', 1, '{}', date_trunc('hour', $start)
        FROM range(40) t(i)""", {"start": DAY.start + timedelta(hours=3)})
    con.close()
    return home


def test_findings_json_lists_every_analysts_findings_most_severe_first(warehouse, capsys):
    assert cli.main(["findings", "--date", DAY.key, "--json"]) == 0
    found = json.loads(capsys.readouterr().out)
    kinds = {(f["agent"], f["kind"]) for f in found}
    assert ("sre", "burn_rate_page") in kinds and ("security", "brute_force") in kinds
    for f in found:
        assert {"finding_id", "agent", "kind", "title", "text", "severity", "confidence", "entities", "evidence",
                "action", "grounding"} <= set(f)
    order = ["critical", "high", "medium", "low", "info"]
    assert [order.index(f["severity"]) for f in found] == sorted(order.index(f["severity"]) for f in found)
    brute = next(f for f in found if f["kind"] == "brute_force")
    assert brute["entities"]["client_ips"] == ["203.0.113.9"] and brute["grounding"]["grounded"] is True


def test_findings_of_one_agent_and_the_default_day(warehouse, capsys):
    assert cli.main(["findings", "--agent", "security"]) == 0
    text = capsys.readouterr().out
    assert f"Findings · {DAY.key}" in text and "security/brute_force" in text and "sre/" not in text


def test_ask_routes_a_security_question_and_cites_its_findings(warehouse, capsys):
    assert cli.main(["ask", "is", "someone", "brute", "forcing", "our", "logins?", "--json", "--date", DAY.key]) == 0
    answer = json.loads(capsys.readouterr().out)
    assert answer["routed_to"][0] == "security" and answer["question"].startswith("is someone")
    assert answer["findings"] and "203.0.113.9" in answer["answer"]
    assert answer["grounding"]["writer"] == "offline/v1" and answer["grounding"]["ratio"] == 1.0
    assert {"tokens", "cost_usd", "latency_ms"} <= set(answer["llm"]) and answer["llm"]["tokens"] == 0


def test_a_question_put_to_a_model_leaves_its_calls_in_the_call_log(warehouse, fake_llm, monkeypatch, capsys):
    """Beside the pipeline's, in the state store (no warehouse write: `ask` opens the warehouse read-only); the
    digest counts calls of no partition on the day they ran."""
    monkeypatch.setenv("OPENAI_BASE_URL", fake_llm.base_url)
    monkeypatch.setenv("OPENAI_API_KEY", "test-key")
    fake_llm.script([ToolCall("security_findings"), Reply({"sentences": []})])
    assert cli.main(["ask", "are we under attack?", "--json", "--date", DAY.key]) == 0
    answer = json.loads(capsys.readouterr().out)
    recorded = StateStore(path=warehouse / "state" / "state.db").calls()
    assert recorded and {c["asset"] for c in recorded} == {"ask"} and {c["partition"] for c in recorded} == {None}
    assert sum(c["prompt_tokens"] + c["completion_tokens"] for c in recorded) == answer["llm"]["tokens"] > 0


def test_a_cost_question_goes_to_the_efficiency_analyst(warehouse, capsys):
    assert cli.main(["ask", "which route wastes the most database time?", "--json", "--date", DAY.key]) == 0
    answer = json.loads(capsys.readouterr().out)
    assert answer["routed_to"][0] == "efficiency"


def test_without_a_warehouse_the_commands_say_what_to_do(home, capsys):
    assert cli.main(["findings"]) == 2
    assert "no warehouse" in capsys.readouterr().err
    assert cli.main(["ask", "are we under attack?"]) == 2


@pytest.mark.parametrize("day", ["0001-01-01", "2025-12-31", "9999-12-31"])
def test_a_date_outside_the_partitions_is_refused_with_their_range(warehouse, capsys, day):
    assert cli.main(["findings", "--date", day]) == 2
    assert cli.main(["ask", "are we under attack?", "--date", day]) == 2
    err = capsys.readouterr().err
    assert err.count(f"--date {day} is outside the daily partitions: they run from 2026-01-01") == 2
