"""Endpoint figures for a room: many streams at once.

``endpoint.frames_per_s_64``: 64 concurrent streams at time_scale 0; frames the server sent, divided by
the time from the first request to the last byte read. ``endpoint.send_error_ms_p99_100``: 100 concurrent
paced streams at time_scale 1; the 99th percentile over every frame of (actual - scheduled) send offset,
as the server recorded them; ``endpoint.send_error_ms_p50_100`` the median of the same (both were bounds in
tests/endpoint/test_room.py).

The clients run in a separate process (raw asyncio sockets, reading bytes without decoding) so that the
figures are the server's and not the GIL shared with a client. The serving process freezes its start-up
heap out of full garbage collections, as ``python -m helpers.local_bedrock`` does.
"""

from __future__ import annotations

import asyncio
import gc
import json
import multiprocessing
import time

from benchmarks.endpoint import LONG_MODEL, _body
from helpers.local_bedrock import LocalBedrock

STREAMS_FAST = 64
TOKENS_FAST = 2_000  # one token per frame: ~2,000 frames per stream
STREAMS_PACED = 100
TOKENS_PACED = 150


def _request(port: int, body: bytes) -> bytes:
    return (
        f"POST /model/{LONG_MODEL}/invoke-with-response-stream HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\n"
        f"Content-Type: application/json\r\nContent-Length: {len(body)}\r\nConnection: close\r\n\r\n"
    ).encode() + body


def _clients(port: int, bodies: list[bytes]) -> float:
    """Run in a child process: open every stream at once, read each to EOF; returns seconds taken."""

    async def one(body: bytes) -> int:
        reader, writer = await asyncio.open_connection("127.0.0.1", port)
        writer.write(_request(port, body))
        total = 0
        while chunk := await reader.read(1 << 20):
            total += len(chunk)
        writer.close()
        return total

    async def everyone() -> float:
        start = time.perf_counter()
        await asyncio.gather(*(one(b) for b in bodies))
        return time.perf_counter() - start

    return asyncio.run(everyone())


def _run_clients(port: int, bodies: list[bytes]) -> float:
    with multiprocessing.get_context("spawn").Pool(1) as pool:
        return pool.apply(_clients, (port, bodies))


def frames_per_second_64(runs: int = 3) -> float:
    bodies = [_body(TOKENS_FAST).replace(b"rivers", f"rivers {i}".encode()) for i in range(STREAMS_FAST)]
    with LocalBedrock(seed=0, time_scale=0) as server:
        _run_clients(server.port, bodies[:4])  # warm-up
        best = 0.0
        for _ in range(runs):
            seconds = _run_clients(server.port, bodies)
            frames = sum(len(c.sent_ms) for c in server.calls[:STREAMS_FAST])
            best = max(best, frames / seconds)
        return best


def send_errors_ms_100() -> list[float]:
    """Every frame's (actual - scheduled) send offset over 100 concurrent paced streams, sorted."""
    bodies = [_body(TOKENS_PACED).replace(b"rivers", f"rivers {i}".encode()) for i in range(STREAMS_PACED)]
    with LocalBedrock(seed=0, time_scale=1.0) as server:
        _run_clients(server.port, bodies)
        records = server.calls[:STREAMS_PACED]
    return sorted(sent - planned for r in records for sent, planned in zip(r.sent_ms, r.schedule_ms, strict=True))


def _percentile(ordered: list[float], q: float) -> float:
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


def run() -> dict[str, float]:
    gc.collect()
    gc.freeze()
    try:
        errors = send_errors_ms_100()
        return {
            "endpoint.frames_per_s_64": round(frames_per_second_64(), 1),
            "endpoint.send_error_ms_p50_100": round(_percentile(errors, 0.5), 3),
            "endpoint.send_error_ms_p99_100": round(_percentile(errors, 0.99), 3),
        }
    finally:
        gc.unfreeze()


if __name__ == "__main__":
    print(json.dumps(run(), indent=1))
