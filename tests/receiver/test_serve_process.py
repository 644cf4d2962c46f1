"""`logintel serve` as a process: it refuses an open bind without a token, and a SIGTERM drains the
requests in flight, closes the emitter and prints the accounting line."""
from __future__ import annotations

import http.client
import signal
import subprocess
import threading
import time
from pathlib import Path

import pytest

from tests.receiver.otlp_requests import many
from tests.support.postgres_cluster import free_port
from tests.support.receiver import LOGINTEL, receiver_env, start_receiver
from tests.support.landing import landed_lines

pytestmark = pytest.mark.subprocess


def test_binding_a_public_address_without_a_token_is_refused_with_the_reason(tmp_path):
    done = subprocess.run([LOGINTEL, "serve", "--host", "0.0.0.0", "--port", str(free_port())], env=receiver_env(tmp_path),
                          capture_output=True, text=True, timeout=60)
    assert done.returncode == 2
    assert "LOGINTEL_RECEIVER_TOKEN" in done.stderr and "0.0.0.0" in done.stderr


def _landed(home) -> int:
    return len(landed_lines(home / "landing"))


def test_sigterm_drains_in_flight_requests_then_prints_a_balanced_account(tmp_path):
    proc, port = start_receiver(tmp_path)
    try:
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
    landed = _landed(tmp_path)
    assert landed == 512 * statuses.count(200)
    assert "logintel serve: stopped;" in err and "balanced: True" in err and f"landed (files {landed:,})" in err


def _worker_files(tmp: Path, prefix: str) -> set[str]:
    """The pids with a prometheus-client multiprocess file `prefix_*_<pid>.db` in the shared metrics folder."""
    return {f.stem.rsplit("_", 1)[-1] for f in tmp.glob(f"logintel-serve-metrics-*/{prefix}*.db")}


def test_several_workers_share_the_port_and_any_of_them_reports_all_of_their_metrics(tmp_path):
    import re

    # The supervisor makes the workers' metrics folder under TMPDIR: the files in it tell which workers are up
    # (a gauge file once a worker has built its app) and which have answered a request (a counter file).
    tmp = tmp_path / "tmp"
    tmp.mkdir()
    proc, port = start_receiver(tmp_path, "--workers", "2", env={"TMPDIR": str(tmp)})
    try:
        def post(conn) -> int:
            conn.request("POST", "/v1/logs", body=many(100).SerializeToString(),
                         headers={"Content-Type": "application/x-protobuf"})
            response = conn.getresponse()
            response.read()
            return response.status

        deadline = time.monotonic() + 60
        while len(_worker_files(tmp, "gauge")) < 2 and time.monotonic() < deadline:
            time.sleep(0.05)
        # Whichever idle worker wins the race for the shared socket accepts a connection; on a loaded machine
        # one worker can win many in a row, so rounds of 16 connections go on until both have answered.
        statuses: list[int] = []
        while (not statuses or len(_worker_files(tmp, "counter")) < 2) and time.monotonic() < deadline:
            connections = [http.client.HTTPConnection("127.0.0.1", port, timeout=30) for _ in range(16)]
            statuses += [post(conn) for _ in range(2) for conn in connections]
        scrapes = []
        for _ in range(4):  # each scrape may reach either worker: every one must count both
            conn = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
            conn.request("GET", "/metrics")
            scrapes.append(conn.getresponse().read().decode())
        proc.send_signal(signal.SIGTERM)
        out, err = proc.communicate(timeout=60)
    finally:
        if proc.poll() is None:
            proc.kill()
    total = 100 * len(statuses)
    assert statuses == [200] * len(statuses) and _landed(tmp_path) == total
    for text in scrapes:
        accepted = re.search(r'^logintel_receiver_records_accepted_total\{endpoint="/v1/logs"\} (\S+)$', text, re.M)
        landed = re.search(r'^logintel_receiver_events_landed_total\{transport="files"\} (\S+)$', text, re.M)
        assert float(accepted.group(1)) == total and float(landed.group(1)) == total
    workers = re.findall(r"logintel serve worker (\d+): stopped; events ([\d,]+) .*balanced: True", err)
    counts = [int(n.replace(",", "")) for _, n in workers]
    assert len(counts) == 2 and sum(counts) == total and min(counts) > 0
    assert proc.returncode == 0 and "2 worker processes" in out
