"""Unmodified clients against the Messages API route: the anthropic SDK's ``Anthropic`` and
``AnthropicBedrockMantle``, and a raw request signed with botocore's ``SigV4Auth`` read with httpx.

Open and locked endpoints both: a locked one accepts the credentials it was given and refuses others with
Anthropic's 401 ``authentication_error``.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import anthropic
import httpx
import pytest
from botocore.auth import SigV4Auth
from botocore.awsrequest import AWSRequest
from botocore.credentials import Credentials
from sse_support import parse_sse

from helpers.local_bedrock import LocalBedrock

MODEL = "global.anthropic.claude-sonnet-5-5"
OPUS = "us.anthropic.claude-opus-4-7"
KEY, SECRET = "AKIDLOCALTEST", "local-secret/with+base64ish=chars"
TOKEN = "room-key-for-tests"
WEATHER_TOOL = {
    "name": "get_weather",
    "description": "Current weather for a city",
    "input_schema": {"type": "object", "properties": {"city": {"type": "string"}}, "required": ["city"]},
}
HI = [{"role": "user", "content": "What is streaming?"}]


@pytest.fixture(scope="module")
def sdk(server: LocalBedrock) -> anthropic.Anthropic:
    return anthropic.Anthropic(base_url=server.anthropic_base_url, api_key="local", max_retries=0)


@pytest.fixture(scope="module")
def sigv4_server() -> Iterator[LocalBedrock]:
    with LocalBedrock(seed=0, time_scale=0, verify_sigv4=(KEY, SECRET)) as running:
        yield running


@pytest.fixture(scope="module")
def token_server() -> Iterator[LocalBedrock]:
    with LocalBedrock(seed=0, time_scale=0, bearer_token=TOKEN) as running:
        yield running


def _mantle(server: LocalBedrock, **auth: Any) -> anthropic.AnthropicBedrockMantle:
    return anthropic.AnthropicBedrockMantle(base_url=server.anthropic_base_url, aws_region="us-east-1",
                                            max_retries=0, **auth)


def _signed(server: LocalBedrock, body: dict, *, service: str = "bedrock", secret: str = SECRET) -> httpx.Request:
    """What the lesson shows: botocore signs, httpx sends (boto3 has no operation for this route)."""
    url = f"{server.anthropic_base_url}/v1/messages"
    request = AWSRequest(method="POST", url=url, data=json.dumps(body).encode(),
                         headers={"content-type": "application/json", "anthropic-version": "2023-06-01"})
    SigV4Auth(Credentials(KEY, secret), service, "us-east-1").add_auth(request)
    return httpx.Request("POST", url, content=request.body, headers=dict(request.headers.items()))


# ---- the anthropic SDK, pointed at the local endpoint ------------------------------------------------


def test_sdk_streams_text_with_every_event_type(sdk) -> None:
    with sdk.messages.stream(model=MODEL, max_tokens=300, messages=HI) as stream:
        seen = [event.type for event in stream]
        final = stream.get_final_message()
    assert {"message_start", "content_block_start", "text", "content_block_stop", "message_delta",
            "message_stop"} <= set(seen)
    assert final.stop_reason == "end_turn" and final.usage.output_tokens > 0
    assert final.content[0].text == sdk.messages.create(model=MODEL, max_tokens=300, messages=HI).content[0].text


def test_sdk_raw_events_skip_pings_and_keep_the_whole_text(sdk) -> None:
    events = list(sdk.messages.create(model=MODEL, max_tokens=300, messages=HI, stream=True))
    assert events[0].type == "message_start" and events[-1].type == "message_stop"
    # The SDK drops "ping" before yielding (anthropic 2.17.0, _streaming.py: `if sse.event == "ping":
    # continue`), though the endpoint sends one: a reader of raw events never has to skip them.
    assert "ping" not in {e.type for e in events}
    streamed = "".join(e.delta.text for e in events if e.type == "content_block_delta")
    assert streamed == sdk.messages.create(model=MODEL, max_tokens=300, messages=HI).content[0].text != ""


def test_sdk_streams_tool_use(sdk) -> None:
    with sdk.messages.stream(model=MODEL, max_tokens=300, tools=[WEATHER_TOOL],
                             tool_choice={"type": "tool", "name": "get_weather"},
                             messages=[{"role": "user", "content": "Weather in Oslo?"}]) as stream:
        final = stream.get_final_message()
    assert final.stop_reason == "tool_use"
    tool = final.content[-1]
    assert tool.type == "tool_use" and tool.name == "get_weather" and isinstance(tool.input["city"], str)


def test_sdk_streams_thinking(sdk) -> None:
    with sdk.messages.stream(model=OPUS, max_tokens=4000, thinking={"type": "adaptive"},
                             output_config={"effort": "high"}, messages=HI) as stream:
        kinds = {event.type for event in stream}
        final = stream.get_final_message()
    assert "thinking" in kinds and "signature" in kinds
    assert final.content[0].type == "thinking" and final.content[0].thinking and final.content[0].signature
    assert final.content[-1].type == "text"


@pytest.mark.parametrize(("max_tokens", "extra", "prompt", "stop_reason"), [
    (5, {}, "What is streaming?", "max_tokens"),
    (300, {"stop_sequences": ["streaming"]}, "What is streaming?", "stop_sequence"),
    (300, {}, "Rivers [[refusal]]", "refusal"),
    (300, {}, "Rivers [[pause_turn]]", "pause_turn"),
    (300, {}, "Rivers [[context_window_exceeded]]", "model_context_window_exceeded"),
])
def test_sdk_sees_stop_reasons(sdk, max_tokens, extra, prompt, stop_reason) -> None:
    with sdk.messages.stream(model=MODEL, max_tokens=max_tokens, messages=[{"role": "user", "content": prompt}],
                             **extra) as stream:
        assert stream.get_final_message().stop_reason == stop_reason


def test_sdk_raises_on_an_in_band_overloaded_error(server, sdk) -> None:
    server.faults.add(error="overloaded_error", at="event", after=5)
    with pytest.raises(anthropic.APIStatusError, match="(?i)overloaded") as caught:
        with sdk.messages.stream(model=MODEL, max_tokens=300, messages=HI) as stream:
            for _ in stream:
                pass
    assert caught.value.body["error"]["type"] == "overloaded_error"


def test_sdk_gets_typed_errors_before_the_stream(server, sdk) -> None:
    with pytest.raises(anthropic.BadRequestError, match="temperature"):  # SDK 2.x's version refuses sampling
        sdk.messages.create(model=MODEL, max_tokens=50, messages=HI, extra_body={"temperature": 1})
    with pytest.raises(anthropic.NotFoundError, match="end of its life"):  # Claude 3 Haiku: EOL 2026-09-10
        sdk.messages.create(model="us.anthropic.claude-3-haiku-20240307-v1:0", max_tokens=50, messages=HI)
    server.faults.add(error="ThrottlingException", operation="MessagesStream")
    with pytest.raises(anthropic.RateLimitError):
        with sdk.messages.stream(model=MODEL, max_tokens=50, messages=HI) as stream:
            stream.get_final_message()


# ---- auth --------------------------------------------------------------------------------------------


def test_mantle_client_signs_with_sigv4_and_is_accepted(sigv4_server) -> None:
    client = _mantle(sigv4_server, aws_access_key=KEY, aws_secret_key=SECRET)
    with client.messages.stream(model=MODEL, max_tokens=200, messages=HI) as stream:
        assert stream.get_final_message().stop_reason == "end_turn"


def test_cli_prints_the_base_url_the_mantle_client_reads(monkeypatch: pytest.MonkeyPatch) -> None:
    # `python -m helpers.local_bedrock` prints the exports; a client built from them alone reaches the route.
    env = {k: v for k, v in os.environ.items() if not k.startswith(("AWS_", "ANTHROPIC_"))}
    process = subprocess.Popen([sys.executable, "-m", "helpers.local_bedrock", "--port", "0", "--time-scale", "0"],
                               cwd=Path(__file__).resolve().parents[2], env=env, stdout=subprocess.PIPE,
                               stderr=subprocess.PIPE, text=True)
    try:
        assert process.stdout is not None
        exports: dict[str, str] = {}
        while "ANTHROPIC_BEDROCK_MANTLE_BASE_URL" not in exports:
            line = process.stdout.readline()
            assert line, f"CLI ended early or printed no Messages API base URL: {exports}"
            if line.startswith("export "):
                name, _, value = line.removeprefix("export ").strip().partition("=")
                exports[name] = value
        base = exports["ANTHROPIC_BEDROCK_MANTLE_BASE_URL"]
        assert base == exports["AWS_ENDPOINT_URL_BEDROCK_RUNTIME"] + "/anthropic"
        for name in ("ANTHROPIC_BEDROCK_MANTLE_BASE_URL", "AWS_REGION", "AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY"):
            monkeypatch.setenv(name, exports[name])
        client = anthropic.AnthropicBedrockMantle(max_retries=0)
        with client.messages.stream(model=MODEL, max_tokens=200, messages=HI) as stream:
            assert stream.get_final_message().stop_reason == "end_turn"
    finally:
        process.terminate()
        process.wait(timeout=30)


def test_mantle_client_with_a_wrong_secret_is_refused(sigv4_server) -> None:
    client = _mantle(sigv4_server, aws_access_key=KEY, aws_secret_key="wrong")
    with pytest.raises(anthropic.AuthenticationError, match="signature"):
        client.messages.create(model=MODEL, max_tokens=50, messages=HI)


def test_mantle_client_with_an_api_key_sends_bearer(token_server) -> None:
    good = _mantle(token_server, api_key=TOKEN)
    assert good.messages.create(model=MODEL, max_tokens=50, messages=HI).stop_reason == "max_tokens"
    with pytest.raises(anthropic.AuthenticationError, match="API Key"):
        _mantle(token_server, api_key="not-the-key").messages.create(model=MODEL, max_tokens=50, messages=HI)


def test_x_api_key_is_checked_like_a_bearer_key(token_server) -> None:
    good = anthropic.Anthropic(base_url=token_server.anthropic_base_url, api_key=TOKEN, max_retries=0)
    assert good.messages.create(model=MODEL, max_tokens=50, messages=HI).type == "message"
    bad = anthropic.Anthropic(base_url=token_server.anthropic_base_url, api_key="guess", max_retries=0)
    with pytest.raises(anthropic.AuthenticationError):
        bad.messages.create(model=MODEL, max_tokens=50, messages=HI)


def test_both_credentials_at_once_are_refused(server) -> None:
    # The SDK itself refuses api_key= with auth_token=, so send what a hand-made client might.
    response = httpx.post(f"{server.anthropic_base_url}/v1/messages",
                          json={"model": MODEL, "max_tokens": 50, "messages": HI},
                          headers={"anthropic-version": "2023-06-01", "x-api-key": "k", "authorization": "Bearer t"})
    assert response.status_code == 401 and "not both" in response.json()["error"]["message"]


def test_no_credentials_on_a_locked_endpoint_is_refused(sigv4_server) -> None:
    response = httpx.post(f"{sigv4_server.anthropic_base_url}/v1/messages", json={"model": MODEL},
                          headers={"anthropic-version": "2023-06-01"})
    assert response.status_code == 401 and response.json()["error"]["type"] == "authentication_error"


@pytest.mark.parametrize("service", ["bedrock", "bedrock-mantle"])
def test_raw_sigv4_request_streams_over_httpx(sigv4_server, service) -> None:
    body = {"model": MODEL, "max_tokens": 200, "stream": True, "messages": HI}
    with httpx.Client() as http:
        response = http.send(_signed(sigv4_server, body, service=service))
    assert response.status_code == 200, response.text
    events = parse_sse(response.content)
    assert events[0].event == "message_start" and events[-1].event == "message_stop"


def test_raw_sigv4_request_for_another_service_is_refused(sigv4_server) -> None:
    with httpx.Client() as http:
        response = http.send(_signed(sigv4_server, {"model": MODEL}, service="s3"))
    assert response.status_code == 401 and "bedrock" in response.json()["error"]["message"]
