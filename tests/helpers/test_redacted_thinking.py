"""Redacted thinking survives the whole trip: wire frames -> typed events -> blocks -> the next request.

Both stream shapes are built byte for byte with the project's own event-stream encoder and read
through botocore's real ``EventStream`` (so the frames go through the same decoder a live response
does). The assistant turn the helpers build from them is then sent back to the local endpoint over
HTTP, which must accept it as the next turn of the conversation.
"""

from __future__ import annotations

import base64
import json
from typing import Any

import pytest
from botocore.eventstream import EventStream
from botocore.parsers import EventStreamJSONParser
from botocore.session import get_session

from helpers.accumulate import (
    Accumulator,
    RedactedThinkingBlock,
    TextBlock,
    ThinkingBlock,
    ToolUseBlock,
    converse_content,
    fold_all,
    message_content,
)
from helpers.events import ContentBlockStart, ConverseBlockDelta
from helpers.local_bedrock.wire import frames
from helpers.payloads import messages_body, validate_body
from helpers.stream import (
    CONVERSE_STREAM,
    INVOKE_STREAM,
    StreamResult,
    _from_public_iterator,
    converse_stream,
    invoke_stream,
)

# Opaque on purpose: whatever Bedrock sends must come back byte for byte.
REDACTED_DATA = "EmwKAhgBEgy3va3pzix/LafPsn4aDFIT2Xlxh0L5L8rLVyIwxtE3rAFBa8cr3qpPkNRj2YfWXGmKDxH4mPnZ5sQ7vB5URj"
REDACTED_BYTES = b"\x00\x01opaque-\xffreasoning\x10"
REDACTED_BLOCK = {"type": "redacted_thinking", "data": REDACTED_DATA}
HAIKU_45 = "global.anthropic.claude-haiku-4-5-20251001-v1:0"


class _Raw:
    """Stands in for urllib3's response body: hands botocore the bytes as they would arrive."""

    def __init__(self, data: bytes) -> None:
        self.data = data

    def stream(self):
        yield self.data[: len(self.data) // 2]
        yield self.data[len(self.data) // 2 :]

    def close(self) -> None:
        pass


def _event_stream(operation: str, member: str, data: bytes) -> EventStream:
    op = get_session().get_service_model("bedrock-runtime").operation_model(operation)
    return EventStream(_Raw(data), op.output_shape.members[member], EventStreamJSONParser(), op.name)


def _invoke_frames() -> bytes:
    chunks: list[dict[str, Any]] = [
        {"type": "message_start", "message": {"id": "msg_bdrk_01x", "model": "claude-haiku-4-5-20251001"}},
        {"type": "content_block_start", "index": 0, "content_block": {"type": "thinking", "thinking": ""}},
        {"type": "content_block_delta", "index": 0, "delta": {"type": "thinking_delta", "thinking": "Weigh it."}},
        {"type": "content_block_delta", "index": 0, "delta": {"type": "signature_delta", "signature": "c2ln"}},
        {"type": "content_block_stop", "index": 0},
        {"type": "content_block_start", "index": 1, "content_block": REDACTED_BLOCK},
        {"type": "content_block_stop", "index": 1},
        {"type": "content_block_start", "index": 2, "content_block": {"type": "text", "text": ""}},
        {"type": "content_block_delta", "index": 2, "delta": {"type": "text_delta", "text": "Paris."}},
        {"type": "content_block_stop", "index": 2},
        {"type": "message_delta", "delta": {"stop_reason": "end_turn", "stop_sequence": None}, "usage": {}},
        {"type": "message_stop", "amazon-bedrock-invocationMetrics": {"outputTokenCount": 9}},
    ]
    return b"".join(frames.chunk_frame(chunk, "abc") for chunk in chunks)


def _converse_frame(name: str, body: dict[str, Any]) -> bytes:
    headers = frames.encode_headers(
        [(":event-type", name), (":content-type", "application/json"), (":message-type", "event")]
    )
    return frames.encode_frame(headers, json.dumps(body).encode())


def _converse_frames() -> bytes:
    blob = base64.b64encode(REDACTED_BYTES).decode()  # a blob travels as base64 in the frame's JSON
    parts = [
        _converse_frame("messageStart", {"role": "assistant"}),
        _converse_frame("contentBlockDelta", {"contentBlockIndex": 0, "delta": {"reasoningContent": {"text": "Hm."}}}),
        _converse_frame(
            "contentBlockDelta", {"contentBlockIndex": 0, "delta": {"reasoningContent": {"signature": "c2ln"}}}
        ),
        _converse_frame("contentBlockStop", {"contentBlockIndex": 0}),
        _converse_frame(
            "contentBlockDelta", {"contentBlockIndex": 1, "delta": {"reasoningContent": {"redactedContent": blob}}}
        ),
        _converse_frame("contentBlockStop", {"contentBlockIndex": 1}),
        _converse_frame("contentBlockDelta", {"contentBlockIndex": 2, "delta": {"text": "Paris."}}),
        _converse_frame("contentBlockStop", {"contentBlockIndex": 2}),
        _converse_frame("messageStop", {"stopReason": "end_turn"}),
        _converse_frame("metadata", {"usage": {"inputTokens": 3, "outputTokens": 9, "totalTokens": 12}, "metrics": {}}),
    ]
    return b"".join(parts)


def test_invoke_stream_keeps_redacted_thinking_in_its_place() -> None:
    result = StreamResult.from_response(
        {"body": _event_stream("InvokeModelWithResponseStream", "body", _invoke_frames())}, model_id=HAIKU_45
    ).consume()
    starts = [e for e in result.events if isinstance(e, ContentBlockStart)]
    assert [e.block_type for e in starts] == ["thinking", "redacted_thinking", "text"]
    assert starts[1].content_block == {"type": "redacted_thinking", "data": REDACTED_DATA}
    thinking, redacted, text = result.blocks
    assert (thinking, redacted, text) == (
        ThinkingBlock("Weigh it.", "c2ln"),
        RedactedThinkingBlock(REDACTED_DATA),
        TextBlock("Paris."),
    )
    assert result.text == "Paris." and result.snapshot.thinking == "Weigh it."  # nothing redacted leaks into text
    assert fold_all(result.events) == result.snapshot
    assert result.assistant_message() == {
        "role": "assistant",
        "content": [
            {"type": "thinking", "thinking": "Weigh it.", "signature": "c2ln"},
            {"type": "redacted_thinking", "data": REDACTED_DATA},
            {"type": "text", "text": "Paris."},
        ],
    }


def test_converse_stream_keeps_redacted_content_as_bytes_on_both_decoding_paths() -> None:
    fast = StreamResult.from_response(
        {"stream": _event_stream("ConverseStream", "stream", _converse_frames())}, model_id=HAIKU_45
    ).consume()
    slow = list(_from_public_iterator(_event_stream("ConverseStream", "stream", _converse_frames())))
    for events in (fast.events, slow):
        redacted = [e for e in events if isinstance(e, ConverseBlockDelta) and e.index == 1]
        assert redacted[0].delta == {"reasoningContent": {"redactedContent": REDACTED_BYTES}}
    assert fast.operation == CONVERSE_STREAM
    assert fast.blocks == (ThinkingBlock("Hm.", "c2ln"), RedactedThinkingBlock(REDACTED_BYTES), TextBlock("Paris."))
    assert fold_all(slow) == Accumulator().add_all(slow).snapshot() == fast.snapshot
    assert fast.assistant_message() == {
        "role": "assistant",
        "content": [
            {"reasoningContent": {"reasoningText": {"text": "Hm.", "signature": "c2ln"}}},
            {"reasoningContent": {"redactedContent": REDACTED_BYTES}},
            {"text": "Paris."},
        ],
    }


def test_each_shape_converts_to_the_other_without_loss() -> None:
    blocks = (RedactedThinkingBlock(REDACTED_BYTES), ToolUseBlock("toolu_1", "get_weather", "{}", {}))
    messages = message_content(blocks)
    assert messages[0] == {"type": "redacted_thinking", "data": base64.b64encode(REDACTED_BYTES).decode()}
    back = converse_content([RedactedThinkingBlock(messages[0]["data"])])
    assert back == [{"reasoningContent": {"redactedContent": REDACTED_BYTES}}]
    assert converse_content(blocks)[1] == {"toolUse": {"toolUseId": "toolu_1", "name": "get_weather", "input": {}}}


# The frames above carry a made-up signature ("c2ln") and redacted data the model never issued. Sent back, the
# turn passes every shape check and is refused for its signature alone, as Bedrock refuses a thinking block it did
# not sign (anthropics/anthropic-sdk-python#1598). The tests at the end send back real blocks, which are accepted.
FORGED = "The model returned the following errors: messages.1.content.0: Invalid `signature` in `thinking` block"


def test_the_next_invoke_turn_with_a_made_up_signature_is_refused_for_the_signature_alone(client) -> None:
    result = StreamResult.from_response(
        {"body": _event_stream("InvokeModelWithResponseStream", "body", _invoke_frames())}, model_id=HAIKU_45
    ).consume()
    body = {
        "anthropic_version": "bedrock-2023-05-31",
        "max_tokens": 2048,
        "thinking": {"type": "enabled", "budget_tokens": 1024},
        "messages": [
            {"role": "user", "content": "What is the capital of France?"},
            result.assistant_message(),
            {"role": "user", "content": "And of Spain?"},
        ],
    }
    validate_body(body, HAIKU_45)
    with pytest.raises(client.exceptions.ValidationException) as caught:
        client.invoke_model(modelId=HAIKU_45, body=json.dumps(body))
    assert caught.value.response["Error"]["Message"] == FORGED


def test_the_next_converse_turn_with_a_made_up_signature_is_refused_for_the_signature_alone(client) -> None:
    result = StreamResult.from_response(
        {"stream": _event_stream("ConverseStream", "stream", _converse_frames())}, model_id=HAIKU_45
    ).consume()
    messages = [
        {"role": "user", "content": [{"text": "What is the capital of France?"}]},
        result.assistant_message(),
        {"role": "user", "content": [{"text": "And of Spain?"}]},
    ]
    with pytest.raises(client.exceptions.ValidationException) as caught:
        client.converse(
            modelId=HAIKU_45,
            messages=messages,
            inferenceConfig={"maxTokens": 2048},
            additionalModelRequestFields={"thinking": {"type": "enabled", "budget_tokens": 1024}},
        )
    assert caught.value.response["Error"]["Message"] == FORGED


@pytest.mark.parametrize("operation", [INVOKE_STREAM, "replay"])
def test_assistant_message_uses_the_messages_shape_for_non_converse_results(operation: str) -> None:
    events = [ContentBlockStart(1, 0, {"type": "redacted_thinking", "data": REDACTED_DATA})]
    result = StreamResult.from_events(events)
    result.operation = operation
    assert result.assistant_message()["content"] == [{"type": "redacted_thinking", "data": REDACTED_DATA}]


# --- real frames from the local endpoint ([[redacted_thinking]] asks it for a redacted block) --------------

REDACT_PROMPT = "Why is the sky blue? [[redacted_thinking]]"


def test_endpoint_redacted_thinking_over_invoke_stream_and_back(client) -> None:
    body = messages_body(REDACT_PROMPT, max_tokens=3000, thinking=1024)
    result = invoke_stream(client, HAIKU_45, body).consume()
    start = next(e for e in result.events if isinstance(e, ContentBlockStart) and e.block_type == "redacted_thinking")
    assert [b.type for b in result.blocks] == ["redacted_thinking", "thinking", "text"]
    assert result.blocks[0] == RedactedThinkingBlock(start.content_block["data"])
    sent_back = result.assistant_message()
    assert sent_back["content"][0] == start.content_block  # byte for byte what the frame carried
    follow_up = messages_body(
        [{"role": "user", "content": REDACT_PROMPT}, sent_back, {"role": "user", "content": "Thanks. And at sunset?"}],
        max_tokens=3000,
        thinking=1024,
    )
    assert invoke_stream(client, HAIKU_45, follow_up, validate=True).consume().stop_reason == "end_turn"


def test_endpoint_redacted_content_over_converse_stream_and_back(client) -> None:
    thinking = {"thinking": {"type": "enabled", "budget_tokens": 1024}}
    result = converse_stream(
        client, HAIKU_45, REDACT_PROMPT, inferenceConfig={"maxTokens": 3000}, additionalModelRequestFields=thinking
    ).consume()
    redacted = [b for b in result.blocks if isinstance(b, RedactedThinkingBlock)]
    assert len(redacted) == 1 and isinstance(redacted[0].data, bytes) and redacted[0].data
    assert result.blocks.index(redacted[0]) == 0
    sent_back = result.assistant_message()
    assert sent_back["content"][0] == {"reasoningContent": {"redactedContent": redacted[0].data}}
    follow_up = converse_stream(
        client,
        HAIKU_45,
        [
            {"role": "user", "content": [{"text": REDACT_PROMPT}]},
            sent_back,
            {"role": "user", "content": [{"text": "Thanks. And at sunset?"}]},
        ],
        inferenceConfig={"maxTokens": 3000},
        additionalModelRequestFields=thinking,
    ).consume()
    assert follow_up.stop_reason == "end_turn"
