"""The value half of key=value and "key": "value" pairs: where a value ends and whether it is a secret."""
from __future__ import annotations

import re
from typing import Callable

from logintel.llm.redaction.pseudonyms import PLACEHOLDER, is_redacted


def swap(m: re.Match, group: str, replacement: str) -> str:
    """The whole match with one group replaced."""
    start, end = m.span(group)
    whole = m.group(0)
    return whole[: start - m.start()] + replacement + whole[end - m.start():]


# Values that are already masked, or status words ("password: missing"): never secrets themselves.
_NOT_A_SECRET = re.compile(
    r"\**|x{3,}|\[?(?:redacted|filtered|masked|hidden|removed|omitted|secret)\]?|null|none|nil|undefined"
    r"|true|false|missing|invalid|expired|required|empty|revoked|unset|not|must|is|was|too|incorrect|wrong"
    r"|mismatch|changed|reset|failed|provided|ok",
    re.IGNORECASE)


def needs_masking(value: str) -> bool:
    return bool(value) and _NOT_A_SECRET.fullmatch(value) is None and not is_redacted(value)


_CLOSERS = {")": "(", "]": "[", "}": "{"}
_TRAILING_PUNCTUATION = re.compile(r"[)\]}.,:;!?]*")


def split_bare(value: str) -> tuple[str, str]:
    """Split a bare value from what follows it: `hunter2` + `}` in `User{password=hunter2}`.

    The value ends at a placeholder an earlier rule wrote, or at a bracket it never opened when only
    punctuation follows (`token=abc123): not_in_channel`); `pa)ss` stays whole.
    """
    if PLACEHOLDER.match(value):
        return "", value
    depth = {opener: 0 for opener in _CLOSERS.values()}
    for i, ch in enumerate(value):
        if ch in depth:
            depth[ch] += 1
        elif ch in _CLOSERS:
            opener = _CLOSERS[ch]
            if depth[opener] == 0:
                if _TRAILING_PUNCTUATION.fullmatch(value, i):
                    return value[:i], value[i:]
            else:
                depth[opener] -= 1
    return value, ""


# A key's value: quoted (also as escaped JSON inside a string, \"...\"), or a bare run of characters
# that does not open an object or list.
VALUE = (r"(?:(?P<q>\\?[\"'])(?P<qval>(?:\\.|[^\\\n])*?)(?P=q)"
         r"|(?P<val>(?:[^\s\"'&,;\\{\[(]|\\(?![\"']))(?:[^\s\"'&,;\\]|\\(?![\"']))*))")
KEY_END = r"(?P<close>\\?[\"']?)(?P<sep>\s*[:=]\s*)"

_RANDOM_LOOKING = re.compile(r"[^A-Za-z]|.[A-Z]|.{20}")


def keyed_value(m: re.Match, replace: Callable[[str], str], any_word: bool = True) -> str:
    """Replace the value of a key=value / "key": "value" match; bare values under a quoted key get quotes.

    With `any_word` false, a bare lower-case word after "key: " is taken for prose ("failed to fetch
    oauth token: unexpected status") unless it looks generated: digits, symbols, inner capitals, length.
    """
    if m.group("qval") is not None:
        value = m.group("qval")
        # An earlier, more specific rule already decided what in this string was secret.
        if not needs_masking(value) or PLACEHOLDER.match(value):
            return m.group(0)
        return swap(m, "qval", replace(value))
    value, tail = split_bare(m.group("val"))
    if not needs_masking(value):
        return m.group(0)
    if not any_word and ":" in m.group("sep") and m.group("sep")[-1:].isspace() and not m.group("close") \
            and _RANDOM_LOOKING.search(value) is None:
        return m.group(0)
    replacement = replace(value)
    if m.group("close"):  # `"user_id": 12345` stays valid JSON
        replacement = f"{m.group('close')}{replacement}{m.group('close')}"
    return swap(m, "val", replacement + tail)
