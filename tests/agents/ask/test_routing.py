"""The router: offline accuracy on labelled questions it was not written from, and trigger routing."""
from __future__ import annotations

import pytest

from logintel.agents.ask.routing import CARDS, route, route_trigger
from tests.agents.ask.routing_questions import QUESTIONS

MIN_ACCURACY = 0.95


def test_first_analyst_accuracy_on_the_labelled_questions():
    assert len(QUESTIONS) >= 40
    misses = []
    for question, first, full in QUESTIONS:
        names = [name for name, _ in route(question)]
        if names[0] != first or (full is not None and set(names) != set(full)):
            misses.append((question, first, full, names))
    accuracy = 1 - len(misses) / len(QUESTIONS)
    print(f"\nrouting accuracy {accuracy:.1%} on {len(QUESTIONS)} questions; misses:")
    for miss in misses:
        print("  ", miss)
    assert accuracy >= MIN_ACCURACY, misses


def test_routing_is_deterministic_scored_and_ordered():
    first = route("is somebody hammering our login?")
    assert first == route("is somebody hammering our login?")
    assert first[0][0] == "security"
    scores = [score for _, score in route("what happened overnight?")]
    assert scores == sorted(scores, reverse=True) and all(0 <= s <= 1 for s in scores)


@pytest.mark.parametrize("question", ["what happened overnight?", "give me a health overview", "hello?", ""])
def test_broad_or_empty_questions_go_to_every_analyst(question):
    assert sorted(name for name, _ in route(question)) == sorted(card.name for card in CARDS)


def test_a_question_spanning_two_concerns_goes_to_both():
    names = [name for name, _ in route("login is slow and failing a lot - attack or outage?")]
    assert set(names) == {"security", "sre"}


def test_typos_still_route():
    assert route("credental stufing?")[0][0] == "security"
    assert route("latncy on checkout")[0][0] == "sre"


@pytest.mark.parametrize("trigger, first", [
    ({"kind": "threshold", "service": "auth", "route": "/login", "error_code": "INVALID_CREDENTIALS"}, "security"),
    ({"kind": "cause", "service": "api", "route": "/orders", "error_code": "TIMEOUT",
      "root_cause": {"kind": "client", "attribute": "client_ip", "value": "203.0.113.7"}}, "security"),
    ({"kind": "threshold", "service": "api", "route": "/v1/items", "error_code": "HTTP_429", "status": 429},
     "security"),
    ({"kind": "threshold", "service": "api", "route": "/orders", "error_code": "403"}, "security"),
    ({"kind": "burn_rate_page", "service": "search", "route": "/search", "burn_rate": 14.4}, "sre"),
    ({"kind": "latency_forecast", "service": "search", "route": "/search", "p99_ms": 950}, "sre"),
    ({"kind": "threshold", "service": "payments", "route": "/charge", "error_code": "PG_TIMEOUT",
      "status": "open", "root_cause": {"kind": "deploy", "attribute": "service.version", "value": "2.4.1"}}, "sre"),
    ({"kind": "n_plus_one", "service": "orders", "route": "/orders"}, "efficiency"),
    ({"kind": "cost_hotspot", "service": "search"}, "efficiency"),
])
def test_triggers_go_first_to_the_analyst_whose_concern_they_are(trigger, first):
    routed = route_trigger(trigger)
    assert routed[0] == first
    assert "sre" in routed  # every incident is reviewed for reliability too
    assert len(routed) == len(set(routed))


def test_a_slow_database_incident_also_asks_efficiency():
    routed = route_trigger({"kind": "cause", "service": "orders", "route": "/orders", "p99_ms": 2400,
                            "root_cause": {"kind": "dependency", "attribute": "db.statement", "value": "SELECT"}})
    assert routed == ["sre", "efficiency"]
