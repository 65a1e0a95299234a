"""The local Bedrock Runtime endpoint: a hand-written ASGI app served by hypercorn in a background thread.

hypercorn writes each ``http.response.body`` message to the socket as it is sent (``writer.write`` then
``drain``), so one ASGI send is one flush: the sender below decides when bytes leave, nothing buffers them.
"""

from __future__ import annotations

import asyncio
import logging
import os
import threading
import time
from typing import Any

from hypercorn.asyncio import serve
from hypercorn.config import Config, Sockets

from .controls.calls import CallLog, CallRecord
from .controls.faults import FaultBook
from .controls.upstream import make_passthrough
from .door.admission import Admission
from .door.answering import AnswerBudget
from .door.auth import Authorizer, SigV4Keys
from .door.bodies import BodyBudget
from .door.connections import READ_TIMEOUT_SETTING
from .door.connections import install as install_connection_limits
from .door.logsafe import EscapeControls
from .door.worker import Worker
from .errors import BedrockError
from .model.operations import Switches
from .model.pacing import LatencyModel
from .model.prompt_cache import PromptCache
from .model.retention import DEFAULT_DATA_RETENTION
from .model.signatures import ThinkingSigner
from .routes import messages_api
from .routes.base import CLOSE, Disconnected
from .routes.control import ControlRoute
from .routes.invoke import MODEL_PATH, InvokeRoute
from .serving import collect_when_quiet, serving

log = logging.getLogger("helpers.local_bedrock")
log.addFilter(EscapeControls())  # hypercorn logs through it too (config.errorlog below)


class BedrockApp(InvokeRoute, ControlRoute):
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
        queue_when_late: bool = True,
    ) -> None:
        self.auth = auth or Authorizer()
        # Processes serving the same port (``--workers``, room.py). Each keeps its own call log, faults and
        # prompt cache, so the control routes that read or change them refuse when there are several.
        self.workers = workers
        self.body_budget = body_budget or BodyBudget()
        # How the catalogue's lifecycle is played (as-of date, inactive account) and the prompt cache.
        self.switches = switches or Switches()
        self.prompt_cache = PromptCache()
        # Signs the thinking it sends and checks what comes back (signatures.py); keyed by the seed.
        self.signer = ThinkingSigner.for_seed(seed)
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
        # Answers in flight, and how long a client may stop reading before it is cut (door/answering.py).
        self.answer_budget = AnswerBudget()
        self.read_timeout: float | None = None
        # The child process that reads and plans large bodies, away from this loop (door/worker.py).
        self.worker = Worker()
        # New calls wait while the paced streams already running are late (door/admission.py).
        self.admission = Admission(enabled=time_scale > 0 and queue_when_late)

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
                    if started and scope.get(CLOSE):  # HTTP/1.1 only: the body is left unread, so close
                        message = {**message, "headers": [*message["headers"], (b"connection", b"close")]}
                await send(message)

            scope["local_bedrock.body_held"] = 0
            scope["local_bedrock.answer_held"] = 0
            try:
                await self._http(scope, receive, tracked_send)
            except (Disconnected, asyncio.CancelledError):
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
        collector: asyncio.Task | None = None
        while True:
            message = await receive()
            if message["type"] == "lifespan.startup":
                if serving():  # full collections between requests, never in the middle of them (serving.py)
                    collector = asyncio.create_task(collect_when_quiet(lambda: not self.tasks))
                await send({"type": "lifespan.startup.complete"})
            elif message["type"] == "lifespan.shutdown":
                if collector is not None:
                    collector.cancel()
                await self.worker.aclose()
                await send({"type": "lifespan.shutdown.complete"})
                return

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
            scope[CLOSE] = scope.get("http_version") != "2"
            await self._respond_error(send, BedrockError(
                400, "ValidationException", "The request has both Content-Length and Transfer-Encoding; send "
                "one of them (RFC 9112 section 6.3)."))
            return

        if raw_path.startswith(b"/_local/"):
            await self._local(scope, method, raw_path, headers, receive, send)
            return
        if messages_api.handles(raw_path):  # the Messages API (SSE): its own request and answer shapes
            await self.messages_route.serve(scope, headers, receive, send, t0, received_at)
            return
        match = MODEL_PATH.match(raw_path)
        if match is None:
            await self._drain(scope, headers, receive)  # drained, not kept: the connection stays usable
            await self._respond_error(send, BedrockError(
                404, "UnknownOperationException",
                f"No Bedrock Runtime operation at {method} {raw_path.decode('latin-1')}. This endpoint serves "
                "POST /model/{modelId}/invoke, /invoke-with-response-stream, /converse and /converse-stream, "
                "and POST /anthropic/v1/messages (the Messages API).",
            ))
            return
        await self._model_call(scope, receive, send, match, method, raw_path, headers, t0, received_at)


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
        data_retention: str = DEFAULT_DATA_RETENTION,
        queue_when_late: bool = True,
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
        # False: every call starts at once even when the streams already running are late (admission.py).
        self.queue_when_late = bool(queue_when_late)
        self._calls = CallLog()
        self.faults = FaultBook(seed=seed)
        # Request bodies all calls in flight may hold together; beyond it a call gets a 503 (bodies.py).
        self.body_budget = BodyBudget()
        # Open unless told otherwise; see auth.py for what locking means.
        self.auth = Authorizer(verify_sigv4, bearer_token, instructor_keys)
        # By default models answer as on AWS today; as_of="2026-01-01" replays an earlier day's lifecycle
        # (retired models served again), inactive_account=True refuses Legacy models as AWS does then.
        # data_retention="none" plays an account whose mode blocks the models from Fable 5 on (retention.py).
        self.switches = Switches.coerce(as_of=as_of, inactive_account=inactive_account,
                                        data_retention=data_retention)
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
                         body_budget=self.body_budget, workers=workers, queue_when_late=self.queue_when_late)
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
