"""Template ids: derived from the template text, so two miners that learn the same template agree."""
from __future__ import annotations

import hashlib


def template_id(text: str, length: int = 10) -> str:
    return "T" + hashlib.sha1(text.encode("utf-8", "surrogatepass")).hexdigest()[:length]
