"""The investigation's scoring rule: one scale for every kind of change, and the deepest changed service first.

Counts (errors, the lines of one log template) are set against their exposure (the requests that could have
written them: the service's, or for a template the requests of its route) in the window and in the baseline.
Under "nothing changed" both counts are Poisson with one rate per request, so given their sum w + b the
window's count w is binomial with p = r / (1 + r), r = window exposure / baseline exposure (the conditional
test of two Poisson rates, exact for small counts). Latencies (self time, network gap) are compared on the log
scale route by route (`log_shift`: a t test, since a slowdown multiplies latency and a handful of requests
ten times slower is a fault a count over a threshold cannot show). Each test's tail probability, read as a
normal deviate z, means the same whatever the traffic, the service or the kind of signal, so the kinds are
comparable without weights fitted to any data: a service's score is its largest z (log templates: |z|, since a
template that vanishes — a code path no longer taken — is as much a change as a new one). A service is
**changed** when its score reaches `CHANGED_Z` (and a latency shift is at least `MIN_SHIFT_RATIO`).

Then the call graph: errors and log patterns travel up a call chain (a caller logs the failure of its callee),
so a changed service whose change is of those kinds, and which calls (directly or further down) a service with
a change a fault makes (slower self time or network gap, errors, a warning or error template more or new, an info
template fewer or vanished: a code path no longer taken), is **explained** by it: it ranks after every
unexplained service — except a code path no longer taken (an info template fewer or vanished), which only a
callee's errors or log patterns explain (`can_explain`): a slower answer is still the answer. More or new info lines follow what a service is asked; fewer warnings are a recovery: neither
explains anybody. Self time excludes the time spent waiting on calls, and a network gap is already blamed on the
callee, so those are never explained away.
"""
from __future__ import annotations

import math
from dataclasses import dataclass, field

from scipy.stats import binom, norm
from scipy.stats import t as student_t

# 3 standard deviations (one-sided p ≈ 0.0013): rarely chance for one comparison, and still reachable by a small
# service (a fault at a service with 20 requests in the window and a few in the baseline shows no more than this).
CHANGED_Z = 3.0
# Below CHANGED_Z a fault-like signal is no change, yet the strongest of them says where to look first when no
# service changed: z ≥ 2 (one-sided p ≈ 0.023) is listed as a hint, after every changed service, flagged so.
HINT_Z = 2.0
# A network gap over all a service's calls, in and out, rather than on the calls to it (kind network_gap, told by
# its attribute).
BOTH_ENDS_GAP = "calls_gap_ms"
# Kinds that a caller inherits from its callee, and may so be explained by it.
PROPAGATING_KINDS = ("errors", "log_pattern")
# What only a fault makes: a slowdown, a slower network in front, errors, a warning or error line more or new, a
# code path no longer taken (a template vanished). More or new info lines say a service was asked other things.
# Beyond this a tail probability is below double precision: every such change is as certain.
MAX_Z = 8.0
# Fewer requests than this on a side say too little about a service's rate per request.
MIN_EXPOSURE = 5
# A latency shift counts only when the window is at least this many times slower than its baseline: the ratio
# the latency incidents require too (settings' latency ratio). With thousands of requests a test finds shifts of a
# few percent that nobody would call a fault; the size of the shift keeps those out.
MIN_SHIFT_RATIO = 1.5


def change_z(window: float, baseline: float, window_exposure: float, baseline_exposure: float) -> float:
    """How far the window's count lies above (or, negative, below) what the baseline's rate predicts, in
    standard deviations: the exact conditional test of two Poisson counts (given w + b, w is binomial with
    p = r / (1 + r)), its tail probability read back as a normal deviate."""
    if baseline_exposure <= 0 or window_exposure <= 0 or window + baseline == 0:
        return 0.0
    total, p = int(window + baseline), window_exposure / (window_exposure + baseline_exposure)
    if window >= total * p:
        return float(min(norm.isf(binom.sf(int(window) - 1, total, p)), MAX_Z))
    return float(max(-norm.isf(binom.cdf(int(window), total, p)), -MAX_Z))


def log_shift(strata: list[list]) -> tuple[float, float]:
    """(z, ratio): how far a service's window latency lies above its baseline's on the log scale, route by route.

    Each stratum (a route: window n, mean and variance of ln ms, then the baseline's) gives the difference of
    its mean logs; one spread serves all of them, the variance of ln ms pooled over every route and both sides
    (a slowdown multiplies latency, so on the log scale a service's routes share their spread — and a route seen
    once or twice cannot estimate its own); its standard error follows from that and the route's counts. The
    routes are combined by inverse-variance weights and the t read back as a normal deviate on the pooled degrees
    of freedom. `ratio` is the combined difference as a factor (2.0: twice as slow). With a handful of requests
    a tenfold slowdown still stands out — a count of requests over a threshold, or a rank test, cannot go past
    what so few requests can show."""
    usable = [row for row in strata if row[0] and row[3]]
    dof = sum(n1 + n2 - 2 for n1, _, _, n2, _, _ in usable)
    if dof < 1:
        return 0.0, 1.0
    pooled = sum((n1 - 1) * (v1 or 0.0) + (n2 - 1) * (v2 or 0.0) for n1, _, v1, n2, _, v2 in usable) / dof
    if pooled <= 0:
        return 0.0, 1.0
    weight_sum = weighted = 0.0
    for n1, m1, _, n2, m2, _ in usable:
        se2 = pooled * (1 / n1 + 1 / n2)
        weight_sum += 1 / se2
        weighted += (m1 - m2) / se2
    difference = weighted / weight_sum
    t_value = difference * weight_sum ** 0.5
    z = norm.isf(student_t.sf(t_value, dof)) if t_value >= 0 else -norm.isf(student_t.cdf(t_value, dof))
    return float(max(min(z, MAX_Z), -MAX_Z)), float(math.exp(difference))


def fault_like(kind: str, evidence: dict) -> bool:
    """Whether a change of this kind (its evidence as a Signal or a candidate keeps it) is one a fault makes:
    every kind but log patterns; of those, warnings or worse more or new, info lines fewer or vanished."""
    if kind != "log_pattern":
        return True
    change, alarming = evidence.get("change"), bool(evidence.get("warning_or_worse"))
    return change in ("new", "more") if alarming else change in ("fewer", "vanished")


@dataclass
class Signal:
    """One kind of change of one service: its z, the attribute and value that show it, and the figures."""
    service: str
    kind: str  # self_time | network_gap | errors | log_pattern | resource (`resource_signals`)
    score: float
    attribute: str
    value: object
    evidence: dict = field(default_factory=dict)
    large_enough: bool = True  # a latency shift of at least MIN_SHIFT_RATIO

    @property
    def faulty(self) -> bool:
        """Whether the change is one a fault makes (it may explain its callers' changes). Log templates are
        counted per request of the route that writes them, so any change in how often a route writes a line
        is a change in what its code does — except fewer warnings or errors, which is a recovery."""
        return fault_like(self.kind, self.evidence)


def strongest(signals: list[Signal]) -> dict[str, Signal]:
    """Each service's strongest signal."""
    best: dict[str, Signal] = {}
    for signal in signals:
        if signal.service not in best or signal.score > best[signal.service].score:
            best[signal.service] = signal
    return best


def downstream(edges: dict[tuple[str, str], int], service: str) -> set[str]:
    """Every service `service` calls, directly or further down, in the window's call graph."""
    callees: dict[str, set[str]] = {}
    for caller, callee in edges:
        callees.setdefault(caller, set()).add(callee)
    found, stack = set(), [service]
    while stack:
        for callee in callees.get(stack.pop(), ()):
            if callee not in found and callee != service:
                found.add(callee)
                stack.append(callee)
    return found


def rank(signals: list[Signal], edges: dict[tuple[str, str], int]) -> list[tuple[Signal, str | None, bool]]:
    """The services, deepest cause first: (its signal, the changed service below it that explains it or None,
    whether it changed). Tiers: unexplained faults, explained faults, each by score; then, not changed, the hints:
    services whose strongest fault-like signal reaches `HINT_Z` only, by score; last, services that changed only
    in ways no fault makes (other info lines, fewer warnings). A service's signal is its strongest fault-like one
    when that one counts."""
    changed = [s for s in signals if s.score >= CHANGED_Z and s.large_enough]
    faults, any_change = strongest([s for s in changed if s.faulty]), strongest(changed)
    at_both_ends = {s.service: s for s in changed if s.attribute == BOTH_ENDS_GAP}
    ranked = []
    for service, signal in any_change.items():
        signal = faults.get(service, signal)
        below = sorted((other for other in downstream(edges, service) if other in faults
                        and can_explain(faults[other], signal)), key=lambda other: -faults[other].score)
        explained = below[0] if below and signal.kind in PROPAGATING_KINDS else None
        if explained is None and signal.kind == "network_gap" and signal.attribute != BOTH_ENDS_GAP:
            explained = gap_owner(signal, edges, at_both_ends)
        ranked.append((signal, explained, True))
    # Equal scores (both at MAX_Z, or the same calls counted from both ends) go to the larger shift, then to the
    # calls to a service: nothing else says which end of a call is slow, and the calls to a service are its own.
    ranked.sort(key=lambda row: (not row[0].faulty, row[1] is not None, -round(row[0].score, 6),
                                 -row[0].evidence.get("ratio", 1.0), row[0].attribute == BOTH_ENDS_GAP,
                                 row[0].service))
    hints = strongest([s for s in signals if s.faulty and s.large_enough and HINT_Z <= s.score
                       and s.service not in any_change])
    # What no fault makes (more info lines: what a service was asked; fewer warnings: a recovery) is no cause: a
    # fault-like change below the bar says more about where to look, so those come last, after the hints.
    causes, others = [row for row in ranked if row[0].faulty], [row for row in ranked if not row[0].faulty]
    return causes + [(signal, None, False) for signal in sorted(hints.values(), key=lambda s: (-s.score, s.service))] \
        + others


def can_explain(callee: Signal, caller: Signal) -> bool:
    """Whether a callee's change can be what its caller's change shows. A code path no longer taken (an info
    line fewer or vanished) follows a callee that failed or answered otherwise (its errors, its log patterns),
    not one that answered slower: a slower answer is still the answer, and the caller's code goes on as before."""
    if caller.kind == "log_pattern" and caller.evidence.get("change") in ("fewer", "vanished") \
            and not caller.evidence.get("warning_or_worse"):
        return callee.kind in PROPAGATING_KINDS
    return True


def gap_owner(calls_in: Signal, edges: dict[tuple[str, str], int], at_both_ends: dict[str, Signal]) -> str | None:
    """The caller that owns a slower gap in front of a service: one whose calls, in and out, all slowed by at least
    as much (its CPU starved or its network slowed delays its calls to this service too). A service whose own
    network slowed shows a larger shift on the calls to it, from every caller, than any one caller shows over all
    its calls, most of which go elsewhere; so the larger shift says which end of the calls is slow."""
    ratio = calls_in.evidence.get("ratio", 1.0)
    owners = [at_both_ends[caller] for caller, callee in edges if callee == calls_in.service
              and caller in at_both_ends and at_both_ends[caller].evidence.get("ratio", 1.0) >= ratio]
    return max(owners, key=lambda s: s.evidence.get("ratio", 1.0)).service if owners else None


def path_to(edges: dict[tuple[str, str], int], service: str, limit: int = 8) -> list[str]:
    """The busiest call path from an entry service (one nobody calls) down to `service`."""
    callers: dict[str, list[tuple[int, str]]] = {}
    for (caller, callee), calls in edges.items():
        callers.setdefault(callee, []).append((calls, caller))
    path = [service]
    while len(path) < limit and callers.get(path[0]):
        options = [(calls, caller) for calls, caller in callers[path[0]] if caller not in path]
        if not options:
            break
        path.insert(0, max(options)[1])
    return path
