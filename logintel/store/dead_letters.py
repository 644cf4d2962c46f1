"""The dead-letter store: every record we could not accept, with its cause, as JSONL files.

Layout: <dead_letter_dir>/<YYYY-MM-DD>/<stage>-<uuid>.jsonl, one record per line:
{"dead_letter_id", "recorded_at", "stage", "source", "cause", "reason", "payload" | "payload_b64",
 "payload_bytes", "partition"}. The original payload is kept whole, so nothing is lost.
"""
from __future__ import annotations

import base64
import json
import os
import uuid
from collections import Counter
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path
from typing import Iterable, Iterator


@dataclass(frozen=True)
class DeadLetter:
    stage: str          # where it was rejected: "ingest", "raw_events", ...
    source: str         # file:line, table row, ...
    cause: str          # machine-readable class: "validation:<field>", "invalid_json", "encoding", "torn_line", "oversized"
    reason: str         # human-readable: what is wrong and where
    payload: bytes | str
    partition: str | None = None

    def to_record(self) -> dict:
        record = {
            "dead_letter_id": str(uuid.uuid4()),
            "recorded_at": datetime.now(timezone.utc).isoformat(),
            "stage": self.stage,
            "source": self.source,
            "cause": self.cause,
            "reason": self.reason,
            "partition": self.partition,
        }
        payload = self.payload
        if isinstance(payload, bytes):
            try:
                payload = payload.decode("utf-8")
            except UnicodeDecodeError:
                record["payload_b64"] = base64.b64encode(payload).decode("ascii")
                record["payload_bytes"] = len(payload)
                return record
        record["payload"] = payload
        record["payload_bytes"] = len(payload.encode("utf-8", "surrogatepass"))
        return record


def record_line(record: dict) -> str:
    """The record as one JSON line: UTF-8 text as it is, unless a string holds what UTF-8 cannot (a lone
    surrogate from a stdlib-decoded \\ud800): then \\u escapes, which read back to the very same string."""
    line = json.dumps(record, ensure_ascii=False)
    try:
        line.encode("utf-8")
    except UnicodeEncodeError:
        return json.dumps(record)
    return line


class DeadLetterStore:
    def __init__(self, root: Path):
        self.root = Path(root)

    def write(self, letters: Iterable[DeadLetter]) -> int:
        letters = list(letters)
        if not letters:
            return 0
        day = datetime.now(timezone.utc).strftime("%Y-%m-%d")
        folder = self.root / day
        folder.mkdir(parents=True, exist_ok=True)
        stage = letters[0].stage
        path = folder / f"{stage}-{uuid.uuid4().hex}.jsonl"
        tmp = path.with_name("." + path.name + ".partial")
        with open(tmp, "w", encoding="utf-8") as fh:
            for letter in letters:
                fh.write(record_line(letter.to_record()) + "\n")
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, path)
        return len(letters)

    def records(self) -> Iterator[dict]:
        if not self.root.exists():
            return
        for path in sorted(self.root.glob("*/*.jsonl")):
            with open(path, encoding="utf-8") as fh:
                for line in fh:
                    if line.strip():
                        yield json.loads(line)

    def counts_by_cause(self, partition: str | None = None) -> Counter:
        return Counter(r["cause"] for r in self.records() if partition is None or r.get("partition") == partition)
