"""How much more often a field=value pair occurs in the failing events than in the baseline, and how
sure that is.

lift = share among the failing events / share in the baseline (weighted by sample_rate), the baseline
share floored at half an event so a value absent before gets a finite, large lift. p_value: the
one-sided Fisher exact test (hypergeometric tail) that the value is no more frequent among the failing
events than in the baseline, on the events kept (the evidence actually seen) — the test Elastic's log
rate analysis reports as a p-value for each significant field/value pair.
"""
from __future__ import annotations

import numpy as np
from scipy.stats import hypergeom


def lift(failing_w, failing_total_w, baseline_w, baseline_total_w) -> np.ndarray:
    failing_w, baseline_w = np.asarray(failing_w, float), np.asarray(baseline_w, float)
    failing_total, baseline_total = np.asarray(failing_total_w, float), np.asarray(baseline_total_w, float)
    share_failing = np.divide(failing_w, failing_total, out=np.zeros_like(failing_w), where=failing_total > 0)
    floor = np.divide(0.5, baseline_total, out=np.ones_like(baseline_w), where=baseline_total > 0)
    share_baseline = np.divide(baseline_w, baseline_total, out=np.zeros_like(baseline_w), where=baseline_total > 0)
    return share_failing / np.maximum(share_baseline, floor)


def p_value(failing_n, failing_total_n, baseline_n, baseline_total_n) -> np.ndarray:
    """P(at least `failing_n` of the failing events carry the value | the value's events are spread over
    failing and baseline events at random)."""
    k, n_f = np.asarray(failing_n, int), np.asarray(failing_total_n, int)
    carriers = k + np.asarray(baseline_n, int)
    population = n_f + np.asarray(baseline_total_n, int)
    return np.clip(hypergeom.sf(k - 1, population, carriers, n_f), 0.0, 1.0)
