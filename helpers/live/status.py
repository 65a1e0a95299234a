"""Status lines: a live one with timings, and a deterministic one for stored outputs.

The live line is for eyes only. The static line must be identical on every run with
the same seed (nbval compares stored outputs), so it carries no timings and no ids.
"""

from __future__ import annotations

from typing import Any

from helpers.timing import output_tokens

__all__ = ["static_status", "live_status", "LiveFigures"]


def _result_state(result: Any) -> str:
    error = getattr(result, "error", None)
    if error is not None:
        code = getattr(error, "code", "") or type(error).__name__
        message = str(error).strip()
        return f"error {code}: {message}" if message else f"error {code}"
    if getattr(result, "stopped", False):
        return "stopped - the partial answer is kept"
    stop = getattr(result, "stop_reason", None)
    return f"stop_reason: {stop}" if stop else "ended without a stop_reason"


def _blocks_note(snapshot: Any) -> list[str]:
    kinds = [getattr(b, "type", "") for b in getattr(snapshot, "blocks", ())]
    notes = []
    if "thinking" in kinds:
        notes.append("thinking")
    tools = kinds.count("tool_use")
    if tools:
        notes.append(f"{tools} tool call{'s' if tools > 1 else ''}")
    return notes


def static_status(result: Any) -> str:
    """e.g. ``anthropic.claude-3-haiku-20240307-v1:0 · stop_reason: end_turn · 123 output tokens``."""
    snapshot = result.snapshot
    parts = []
    model = getattr(result, "model_id", "") or getattr(snapshot, "model", None)
    if model:
        parts.append(str(model))
    parts.append(_result_state(result))
    tokens = output_tokens(dict(snapshot.usage or {}), dict(snapshot.metrics or {}))
    if tokens is not None and getattr(result, "error", None) is None and not getattr(result, "stopped", False):
        parts.append(f"{tokens} output tokens")
    else:
        parts.append(f"{snapshot.output_event_count} output chunks received")
    parts.extend(_blocks_note(snapshot))
    return " · ".join(parts)


class LiveFigures:
    """Running timing figures, updated from only the events not seen yet.

    With ``gaps=False`` (no chart to draw) a frame touches only the newest events: the
    first output time is found once, the latest by looking back from the end, and the
    character count comes from the accumulated snapshot - so the cost of a frame does
    not grow with the stream, and the reader keeps the GIL. ``gaps=True`` also keeps
    every gap between output chunks, for the chart.
    """

    def __init__(self, request_sent_ns: int, *, gaps: bool = True) -> None:
        self.request_sent_ns = request_sent_ns
        self.track_gaps = gaps
        self.seen = 0
        self.chunks = 0
        self.chars = 0
        self.first_ns: int | None = None
        self.last_ns: int | None = None
        self.gaps_ms: list[float] = []

    def advance(self, events: list[Any], snapshot: Any = None) -> None:
        end = len(events)  # the reader may append meanwhile; take a consistent prefix
        if self.track_gaps or snapshot is None:
            self._walk(events, end)
        else:
            self._glance(events, end, snapshot)
        self.seen = end

    def _walk(self, events: list[Any], end: int) -> None:
        from helpers.timing import output_chars

        for i in range(self.seen, end):
            e = events[i]
            if not e.carries_output:
                continue
            if self.last_ns is not None:
                self.gaps_ms.append((e.received_ns - self.last_ns) / 1e6)
            else:
                self.first_ns = e.received_ns
            self.last_ns = e.received_ns
            self.chunks += 1
            self.chars += output_chars(e)

    def _glance(self, events: list[Any], end: int, snapshot: Any) -> None:
        if self.first_ns is None:
            for i in range(self.seen, end):
                if events[i].carries_output:
                    self.first_ns = events[i].received_ns
                    break
        for i in range(end - 1, self.seen - 1, -1):
            if events[i].carries_output:
                self.last_ns = events[i].received_ns
                break
        self.chunks = snapshot.output_event_count
        self.chars = _snapshot_chars(snapshot)

    @property
    def ttft_ms(self) -> float | None:
        if self.first_ns is None or not self.request_sent_ns:
            return None
        return (self.first_ns - self.request_sent_ns) / 1e6


def _snapshot_chars(snapshot: Any) -> int:
    chars = 0
    for block in getattr(snapshot, "blocks", ()):
        kind = getattr(block, "type", "")
        if kind == "text":
            chars += len(block.text)
        elif kind == "thinking":
            chars += len(block.thinking)
        elif kind == "tool_use":
            chars += len(block.input_json)
    return chars


def live_status(result: Any, figures: LiveFigures, *, done: bool) -> str:
    """Model, output tokens so far, tokens/s, time to first token, then the ending."""
    snapshot = result.snapshot
    parts = []
    model = getattr(result, "model_id", "") or getattr(snapshot, "model", None)
    if model:
        parts.append(str(model))
    reported = output_tokens(dict(snapshot.usage or {}), dict(snapshot.metrics or {}))
    final = reported is not None and snapshot.stop_reason is not None
    # Until the service reports the total, ~4 characters per token is the usual estimate.
    tokens = reported if final else round(figures.chars / 4)
    parts.append(f"{'' if final else '~'}{tokens} output tokens")
    if figures.first_ns is not None and figures.last_ns is not None and figures.last_ns > figures.first_ns:
        parts.append(f"{tokens / ((figures.last_ns - figures.first_ns) / 1e9):.0f} tokens/s")
    if figures.ttft_ms is not None:
        parts.append(f"first token after {figures.ttft_ms:.0f} ms")
    parts.append(_result_state(result) if done else "streaming...")
    return " · ".join(parts)
