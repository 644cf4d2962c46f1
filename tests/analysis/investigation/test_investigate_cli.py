"""`logintel investigate` as a user runs it: JSON of the documented shape, and a bad window refused with rc 2."""
from __future__ import annotations

import json
from datetime import timedelta

from tests.analysis.investigation.test_investigation import T0, WINDOW, warehouse
from tests.support.cli import cli


def home_with_a_slow_callee(tmp_path):
    con = warehouse(tmp_path, lambda rng, quiet: ({**quiet, "payments": rng.uniform(60, 90)}, False))
    con.close()
    return tmp_path


def test_investigate_json_has_window_baseline_candidates_text_and_grounding(tmp_path):
    home = home_with_a_slow_callee(tmp_path)
    run = cli(home, "investigate", "--start", f"{WINDOW[0].isoformat()}Z", "--end", f"{WINDOW[1].isoformat()}Z", "--json")
    assert run.returncode == 0, run.stderr
    out = json.loads(run.stdout)
    assert {"window", "baseline", "candidates", "text", "grounding"} <= set(out)
    assert out["window"]["start"] == WINDOW[0].isoformat() and out["baseline"]["source"] == "minutes before"
    first = out["candidates"][0]
    assert {"rank", "service", "kind", "attribute", "value", "score", "evidence"} <= set(first)
    assert (first["rank"], first["service"], first["kind"]) == (1, "payments", "self_time")
    assert out["grounding"]["grounded"] is True
    table = cli(home, "investigate", "--start", WINDOW[0].isoformat(), "--end", WINDOW[1].isoformat(),
                "--baseline-start", T0.isoformat(), "--baseline-end", (T0 + timedelta(minutes=5)).isoformat())
    assert table.returncode == 0 and "payments" in table.stdout and "(given)" in table.stdout


def test_a_bad_window_is_rc_2_with_a_clear_message(tmp_path):
    home = home_with_a_slow_callee(tmp_path)
    reversed_ = cli(home, "investigate", "--start", WINDOW[1].isoformat(), "--end", WINDOW[0].isoformat())
    assert reversed_.returncode == 2 and "before it starts" in reversed_.stderr
    outside = cli(home, "investigate", "--start", "2030-01-01T00:00", "--end", "2030-01-01T01:00")
    assert outside.returncode == 2 and "no request" in outside.stderr and "the warehouse holds events" in outside.stderr
    garbled = cli(home, "investigate", "--start", "yesterday", "--end", "today")
    assert garbled.returncode == 2 and "error:" in garbled.stderr
    no_warehouse = cli(tmp_path / "empty", "investigate", "--start", WINDOW[0].isoformat(), "--end", WINDOW[1].isoformat())
    assert no_warehouse.returncode == 2 and "no warehouse" in no_warehouse.stderr


def test_ask_about_a_window_investigates_it(tmp_path):
    home = home_with_a_slow_callee(tmp_path)
    run = cli(home, "ask", f"what went wrong between {WINDOW[0]:%H:%M} and {WINDOW[1]:%H:%M}?", "--json")
    assert run.returncode == 0, run.stderr
    out = json.loads(run.stdout)
    assert out["routed_to"] == ["investigate"]
    assert out["investigation"]["window"]["start"] == WINDOW[0].isoformat()
    assert out["investigation"]["candidates"][0]["service"] == "payments"
    assert "payments" in out["answer"] and out["grounding"]["grounded"] is True
    text = cli(home, "ask", f"why was checkout slow from {WINDOW[0]:%H:%M} to {WINDOW[1]:%H:%M}?")
    assert text.returncode == 0 and "1. payments (self_time" in text.stdout and "investigated" in text.stdout


def test_a_security_question_about_a_window_stays_with_the_security_analyst(tmp_path):
    home = home_with_a_slow_callee(tmp_path)
    run = cli(home, "ask", f"were we under a brute force attack between {WINDOW[0]:%H:%M} and {WINDOW[1]:%H:%M}?",
              "--json")
    assert run.returncode == 0, run.stderr
    assert json.loads(run.stdout)["routed_to"][0] == "security"
