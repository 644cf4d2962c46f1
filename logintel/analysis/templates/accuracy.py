"""Grouping accuracy (Loghub's GA): a line is right when its predicted group holds exactly its true group."""
from __future__ import annotations

from collections import defaultdict
from typing import Hashable, Sequence


def grouping_accuracy(predicted: Sequence[Hashable], truth: Sequence[Hashable]) -> float:
    if len(predicted) != len(truth):
        raise ValueError(f"{len(predicted)} predictions for {len(truth)} lines")
    if not truth:
        return 1.0
    by_pred: dict[Hashable, set[int]] = defaultdict(set)
    by_truth: dict[Hashable, set[int]] = defaultdict(set)
    for i, (p, t) in enumerate(zip(predicted, truth)):
        by_pred[p].add(i)
        by_truth[t].add(i)
    # A whole group is right or wrong together, so compare each predicted group once.
    correct = sum(len(lines) for lines in by_pred.values() if by_truth[truth[next(iter(lines))]] == lines)
    return correct / len(truth)
