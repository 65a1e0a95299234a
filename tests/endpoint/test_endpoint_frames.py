"""The bytes on the wire: every frame re-parsed by botocore's own EventStreamBuffer, CRCs checked."""

from __future__ import annotations

import base64
import http.client
import json
import zlib

import pytest
from botocore.eventstream import ChecksumMismatch, EventStreamBuffer
from endpoint_support import HAIKU, messages_body

from helpers.local_bedrock.wire import frames


def _raw_stream(server, body: dict, model_id: str = HAIKU) -> tuple[http.client.HTTPResponse, bytes]:
    conn = http.client.HTTPConnection("127.0.0.1", server.port, timeout=30)
    conn.request("POST", f"/model/{model_id}/invoke-with-response-stream", json.dumps(body),
                 {"Content-Type": "application/json", "X-Amzn-Bedrock-Accept": "application/json"})
    response = conn.getresponse()
    data = response.read()
    conn.close()
    return response, data


def test_every_streamed_frame_parses_with_botocore(server) -> None:
    response, data = _raw_stream(server, messages_body("Tell me about rivers."))
    assert response.status == 200
    assert response.getheader("Content-Type") == "application/vnd.amazon.eventstream"
    assert response.getheader("X-Amzn-Bedrock-Content-Type") == "application/json"
    assert response.getheader("x-amzn-requestid")
    buffer = EventStreamBuffer()
    buffer.add_data(data)
    messages = list(buffer)  # raises on any prelude or message CRC mismatch
    assert len(messages) == len(server.calls[0].schedule_ms) > 5
    for message in messages:
        assert message.headers == {":event-type": "chunk", ":content-type": "application/json",
                                   ":message-type": "event"}
        payload = json.loads(message.payload)
        assert set(payload) == {"bytes", "p"}
        json.loads(base64.b64decode(payload["bytes"]))
    assert sum(len(m.payload) + 16 + len(frames.CHUNK_HEADERS) for m in messages) == len(data)


def test_padding_varies_so_lengths_do_not_reveal_text(server) -> None:
    _, data = _raw_stream(server, messages_body("Tell me about rivers."))
    buffer = EventStreamBuffer()
    buffer.add_data(data)
    assert len({json.loads(m.payload)["p"] for m in buffer}) > 1


def test_encoder_round_trips_and_a_flipped_byte_is_caught() -> None:
    frame = frames.chunk_frame({"type": "ping", "text": "héllo"}, "pad")
    buffer = EventStreamBuffer()
    buffer.add_data(frame)
    (message,) = list(buffer)
    assert json.loads(base64.b64decode(json.loads(message.payload)["bytes"])) == {"type": "ping", "text": "héllo"}
    broken = bytearray(frame)
    broken[-6] ^= 0xFF
    buffer = EventStreamBuffer()
    buffer.add_data(bytes(broken))
    with pytest.raises(ChecksumMismatch):
        list(buffer)


def test_exception_frame_layout() -> None:
    frame = frames.exception_frame("modelStreamErrorException", "boom", originalStatusCode=500,
                                   originalMessage="upstream")
    assert int.from_bytes(frame[-4:], "big") == zlib.crc32(frame[:-4])
    buffer = EventStreamBuffer()
    buffer.add_data(frame)
    (message,) = list(buffer)
    assert message.headers[":message-type"] == "exception"
    assert message.headers[":exception-type"] == "modelStreamErrorException"
    assert json.loads(message.payload) == {"message": "boom", "originalStatusCode": 500,
                                           "originalMessage": "upstream"}
