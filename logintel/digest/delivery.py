"""Delivery of the daily digest and situation briefings to a Slack-compatible incoming webhook.

Messages pass through an outbox on disk, so none is lost while the webhook is down: `enqueue` writes one
JSON file per message under pending/ (named by kind and key: re-enqueuing the same day replaces it), and
`deliver_pending` POSTs each one that is due, retrying transient failures with exponential backoff. A
delivered message moves to sent/; one the webhook rejects (a 3xx or a 4xx other than 408 and 429: retrying
cannot help) to failed/; one that still fails stays in pending/ with its attempts, last error and
next-attempt time, for a later call. Nothing is deleted, and delivery never raises: its report says what
happened. The webhook URL is a secret: logs and reports show its scheme and host only, files never hold it.
"""
from __future__ import annotations

import hashlib
import http.client
import json
import logging
import os
import re
import tempfile
import time
import urllib.error
import urllib.request
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Callable
from urllib.parse import urlsplit

from logintel.llm.gateway import parse_retry_after
from logintel.store.file_lock import folder_lock

logger = logging.getLogger("logintel.digest.delivery")

PENDING, SENT, FAILED, RETRYING, DEFERRED = "pending", "sent", "failed", "retrying", "deferred"
MAX_WAIT_S = 30.0  # the longest one call sleeps between tries; a longer Retry-After is left to a later call
RETRY_LATER_BASE = timedelta(minutes=1)  # after a failed delivery; doubled per failure in a row, up to the cap
RETRY_LATER_CAP = timedelta(hours=1)
ERROR_BODY_CHARS = 200
SECTION_CHARS = 3000  # Slack: characters in a section's text
MAX_BLOCKS = 50       # Slack: blocks in a message
HEADER_CHARS = 150    # Slack: characters in a header's text


# -- the outbox ----------------------------------------------------------------------------------------

def enqueue(deliveries_dir: Path, kind: str, key: str, payload: dict) -> Path:
    """Put a message in the outbox; one of the same kind and key still pending is replaced, attempts and all."""
    record = {"kind": kind, "key": key, "enqueued_at": _iso(_utcnow()), "attempts": 0, "failures": 0,
              "last_error": None, "last_attempt_at": None, "next_attempt_at": None, "payload": payload}
    text = json.dumps(record, ensure_ascii=False, indent=2)  # a payload that is not JSON fails here, early
    path = Path(deliveries_dir) / PENDING / _message_name(kind, key)
    path.parent.mkdir(parents=True, exist_ok=True)
    with _outbox_lock(deliveries_dir):
        _write_atomically(path, text)
    return path


def deliver_pending(deliveries_dir: Path, url: str | None, *, attempts: int = 3, backoff_s: float = 0.5,
                    timeout_s: float = 10, sleep: Callable[[float], None] = time.sleep,
                    now: datetime | None = None) -> dict:
    """POST every due pending message to `url`, oldest first, and report the outcome; never raises.

    Report: `sent`, `retrying` (failed this call, kept for a later one) and `failed` (rejected, moved to
    failed/) count this call's outcomes; `pending` counts what is left in pending/ (retrying, not yet due,
    or deferred because the webhook is down); `outcomes` has one entry per pending message. `now` (UTC
    when naive) decides which messages are due and stamps the records."""
    if attempts < 1:
        raise ValueError(f"attempts must be >= 1, got {attempts}")
    now = _utcnow() if now is None else now if now.tzinfo else now.replace(tzinfo=timezone.utc)
    report = {"endpoint": _origin(url), SENT: 0, RETRYING: 0, FAILED: 0, PENDING: 0, "outcomes": []}
    pending_dir = Path(deliveries_dir) / PENDING
    try:
        pending_dir.mkdir(parents=True, exist_ok=True)
        with _outbox_lock(deliveries_dir):
            # Once a message has used up its tries, the webhook is down: the rest wait for a later call.
            unavailable = _url_problem(url)
            for path, record in _oldest_first(pending_dir):
                if unavailable is not None or not _due(record, now):
                    outcome = _outcome(path, record, DEFERRED, unavailable)
                else:
                    answer, tries = _deliver(record, url, attempts, backoff_s, timeout_s, sleep)
                    outcome = _settle(path, record, answer, tries, now, report["endpoint"])
                    if outcome["outcome"] == RETRYING:
                        unavailable = f"webhook unavailable: {answer.error}"
                report["outcomes"].append(outcome)
                if outcome["outcome"] != DEFERRED:
                    report[outcome["outcome"]] += 1
            report[PENDING] = sum(1 for _ in pending_dir.glob("*.json"))
    except OSError as exc:  # the outbox itself (a full disk, no permission): said, never raised
        logger.error("digest delivery: outbox %s unusable: %s", deliveries_dir, exc)
        report["error"] = f"outbox unusable: {exc}"
    return report


def _message_name(kind: str, key: str) -> str:
    """`digest`, `2026-03-01` -> `digest-2026-03-01-<hash>.json`: stable, file-safe, one per (kind, key)."""
    slug = re.sub(r"[^A-Za-z0-9._-]+", "_", f"{kind}-{key}").strip("._")[:80]
    digest = hashlib.sha256("\0".join((kind, key)).encode("utf-8")).hexdigest()[:10]
    return f"{slug}-{digest}.json"


def _oldest_first(pending_dir: Path) -> list[tuple[Path, dict]]:
    messages = []
    for path in sorted(pending_dir.glob("*.json")):
        try:
            record = json.loads(path.read_text(encoding="utf-8"))
        except ValueError:
            record = None
        if isinstance(record, dict) and isinstance(record.get("payload"), dict):
            messages.append((path, record))
        else:
            logger.error("digest delivery: %s is not a message, moved to %s/ as it is", path.name, FAILED)
            _move(path, FAILED)
    return sorted(messages, key=lambda message: message[1].get("enqueued_at") or "")


def _due(record: dict, now: datetime) -> bool:
    try:
        due = datetime.fromisoformat(record.get("next_attempt_at") or "")
    except ValueError:
        return True  # never tried, or a time that cannot be read: trying beats waiting forever
    return (due if due.tzinfo else due.replace(tzinfo=timezone.utc)) <= now


def _settle(path: Path, record: dict, answer: _Answer, tries: int, now: datetime, endpoint: str) -> dict:
    """Record the delivery's result in the message, and move it to sent/ or failed/ when it is final."""
    record.update(attempts=record.get("attempts", 0) + tries, last_attempt_at=_iso(now), status=answer.status,
                  last_error=answer.error)
    if answer.delivered:
        record.update(sent_at=_iso(now), next_attempt_at=None)
        _write_atomically(path, json.dumps(record, ensure_ascii=False, indent=2))
        _move(path, SENT)
        logger.info("digest delivery: %s sent to %s (HTTP %s)", path.name, endpoint, answer.status)
        return _outcome(path, record, SENT)
    if not answer.transient:
        record.update(failed_at=_iso(now), next_attempt_at=None)
        _write_atomically(path, json.dumps(record, ensure_ascii=False, indent=2))
        _move(path, FAILED)
        logger.error("digest delivery: %s rejected by %s, moved to %s/: %s", path.name, endpoint, FAILED,
                     answer.error)
        return _outcome(path, record, FAILED, answer.error)
    record["failures"] = record.get("failures", 0) + 1
    record["next_attempt_at"] = _iso(now + _retry_later(record["failures"], answer.retry_after_s))
    _write_atomically(path, json.dumps(record, ensure_ascii=False, indent=2))
    logger.warning("digest delivery: %s not delivered to %s after %d tries (%s), next try after %s",
                   path.name, endpoint, tries, answer.error, record["next_attempt_at"])
    return _outcome(path, record, RETRYING, answer.error)


def _retry_later(failures: int, retry_after_s: float | None) -> timedelta:
    delay = RETRY_LATER_BASE * 2 ** min(failures - 1, 6)  # 2**6 minutes is past the cap already
    if retry_after_s is not None:
        delay = max(delay, timedelta(seconds=retry_after_s))
    return min(delay, RETRY_LATER_CAP)


def _outcome(path: Path, record: dict, outcome: str, error: str | None = None) -> dict:
    return {"message": path.name, "kind": record.get("kind"), "key": record.get("key"), "outcome": outcome,
            "status": record.get("status"), "attempts": record.get("attempts", 0), "error": error,
            "next_attempt_at": record.get("next_attempt_at")}


def _move(path: Path, folder: str) -> None:
    target = path.parent.parent / folder / path.name
    target.parent.mkdir(parents=True, exist_ok=True)
    os.replace(path, target)


def _outbox_lock(deliveries_dir: Path):
    """One writer at a time: an enqueue never lands between a delivery's POST and its move to sent/."""
    return folder_lock(deliveries_dir)


def _write_atomically(path: Path, text: str) -> None:
    """Write beside the target, then rename over it: a reader sees the old file or the new, never half."""
    handle = tempfile.NamedTemporaryFile("w", encoding="utf-8", dir=path.parent, prefix=f".{path.name}.",
                                         suffix=".tmp", delete=False)
    try:
        with handle:
            handle.write(text)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(handle.name, path)
    except BaseException:
        Path(handle.name).unlink(missing_ok=True)
        raise


def _utcnow() -> datetime:
    return datetime.now(timezone.utc)


def _iso(when: datetime) -> str:
    return when.isoformat(timespec="seconds")


# -- the webhook ---------------------------------------------------------------------------------------

@dataclass(frozen=True)
class _Answer:
    """What a POST came to: the HTTP status (None: no answer at all) and, when it failed, why."""
    status: int | None
    error: str | None = None
    retry_after_s: float | None = None

    @property
    def delivered(self) -> bool:
        return self.status is not None and 200 <= self.status < 300

    @property
    def transient(self) -> bool:
        # No answer, a server-side timeout, a rate limit or a server error: the same POST may pass later.
        return self.status is None or self.status in (408, 429) or self.status >= 500


def _deliver(record: dict, url: str, attempts: int, backoff_s: float, timeout_s: float,
             sleep: Callable[[float], None]) -> tuple[_Answer, int]:
    """POST the message up to `attempts` times; the last answer and how many tries it took."""
    body = json.dumps(record["payload"], ensure_ascii=False).encode("utf-8")
    for attempt in range(1, attempts + 1):
        answer = _post(url, body, timeout_s)
        if answer.delivered or not answer.transient or attempt == attempts:
            return answer, attempt
        if answer.retry_after_s is not None and answer.retry_after_s > MAX_WAIT_S:
            return answer, attempt  # the server will not take it back within this call
        delay = answer.retry_after_s if answer.retry_after_s is not None else backoff_s * 2 ** (attempt - 1)
        sleep(min(delay, MAX_WAIT_S))
    raise AssertionError("unreachable")


class _NoRedirects(urllib.request.HTTPRedirectHandler):
    """A redirect is the webhook's answer: urllib would follow it as a GET and drop the message."""

    def redirect_request(self, req, fp, code, msg, headers, newurl):
        return None


def _post(url: str, body: bytes, timeout_s: float) -> _Answer:
    request = urllib.request.Request(url, data=body, method="POST", headers={"Content-Type": "application/json"})
    try:
        with urllib.request.build_opener(_NoRedirects).open(request, timeout=timeout_s) as response:
            return _Answer(response.status)
    except urllib.error.HTTPError as exc:
        detail = _error_body(exc)
        error = f"HTTP {exc.code} {exc.reason}" + (f": {detail}" if detail else "")
        return _Answer(exc.code, _redact(error, url), _retry_after_s(exc.headers.get("Retry-After")))
    except (OSError, http.client.HTTPException, ValueError) as exc:
        cause = exc.reason if isinstance(exc, urllib.error.URLError) else exc
        return _Answer(None, _redact(f"{type(cause).__name__}: {cause}", url))


def _error_body(exc: urllib.error.HTTPError) -> str:
    """The start of an error's body (Slack's reason: `invalid_payload`, `no_service`), or '' if unreadable."""
    try:
        return exc.read(ERROR_BODY_CHARS).decode("utf-8", "replace").strip()
    except (OSError, http.client.HTTPException):
        return ""
    finally:
        exc.close()


def _retry_after_s(value: str | None) -> float | None:
    return parse_retry_after(value, _utcnow())


def _url_problem(url: str | None) -> str | None:
    if not url:
        return "no webhook URL configured"
    return None if _origin(url) else "the webhook URL is not an http(s) URL"


def _origin(url: str | None) -> str | None:
    """`https://hooks.slack.com/services/T/B/secret` -> `https://hooks.slack.com`: the part safe to show."""
    try:
        parts = urlsplit(url or "")
        port = parts.port
    except ValueError:
        return None
    if parts.scheme not in ("http", "https") or not parts.hostname:
        return None
    return f"{parts.scheme}://{parts.hostname}" + (f":{port}" if port else "")


def _redact(text: str, url: str) -> str:
    """An error message with the URL, or its path (the token), cut out."""
    parts = urlsplit(url)
    for secret in (url, parts.path + (f"?{parts.query}" if parts.query else ""), parts.path):
        if len(secret) > 1:
            text = text.replace(secret, "<webhook>")
    return text


# -- the Slack message ---------------------------------------------------------------------------------

def slack_message(title: str, markdown: str, url: str | None = None, limit: int = SECTION_CHARS) -> dict:
    """The webhook payload of a titled text: a header, then the text in mrkdwn sections of at most `limit`
    characters, cut at line ends. Past Slack's 50 blocks the text is cut, and a last section says so and
    where the full text is (`url`: a link or a file path)."""
    if not 0 < limit <= SECTION_CHARS:
        raise ValueError(f"limit must be 1..{SECTION_CHARS} characters, got {limit}")
    header = _clip(" ".join(title.split()), HEADER_CHARS)
    if not header:
        raise ValueError("a Slack message needs a title")
    sections = _sections(slack_escaped(markdown), limit)
    room = MAX_BLOCKS - 1
    if len(sections) > room:
        hidden = sum(len(section) for section in sections[room - 1:])
        sections = sections[:room - 1] + [_clip(_truncation_note(hidden, url), limit)]
    blocks = [{"type": "header", "text": {"type": "plain_text", "text": header}}]
    blocks += [{"type": "section", "text": {"type": "mrkdwn", "text": section}} for section in sections]
    return {"text": slack_escaped(header), "blocks": blocks}


def slack_escaped(text: str) -> str:
    """Text for Slack's mrkdwn: `&`, `<` and `>` as the entities Slack asks for, so nothing from the data
    becomes a mention (`<!channel>`, `<@U…>`), a link (`<http://…|x>`) or markup, even inside code spans."""
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def _sections(markdown: str, limit: int) -> list[str]:
    """Whole lines packed into sections of at most `limit` characters; a longer line is cut into pieces."""
    sections, current = [], ""
    for line in markdown.splitlines():
        for piece in _pieces(line, limit) or [""]:
            joined = f"{current}\n{piece}" if current else piece
            if len(joined) <= limit:
                current = joined
            else:
                sections.append(current)
                current = piece
    sections.append(current)
    return [section.strip("\n") for section in sections if section.strip()]


def _pieces(line: str, limit: int) -> list[str]:
    """The line cut into pieces of at most `limit` characters, never inside an entity (`&amp;`)."""
    pieces = []
    while line:
        cut = min(limit, len(line))
        entity = line.rfind("&", max(0, cut - 5), cut)
        if cut < len(line) and entity > 0 and ";" in line[entity:entity + 6] and line.find(";", entity) >= cut:
            cut = entity
        pieces.append(line[:cut])
        line = line[cut:]
    return pieces


def _truncation_note(hidden: int, url: str | None) -> str:
    where = f" The full text: {url}" if url else ""
    return f":scissors: Cut to fit Slack: {hidden:,} more characters not shown.{where}"


def _clip(text: str, limit: int) -> str:
    return text if len(text) <= limit else text[:limit - 1] + "…"
