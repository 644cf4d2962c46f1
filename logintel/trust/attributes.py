"""field=value claims (`db.instance=orders-db-primary`, `version="2.5.0 beta"`): which value a text says
the failing requests carry, and the facts about it a text may state, recomputed from raw_events over
the scope's failing events and its baseline (share carrying the value, p50 of its namespace's
`duration_ms` on each side)."""
from __future__ import annotations

import re
from dataclasses import dataclass

import duckdb

from logintel.trust.text import Span

_CLAIM = re.compile(r'(?<![\w.\-])(?P<attr>[A-Za-z_][\w.\-]*[A-Za-z0-9_])=(?:"(?P<quoted>[^"\n]{1,200})"'
                    r'|(?P<bare>[^\s,;()"]{1,200}))')
TOP_LEVEL_FIELDS = ("user_agent", "client_ip", "method", "user_id", "service", "route", "error_code", "status", "level")


@dataclass(frozen=True)
class AttributeFacts:
    share_failing: float | None
    share_baseline: float | None
    p50_failing_ms: float | None
    p50_baseline_ms: float | None
    carried_in_scope: bool
    seen_anywhere: bool


def find_attributes(text: str) -> list[Span]:
    """Spans of field=value claims; a bare value loses the punctuation that ends its sentence."""
    spans = []
    for m in _CLAIM.finditer(text):
        value = m.group("quoted") if m.group("quoted") is not None else m.group("bare").rstrip(".:!?")
        end = m.end() if m.group("quoted") is not None else m.start("bare") + len(value)
        if value:
            spans.append(Span("attribute", m.start(), end, (m.group("attr"), value)))
    return spans


def value_sql(attribute: str, param: str) -> str:
    """The SQL expression of `attribute`'s value as text: a column, a flat attribute key or a nested one."""
    flat = f"json_extract_string(attributes -> ${param}_key, '$')"
    if attribute in TOP_LEVEL_FIELDS:  # a column, or the same name among the attributes (as the analysis reads it)
        return f"coalesce(CAST({attribute} AS VARCHAR), {flat})"
    if "." not in attribute:
        return flat
    return f"coalesce({flat}, json_extract_string((attributes -> ${param}_head) -> ${param}_rest, '$'))"


def _params(attribute: str, param: str) -> dict:
    head, _, rest = attribute.partition(".")
    out = {f"{param}_key": attribute}
    if "." in attribute and attribute not in TOP_LEVEL_FIELDS:
        out |= {f"{param}_head": head, f"{param}_rest": rest}
    return out


def metric_of(attribute: str) -> str:
    """The latency of an attribute's namespace: db.instance → db.duration_ms, upstream → upstream.duration_ms."""
    return attribute.split(".", 1)[0] + ".duration_ms"


def json_paths(attribute: str) -> list[str]:
    """JSONPaths of an attribute kept flat ("db.instance") and nested ({"db": {"instance": …}})."""
    quoted = attribute.replace('"', '\\"')
    head, _, rest = attribute.partition(".")
    nested = f'$."{head}"."{rest}"' if rest else f'$."{quoted}"'
    return [f'$."{quoted}"', nested]


def value_seen(con: duckdb.DuckDBPyConnection, attribute: str, value: str, since, until) -> bool:
    """Whether any event in [since, until) carries `attribute`=`value`."""
    return bool(con.execute(f"""
        SELECT count(*) > 0 FROM raw_events WHERE ts >= $since AND ts < $until
          AND {value_sql(attribute, 'a')} = $a_value""",
                            _params(attribute, "a") | {"a_value": value, "since": since, "until": until}).fetchall()[0][0])


def facts_from_counts(row: tuple, seen_anywhere: bool) -> AttributeFacts:
    """AttributeFacts of (carrying failing w, failing w, carrying baseline w, baseline w, p50 failing carrying,
    p50 baseline carrying)."""
    carried_f, failing, carried_b, baseline, p50_f, p50_b = row
    return AttributeFacts(share_failing=100.0 * (carried_f or 0) / failing if failing else None,
                          share_baseline=100.0 * (carried_b or 0) / baseline if baseline else None,
                          p50_failing_ms=p50_f, p50_baseline_ms=p50_b,
                          carried_in_scope=bool(carried_f), seen_anywhere=bool(seen_anywhere))
