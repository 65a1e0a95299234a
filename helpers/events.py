"""Typed, immutable stream events.

Every event carries ``received_ns``: ``time.perf_counter_ns()`` taken the moment
its frame was handed over by botocore, before any decoding work. Timing code
(``helpers.timing``) relies on nothing else.

One class per Anthropic event and delta kind, one for legacy Text Completions
chunks, one per ConverseStream event, and ``UnknownEvent`` so that nothing a
newer service sends is ever dropped.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

__all__ = [
    "StreamEvent",
    "MessageStart",
    "ContentBlockStart",
    "TextDelta",
    "InputJsonDelta",
    "ThinkingDelta",
    "SignatureDelta",
    "ContentBlockStop",
    "MessageDelta",
    "MessageStop",
    "Ping",
    "CompletionChunk",
    "ConverseMessageStart",
    "ConverseBlockStart",
    "ConverseBlockDelta",
    "ConverseBlockStop",
    "ConverseMessageStop",
    "ConverseMetadata",
    "UnknownEvent",
    "DELTA_TYPES",
]


@dataclass(frozen=True, slots=True)
class StreamEvent:
    """Base class. ``type`` is the wire name (``content_block_delta``, ``messageStart`` ...)."""

    received_ns: int

    type = "event"

    @property
    def carries_output(self) -> bool:
        """True for events that carry model output (text, tool input, thinking)."""
        return False


# --- Anthropic Messages (InvokeModelWithResponseStream) -----------------------------------


@dataclass(frozen=True, slots=True)
class MessageStart(StreamEvent):
    message: dict[str, Any]
    type = "message_start"


@dataclass(frozen=True, slots=True)
class ContentBlockStart(StreamEvent):
    # For redacted thinking the whole block arrives here: {"type": "redacted_thinking", "data": "..."},
    # with no deltas before its content_block_stop.
    index: int
    content_block: dict[str, Any]
    type = "content_block_start"

    @property
    def block_type(self) -> str:
        return str(self.content_block.get("type", ""))


@dataclass(frozen=True, slots=True)
class TextDelta(StreamEvent):
    index: int
    text: str
    type = "content_block_delta"
    delta_type = "text_delta"

    @property
    def carries_output(self) -> bool:
        return True


@dataclass(frozen=True, slots=True)
class InputJsonDelta(StreamEvent):
    index: int
    partial_json: str
    type = "content_block_delta"
    delta_type = "input_json_delta"

    @property
    def carries_output(self) -> bool:
        return True


@dataclass(frozen=True, slots=True)
class ThinkingDelta(StreamEvent):
    index: int
    thinking: str
    type = "content_block_delta"
    delta_type = "thinking_delta"

    @property
    def carries_output(self) -> bool:
        return True


@dataclass(frozen=True, slots=True)
class SignatureDelta(StreamEvent):
    index: int
    signature: str
    type = "content_block_delta"
    delta_type = "signature_delta"


@dataclass(frozen=True, slots=True)
class ContentBlockStop(StreamEvent):
    index: int
    type = "content_block_stop"


@dataclass(frozen=True, slots=True)
class MessageDelta(StreamEvent):
    stop_reason: str | None
    stop_sequence: str | None
    usage: dict[str, Any]
    type = "message_delta"


@dataclass(frozen=True, slots=True)
class MessageStop(StreamEvent):
    # Bedrock's ``amazon-bedrock-invocationMetrics`` (empty dict when absent).
    metrics: dict[str, Any]
    type = "message_stop"


@dataclass(frozen=True, slots=True)
class Ping(StreamEvent):
    type = "ping"


# --- Legacy Text Completions --------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class CompletionChunk(StreamEvent):
    completion: str
    stop_reason: str | None
    stop: str | None
    metrics: dict[str, Any] = field(default_factory=dict)
    type = "completion"

    @property
    def carries_output(self) -> bool:
        return bool(self.completion)


# --- ConverseStream -----------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class ConverseMessageStart(StreamEvent):
    role: str
    type = "messageStart"


@dataclass(frozen=True, slots=True)
class ConverseBlockStart(StreamEvent):
    index: int
    start: dict[str, Any]
    type = "contentBlockStart"


@dataclass(frozen=True, slots=True)
class ConverseBlockDelta(StreamEvent):
    index: int
    # One of {"text": ...}, {"toolUse": {"input": ...}}, {"reasoningContent": {...}}. Redacted reasoning
    # is {"reasoningContent": {"redactedContent": b"..."}}: bytes, as botocore decodes the blob.
    delta: dict[str, Any]
    type = "contentBlockDelta"

    @property
    def carries_output(self) -> bool:
        return "signature" not in self.delta.get("reasoningContent", {})


@dataclass(frozen=True, slots=True)
class ConverseBlockStop(StreamEvent):
    index: int
    type = "contentBlockStop"


@dataclass(frozen=True, slots=True)
class ConverseMessageStop(StreamEvent):
    stop_reason: str
    type = "messageStop"


@dataclass(frozen=True, slots=True)
class ConverseMetadata(StreamEvent):
    usage: dict[str, Any]
    metrics: dict[str, Any]
    # The tier that served the request, when it asked for one: {"type": "flex"} (botocore 1.44's
    # ConverseStreamMetadataEvent.serviceTier; AWS workshop §8 reads metadata.serviceTier.type).
    service_tier: dict[str, Any] | None = None
    type = "metadata"


# --- Anything else ------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class UnknownEvent(StreamEvent):
    """An event this course does not know yet, kept whole rather than dropped."""

    name: str
    payload: Any

    @property
    def type(self) -> str:  # type: ignore[override]
        return self.name


DELTA_TYPES: dict[str, type[StreamEvent]] = {
    "text_delta": TextDelta,
    "input_json_delta": InputJsonDelta,
    "thinking_delta": ThinkingDelta,
    "signature_delta": SignatureDelta,
}
