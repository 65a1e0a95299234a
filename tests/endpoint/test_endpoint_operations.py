"""Both operations through real boto3: the Messages event sequence, stop reasons, legacy ids, model ids."""

from __future__ import annotations

import json
from urllib.parse import quote

import pytest
from endpoint_support import HAIKU, LEGACY, joined_text, messages_body, stream_chunks

from helpers.local_bedrock import LocalBedrock

WEATHER_TOOL = {
    "name": "get_weather",
    "description": "Get the current weather for a city.",
    "input_schema": {
        "type": "object",
        "properties": {"city": {"type": "string", "description": "City name"}},
        "required": ["city"],
    },
}


def test_invoke_model_returns_a_messages_response_with_usage_headers(client) -> None:
    response = client.invoke_model(modelId=HAIKU, body=json.dumps(messages_body()))
    body = json.loads(response["body"].read())
    headers = response["ResponseMetadata"]["HTTPHeaders"]
    assert response["contentType"] == "application/json"
    assert body["type"] == "message" and body["role"] == "assistant"
    assert body["content"][0]["type"] == "text" and body["content"][0]["text"]
    assert body["stop_reason"] == "end_turn"
    assert int(headers["x-amzn-bedrock-input-token-count"]) == body["usage"]["input_tokens"]
    assert int(headers["x-amzn-bedrock-output-token-count"]) == body["usage"]["output_tokens"]
    assert int(headers["x-amzn-bedrock-invocation-latency"]) >= 0
    assert headers["x-amzn-requestid"]


def test_stream_carries_the_whole_anthropic_event_sequence(client, server) -> None:
    chunks = stream_chunks(client, messages_body())
    types = [c["type"] for c in chunks]
    assert types[0] == "message_start" and types[-1] == "message_stop"
    assert types[-2] == "message_delta"
    assert {"content_block_start", "content_block_delta", "content_block_stop"} <= set(types)
    metrics = chunks[-1]["amazon-bedrock-invocationMetrics"]
    assert set(metrics) >= {"inputTokenCount", "outputTokenCount", "invocationLatency", "firstByteLatency"}
    assert all(isinstance(v, int) for v in metrics.values())
    assert metrics["outputTokenCount"] == chunks[-2]["usage"]["output_tokens"]
    record = server.calls[0]
    assert record.operation == "InvokeModelWithResponseStream" and record.done
    assert len(record.sent_ms) == len(record.schedule_ms) == len(chunks)


def test_stream_and_invoke_give_the_same_text(client) -> None:
    body = messages_body("Explain event streams in two sentences.")
    streamed = joined_text(stream_chunks(client, body))
    whole = json.loads(client.invoke_model(modelId=HAIKU, body=json.dumps(body))["body"].read())
    assert streamed == "".join(b.get("text", "") for b in whole["content"])


def test_every_event_and_delta_type_appears(client) -> None:
    sonnet = "global.anthropic.claude-sonnet-4-6"  # budget thinking: deprecated there, still accepted
    thinking = messages_body("Why do rivers meander?", max_tokens=3000,
                             thinking={"type": "enabled", "budget_tokens": 1024})
    tool = messages_body("What is the weather in Paris?", tools=[WEATHER_TOOL],
                         tool_choice={"type": "tool", "name": "get_weather"})
    seen: set[str] = set()
    for chunk in stream_chunks(client, thinking, sonnet) + stream_chunks(client, tool):
        seen.add(chunk["type"])
        if chunk["type"] == "content_block_delta":
            seen.add(chunk["delta"]["type"])
    assert {"message_start", "content_block_start", "content_block_delta", "content_block_stop",
            "message_delta", "message_stop", "text_delta", "thinking_delta", "signature_delta",
            "input_json_delta"} <= seen


def _stop(chunks: list[dict]) -> tuple[str, str | None]:
    delta = next(c for c in chunks if c["type"] == "message_delta")["delta"]
    return delta["stop_reason"], delta.get("stop_sequence")


def test_stop_reason_end_turn(client) -> None:
    assert _stop(stream_chunks(client, messages_body()))[0] == "end_turn"


def test_stop_reason_max_tokens_cuts_at_exactly_max_tokens(client) -> None:
    chunks = stream_chunks(client, messages_body("Write a long essay about rivers.", max_tokens=7))
    assert _stop(chunks)[0] == "max_tokens"
    assert chunks[-1]["amazon-bedrock-invocationMetrics"]["outputTokenCount"] == 7


def test_stop_reason_stop_sequence(client) -> None:
    full = joined_text(stream_chunks(client, messages_body("Tell me about rivers.")))
    word = full.split()[3].strip(".,;:!?")
    chunks = stream_chunks(client, messages_body("Tell me about rivers.", stop_sequences=[word]))
    assert _stop(chunks) == ("stop_sequence", word)
    assert word not in joined_text(chunks)


def test_stop_reason_tool_use_streams_valid_json_input(client) -> None:
    body = messages_body("What is the weather in Paris?", tools=[WEATHER_TOOL],
                         tool_choice={"type": "tool", "name": "get_weather"})
    chunks = stream_chunks(client, body)
    assert _stop(chunks)[0] == "tool_use"
    pieces = [c["delta"]["partial_json"] for c in chunks
              if c["type"] == "content_block_delta" and c["delta"]["type"] == "input_json_delta"]
    assert len(pieces) > 1
    assert isinstance(json.loads("".join(pieces))["city"], str)


def test_legacy_text_completion_stream() -> None:
    body = {"prompt": "\n\nHuman: What is streaming?\n\nAssistant:", "max_tokens_to_sample": 100}
    # Claude 2.1 reached end of life: served only by an endpoint judging an earlier day.
    with LocalBedrock(seed=0, time_scale=0, as_of="2025-01-01") as past:
        chunks = stream_chunks(past.client(), body, LEGACY)
    assert all(set(c) >= {"completion", "stop_reason"} for c in chunks)
    assert "".join(c["completion"] for c in chunks).strip()
    assert chunks[-1]["stop_reason"] in ("stop_sequence", "max_tokens")
    assert "amazon-bedrock-invocationMetrics" in chunks[-1]
    assert all(c["stop_reason"] is None for c in chunks[:-1])


@pytest.mark.parametrize("model_id", [
    HAIKU,
    "us.anthropic.claude-haiku-4-5-20251001-v1:0",
    "arn:aws:bedrock:us-east-1::foundation-model/anthropic.claude-opus-4-7",  # on demand by its base id
    "arn:aws:bedrock:us-east-1:123456789012:inference-profile/global.anthropic.claude-haiku-4-5-20251001-v1:0",
])
def test_model_id_forms_are_accepted_and_recorded_decoded(client, server, model_id) -> None:
    stream_chunks(client, messages_body(max_tokens=5), model_id)
    assert server.calls[0].model_id == model_id


def test_raw_and_percent_encoded_paths_reach_the_same_model(server) -> None:
    import http.client

    body = json.dumps(messages_body(max_tokens=5))
    for path_id in (HAIKU, quote(HAIKU, safe="")):
        conn = http.client.HTTPConnection("127.0.0.1", server.port, timeout=10)
        conn.request("POST", f"/model/{path_id}/invoke", body, {"Content-Type": "application/json"})
        response = conn.getresponse()
        assert response.status == 200, response.read()
        assert json.loads(response.read())["model"]
        conn.close()
        assert server.calls[0].model_id == HAIKU
