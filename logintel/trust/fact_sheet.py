"""The fact sheet of a grounding scope: every number a text about it could truthfully state, filled from the
rows `batch_facts` computes for many scopes at once (its totals, its groups, its 5-minute windows and the
field=value pairs its text names)."""
from __future__ import annotations

from dataclasses import asdict, dataclass, field
from datetime import datetime, timedelta

from logintel.trust.attributes import metric_of
from logintel.trust.scope import GroundingScope

MAX_GROUP_FACTS = 50
QUANTILES = (("p50", 0.5), ("p90", 0.9), ("p95", 0.95), ("p99", 0.99), ("p999", 0.999))
# A field=value named by a text but carried by no failing event is invented when no event of this
# long before or after carries it either (as the catalogue looks a week around for names).
ATTRIBUTE_HORIZON = timedelta(days=7)


@dataclass(frozen=True)
class Fact:
    kind: str       # "count" | "percent" | "duration" | "change"
    label: str      # count: errors/requests/users/peak; percent: rate/share; duration: p50..p999/max/avg/length;
                    # change: errors/requests/latency/rate (the subject of a percent change)
    value: float
    about: str
    period: str = "current"  # or "previous": the equal-length period before the scope


@dataclass
class FactSheet:
    scope: GroundingScope
    facts: list[Fact] = field(default_factory=list)
    first_error: datetime | None = None
    last_error: datetime | None = None
    attributes: dict = field(default_factory=dict)  # (attribute, value) -> AttributeFacts

    def add(self, kind: str, label: str, value, about: str, period: str = "current") -> None:
        if value is not None:
            self.facts.append(Fact(kind, label, float(value), about, period))

    def matching(self, kind: str, labels: set[str] | None = None, period: str = "current") -> list[Fact]:
        return [f for f in self.facts if f.kind == kind and f.period == period and (labels is None or f.label in labels)]

    def to_dict(self) -> dict:
        return {"scope": self.scope.describe(),
                "first_error": self.first_error.isoformat() if self.first_error else None,
                "last_error": self.last_error.isoformat() if self.last_error else None,
                "facts": [asdict(f) for f in self.facts]}


def _change(now: float | None, before: float | None) -> float | None:
    return None if not before or now is None else 100.0 * (now - before) / before


def add_totals(sheet: FactSheet, row: tuple) -> None:
    """The facts of the scope's totals row: (requests, previous requests, errors, previous errors, errors of
    every code on its routes, errors of every service, users with errors, users of its routes, quantiles / max /
    avg duration of its errors, the same of its routes, previous p99 of its routes, previous p99 of its errors,
    first error, last error) — the errors and requests weighted by sample rate."""
    scope = sheet.scope
    (requests, prev_requests, errors, prev_errors, route_errors, all_errors, users, route_users, err_q, err_max,
     err_avg, route_q, route_max, route_avg, prev_route_p99, prev_err_p99, first, last) = row
    requests, prev_requests, errors, prev_errors = (v or 0 for v in (requests, prev_requests, errors, prev_errors))
    sheet.first_error, sheet.last_error = first, last
    what, where = scope.describe(), _where(scope)

    sheet.add("count", "errors", errors, f"errors of {what}")
    sheet.add("count", "errors", prev_errors, f"errors of {what}, previous period", "previous")
    if route_errors != errors:
        sheet.add("count", "errors", route_errors or 0, f"errors of every code on {where}")
    sheet.add("count", "requests", requests, f"requests to {where}")
    sheet.add("count", "requests", prev_requests, f"requests to {where}, previous period", "previous")
    sheet.add("count", "users", users, f"distinct users with errors of {what}")
    sheet.add("count", "users", route_users, f"distinct users of {where}")
    if requests:
        sheet.add("percent", "rate", 100.0 * errors / requests, f"errors of {what} per request to {where}")
        sheet.add("percent", "rate", 100.0 * (route_errors or 0) / requests, f"error rate of {where}")
    if prev_requests:
        sheet.add("percent", "rate", 100.0 * prev_errors / prev_requests, f"error rate of {what}, previous period",
                  "previous")
    if all_errors:
        sheet.add("percent", "share", 100.0 * errors / all_errors, "share of all errors in the period")
    sheet.add("change", "errors", _change(errors, prev_errors), f"errors of {what} vs previous period")
    sheet.add("change", "requests", _change(requests, prev_requests), f"requests to {where} vs previous period")
    sheet.add("change", "latency", _change(route_q[3] if route_q else None, prev_route_p99),
              f"p99 of {where} vs previous period")
    sheet.add("change", "latency", _change(err_q[3] if err_q else None, prev_err_p99),
              f"p99 of errors of {what} vs previous period")
    if requests and prev_requests:
        sheet.add("change", "rate", _change(errors / requests, prev_errors / prev_requests),
                  f"error rate of {what} vs previous period")
    for source, q, mx, avg in (("errors of " + what, err_q, err_max, err_avg), (where, route_q, route_max, route_avg)):
        for (label, _), value in zip(QUANTILES, q or ()):
            sheet.add("duration", label, value, f"{label} of {source}")
        sheet.add("duration", "max", mx, f"slowest of {source}")
        sheet.add("duration", "avg", avg, f"mean of {source}")
    sheet.add("duration", "length", scope.length.total_seconds() * 1000, "length of the scope")
    if first and last:
        sheet.add("duration", "length", (last - first).total_seconds() * 1000, "first to last error")


def add_attribute(sheet: FactSheet, attribute: str, value: str, facts) -> None:
    """The facts about one field=value a text names (an AttributeFacts)."""
    sheet.attributes[(attribute, value)] = facts
    name = f"{attribute}={value}"
    sheet.add("percent", "share", facts.share_failing, f"share of the failing requests carrying {name}")
    for period in ("current", "previous"):  # "… and 0% before": either reading of the baseline share
        sheet.add("percent", "share", facts.share_baseline, f"share of the baseline's requests carrying {name}", period)
    sheet.add("duration", "p50", facts.p50_failing_ms, f"p50 {metric_of(attribute)} of the failing requests with {name}")
    sheet.add("duration", "p50", facts.p50_baseline_ms, f"p50 {metric_of(attribute)} of the baseline's requests with {name}")


def _where(scope: GroundingScope) -> str:
    return " ".join(" / ".join(v) for v in (scope.services, scope.routes) if v) or "every route"


def _group_order(row: tuple) -> tuple:
    # The same facts in the same order whatever order the query returned its groups in.
    return row[0] or "", row[1] or "", row[2] or ""


def add_groups(sheet: FactSheet, rows: list[tuple]) -> None:
    """Per (service, route, error_code) group: a text about several groups may state each one's numbers."""
    rows = sorted(rows, key=_group_order)
    route_requests: dict[tuple[str, str], float] = {}
    for service, route, _, _, requests, *_ in rows:
        route_requests[(service, route)] = route_requests.get((service, route), 0) + requests
    groups = sorted((r for r in rows if r[3] and r[5] > 0), key=lambda r: -r[5])[:MAX_GROUP_FACTS]
    if len(groups) < 2 and sheet.scope.error_codes:
        return  # the one group's numbers are the scope's, already on the sheet
    for service, route, code, _, _, errors, prev_errors, users in groups:
        name = f"{service} {route} {code or '(no code)'}"
        sheet.add("count", "errors", errors, f"errors of {name}")
        sheet.add("count", "errors", prev_errors, f"errors of {name}, previous period", "previous")
        sheet.add("count", "users", users, f"distinct users with errors of {name}")
        if route_requests.get((service, route)):
            sheet.add("percent", "rate", 100.0 * errors / route_requests[(service, route)],
                      f"errors of {name} per request to the route")
        sheet.add("change", "errors", _change(errors, prev_errors), f"errors of {name} vs previous period")


def add_windows(sheet: FactSheet, rows: list[tuple]) -> None:
    """The facts of the 5-minute windows' rows (service, route, code, peak errors inside the scope, peak errors
    over the windows that overlap it, p99 inside, p99 overlapping, max inside; service NULL for all the scope's
    groups together): each group's peaks first (in group order), the scope's together last."""
    groups = sorted((r for r in rows if r[0] is not None), key=_group_order)
    for service, route, code, peak_inside, peak_near, p99_inside, p99_near, max_inside in \
            groups + [r for r in rows if r[0] is None]:
        name = f"{service} {route} {code or '(no code)'}" if service else "all the scope's groups together"
        for value, where in ((peak_inside, "inside"), (peak_near, "around")):
            sheet.add("count", "peak", value, f"most errors of {name} in one 5-min window {where} the scope")
        if service:
            sheet.add("duration", "p99", p99_inside, f"highest 5-min p99 of {name} inside the scope")
            sheet.add("duration", "p99", p99_near, f"highest 5-min p99 of {name} around the scope")
            sheet.add("duration", "max", max_inside, f"slowest request of {name} inside the scope")
