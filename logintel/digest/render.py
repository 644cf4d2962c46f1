"""The digest and situation briefings as files people read: markdown (the Dagster UI, the .md file),
self-contained e-mail-friendly HTML, and the JSON `logintel digest --json` prints, written atomically."""
from __future__ import annotations

import json
import logging
import math
import numbers
import os
import re
import tempfile
from datetime import date, datetime, timezone
from pathlib import Path
from zoneinfo import ZoneInfo

from jinja2 import Environment, FileSystemLoader, StrictUndefined

from logintel.digest.charts import data_uri

log = logging.getLogger("logintel.digest")

NOTHING = "Nothing stood out."
SECTIONS = ("Top 3 issues today", "Anomaly trends", "Resource-efficiency recommendations",
            "What the pipeline did", "Grounding")
BRIEFING_HEADINGS = ("What", "Since when", "Who is affected", "Cause", "What changed", "Look first at")
CHECKS = {True: ("grounded", "✓ grounded"), False: ("unverified", "⚠ unverified"),
          None: ("unchecked", "○ not checked")}
TREND_KINDS = {"slow_trend": "slow trend", "change": "change", "new_template": "new template",
               "traffic_drop": "traffic drop", "slo_burn": "SLO burn", "sre:latency_forecast": "SLO forecast",
               "sre:burn_rate_page": "burn-rate page", "security:credential_stuffing": "credential stuffing",
               "security:password_spraying": "password spraying", "security:brute_force": "brute force",
               "security:account_enumeration": "account enumeration",
               "security:failure_rate_anomaly": "login failure anomaly"}
SAVING_UNITS = {"cpu_seconds_per_day": "CPU-seconds/day", "db_seconds_per_day": "DB-seconds/day",
                "requests_per_day": "requests/day", "bytes_per_day": "bytes/day"}
CHART_TITLES = {"error_rate": "Error rate of the busiest services by hour",
                "p99_ms": "p99 latency of the busiest services by hour",
                "history": "Grounded % and LLM cost per digest over days"}
# Backslash-escaped in markdown: emphasis, code, links and images, raw HTML, table cells. Text comes
# from data and from a model, and must not turn into a link, an image fetched from elsewhere, or a tag.
MARKDOWN_ACTIVE = re.compile(r"([\\`*_\[\]<>|#~])")
# Bare URLs ("http://…", "www.…") that GFM-style renderers would turn into links: the ":" or "." escaped.
MARKDOWN_AUTOLINK = re.compile(r":(?=//)|(?i:(?<=\bwww))\.")
# The start of a line that would open a list ("- ", "+ ", "1. ", "2) ") or a rule ("---"): escaped too.
MARKDOWN_LINE_START = re.compile(r"^(\d{1,9}(?=[.)](?: |$))|(?=[-+=](?:[ =-]|$)))")
SAFE_NAME = re.compile(r"[^A-Za-z0-9._-]+")
# Characters a reader cannot see or that move the text around them: C0/C1 controls (a terminal escape, a bell,
# a NUL), line and paragraph separators, and the bidirectional overrides that make text read other than it is
# stored. Names come from logs: each is shown as its escape (\x1b, \u202e), never raw.
INVISIBLE = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f\u2028\u2029\u200e\u200f\u202a-\u202e\u2066-\u2069]")
TEMPLATES = Path(__file__).with_name("templates")
_environment = Environment(loader=FileSystemLoader(TEMPLATES), autoescape=True, undefined=StrictUndefined,
                           trim_blocks=True, lstrip_blocks=True, keep_trailing_newline=True)


def to_markdown(digest: dict) -> str:
    """The digest as markdown: headline, the five sections in order, each sentence with its source and
    grounding mark; an empty section says "Nothing stood out."."""
    view = digest_view(digest)
    lines = [f"# {_md(view['title'])}", "", f"**{_md(view['headline'])}**" if view["headline"] else "",
             "", _md(view["coverage"]), "", _md(view["writer"]), ""]
    lines += [f"## {SECTIONS[0]}", ""]
    for issue in view["issues"]:
        lines.append(f"{_md(issue['rank'])}. **{_md(issue['title'])}** — {_md(issue['text'])}  ")
        lines.append(f"   {_sourced(issue)}  ")
        lines += [f"   {_md(issue['facts'])}", ""]
    lines += _or_nothing(view["issues"]) + [f"## {SECTIONS[1]}", ""]
    lines += _table(["Trend", "Kind", "Where", "Change", "Source", "Check"],
                    [[t["text"], t["kind"], t["where"], t["change"], t["source"], _check_text(t)]
                     for t in view["trends"]], code_column=4)
    lines += _or_nothing(view["trends"]) + [f"## {SECTIONS[2]}", ""]
    lines += _table(["Recommendation", "Where", "Estimated saving", "Source", "Check"],
                    [[r["text"], r["where"], r["saving"], r["source"], _check_text(r)]
                     for r in view["recommendations"]], code_column=3)
    lines += _or_nothing(view["recommendations"]) + [f"## {SECTIONS[3]}", ""]
    pipeline = view["pipeline"]
    if pipeline:
        if pipeline["text"]:
            lines += [f"{_md(pipeline['text'])}  ", _sourced(pipeline), ""]
        lines += _table(["Measure", "Value"], pipeline["rows"])
    lines += _or_nothing(pipeline) + [f"## {SECTIONS[4]}", "", _md(view["grounding"]["summary"]), ""]
    if view["grounding"]["ungrounded"]:
        lines += ["Unverified sentences:", ""]
        lines += [f"- ⚠ {_md(sentence)}" for sentence in view["grounding"]["ungrounded"]] + [""]
    return "\n".join(lines).rstrip() + "\n"


def to_html(digest: dict, charts: dict[str, bytes]) -> str:
    """The digest as one self-contained HTML page for e-mail: inline styles, tables for layout, no script,
    no external URL; charts (name → PNG, e.g. from `charts.digest_charts`) inline as data URIs.
    Charts named "trend:<key>" go with the trends, the others under the headline."""
    view, charts = _visible_view(digest_view(digest)), charts or {}
    trend_labels = {f"trend:{t.get('key')}": t.get("label") or t.get("key")
                    for t in (digest.get("charts") or {}).get("trends") or ()}
    day_charts, trend_charts = [], []
    known = [n for n in CHART_TITLES if n in charts] + [n for n in trend_labels if n in charts]
    for name in known + sorted(set(charts) - set(known)):
        try:
            uri = data_uri(charts[name])
        except (TypeError, ValueError, AttributeError):
            log.warning("chart %r is not a PNG; left out of the HTML digest", name)
            continue
        if name.startswith("trend:"):
            trend_charts.append({"uri": uri, "alt": str(trend_labels.get(name) or name[len("trend:"):])})
        else:
            day_charts.append({"uri": uri, "alt": CHART_TITLES.get(name, name)})
    template = _environment.get_template("digest.html.j2")
    return template.render(view=view, sections=SECTIONS, nothing=NOTHING, day_charts=day_charts,
                           trend_charts=trend_charts)


def write_digest(digest: dict, charts: dict[str, bytes], out_dir: Path) -> dict:
    """Write `YYYY-MM-DD.md`, `.html` and `.json` (the digest with its paths filled in) under `out_dir`,
    each atomically; returns {"markdown_path", "html_path", "json_path"}."""
    day = date.fromisoformat(str(digest["date"])).isoformat()  # also refuses a path in place of a date
    out_dir = Path(out_dir).absolute()
    out_dir.mkdir(parents=True, exist_ok=True)
    paths = {"markdown_path": out_dir / f"{day}.md", "html_path": out_dir / f"{day}.html",
             "json_path": out_dir / f"{day}.json"}
    filled = {**digest, "markdown_path": str(paths["markdown_path"]), "html_path": str(paths["html_path"])}
    _write_atomically(paths["markdown_path"], to_markdown(filled))
    _write_atomically(paths["html_path"], to_html(filled, charts))
    # Last, so a reader that finds the JSON finds the files it names.
    _write_atomically(paths["json_path"], to_json(filled))
    return {name: str(path) for name, path in paths.items()}


def to_json(document: dict) -> str:
    """Deterministic JSON: sorted keys, UTF-8 as is, dates as ISO text, NaN and infinities as null."""
    return json.dumps(_json_ready(document), ensure_ascii=False, sort_keys=True, indent=2,
                      allow_nan=False) + "\n"


def briefing_markdown(briefing: dict) -> str:
    """A situation briefing as markdown: what, since when, who is affected, the cause, what changed,
    what to look at first (in that order, "Nothing stood out." where a section is missing), then grounding."""
    by_heading = {}
    for section in briefing.get("sections") or ():
        by_heading.setdefault(str(section.get("heading") or ""), []).append(section)
    headings = list(BRIEFING_HEADINGS) + sorted(h for h in by_heading if h not in BRIEFING_HEADINGS and h)
    title = f"Situation briefing · {_subject_id(briefing) or '?'}"
    if briefing.get("title"):
        title += f": {briefing['title']}"
    lines = [f"# {_md(title)}", "", _md(_writer_line(briefing.get("writer"), None,
                                                     created_at=briefing.get("created_at"))), ""]
    for heading in headings:
        lines += [f"## {_md(heading)}", ""]
        sections = [_sentence(s) for s in by_heading.get(heading, ()) if s.get("text")]
        for section in sections:
            lines += [f"{_md(section['text'])}  ", _sourced(section), ""]
        lines += _or_nothing(sections)
    grounding = _grounding_view(briefing.get("grounding") or {})
    lines += ["## Grounding", "", _md(grounding["summary"]), ""]
    lines += [f"- ⚠ {_md(sentence)}" for sentence in grounding["ungrounded"]]
    return "\n".join(lines).rstrip() + "\n"


def write_briefing(briefing: dict, out_dir: Path) -> Path:
    """Write `<subject id>.md` and `.json` under `out_dir` (outputs/briefings/), atomically; returns the
    markdown's path."""
    name = SAFE_NAME.sub("_", str(_subject_id(briefing) or "")).strip("._")
    if not name:
        raise ValueError(f"a briefing needs a subject id usable as a file name: {_subject_id(briefing)!r}")
    out_dir = Path(out_dir).absolute()
    out_dir.mkdir(parents=True, exist_ok=True)
    markdown_path = out_dir / f"{name}.md"
    _write_atomically(markdown_path, briefing_markdown(briefing))
    _write_atomically(out_dir / f"{name}.json", to_json({**briefing, "markdown_path": str(markdown_path)}))
    return markdown_path


def _subject_id(briefing: dict):
    """The id of the incident or finding a briefing is about (`subject.id` of `Briefing.to_dict`)."""
    return (briefing.get("subject") or {}).get("id")


def digest_view(digest: dict) -> dict:
    """The digest as display strings (numbers formatted, nothing escaped yet): what both the markdown and
    the HTML show, so the two never disagree."""
    zone_name = str(digest.get("timezone") or "UTC")
    covered, missing = digest.get("hours_covered") or [], digest.get("hours_missing") or []
    coverage = f"Covers {len(covered)} of {len(covered) + len(missing)} hours"
    coverage += (f"; missing {', '.join(_hour(h, zone_name) for h in missing)} ({zone_name})."
                 if missing else ".")
    llm = digest.get("llm") or {}
    return {
        "title": f"Daily digest · {digest.get('date') or '?'} ({zone_name})",
        "headline": str(digest.get("headline") or ""),
        "coverage": coverage,
        "writer": _writer_line(digest.get("writer"), llm),
        "issues": [_issue_view(issue, position)
                   for position, issue in enumerate(digest.get("top_issues") or (), start=1)],
        "trends": [_sentence(trend) | {"kind": TREND_KINDS.get(trend.get("kind"), str(trend.get("kind") or "")),
                                       "where": _where(trend, trend.get("metric")),
                                       "change": _change(trend.get("change"))}
                   for trend in digest.get("trends") or ()],
        "recommendations": [_sentence(rec) | {"where": _where(rec), "saving": _saving(rec.get("saving"))}
                            for rec in digest.get("recommendations") or ()],
        "pipeline": _pipeline_view(digest.get("pipeline")),
        "grounding": _grounding_view(digest.get("grounding") or {}),
    }


def _issue_view(issue: dict, position: int) -> dict:
    impact = issue.get("impact") or {}
    facts = [f"impact score {_number(impact.get('score'), 2)}"]
    if impact.get("budget_consumed") is not None:
        # A share of the error budget: 1.0 is the whole budget of the SLO period.
        facts.append(f"{_percent(impact.get('budget_consumed'))} of the error budget")
    if impact.get("users") is not None:
        facts.append(f"{_number(impact.get('users'), 0)} users")
    if impact.get("minutes") is not None:
        facts.append(f"{_number(impact.get('minutes'), 0)} min")
    if impact.get("severity"):
        facts.append(str(impact["severity"]))
    cause = issue.get("cause")
    cause_text = "cause not found"
    if cause:
        cause_text = f"cause: {cause.get('kind') or 'unknown'}"
        if cause.get("attribute"):
            cause_text += f" {cause['attribute']} = {cause.get('value')}"
    incidents = [str(i) for i in issue.get("incident_ids") or ()]
    line = " · ".join(facts) + " · " + cause_text
    if incidents:
        line += " · incidents: " + ", ".join(incidents)
    return _sentence(issue) | {"rank": str(issue.get("rank") or position),
                               "title": str(issue.get("title") or "untitled issue"), "facts": line}


def _pipeline_view(pipeline: dict | None) -> dict | None:
    if not pipeline:
        return None
    llm = pipeline.get("llm") or {}
    rows = [["Events received", _number(pipeline.get("events_received"), 0)],
            ["Events sampled out", _number(pipeline.get("events_sampled_out"), 0)],
            ["Dead letters", _counts(pipeline.get("dead_letters"))],
            ["Dumps replayed", _number(pipeline.get("dumps_replayed"), 0)],
            ["Drops", _counts(pipeline.get("drops"))],
            ["LLM calls", _number(llm.get("calls"), 0)],
            ["LLM tokens", _number(llm.get("tokens"), 0)],
            ["LLM cost", _usd(llm.get("cost_usd"))]]
    return _sentence(pipeline) | {"rows": rows}


def _grounding_view(grounding: dict) -> dict:
    claims, grounded = grounding.get("claims"), grounding.get("grounded")
    if not claims:  # the ratio is None then: nothing to verify, not 100% grounded
        summary = "Nothing to verify: no sentence states a number, name, time window or id."
    else:
        summary = (f"{_percent(grounding.get('ratio'))} of claims grounded "
                   f"({_number(grounded, 0)} of {_number(claims, 0)}).")
    ungrounded = [str(s) for s in grounding.get("ungrounded") or ()]
    if not ungrounded:
        summary += " No unverified sentences."
    worded = grounding.get("rewording") or {}
    if worded.get("offered"):  # a model worded it: how many of its sentences stand, and how many gave way
        summary += (f" The model's sentences: {_number(worded.get('accepted'), 0)} of "
                    f"{_number(worded.get('offered'), 0)} kept, {_number(worded.get('replaced'), 0)} replaced by "
                    f"their drafts.")
    return {"summary": summary, "ungrounded": ungrounded}


def _sentence(item: dict) -> dict:
    grounded = item.get("grounded")
    state, label = CHECKS.get(grounded if grounded in (True, False) else None)
    reason = str(item.get("grounding_reason") or "")
    return {"text": str(item.get("text") or ""), "source": str(item.get("source") or "no source"),
            "check": label, "check_state": state, "reason": reason if grounded is not True else ""}


def _writer_line(writer, llm: dict | None, *, created_at=None) -> str:
    text = f"Written by {writer or 'unknown writer'}"
    if llm:
        text += (f" · {_number(llm.get('tokens'), 0)} tokens · {_usd(llm.get('cost_usd'))}"
                 f" · {_number(llm.get('latency_ms'), 0)} ms")
    if created_at:
        text += f" · {created_at}"
    return text + "."


def _where(item: dict, metric=None) -> str:
    return " ".join(str(v) for v in (item.get("service"), item.get("route"), metric) if v) or "—"


def _change(change) -> str:
    if change is None:
        return "—"
    if isinstance(change, dict):
        return ", ".join(f"{k} {_change(v)}" for k, v in sorted(change.items()))
    if isinstance(change, numbers.Number) and not isinstance(change, bool):
        number = _finite(change)
        return "—" if number is None else f"{number:+,.4g}"
    return str(change)


def _saving(saving) -> str:
    if not saving:
        return "—"
    unit = saving.get("unit")
    return f"{_number(saving.get('amount'), 0)} {SAVING_UNITS.get(unit, unit or '')}".strip()


def _counts(counts) -> str:
    if not counts:
        return "0"
    return ", ".join(f"{name}: {_number(n, 0)}" for name, n in sorted(counts.items()))


def _finite(value) -> float | None:
    """A real, finite number (numpy's included) as a float; None for anything else, bools included."""
    if isinstance(value, bool) or not isinstance(value, numbers.Real) or not math.isfinite(value):
        return None
    return float(value)


def _number(value, digits: int) -> str:
    number = _finite(value)
    if number is None:
        return "—" if value is None or isinstance(value, numbers.Number) else str(value)
    return f"{number:,.{digits}f}"


def _percent(value) -> str:
    number = _finite(value)
    return "—" if number is None else f"{number * 100:.1f}%"


def _usd(value) -> str:
    number = _finite(value)
    return "—" if number is None else f"${number:,.4f}"


def _hour(text, zone_name: str) -> str:
    try:
        moment = datetime.fromisoformat(str(text))
    except ValueError:
        return str(text)
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=timezone.utc)
    zone = timezone.utc if zone_name == "UTC" else ZoneInfo(zone_name)
    local = moment.astimezone(zone)
    # On the day clocks go back one wall-clock hour happens twice: say which of the two.
    twice = local.replace(fold=1 - local.fold).utcoffset() != local.utcoffset()
    return local.strftime("%H:%M %Z" if twice else "%H:%M")


def _visible(text) -> str:
    return INVISIBLE.sub(lambda m: repr(m.group())[1:-1] if ord(m.group()) < 0x100 else f"\\u{ord(m.group()):04x}",
                         str(text))


def _visible_view(value):
    """Every string of a view (dicts and lists of them) with its invisible characters shown as escapes."""
    if isinstance(value, str):
        return _visible(value)
    if isinstance(value, dict):
        return {k: _visible_view(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_visible_view(v) for v in value]
    return value


def _md(text) -> str:
    """Plain text made inert in markdown: one line, its active characters backslash-escaped."""
    text = MARKDOWN_ACTIVE.sub(r"\\\1", " ".join(_visible(text).split()))
    return MARKDOWN_LINE_START.sub(r"\1\\", MARKDOWN_AUTOLINK.sub(r"\\\g<0>", text), count=1)


def _code(text) -> str:
    return "`" + " ".join(_visible(text).replace("`", "'").split()) + "`"


def _check_text(item: dict) -> str:
    return item["check"] + (f" ({item['reason']})" if item["reason"] else "")


def _sourced(item: dict) -> str:
    return f"{_code(item['source'])} · {_md(_check_text(item))}"


def _table(headers: list[str], rows: list[list[str]], code_column: int | None = None) -> list[str]:
    if not rows:
        return []
    lines = ["| " + " | ".join(headers) + " |", "|" + "---|" * len(headers)]
    for row in rows:
        cells = [_code(cell) if i == code_column else _md(cell) for i, cell in enumerate(row)]
        # A code span does not end a cell at "|" in every renderer: keep the pipe out of it.
        lines.append("| " + " | ".join(c.replace("|", "\\|") if i == code_column else c
                                       for i, c in enumerate(cells)) + " |")
    return lines + [""]


def _or_nothing(items) -> list[str]:
    return [] if items else [NOTHING, ""]


def _json_ready(value):
    if isinstance(value, dict):
        return {str(k): _json_ready(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_json_ready(v) for v in value]
    if isinstance(value, (set, frozenset)):
        return sorted(_json_ready(v) for v in value)
    if value is None or isinstance(value, (str, int)):  # bools are ints
        return value
    if isinstance(value, numbers.Integral):  # numpy's integers are not int, and json refuses them
        return int(value)
    if isinstance(value, numbers.Real):  # NaN and infinities become null
        return _finite(value)
    if isinstance(value, (datetime, date)):
        return value.isoformat()
    if isinstance(value, Path):
        return str(value)
    return value


def _write_atomically(path: Path, text: str) -> None:
    """Write beside the target, then rename over it: a reader sees the old file or the new, never half."""
    handle = tempfile.NamedTemporaryFile("w", encoding="utf-8", dir=path.parent, prefix=f".{path.name}.",
                                         suffix=".tmp", delete=False, newline="\n")
    try:
        with handle:
            handle.write(text)
            handle.flush()
            # mkstemp makes the file 0600: the rename would leave a report only its writer can read.
            os.chmod(handle.name, 0o644)
            os.fsync(handle.fileno())
        os.replace(handle.name, path)
    except BaseException:
        Path(handle.name).unlink(missing_ok=True)
        raise
