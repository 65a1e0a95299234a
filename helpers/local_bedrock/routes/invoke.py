"""``POST /model/{modelId}/...``: InvokeModel and InvokeModelWithResponseStream, and Converse, ConverseStream and
CountTokens, which share the path (the Converse translation is converse.py, the CountTokens count count_tokens.py).

Mixed into ``BedrockApp`` (server.py), which dispatches here every path ``MODEL_PATH`` matches.
"""

from __future__ import annotations

import asyncio
import json
import random
import re
import string
import uuid
from collections.abc import Callable
from typing import Any
from urllib.parse import unquote

from ..controls.calls import CallRecord, recorded_read
from ..controls.faults import SSE_ERRORS, Fault, message_for
from ..door.hangup import HangUpWatch, or_hang_up
from ..door.worker import OFF_LOOP_BYTES, Session, plan_cost
from ..errors import BedrockError
from ..model import (
    MAX_BODY_BYTES,
    ModelLookupError,
    Problem,
    resolve_model,
    validation_message,
)
from ..model.operations import echo_headers, request_region, stream_metrics_counts
from ..model.pacing import MAX_BATCH, due_batch, schedule_yielding, sleep_until
from ..model.prompt_cache import CacheUsage
from ..model.retention import retention_refusal
from ..model.tiers import TIER_HEADER, paced_for, tier_header_problem
from ..wire import frames
from . import converse, converse_answer, jobs, messages_api
from .base import AppBase, Disconnected

MODEL_PATH = re.compile(
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
_PADDING = (string.ascii_letters + string.digits) * 4


def _media_type(value: str) -> str:
    return value.split(";", 1)[0].strip().lower()


class _Pads:
    """Each frame's random padding, drawn from the stream's generator when the frame is encoded (in order, so
    the same as drawing them all up front: 64,000 of them at once held the loop, issue 23)."""

    def __init__(self, rng: random.Random) -> None:
        self._rng = rng
        self._drawn: list[str] = []

    def __getitem__(self, index: int) -> str:
        while len(self._drawn) <= index:
            k = self._rng.randrange(64)
            self._drawn.append(_PADDING[k : k + self._rng.randrange(1, 24)])
        return self._drawn[index]


def _invoke_chunk_frame(chunk: Any, padding: str) -> bytes:
    return frames.chunk_frame(chunk.payload, padding)


class InvokeRoute(AppBase):
    """The ``/model/{modelId}/...`` operations of ``BedrockApp``."""

    async def _model_call(self, scope: dict, receive: Any, send: Any, match: re.Match[bytes], method: str,
                          raw_path: bytes, headers: dict[str, str], t0: float, received_at: float) -> None:
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
        logged, logged_json = recorded_read(read)
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
            # A call waits here while the streams already running are late (door/admission.py); its schedule
            # starts when it is let in, and the log keeps how long it waited.
            async with self.admission.slot(receive) as waited:
                if waited:
                    self.calls.update(record, queued_ms=round(waited * 1000, 3))
                await self._answer(scope, receive, send, operation, model_id, headers, read, record, t0 + waited)
        except BedrockError as error:
            self.calls.update(record, status=error.status, error=error.error_type,
                              error_message=error.message, done=True)
            await self._respond_error(send, error)
        except Disconnected:
            self.calls.update(record, error="client disconnected", done=True)
            raise
        except Exception:
            self.calls.update(record, status=500, error="InternalServerException", done=True)
            raise

    async def _answer(self, scope: dict, receive: Any, send: Any, operation: str, model_id: str,
                      headers: dict[str, str], read: Any, record: CallRecord, t0: float) -> None:
        """A read, authorised call from its checks to the last byte of its answer (errors reach _model_call)."""
        if self.passthrough is not None:
            await self.passthrough.serve(operation, model_id, headers, read.data, receive, send, record, t0)
            return
        # Large bodies are read in the endpoint's child process (door/worker.py); the session ends with the
        # plan, before any answer is sent.
        async with self.worker.session(read.size) as work:
            looking = work.call(jobs.first_look, read)  # a hang-up ends the look at a large body at once
            problem = await (looking if work.where == "here" else or_hang_up(receive, looking))
            if problem is not None:
                # Bedrock's answer to these exact inputs is unconfirmed; a 400 in its shape, never a 500.
                raise BedrockError(400, "ValidationException", validation_message([Problem("#", *problem)]))
            if operation == "CountTokens":
                await or_hang_up(receive, self._count_tokens(send, record, model_id, headers, work))
                return
            plan, fault, info_id, rng = await or_hang_up(
                receive, self._prepare(operation, model_id, headers, read.size, record, work, scope))
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
            await self._invoke(send, record, plan, rng, t0, headers, receive)
        else:
            event_fault = self.faults.take(operation, (model_id, info_id), at="event")
            if event_fault is not None:
                self.calls.update(record, fault=event_fault.as_dict())
            await self._stream(receive, send, record, plan, rng, t0, event_fault, headers)

    async def _stall(self, receive: Any, seconds: float) -> None:
        """Wait out a stall fault, but end at once if the client hangs up (no socket left in CLOSE-WAIT)."""
        try:
            async with asyncio.timeout(seconds):
                while (await receive())["type"] != "http.disconnect":
                    pass
        except TimeoutError:
            return
        raise Disconnected

    async def _prepare(self, operation: str, model_id: str, headers: dict[str, str], size: int,
                       record: CallRecord, work: Session, scope: dict | None = None) -> tuple[Any, Any, str, bytes]:
        """Everything that can fail before a response starts, in Bedrock's order (credentials were
        checked already, before the body was read), then the plan: (plan, request fault, base id, rng seed).
        Raises BedrockError."""
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
        tier = headers.get(TIER_HEADER) if operation not in converse.OPERATIONS else None
        if tier is not None:  # a header parameter: checked with the request's shape, before the model
            problem = tier_header_problem(tier)
            if problem is not None:
                raise BedrockError(400, "ValidationException", problem)
            self.calls.update(record, service_tier=tier)
        try:
            info = resolve_model(model_id, region=request_region(headers), as_of=self.switches.as_of,
                                 inactive_account=self.switches.inactive_account)
        except ModelLookupError as error:
            raise BedrockError(error.status, error.error_type, error.message) from None
        refusal = retention_refusal(info, self.switches.data_retention)
        if refusal is not None:
            raise BedrockError(403, "AccessDeniedException", refusal)
        fault = self.faults.take(operation, (model_id, info.base_id), at="request")
        if fault is not None:
            self.calls.update(record, fault=fault.as_dict())
            if fault.error not in ("drop", "stall"):
                error = BedrockError.named(fault.error, message_for(fault))
                raise error
        judged = await work.call(jobs.judge_model_call, operation, info, self.signer, self.seed, model_id)
        if judged.echo is not None:
            self.calls.update(record, service_tier=judged.echo.get("serviceTier", {}).get("type"))
        if judged.problems:
            raise BedrockError(400, "ValidationException", validation_message(judged.problems))
        if scope is not None:
            self.hold_answer(scope, judged.max_tokens)
        cache = self.prompt_cache.take(judged.cache)
        plan_args = (info, self.signer, self.seed, record.id, cache)
        cost = plan_cost(size, judged.max_tokens)
        if work.where == "here" and cost > OFF_LOOP_BYTES:  # a long answer to a short body: the child
            async with self.worker.session(size, long_answer=True) as planner:
                plan = await planner.call(jobs.plan_model_call, work.kept, *plan_args)
        else:
            plan = await work.call(jobs.plan_model_call, None, *plan_args)
        if scope is not None:
            self.keep_answer(scope, plan)
        self.calls.update(record, stop_reason=plan.stop_reason, input_tokens=plan.input_tokens,
                          output_tokens=plan.output_tokens)
        return plan, fault, info.base_id, judged.rng

    # ---- InvokeModel ----------------------------------------------------------------------------

    async def _invoke(self, send: Any, record: CallRecord, plan: Any, rng: bytes, t0: float,
                      request_headers: dict[str, str] | None = None, receive: Any = None) -> None:
        loop = asyncio.get_running_loop()
        offsets = await schedule_yielding([c.output_tokens for c in plan.chunks],
                                          paced_for(self.latency, record.service_tier), self.time_scale,
                                          random.Random(rng), input_tokens=plan.input_tokens)
        done_ms = offsets[-1] if offsets else 0.0
        self.calls.update(record, schedule_ms=[done_ms])
        due = sleep_until(loop, t0 + done_ms / 1000)
        await (due if receive is None else or_hang_up(receive, due))  # a hang-up ends the wait at once
        sent = (loop.time() - t0) * 1000
        self.calls.sent(record, [round(sent, 3)])
        self.calls.update(record, done=True)
        if isinstance(plan, converse_answer.ConversePlan):  # Converse answers carry usage in the body only
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

    async def _count_tokens(self, send: Any, record: CallRecord, model_id: str, headers: dict[str, str],
                            work: Session) -> None:
        """CountTokens: the input tokens an InvokeModel body or a Converse request would be billed for.

        Credentials were checked before the body was read (_authorized_body)."""
        try:
            info = resolve_model(model_id, region=request_region(headers), as_of=self.switches.as_of,
                                 inactive_account=self.switches.inactive_account)
        except ModelLookupError as error:
            raise BedrockError(error.status, error.error_type, error.message) from None
        tokens = await work.call(jobs.count_call, info)
        self.calls.update(record, input_tokens=tokens, done=True)
        await self._respond(send, 200, json.dumps({"inputTokens": tokens}).encode())

    # ---- InvokeModelWithResponseStream -----------------------------------------------------------

    async def _stream(self, receive: Any, send: Any, record: CallRecord, plan: Any, rng_seed: bytes,
                      t0: float, fault: Fault | None, request_headers: dict[str, str] | None = None) -> None:
        rng = random.Random(rng_seed)
        chunks = plan.chunks
        offsets = await schedule_yielding([c.output_tokens for c in chunks],
                                          paced_for(self.latency, record.service_tier), self.time_scale, rng,
                                          input_tokens=plan.input_tokens)
        self.calls.update(record, schedule_ms=offsets)
        pads = _Pads(rng)
        # Frames are encoded when they are due, not all up front: a room whose streams all start at once
        # would otherwise encode every frame of every stream in one burst, while the first frames wait.
        encode = converse_answer.chunk_frame if record.operation == "ConverseStream" else _invoke_chunk_frame
        cut = len(chunks)  # frames to send before the fault takes over
        if fault is not None:
            cut = min(fault.after, len(chunks))

        due = [offsets]  # the schedule in force (a stall shifts it)
        async with self.answering(receive, record,
                                  lambda i: t0 + due[0][i] / 1000 if i < len(chunks) else None) as watch:
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
            await self.end_stream(send, record, watch)

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
                # Only a frame the stream waited for tells how late the loop runs: one already due when the last
                # write finished was held up by its client's reading, which is no reason to keep others waiting.
                self.admission.note_late(loop.time() - due)
            now = loop.time()
            # Everything already due goes out in one write, up to MAX_BATCH frames: at time_scale 0 a
            # 64,000-frame stream encoded in one go held the loop for most of a second (issue 23).
            j = due_batch(offsets, t0, now, i, stop)
            sent_ms = (now - t0) * 1000
            # The last frame carries metrics measured at send time.
            parts = [encode(chunks[k], pads[k]) for k in range(i, min(j, last))]
            if j > last:
                parts.append(self._final_frame(record, chunks[last], pads[last], sent_ms, plan))
            data = b"".join(parts)
            self.calls.sent(record, [round(sent_ms, 3)] * (j - i))
            await send({"type": "http.response.body", "body": data, "more_body": True})
            if j - i == MAX_BATCH and j < stop:
                await asyncio.sleep(0)  # a full batch: let the rest of the room in before the next
            i = j
        return i

    def _final_frame(self, record: CallRecord, chunk: Any, pad: str, sent_ms: float, plan: Any = None) -> bytes:
        if record.operation == "ConverseStream":
            return converse_answer.metadata_frame(chunk, pad, record.input_tokens or 0, record.output_tokens or 0,
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
        if fault.error in SSE_ERRORS:
            # Anthropic's error object as an ordinary chunk of a 200 stream (anthropic-sdk-python#1472):
            # no exception frame, so botocore raises nothing and only a reader that looks at the chunk sees it.
            message = fault.message or messages_api.SSE_ERROR_MESSAGES[fault.error]
            self.calls.update(record, error=fault.error, error_message=message)
            error = {"type": "error", "error": {"type": fault.error, "message": message}}
            await send({"type": "http.response.body", "body": frames.chunk_frame(error), "more_body": True})
            await self.end_stream(send, record, watch)
            return
        fields: dict[str, Any] = {}
        if fault.error == "modelStreamErrorException":
            fields = {"originalStatusCode": 500, "originalMessage": "The model stopped unexpectedly."}
        frame = frames.exception_frame(fault.error, message_for(fault), **fields)
        # Recorded before sending: a client may read the record the moment it sees the frame.
        # The HTTP status stays 200: the error travels inside the stream.
        self.calls.update(record, error=fault.error, error_message=message_for(fault))
        await send({"type": "http.response.body", "body": frame, "more_body": True})
        await self.end_stream(send, record, watch)
