"""The efficiency analyst: where a scope's processing and database time go, and what each fix would save a
day — the digest's efficiency estimates (digest/efficiency.py) plus N+1 queries and payload sizes.

Rules (EfficiencyRules; the [efficiency] section of the analyst rules file overrides them):

- **processing_time** (info): the `top_routes` (3) routes with the most total time (requests × mean) that
  hold at least `min_time_share` (5%) of all of it; saving requests × (mean − p50), CPU-seconds a day.
- **database_share**: routes with at least `db_share` (50%) of their time in the database; saving
  `db_saving_factor` (50%) of that time, DB-seconds a day. A route flagged n_plus_one is not repeated here.
- **n_plus_one**: where events carry `db.query_count` (on at least `query_count_events` (50%) of them), a
  mean of at least `n_plus_one_queries` (10) queries per request with at least `n_plus_one_db_share` (50%)
  of the time in the database; saving the database time beyond `batched_queries` (2) queries a request
  (round trips dominate, so time scales with queries). Without counts: a cheap route (p50 under
  `cheap_p50_ms`, 50 ms) whose database share, in total and for its median request, is at least
  `cheap_db_share` (80%) — the median too, so an incident's slow queries in part of the day do not look
  structural; saving `db_saving_factor` of its database time.
- **retries**: at least `min_retries_per_trace` (0.2) extra calls per trace; saving the extra calls,
  requests a day.
- **payload_size**: a p95 response (`http.response.body.size`, else `http.response_content_length`) of at
  least `payload_p95_bytes` (1 MB); saving `payload_saving_factor` (50%) of the bytes sent, bytes a day.

Every rule but processing_time needs `min_requests` (100) requests in the scope, and every saving at least
`min_saving` (1) of its unit a day. A scope shorter than a day has its savings scaled to a day at its rate
(the text says "at this rate"; `evidence["saving"]["scaled_from_hours"]`). Per kind the largest saving is
medium and the others low; confidence is the margin over the rule (0.5 at the threshold, 1 at twice it).
"""
from __future__ import annotations

from dataclasses import dataclass

import duckdb

from logintel.agents.analyst_report import AnalystReport
from logintel.agents.analyst_spec import Analyst
from logintel.agents.efficiency.efficiency_queries import has_raw_events, route_figures
from logintel.agents.efficiency.efficiency_rules import MB, EfficiencyRules
from logintel.agents.finding import Finding, Scope
from logintel.daily import savings as digest
from logintel.trust import wording as w
from logintel.trust.item_grounding import ItemFacts

AGENT = "efficiency"
DESCRIPTION = (
    "The efficiency analyst answers what the system spends and wastes: which routes cost the most processing "
    "(CPU) time and their share of it, which spend most of their time in the database, slow or repeated "
    "queries and N+1 query patterns (many queries per request), services called again and again in one trace "
    "(retries), and oversized response payloads. Each recommendation comes with its estimated saving a day "
    "(CPU-seconds, database-seconds, requests or bytes) and the figures it rests on; ask it about cost, "
    "waste, slow queries, CPU time, database time, N+1 queries, retries or payload sizes.")

DAY_S = 86_400.0


def analyse(con: duckdb.DuckDBPyConnection, scope: Scope, rules: EfficiencyRules = EfficiencyRules()) -> AnalystReport:
    """The scope's efficiency findings (not grounded: the caller grounds them)."""
    report = AnalystReport(AGENT, scope)
    if not has_raw_events(con):
        report.notes.append("the warehouse has no raw_events table: nothing to examine")
        return report
    rows = route_figures(con, scope.start, scope.end)
    report.examined = {"routes": len(rows), "requests": int(sum(r["requests"] for r in rows))}
    ctx = _Context(scope, rules, _day_factor(scope))
    busy = [r for r in rows if r["requests"] >= rules.min_requests]
    n_plus_one = [f for f in (_n_plus_one(r, ctx) for r in busy) if f]
    flagged = {f.key for f in n_plus_one}
    groups = [
        _processing_time(rows, ctx),
        _largest(n_plus_one, rules.top_routes),
        _largest([_database_share(r, ctx) for r in busy if _key(r) not in flagged], rules.top_routes),
        _largest([_retries(r, ctx) for r in busy], max(rules.top_routes - 1, 1)),
        _largest([_payload(r, ctx) for r in busy], rules.top_routes),
    ]
    report.findings = [f for group in groups for f in group]
    return report


ANALYST = Analyst(AGENT, DESCRIPTION, EfficiencyRules, analyse)


@dataclass(frozen=True)
class _Context:
    scope: Scope
    rules: EfficiencyRules
    factor: float  # scope figures × factor = a day's

    @property
    def whole_day(self) -> bool:
        return (self.scope.start, self.scope.end) == (self.scope.day.start, self.scope.day.end)

    @property
    def when(self) -> str:
        if self.whole_day:
            return f"on {self.scope.day.key}"
        local = self.scope.day.local
        return f"between {w.clock(local(self.scope.start))} and {w.clock(local(self.scope.end))}"

    @property
    def rate(self) -> str:
        return "" if self.whole_day else " at this rate"

    def facts(self, **kw) -> ItemFacts:
        local = self.scope.day.local
        windows = [] if self.whole_day else [(local(self.scope.start), local(self.scope.end))]
        return ItemFacts(windows=windows, **kw)


def _day_factor(scope: Scope) -> float:
    """A whole day counts as one (23 or 25 hours on a daylight-saving day); a shorter scope is scaled to 24 h."""
    if (scope.start, scope.end) == (scope.day.start, scope.day.end):
        return 1.0
    return DAY_S / max((scope.end - scope.start).total_seconds(), 1.0)


def _per_day(row: dict, factor: float) -> dict:
    """The row's additive figures at a day's volume (means, quantiles and ratios stay as they are)."""
    scaled = dict(row)
    for name in ("requests", "total_ms", "db_ms", "payload_bytes"):
        if scaled.get(name) is not None:
            scaled[name] = scaled[name] * factor
    return scaled


def _key(row: dict) -> str:
    return f"{row['service']}:{row['method'] or ''} {row['route']}"


def _where(row: dict) -> str:
    return w.where(row["service"], f"{row['method']} {row['route']}" if row["method"] else row["route"])


def _margin(value: float, threshold: float, below: bool = False) -> float:
    """0.5 at the threshold, 1.0 at twice it (or half it, for an upper bound)."""
    if threshold <= 0:
        return 1.0
    ratio = threshold / value if below else value / threshold
    return 0.5 + 0.5 * min(max(ratio - 1.0, 0.0), 1.0) if value > 0 else 0.5


def _finding(kind: str, row: dict, ctx: _Context, title: str, text: str, action: str, facts: ItemFacts,
             amount: float, unit: str, rule: dict, confidence: float) -> Finding:
    saving = {"amount": round(amount, 1), "unit": unit}
    if not ctx.whole_day:
        saving["scaled_from_hours"] = round((ctx.scope.end - ctx.scope.start).total_seconds() / 3600, 3)
    figures = {k: (round(v, 3) if isinstance(v, float) else v) for k, v in row.items()}
    return Finding(agent=AGENT, kind=kind, key=_key(row), title=title, text=text, severity="low",
                   confidence=confidence, entities={"services": [row["service"]], "routes": [row["route"]]},
                   evidence={"figures": figures, "rule": rule, "saving": saving, "source": "raw_events"},
                   action=action, facts=facts, window=(ctx.scope.start, ctx.scope.end), day=ctx.scope.day.key)


def _largest(findings: list[Finding | None], limit: int) -> list[Finding]:
    """The `limit` largest savings, the first of them medium."""
    chosen = sorted((f for f in findings if f), key=lambda f: -f.evidence["saving"]["amount"])[:limit]
    if chosen:
        chosen[0].severity = "medium"
    return chosen


def _processing_time(rows: list[dict], ctx: _Context) -> list[Finding]:
    rules, total_ms = ctx.rules, sum(r["total_ms"] or 0 for r in rows)
    found = []
    heaviest = sorted((r for r in rows if r["requests"] and r["total_ms"]), key=lambda r: -r["total_ms"])
    for row in heaviest[:rules.top_routes]:
        estimate = digest.processing_estimate(_per_day(row, ctx.factor), total_ms * ctx.factor, rules.min_time_share,
                                              rules.min_saving)
        if estimate is None:
            continue
        share, mean, saving = estimate["share"], estimate["mean_ms"], estimate["saving_s"]
        cpu_s = row["total_ms"] / 1000
        text = (f"{_where(row)} took {_seconds(cpu_s)} CPU-seconds {ctx.when} ({w.percent(share)} of all "
                f"processing time: {w.count(row['requests'])} requests at a mean of {w.duration(mean)}); bringing "
                f"its mean down to its median of {w.duration(row['p50_ms'])} would save about {_seconds(saving)} "
                f"CPU-seconds a day{ctx.rate}.")
        facts = ctx.facts(counts=[row["requests"]], percents=[share * 100], durations_ms=[mean, row["p50_ms"]],
                          values=[cpu_s, saving])
        found.append(_finding("processing_time", row, ctx, f"{_where(row)} uses {w.percent(share)} of processing time",
                              text, "profile the route's slowest requests (the tail above its median) and cut what "
                              "they wait on", facts, saving, "cpu_seconds_per_day",
                              {"min_time_share": rules.min_time_share, "min_saving": rules.min_saving},
                              _margin(share, rules.min_time_share)))
    for f in found:
        f.severity = "info"
    return found


def _database_share(row: dict, ctx: _Context) -> Finding | None:
    rules = ctx.rules
    estimate = digest.database_estimate(_per_day(row, ctx.factor), rules.db_share, rules.db_saving_factor,
                                        rules.min_saving)
    if estimate is None:
        return None
    share, saving = estimate["share"], estimate["saving_s"]
    db_s, total_s = row["db_ms"] / 1000, row["total_ms"] / 1000
    text = (f"{_where(row)} spends {w.percent(share)} of its time in the database ({_seconds(db_s)} of "
            f"{_seconds(total_s)} seconds {ctx.when}); cutting its database time by "
            f"{w.percent(rules.db_saving_factor)} (an index, a cache, fewer queries per request) would save about "
            f"{_seconds(saving)} DB-seconds a day{ctx.rate}.")
    facts = ctx.facts(percents=[share * 100, rules.db_saving_factor * 100],
                      durations_ms=[row["db_ms"], row["total_ms"]], values=[db_s, total_s, saving])
    return _finding("database_share", row, ctx, f"{_where(row)} is database-bound", text,
                    "find the route's slowest queries; add an index or cache what it reads repeatedly", facts, saving,
                    "db_seconds_per_day", {"db_share": rules.db_share, "db_saving_factor": rules.db_saving_factor},
                    _margin(share, rules.db_share))


def _n_plus_one(row: dict, ctx: _Context) -> Finding | None:
    rules = ctx.rules
    if not row["db_ms"] or not row["total_ms"]:
        return None
    share, day = row["db_ms"] / row["total_ms"], _per_day(row, ctx.factor)
    counted = row["queries_mean"] is not None and (row["query_count_share"] or 0) >= rules.query_count_events
    if counted:
        queries = row["queries_mean"]
        if queries < rules.n_plus_one_queries or share < rules.n_plus_one_db_share:
            return None
        saving = day["db_ms"] / 1000 * max(1.0 - rules.batched_queries / queries, 0.0)
        evidence = (f"makes {queries:.1f} database queries per request on average and spends {w.percent(share)} "
                    f"of its time in the database")
        facts_values = [queries, rules.batched_queries]
        rule = {"n_plus_one_queries": rules.n_plus_one_queries, "n_plus_one_db_share": rules.n_plus_one_db_share,
                "batched_queries": rules.batched_queries}
        confidence = min(_margin(queries, rules.n_plus_one_queries), _margin(share, rules.n_plus_one_db_share))
        fix = f"bring it down to about {rules.batched_queries:g} queries a request"
    else:
        median_share = row["db_share_p50"]
        if (row["p50_ms"] is None or median_share is None or row["p50_ms"] >= rules.cheap_p50_ms
                or min(share, median_share) < rules.cheap_db_share):
            return None
        saving = day["db_ms"] / 1000 * rules.db_saving_factor
        evidence = (f"spends {w.percent(share)} of its time in the database ({w.percent(median_share)} for its "
                    f"median request) though that request takes only {w.duration(row['p50_ms'])}")
        facts_values = []
        rule = {"cheap_p50_ms": rules.cheap_p50_ms, "cheap_db_share": rules.cheap_db_share,
                "db_saving_factor": rules.db_saving_factor}
        confidence = min(_margin(min(share, median_share), rules.cheap_db_share),
                         _margin(row["p50_ms"], rules.cheap_p50_ms, below=True))
        fix = f"cut its database time by {w.percent(rules.db_saving_factor)}"
    if saving < rules.min_saving:
        return None
    db_s = row["db_ms"] / 1000
    text = (f"{_where(row)} {evidence}, {_seconds(db_s)} DB-seconds {ctx.when}: the mark of one query per "
            f"item. Batching the per-item queries into one would {fix} and save about {_seconds(saving)} "
            f"DB-seconds a day{ctx.rate}.")
    facts = ctx.facts(percents=[share * 100] + ([] if counted else [row["db_share_p50"] * 100,
                                                                    rules.db_saving_factor * 100]),
                      durations_ms=[row["p50_ms"]] if row["p50_ms"] is not None else [],
                      values=facts_values + [db_s, saving])
    return _finding("n_plus_one", row, ctx, f"N+1 queries suspected in {_where(row)}", text,
                    "batch the per-item queries into one (an IN list or a join), or cache the items", facts, saving,
                    "db_seconds_per_day", {**rule, "by": "query_count" if counted else "cheap_route_db_share"},
                    confidence)


def _retries(row: dict, ctx: _Context) -> Finding | None:
    rules = ctx.rules
    estimate = digest.retry_estimate(_per_day(row, ctx.factor), rules.min_retries_per_trace, rules.min_saving)
    if estimate is None:
        return None
    per_trace, extra, saved = estimate["per_trace"], estimate["extra"], estimate["saved"]
    text = (f"{_where(row)} is called {per_trace:.2f} times per trace ({extra:.2f} retries per trace) {ctx.when}; "
            f"calling it once per trace would save about {w.count(saved)} requests a day{ctx.rate}.")
    facts = ctx.facts(counts=[saved], values=[per_trace, extra, saved])
    return _finding("retries", row, ctx, f"{_where(row)} is retried", text,
                    "find why callers repeat the call (a client timeout under the route's latency, retries without "
                    "backoff) and make one call per trace", facts, saved, "requests_per_day",
                    {"min_retries_per_trace": rules.min_retries_per_trace}, _margin(extra, rules.min_retries_per_trace))


def _payload(row: dict, ctx: _Context) -> Finding | None:
    rules = ctx.rules
    if row["payload_p95"] is None or row["payload_p95"] < rules.payload_p95_bytes or not row["payload_bytes"]:
        return None
    saving = _per_day(row, ctx.factor)["payload_bytes"] * rules.payload_saving_factor
    if saving < rules.min_saving:
        return None
    p95, mean, sent, saved = (_mb(row["payload_p95"]), _mb(row["payload_mean"]), _mb(row["payload_bytes"]),
                              _mb(saving))
    text = (f"{_where(row)} returns responses of {p95} MB at the 95th percentile ({mean} MB on average, {sent} MB "
            f"sent {ctx.when}); paginating or compressing them by {w.percent(rules.payload_saving_factor)} would "
            f"save about {saved} MB a day{ctx.rate}.")
    facts = ctx.facts(percents=[rules.payload_saving_factor * 100],
                      values=[float(v.replace(",", "")) for v in (p95, mean, sent, saved)])
    return _finding("payload_size", row, ctx, f"{_where(row)} sends large responses", text,
                    "paginate the response, drop fields clients do not use, or compress it", facts, saving,
                    "bytes_per_day", {"payload_p95_bytes": rules.payload_p95_bytes,
                                      "payload_saving_factor": rules.payload_saving_factor},
                    _margin(row["payload_p95"], rules.payload_p95_bytes))


def _seconds(value: float) -> str:
    """Seconds as the digest writes them, with a decimal under 10 so that a short scope's 0.4 is not "0"."""
    return w.seconds(value) if value >= 10 else f"{value:.1f}"


def _mb(value: float) -> str:
    mb = value / MB
    return f"{mb:,.0f}" if mb >= 10 else f"{mb:.1f}" if mb >= 0.1 else f"{mb:.3f}"
