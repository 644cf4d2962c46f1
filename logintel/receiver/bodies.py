"""Request bodies: read under a byte cap, gunzipped under the same cap (counted after decompression),
so a small gzip bomb is refused at the cap instead of filling memory."""
from __future__ import annotations

import zlib
from collections.abc import AsyncIterator

DEFAULT_MAX_BODY_BYTES = 20 * 1024 * 1024  # the OTLP specification's recommended cap
_GZIP = 16 + zlib.MAX_WBITS


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
    """The whole body, decoded; BodyError(413) past `max_bytes`, (415) for an unknown encoding,
    (400) for a gzip stream that is corrupt or cut short."""
    if encoding not in ("identity", "gzip"):
        raise BodyError(415, f"Content-Encoding {encoding!r} is not supported: send gzip or no compression")
    if content_length is not None and content_length > max_bytes:
        raise BodyError(413, _too_large(max_bytes))
    if encoding == "identity":
        parts, size = [], 0
        async for chunk in chunks:
            size += len(chunk)
            if size > max_bytes:
                raise BodyError(413, _too_large(max_bytes))
            parts.append(chunk)
        return b"".join(parts)
    inflater = zlib.decompressobj(_GZIP)
    parts, size, read = [], 0, 0
    try:
        async for chunk in chunks:
            read += len(chunk)
            if read > max_bytes:
                raise BodyError(413, _too_large(max_bytes))
            data = chunk
            while data:
                # max_length keeps one small compressed chunk from inflating past the cap in one go.
                out = inflater.decompress(data, max_bytes - size + 1)
                size += len(out)
                if size > max_bytes:
                    raise BodyError(413, _too_large(max_bytes, after_gunzip=True))
                parts.append(out)
                data = inflater.unconsumed_tail
        out = inflater.flush()
        size += len(out)
        if size > max_bytes:
            raise BodyError(413, _too_large(max_bytes, after_gunzip=True))
        parts.append(out)
    except zlib.error as exc:
        raise BodyError(400, f"the gzip body is corrupt: {exc}") from None
    if read and not inflater.eof:
        raise BodyError(400, "the gzip body ends before its stream does (cut short)")
    return b"".join(parts)


def _too_large(max_bytes: int, after_gunzip: bool = False) -> str:
    where = " once decompressed" if after_gunzip else ""
    return f"the body is over the {max_bytes:,}-byte limit{where}; send smaller batches"
