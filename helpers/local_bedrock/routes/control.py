"""The ``/_local/`` control routes: the health check, the call log and the fault book.

Mixed into ``BedrockApp`` (server.py), which dispatches here every path under ``/_local/``.
"""

from __future__ import annotations

from typing import Any

from ..door.bodies import Body, parse_control_json
from ..errors import BedrockError
from .base import AppBase

# Fault specs and the like are small; a control route keeps no more than this.
_CONTROL_BODY_KEEP = 256 * 1024
MAX_FAULT_SPECS_PER_POST = 100


class ControlRoute(AppBase):
    """The ``/_local/`` routes of ``BedrockApp``."""

    async def _local(self, scope: dict, method: str, raw_path: bytes, headers: dict[str, str], receive: Any,
                     send: Any) -> None:
        # A locked room endpoint locks its controls too: faults hit everyone, calls hold prompts.
        locked = raw_path.rstrip(b"/") != b"/_local/health"
        body, refusal = await self._authorized_body(scope, method, raw_path, headers, receive,
                                                    _CONTROL_BODY_KEEP, check=locked)
        if refusal is None and locked:
            try:
                self.auth.check_control(headers)  # learners' keys call models, not these (door/auth.py)
            except BedrockError as error:
                refusal = error
        if refusal is not None:
            await self._respond_error(send, refusal)
            return
        await self._control(method, raw_path, scope.get("query_string", b""), body, send)

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
