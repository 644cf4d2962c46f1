"""Reports of what changed the landing zone (replays of dumps, Kafka drains with late events).

Saved as <reports_dir>/<id>.json, ids starting with their UTC time so names sort by time; the
replayed_partitions_sensor reads them to re-materialize the hours they name (`partitions`).
"""
from __future__ import annotations

import json
import os
import uuid
from datetime import datetime, timezone
from pathlib import Path


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
