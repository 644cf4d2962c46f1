"""Grounding a digest sentence against its own source's facts: numbers, names, windows, field=value."""
from datetime import date, datetime

from logintel.trust.entities import KnownEntities
from logintel.trust.item_grounding import ItemFacts, ground_text, summarize

KNOWN = KnownEntities(services=frozenset({"search", "orders"}), routes=frozenset({"/search", "/orders"}),
                      error_codes=frozenset({"DB_POOL_EXHAUSTED"}))
DAY = date(2026, 12, 1)


def _facts(**kw) -> ItemFacts:
    return ItemFacts(**kw)


def test_a_sentence_whose_numbers_and_names_come_from_its_facts_is_grounded():
    facts = _facts(counts=[340, 88], percents=[2.31], durations_ms=[17 * 60_000], values=[0.77],
                   windows=[(datetime(2026, 12, 1, 9, 16), datetime(2026, 12, 1, 9, 33))],
                   attributes={("db.instance", "orders-db-primary")})
    text = ("orders /orders: 340 errors (DB_POOL_EXHAUSTED) from 09:16 to 09:33, 88 users affected over 17 min, "
            "2.3% of the monthly error budget; cause: dependency, db.instance=orders-db-primary (confidence 0.77).")
    result = ground_text(text, facts, KNOWN, DAY)
    assert result["grounded"] is True and result["claims"] >= 8, result["verdicts"]


def test_a_wrong_number_an_invented_service_and_a_wrong_window_are_caught():
    facts = _facts(counts=[340], windows=[(datetime(2026, 12, 1, 9, 16), datetime(2026, 12, 1, 9, 33))])
    wrong_count = ground_text("orders: 3400 errors from 09:16 to 09:33.", facts, KNOWN, DAY)
    assert wrong_count["grounded"] is False and not wrong_count["invented"]
    invented = ground_text("billing service: 340 errors.", facts, KNOWN, DAY)
    assert invented["grounded"] is False and invented["invented"] == ["billing"]
    window = ground_text("orders: 340 errors from 11:00 to 12:00.", facts, KNOWN, DAY)
    assert window["grounded"] is False and "window" in window["reason"]


def test_numbers_the_claim_parser_leaves_out_are_checked_too():
    facts = _facts(values=[1234.0, 0.0123])
    assert ground_text("orders spent 1,234 CPU-seconds ($0.0123).", facts, KNOWN, DAY)["grounded"] is True
    result = ground_text("orders spent 9,999 CPU-seconds ($0.0123).", facts, KNOWN, DAY)
    assert result["grounded"] is False and "9,999" in result["reason"]


def test_a_field_value_not_in_the_facts_is_ungrounded_and_invented_when_no_event_carries_it():
    facts = _facts(attributes={("db.instance", "orders-db-primary")})
    carried = ground_text("cause: db.instance=orders-db-replica.", facts, KNOWN, DAY, lambda a, v: True)
    assert carried["grounded"] is False and not carried["invented"]
    nowhere = ground_text("cause: db.instance=mars-db.", facts, KNOWN, DAY, lambda a, v: False)
    assert nowhere["invented"] == ["db.instance=mars-db"]


def test_a_name_with_a_quote_mark_in_it_is_a_catalogue_entry():
    known = KnownEntities(services=KNOWN.services | {'pay"ments'}, routes=KNOWN.routes, error_codes=KNOWN.error_codes)
    facts = _facts(counts=[340], windows=[(datetime(2026, 12, 1, 9, 16), datetime(2026, 12, 1, 9, 33))])
    result = ground_text('pay"ments: 340 errors from 09:16 to 09:33.', facts, known, DAY)
    assert result["grounded"] is True and result["claims"] == 3, result["verdicts"]
    assert [v["claim"]["text"] for v in result["verdicts"]][0] == 'pay"ments'
    # what follows the name is read, not taken for a quotation
    wrong = ground_text('pay"ments: 3400 errors from 09:16 to 09:33.', facts, known, DAY)
    assert wrong["grounded"] is False and "3400" in wrong["reason"]


def test_a_sentence_with_nothing_checkable_is_not_called_grounded():
    result = ground_text("Nothing else stood out.", _facts(), KNOWN, DAY)
    assert result["grounded"] is None and result["claims"] == 0


def test_the_summary_counts_claims_and_lists_what_failed():
    items = [{"text": t, "grounding": ground_text(t, _facts(counts=[5]), KNOWN, DAY)}
             for t in ("orders: 5 errors.", "orders: 7 errors.", "All quiet.")]
    summary = summarize(items)
    assert (summary["claims"], summary["grounded"]) == (4, 3)
    assert summary["ungrounded"] == ["orders: 7 errors."] and summary["unchecked"] == ["All quiet."]


def test_facts_survive_the_json_round_trip():
    facts = _facts(counts=[1], windows=[(datetime(2026, 12, 1, 9), datetime(2026, 12, 1, 10))],
                   attributes={("peer.service", "pg-provider")})
    assert ItemFacts.from_dict(facts.to_dict()) == facts
