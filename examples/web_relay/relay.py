"""A web relay: Claude's stream from Amazon Bedrock, passed to a browser page as server-sent events (SSE).

The page POSTs ``{"prompt": ..., "api": "invoke" | "messages", "max_tokens": N, "page_id": ...}`` to
``/stream`` and reads SSE back:

- ``event: text``  ``data: {"text": "..."}``            a piece of the answer, sent the moment it arrives;
- ``event: error`` ``data: {"type": ..., "message": ...}`` a failure, before or in the middle of the stream;
- ``event: done``  ``data: {"stop_reason": ..., "usage": {...}}`` the end;
- ``: keep-alive`` comment lines while nothing else is sent, so no proxy on the way drops an idle connection.

Two upstreams:

- ``invoke``: boto3's ``invoke_model_with_response_stream``. boto3 blocks, so a thread reads it; when the page
  goes away the socket under that read is shut down (:func:`wake_reader`), which ends the read at once and closes
  the connection to Bedrock -- the only way a client tells Bedrock to stop generating.
- ``messages``: the Messages API at ``/anthropic/v1/messages`` through the anthropic SDK's async client; an
  asyncio task reads it and cancelling the task closes the connection.

Depends on boto3, starlette and anthropic only: copy this folder into your own project.
"""

from __future__ import annotations

import asyncio
import hashlib
import json
import logging
import re
import socket
import threading
import time
from collections import deque
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import HTMLResponse, JSONResponse, Response, StreamingResponse
from starlette.routing import Route

log = logging.getLogger("web_relay")

PAGE = Path(__file__).with_name("page.html")
MAX_BODY_BYTES = 16 * 1024  # a prompt box, not an upload: anything larger is refused before it is parsed
MAX_PROMPT_CHARS = 8_000
MAX_TOKENS_LIMIT = 4_096
FIELDS = {"prompt", "api", "max_tokens", "page_id"}
APIS = ("invoke", "messages")
PAGE_ID = re.compile(r"[A-Za-z0-9_-]{8,64}")
# Sent whenever the stream has been silent this long. It must be shorter than the shortest idle timeout on the
# way to the browser. An AWS Application Load Balancer closes a connection idle for 60 s by default and says to
# "send at least 1 byte of data before each idle timeout period elapses" (ELB guide, "Edit attributes for your
# Application Load Balancer", Connection idle timeout: docs.aws.amazon.com/elasticloadbalancing/latest/
# application/edit-load-balancer-attributes.html). A comment line is such a byte, and EventSource ignores it.
KEEPALIVE_SECONDS = 15.0
# The app's own limit on one relayed answer; longer streams end with an error event.
STREAM_DEADLINE_SECONDS = 300.0
MAX_OPEN_STREAMS = 64
LOG_KEPT = 1_000  # records GET /log shows; the logger receives every one
ANTHROPIC_VERSION = "bedrock-2023-05-31"  # the Messages body on InvokeModel (AWS "Anthropic Claude Messages API")


class BadRequest(ValueError):
    """What the page sent cannot be relayed; the message says what and how to fix it."""


@dataclass
class RelayConfig:
    """Where the relay sends its calls. ``bedrock`` is a boto3 ``bedrock-runtime`` client (thread-safe)."""

    bedrock: Any
    model_id: str
    messages_client: Any = None  # anthropic.AsyncAnthropic(base_url=".../anthropic", api_key=...), or None
    messages_model_id: str | None = None
    keepalive_seconds: float = KEEPALIVE_SECONDS
    deadline_seconds: float = STREAM_DEADLINE_SECONDS
    max_open_streams: int = MAX_OPEN_STREAMS


# ---- validation --------------------------------------------------------------------------------------------


def parse_request(raw: bytes, content_type: str) -> dict[str, Any]:
    """The page's request, checked field by field; raises ``BadRequest`` naming the problem."""
    if content_type.split(";")[0].strip().lower() != "application/json":
        raise BadRequest(f"Content-Type must be application/json, not {content_type or 'missing'!r}")
    try:
        body = json.loads(raw.decode("utf-8"))
    except (UnicodeDecodeError, ValueError, RecursionError) as err:
        raise BadRequest(f"the body is not valid JSON ({type(err).__name__}: {str(err)[:120]})") from None
    if not isinstance(body, dict):
        raise BadRequest(f"the body must be a JSON object, not {type(body).__name__}")
    unknown = sorted(set(body) - FIELDS)
    if unknown:
        raise BadRequest(f"unknown field(s) {unknown}; allowed: {sorted(FIELDS)}")
    prompt = body.get("prompt")
    if not isinstance(prompt, str) or not prompt.strip():
        raise BadRequest('"prompt" is required: a non-empty string')
    if len(prompt) > MAX_PROMPT_CHARS:
        raise BadRequest(f'"prompt" has {len(prompt)} characters; at most {MAX_PROMPT_CHARS}')
    api = body.get("api", "invoke")
    if api not in APIS:
        raise BadRequest(f'"api" must be one of {list(APIS)}, not {api!r}')
    max_tokens = body.get("max_tokens", 512)
    if isinstance(max_tokens, bool) or not isinstance(max_tokens, int) or not 1 <= max_tokens <= MAX_TOKENS_LIMIT:
        raise BadRequest(f'"max_tokens" must be an integer from 1 to {MAX_TOKENS_LIMIT}, not {max_tokens!r}')
    page_id = body.get("page_id")
    if not isinstance(page_id, str) or not PAGE_ID.fullmatch(page_id):
        raise BadRequest('"page_id" is required: 8 to 64 letters, digits, "-" or "_" (the page makes one)')
    return {"prompt": prompt, "api": api, "max_tokens": max_tokens, "page_id": page_id}


async def read_body(request: Request, limit: int = MAX_BODY_BYTES) -> bytes:
    """The request body, reading at most ``limit + 1`` bytes: a larger one is refused, never held whole."""
    received = bytearray()
    async for piece in request.stream():
        received += piece
        if len(received) > limit:
            break
    return bytes(received)


# ---- the log: every request the app receives, kept whether it is relayed or refused ---------------------------


@dataclass
class LogRecord:
    id: int
    received_at: float
    client: str
    size: int
    sha256: str
    body: Any  # the parsed request when valid, else the first 512 characters received
    status: int = 200
    outcome: str = "streaming"  # refused: <reason> / done / error: <type> / stopped: page left / stopped: replaced…
    events_sent: int = 0
    upstream_closed_ms: float | None = None  # from the page's disconnect to the upstream connection closed


class RelayLog:
    """Each record goes to the ``web_relay`` logger as one JSON line when it is received and when it ends
    (configure a handler to keep them all); the newest ``LOG_KEPT`` are also kept for ``GET /log``."""

    def __init__(self) -> None:
        self.records: deque[LogRecord] = deque(maxlen=LOG_KEPT)
        self._next = 1

    def received(self, client: str, raw: bytes) -> LogRecord:
        record = LogRecord(self._next, time.time(), client, len(raw), hashlib.sha256(raw).hexdigest(),
                           raw[:512].decode("utf-8", "replace"))
        self._next += 1
        self.records.appendleft(record)
        log.info("received %s", json.dumps(record.__dict__))
        return record

    def finished(self, record: LogRecord, **changes: Any) -> None:
        for key, value in changes.items():
            setattr(record, key, value)
        log.info("finished %s", json.dumps(record.__dict__))


# ---- the two upstreams ---------------------------------------------------------------------------------------


def wake_reader(event_stream: Any) -> None:
    """Wake a thread blocked reading a boto3 ``EventStream`` and close its connection to Bedrock.

    ``close()`` from another thread could wait behind the blocked read; shutting the socket down never does.
    botocore keeps the urllib3 response in ``EventStream._raw_stream`` (botocore/eventstream.py, private).
    """
    raw = getattr(event_stream, "_raw_stream", None)
    try:
        raw.shutdown()  # urllib3 >= 2.3 (urllib3/response.py HTTPResponse.shutdown)
        return
    except Exception:
        pass
    sock = getattr(getattr(raw, "connection", None), "sock", None)
    if isinstance(sock, socket.socket):
        try:
            sock.shutdown(socket.SHUT_RDWR)
        except OSError:
            pass


@dataclass
class Upstream:
    """One relayed answer: events go into ``queue``; ``stop()`` closes the connection to Bedrock."""

    loop: asyncio.AbstractEventLoop
    on_closed: Callable[[Upstream], None] = lambda upstream: None
    queue: asyncio.Queue = field(default_factory=asyncio.Queue)
    closed: asyncio.Event = field(default_factory=asyncio.Event)
    stop_reason_local: str | None = None  # why the relay stopped it: "page left", "replaced"
    stopped_at: float | None = None
    closed_ms: float | None = None  # from stop() to the upstream connection closed
    _event_stream: Any = None
    _task: asyncio.Task | None = None

    @property
    def stopping(self) -> bool:
        return self.stopped_at is not None

    def put(self, kind: str, data: Any) -> None:
        """Thread-safe: hand one event to the loop."""
        self.loop.call_soon_threadsafe(self.queue.put_nowait, (kind, data))

    def stop(self, why: str) -> None:
        """Close the upstream connection now; safe to call more than once, from the loop's thread."""
        if self.stopping or self.closed.is_set():
            return
        self.stop_reason_local, self.stopped_at = why, time.monotonic()
        if self._event_stream is not None:
            wake_reader(self._event_stream)
        if self._task is not None:
            self._task.cancel()

    def mark_closed(self) -> None:
        """Called on the loop once the upstream connection is closed."""
        if self.stopped_at is not None:
            self.closed_ms = round((time.monotonic() - self.stopped_at) * 1000, 1)
        self.closed.set()
        self.on_closed(self)


def _invoke_thread(upstream: Upstream, config: RelayConfig, request: dict[str, Any]) -> None:
    body = {"anthropic_version": ANTHROPIC_VERSION, "max_tokens": request["max_tokens"],
            "messages": [{"role": "user", "content": request["prompt"]}]}
    event_stream = None
    try:
        response = config.bedrock.invoke_model_with_response_stream(modelId=config.model_id, body=json.dumps(body))
        event_stream = upstream._event_stream = response["body"]
        if upstream.stopping:  # Stop came while we waited for Bedrock's headers
            wake_reader(event_stream)
        stop_reason, usage = None, {}
        for event in event_stream:
            chunk = json.loads(event["chunk"]["bytes"])
            kind = chunk.get("type")
            if kind == "content_block_delta" and chunk["delta"].get("type") == "text_delta":
                upstream.put("text", {"text": chunk["delta"]["text"]})
            elif kind == "message_start":
                usage.update(chunk["message"].get("usage", {}))
            elif kind == "message_delta":
                stop_reason = chunk["delta"].get("stop_reason")
                usage.update(chunk.get("usage", {}))
        if not upstream.stopping:
            upstream.put("done", {"stop_reason": stop_reason, "usage": usage})
    except Exception as err:  # boto3 raises EventStreamError (a ClientError) for an exception frame
        if not upstream.stopping:
            code = getattr(err, "response", {}).get("Error", {}).get("Code") or type(err).__name__
            upstream.put("error", {"type": code, "message": str(err)})
    finally:
        if event_stream is not None:
            event_stream.close()
        upstream.put("end", None)
        upstream.loop.call_soon_threadsafe(upstream.mark_closed)


async def _messages_task(upstream: Upstream, config: RelayConfig, request: dict[str, Any]) -> None:
    try:
        async with config.messages_client.messages.stream(
            model=config.messages_model_id or config.model_id, max_tokens=request["max_tokens"],
            messages=[{"role": "user", "content": request["prompt"]}],
        ) as stream:
            async for event in stream:
                if event.type == "content_block_delta" and event.delta.type == "text_delta":
                    upstream.put("text", {"text": event.delta.text})
            final = await stream.get_final_message()
        upstream.put("done", {"stop_reason": final.stop_reason, "usage": final.usage.model_dump(exclude_none=True)})
    except asyncio.CancelledError:
        pass  # the page left: leaving the `async with` closed the connection
    except Exception as err:  # an in-band `event: error` arrives as anthropic.APIStatusError
        upstream.put("error", {"type": getattr(err, "type", None) or type(err).__name__, "message": str(err)})
    finally:
        upstream.put("end", None)
        upstream.mark_closed()


def start_upstream(config: RelayConfig, request: dict[str, Any], on_closed: Callable[[Upstream], None]
                   ) -> Upstream:
    upstream = Upstream(asyncio.get_running_loop(), on_closed)
    if request["api"] == "messages":
        if config.messages_client is None:
            upstream.put("error", {"type": "NotConfigured", "message": "this relay has no Messages API client"})
            upstream.put("end", None)
            upstream.mark_closed()
        else:
            upstream._task = asyncio.create_task(_messages_task(upstream, config, request))
    else:
        threading.Thread(target=_invoke_thread, args=(upstream, config, request), daemon=True,
                         name=f"relay-{request['page_id'][:8]}").start()
    return upstream


# ---- SSE out -------------------------------------------------------------------------------------------------


def sse(kind: str, data: Any) -> str:
    return f"event: {kind}\ndata: {json.dumps(data)}\n\n"


async def relay_events(upstream: Upstream, config: RelayConfig, record: LogRecord) -> AsyncIterator[str]:
    """The SSE body: the upstream's events, keep-alive comments while it is silent, the app's deadline."""
    deadline = time.monotonic() + config.deadline_seconds
    yield ": connected\n\n"  # the headers and a first byte go out now, before Bedrock answers
    while True:
        wait = min(config.keepalive_seconds, deadline - time.monotonic())
        if wait <= 0:
            record.outcome = "error: RelayDeadline"
            yield sse("error", {"type": "RelayDeadline",
                                "message": f"the relay stops answers after {config.deadline_seconds:g} s"})
            return
        try:
            kind, data = await asyncio.wait_for(upstream.queue.get(), wait)
        except TimeoutError:
            yield ": keep-alive\n\n"
            continue
        if kind == "end":
            return
        if kind in ("done", "error"):
            record.outcome = "done" if kind == "done" else f"error: {data['type']}"
        record.events_sent += 1
        yield sse(kind, data)


class RelayResponse(StreamingResponse):
    """An SSE response that stops its upstream however it ends (finished, or the page gone), then logs the call.

    The stop sits here, around the whole response, not in the generator's ``finally``: when the page
    disconnects the server cancels the response, and a generator suspended at a ``yield`` is only closed
    later, whenever it is garbage-collected.
    """

    def __init__(self, content: AsyncIterator[str], upstream: Upstream, on_finished: Callable[[], None]) -> None:
        # no-transform and X-Accel-Buffering keep proxies (nginx, CDNs) from buffering the stream whole.
        super().__init__(content, media_type="text/event-stream",
                         headers={"cache-control": "no-cache, no-transform", "x-accel-buffering": "no"})
        self.upstream = upstream
        self.on_finished = on_finished

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        try:
            await super().__call__(scope, receive, send)
        finally:
            self.upstream.stop("page left")
            try:
                await asyncio.wait_for(asyncio.shield(self.upstream.closed.wait()), 5)
            finally:
                self.on_finished()


# ---- the app -------------------------------------------------------------------------------------------------


def create_app(config: RelayConfig) -> Starlette:
    relay_log = RelayLog()
    open_streams: dict[str, Upstream] = {}

    async def page(_: Request) -> Response:
        return HTMLResponse(PAGE.read_text(encoding="utf-8"))

    async def stream(request: Request) -> Response:
        raw = await read_body(request)
        record = relay_log.received(request.client.host if request.client else "?", raw)
        try:
            if len(raw) > MAX_BODY_BYTES:
                raise BadRequest(f"the body is larger than {MAX_BODY_BYTES} bytes")
            wanted = parse_request(raw, request.headers.get("content-type", ""))
        except BadRequest as err:
            relay_log.finished(record, status=400, outcome=f"refused: {err}")
            return JSONResponse({"error": "bad_request", "message": str(err)}, status_code=400)
        record.body = wanted
        page_id = wanted["page_id"]
        if page_id not in open_streams and len(open_streams) >= config.max_open_streams:
            relay_log.finished(record, status=503, outcome="refused: too many open streams")
            return JSONResponse({"error": "busy", "message": "too many streams open; try again shortly"},
                                status_code=503, headers={"retry-after": "5"})
        # One page, one upstream stream: a new question from the same page ends the old answer first. A loop,
        # because two requests from one page may both wait here: the later one then stops the earlier's stream.
        while (previous := open_streams.get(page_id)) is not None:
            previous.stop("replaced by a newer request from the page")
            try:
                await asyncio.wait_for(asyncio.shield(previous.closed.wait()), 5)
            except TimeoutError:
                relay_log.finished(record, status=503, outcome="refused: the page's previous stream did not close")
                return JSONResponse({"error": "busy", "message": "the previous answer is still closing; try again"},
                                    status_code=503, headers={"retry-after": "1"})

        def closed(upstream: Upstream) -> None:
            if open_streams.get(page_id) is upstream:
                del open_streams[page_id]

        upstream = start_upstream(config, wanted, closed)
        open_streams[page_id] = upstream

        def finished() -> None:
            outcome = record.outcome  # "done" or "error: ..." once the page was sent the last event
            if outcome == "streaming":
                outcome = f"stopped: {upstream.stop_reason_local or 'page left'}"
            relay_log.finished(record, outcome=outcome, upstream_closed_ms=upstream.closed_ms)

        return RelayResponse(relay_events(upstream, config, record), upstream, finished)

    async def show_log(_: Request) -> Response:
        return JSONResponse([r.__dict__ for r in relay_log.records])

    app = Starlette(routes=[Route("/", page), Route("/stream", stream, methods=["POST"]),
                            Route("/log", show_log)])
    app.state.log = relay_log
    app.state.open_streams = open_streams
    return app


def config_from_env(make_bedrock: Callable[[], Any] | None = None) -> RelayConfig:
    """Settings for ``serve.py``: the standard AWS variables, plus ``RELAY_MODEL_ID`` and, for the Messages API,
    ``RELAY_MESSAGES_BASE_URL`` / ``RELAY_MESSAGES_API_KEY`` / ``RELAY_MESSAGES_MODEL_ID``."""
    import os

    import boto3
    from botocore.config import Config

    # read_timeout: the longest silence botocore accepts between bytes (default 60 s, botocore/config.py); a
    # slow first token on a long prompt can exceed that, so it is raised, and kept below the app's deadline.
    bedrock = make_bedrock() if make_bedrock else boto3.client(
        "bedrock-runtime", config=Config(read_timeout=120, retries={"mode": "standard"}))
    messages_client = None
    if os.environ.get("RELAY_MESSAGES_BASE_URL"):
        from anthropic import AsyncAnthropic

        messages_client = AsyncAnthropic(base_url=os.environ["RELAY_MESSAGES_BASE_URL"],
                                         api_key=os.environ.get("RELAY_MESSAGES_API_KEY", "local"))
    return RelayConfig(bedrock=bedrock,
                       model_id=os.environ.get("RELAY_MODEL_ID", "global.anthropic.claude-haiku-4-5-20251001-v1:0"),
                       messages_client=messages_client,
                       messages_model_id=os.environ.get("RELAY_MESSAGES_MODEL_ID"))
