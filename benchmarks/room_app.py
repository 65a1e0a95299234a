"""The local endpoint as an ASGI application for ``hypercorn --workers N`` (the room benchmark's server).

``python -m helpers.local_bedrock`` serves one process; a room of a thousand streams on a machine with
several cores can be served by several hypercorn workers sharing one listening socket, each running this
module's ``app``. Every worker keeps its own call log; when hypercorn shuts the worker down (the lifespan
``shutdown`` message) it writes the log's timing records and its CPU time to ``$ROOM_CALLS_DIR/<pid>.json``, so the
benchmark can compare every frame's send time with its schedule across all workers.
"""

from __future__ import annotations

import gc
import json
import os
import signal
from pathlib import Path
from typing import Any

from helpers.local_bedrock.calls import CallLog
from helpers.local_bedrock.faults import FaultBook
from helpers.local_bedrock.pacing import LatencyModel
from helpers.local_bedrock.server import BedrockApp

SEED = int(os.environ.get("ROOM_SEED", "0"))
TIME_SCALE = float(os.environ.get("ROOM_TIME_SCALE", "1.0"))

_calls = CallLog(limit=100_000)
_inner = BedrockApp(seed=SEED, time_scale=TIME_SCALE, latency=LatencyModel(), calls=_calls, faults=FaultBook(seed=SEED))


def _dump() -> None:
    folder = os.environ.get("ROOM_CALLS_DIR")
    if not folder:
        return
    records = [
        {"status": r.status, "error": r.error, "done": r.done, "schedule_ms": r.schedule_ms, "sent_ms": r.sent_ms}
        for r in _calls.snapshot()
    ]
    # Written whole, then renamed: the benchmark never reads half a file.
    final = Path(folder, f"{os.getpid()}.json")
    partial = final.with_suffix(".partial")
    cpu = os.times()
    partial.write_text(json.dumps({"cpu_s": cpu.user + cpu.system, "records": records}))
    os.replace(partial, final)


async def app(scope: dict, receive: Any, send: Any) -> None:
    if scope["type"] != "lifespan":
        await _inner(scope, receive, send)
        return

    async def receive_and_dump() -> dict:
        message = await receive()
        if message["type"] == "lifespan.shutdown":
            _dump()
        return message

    await _inner(scope, receive_and_dump, send)


# hypercorn's master sends SIGTERM to every worker as soon as the first one exits, which would kill a
# worker before (or while) it writes its log. The master has already asked every worker to shut down
# gracefully by then, so the worker ignores SIGTERM and ends by itself once its log is written.
signal.signal(signal.SIGTERM, signal.SIG_IGN)

# A serving process: keep the start-up heap out of full collections (as python -m helpers.local_bedrock does).
gc.collect()
gc.freeze()
