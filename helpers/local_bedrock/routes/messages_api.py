"""``POST /anthropic/v1/messages``: Anthropic's Messages API as Bedrock serves it, answered as JSON or SSE.

The second integration (BEDROCK-2026, "Two integrations"): the model goes in the body, the API version in
the ``anthropic-version`` header, betas in ``anthropic-beta``, and ``"stream": true`` answers with
server-sent events instead of AWS event-stream frames. Everything behind the wire is shared with
InvokeModel: the catalogue and body rules (``helpers.bedrock_rules``), the responder's plan, the pacing
schedule, the call log, the fault book and the authorizer. This module only translates the request into
an InvokeModel body and the plan into Anthropic's JSON / SSE.

Which models it serves, and by which ids on each host, is catalogue data (``helpers.bedrock_rules.catalogue``,
"the Messages API route, per host"). Details no source confirms for the bedrock-runtime route (its response
headers, whether invocation metrics travel, error bodies, the ping cadence) follow Anthropic's documented
Messages API and are all in the "unconfirmed" block below, so each can be changed in one place.
"""

from __future__ import annotations

import asyncio
import json
import random
import re
import uuid
from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING, Any

from ..controls.calls import recorded_read
from ..controls.faults import Fault, message_for
from ..door.auth import ShortTermKeyRefused
from ..door.hangup import ClientGone, or_hang_up
from ..door.sigv4 import SignatureProblem, parse_authorization
from ..door.worker import OFF_LOOP_BYTES, Session, plan_cost
from ..errors import BedrockError, ContextWindowExceeded
from ..model import (
    MAX_BODY_BYTES,
    ModelLookupError,
    parse_body,
    resolve_messages_model,
    serves_messages_route,
)
from ..model.pacing import MAX_BATCH, due_batch, schedule_yielding, sleep_until
from ..model.retention import retention_refusal
from ..wire import sse
from .jobs import MessagesRead, plan_messages_call, read_messages_request

if TYPE_CHECKING:
    from ..controls.calls import CallRecord
    from .base import AppBase

Send = Callable[[dict], Awaitable[None]]
Receive = Callable[[], Awaitable[dict]]

# The path under both hosts: bedrock-mantle.{region}.api.aws/anthropic (the SDK's AnthropicBedrockMantle) and
# bedrock-runtime.{region}.amazonaws.com/anthropic (AWS's user guide; the exact route there is unconfirmed).
# The anthropic SDK appends /v1/messages to its base URL.
ROUTE = b"/anthropic/v1/messages"
MESSAGES = "Messages"  # operation names in the call log and the fault book
MESSAGES_STREAM = "MessagesStream"
# SigV4 signing names: "bedrock-mantle" is the SDK's (AnthropicBedrockMantle); "bedrock" on bedrock-runtime.
SIGNING_NAMES = ("bedrock", "bedrock-mantle")
MANTLE = "bedrock-mantle"  # the signing name and the host name's first label of bedrock-mantle.{region}.api.aws
# The version the course's InvokeModel rules know; a dated header version maps to it (see _version).
_BEDROCK_VERSION = "bedrock-2023-05-31"
_DATED = re.compile(r"^\d{4}-\d{2}-\d{2}$")

# Anthropic's API versions ("Versioning" page: 2023-01-01, 2023-06-01) and the one the anthropic SDK 2.x sends
# (anthropic/_constants.py ANTHROPIC_API_VERSION = "2026-10-21" in 2.17.0; 1.x and 0.x send 2023-06-01). Any
# other value is refused with the first-party API's text (pasted in directus-labs/extensions#285 and
# decolua/9router#2357): anthropic-version: "2023-10-01" is not a valid version.
API_VERSIONS = ("2023-01-01", "2023-06-01", "2026-10-21")
VERSION_REQUIRED = "anthropic-version: header is required"  # first-party text (PipedreamHQ/pipedream#9697)
VERSION_INVALID = "anthropic-version: {value} is not a valid version"  # value JSON-quoted, as pasted

# ---- unconfirmed: Anthropic's documented Messages API behaviour, chosen where Bedrock's is unknown ----
# From this API version on, sampling parameters are refused even at their defaults (BEDROCK-2026, SDK 2.x).
STRICT_SAMPLING_FROM = "2026-10-21"
# Anthropic's streaming docs show one ping after the first content_block_start; a long silence (thinking,
# a slow tool input) gets keep-alive pings. Their interval is not documented: 5 s of real time.
PING_AFTER_FIRST_BLOCK_START = True
PING_EVERY_S = 5.0
# Anthropic's message_stop carries nothing but its type; InvokeModel's carries invocation metrics. Which
# the bedrock-runtime route sends is unconfirmed: Anthropic's shape.
SEND_INVOCATION_METRICS = False
# Anthropic answers with a "request-id" header and echoes it in error bodies; Bedrock adds x-amzn-requestid.
REQUEST_ID_HEADERS = (b"request-id", b"x-amzn-requestid")
# Anthropic's error types by HTTP status (docs, "Errors"); a credential refusal is 401 there.
ERROR_TYPE_BY_STATUS = {
    400: "invalid_request_error",
    401: "authentication_error",
    403: "permission_error",
    404: "not_found_error",
    413: "request_too_large",
    429: "rate_limit_error",
    500: "api_error",
    503: "overloaded_error",
    529: "overloaded_error",
}
# An event-stream exception fault on this route becomes the SSE error Anthropic would send.
SSE_ERROR_FOR_EXCEPTION = {
    "throttlingException": "overloaded_error",
    "serviceUnavailableException": "overloaded_error",
    "internalServerException": "api_error",
    "modelStreamErrorException": "api_error",
    "modelTimeoutException": "api_error",
    "validationException": "invalid_request_error",
}
# rate_limit_error's text is the first-party 429 body's (quoted in anthropic/claude-code#45636); what an
# in-band rate_limit_error chunk says on Bedrock is unconfirmed.
SSE_ERROR_MESSAGES = {"overloaded_error": "Overloaded", "api_error": "Internal server error",
                      "rate_limit_error": "This request would exceed your account's rate limit. "
                                          "Please try again later."}
# A refused short-term API key: Bedrock's 403 (door/auth.py), worded as Anthropic's error for a 403.
SHORT_TERM_KEY_ERROR_TYPE = "permission_error"
# message_delta's usage as Anthropic's first-party API sends it: cumulative counts, input included (Anthropic's
# streaming docs: "The token counts shown in the usage field of the message_delta event are cumulative", quoted
# in cline/cline#4346; anthropic/types/message_delta_usage.py: input_tokens, cache_*_input_tokens, output_tokens).
# InvokeModel's stream carries output_tokens only. Which the bedrock-runtime route sends is unconfirmed.
CUMULATIVE_DELTA_USAGE = True
_DELTA_INPUT_COUNTS = ("input_tokens", "cache_creation_input_tokens", "cache_read_input_tokens")
# -------------------------------------------------------------------------------------------------------


class MessagesError(Exception):
    """A refusal before any byte of the answer: an HTTP status and Anthropic's error object."""

    def __init__(self, status: int, message: str, error_type: str | None = None) -> None:
        super().__init__(message)
        self.status = status
        self.message = message
        self.error_type = error_type or ERROR_TYPE_BY_STATUS.get(status, "api_error")

    @classmethod
    def from_bedrock(cls, error: BedrockError, *, auth: bool = False) -> MessagesError:
        if isinstance(error, ShortTermKeyRefused):  # Bedrock's 403, as for any of its routes
            return cls(403, error.message, SHORT_TERM_KEY_ERROR_TYPE)
        if auth:  # AWS answers 403 for a bad signature or key; Anthropic's API 401 authentication_error
            return cls(401, error.message, "authentication_error")
        return cls(error.status, error.message)


def handles(raw_path: bytes) -> bool:
    return raw_path.rstrip(b"/") == ROUTE


def _request_id() -> str:
    return "req_bdrk_" + uuid.uuid4().hex[:24]


def _headers(request_id: str, content_type: bytes) -> list[tuple[bytes, bytes]]:
    return [(b"content-type", content_type), *((name, request_id.encode()) for name in REQUEST_ID_HEADERS)]


async def respond_error(send: Send, error: MessagesError, request_id: str | None = None) -> None:
    request_id = request_id or _request_id()
    body = json.dumps(sse.error_body(error.error_type, error.message, request_id)).encode()
    head = _headers(request_id, b"application/json") + [(b"content-length", str(len(body)).encode())]
    await send({"type": "http.response.start", "status": error.status, "headers": head})
    await send({"type": "http.response.body", "body": body, "more_body": False})


def credential_headers(headers: dict[str, str]) -> dict[str, str]:
    """The headers as the shared ``Authorizer`` judges them: an ``x-api-key`` becomes a Bearer token.

    Both at once is refused (BEDROCK-2026: a key in ``Authorization: Bearer`` or ``x-api-key``, not both).
    """
    api_key = headers.get("x-api-key")
    if api_key is not None and headers.get("authorization"):
        raise MessagesError(401, "Send one credential: a Bedrock API key in x-api-key or an Authorization "
                                 "header (Bearer key or SigV4 signature), not both.", "authentication_error")
    if api_key is not None:  # the anthropic SDK's Anthropic(api_key=...) sends the key here
        return {**headers, "authorization": f"Bearer {api_key}"}
    return headers


def host_of(headers: dict[str, str]) -> str:
    """Which host the request meant: bedrock-mantle if signed for it or sent to it, else bedrock-runtime."""
    value = headers.get("authorization", "")
    if value.startswith("AWS4-HMAC-SHA256 "):
        try:
            return MANTLE if parse_authorization(value).service == MANTLE else "bedrock-runtime"
        except SignatureProblem:
            pass  # judged (and refused, on a locked endpoint) by the authorizer; the Host header decides here
    return MANTLE if headers.get("host", "").lower().startswith(MANTLE + ".") else "bedrock-runtime"


def _version(headers: dict[str, str]) -> str:
    """The InvokeModel-body version that gives the header's version the same rules."""
    value = headers.get("anthropic-version")
    if value is None:
        raise MessagesError(400, VERSION_REQUIRED)
    value = value.strip()
    if value not in API_VERSIONS or not _DATED.match(value):
        raise MessagesError(400, VERSION_INVALID.format(value=json.dumps(value)))
    # A dated version from STRICT_SAMPLING_FROM on keeps its date: the body rules then refuse sampling
    # parameters even at defaults. Earlier versions behave as Bedrock's own version string.
    return value if value >= STRICT_SAMPLING_FROM else _BEDROCK_VERSION


def _betas(headers: dict[str, str]) -> list[str]:
    return [b.strip() for b in headers.get("anthropic-beta", "").split(",") if b.strip()]


def _problem_text(problems: list[Any]) -> str:
    first = problems[0]
    path = first.path if first.path not in ("", "#") else "body"
    return f"{path}: {first.rule}" + (f" ({first.fix})" if getattr(first, "fix", "") else "")


def _read_request(body: bytes) -> tuple[dict[str, Any], str, bool]:
    parsed, problems = parse_body(body)
    if problems:
        raise MessagesError(400, _problem_text(problems))
    if not isinstance(parsed, dict):
        raise MessagesError(400, "body: expected a JSON object with model, max_tokens and messages")
    model = parsed.get("model")
    if not isinstance(model, str) or not model:
        raise MessagesError(400, "model: Field required. On this route the model id goes in the body, e.g. "
                                 '"model": "global.anthropic.claude-sonnet-5-5".')
    stream = parsed.get("stream", False)
    if not isinstance(stream, bool):
        raise MessagesError(400, f"stream: expected true or false, not {stream!r}")
    for key in ("anthropic_version", "anthropic_beta"):
        if key in parsed:
            header = key.replace("_", "-")
            raise MessagesError(400, f"{key}: Extra inputs are not permitted. On the Messages API it is the "
                                     f"{header} header, not a body field.")
    return parsed, model, stream


class MessagesRoute:
    """Serves the route for one ``BedrockApp`` (its seed, pacing, call log, faults and authorizer)."""

    def __init__(self, app: AppBase) -> None:
        self.app = app

    async def serve(self, scope: dict, headers: dict[str, str], receive: Receive, send: Send,
                    t0: float, received_at: float) -> None:
        app = self.app
        method: str = scope["method"]
        raw_path: bytes = scope.get("raw_path") or scope["path"].encode()
        request_id = _request_id()
        # Credentials are judged before the body is kept (the endpoint's rule for a locked room, routes/base.py):
        # a refused request leaves only its refusal in the call log.
        try:
            try:
                judged = credential_headers(headers)
            except MessagesError:
                await app._drain(scope, headers, receive)  # drained unkept: the connection lives on
                raise
            read, refusal = await app._authorized_body(scope, method, raw_path, judged, receive, MAX_BODY_BYTES,
                                                       services=SIGNING_NAMES)
            if refusal is not None:  # its body was drained unkept by _authorized_body
                raise MessagesError.from_bedrock(refusal, auth=True)
        except MessagesError as error:
            record = app.calls.new(MESSAGES, "", None, received_at)
            app.calls.update(record, status=error.status, error=error.error_type, error_message=error.message,
                             done=True)
            await respond_error(send, error, request_id)
            return
        # Large bodies are read in the endpoint's child process (door/worker.py); the session ends with the plan.
        # The call first waits while the streams already running are late (door/admission.py); its schedule
        # starts when it is let in.
        let_in = False
        try:
            async with app.admission.slot(receive) as waited:
                let_in = True
                async with app.worker.session(read.kept) as work:
                    await self._serve_read(scope, headers, receive, send, t0 + waited, received_at, method,
                                           request_id, read, work, waited)
        except BedrockError as error:  # the worker process ended (door/worker.py WorkerGone)
            await respond_error(send, MessagesError.from_bedrock(error), request_id)
        except ClientGone:
            if not let_in:  # gone while waiting: still logged, with what it sent
                logged, logged_json = recorded_read(read)
                record = app.calls.new(MESSAGES, "", logged, received_at, logged_json)
                app.calls.update(record, error="client disconnected", done=True)
            raise

    async def _serve_read(self, scope: dict, headers: dict[str, str], receive: Receive, send: Send, t0: float,
                          received_at: float, method: str, request_id: str, read: Any, work: Session,
                          waited: float = 0.0) -> None:
        app = self.app
        looking = work.call(read_messages_request, read, _read_request)  # a hang-up ends a large one at once
        looked: MessagesRead = await (looking if work.where == "here" else or_hang_up(receive, looking))
        # Every call is logged, refused ones too (as InvokeModel's are): model and stream as far as readable.
        operation = MESSAGES_STREAM if looked.stream_seen else MESSAGES
        logged, logged_json = recorded_read(read)
        record = app.calls.new(operation, looked.model_seen, logged, received_at, logged_json)
        if waited:
            app.calls.update(record, queued_ms=round(waited * 1000, 3))
        try:
            if method != "POST":
                raise MessagesError(405, f"{ROUTE.decode()} is called with POST, not {method}.",
                                    "invalid_request_error")
            if not read.complete:
                raise MessagesError(413, f"The request body is {read.size:,} bytes, above the limit of "
                                         f"{MAX_BODY_BYTES:,} bytes: send fewer or smaller images, or a shorter "
                                         "conversation.")
            if looked.text_problem is not None:
                raise MessagesError(400, f"body: {looked.text_problem[0]} ({looked.text_problem[1]})")
            if app.passthrough is not None:
                # Recording and replay (upstream.py, cassettes.py) cover the event-stream operations; answering
                # here from the local model would pass a made-up answer off as the recorded one.
                raise MessagesError(501, "This endpoint records or replays InvokeModel/Converse traffic; the "
                                         "Messages API route is not recorded or replayed. Start it without "
                                         "--record/--replay/--upstream to use this route.", "api_error")
            content_type = headers.get("content-type")
            if content_type is not None and content_type.split(";")[0].strip().lower() != "application/json":
                raise MessagesError(400, f"Content-Type {content_type!r} is not supported: send the body as "
                                         "JSON with Content-Type application/json.")
            version = _version(headers)
            if looked.error is not None:
                raise looked.error
            model_id, stream = looked.model_id, looked.stream
            try:
                app.hold_answer(scope, looked.max_tokens)
            except BedrockError as error:
                raise MessagesError.from_bedrock(error) from None
            try:  # a hang-up or a reset stream ends the planning at once
                plan, info_id, fault, rng = await or_hang_up(receive, self._plan(
                    operation, model_id, version, _betas(headers), work, record, read.size, host_of(headers),
                    looked.max_tokens))
            except ClientGone:
                app.calls.update(record, error="client disconnected", done=True)
                raise
            app.keep_answer(scope, plan)
            if fault is not None and fault.error == "drop":
                # A response started and never finished: hypercorn closes the connection mid-answer.
                app.calls.update(record, status=0, error="drop", done=True)
                content_type = sse.CONTENT_TYPE if stream else b"application/json"
                await send({"type": "http.response.start", "status": 200,
                            "headers": _headers(request_id, content_type)})
                await send({"type": "http.response.body", "body": b"", "more_body": True})
                return
            if fault is not None and fault.error == "stall":
                try:  # the stall that ends when the client hangs up (routes/invoke.py), not a blind sleep
                    await app._stall(receive, fault.seconds)
                except ClientGone:
                    app.calls.update(record, error="client disconnected", done=True)
                    raise
            if not stream:
                await self._answer(send, record, plan, rng, t0, request_id, receive)
                return
            fault = app.faults.take(operation, (model_id, info_id), at="event")
            if fault is not None:
                app.calls.update(record, fault=fault.as_dict())
            await self._stream(receive, send, record, plan, rng, t0, fault, request_id)
        except MessagesError as error:
            app.calls.update(record, status=error.status, error=error.error_type, error_message=error.message,
                             done=True)
            await respond_error(send, error, request_id)

    async def _plan(self, operation: str, model_id: str, version: str, betas: list[str], work: Session,
                    record: CallRecord, size: int, host: str, max_tokens: Any) -> tuple[Any, str, Fault | None, bytes]:
        app = self.app
        try:
            info = resolve_messages_model(model_id, host)  # type: ignore[arg-type]
        except ModelLookupError as error:
            raise MessagesError(error.status, f"model: {error.message}") from None
        refusal = retention_refusal(info, app.switches.data_retention)
        if refusal is not None:
            raise MessagesError(403, refusal)
        if not serves_messages_route(info):
            raise MessagesError(404, f"model: {model_id} is served through InvokeModel / Converse only, not the "
                                     "Messages API. Call it with invoke_model_with_response_stream, or pick a "
                                     'model whose AWS card lists the Messages API, e.g. '
                                     '"global.anthropic.claude-haiku-4-5-20251001-v1:0".')
        if info.integration != "messages_api":
            # The header's version is the API's, not the model's: an ARN-versioned model gets Bedrock's body
            # version behind the route (a dated body version is what InvokeModel refuses for these models).
            version = _BEDROCK_VERSION
        fault = app.faults.take(operation, (model_id, info.base_id), at="request")
        if fault is not None:
            app.calls.update(record, fault=fault.as_dict())
            if fault.error not in ("drop", "stall"):
                raise MessagesError(BedrockError.named(fault.error).status, message_for(fault))
        args = (version, betas, info, app.signer, app.seed, model_id)
        cost = plan_cost(size, max_tokens)
        try:
            if work.where == "here" and cost > OFF_LOOP_BYTES:  # a long answer to a short body: the child
                async with app.worker.session(size, long_answer=True) as planner:
                    verdict, plan = await planner.call(plan_messages_call, work.kept, *args)
            else:
                verdict, plan = await work.call(plan_messages_call, None, *args)
        except ContextWindowExceeded as too_long:  # Anthropic's words, without Bedrock's wrapper
            raise MessagesError(400, too_long.anthropic_message) from None
        if verdict.problems:
            raise MessagesError(400, _problem_text(verdict.problems))
        if verdict.tampered:  # Anthropic's own text, which names the block's path (model/signatures.py)
            raise MessagesError(400, verdict.tampered[0].rule)
        app.calls.update(record, stop_reason=plan.stop_reason, input_tokens=plan.input_tokens,
                         output_tokens=plan.output_tokens)
        return plan, info.base_id, fault, verdict.rng

    # ---- non-streaming ------------------------------------------------------------------------

    async def _answer(self, send: Send, record: CallRecord, plan: Any, rng: bytes, t0: float, request_id: str,
                      receive: Receive) -> None:
        app = self.app
        loop = asyncio.get_running_loop()
        offsets = await schedule_yielding([c.output_tokens for c in plan.chunks], app.latency, app.time_scale,
                                          random.Random(rng), input_tokens=plan.input_tokens)
        done_ms = offsets[-1] if offsets else 0.0
        app.calls.update(record, schedule_ms=[done_ms])
        try:  # a hang-up or a reset stream ends the wait at once
            await or_hang_up(receive, sleep_until(loop, t0 + done_ms / 1000))
        except ClientGone:
            app.calls.update(record, error="client disconnected", done=True)
            raise
        app.calls.sent(record, [round((loop.time() - t0) * 1000, 3)])
        app.calls.update(record, done=True)
        payload = json.dumps(plan.response_body, ensure_ascii=False).encode()
        head = _headers(request_id, b"application/json") + [(b"content-length", str(len(payload)).encode())]
        await send({"type": "http.response.start", "status": 200, "headers": head})
        await send({"type": "http.response.body", "body": payload, "more_body": False})

    # ---- streaming ----------------------------------------------------------------------------

    async def _stream(self, receive: Receive, send: Send, record: CallRecord, plan: Any, rng: bytes, t0: float,
                      fault: Fault | None, request_id: str) -> None:
        app = self.app
        chunks = plan.chunks
        offsets = await schedule_yielding([c.output_tokens for c in chunks], app.latency, app.time_scale,
                                          random.Random(rng), input_tokens=plan.input_tokens)
        app.calls.update(record, schedule_ms=offsets)
        start = chunks[0].payload.get("message", {}) if chunks else {}
        start_usage = start.get("usage", {}) if isinstance(start, dict) else {}

        def events(i: int, j: int) -> list[bytes]:  # encoded when due: 64,000 at once held the loop (issue 23)
            return [sse.encode_event(self._payload(c.payload, record, start_usage)) for c in chunks[i:j]]

        ping_after = next((i for i, c in enumerate(chunks) if c.payload.get("type") == "content_block_start"),
                          None) if PING_AFTER_FIRST_BLOCK_START else None
        cut = len(chunks) if fault is None else min(fault.after, len(chunks))
        due = [offsets]  # the schedule in force (a stall shifts it)
        async with app.answering(receive, record,
                                 lambda i: t0 + due[0][i] / 1000 if i < len(chunks) else None) as watch:
            await send({"type": "http.response.start", "status": 200,
                        "headers": _headers(request_id, sse.CONTENT_TYPE) + [(b"cache-control", b"no-cache")]})
            await self._send_events(send, record, events, offsets, t0, 0, cut, ping_after)
            if fault is not None:
                if fault.error == "drop":
                    app.calls.update(record, error="drop", done=True)
                    return  # a body never ended: hypercorn closes the connection
                if fault.error != "stall":
                    error_type = SSE_ERROR_FOR_EXCEPTION.get(fault.error, fault.error)
                    message = fault.message or SSE_ERROR_MESSAGES.get(error_type) or message_for(fault)
                    app.calls.update(record, error=error_type, error_message=message)
                    # HTTP status stays 200: the error travels in the stream, as its own SSE event.
                    await send({"type": "http.response.body", "more_body": True,
                                "body": sse.error_event(error_type, message, request_id)})
                    await app.end_stream(send, record, watch)
                    return
                shifted = [o + fault.seconds * 1000 for o in offsets]
                due[0] = shifted
                await asyncio.sleep(fault.seconds)  # a stalled model sends nothing, not even pings
                await self._send_events(send, record, events, shifted, t0, cut, len(chunks), None)
            await app.end_stream(send, record, watch)

    def _payload(self, payload: dict[str, Any], record: CallRecord,
                 start_usage: dict[str, Any] | None = None) -> dict[str, Any]:
        if CUMULATIVE_DELTA_USAGE and payload.get("type") == "message_delta" and start_usage:
            # message_start's input counts, then the delta's own (its output_tokens is already the total).
            usage = {k: start_usage[k] for k in _DELTA_INPUT_COUNTS if k in start_usage}
            return {**payload, "usage": {**usage, **payload.get("usage", {})}}
        if SEND_INVOCATION_METRICS or payload.get("type") != "message_stop":
            return payload
        return {k: v for k, v in payload.items() if k != "amazon-bedrock-invocationMetrics"}

    async def _send_events(self, send: Send, record: CallRecord, events: Callable[[int, int], list[bytes]],
                           offsets: list[float], t0: float, start: int, stop: int, ping_after: int | None) -> None:
        app = self.app
        loop = asyncio.get_running_loop()
        i = start
        while i < stop:
            due = t0 + offsets[i] / 1000
            # Keep-alive pings while the next event is far off (PING_EVERY_S of real time); never before
            # message_start, which Anthropic documents as the first event.
            while i > 0 and due - loop.time() > PING_EVERY_S:
                await asyncio.sleep(PING_EVERY_S)
                await send({"type": "http.response.body", "body": sse.PING, "more_body": True})
            if loop.time() < due:
                await sleep_until(loop, due)
                app.admission.note_late(loop.time() - due)  # the loop's lateness only (routes/invoke.py)
            now = loop.time()
            # Everything already due goes out in one write, up to MAX_BATCH events (routes/invoke.py).
            j = due_batch(offsets, t0, now, i, stop)
            parts = events(i, j)
            if ping_after is not None and i <= ping_after < j:
                parts.insert(ping_after - i + 1, sse.PING)
            app.calls.sent(record, [round((now - t0) * 1000, 3)] * (j - i))
            await send({"type": "http.response.body", "body": b"".join(parts), "more_body": True})
            if j - i == MAX_BATCH and j < stop:
                await asyncio.sleep(0)  # a full batch: let the rest of the room in before the next
            i = j
