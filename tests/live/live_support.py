"""Shared helpers for the live tests (imported as ``live_support``; tests/live is on sys.path).

``RecordingComm`` JSON-serializes every message ipywidgets asks it to send (like a kernel
would) and records it, so tests count real widget state messages. ``make_result`` builds a
finished StreamResult from hand-made events; ``StandInResult`` is a live one fed by a
generator (used for view mechanics; end-to-end tests use the real endpoint and helpers.stream).
"""


from __future__ import annotations

import json
import threading
from collections.abc import Iterable, Iterator
from typing import Any

import comm

from helpers.accumulate import EMPTY, fold
from helpers.events import (
    ContentBlockStart,
    ContentBlockStop,
    MessageDelta,
    MessageStart,
    MessageStop,
    StreamEvent,
    TextDelta,
)


class RecordingComm(comm.base_comm.BaseComm):
    """A comm whose ``publish_msg`` serializes like a kernel and keeps what it sent."""

    log: list[tuple[str, str, dict]] = []  # (comm_id, msg_type, data)
    bytes_sent = 0

    def publish_msg(self, msg_type: str, data: Any = None, metadata: Any = None, buffers: Any = None,
                    **keys: Any) -> None:
        text = json.dumps({"data": data or {}, "metadata": metadata or {}, **keys}, default=str)
        RecordingComm.bytes_sent += len(text)
        RecordingComm.log.append((self.comm_id, msg_type, data or {}))


def updates(log: list[tuple[str, str, dict]], comm_id: str | None = None) -> list[dict]:
    """The state-update messages in a recorded log (of one comm when ``comm_id`` is given)."""
    return [
        d for c, t, d in log
        if t == "comm_msg" and d.get("method") == "update" and (comm_id is None or c == comm_id)
    ]


class StandInResult:
    """Enough of helpers.stream.StreamResult for the view: events, snapshot, iteration, close."""

    def __init__(self, source: Iterable[StreamEvent], *, model_id: str = "test-model", request_sent_ns: int = 0):
        self.model_id = model_id
        self.operation = "InvokeModelWithResponseStream"
        self.request_sent_ns = request_sent_ns
        self.events: list[StreamEvent] = []
        self.snapshot = EMPTY
        self.error = None
        self.done = False
        self.stopped = False
        self._source = iter(source)
        self._closed = threading.Event()

    text = property(lambda self: self.snapshot.text)
    stop_reason = property(lambda self: self.snapshot.stop_reason)
    usage = property(lambda self: self.snapshot.usage)
    metrics = property(lambda self: self.snapshot.metrics)
    blocks = property(lambda self: self.snapshot.blocks)

    def __iter__(self) -> Iterator[StreamEvent]:
        for event in self._source:
            if self._closed.is_set():
                break
            self.snapshot = fold(self.snapshot, event)
            self.events.append(event)
            yield event
        self.stopped = self._closed.is_set()
        self.done = True

    def consume(self) -> StandInResult:
        for _ in self:
            pass
        return self

    def close(self) -> None:
        self._closed.set()


def text_events(pieces: list[str], *, start_ns: int = 1_000_000_000, step_ns: int = 1_000_000,
                output_tokens: int | None = None, metrics: dict | None = None) -> list[StreamEvent]:
    """A whole Messages stream with one text block made of ``pieces``, one every ``step_ns``."""
    t = start_ns
    out: list[StreamEvent] = [
        MessageStart(t, {"id": "msg_1", "model": "m", "role": "assistant", "usage": {"input_tokens": 5}}),
        ContentBlockStart(t, 0, {"type": "text", "text": ""}),
    ]
    for p in pieces:
        t += step_ns
        out.append(TextDelta(t, 0, p))
    tokens = output_tokens if output_tokens is not None else len(pieces)
    out += [
        ContentBlockStop(t, 0),
        MessageDelta(t, "end_turn", None, {"output_tokens": tokens}),
        MessageStop(t, metrics or {}),
    ]
    return out


def make_result(events: list[StreamEvent], *, request_sent_ns: int = 0, model_id: str = "test-model") -> Any:
    """A finished result: the real ``StreamResult.from_events`` when it exists, else the stand-in."""
    try:
        from helpers.stream import StreamResult
    except ImportError:
        return StandInResult(events, model_id=model_id, request_sent_ns=request_sent_ns).consume()
    return StreamResult.from_events(events, model_id=model_id, request_sent_ns=request_sent_ns)
