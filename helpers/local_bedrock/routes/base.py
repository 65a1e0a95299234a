"""What every route uses from the ASGI app: its settings, and reading and answering a request.

``BedrockApp`` (server.py) is this class, the routes mixed in (invoke.py, control.py) and the dispatch; the
route modules see the app through this class, so none of them imports the server.
"""

from __future__ import annotations

import asyncio
import json
import uuid
from typing import Any

from ..controls.calls import CallLog
from ..controls.faults import FaultBook
from ..door.auth import Authorizer
from ..door.bodies import Body, BodyBudget, read_body
from ..door.sigv4 import SERVICE as SIGV4_SERVICE
from ..errors import BedrockError, wire_error_type
from ..model.operations import Switches
from ..model.pacing import LatencyModel
from ..model.prompt_cache import PromptCache
from ..model.signatures import ThinkingSigner


class Disconnected(Exception):
    """The client went away mid-response."""


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


    # ---- plumbing -------------------------------------------------------------------------------

    async def _read_body(self, scope: dict, receive: Any, keep: int) -> Body:
        body = await read_body(receive, keep, self.body_budget)
        if body is None:
            raise Disconnected
        scope["local_bedrock.body_held"] += body.held  # given back when the request ends (__call__)
        return body

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
            return await self._read_body(scope, receive, 0), error
        body = await self._read_body(scope, receive, keep)
        try:
            self.auth(method, raw_path, headers, query=scope.get("query_string", b""), body_sha256=body.sha256,
                      services=services, http2=http2)
        except BedrockError as error:
            return Body(b"", body.size, body.sha256), error
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
