"""HTTP/2 cleartext with prior knowledge on the same port as HTTP/1.1 (what the AWS SDK for JavaScript v3
uses for Bedrock Runtime by default), proved with a real HTTP/2 client and botocore's own frame parser."""

from __future__ import annotations

import asyncio
import base64
import datetime
import hmac
import json
import socket
import time
from collections.abc import Iterator
from hashlib import sha256
from typing import Any
from urllib.parse import quote

import h2.config
import h2.connection
import h2.events
import httpx
import pytest
from botocore.auth import SigV4Auth
from botocore.awsrequest import AWSRequest
from botocore.credentials import Credentials
from botocore.eventstream import EventStreamBuffer
from endpoint_support import HAIKU, MESSAGE_ID, messages_body, stream_chunks
from hyperframe.frame import GoAwayFrame

from helpers.bedrock_rules import ERROR_TYPE_SUFFIX
from helpers.local_bedrock import LocalBedrock

STREAM_PATH = "/model/{}/invoke-with-response-stream"


def _decode(message: Any) -> dict:
    assert message.headers[":message-type"] == "event"
    assert message.headers[":event-type"] == "chunk"
    return json.loads(base64.b64decode(json.loads(message.payload)["bytes"]))


def _h2_stream(url: str, body: dict, headers: dict | None = None) -> tuple[str, list[dict], list[float], float]:
    """Stream over HTTP/2 only; returns (http version, chunks, per-chunk receive ms, start perf_counter)."""
    chunks: list[dict] = []
    received: list[float] = []
    with httpx.Client(http1=False, http2=True, timeout=30) as client:
        start = time.perf_counter()
        with client.stream("POST", url, content=json.dumps(body).encode(),
                           headers={"content-type": "application/json", **(headers or {})}) as response:
            assert response.status_code == 200, response.read()
            assert response.headers["content-type"] == "application/vnd.amazon.eventstream"
            buffer = EventStreamBuffer()
            for part in response.iter_raw():
                now = (time.perf_counter() - start) * 1000
                buffer.add_data(part)
                for message in buffer:
                    chunks.append(_decode(message))
                    received.append(now)
            version = response.http_version
    return version, chunks, received, start


def _without_metrics(chunks: list[dict]) -> list[dict]:
    # The last chunk carries measured latencies, which differ from run to run, and message_start a message id,
    # new on every call: compared by its form here, by value nowhere.
    out = [{k: v for k, v in c.items() if k != "amazon-bedrock-invocationMetrics"} for c in chunks]
    for chunk in out:
        if chunk.get("type") == "message_start":
            message = dict(chunk["message"])
            assert MESSAGE_ID.fullmatch(message["id"]), message["id"]
            message["id"] = "msg_bdrk_01<22 characters>"
            chunk["message"] = message
    return out


def test_h2_prior_knowledge_streams_the_same_chunks_as_http11(server: LocalBedrock, client: Any) -> None:
    body = messages_body("What is streaming?")
    version, chunks, _, _ = _h2_stream(server.endpoint_url + STREAM_PATH.format(HAIKU), body)
    assert version == "HTTP/2"
    over_h1 = stream_chunks(client, body)  # boto3, HTTP/1.1, same port
    assert _without_metrics(chunks) == _without_metrics(over_h1)
    assert chunks[0]["type"] == "message_start"
    assert "amazon-bedrock-invocationMetrics" in chunks[-1]


def test_h2_errors_are_bedrock_errors(server: LocalBedrock) -> None:
    with httpx.Client(http1=False, http2=True) as client:
        response = client.post(server.endpoint_url + STREAM_PATH.format(HAIKU), json={"max_tokens": 5})
    assert response.http_version == "HTTP/2"
    assert response.status_code == 400
    assert response.headers["x-amzn-errortype"] == "ValidationException" + ERROR_TYPE_SUFFIX
    assert "anthropic_version" in response.json()["message"]


def test_h2_faults_arrive_as_exception_frames(server: LocalBedrock) -> None:
    server.faults.add({"error": "throttlingException", "at": "event", "after": 2})
    with httpx.Client(http1=False, http2=True) as client:
        response = client.post(server.endpoint_url + STREAM_PATH.format(HAIKU), json=messages_body())
    buffer = EventStreamBuffer()
    buffer.add_data(response.content)
    messages = list(buffer)
    assert [m.headers[":message-type"] for m in messages] == ["event", "event", "exception"]
    assert messages[-1].headers[":exception-type"] == "throttlingException"


@pytest.fixture(scope="module")
def paced() -> Iterator[LocalBedrock]:
    with LocalBedrock(seed=3, time_scale=1.0) as running:
        yield running


def test_h2_paces_frame_by_frame(paced: LocalBedrock) -> None:
    body = messages_body("Explain event streams briefly.", max_tokens=40)
    _, chunks, received, _ = _h2_stream(paced.endpoint_url + STREAM_PATH.format(HAIKU), body)
    record = paced.calls[0]
    assert len(chunks) == len(record.sent_ms)
    # The client's clock started before the server's, so a first chunk that was held back until the end
    # could not arrive before the server sent the last one.
    assert received[0] < record.sent_ms[-1]
    # Each write the server made arrives as its own read: no coalescing into a few big DATA frames.
    writes = len(set(record.sent_ms))
    reads = len(set(received))
    assert writes > 10
    assert reads >= writes * 0.5


def test_many_h2_streams_multiplexed_on_one_connection(server: LocalBedrock) -> None:
    prompts = [f"Question number {i}: what is a stream?" for i in range(8)]

    async def run() -> list[tuple[str, list[dict]]]:
        async with httpx.AsyncClient(http1=False, http2=True, timeout=30) as client:
            async def one(prompt: str) -> tuple[str, list[dict]]:
                response = await client.post(server.endpoint_url + STREAM_PATH.format(HAIKU),
                                             json=messages_body(prompt))
                buffer = EventStreamBuffer()
                buffer.add_data(response.content)
                return response.http_version, [_decode(m) for m in buffer]
            return await asyncio.gather(*(one(p) for p in prompts))

    results = asyncio.run(run())
    assert all(version == "HTTP/2" for version, _ in results)
    for (_, chunks), prompt in zip(results, prompts, strict=True):
        assert chunks[-1]["type"] == "message_stop"
        expected = [c for c in server.calls if c.request_body == messages_body(prompt)]
        assert expected and expected[0].done


def test_sigv4_signed_h2_request_passes_a_locked_endpoint() -> None:
    # An SDK on HTTP/2 signs the Host it sends as :authority; hypercorn hands it back as "host".
    with LocalBedrock(time_scale=0, verify_sigv4=("KEY", "SECRET")) as locked:
        url = locked.endpoint_url + STREAM_PATH.format(HAIKU.replace(":", "%3A"))
        raw = json.dumps(messages_body()).encode()
        request = AWSRequest(method="POST", url=url, data=raw, headers={"Content-Type": "application/json"})
        SigV4Auth(Credentials("KEY", "SECRET"), "bedrock", "us-east-1").add_auth(request)
        headers = {k: v for k, v in request.headers.items()}
        with httpx.Client(http1=False, http2=True) as client:
            good = client.post(url, content=raw, headers=headers)
            assert (good.http_version, good.status_code) == ("HTTP/2", 200)
            bad = client.post(url, content=raw.replace(b"streaming", b"rivers"), headers=headers)
            assert bad.status_code == 403
            assert bad.headers["x-amzn-errortype"] == "InvalidSignatureException"


def _signed_like_the_javascript_sdk(path: str, authority: str, body: bytes, secret: str) -> dict[str, str]:
    """SigV4 headers as the AWS SDK for JavaScript v3 makes them on its HTTP/2 handler: no host header,
    ``:authority`` signed in its place (@aws-sdk/core's host-header middleware, @smithy/signature-v4's
    canonical request: every header lower-cased and sorted, the path URI-encoded once more)."""
    amz_date = datetime.datetime.now(datetime.UTC).strftime("%Y%m%dT%H%M%SZ")
    signed = {":authority": authority, "content-length": str(len(body)), "content-type": "application/json",
              "x-amz-date": amz_date}
    names = sorted(signed)
    canonical = "\n".join(["POST", quote(path, safe="/~"), "", *(f"{n}:{signed[n]}" for n in names), "",
                           ";".join(names), sha256(body).hexdigest()])
    scope = f"{amz_date[:8]}/us-east-1/bedrock/aws4_request"
    to_sign = "\n".join(["AWS4-HMAC-SHA256", amz_date, scope, sha256(canonical.encode()).hexdigest()])
    key = ("AWS4" + secret).encode()
    for part in scope.split("/"):
        key = hmac.new(key, part.encode(), sha256).digest()
    signature = hmac.new(key, to_sign.encode(), sha256).hexdigest()
    return {"content-type": "application/json", "x-amz-date": amz_date,
            "authorization": f"AWS4-HMAC-SHA256 Credential=KEY/{scope}, SignedHeaders={';'.join(names)}, "
                             f"Signature={signature}"}


def test_h2_request_signing_authority_instead_of_host_passes_a_locked_endpoint() -> None:
    with LocalBedrock(time_scale=0, verify_sigv4=("KEY", "SECRET")) as locked:
        path = STREAM_PATH.format(HAIKU.replace(":", "%3A"))
        raw = json.dumps(messages_body()).encode()
        authority = f"127.0.0.1:{locked.port}"
        with httpx.Client(http1=False, http2=True) as client:
            good = client.post(locked.endpoint_url + path, content=raw,
                               headers=_signed_like_the_javascript_sdk(path, authority, raw, "SECRET"))
            assert (good.http_version, good.status_code) == ("HTTP/2", 200), good.text
            buffer = EventStreamBuffer()
            buffer.add_data(good.content)
            assert _decode(list(buffer)[-1])["type"] == "message_stop"
            wrong = client.post(locked.endpoint_url + path, content=raw,
                                headers=_signed_like_the_javascript_sdk(path, authority, raw, "NOT-SECRET"))
            assert wrong.status_code == 403
            assert wrong.headers["x-amzn-errortype"] == "InvalidSignatureException"
            elsewhere = client.post(locked.endpoint_url + path, content=raw,
                                    headers=_signed_like_the_javascript_sdk(path, "other-host:443", raw, "SECRET"))
            assert elsewhere.status_code == 403  # the signed :authority is the one the request arrived with
        # HTTP/1.1 has no :authority: a signature naming it there is refused, saying why.
        over_h1 = httpx.post(locked.endpoint_url + path, content=raw,
                             headers=_signed_like_the_javascript_sdk(path, authority, raw, "SECRET"))
        assert over_h1.status_code == 403
        assert ":authority" in over_h1.json()["message"] and "sign host" in over_h1.json()["message"]


def _stream_saying_goaway_after_headers(port: int, path: str, body: bytes) -> tuple[int, bytes, bool]:
    """One request on a raw h2c connection that says GOAWAY (NO_ERROR) as soon as the response headers
    arrive, as the AWS SDK for JavaScript v3's default handler does, then reads on.

    Returns (status, response body, whether the server closed the connection after the stream ended).
    The GOAWAY is written as raw bytes: the h2 library would close its own side on sending one.
    """
    connection = h2.connection.H2Connection(h2.config.H2Configuration(client_side=True, header_encoding="utf-8"))
    connection.initiate_connection()
    stream_id = connection.get_next_available_stream_id()
    connection.send_headers(stream_id, [
        (":method", "POST"), (":path", path), (":scheme", "http"), (":authority", f"127.0.0.1:{port}"),
        ("content-type", "application/json"), ("content-length", str(len(body)))])
    connection.send_data(stream_id, body, end_stream=True)
    status, data, ended = 0, bytearray(), False
    with socket.create_connection(("127.0.0.1", port), timeout=30) as sock:
        sock.sendall(connection.data_to_send())
        while not ended:
            received = sock.recv(65536)
            assert received, f"connection closed before the stream ended ({len(data)} bytes read)"
            for event in connection.receive_data(received):
                if isinstance(event, h2.events.ResponseReceived):
                    status = int(dict(event.headers)[":status"])
                    sock.sendall(GoAwayFrame(0, last_stream_id=0, error_code=0).serialize())
                elif isinstance(event, h2.events.DataReceived):
                    data += event.data
                    connection.acknowledge_received_data(event.flow_controlled_length, event.stream_id)
                elif isinstance(event, h2.events.StreamEnded | h2.events.StreamReset):
                    ended = isinstance(event, h2.events.StreamEnded)
                    assert ended, "stream reset"
            sock.sendall(connection.data_to_send())
        closed = sock.recv(65536) == b""
    return status, bytes(data), closed


def test_a_client_goaway_lets_the_open_stream_finish(paced: LocalBedrock) -> None:
    # RFC 9113 section 6.8: streams already open when a GOAWAY arrives carry on to their end.
    body = json.dumps(messages_body("Explain event streams briefly.", max_tokens=40)).encode()
    seen_ids = {call.id for call in paced.calls}
    status, data, closed = _stream_saying_goaway_after_headers(paced.port, STREAM_PATH.format(HAIKU), body)
    [call] = [c for c in paced.calls if c.id not in seen_ids]  # this test's own call, whatever ran before
    assert status == 200
    buffer = EventStreamBuffer()
    buffer.add_data(data)
    chunks = [_decode(message) for message in buffer]
    assert chunks[0]["type"] == "message_start" and chunks[-1]["type"] == "message_stop"
    assert call.done and call.error is None
    assert len(chunks) == len(call.sent_ms) > 10  # paced: most frames came after the GOAWAY
    assert closed  # and then the server closes the connection the client said it was done with
