"""The README and docs/ stay true to the repository: the README is short (a five-minute read), every page of
docs/ is linked from it, every relative link (and #anchor) points at something that exists, every path the
docs name in backticks exists (so a module that moves cannot leave a stale name behind), the two commands
are the ones CI runs, and every command and setting the code defines is documented."""
from __future__ import annotations

import re
from pathlib import Path

import pytest

from tests.support import REPO_ROOT

README = REPO_ROOT / "README.md"
DOCS = REPO_ROOT / "docs"
README_MAX_LINES = 200

DEMO_COMMAND = "bash scripts/install.sh && .venv/bin/logintel demo"
TEST_COMMAND = "bash scripts/install.sh && .venv/bin/python -m pytest -q"

# Top-level folders of the repository whose paths the docs may name in backticks.
PATH_ROOTS = ("logintel", "assets", "jobs", "sensors", "resources", "launch", "benchmarks", "scripts", "deploy",
              "tests", "docs")
# Paths the docs name that are not in the repository on purpose — each with the reason.
RUNTIME_PATHS = {
    "deploy/.env": "the operator creates it from deploy/.env.example; git-ignored, so never committed",
}

FENCE = re.compile(r"^\s*(```|~~~)")
LINK = re.compile(r"!?\[[^\]]*\]\(\s*<?([^)\s>]+)>?(?:\s+\"[^\"]*\")?\s*\)")
INLINE_CODE = re.compile(r"(`+)(.+?)\1")
# A path inside a fenced block: one of the roots at a word start (not inside a URL or another path).
ROOTS = "|".join(PATH_ROOTS)
FENCED_PATH = re.compile(rf"(?<![\w./:@$~-])(?:{ROOTS})/[\w.\-/<>*{{}},…]*")
PLACEHOLDER = re.compile(r"[<*{…]")


def pages() -> list[Path]:
    return sorted(DOCS.glob("*.md"))


def documents() -> list[Path]:
    return [README, *pages()]


def split_fences(text: str) -> tuple[str, str]:
    """(the prose, the fenced code blocks) of a markdown text, each as lines joined."""
    prose, code, inside = [], [], False
    for line in text.splitlines():
        if FENCE.match(line):
            inside = not inside
            continue
        (code if inside else prose).append(line)
    return "\n".join(prose), "\n".join(code)


# ---- links and anchors ---------------------------------------------------------------------

def slug(heading: str) -> str:
    """GitHub's anchor for a heading: formatting and punctuation dropped, lower case, spaces as hyphens."""
    text = re.sub(r"\[([^\]]*)\]\([^)]*\)", r"\1", heading)  # a link in a heading keeps its text
    text = re.sub(r"[^\w\- ]", "", text.strip().lower())
    return text.replace(" ", "-")


def anchors(path: Path) -> set[str]:
    found, seen = set(), {}
    prose, _ = split_fences(path.read_text(encoding="utf-8"))
    for line in prose.splitlines():
        match = re.match(r"^#{1,6}\s+(.+?)\s*#*\s*$", line)
        if match:
            base = slug(match.group(1))
            count = seen.get(base, 0)
            found.add(base if count == 0 else f"{base}-{count}")
            seen[base] = count + 1
    return found


def relative_links(path: Path) -> list[str]:
    prose, _ = split_fences(path.read_text(encoding="utf-8"))
    prose = INLINE_CODE.sub("", prose)
    return [target for target in LINK.findall(prose)
            if not re.match(r"^[a-z][a-z0-9+.-]*:", target, re.IGNORECASE)]  # http:, https:, mailto:


def broken_links(path: Path) -> list[str]:
    broken = []
    for target in relative_links(path):
        file_part, _, anchor = target.partition("#")
        dest = (path.parent / file_part).resolve() if file_part else path
        if not dest.exists():
            broken.append(f"{target} (no such file)")
        elif anchor and dest.suffix == ".md" and anchor not in anchors(dest):
            broken.append(f"{target} (no heading #{anchor} in {dest.name})")
    return broken


def test_there_are_docs_pages():
    assert len(pages()) >= 8, "docs/ should hold one page per subject"


@pytest.mark.parametrize("doc", documents(), ids=lambda p: str(p.relative_to(REPO_ROOT)))
def test_every_relative_link_points_at_a_file_and_heading_that_exist(doc):
    assert broken_links(doc) == []


def test_every_docs_page_is_linked_from_the_readme():
    linked = {(README.parent / target.partition("#")[0]).resolve() for target in relative_links(README)}
    unlinked = [str(p.relative_to(REPO_ROOT)) for p in pages() if p.resolve() not in linked]
    assert unlinked == [], f"link these from README.md's 'Where to read on': {unlinked}"


# ---- paths named in backticks --------------------------------------------------------------

def named_paths(text: str) -> list[str]:
    """Repository paths a markdown text names: inline code that starts with one of PATH_ROOTS (its first
    word), and paths at a word start inside fenced blocks."""
    prose, code = split_fences(text)
    paths = []
    for _, span in INLINE_CODE.findall(prose):
        word = span.strip().split()[0] if span.strip() else ""
        if word.split("/")[0] in PATH_ROOTS and "/" in word:
            paths.append(word)
    paths += FENCED_PATH.findall(code)
    # key=value is not a path (the run tag `logintel/trigger=replay`, a field=value claim)
    return [p.rstrip(".,:;") for p in paths if "=" not in p]


def path_exists(path: str) -> bool:
    """Whether a named path exists. A glob must match something; a placeholder (`assets/<name>.py`,
    `…`, `{md,json}`) needs the folder before it."""
    if "*" in path and not PLACEHOLDER.search(path.replace("*", "")):
        return any(REPO_ROOT.glob(path))
    if PLACEHOLDER.search(path):
        folder = path[:PLACEHOLDER.search(path).start()].rpartition("/")[0]
        return (REPO_ROOT / folder).is_dir()
    return (REPO_ROOT / path).exists()


def missing_paths(text: str) -> list[str]:
    return sorted({p for p in named_paths(text) if p not in RUNTIME_PATHS and not path_exists(p)})


@pytest.mark.parametrize("doc", documents(), ids=lambda p: str(p.relative_to(REPO_ROOT)))
def test_every_path_named_in_backticks_exists(doc):
    assert missing_paths(doc.read_text(encoding="utf-8")) == []


def test_runtime_path_exceptions_are_still_needed():
    named = {p for doc in documents() for p in named_paths(doc.read_text(encoding="utf-8"))}
    stale = [path for path in RUNTIME_PATHS if path not in named]
    assert stale == [], f"no longer named in the docs: drop them from RUNTIME_PATHS: {stale}"


# ---- the README itself ---------------------------------------------------------------------

def test_readme_is_a_five_minute_read():
    lines = README.read_text(encoding="utf-8").splitlines()
    assert len(lines) <= README_MAX_LINES, f"README.md has {len(lines)} lines; move detail into docs/"


def test_readme_has_the_two_commands_and_ci_runs_the_test_command():
    readme = README.read_text(encoding="utf-8")
    assert DEMO_COMMAND in readme
    assert TEST_COMMAND in readme
    ci = (REPO_ROOT / ".ci" / "run").read_text(encoding="utf-8")
    run_lines = [line.strip() for line in ci.splitlines() if line.strip() and not line.lstrip().startswith("#")]
    assert TEST_COMMAND in run_lines, "CI's .ci/run must run the README's test command verbatim"


def commands() -> set[str]:
    """Every `logintel` subcommand the two command lines define."""
    names = set()
    for source in (REPO_ROOT / "logintel" / "cli.py", REPO_ROOT / "launch" / "cli.py"):
        names |= set(re.findall(r"\bsub\.add_parser\(\s*[\"']([\w-]+)[\"']", source.read_text(encoding="utf-8")))
    return names


def test_every_command_is_in_the_readme_and_in_the_command_reference():
    names = commands()
    assert {"demo", "serve", "ui", "ingest"} <= names, "the command parser changed shape: fix commands()"
    readme = README.read_text(encoding="utf-8")
    reference = (DOCS / "commands.md").read_text(encoding="utf-8")
    assert sorted(n for n in names if f"`logintel {n}" not in readme) == []
    assert sorted(n for n in names if f"`logintel {n}" not in reference) == []


def test_every_setting_is_documented():
    source = (REPO_ROOT / "logintel" / "config.py").read_text(encoding="utf-8")
    names = set(re.findall(r"\b(?:LOGINTEL|OPENAI)_[A-Z0-9_]*[A-Z0-9]\b|\bPROMETHEUS_MULTIPROC_DIR\b", source))
    assert {"LOGINTEL_HOME", "LOGINTEL_POSTGRES_URL"} <= names
    page = (DOCS / "configuration.md").read_text(encoding="utf-8")
    assert sorted(n for n in names if f"`{n}`" not in page) == []


# ---- the checkers themselves, on hand-written text: each can fail ---------------------------

def test_checkers_catch_a_moved_module_a_bad_glob_and_keep_placeholders():
    text = ("`logintel/digest/briefing.py` moved; `logintel/daily/days.py` did not; `assets/<name>.py`;\n"
            "`logintel/nowhere/<x>.py`; `logintel/agents/sre*.py`; `logintel/agents/sre/*.py`; `logintel serve`;\n"
            "tag `logintel/trigger=replay`; `deploy/.env`\n"
            "```bash\n.venv/bin/python benchmarks/nope.py   # and http://logintel.internal/v1, /opt/logintel/x.py\n```\n")
    assert missing_paths(text) == ["benchmarks/nope.py", "logintel/agents/sre*.py", "logintel/digest/briefing.py",
                                   "logintel/nowhere/<x>.py"]


def test_checkers_see_links_and_anchors(tmp_path):
    (tmp_path / "a.md").write_text("# Top\n## The OTLP mapping: `serve`\n```\n# not a heading\n```\n")
    doc = tmp_path / "b.md"
    doc.write_text("[ok](a.md#the-otlp-mapping-serve) [gone](c.md) [bad](a.md#not-a-heading) "
                   "[web](https://example.org) `[code](x.md)`\n")
    assert slug("Ask: the orchestrator") == "ask-the-orchestrator"
    assert relative_links(doc) == ["a.md#the-otlp-mapping-serve", "c.md", "a.md#not-a-heading"]
    assert [b.split(" (")[0] for b in broken_links(doc)] == ["c.md", "a.md#not-a-heading"]
