"""Contrast analysis of every incident of an hour in one pass: the SQL fills the failing and baseline
events of all scopes at once, the statistics rank their field=value pairs, and each scope gets its
verdict and, per (service, route), how much of its failures that verdict covers through their traces."""
from __future__ import annotations

import time
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import timedelta

import duckdb
import numpy as np

from logintel.analysis.root_cause import queries
from logintel.analysis.root_cause.scopes import ContrastScope, overlaps
from logintel.analysis.root_cause.statistics import lift, p_value
from logintel.analysis.root_cause.verdict import Contrast, RootCause, Slowdown, carrier_bound, decide, strength
from logintel.store.cursors import own_cursor

Unit = tuple[str, str]  # (service, route): what a baseline is drawn from


@dataclass
class UnitCounts:
    """Weighted and kept events of one (service, route) on each side, and its field=value counts."""
    failing_w: float = 0.0
    failing_n: int = 0
    baseline_w: float = 0.0
    baseline_n: int = 0
    values: dict[tuple[str, str], list[float]] = field(default_factory=dict)  # (attr, value) -> [fw, fn, bw, bn]


@dataclass
class ScopeFindings:
    scope: ContrastScope
    units: dict[Unit, UnitCounts] = field(default_factory=dict)
    slowdowns: list[Slowdown] = field(default_factory=list)              # the scope as a whole
    unit_slowdowns: dict[Unit, list[Slowdown]] = field(default_factory=dict)
    cause: RootCause | None = None


@dataclass
class RootCauseAnalysis:
    scopes: dict[str, ScopeFindings] = field(default_factory=dict)
    cardinality: dict[str, int] = field(default_factory=dict)  # distinct values per attribute in the hour
    # (cause key, target key) -> per group of the target: (share of its failures the cause's traces cover,
    # its weighted failures)
    covers: dict[tuple[str, str], dict[tuple, tuple[float, float]]] = field(default_factory=dict)
    elapsed_s: float = 0.0

    def cause(self, key: str) -> RootCause:
        found = self.scopes.get(key)
        return found.cause if found and found.cause else RootCause(kind="unknown")

    def coverage(self, key: str, target: str | None = None) -> dict[tuple, float]:
        """Per (service, route, error_code) group of `target` (default: the scope itself), the share of
        its failing events that `key`'s cause explains through their traces."""
        return {group: share for group, (share, _) in self.covers.get((key, target or key), {}).items()}

    def covered_share(self, key: str, target: str) -> float:
        """The share of all of `target`'s failing events that `key`'s cause explains."""
        groups = self.covers.get((key, target), {})
        total = sum(w for _, w in groups.values())
        return sum(share * w for share, w in groups.values()) / total if total else 0.0

    def restate(self, cause: RootCause, key: str) -> RootCause:
        """`cause` (decided elsewhere) with its first evidence item measured over scope `key`: the
        shares, or the medians of a slowdown, of exactly this scope's failing events and baselines."""
        found = self.scopes.get(key)
        if found is None or not cause.named or not cause.evidence:
            return cause
        top = dict(cause.evidence[0])
        contrasts = _contrasts(list(found.units.values()), self.cardinality)
        if "after_ms" in top:
            slow = next((s for s in found.slowdowns
                         if (s.metric, s.by, s.value) == (top["attribute"], top["by"], top["value"])), None)
            if slow is None:
                return cause
            slow.share_failing = next((c.share_failing for c in contrasts
                                       if (c.attribute, c.value) == (slow.by, slow.value)), 0.0)
            top = slow.evidence()
        else:
            contrast = next((c for c in contrasts if (c.attribute, c.value) == (top["attribute"], top["value"])), None)
            if contrast is None:
                return cause
            top = contrast.evidence()
        return RootCause(kind=cause.kind, attribute=cause.attribute, value=cause.value,
                         confidence=cause.confidence, evidence=[top] + cause.evidence[1:])


def _contrasts(units: list[UnitCounts], cardinality: dict[str, int]) -> list[Contrast]:
    failing_w = sum(u.failing_w for u in units)
    failing_n = sum(u.failing_n for u in units)
    baseline_w = sum(u.baseline_w for u in units)
    baseline_n = sum(u.baseline_n for u in units)
    pooled: dict[tuple[str, str], np.ndarray] = defaultdict(lambda: np.zeros(4))
    for unit in units:
        for pair, numbers in unit.values.items():
            pooled[pair] += numbers
    if not pooled:
        return []
    pairs = list(pooled)
    table = np.array([pooled[p] for p in pairs])
    lifts = lift(table[:, 0], failing_w, table[:, 2], baseline_w)
    p_values = p_value(table[:, 1], failing_n, table[:, 3], baseline_n)
    return [Contrast(attribute=a, value=v, share_failing=float(row[0] / failing_w) if failing_w else 0.0,
                     share_baseline=float(row[2] / baseline_w) if baseline_w else 0.0, lift=float(lf),
                     p_value=float(p), failing_n=int(row[1]), baseline_n=int(row[3]),
                     specificity=cardinality.get(a, 1))
            for (a, v), row, lf, p in zip(pairs, table, lifts, p_values)]


def _decide(found: ScopeFindings, cardinality: dict[str, int]) -> RootCause:
    contrasts = _contrasts(list(found.units.values()), cardinality)
    for contrast in contrasts:
        contrast.services = sorted({u[0] for u, counts in found.units.items()
                                    if (contrast.attribute, contrast.value) in counts.values})
    shares = {(c.attribute, c.value): c.share_failing for c in contrasts}
    for s in found.slowdowns:
        s.share_failing = shares.get((s.by, s.value), 0.0)
        s.specificity = cardinality.get(s.by, 1)
    return decide(contrasts, found.slowdowns, {u[0] for u in found.units})


def _overlap(a: ContrastScope, b: ContrastScope) -> bool:
    return overlaps(a.start, a.end, b.start, b.end)


def analyse(con: duckdb.DuckDBPyConnection, scopes: list[ContrastScope], cardinality: dict[str, int] | None = None,
            coverage: bool = True) -> RootCauseAnalysis:
    """Verdicts for all `scopes` and, with `coverage`, how much of each one's failures (and its
    neighbours') each verdict explains. `cardinality`: the hour's, when an earlier pass measured it."""
    started = time.perf_counter()
    result = RootCauseAnalysis()
    scopes = [s for s in scopes if s.groups]
    if not scopes:
        return result
    # A cursor of its own: the temp tables stay out of the caller's connection, and a result the
    # caller left unread does not block them.
    con = own_cursor(con)
    queries.load_sides(con, scopes)
    try:
        found = {s.key: ScopeFindings(scope=s) for s in scopes}
        for key, service, route, failing, w, n in queries.unit_totals(con):
            unit = found[key].units.setdefault((service, route), UnitCounts())
            if failing:
                unit.failing_w, unit.failing_n = float(w), int(n)
            else:
                unit.baseline_w, unit.baseline_n = float(w), int(n)
        for key, service, route, attribute, value, fw, fn, bw, bn in queries.categorical_counts(con):
            unit = found[key].units.setdefault((service, route), UnitCounts())
            unit.values[(attribute, value)] = [float(fw), int(fn), float(bw), int(bn)]
        for key, service, route, metric, by, value, after, after_n, before, before_n in queries.latency_by_value(con):
            if before is None or after is None:
                continue
            slowdown = Slowdown(metric=metric, by=by, value=value, before_ms=float(before), after_ms=float(after),
                                failing_n=int(after_n), baseline_n=int(before_n))
            if service is None:
                found[key].slowdowns.append(slowdown)
            else:
                slowdown.services = [service]
                found[key].unit_slowdowns.setdefault((service, route), []).append(slowdown)
        for findings in found.values():  # which services carry each scope-wide slowdown
            for s in findings.slowdowns:
                s.services = sorted({u[0] for u, unit_slow in findings.unit_slowdowns.items()
                                     if any((t.metric, t.by, t.value) == (s.metric, s.by, s.value) for t in unit_slow)})
        start, end = min(s.start for s in scopes), max(s.end for s in scopes)
        result.cardinality = cardinality if cardinality is not None else \
            queries.attribute_cardinality(con, start - timedelta(hours=1), end)
        for key, findings in found.items():
            findings.cause = _decide(findings, result.cardinality)
        named = [(key, f.cause.attribute, f.cause.value, *carrier_bound(f.cause), f.cause.kind == "client")
                 for key, f in found.items() if f.cause.named and coverage]
        targets = [(key, other.key) for key, *_ in named for other in scopes if _overlap(found[key].scope, other)]
        for cause_key, target, service, route, code, covered, total in queries.trace_coverage(con, named, targets):
            result.covers.setdefault((cause_key, target), {})[(service, route, code)] = (
                float(covered) / float(total) if total else 0.0, float(total))
        result.scopes = found
        for key, findings in found.items():  # confidence: how much of the failures the cause explains
            if findings.cause.named:
                findings.cause.confidence = round(max(findings.cause.confidence,
                                                      result.covered_share(key, key) * strength(findings.cause)), 3)
    finally:
        queries.drop_sides(con)
        con.close()
    result.elapsed_s = time.perf_counter() - started
    return result
