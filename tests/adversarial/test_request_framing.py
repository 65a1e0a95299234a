"""Issue 23, weak points: request smuggling's shape is refused and the connection closed; a refused request's
body is not read when it is huge or arrives too slowly (its refusal comes at once, then the connection closes)."""

from __future__ import annotations

import socket
import time

from adversarial_support import HAIKU, READ_TIMEOUT, Child, still_serves

PATH = f"/model/{HAIKU}/invoke"


def _response_then_eof(sock: socket.socket, wait: float = READ_TIMEOUT * 6) -> tuple[bytes, bool]:
    """Everything the server sends, and whether it then closed the connection (within ``wait`` seconds)."""
    sock.settimeout(wait)
    data = b""
    try:
        while chunk := sock.recv(65536):
            data += chunk
        return data, True
    except ConnectionResetError:
        return data, True
    except TimeoutError:
        return data, False


def test_content_length_with_transfer_encoding_is_refused_and_closed(child: Child) -> None:
    smuggled = b"GET /_local/health HTTP/1.1\r\nHost: x\r\n\r\n"
    with socket.create_connection(("127.0.0.1", child.port)) as sock:
        sock.sendall(f"POST {PATH} HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\n"
                     f"Content-Length: {5 + len(smuggled)}\r\nTransfer-Encoding: chunked\r\n\r\n".encode()
                     + b"0\r\n\r\n" + smuggled)
        data, closed = _response_then_eof(sock)
    assert data.startswith(b"HTTP/1.1 400"), data[:200]
    assert data.count(b"HTTP/1.1 ") == 1  # the smuggled request was never answered
    assert closed
    still_serves(child)


def test_a_huge_unsigned_body_is_refused_unread(child: Child) -> None:
    with socket.create_connection(("127.0.0.1", child.port)) as sock:
        sock.sendall(f"POST {PATH} HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\n"
                     f"Content-Length: {256 * 1024 * 1024}\r\n\r\n".encode() + b"{" * 65536)
        data, closed = _response_then_eof(sock)
    assert data.startswith(b"HTTP/1.1 403"), data[:200]
    assert b"MissingAuthenticationTokenException" in data
    assert closed
    still_serves(child)


def test_a_slow_unsigned_body_is_cut_after_the_read_timeout_in_all(child: Child) -> None:
    with socket.create_connection(("127.0.0.1", child.port)) as sock:
        sock.sendall(f"POST {PATH} HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\n"
                     f"Content-Length: 1000\r\n\r\n".encode())
        sock.settimeout(READ_TIMEOUT / 2)
        data = b""
        for _ in range(20):  # a byte every half read timeout: no single read ever times out
            try:
                sock.sendall(b" ")
            except (BrokenPipeError, ConnectionResetError):
                break
            time.sleep(READ_TIMEOUT / 2)
            try:
                data += sock.recv(65536)
            except TimeoutError:
                continue
            if data:
                break
        rest, closed = _response_then_eof(sock)
    data += rest
    assert data.startswith(b"HTTP/1.1 403"), data[:200]
    assert closed
    still_serves(child)
