"""helpers.stream.converse_stream and the fold, against ConverseStream from the local endpoint over HTTP.

Each ConverseStream event kind is read by the typed reader and folded into the same message
InvokeModelWithResponseStream gives for the equivalent Messages body; each in-stream exception
of ConverseStream's union becomes its StreamError with the partial answer kept.
"""

from __future__ import annotations

import json
import re
from typing import Any

import pytest

from helpers.accumulate import ThinkingBlock, ToolUseBlock
from helpers.errors import (
    ModelStreamError,
    StreamConnectionLost,
    StreamError,
    StreamInternalError,
    StreamServiceUnavailable,
    StreamThrottled,
    StreamValidationError,
)
from helpers.events import (
    ConverseBlockDelta,
    ConverseBlockStart,
    ConverseBlockStop,
    ConverseMessageStart,
    ConverseMessageStop,
    ConverseMetadata,
)
from helpers.stream import CONVERSE_STREAM, converse_stream, invoke_stream

HAIKU = "global.anthropic.claude-haiku-4-5-20251001-v1:0"  # the course default (Claude 3 Haiku is EOL)
SONNET_45 = "global.anthropic.claude-sonnet-4-5-20250929-v1:0"  # budget thinking (3.7 Sonnet is EOL)
PROMPT = "What is streaming?"
SCHEMA = {"type": "object", "properties": {"city": {"type": "string"}}, "required": ["city"]}
TOOL_CONFIG = {"toolConfig": {"tools": [{"toolSpec": {"name": "get_weather", "inputSchema": {"json": SCHEMA}}}]}}
THINKING = {"thinking": {"type": "enabled", "budget_tokens": 1024}}


def messages_body(prompt: str, max_tokens: int, **extra: Any) -> dict:
    """The Messages body a one-turn Converse request translates to."""
    return {
        "anthropic_version": "bedrock-2023-05-31",
        "max_tokens": max_tokens,
        "messages": [{"role": "user", "content": [{"type": "text", "text": prompt}]}],
        **extra,
    }


def test_text_stream_folds_to_the_invoke_stream_answer(client) -> None:
    result = converse_stream(client, HAIKU, PROMPT, system="Be brief.", inferenceConfig={"maxTokens": 300}).consume()
    twin = invoke_stream(client, HAIKU, messages_body(PROMPT, 300, system=[{"type": "text", "text": "Be brief."}]))
    twin.consume()
    assert result.operation == CONVERSE_STREAM and result.done and result.error is None
    assert result.text == twin.text and result.text
    assert result.stop_reason == twin.stop_reason == "end_turn"
    assert result.usage["input_tokens"] == result.usage["inputTokens"] == twin.usage["input_tokens"]
    assert result.usage["output_tokens"] == twin.usage["output_tokens"]
    assert result.usage["totalTokens"] == result.usage["inputTokens"] + result.usage["outputTokens"]
    assert isinstance(result.metrics["latencyMs"], int)
    kinds = [type(e) for e in result.events]
    assert kinds[0] is ConverseMessageStart and kinds[-2:] == [ConverseMessageStop, ConverseMetadata]
    assert {ConverseBlockDelta, ConverseBlockStop} <= set(kinds)
    # Worked out from the raw events (ConverseStream's contentBlockDelta.delta.text), not by the accumulator.
    raw_text = "".join(e.delta["text"] for e in result.events
                       if isinstance(e, ConverseBlockDelta) and "text" in e.delta)
    assert result.text == raw_text
    assert result.stop_reason == next(e.stop_reason for e in result.events if isinstance(e, ConverseMessageStop))


def test_tool_use_start_and_input_pieces(client) -> None:
    result = converse_stream(
        client, HAIKU, "Weather in Paris?", inferenceConfig={"maxTokens": 400}, **TOOL_CONFIG
    ).consume()
    assert any(isinstance(e, ConverseBlockStart) for e in result.events)
    tool = result.snapshot.tool_uses[-1]
    assert isinstance(tool, ToolUseBlock) and tool.name == "get_weather"
    # Converse names tool calls tooluse_ + 22 characters, InvokeModel toolu_bdrk_01 + 22 (real captures).
    assert re.fullmatch(r"tooluse_[A-Za-z0-9_-]{22}", tool.id)
    assert tool.input == json.loads(tool.input_json) and tool.input["city"]
    assert result.stop_reason == "tool_use"
    twin = invoke_stream(
        client, HAIKU, messages_body("Weather in Paris?", 400, tools=[{"name": "get_weather", "input_schema": SCHEMA}])
    ).consume()
    invoked = twin.snapshot.tool_uses[-1]
    assert re.fullmatch(r"toolu_bdrk_01[A-Za-z0-9]{22}", invoked.id)
    assert (invoked.name, invoked.input_json, invoked.input) == (tool.name, tool.input_json, tool.input)
    raw_json = "".join(e.delta["toolUse"]["input"] for e in result.events
                       if isinstance(e, ConverseBlockDelta) and "toolUse" in e.delta)
    assert tool.input_json == raw_json  # the pieces as they arrived, joined by hand


def test_reasoning_text_and_signature(client) -> None:
    result = converse_stream(
        client, SONNET_45, PROMPT, inferenceConfig={"maxTokens": 2000}, additionalModelRequestFields=THINKING
    ).consume()
    twin = invoke_stream(client, SONNET_45, messages_body(PROMPT, 2000, **THINKING)).consume()
    thinking = result.blocks[0]
    assert isinstance(thinking, ThinkingBlock)
    assert thinking == twin.blocks[0] and thinking.signature
    assert result.snapshot.thinking == twin.snapshot.thinking
    signature_events = [
        e
        for e in result.events
        if isinstance(e, ConverseBlockDelta) and "signature" in e.delta.get("reasoningContent", {})
    ]
    assert len(signature_events) == 1 and not signature_events[0].carries_output
    assert result.text == twin.text
    raw_thinking = "".join(e.delta["reasoningContent"].get("text", "") for e in result.events
                           if isinstance(e, ConverseBlockDelta) and "reasoningContent" in e.delta)
    assert thinking.thinking == raw_thinking != ""


@pytest.mark.parametrize(
    ("kwargs", "reason"),
    [
        ({"inferenceConfig": {"maxTokens": 4}}, "max_tokens"),
        # The answer about streaming names its subject again after its first line.
        ({"inferenceConfig": {"stopSequences": [" streaming "]}}, "stop_sequence"),
    ],
)
def test_other_stop_reasons(client, kwargs, reason) -> None:
    result = converse_stream(client, HAIKU, PROMPT, **kwargs).consume()
    assert result.stop_reason == reason
    if reason == "max_tokens":
        assert result.usage["output_tokens"] == 4
    else:
        assert " streaming " not in result.text and result.text


@pytest.mark.parametrize(
    ("member", "cls"),
    [
        ("internalServerException", StreamInternalError),
        ("modelStreamErrorException", ModelStreamError),
        ("validationException", StreamValidationError),
        ("throttlingException", StreamThrottled),
        ("serviceUnavailableException", StreamServiceUnavailable),
    ],
)
def test_each_converse_stream_exception_becomes_its_stream_error(server, client, member, cls) -> None:
    server.faults.add(error=member, at="event", after=3, operation="ConverseStream")
    result = converse_stream(client, HAIKU, PROMPT)
    with pytest.raises(cls) as caught:
        result.consume()
    error = caught.value
    assert error.code == member and error.partial is result and result.error is error
    assert len(result.events) == 3 and result.text  # messageStart + two text deltas kept
    assert error.output_started
    if member == "modelStreamErrorException":
        assert error.details["originalStatusCode"] == 500


def test_drop_before_metadata_is_a_lost_connection_not_a_finished_answer(server, client) -> None:
    full = converse_stream(client, HAIKU, PROMPT).consume()
    # Drop right after messageStop: the answer's text is whole, but its usage never arrived.
    server.faults.add(error="drop", at="event", after=len(full.events) - 1, operation="ConverseStream")
    result = converse_stream(client, HAIKU, PROMPT)
    with pytest.raises(StreamConnectionLost):
        result.consume()
    assert result.text == full.text and isinstance(result.events[-1], ConverseMessageStop)
    assert "inputTokens" not in result.usage


def test_errors_before_the_stream_stay_typed_and_name_the_model(server, client) -> None:
    server.faults.add(error="ThrottlingException", operation="ConverseStream")
    with pytest.raises(client.exceptions.ThrottlingException, match=f"ConverseStream, model {HAIKU}"):
        converse_stream(client, HAIKU, PROMPT)
    with pytest.raises(client.exceptions.ValidationException, match="inferenceConfig.temperature"):
        converse_stream(client, HAIKU, PROMPT, inferenceConfig={"temperature": 3})


def test_close_mid_stream_keeps_what_arrived(client) -> None:
    result = converse_stream(client, HAIKU, PROMPT)
    for event in result:
        if isinstance(event, ConverseBlockDelta):
            break
    assert result.stopped and not isinstance(result.error, StreamError)
    assert result.text and result.stop_reason is None


def test_a_stream_that_ends_cleanly_without_metadata_is_incomplete(client) -> None:
    """The reader needs ConverseStream's final metadata event; messageStop alone is not the end."""
    from helpers.stream import StreamResult

    full = converse_stream(client, HAIKU, PROMPT).consume()
    cut = StreamResult(model_id=HAIKU, operation=CONVERSE_STREAM, source=iter(full.events[:-1]))
    with pytest.raises(StreamConnectionLost, match="final event"):
        cut.consume()
    assert cut.text == full.text and cut.stop_reason == "end_turn"
    whole = StreamResult(model_id=HAIKU, operation=CONVERSE_STREAM, source=iter(full.events)).consume()
    assert whole.done and whole.error is None and whole.usage == full.usage


def test_with_retries_survives_converse_faults_before_output_only(server, client) -> None:
    from helpers.retries import with_retries

    # messageStart carries no output, so a throttle right after it is still safe to retry.
    server.faults.add(error="throttlingException", at="event", after=1, operation="ConverseStream")
    server.faults.add(error="ThrottlingException", operation="ConverseStream")
    result = with_retries(lambda: converse_stream(client, HAIKU, PROMPT), base_delay=0, jitter=False).consume()
    assert result.attempts == 3 and result.stop_reason == "end_turn"
    # After output has started, the error comes straight back with the partial answer.
    server.faults.add(error="serviceUnavailableException", at="event", after=4, operation="ConverseStream")
    with pytest.raises(StreamServiceUnavailable) as caught:
        with_retries(lambda: converse_stream(client, HAIKU, PROMPT), base_delay=0, jitter=False).consume()
    assert caught.value.output_started and caught.value.partial.text


def test_fast_converse_decoding_matches_botocores_parser(client) -> None:
    """ConverseStream frames skip botocore's per-frame parser; the events must be the same."""
    from helpers.stream import _from_public_iterator, stream_events

    tools = {
        "tools": [
            {
                "toolSpec": {
                    "name": "get_weather",
                    "inputSchema": {
                        "json": {"type": "object", "properties": {"city": {"type": "string"}}, "required": ["city"]}
                    },
                }
            }
        ]
    }
    request = {
        "modelId": HAIKU,
        "messages": [{"role": "user", "content": [{"text": "What is the weather in Lisbon? Use get_weather."}]}],
        "toolConfig": tools,
    }
    fast = list(stream_events(client.converse_stream(**request)))
    slow = list(_from_public_iterator(client.converse_stream(**request)["stream"]))

    def comparable(e: Any) -> tuple[type, dict[str, Any]]:
        fields = {k: getattr(e, k) for k in e.__dataclass_fields__ if k != "received_ns"}
        fields.pop("metrics", None)  # latencyMs is measured per call
        # Two calls: Bedrock gives every call its own tool-use ids.
        return type(e), json.loads(re.sub(r"tooluse_[A-Za-z0-9_-]{22}", "tooluse_<id>", json.dumps(fields)))

    # botocore's parser keeps only the usage members its service model names; the fast path keeps every key
    # the service sent (2026 captures add cache ...Count duplicates and serverToolUsage). Same values otherwise.
    fast_usage = next(e.usage for e in fast if type(e).__name__ == "ConverseMetadata")
    slow_usage = next(e.usage for e in slow if type(e).__name__ == "ConverseMetadata")
    assert fast_usage.items() >= slow_usage.items()

    def without_usage(e: Any) -> tuple[type, dict[str, Any]]:
        kind, fields = comparable(e)
        fields.pop("usage", None)
        return kind, fields

    assert [without_usage(e) for e in fast] == [without_usage(e) for e in slow]
    assert {type(e).__name__ for e in fast} >= {"ConverseBlockStart", "ConverseBlockDelta", "ConverseMetadata"}
