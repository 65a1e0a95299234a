"""Every probe from issue 15 against a locked endpoint: it refuses or cuts the client, answers the next
normal call, and returns to its baseline memory, threads and file descriptors."""

from __future__ import annotations

import http.client
import json
import socket
import time
from typing import Any

import pytest
from adversarial_support import HAIKU, KEY, READ_TIMEOUT, SECRET, Child, messages_body, still_serves
from botocore.auth import SigV4Auth
from botocore.awsrequest import AWSRequest
from botocore.credentials import Credentials

MODEL_PATH = f"/model/{HAIKU}/invoke"
# A 1M-token context window (Claude Sonnet 4.6), for a body of a few MiB that must still be answered:
# Haiku 4.5's 200,000 tokens refuse it as too long.
LONG_CONTEXT_PATH = "/model/global.anthropic.claude-sonnet-4-6/invoke"
MIB = 1024 * 1024


def _signed_headers(child: Child, method: str, path: str, body: bytes, secret: str = SECRET) -> dict[str, str]:
    request = AWSRequest(method=method, url=child.url + path, data=body,
                         headers={"content-type": "application/json"})
    SigV4Auth(Credentials(KEY, secret), "bedrock", "us-east-1").add_auth(request)
    return dict(request.headers.items())


def _send(child: Child, method: str, path: str, body: bytes = b"", headers: dict[str, str] | None = None,
          ) -> tuple[int, dict[str, str], bytes]:
    connection = http.client.HTTPConnection("127.0.0.1", child.port, timeout=30)
    try:
        connection.request(method, path, body=body, headers=headers or {"content-type": "application/json"})
        response = connection.getresponse()
        return response.status, {k.lower(): v for k, v in response.getheaders()}, response.read()
    finally:
        connection.close()


def _signed(child: Child, method: str, path: str, body: bytes = b"") -> tuple[int, dict[str, str], bytes]:
    return _send(child, method, path, body, _signed_headers(child, method, path, body))


def _calls(child: Child) -> list[dict[str, Any]]:
    status, _, data = _signed(child, "GET", "/_local/calls")
    assert status == 200
    return json.loads(data)


def _bedrock_error(headers: dict[str, str], data: bytes) -> tuple[str, str]:
    # The error type may carry Bedrock's ":http://internal.amazon.com/coral/..." suffix.
    return headers["x-amzn-errortype"].split(":", 1)[0], json.loads(data)["message"]


def _back_to_baseline(child: Child, baseline: dict[str, int], rss_slack_mib: int = 40) -> None:
    still_serves(child)
    now = child.settled_usage(baseline, rss_slack_mib * 1024)
    assert now["fds"] <= baseline["fds"], (baseline, now)
    assert now["threads"] <= baseline["threads"], (baseline, now)
    assert now["rss_kib"] <= baseline["rss_kib"] + rss_slack_mib * 1024, (baseline, now)


def test_unsigned_8mb_bodies_are_refused_without_being_kept(child: Child, baseline: dict[str, int]) -> None:
    prompt = "x" * (8 * MIB)
    body = json.dumps(messages_body(prompt)).encode()
    for _ in range(4):
        status, headers, data = _send(child, "POST", MODEL_PATH, body)
        assert status == 403
        assert _bedrock_error(headers, data)[0] == "MissingAuthenticationTokenException"
    # A made-up signature from the known key is refused too, once the body's hash is compared.
    forged = _signed_headers(child, "POST", MODEL_PATH, body, secret="not-the-secret")
    status, headers, data = _send(child, "POST", MODEL_PATH, body, forged)
    assert status == 403 and _bedrock_error(headers, data)[0] == "InvalidSignatureException"
    refused = _calls(child)[:5]
    assert [c["status"] for c in refused] == [403] * 5
    assert all(c["request_body"] is None and c["done"] for c in refused)
    _back_to_baseline(child, baseline)


def test_a_large_signed_body_is_logged_as_a_summary(child: Child, baseline: dict[str, int]) -> None:
    body = json.dumps(messages_body("y" * (2 * MIB))).encode()
    status, _, _ = _signed(child, "POST", LONG_CONTEXT_PATH, body)
    assert status == 200
    logged = _calls(child)[0]["request_body"]
    assert logged["size"] == len(body) and len(logged["sha256"]) == 64
    assert logged["head"].startswith('{"anthropic_version"') and len(logged["head"]) < 4096
    _back_to_baseline(child, baseline)


def test_oversize_body_message_states_its_real_size(child: Child) -> None:
    body = b'{"pad": "' + b"z" * (34 * MIB) + b'"}'  # beyond the old 32 MiB read cap, which it misreported
    status, headers, data = _signed(child, "POST", MODEL_PATH, body)
    assert status == 400
    error_type, message = _bedrock_error(headers, data)
    assert error_type == "ValidationException"
    assert f"{len(body):,} bytes" in message
    still_serves(child)


def _raw_request(child: Child, body: bytes, content_length: int) -> bytes:
    """A signed HTTP/1.1 request head (for ``body``) announcing ``content_length`` bytes of body."""
    head = _signed_headers(child, "POST", MODEL_PATH, body)
    lines = "".join(f"{k}: {v}\r\n" for k, v in head.items() if k.lower() != "content-length")
    host = f"Host: 127.0.0.1:{child.port}\r\n"
    return f"POST {MODEL_PATH} HTTP/1.1\r\n{host}{lines}Content-Length: {content_length}\r\n\r\n".encode()


def _wait_closed(sock: socket.socket) -> bool:
    """True when the server closed the connection (EOF or reset) within a few read timeouts."""
    sock.settimeout(READ_TIMEOUT * 6)
    try:
        while sock.recv(65536):
            pass
        return True
    except ConnectionResetError:
        return True
    except TimeoutError:
        return False


def test_unfinished_http11_bodies_are_cut_after_the_read_timeout(child: Child, baseline: dict[str, int]) -> None:
    request = _raw_request(child, b"{}", 1000)
    sockets = [socket.create_connection(("127.0.0.1", child.port)) for _ in range(50)]
    try:
        for sock in sockets:
            sock.sendall(request + b'{"anthropic')
        assert all(_wait_closed(sock) for sock in sockets)
    finally:
        for sock in sockets:
            sock.close()
    _back_to_baseline(child, baseline)


def test_h2c_preface_then_silence_is_cut(child: Child, baseline: dict[str, int]) -> None:
    sockets = [socket.create_connection(("127.0.0.1", child.port)) for _ in range(50)]
    try:
        for sock in sockets:
            sock.sendall(b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n" + b"\x00\x00\x00\x04\x00\x00\x00\x00\x00")
        assert all(_wait_closed(sock) for sock in sockets)
    finally:
        for sock in sockets:
            sock.close()
    _back_to_baseline(child, baseline)


def test_http2_frames_above_the_advertised_size_close_the_connection(child: Child, baseline: dict[str, int]) -> None:
    preface = b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n" + b"\x00\x00\x00\x04\x00\x00\x00\x00\x00"
    sixteen_mib = (16 * MIB - 1).to_bytes(3, "big")
    frame_head = sixteen_mib + b"\x00\x00" + (1).to_bytes(4, "big")  # DATA on stream 1
    sockets = [socket.create_connection(("127.0.0.1", child.port)) for _ in range(10)]
    try:
        for sock in sockets:
            sock.sendall(preface + frame_head)
            try:
                sock.sendall(b"\x00" * MIB)
            except (BrokenPipeError, ConnectionResetError):
                pass  # refused before the megabyte was through
        assert all(_wait_closed(sock) for sock in sockets)
    finally:
        for sock in sockets:
            sock.close()
    _back_to_baseline(child, baseline)


@pytest.mark.parametrize("operation", ["invoke", "invoke-with-response-stream", "converse", "converse-stream"])
def test_json_nested_100000_deep_is_a_400(child: Child, operation: str) -> None:
    path = f"/model/{HAIKU}/{operation}"
    for body in (b"[" * 100_000 + b"]" * 100_000, b'{"a":' * 100_000 + b"1" + b"}" * 100_000):
        status, headers, data = _signed(child, "POST", path, body)
        assert status == 400, data
        assert _bedrock_error(headers, data)[0] == "ValidationException"
        assert _calls(child)[0]["done"] is True
    still_serves(child)


@pytest.mark.parametrize("operation", ["invoke", "invoke-with-response-stream", "converse", "converse-stream"])
def test_a_lone_surrogate_is_a_400_and_its_record_is_done(child: Child, operation: str) -> None:
    path = f"/model/{HAIKU}/{operation}"
    if operation.startswith("converse"):
        body = '{"messages": [{"role": "user", "content": [{"text": "hi \\ud800"}]}]}'
    else:
        body = json.dumps(messages_body("PLACEHOLDER")).replace("PLACEHOLDER", "hi \\ud800")
    status, headers, data = _signed(child, "POST", path, body.encode())
    assert status == 400, data
    error_type, message = _bedrock_error(headers, data)
    assert error_type == "ValidationException" and "surrogate" in message
    record = _calls(child)[0]
    assert record["done"] is True and record["status"] == 400
    # A properly paired surrogate (an emoji written as escapes) is ordinary text.
    paired = json.dumps(messages_body("PLACEHOLDER")).replace("PLACEHOLDER", "hi \\ud83d\\ude00")
    assert _signed(child, "POST", f"/model/{HAIKU}/invoke", paired.encode())[0] == 200


@pytest.mark.parametrize("body", [b"[1]", b'"stall"', b"null", b"3", b"[" * 100_000 + b"]" * 100_000,
                                  b'{"error": "stall", "seconds": Infinity}', b'{"error": "stall", "seconds": NaN}',
                                  b'{"error": "stall", "seconds": 1e300}', b"\xff\xfe"])
def test_bad_fault_bodies_are_400s_and_the_fault_list_stays_json(child: Child, body: bytes) -> None:
    status, headers, data = _signed(child, "POST", "/_local/faults", body)
    assert status == 400, data
    error_type, message = _bedrock_error(headers, data)
    assert error_type == "ValidationException" and message.startswith("fault:")
    status, _, listed = _signed(child, "GET", "/_local/faults")
    assert status == 200 and json.loads(listed) == []


def test_fault_count_is_capped(child: Child) -> None:
    many = json.dumps([{"error": "ThrottlingException", "times": None}] * 100_000).encode()
    status, headers, data = _signed(child, "POST", "/_local/faults", many)
    assert status == 400 and "at most" in _bedrock_error(headers, data)[1]
    one = json.dumps({"error": "ThrottlingException", "times": None, "model": "nobody"}).encode()
    statuses = [_signed(child, "POST", "/_local/faults", one)[0] for _ in range(101)]
    assert statuses[:100] == [201] * 100 and statuses[100] == 400
    assert _signed(child, "DELETE", "/_local/faults")[0] == 200
    still_serves(child)


def test_the_call_log_stays_fast_to_read_after_large_bodies(child: Child) -> None:
    # Read side by side with a fresh log: the log after big bodies serializes no more than a small one.
    for _ in range(3):
        _signed(child, "POST", MODEL_PATH, json.dumps(messages_body("w" * (3 * MIB))).encode())
    _, _, data = _signed(child, "GET", "/_local/calls")
    assert len(data) < 64 * 1024 * 20


def test_a_client_leaving_a_stalled_call_frees_its_socket_at_once(child: Child, baseline: dict[str, int]) -> None:
    stall = json.dumps({"error": "stall", "seconds": 120, "times": 5}).encode()
    assert _signed(child, "POST", "/_local/faults", stall)[0] == 201
    body = json.dumps(messages_body("stall me")).encode()
    request = _raw_request(child, body, len(body))
    try:
        for _ in range(5):
            with socket.create_connection(("127.0.0.1", child.port)) as sock:
                sock.sendall(request + body)
                for _ in range(200):  # until the server has the call (it stalls after logging it)
                    if any(c.get("fault") for c in _calls(child)[:1]):
                        break
                    time.sleep(0.02)
        for _ in range(200):  # the server notices each hang-up, well before the 120 s stall ends
            stalled = [c for c in _calls(child)[:5] if c.get("fault")]
            if len(stalled) == 5 and all(c["done"] for c in stalled):
                break
            time.sleep(0.05)
        assert len(stalled) == 5, stalled  # all() over fewer would prove less than it says
        assert all(c["done"] and c["error"] == "client disconnected" for c in stalled), stalled
    finally:
        assert _signed(child, "DELETE", "/_local/faults")[0] == 200
    _back_to_baseline(child, baseline)


@pytest.mark.parametrize("operation", ["invoke", "invoke-with-response-stream", "converse", "converse-stream"])
def test_an_integer_python_will_not_convert_is_a_400(child: Child, operation: str) -> None:
    body = json.dumps(messages_body()).replace('"max_tokens": 50', '"max_tokens": ' + "9" * 5000).encode()
    status, headers, data = _signed(child, "POST", f"/model/{HAIKU}/{operation}", body)
    assert status == 400, data
    error_type, message = _bedrock_error(headers, data)
    assert error_type == "ValidationException" and "digits" in message
    assert _calls(child)[0]["done"] is True
    # 4,300 digits inside a string are just text.
    text = json.dumps(messages_body("9" * 5000)).encode()
    assert _signed(child, "POST", MODEL_PATH, text)[0] == 200


def test_refusals_before_the_body_keep_the_connection_usable(child: Child, baseline: dict[str, int]) -> None:
    big = b"x" * (3 * MIB)
    connection = http.client.HTTPConnection("127.0.0.1", child.port, timeout=30)
    try:
        answers = []
        for method, path, body in (("POST", "/nope", big), ("POST", MODEL_PATH, big), ("GET", MODEL_PATH, big),
                                   ("POST", "/_local/faults", big), ("GET", "/_local/health", b"")):
            connection.request(method, path, body=body, headers={"content-type": "application/json"})
            response = connection.getresponse()
            response.read()
            answers.append(response.status)
        assert answers == [404, 403, 404, 403, 200]  # all on one keep-alive connection
    finally:
        connection.close()
    _back_to_baseline(child, baseline)
