"""The digest and briefings as markdown, self-contained HTML and JSON, and the files they are written to."""
from __future__ import annotations

import base64
import json
import math
import os
import re
import stat
import struct
from datetime import date, datetime, timezone
from html.parser import HTMLParser

import numpy as np
import pytest

from logintel.digest import render
from logintel.digest.charts import digest_charts
from logintel.digest.render import BRIEFING_HEADINGS, NOTHING, SECTIONS
from tests.digest.sample_digest import sample_briefing, sample_digest

EVIL = ("See [x](http://evil) and <script>alert(1)</script> | col ![img](http://x/y.png) "
        "<img src=http://x/z.png> www.evil.com `tick` *em* # hash")
PNG_PREFIX = "data:image/png;base64,"


@pytest.fixture(scope="module")
def charts() -> dict[str, bytes]:
    return digest_charts(sample_digest())


class Tags(HTMLParser):
    """Every start tag of a page, with its attributes."""

    def __init__(self, html: str):
        super().__init__(convert_charrefs=True)
        self.tags: list[tuple[str, dict]] = []
        self.feed(html)
        self.close()

    def handle_starttag(self, tag, attrs):
        self.tags.append((tag, dict(attrs)))

    def named(self, name: str) -> list[dict]:
        return [attrs for tag, attrs in self.tags if tag == name]


def evil_digest() -> dict:
    digest = sample_digest()
    digest["headline"] = EVIL
    digest["writer"] = EVIL
    issue = digest["top_issues"][0]
    issue.update(title=EVIL, text=EVIL, source=EVIL, grounded=False, grounding_reason=EVIL)
    issue["cause"]["value"] = EVIL
    digest["trends"][0].update(text=EVIL, source=EVIL, service=EVIL)
    digest["recommendations"][0].update(text=EVIL, source=EVIL, route=EVIL)
    digest["pipeline"]["text"] = "- " + EVIL  # would open a list at the start of a line
    digest["pipeline"]["drops"] = {EVIL: 3}
    digest["grounding"]["ungrounded"] = [EVIL]
    digest["charts"]["trends"][0]["label"] = EVIL
    return digest


def _section(markdown: str, heading: str) -> str:
    """The markdown between `## heading` and the next `## `."""
    body = markdown.split(f"\n## {heading}\n", 1)[1]
    return body.split("\n## ", 1)[0]


# --- markdown ---------------------------------------------------------------------------------------------

def test_markdown_has_the_five_sections_in_order_under_title_and_headline():
    markdown = render.to_markdown(sample_digest())
    headings = [line[3:] for line in markdown.splitlines() if line.startswith("## ")]
    assert headings == list(SECTIONS)
    assert markdown.startswith("# Daily digest · 2026-03-10 (America/New\\_York)\n")
    assert "**Checkout errors tripled after the 15:00 deploy; payments p99 crossed its limit.**" in markdown
    assert "Written by openai:gpt-4o-mini · 5,821 tokens · $0.0041 · 2,310 ms." in markdown
    assert NOTHING not in markdown


def test_each_issue_sentence_is_followed_by_its_source_and_grounding_mark():
    lines = render.to_markdown(sample_digest()).splitlines()
    expected = {"POST /cart/checkout returned 502": "`incidents.inc-3f9a2b7c1d4e5f60` · ✓ grounded",
                "rose to 4,350 ms.": "`daily_route_metrics.payments./payments/charge` · "
                                     "⚠ unverified (4,350 ms not in the facts)",
                "GET /auth/refresh failed": "`incidents.inc-77aa88bb99cc00dd` · ○ not checked"}
    for fragment, sourced in expected.items():
        at = next(i for i, line in enumerate(lines) if fragment in line and line[0].isdigit())
        assert lines[at + 1].strip() == sourced
    assert any(line.startswith("1. **Checkout 5xx after deploy** — ") for line in lines)
    facts = next(line for line in lines if "impact score 8.42" in line)
    for fact in ("37.0% of the error budget", "412 users", "118 min", "critical",
                 "cause: deploy deployment.version = 2026.03.10-2", "incidents: inc-3f9a2b7c1d4e5f60"):
        assert fact in facts
    assert "cause not found" in next(line for line in lines if "impact score 1.90" in line)


def test_trends_recommendations_and_pipeline_carry_source_and_mark():
    markdown = render.to_markdown(sample_digest())
    trend_rows = [line for line in _section(markdown, SECTIONS[1]).splitlines() if line.startswith("| The p99")]
    assert trend_rows == ["| The p99 of payments has risen 27% over seven days. | slow trend | "
                          "payments /payments/charge p99\\_ms | +0.27 | `daily_route_metrics.payments` | ✓ grounded |"]
    recommendations = _section(markdown, SECTIONS[2])
    assert "| catalog /catalog/items | 5,400 DB-seconds/day | `daily_route_metrics.catalog./catalog/items` | ✓ grounded |" \
        in recommendations
    pipeline = _section(markdown, SECTIONS[3]).splitlines()
    at = next(i for i, line in enumerate(pipeline) if line.startswith("The pipeline kept"))
    assert pipeline[at + 1] == "`pipeline_runs` · ✓ grounded"
    for row in ("| Events received | 2,412,345 |", "| Dead letters | oversize: 3, schema: 12 |",
                "| Drops | queue\\_full: 140, rate\\_limited: 7 |", "| LLM cost | $0.0271 |"):
        assert row in pipeline
    grounding = _section(markdown, SECTIONS[4])
    assert "88.9% of claims grounded (16 of 18)." in grounding
    assert "- ⚠ The p99 of POST /payments/charge rose to 4,350 ms." in grounding


@pytest.mark.parametrize("key, section, empty", [("top_issues", 0, []), ("trends", 1, []),
                                                 ("recommendations", 2, []), ("pipeline", 3, None)])
def test_an_empty_section_says_nothing_stood_out(key, section, empty):
    digest = sample_digest()
    digest[key] = empty
    markdown = render.to_markdown(digest)
    assert [line[3:] for line in markdown.splitlines() if line.startswith("## ")] == list(SECTIONS)
    assert _section(markdown, SECTIONS[section]).strip() == NOTHING
    assert markdown.count(NOTHING) == 1


def test_an_empty_digest_still_renders_every_section():
    digest = {"date": "2026-03-10", "timezone": "UTC"}
    markdown = render.to_markdown(digest)
    assert [line[3:] for line in markdown.splitlines() if line.startswith("## ")] == list(SECTIONS)
    assert markdown.count(NOTHING) == 4
    assert ("Nothing to verify: no sentence states a number, name, time window or id. No unverified sentences."
            in markdown)
    assert render.to_html(digest, {}).count(NOTHING) == 4


def test_untrusted_text_is_inert_markdown():
    markdown = render.to_markdown(evil_digest())
    # Outside code spans no link, image, tag or table-breaking pipe survives unescaped.
    prose = "\n".join(line for line in markdown.splitlines() if "`" not in line.replace("\\`", ""))
    for active in (r"(?<!\\)\[", r"(?<!\\)<", r"(?<!\\)\| col", r"(?<!\\)`", "http://", r"www\.evil"):
        assert not re.search(active, prose), active
    for escaped in ("\\[x\\](http\\://evil)", "\\<script\\>", "\\| col", "!\\[img\\]", "www\\.evil"):
        assert escaped in markdown
    assert "\n\\- See" in markdown  # a pipeline sentence starting "- " does not become a list item


@pytest.mark.parametrize("renderer", ["markdown-it", "mistune"])
def test_untrusted_text_renders_to_no_link_image_or_tag(renderer):
    markdown = render.to_markdown(evil_digest())
    if renderer == "markdown-it":
        markdown_it = pytest.importorskip("markdown_it")
        html = markdown_it.MarkdownIt("commonmark").enable("table").render(markdown)
    else:
        mistune = pytest.importorskip("mistune")
        # "url" links bare URLs the way GitHub-flavoured renderers do.
        html = mistune.create_markdown(plugins=["table", "url", "strikethrough"])(markdown)
    tags = {tag for tag, _ in Tags(html).tags}
    assert not tags & {"a", "img", "script"}
    assert "<p>- See [x](http://evil)" in html  # the pipeline sentence stays a paragraph, not a list
    assert "table" in tags and "ol" in tags


# --- HTML -------------------------------------------------------------------------------------------------

def test_untrusted_text_is_escaped_in_html(charts):
    html = render.to_html(evil_digest(), charts)
    page = Tags(html)
    assert not page.named("script") and not page.named("a") and not page.named("link")
    assert "<script" not in html.lower() and "&lt;script&gt;alert(1)&lt;/script&gt;" in html
    assert all(image["src"].startswith(PNG_PREFIX) for image in page.named("img"))
    for _, attrs in page.tags:
        assert "href" not in attrs
        assert not any(str(value).lower().startswith(("http:", "https:", "//", "javascript:"))
                       for value in attrs.values())
    # The evil trend label is an escaped alt text, not markup.
    assert any(image.get("alt") == EVIL for image in page.named("img"))


def test_html_is_self_contained_with_inline_png_charts(charts):
    html = render.to_html(sample_digest(), charts)
    page = Tags(html)
    assert not page.named("script") and not page.named("link") and "url(" not in html
    for _, attrs in page.tags:
        for name in ("src", "href", "background", "action"):
            value = attrs.get(name) or ""
            assert "http://" not in value and "https://" not in value
    images = page.named("img")
    assert len(images) == len(charts) == 4
    for image in images:
        assert image["src"].startswith(PNG_PREFIX)
        png = base64.b64decode(image["src"][len(PNG_PREFIX):], validate=True)
        assert png[:8] == b"\x89PNG\r\n\x1a\n" and png[12:16] == b"IHDR"
        assert struct.unpack(">II", png[16:24]) == (560, 180)
        assert (image["width"], image["height"]) == ("560", "180")
    assert [image["alt"] for image in images] == [
        "Error rate of the busiest services by hour", "p99 latency of the busiest services by hour",
        "payments /payments/charge p99 (ms)", "search requests"]


def test_html_has_the_sections_in_order_and_trend_charts_under_trends(charts):
    html = render.to_html(sample_digest(), charts)
    positions = [html.index(f">{heading}</td>") for heading in SECTIONS]
    assert positions == sorted(positions)
    trend_chart = html.index('alt="payments /payments/charge p99 (ms)"')
    assert positions[1] < trend_chart < positions[2]
    assert html.index('alt="Error rate of the busiest services by hour"') < positions[0]
    for text in ("✓ grounded", "⚠ unverified", "○ not checked", "(4,350 ms not in the facts)",
                 "5,400 DB-seconds/day", "88.9% of claims grounded (16 of 18)."):
        assert text in html


def test_a_chart_that_is_not_a_png_is_left_out(caplog):
    html = render.to_html(sample_digest(), {"error_rate": b"GIF89a...", "p99_ms": "text"})
    assert not Tags(html).named("img")
    assert "not a PNG" in caplog.text


def test_missing_hours_are_listed_in_the_digest_time_zone():
    digest = sample_digest()  # missing 09:00 and 10:00 UTC
    expected = "Covers 22 of 24 hours; missing 05:00, 06:00 (America/New_York)."
    assert render.digest_view(digest)["coverage"] == expected
    assert "missing 05:00, 06:00 (America/New\\_York)." in render.to_markdown(digest)
    assert expected in render.to_html(digest, {})
    digest["timezone"] = "Asia/Kolkata"  # UTC+5:30
    assert "missing 14:30, 15:30 (Asia/Kolkata)" in render.digest_view(digest)["coverage"]
    digest["timezone"], digest["hours_missing"] = "UTC", [datetime(2026, 3, 10, 9), "2026-03-10T10:00:00"]
    assert "missing 09:00, 10:00 (UTC)" in render.digest_view(digest)["coverage"]


def test_an_hour_that_happens_twice_says_which():
    digest = sample_digest()  # New York leaves summer time at 06:00 UTC on 1 November 2026
    digest["hours_missing"] = ["2026-11-01T05:00:00+00:00", "2026-11-01T06:00:00+00:00", "2026-11-01T07:00:00+00:00"]
    assert "missing 01:00 EDT, 01:00 EST, 02:00 (America/New_York)" in render.digest_view(digest)["coverage"]


# --- files ------------------------------------------------------------------------------------------------

def test_write_digest_writes_three_files_atomically(tmp_path, charts):
    out = tmp_path / "digests"
    paths = render.write_digest(sample_digest(), charts, out)
    assert paths == {"markdown_path": str(out / "2026-03-10.md"), "html_path": str(out / "2026-03-10.html"),
                     "json_path": str(out / "2026-03-10.json")}
    assert sorted(p.name for p in out.iterdir()) == ["2026-03-10.html", "2026-03-10.json", "2026-03-10.md"]
    document = json.loads((out / "2026-03-10.json").read_text(encoding="utf-8"))
    assert document["markdown_path"] == paths["markdown_path"]
    assert document["html_path"] == paths["html_path"]
    assert document["headline"] == sample_digest()["headline"]
    assert (out / "2026-03-10.md").read_text(encoding="utf-8").startswith("# Daily digest · 2026-03-10")
    assert Tags((out / "2026-03-10.html").read_text(encoding="utf-8")).named("img")
    for path in out.iterdir():  # readable by others, as a written report should be (mkstemp makes 0600)
        assert stat.S_IMODE(path.stat().st_mode) == 0o644
    # Written again, the files are replaced and still nothing else lies beside them.
    again = sample_digest()
    again["headline"] = "A quieter day."
    render.write_digest(again, {}, out)
    assert sorted(p.name for p in out.iterdir()) == ["2026-03-10.html", "2026-03-10.json", "2026-03-10.md"]
    assert json.loads((out / "2026-03-10.json").read_text(encoding="utf-8"))["headline"] == "A quieter day."


@pytest.mark.parametrize("day", ["../x", "2026-03-10/../../x", "x", "", None, "2026-13-01"])
def test_write_digest_refuses_a_date_that_is_not_a_date(tmp_path, day):
    digest = sample_digest()
    digest["date"] = day
    with pytest.raises(ValueError):
        render.write_digest(digest, {}, tmp_path / "out")
    assert not (tmp_path / "out").exists()
    assert list(tmp_path.iterdir()) == []


def test_a_failed_write_leaves_no_temporary_file_and_keeps_the_old_one(tmp_path, monkeypatch):
    target = tmp_path / "2026-03-10.md"
    target.write_text("old\n", encoding="utf-8")

    def refuse(*_):
        raise OSError("disk full")

    monkeypatch.setattr(render.os, "replace", refuse)
    with pytest.raises(OSError, match="disk full"):
        render._write_atomically(target, "new\n")
    assert os.listdir(tmp_path) == ["2026-03-10.md"]
    assert target.read_text(encoding="utf-8") == "old\n"


def test_to_json_maps_nan_to_null_and_is_deterministic():
    document = {"b": math.nan, "a": [math.inf, -math.inf, 1.5, np.float64("nan")], "day": date(2026, 3, 10),
                "at": datetime(2026, 3, 10, 4, tzinfo=timezone.utc), "tags": {"z", "a"}, "n": np.int64(7),
                "f": np.float32(0.5), "ok": True, "none": None}
    text = render.to_json(document)
    parsed = json.loads(text, parse_constant=lambda token: pytest.fail(f"{token} in JSON"))
    assert parsed == {"a": [None, None, 1.5, None], "at": "2026-03-10T04:00:00+00:00", "b": None,
                      "day": "2026-03-10", "f": 0.5, "n": 7, "none": None, "ok": True, "tags": ["a", "z"]}
    assert text == render.to_json(dict(reversed(list(document.items()))))
    assert list(parsed) == sorted(parsed)
    assert text.endswith("}\n")
    digest = sample_digest()
    assert render.to_json(digest) == render.to_json(dict(reversed(list(sample_digest().items()))))
    assert json.loads(render.to_json(digest)) == json.loads(json.dumps(digest))


# --- briefings --------------------------------------------------------------------------------------------

def test_briefing_markdown_has_the_six_headings_in_order():
    markdown = render.briefing_markdown(sample_briefing())
    headings = [line[3:] for line in markdown.splitlines() if line.startswith("## ")]
    assert headings == [*BRIEFING_HEADINGS, "Related traces", "Grounding"]
    assert markdown.startswith("# Situation briefing · inc-3f9a2b7c1d4e5f60: Checkout 5xx after deploy\n")
    assert _section(markdown, "What changed").strip() == NOTHING
    who = _section(markdown, "Who is affected").splitlines()
    assert who[2] == "`incidents.users` · ⚠ unverified (iOS not in the facts)"
    assert _section(markdown, "Cause").splitlines()[2] == "`rca.inc-3f9a2b7c1d4e5f60` · ✓ grounded"
    assert "83.3% of claims grounded (5 of 6)." in _section(markdown, "Grounding")
    assert "- ⚠ 412 users, most of them on iOS." in markdown


def test_write_briefing_writes_markdown_and_json(tmp_path):
    path = render.write_briefing(sample_briefing(), tmp_path / "briefings")
    assert path == tmp_path / "briefings" / "inc-3f9a2b7c1d4e5f60.md"
    assert sorted(p.name for p in path.parent.iterdir()) == ["inc-3f9a2b7c1d4e5f60.json", "inc-3f9a2b7c1d4e5f60.md"]
    document = json.loads(path.with_suffix(".json").read_text(encoding="utf-8"))
    assert document["markdown_path"] == str(path)
    assert path.read_text(encoding="utf-8") == render.briefing_markdown(sample_briefing())


@pytest.mark.parametrize("subject_id", [None, "", "..", "../..", "///", " . "])
def test_write_briefing_refuses_an_unusable_subject_id(tmp_path, subject_id):
    briefing = sample_briefing()
    briefing["subject"]["id"] = subject_id
    with pytest.raises(ValueError, match="subject id"):
        render.write_briefing(briefing, tmp_path / "briefings")
    assert not (tmp_path / "briefings").exists()


def test_write_briefing_keeps_a_path_like_subject_id_inside_the_folder(tmp_path):
    briefing = sample_briefing()
    briefing["subject"]["id"] = "../../etc/inc-1"
    path = render.write_briefing(briefing, tmp_path / "briefings")
    assert path.parent == tmp_path / "briefings" and path.name == "etc_inc-1.md"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["briefings"]


HIDDEN = "/orders/\x1b[31m{id}\x07\x00\x85 ok\u202e\u2028"  # terminal escape, bell, NUL, C1, bidi override, LS


def _hidden_digest() -> dict:
    digest = sample_digest()
    digest["trends"][0].update(text=f"p99 rose on {HIDDEN}", route=HIDDEN)
    digest["recommendations"][0].update(route=HIDDEN, source=HIDDEN)
    digest["top_issues"][0].update(title=HIDDEN)
    return digest


def _invisible(text: str) -> list[str]:
    return [c for c in text if (ord(c) < 0x20 and c not in "\n") or 0x7f <= ord(c) <= 0x9f
            or c in "\u202e\u2028"]


def test_control_characters_from_names_are_shown_as_escapes_in_markdown_and_html(charts):
    markdown = render.to_markdown(_hidden_digest())
    html = render.to_html(_hidden_digest(), charts)
    assert _invisible(markdown) == [] and _invisible(html) == []
    for escape in ("x1b", "x07", "x00", "x85", "u202e", "u2028"):
        assert f"\\\\{escape}" in markdown and f"\\{escape}" in html, escape
    briefing = render.briefing_markdown({**sample_briefing(), "title": HIDDEN})
    assert _invisible(briefing) == [] and "\\\\x1b" in briefing
