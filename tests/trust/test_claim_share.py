"""A verdict on 0 claims is "nothing to verify" (ratio None), never ratio 1.0 — in both grounding engines
(`verify_text` against a real DuckDB warehouse, `ground_text` against an item's facts) and in every verdict
summed from them; on some claims grounded it is a share, on all of them 1.0."""
import json
from datetime import date, datetime, timedelta

import pytest

from logintel.agents.findings_check import FindingsVerdict
from logintel.digest.grounding_verdict import DigestVerdict
from logintel.trust import GroundingScope, verify_text
from logintel.trust.claim_share import NO_CLAIM, NOTHING_TO_VERIFY, ClaimShare, grounded_pct
from logintel.trust.entities import KnownEntities
from logintel.trust.item_grounding import ItemFacts, ground_text, summarize
from logintel.trust.partition_grounding import PartitionGrounding
from tests.trust.test_grounding import H, load, pool_exhaustion
from tests.support.factories import steady

REASSURANCE = "Nothing to worry about: the database is fine, no action needed."
KNOWN = KnownEntities(services=frozenset({"orders"}), routes=frozenset({"/orders"}),
                      error_codes=frozenset({"DB_POOL_EXHAUSTED"}))
DAY = date(2026, 11, 23)


@pytest.mark.parametrize("claims, grounded, ratio, state", [(0, 0, None, None), (4, 3, 0.75, False),
                                                            (4, 4, 1.0, True)])
def test_the_share_on_no_some_and_all_claims(claims, grounded, ratio, state):
    share = ClaimShare(claims=claims, grounded=grounded)
    assert share.ratio == ratio and share.state is state
    assert share.nothing_to_verify is (claims == 0)
    fields = share.fields()
    assert fields["ratio"] == ratio
    assert fields["ratio_reason"] == (NO_CLAIM if claims == 0 else None)
    assert share.describe().startswith(NOTHING_TO_VERIFY if claims == 0 else f"{grounded}/{claims} claims grounded")
    assert share.percent() == (None if ratio is None else round(100 * ratio, 2)) == grounded_pct(ratio)
    assert share.meets(0.9) is (None if claims == 0 else ratio >= 0.9)


@pytest.fixture
def outage(con):
    load(con, H, steady(H, 1, 6, service="orders", route="/orders", duration_ms=40.0)
         + pool_exhaustion(H + timedelta(minutes=23)))
    return con


def test_the_warehouse_engine_on_no_some_and_all_claims(outage):
    scope = GroundingScope(H, H + timedelta(hours=1), ("orders",), ("/orders",), ("DB_POOL_EXHAUSTED",))
    nothing = verify_text(outage, REASSURANCE, scope)
    some = verify_text(outage, "orders /orders: 278 DB_POOL_EXHAUSTED errors; billing-api failed too.", scope)
    every = verify_text(outage, "orders /orders: 278 DB_POOL_EXHAUSTED errors.", scope)

    assert nothing.ratio is None and not nothing.has_claims and nothing.share.state is None
    assert nothing.summary().startswith(NOTHING_TO_VERIFY)
    data = json.loads(json.dumps(nothing.to_dict()))
    assert data["ratio"] is None and data["ratio_reason"] == NO_CLAIM  # the key stays, null with its reason
    assert 0 < some.ratio < 1 and some.share.state is False and some.to_dict()["ratio_reason"] is None
    assert every.ratio == 1.0 and every.share.state is True


def test_the_item_engine_on_no_some_and_all_claims():
    facts = ItemFacts(counts=[278])
    nothing = ground_text(REASSURANCE, facts, KNOWN, DAY)
    some = ground_text("orders: 278 errors, 9,999 retries.", facts, KNOWN, DAY)
    every = ground_text("orders: 278 errors.", facts, KNOWN, DAY)

    assert (nothing["grounded"], nothing["claims"], nothing["reason"]) == (None, 0, NO_CLAIM)
    assert some["grounded"] is False and 0 < some["grounded_claims"] < some["claims"]
    assert every["grounded"] is True and every["grounded_claims"] == every["claims"] > 0


def test_a_summary_of_sentences_with_nothing_to_verify_has_no_ratio():
    facts = ItemFacts(counts=[278])
    items = [{"text": t, "grounding": ground_text(t, facts, KNOWN, DAY)} for t in (REASSURANCE, "All quiet.")]
    summary = summarize(items)
    assert summary["claims"] == 0 and summary["ratio"] is None and summary["ratio_reason"] == NO_CLAIM
    assert summary["unchecked"] == [REASSURANCE, "All quiet."] and summary["ungrounded"] == []

    items.append({"text": "orders: 278 errors.", "grounding": ground_text("orders: 278 errors.", facts, KNOWN, DAY)})
    assert summarize(items)["ratio"] == 1.0 and summarize(items)["ratio_reason"] is None


def test_every_summed_verdict_says_nothing_to_verify_on_no_claims():
    digest = DigestVerdict(sentences=3)
    assert digest.ratio is None and not digest.passed  # a digest that states nothing is not a grounded one
    assert digest.description().startswith(NOTHING_TO_VERIFY)
    assert DigestVerdict(sentences=3, claims=20, grounded=19).passed  # 95%
    assert not DigestVerdict(sentences=3, claims=20, grounded=18).passed

    findings = FindingsVerdict(findings=0)
    assert findings.ratio is None and findings.passed and NOTHING_TO_VERIFY in findings.description()

    assert PartitionGrounding(texts=0).passed and PartitionGrounding(texts=0).ratio is None
    silent = PartitionGrounding(texts=2)
    assert silent.ratio is None and not silent.passed and silent.description().startswith(NOTHING_TO_VERIFY)
    assert PartitionGrounding(texts=2, claims=10, grounded=9).passed
    assert not PartitionGrounding(texts=2, claims=10, grounded=8).passed
