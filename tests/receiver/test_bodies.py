"""Reading request bodies under the cap: counted after decompression, corrupt or cut gzip refused,
every gzip member read and bytes after the last refused."""
from __future__ import annotations

import asyncio
import gzip

import pytest

from logintel.receiver.bodies import BodyError, decode_body, read_body


async def _chunks(data: bytes, size: int = 65536):
    for start in range(0, len(data), size):
        yield data[start:start + size]


def _read(data: bytes, encoding: str = "identity", cap: int = 1000, length: int | None = None) -> bytes:
    return decode_body(asyncio.run(read_body(_chunks(data), encoding, cap, length)), encoding, cap)


def test_a_body_at_the_cap_is_read_and_one_byte_over_is_413():
    assert _read(b"x" * 1000) == b"x" * 1000
    with pytest.raises(BodyError) as err:
        _read(b"x" * 1001)
    assert err.value.status == 413


def test_a_declared_length_over_the_cap_is_refused_before_reading():
    with pytest.raises(BodyError) as err:
        _read(b"", length=5000)
    assert err.value.status == 413


def test_gzip_is_inflated_and_capped_on_what_it_inflates_to():
    assert _read(gzip.compress(b"y" * 1000), "gzip") == b"y" * 1000
    bomb = gzip.compress(b"\0" * 10_000_000)
    with pytest.raises(BodyError, match="once decompressed") as err:
        _read(bomb, "gzip", cap=20_000)
    assert err.value.status == 413 and len(bomb) < 20_000


@pytest.mark.parametrize("data, message", [(b"\x1f\x8b\x08\x00\x00\x00\x00\x00\x00\xff" + b"\xff" * 20, "corrupt"),
                                           (gzip.compress(b"z" * 500)[:-10], "cut short")])
def test_a_corrupt_or_cut_gzip_stream_is_400(data, message):
    with pytest.raises(BodyError, match=message) as err:
        _read(data, "gzip")
    assert err.value.status == 400


def test_an_unknown_encoding_is_415():
    with pytest.raises(BodyError) as err:
        _read(b"abc", "zstd")
    assert err.value.status == 415


def test_gzip_members_back_to_back_are_read_whole():
    # RFC 1952 lets members follow one another (what `cat a.gz b.gz` and pigz make); each counts.
    assert _read(gzip.compress(b"first\n") + gzip.compress(b"second\n"), "gzip") == b"first\nsecond\n"
    many = b"".join(gzip.compress(b"%d\n" % i) for i in range(5000))
    assert _read(many, "gzip", cap=len(many)) == b"".join(b"%d\n" % i for i in range(5000))


def test_a_bomb_spread_over_many_members_is_413_at_the_cap_after_decompression():
    member = gzip.compress(b"\0" * 5_000)
    with pytest.raises(BodyError, match="once decompressed") as err:
        _read(member * 10, "gzip", cap=20_000)
    assert err.value.status == 413 and len(member * 10) < 20_000


@pytest.mark.parametrize("tail", [b"garbage", b"\x1f", b"\0" * 8])
def test_bytes_after_the_last_gzip_member_are_400_not_ignored(tail):
    with pytest.raises(BodyError, match="after the gzip") as err:
        _read(gzip.compress(b"z" * 500) + tail, "gzip")
    assert err.value.status == 400
