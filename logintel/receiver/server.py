"""Running the receiver: its emitter (the landing zone the pipeline reads, then the local dump), the
Starlette app, and uvicorn (with uvloop and httptools) on one port.

uvicorn handles SIGINT and SIGTERM: it stops accepting connections and lets in-flight requests
finish for up to `drain_s`; then the emitter is closed (it drains its buffer to a transport or the
dump within `close_s`) and one accounting line is printed.
"""
from __future__ import annotations

import contextlib
import ipaddress
import os
import shutil
import sys
import tempfile
from dataclasses import dataclass

import uvicorn

from logintel.config import Settings, share_metrics_dir_with_workers
from logintel.ingest.emitter import Emitter
from logintel.ingest.emitter_config import EmitterConfig
from logintel.receiver.app import Receiver, ReceiverOptions, build_app
from logintel.receiver.receipted_landing import Lander
from logintel.store.dead_letters import DeadLetterStore

DRAIN_S = 10.0
CLOSE_S = 10.0

# The receiver's emitter: batches sent as soon as a request waits on them (the flusher is nudged),
# and a landing outage reaches the dump within about a second, so a request is answered well inside
# an exporter's 10 s timeout. Any LOGINTEL_EMIT_* variable overrides these.
RECEIVER_EMIT_DEFAULTS = {
    "LOGINTEL_EMIT_BATCH_SIZE": "2048",
    "LOGINTEL_EMIT_FLUSH_INTERVAL_S": "0.05",
    "LOGINTEL_EMIT_RETRY_HOLD_S": "1.0",
    "LOGINTEL_EMIT_SEND_TIMEOUT_S": "5.0",
    "LOGINTEL_EMIT_BUFFER_MAX_EVENTS": "200000",
    "LOGINTEL_EMIT_BUFFER_MAX_BYTES": str(256 * 1024 * 1024),
    # its flushes are small (a request waits on each): sealed into big columnar segments beside the sends
    "LOGINTEL_EMIT_FILES_SEAL": "1",
}


class _Server(uvicorn.Server):
    """uvicorn's server, except that a SIGTERM or SIGINT it shut down gracefully on is not raised
    again afterwards (uvicorn re-raises it, which would end the process before the emitter closes)."""

    @contextlib.contextmanager
    def capture_signals(self):
        with super().capture_signals():
            yield
            self._captured_signals.clear()


class ReceiverConfigError(ValueError):
    """A setting that makes serving unsafe or impossible, refused before anything starts."""


@dataclass(frozen=True)
class Running:
    receiver: Receiver
    emitter: Emitter
    app: object


def emitter_config(settings: Settings) -> EmitterConfig:
    env = dict(RECEIVER_EMIT_DEFAULTS)
    # The landing zone the pipeline reads (the PostgreSQL table when LOGINTEL_POSTGRES_URL is set, else the
    # files), unless LOGINTEL_EMIT_TRANSPORTS names another chain; the local dump is always the last resort.
    env["LOGINTEL_EMIT_TRANSPORTS"] = "postgres" if settings.postgres_url else "files"
    env.update({"LOGINTEL_EMIT_FILES_DIR": str(settings.landing_dir),
                "LOGINTEL_EMIT_FILES_SEGMENTS": settings.landing_segments,
                "LOGINTEL_EMIT_DUMP_DIR": str(settings.dumps_dir),
                "LOGINTEL_EMIT_DEAD_LETTER_DIR": str(settings.dead_letter_dir)})
    if settings.postgres_url:
        env["LOGINTEL_POSTGRES_URL"] = settings.postgres_url
    env.update(settings.emit_env)
    return EmitterConfig.from_env(env)


def check_bind(host: str, token: str | None) -> None:
    if token or _is_loopback(host):
        return
    raise ReceiverConfigError(
        f"refusing to listen on {host}, which is not a loopback address, without LOGINTEL_RECEIVER_TOKEN: "
        "anyone who can reach it could write events. Set the token (clients send Authorization: Bearer …) "
        "or bind 127.0.0.1")


def _is_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False


def build(settings: Settings, emitter: Emitter | None = None, on_shutdown=None) -> Running:
    emitter = emitter or Emitter(emitter_config(settings))
    lander = Lander(emitter, DeadLetterStore(settings.dead_letter_dir), settings.receiver_wait_s)
    receiver = Receiver(lander, ReceiverOptions(token=settings.receiver_token,
                                                max_body_bytes=settings.receiver_max_body_bytes,
                                                metrics_dir=settings.receiver_metrics_dir))
    return Running(receiver, emitter, build_app(receiver, on_shutdown))


def worker_app():
    """The application of one worker process (`--workers N`): its own emitter, closed with its accounting
    line once uvicorn has drained the worker's requests."""
    from logintel.config import load_settings
    settings = load_settings()
    emitter = Emitter(emitter_config(settings))
    return build(settings, emitter, on_shutdown=lambda: close_and_account(emitter, f"worker {os.getpid()}")).app


def serve(settings: Settings, host: str, port: int, *, access_log: bool = False, workers: int = 1) -> int:
    check_bind(host, settings.receiver_token)
    if workers < 1:
        raise ReceiverConfigError(f"--workers must be at least 1 (got {workers})")
    transports = ", ".join(t.kind for t in emitter_config(settings).transports) or "none (dump only)"
    banner = (f"logintel serve: listening on http://{host}:{port} (POST /v1/logs, /v1/traces, /v1/metrics, "
              f"/v1/events; GET /healthz, /readyz, /metrics); landing through {transports}, dump {settings.dumps_dir}"
              f"{'; bearer token required' if settings.receiver_token else ''}")
    if workers > 1:
        return _serve_workers(host, port, workers, access_log, banner)
    running = build(settings)
    config = uvicorn.Config(running.app, host=host, port=port, log_level="warning", access_log=access_log,
                            timeout_graceful_shutdown=DRAIN_S, lifespan="on", server_header=False)
    server = _Server(config)
    print(banner, flush=True)
    try:
        server.run()
    finally:
        close_and_account(running.emitter)
    return 0 if server.started else 1


def _serve_workers(host: str, port: int, workers: int, access_log: bool, banner: str) -> int:
    """uvicorn's supervisor with `workers` processes on one socket; each builds its own emitter from
    the environment, and they share a metrics folder so any worker's /metrics counts them all."""
    metrics_dir = tempfile.mkdtemp(prefix="logintel-serve-metrics-")
    share_metrics_dir_with_workers(metrics_dir)
    print(f"{banner}; {workers} worker processes", flush=True)
    try:
        uvicorn.run("logintel.receiver.server:worker_app", factory=True, host=host, port=port, workers=workers,
                    log_level="warning", access_log=access_log, timeout_graceful_shutdown=DRAIN_S,
                    lifespan="on", server_header=False)
    finally:
        shutil.rmtree(metrics_dir, ignore_errors=True)
    print("logintel serve: stopped (each worker's accounting line is above)", file=sys.stderr, flush=True)
    return 0


def close_and_account(emitter: Emitter, who: str = "") -> None:
    """Close the emitter (drained within CLOSE_S) and print the line that accounts for every event."""
    settled = emitter.close(timeout=CLOSE_S)
    print(accounting_line(emitter.stats(), settled, who), file=sys.stderr, flush=True)


def accounting_line(stats: dict, settled: bool, who: str = "") -> str:
    delivered = ", ".join(f"{name} {count:,}" for name, count in sorted(stats["delivered"].items())) or "none"
    dropped = sum(stats["dropped"].values())
    dead = sum(stats["dead_lettered"].values())
    return (f"logintel serve{' ' + who if who else ''}: stopped; events {stats['emitted']:,} = landed ({delivered}) + dumped "
            f"{stats['dumped']:,} + dropped {dropped:,} + dead-lettered {dead:,} + pending {stats['pending']:,}"
            f"{'' if settled else ' (close timed out: pending ones stayed with a hung transport)'}; "
            f"balanced: {stats['balanced']}")
