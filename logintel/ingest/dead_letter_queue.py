"""The dead-letter queue over the DeadLetterStore's files: causes classed, retried with backoff or parked,
re-delivered to the landing zone once their payload passes the contract, and purged on request."""
from __future__ import annotations

import base64
import json
import os
from collections import Counter, defaultdict
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Callable, Iterable

from logintel.adapters.otel import (is_otlp_document, looks_like_otlp_record, parse_otel_record,
                                    parse_otlp_document)
from logintel.adapters.plain_text import parse_plain_text
from logintel.store.dead_letters import DeadLetterStore, record_line
from logintel.store.file_lock import folder_lock
from logintel.events import MAX_RECORD_BYTES, EventValidationError, WideEvent, parse_event
from logintel.ingest.replay import land_new_events
from logintel.store.landing import LandingZone

SERIALIZATION_CAUSES = frozenset({"invalid_json", "encoding", "torn_line"})
# Only these classes can succeed later without anyone changing the payload or the code.
RETRIABLE_CLASSES = frozenset({"transport_unavailable", "unknown"})
_TRANSPORT_WORDS = ("transport", "unavailable", "timeout", "connection", "network", "landing")
_AUTH_WORDS = ("auth", "permission", "forbidden", "unauthorized", "denied")


@dataclass(frozen=True)
class CauseClass:
    """What kind of failure a cause is, and whether retrying it without a change can help."""
    name: str               # validation, serialization, oversized, transport_unavailable, auth, unknown
    field: str | None = None  # the failing field, for validation

    @property
    def retriable(self) -> bool:
        return self.name in RETRIABLE_CLASSES


def classify(cause: str) -> CauseClass:
    """`validation:status` → validation (field status); `torn_line` → serialization; and so on."""
    head, _, rest = (cause or "").partition(":")
    head = head.strip().lower()
    if head == "validation":
        return CauseClass("validation", rest or None)
    if head in SERIALIZATION_CAUSES or head == "serialization":
        return CauseClass("serialization")
    if head == "oversized":
        return CauseClass("oversized")
    # Checked before transport: "auth_unavailable" is a credentials problem that retrying will not fix.
    if any(word in head for word in _AUTH_WORDS):
        return CauseClass("auth")
    if any(word in head for word in _TRANSPORT_WORDS):
        return CauseClass("transport_unavailable")
    return CauseClass("unknown")


@dataclass(frozen=True)
class RetryPolicy:
    """Exponential backoff for retriable classes (no jitter: retries are batch sweeps, not a herd)."""
    base_delay: timedelta = timedelta(minutes=1)
    factor: float = 2.0
    max_delay: timedelta = timedelta(hours=6)
    max_attempts: int = 20  # past this a retriable letter is parked too, so a poison record stops costing

    def delay(self, attempts: int) -> timedelta:
        seconds = self.base_delay.total_seconds() * self.factor ** max(attempts - 1, 0)
        return timedelta(seconds=min(seconds, self.max_delay.total_seconds()))

    def next_attempt_at(self, attempts: int, last_error_at: datetime) -> datetime:
        return last_error_at + self.delay(attempts)


@dataclass
class QueuedLetter:
    """One dead-letter record and the file it lives in; old records lack the retry fields and get defaults."""
    path: Path
    record: dict

    @property
    def cause(self) -> str:
        return self.record.get("cause") or "unknown"

    @property
    def cause_class(self) -> CauseClass:
        return classify(self.cause)

    @property
    def attempts(self) -> int:
        return int(self.record.get("attempts") or 1)  # the failure that made the record was the first

    @property
    def first_error_at(self) -> datetime:
        return _timestamp(self.record.get("first_error_at") or self.record.get("recorded_at"))

    @property
    def last_error_at(self) -> datetime:
        return _timestamp(self.record.get("last_error_at") or self.record.get("recorded_at"))

    def next_attempt_at(self, policy: RetryPolicy) -> datetime | None:
        """When a retry is due; None when parked (its class needs a fix first, or attempts ran out)."""
        if not self.cause_class.retriable or self.attempts >= policy.max_attempts:
            return None
        return policy.next_attempt_at(self.attempts, self.last_error_at)

    def payload_bytes(self) -> bytes:
        if "payload_b64" in self.record:
            return base64.b64decode(self.record["payload_b64"])
        return (self.record.get("payload") or "").encode("utf-8", "surrogatepass")


@dataclass
class RetryReport:
    """What one retry sweep did; `still_failing` letters were kept with attempts + 1."""
    considered: int = 0
    delivered: int = 0
    events_landed: int = 0
    still_failing: int = 0
    not_due: int = 0
    parked: int = 0
    by_cause: dict[str, int] = field(default_factory=dict)  # causes of the still-failing ones

    def summary(self) -> str:
        return (f"{self.considered} retried: {self.delivered} delivered ({self.events_landed} event(s) landed), "
                f"{self.still_failing} still failing; skipped {self.not_due} not yet due, {self.parked} parked")


# The lock a retry or a purge holds on the store's folder (`store.file_lock`): they rewrite whole files, so two at
# once — two runs retrying, a retry beside a purge — would each rewrite what the other had just changed. New letters
# always go to new files and take no lock.
QUEUE_LOCK = ".queue.lock"


class DeadLetterQueue:
    """Reads and rewrites the store's files. A retry or a purge holds the store's lock (`QUEUE_LOCK`), so any
    number of processes may run them: one at a time, each seeing what the one before left."""

    def __init__(self, store: DeadLetterStore, policy: RetryPolicy | None = None):
        self.store = store
        self.policy = policy or RetryPolicy()

    def letters(self, cause: str | None = None) -> list[QueuedLetter]:
        found = []
        if not self.store.root.exists():
            return found
        for path in sorted(self.store.root.glob("*/*.jsonl")):
            with open(path, encoding="utf-8") as fh:
                for line in fh:
                    if line.strip():
                        letter = QueuedLetter(path, json.loads(line))
                        if _matches(letter, cause):
                            found.append(letter)
        return found

    def summary(self, cause: str | None = None, examples: int = 3, now: datetime | None = None) -> dict:
        """Counts by cause and by class, and the newest examples of each cause with their reasons."""
        now = now or datetime.now(timezone.utc)
        letters = self.letters(cause)
        by_cause: dict[str, list[QueuedLetter]] = defaultdict(list)
        for letter in letters:
            by_cause[letter.cause].append(letter)
        causes = []
        for name, group in sorted(by_cause.items(), key=lambda item: (-len(item[1]), item[0])):
            group.sort(key=lambda letter: letter.last_error_at, reverse=True)
            cls = classify(name)
            causes.append({
                "cause": name, "class": cls.name, "field": cls.field, "retriable": cls.retriable,
                "count": len(group), "due": sum(1 for g in group if _due(g, self.policy, now)),
                "examples": [_example(g, self.policy) for g in group[:examples]],
            })
        return {"root": str(self.store.root), "total": len(letters),
                "by_class": dict(Counter(letter.cause_class.name for letter in letters)), "causes": causes}

    def retry(self, landing: LandingZone, *, cause: str | None = None, include_parked: bool = False,
              now: datetime | None = None,
              deliver: Callable[[LandingZone, list[WideEvent]], int] | None = None) -> RetryReport:
        """Re-parse due letters with the contract; land the ones that pass and drop them from the store.

        Without `include_parked` only retriable classes whose backoff has passed are tried; with it,
        every letter (e.g. after a parser fix). `deliver` lands events (default: only ids not landed yet,
        so a sweep interrupted between landing and rewriting its file adds nothing twice next time).
        """
        with folder_lock(self.store.root, QUEUE_LOCK):
            return self._retry(landing, cause, include_parked, now or datetime.now(timezone.utc),
                               deliver or land_new_events)

    def _retry(self, landing: LandingZone, cause: str | None, include_parked: bool, now: datetime,
               deliver: Callable[[LandingZone, list[WideEvent]], int]) -> RetryReport:
        report = RetryReport()
        failing: Counter[str] = Counter()
        by_file: dict[Path, list[QueuedLetter]] = defaultdict(list)
        for letter in self.letters():
            by_file[letter.path].append(letter)
        for path, letters in by_file.items():
            kept: list[dict] = []
            changed = False
            for letter in letters:
                if not _matches(letter, cause):
                    kept.append(letter.record)
                    continue
                if not include_parked:
                    if letter.next_attempt_at(self.policy) is None:
                        report.parked += 1
                        kept.append(letter.record)
                        continue
                    if not _due(letter, self.policy, now):
                        report.not_due += 1
                        kept.append(letter.record)
                        continue
                report.considered += 1
                changed = True
                outcome = reparse(letter)
                if isinstance(outcome, list):
                    try:
                        report.events_landed += deliver(landing, outcome)
                    except Exception as exc:  # noqa: BLE001 - any delivery failure keeps the letter
                        outcome = ("transport_unavailable", f"landing zone unavailable: {type(exc).__name__}: {exc}")
                    else:
                        report.delivered += 1
                        continue
                new_cause, reason = outcome
                failing[new_cause] += 1
                report.still_failing += 1
                kept.append(_failed_again(letter, new_cause, reason, now, self.policy))
            if changed:
                _rewrite(path, kept)
        report.by_cause = dict(failing)
        return report

    def purge(self, cause: str | None = None, older_than: timedelta | None = None,
              now: datetime | None = None) -> int:
        """Delete letters of `cause` (all causes when None) last failing more than `older_than` ago."""
        with folder_lock(self.store.root, QUEUE_LOCK):
            return self._purge(cause, older_than, now or datetime.now(timezone.utc))

    def _purge(self, cause: str | None, older_than: timedelta | None, now: datetime) -> int:
        removed = 0
        by_file: dict[Path, list[QueuedLetter]] = defaultdict(list)
        for letter in self.letters():
            by_file[letter.path].append(letter)
        for path, letters in by_file.items():
            kept = [letter.record for letter in letters
                    if not (_matches(letter, cause) and (older_than is None or now - letter.last_error_at > older_than))]
            if len(kept) != len(letters):
                removed += len(letters) - len(kept)
                _rewrite(path, kept)
        return removed


def reparse(letter: QueuedLetter) -> list[WideEvent] | tuple[str, str]:
    """The letter's payload through the contract again: its events, or (cause, reason) of the failure."""
    data = letter.payload_bytes()
    if len(data) > MAX_RECORD_BYTES:
        return "oversized", f"record is {len(data):,} bytes, over the {MAX_RECORD_BYTES:,}-byte limit"
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as exc:
        return "encoding", f"payload is not valid UTF-8 (byte {exc.start})"
    try:
        if text.lstrip()[:1] not in ("{", "["):
            return [parse_plain_text(text, letter.record.get("source") or "")]
        try:
            value = json.loads(text)
        except (ValueError, RecursionError) as exc:
            # A torn line stays torn: its JSON error is only the symptom of the interrupted write.
            cause = "torn_line" if letter.cause == "torn_line" else "invalid_json"
            return cause, f"invalid JSON: {exc}"
        return _events(value)
    except EventValidationError as exc:
        return exc.cause, str(exc)
    except (TypeError, OverflowError, RecursionError, ValueError) as exc:
        return "validation:<record>", f"rejected by the contract parser: {type(exc).__name__}: {exc}"


def _events(value) -> list[WideEvent]:
    if is_otlp_document(value):
        events = []
        for item in parse_otlp_document(value):
            if isinstance(item, EventValidationError):
                raise item  # all or nothing: a half-delivered document would leave its letter ambiguous
            events.append(item)
        return events
    if looks_like_otlp_record(value):
        return [parse_otel_record(value, {})]
    return [parse_event(value)]


def _failed_again(letter: QueuedLetter, cause: str, reason: str, now: datetime, policy: RetryPolicy) -> dict:
    record = dict(letter.record)
    record.setdefault("first_error_at", letter.first_error_at.isoformat())
    record.update(cause=cause, reason=reason, attempts=letter.attempts + 1, last_error_at=now.isoformat(),
                  cause_class=classify(cause).name)
    updated = QueuedLetter(letter.path, record)
    due = updated.next_attempt_at(policy)
    record["next_attempt_at"] = due.isoformat() if due else None
    return record


def _rewrite(path: Path, records: Iterable[dict]) -> None:
    """Replace the file atomically (write a hidden temp, fsync, rename); delete it when nothing is left."""
    records = list(records)
    if not records:
        path.unlink(missing_ok=True)
        return
    tmp = path.with_name("." + path.name + ".partial")
    with open(tmp, "w", encoding="utf-8") as fh:
        for record in records:
            fh.write(record_line(record) + "\n")
        fh.flush()
        os.fsync(fh.fileno())
    os.replace(tmp, path)


def _matches(letter: QueuedLetter, cause: str | None) -> bool:
    # "validation" matches every validation:<field>; a full cause matches only itself.
    return cause is None or letter.cause == cause or letter.cause.startswith(cause + ":") \
        or letter.cause_class.name == cause


def _due(letter: QueuedLetter, policy: RetryPolicy, now: datetime) -> bool:
    due = letter.next_attempt_at(policy)
    return due is not None and due <= now


def _example(letter: QueuedLetter, policy: RetryPolicy) -> dict:
    due = letter.next_attempt_at(policy)
    payload = letter.record.get("payload")
    return {"dead_letter_id": letter.record.get("dead_letter_id"), "source": letter.record.get("source"),
            "reason": letter.record.get("reason"), "attempts": letter.attempts,
            "first_error_at": letter.first_error_at.isoformat(), "last_error_at": letter.last_error_at.isoformat(),
            "next_attempt_at": due.isoformat() if due else None,
            "payload_preview": payload[:200] if isinstance(payload, str) else f"<{letter.record.get('payload_bytes')} bytes, base64>"}


def _timestamp(text: str | None) -> datetime:
    if not text:
        return datetime.fromtimestamp(0, timezone.utc)
    ts = datetime.fromisoformat(text.replace("Z", "+00:00"))
    return ts if ts.tzinfo else ts.replace(tzinfo=timezone.utc)
