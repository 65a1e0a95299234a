"""The SSE wire: server-sent events from the Messages API (``POST /anthropic/v1/messages`` with ``"stream": true``).

Text, not frames: each event is an ``event:`` line, a ``data:`` line of JSON and a blank line (the WHATWG
"server-sent events" format). No length prefix and no checksum -- TLS protects the bytes, and a cut
connection shows as a stream without ``message_stop``. Besides Anthropic's message events the wire carries
``ping`` (keep-alive; passed on as ``Ping``) and, after a 200 has started, ``event: error`` with
``{"type": "error", "error": {"type": "overloaded_error", ...}}``: the failure travels in-band, as an
exception frame does on the event stream.

:func:`sse_events` parses per the format's rules (``\\n``, ``\\r\\n`` or ``\\r`` line ends, comments, several
``data:`` lines joined with ``\\n``), with a fast path for the single-line events every server sends. Each
network read is stamped once, on arrival, before any decoding, as ``helpers.framing`` does for frames.
"""

from __future__ import annotations

import time
from collections.abc import Iterable, Iterator
from typing import Any

import httpx

from helpers.decode import InBandError, decode_chunk
from helpers.errors import StreamConnectionLost, StreamError, stream_error_class
from helpers.events import Ping, StreamEvent, TextDelta, UnknownEvent
from helpers.framing import loads
from helpers.wires import wake_blocked_reader

__all__ = ["SseWire", "SseErrorEvent", "sse_events"]


class SseErrorEvent(InBandError):
    """An ``event: error`` arrived: the server gave up mid-answer (turned into a ``StreamError``).

    The same Anthropic error object as the event stream's in-band error chunk, so the same reading of it."""


def _fields(block: bytes) -> tuple[bytes, bytes] | None:
    """(event name, data) of one event block by the format's line rules; None if it carries no data."""
    name = b""
    data: list[bytes] = []
    for line in block.split(b"\n"):
        if not line or line[:1] == b":":
            continue  # a comment (":" first) or an empty line
        field, sep, value = line.partition(b":")
        if sep and value[:1] == b" ":
            value = value[1:]
        if field == b"event":
            name = value
        elif field == b"data":
            data.append(value)
    if not data:
        return None
    return name or b"message", b"\n".join(data)


def _decode(ns: int, name: bytes, data: bytes) -> StreamEvent:
    text = data.decode()
    try:
        value = loads(text)
    except ValueError:
        return UnknownEvent(ns, name.decode(errors="replace"), {"data": text})
    if name == b"error":
        raise SseErrorEvent(ns, value)
    if name == b"ping":
        return Ping(ns)
    if not isinstance(value, dict):
        return UnknownEvent(ns, name.decode(errors="replace"), {"data": value})
    return decode_chunk(ns, value)


def sse_events(chunks: Iterable[bytes]) -> Iterator[StreamEvent]:
    """Typed events from the bytes of an SSE body, each stamped when the read that completed it arrived.

    An ``event: error`` raises ``SseErrorEvent``; an event the course does not know is passed on as
    ``UnknownEvent`` (Anthropic: clients must ignore -- not fail on -- new event types).
    """
    now = time.perf_counter_ns
    rest = b""
    for chunk in chunks:
        ns = now()  # every event completed by this read arrived now: stamp first
        data = rest + chunk if rest else chunk
        hold = b""
        if b"\r" in data:
            # Rare: CR or CRLF line ends. Hold a final CR back: its LF may come with the next read.
            if data.endswith(b"\r"):
                data, hold = data[:-1], b"\r"
            data = data.replace(b"\r\n", b"\n").replace(b"\r", b"\n")
        blocks = data.split(b"\n\n")
        rest = blocks.pop() + hold
        for block in blocks:
            # The fast path: one "event: NAME" line and one "data: JSON" line, as servers send them.
            if block[:7] == b"event: ":
                cut = block.find(b"\ndata: ")
                if cut > 0 and block.find(b"\n", cut + 1) < 0:
                    name = block[7:cut]
                    if name == b"content_block_delta":
                        value = loads(block[cut + 7 :].decode())
                        delta = value.get("delta")
                        if type(delta) is dict and delta.get("type") == "text_delta" and "index" in value:
                            yield TextDelta(ns, value["index"], delta["text"])
                        else:
                            yield decode_chunk(ns, value)
                        continue
                    yield _decode(ns, name, block[cut + 7 :])
                    continue
            fields = _fields(block)
            if fields is not None:
                yield _decode(ns, *fields)
    if rest.endswith(b"\r"):  # the body ended on a CR: it was a line end after all
        for block in rest.replace(b"\r", b"\n").split(b"\n\n")[:-1]:
            fields = _fields(block)
            if fields is not None:
                yield _decode(ns, *fields)


class SseWire:
    """An httpx streaming response from the Messages API as a ``Wire``."""

    name = "sse"

    def __init__(self, response: httpx.Response) -> None:
        self.response = response
        request_id = response.headers.get("request-id") or response.headers.get("x-amzn-requestid")
        self.metadata: dict[str, Any] = {
            "RequestId": request_id,
            "HTTPStatusCode": response.status_code,
            "HTTPHeaders": dict(response.headers),
        }

    def events(self) -> Iterator[StreamEvent]:
        return sse_events(self.response.iter_bytes())

    def interrupt(self) -> None:
        # httpcore's documented "network_stream" extension reaches the socket; shutting it down wakes a
        # read blocked in another thread, which closing the response from here could wait behind.
        stream = self.response.extensions.get("network_stream")
        if wake_blocked_reader(stream.get_extra_info("socket") if stream is not None else None):
            return
        self.close()

    def close(self) -> None:
        try:
            self.response.close()
        except Exception:
            pass

    def stream_error(self, exc: BaseException, partial: Any) -> StreamError | None:
        if isinstance(exc, SseErrorEvent):
            details = {k: v for k, v in exc.body.items() if k not in ("type", "error")} if isinstance(
                exc.body, dict) else {}
            return stream_error_class(exc.error_type)(exc.message, code=exc.error_type, partial=partial,
                                                      details=details)
        if isinstance(exc, httpx.TransportError | httpx.StreamError | OSError):
            return StreamConnectionLost(f"{type(exc).__name__}: {exc}", partial=partial)
        return None
