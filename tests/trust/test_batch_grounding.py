"""Batched grounding gives every text the verdicts the per-text oracle gives it: on the simulator's labelled
hour (every incident text the incidents asset wrote, and texts that are wrong in every way a writer can
be wrong), on hand-built edges of the catalogue's week and of a baseline that overlaps its failures, and
on a warehouse without events."""
from datetime import datetime, timedelta

import pytest

from logintel.narration.incident_text import grounding_scope, grounding_summary, incident_text
from logintel.store.landing import HourBatch
from logintel.store.warehouse import load_hour
from logintel.trust import GroundingScope
from logintel.trust.batch import verify_texts
from logintel.trust.batch_catalogue import load_catalogues
from logintel.trust.batch_scopes import pieces
from tests.support.compare import nearly_equal
from tests.support.factories import burst, event, steady
from tests.support.grounding_oracle import load_catalogue, verify_text_alone


def report_dict(report) -> dict:
    data = report.to_dict()
    data.pop("elapsed_ms")
    return data


def assert_same_verdicts(con, texts):
    batched = verify_texts(con, texts)
    assert len(batched) == len(texts)
    for (text, scope), report in zip(texts, batched):
        alone = verify_text_alone(con, text, scope)
        assert nearly_equal(report_dict(alone), report_dict(report)), (text, alone.summary(), report.summary())
    return batched


def test_the_incident_texts_of_the_labelled_hour_get_the_per_text_verdicts(labelled_hour_run):
    # A change incident's text is the investigation's, grounded against the figures it measured (ItemFacts),
    # not the warehouse's fact sheet: it is not this path's.
    incidents = [i for i in labelled_hour_run.incidents if i.kind != "change"]
    texts = [(incident_text(i), grounding_scope(i)) for i in incidents]
    batched = assert_same_verdicts(labelled_hour_run.con, texts)
    # what the incidents asset stored is what the per-text path would have stored
    for incident, (text, scope) in zip(incidents, texts):
        stored = {k: v for k, v in incident.grounding.items() if not k.startswith("rewording")}  # the model's counts
        assert nearly_equal(stored, grounding_summary(verify_text_alone(labelled_hour_run.con, text, scope)))
    # the hour exercises what batching could get wrong: several groups in one scope, baselines of their
    # own, field=value claims
    assert any(len(s.services) > 1 or len(s.routes) > 1 for _, s in texts)
    assert any(s.baselines for _, s in texts)
    assert any(v.claim.kind == "attribute" for r in batched for v in r.claims)


def test_wrong_invented_and_out_of_scope_claims_get_the_per_text_verdicts(labelled_hour_run):
    multi = max(labelled_hour_run.incidents, key=lambda i: len(i.services) * len(i.routes))
    rule = next(i for i in labelled_hour_run.incidents if i.kind == "threshold" and i.related_traces)
    named = [i for i in labelled_hour_run.incidents if (i.root_cause or {}).get("value")]
    texts = []
    for incident in (multi, rule, *named[:3]):
        scope = grounding_scope(incident)
        service, route = incident.services[0], incident.routes[0]
        cause = incident.root_cause or {}
        texts += [
            (f"{service} {route}: 99999 errors, 37% of requests, p99 12.5 s, up 250% on the previous period.", scope),
            (f"billing-api and DELETE {route} failed with FLUX_CAPACITOR_DOWN.", scope),
            (f"See trace {(incident.related_traces or ['0' * 32])[0]} and trace {'f' * 32}, request req-nope.", scope),
            (f"Errors from 03:00 to 04:10 UTC; peak {incident.peak_errors} per 5 min; "
             f"{incident.users_affected} users affected.", scope),
            (f"{cause.get('attribute') or 'db.instance'}={cause.get('value') or 'orders-db-primary'} is carried by "
             f"100% of the failing requests; db.instance=no-such-db and version=0.0.0-never; "
             f'user_agent="curl/8.0" too.', scope),
        ]
    # every group of the hour at once, and texts about the whole hour and about every route of one service
    everything = GroundingScope(start=labelled_hour_run.hour, end=labelled_hour_run.hour + timedelta(hours=1))
    texts.append((f"{multi.errors} errors across the shop; {rule.service} saw {rule.errors}; peak "
                  f"{rule.peak_errors} per 5 min; version=0.0.0-never.", everything))
    one_service = GroundingScope(start=rule.start_time, end=rule.end_time, services=(rule.service,),
                                 baselines=((labelled_hour_run.hour, rule.start_time),))
    texts.append((f"{rule.service}: {rule.errors} errors, peak {rule.peak_errors} per 5 min, p99 2.5 s; "
                  f"{cause.get('attribute') or 'db.instance'}={cause.get('value') or 'orders-db-primary'} "
                  f"is carried by 100% of the failing requests.", one_service))
    batched = assert_same_verdicts(labelled_hour_run.con, texts)
    verdicts = [v for r in batched for v in r.claims]
    assert any(v.invented for v in verdicts)
    assert {v.claim.kind for v in verdicts} >= {"service", "route", "error_code", "trace_id", "request_id", "count",
                                                 "percent", "duration", "time_window", "attribute"}


H = datetime(2026, 11, 23, 10)


def load(con, events):
    by_hour = {}
    for e in events:
        by_hour.setdefault(e.timestamp.replace(minute=0, second=0, microsecond=0, tzinfo=None), []).append(e)
    for hour, batch in sorted(by_hour.items()):
        load_hour(con, HourBatch(hour=hour, lines=[e.to_json() for e in batch], sources=["t"] * len(batch)))


@pytest.mark.parametrize("offset", [timedelta(0), timedelta(seconds=30, microseconds=5)],
                         ids=["whole minutes", "any instant"])
def test_the_catalogues_week_and_range_end_where_each_scope_says(con, offset):
    a = GroundingScope(start=H + timedelta(minutes=10) + offset, end=H + timedelta(minutes=20) + offset)
    b = GroundingScope(start=H + timedelta(minutes=15), end=H + timedelta(minutes=40))
    week = timedelta(days=7)
    load(con, [
        event(a.start, service="orders", route="/orders"),                          # a's first instant
        event(a.end, service="catalog", route="/products"),                         # a's end: outside a, inside b
        event(a.start - week, service="search", route="/search"),                   # a's week starts here
        event(a.start - week - timedelta(microseconds=1), service="auth", route="/login"),  # before a's week
        event(b.end + week - timedelta(microseconds=1), service="mail", route="/send"),     # b's week, not a's
        event(a.end + week, service="push", route="/push", error_code="NO_TOKEN"),  # after a's week, inside b's
    ])
    catalogues = load_catalogues(con, [a, b])
    for scope, catalogue in zip((a, b), catalogues):
        assert catalogue == load_catalogue(con, scope)
    assert catalogues[0].lookup("service", "orders") is True and catalogues[0].lookup("service", "catalog") is False
    assert catalogues[0].lookup("service", "search") is False and catalogues[0].lookup("service", "auth") is None
    assert catalogues[1].lookup("service", "catalog") is True and catalogues[1].lookup("service", "push") is False


def test_a_baseline_that_overlaps_the_failures_counts_each_event_once(con):
    events = steady(H, 1, 4, service="catalog", route="/p", version="4.1.3", **{"db.duration_ms": 5.0})
    events += burst(H + timedelta(minutes=30), 10, 80, service="catalog", route="/p", version="4.2.0",
                    error_code="INTERNAL_ERROR", status=500, **{"db.duration_ms": 50.0})
    load(con, events)
    # a baseline reaching into the failing range, and two that overlap each other
    scope = GroundingScope(start=H + timedelta(minutes=30), end=H + timedelta(minutes=40), services=("catalog",),
                           routes=("/p",), error_codes=("INTERNAL_ERROR",),
                           baselines=((H + timedelta(minutes=10), H + timedelta(minutes=35)),
                                      (H, H + timedelta(minutes=20))))
    assert pieces(scope) == [(H, H + timedelta(minutes=30), False, True),
                             (H + timedelta(minutes=30), H + timedelta(minutes=35), True, True),
                             (H + timedelta(minutes=35), H + timedelta(minutes=40), True, False)]
    text = ("version=4.2.0 is carried by 100% of the failing requests and 20% of the baseline's; "
            "db.duration_ms p50 50 ms, was 5 ms; catalog /p had 80 errors.")
    [report] = assert_same_verdicts(con, [(text, scope)])
    assert report.grounded >= 4


def test_a_warehouse_without_events_grounds_nothing_in_both_paths(con):
    scope = GroundingScope(start=H, end=H + timedelta(minutes=5), services=("orders",), routes=("/orders",))
    [report] = assert_same_verdicts(con, [("orders /orders: 12 errors.", scope)])
    assert report.grounded == 0
