"""`logintel ask` offline on real warehouse files: every claim of the offline answer is grounded where the writer
and the checker once disagreed (issue 21, part 3) — an action that names ten compromised accounts "and 5 more"
(a count the finding's facts now hold), and a p99 forecast whose window reached back before the data began
(now it starts where the data does) or into the evening before (now written with its date)."""
import json
from datetime import datetime, timedelta

import pytest

from logintel import cli
from logintel.store.warehouse import connect, ensure_schema
from tests.agents.sre.test_sre_analyst import DAY, add_traffic

CREEP = "CASE WHEN random() < 0.03 AND m >= {start} THEN 150 + 300 * (m - {start}) / 60.0 ELSE 80 + 60 * random() END"


def warehouse(home, fill) -> None:
    con = connect(home / "warehouse.duckdb")
    ensure_schema(con)
    fill(con)
    con.close()


def asked(capsys, question: str) -> dict:
    assert cli.main(["ask", question, "--json", "--date", DAY.key]) == 0
    return json.loads(capsys.readouterr().out)


def findings(capsys, agent: str) -> list[dict]:
    assert cli.main(["findings", "--agent", agent, "--json", "--date", DAY.key]) == 0
    return json.loads(capsys.readouterr().out)


def assert_grounded(answer: dict) -> None:
    grounding = answer["grounding"]
    assert grounding["writer"] == "offline/v1"
    assert grounding["claims"] > 0 and grounding["grounded"] == grounding["claims"], grounding["reasons"]


def stuffing(con) -> None:
    """From one address in ten minutes: 60 accounts tried once and failed, 15 others logged into."""
    con.execute("""
        INSERT INTO raw_events (event_id, ts, service, route, method, status, duration_ms, level, error_code, user_id,
                                client_ip, user_agent, sample_rate, attributes, partition_hour)
        SELECT 'cs-' || i, $start + to_microseconds(i * 8000000), 'auth', '/login', 'POST',
               CASE WHEN i < 60 THEN 401 ELSE 200 END, 30, CASE WHEN i < 60 THEN 'warn' ELSE 'info' END,
               CASE WHEN i < 60 THEN 'INVALID_CREDENTIALS' END, 'u-' || (30000 + i), '203.0.113.9',
               'python-requests/2.31.0', 1, '{}', date_trunc('hour', $start)
        FROM range(75) t(i)""", {"start": DAY.start + timedelta(hours=3)})


def test_the_accounts_an_action_does_not_list_are_a_count_the_answer_may_state(home, capsys):
    warehouse(home, stuffing)
    answer = asked(capsys, "any compromised accounts?")
    assert "15 accounts may be compromised" in answer["answer"]
    assert "u-30069 and 5 more" in answer["answer"]  # ten named, the rest counted
    assert_grounded(answer)


@pytest.mark.parametrize("data_from, creep_from, window", [
    # the first day of data: the fitted hours begin at midnight, not two hours before the raise
    (DAY.start, 0, "from 00:00 to 01:45"),
    # the day before is there: a window from its evening carries its date
    (DAY.start - timedelta(days=1), 1410, "from 2026-11-30 23:15 to 2026-12-01 01:15"),
])
def test_a_forecasts_window_is_where_its_data_is_and_the_answer_is_grounded(home, capsys, data_from, creep_from,
                                                                             window):
    hours = int((DAY.end - data_from).total_seconds() // 60)
    warehouse(home, lambda con: add_traffic(con, "/search", data_from, hours, 20,
                                            latency_ms=CREEP.format(start=creep_from)))
    forecast = next(f for f in findings(capsys, "sre") if f["kind"] == "latency_forecast")
    assert window in forecast["text"]
    assert datetime.fromisoformat(forecast["window"][0]) >= data_from
    trends = [f["text"] for f in findings(capsys, "sre") if f["kind"] == "slow_trend"]
    assert trends and not any("from 00:00 to 00:00" in t for t in trends)  # a whole day ends at 24:00

    answer = asked(capsys, "will /search breach its SLO?")
    assert window in answer["answer"]
    assert_grounded(answer)
