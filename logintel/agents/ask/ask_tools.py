"""The tools a model may call to answer a question: each analyst's findings and one finding's detail, as
compact, fenced JSON with client addresses and accounts pseudonymised (and mapped back locally)."""
from __future__ import annotations

import json
import re
from functools import lru_cache
from typing import Callable

from logintel.agents.analyst_report import AnalystReport
from logintel.agents.finding import AGENTS, Finding
from logintel.llm.fencing import fence
from logintel.llm.redaction.keys import field_kind
from logintel.llm.redaction.redactor import Redactor
from logintel.llm.tool_calls import MAX_TOOL_CHARS, Tool

MAX_FINDINGS_SHOWN = 8
MAX_EVIDENCE_CHARS = 2000
# Entity lists that name people or their machines; any other key is judged by its singular's field kind.
PERSONAL_ENTITIES = {"client_ips": "client_ip", "ips": "client_ip", "addresses": "client_ip",
                     "client_addresses": "client_ip", "source_ips": "client_ip", "accounts": "user_id",
                     "users": "user_id", "user_ids": "user_id", "usernames": "user_id", "emails": "email"}
_FIELD_FOR_KIND = {"ip": "client_ip", "user": "user_id", "email": "email"}
_IPV4 = re.compile(r"(?<![\w.])\d{1,3}(?:\.\d{1,3}){3}(?![\w.])")


class AskTools:
    """The reports asked for so far (each analyst runs once), and the pseudonyms given out for them."""

    def __init__(self, reports: Callable[[str], AnalystReport], redactor: Redactor):
        self._reports = reports
        self._loaded: dict[str, AnalystReport] = {}
        self.redactor = redactor
        self._pseudonyms: dict[str, str] = {}  # raw value -> pseudonym
        self._originals: dict[str, str] = {}   # pseudonym -> raw value

    def report(self, agent: str) -> AnalystReport:
        if agent not in self._loaded:
            report = self._reports(agent)
            for finding in report.findings:
                self._learn(finding)
            self._loaded[agent] = report
        return self._loaded[agent]

    @property
    def loaded(self) -> dict[str, AnalystReport]:
        return dict(self._loaded)

    def finding(self, finding_id: str) -> Finding | None:
        return next((f for r in self._loaded.values() for f in r.findings if f.finding_id == finding_id), None)

    def tools(self) -> list[Tool]:
        no_arguments = {"type": "object", "properties": {}, "additionalProperties": False}
        listed = [Tool(f"{agent}_findings", _DESCRIPTIONS[agent], no_arguments,
                       lambda _arguments, agent=agent: self.findings_json(agent)) for agent in AGENTS]
        detail = Tool("finding_detail", "One finding in full (its figures and evidence), by finding_id, once the "
                      "analyst's findings have been listed.",
                      {"type": "object", "properties": {"finding_id": {"type": "string"}},
                       "required": ["finding_id"], "additionalProperties": False},
                      lambda arguments: self.detail_json(str(arguments.get("finding_id", ""))))
        return listed + [detail]

    def findings_json(self, agent: str) -> str:
        report = self.report(agent)
        payload = {"analyst": agent, "scope": report.scope.key, "summary": report.summary(),
                   "examined": report.examined, "notes": report.notes,
                   "findings": [_compact(f) for f in report.findings[:MAX_FINDINGS_SHOWN]],
                   "more_findings": max(len(report.findings) - MAX_FINDINGS_SHOWN, 0)}
        text = fence(self.mask(payload))
        while len(text) > MAX_TOOL_CHARS and payload["findings"]:  # drop the least severe, keep valid JSON
            payload["findings"].pop()
            payload["more_findings"] += 1
            text = fence(self.mask(payload))
        return text

    def detail_json(self, finding_id: str) -> str:
        finding = self.finding(finding_id)
        if finding is None:
            # The id is the model's own words, repeated to it as data.
            return fence({"error": "no such finding among the analysts' findings listed so far",
                          "finding_id": finding_id})
        shown = _compact(finding)
        shown["evidence"] = json.dumps(finding.evidence, default=str)[:MAX_EVIDENCE_CHARS]
        # Cut the strings, never the fenced text: a cut fence would leave what follows it outside.
        for limit in (MAX_EVIDENCE_CHARS, 500, 100):
            text = fence(self.mask(shown), max_chars=limit)
            if len(text) <= MAX_TOOL_CHARS:
                return text
        return fence({"finding_id": finding.finding_id, "error": "too large to show; use the findings list"})

    def mask(self, data):
        """A copy with every known personal value replaced by its pseudonym, then the Redactor's own pass."""
        return self.redactor.redact_obj(self._replace(data, self._pseudonyms))

    def mask_text(self, text: str) -> str:
        for address in _IPV4.findall(text):  # a question may name an address itself
            self._remember(address, "client_ip")
        return self.redactor.redact(self._replace(text, self._pseudonyms))

    def unmask(self, text: str) -> str:
        """The model's text with the pseudonyms it repeats turned back into what they stand for."""
        return self._replace(text, self._originals)

    def _learn(self, finding: Finding) -> None:
        for key, values in finding.entities.items():
            kind = PERSONAL_ENTITIES.get(key) or _personal_suffix(key) or _FIELD_FOR_KIND.get(
                field_kind(key.rstrip("s")) or "")
            if kind:
                for value in values or []:
                    self._remember(str(value), kind)
        for attribute, value in finding.facts.attributes:
            kind = _FIELD_FOR_KIND.get(field_kind(attribute) or "")
            if kind:
                self._remember(str(value), kind)

    def _remember(self, value: str, field: str) -> None:
        if value and value not in self._pseudonyms:
            pseudonym = str(self.redactor.redact_value(field, value))
            if pseudonym != value:
                self._pseudonyms[value] = pseudonym
                self._originals[pseudonym] = value

    @staticmethod
    def _replace(data, mapping: dict[str, str]):
        if not mapping:
            return data
        if isinstance(data, str):
            pattern = _pattern(tuple(sorted(mapping, key=len, reverse=True)))
            return pattern.sub(lambda m: mapping[m.group(0)], data)
        if isinstance(data, dict):
            return {AskTools._replace(k, mapping): AskTools._replace(v, mapping) for k, v in data.items()}
        if isinstance(data, (list, tuple)):
            return [AskTools._replace(v, mapping) for v in data]
        return data


def _personal_suffix(key: str) -> str | None:
    """compromised_accounts, blocked_ips, ...: a qualified list of accounts or addresses is still one."""
    if key.endswith(("_ips", "_addresses")):
        return "client_ip"
    if key.endswith(("_accounts", "_users", "_user_ids", "_usernames")):
        return "user_id"
    return "email" if key.endswith("_emails") else None


@lru_cache(maxsize=64)
def _pattern(values: tuple[str, ...]) -> re.Pattern:
    # Whole values only: 10.0.0.1 must not eat the front of 10.0.0.12.
    return re.compile(r"(?<![\w.@-])(?:" + "|".join(re.escape(v) for v in values) + r")(?![\w@-]|\.\w)")


def _compact(finding: Finding) -> dict:
    return {"finding_id": finding.finding_id, "kind": finding.kind, "severity": finding.severity,
            "confidence": finding.confidence, "title": finding.title, "text": finding.text,
            "action": finding.action, "entities": finding.entities,
            "window": [finding.window[0].isoformat(), finding.window[1].isoformat()] if finding.window else None,
            "figures": finding.facts.to_dict()}


_DESCRIPTIONS = {
    "sre": "The SRE analyst's findings: latency and error trends, time-to-threshold forecasts, SLO burn-rate "
           "alerts.",
    "security": "The security analyst's findings: credential stuffing, password spraying, brute force, account "
                "enumeration, suspicious addresses and user agents, sshd/PAM authentication.",
    "efficiency": "The efficiency analyst's findings: processing-time hotspots, database time share, N+1 queries, "
                  "retries per trace, payload sizes, estimated savings.",
}
