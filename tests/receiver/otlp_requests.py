"""Hand-built OTLP log export requests (the message classes of opentelemetry-proto)."""
from __future__ import annotations

import time

from opentelemetry.proto.collector.logs.v1.logs_service_pb2 import ExportLogsServiceRequest
from opentelemetry.proto.common.v1.common_pb2 import AnyValue, KeyValue
from opentelemetry.proto.logs.v1.logs_pb2 import LogRecord

TRACE_ID = bytes.fromhex("5b8efff798038103d269b633813fc60c")
SPAN_ID = bytes.fromhex("eee19b7ec3c1b174")


def kv(key: str, value) -> KeyValue:
    if isinstance(value, bool):
        return KeyValue(key=key, value=AnyValue(bool_value=value))
    if isinstance(value, int):
        return KeyValue(key=key, value=AnyValue(int_value=value))
    if isinstance(value, float):
        return KeyValue(key=key, value=AnyValue(double_value=value))
    return KeyValue(key=key, value=AnyValue(string_value=value))


def record(message: str = "GET /checkout", severity: int = 9, when_ns: int | None = None, **attributes) -> LogRecord:
    return LogRecord(time_unix_nano=time.time_ns() if when_ns is None else when_ns, severity_number=severity,
                     body=AnyValue(string_value=message), attributes=[kv(k, v) for k, v in attributes.items()],
                     trace_id=TRACE_ID, span_id=SPAN_ID)


def request(records: list[LogRecord], service: str = "checkout", version: str | None = "4.2.0",
            scope: str = "checkout.http") -> ExportLogsServiceRequest:
    message = ExportLogsServiceRequest()
    resource_logs = message.resource_logs.add()
    resource_logs.resource.attributes.append(kv("service.name", service))
    if version:
        resource_logs.resource.attributes.append(kv("service.version", version))
    scope_logs = resource_logs.scope_logs.add()
    scope_logs.scope.name = scope
    scope_logs.log_records.extend(records)
    return message


def many(count: int, service: str = "checkout") -> ExportLogsServiceRequest:
    now = time.time_ns()
    return request([record(f"request {i}", when_ns=now + i, **{"http.route": "/checkout", "http.request.method": "POST",
                                                              "http.response.status_code": 200, "duration_ms": 3.5})
                    for i in range(count)], service=service)
