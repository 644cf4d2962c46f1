"""Grounding texts about the warehouse, many at once (all the incident texts of an hour; one text is a batch of
one): the catalogues, the named ids and the fact sheets of all their scopes from a few set-based queries in one
read transaction, then each text's claims judged by `verify.judge_claims` — without a scan of the warehouse
per text. The only way a text about the warehouse is grounded (`tests/support/grounding_oracle.py` grounds one
text at a time, query by query, to check this against)."""
from __future__ import annotations

import time

import duckdb

from logintel.trust.agreement import REL_TOL
from logintel.trust.batch_catalogue import load_catalogues, lookup_ids_many
from logintel.trust.batch_facts import compute_fact_sheets
from logintel.trust.claims import extract_claims
from logintel.trust.grounding_report import GroundingReport
from logintel.trust.scope import GroundingScope
from logintel.trust.verify import judge_claims, named_attributes, named_ids, needs_facts
from logintel.store.cursors import own_cursor


def verify_texts(con: duckdb.DuckDBPyConnection, texts: list[tuple[str, GroundingScope]],
                 rel_tol: float = REL_TOL) -> list[GroundingReport]:
    """A report per (text, scope), in order. Each report's elapsed_ms is its share of the batch's time."""
    started = time.perf_counter()
    if not texts:
        return []
    reports = _verify_batch(con, texts, rel_tol)
    share = (time.perf_counter() - started) * 1000 / len(texts)
    for report in reports:
        report.elapsed_ms = share
    return reports


def verify_text(con: duckdb.DuckDBPyConnection, text: str, scope: GroundingScope) -> GroundingReport:
    """One text's report, as a batch of one."""
    [report] = verify_texts(con, [(text, scope)])
    return report


def _verify_batch(con: duckdb.DuckDBPyConnection, texts: list[tuple[str, GroundingScope]],
                  rel_tol: float) -> list[GroundingReport]:
    scopes = [scope for _, scope in texts]
    # A cursor of its own: its temporary tables and registered scopes stay out of the caller's connection,
    # and one transaction gives every query the same snapshot of the warehouse.
    cur = own_cursor(con)
    try:
        cur.execute("BEGIN TRANSACTION")
        catalogues = load_catalogues(cur, scopes)
        claims = [extract_claims(text, catalogue.known, scope.start.date())
                  for (text, scope), catalogue in zip(texts, catalogues)]
        lookup_ids_many(cur, [(scope, named_ids(c, "trace_id"), named_ids(c, "request_id"), catalogue)
                              for scope, c, catalogue in zip(scopes, claims, catalogues)])
        wanted = [i for i, c in enumerate(claims) if needs_facts(c)]
        sheets = dict(zip(wanted, compute_fact_sheets(cur, [scopes[i] for i in wanted],
                                                      [named_attributes(claims[i]) for i in wanted])))
        cur.execute("ROLLBACK")  # it only read
    finally:
        cur.close()
    return [judge_claims(text, scope, claims[i], catalogues[i], sheets.get(i), rel_tol)
            for i, (text, scope) in enumerate(texts)]
