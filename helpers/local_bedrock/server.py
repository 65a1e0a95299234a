"""The local Bedrock Runtime endpoint: a hand-written ASGI app served by hypercorn in a background thread.

hypercorn writes each ``http.response.body`` message to the socket as it is sent (``writer.write`` then
``drain``), so one ASGI send is one flush: the sender below decides when bytes leave, nothing buffers them.
"""

from __future__ import annotations

import asyncio
import json
import logging
import os
import re
import socket
import string
import threading
import time
import uuid
from typing import Any
from urllib.parse import unquote

from hypercorn.asyncio import serve
from hypercorn.config import Config, Sockets

from . import converse, frames
from .auth import Authorizer, SigV4Keys
from .calls import CallLog, CallRecord
from .connections import install as install_prompt_close
from .errors import BedrockError, wire_error_type
from .faults import Fault, FaultBook, message_for
from .model import (
    ModelLookupError,
    check_body,
    parse_body,
    plan_response,
    resolve_model,
    validation_message,
)
from .operations import (
    CacheUsage,
    PromptCache,
    Switches,
    apply_cache,
    count_tokens,
    echo_headers,
    request_region,
)
from .pacing import LatencyModel, rng_for, schedule, sleep_until
from .upstream import make_passthrough

log = logging.getLogger("helpers.local_bedrock")

_MODEL_PATH = re.compile(
    rb"^/model/(.+)/(invoke|invoke-with-response-stream|converse|converse-stream|count-tokens)$"
)
_OPERATIONS = {
    b"invoke": "InvokeModel",
    b"invoke-with-response-stream": "InvokeModelWithResponseStream",
    b"converse": "Converse",
    b"converse-stream": "ConverseStream",
    b"count-tokens": "CountTokens",
}
_JSON_TYPES = ("application/json", "*/*", "application/*")
_BODY_CAP = 32 * 1024 * 1024  # read at most this much; parse_body judges the size against Bedrock's limit
_RECORD_TEXT_CAP = 64 * 1024
_PADDING = (string.ascii_letters + string.digits) * 4


class _Disconnected(Exception):
    """The client went away mid-response."""


def _media_type(value: str) -> str:
    return value.split(";", 1)[0].strip().lower()


def _body_for_record(raw: bytes) -> Any:
    try:
        return json.loads(raw)
    except ValueError:
        return raw[:_RECORD_TEXT_CAP].decode("utf-8", "replace")


def _invoke_chunk_frame(chunk: Any, padding: str) -> bytes:
    return frames.chunk_frame(chunk.payload, padding)


class BedrockApp:
    """ASGI application: Bedrock Runtime operations plus the ``/_local/`` control routes."""

    def __init__(
        self,
        *,
        seed: int,
        time_scale: float,
        latency: LatencyModel,
        calls: CallLog,
        faults: FaultBook,
        auth: Authorizer | None = None,
        passthrough: Any | None = None,
        switches: Switches | None = None,
    ) -> None:
        self.auth = auth or Authorizer()
        # How the catalogue's lifecycle is played (as-of date, inactive account) and the prompt cache.
        self.switches = switches or Switches()
        self.prompt_cache = PromptCache()
        # Record/replay (upstream.py, cassettes.py): when set, it answers every model call instead of the
        # local model; auth still applies, faults and validation do not (the recording is the truth).
        self.passthrough = passthrough
        self.seed = seed
        self.time_scale = time_scale
        self.latency = latency
        self.calls = calls
        self.faults = faults
        self.tasks: set[asyncio.Task] = set()

    async def __call__(self, scope: dict, receive: Any, send: Any) -> None:
        if scope["type"] == "lifespan":
            await self._lifespan(receive, send)
        elif scope["type"] == "http":
            task = asyncio.current_task()
            assert task is not None
            self.tasks.add(task)
            started = False

            async def tracked_send(message: dict) -> None:
                nonlocal started
                started = started or message["type"] == "http.response.start"
                await send(message)

            try:
                await self._http(scope, receive, tracked_send)
            except (_Disconnected, asyncio.CancelledError):
                pass  # client gone or server stopping: end quietly
            except Exception:
                # A bug here must not look like a network failure: answer as Bedrock would, log the cause.
                log.exception("local Bedrock endpoint: unexpected error while serving %s", scope.get("path"))
                if not started:
                    await self._respond_error(send, BedrockError.named(
                        "InternalServerException", "The local endpoint hit an unexpected error; see its log."))
            finally:
                self.tasks.discard(task)

    async def _lifespan(self, receive: Any, send: Any) -> None:
        while True:
            message = await receive()
            if message["type"] == "lifespan.startup":
                await send({"type": "lifespan.startup.complete"})
            elif message["type"] == "lifespan.shutdown":
                await send({"type": "lifespan.shutdown.complete"})
                return

    # ---- plumbing -------------------------------------------------------------------------------

    async def _read_body(self, receive: Any) -> bytes:
        parts: list[bytes] = []
        size = 0
        while True:
            message = await receive()
            if message["type"] == "http.disconnect":
                raise _Disconnected
            chunk = message.get("body", b"")
            if size <= _BODY_CAP:
                parts.append(chunk)
            size += len(chunk)
            if not message.get("more_body", False):
                return b"".join(parts)

    async def _respond(
        self, send: Any, status: int, body: bytes, headers: list[tuple[bytes, bytes]] | None = None
    ) -> None:
        head = [(b"content-type", b"application/json"), (b"content-length", str(len(body)).encode())]
        head += [(b"x-amzn-requestid", str(uuid.uuid4()).encode())]
        await send({"type": "http.response.start", "status": status, "headers": head + (headers or [])})
        await send({"type": "http.response.body", "body": body, "more_body": False})

    async def _respond_error(self, send: Any, error: BedrockError) -> None:
        await self._respond(send, error.status, error.body(),
                            [(b"x-amzn-errortype", wire_error_type(error.error_type).encode())])

    async def _respond_json(self, send: Any, status: int, value: Any) -> None:
        await self._respond(send, status, json.dumps(value, indent=1).encode())

    # ---- routing --------------------------------------------------------------------------------

    async def _http(self, scope: dict, receive: Any, send: Any) -> None:
        loop = asyncio.get_running_loop()
        t0 = loop.time()
        received_at = time.time()
        raw_path: bytes = scope.get("raw_path") or scope["path"].encode()
        method: str = scope["method"]
        headers = {k.decode("latin-1").lower(): v.decode("latin-1") for k, v in scope["headers"]}
        body = await self._read_body(receive)

        if raw_path.startswith(b"/_local/"):
            if raw_path.rstrip(b"/") != b"/_local/health":
                # A locked room endpoint locks its controls too: faults hit everyone, calls hold prompts.
                try:
                    self.auth(method, raw_path, headers, body)
                except BedrockError as error:
                    await self._respond_error(send, error)
                    return
            await self._control(method, raw_path, scope.get("query_string", b""), body, send)
            return
        match = _MODEL_PATH.match(raw_path)
        if match is None:
            await self._respond_error(send, BedrockError(
                404, "UnknownOperationException",
                f"No Bedrock Runtime operation at {method} {raw_path.decode('latin-1')}. This endpoint serves "
                "POST /model/{modelId}/invoke, /invoke-with-response-stream, /converse and /converse-stream.",
            ))
            return
        operation = _OPERATIONS[match.group(2)]
        # raw_path is still percent-encoded: boto3 sends ':' as %3A, the anthropic SDK a raw ':' and '/'
        # as %2F in ARNs. Decode exactly once.
        model_id = unquote(match.group(1).decode("latin-1"))
        if method != "POST":
            await self._respond_error(send, BedrockError(
                404, "UnknownOperationException", f"{operation} is called with POST, not {method}."
            ))
            return
        record = self.calls.new(operation, model_id, _body_for_record(body), received_at)
        try:
            if self.passthrough is not None:
                self.auth(method, raw_path, headers, body)
                await self.passthrough.serve(operation, model_id, headers, body, receive, send, record, t0)
                return
            if operation == "CountTokens":
                await self._count_tokens(send, record, model_id, method, raw_path, headers, body)
                return
            plan, fault, info_id = self._prepare(operation, model_id, method, raw_path, headers, body, record)
            if fault is not None and fault.at == "request":
                if fault.error == "drop":
                    # ASGI cannot close a socket outright; a started response that never ends makes
                    # hypercorn close the connection, which the client sees as a broken read.
                    self.calls.update(record, status=0, error="drop", done=True)
                    if operation == "InvokeModel":  # a body promised, never delivered
                        head = [(b"content-type", b"application/json"), (b"content-length", b"1024")]
                    else:  # a chunked event stream that ends before its first frame
                        head = [(b"content-type", b"application/vnd.amazon.eventstream")]
                    await send({"type": "http.response.start", "status": 200, "headers": head})
                    await send({"type": "http.response.body", "body": b"", "more_body": True})
                    return
                if fault.error == "stall":
                    await asyncio.sleep(fault.seconds)
            if operation in ("InvokeModel", "Converse"):
                await self._invoke(send, record, plan, model_id, body, t0, headers)
            else:
                event_fault = self.faults.take(operation, (model_id, info_id), at="event")
                if event_fault is not None:
                    self.calls.update(record, fault=event_fault.as_dict())
                await self._stream(receive, send, record, plan, model_id, body, t0, event_fault, headers)
        except BedrockError as error:
            self.calls.update(record, status=error.status, error=error.error_type,
                              error_message=error.message, done=True)
            await self._respond_error(send, error)
        except _Disconnected:
            self.calls.update(record, error="client disconnected", done=True)
            raise

    def _prepare(
        self, operation: str, model_id: str, method: str, raw_path: bytes, headers: dict[str, str],
        body: bytes, record: CallRecord,
    ) -> tuple[Any, Fault | None, str]:
        """Everything that can fail before a response starts, in Bedrock's order. Raises BedrockError."""
        self.auth(method, raw_path, headers, body)
        content_type = headers.get("content-type")
        if content_type is not None and _media_type(content_type) != "application/json":
            raise BedrockError(400, "ValidationException",
                               f"Content-Type {content_type!r} is not supported: send the body as JSON "
                               "with Content-Type application/json.")
        accept_header = "x-amzn-bedrock-accept" if operation == "InvokeModelWithResponseStream" else "accept"
        accept = headers.get(accept_header)
        if accept is not None and not any(_media_type(a) in _JSON_TYPES for a in accept.split(",")):
            raise BedrockError(400, "ValidationException",
                               f"{accept_header} {accept!r} is not supported: Anthropic models answer "
                               "application/json; omit the header or ask for application/json.")
        try:
            info = resolve_model(model_id, region=request_region(headers), as_of=self.switches.as_of,
                                 inactive_account=self.switches.inactive_account)
        except ModelLookupError as error:
            raise BedrockError(error.status, error.error_type, error.message) from None
        fault = self.faults.take(operation, (model_id, info.base_id), at="request")
        if fault is not None:
            self.calls.update(record, fault=fault.as_dict())
            if fault.error not in ("drop", "stall"):
                error = BedrockError.named(fault.error, message_for(fault))
                raise error
        if operation in converse.OPERATIONS:  # Converse JSON -> the Messages body, then the same responder
            request = converse.prepare(operation, body, info)
            cache = self.prompt_cache.use(info, request.body)
            plan = converse.plan_converse(request, info, seed=self.seed, call=record.id, cache=cache)
            self.calls.update(record, stop_reason=plan.stop_reason, input_tokens=plan.input_tokens,
                              output_tokens=plan.output_tokens)
            return plan, fault, info.base_id
        parsed, problems = parse_body(body)
        if not problems:
            problems = check_body(parsed, info)
        if problems:
            raise BedrockError(400, "ValidationException", validation_message(problems))
        assert isinstance(parsed, dict)
        plan = apply_cache(plan_response(parsed, info, seed=self.seed, call=record.id),
                           self.prompt_cache.use(info, parsed))
        self.calls.update(record, stop_reason=plan.stop_reason, input_tokens=plan.input_tokens,
                          output_tokens=plan.output_tokens)
        return plan, fault, info.base_id

    # ---- InvokeModel ----------------------------------------------------------------------------

    async def _invoke(self, send: Any, record: CallRecord, plan: Any, model_id: str, body: bytes,
                      t0: float, request_headers: dict[str, str] | None = None) -> None:
        loop = asyncio.get_running_loop()
        offsets = schedule([c.output_tokens for c in plan.chunks], self.latency, self.time_scale,
                           rng_for(self.seed, model_id, body), input_tokens=plan.input_tokens)
        done_ms = offsets[-1] if offsets else 0.0
        self.calls.update(record, schedule_ms=[done_ms])
        await sleep_until(loop, t0 + done_ms / 1000)
        sent = (loop.time() - t0) * 1000
        self.calls.sent(record, [round(sent, 3)])
        self.calls.update(record, done=True)
        if isinstance(plan, converse.ConversePlan):  # Converse answers carry usage in the body only
            await self._respond(send, 200, json.dumps(plan.response_json(round(sent)), ensure_ascii=False).encode())
            return
        payload = json.dumps(plan.response_body, ensure_ascii=False).encode("utf-8")
        await self._respond(send, 200, payload, [
            (b"x-amzn-bedrock-input-token-count", str(plan.input_tokens).encode()),
            (b"x-amzn-bedrock-output-token-count", str(plan.output_tokens).encode()),
            (b"x-amzn-bedrock-invocation-latency", str(round(sent)).encode()),
            *CacheUsage.headers_of(plan),
            *echo_headers(request_headers or {}),
        ])

    async def _count_tokens(self, send: Any, record: CallRecord, model_id: str, method: str, raw_path: bytes,
                            headers: dict[str, str], body: bytes) -> None:
        """CountTokens: the input tokens an InvokeModel body or a Converse request would be billed for."""
        self.auth(method, raw_path, headers, body)
        try:
            info = resolve_model(model_id, region=request_region(headers), as_of=self.switches.as_of,
                                 inactive_account=self.switches.inactive_account)
        except ModelLookupError as error:
            raise BedrockError(error.status, error.error_type, error.message) from None
        tokens = count_tokens(body, info)
        self.calls.update(record, input_tokens=tokens, done=True)
        await self._respond(send, 200, json.dumps({"inputTokens": tokens}).encode())

    # ---- InvokeModelWithResponseStream -----------------------------------------------------------

    async def _stream(self, receive: Any, send: Any, record: CallRecord, plan: Any, model_id: str,
                      body: bytes, t0: float, fault: Fault | None,
                      request_headers: dict[str, str] | None = None) -> None:
        loop = asyncio.get_running_loop()
        rng = rng_for(self.seed, model_id, body)
        chunks = plan.chunks
        offsets = schedule([c.output_tokens for c in chunks], self.latency, self.time_scale, rng,
                           input_tokens=plan.input_tokens)
        self.calls.update(record, schedule_ms=offsets)
        # Encode everything but the last frame now; the last one carries metrics measured at send time.
        pads = [_PADDING[(k := rng.randrange(64)) : k + rng.randrange(1, 24)] for _ in chunks]
        encode = converse.chunk_frame if record.operation == "ConverseStream" else _invoke_chunk_frame
        encoded = [encode(c, p) for c, p in zip(chunks[:-1], pads, strict=False)]
        cut = len(chunks)  # frames to send before the fault takes over
        if fault is not None:
            cut = min(fault.after, len(chunks))

        watcher_state = {"finished": False, "gone": False}
        main = asyncio.current_task()
        assert main is not None

        async def watch() -> None:
            # After the body is read, the only thing receive() yields is http.disconnect.
            while True:
                message = await receive()
                if message["type"] == "http.disconnect":
                    if not watcher_state["finished"]:
                        watcher_state["gone"] = True
                        main.cancel()
                    return

        watcher = loop.create_task(watch())
        try:
            head = [(b"content-type", b"application/vnd.amazon.eventstream")]
            if record.operation != "ConverseStream":  # ConverseStream has no such header (captures cvs_*)
                head.append((b"x-amzn-bedrock-content-type", b"application/json"))
                head += echo_headers(request_headers or {})
            head.append((b"x-amzn-requestid", str(uuid.uuid4()).encode()))
            await send({"type": "http.response.start", "status": 200, "headers": head})
            await self._send_frames(send, record, chunks, encoded, pads, offsets, t0, 0, cut)
            if fault is not None:
                if fault.error != "stall":
                    await self._apply_event_fault(send, record, fault, watcher_state)
                    return
                await asyncio.sleep(fault.seconds)
                shifted = [o + fault.seconds * 1000 for o in offsets]  # the rest keeps its rhythm
                await self._send_frames(send, record, chunks, encoded, pads, shifted, t0, cut, len(chunks))
            watcher_state["finished"] = True
            self.calls.update(record, done=True)
            await send({"type": "http.response.body", "body": b"", "more_body": False})
        except asyncio.CancelledError:
            if watcher_state["gone"]:
                main.uncancel()
                self.calls.update(record, error="client disconnected", done=True)
                return
            raise
        finally:
            watcher_state["finished"] = True
            watcher.cancel()

    async def _send_frames(self, send: Any, record: CallRecord, chunks: list, encoded: list[bytes],
                           pads: list[str], offsets: list[float], t0: float, start: int, stop: int) -> int:
        loop = asyncio.get_running_loop()
        last = len(chunks) - 1
        i = start
        while i < stop:
            due = t0 + offsets[i] / 1000
            if loop.time() < due:
                await sleep_until(loop, due)
            now = loop.time()
            # Everything already due goes out in one write (at time_scale 0 that is the whole stream).
            j = i + 1
            while j < stop and t0 + offsets[j] / 1000 <= now:
                j += 1
            sent_ms = (now - t0) * 1000
            parts = encoded[i : min(j, last)]
            if j > last:
                parts.append(self._final_frame(record, chunks[last], pads[last], sent_ms))
            data = b"".join(parts)
            self.calls.sent(record, [round(sent_ms, 3)] * (j - i))
            await send({"type": "http.response.body", "body": data, "more_body": True})
            i = j
        return i

    def _final_frame(self, record: CallRecord, chunk: Any, pad: str, sent_ms: float) -> bytes:
        if record.operation == "ConverseStream":
            return converse.metadata_frame(chunk, pad, record.input_tokens or 0, record.output_tokens or 0,
                                           round(sent_ms))
        first = record.sent_ms[0] if record.sent_ms else sent_ms
        payload = dict(chunk.payload)
        payload["amazon-bedrock-invocationMetrics"] = {
            "inputTokenCount": record.input_tokens,
            "outputTokenCount": record.output_tokens,
            "invocationLatency": round(sent_ms),
            "firstByteLatency": round(first),
        }
        return frames.chunk_frame(payload, pad)

    async def _apply_event_fault(self, send: Any, record: CallRecord, fault: Fault, state: dict) -> None:
        """End the stream the way the fault says: an exception frame, or a dropped connection."""
        if fault.error == "drop":
            self.calls.update(record, error="drop", done=True)
            return  # returning without ending the body makes hypercorn close the connection
        fields: dict[str, Any] = {}
        if fault.error == "modelStreamErrorException":
            fields = {"originalStatusCode": 500, "originalMessage": "The model stopped unexpectedly."}
        frame = frames.exception_frame(fault.error, message_for(fault), **fields)
        # Recorded before sending: a client may read the record the moment it sees the frame.
        # The HTTP status stays 200: the error travels inside the stream.
        self.calls.update(record, error=fault.error, error_message=message_for(fault))
        await send({"type": "http.response.body", "body": frame, "more_body": True})
        state["finished"] = True
        self.calls.update(record, done=True)
        await send({"type": "http.response.body", "body": b"", "more_body": False})

    # ---- /_local/ control routes -----------------------------------------------------------------

    async def _control(self, method: str, raw_path: bytes, query: bytes, body: bytes, send: Any) -> None:
        path = raw_path.decode("latin-1").rstrip("/")
        if path == "/_local/health" and method == "GET":
            await self._respond_json(send, 200, {"status": "ok", "seed": self.seed, "time_scale": self.time_scale})
        elif path == "/_local/calls" and method == "GET":
            await self._respond_json(send, 200, [r.as_dict() for r in self.calls.snapshot()])
        elif path == "/_local/calls" and method == "DELETE":
            self.calls.clear()
            await self._respond_json(send, 200, {"cleared": True})
        elif path == "/_local/faults" and method == "GET":
            await self._respond_json(send, 200, self.faults.list())
        elif path == "/_local/faults" and method == "DELETE":
            self.faults.clear()
            await self._respond_json(send, 200, {"cleared": True})
        elif path == "/_local/faults" and method == "POST":
            try:
                try:
                    spec = json.loads(body)
                except ValueError:
                    raise ValueError('fault: the body must be JSON, e.g. {"error": "ThrottlingException", '
                                     '"at": "request"} or a list of such objects') from None
                specs = spec if isinstance(spec, list) else [spec]
                added = [self.faults.add(s) for s in specs]
            except ValueError as error:
                await self._respond_error(send, BedrockError(400, "ValidationException", str(error)))
                return
            await self._respond_json(send, 201, added if isinstance(spec, list) else added[0])
        else:
            await self._respond_error(send, BedrockError(
                404, "UnknownOperationException",
                f"No control route {method} {path}. Routes: GET /_local/health, GET|DELETE /_local/calls, "
                "GET|POST|DELETE /_local/faults.",
            ))


def _placeholder_credentials() -> dict[str, str]:
    if os.environ.get("AWS_ACCESS_KEY_ID") and os.environ.get("AWS_SECRET_ACCESS_KEY"):
        return {}
    return {"aws_access_key_id": "local", "aws_secret_access_key": "local"}


def is_loopback(host: str) -> bool:
    return host in ("localhost", "127.0.0.1", "::1") or host.startswith("127.")


class LocalBedrock:
    """A local Bedrock Runtime endpoint running in a background thread.

    ``with LocalBedrock(seed=0, time_scale=1.0) as server: client = server.client()``
    """

    def __init__(
        self,
        seed: int = 0,
        time_scale: float = 1.0,
        host: str = "127.0.0.1",
        port: int = 0,
        latency: LatencyModel | dict | None = None,
        verify_sigv4: SigV4Keys | None = None,
        bearer_token: str | None = None,
        record: str | os.PathLike | None = None,
        replay: str | os.PathLike | None = None,
        upstream: str | None = None,
        upstream_region: str | None = None,
        as_of: str | None = None,
        inactive_account: bool = False,
    ) -> None:
        if isinstance(time_scale, bool) or not isinstance(time_scale, int | float) or time_scale < 0:
            raise ValueError(f"time_scale must be a number >= 0 (0 = as fast as possible), not {time_scale!r}")
        if not isinstance(seed, int) or isinstance(seed, bool):
            raise ValueError(f"seed must be an integer, not {seed!r}")
        self.seed = seed
        self.time_scale = float(time_scale)
        self.host = host
        self.port = port
        self.latency = LatencyModel.coerce(latency)
        self._calls = CallLog()
        self.faults = FaultBook(seed=seed)
        # Open unless told otherwise; see auth.py for what locking means.
        self.auth = Authorizer(verify_sigv4, bearer_token)
        # By default models answer as on AWS today; as_of="2026-01-01" replays an earlier day's lifecycle
        # (retired models served again), inactive_account=True refuses Legacy models as AWS does then.
        self.switches = Switches.coerce(as_of=as_of, inactive_account=inactive_account)
        self.passthrough = make_passthrough(record=record, replay=replay, upstream=upstream,
                                            upstream_region=upstream_region, time_scale=self.time_scale,
                                            calls=self._calls)
        self._thread: threading.Thread | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self._stop_event: asyncio.Event | None = None
        self._app: BedrockApp | None = None
        self._error: BaseException | None = None

    # ---- lifecycle ------------------------------------------------------------------------------

    def start(self) -> LocalBedrock:
        if self._thread is not None:
            raise RuntimeError("LocalBedrock is already running; call stop() first")
        family = socket.AF_INET6 if ":" in self.host else socket.AF_INET
        sock = socket.socket(family, socket.SOCK_STREAM)
        try:
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            sock.bind((self.host, self.port))
            sock.listen(256)
            sock.setblocking(False)
        except OSError as error:
            sock.close()
            raise OSError(error.errno, f"cannot listen on {self.host}:{self.port}: {error.strerror}; "
                                       "pick another --port (0 = any free port)") from None
        self.port = sock.getsockname()[1]
        self._app = BedrockApp(seed=self.seed, time_scale=self.time_scale, latency=self.latency,
                               calls=self._calls, faults=self.faults, auth=self.auth,
                               passthrough=self.passthrough, switches=self.switches)
        ready = threading.Event()
        self._error = None
        self._thread = threading.Thread(target=self._run, args=(sock, ready), name="local-bedrock", daemon=True)
        self._thread.start()
        ready.wait(10)
        if self._error is not None:
            self._thread.join(5)
            self._thread = None
            raise RuntimeError(f"local Bedrock endpoint failed to start: {self._error}") from self._error
        return self

    def _run(self, sock: socket.socket, ready: threading.Event) -> None:
        try:
            asyncio.run(self._main(sock, ready))
        except BaseException as error:  # reported to start() / stop(), not printed from a thread
            self._error = error
        finally:
            ready.set()

    async def _main(self, sock: socket.socket, ready: threading.Event) -> None:
        self._loop = asyncio.get_running_loop()
        self._stop_event = asyncio.Event()
        config = _SocketConfig(sock)
        config.errorlog = log
        config.accesslog = None
        config.graceful_timeout = 1.0
        config.include_server_header = False
        config.keep_alive_timeout = 30.0
        self._loop.call_soon(ready.set)
        assert self._app is not None
        install_prompt_close()  # release sockets of clients that left while idle (see connections.py)
        await serve(self._app, config, shutdown_trigger=self._stop_event.wait, mode="asgi")

    def stop(self) -> None:
        thread, loop = self._thread, self._loop
        if thread is None:
            return
        if loop is not None and not loop.is_closed():
            try:
                loop.call_soon_threadsafe(self._shutdown)
            except RuntimeError:
                pass  # loop already gone
        thread.join(10)
        self._thread = None
        self._loop = None
        if thread.is_alive():
            raise RuntimeError("local Bedrock endpoint did not stop within 10 s")

    def _shutdown(self) -> None:
        if self._app is not None:
            for task in list(self._app.tasks):
                task.cancel()
        if self._stop_event is not None:
            self._stop_event.set()

    def __enter__(self) -> LocalBedrock:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def stats(self) -> dict[str, int]:
        """Live asyncio tasks on the server's loop and requests in flight (to check nothing leaks)."""
        loop, app = self._loop, self._app
        if loop is None or app is None or not self.running:
            return {"tasks": 0, "requests": 0}

        async def count() -> dict[str, int]:
            return {"tasks": len(asyncio.all_tasks()) - 1, "requests": len(app.tasks)}  # minus this one

        return asyncio.run_coroutine_threadsafe(count(), loop).result(10)

    @property
    def running(self) -> bool:
        return self._thread is not None and self._thread.is_alive()

    # ---- what learners use ----------------------------------------------------------------------

    @property
    def endpoint_url(self) -> str:
        host = f"[{self.host}]" if ":" in self.host else self.host
        return f"http://{host}:{self.port}"

    @property
    def calls(self) -> list[CallRecord]:
        """Call records, newest first (copies: safe to keep while the server runs)."""
        return self._calls.snapshot()

    def client(self, **kwargs: Any) -> Any:
        """A real boto3 ``bedrock-runtime`` client pointed at this endpoint."""
        import boto3
        from botocore.config import Config as BotoConfig

        options: dict[str, Any] = {
            "endpoint_url": self.endpoint_url,
            "region_name": os.environ.get("AWS_REGION") or os.environ.get("AWS_DEFAULT_REGION") or "us-east-1",
            "config": BotoConfig(retries={"mode": "standard", "total_max_attempts": 3}, connect_timeout=5,
                                 read_timeout=120),
        }
        if "aws_access_key_id" not in kwargs and "aws_secret_access_key" not in kwargs:
            options.update(_placeholder_credentials())
        options.update(kwargs)
        return boto3.client("bedrock-runtime", **options)

    def __repr__(self) -> str:
        state = "running" if self.running else "stopped"
        return f"LocalBedrock({self.endpoint_url}, seed={self.seed}, time_scale={self.time_scale}, {state})"


class _SocketConfig(Config):
    """Hands hypercorn the socket we already bound, so the port is known before serving, without races."""

    def __init__(self, sock: socket.socket) -> None:
        super().__init__()
        self._sock = sock

    def create_sockets(self) -> Sockets:
        return Sockets(secure_sockets=[], insecure_sockets=[self._sock], quic_sockets=[])
