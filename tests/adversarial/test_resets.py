"""Issue 23, bug 3: HTTP/2 rapid reset (CVE-2023-44487) and hung-up HTTP/1.1 calls.

A reset stream or a closed socket ends its call's work at once (the call log says the client left, long before
the answer's schedule would have ended); a connection that resets too many streams gets GOAWAY
ENHANCE_YOUR_CALM; a PRIORITY flood for streams that do not exist costs nothing and breaks nothing.
"""

from __future__ import annotations

import json
import socket
import time
from collections.abc import Iterator

import h2.config
import h2.connection
import h2.errors
import h2.events
import pytest
from adversarial_support import HAIKU, Child, messages_body

from helpers.local_bedrock import LocalBedrock

PATH = f"/model/{HAIKU}/invoke"
# Paced at time scale 1, this answer takes well over a minute: a call still running after a few seconds is
# one nobody stopped.
LONG = json.dumps(messages_body("[[length=6000]] Tell me about rivers.", max_tokens=6000)).encode()


@pytest.fixture(scope="module")
def paced() -> Iterator[LocalBedrock]:
    with LocalBedrock(seed=0, time_scale=1.0) as running:
        yield running


def _h2(port: int) -> tuple[socket.socket, h2.connection.H2Connection]:
    sock = socket.create_connection(("127.0.0.1", port), timeout=10)
    connection = h2.connection.H2Connection(h2.config.H2Configuration(client_side=True, header_encoding="utf-8"))
    connection.initiate_connection()
    sock.sendall(connection.data_to_send())
    return sock, connection


def _headers(port: int, path: str = PATH) -> list[tuple[str, str]]:
    return [(":method", "POST"), (":scheme", "http"), (":authority", f"127.0.0.1:{port}"), (":path", path),
            ("content-type", "application/json")]


def _until_all_done(server: LocalBedrock, count: int, polls: int = 150) -> list:
    """The newest ``count`` records, once all are done (or after the polls)."""
    for _ in range(polls):
        records = server.calls[:count]
        if len(records) == count and all(r.done for r in records):
            break
        time.sleep(0.1)
    return server.calls[:count]


def _read(sock: socket.socket, connection: h2.connection.H2Connection, wait: float) -> list[h2.events.Event]:
    """What the server sent within ``wait`` seconds (its window updates keep our sending going)."""
    sock.settimeout(wait)
    try:
        data = sock.recv(65536)
    except (TimeoutError, BlockingIOError):
        return []
    except ConnectionResetError:
        data = b""
    if not data:
        return [h2.events.ConnectionTerminated()]
    return connection.receive_data(data)


def test_rapid_reset_gets_goaway_enhance_your_calm_and_ends_the_calls(paced: LocalBedrock) -> None:
    before = len(paced.calls)
    sock, connection = _h2(paced.port)
    events: list[h2.events.Event] = []
    sent = 0
    try:
        stream_id = 1
        for _ in range(2000):  # bounded: 600 pairs, and waits for the server's window updates
            if sent == 600 or any(isinstance(e, h2.events.ConnectionTerminated) for e in events):
                break
            if connection.outbound_flow_control_window < len(LONG):
                events += _read(sock, connection, 1.0)  # the server's WINDOW_UPDATE
                continue
            connection.send_headers(stream_id, _headers(paced.port))
            connection.send_data(stream_id, LONG, end_stream=True)
            connection.reset_stream(stream_id, h2.errors.ErrorCodes.CANCEL)
            stream_id += 2
            try:
                sock.sendall(connection.data_to_send())
            except (BrokenPipeError, ConnectionResetError):
                break
            sent += 1
            events += _read(sock, connection, 0.001)
        for _ in range(50):
            if any(isinstance(e, h2.events.ConnectionTerminated) for e in events):
                break
            events += _read(sock, connection, 0.1)
    finally:
        sock.close()
    goaway = next((e for e in events if isinstance(e, h2.events.ConnectionTerminated)), None)
    assert goaway is not None and goaway.error_code == h2.errors.ErrorCodes.ENHANCE_YOUR_CALM, (sent, goaway)
    started = len(paced.calls) - before
    assert 0 < started <= sent
    records = _until_all_done(paced, started)
    # Each call ended with its stream, or was refused while the endpoint's answer budget was spent: none ran on.
    ended = ("client disconnected", "ServiceUnavailableException")
    assert all(r.done and r.error in ended for r in records), [(r.done, r.error) for r in records]


def test_hung_up_http11_invoke_model_calls_stop_at_once(paced: LocalBedrock) -> None:
    before = len(paced.calls)
    head = (f"POST {PATH} HTTP/1.1\r\nHost: 127.0.0.1:{paced.port}\r\nContent-Type: application/json\r\n"
            f"Content-Length: {len(LONG)}\r\n\r\n").encode()
    for i in range(20):
        with socket.create_connection(("127.0.0.1", paced.port)) as sock:
            sock.sendall(head + LONG)
            for _ in range(100):  # until the server has the call planned, then hang up
                if len(paced.calls) > before + i and paced.calls[0].schedule_ms:
                    break
                time.sleep(0.02)
    records = _until_all_done(paced, 20)
    assert len(records) == 20
    assert all(r.done and r.error == "client disconnected" for r in records), [(r.done, r.error) for r in records]


def test_a_priority_flood_before_credentials_changes_nothing(child: Child) -> None:
    sock, connection = _h2(child.port)
    try:
        for stream_id in range(1, 6001, 2):  # PRIORITY frames for streams never opened
            connection.prioritize(stream_id, weight=16)
        sock.sendall(connection.data_to_send())
        # The same connection still answers a request: unsigned here, so the locked endpoint's 403.
        connection.send_headers(6001, [(":method", "GET"), (":scheme", "http"),
                                       (":authority", f"127.0.0.1:{child.port}"), (":path", "/_local/health")],
                                end_stream=True)
        sock.sendall(connection.data_to_send())
        status = None
        while status is None:
            data = sock.recv(65536)
            assert data, "the server closed the connection"
            for event in connection.receive_data(data):
                if isinstance(event, h2.events.ResponseReceived):
                    status = dict(event.headers)[":status"]
            sock.sendall(connection.data_to_send())
        assert status == "200"
    finally:
        sock.close()
