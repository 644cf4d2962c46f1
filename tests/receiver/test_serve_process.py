"""`logintel serve` as a process: it refuses an open bind without a token, and a SIGTERM drains the
requests in flight, closes the emitter and prints the accounting line."""
from __future__ import annotations

import http.client
import os
import signal
import subprocess
import sys
import threading
import time

import pytest

from tests.receiver.otlp_requests import many
from tests.support.postgres_cluster import free_port

pytestmark = pytest.mark.subprocess
LOGINTEL = os.path.join(os.path.dirname(sys.executable), "logintel")


def _env(home) -> dict:
    env = {k: v for k, v in os.environ.items() if not k.startswith("LOGINTEL_")}
    return {**env, "LOGINTEL_HOME": str(home)}


def test_binding_a_public_address_without_a_token_is_refused_with_the_reason(tmp_path):
    done = subprocess.run([LOGINTEL, "serve", "--host", "0.0.0.0", "--port", str(free_port())], env=_env(tmp_path),
                          capture_output=True, text=True, timeout=60)
    assert done.returncode == 2
    assert "LOGINTEL_RECEIVER_TOKEN" in done.stderr and "0.0.0.0" in done.stderr


def test_sigterm_drains_in_flight_requests_then_prints_a_balanced_account(tmp_path):
    port = free_port()
    proc = subprocess.Popen([LOGINTEL, "serve", "--port", str(port)], env=_env(tmp_path),
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            try:
                conn = http.client.HTTPConnection("127.0.0.1", port, timeout=2)
                conn.request("GET", "/healthz")
                if conn.getresponse().status == 200:
                    break
            except OSError:
                time.sleep(0.2)
        else:
            pytest.fail("logintel serve did not answer /healthz")
        body = many(512).SerializeToString()
        statuses: list[int] = []

        def post() -> None:
            try:
                conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
                conn.request("POST", "/v1/logs", body=body, headers={"Content-Type": "application/x-protobuf"})
                statuses.append(conn.getresponse().status)
            except OSError:
                statuses.append(-1)  # refused at the door once the listener closed

        senders = [threading.Thread(target=post) for _ in range(8)]
        for sender in senders:
            sender.start()
        time.sleep(0.05)
        proc.send_signal(signal.SIGTERM)
        for sender in senders:
            sender.join(30)
        out, err = proc.communicate(timeout=30)
    finally:
        if proc.poll() is None:
            proc.kill()
    assert proc.returncode == 0
    assert "listening on http://127.0.0.1" in out
    # Every request either got in before the listener closed and was answered 200 (landed), or was
    # refused at the door (a connection error, which a client retries): none was cut off half-way.
    assert len(statuses) == 8 and statuses.count(200) >= 1 and set(statuses) <= {200, -1}
    landed = sum(1 for path in (tmp_path / "landing").rglob("*.jsonl") for line in path.read_text().splitlines() if line)
    assert landed == 512 * statuses.count(200)
    assert "logintel serve: stopped;" in err and "balanced: True" in err and f"landed (files {landed:,})" in err
