"""What leaves the process for a model, redacted at one point: the gateway passes every message of every call
(incidents, digest, briefings, ask) through `redact_messages` before the HTTP request, so no prompt can skip it.
Fenced data is redacted as data (a value is judged by the field it belongs to), the rest as text; a model's
answer gets the addresses and accounts it repeats back (`restore`), never the secrets."""
from __future__ import annotations

import json
import re

from logintel.llm.fencing import FENCE_CLOSE, FENCE_OPEN, fenced_json
from logintel.llm.redaction import Redactor
from logintel.llm.redaction.keys import field_kind

# A fence as `fence()` writes it; one cut short (no closing tag) runs to the end of the text.
_FENCED = re.compile(re.escape(FENCE_OPEN) + r"\n(?P<body>.*?)(?:\n" + re.escape(FENCE_CLOSE) + r"|\Z)", re.DOTALL)
_ESCAPED_TAG_CHARS = {"\\u003c": "<", "\\u003e": ">"}


def redact_messages(messages: list[dict], redactor: Redactor) -> list[dict]:
    """Copies of chat messages with every text content redacted (tool calls' arguments are the model's own)."""
    return [{**message, "content": _redact_content(message.get("content"), redactor)}
            if message.get("content") is not None else message for message in messages]


def _redact_content(content, redactor: Redactor):
    if isinstance(content, str):
        return redact_prompt(content, redactor)
    if isinstance(content, list):  # content parts
        return [{**part, "text": redact_prompt(part["text"], redactor)}
                if isinstance(part, dict) and isinstance(part.get("text"), str) else part for part in content]
    return content


def redact_prompt(text: str, redactor: Redactor) -> str:
    """The text with its fenced blocks redacted as data and everything else as text."""
    parts, at = [], 0
    for match in _FENCED.finditer(text):
        parts += [redactor.redact(text[at:match.start()]), _redact_fenced(match.group("body"), redactor)]
        at = match.end()
    parts.append(redactor.redact(text[at:]))
    return "".join(parts)


def _redact_fenced(body: str, redactor: Redactor) -> str:
    try:
        data = json.loads(body)
    except json.JSONDecodeError:
        # Not what fence() wrote: redact it as text, with the escaped angle brackets read as what they are
        # (`\u003c10.0.0.1` would hide the address from a pattern that wants no word character before it).
        plain = re.sub(r"\\u003[ce]", lambda m: _ESCAPED_TAG_CHARS[m.group(0)], body)
        redacted = redactor.redact(plain).replace("<", "\\u003c").replace(">", "\\u003e")
        return f"{FENCE_OPEN}\n{redacted}\n{FENCE_CLOSE}"
    return f"{FENCE_OPEN}\n{fenced_json(redact_data(data, redactor))}\n{FENCE_CLOSE}"


def redact_data(data, redactor: Redactor):
    """Fenced data redacted: a name that DATA.fields says is a field's value by that field's kind (a user agent
    keeps its version numbers, an account becomes a pseudonym), everything else as records are."""
    if isinstance(data, dict) and isinstance(data.get("names"), dict) and isinstance(data.get("fields"), dict):
        names, fields = data["names"], data["fields"]
        redacted = {}
        for key, name in names.items():
            of = [names.get(f) for f in fields.get(key) or [] if isinstance(names.get(f), str)]
            field = next((f for f in of if field_kind(f)), of[0] if of else None)
            redacted[key] = redactor.redact_value(field, name) if field and isinstance(name, str) \
                else redactor.redact_obj(name)
        return {"names": redacted, **redactor.redact_obj({k: v for k, v in data.items() if k != "names"})}
    return redactor.redact_obj(data)


def restore(data, redactor: Redactor):
    """A model's answer with the pseudonyms (ip-…, user-…) this redactor gave out turned back into their values."""
    if isinstance(data, str):
        return redactor.restore(data)
    if isinstance(data, dict):
        return {k: restore(v, redactor) for k, v in data.items()}
    if isinstance(data, list):
        return [restore(v, redactor) for v in data]
    return data
