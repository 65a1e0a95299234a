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
import string
import threading
import time
import uuid
from collections.abc import Callable
from typing import Any
from urllib.parse import unquote

from hypercorn.asyncio import serve
from hypercorn.config import Config, Sockets

from . import converse, frames, messages_api
from .answering import AnswerBudget, cut_when_stuck, stopped_reading
from .answers import MAX_GENERATED_TOKENS
from .auth import Authorizer, SigV4Keys
from .bodies import Body, BodyBudget, json_text_problem, parse_control_json, read_body
from .calls import CallLog, CallRecord, recorded_body
from .connections import READ_TIMEOUT_SETTING
from .connections import install as install_connection_limits
from .errors import BedrockError, wire_error_type
from .faults import Fault, FaultBook, message_for
from .hangup import ClientGone, HangUpWatch, or_hang_up
from .logsafe import EscapeControls
from .model import (
    MAX_BODY_BYTES,
    ModelLookupError,
    Problem,
    check_body,
    parse_body,
    plan_response,
    resolve_model,
    validation_message,
)
from .offload import off_loop, plan_cost
from .operations import (
    CacheUsage,
    PromptCache,
    Switches,
    apply_cache,
    count_tokens,
    echo_headers,
    request_region,
    stream_metrics_counts,
)
from .pacing import LatencyModel, rng_for, schedule, sleep_until
from .sigv4 import SERVICE as SIGV4_SERVICE
from .upstream import make_passthrough

log = logging.getLogger("helpers.local_bedrock")
log.addFilter(EscapeControls())  # hypercorn logs through it too (config.errorlog below)

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
# Bytes of a model call's body kept in memory: Bedrock's own limit. A longer body is read (and hashed) to its
# end but not kept, and answered with its real size.
_BODY_KEEP = MAX_BODY_BYTES
# Fault specs and the like are small; a control route keeps no more than this.
_CONTROL_BODY_KEEP = 256 * 1024
MAX_FAULT_SPECS_PER_POST = 100
_PADDING = (string.ascii_letters + string.digits) * 4
# A refused request's body is drained (so its keep-alive connection stays usable and the client reads its
# refusal) only up to this size, above Bedrock's 25 MB body limit, and only for the read timeout in all: a
# larger or slower one gets its refusal with Connection: close, unread.
_DRAIN_LIMIT = 32 * 1024 * 1024
_CLOSE = "local_bedrock.close"
# Frames encoded and written at once when many are due (each ~100 bytes; 512 encode in about a millisecond).
_MAX_BATCH = 512


_Disconnected = ClientGone  # the client went away mid-response (hangup.py)


def _media_type(value: str) -> str:
    return value.split(";", 1)[0].strip().lower()


def _judged(body: bytes, info: Any) -> tuple[Any, list[Problem]]:
    """The parsed body and its problems (pure: run beside the loop for a large body, offload.py)."""
    parsed, problems = parse_body(body)
    return parsed, problems or check_body(parsed, info)


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
        body_budget: BodyBudget | None = None,
        workers: int = 1,
    ) -> None:
        self.auth = auth or Authorizer()
        # Processes serving the same port (``--workers``, room.py). Each keeps its own call log, faults and
        # prompt cache, so the control routes that read or change them refuse when there are several.
        self.workers = workers
        self.body_budget = body_budget or BodyBudget()
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
        self.messages_route = messages_api.MessagesRoute(self)
        # Answers in flight, and how long a client may stop reading before it is cut (answering.py).
        self.answer_budget = AnswerBudget()
        self.read_timeout: float | None = None

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
                if not started:  # one check per frame once started, as before
                    started = message["type"] == "http.response.start"
                    if started and scope.get(_CLOSE):  # HTTP/1.1 only: the body is left unread, so close
                        message = {**message, "headers": [*message["headers"], (b"connection", b"close")]}
                await send(message)

            scope["local_bedrock.body_held"] = 0
            scope["local_bedrock.answer_held"] = 0
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
                self.body_budget.give(scope["local_bedrock.body_held"])
                self.answer_budget.give(scope["local_bedrock.answer_held"])

    async def _lifespan(self, receive: Any, send: Any) -> None:
        while True:
            message = await receive()
            if message["type"] == "lifespan.startup":
                await send({"type": "lifespan.startup.complete"})
            elif message["type"] == "lifespan.shutdown":
                await send({"type": "lifespan.shutdown.complete"})
                return

    # ---- plumbing -------------------------------------------------------------------------------

    async def _read_body(self, scope: dict, receive: Any, keep: int) -> Body:
        body = await read_body(receive, keep, self.body_budget)
        if body is None:
            raise _Disconnected
        scope["local_bedrock.body_held"] += body.held  # given back when the request ends (__call__)
        return body

    async def _drain(self, scope: dict, headers: dict[str, str], receive: Any) -> Body:
        """A refused request's body, read and dropped when small and quick; else left unread, and the HTTP/1.1
        connection closed after the refusal (an HTTP/2 stream is simply ended)."""
        declared = headers.get("content-length", "")
        small = declared.isdigit() and int(declared) <= _DRAIN_LIMIT
        if small:
            try:
                async with asyncio.timeout(self.read_timeout):
                    return await self._read_body(scope, receive, 0)
            except TimeoutError:
                pass
        if scope.get("http_version") != "2":
            scope[_CLOSE] = True
        return Body(b"", int(declared) if declared.isdigit() else 0, "")

    async def _authorized_body(self, scope: dict, method: str, raw_path: bytes, headers: dict[str, str],
                               receive: Any, keep: int, check: bool = True,
                               services: tuple[str, ...] = (SIGV4_SERVICE,)) -> tuple[Body, BedrockError | None]:
        """The body, and the refusal when the credentials fail; nothing of a refused body is kept.

        Credentials the headers alone condemn (none, an unknown key, a wrong token, a stale date) are refused
        before reading: the body is then drained without being kept, so the connection stays usable and the
        client still gets its 403. A signature is checked against the hash taken while the body arrived.
        """
        if not check:
            return await self._read_body(scope, receive, keep), None
        http2 = scope.get("http_version") == "2"
        try:
            self.auth.precheck(headers, services, http2=http2)
        except BedrockError as error:
            return await self._drain(scope, headers, receive), error
        body = await self._read_body(scope, receive, keep)
        try:
            self.auth(method, raw_path, headers, query=scope.get("query_string", b""), body_sha256=body.sha256,
                      services=services, http2=http2)
        except BedrockError as error:
            return Body(b"", body.size, body.sha256), error
        return body, None

    def hold_answer(self, scope: dict, body: Any) -> None:
        """Hold the longest answer ``body`` may get (its max_tokens) against the answer budget before it is
        planned, so a flood of long answers is refused before any is built (a 503 when the budget is spent)."""
        asked = body.get("max_tokens") if isinstance(body, dict) else None
        tokens = min(asked, MAX_GENERATED_TOKENS) if isinstance(asked, int) else 0
        scope["local_bedrock.answer_held"] += self.answer_budget.take(tokens)

    def keep_answer(self, scope: dict, plan: Any) -> None:
        """Hold only what ``plan`` really holds (its output tokens) until the call ends."""
        held = scope["local_bedrock.answer_held"]
        kept = min(held, plan.output_tokens or 0)
        self.answer_budget.give(held - kept)
        scope["local_bedrock.answer_held"] = kept

    def watch_reading(self, record: CallRecord, due_at: Callable[[int], float | None]) -> asyncio.Task | None:
        """A timer that cuts the current stream when its client stops reading (answering.py); None when
        the endpoint has no read timeout. Cancel it when the stream ends."""
        if self.read_timeout is None:
            return None
        timeout = self.read_timeout

        def cut() -> None:
            self.calls.update(record, error=stopped_reading(timeout), done=True)

        main = asyncio.current_task()
        assert main is not None
        return asyncio.get_running_loop().create_task(
            cut_when_stuck(main, lambda: len(record.sent_ms), due_at, timeout, cut))

    async def _stall(self, receive: Any, seconds: float) -> None:
        """Wait out a stall fault, but end at once if the client hangs up (no socket left in CLOSE-WAIT)."""
        try:
            async with asyncio.timeout(seconds):
                while (await receive())["type"] != "http.disconnect":
                    pass
        except TimeoutError:
            return
        raise _Disconnected

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
        await self._respond(send, status, json.dumps(value, indent=1, allow_nan=False).encode())

    # ---- routing --------------------------------------------------------------------------------

    async def _http(self, scope: dict, receive: Any, send: Any) -> None:
        loop = asyncio.get_running_loop()
        t0 = loop.time()
        received_at = time.time()
        raw_path: bytes = scope.get("raw_path") or scope["path"].encode()
        method: str = scope["method"]
        headers = {k.decode("latin-1").lower(): v.decode("latin-1") for k, v in scope["headers"]}
        if "transfer-encoding" in headers and "content-length" in headers:
            # Request smuggling's shape (RFC 9112 section 6.3): where the body ends is ambiguous, so nothing
            # after these headers can be trusted. Refuse, and close the connection.
            scope[_CLOSE] = scope.get("http_version") != "2"
            await self._respond_error(send, BedrockError(
                400, "ValidationException", "The request has both Content-Length and Transfer-Encoding; send "
                "one of them (RFC 9112 section 6.3)."))
            return

        if raw_path.startswith(b"/_local/"):
            # A locked room endpoint locks its controls too: faults hit everyone, calls hold prompts.
            locked = raw_path.rstrip(b"/") != b"/_local/health"
            body, refusal = await self._authorized_body(scope, method, raw_path, headers, receive,
                                                        _CONTROL_BODY_KEEP, check=locked)
            if refusal is None and locked:
                try:
                    self.auth.check_control(headers)  # learners' keys call models, not these (auth.py)
                except BedrockError as error:
                    refusal = error
            if refusal is not None:
                await self._respond_error(send, refusal)
                return
            await self._control(method, raw_path, scope.get("query_string", b""), body, send)
            return
        if messages_api.handles(raw_path):  # the Messages API (SSE): its own request and answer shapes
            await self.messages_route.serve(scope, headers, receive, send, t0, received_at)
            return
        match = _MODEL_PATH.match(raw_path)
        if match is None:
            await self._drain(scope, headers, receive)  # drained, not kept: the connection stays usable
            await self._respond_error(send, BedrockError(
                404, "UnknownOperationException",
                f"No Bedrock Runtime operation at {method} {raw_path.decode('latin-1')}. This endpoint serves "
                "POST /model/{modelId}/invoke, /invoke-with-response-stream, /converse and /converse-stream, "
                "and POST /anthropic/v1/messages (the Messages API).",
            ))
            return
        operation = _OPERATIONS[match.group(2)]
        # raw_path is still percent-encoded: boto3 sends ':' as %3A, the anthropic SDK a raw ':' and '/'
        # as %2F in ARNs. Decode exactly once.
        model_id = unquote(match.group(1).decode("latin-1"))
        if method != "POST":
            await self._drain(scope, headers, receive)
            await self._respond_error(send, BedrockError(
                404, "UnknownOperationException", f"{operation} is called with POST, not {method}."
            ))
            return
        read, refusal = await self._authorized_body(scope, method, raw_path, headers, receive, _BODY_KEEP)
        if refusal is not None:
            record = self.calls.new(operation, model_id, None, received_at)
            self.calls.update(record, status=refusal.status, error=refusal.error_type,
                              error_message=refusal.message, done=True)
            await self._respond_error(send, refusal)
            return
        body = read.data
        logged, logged_json = recorded_body(body, read.size, read.sha256)
        record = self.calls.new(operation, model_id, logged, received_at, logged_json)
        try:
            if read.over_budget:
                # botocore's standard retry mode retries a 503 ServiceUnavailableException.
                raise BedrockError(503, "ServiceUnavailableException",
                                   f"The local endpoint already holds {self.body_budget.limit // 2**20} MiB of "
                                   "request bodies from calls in flight; retry in a moment (boto3 does).")
            if not read.complete:
                raise BedrockError(400, "ValidationException", validation_message([Problem(
                    "#", f"the request body is {read.size:,} bytes, above Bedrock's limit of {MAX_BODY_BYTES:,} bytes",
                    "send fewer or smaller images, or shorten the conversation")]))
            if self.passthrough is not None:
                await self.passthrough.serve(operation, model_id, headers, body, receive, send, record, t0)
                return
            problem = json_text_problem(body)
            if problem is not None:
                # Bedrock's answer to these exact inputs is unconfirmed; a 400 in its shape, never a 500.
                raise BedrockError(400, "ValidationException", validation_message([Problem("#", *problem)]))
            if operation == "CountTokens":
                await or_hang_up(receive, self._count_tokens(send, record, model_id, method, raw_path, headers, body))
                return
            plan, fault, info_id = await or_hang_up(
                receive, self._prepare(operation, model_id, method, raw_path, headers, body, record, scope))
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
                    await self._stall(receive, fault.seconds)
            if operation in ("InvokeModel", "Converse"):
                await self._invoke(send, record, plan, model_id, body, t0, headers, receive)
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
        except Exception:
            self.calls.update(record, status=500, error="InternalServerException", done=True)
            raise

    async def _prepare(
        self, operation: str, model_id: str, method: str, raw_path: bytes, headers: dict[str, str],
        body: bytes, record: CallRecord, scope: dict | None = None,
    ) -> tuple[Any, Fault | None, str]:
        """Everything that can fail before a response starts, in Bedrock's order (credentials were
        checked already, before the body was read). Raises BedrockError."""
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
            request = await off_loop(len(body), converse.prepare, operation, body, info)
            if scope is not None:
                self.hold_answer(scope, request.body)
            cache = self.prompt_cache.use(info, request.body)
            plan = await off_loop(plan_cost(len(body), request.body), converse.plan_converse, request, info,
                                  seed=self.seed, call=record.id, cache=cache)
            if scope is not None:
                self.keep_answer(scope, plan)
            self.calls.update(record, stop_reason=plan.stop_reason, input_tokens=plan.input_tokens,
                              output_tokens=plan.output_tokens)
            return plan, fault, info.base_id
        parsed, problems = await off_loop(len(body), _judged, body, info)
        if problems:
            raise BedrockError(400, "ValidationException", validation_message(problems))
        assert isinstance(parsed, dict)
        if scope is not None:
            self.hold_answer(scope, parsed)
        planned = await off_loop(plan_cost(len(body), parsed), plan_response, parsed, info, seed=self.seed,
                                 call=record.id)
        if scope is not None:
            self.keep_answer(scope, planned)
        plan = apply_cache(planned, self.prompt_cache.use(info, parsed))
        self.calls.update(record, stop_reason=plan.stop_reason, input_tokens=plan.input_tokens,
                          output_tokens=plan.output_tokens)
        return plan, fault, info.base_id

    # ---- InvokeModel ----------------------------------------------------------------------------

    async def _invoke(self, send: Any, record: CallRecord, plan: Any, model_id: str, body: bytes,
                      t0: float, request_headers: dict[str, str] | None = None, receive: Any = None) -> None:
        loop = asyncio.get_running_loop()
        offsets = schedule([c.output_tokens for c in plan.chunks], self.latency, self.time_scale,
                           rng_for(self.seed, model_id, body), input_tokens=plan.input_tokens)
        done_ms = offsets[-1] if offsets else 0.0
        self.calls.update(record, schedule_ms=[done_ms])
        due = sleep_until(loop, t0 + done_ms / 1000)
        await (due if receive is None else or_hang_up(receive, due))  # a hang-up ends the wait at once
        sent = (loop.time() - t0) * 1000
        self.calls.sent(record, [round(sent, 3)])
        self.calls.update(record, done=True)
        if isinstance(plan, converse.ConversePlan):  # Converse answers carry usage in the body only
            payload = json.dumps(plan.response_json(round(sent)), ensure_ascii=False).encode()
            await self._respond_read(send, record, payload)
            return
        payload = json.dumps(plan.response_body, ensure_ascii=False).encode("utf-8")
        await self._respond_read(send, record, payload, [
            (b"x-amzn-bedrock-input-token-count", str(plan.input_tokens).encode()),
            (b"x-amzn-bedrock-output-token-count", str(plan.output_tokens).encode()),
            (b"x-amzn-bedrock-invocation-latency", str(round(sent)).encode()),
            *CacheUsage.headers_of(plan),
            *echo_headers(request_headers or {}),
        ])

    async def _respond_read(self, send: Any, record: CallRecord, payload: bytes,
                            headers: list[tuple[bytes, bytes]] | None = None) -> None:
        """The answer, written within the read timeout: a client that stops reading is cut (answering.py)."""
        try:
            async with asyncio.timeout(self.read_timeout):
                await self._respond(send, 200, payload, headers)
        except TimeoutError:
            self.calls.update(record, error=stopped_reading(self.read_timeout or 0))
            raise _Disconnected from None

    async def _count_tokens(self, send: Any, record: CallRecord, model_id: str, method: str, raw_path: bytes,
                            headers: dict[str, str], body: bytes) -> None:
        """CountTokens: the input tokens an InvokeModel body or a Converse request would be billed for.

        Credentials were checked before the body was read (_authorized_body)."""
        try:
            info = resolve_model(model_id, region=request_region(headers), as_of=self.switches.as_of,
                                 inactive_account=self.switches.inactive_account)
        except ModelLookupError as error:
            raise BedrockError(error.status, error.error_type, error.message) from None
        tokens = await off_loop(len(body), count_tokens, body, info)
        self.calls.update(record, input_tokens=tokens, done=True)
        await self._respond(send, 200, json.dumps({"inputTokens": tokens}).encode())

    # ---- InvokeModelWithResponseStream -----------------------------------------------------------

    async def _stream(self, receive: Any, send: Any, record: CallRecord, plan: Any, model_id: str,
                      body: bytes, t0: float, fault: Fault | None,
                      request_headers: dict[str, str] | None = None) -> None:
        rng = rng_for(self.seed, model_id, body)
        chunks = plan.chunks
        offsets = schedule([c.output_tokens for c in chunks], self.latency, self.time_scale, rng,
                           input_tokens=plan.input_tokens)
        self.calls.update(record, schedule_ms=offsets)
        pads = [_PADDING[(k := rng.randrange(64)) : k + rng.randrange(1, 24)] for _ in chunks]
        # Frames are encoded when they are due, not all up front: a room whose streams all start at once
        # would otherwise encode every frame of every stream in one burst, while the first frames wait.
        encode = converse.chunk_frame if record.operation == "ConverseStream" else _invoke_chunk_frame
        cut = len(chunks)  # frames to send before the fault takes over
        if fault is not None:
            cut = min(fault.after, len(chunks))

        watch = HangUpWatch(receive).start()
        due = [offsets]  # the schedule in force (a stall shifts it)
        reading = self.watch_reading(record, lambda i: t0 + due[0][i] / 1000 if i < len(chunks) else None)
        try:
            head = [(b"content-type", b"application/vnd.amazon.eventstream")]
            if record.operation != "ConverseStream":  # ConverseStream has no such header (captures cvs_*)
                head.append((b"x-amzn-bedrock-content-type", b"application/json"))
                head += echo_headers(request_headers or {})
            head.append((b"x-amzn-requestid", str(uuid.uuid4()).encode()))
            await send({"type": "http.response.start", "status": 200, "headers": head})
            await self._send_frames(send, record, chunks, encode, pads, offsets, t0, 0, cut, plan)
            if fault is not None:
                if fault.error != "stall":
                    await self._apply_event_fault(send, record, fault, watch)
                    return
                shifted = [o + fault.seconds * 1000 for o in offsets]  # the rest keeps its rhythm
                due[0] = shifted
                await asyncio.sleep(fault.seconds)
                await self._send_frames(send, record, chunks, encode, pads, shifted, t0, cut, len(chunks), plan)
            watch.finish()
            self.calls.update(record, done=True)
            await send({"type": "http.response.body", "body": b"", "more_body": False})
        except asyncio.CancelledError:
            if watch.absorb_cancel():
                self.calls.update(record, error="client disconnected", done=True)
                return
            raise
        finally:
            watch.stop()
            if reading is not None:
                reading.cancel()

    async def _send_frames(self, send: Any, record: CallRecord, chunks: list, encode: Callable[[Any, str], bytes],
                           pads: list[str], offsets: list[float], t0: float, start: int, stop: int,
                           plan: Any = None) -> int:
        loop = asyncio.get_running_loop()
        last = len(chunks) - 1
        i = start
        while i < stop:
            due = t0 + offsets[i] / 1000
            if loop.time() < due:
                await sleep_until(loop, due)
            now = loop.time()
            # Everything already due goes out in one write, up to _MAX_BATCH frames: at time_scale 0 a
            # 64,000-frame stream encoded in one go held the loop for most of a second (issue 23).
            j = i + 1
            batch_end = min(stop, i + _MAX_BATCH)
            while j < batch_end and t0 + offsets[j] / 1000 <= now:
                j += 1
            sent_ms = (now - t0) * 1000
            # The last frame carries metrics measured at send time.
            parts = [encode(chunks[k], pads[k]) for k in range(i, min(j, last))]
            if j > last:
                parts.append(self._final_frame(record, chunks[last], pads[last], sent_ms, plan))
            data = b"".join(parts)
            self.calls.sent(record, [round(sent_ms, 3)] * (j - i))
            await send({"type": "http.response.body", "body": data, "more_body": True})
            if j == batch_end and j < stop:
                await asyncio.sleep(0)  # a full batch: let the rest of the room in before the next
            i = j
        return i

    def _final_frame(self, record: CallRecord, chunk: Any, pad: str, sent_ms: float, plan: Any = None) -> bytes:
        if record.operation == "ConverseStream":
            return converse.metadata_frame(chunk, pad, record.input_tokens or 0, record.output_tokens or 0,
                                           round(sent_ms))
        first = record.sent_ms[0] if record.sent_ms else sent_ms
        payload = dict(chunk.payload)
        counts = stream_metrics_counts(plan, record.output_tokens or 0)
        payload["amazon-bedrock-invocationMetrics"] = {
            "inputTokenCount": record.input_tokens,
            "outputTokenCount": counts.pop("outputTokenCount"),
            "invocationLatency": round(sent_ms),
            "firstByteLatency": round(first),
            **counts,
        }
        return frames.chunk_frame(payload, pad)

    async def _apply_event_fault(self, send: Any, record: CallRecord, fault: Fault, watch: HangUpWatch) -> None:
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
        watch.finish()
        self.calls.update(record, done=True)
        await send({"type": "http.response.body", "body": b"", "more_body": False})

    # ---- /_local/ control routes -----------------------------------------------------------------

    async def _control(self, method: str, raw_path: bytes, query: bytes, body: Body, send: Any) -> None:
        path = raw_path.decode("latin-1").rstrip("/")
        if path == "/_local/health" and method == "GET":
            await self._respond_json(send, 200, {"status": "ok", "seed": self.seed, "time_scale": self.time_scale,
                                                 "workers": self.workers})
        elif self.workers > 1 and path in ("/_local/calls", "/_local/faults"):
            await self._respond_error(send, BedrockError(
                409, "ConflictException",
                f"This endpoint runs {self.workers} worker processes (--workers {self.workers}) and each keeps its "
                f"own call log and faults, so {method} {path} would reach only the one that took this connection. "
                "For the fault exercises and the call log, run the endpoint as one process (without --workers), "
                "or let each learner's kernel use its own endpoint (the course's default).",
            ))
        elif path == "/_local/calls" and method == "GET":
            await self._respond(send, 200, self.calls.to_json())
        elif path == "/_local/calls" and method == "DELETE":
            self.calls.clear()
            await self._respond_json(send, 200, {"cleared": True})
        elif path == "/_local/faults" and method == "GET":
            await self._respond_json(send, 200, self.faults.list())
        elif path == "/_local/faults" and method == "DELETE":
            self.faults.clear()
            await self._respond_json(send, 200, {"cleared": True})
        elif path == "/_local/faults" and method == "POST":
            example = '{"error": "ThrottlingException", "at": "request"}'
            try:
                if not body.complete:
                    raise ValueError(f"fault: the body is {body.size:,} bytes; a fault spec is a small JSON object "
                                     f"such as {example} (at most {_CONTROL_BODY_KEEP:,} bytes)")
                try:
                    spec = parse_control_json(body.data)
                except ValueError as error:
                    raise ValueError(f"fault: the body must be JSON ({error}), e.g. {example} or a list of "
                                     "such objects") from None
                specs = spec if isinstance(spec, list) else [spec]
                if len(specs) > MAX_FAULT_SPECS_PER_POST:
                    raise ValueError(f"fault: {len(specs):,} specs in one request; send at most "
                                     f"{MAX_FAULT_SPECS_PER_POST} at a time")
                added = self.faults.add_many(specs)
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
        instructor_keys: SigV4Keys | None = None,
        record: str | os.PathLike | None = None,
        replay: str | os.PathLike | None = None,
        upstream: str | None = None,
        upstream_region: str | None = None,
        as_of: str | None = None,
        inactive_account: bool = False,
        read_timeout: float = 30.0,
    ) -> None:
        if isinstance(read_timeout, bool) or not isinstance(read_timeout, int | float) or not 0 < read_timeout < 3600:
            raise ValueError(f"read_timeout must be seconds between 0 and 3600, not {read_timeout!r}")
        if isinstance(time_scale, bool) or not isinstance(time_scale, int | float) or not 0 <= time_scale < 1e6:
            raise ValueError(f"time_scale must be a number >= 0 (0 = as fast as possible), not {time_scale!r}")
        if not isinstance(seed, int) or isinstance(seed, bool):
            raise ValueError(f"seed must be an integer, not {seed!r}")
        self.seed = seed
        self.time_scale = float(time_scale)
        self.host = host
        self.port = port
        self.latency = LatencyModel.coerce(latency)
        # Seconds a client that owes the server bytes (an unfinished request) may stay silent; also the
        # keep-alive timeout between requests.
        self.read_timeout = float(read_timeout)
        self._calls = CallLog()
        self.faults = FaultBook(seed=seed)
        # Request bodies all calls in flight may hold together; beyond it a call gets a 503 (bodies.py).
        self.body_budget = BodyBudget()
        # Open unless told otherwise; see auth.py for what locking means.
        self.auth = Authorizer(verify_sigv4, bearer_token, instructor_keys)
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
        config = _room_config(self.host, self.port, self.read_timeout)
        try:
            # hypercorn's own socket set-up (TCP_NODELAY, SO_REUSEADDR, non-blocking), bound now so the
            # port is known before serving.
            sockets = config.create_sockets()
        except OSError as error:
            raise OSError(error.errno, f"cannot listen on {self.host}:{self.port}: {error.strerror}; "
                                       "pick another --port (0 = any free port)") from None
        try:
            for sock in sockets.insecure_sockets:
                sock.listen(config.backlog)  # clients may connect the moment start() returns
        except OSError as error:
            for sock in sockets.insecure_sockets:
                sock.close()
            raise OSError(error.errno, f"cannot listen on {self.host}:{self.port}: {error.strerror}; "
                                       "pick another --port (0 = any free port)") from None
        sock = sockets.insecure_sockets[0]
        self.port = sock.getsockname()[1]
        config.bind_sockets(sockets)
        self._app = self.build_app()
        ready = threading.Event()
        self._error = None
        self._thread = threading.Thread(target=self._run, args=(config, ready), name="local-bedrock", daemon=True)
        self._thread.start()
        ready.wait(10)
        if self._error is not None:
            self._thread.join(5)
            self._thread = None
            raise RuntimeError(f"local Bedrock endpoint failed to start: {self._error}") from self._error
        return self

    def build_app(self, workers: int = 1) -> BedrockApp:
        """The ASGI application with this endpoint's settings (``start()`` serves it; room.py's workers too)."""
        app = BedrockApp(seed=self.seed, time_scale=self.time_scale, latency=self.latency, calls=self._calls,
                         faults=self.faults, auth=self.auth, passthrough=self.passthrough, switches=self.switches,
                         body_budget=self.body_budget, workers=workers)
        app.read_timeout = self.read_timeout
        return app

    def _run(self, config: _RoomConfig, ready: threading.Event) -> None:
        try:
            asyncio.run(self._main(config, ready))
        except BaseException as error:  # reported to start() / stop(), not printed from a thread
            self._error = error
        finally:
            ready.set()

    async def _main(self, config: _RoomConfig, ready: threading.Event) -> None:
        self._loop = asyncio.get_running_loop()
        self._stop_event = asyncio.Event()
        self._loop.call_soon(ready.set)
        assert self._app is not None
        install_connection_limits()  # prompt close, TCP_NODELAY, read timeouts, h2 frame limit (connections.py)
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
    def anthropic_base_url(self) -> str:
        """The base URL for the anthropic SDK's clients (they append ``/v1/messages``)."""
        return f"{self.endpoint_url}/anthropic"

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


class _RoomConfig(Config):
    """hypercorn's configuration for one endpoint; its sockets are created (by hypercorn) and bound once,
    before serving, so the port is known without races."""

    _bound: Sockets | None = None

    def bind_sockets(self, sockets: Sockets) -> None:
        self._bound = sockets

    def create_sockets(self) -> Sockets:
        return self._bound if self._bound is not None else super().create_sockets()


def _room_config(host: str, port: int, read_timeout: float, kind: type[_RoomConfig] = _RoomConfig) -> _RoomConfig:
    config = kind()
    config.bind = [f"[{host}]:{port}" if ":" in host else f"{host}:{port}"]
    config.backlog = 256
    config.errorlog = log
    config.accesslog = None
    config.graceful_timeout = 1.0
    config.include_server_header = False
    config.keep_alive_timeout = read_timeout
    setattr(config, READ_TIMEOUT_SETTING, read_timeout)
    # Per HTTP/2 connection: 16 KiB frames (RFC 9113's minimum, what hypercorn advertises), at most 100
    # streams (a lesson's largest fan-out), 64 KiB of headers; hypercorn's receive queue (10 messages per
    # stream) bounds the rest, since the request body is read as it arrives.
    config.h2_max_inbound_frame_size = 2**14
    config.h2_max_concurrent_streams = 100
    config.h2_max_header_list_size = 2**16
    config.h11_max_incomplete_size = 16 * 1024
    return config
