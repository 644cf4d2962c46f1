"""The OpenTelemetry spans of a simulated request, as OTLP/JSON span records: the SERVER span of its event, and
in its process the CLIENT spans of its calls (to other services, to its database, to an external upstream).

Ids: the trace id is the event's, a SERVER span's id its request id; the other spans' ids are mixed from the
event's random bits, so the same seed writes the same spans. A callee's SERVER span is the child of its
caller's CLIENT span. Status follows the HTTP conventions: a SERVER span is ERROR on a 5xx (with an
`exception` event), and keeps a 4xx's error code, type and message as attributes with its status unset; a
CLIENT span is ERROR on any 4xx or 5xx answer, a query or upstream call where a timeout was spent is ERROR.
"""
from __future__ import annotations

from typing import Any

import numpy as np

from logintel.events import WideEvent
from logintel.simulate.errors import KINDS
from logintel.simulate.materialize import hex_ids
from logintel.simulate.span_layout import SpanLayout
from logintel.simulate.table import EventTable
from logintel.simulate.topology import DB_INSTANCES, ROUTES

SERVER, CLIENT = 2, 3
STATUS_ERROR = 2
DB_SYSTEM = "postgresql"

Resource = tuple[str, str, str, str]  # service, version, pod, region
_MIX = (np.uint64(0x9E3779B97F4A7C15), np.uint64(0xBF58476D1CE4E5B9), np.uint64(0x94D049BB133111EB))


def mixed_ids(bits: np.ndarray, salt: np.ndarray | int) -> list[str]:
    """Span ids (16 hex digits, never zero) from 64 random bits and a salt that tells a row's spans apart
    (splitmix64's finaliser)."""
    z = np.asarray(bits, dtype=np.uint64) + (np.asarray(salt, dtype=np.uint64) + np.uint64(1)) * _MIX[0]
    z = (z ^ (z >> np.uint64(30))) * _MIX[1]
    z = (z ^ (z >> np.uint64(27))) * _MIX[2]
    z = z ^ (z >> np.uint64(31))
    return hex_ids(np.where(z == 0, np.uint64(1), z))


def attribute_list(values: dict[str, Any]) -> list[dict]:
    """Attributes as OTLP/JSON writes them (64-bit integers as strings)."""
    out = []
    for key, value in values.items():
        if isinstance(value, bool):
            out.append({"key": key, "value": {"boolValue": value}})
        elif isinstance(value, int):
            out.append({"key": key, "value": {"intValue": str(value)}})
        elif isinstance(value, float):
            out.append({"key": key, "value": {"doubleValue": value}})
        else:
            out.append({"key": key, "value": {"stringValue": str(value)}})
    return out


def resource_of(event: WideEvent) -> Resource:
    attrs = event.attributes
    return event.service, attrs.get("version") or "", attrs.get("host") or "", attrs.get("region") or ""


def resource_attributes(resource: Resource) -> list[dict]:
    service, version, pod, region = resource
    values = {"service.name": service, "service.version": version, "k8s.pod.name": pod, "cloud.region": region}
    return attribute_list({key: value for key, value in values.items() if value})


class RequestSpans:
    """The spans of each event's request in its own process, built on demand (`spans(i)`)."""

    def __init__(self, events: list[WideEvent], table: EventTable, layout: SpanLayout):
        self.events, self.layout = events, layout
        rows = layout.rows
        self.route = table["route"][rows].tolist()
        self.kind = table["kind"][rows].tolist()
        self.server_ids = hex_ids(table["request_bits"][rows])
        self.client_ids = mixed_ids(table["event_bits"][rows], 0)
        waits = layout.waits
        first = np.searchsorted(waits.event, np.arange(len(rows)))
        self.wait_bounds = np.r_[first, len(waits.event)].tolist()
        self.wait_ids = mixed_ids(table["event_bits"][rows][waits.event], 1 + np.arange(len(waits.event)) -
                                  first[waits.event])
        self.calls: list[list[int]] = [[] for _ in events]
        for callee, caller in enumerate(layout.caller.tolist()):
            if caller >= 0:
                self.calls[caller].append(callee)

    def spans(self, i: int) -> list[dict]:
        """Event i's SERVER span, then its calls: services it called, its queries, its upstream call."""
        return [self.server_span(i), *(self.call_span(i, callee) for callee in self.calls[i]),
                *(self.wait_span(i, w) for w in range(self.wait_bounds[i], self.wait_bounds[i + 1]))]

    def server_span(self, i: int) -> dict:
        event, layout = self.events[i], self.layout
        attrs: dict[str, Any] = {"http.request.method": event.method, "http.route": event.route,
                                 "http.response.status_code": event.status}
        for key, value in (("request.id", event.request_id), ("user.id", event.user_id),
                           ("client.address", event.client_ip), ("user_agent.original", event.user_agent),
                           ("runtime.heap_used_mb", event.attributes.get("runtime.heap_used_mb")),
                           ("runtime.gc_pause_ms", event.attributes.get("runtime.gc_pause_ms")),
                           ("error.code", event.error_code), ("error.type", event.error_type)):
            if value is not None:
                attrs[key] = value
        record = self._span(event, self.server_ids[i], f"{event.method} {event.route}", SERVER,
                            layout.start_ns[i], layout.end_ns[i])
        caller = int(layout.caller[i])
        if caller >= 0:
            record["parentSpanId"] = self.client_ids[i]
        if event.status >= 500:
            record["status"] = {"code": STATUS_ERROR, "message": event.error_message or ""}
            record["events"] = [{"timeUnixNano": record["endTimeUnixNano"], "name": "exception",
                                 "attributes": attribute_list({"exception.type": event.error_type or "Error",
                                                               "exception.message": event.error_message or ""})}]
        elif event.error_message is not None:
            attrs["exception.message"] = event.error_message
        record["attributes"] = attribute_list(attrs)
        return record

    def call_span(self, i: int, callee: int) -> dict:
        """The CLIENT span of event i's call that `callee`'s event answered: from the wire to its answer."""
        answer, route = self.events[callee], ROUTES[self.route[callee]]
        record = self._span(answer, self.client_ids[callee], f"{route.method} {route.path}", CLIENT,
                            self.layout.call_start_ns[callee], self.layout.end_ns[callee])
        record["parentSpanId"] = self.server_ids[i]
        record["attributes"] = attribute_list({
            "peer.service": answer.service, "server.address": answer.service, "http.request.method": route.method,
            "url.template": route.path, "http.response.status_code": answer.status})
        if answer.status >= 400:
            record["status"] = {"code": STATUS_ERROR}
        return record

    def wait_span(self, i: int, w: int) -> dict:
        """A database query of event i, or its call to the route's external upstream."""
        event, waits, route = self.events[i], self.layout.waits, ROUTES[self.route[i]]
        if waits.upstream[w]:
            # Instrumented HTTP clients name the host they called; the search cluster's node is that host.
            attrs = {"server.address": event.attributes.get("server.address") or route.upstream}
            name, spent_on = route.upstream, "upstream"
        else:
            attrs = {"db.system": DB_SYSTEM, "db.namespace": route.db, "server.address": DB_INSTANCES[route.db]}
            name, spent_on = f"SELECT {route.db}", "db"
        record = self._span(event, self.wait_ids[w], name, CLIENT, waits.start_ns[w], waits.end_ns[w])
        record["parentSpanId"] = self.server_ids[i]
        record["attributes"] = attribute_list(attrs)
        kind = self.kind[i]
        if kind >= 0 and KINDS[kind].waits_on == spent_on and waits.last[w]:
            record["status"] = {"code": STATUS_ERROR, "message": event.error_message or ""}
        return record

    @staticmethod
    def _span(event: WideEvent, span_id: str, name: str, kind: int, start_ns: int, end_ns: int) -> dict:
        return {"traceId": event.trace_id, "spanId": span_id, "name": name, "kind": kind,
                "startTimeUnixNano": str(int(start_ns)), "endTimeUnixNano": str(int(end_ns))}
