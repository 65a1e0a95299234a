"""The stream's frame splitter against botocore's own decoder, on the same bytes, cut anywhere."""

from __future__ import annotations

import json
from typing import Any

import pytest
from botocore.eventstream import ChecksumMismatch, EventStreamBuffer
from hypothesis import given, settings
from hypothesis import strategies as st

from helpers.errors import StreamConnectionLost
from helpers.framing import loads as _loads
from helpers.framing import read_frames as _read_frames
from helpers.local_bedrock.wire import frames
from helpers.stream import StreamResult

HAIKU = "global.anthropic.claude-haiku-4-5-20251001-v1:0"  # the course default (Claude 3 Haiku is EOL)


def _sample_stream() -> bytes:
    parts = [
        frames.chunk_frame({"type": "message_start", "message": {"id": "m", "usage": {"input_tokens": 3}}}, "abc"),
        frames.chunk_frame(
            {"type": "content_block_delta", "index": 0, "delta": {"type": "text_delta", "text": "héllo \\"}}, ""
        ),
        frames.exception_frame("throttlingException", "slow down"),
        frames.encode_frame(
            frames.encode_headers(
                [(":message-type", "event"), (":event-type", "future"), (":content-type", "application/json")]
            ),
            b"{}",
        ),
    ]
    return b"".join(parts)


def _botocore(data: bytes) -> list[tuple[dict[str, Any], bytes]]:
    buffer = EventStreamBuffer()
    buffer.add_data(data)
    return [(m.headers, m.payload) for m in buffer]


def _ours(pieces: list[bytes]) -> list[tuple[dict[str, Any], bytes]]:
    return [(headers, payload) for _ns, headers, payload in _read_frames(pieces)]


def _cut(data: bytes, cuts: list[int]) -> list[bytes]:
    points = sorted({c % (len(data) + 1) for c in cuts})
    out, last = [], 0
    for p in [*points, len(data)]:
        out.append(data[last:p])
        last = p
    return out


@settings(max_examples=200, deadline=None)
@given(cuts=st.lists(st.integers(min_value=0, max_value=100_000), max_size=25))
def test_same_messages_as_botocore_however_the_bytes_arrive(cuts: list[int]) -> None:
    data = _sample_stream()
    assert _ours(_cut(data, cuts)) == _botocore(data)


def test_stamps_are_per_read_and_never_decrease() -> None:
    data = _sample_stream()
    stamps = [ns for ns, _h, _p in _read_frames(_cut(data, [10, 200, 230]))]
    assert len(stamps) == 4 and stamps == sorted(stamps)


@pytest.mark.parametrize("where", ["prelude", "payload"])
def test_a_corrupted_frame_fails_like_botocore(where: str) -> None:
    good = frames.chunk_frame({"type": "ping"}, "")
    bad = bytearray(good)
    bad[5 if where == "prelude" else len(bad) - 6] ^= 0x01
    with pytest.raises(ChecksumMismatch):
        _botocore(bytes(bad))
    with pytest.raises(ChecksumMismatch):
        _ours([bytes(bad)])


def test_a_corrupted_frame_on_the_wire_is_a_lost_connection() -> None:
    class Raw:
        def __init__(self, data: bytes) -> None:
            self.data = data

        def stream(self):
            yield self.data

        def close(self) -> None:
            pass

    from botocore.eventstream import EventStream
    from botocore.parsers import EventStreamJSONParser
    from botocore.session import get_session

    op = get_session().get_service_model("bedrock-runtime").operation_model("InvokeModelWithResponseStream")
    first = frames.chunk_frame({"type": "message_start", "message": {"id": "m"}}, "")
    bad = bytearray(
        frames.chunk_frame(
            {"type": "content_block_delta", "index": 0, "delta": {"type": "text_delta", "text": "x"}}, ""
        )
    )
    bad[-6] ^= 0x01
    stream = EventStream(Raw(first + bytes(bad)), op.output_shape.members["body"], EventStreamJSONParser(), op.name)
    result = StreamResult.from_response({"body": stream}, model_id=HAIKU)
    with pytest.raises(StreamConnectionLost, match="corrupted"):
        result.consume()
    assert len(result.events) == 1


json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=6), inner, max_size=4),
    max_leaves=15,
)


@settings(max_examples=200, deadline=None)
@given(value=json_values, spaced=st.booleans())
def test_fast_json_agrees_with_json_loads(value: Any, spaced: bool) -> None:
    text = json.dumps(value, indent=1 if spaced else None)
    if spaced:
        text = f" {text}\n"
    assert _loads(text) == json.loads(text)


@pytest.mark.parametrize("text", ["", "{", '{"a": 1} x', "nul", "[1,]"])
def test_fast_json_rejects_what_json_rejects(text: str) -> None:
    with pytest.raises(ValueError):
        json.loads(text)
    with pytest.raises(ValueError):
        _loads(text)
