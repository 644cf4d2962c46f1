"""The template miner: masked tokens into a Drain-style tree, templates with stable ids, persisted state.

Beyond plain Drain: variable runs fold into one wildcard, a wildcard may stand for several tokens, long-held
constants and upper-case states are not generalised away, and templates whose texts meet are merged.
"""
from __future__ import annotations

import logging
from dataclasses import dataclass
from pathlib import Path
from typing import Iterable, NamedTuple

from logintel.analysis.templates.config import MinerConfig
from logintel.analysis.templates.ids import template_id
from logintel.analysis.templates.masking import Masker
from logintel.analysis.templates.matching import compare, covers, generalise
from logintel.analysis.templates.multitoken import MultiTokenIndex
from logintel.analysis.templates.state import StateError, StateFile, StoredState
from logintel.analysis.templates.tokens import Tokenizer, canonical
from logintel.analysis.templates.tree import Pattern, PrefixTree

log = logging.getLogger(__name__)

# Exact repeats of short raw messages skip masking too; longer ones are not worth their memory.
RAW_CACHE_MAX_CHARS = 512


class Match(NamedTuple):
    template_id: str | None
    template: str
    is_new: bool


@dataclass
class Template:
    id: str
    text: str
    count: int
    seq: int  # creation order: the older template survives a merge


class TemplateMiner:
    """Learns message templates; ids are stable across runs through its state: the file at `state_path`, or `state`
    (a `StateFile` or `StoredState`, whose document the state store keeps)."""

    def __init__(self, config: MinerConfig = MinerConfig(), state_path: Path | str | None = None,
                 state: StateFile | StoredState | None = None) -> None:
        self.config = config
        self.state = state if state is not None or state_path is None else StateFile(state_path)
        self._tokenize = Tokenizer(Masker(config.maskers), config.max_chars, config.max_tokens,
                                   config.fold_variable_runs)
        self._tree = PrefixTree(config.prefix_depth, config.max_children)
        self._multi = MultiTokenIndex()
        self._patterns: list[Pattern] = []
        self._templates: dict[str, Template] = {}
        self._aliases: dict[str, str] = {}
        self._by_text: dict[str, str] = {}  # every canonical text a template has had -> its id
        self._cache: dict[str, Pattern] = {}  # masked token sequence -> pattern
        self._raw: dict[str, Pattern] = {}    # raw (capped) message -> pattern
        self._seq = 0
        if self.state is not None:
            data = self.state.read()
            if data is not None:
                try:
                    self._load(data)
                except (TypeError, ValueError, KeyError, AttributeError) as exc:
                    raise StateError(f"template state {self.state.where} is malformed: {exc!r}") from exc

    # ---- public API -------------------------------------------------------------------------

    def add(self, message: str) -> Match:
        """Learn from one message; the match names its (possibly just generalised) template."""
        raw = self._capped(message)
        pattern = self._raw.get(raw)
        is_new = False
        if pattern is None:
            tokens = self._tokenize(raw)
            key = " ".join(tokens)
            pattern = self._cache.get(key)
            if pattern is None:
                pattern, is_new = self._learn(tokens)
                self._remember(self._cache, key, pattern)
            if len(raw) <= RAW_CACHE_MAX_CHARS:
                self._remember(self._raw, raw, pattern)
        pattern.count += 1
        template = self._templates[self.resolve(pattern.template_id)]
        template.count += 1
        return Match(template.id, template.text, is_new)

    def add_many(self, messages: Iterable[str]) -> list[Match]:
        """Learn from many messages; a repeated message or token sequence costs a dictionary lookup."""
        return [self.add(m) for m in messages]

    def match(self, message: str) -> Match:
        """The template a message belongs to, without learning; template_id is None when none fits."""
        raw = self._capped(message)
        pattern = self._raw.get(raw)
        tokens: list[str] = []
        if pattern is None:
            tokens = self._tokenize(raw)
            pattern = self._cache.get(" ".join(tokens)) or self._find(tokens)
        if pattern is None:
            return Match(None, canonical(tokens), False)
        template = self._templates[self.resolve(pattern.template_id)]
        return Match(template.id, template.text, False)

    def resolve(self, template_id: str) -> str:
        """The live id for any id this miner ever returned (templates merge; ids never dangle)."""
        found = template_id
        while found in self._aliases:
            found = self._aliases[found]
        if found != template_id and self._aliases[template_id] != found:
            self._aliases[template_id] = found  # shorten the chain for the next lookup
        return found

    def template(self, template_id: str) -> str | None:
        """The current text of a template, by any id it has had."""
        found = self._templates.get(self.resolve(template_id))
        return found.text if found else None

    def templates(self) -> list[tuple[str, str, int]]:
        """(template_id, template, count), most frequent first."""
        ordered = sorted(self._templates.values(), key=lambda t: (-t.count, t.seq))
        return [(t.id, t.text, t.count) for t in ordered]

    def save(self) -> None:
        """Write the state whole (a crash leaves the previous state intact)."""
        if self.state is None:
            raise ValueError("this miner has no state_path (or state) to save to")
        self.state.write(self._dump())

    # ---- learning ---------------------------------------------------------------------------

    def _capped(self, message: str | bytes) -> str:
        if isinstance(message, (bytes, bytearray)):
            message = bytes(message[: self.config.max_chars * 4]).decode("utf-8", "replace")
        elif not isinstance(message, str):
            message = "" if message is None else str(message)
        return message[: self.config.max_chars]

    def _remember(self, cache: dict[str, Pattern], key: str, pattern: Pattern) -> None:
        if len(cache) >= self.config.cache_size:
            cache.clear()  # a cheap bound on memory; the tree still answers every message
        cache[key] = pattern

    def _find(self, tokens: list[str]) -> Pattern | None:
        found = self._closest(tokens)
        if found is None and self.config.multi_token_wildcards:
            found = self._multi.find(tokens)
        return found

    def _closest(self, tokens: list[str]) -> Pattern | None:
        """The same-length pattern that covers the message, else the most similar one it may widen."""
        # Like Drain, only patterns sharing the leading tokens compete: those are nearly always constants
        # (searching every same-length pattern was measured to merge distinct events).
        cfg = self.config
        best, best_key = None, None
        for pattern in self._tree.leaf(tokens):
            c = compare(pattern.tokens, tokens, cfg.wildcard_credit)
            if not c.covered and (c.score < cfg.similarity_threshold
                                  or (c.constants and pattern.count >= cfg.constant_after)
                                  or (c.enums and cfg.enum_constants)
                                  or c.phrase > cfg.max_word_run):
                continue
            key = (c.covered, c.score, c.equal)
            if best_key is None or key > best_key:
                best, best_key = pattern, key
        return best

    def _learn(self, tokens: list[str]) -> tuple[Pattern, bool]:
        found = self._find(tokens)
        if found is not None:
            if len(found.tokens) == len(tokens) and not covers(found.tokens, tokens):
                widened = generalise(found.tokens, tokens)
                if widened != found.tokens:
                    self._generalise(found, widened)
            return found, False
        text = canonical(tokens)
        existing = self._by_text.get(text)
        if existing is not None:
            return self._add_pattern(tokens, self.resolve(existing)), False
        return self._add_pattern(tokens, self._new_template(text).id), True

    def _new_template(self, text: str) -> Template:
        tid = template_id(text)
        if tid in self._templates or tid in self._aliases:
            tid = template_id(text, length=16)  # a 40-bit prefix collided: fall back to a longer one
        self._seq += 1
        template = Template(tid, text, 0, self._seq)
        self._templates[tid] = template
        self._by_text[text] = tid
        return template

    def _add_pattern(self, tokens: list[str], tid: str) -> Pattern:
        pattern = Pattern(list(tokens), tid)
        self._tree.insert(pattern)
        self._multi.add(pattern)
        self._patterns.append(pattern)
        return pattern

    def _generalise(self, pattern: Pattern, tokens: list[str]) -> None:
        self._multi.discard(pattern)
        pattern.tokens = tokens
        self._multi.add(pattern)
        tid = self.resolve(pattern.template_id)
        text = canonical(tokens)
        other = self._by_text.get(text)
        if other is not None and self.resolve(other) != tid:
            tid = self._merge(tid, self.resolve(other), text)
        else:
            # The template keeps its id; the id its new text would have had leads to it too.
            self._by_text[text] = tid
            self._templates[tid].text = text
            natural = template_id(text)
            if natural != tid and natural not in self._templates:
                self._aliases.setdefault(natural, tid)
        if self.config.merge_subsumed:
            for sibling in list(pattern.leaf):
                sibling_id = self.resolve(sibling.template_id)
                if sibling_id != tid and covers(tokens, sibling.tokens):
                    tid = self._merge(tid, sibling_id, self._templates[tid].text)

    def _merge(self, a: str, b: str, text: str) -> str:
        """Fold two templates into the older one, which takes `text`; returns the surviving id."""
        keep, gone = sorted((self._templates[a], self._templates[b]), key=lambda t: t.seq)
        keep.count += gone.count
        keep.text = text
        self._by_text[text] = keep.id
        self._aliases[gone.id] = keep.id
        del self._templates[gone.id]
        return keep.id

    # ---- persistence ------------------------------------------------------------------------

    def _dump(self) -> dict:
        return {
            "config": self.config.to_dict(),
            "seq": self._seq,
            "templates": [[t.id, t.text, t.count, t.seq] for t in self._templates.values()],
            "patterns": [[p.template_id, p.tokens, p.count] for p in self._patterns],
            "aliases": self._aliases,
            "texts": self._by_text,
        }

    def _load(self, data: dict) -> None:
        if data.get("config") != self.config.to_dict():
            # Ids stay valid; only how new messages are cut and compared differs from the earlier runs.
            log.warning("template state %s was mined with another configuration", self.state.where)
        self._seq = int(data.get("seq", 0))
        for tid, text, count, seq in data.get("templates", []):
            self._templates[tid] = Template(tid, text, int(count), int(seq))
        self._aliases = dict(data.get("aliases", {}))
        self._by_text = dict(data.get("texts", {}))
        for tid, tokens, count in data.get("patterns", []):
            if self.resolve(tid) not in self._templates:
                raise KeyError(f"pattern of unknown template {tid}")
            self._add_pattern([str(t) for t in tokens], tid).count = int(count)
