"""Reports of what changed the landing zone (replays of dumps, Kafka drains with late events).

Saved as <reports_dir>/<id>.json, ids starting with their UTC time so names sort by time; the
replayed_partitions_sensor reads them to re-materialize the hours they name (`partitions`).
"""
from __future__ import annotations

import json
import os
import uuid
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path

REPORTS = "reports"  # the reports' folder under the dump dir


def new_report_id() -> str:
    return f"{datetime.now(timezone.utc):%Y%m%dT%H%M%S%f}-{uuid.uuid4().hex[:8]}"


def save_report(reports_dir: Path, report_id: str, data: dict) -> Path:
    """Write `data` as <reports_dir>/<report_id>.json atomically (a reader never sees half a file)."""
    reports_dir = Path(reports_dir)
    reports_dir.mkdir(parents=True, exist_ok=True)
    path = reports_dir / f"{report_id}.json"
    tmp = reports_dir / f".{path.name}.partial"
    tmp.write_text(json.dumps(data, indent=2), encoding="utf-8")
    os.replace(tmp, path)
    return path


@dataclass(frozen=True)
class SavedReport:
    name: str                    # the file name: its time order is the order reports were saved in
    report_id: str
    partitions: tuple[str, ...]  # hour keys (2026-11-23T10) the report added events to


def reports_after(reports_dir: Path, cursor: str | None) -> list[SavedReport]:
    """Saved reports whose names sort after `cursor` (all of them for None), oldest first."""
    reports_dir = Path(reports_dir)
    names = sorted(p.name for p in reports_dir.glob("*.json")) if reports_dir.exists() else []
    found = []
    for name in names:
        if cursor is not None and name <= cursor:
            continue
        data = json.loads((reports_dir / name).read_text(encoding="utf-8"))
        found.append(SavedReport(name=name, report_id=data["replay_id"], partitions=tuple(data.get("partitions", []))))
    return found
