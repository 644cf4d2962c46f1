"""The investigation's scoring rule: one statistic for every kind of change, and the deepest changed service first.

Every signal is a count of bad things (slow requests, slow calls, errors, lines of one log template) in the
window against the same count in the baseline, each over its exposure (the service's requests on each side).
Under "nothing changed" both counts are Poisson with one rate per request, so given their sum w + b the
window's count w is binomial with p = r / (1 + r), r = window exposure / baseline exposure (the conditional
test of two Poisson rates, exact for small counts). Its tail probability, read as a normal deviate z, means the
same whatever the traffic, the service or the kind of signal. That makes the kinds
comparable without weights fitted to any data: a service's score is its largest z (log templates: the largest
|z|, since a template that vanishes — a code path no longer taken — is as much a change as a new one). A service
is **changed** when its score reaches `CHANGED_Z`.

Then the call graph: errors and log patterns travel up a call chain (a caller logs the failure of its callee),
so a changed service whose change is of those kinds, and which calls (directly or further down) a service with
a change only a fault makes (slower self time or network gap, errors, a warning or error template more or new, a
template vanished: not merely other info lines, which follow what a service is asked), is **explained** by it:
it ranks after every unexplained service. Self time excludes the time spent
waiting on calls, and a network gap is already blamed on the callee, so those are never explained away.
"""
from __future__ import annotations

from dataclasses import dataclass, field

from scipy.stats import binom, norm

# 3 standard deviations (one-sided p ≈ 0.0013): rarely chance for one comparison, and still reachable by a small
# service (a fault at a service with 20 requests in the window and a few in the baseline shows no more than this).
CHANGED_Z = 3.0
# Kinds that a caller inherits from its callee, and may so be explained by it.
PROPAGATING_KINDS = ("errors", "log_pattern")
# What only a fault makes: a slowdown, a slower network in front, errors, a warning or error line more or new, a
# code path no longer taken (a template vanished). More or new info lines say a service was asked other things.
# Beyond this a tail probability is below double precision: every such change is as certain.
MAX_Z = 8.0
# Fewer requests than this on a side say too little about a service's rate per request.
MIN_EXPOSURE = 5


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


@dataclass
class Signal:
    """One kind of change of one service: its z, the attribute and value that show it, and the figures."""
    service: str
    kind: str  # self_time | network_gap | errors | log_pattern
    score: float
    attribute: str
    value: object
    evidence: dict = field(default_factory=dict)

    @property
    def faulty(self) -> bool:
        """Whether the change is one only a fault makes (it may explain its callers' changes); a shift in
        which info lines a service writes follows what it is asked, and explains nobody's."""
        if self.kind != "log_pattern":
            return True
        return self.evidence.get("change") == "vanished" or bool(self.evidence.get("warning_or_worse"))


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


def rank(signals: list[Signal], edges: dict[tuple[str, str], int]) -> list[tuple[Signal, str | None]]:
    """The changed services, deepest cause first: (its signal, the changed service below it that explains it,
    or None). Tiers: unexplained faults, explained faults, then services that only write other info lines;
    each tier by score. A service's signal is its strongest fault-like one when that one counts as changed."""
    changed = [s for s in signals if s.score >= CHANGED_Z]
    faults, any_change = strongest([s for s in changed if s.faulty]), strongest(changed)
    ranked = []
    for service, signal in any_change.items():
        signal = faults.get(service, signal)
        below = sorted((other for other in downstream(edges, service) if other in faults),
                       key=lambda other: -faults[other].score)
        explained = below[0] if below and signal.kind in PROPAGATING_KINDS else None
        ranked.append((signal, explained))
    return sorted(ranked, key=lambda pair: (not pair[0].faulty, pair[1] is not None, -pair[0].score, pair[0].service))


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
