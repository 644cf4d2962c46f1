"""Reading a prompt the fake LLM server received as a model would: FACTS with their references (#n1) resolved
against the fenced names, the fenced data decoded, the digest's items with their drafts."""
from __future__ import annotations

import json
import re

from logintel.llm.fencing import FENCE_CLOSE, FENCE_OPEN, REFERENCE

_FENCED = re.compile(re.escape(FENCE_OPEN) + r"\n(.*?)\n" + re.escape(FENCE_CLOSE), re.DOTALL)


def user_message(request: dict) -> str:
    return request["messages"][-1]["content"]


def fenced(text: str) -> list:
    """Every fenced block of a message, decoded."""
    return [json.loads(body) for body in _FENCED.findall(text)]


def outside_fences(text: str) -> str:
    """The message without its fenced blocks: what it states as instructions and FACTS."""
    return _FENCED.sub("", text)


def resolved(value, names: dict):
    """FACTS with every reference replaced by the name it stands for."""
    if isinstance(value, str):
        match = REFERENCE.fullmatch(value)
        return names[match.group(1)] if match else value
    if isinstance(value, dict):
        return {resolved(k, names): resolved(v, names) for k, v in value.items()}
    if isinstance(value, list):
        return [resolved(v, names) for v in value]
    return value


def facts_of(request: dict) -> dict:
    """The FACTS object of a one-FACTS prompt (incident, cluster, latency), its references resolved."""
    user = user_message(request)
    facts = json.loads(user.split("FACTS:\n", 1)[1].split("\n\nDATA", 1)[0])
    return resolved(facts, fenced(user)[0]["names"])


def drafts_of(request: dict) -> list[dict]:
    """The items of a digest or briefing prompt: {key (the prompt's), kind, figures, draft}, in order."""
    user = user_message(request)
    lines = user.split("FACTS (one line per item):\n", 1)[1].split("\n\nDATA", 1)[0].split("\n")
    data = fenced(user)[0]
    names = data.get("names", {})
    items = [resolved(json.loads(line), names) for line in lines if line.startswith("{")]
    return [{**item, **data["drafts"][item["key"]]} for item in items]


def drafts_in(request: dict) -> dict[str, str]:
    """The drafts of an incident text's prompt (DATA.drafts): {draft id: sentence}, in order."""
    return fenced(user_message(request))[0]["drafts"]


def reworded(request: dict, reword=lambda draft_id, text: text) -> dict:
    """An answer to an incident text's prompt: `reword(draft id, draft)` for every draft (None leaves it out)."""
    answer = [{"draft_id": key, "text": reword(key, text)} for key, text in drafts_in(request).items()]
    return {"sentences": [s for s in answer if s["text"] is not None]}
