"""Miner state: one JSON document, in a file (replaced atomically so a crash never leaves half a file) or in the state
store (`StoredState`: replaced in one statement, so runs on any machine continue it)."""
from __future__ import annotations

import json
import os
import tempfile
from pathlib import Path

FORMAT = "logintel.templates/1"


class StateError(ValueError):
    """The state file exists but cannot be used; it is left untouched."""


def read_state(path: Path) -> dict | None:
    if not path.exists():
        return None
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise StateError(f"template state {path} is unreadable: {exc}") from exc
    return parse_state(text, str(path))


def parse_state(text: str, where: str) -> dict:
    """A state document's text as the miner loads it; StateError naming `where` when it is not one."""
    try:
        data = json.loads(text)
    except json.JSONDecodeError as exc:
        raise StateError(f"template state {where} is unreadable: {exc}") from exc
    if not isinstance(data, dict) or data.get("format") != FORMAT:
        raise StateError(f"template state {where} is not a {FORMAT} document")
    return data


def state_text(data: dict) -> str:
    """The miner's state as its document's text. ASCII escapes keep lone surrogates (from undecodable input)
    writable."""
    return json.dumps(data | {"format": FORMAT}, separators=(",", ":"))


def write_state(path: Path, data: dict) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as f:
            f.write(state_text(data))
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


class StateFile:
    """The miner's state as a file at `path`."""

    def __init__(self, path: Path | str):
        self.path = Path(path)

    @property
    def where(self) -> str:
        return str(self.path)

    def read(self) -> dict | None:
        return read_state(self.path)

    def write(self, data: dict) -> None:
        write_state(self.path, data)


class StoredState:
    """The miner's state as the state store's document `name` (`store.state_store.StateStore`). While the store holds
    none, an earlier file (`imported_from`: where the state was kept before) is read, so ids stay stable across the
    move; the next write puts it in the store."""

    def __init__(self, store, name: str = "template_miner", imported_from: Path | None = None):
        self.store, self.name, self.imported_from = store, name, imported_from

    @property
    def where(self) -> str:
        return f"{self.name} in {self.store.where}"

    def read(self) -> dict | None:
        body = self.store.document(self.name)
        if body is None:
            return read_state(self.imported_from) if self.imported_from is not None else None
        return parse_state(body, self.where)

    def write(self, data: dict) -> None:
        self.store.keep_document(self.name, state_text(data))
