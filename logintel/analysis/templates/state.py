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
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise StateError(f"template state {path} is unreadable: {exc}") from exc
    if not isinstance(data, dict) or data.get("format") != FORMAT:
        raise StateError(f"template state {path} is not a {FORMAT} document")
    return data


def write_state(path: Path, data: dict) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as f:
            # ASCII escapes keep lone surrogates (from undecodable input) writable.
            json.dump(data | {"format": FORMAT}, f, separators=(",", ":"))
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
        try:
            data = json.loads(body)
        except json.JSONDecodeError as exc:
            raise StateError(f"template state {self.where} is unreadable: {exc}") from exc
        if not isinstance(data, dict) or data.get("format") != FORMAT:
            raise StateError(f"template state {self.where} is not a {FORMAT} document")
        return data

    def write(self, data: dict) -> None:
        # ASCII escapes keep lone surrogates (from undecodable input) storable, as in the file.
        self.store.keep_document(self.name, json.dumps(data | {"format": FORMAT}, separators=(",", ":")))
