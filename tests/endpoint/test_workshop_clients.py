"""AWS's own 2026 workshop cell, unchanged but for the base URL, against the local endpoint.

AWS's amazon-bedrock-workshop (``01_Inference_APIs/01_Inference_APIs.ipynb`` §4) calls Claude with the base
anthropic client on bedrock-runtime's ``/anthropic`` route and a short-term key from aws-bedrock-token-generator::

    client = Anthropic(base_url=f"https://bedrock-runtime.{region}.amazonaws.com/anthropic",
                       api_key=provide_token(region=region))
    client.messages.create(model="global.anthropic.claude-haiku-4-5-20251001-v1:0", ...)

and says LangChain's ``ChatAnthropic`` works the same way. Here the same code runs against a room-locked
endpoint (``verify_sigv4``) with the room's key pair in the default credential chain, as a learner's would be;
keys from another pair, expired keys and tampered keys are refused with Bedrock's 403.
"""

from __future__ import annotations

import base64
import datetime
import json
import os
from collections.abc import Iterator
from pathlib import Path
from unittest import mock

import anthropic
import httpx
import pytest
from anthropic import Anthropic
from aws_bedrock_token_generator import provide_token
from botocore.config import Config
from endpoint_support import start_cli
from langchain_anthropic import ChatAnthropic

from helpers.local_bedrock import LocalBedrock

# The course's default model, by the profile id AWS's workshop uses (Haiku 4.5's AWS model card: global profile).
HAIKU = "global.anthropic.claude-haiku-4-5-20251001-v1:0"
KEY, SECRET = "AKIDROOMKEY0000", "room-secret/for+the=workshop"
OTHER_KEY, OTHER_SECRET = "AKIDSOMEONEELSE", "another-secret"
REGION = "us-east-1"
# Bedrock's words for an API key it does not accept (anomalyco/opencode#47073, ai4s-research/open-science#53).
INVALID_KEY = "Authentication failed: Please make sure your API Key is valid."
PROMPT = [{"role": "user", "content": "Name three rivers that cross a border and say which countries they join."}]


def _credential_chain(monkeypatch: pytest.MonkeyPatch, key: str, secret: str) -> None:
    """What a learner's machine holds: the key pair in the environment, nothing else in the chain."""
    for name in ("AWS_SESSION_TOKEN", "AWS_PROFILE", "AWS_BEARER_TOKEN_BEDROCK", "AWS_DEFAULT_REGION"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", os.devnull)
    monkeypatch.setenv("AWS_CONFIG_FILE", os.devnull)
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", key)
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", secret)
    monkeypatch.setenv("AWS_REGION", REGION)


@pytest.fixture(scope="module")
def room() -> Iterator[LocalBedrock]:
    with LocalBedrock(seed=3, time_scale=0, verify_sigv4=(KEY, SECRET)) as running:
        yield running


@pytest.fixture
def learner(monkeypatch: pytest.MonkeyPatch) -> None:
    _credential_chain(monkeypatch, KEY, SECRET)


def _client(endpoint_url: str, api_key: str) -> Anthropic:
    return Anthropic(base_url=f"{endpoint_url}/anthropic", api_key=api_key, max_retries=0)


def _token_made(hours_ago: float) -> str:
    """A key with the longest lifetime (12 h) made ``hours_ago``: botocore's own signer, its clock moved."""
    then = datetime.datetime.now(datetime.UTC) - datetime.timedelta(hours=hours_ago)
    with mock.patch("botocore.auth.get_current_datetime", return_value=then.replace(tzinfo=None)):
        return provide_token(region=REGION)


def _expired_token() -> str:
    return _token_made(13)


def _tampered(token: str, old: str, new: str) -> str:
    url = base64.b64decode(token.removeprefix("bedrock-api-key-")).decode()
    assert old in url, url
    return "bedrock-api-key-" + base64.b64encode(url.replace(old, new, 1).encode()).decode()


# ---- the workshop's cell ----------------------------------------------------------------------------


def test_workshop_cell_runs_unchanged_but_for_the_base_url(room, learner) -> None:
    endpoint_url, region = room.endpoint_url, REGION
    client = Anthropic(base_url=f"{endpoint_url}/anthropic", api_key=provide_token(region=region))
    response = client.messages.create(model=HAIKU, max_tokens=300, messages=PROMPT)
    assert response.type == "message" and response.role == "assistant"
    # The answer names the model as Anthropic does (every Bedrock capture: "claude-…", no profile, no "anthropic.").
    assert response.model == "claude-haiku-4-5-20251001"
    assert response.content[0].type == "text" and response.content[0].text.strip()
    assert response.stop_reason in ("end_turn", "max_tokens") and response.usage.input_tokens > 0


def test_workshop_client_streams(room, learner) -> None:
    client = _client(room.endpoint_url, provide_token(region=REGION))
    with client.messages.stream(model=HAIKU, max_tokens=400, messages=PROMPT) as stream:
        pieces = list(stream.text_stream)
        final = stream.get_final_message()
    assert len(pieces) > 1 and "".join(pieces) == final.content[0].text
    assert final.stop_reason in ("end_turn", "max_tokens") and final.usage.output_tokens > 0


def test_message_delta_usage_is_cumulative_with_input(room, learner) -> None:
    # Anthropic's streaming docs: message_delta's usage counts are cumulative (MessageDeltaUsage.input_tokens:
    # "The cumulative number of input tokens which were used").
    client = _client(room.endpoint_url, provide_token(region=REGION))
    events = list(client.messages.create(model=HAIKU, max_tokens=200, messages=PROMPT, stream=True))
    start = next(e for e in events if e.type == "message_start")
    delta = next(e for e in events if e.type == "message_delta")
    assert delta.usage.input_tokens == start.message.usage.input_tokens > 0
    assert delta.usage.output_tokens >= start.message.usage.output_tokens


def test_default_sdk_headers_are_accepted_whatever_version(room, learner) -> None:
    # 2.17 sends anthropic-version 2026-10-21 (anthropic/_constants.py); 0.x and 1.x sent 2023-06-01.
    token = provide_token(region=REGION)
    for version in ("2026-10-21", "2023-06-01"):
        client = Anthropic(base_url=f"{room.endpoint_url}/anthropic", api_key=token, max_retries=0,
                           default_headers={"anthropic-version": version, "anthropic-beta": "context-1m-2025-08-07"})
        assert client.messages.create(model=HAIKU, max_tokens=50, messages=PROMPT).type == "message"
    client = Anthropic(base_url=f"{room.endpoint_url}/anthropic", api_key=token, max_retries=0,
                       default_headers={"anthropic-version": "2024-02-30"})
    with pytest.raises(anthropic.BadRequestError, match='anthropic-version: "2024-02-30" is not a valid version'):
        client.messages.create(model=HAIKU, max_tokens=50, messages=PROMPT)


def test_token_as_a_bearer_header_is_accepted_too(room, learner) -> None:
    client = Anthropic(base_url=f"{room.endpoint_url}/anthropic", auth_token=provide_token(region=REGION),
                       max_retries=0)
    assert client.messages.create(model=HAIKU, max_tokens=50, messages=PROMPT).stop_reason == "max_tokens"


def test_langchain_chat_anthropic_streams(room, learner) -> None:
    llm = ChatAnthropic(base_url=f"{room.endpoint_url}/anthropic", api_key=provide_token(region=REGION),
                        model=HAIKU, max_tokens=300, max_retries=0)
    chunks = list(llm.stream("Which is heavier, a litre of water or a litre of olive oil, and why?"))
    text = "".join(chunk.text for chunk in chunks)
    assert len(chunks) > 2 and text.strip()
    assert sum(chunk.usage_metadata["output_tokens"] for chunk in chunks if chunk.usage_metadata) > 0


# ---- a locked room judges the key ----------------------------------------------------------------------


def test_a_key_from_another_pair_is_refused(room, monkeypatch) -> None:
    _credential_chain(monkeypatch, OTHER_KEY, OTHER_SECRET)
    with pytest.raises(anthropic.PermissionDeniedError, match=INVALID_KEY) as refused:
        _client(room.endpoint_url, provide_token(region=REGION)).messages.create(
            model=HAIKU, max_tokens=50, messages=PROMPT)
    assert refused.value.status_code == 403  # Bedrock's status for a refused API key
    _credential_chain(monkeypatch, KEY, "not-the-room-secret")  # the room's key id, another secret
    with pytest.raises(anthropic.PermissionDeniedError, match=INVALID_KEY):
        _client(room.endpoint_url, provide_token(region=REGION)).messages.create(
            model=HAIKU, max_tokens=50, messages=PROMPT)


def test_an_expired_key_is_refused(room, learner) -> None:
    with pytest.raises(anthropic.PermissionDeniedError, match="expired"):
        _client(room.endpoint_url, _expired_token()).messages.create(model=HAIKU, max_tokens=50, messages=PROMPT)
    # 11 hours old: still inside its 12 hours (aws-bedrock-token-generator's TOKEN_DURATION = 43200 s).
    assert _client(room.endpoint_url, _token_made(11)).messages.create(
        model=HAIKU, max_tokens=20, messages=PROMPT).type == "message"


def test_a_key_dated_ahead_of_the_clock_is_refused(room, learner) -> None:
    # The rule for a signed X-Amz-Date header: more than 15 minutes from the server's clock is refused.
    with pytest.raises(anthropic.PermissionDeniedError, match="ahead of the server's clock"):
        _client(room.endpoint_url, _token_made(-1)).messages.create(model=HAIKU, max_tokens=50, messages=PROMPT)


@pytest.mark.parametrize(("old", "new"), [
    ("X-Amz-Expires=43200", "X-Amz-Expires=43199"),  # a signed parameter changed
    ("%2Fus-east-1%2F", "%2Fus-west-2%2F"),  # another region in the credential scope
    ("X-Amz-Signature=", "X-Amz-Signature=0"),  # the signature itself
    ("&Version=1", "&Version=1&Extra=1"),  # something added
])
def test_a_tampered_key_is_refused(room, learner, old, new) -> None:
    token = _tampered(provide_token(region=REGION), old, new)
    with pytest.raises(anthropic.PermissionDeniedError, match=INVALID_KEY):
        _client(room.endpoint_url, token).messages.create(model=HAIKU, max_tokens=50, messages=PROMPT)


def test_garbage_after_the_prefix_is_refused_not_crashed(room) -> None:
    for token in ("bedrock-api-key-", "bedrock-api-key-%%%", "bedrock-api-key-" + base64.b64encode(b"\xff").decode()):
        response = httpx.post(f"{room.anthropic_base_url}/v1/messages", headers={
            "x-api-key": token, "anthropic-version": "2023-06-01"}, json={"model": HAIKU})
        assert response.status_code == 403 and INVALID_KEY in response.json()["error"]["message"]


def test_the_key_is_a_bearer_token_on_invoke_model_and_converse(room, learner) -> None:
    # AWS's API keys go in Authorization: Bearer on bedrock-runtime (boto3 sends AWS_BEARER_TOKEN_BEDROCK so,
    # over HTTPS only: here httpx sends it as curl would).
    token = provide_token(region=REGION)
    body = {"anthropic_version": "bedrock-2023-05-31", "max_tokens": 60, "messages": PROMPT}
    invoke = httpx.post(f"{room.endpoint_url}/model/{HAIKU}/invoke", json=body,
                        headers={"authorization": f"Bearer {token}"})
    assert invoke.status_code == 200 and invoke.json()["type"] == "message"
    converse = httpx.post(f"{room.endpoint_url}/model/{HAIKU}/converse",
                          json={"messages": [{"role": "user", "content": [{"text": "Hello there"}]}]},
                          headers={"authorization": f"Bearer {token}"})
    assert converse.status_code == 200 and converse.json()["output"]["message"]["role"] == "assistant"
    refused = httpx.post(f"{room.endpoint_url}/model/{HAIKU}/invoke", json=body,
                         headers={"authorization": f"Bearer {_expired_token()}"})
    # InvokeModel's shape: {"message": ...} and the error type in x-amzn-ErrorType.
    assert refused.status_code == 403 and refused.headers["x-amzn-errortype"].startswith("AccessDeniedException")
    assert refused.json()["message"].startswith(INVALID_KEY)


def test_nothing_of_a_key_is_logged(room, learner) -> None:
    good, expired = provide_token(region=REGION), _expired_token()
    secrets = []
    for token in (good, expired):
        encoded = token.removeprefix("bedrock-api-key-")
        signature = base64.b64decode(encoded).decode().split("X-Amz-Signature=")[1][:64]
        secrets += [token, encoded, signature]
    for token in (good, expired):
        httpx.post(f"{room.anthropic_base_url}/v1/messages", json={"model": HAIKU, "max_tokens": 20,
                                                                  "messages": PROMPT},
                   headers={"x-api-key": token, "anthropic-version": "2023-06-01"})
    log = json.dumps([call.as_dict() for call in room.calls])
    assert "Messages" in log and not [s for s in secrets if s in log]


def test_console_and_cassette_hold_nothing_of_a_key(tmp_path: Path, monkeypatch) -> None:
    _credential_chain(monkeypatch, KEY, SECRET)
    cassette = tmp_path / "room.jsonl"
    with LocalBedrock(seed=1, time_scale=0) as upstream:
        process, url = start_cli("--time-scale", "0", "--verify-sigv4", f"{KEY}:{SECRET}", "--record", str(cassette),
                                 "--upstream", upstream.endpoint_url)
        try:
            tokens = [provide_token(region=REGION), _expired_token()]
            body = {"anthropic_version": "bedrock-2023-05-31", "max_tokens": 40, "messages": PROMPT}
            statuses = [httpx.post(f"{url}/model/{HAIKU}/invoke", json=body,
                                   headers={"authorization": f"Bearer {t}"}).status_code for t in tokens]
            statuses.append(httpx.post(f"{url}/anthropic/v1/messages", json={**body, "model": HAIKU},
                                       headers={"x-api-key": tokens[0], "anthropic-version": "2023-06-01"}).status_code)
        finally:
            process.terminate()
            out, err = process.communicate(timeout=30)
    assert statuses[:2] == [200, 403]
    written = cassette.read_text() + out + err
    assert '"exchange"' in written
    for token in tokens:
        assert token not in written and token.removeprefix("bedrock-api-key-")[:40] not in written


# ---- the course's default model on all three wires -------------------------------------------------------


def test_default_model_streams_on_all_three_wires(server) -> None:
    client = server.client(config=Config(retries={"mode": "standard", "total_max_attempts": 1}))
    body = {"anthropic_version": "bedrock-2023-05-31", "max_tokens": 200, "messages": PROMPT}
    stream = client.invoke_model_with_response_stream(modelId=HAIKU, body=json.dumps(body))["body"]
    chunks = [json.loads(event["chunk"]["bytes"]) for event in stream if "chunk" in event]
    invoke_text = "".join(c["delta"].get("text", "") for c in chunks if c["type"] == "content_block_delta")
    assert invoke_text and chunks[-1]["type"] == "message_stop"

    converse = client.converse_stream(modelId=HAIKU, messages=[{"role": "user", "content": [{"text": PROMPT[0][
        "content"]}]}], inferenceConfig={"maxTokens": 200})["stream"]
    events = list(converse)
    converse_text = "".join(e["contentBlockDelta"]["delta"].get("text", "") for e in events if "contentBlockDelta" in e)
    assert converse_text and "metadata" in events[-1]

    sdk = Anthropic(base_url=server.anthropic_base_url, api_key="local", max_retries=0)
    with sdk.messages.stream(model=HAIKU, max_tokens=200, messages=PROMPT) as sse:
        sse_text = "".join(sse.text_stream)
    assert sse_text
    # One model behind three wires: the same prompt, seed and limits give the same words on each.
    assert invoke_text == sse_text


# ---- which ids each host takes ------------------------------------------------------------------------------


def test_runtime_takes_profile_ids_and_refuses_a_bare_id_as_invoke_model_does(room, learner) -> None:
    client = _client(room.endpoint_url, provide_token(region=REGION))
    assert client.messages.create(model="us.anthropic.claude-haiku-4-5-20251001-v1:0", max_tokens=30,
                                  messages=PROMPT).model == "claude-haiku-4-5-20251001"
    # Bedrock's on-demand refusal (errors pasted in terricain/aioboto3#352), typographic apostrophe included.
    with pytest.raises(anthropic.BadRequestError, match="with on-demand throughput isn’t supported"):
        client.messages.create(model="anthropic.claude-haiku-4-5-20251001-v1:0", max_tokens=30, messages=PROMPT)
    with pytest.raises(anthropic.BadRequestError, match="The provided model identifier is invalid"):
        client.messages.create(model="anthropic.claude-haiku-4-5", max_tokens=30, messages=PROMPT)


def test_mantle_takes_the_bare_short_id(room) -> None:
    # AnthropicBedrockMantle signs for bedrock-mantle (anthropic/lib/bedrock/_mantle.py); short ids there are
    # unconfirmed (bedrock_rules/model_ids.py, MANTLE_SHORT_IDS).
    client = anthropic.AnthropicBedrockMantle(base_url=room.anthropic_base_url, aws_region=REGION, max_retries=0,
                                              aws_access_key=KEY, aws_secret_key=SECRET)
    answer = client.messages.create(model="anthropic.claude-haiku-4-5", max_tokens=30, messages=PROMPT)
    assert answer.model == "claude-haiku-4-5-20251001" and answer.content[0].text


@pytest.mark.parametrize(("host", "status"), [
    ("bedrock-mantle.us-east-1.api.aws", 200),
    ("bedrock-runtime.us-east-1.amazonaws.com", 400),
])
def test_the_host_a_request_names_decides_the_short_id(server, host, status) -> None:
    response = httpx.post(f"{server.anthropic_base_url}/v1/messages", json={
        "model": "anthropic.claude-haiku-4-5", "max_tokens": 20, "messages": PROMPT},
        headers={"host": host, "x-api-key": "any", "anthropic-version": "2023-06-01"})
    assert response.status_code == status, response.text
