"""Cassettes: real Bedrock exchanges written down as JSON lines, and played back with their timing.

One exchange is a block of lines, each one JSON object a person can read::

    {"exchange": {"operation": "InvokeModelWithResponseStream", "model": "...", "body": {...}, "headers": {...}}}
    {"ms": 402.1, "chunk": {"type": "message_start", ...}}          # InvokeModelWithResponseStream
    {"ms": 402.9, "event": "contentBlockDelta", "data": {...}}       # ConverseStream
    {"ms": 950.0, "response": {...}, "headers": {...}}               # InvokeModel / Converse
    {"ms": 12.0, "error": {"where": "request", "status": 429, "type": "ThrottlingException", "message": "..."}}
    {"end": {"ms": 1830.4}}

``ms`` is when that piece arrived, counted from the moment the request was received. Nothing that
identifies the learner is written: no credentials, signatures, request ids, and account ids in ARNs and
messages become ``000000000000``. Replay matches a call by operation, model and body (JSON compared by
value), serves the same pieces at ``ms × time_scale``, and answers ``ResourceNotFoundException`` naming
the model when nothing matches. Several recordings of the same call play in order, then the last repeats.
"""

from __future__ import annotations

import asyncio
import base64
import datetime
import json
import re
import threading
from collections.abc import AsyncIterator, Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ..errors import BedrockError
from ..model.pacing import sleep_until
from ..wire import frames
from .calls import CallLog, CallRecord

STREAMING = ("InvokeModelWithResponseStream", "ConverseStream")
# Request headers worth keeping: they change what Bedrock answers. Never Authorization or X-Amz-*.
KEPT_HEADERS = ("accept", "x-amzn-bedrock-accept", "x-amzn-bedrock-trace", "x-amzn-bedrock-guardrailidentifier",
                "x-amzn-bedrock-guardrailversion", "x-amzn-bedrock-performanceconfig-latency",
                "x-amzn-bedrock-service-tier")
# Response headers worth keeping for InvokeModel / Converse (token counts, latency).
KEPT_RESPONSE_HEADERS = ("x-amzn-bedrock-input-token-count", "x-amzn-bedrock-output-token-count",
                         "x-amzn-bedrock-invocation-latency", "x-amzn-bedrock-cache-read-input-token-count",
                         "x-amzn-bedrock-cache-write-input-token-count", "content-type")

_ACCOUNT_IN_ARN = re.compile(r"(arn:aws[\w-]*:[\w-]+:[\w-]*:)\d{12}(?=:)")
_BARE_ACCOUNT = re.compile(r"(?<!\d)\d{12}(?!\d)")
_UUID = re.compile(r"\b[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}\b", re.I)
_PADDING = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789"
# Identities an upstream error may name: e-mail addresses (an SSO user's), and the user or role part of an
# IAM or STS ARN (arn:aws:iam::...:user/NAME, arn:aws:sts::...:assumed-role/ROLE/SESSION). Bounded repeats
# and possessive runs keep both linear on any text (issue 23).
_EMAIL = re.compile(r"[\w.+-]{1,64}+@[\w-]{1,63}+(?:\.[\w-]{1,63}+){1,8}+")
_PRINCIPAL_IN_ARN = re.compile(r"(arn:aws[\w-]*:(?:iam|sts)::\d{12}:(?:user|role|assumed-role|federated-user)/)"
                               r"[^\s\"',;]++")


def scrub_arn(text: str) -> str:
    """Account ids inside ARNs (model ids, guardrails) -> 000000000000."""
    return _ACCOUNT_IN_ARN.sub(r"\g<1>000000000000", text)


def scrub_message(text: str) -> str:
    """Error messages may name the account, the person or role calling, or the request: hide them all."""
    text = _PRINCIPAL_IN_ARN.sub(r"\g<1><principal>", text)
    if "@" in text:
        text = _EMAIL.sub("<email>", text)
    return _UUID.sub("<request-id>", _BARE_ACCOUNT.sub("000000000000", scrub_arn(text)))


def canonical_body(body: Any) -> str:
    """A body's identity for matching: JSON compared by value, anything else as text."""
    if isinstance(body, bytes):
        try:
            body = json.loads(body)
        except ValueError:
            return body.decode("utf-8", "replace")
    if isinstance(body, str):
        return body
    return json.dumps(body, sort_keys=True, separators=(",", ":"), ensure_ascii=False)


def readable_body(raw: bytes) -> Any:
    try:
        return json.loads(raw)
    except ValueError:
        return raw.decode("utf-8", "replace")


@dataclass
class Exchange:
    """One recorded call: what was asked, then every piece of the answer with its arrival offset."""

    operation: str
    model: str
    body: Any
    headers: dict[str, str] = field(default_factory=dict)
    steps: list[dict] = field(default_factory=list)
    end_ms: float = 0.0
    recorded_at: str = ""

    def key(self) -> tuple[str, str, str]:
        return (self.operation, scrub_arn(self.model), canonical_body(self.body))

    def lines(self) -> list[str]:
        head = {"operation": self.operation, "model": scrub_arn(self.model), "body": self.body,
                "headers": {k: scrub_arn(v) for k, v in self.headers.items()}, "recorded_at": self.recorded_at}
        out = [json.dumps({"exchange": head}, ensure_ascii=False)]
        for step in self.steps:
            step = dict(step)
            if "error" in step:
                step["error"] = {**step["error"], "message": scrub_message(step["error"].get("message", ""))}
            out.append(json.dumps(step, ensure_ascii=False))
        out.append(json.dumps({"end": {"ms": round(self.end_ms, 3)}}))
        return out


class CassetteWriter:
    """Appends finished exchanges to a file; safe to call from any thread or task."""

    def __init__(self, path: str | Path) -> None:
        self.path = Path(path)
        if self.path.is_dir():
            raise ValueError(f"record: {self.path} is a directory; give a file name such as session.jsonl")
        blocker = next((p for p in reversed(self.path.parents) if p.exists() and not p.is_dir()), None)
        if blocker is not None:
            raise ValueError(f"record: cannot write {self.path} because {blocker} is a file, not a folder; "
                             "choose a path under a folder")
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            with self.path.open("a", encoding="utf-8"):
                pass  # fail now, not at the first call, when the file cannot be written
        except OSError as error:
            raise ValueError(f"record: cannot write {self.path} ({error.strerror}); choose a file you can "
                             "write, such as ./session.jsonl") from None
        self._lock = threading.Lock()

    def write(self, exchange: Exchange) -> None:
        exchange.recorded_at = exchange.recorded_at or datetime.datetime.now(datetime.UTC).isoformat(
            timespec="seconds")
        text = "\n".join(exchange.lines()) + "\n"
        with self._lock, self.path.open("a", encoding="utf-8") as handle:
            handle.write(text)


_OPERATIONS = ("InvokeModel", "InvokeModelWithResponseStream", "Converse", "ConverseStream")


def _offset(value: Any, where: str) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float) or not 0 <= value < 3_600_000:
        raise ValueError(f"{where}: \"ms\" must be a number of milliseconds from 0 (not {value!r}); "
                         "fix the line or record the call again")
    return float(value)


def read_cassette(path: str | Path) -> list[Exchange]:
    """Parse and check a whole cassette file up front; a broken line is reported with its number and fix."""
    path = Path(path)
    if not path.is_file():
        raise ValueError(f"replay: no cassette file at {path}; record one first with --record {path} --upstream aws")
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as error:
        raise ValueError(f"replay: cannot read {path} as UTF-8 text ({error}); give a cassette written by "
                         "--record") from None
    exchanges: list[Exchange] = []
    current: Exchange | None = None
    opened_at = 0
    for number, line in enumerate(text.splitlines(), 1):
        where = f"replay: {path}:{number}"
        if not line.strip():
            continue
        try:
            item = json.loads(line)
        except (ValueError, RecursionError) as error:
            raise ValueError(f"{where} is not JSON ({error}); fix or delete that line") from None
        if not isinstance(item, dict):
            raise ValueError(f"{where} must be a JSON object; fix or delete that line")
        if "exchange" in item:
            if current is not None:
                raise ValueError(f"replay: {path}:{opened_at} starts an exchange that has no "
                                 "{\"end\": {\"ms\": ...}} line before the next one; add it or delete the exchange")
            head = item["exchange"]
            if not isinstance(head, dict) or head.get("operation") not in _OPERATIONS \
                    or not isinstance(head.get("model"), str) or not head["model"]:
                raise ValueError(f"{where}: an exchange needs \"operation\" (one of {list(_OPERATIONS)}) and "
                                 "\"model\" (a model id); fix the line or record the call again")
            headers = head.get("headers", {})
            if not isinstance(headers, dict) or not all(isinstance(v, str) for v in headers.values()):
                raise ValueError(f"{where}: \"headers\" must be an object of strings; fix the line")
            current = Exchange(head["operation"], head["model"], head.get("body"), headers,
                               recorded_at=str(head.get("recorded_at", "")))
            opened_at = number
        elif current is None:
            raise ValueError(f"{where} comes before any {{\"exchange\": ...}} line; move it into an exchange")
        elif "end" in item:
            end = item["end"]
            if not isinstance(end, dict):
                raise ValueError(f"{where}: \"end\" must be an object such as {{\"ms\": 1830.4}}, not {end!r}")
            current.end_ms = _offset(end.get("ms", 0.0), where)
            exchanges.append(current)
            current = None
        elif "ms" in item:
            _offset(item["ms"], where)
            if not any(k in item for k in ("chunk", "event", "response", "error", "drop")):
                raise ValueError(f"{where}: a step needs one of \"chunk\", \"event\", \"response\", "
                                 "\"error\" or \"drop\"; fix the line")
            error = item.get("error")
            if error is not None and (not isinstance(error, dict) or not isinstance(error.get("type"), str)
                                      or error.get("where") not in ("request", "stream")
                                      or (error["where"] == "request" and not isinstance(error.get("status"), int))):
                raise ValueError(f"{where}: \"error\" needs \"where\" (\"request\" or \"stream\"), \"type\" "
                                 "and, before the stream, an integer \"status\"; fix the line")
            current.steps.append(item)
        else:
            raise ValueError(f"{where} is not an exchange, a step with \"ms\", or an end line; fix or delete it")
    if current is not None:
        raise ValueError(f"replay: {path}:{opened_at} starts an exchange with no {{\"end\": {{\"ms\": ...}}}} "
                         "line; add it (a cut-off recording) or delete the exchange")
    if not exchanges:
        raise ValueError(f"replay: {path} holds no recorded exchanges; record some first with "
                         f"--record {path} --upstream aws")
    return exchanges


# ---- serving an exchange over ASGI (shared by replay and record) --------------------------------


def stream_frame(operation: str, step: dict, index: int) -> bytes | None:
    """The event-stream frame for one recorded step, or None when the step is not a frame."""
    pad = _PADDING[: 1 + (index * 7) % 23]
    if "chunk" in step:
        return frames.chunk_frame(step["chunk"], pad)
    if "event" in step:
        headers = frames.encode_headers([(":event-type", step["event"]), (":content-type", "application/json"),
                                         (":message-type", "event")])
        payload = dict(step.get("data") or {})
        payload["p"] = pad
        return frames.encode_frame(headers, json.dumps(payload, ensure_ascii=False).encode())
    if "error" in step and step["error"].get("where") == "stream":
        error = step["error"]
        extra = {k: v for k, v in error.items() if k not in ("where", "status", "type", "message")}
        return frames.exception_frame(error["type"], error.get("message", ""), **extra)
    return None


async def respond(send: Any, status: int, body: bytes, headers: list[tuple[bytes, bytes]]) -> None:
    head = [(b"content-length", str(len(body)).encode()), *headers]
    await send({"type": "http.response.start", "status": status, "headers": head})
    await send({"type": "http.response.body", "body": body, "more_body": False})


async def serve_steps(operation: str, steps: AsyncIterator[tuple[float, dict]], receive: Any, send: Any,
                      calls: CallLog, record: CallRecord) -> None:
    """Send each (sent_ms, step) as it comes; a request error before anything is sent raises BedrockError."""
    watcher: asyncio.Task | None = None
    main = asyncio.current_task()
    assert main is not None
    gone = False

    async def watch() -> None:
        nonlocal gone
        while (await receive())["type"] != "http.disconnect":
            pass
        gone = True
        main.cancel()

    started = False
    index = 0
    try:
        async for sent_ms, step in steps:
            error = step.get("error")
            if error is not None and error.get("where") == "request":
                calls.update(record, status=error["status"], error=error["type"], error_message=error["message"],
                             done=True)
                raise BedrockError(error["status"], error["type"], error["message"])
            if "response" in step:
                headers = [(k.encode(), str(v).encode()) for k, v in step.get("headers", {}).items()]
                if not any(k == b"content-type" for k, _ in headers):
                    headers.append((b"content-type", b"application/json"))
                calls.sent(record, [round(sent_ms, 3)])
                calls.update(record, done=True)
                await respond(send, 200, json.dumps(step["response"], ensure_ascii=False).encode(), headers)
                return
            if not started:
                started = True
                watcher = asyncio.get_running_loop().create_task(watch())
                await send({"type": "http.response.start", "status": 200, "headers": [
                    (b"content-type", b"application/vnd.amazon.eventstream"),
                    (b"x-amzn-bedrock-content-type", b"application/json"),
                ]})
            if "drop" in step:
                calls.update(record, error="drop", done=True)
                return  # an unfinished body makes hypercorn close the connection, as the original did
            frame = stream_frame(operation, step, index)
            index += 1
            if frame is not None:
                if error is not None:
                    calls.update(record, error=error["type"], error_message=error.get("message"))
                calls.sent(record, [round(sent_ms, 3)])
                await send({"type": "http.response.body", "body": frame, "more_body": True})
        if not started:  # a stream with no pieces at all still answers with an (empty) event stream
            await send({"type": "http.response.start", "status": 200, "headers": [
                (b"content-type", b"application/vnd.amazon.eventstream")]})
        if watcher is not None:
            watcher.cancel()
        calls.update(record, done=True)
        await send({"type": "http.response.body", "body": b"", "more_body": False})
    except asyncio.CancelledError:
        if gone:
            main.uncancel()
            calls.update(record, error="client disconnected", done=True)
            return  # nobody left to answer
        raise
    finally:
        if watcher is not None:
            watcher.cancel()


# ---- replay -------------------------------------------------------------------------------------


class Replayer:
    """Serves calls from a cassette file with their recorded timing, scaled by ``time_scale``."""

    def __init__(self, path: str | Path, time_scale: float, calls: CallLog) -> None:
        self.path = Path(path)
        self.time_scale = time_scale
        self.calls = calls
        self.exchanges = read_cassette(self.path)
        self._queues: dict[tuple[str, str, str], list[Exchange]] = {}
        for exchange in self.exchanges:
            self._queues.setdefault(exchange.key(), []).append(exchange)
        self._served: dict[tuple[str, str, str], int] = {}
        self._lock = threading.Lock()

    def match(self, operation: str, model_id: str, body: bytes) -> Exchange:
        key = (operation, scrub_arn(model_id), canonical_body(body))
        with self._lock:
            queue = self._queues.get(key)
            if queue:
                served = self._served.get(key, 0)
                self._served[key] = served + 1
                return queue[min(served, len(queue) - 1)]
        raise BedrockError(404, "ResourceNotFoundException", self._miss_message(operation, model_id, body))

    def _miss_message(self, operation: str, model_id: str, body: bytes) -> str:
        same_model = [e for e in self.exchanges if e.operation == operation and e.model == scrub_arn(model_id)]
        text = (f"No cassette matched this {operation} call for model {model_id}: this endpoint replays "
                f"{self.path.name} ({len(self.exchanges)} recorded calls) and answers only calls recorded "
                "there, matched by operation, model and body.")
        if not same_model:
            models = sorted({f"{e.operation} {e.model}" for e in self.exchanges})
            return text + f" Nothing was recorded for this model and operation; recorded: {models or 'nothing'}."
        asked = readable_body(body)
        recorded = same_model[0].body
        if isinstance(asked, dict) and isinstance(recorded, dict):
            differ = sorted(k for k in set(asked) | set(recorded) if asked.get(k) != recorded.get(k))
            return text + (f" {len(same_model)} recorded call(s) for this model differ in the body, the first "
                           f"in: {', '.join(differ)}. Send the recorded body, or record this call.")
        return text + " The body differs from every recording for this model; record this call first."

    async def serve(self, operation: str, model_id: str, headers: dict[str, str], body: bytes, receive: Any,
                    send: Any, record: CallRecord, t0: float) -> None:
        exchange = self.match(operation, model_id, body)
        offsets = [round(float(s.get("ms", 0.0)) * self.time_scale, 3) for s in exchange.steps]
        self.calls.update(record, schedule_ms=offsets)

        async def steps() -> AsyncIterator[tuple[float, dict]]:
            loop = asyncio.get_running_loop()
            for offset, step in zip(offsets, exchange.steps, strict=True):
                await sleep_until(loop, t0 + offset / 1000)
                yield (loop.time() - t0) * 1000, step

        pieces = steps()
        try:
            await serve_steps(operation, pieces, receive, send, self.calls, record)
        finally:
            await pieces.aclose()


def chunks_of(exchanges: Iterable[Exchange]) -> list[list[dict]]:
    """The decoded chunks of each streamed exchange (handy in lessons and tests)."""
    return [[s["chunk"] for s in e.steps if "chunk" in s] for e in exchanges]


def decode_chunk_payload(payload: bytes) -> dict:
    """An InvokeModelWithResponseStream frame payload -> the model's chunk JSON."""
    return json.loads(base64.b64decode(json.loads(payload)["bytes"]))
