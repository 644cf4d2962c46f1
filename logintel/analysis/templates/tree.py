"""Drain-style search structure: patterns grouped by token count, then by their leading tokens."""
from __future__ import annotations

from dataclasses import dataclass, field

from logintel.analysis.templates.masking import WILDCARD


@dataclass(eq=False)
class Pattern:
    """One learnt token sequence; several patterns may share a template (same canonical text)."""
    tokens: list[str]
    template_id: str
    count: int = 0  # messages it absorbed: evidence that its constants really are constant
    leaf: list["Pattern"] = field(default_factory=list, repr=False)


class _Node:
    __slots__ = ("children", "patterns")

    def __init__(self) -> None:
        self.children: dict[str, _Node] = {}
        self.patterns: list[Pattern] = []


def _route_key(token: str) -> str:
    # Tokens carrying digits or masked values are likely parameters: they must not split the tree.
    if "<*>" in token or any(c.isdigit() for c in token):
        return WILDCARD
    return token


class PrefixTree:
    def __init__(self, depth: int, max_children: int) -> None:
        self.depth = depth
        self.max_children = max_children
        self.roots: dict[int, _Node] = {}

    def leaf(self, tokens: list[str]) -> list[Pattern]:
        """The patterns a message is compared with (empty when its route is unknown)."""
        node = self.roots.get(len(tokens))
        for token in tokens[: self.depth]:
            if node is None:
                return []
            key = _route_key(token)
            node = node.children.get(key) or node.children.get(WILDCARD)
        return node.patterns if node is not None else []

    def insert(self, pattern: Pattern) -> None:
        node = self.roots.setdefault(len(pattern.tokens), _Node())
        for token in pattern.tokens[: self.depth]:
            key = _route_key(token)
            if key not in node.children and len(node.children) >= self.max_children:
                key = WILDCARD
            node = node.children.setdefault(key, _Node())
        node.patterns.append(pattern)
        pattern.leaf = node.patterns
