"""A small AWS event-stream encoder (the framing botocore's ``eventstream.py`` decodes).

Frame: prelude (total length, headers length, CRC32 of those 8 bytes), headers, payload, CRC32 of all
that precedes it. Only string headers (type 7) are needed here. Header blocks for the common frames are
built once at import, because a stream may carry tens of thousands of frames.
"""

from __future__ import annotations

import base64
import json
import struct
import zlib

_PRELUDE = struct.Struct(">II")
_UINT32 = struct.Struct(">I")
_STRING_TYPE = 7


def encode_headers(headers: list[tuple[str, str]]) -> bytes:
    parts = []
    for name, value in headers:
        raw_name = name.encode("utf-8")
        raw_value = value.encode("utf-8")
        if len(raw_name) > 255:
            raise ValueError(f"header name {name!r} is longer than 255 bytes")
        parts.append(bytes([len(raw_name)]) + raw_name + bytes([_STRING_TYPE]))
        parts.append(struct.pack(">H", len(raw_value)) + raw_value)
    return b"".join(parts)


def encode_frame(headers: bytes, payload: bytes) -> bytes:
    """One event-stream message from an already encoded header block and a payload."""
    prelude = _PRELUDE.pack(12 + len(headers) + len(payload) + 4, len(headers))
    head = prelude + _UINT32.pack(zlib.crc32(prelude))
    crc = zlib.crc32(payload, zlib.crc32(headers, zlib.crc32(head)))
    return b"".join((head, headers, payload, _UINT32.pack(crc)))


CHUNK_HEADERS = encode_headers(
    [(":event-type", "chunk"), (":content-type", "application/json"), (":message-type", "event")]
)


# One encoder for every chunk: json.dumps with these options builds a new encoder per call, and a room of
# streams encodes tens of thousands of chunks a second. Output is identical to json.dumps(..., same options).
_COMPACT_JSON = json.JSONEncoder(separators=(",", ":"), ensure_ascii=False)


def chunk_payload(model_chunk: dict, padding: str = "") -> bytes:
    """The PayloadPart JSON: the model's chunk, base64 encoded, plus padding that hides its length."""
    raw = _COMPACT_JSON.encode(model_chunk).encode("utf-8")
    b64 = base64.b64encode(raw)
    return b'{"bytes":"' + b64 + b'","p":"' + padding.encode("ascii") + b'"}'


def chunk_frame(model_chunk: dict, padding: str = "") -> bytes:
    return encode_frame(CHUNK_HEADERS, chunk_payload(model_chunk, padding))


def exception_frame(member: str, message: str, **fields: object) -> bytes:
    """An in-stream exception; ``member`` is the lowerCamel union member, e.g. ``throttlingException``."""
    headers = encode_headers(
        [(":exception-type", member), (":content-type", "application/json"), (":message-type", "exception")]
    )
    payload = json.dumps({"message": message, **fields}).encode("utf-8")
    return encode_frame(headers, payload)
