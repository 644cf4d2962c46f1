"""field=value claims in text: extracted (bare, quoted, at a sentence end), checked against the scope's
failing events, and the shares and p50 latencies a root cause states recomputed from raw_events."""
from datetime import datetime, timedelta

from logintel.store.landing import HourBatch
from logintel.store.warehouse import load_hour
from logintel.trust import GroundingScope, extract_claims, verify_text
from tests.support.factories import burst, steady

H = datetime(2026, 11, 23, 10)


def test_claims_are_found_bare_quoted_and_before_a_full_stop():
    claims = [c for c in extract_claims('It began with version=4.2.0. Also user_agent="Mozilla/5.0 (X11)" and '
                                        'db.instance=orders-db-primary, then nothing.') if c.kind == "attribute"]
    assert [c.value for c in claims] == [("version", "4.2.0"), ("user_agent", "Mozilla/5.0 (X11)"),
                                         ("db.instance", "orders-db-primary")]


def load(con):
    events = steady(H, 0.5, 6, service="catalog", route="/p", version="4.1.3",
                    **{"db.duration_ms": 5.0, "db.instance": "catalog-db"})
    events += burst(H + timedelta(minutes=30), 10, 100, service="catalog", route="/p", version="4.2.0",
                    error_code="INTERNAL_ERROR", status=500,
                    **{"db.duration_ms": 50.0, "db.instance": "catalog-db"})
    load_hour(con, HourBatch(hour=H, lines=[e.to_json() for e in events], sources=[str(i) for i in range(len(events))]))


SCOPE = GroundingScope(start=H + timedelta(minutes=30), end=H + timedelta(minutes=40), services=("catalog",),
                       routes=("/p",), error_codes=("INTERNAL_ERROR",),
                       baselines=((H + timedelta(minutes=10), H + timedelta(minutes=30)),))


def test_a_true_value_and_its_shares_are_grounded(con):
    load(con)
    report = verify_text(con, "Root cause: version=4.2.0 is carried by 100% of the failing requests and 0% of "
                              "the same routes' requests before.", SCOPE)
    assert report.ungrounded == 0 and report.grounded == 3, report.to_dict()


def test_a_wrong_share_and_a_value_of_the_healthy_requests_are_ungrounded(con):
    load(con)
    report = verify_text(con, "version=4.1.3 is carried by 60% of the failing requests.", SCOPE)
    verdicts = {v.claim.text: v for v in report.claims}
    assert not verdicts["version=4.1.3"].grounded and not verdicts["version=4.1.3"].invented
    assert not verdicts["60%"].grounded


def test_a_value_no_event_carries_is_invented(con):
    load(con)
    report = verify_text(con, "Root cause: version=9.9.9 shipped.", SCOPE)
    assert [v.claim.text for v in report.invented_entities] == ["version=9.9.9"]


def test_the_latencies_of_the_values_namespace_are_checked(con):
    load(con)
    text = "db.instance=catalog-db got slower — db.duration_ms p50 5 ms before the failures, {} in the failing requests."
    good, bad = (verify_text(con, text.format(ms), SCOPE) for ms in ("50 ms", "900 ms"))
    assert good.ungrounded == 0 and bad.ungrounded == 1


def test_pairs_inside_a_quoted_log_message_are_not_claims():
    text = 'orders failed — e.g. "pool exhausted (active=50, idle=0)"; version=4.2.0 carried it.'
    assert [c.value for c in extract_claims(text) if c.kind == "attribute"] == [("version", "4.2.0")]
