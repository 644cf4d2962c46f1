"""Dump files as the emitter leaves them, written by hand: what the replay and dump-sensor tests read."""
from __future__ import annotations

from datetime import datetime
from pathlib import Path


def write_dump(dumps: Path, hour: datetime, name: str, events, tail: bytes = b"") -> Path:
    """`events` as one dump segment `name` under the date folder of `hour`; `tail` is appended raw
    (e.g. a torn last line)."""
    folder = dumps / hour.strftime("%Y-%m-%d")
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / name
    path.write_bytes("".join(e.to_json() + "\n" for e in events).encode() + tail)
    return path
