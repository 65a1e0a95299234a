"""A room of learners: 100 paced streams at once keep their schedules, and 200 connections that drop out
at random leave no task, thread or socket behind.

Clients are raw asyncio HTTP/1.1 connections (one thread can hold hundreds); the schedules are judged from
the server's own record of when it meant to send each frame and when it did, never from the run's length.
"""

from __future__ import annotations

import asyncio
import gc
import json
import os
import random
import socket
import struct
import threading
import time
from collections.abc import Iterator

import httpx
import pytest
from botocore.eventstream import EventStreamBuffer
from endpoint_support import HAIKU, messages_body

from helpers.local_bedrock import LocalBedrock

STREAM = f"/model/{HAIKU}/invoke-with-response-stream"
INVOKE = f"/model/{HAIKU}/invoke"


def _request(port: int, path: str, body: bytes, close: bool = True) -> bytes:
    head = (f"POST {path} HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nContent-Type: application/json\r\n"
            f"Content-Length: {len(body)}\r\n{'Connection: close' + chr(13) + chr(10) if close else ''}\r\n")
    return head.encode() + body


def _dechunk(raw: bytes) -> tuple[int, bytes]:
    """(status, body) of a whole HTTP/1.1 response read to EOF, chunked or not."""
    head, _, rest = raw.partition(b"\r\n\r\n")
    status = int(head.split(b" ", 2)[1])
    if b"transfer-encoding: chunked" not in head.lower():
        return status, rest
    body = bytearray()
    while True:
        size_line, _, rest = rest.partition(b"\r\n")
        size = int(size_line.split(b";")[0], 16)
        if size == 0:
            return status, bytes(body)
        body += rest[:size]
        rest = rest[size + 2:]


def _socket_count() -> int:
    count = 0
    for name in os.listdir("/proc/self/fd"):
        try:
            count += os.readlink(f"/proc/self/fd/{name}").startswith("socket:")
        except OSError:
            pass  # closed between listing and reading
    return count


@pytest.fixture(scope="module")
def room() -> Iterator[LocalBedrock]:
    with LocalBedrock(seed=11, time_scale=0.5) as running:
        yield running


def test_100_paced_streams_keep_their_schedules(room: LocalBedrock) -> None:
    httpx.delete(f"{room.endpoint_url}/_local/calls").raise_for_status()
    bodies = [json.dumps(messages_body(f"Learner {i}: what is a stream?", max_tokens=40)).encode()
              for i in range(100)]

    async def one(body: bytes) -> bytes:
        reader, writer = await asyncio.open_connection("127.0.0.1", room.port)
        writer.write(_request(room.port, STREAM, body))
        raw = await reader.read(-1)
        writer.close()
        await writer.wait_closed()
        return raw

    async def everyone() -> list[bytes]:
        return await asyncio.gather(*(one(b) for b in bodies))

    # A full collection walks the whole heap of this test process (pytest, boto3's models, every earlier
    # test): ~100 ms here, stalling every thread at once. That measures the process, not the endpoint, so
    # the objects alive before the room starts are left out of collections while it runs.
    gc.collect()
    gc.freeze()
    try:
        raws = asyncio.run(everyone())
    finally:
        gc.unfreeze()
    results = []
    for raw in raws:  # decoded afterwards: the clients share this process's CPU
        status, payload = _dechunk(raw)
        buffer = EventStreamBuffer()
        buffer.add_data(payload)
        results.append((status, sum(1 for _ in buffer)))
    calls = room.calls
    assert len(calls) == 100
    assert all(status == 200 for status, _ in results)
    assert sorted(n for _, n in results) == sorted(len(c.schedule_ms) for c in calls)
    for call in calls:
        assert call.done and call.error is None
        assert len(call.sent_ms) == len(call.schedule_ms) > 10
        for sent, planned in zip(call.sent_ms, call.schedule_ms, strict=True):
            assert sent >= planned  # never early
    # How late the frames of a room are is a timing: benchmarks/endpoint_room.py measures it
    # (endpoint.send_error_ms_p50_100 and endpoint.send_error_ms_p99_100), this test does not bound it.


def _abort(sock: socket.socket) -> None:
    # SO_LINGER 0: close with a reset, like a laptop lid shutting, not a polite FIN.
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))


def test_200_connections_dropping_out_leave_nothing_behind(room: LocalBedrock) -> None:
    time.sleep(0.2)  # let connections from the previous test finish closing
    baseline = (room.stats()["tasks"], threading.active_count(), _socket_count())
    rng = random.Random(5)
    peak = {"requests": 0}

    async def one(i: int) -> str:
        how = rng.choice(["nothing", "half-headers", "half-body", "mid-stream", "mid-stream-reset",
                          "invoke-then-leave", "whole", "keep-alive-idle"])
        body = json.dumps(messages_body(f"Room member {i}", max_tokens=60)).encode()
        reader, writer = await asyncio.open_connection("127.0.0.1", room.port)
        sock = writer.get_extra_info("socket")
        try:
            if how == "half-headers":
                writer.write(_request(room.port, STREAM, body)[:25])
            elif how == "half-body":
                writer.write(_request(room.port, STREAM, body)[:-10])
            elif how in ("mid-stream", "mid-stream-reset"):
                writer.write(_request(room.port, STREAM, body))
                await reader.read(rng.randrange(1, 600))
                if how == "mid-stream-reset":
                    _abort(sock)
            elif how == "invoke-then-leave":
                writer.write(_request(room.port, INVOKE, body))
                _abort(sock)
            elif how == "whole":
                writer.write(_request(room.port, STREAM, body))
                await reader.read(-1)
            elif how == "keep-alive-idle":
                writer.write(_request(room.port, INVOKE, body, close=False))
                await reader.readuntil(b"\r\n\r\n")
            await writer.drain()
            await asyncio.sleep(rng.uniform(0, 0.2))
            peak["requests"] = max(peak["requests"], room.stats()["requests"]) if i % 20 == 0 else peak["requests"]
        finally:
            writer.close()
            try:
                await writer.wait_closed()
            except OSError:
                pass  # a reset connection may complain on the way out
        return how

    async def crowd() -> list[str]:
        return await asyncio.gather(*(one(i) for i in range(200)))

    kinds = asyncio.run(crowd())
    assert len(set(kinds)) == 8  # every way of leaving was exercised
    assert peak["requests"] > 0  # the crowd really was inside the server at some point

    # How long cleanup takes is not the point, that it happens is; but the wait stays below the server's
    # 30 s keep-alive timeout, so sockets that linger until that timer fires count as left behind.
    deadline = time.monotonic() + 15
    while True:
        now = (room.stats()["tasks"], threading.active_count(), _socket_count())
        if all(n <= b for n, b in zip(now, baseline, strict=True)) or time.monotonic() > deadline:
            break
        time.sleep(0.05)
    assert now[0] <= baseline[0], f"asyncio tasks left on the server: {now[0]} > {baseline[0]}"
    assert now[1] <= baseline[1], f"threads left: {now[1]} > {baseline[1]}"
    assert now[2] <= baseline[2], f"sockets left open: {now[2]} > {baseline[2]}"
    assert room.stats()["requests"] == 0
    # And the room is still served.
    with socket.create_connection(("127.0.0.1", room.port)) as sock:
        sock.sendall(_request(room.port, INVOKE, json.dumps(messages_body("Still there?")).encode()))
        raw = b""
        while chunk := sock.recv(65536):
            raw += chunk
    assert _dechunk(raw)[0] == 200
