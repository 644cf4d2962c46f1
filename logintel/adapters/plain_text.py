"""Plain-text log lines (ISO, `YYYY-MM-DD HH:MM:SS,fff`, syslog, epoch or another common application prefix,
see timestamp_formats; logfmt pairs) → WideEvents.

A line reads: timestamp, then in any order a level word, `[service]` / `service:` / `svc[pid]:`,
then an optional `METHOD /route`, then free text mixed with `key=value` pairs.
"""
from __future__ import annotations

import hashlib
import re
from datetime import date, datetime, timezone
from typing import Any

from logintel.adapters.auth_lines import annotate_auth
from logintel.adapters.timestamp_formats import other_leading_timestamp
from logintel.events import LOG_ROUTE, EventValidationError, WideEvent, format_timestamp, parse_event, parse_timestamp

NO_ROUTE = LOG_ROUTE

LEVEL_WORDS = {
    "trace": "debug", "finest": "debug", "finer": "debug", "fine": "debug", "debug": "debug",
    "dbg": "debug", "verbose": "debug",
    "info": "info", "information": "info", "inf": "info", "notice": "info",
    "warn": "warn", "warning": "warn", "wrn": "warn",
    "error": "error", "err": "error", "eror": "error", "severe": "error",
    "fatal": "fatal", "critical": "fatal", "crit": "fatal", "alert": "fatal", "emerg": "fatal",
    "emergency": "fatal", "panic": "fatal",
}
# key=value keys (lower-cased) -> contract field.
KEY_FIELDS = {
    "event_id": "event_id",
    "service": "service", "svc": "service", "service.name": "service", "app": "service",
    "route": "route", "http.route": "route",
    "method": "method", "http.method": "method", "http.request.method": "method",
    "status": "status", "status_code": "status", "http.status_code": "status",
    "http.response.status_code": "status",
    "level": "level", "lvl": "level", "severity": "level",
    "code": "error.code", "error.code": "error.code", "error_code": "error.code", "err.code": "error.code",
    "error.type": "error.type", "error_type": "error.type", "exception": "error.type",
    "exception.type": "error.type",
    "trace_id": "trace_id", "trace": "trace_id", "traceid": "trace_id", "trace.id": "trace_id",
    "request_id": "request_id", "req_id": "request_id", "requestid": "request_id",
    "request.id": "request_id",
    "user": "user_id", "user_id": "user_id", "uid": "user_id", "user.id": "user_id",
    "enduser.id": "user_id",
    "ip": "client_ip", "client_ip": "client_ip", "client.address": "client_ip",
    "remote_addr": "client_ip", "remote_ip": "client_ip",
    "ua": "user_agent", "user_agent": "user_agent", "user_agent.original": "user_agent",
    "sample_rate": "sample_rate",
}
MESSAGE_KEYS = ("msg", "message")
ERROR_DETAIL_KEYS = ("error.message", "error", "err")
TIMESTAMP_KEYS = ("timestamp", "time", "ts", "@timestamp")
# Duration keys -> the unit a bare number is in.
DURATION_KEYS = {
    "duration_ms": "ms", "latency_ms": "ms", "elapsed_ms": "ms", "took_ms": "ms",
    "duration": "ms", "latency": "ms", "elapsed": "ms", "took": "ms", "response_time": "ms",
    "duration_s": "s", "latency_s": "s", "elapsed_s": "s", "duration_seconds": "s",
}
_UNIT_MS = {"ns": 1e-6, "us": 1e-3, "µs": 1e-3, "μs": 1e-3, "ms": 1.0, "s": 1000.0, "sec": 1000.0,
            "secs": 1000.0, "m": 60_000.0, "min": 60_000.0, "h": 3_600_000.0}
_METHODS = "GET|POST|PUT|PATCH|DELETE|HEAD|OPTIONS|TRACE|CONNECT"

_PRIORITY = re.compile(r"<(?P<pri>\d{1,3})>(?:1 )?")
_ISO = re.compile(
    r"\[?(?P<date>\d{4}-\d{2}-\d{2})[T ](?P<time>\d{2}:\d{2}:\d{2})(?:[.,](?P<frac>\d{1,9}))?"
    r" ?(?P<tz>[Zz]|UTC|[+-]\d{2}(?::?\d{2})?)?\]?(?=\s|$)")
_SYSLOG = re.compile(
    r"(?P<mon>Jan|Feb|Mar|Apr|May|Jun|Jul|Aug|Sep|Oct|Nov|Dec)\s+(?P<day>\d{1,2})\s+"
    r"(?P<time>\d{2}:\d{2}:\d{2})(?:\.(?P<frac>\d{1,6}))?(?=\s|$)", re.IGNORECASE)
_EPOCH = re.compile(r"(?P<epoch>\d{10}(?:\.\d{1,9})?|\d{13})(?=\s|$)")
_SYSLOG_TAG = re.compile(r"\s*(?P<host>[^\s\[\]:]+)\s+(?P<tag>[^\s\[\]:]+)(?:\[(?P<pid>\d+)\])?:(?=\s|$)")
_SEPARATOR = re.compile(r"^\s+-(?=\s)")
_LEVEL_TOKEN = re.compile(r"\s*[\[<(]?(?P<word>[A-Za-z]+)[\]>)]?:?(?=\s|$)")
_SERVICE_BRACKET = re.compile(r"\s*\[(?P<service>[\w.\-/]+)\]:?(?=\s|$)")
# Lower-case only: a capitalised "Word:" is far more often the start of a sentence than a service.
_SERVICE_COLON = re.compile(r"\s*(?P<service>[a-z][a-z0-9_.\-/]*)(?:\[(?P<pid>\d+)\])?:(?=\s|$)")
_REQUEST = re.compile(rf"\s*(?P<method>{_METHODS})\s+(?P<target>/\S*)(?:\s+HTTP/[\d.]+)?(?=\s|$)")
_PAIR = re.compile(r"""(?<!\S)(?P<key>[A-Za-z_@][\w.\-@]*)=(?P<value>"(?:[^"\\]|\\.)*"|'[^']*'|\S*)""")
_DURATION = re.compile(r"(?P<num>\d+(?:\.\d+)?)\s*(?P<unit>ns|us|µs|μs|ms|secs|sec|s|min|m|h)?")
_ESCAPE = re.compile(r'\\(["\\])')
_PLAIN_NUMBER = re.compile(r"-?(?:0|[1-9]\d{0,15})(?:\.\d+)?")


def parse_plain_text(line: str, source: str = "", default_service: str = "unknown",
                     reference: datetime | date | None = None, now: datetime | None = None) -> WideEvent:
    """One log line → WideEvent; raises EventValidationError (field "timestamp" when there is none).

    `source` is part of the event id (hash of source + line), so give the same source for the same
    line on every read. `reference` dates syslog lines, which carry no year (default: today).
    """
    text = line.rstrip("\r\n")
    rest = text.strip()
    fields: dict[str, Any] = {}
    attributes: dict[str, Any] = {}

    syslog_level = None
    if match := _PRIORITY.match(rest):
        # RFC 3164/5424 priority: facility * 8 + severity; the severity is a level we can use.
        syslog_level = ("fatal", "fatal", "fatal", "error", "warn", "info", "info", "debug")[int(match["pri"]) % 8]
        rest = rest[match.end():]
    timestamp, rest = _leading_timestamp(rest, reference, now, fields, attributes)
    rest, header = _header(rest, fields, attributes)
    if syslog_level and "level" not in header:
        header["level"] = syslog_level

    if match := _REQUEST.match(rest):
        fields["method"] = match["method"]
        path, _, query = match["target"].partition("?")
        fields["route"] = path
        if query:
            attributes["url.query"] = query
        rest = rest[match.end():]

    free_text, pairs = _split_pairs(rest)
    message_parts = [free_text] if free_text else []
    error_detail = []
    for key, value in pairs:
        lowered = key.lower()
        if lowered in MESSAGE_KEYS:
            message_parts.append(value)
        elif lowered in ERROR_DETAIL_KEYS:
            error_detail.append(value)
        elif lowered in TIMESTAMP_KEYS and timestamp is None:
            timestamp = parse_timestamp(int(value) if re.fullmatch(r"[0-9]{1,19}", value) else value, now=now)
        elif lowered in DURATION_KEYS:
            duration = _duration_ms(value, DURATION_KEYS[lowered])
            if duration is None:
                attributes[key] = value
            else:
                fields["duration_ms"] = duration
        elif lowered in KEY_FIELDS:
            _set_field(KEY_FIELDS[lowered], key, value, fields, attributes)
        else:
            attributes[key] = _attribute_value(value)

    annotate_auth(rest, fields, attributes)  # sshd, PAM, ftpd...: the account tried and its source

    if timestamp is None:
        raise EventValidationError("timestamp", text[:40], "no leading timestamp (ISO-8601, "
                                   "'YYYY-MM-DD HH:MM:SS,fff', syslog, epoch, Apache, log4j, HDFS or "
                                   "'yyyyMMdd-HH:mm:ss') and no time= pair")
    message = ": ".join(message_parts + error_detail)
    fields.setdefault("event_id", "txt-" + hashlib.sha1(
        f"{source}\n{text}".encode("utf-8", "surrogatepass")).hexdigest()[:24])
    fields.setdefault("service", header.get("service") or default_service)
    fields.setdefault("route", NO_ROUTE)
    fields.setdefault("duration_ms", 0.0)
    fields.setdefault("level", header.get("level") or "info")
    if message:
        fields["error.message"] = message
    record = {**fields, "timestamp": format_timestamp(timestamp), "attributes": attributes}
    return parse_event(record, now=now)


def _leading_timestamp(rest: str, reference: datetime | date | None, now: datetime | None,
                       fields: dict, attributes: dict) -> tuple[datetime | None, str]:
    if match := _ISO.match(rest):
        frac = (match["frac"] or "0")[:6].ljust(6, "0")
        tz = match["tz"] or ""
        if tz in ("Z", "z", "UTC"):
            tz = "+00:00"
        elif tz and ":" not in tz:
            tz = f"{tz[:3]}:{tz[3:5] or '00'}"
        iso = f"{match['date']}T{match['time']}.{frac}{tz}"
        return parse_timestamp(iso, now=now), rest[match.end():]
    if match := _SYSLOG.match(rest):
        ts = _syslog_timestamp(match, reference, now)
        rest = rest[match.end():]
        if tag := _SYSLOG_TAG.match(rest):
            attributes["host.name"] = tag["host"]
            fields["service"] = tag["tag"]
            if tag["pid"]:
                attributes["process.pid"] = int(tag["pid"])
            rest = rest[tag.end():]
        return ts, rest
    if match := _EPOCH.match(rest):
        raw = match["epoch"]
        return parse_timestamp(float(raw) if "." in raw else int(raw), now=now), rest[match.end():]
    stamp, rest, extras = other_leading_timestamp(rest, reference, now)
    attributes.update(extras)
    if stamp is not None and rest.startswith("|"):
        rest = _pipe_header(rest, fields, attributes)
    return stamp, rest


def _pipe_header(rest: str, fields: dict, attributes: dict) -> str:
    """`|component|pid|message` after the timestamp (HealthApp-style): the component is the service."""
    parts = rest[1:].split("|", 2)
    if len(parts) == 3 and parts[0].strip() and parts[1].strip().isdigit():
        fields["service"] = parts[0].strip()
        attributes["process.pid"] = int(parts[1])
        return " " + parts[2]
    return " " + rest[1:]


def _syslog_timestamp(match: re.Match, reference: datetime | date | None, now: datetime | None) -> datetime:
    ref = reference or now or datetime.now(timezone.utc)
    ref_date = ref.date() if isinstance(ref, datetime) else ref
    month = ("jan feb mar apr may jun jul aug sep oct nov dec".split().index(match["mon"].lower())) + 1
    frac = (match["frac"] or "0").ljust(6, "0")
    for year in (ref_date.year, ref_date.year - 1):
        try:
            candidate = datetime.fromisoformat(
                f"{year:04d}-{month:02d}-{int(match['day']):02d}T{match['time']}.{frac}+00:00")
        except ValueError:
            continue  # Feb 29 outside a leap year: try the year before
        # A December line read in January belongs to last year; allow a day of clock skew.
        if (candidate.date() - ref_date).days <= 1:
            return candidate
    raise EventValidationError("timestamp", match.group(0), f"not a valid syslog date around {ref_date.year}")


def _header(rest: str, fields: dict, attributes: dict) -> tuple[str, dict[str, str]]:
    """Consume the level word and the service marker that follow the timestamp, in either order."""
    header: dict[str, str] = {}
    rest = _SEPARATOR.sub(" ", rest, count=1)  # "2015-07-29 17:41:44,747 - INFO  [...]": log4j's "%d - %p"
    for _ in range(3):
        match = _LEVEL_TOKEN.match(rest)
        if "level" not in header and match and match["word"].lower() in LEVEL_WORDS:
            header["level"] = LEVEL_WORDS[match["word"].lower()]
            rest = rest[match.end():]
            continue
        if "service" in header or "service" in fields:
            break
        match = _SERVICE_BRACKET.match(rest) or _SERVICE_COLON.match(rest)
        if not match:
            break
        header["service"] = match["service"]
        if match.groupdict().get("pid"):
            attributes["process.pid"] = int(match["pid"])
        rest = rest[match.end():]
    return rest.strip(), header


def _split_pairs(body: str) -> tuple[str, list[tuple[str, str]]]:
    """Free text with the key=value pairs cut out, and the pairs (quotes removed) in order."""
    pairs, pieces, last = [], [], 0
    for match in _PAIR.finditer(body):
        pieces.append(body[last:match.start()].strip())
        last = match.end()
        pairs.append((match["key"], _unquote(match["value"])))
    pieces.append(body[last:].strip())
    return " ".join(piece for piece in pieces if piece), pairs


def _unquote(value: str) -> str:
    if len(value) >= 2 and value[0] == value[-1] == '"':
        inner = value[1:-1]
        return _ESCAPE.sub(r"\1", inner) if "\\" in inner else inner
    if len(value) >= 2 and value[0] == value[-1] == "'":
        return value[1:-1]
    return value


def _set_field(name: str, key: str, value: str, fields: dict, attributes: dict) -> None:
    if not value.strip():
        attributes[key] = value  # `user=` says nothing about the user; keep it, but fill no field
    elif name in ("status", "sample_rate"):
        if not re.fullmatch(r"\d{1,9}", value):
            # Text logs use status=ok as often as status=200; a word is detail, not a bad line.
            attributes[key] = value
            return
        fields[name] = int(value)
    elif name == "method":
        fields[name] = value.upper()
    elif name == "level":
        fields[name] = LEVEL_WORDS.get(value.lower(), value)
    elif name == "route" and "route" in fields:
        attributes["url.path"] = fields["route"]  # the template wins; keep the concrete path
        fields[name] = value
    else:
        fields[name] = value


def _duration_ms(value: str, default_unit: str) -> float | None:
    """`5012`, `5012ms`, `5.0s`, `1m30s`, `250us` → milliseconds; None when it is not a duration."""
    text = value.strip().lower()
    if not text:
        return None
    total, pos = 0.0, 0
    for match in _DURATION.finditer(text):
        if match.start() != pos:
            return None
        unit = match["unit"] or default_unit
        total += float(match["num"]) * _UNIT_MS[unit]
        pos = match.end()
        if match["unit"] is None and pos != len(text):
            return None
    return total if pos == len(text) else None


def _attribute_value(value: str) -> Any:
    """Numbers become numbers only when that loses nothing ("1.10" and "007" stay text)."""
    if _PLAIN_NUMBER.fullmatch(value):
        number = float(value) if "." in value else int(value)
        if str(number) == value:
            return number
    return value
