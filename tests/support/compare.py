"""Comparing results computed two ways (batched and one at a time)."""
from __future__ import annotations

import math


def nearly_equal(a, b) -> bool:
    """Equal, floats to 1e-9 relative: a mean summed in another order differs in its last bits."""
    if isinstance(a, float) and isinstance(b, float):
        return math.isclose(a, b, rel_tol=1e-9, abs_tol=1e-12)
    if isinstance(a, dict) and isinstance(b, dict):
        return a.keys() == b.keys() and all(nearly_equal(a[k], b[k]) for k in a)
    if isinstance(a, (list, tuple)) and isinstance(b, (list, tuple)):
        return len(a) == len(b) and all(nearly_equal(x, y) for x, y in zip(a, b))
    return a == b
