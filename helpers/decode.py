"""Decoding: one model event as JSON (a dict) -> one typed ``helpers.events`` object. Pure, wire-agnostic.

Anthropic's Messages events arrive the same on every wire (a base64 chunk inside an event-stream frame,
or the ``data:`` line of an SSE event); ConverseStream members have their own shapes. Each reader in
``helpers.wires`` finds the JSON and its arrival time; this module only names what it means.
"""

from __future__ import annotations

import base64
import json
from typing import Any

from helpers.events import (
    CompletionChunk,
    ContentBlockStart,
    ContentBlockStop,
    ConverseBlockDelta,
    ConverseBlockStart,
    ConverseBlockStop,
    ConverseMessageStart,
    ConverseMessageStop,
    ConverseMetadata,
    InputJsonDelta,
    MessageDelta,
    MessageStart,
    MessageStop,
    Ping,
    SignatureDelta,
    StreamEvent,
    TextDelta,
    ThinkingDelta,
    UnknownEvent,
)

__all__ = ["decode_chunk", "converse_event", "payload_json", "InBandError", "METRICS_KEY", "CONVERSE_EVENTS"]

METRICS_KEY = "amazon-bedrock-invocationMetrics"
CONVERSE_EVENTS = frozenset(
    ("messageStart", "contentBlockStart", "contentBlockDelta", "contentBlockStop", "messageStop", "metadata")
)


class InBandError(Exception):
    """A model chunk that is an error: ``{"type": "error", "error": {"type": "rate_limit_error", ...}}``.

    Why it exists: InvokeModelWithResponseStream can answer HTTP 200 and then carry Anthropic's error object
    as an ordinary ``chunk`` frame, not as an exception frame (reported with ``rate_limit_error`` in
    https://github.com/anthropics/anthropic-sdk-python/issues/1472); the Messages API's SSE stream sends the
    same object as ``event: error``. Raised by :func:`decode_chunk`; ``helpers.stream_result`` turns it into
    the typed ``StreamError`` for ``error_type`` (``rate_limit_error`` -> ``StreamThrottled``...).
    """

    def __init__(self, received_ns: int, body: Any) -> None:
        error = body.get("error") if isinstance(body, dict) else None
        error = error if isinstance(error, dict) else {}
        self.received_ns = received_ns
        self.error_type = str(error.get("type") or "error")
        self.message = str(error.get("message") or body)
        self.body = body
        super().__init__(f"{self.error_type}: {self.message}")


def _content_block_delta(ns: int, d: dict[str, Any]) -> StreamEvent:
    delta = d.get("delta") or {}
    kind = delta.get("type")
    if kind == "text_delta":
        return TextDelta(ns, d["index"], delta["text"])
    if kind == "input_json_delta":
        return InputJsonDelta(ns, d["index"], delta["partial_json"])
    if kind == "thinking_delta":
        return ThinkingDelta(ns, d["index"], delta["thinking"])
    if kind == "signature_delta":
        return SignatureDelta(ns, d["index"], delta["signature"])
    return UnknownEvent(ns, "content_block_delta", d)


def _message_delta(ns: int, d: dict[str, Any]) -> StreamEvent:
    delta = d.get("delta") or {}
    return MessageDelta(ns, delta.get("stop_reason"), delta.get("stop_sequence"), d.get("usage") or {})


_ANTHROPIC = {
    "content_block_delta": _content_block_delta,
    "message_start": lambda ns, d: MessageStart(ns, d.get("message") or {}),
    "content_block_start": lambda ns, d: ContentBlockStart(ns, d["index"], d.get("content_block") or {}),
    "content_block_stop": lambda ns, d: ContentBlockStop(ns, d["index"]),
    "message_delta": _message_delta,
    "message_stop": lambda ns, d: MessageStop(ns, d.get(METRICS_KEY) or {}),
    "ping": lambda ns, d: Ping(ns),
}


def decode_chunk(received_ns: int, chunk: dict[str, Any]) -> StreamEvent:
    """One decoded model chunk (Anthropic event or legacy completion) as a typed event.

    An error chunk (``"type": "error"``) is no event: it raises :class:`InBandError`.
    """
    kind = chunk.get("type")
    make = _ANTHROPIC.get(kind)  # type: ignore[arg-type]
    if make is not None:
        try:
            return make(received_ns, chunk)
        except KeyError:
            return UnknownEvent(received_ns, str(chunk.get("type")), chunk)
    if "completion" in chunk:
        return CompletionChunk(
            received_ns,
            chunk["completion"],
            chunk.get("stop_reason"),
            chunk.get("stop"),
            chunk.get(METRICS_KEY) or {},
        )
    if kind == "error":
        raise InBandError(received_ns, chunk)
    return UnknownEvent(received_ns, str(chunk.get("type", "chunk")), chunk)


def _redacted_as_bytes(delta: dict[str, Any]) -> dict[str, Any]:
    """``redactedContent`` is a blob: base64 text in the frame's JSON, bytes once botocore parses it.

    The fast path reads the JSON itself, so it decodes the blob the same way; a reader then sees
    the same value whichever path a frame took.
    """
    reasoning = delta.get("reasoningContent")
    if isinstance(reasoning, dict) and isinstance(reasoning.get("redactedContent"), str):
        blob = base64.b64decode(reasoning["redactedContent"])
        return {**delta, "reasoningContent": {**reasoning, "redactedContent": blob}}
    return delta


def converse_event(ns: int, name: str, body: dict[str, Any]) -> StreamEvent:
    if name == "contentBlockDelta":
        delta = body.get("delta") or {}
        if "reasoningContent" in delta:
            delta = _redacted_as_bytes(delta)
        return ConverseBlockDelta(ns, body.get("contentBlockIndex", 0), delta)
    if name == "messageStart":
        return ConverseMessageStart(ns, body.get("role", "assistant"))
    if name == "contentBlockStart":
        return ConverseBlockStart(ns, body.get("contentBlockIndex", 0), body.get("start") or {})
    if name == "contentBlockStop":
        return ConverseBlockStop(ns, body.get("contentBlockIndex", 0))
    if name == "messageStop":
        return ConverseMessageStop(ns, body.get("stopReason", ""))
    if name == "metadata":
        return ConverseMetadata(ns, body.get("usage") or {}, body.get("metrics") or {}, body.get("serviceTier"))
    return UnknownEvent(ns, name, body)


def payload_json(payload: bytes) -> Any:
    try:
        return json.loads(payload) if payload else {}
    except ValueError:
        return payload
