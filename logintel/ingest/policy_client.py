"""PolicyClient: polls a policy server (with ETags) or a policy file (by mtime) and applies new policies.

A poll that fails (server down, garbage, an invalid policy) changes nothing but `last_error`:
the last good policy stays in force.
"""
from __future__ import annotations

import threading
import time
import urllib.error
import urllib.request
from pathlib import Path
from typing import Callable

from logintel.ingest.policy import PolicyError, SamplingPolicy, load_policy

MAX_BODY_BYTES = 64 * 1024


class PolicyClient:
    def __init__(self, source: str | Path, interval_s: float = 30.0,
                 on_update: Callable[[SamplingPolicy], None] | None = None, timeout_s: float = 2.0,
                 clock: Callable[[], float] = time.time):
        if not interval_s > 0:
            raise ValueError(f"interval_s: must be > 0 (got {interval_s})")
        text = str(source)
        self.is_url = text.startswith(("http://", "https://"))
        self.source = text if self.is_url else Path(text)
        self.interval_s = interval_s
        self.on_update = on_update
        self.timeout_s = timeout_s
        self._clock = clock
        self._lock = threading.Lock()
        self.policy: SamplingPolicy | None = None
        self.etag: str | None = None
        self._file_stamp: tuple[int, int] | None = None
        self.updates = 0
        self.errors = 0
        self.last_error: str | None = None
        self.last_error_at: float | None = None
        self.last_ok_at: float | None = None
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def poll(self) -> bool:
        """Check the source once; True if a new policy was applied. Never raises."""
        try:
            policy = self._fetch_url() if self.is_url else self._fetch_file()
            if policy is not None and self.on_update is not None:
                self.on_update(policy)
        except (PolicyError, OSError, ValueError) as exc:
            self._failed(exc)
            return False
        except Exception as exc:  # the poller must outlive any surprise; it is recorded, not raised
            self._failed(exc)
            return False
        with self._lock:
            self.last_ok_at = self._clock()
            self.last_error = None  # the source is healthy again; `errors` keeps the history
            if policy is not None:
                self.policy = policy
                self.updates += 1
        return policy is not None

    def start(self) -> PolicyClient:
        if self._thread is None:
            self._thread = threading.Thread(target=self._run, name="logintel-policy", daemon=True)
            self._thread.start()
        return self

    def stop(self, timeout: float = 5.0) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout)

    def describe(self) -> dict:
        with self._lock:
            return {"source": str(self.source), "etag": self.etag, "updates": self.updates,
                    "errors": self.errors, "last_error": self.last_error,
                    "last_error_at": self.last_error_at, "last_ok_at": self.last_ok_at}

    # -- sources -------------------------------------------------------------------------------

    def _fetch_url(self) -> SamplingPolicy | None:
        request = urllib.request.Request(self.source, headers={"Accept": "application/json"})
        if self.etag:
            request.add_header("If-None-Match", self.etag)
        try:
            with urllib.request.urlopen(request, timeout=self.timeout_s) as response:
                body = response.read(MAX_BODY_BYTES + 1)
                etag = response.headers.get("ETag")
        except urllib.error.HTTPError as exc:
            if exc.code == 304:
                return None
            raise OSError(f"policy server answered {exc.code} {exc.reason}") from None
        if len(body) > MAX_BODY_BYTES:
            raise PolicyError(f"policy larger than {MAX_BODY_BYTES} bytes")
        policy = SamplingPolicy.from_json(body)
        # The ETag is remembered only once the body proved good, so garbage is fetched again next time.
        self.etag = etag
        return policy

    def _fetch_file(self) -> SamplingPolicy | None:
        stat = self.source.stat()
        stamp = (stat.st_mtime_ns, stat.st_size)
        if stamp == self._file_stamp:
            return None
        # Remember the stamp even if the file is bad: it is re-read when it changes, not every poll.
        self._file_stamp = stamp
        return load_policy(self.source)

    def _failed(self, exc: Exception) -> None:
        with self._lock:
            self.errors += 1
            self.last_error = f"{type(exc).__name__}: {exc}"
            self.last_error_at = self._clock()

    def _run(self) -> None:
        while not self._stop.is_set():
            self.poll()
            self._stop.wait(self.interval_s)
