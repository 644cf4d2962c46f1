"""The receiver's ASGI application (Starlette): the write endpoints, health, readiness and metrics.

The event loop only waits: on the network (a body is read whole, under the cap) and on the landing
receipt. Decompressing, parsing, mapping and encoding a body take CPU seconds for a large one, so
they run in a worker thread, and /healthz and the other requests are served meanwhile.

Nothing of a request body is ever logged; an unexpected failure answers 500 naming only its type.
"""
from __future__ import annotations

import logging
import time
from collections.abc import Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass
from functools import partial
from typing import Any

import orjson
from prometheus_client import CONTENT_TYPE_LATEST
from starlette.applications import Starlette
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from logintel.adapters.otlp_proto import OtlpBodyError
from logintel.adapters.late_spans import late_span_events
from logintel.adapters.pending_spans import PendingSpans
from logintel.events import MAX_NESTING_DEPTH
from logintel.ingest.bearer_auth import bearer_token, same_token
from logintel.receiver import otlp_metrics, otlp_traces
from logintel.receiver.bodies import DEFAULT_MAX_BODY_BYTES, BodyError, content_encoding, decode_body, read_body
from logintel.receiver.metrics import ReceiverMetrics
from logintel.receiver.otlp_logs import JSON, media_type, parse_logs, rejection_summary, status_body, success_body
from logintel.receiver.receipted_landing import Lander, refusals
from logintel.receiver.wide_events import (
    EventsBodyError,
    answer,
    is_events_media_type,
    is_ndjson_media_type,
    parse_events,
)

log = logging.getLogger("logintel.receiver")
DEFAULT_MAX_IN_FLIGHT_BYTES = 256 * 1024 * 1024
THROTTLE_RETRY_AFTER_S = 1


@dataclass(frozen=True)
class OtlpSignal:
    """What tells one OTLP/HTTP endpoint from another: its parser (body, content type, default service →
    ParsedLogs or a kind of it) and its ExportXServiceResponse (content type, parsed → body)."""
    parse: Callable[[bytes, str, str], Any]
    answer: Callable[[str, Any], bytes]


LOGS = OtlpSignal(parse_logs, lambda kind, parsed: success_body(kind, len(parsed.rejected),
                                                                rejection_summary(parsed.rejected)))
METRICS = OtlpSignal(otlp_metrics.parse_metrics, otlp_metrics.success_body)


@dataclass(frozen=True)
class ReceiverOptions:
    token: str | None = None
    max_body_bytes: int = DEFAULT_MAX_BODY_BYTES
    max_in_flight_bytes: int = DEFAULT_MAX_IN_FLIGHT_BYTES
    default_service: str = "unknown"
    metrics_dir: str | None = None  # the workers' shared metrics folder (several processes), else None


class Receiver:
    def __init__(self, lander: Lander, options: ReceiverOptions):
        self.lander = lander
        self.options = options
        self.metrics = ReceiverMetrics(lander.emitter, options.metrics_dir)
        self._in_flight = 0
        # Spans that came before their request's span, held per process until it comes (pending_spans).
        self.pending_spans = PendingSpans()
        self._traces = OtlpSignal(partial(otlp_traces.parse_traces, pending=self.pending_spans),
                                  otlp_traces.success_body)

    # -- write endpoints -----------------------------------------------------------------------

    async def logs(self, request: Request) -> Response:
        return await self._timed("/v1/logs", request, lambda request, endpoint: self._otlp(request, endpoint, LOGS))

    async def traces(self, request: Request) -> Response:
        return await self._timed("/v1/traces", request, lambda request, endpoint: self._otlp(request, endpoint, self._traces))

    async def metrics_export(self, request: Request) -> Response:
        return await self._timed("/v1/metrics", request, lambda request, endpoint: self._otlp(request, endpoint, METRICS))

    async def events(self, request: Request) -> Response:
        return await self._timed("/v1/events", request, self._events)

    async def _otlp(self, request: Request, endpoint: str, signal: OtlpSignal) -> Response:
        """An OTLP/HTTP export (logs, traces or metrics): refused whole, or landed and answered with partial success."""
        kind = media_type(request.headers.get("content-type"))
        reply = kind or JSON

        def refuse(status: int, message: str, retry_after: int | None = None) -> Response:
            return _response(status, status_body(reply, status, message), reply, retry_after)

        if not self._authorized(request):
            return refuse(401, "a bearer token is required (Authorization: Bearer …)")
        if kind is None:
            return refuse(415, "Content-Type must be application/x-protobuf or application/json")
        try:
            parsed = await self._parsed(request, lambda body: signal.parse(body, kind, self.options.default_service))
        except BodyError as exc:
            return refuse(exc.status, str(exc), exc.retry_after_s)
        except OtlpBodyError as exc:
            return refuse(400, str(exc))
        refused = await self._land(endpoint, parsed.events, parsed.rejected, refuse, parsed.received)
        if refused is not None:
            return refused
        return _response(200, signal.answer(kind, parsed), kind)

    async def _events(self, request: Request, endpoint: str) -> Response:
        def refuse(status: int, message: str, retry_after: int | None = None) -> Response:
            return _response(status, orjson.dumps({"error": message}), JSON, retry_after)

        if not self._authorized(request):
            return refuse(401, "a bearer token is required (Authorization: Bearer …)")
        if not is_events_media_type(request.headers.get("content-type")):
            return refuse(415, "Content-Type must be application/x-ndjson (one event per line) or "
                               "application/json (a JSON array of events)")
        try:
            ndjson = is_ndjson_media_type(request.headers.get("content-type"))
            parsed = await self._parsed(request, lambda body: parse_events(body, self.options.default_service, ndjson))
        except BodyError as exc:
            return refuse(exc.status, str(exc), exc.retry_after_s)
        except EventsBodyError as exc:
            return refuse(400, str(exc))
        refused = await self._land(endpoint, parsed.events, [letter for _, letter in parsed.rejected], refuse)
        if refused is not None:
            return refused
        return _response(200, orjson.dumps(answer(parsed, len(parsed.events))), JSON)

    # -- read endpoints ------------------------------------------------------------------------

    async def healthz(self, request: Request) -> Response:
        return _response(200, orjson.dumps({"status": "ok"}), JSON)

    async def readyz(self, request: Request) -> Response:
        ready, why = self.lander.emitter.ready()
        stats = self.lander.emitter.stats()
        body = {"ready": ready, "reason": why or None, "transports": stats["transports"],
                "buffer": stats["buffer"], "pending": stats["pending"], "dump_bytes": stats["dump"]["usage_bytes"]}
        return _response(200 if ready else 503, orjson.dumps(body, default=str), JSON)

    async def prometheus(self, request: Request) -> Response:
        return Response(self.metrics.exposition(), 200, media_type=CONTENT_TYPE_LATEST)

    # -- shared --------------------------------------------------------------------------------

    async def _timed(self, endpoint: str, request: Request, handler) -> Response:
        started = time.perf_counter()
        try:
            response = await handler(request, endpoint)
        except Exception as exc:  # never the body: it may hold personal data
            log.exception("receiver: %s failed with %s", endpoint, type(exc).__name__)
            response = _response(500, orjson.dumps({"error": f"internal error ({type(exc).__name__})"}), JSON)
        finally:
            self._release(request)
        self.metrics.requests.labels(endpoint, str(response.status_code)).inc()
        self.metrics.latency.labels(endpoint).observe(time.perf_counter() - started)
        self.metrics.after_request()
        return response

    def _authorized(self, request: Request) -> bool:
        if not self.options.token:
            return True
        given = bearer_token(request.headers.get("authorization"))
        return given is not None and same_token(given, self.options.token)

    async def _read(self, request: Request) -> bytes:
        """The body as sent; BodyError (413, 415, or 429 when too many bytes are in flight already).
        The body's bytes count as in flight until the answer."""
        length = request.headers.get("content-length")
        declared = int(length) if length and length.isdigit() else None
        reserved = min(declared or 0, self.options.max_body_bytes)
        if self._in_flight and self._in_flight + reserved > self.options.max_in_flight_bytes:
            raise BodyError(429, f"over {self.options.max_in_flight_bytes:,} bytes are in flight; retry shortly",
                            THROTTLE_RETRY_AFTER_S)
        self._reserve(request, reserved)
        body = await read_body(request.stream(), content_encoding(request.headers),
                               self.options.max_body_bytes, declared)
        self._reserve(request, max(0, len(body) - reserved))
        return body

    async def _parsed(self, request: Request, parse: Callable[[bytes], Any]) -> Any:
        """`parse` of the body, decoded, less the events the emitter would refuse for their own fault
        (rejected instead: see receipted_landing); all but the reading done in a worker thread.
        BodyError for a body not read or not decoded; the parser's own error for one it refuses whole."""
        raw = await self._read(request)
        size, parsed = await run_in_threadpool(_decoded_and_parsed, raw, content_encoding(request.headers),
                                               self.options.max_body_bytes, parse)
        self._reserve(request, max(0, size - getattr(request.state, "reserved", 0)))  # decoded bytes count too
        return parsed

    def _reserve(self, request: Request, size: int) -> None:
        request.state.reserved = getattr(request.state, "reserved", 0) + size
        self._in_flight += size
        self.metrics.in_flight_bytes.set(self._in_flight)

    def _release(self, request: Request) -> None:
        self._in_flight -= getattr(request.state, "reserved", 0)
        request.state.reserved = 0
        self.metrics.in_flight_bytes.set(self._in_flight)

    async def land_held_spans(self) -> int:
        """At shutdown: the spans still held for a unit of work that did not come, landed as late spans for the
        spans table rather than lost with the process; returns how many."""
        held = self.pending_spans.drain()
        if held:
            outcome = await self.lander.land(late_span_events(held))
            if not outcome.durable:
                log.warning("receiver: %d held spans could not be landed at shutdown: %s", len(held), outcome.reason)
        return len(held)

    async def _land(self, endpoint: str, events: list, rejected: list, refuse,
                    received: int | None = None) -> Response | None:
        """Land the events durably and keep the rejected records as dead letters, counting both; the
        503 to answer when the events could not be made durable (nothing is dead-lettered then: the
        client resends the whole batch), else None. `received` counts the records sent when they are
        more than events and rejected (spans folded into another span's event); all but the rejected
        are accepted."""
        received = len(events) + len(rejected) if received is None else received
        self.metrics.received.labels(endpoint).inc(received)
        outcome = await self.lander.land(events)
        if not outcome.durable:
            self.metrics.refused.labels(endpoint).inc(received)
            return refuse(503, outcome.reason, outcome.retry_after_s)
        self.metrics.accepted.labels(endpoint).inc(received - len(rejected))
        for letter in rejected:
            self.metrics.rejected.labels(endpoint, letter.cause).inc()
        if rejected:  # a write to disk: off the event loop too
            await run_in_threadpool(self.lander.reject, rejected)
        return None


def _decoded_and_parsed(raw: bytes, encoding: str, max_bytes: int,
                        parse: Callable[[bytes], Any]) -> tuple[int, Any]:
    """(decoded size, what `parse` made of the body, less the events the emitter would refuse)."""
    body = decode_body(raw, encoding, max_bytes)
    try:
        parsed = parse(body)
    except RecursionError:  # the nesting checks should make this impossible: never a 500 for it
        log.warning("receiver: a body was nested too deeply for the parser")
        raise BodyError(400, f"the body is nested too deeply to read; a record may nest at most "
                             f"{MAX_NESTING_DEPTH} levels") from None
    parsed.refuse(refusals(parsed.events, parsed.source_of))
    return len(body), parsed


def _response(status: int, body: bytes, media: str, retry_after: int | None = None) -> Response:
    headers = {"Retry-After": str(retry_after)} if retry_after else None
    if status == 401:
        headers = {**(headers or {}), "WWW-Authenticate": 'Bearer realm="logintel"'}
    return Response(body, status, headers=headers, media_type=media)


def build_app(receiver: Receiver, on_shutdown: Callable[[], None] | None = None) -> Starlette:
    """The application; `on_shutdown` runs once the server stops taking requests (closing the emitter)."""

    @asynccontextmanager
    async def lifespan(app):
        yield
        await receiver.land_held_spans()
        if on_shutdown is not None:
            on_shutdown()

    routes = [
        Route("/v1/logs", receiver.logs, methods=["POST"]),
        Route("/v1/traces", receiver.traces, methods=["POST"]),
        Route("/v1/metrics", receiver.metrics_export, methods=["POST"]),
        Route("/v1/events", receiver.events, methods=["POST"]),
        Route("/healthz", receiver.healthz, methods=["GET"]),
        Route("/readyz", receiver.readyz, methods=["GET"]),
        Route("/metrics", receiver.prometheus, methods=["GET"]),
    ]
    return Starlette(routes=routes, lifespan=lifespan)
