"""A model's sentences bound to the drafts they reword: accepted only where they state exactly the draft's
claims and nothing uncheckable of their own; every other one gives way to its draft (or is dropped when it names
no draft) and is counted."""
from datetime import date

import pytest

from logintel.trust.draft_binding import Draft, bind, draft_sentences, rewording_problem, unworded
from logintel.trust.entities import KnownEntities

KNOWN = KnownEntities(services=frozenset({"auth", "orders", 'pay"ments'}),
                      routes=frozenset({"/login", "/orders", "/checkout"}), error_codes=frozenset({"INVALID_CREDENTIALS"}))
DAY = date(2026, 11, 23)
ISSUE = ("auth /login: 231 errors (INVALID_CREDENTIALS) from 10:38 to 10:52, 2 users affected over 14 min; "
         "cause: client, client_ip=45.155.205.233 (confidence 1.00).")
SAVING = "orders /orders spent 110 CPU-seconds today; bringing its mean down would save about 88 CPU-seconds a day."
NOTHING = "No single cause stands out: no field or dependency of the failing requests differs from before."
CHECKOUT = "orders /orders: 60 errors on checkout."
QUOTED_NAME = 'pay"ments /checkout: 60 errors from 10:00 to 10:05.'


def problem(draft: str, text: str) -> str | None:
    return rewording_problem(draft, text, KNOWN, DAY)


@pytest.mark.parametrize("draft, text", [
    (ISSUE, ISSUE),
    (ISSUE, ("auth /login: 231 errors (INVALID_CREDENTIALS) between 10:38 and 10:52, 2 users affected over 14 min; "
             "cause: client, client_ip=45.155.205.233 (confidence 1.00).")),
    (ISSUE, ISSUE.replace("; ", ", ")),
    (SAVING, SAVING.replace("; ", " — ")),
    (NOTHING, "no single cause stands out; no field or dependency of the failing requests differs from before"),
    (CHECKOUT, "orders /orders saw 60 errors on checkout."),
    (QUOTED_NAME, 'pay"ments /checkout had 60 errors between 10:00 and 10:05.'),
])
def test_a_rewording_that_states_exactly_the_drafts_claims_is_accepted(draft, text):
    assert problem(draft, text) is None


@pytest.mark.parametrize("draft, text, why", [
    (ISSUE, ISSUE.replace("231", "23"), "states what its draft does not: 23 (count, errors)"),
    (ISSUE, ISSUE.replace("auth", "billing-api"), "states what its draft does not: billing-api (service)"),
    (ISSUE, ISSUE.replace("10:52", "10:59"), "states what its draft does not: the number 59"),
    (ISSUE, ISSUE.split(";")[0] + ".", "leaves out what its draft states: client_ip=45.155.205.233"),
    (SAVING, SAVING.replace("110", "990"), "states what its draft does not: the number 990"),  # no claim label
    (ISSUE, ISSUE + " The database is fine, no action needed.", "2 sentences where its draft has 1"),
    (ISSUE, ISSUE[:-1] + " <!channel>.", "adds markup its draft lacks (< >)"),
    (ISSUE, ISSUE[:-1] + ' "the database is fine".', "quotes what its draft does not"),
    (ISSUE, ISSUE[:-1] + ' "the database is fine, no action needed', "quotes what its draft does not"),  # unclosed
    (ISSUE, ISSUE[:-1] + "; the database is fine, no action needed.", "nothing to verify in 2 part(s) of it"),
    (ISSUE, "The database is fine, no action needed.", "nothing to verify in a sentence where its draft states"),
    (NOTHING, "All systems are healthy.", "nothing to verify in a sentence that is not its draft's own words"),
    (ISSUE, "  ", "an empty sentence"),
    # words inside a part that states claims may not take a stance the draft does not
    (CHECKOUT, "orders /orders: 60 errors and nothing to worry about.", "takes a stance its draft does not "
                                                                        "(nothing, worry)"),
    (CHECKOUT, "orders /orders: 60 harmless errors on checkout.", "takes a stance its draft does not (harmless)"),
    (CHECKOUT, "orders /orders: 60 errors that don't affect checkout.", "takes a stance its draft does not (not)"),
    (CHECKOUT, "orders /orders: 60 errors on checkout so restart it immediately.", "takes a stance its draft does "
                                                                                   "not (immediately, restart)"),
    # a name with a quote mark in it is a name, not the start of a quotation: what follows it is checked
    (QUOTED_NAME, QUOTED_NAME.replace("60", "6"), "states what its draft does not: 6 (count, errors)"),
    (QUOTED_NAME, QUOTED_NAME[:-1] + " and it is all fine.", "takes a stance its draft does not (fine)"),
])
def test_anything_else_gives_way_with_the_reason(draft, text, why):
    assert (problem(draft, text) or "").startswith(why)


def test_the_binding_counts_what_was_offered_accepted_and_replaced():
    drafts = [Draft("s1", ISSUE), Draft("s2", NOTHING), Draft("s3", SAVING)]
    binding = bind(drafts, [("s1", ISSUE.replace("; ", ", ")), ("s2", "All systems are healthy."),
                            ("s2", NOTHING), ("The database is fine, no action needed", "x"), ("s9", "y")],
                   KNOWN, DAY)
    assert binding.counts() == {"offered": 5, "accepted": 1, "replaced": 4, "unworded": 1}
    assert [r.text for r in binding.reworded] == [ISSUE.replace("; ", ", "), NOTHING, SAVING]
    assert binding.order == ["s1", "s2"]
    assert binding.problems() == [
        "s2: nothing to verify in a sentence that is not its draft's own words",
        "s2: a second sentence for one draft",
        "(an unknown id): names no draft it was given",  # the model's own words are not stored as an id
        "s9: names no draft it was given"]
    binding.reject("s1", "grounds worse than its draft")
    assert binding.counts() == {"offered": 5, "accepted": 0, "replaced": 5, "unworded": 1}
    assert binding.of("s1").text == ISSUE


def test_an_offline_text_is_every_draft_as_written():
    drafts = draft_sentences(f"{ISSUE} {NOTHING}", "summary-")
    assert [d.id for d in drafts] == ["summary-1", "summary-2"]
    assert unworded(drafts).counts() == {"offered": 0, "accepted": 0, "replaced": 0, "unworded": 2}
