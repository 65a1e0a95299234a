"""Split an event-stream HTTP body into frames, as botocore would, without its copying.

botocore's ``EventStreamBuffer`` copies the whole unread buffer once per message, which
dominates the cost of reading a long stream; its public iterator also skips event types its
service model does not know. ``read_frames`` applies the same rules and checks (prelude CRC,
message CRC, header and payload limits, the same exception classes) in one pass, and stamps
each network read with ``perf_counter_ns`` before any decoding. The tests compare it with
botocore's decoder on the same bytes, however they are split.
"""

from __future__ import annotations

import json
import struct
import time
from collections.abc import Iterable, Iterator
from typing import Any
from zlib import crc32

from botocore.eventstream import (
    ChecksumMismatch,
    DuplicateHeader,
    EventStreamHeaderParser,
    InvalidHeadersLength,
    InvalidPayloadLength,
)

__all__ = ["read_frames", "loads"]

# botocore's limits (botocore/eventstream.py), so a frame it would refuse is refused here too.
_MAX_HEADERS_LENGTH = 128 * 1024
_MAX_PAYLOAD_LENGTH = 24 * 1024 * 1024
_PRELUDE = struct.Struct(">III")
_UINT32 = struct.Struct(">I")
_header_parser = EventStreamHeaderParser()


def _parse_headers(data: bytes, start: int, end: int) -> dict[str, Any]:
    """Frame headers; string and bytes values inline, any other type handed to botocore's parser."""
    headers: dict[str, Any] = {}
    pos = start
    while pos < end:
        name_end = pos + 1 + data[pos]
        name = data[pos + 1 : name_end].decode("utf-8")
        kind = data[name_end]
        if kind != 7 and kind != 6:
            return _header_parser.parse(data[start:end])
        value_start = name_end + 3
        value_end = value_start + ((data[name_end + 1] << 8) | data[name_end + 2])
        value = data[value_start:value_end]
        if name in headers:
            raise DuplicateHeader(name)
        headers[name] = value.decode("utf-8") if kind == 7 else value
        pos = value_end
    return headers


def read_frames(chunks: Iterable[bytes]) -> Iterator[tuple[int, dict[str, Any], bytes]]:
    """Event-stream messages from the HTTP body, each with the time its bytes arrived.

    The same framing rules and checks as botocore's ``EventStreamBuffer`` (prelude CRC, message
    CRC, header and payload limits, the same exceptions), without its per-message copy of the
    whole remaining buffer, which dominates the cost of a long stream. The tests check it
    against botocore's decoder on the same bytes.
    """
    data = b""
    pos = 0
    seen: dict[bytes, dict[str, Any]] = {}
    now = time.perf_counter_ns
    unpack_prelude = _PRELUDE.unpack_from
    unpack_crc = _UINT32.unpack_from
    for chunk in chunks:
        # Every message completed by this read arrived now: stamp once, before any decoding.
        ns = now()
        data = data[pos:] + chunk if pos < len(data) else chunk
        pos = 0
        size = len(data)
        view = memoryview(data)
        while size - pos >= 12:
            total, headers_length, prelude_crc = unpack_prelude(data, pos)
            computed = crc32(view[pos : pos + 8]) & 0xFFFFFFFF
            if computed != prelude_crc:
                raise ChecksumMismatch(prelude_crc, computed)
            if headers_length > _MAX_HEADERS_LENGTH:
                raise InvalidHeadersLength(headers_length)
            if total - headers_length - 16 > _MAX_PAYLOAD_LENGTH:
                raise InvalidPayloadLength(total - headers_length - 16)
            if size - pos < total:
                break
            payload_end = pos + total - 4
            (message_crc,) = unpack_crc(data, payload_end)
            computed = crc32(view[pos + 8 : payload_end], prelude_crc) & 0xFFFFFFFF
            if computed != message_crc:
                raise ChecksumMismatch(message_crc, computed)
            headers_end = pos + 12 + headers_length
            # Frames of one stream repeat the same few header blocks: parse each kind once.
            header_bytes = data[pos + 12 : headers_end]
            headers = seen.get(header_bytes)
            if headers is None:
                headers = _parse_headers(data, pos + 12, headers_end)
                if len(seen) < 64:
                    seen[header_bytes] = headers
            yield ns, headers, data[headers_end:payload_end]
            pos += total
        view.release()


_scan_once = json.JSONDecoder().scan_once


def loads(text: str) -> Any:
    """``json.loads`` without its Python wrapper layers, for the compact JSON every frame carries.

    Anything the bare scanner does not consume exactly (surrounding whitespace, trailing
    data, invalid JSON) goes to ``json.loads``, which accepts or rejects it as usual.
    """
    try:
        value, end = _scan_once(text, 0)
    except StopIteration:
        return json.loads(text)
    if end != len(text):
        return json.loads(text)
    return value
