"""The offline writer and the checker agree on an hour's incident texts, in a real DuckDB warehouse: every
claim the writer states is grounded, where the two once disagreed (issue 21, part 3) — the first hour of data
(no request before the failures: no "0% before"), an error rate under 1% (not written "0%"), a quoted example
message before a quoted field value, and catalogue names that do not look like names (a route holding quotes,
a service called `a`)."""
from datetime import datetime, timedelta

import pytest

from logintel.analysis.incidents.hour_assembly import detect_hour_incidents
from logintel.analysis.thresholds import Thresholds
from logintel.analysis.windows import WindowSpec, compute_windows
from logintel.config import LLMConfig
from logintel.llm.gateway import LLMGateway
from logintel.llm.redaction import Redactor
from logintel.narration.incident_text import write_summaries
from logintel.store.landing import HourBatch
from logintel.store.warehouse import load_hour
from logintel.trust.claims import extract_claims
from logintel.trust.entities import KnownEntities
from tests.support.factories import burst, steady

H = datetime(2026, 11, 23, 10)  # the first hour the warehouse holds
ODD_ROUTE = "/api/v1/x' OR '1'='1"
BOT = "EvilBot/1.0 (scanner; +http://bot.example)"


def hour_of(con, events) -> dict:
    """The hour through detection (with its contrast analysis) and the offline writer: its rule incidents by
    (service, route)."""
    load_hour(con, HourBatch(hour=H, lines=[e.to_json() for e in events], sources=["t"] * len(events)))
    compute_windows(con, H)
    found = detect_hour_incidents(con, H, Thresholds(), WindowSpec(), Redactor("t").redact)
    write_summaries(con, found.all, LLMGateway(LLMConfig()), Redactor("t"))
    return {(i.service, i.route): i for i in found.all if i.kind == "threshold"}


def assert_every_claim_grounded(incident) -> None:
    grounding = incident.grounding
    assert incident.writer == "offline/v1"
    assert grounding["claims"] > 0 and grounding["grounded"] == grounding["claims"], \
        (incident.summary, incident.root_cause_analysis, grounding["ungrounded"])
    assert grounding["invented"] == []


@pytest.fixture
def incidents(con):
    # Service `a`'s odd route fails from the first minute of data: its baseline before the onset is empty.
    events = steady(H, 1, 6, service="a", route=ODD_ROUTE, user_agent="Mozilla/5.0 (X11)")
    events += burst(H + timedelta(minutes=1), 15, 200, service="a", route=ODD_ROUTE, error_code="E_ODD", status=500,
                    message="boom", user_agent="Mozilla/5.0 (X11)")
    # A busy route: 15 errors among about 2,000 requests in five minutes, 12 of them from a scripted client that
    # sends 2% of the route's traffic before; the error message quotes a word.
    events += steady(H + timedelta(minutes=10), 0.5, 400, service="orders", route="/orders",
                     user_agent="Mozilla/5.0 (X11)")
    events += steady(H + timedelta(minutes=10), 0.5, 8, service="orders", route="/orders", user_agent=BOT)
    for agent, count in ((BOT, 12), ("Mozilla/5.0 (X11)", 3)):
        events += burst(H + timedelta(minutes=31), 4, count, service="orders", route="/orders",
                        error_code="WAF_BLOCKED", status=503, message='payload rejected by "waf"', user_agent=agent)
    return hour_of(con, events)


def test_the_first_hour_of_data_states_no_share_before_and_is_grounded(incidents):
    first = incidents[("a", ODD_ROUTE)]
    assert first.root_cause["kind"] == "unknown"
    # "carried by 100% of the failing requests and 0% before" would be 0 of no request at all
    assert "served nothing before the failures" in first.root_cause_analysis
    assert "before (" not in first.root_cause_analysis and "% before" not in first.root_cause_analysis
    assert_every_claim_grounded(first)


def test_odd_catalogue_names_are_claims_as_written_and_grounded(incidents):
    first = incidents[("a", ODD_ROUTE)]
    assert first.summary.startswith(f"a {ODD_ROUTE}: E_ODD 200 errors")
    assert first.grounding["invented"] == []  # not "/api/v1/x", cut where a path pattern would end
    assert_every_claim_grounded(first)


def test_a_service_called_a_is_a_claim_where_a_name_stands_never_the_article(con, incidents):
    known = KnownEntities.from_warehouse(con)
    assert "a" in known.services and ODD_ROUTE in known.routes
    text = (f"4 services (a, orders) failed together; the worst, a {ODD_ROUTE}, had a peak. Root cause, a change "
            f"that shipped: the likeliest cause is a.")
    named = [(c.kind, c.value, c.text) for c in extract_claims(text, known) if c.kind in ("service", "route")]
    assert named == [("service", "a", "a"), ("service", "orders", "orders"), ("service", "a", "a"),
                     ("route", ODD_ROUTE, ODD_ROUTE), ("service", "a", "a")]


def test_an_error_rate_under_one_percent_keeps_its_decimal_and_is_grounded(incidents):
    busy = incidents[("orders", "/orders")]
    assert busy.error_rate < 0.01
    assert f"{100 * busy.error_rate:.1f}% of {busy.requests} requests" in busy.summary
    assert_every_claim_grounded(busy)


def test_a_quoted_example_ends_before_the_quoted_field_value_that_follows_it(incidents):
    busy = incidents[("orders", "/orders")]
    assert 'e.g. "payload rejected by "waf""' in busy.summary
    # the pair is a claim, and its shares are checked as the bot's shares, not as any percentage of the scope
    assert f'user_agent="{BOT}" is carried by 80% of the failing requests and 2% of' in busy.root_cause_analysis
    assert_every_claim_grounded(busy)
