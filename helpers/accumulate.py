"""Fold stream events into the message they describe.

One fold, ``Accumulator``, for every wire and stream shape (Anthropic Messages events from the event
stream or SSE, legacy Text Completions, ConverseStream): it keeps text pieces in lists and builds an
immutable ``Snapshot`` only when asked. ``fold(state, event)`` and ``fold_all(events)`` are the same rules
as pure functions over snapshots (the idea of the anthropic SDK's stream accumulator), for tests and
lessons.

Conventions:
- ``blocks`` are in order of first appearance; each stream index maps to one block.
- a tool block's ``input`` is parsed when the block stops; ``None`` before that or if the
  JSON is incomplete or not an object. No input pieces at all means ``{}``.
- ``usage`` uses Anthropic's keys (``input_tokens``, ``output_tokens``, ...). ConverseStream's
  own keys (``inputTokens``...) are kept and the Anthropic names added beside them; legacy
  completions report tokens only in the invocation metrics, so usage is filled from there.
- ``metrics`` is Bedrock's ``amazon-bedrock-invocationMetrics`` (Converse: ``latencyMs``).
- a ``redacted_thinking`` block (InvokeModel streams: a ``content_block_start`` holding ``data``;
  ConverseStream: a ``reasoningContent.redactedContent`` delta holding bytes) is kept whole as a
  ``RedactedThinkingBlock``, in its place among the blocks. Its content is encrypted reasoning the
  reader cannot see, and the model needs it back unchanged on the next turn (Anthropic's extended
  thinking guide: redacted_thinking blocks are passed back to the API as they came), so nothing
  about it is altered.
- ``message_content`` / ``converse_content`` turn the blocks into the assistant turn to send back,
  in the Messages or the Converse shape; thinking (signature included) and redacted thinking travel
  unchanged.
- events this module does not know only bump ``event_count``.
"""

from __future__ import annotations

import base64
import json
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any, ClassVar

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
)

__all__ = [
    "TextBlock",
    "ToolUseBlock",
    "ThinkingBlock",
    "RedactedThinkingBlock",
    "OtherBlock",
    "Block",
    "Snapshot",
    "EMPTY",
    "fold",
    "fold_all",
    "Accumulator",
    "message_content",
    "converse_content",
]


@dataclass(frozen=True, slots=True)
class TextBlock:
    text: str
    type: ClassVar[str] = "text"


@dataclass(frozen=True, slots=True)
class ToolUseBlock:
    id: str
    name: str
    input_json: str
    input: dict[str, Any] | None
    type: ClassVar[str] = "tool_use"


@dataclass(frozen=True, slots=True)
class ThinkingBlock:
    thinking: str
    signature: str | None
    type: ClassVar[str] = "thinking"


@dataclass(frozen=True, slots=True)
class RedactedThinkingBlock:
    """Reasoning the safety systems encrypted: opaque, shown to nobody, sent back exactly as received.

    ``data`` is what the wire carried: a str on InvokeModel streams (``{"type": "redacted_thinking",
    "data": ...}``), bytes on ConverseStream (``redactedContent``, a blob botocore decodes).
    """

    data: str | bytes
    type: ClassVar[str] = "redacted_thinking"


@dataclass(frozen=True, slots=True)
class OtherBlock:
    """A content block of a kind this course does not model (a newer block type), kept whole."""

    kind: str
    data: dict[str, Any]
    type: ClassVar[str] = "other"


Block = TextBlock | ToolUseBlock | ThinkingBlock | RedactedThinkingBlock | OtherBlock


@dataclass(frozen=True)
class Snapshot:
    """The message accumulated so far."""

    message_id: str | None = None
    model: str | None = None
    blocks: tuple[Block, ...] = ()
    text: str = ""
    stop_reason: str | None = None
    stop_sequence: str | None = None
    usage: dict[str, Any] = field(default_factory=dict)
    metrics: dict[str, Any] = field(default_factory=dict)
    event_count: int = 0
    output_event_count: int = 0
    # Stream index of each block, parallel to ``blocks``.
    indices: tuple[int, ...] = field(default=(), repr=False)

    @property
    def tool_uses(self) -> tuple[ToolUseBlock, ...]:
        return tuple(b for b in self.blocks if isinstance(b, ToolUseBlock))

    @property
    def thinking(self) -> str:
        return "".join(b.thinking for b in self.blocks if isinstance(b, ThinkingBlock))

    def assistant_message(self) -> dict[str, Any]:
        """The assistant turn to send back in a Messages body (InvokeModel): every block, thinking unchanged."""
        return {"role": "assistant", "content": message_content(self.blocks)}

    def converse_message(self) -> dict[str, Any]:
        """The assistant turn to send back in a Converse request, in Converse's block shapes."""
        return {"role": "assistant", "content": converse_content(self.blocks)}


EMPTY = Snapshot()


# --- the next turn -------------------------------------------------------------------------------


def _as_text(data: str | bytes) -> str:
    # A Converse blob travels as base64 text in a Messages body (JSON has no bytes).
    return base64.b64encode(data).decode("ascii") if isinstance(data, bytes) else data


def _as_bytes(data: str | bytes) -> bytes:
    return data if isinstance(data, bytes) else base64.b64decode(data)


def message_content(blocks: Iterable[Block]) -> list[dict[str, Any]]:
    """Blocks as Messages content blocks, in order, for the assistant turn of the next request.

    Empty text blocks are left out (Bedrock refuses them); a tool call whose input never parsed
    goes back with ``{}``; anything unknown goes back as it came.
    """
    content: list[dict[str, Any]] = []
    for block in blocks:
        if isinstance(block, TextBlock):
            if block.text:
                content.append({"type": "text", "text": block.text})
        elif isinstance(block, ToolUseBlock):
            tool_input = block.input if block.input is not None else {}
            content.append({"type": "tool_use", "id": block.id, "name": block.name, "input": tool_input})
        elif isinstance(block, ThinkingBlock):
            content.append({"type": "thinking", "thinking": block.thinking, "signature": block.signature or ""})
        elif isinstance(block, RedactedThinkingBlock):
            content.append({"type": "redacted_thinking", "data": _as_text(block.data)})
        else:
            content.append(dict(block.data))
    return content


def converse_content(blocks: Iterable[Block]) -> list[dict[str, Any]]:
    """Blocks as Converse content blocks (``text``, ``toolUse``, ``reasoningContent``), in order."""
    content: list[dict[str, Any]] = []
    for block in blocks:
        if isinstance(block, TextBlock):
            if block.text:
                content.append({"text": block.text})
        elif isinstance(block, ToolUseBlock):
            tool_input = block.input if block.input is not None else {}
            content.append({"toolUse": {"toolUseId": block.id, "name": block.name, "input": tool_input}})
        elif isinstance(block, ThinkingBlock):
            reasoning: dict[str, Any] = {"text": block.thinking}
            if block.signature:
                reasoning["signature"] = block.signature
            content.append({"reasoningContent": {"reasoningText": reasoning}})
        elif isinstance(block, RedactedThinkingBlock):
            content.append({"reasoningContent": {"redactedContent": _as_bytes(block.data)}})
        else:
            content.append(dict(block.data))
    return content


# --- shared small pieces ---------------------------------------------------------------------


def _parse_tool_input(text: str) -> dict[str, Any] | None:
    if not text:
        return {}
    try:
        value = json.loads(text)
    except ValueError:
        return None
    return value if isinstance(value, dict) else None


def _block_from_start(content_block: dict[str, Any]) -> Block:
    kind = content_block.get("type", "")
    if kind == "text":
        return TextBlock(content_block.get("text") or "")
    if kind == "tool_use":
        return ToolUseBlock(str(content_block.get("id", "")), str(content_block.get("name", "")), "", None)
    if kind == "thinking":
        return ThinkingBlock(content_block.get("thinking") or "", content_block.get("signature") or None)
    if kind == "redacted_thinking":
        return RedactedThinkingBlock(content_block.get("data") or "")
    return OtherBlock(str(kind), dict(content_block))


def _converse_block_from_start(start: dict[str, Any]) -> Block:
    tool = start.get("toolUse")
    if isinstance(tool, dict):
        return ToolUseBlock(str(tool.get("toolUseId", "")), str(tool.get("name", "")), "", None)
    return OtherBlock(next(iter(start), "unknown"), dict(start))


def _converse_usage(usage: dict[str, Any]) -> dict[str, Any]:
    out = dict(usage)
    if "inputTokens" in usage:
        out["input_tokens"] = usage["inputTokens"]
    if "outputTokens" in usage:
        out["output_tokens"] = usage["outputTokens"]
    return out


def _legacy_usage(metrics: dict[str, Any]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    if "inputTokenCount" in metrics:
        out["input_tokens"] = metrics["inputTokenCount"]
    if "outputTokenCount" in metrics:
        out["output_tokens"] = metrics["outputTokenCount"]
    return out


# --- the fold -------------------------------------------------------------------------------


class _Building:
    """One block while it grows: pieces in lists, joined only when a snapshot is taken."""

    __slots__ = ("kind", "pieces", "sig_pieces", "id", "name", "input", "data", "has_sig")

    def __init__(self, kind: str, id: str = "", name: str = "", data: dict[str, Any] | None = None):
        self.kind = kind
        self.pieces: list[str] = []
        self.sig_pieces: list[str] = []
        self.has_sig = False
        self.id = id
        self.name = name
        self.input: dict[str, Any] | None = None
        self.data = data

    @classmethod
    def from_block(cls, block: Block) -> _Building:
        if isinstance(block, TextBlock):
            b = cls("text")
            if block.text:
                b.pieces.append(block.text)
        elif isinstance(block, ToolUseBlock):
            b = cls("tool_use", block.id, block.name)
            if block.input_json:  # a snapshot taken mid-block (fold) carries its pieces on
                b.pieces.append(block.input_json)
            b.input = block.input
        elif isinstance(block, ThinkingBlock):
            b = cls("thinking")
            if block.thinking:
                b.pieces.append(block.thinking)
            if block.signature is not None:
                b.has_sig = True
                b.sig_pieces.append(block.signature)
        elif isinstance(block, RedactedThinkingBlock):
            b = cls("redacted_thinking")
            b.pieces.append(block.data)  # type: ignore[arg-type]
        else:
            b = cls("other", block.kind, data=block.data)
        return b

    def freeze(self) -> Block:
        kind = self.kind
        if kind == "text":
            return TextBlock("".join(self.pieces))
        if kind == "tool_use":
            return ToolUseBlock(self.id, self.name, "".join(self.pieces), self.input)
        if kind == "thinking":
            return ThinkingBlock("".join(self.pieces), "".join(self.sig_pieces) if self.has_sig else None)
        if kind == "redacted_thinking":
            pieces: list[Any] = self.pieces
            return RedactedThinkingBlock(pieces[0][:0].join(pieces) if pieces else "")
        return OtherBlock(self.id, self.data or {})


class Accumulator:
    """The fold: events in, the message they describe out.

    ``add(event)`` is O(1) per event (text pieces kept in lists); ``snapshot()`` builds an immutable
    ``Snapshot`` (cached until the next event). Reading ``snapshot()`` from another thread while one
    thread adds is safe; the snapshot may then be one event behind its own counters.
    """

    def __init__(self) -> None:
        self._blocks: list[_Building] = []
        self._indices: list[int] = []
        self._by_index: dict[int, _Building] = {}
        self.message_id: str | None = None
        self.model: str | None = None
        self.stop_reason: str | None = None
        self.stop_sequence: str | None = None
        self.usage: dict[str, Any] = {}
        self.metrics: dict[str, Any] = {}
        self.event_count = 0
        self.output_event_count = 0
        self._cache: Snapshot | None = None
        self._cache_count = -1
        self._dispatch: dict[type, Callable[[Any], None]] = {
            TextDelta: self._text,
            InputJsonDelta: self._tool_json,
            ThinkingDelta: self._thinking,
            SignatureDelta: self._signature,
            ContentBlockStart: self._block_start,
            ContentBlockStop: self._block_stop,
            ConverseBlockStop: self._block_stop,
            MessageStart: self._message_start,
            MessageDelta: self._message_delta,
            MessageStop: self._message_stop,
            CompletionChunk: self._completion,
            ConverseBlockStart: self._converse_start,
            ConverseBlockDelta: self._converse_delta,
            ConverseMessageStop: self._converse_stop,
            ConverseMetadata: self._converse_metadata,
            Ping: _ignore,
            ConverseMessageStart: _ignore,
        }

    @classmethod
    def from_snapshot(cls, state: Snapshot) -> Accumulator:
        """An accumulator that continues from ``state`` (which is left untouched)."""
        acc = cls()
        for index, block in zip(state.indices, state.blocks, strict=True):
            acc._replace(index, _Building.from_block(block))
        acc.message_id, acc.model = state.message_id, state.model
        acc.stop_reason, acc.stop_sequence = state.stop_reason, state.stop_sequence
        acc.usage, acc.metrics = dict(state.usage), dict(state.metrics)
        acc.event_count, acc.output_event_count = state.event_count, state.output_event_count
        return acc

    def add(self, event: StreamEvent) -> None:
        self.event_count += 1
        handler = self._dispatch.get(type(event))
        if handler is None:
            if event.carries_output:
                self.output_event_count += 1
            return
        handler(event)

    def add_all(self, events: Iterable[StreamEvent]) -> Accumulator:
        for event in events:
            self.add(event)
        return self

    # -- block bookkeeping
    def _at(self, index: int, kind: str) -> _Building:
        b = self._by_index.get(index)
        if b is None or b.kind != kind:
            b = self._replace(index, _Building(kind))
        return b

    def _replace(self, index: int, b: _Building) -> _Building:
        old = self._by_index.get(index)
        if old is None:
            self._blocks.append(b)
            self._indices.append(index)
        else:
            self._blocks[self._indices.index(index)] = b
        self._by_index[index] = b
        return b

    # -- handlers (the hot ones first)
    def _text(self, ev: TextDelta) -> None:
        self.output_event_count += 1
        b = self._by_index.get(ev.index)
        if b is None or b.kind != "text":
            b = self._replace(ev.index, _Building("text"))
        b.pieces.append(ev.text)

    def _tool_json(self, ev: InputJsonDelta) -> None:
        self.output_event_count += 1
        b = self._by_index.get(ev.index)
        if b is None or b.kind != "tool_use":
            b = self._replace(ev.index, _Building("tool_use"))
        b.pieces.append(ev.partial_json)

    def _thinking(self, ev: ThinkingDelta) -> None:
        self.output_event_count += 1
        self._at(ev.index, "thinking").pieces.append(ev.thinking)

    def _signature(self, ev: SignatureDelta) -> None:
        b = self._at(ev.index, "thinking")
        if ev.signature:
            b.has_sig = True
            b.sig_pieces.append(ev.signature)

    def _block_start(self, ev: ContentBlockStart) -> None:
        self._replace(ev.index, _Building.from_block(_block_from_start(ev.content_block)))

    def _converse_start(self, ev: ConverseBlockStart) -> None:
        self._replace(ev.index, _Building.from_block(_converse_block_from_start(ev.start)))

    def _block_stop(self, ev: ContentBlockStop | ConverseBlockStop) -> None:
        b = self._by_index.get(ev.index)
        if b is not None and b.kind == "tool_use":
            b.input = _parse_tool_input("".join(b.pieces))

    def _message_start(self, ev: MessageStart) -> None:
        msg = ev.message
        self.message_id = msg.get("id", self.message_id)
        self.model = msg.get("model", self.model)
        self.usage = {**self.usage, **(msg.get("usage") or {})}

    def _message_delta(self, ev: MessageDelta) -> None:
        self.stop_reason = ev.stop_reason
        self.stop_sequence = ev.stop_sequence
        self.usage = {**self.usage, **(ev.usage or {})}

    def _message_stop(self, ev: MessageStop) -> None:
        self.metrics = {**self.metrics, **(ev.metrics or {})}

    def _completion(self, ev: CompletionChunk) -> None:
        if ev.completion:
            self.output_event_count += 1
        if ev.stop_reason is not None:
            self.stop_reason = ev.stop_reason
            self.stop_sequence = ev.stop if ev.stop_reason == "stop_sequence" else None
        if ev.metrics:
            self.metrics = {**self.metrics, **ev.metrics}
            self.usage = {**self.usage, **_legacy_usage(ev.metrics)}
        if ev.completion or 0 not in self._by_index:
            self._at(0, "text").pieces.append(ev.completion)

    def _converse_delta(self, ev: ConverseBlockDelta) -> None:
        if ev.carries_output:
            self.output_event_count += 1
        delta = ev.delta
        if "text" in delta:
            self._at(ev.index, "text").pieces.append(delta["text"])
        elif "toolUse" in delta:
            self._at(ev.index, "tool_use").pieces.append(delta["toolUse"].get("input", ""))
        elif "reasoningContent" in delta:
            rc = delta["reasoningContent"]
            if "redactedContent" in rc:
                self._redacted(ev.index, rc["redactedContent"])
                return
            b = self._at(ev.index, "thinking")
            b.pieces.append(rc.get("text", ""))
            sig = rc.get("signature", "")
            if sig:
                b.has_sig = True
                b.sig_pieces.append(sig)

    def _redacted(self, index: int, data: str | bytes) -> None:
        b = self._at(index, "redacted_thinking")
        pieces: list[Any] = b.pieces
        if pieces and type(pieces[0]) is not type(data):
            pieces.clear()  # mixed str and bytes cannot join; keep the newest, as the pure fold does
        pieces.append(data)

    def _converse_stop(self, ev: ConverseMessageStop) -> None:
        self.stop_reason = ev.stop_reason

    def _converse_metadata(self, ev: ConverseMetadata) -> None:
        self.usage = {**self.usage, **_converse_usage(ev.usage or {})}
        self.metrics = {**self.metrics, **(ev.metrics or {})}

    # -- reading
    def snapshot(self) -> Snapshot:
        count = self.event_count
        cached = self._cache
        if cached is not None and self._cache_count == count:
            return cached
        blocks = tuple(b.freeze() for b in list(self._blocks))
        snap = Snapshot(
            message_id=self.message_id,
            model=self.model,
            blocks=blocks,
            text="".join(b.text for b in blocks if isinstance(b, TextBlock)),
            stop_reason=self.stop_reason,
            stop_sequence=self.stop_sequence,
            usage=dict(self.usage),
            metrics=dict(self.metrics),
            event_count=count,
            output_event_count=self.output_event_count,
            indices=tuple(self._indices[: len(blocks)]),
        )
        self._cache, self._cache_count = snap, count
        return snap


def _ignore(_event: StreamEvent) -> None:
    return None


def fold(state: Snapshot, event: StreamEvent) -> Snapshot:
    """The snapshot after ``event``. Pure: ``state`` is never modified.

    The same fold as ``Accumulator`` (it continues one from ``state``), so there is one set of rules; it
    costs a copy of ``state`` per call, fine for a few events, not for reading a long stream.
    """
    acc = Accumulator.from_snapshot(state)
    acc.add(event)
    return acc.snapshot()


def fold_all(events: Iterable[StreamEvent], state: Snapshot = EMPTY) -> Snapshot:
    """Every event folded in order, starting from ``state``."""
    return Accumulator.from_snapshot(state).add_all(events).snapshot()
