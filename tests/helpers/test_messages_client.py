"""``helpers.client.messages_client``: the anthropic SDK's base ``Anthropic`` client on the Messages API route
with a short-term key from ``aws-bedrock-token-generator``, as AWS's 2026 workshop builds it
(aws-samples/amazon-bedrock-workshop, 01_Inference_APIs/01_Inference_APIs.ipynb §4).

Real clients against the real local endpoint on loopback. The token's shape is read from
aws-bedrock-token-generator 1.1.0's ``token_generator.py``: ``bedrock-api-key-`` + base64 of a SigV4
query-presigned URL for ``bedrock.amazonaws.com/?Action=CallWithBearerToken…&Version=1``.
"""

from __future__ import annotations

import base64
from collections.abc import Iterator
from urllib.parse import parse_qs, urlsplit

import pytest

from helpers.client import messages_client
from helpers.local_bedrock import LocalBedrock

HAIKU = "global.anthropic.claude-haiku-4-5-20251001-v1:0"  # the course default, and the workshop's model
SONNET_55 = "global.anthropic.claude-sonnet-5-5"  # a Messages-API-family model
QUESTION = [{"role": "user", "content": "Which birds migrate the farthest?"}]


def _token_fields(token: str) -> dict[str, str]:
    assert token.startswith("bedrock-api-key-"), token[:20]
    url = base64.b64decode(token.removeprefix("bedrock-api-key-")).decode()
    assert url.startswith("bedrock.amazonaws.com/?") and url.endswith("&Version=1"), url[:40]
    query = parse_qs(urlsplit("https://" + url).query)
    return {key: values[0] for key, values in query.items()}


@pytest.fixture
def no_aws_env(monkeypatch: pytest.MonkeyPatch) -> pytest.MonkeyPatch:
    for name in ("BEDROCK_BACKEND", "AWS_ENDPOINT_URL_BEDROCK_RUNTIME", "AWS_REGION", "AWS_DEFAULT_REGION",
                 "AWS_PROFILE", "AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN",
                 "ANTHROPIC_BASE_URL", "ANTHROPIC_API_KEY"):
        monkeypatch.delenv(name, raising=False)
    return monkeypatch


@pytest.fixture(scope="module")
def stand_in() -> Iterator[LocalBedrock]:
    """A second endpoint standing in for AWS, reached as boto3 would through AWS_ENDPOINT_URL_BEDROCK_RUNTIME."""
    with LocalBedrock(seed=0, time_scale=0.0) as running:
        yield running


def test_the_course_default_model_streams_through_the_factory(no_aws_env) -> None:
    # The workshop's own call, streamed: Haiku 4.5 by its global profile on …/anthropic.
    client = messages_client("local", seed=0, time_scale=0)
    with client.messages.stream(model=HAIKU, max_tokens=300, messages=QUESTION) as stream:
        text = "".join(stream.text_stream)
        final = stream.get_final_message()
    assert final.stop_reason == "end_turn" and text and final.usage.output_tokens > 0
    # The answer names the model as Anthropic does, not by the profile id (every InvokeModel capture does so).
    assert final.model == "claude-haiku-4-5-20251001"


def test_a_messages_api_model_streams_tool_use_through_the_factory(no_aws_env) -> None:
    client = messages_client("local", seed=0, time_scale=0)
    weather = {"name": "get_weather", "description": "Current weather for a city",
               "input_schema": {"type": "object", "properties": {"city": {"type": "string"}}, "required": ["city"]}}
    with client.messages.stream(model=SONNET_55, max_tokens=300, tools=[weather],
                                tool_choice={"type": "tool", "name": "get_weather"},
                                messages=[{"role": "user", "content": "Is it raining in Lima?"}]) as stream:
        kinds = {event.type for event in stream}
        final = stream.get_final_message()
    assert "input_json" in kinds and final.stop_reason == "tool_use"
    assert final.content[-1].name == "get_weather" and isinstance(final.content[-1].input["city"], str)


def test_local_client_targets_the_embedded_endpoint_with_a_short_term_key(no_aws_env) -> None:
    client = messages_client("local", region="eu-west-3", seed=0, time_scale=0)
    assert str(client.base_url).rstrip("/").endswith("/anthropic")
    assert urlsplit(str(client.base_url)).hostname == "127.0.0.1"
    fields = _token_fields(client.api_key)
    assert fields["Action"] == "CallWithBearerToken"
    # Credential scope: key id / date / region / service "bedrock" / aws4_request (SigV4 query signing).
    key_id, _day, region, service, terminal = fields["X-Amz-Credential"].split("/")
    assert (key_id, region, service, terminal) == ("local", "eu-west-3", "bedrock", "aws4_request")
    assert int(fields["X-Amz-Expires"]) == 12 * 3600  # provide_token's default: the 12-hour maximum


def test_aws_client_is_the_workshops_call(no_aws_env) -> None:
    no_aws_env.setenv("AWS_ACCESS_KEY_ID", "AKIDEXAMPLEWORKSHOP")
    no_aws_env.setenv("AWS_SECRET_ACCESS_KEY", "secret-for-signing-only")
    client = messages_client("aws", region="us-west-2", seed=3, time_scale=0.5)  # lesson parameters: ignored
    assert str(client.base_url).rstrip("/") == "https://bedrock-runtime.us-west-2.amazonaws.com/anthropic"
    key_id, _day, region, service, _ = _token_fields(client.api_key)["X-Amz-Credential"].split("/")
    assert (key_id, region, service) == ("AKIDEXAMPLEWORKSHOP", "us-west-2", "bedrock")
    with pytest.raises(ValueError, match="only apply to the local backend"):
        messages_client("aws", region="us-west-2", latency="fast")


def test_aws_client_follows_the_endpoint_variable_boto3_follows(no_aws_env, stand_in) -> None:
    no_aws_env.setenv("AWS_ENDPOINT_URL_BEDROCK_RUNTIME", stand_in.endpoint_url)
    no_aws_env.setenv("AWS_ACCESS_KEY_ID", "room")
    no_aws_env.setenv("AWS_SECRET_ACCESS_KEY", "room-secret")
    client = messages_client("aws", region="us-east-1")
    assert str(client.base_url).rstrip("/") == stand_in.anthropic_base_url
    answer = client.messages.create(model=SONNET_55, max_tokens=200, messages=QUESTION)
    assert answer.stop_reason == "end_turn" and answer.content[0].text
    assert stand_in.calls[0].model_id == SONNET_55
