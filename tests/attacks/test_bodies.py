"""The receiver's body readers under attack: gzip members of any number and size, bytes after them, NDJSON and
JSON array bodies of anything, OTLP bodies of any bytes. Each body is read whole or refused whole with a status;
each record inside ends as an event or a dead letter with its cause."""
from __future__ import annotations

import gzip
import json

import pytest
from hypothesis import given
from hypothesis import strategies as st

from logintel.adapters.otlp_proto import OtlpBodyError
from logintel.events import WideEvent
from logintel.receiver.bodies import BodyError, decode_body
from logintel.receiver.otlp_logs import JSON, PROTOBUF, parse_logs
from logintel.receiver.wide_events import EventsBodyError, parse_events
from tests.attacks.strategies import GOOD, almost_events, json_values

CAP = 64 * 1024


@given(st.lists(st.binary(max_size=3000), min_size=1, max_size=6), st.binary(max_size=20))
def test_every_gzip_member_is_read_and_bytes_after_them_are_refused(chunks, tail):
    body = b"".join(gzip.compress(chunk) for chunk in chunks)
    assert decode_body(body, "gzip", CAP) == b"".join(chunks)
    if tail and not tail.startswith(b"\x1f\x8b"):
        with pytest.raises(BodyError) as refused:
            decode_body(body + tail, "gzip", CAP)
        assert refused.value.status == 400


@given(st.integers(1, 40), st.integers(1, 8))
def test_a_bomb_spread_over_members_is_refused_at_the_cap(members, kib):
    body = gzip.compress(b"\0" * kib * 1024) * members
    if members * kib * 1024 <= CAP:
        assert len(decode_body(body, "gzip", CAP)) == members * kib * 1024
    else:
        with pytest.raises(BodyError) as refused:
            decode_body(body, "gzip", CAP)
        assert refused.value.status == 413


@given(st.binary(max_size=400))
def test_any_gzip_bytes_are_a_body_or_a_refusal(raw):
    try:
        decode_body(b"\x1f\x8b" + raw, "gzip", CAP)
    except BodyError as refused:
        assert refused.status in (400, 413)


def _line(value) -> bytes:
    return value if isinstance(value, bytes) else json.dumps(value, default=str).encode()


@given(st.lists(st.one_of(almost_events(), json_values(8), st.binary(max_size=60).filter(lambda b: b"\n" not in b)),
                max_size=12))
def test_each_ndjson_line_is_an_event_or_a_dead_letter_and_none_is_lost(values):
    lines = [_line(v) for v in values] + [json.dumps(GOOD).encode()]  # a good neighbour at the end
    body = b"\n".join(lines)
    parsed = parse_events(body, ndjson=True)
    # every line that holds something is received (a byte order mark opening the body is not a line's)
    assert parsed.received == sum(1 for line in body.removeprefix(b"\xef\xbb\xbf").split(b"\n") if line.strip())
    assert all(isinstance(e, WideEvent) for e in parsed.events) and parsed.events[-1].event_id == GOOD["event_id"]
    assert all(letter.cause for _, letter in parsed.rejected)


@given(st.lists(st.one_of(almost_events(), json_values(8)), max_size=12))
def test_each_json_array_item_is_an_event_or_a_dead_letter(values):
    try:
        parsed = parse_events(json.dumps(values + [GOOD], default=str).encode())
    except EventsBodyError:
        return  # a body that is no JSON at all is refused whole (400), nothing half-taken
    assert parsed.received >= len(values) + 1  # an OTLP document item may hold several records
    assert parsed.events[-1].event_id == GOOD["event_id"]


@given(st.binary(max_size=500), st.sampled_from([PROTOBUF, JSON]))
def test_any_otlp_body_is_records_or_a_refusal(body, kind):
    try:
        parsed = parse_logs(body, kind)
    except OtlpBodyError:
        return
    assert all(letter.cause for letter in parsed.rejected)
