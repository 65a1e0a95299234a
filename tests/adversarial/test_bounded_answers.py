"""Issue 23, bug 1: answers in flight are bounded. Clients that ask for long answers and never read them are
cut after the read timeout (the call log says why), the server's memory stays bounded while they hold on,
and everyone else is answered meanwhile."""

from __future__ import annotations

import json
import os
import re
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import h2.config
import h2.connection
import h2.settings
import pytest
from adversarial_support import HAIKU, Child, messages_body, still_serves

ROOT = Path(__file__).resolve().parents[2]
READ_TIMEOUT = 1.0
LONG = json.dumps(messages_body("[[length=60000]] [[chunk=1]] Tell me about rivers.", max_tokens=60000)).encode()
STREAM_PATH = f"/model/{HAIKU}/invoke-with-response-stream"


@pytest.fixture(scope="module")
def open_child() -> Iterator[Child]:
    """An unlocked endpoint in its own process (its memory read from /proc), at time scale 0."""
    if not Path("/proc/self/status").exists():
        pytest.skip("reads the server's memory from /proc (Linux)")
    process = subprocess.Popen(
        [sys.executable, "-m", "helpers.local_bedrock", "--port", "0", "--time-scale", "0",
         "--read-timeout", str(READ_TIMEOUT)],
        cwd=ROOT, env={**os.environ, "PYTHONUNBUFFERED": "1"}, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL,
        text=True)
    assert process.stdout is not None
    port = 0
    for line in process.stdout:
        if found := re.search(r"AWS_ENDPOINT_URL_BEDROCK_RUNTIME=http://127\.0\.0\.1:(\d+)", line):
            port = int(found.group(1))
            break
    try:
        yield Child(process, port)
    finally:
        process.terminate()
        process.wait(10)


def _calls(child: Child) -> list[dict]:
    import httpx

    return httpx.get(f"{child.url}/_local/calls", timeout=30).json()


def _cut_for_not_reading(child: Child, count: int) -> list[dict]:
    """The newest ``count`` calls once each has ended (polled for a bounded while)."""
    for _ in range(200):
        calls = _calls(child)[:count]
        if len(calls) == count and all(c["done"] for c in calls):
            return calls
        time.sleep(0.1)
    return _calls(child)[:count]


def test_100_h2_streams_behind_a_shut_window_are_bounded_and_cut(open_child: Child) -> None:
    still_serves(open_child)
    baseline = open_child.usage()
    sock = socket.create_connection(("127.0.0.1", open_child.port), timeout=10)
    connection = h2.connection.H2Connection(h2.config.H2Configuration(client_side=True, header_encoding="utf-8"))
    connection.local_settings = h2.settings.Settings(client=True, initial_values={
        h2.settings.SettingCodes.INITIAL_WINDOW_SIZE: 0})  # the server may send no DATA at all
    connection.initiate_connection()
    try:
        for i in range(100):
            stream_id = 1 + 2 * i
            connection.send_headers(stream_id, [(":method", "POST"), (":scheme", "http"),
                                                (":authority", f"127.0.0.1:{open_child.port}"),
                                                (":path", STREAM_PATH), ("content-type", "application/json")])
            connection.send_data(stream_id, LONG, end_stream=True)
            sock.sendall(connection.data_to_send())
        peak = baseline["rss_kib"]
        # Meanwhile another client is answered, and the server's memory stays bounded.
        for _ in range(3):
            still_serves(open_child)
            peak = max(peak, open_child.usage()["rss_kib"])
        calls = _cut_for_not_reading(open_child, 103)
        peak = max(peak, open_child.usage()["rss_kib"])
    finally:
        sock.close()
    streams = [c for c in calls if c["operation"] == "InvokeModelWithResponseStream"]
    assert len(streams) == 100 and all(c["done"] for c in streams)
    # Those the budget let in were cut for not reading (the rest were refused with a 503 boto3 retries, or
    # had been handed over whole when the cut closed their connection).
    assert any("stopped reading" in (c["error"] or "") for c in streams), {c["error"] for c in streams}
    assert {c["error"] for c in streams} - {None, "ServiceUnavailableException"} == {
        "client stopped reading: nothing could be sent for 1 s (the read timeout), so it was cut"}
    assert peak - baseline["rss_kib"] < 600 * 1024, (baseline, peak)  # was 2.2 GB before the bound


def test_200_http11_clients_that_never_read_are_cut(open_child: Child) -> None:
    still_serves(open_child)
    baseline = open_child.usage()
    head = (f"POST {STREAM_PATH} HTTP/1.1\r\nHost: 127.0.0.1:{open_child.port}\r\n"
            f"Content-Type: application/json\r\nContent-Length: {len(LONG)}\r\n\r\n").encode()
    small = json.dumps(messages_body("[[length=3000]] Tell me about rivers.", max_tokens=3000)).encode()
    head_small = (f"POST {STREAM_PATH} HTTP/1.1\r\nHost: 127.0.0.1:{open_child.port}\r\n"
                  f"Content-Type: application/json\r\nContent-Length: {len(small)}\r\n\r\n").encode()
    sockets = []
    try:
        for i in range(200):
            sock = socket.create_connection(("127.0.0.1", open_child.port))
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)  # a reader that does not read
            sock.sendall(head + LONG if i % 20 == 0 else head_small + small)
            sockets.append(sock)
        still_serves(open_child)  # another client is answered meanwhile
        peak = open_child.usage()["rss_kib"]
        calls = _cut_for_not_reading(open_child, 201)
        peak = max(peak, open_child.usage()["rss_kib"])
    finally:
        for sock in sockets:
            sock.close()
    streams = [c for c in calls if c["operation"] == "InvokeModelWithResponseStream"]
    assert len(streams) == 200 and all(c["done"] for c in streams)
    assert any("stopped reading" in (c["error"] or "") for c in streams), {c["error"] for c in streams}
    assert peak - baseline["rss_kib"] < 600 * 1024, (baseline, peak)
    assert open_child.settled_usage(baseline, 600 * 1024)["fds"] <= baseline["fds"]  # every socket let go
