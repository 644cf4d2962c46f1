"""Adapters from foreign log formats (plain text, OpenTelemetry JSON) to the WideEvent contract."""
from logintel.adapters.otel import parse_otel_record, parse_otlp_document
from logintel.adapters.plain_text import parse_plain_text

__all__ = ["parse_otel_record", "parse_otlp_document", "parse_plain_text"]
