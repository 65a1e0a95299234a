"""The anthropic SDK's AnthropicBedrock sees what boto3 sees, for the same request and seed."""

from __future__ import annotations

import anthropic
import pytest
from anthropic import AnthropicBedrock
from endpoint_support import HAIKU, joined_text, messages_body, stream_chunks

WEATHER_TOOL = {
    "name": "get_weather",
    "description": "Get the current weather for a city.",
    "input_schema": {"type": "object", "properties": {"city": {"type": "string"}}, "required": ["city"]},
}


# The installed anthropic SDK fills in its own first-party version ("2026-10-21") when the body has none;
# Bedrock's documented value is pinned here so the comparison is about streaming, not about that default.
BEDROCK_VERSION = {"anthropic_version": "bedrock-2023-05-31"}


@pytest.fixture(scope="module")
def anthropic_client(server) -> AnthropicBedrock:
    return AnthropicBedrock(base_url=server.endpoint_url, aws_access_key="x", aws_secret_key="y",
                            aws_region="us-east-1", max_retries=0)


@pytest.mark.parametrize(("model_id", "extra"), [
    (HAIKU, {}),
    (HAIKU, {"max_tokens": 9}),
    ("us.anthropic.claude-sonnet-4-6", {"system": "Answer briefly."}),
    ("arn:aws:bedrock:us-east-1:123456789012:inference-profile/global.anthropic.claude-haiku-4-5-20251001-v1:0", {}),
    ("anthropic.claude-opus-4-7", {}),  # Messages-API family: takes the SDK's dated version too
])
def test_same_text_stop_reason_and_usage_as_boto3(client, anthropic_client, model_id, extra) -> None:
    body = messages_body("What is an event stream?", **extra)
    chunks = stream_chunks(client, body, model_id)
    delta = next(c for c in chunks if c["type"] == "message_delta")
    start = chunks[0]["message"]
    kwargs = {k: v for k, v in body.items() if k != "anthropic_version"}
    with anthropic_client.messages.stream(model=model_id, extra_body=BEDROCK_VERSION, **kwargs) as stream:
        text = stream.get_final_text()
        final = stream.get_final_message()
    assert text == joined_text(chunks)
    assert final.stop_reason == delta["delta"]["stop_reason"]
    assert final.usage.output_tokens == delta["usage"]["output_tokens"]
    assert final.usage.input_tokens == start["usage"]["input_tokens"]


def test_sdk_2x_default_version_is_refused_by_an_arn_versioned_model(server, client, anthropic_client) -> None:
    # The 2.x trap: with no extra_body the SDK sends its dated version ("2026-10-21"), which
    # ARN-versioned models such as Haiku 4.5 refuse (exact AWS text unconfirmed).
    body = messages_body("What is an event stream?")
    with pytest.raises(anthropic.BadRequestError) as caught:
        with anthropic_client.messages.stream(model=HAIKU, max_tokens=body["max_tokens"],
                                              messages=body["messages"]) as s:
            s.get_final_text()
    assert "anthropic_version" in str(caught.value) and "fix:" not in str(caught.value)
    sent = server.calls[0]
    assert sent.status == 400 and sent.request_body["anthropic_version"] != "bedrock-2023-05-31"
    # The fix: pass Bedrock's version through extra_body (the SDK only fills it in when missing).
    chunks = stream_chunks(client, body)
    with anthropic_client.messages.stream(model=HAIKU, max_tokens=body["max_tokens"], messages=body["messages"],
                                          extra_body=BEDROCK_VERSION) as s:
        assert s.get_final_text() == joined_text(chunks)


def test_sdk_2x_default_version_is_fine_on_the_messages_api_family(server, anthropic_client) -> None:
    with anthropic_client.messages.stream(model="us.anthropic.claude-opus-4-7", max_tokens=50,
                                          messages=[{"role": "user", "content": "hi"}]) as s:
        assert s.get_final_text()
    assert server.calls[0].status == 200


def test_tool_use_input_matches(client, anthropic_client) -> None:
    body = messages_body("What is the weather in Oslo?", tools=[WEATHER_TOOL],
                         tool_choice={"type": "tool", "name": "get_weather"})
    chunks = stream_chunks(client, body)
    kwargs = {k: v for k, v in body.items() if k != "anthropic_version"}
    with anthropic_client.messages.stream(model=HAIKU, extra_body=BEDROCK_VERSION, **kwargs) as stream:
        final = stream.get_final_message()
    assert final.stop_reason == "tool_use"
    pieces = "".join(c["delta"]["partial_json"] for c in chunks
                     if c["type"] == "content_block_delta" and c["delta"]["type"] == "input_json_delta")
    import json

    assert final.content[-1].input == json.loads(pieces)


def test_anthropic_sdk_surfaces_an_in_stream_exception(server, anthropic_client) -> None:
    server.faults.add(error="modelStreamErrorException", at="event", after=3)
    with pytest.raises(Exception, match="(?i)model stream|modelStreamErrorException"):  # noqa: B017
        with anthropic_client.messages.stream(model=HAIKU, max_tokens=100, extra_body=BEDROCK_VERSION,
                                              messages=[{"role": "user", "content": "hi"}]) as stream:
            stream.get_final_text()


def test_anthropic_sdk_gets_a_typed_rate_limit_error(server, anthropic_client) -> None:
    import anthropic

    server.faults.add(error="ThrottlingException")
    with pytest.raises(anthropic.RateLimitError):
        anthropic_client.messages.create(model=HAIKU, max_tokens=10, messages=[{"role": "user", "content": "hi"}])
