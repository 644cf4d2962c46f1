"""The sampling-policy server: GET serves the current policy with an ETag, PUT (bearer token) replaces it.

A PUT is validated whole: a bad one gets 400 with the reason and the last good policy stays (a body
nested deeper than events.MAX_NESTING_DEPTH is measured and refused before the recursive JSON
decoder sees it). A good one gets the next version and is written to the policy file atomically before it is served.
"""
from __future__ import annotations

import json
import os
import tempfile
import threading
from dataclasses import replace
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

from logintel.adapters.nesting import NestingError, check_text_nesting
from logintel.ingest.bearer_auth import bearer_token, same_token
from logintel.ingest.policy import PolicyError, SamplingPolicy, load_policy

POLICY_PATH = "/v1/sampling-policy"
MAX_BODY_BYTES = 64 * 1024


class PolicyStore:
    """The current policy, its JSON and ETag, and the file it persists to (None: memory only)."""

    def __init__(self, path: str | Path | None = None, initial: SamplingPolicy | None = None):
        self.path = Path(path) if path else None
        if initial is None:
            initial = load_policy(self.path) if self.path and self.path.exists() else SamplingPolicy()
        self._lock = threading.Lock()
        self._set(initial)

    def current(self) -> tuple[SamplingPolicy, str, bytes]:
        with self._lock:
            return self._policy, self._etag, self._body

    def update(self, body: bytes) -> SamplingPolicy:
        """Validate `body` and make it the next version; PolicyError leaves the current one in place."""
        proposed = SamplingPolicy.from_json(body)
        with self._lock:
            # The server owns the version: whatever the body says, the new one is current + 1.
            policy = replace(proposed, version=self._policy.version + 1)
            if self.path is not None:
                _write_atomically(self.path, json.dumps(policy.to_dict(), indent=2, sort_keys=True) + "\n")
            self._set(policy)
            return policy

    def _set(self, policy: SamplingPolicy) -> None:
        self._policy = policy
        self._etag = policy.etag
        self._body = (json.dumps(policy.to_dict(), sort_keys=True) + "\n").encode("utf-8")


def _write_atomically(path: Path, text: str) -> None:
    # Temp file in the same folder, fsync, then rename: a crash leaves the old file or the new one.
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as handle:
            handle.write(text)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(tmp, path)
    except BaseException:
        try:
            os.unlink(tmp)
        except OSError:
            pass
        raise


def make_server(store: PolicyStore, host: str = "127.0.0.1", port: int = 8765,
                token: str | None = None) -> ThreadingHTTPServer:
    """A ready-to-serve server (port 0 picks a free one: see `server.server_address`)."""
    handler = type("PolicyHandler", (_Handler,), {"store": store, "token": token})
    server = ThreadingHTTPServer((host, port), handler)
    server.daemon_threads = True
    return server


class _Handler(BaseHTTPRequestHandler):
    store: PolicyStore
    token: str | None
    server_version = "logintel-policy/1"
    protocol_version = "HTTP/1.1"

    def log_message(self, format: str, *args) -> None:  # quiet by default; the CLI prints updates
        pass

    def do_GET(self) -> None:
        path = self.path.split("?", 1)[0]
        if path == "/healthz":
            policy, _, _ = self.store.current()
            self._json(200, {"status": "ok", "version": policy.version})
        elif path == POLICY_PATH:
            _, etag, body = self.store.current()
            tags = _etags(self.headers.get("If-None-Match"))
            if etag in tags or "*" in tags:
                self._send(304, b"", {"ETag": etag})
            else:
                self._send(200, body, {"ETag": etag, "Content-Type": "application/json"})
        else:
            self._json(404, {"error": f"no such path: {path}"})

    def do_PUT(self) -> None:
        path = self.path.split("?", 1)[0]
        if path != POLICY_PATH:
            self._discard_body()
            self._json(404, {"error": f"no such path: {path}"})
            return
        denied = self._denied()
        if denied:
            self._discard_body()
            status, reason = denied
            extra = {"WWW-Authenticate": 'Bearer realm="logintel-policy"'} if status == 401 else {}
            self._json(status, {"error": reason}, extra)
            return
        length = self._length()
        if length is None:
            self._json(411 if self.headers.get("Content-Length") is None else 400,
                       {"error": "a Content-Length is required"})
            return
        if length > MAX_BODY_BYTES:
            self.close_connection = True  # not reading a huge body; drop the connection after
            self._json(413, {"error": f"policy larger than {MAX_BODY_BYTES} bytes"})
            return
        body = self.rfile.read(length)
        try:
            check_text_nesting(body)
            policy = self.store.update(body)
        except NestingError as exc:
            self._json(400, {"error": f"policy: {exc.reason}"})
            return
        except PolicyError as exc:
            self._json(400, {"error": str(exc)})
            return
        except OSError as exc:
            self._json(500, {"error": f"could not persist the policy: {exc}"})
            return
        self._send(200, self.store.current()[2], {"ETag": policy.etag, "Content-Type": "application/json"})

    def _denied(self) -> tuple[int, str] | None:
        given = bearer_token(self.headers.get("Authorization"))
        if given is None:
            return 401, "updates need 'Authorization: Bearer <token>'"
        if not self.token:
            return 403, "updates are disabled: the server has no token configured"
        if not same_token(given, self.token):
            return 403, "wrong token"
        return None

    def _length(self) -> int | None:
        try:
            length = int(self.headers.get("Content-Length", ""))
        except ValueError:
            return None
        return length if length >= 0 else None

    def _discard_body(self) -> None:
        length = self._length()
        if length is None or length > MAX_BODY_BYTES:
            self.close_connection = True
        elif length:
            self.rfile.read(length)

    def _json(self, status: int, payload: dict, headers: dict | None = None) -> None:
        body = (json.dumps(payload) + "\n").encode("utf-8")
        self._send(status, body, {"Content-Type": "application/json", **(headers or {})})

    def _send(self, status: int, body: bytes, headers: dict) -> None:
        self.send_response(status)
        for name, value in headers.items():
            self.send_header(name, value)
        self.send_header("Content-Length", str(len(body)))
        self.send_header("Cache-Control", "no-cache")
        self.end_headers()
        if body and self.command != "HEAD":
            self.wfile.write(body)


def _etags(header: str | None) -> set[str]:
    if not header:
        return set()
    tags = {tag.strip() for tag in header.split(",")}
    return {tag[2:] if tag.startswith("W/") else tag for tag in tags}
