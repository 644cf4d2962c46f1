"""`logintel templates PATH…`: each input line's template id and template, as text or JSON."""
from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Iterator, TextIO

from logintel.analysis.templates.miner import TemplateMiner
from logintel.analysis.templates.state import StateError


def read_messages(path: Path) -> Iterator[str]:
    """One message per line; bytes that are not UTF-8 become U+FFFD rather than an error."""
    with path.open("rb") as f:
        for raw in f:
            yield raw.rstrip(b"\r\n").decode("utf-8", errors="replace")


def run_templates(paths: list[str], as_json: bool, state: Path | None,
                  out: TextIO | None = None, err: TextIO | None = None) -> int:
    out = out or sys.stdout
    err = err or sys.stderr
    files = [Path(p) for p in paths]
    missing = [str(p) for p in files if not p.is_file()]
    if missing:
        print(f"error: no such file: {', '.join(missing)}", file=err)
        return 2
    try:
        miner = TemplateMiner(state_path=state)
    except StateError as exc:
        print(f"error: {exc}", file=err)
        return 2
    # Mine everything first so each line is printed with its template's final (most general) form;
    # only the id per line is kept (a shared string), not the messages.
    ids: list[str] = []
    counts: list[int] = []
    try:
        for path in files:
            before = len(ids)
            ids.extend(miner.add(message).template_id for message in read_messages(path))
            counts.append(len(ids) - before)
        if state is not None:
            miner.save()
    except OSError as exc:
        print(f"error: {exc}", file=err)
        return 2
    rows = _rows(files, counts, ids, miner)
    if as_json:
        # One object per line of the array, written as we go: valid JSON without one huge string.
        out.write("[")
        for n, (path, line_no, tid, template) in enumerate(rows):
            record = {"path": str(path), "line": line_no, "template_id": tid, "template": template}
            out.write(("\n" if n == 0 else ",\n") + json.dumps(record))
        out.write("\n]\n" if ids else "]\n")
    else:
        for _, _, tid, template in rows:
            out.write(f"{tid}\t{template}\n")
    print(f"{len(ids):,} lines, {len(miner.templates()):,} templates", file=err)
    return 0


def _rows(files: list[Path], counts: list[int], ids: list[str],
          miner: TemplateMiner) -> Iterator[tuple[Path, int, str, str]]:
    """(path, line number, live template id, template) per input line, in input order."""
    it = iter(ids)
    for path, count in zip(files, counts):
        for line_no in range(1, count + 1):
            live = miner.resolve(next(it))
            yield path, line_no, live, miner.template(live)
