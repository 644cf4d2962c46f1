"""The redaction corpus: realistic log lines, the secrets in each that must not survive and the text that must;
shared by the redaction tests and every test that checks what reaches an LLM."""
from __future__ import annotations

import json
from pathlib import Path

from tests.support import TEST_DATA

CORPUS_PATH = TEST_DATA / "redaction_corpus.jsonl"


def load_corpus(path: Path = CORPUS_PATH) -> list[dict]:
    """Every entry as {"text": str, "secrets": [str], "keep": [str]}, checked for shape on the way in."""
    entries = []
    for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1):
        if not line.strip():
            continue
        entry = json.loads(line)
        text = entry.get("text")
        if not isinstance(text, str) or not text:
            raise ValueError(f"{path.name}:{number}: 'text' must be a non-empty string")
        for field in ("secrets", "keep"):
            values = entry.setdefault(field, [])
            if not isinstance(values, list) or not all(isinstance(v, str) and v for v in values):
                raise ValueError(f"{path.name}:{number}: '{field}' must be a list of non-empty strings")
            missing = [v for v in values if v not in text]
            if missing:
                raise ValueError(f"{path.name}:{number}: {field} not in text: {missing}")
        entries.append(entry)
    return entries


def all_secrets(path: Path = CORPUS_PATH) -> list[str]:
    """Every secret substring of the corpus, longest first (what must never leave the process)."""
    return sorted({s for entry in load_corpus(path) for s in entry["secrets"]}, key=len, reverse=True)
