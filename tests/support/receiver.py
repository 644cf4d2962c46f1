"""A real `logintel serve` application on 127.0.0.1 (uvicorn in a thread, or the command as a process),
and a small HTTP client."""
from __future__ import annotations

import contextlib
import gzip
import http.client
import json
import os
import subprocess
import sys
import threading
import time
from dataclasses import dataclass
from pathlib import Path

import uvicorn

from logintel.config import load_settings
from logintel.receiver.server import Running, build
from tests.support.postgres_cluster import free_port
from tests.support.landing import landed_lines


@dataclass
class Served:
    url: str
    port: int
    running: Running
    home: Path

    def post(self, path: str, body: bytes, content_type: str = "application/json", headers: dict | None = None,
             gzipped: bool = False) -> tuple[int, dict, bytes]:
        all_headers = {"Content-Type": content_type, **(headers or {})}
        if gzipped:
            body = gzip.compress(body)
            all_headers["Content-Encoding"] = "gzip"
        return self.request("POST", path, body, all_headers)

    def get(self, path: str) -> tuple[int, dict, bytes]:
        return self.request("GET", path, None, {})

    def request(self, method: str, path: str, body: bytes | None, headers: dict) -> tuple[int, dict, bytes]:
        conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=30)
        try:
            conn.request(method, path, body=body, headers=headers)
            response = conn.getresponse()
            return response.status, {k.lower(): v for k, v in response.getheaders()}, response.read()
        finally:
            conn.close()

    def post_events(self, lines: list, **kwargs) -> tuple[int, dict]:
        body = b"".join((json.dumps(line) if not isinstance(line, str) else line).encode() + b"\n" for line in lines)
        status, _, data = self.post("/v1/events", body, "application/x-ndjson", **kwargs)
        return status, json.loads(data)

    def landed(self) -> list[dict]:
        """Every event in the files landing zone."""
        return [json.loads(line) for line in landed_lines(self.home / "landing")]


@contextlib.contextmanager
def serving(home: Path, env: dict | None = None):
    settings = load_settings({"LOGINTEL_HOME": str(home), **(env or {})})
    running = build(settings)
    port = free_port()
    server = uvicorn.Server(uvicorn.Config(running.app, host="127.0.0.1", port=port, log_level="warning",
                                           access_log=False, lifespan="on"))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 15
    while not server.started:
        if time.monotonic() > deadline or not thread.is_alive():
            raise RuntimeError("the receiver did not start")
        time.sleep(0.02)
    try:
        yield Served(f"http://127.0.0.1:{port}", port, running, home)
    finally:
        server.should_exit = True
        thread.join(15)
        running.emitter.close(timeout=10)


LOGINTEL = os.path.join(os.path.dirname(sys.executable), "logintel")


def receiver_env(home: Path) -> dict[str, str]:
    """This environment without its LOGINTEL_* variables, and LOGINTEL_HOME=home."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("LOGINTEL_")}
    return {**env, "LOGINTEL_HOME": str(home)}


def start_receiver(home: Path, *args: str, stdout=subprocess.PIPE,
                   env: dict[str, str] | None = None) -> tuple[subprocess.Popen, int]:
    """`logintel serve --port <free> *args` as its own process (receiver_env, and `env`), once it answers /healthz."""
    port = free_port()
    proc = subprocess.Popen([LOGINTEL, "serve", "--port", str(port), *args], env={**receiver_env(home), **(env or {})},
                            stdout=stdout, stderr=subprocess.PIPE, text=True)
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline and proc.poll() is None:
        try:
            conn = http.client.HTTPConnection("127.0.0.1", port, timeout=2)
            conn.request("GET", "/healthz")
            if conn.getresponse().status == 200:
                return proc, port
        except OSError:
            time.sleep(0.1)
    proc.kill()
    raise RuntimeError(f"logintel serve did not answer /healthz on port {port}")
