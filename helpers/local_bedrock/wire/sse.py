"""Server-sent events as the Messages API writes them: one ``event:`` line, one ``data:`` line, a blank line.

The event name repeats the payload's ``type`` (Anthropic's streaming docs show every event this way), so a
client may dispatch on either. Payloads are compact JSON on a single line: JSON escapes newlines inside
strings, so a ``data:`` line never needs splitting.
"""

from __future__ import annotations

import json
from typing import Any

CONTENT_TYPE = b"text/event-stream; charset=utf-8"

PING = b'event: ping\ndata: {"type":"ping"}\n\n'


def encode_event(payload: dict[str, Any]) -> bytes:
    """One Anthropic streaming event (``{"type": "message_start", ...}``) as SSE bytes."""
    data = json.dumps(payload, ensure_ascii=False, separators=(",", ":"))
    return f"event: {payload['type']}\ndata: {data}\n\n".encode()


def error_body(error_type: str, message: str, request_id: str | None = None) -> dict[str, Any]:
    """Anthropic's error object: the same shape in an HTTP error body and in an in-band ``error`` event."""
    body: dict[str, Any] = {"type": "error", "error": {"type": error_type, "message": message}}
    if request_id is not None:
        body["request_id"] = request_id
    return body


def error_event(error_type: str, message: str, request_id: str | None = None) -> bytes:
    """An in-band ``event: error`` (``overloaded_error``, ``api_error``...) sent after a 200 has started."""
    return encode_event(error_body(error_type, message, request_id))
