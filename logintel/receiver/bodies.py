"""Request bodies: read under a byte cap, then gunzipped under the same cap (counted after
decompression), so a small gzip bomb is refused at the cap instead of filling memory.

Reading is async (it waits on the network); decoding is plain CPU work, done off the event loop by
the caller. A gzip body may hold several members back to back (RFC 1952, what `cat a.gz b.gz` or
pigz make): each is read, all under the one cap; bytes after the last member are refused, not ignored.
"""
from __future__ import annotations

import zlib
from collections.abc import AsyncIterator

DEFAULT_MAX_BODY_BYTES = 20 * 1024 * 1024  # the OTLP specification's recommended cap
ENCODINGS = ("identity", "gzip")
_GZIP = 16 + zlib.MAX_WBITS
_GZIP_MAGIC = b"\x1f\x8b"
# Compressed bytes handed to zlib at a time: what is left over after a member ends is copied (as
# unused_data), so a body of many tiny members costs linear time, not quadratic.
_FEED_BYTES = 4 * 1024


class BodyError(ValueError):
    """A body refused whole: `status` is the HTTP status to answer with (and `retry_after_s` the
    Retry-After of a throttled one)."""

    def __init__(self, status: int, message: str, retry_after_s: int | None = None):
        super().__init__(message)
        self.status = status
        self.retry_after_s = retry_after_s


def content_encoding(headers) -> str:
    value = (headers.get("content-encoding") or "identity").strip().lower()
    return "identity" if value in ("", "identity", "none") else value


async def read_body(chunks: AsyncIterator[bytes], encoding: str, max_bytes: int,
                    content_length: int | None = None) -> bytes:
    """The whole body as sent (still compressed); BodyError(415) for an unknown encoding, before a
    byte is read, and (413) past `max_bytes`."""
    if encoding not in ENCODINGS:
        raise BodyError(415, f"Content-Encoding {encoding!r} is not supported: send gzip or no compression")
    if content_length is not None and content_length > max_bytes:
        raise BodyError(413, _too_large(max_bytes))
    parts, size = [], 0
    async for chunk in chunks:
        size += len(chunk)
        if size > max_bytes:
            raise BodyError(413, _too_large(max_bytes))
        parts.append(chunk)
    return b"".join(parts)


def decode_body(raw: bytes, encoding: str, max_bytes: int) -> bytes:
    """The body decoded: gunzipped (every member) under `max_bytes`, else as it is; BodyError (413)
    past the cap, (400) for a gzip stream that is corrupt, cut short or followed by other bytes."""
    if encoding == "identity" or not raw:
        return raw
    try:
        return _gunzip(raw, max_bytes)
    except zlib.error as exc:
        raise BodyError(400, f"the gzip body is corrupt: {exc}") from None


def _gunzip(raw: bytes, max_bytes: int) -> bytes:
    view, position, members = memoryview(raw), 0, 1
    inflater = zlib.decompressobj(_GZIP)
    parts, size = [], 0
    while position < len(raw):
        fed = view[position:position + _FEED_BYTES]
        # max_length keeps one small compressed chunk from inflating past the cap in one go; short
        # of the cap, zlib takes all it was fed (or stops at the member's end).
        out = inflater.decompress(fed, max_bytes - size + 1)
        size += len(out)
        if size > max_bytes:
            raise BodyError(413, _too_large(max_bytes, after_gunzip=True))
        parts.append(out)
        position += len(fed) - len(inflater.unused_data)
        if inflater.eof and position < len(raw):
            if raw[position:position + 2] != _GZIP_MAGIC:
                raise BodyError(400, f"{len(raw) - position:,} bytes after the gzip stream's member {members} "
                                     "are not another gzip member")
            inflater, members = zlib.decompressobj(_GZIP), members + 1
    if not inflater.eof:
        raise BodyError(400, "the gzip body ends before its stream does (cut short)")
    return b"".join(parts)


def _too_large(max_bytes: int, after_gunzip: bool = False) -> str:
    where = " once decompressed" if after_gunzip else ""
    return f"the body is over the {max_bytes:,}-byte limit{where}; send smaller batches"
