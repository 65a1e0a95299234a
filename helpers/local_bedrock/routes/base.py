"""What every route uses from the ASGI app: its settings, and reading and answering a request.

``BedrockApp`` (server.py) is this class, the routes mixed in (invoke.py, control.py) and the dispatch; the
route modules see the app through this class, so none of them imports the server.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import uuid
from collections.abc import AsyncIterator, Callable
from typing import Any

from ..controls.calls import CallLog, CallRecord
from ..controls.faults import FaultBook
from ..door.admission import Admission
from ..door.answering import AnswerBudget, cut_when_stuck, stopped_reading
from ..door.auth import Authorizer
from ..door.bodies import Body, BodyBudget, read_body
from ..door.hangup import ClientGone, HangUpWatch
from ..door.sigv4 import SERVICE as SIGV4_SERVICE
from ..door.worker import Worker
from ..errors import BedrockError, wire_error_type
from ..model.answers import MAX_GENERATED_TOKENS
from ..model.operations import Switches
from ..model.pacing import LatencyModel
from ..model.prompt_cache import PromptCache
from ..model.signatures import ThinkingSigner

Disconnected = ClientGone  # the client went away mid-response (door/hangup.py)
# A refused request's body is drained (so its keep-alive connection stays usable and the client reads its
# refusal) only up to this size, above Bedrock's 25 MB body limit, and only for the read timeout in all: a
# larger or slower one gets its refusal with Connection: close, unread.
_DRAIN_LIMIT = 32 * 1024 * 1024
# The scope key that asks ``BedrockApp`` (server.py) to close an HTTP/1.1 connection after the response.
CLOSE = "local_bedrock.close"


class AppBase:
    """The app's settings (set by ``BedrockApp.__init__``) and the request plumbing its routes share."""

    auth: Authorizer
    workers: int
    body_budget: BodyBudget
    switches: Switches
    prompt_cache: PromptCache
    passthrough: Any | None
    seed: int
    time_scale: float
    latency: LatencyModel
    signer: ThinkingSigner
    calls: CallLog
    faults: FaultBook
    tasks: set[asyncio.Task]
    answer_budget: AnswerBudget
    read_timeout: float | None
    worker: Worker
    admission: Admission

    # ---- plumbing -------------------------------------------------------------------------------

    async def _read_body(self, scope: dict, receive: Any, keep: int) -> Body:
        body = await read_body(receive, keep, self.body_budget)
        if body is None:
            raise Disconnected
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
            scope[CLOSE] = True
        return Body((), int(declared) if declared.isdigit() else 0, "")

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
            return Body((), body.size, body.sha256), error
        return body, None

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

    async def _respond_read(self, send: Any, record: CallRecord, payload: bytes,
                            headers: list[tuple[bytes, bytes]] | None = None) -> None:
        """The answer, written within the read timeout: a client that stops reading is cut (door/answering.py)."""
        try:
            async with asyncio.timeout(self.read_timeout):
                await self._respond(send, 200, payload, headers)
        except TimeoutError:
            self.calls.update(record, error=stopped_reading(self.read_timeout or 0))
            raise Disconnected from None

    # ---- answers in flight (door/answering.py) ---------------------------------------------------

    def hold_answer(self, scope: dict, asked: Any) -> None:
        """Hold the longest answer a body may get (``asked``: its max_tokens) against the answer budget before
        it is planned, so a flood of long answers is refused before any is built (a 503 when it is spent)."""
        tokens = min(asked, MAX_GENERATED_TOKENS) if isinstance(asked, int) else 0
        scope["local_bedrock.answer_held"] += self.answer_budget.take(tokens)

    def keep_answer(self, scope: dict, plan: Any) -> None:
        """Hold only what ``plan`` really holds (its output tokens) until the call ends."""
        held = scope["local_bedrock.answer_held"]
        kept = min(held, plan.output_tokens or 0)
        self.answer_budget.give(held - kept)
        scope["local_bedrock.answer_held"] = kept

    @contextlib.asynccontextmanager
    async def answering(self, receive: Any, record: CallRecord,
                        due_at: Callable[[int], float | None]) -> AsyncIterator[HangUpWatch]:
        """The life of a streamed answer, on either wire: a watch for the client hanging up (a hang-up mid-stream
        ends the call quietly, logged as a disconnect) and the timer for a client that stops reading."""
        watch = HangUpWatch(receive).start()
        reading = self.watch_reading(record, due_at)
        try:
            yield watch
        except asyncio.CancelledError:
            if not watch.absorb_cancel():
                raise
            self.calls.update(record, error="client disconnected", done=True)
        finally:
            watch.stop()
            if reading is not None:
                reading.cancel()

    async def end_stream(self, send: Any, record: CallRecord, watch: HangUpWatch) -> None:
        """The last (empty) piece of a streamed answer, once everything is sent."""
        watch.finish()
        self.calls.update(record, done=True)
        await send({"type": "http.response.body", "body": b"", "more_body": False})

    def watch_reading(self, record: CallRecord, due_at: Callable[[int], float | None]) -> asyncio.Task | None:
        """A timer that cuts the current stream when its client stops reading (door/answering.py); None when
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
