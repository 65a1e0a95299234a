"""One endpoint served by several processes: ``python -m helpers.local_bedrock --workers N``.

One Python process holds a few hundred paced streams on time; a room of a thousand needs more cores than
one. hypercorn's own multi-process mode serves them: the command's process binds the port, then hypercorn
starts N worker processes that share that listening socket, each importing this module's ``app`` (the same
endpoint, built from the settings the command was given, which reach the workers in the environment
variable ``LOCAL_BEDROCK_ROOM``). The kernel hands each new connection to one worker.

What is per worker: the call log, the fault book, the prompt cache and the request-body budget. The
``/_local/calls`` and ``/_local/faults`` routes therefore refuse (409) rather than answer for one worker in
N; the fault exercises need the one-process endpoint. A client's calls on one keep-alive connection stay
with one worker, so a prompt cache written by one call is read by the next one on that connection.

``LOCAL_BEDROCK_TIMINGS_DIR`` (for ``benchmarks/endpoint_room_1000.py``): when set, each worker writes
every call's schedule and send times, its CPU time and its garbage-collection pauses to ``<dir>/<pid>.json``
as it shuts down.
"""

from __future__ import annotations

import gc
import json
import os
import signal
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from hypercorn.config import Sockets
from hypercorn.run import run

from .controls.calls import CallLog
from .door.connections import install as install_connection_limits
from .server import LocalBedrock, _room_config, _RoomConfig
from .serving import settle_for_serving

SETTINGS_ENV = "LOCAL_BEDROCK_ROOM"
TIMINGS_ENV = "LOCAL_BEDROCK_TIMINGS_DIR"
APPLICATION_PATH = "helpers.local_bedrock.room:app"
# The kernel's queue of connections not yet accepted: a room presses Run at the same moment.
ROOM_BACKLOG = 4096


class _WorkersConfig(_RoomConfig):
    """The room's hypercorn configuration; the bound sockets reach the workers once, as hypercorn passes
    them, not a second time inside the pickled configuration."""

    def __getstate__(self) -> dict[str, Any]:
        state = dict(self.__dict__)
        state.pop("_bound", None)
        return state


def serve_workers(settings: dict[str, Any], workers: int, banner: Callable[[LocalBedrock], None]) -> int:
    """Bind, print ``banner(endpoint)`` and serve with ``workers`` processes until SIGINT/SIGTERM.

    ``settings`` are LocalBedrock's keyword arguments (JSON-able); an unusable one raises ValueError here,
    in the command's process, before any worker starts.
    """
    endpoint = LocalBedrock(**settings)  # validates every setting; never started in this process
    config = _room_config(endpoint.host, endpoint.port, endpoint.read_timeout, kind=_WorkersConfig)
    config.workers = workers
    config.application_path = APPLICATION_PATH
    config.backlog = ROOM_BACKLOG
    sockets = _listen(config, endpoint.host, endpoint.port)
    endpoint.port = sockets.insecure_sockets[0].getsockname()[1]
    config.bind_sockets(sockets)
    os.environ[SETTINGS_ENV] = json.dumps({**settings, "port": endpoint.port, "workers": workers})
    banner(endpoint)
    return run(config)


def _listen(config: _RoomConfig, host: str, port: int) -> Sockets:
    """hypercorn's own socket set-up (TCP_NODELAY, SO_REUSEADDR, non-blocking), listening before workers start."""
    try:
        sockets = config.create_sockets()
        for sock in sockets.insecure_sockets:
            sock.listen(config.backlog)
    except OSError as error:
        raise OSError(error.errno, f"cannot listen on {host}:{port}: {error.strerror}; "
                                   "pick another --port (0 = any free port)") from None
    return sockets


class _GcPauses:
    """Garbage-collection pauses by generation, for the timings file (a ``gc.callbacks`` entry)."""

    def __init__(self) -> None:
        self.count = [0, 0, 0]
        self.max_ms = [0.0, 0.0, 0.0]
        self._started = 0.0

    def __call__(self, phase: str, info: dict[str, int]) -> None:
        if phase == "start":
            self._started = time.perf_counter()
            return
        generation = info["generation"]
        self.count[generation] += 1
        self.max_ms[generation] = max(self.max_ms[generation], (time.perf_counter() - self._started) * 1000)


def _write_timings(folder: str, calls: CallLog, pauses: _GcPauses) -> None:
    records = [
        {"status": r.status, "error": r.error, "done": r.done, "schedule_ms": r.schedule_ms, "sent_ms": r.sent_ms,
         "queued_ms": r.queued_ms}
        for r in calls.snapshot()
    ]
    cpu = os.times()
    final = Path(folder, f"{os.getpid()}.json")
    partial = final.with_suffix(".partial")  # written whole, then renamed: a reader never sees half a file
    partial.write_text(json.dumps({"cpu_s": cpu.user + cpu.system, "records": records,
                                   "gc_count": pauses.count, "gc_max_ms": pauses.max_ms}))
    os.replace(partial, final)


class _Worker:
    """This process's endpoint, built from the command's settings the first time hypercorn calls the app."""

    def __init__(self) -> None:
        raw = os.environ.get(SETTINGS_ENV)
        if raw is None:
            raise RuntimeError(f"{APPLICATION_PATH} is served by `python -m helpers.local_bedrock --workers N`, "
                               f"which passes its settings in ${SETTINGS_ENV}; run that command instead.")
        settings = json.loads(raw)
        workers = settings.pop("workers")
        endpoint = LocalBedrock(**settings)
        self.timings_dir = os.environ.get(TIMINGS_ENV)
        self.pauses = _GcPauses()
        if self.timings_dir:
            endpoint._calls = CallLog(limit=100_000)  # a benchmark's whole room, not a lab session's last 1,000
            # hypercorn's parent sends SIGTERM to every worker as soon as the first one exits, which would end
            # a worker before it writes its timings; it has already asked each one to shut down, so they end
            # by themselves.
            signal.signal(signal.SIGTERM, signal.SIG_IGN)
        self.calls = endpoint._calls
        install_connection_limits()  # prompt close, TCP_NODELAY, read timeouts, h2 limits (connections.py)
        self.app = endpoint.build_app(workers=workers)
        settle_for_serving()
        if self.timings_dir:
            gc.callbacks.append(self.pauses)  # pauses while serving, not the start-up collection just above

    async def lifespan(self, scope: dict, receive: Any, send: Any) -> None:
        async def receive_and_record() -> dict:
            message = await receive()
            if message["type"] == "lifespan.shutdown" and self.timings_dir:
                _write_timings(self.timings_dir, self.calls, self.pauses)
            return message

        await self.app(scope, receive_and_record, send)


_worker: _Worker | None = None


async def app(scope: dict, receive: Any, send: Any) -> None:
    """The endpoint in one hypercorn worker (built on the first call: the lifespan start-up)."""
    global _worker
    if _worker is None:
        _worker = _Worker()
    if scope["type"] == "lifespan":
        await _worker.lifespan(scope, receive, send)
    else:
        await _worker.app(scope, receive, send)
