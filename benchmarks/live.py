"""Live view benchmarks: what the widget costs the reader, and how true the timestamps are.

* ``live.overhead_ratio`` - wall time to read a 20,000-delta stream (local endpoint,
  time_scale 0, real boto3 over loopback) with a ``LiveView`` attached to comms that
  JSON-serialize every message they send, divided by the time to read the same stream
  with nothing attached. Runs alternate and the medians are compared. Target <= 1.05.
* ``timing.error_ms_median`` / ``timing.error_ms_p99`` - a paced stream (time_scale 1,
  a few hundred chunks) read with the live view attached: each event's client receipt
  offset against the endpoint's recorded send offset for the same frame, both taken
  relative to the first frame. Targets <= 1 ms and <= 5 ms.
"""

from __future__ import annotations

import json
import statistics
import time
from typing import Any

import comm

from helpers.live import LiveView, render_stream
from helpers.local_bedrock import LocalBedrock
from helpers.stream import invoke_stream
from helpers.timing import percentile

MODEL = "global.anthropic.claude-haiku-4-5-20251001-v1:0"  # its base id is not on-demand


def _body(prompt: str, max_tokens: int) -> dict[str, Any]:
    return {
        "anthropic_version": "bedrock-2023-05-31",
        "max_tokens": max_tokens,
        "messages": [{"role": "user", "content": prompt}],
    }


class _SerializingComm(comm.base_comm.BaseComm):
    """Stands in for a kernel's comm: every message is serialized to JSON as ipykernel would."""

    sent_bytes = 0

    def publish_msg(self, msg_type: str, data: Any = None, metadata: Any = None, buffers: Any = None,
                    **keys: Any) -> None:
        _SerializingComm.sent_bytes += len(json.dumps({"data": data, "metadata": metadata, **keys}, default=str))


def _timed(client: Any, body: dict[str, Any], with_view: bool) -> float:
    started = time.perf_counter()
    result = invoke_stream(client, MODEL, body)
    if with_view:
        view = LiveView()
        render_stream(result, view=view, display=False)
        view.release()  # as render_stream does with a view it made itself
    else:
        result.consume()
    elapsed = time.perf_counter() - started
    if result.error is not None or result.snapshot.output_event_count < 20_000:
        raise RuntimeError(f"benchmark stream did not complete: {result.error!r}")
    return elapsed


def overhead_ratio(rounds: int = 21) -> float:
    # 21 alternating rounds: single runs vary by about 10 % on a shared 2-core machine, the figure is a few %.
    body = _body("[[length=20000]] [[chunk=1]] benchmark", 20_000)
    original = comm.create_comm
    comm.create_comm = lambda *a, **k: _SerializingComm(*a, **k)
    try:
        with LocalBedrock(seed=0, time_scale=0.0) as server:
            client = server.client()
            _timed(client, body, False)  # warm up connections and caches
            plain, viewed = [], []
            for _ in range(rounds):
                plain.append(_timed(client, body, False))
                viewed.append(_timed(client, body, True))
    finally:
        comm.create_comm = original
    return statistics.median(viewed) / statistics.median(plain)


def timing_error(chunks: int = 300) -> tuple[float, float]:
    body = _body(f"[[length={chunks}]] [[chunk=1]] timing", chunks + 100)
    original = comm.create_comm
    comm.create_comm = lambda *a, **k: _SerializingComm(*a, **k)
    try:
        with LocalBedrock(seed=0, time_scale=1.0) as server:
            result = invoke_stream(server.client(), MODEL, body)
            render_stream(result, view=LiveView(), display=False)
            record = server.calls[0]
    finally:
        comm.create_comm = original
    sent = record.sent_ms
    received = [e.received_ns for e in result.events]
    if len(sent) != len(received):
        raise RuntimeError(f"frames sent ({len(sent)}) and events received ({len(received)}) differ")
    errors = [
        abs((r - received[0]) / 1e6 - (s - sent[0]))
        for r, s in zip(received, sent, strict=True)
    ]
    return float(percentile(errors, 50) or 0.0), float(percentile(errors, 99) or 0.0)


def run() -> dict[str, float]:
    # The ratio first, on a fresh interpreter: it is the figure most sensitive to leftovers.
    ratio = overhead_ratio()
    median, p99 = timing_error()
    return {"live.overhead_ratio": ratio, "timing.error_ms_median": median, "timing.error_ms_p99": p99}


if __name__ == "__main__":
    print(json.dumps(run(), indent=2))
