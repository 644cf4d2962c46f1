"""The digest's outbox against a real webhook on 127.0.0.1: delivered, retried with backoff, kept pending
while the webhook is down, parked in failed/ when rejected; never raising, never writing the URL down."""
from __future__ import annotations

import json
import logging
import socket
import threading
import time
from datetime import datetime, timedelta, timezone
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from logintel.digest.delivery import deliver_pending, enqueue, slack_message

TOKEN = "xoxTESTSECRETtoken42"
HANG = "hang"
NOW = datetime(2026, 3, 2, 7, 0, tzinfo=timezone.utc)


class ScriptedWebhook:
    """Answers each POST with the next scripted reply, (status, headers, body) or HANG; then 200 "ok"."""

    def __init__(self) -> None:
        self.replies: list = []
        self.requests: list[dict] = []
        self.release = threading.Event()
        self.url = ""


class _Handler(BaseHTTPRequestHandler):
    def do_POST(self) -> None:
        hook: ScriptedWebhook = self.server.hook
        body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
        hook.requests.append({"path": self.path, "headers": dict(self.headers), "body": body})
        reply = hook.replies.pop(0) if hook.replies else (200, {}, "ok")
        if reply == HANG:
            hook.release.wait(10)
            return
        status, headers, text = reply
        data = text.encode()
        self.send_response(status)
        for name, value in headers.items():
            self.send_header(name, value)
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def log_message(self, *args) -> None:
        pass


@pytest.fixture
def webhook():
    hook = ScriptedWebhook()
    server = ThreadingHTTPServer(("127.0.0.1", 0), _Handler)
    server.hook = hook
    thread = threading.Thread(target=server.serve_forever, args=(0.05,), daemon=True)
    thread.start()
    hook.url = f"http://127.0.0.1:{server.server_port}/services/T0001/B0002/{TOKEN}"
    yield hook
    hook.release.set()
    server.shutdown()
    server.server_close()


@pytest.fixture
def outbox(tmp_path):
    return tmp_path / "deliveries"


@pytest.fixture
def sleeps():
    return []


def deliver(outbox, url, sleeps, **kwargs):
    return deliver_pending(outbox, url, sleep=sleeps.append, **{"now": NOW, **kwargs})


def files(outbox, folder):
    return sorted((outbox / folder).glob("*.json"))


def record(path):
    return json.loads(path.read_text())


def error(status, body="", headers=None):
    return (status, headers or {}, body)


def test_a_delivered_message_moves_to_sent_and_the_webhook_gets_its_exact_json(outbox, webhook, sleeps):
    payload = slack_message("Daily digest 2026-03-01", "*All quiet.*\n• 0 incidents")
    enqueue(outbox, "digest", "2026-03-01", payload)

    report = deliver(outbox, webhook.url, sleeps)

    assert (report["sent"], report["retrying"], report["failed"], report["pending"]) == (1, 0, 0, 0)
    assert [o["outcome"] for o in report["outcomes"]] == ["sent"]
    (request,) = webhook.requests
    assert json.loads(request["body"]) == payload
    assert request["headers"]["Content-Type"] == "application/json"
    assert request["path"] == f"/services/T0001/B0002/{TOKEN}"
    assert files(outbox, "pending") == [] and sleeps == []
    (sent,) = files(outbox, "sent")
    assert record(sent)["status"] == 200 and record(sent)["sent_at"] == NOW.isoformat()
    assert record(sent)["payload"] == payload and record(sent)["attempts"] == 1


def test_server_errors_are_retried_with_growing_backoff(outbox, webhook, sleeps):
    webhook.replies = [error(500), error(503)]
    enqueue(outbox, "digest", "2026-03-01", {"text": "hi"})

    report = deliver(outbox, webhook.url, sleeps, backoff_s=0.5)

    assert report["sent"] == 1 and report["outcomes"][0]["attempts"] == 3
    assert len(webhook.requests) == 3
    assert sleeps == [0.5, 1.0] and sleeps[1] > sleeps[0]


def test_a_webhook_that_keeps_failing_keeps_the_message_until_it_recovers(outbox, webhook, sleeps):
    webhook.replies = [error(500)] * 9
    enqueue(outbox, "digest", "2026-03-01", {"text": "hi"})

    now = NOW
    for failures in (1, 2, 3):
        report = deliver(outbox, webhook.url, sleeps, now=now)
        assert (report["sent"], report["retrying"], report["pending"]) == (0, 1, 1)
        (pending,) = files(outbox, "pending")
        kept = record(pending)
        assert kept["attempts"] == 3 * failures and kept["failures"] == failures
        assert "HTTP 500" in kept["last_error"] and kept["payload"] == {"text": "hi"}
        assert datetime.fromisoformat(kept["next_attempt_at"]) > now
        now = datetime.fromisoformat(kept["next_attempt_at"])

    assert deliver(outbox, webhook.url, sleeps, now=now)["sent"] == 1
    (sent,) = files(outbox, "sent")
    assert record(sent)["attempts"] == 10 and record(sent)["last_error"] is None
    assert files(outbox, "pending") == []


def test_a_message_not_yet_due_waits_without_a_request(outbox, webhook, sleeps):
    webhook.replies = [error(502)] * 3
    enqueue(outbox, "digest", "2026-03-01", {"text": "hi"})
    deliver(outbox, webhook.url, sleeps)

    report = deliver(outbox, webhook.url, sleeps, now=NOW + timedelta(seconds=5))

    assert [o["outcome"] for o in report["outcomes"]] == ["deferred"] and report["pending"] == 1
    assert len(webhook.requests) == 3


def test_a_rate_limit_waits_as_long_as_the_server_asks(outbox, webhook, sleeps):
    webhook.replies = [error(429, "rate_limited", {"Retry-After": "2"})]
    enqueue(outbox, "digest", "2026-03-01", {"text": "hi"})

    assert deliver(outbox, webhook.url, sleeps)["sent"] == 1
    assert sleeps == [2.0]


def test_a_retry_after_longer_than_a_call_waits_is_left_to_a_later_call(outbox, webhook, sleeps):
    webhook.replies = [error(429, "rate_limited", {"Retry-After": "600"})]
    enqueue(outbox, "digest", "2026-03-01", {"text": "hi"})

    report = deliver(outbox, webhook.url, sleeps)

    assert report["retrying"] == 1 and sleeps == [] and len(webhook.requests) == 1
    (pending,) = files(outbox, "pending")
    assert record(pending)["next_attempt_at"] == (NOW + timedelta(seconds=600)).isoformat()


@pytest.mark.parametrize("status, body", [(400, "invalid_payload"), (404, "no_service")])
def test_a_rejected_message_goes_to_failed_with_the_reason(outbox, webhook, sleeps, status, body):
    webhook.replies = [error(status, body)]
    enqueue(outbox, "briefing", "INC-7", {"text": "hi"})

    report = deliver(outbox, webhook.url, sleeps)

    assert (report["sent"], report["retrying"], report["failed"], report["pending"]) == (0, 0, 1, 0)
    assert len(webhook.requests) == 1 and sleeps == []
    (failed,) = files(outbox, "failed")
    assert f"HTTP {status}" in record(failed)["last_error"] and body in record(failed)["last_error"]
    assert record(failed)["payload"] == {"text": "hi"}


def test_a_dead_port_keeps_the_message_pending_and_does_not_raise(outbox, sleeps):
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    enqueue(outbox, "digest", "2026-03-01", {"text": "hi"})

    report = deliver(outbox, f"http://127.0.0.1:{port}/services/{TOKEN}", sleeps)

    assert (report["retrying"], report["pending"]) == (1, 1) and sleeps == [0.5, 1.0]
    (pending,) = files(outbox, "pending")
    assert record(pending)["attempts"] == 3 and "Connection" in record(pending)["last_error"]


def test_a_hanging_webhook_times_out_and_is_retried(outbox, webhook, sleeps):
    webhook.replies = [HANG]
    enqueue(outbox, "digest", "2026-03-01", {"text": "hi"})

    started = time.monotonic()
    report = deliver(outbox, webhook.url, sleeps, timeout_s=0.3)

    assert report["sent"] == 1 and len(webhook.requests) == 2 and sleeps == [0.5]
    assert time.monotonic() - started < 5


def test_once_the_webhook_is_down_the_rest_wait_for_a_later_call(outbox, webhook, sleeps):
    webhook.replies = [error(500)] * 3
    enqueue(outbox, "digest", "2026-03-01", {"text": "one"})
    enqueue(outbox, "briefing", "INC-1", {"text": "two"})

    report = deliver(outbox, webhook.url, sleeps)

    assert [o["outcome"] for o in report["outcomes"]] == ["retrying", "deferred"]
    assert report["pending"] == 2 and len(webhook.requests) == 3
    assert deliver(outbox, webhook.url, sleeps, now=NOW + timedelta(hours=1))["sent"] == 2


def test_without_a_webhook_url_messages_wait(outbox, sleeps):
    enqueue(outbox, "digest", "2026-03-01", {"text": "hi"})

    report = deliver(outbox, None, sleeps)

    assert report["pending"] == 1 and report["outcomes"][0]["outcome"] == "deferred"
    assert "no webhook URL" in report["outcomes"][0]["error"]


def test_enqueuing_the_same_key_twice_leaves_one_file_with_the_latest_payload(outbox):
    first = enqueue(outbox, "digest", "2026-03-01", {"text": "draft"})
    second = enqueue(outbox, "digest", "2026-03-01", {"text": "final"})
    other = enqueue(outbox, "digest", "2026-03-02", {"text": "next day"})

    assert first == second != other
    assert files(outbox, "pending") == sorted([second, other])
    assert record(second)["payload"] == {"text": "final"}
    assert [p.name for p in (outbox / "pending").iterdir() if p.name.startswith(".")] == []


def test_the_webhook_url_stays_out_of_files_reports_and_logs(outbox, webhook, sleeps, caplog):
    webhook.replies = [error(400, "invalid_payload"), error(500), error(500), error(500)]
    for key in ("rejected", "kept", "sent"):
        enqueue(outbox, "digest", key, {"text": key})

    with caplog.at_level(logging.DEBUG, logger="logintel.digest.delivery"):
        first = deliver(outbox, webhook.url, sleeps)
        second = deliver(outbox, webhook.url, sleeps, now=NOW + timedelta(hours=1))

    assert (first["failed"], first["retrying"], second["sent"]) == (1, 1, 2)
    written = [p.read_text() for p in outbox.rglob("*") if p.is_file()]
    for text in written + [json.dumps(first), json.dumps(second), caplog.text]:
        assert TOKEN not in text and "/services/" not in text
    host = webhook.url.split("/services/")[0]
    assert first["endpoint"] == host and host in caplog.text


def test_a_short_text_is_a_header_and_one_section():
    message = slack_message("Daily digest", "*All quiet.*\n\n• 0 incidents")

    assert message["text"] == "Daily digest"
    assert message["blocks"] == [
        {"type": "header", "text": {"type": "plain_text", "text": "Daily digest"}},
        {"type": "section", "text": {"type": "mrkdwn", "text": "*All quiet.*\n\n• 0 incidents"}},
    ]


def test_long_text_is_split_at_line_ends_into_sections_within_the_limit():
    lines = [f"• line {i:03d} " + "x" * (i % 40) for i in range(60)]

    sections = [b["text"]["text"] for b in slack_message("Digest", "\n".join(lines), limit=200)["blocks"][1:]]

    assert len(sections) > 1 and all(len(s) <= 200 for s in sections)
    assert [line for s in sections for line in s.split("\n")] == lines  # whole lines, in order, none lost


def test_a_line_longer_than_a_section_is_cut_into_pieces():
    sections = [b["text"]["text"] for b in slack_message("Digest", "y" * 250, limit=100)["blocks"][1:]]

    assert [len(s) for s in sections] == [100, 100, 50]


def test_text_past_slacks_block_limit_is_cut_with_a_note_saying_where_the_full_text_is():
    markdown = "\n".join(f"• finding {i:05d} " + "z" * 80 for i in range(3000))

    blocks = slack_message("Digest " + "t" * 200, markdown, url="/srv/digests/2026-03-01.md")["blocks"]

    assert len(blocks) == 50
    assert len(blocks[0]["text"]["text"]) == 150
    assert all(len(b["text"]["text"]) <= 3000 for b in blocks[1:])
    note = blocks[-1]["text"]["text"]
    assert "Cut to fit Slack" in note and "/srv/digests/2026-03-01.md" in note


@pytest.mark.parametrize("title, limit", [("  ", 3000), ("Digest", 0), ("Digest", 3001)])
def test_a_message_needs_a_title_and_a_limit_slack_takes(title, limit):
    with pytest.raises(ValueError):
        slack_message(title, "text", limit=limit)


def test_slack_text_from_data_cannot_mention_link_or_mark_up():
    hostile = "route `/x <!channel> <@U123> <http://evil|click> <script>alert(7)</script>` & more"
    payload = slack_message("Digest <!here>", hostile)
    texts = [payload["text"]] + [b["text"]["text"] for b in payload["blocks"][1:]]
    for text in texts:
        assert "<" not in text and ">" not in text
    body = payload["blocks"][1]["text"]["text"]
    assert "&lt;!channel&gt;" in body and "&lt;@U123&gt;" in body and "&amp; more" in body
    assert payload["text"] == "Digest &lt;!here&gt;"


def test_a_long_line_is_never_cut_inside_an_entity():
    sections = [b["text"]["text"] for b in slack_message("Digest", "a" * 97 + "<" * 40, limit=100)["blocks"][1:]]
    joined = "".join(sections)
    assert joined == "a" * 97 + "&lt;" * 40
    for section in sections:
        assert len(section) <= 100 and not section.startswith(("lt;", "t;", ";"))
