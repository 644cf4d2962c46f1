"""The analysts' registry: one entry per name in finding.AGENTS, what run.py dispatches through (a fourth
analyst registered in a test runs with its own rules section), and an unknown name refused by name."""
import dataclasses
from dataclasses import dataclass
from datetime import date

import pytest

from logintel.agents import registry
from logintel.agents.analyst_report import AnalystReport
from logintel.agents.analyst_spec import Analyst
from logintel.agents.finding import AGENTS, Scope
from logintel.agents.run import analyst_rules, day_report, run_analyst, stored_report
from logintel.config import Settings
from logintel.daily.days import DigestDay
from logintel.daily.slo import SloBook

DAY = DigestDay(date(2026, 12, 1))


@dataclass(frozen=True)
class CostRules:
    budget: int = 3


@pytest.fixture
def con(empty_warehouse):
    return empty_warehouse


@pytest.fixture
def cost_calls(monkeypatch) -> list[tuple]:
    """A fourth analyst, `cost`, registered for the test; what each of its runs was given."""
    calls = []

    def analyse(con, scope, rules, *slos):
        calls.append((rules, *slos))
        return AnalystReport("cost", scope, examined={"budget": rules.budget})
    monkeypatch.setitem(registry.ANALYSTS, "cost", Analyst("cost", "What the services cost.", CostRules, analyse))
    return calls


def test_the_registry_holds_every_agent_in_order():
    assert tuple(registry.ANALYSTS) == AGENTS
    for name, analyst in registry.ANALYSTS.items():
        assert analyst.name == name and f"the {name} analyst answers" in analyst.description.lower()
        assert dataclasses.is_dataclass(analyst.rules) and analyst.rules.__dataclass_params__.frozen
    assert [name for name, analyst in registry.ANALYSTS.items() if analyst.takes_slos] == ["sre"]


def test_run_analyst_dispatches_through_the_registry_with_the_analysts_rules(tmp_path, con, cost_calls):
    rules_file = tmp_path / "rules.yaml"
    rules_file.write_text("cost:\n  budget: 7\nsecurity:\n  brute_force_failures: 40\n")
    report = run_analyst(con, "cost", Scope.whole_day(DAY), Settings(home=tmp_path, analyst_rules_file=rules_file))
    assert cost_calls == [(CostRules(budget=7),)]  # its own section, and no SLO book: it did not ask for one
    assert (report.agent, report.examined, report.notes) == ("cost", {"budget": 7}, [])
    run_analyst(con, "cost", Scope.whole_day(DAY), Settings(home=tmp_path))
    assert cost_calls[-1] == (CostRules(),)


def test_an_analyst_that_takes_slos_is_given_the_slo_book(tmp_path, con, monkeypatch, cost_calls):
    monkeypatch.setitem(registry.ANALYSTS, "cost",
                        dataclasses.replace(registry.ANALYSTS["cost"], takes_slos=True))
    run_analyst(con, "cost", Scope.whole_day(DAY), Settings(home=tmp_path))
    ((rules, slos),) = cost_calls
    assert rules == CostRules() and isinstance(slos, SloBook)


def test_a_section_for_an_analyst_not_registered_leaves_the_defaults_and_says_so(tmp_path):
    rules_file = tmp_path / "rules.yaml"
    rules_file.write_text("cost:\n  budget: 7\n")
    rules, note = analyst_rules(Settings(home=tmp_path, analyst_rules_file=rules_file), "security")
    assert rules == registry.ANALYSTS["security"].rules()
    assert "unknown section(s) cost; known: sre, security, efficiency" in note


@pytest.mark.parametrize("call", [
    lambda con, settings: run_analyst(con, "costs", Scope.whole_day(DAY), settings),
    lambda con, settings: day_report(con, "costs", DAY, settings),
    lambda con, settings: stored_report(con, "costs", DAY),
    lambda con, settings: analyst_rules(settings, "costs"),
])
def test_an_unknown_analyst_is_a_value_error_naming_the_known_ones(tmp_path, con, call):
    with pytest.raises(ValueError, match=r"^unknown analyst 'costs'; known: sre, security, efficiency$"):
        call(con, Settings(home=tmp_path))
