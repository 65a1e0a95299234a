"""Bad requests: each answered with a 400 ValidationException naming the field; the server stays up."""

from __future__ import annotations

import http.client
import json

import pytest
from endpoint_support import HAIKU, LEGACY, messages_body

from helpers.bedrock_rules import MAX_BODY_BYTES
from helpers.local_bedrock import LocalBedrock

OK = messages_body(max_tokens=10)


def _with(**changes) -> dict:
    return {**OK, **changes}


def _without(key: str) -> dict:
    return {k: v for k, v in OK.items() if k != key}


BAD_BODIES = [
    ("malformed json", HAIKU, b'{"anthropic_version": ', "#"),
    ("not an object", HAIKU, b"[1, 2]", "#"),
    ("empty body", HAIKU, b"", "#"),
    ("missing anthropic_version", HAIKU, _without("anthropic_version"), "#/anthropic_version"),
    ("wrong anthropic_version", HAIKU, _with(anthropic_version="bedrock-2024-01-01"), "#/anthropic_version"),
    ("missing max_tokens", HAIKU, _without("max_tokens"), "#/max_tokens"),
    ("max_tokens zero", HAIKU, _with(max_tokens=0), "#/max_tokens"),
    ("max_tokens a string", HAIKU, _with(max_tokens="10"), "#/max_tokens"),
    ("max_tokens above the limit", HAIKU, _with(max_tokens=1_000_000), "#/max_tokens"),
    ("missing messages", HAIKU, _without("messages"), "#/messages"),
    ("empty messages", HAIKU, _with(messages=[]), "#/messages"),
    ("first role assistant", HAIKU, _with(messages=[{"role": "assistant", "content": "hi"}]),
     "#/messages/0/role"),
    ("roles not alternating", HAIKU,
     _with(messages=[{"role": "user", "content": "a"}, {"role": "user", "content": "b"}]),
     'messages: roles must alternate between "user" and "assistant", but found multiple "user" roles in a row'),
    ("unknown role", HAIKU, _with(messages=[{"role": "system", "content": "a"}]), "#/messages/0/role"),
    ("empty content", HAIKU, _with(messages=[{"role": "user", "content": ""}]), "#/messages/0/content"),
    ("empty block list", HAIKU, _with(messages=[{"role": "user", "content": []}]), "#/messages/0/content"),
    ("temperature above 1", HAIKU, _with(temperature=1.5), "#/temperature"),
    ("temperature below 0", HAIKU, _with(temperature=-0.1), "#/temperature"),
    ("top_p above 1", HAIKU, _with(top_p=2), "#/top_p"),
    ("top_k negative", HAIKU, _with(top_k=-1), "#/top_k"),
    ("stop_sequences a string", HAIKU, _with(stop_sequences="END"), "#/stop_sequences"),
    ("first-party key model", HAIKU, _with(model="claude-3-haiku"), "#/model"),
    ("first-party key stream", HAIKU, _with(stream=True), "#/stream"),
    ("system a number", HAIKU, _with(system=5), "#/system"),
    ("tools not a list", HAIKU, _with(tools={"name": "x"}), "#/tools"),
    ("bad tool_choice", HAIKU, _with(tool_choice={"type": "sometimes"}), "#/tool_choice"),
    ("thinking budget not below max_tokens", HAIKU, _with(thinking={"type": "enabled", "budget_tokens": 2000}),
     "#/thinking"),
    ("image with bad media type", HAIKU, _with(messages=[{"role": "user", "content": [
        {"type": "image", "source": {"type": "base64", "media_type": "image/bmp", "data": "aGk="}}]}]),
     "#/messages/0/content/0/source/media_type"),
    ("legacy body to a Messages model", HAIKU,
     {"prompt": "\n\nHuman: hi\n\nAssistant:", "max_tokens_to_sample": 10}, "#/prompt"),
    ("temperature with top_p on Haiku 4.5", HAIKU, _with(temperature=0.5, top_p=0.9),
     "The model returned the following errors: `temperature` and `top_p` cannot both be specified"),
]
# Claude 2.1 reached end of life; its rules still hold on an endpoint judging an earlier day.
LEGACY_BAD_BODIES = [
    ("Messages body to a legacy model", LEGACY, OK, "#/messages: Claude 2.1"),
    ("legacy prompt without turns", LEGACY, {"prompt": "hi", "max_tokens_to_sample": 10}, "#/prompt"),
    ("legacy missing max_tokens_to_sample", LEGACY, {"prompt": "\n\nHuman: hi\n\nAssistant:"},
     "#/max_tokens_to_sample"),
]


@pytest.fixture(scope="module")
def past_server():
    with LocalBedrock(seed=0, time_scale=0, as_of="2025-01-01") as past:
        yield past


@pytest.mark.parametrize(("case", "model_id", "body", "field"), LEGACY_BAD_BODIES,
                         ids=[c[0] for c in LEGACY_BAD_BODIES])
def test_bad_legacy_body_is_a_validation_exception_naming_the_field(past_server, case, model_id, body,
                                                                    field) -> None:
    client = past_server.client()
    with pytest.raises(client.exceptions.ValidationException) as caught:
        client.invoke_model(modelId=model_id, body=json.dumps(body))
    message = caught.value.response["Error"]["Message"]
    assert field in message and "fix:" not in message, message


@pytest.mark.parametrize(("case", "model_id", "body", "field"), BAD_BODIES, ids=[c[0] for c in BAD_BODIES])
def test_bad_body_is_a_validation_exception_naming_the_field(client, server, case, model_id, body, field) -> None:
    raw = body if isinstance(body, bytes) else json.dumps(body).encode()
    for call in (client.invoke_model, client.invoke_model_with_response_stream):
        with pytest.raises(client.exceptions.ValidationException) as caught:
            call(modelId=model_id, body=raw)
        message = caught.value.response["Error"]["Message"]
        assert field in message, message
        assert caught.value.response["ResponseMetadata"]["HTTPStatusCode"] == 400
    assert server.calls[0].error == "ValidationException"
    # still serving
    client.invoke_model(modelId=HAIKU, body=json.dumps(OK))


def test_oversized_body(client) -> None:
    big = json.dumps(_with(system="x" * (MAX_BODY_BYTES + 10)))
    with pytest.raises(client.exceptions.ValidationException, match="(?i)size|large|bytes"):
        client.invoke_model(modelId=HAIKU, body=big)


def test_wrong_content_type_is_refused(server) -> None:
    conn = http.client.HTTPConnection("127.0.0.1", server.port, timeout=10)
    conn.request("POST", f"/model/{HAIKU}/invoke", json.dumps(OK), {"Content-Type": "text/plain"})
    response = conn.getresponse()
    assert response.status == 400
    # Bedrock's header carries its namespace (captures err_invalid_model_*); SDKs keep the part before ':'.
    assert response.getheader("x-amzn-errortype") == (
        "ValidationException:http://internal.amazon.com/coral/com.amazon.bedrock/")
    assert "application/json" in json.loads(response.read())["message"]
    conn.close()


def test_non_json_accept_is_refused(client) -> None:
    with pytest.raises(client.exceptions.ValidationException, match="application/json"):
        client.invoke_model(modelId=HAIKU, body=json.dumps(OK), accept="image/png")
    with pytest.raises(client.exceptions.ValidationException, match="application/json"):
        client.invoke_model_with_response_stream(modelId=HAIKU, body=json.dumps(OK), accept="text/html")


def test_json_accept_and_content_type_are_fine(client) -> None:
    client.invoke_model(modelId=HAIKU, body=json.dumps(OK), accept="application/json",
                        contentType="application/json")


def test_non_anthropic_model_says_what_this_endpoint_serves(client) -> None:
    with pytest.raises(client.exceptions.ClientError, match="Anthropic"):
        client.invoke_model(modelId="meta.llama3-8b-instruct-v1:0", body=json.dumps(OK))


def test_unknown_anthropic_model_gets_bedrocks_error(client) -> None:
    with pytest.raises(client.exceptions.ClientError) as caught:
        client.invoke_model(modelId="anthropic.claude-9-nonsense-v1:0", body=json.dumps(OK))
    assert caught.value.response["Error"]["Code"] in ("ValidationException", "ResourceNotFoundException")


def test_unknown_path_is_a_clear_404(server) -> None:
    conn = http.client.HTTPConnection("127.0.0.1", server.port, timeout=10)
    conn.request("POST", "/models/whatever", "{}")
    response = conn.getresponse()
    assert response.status == 404
    assert "invoke-with-response-stream" in json.loads(response.read())["message"]
    conn.close()
