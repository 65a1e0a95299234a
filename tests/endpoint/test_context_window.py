"""An input longer than the model's context window is refused before any answer, on every route.

Expected values written by hand from the sources: Claude Haiku 4.5 and Claude Sonnet 5.5 have context windows
of 200,000 and 1,000,000 tokens (Anthropic's model tables for Bedrock, BEDROCK-2026.md); Bedrock answers
400 ValidationException "The model returned the following errors: prompt is too long: 200049 tokens > 200000
maximum" (an error pasted in daisuke-awaji/moca#254, 2026-03), and Anthropic's Messages API the same words
as an invalid_request_error (entropy-research/Devon#88). The Converse wording is unconfirmed (the same text).

The inputs are real: a long text repeated, counted by the endpoint's token counter like any prompt.
"""

from __future__ import annotations

import json
import re

import httpx
import pytest
from endpoint_support import HAIKU, messages_body

from helpers.local_bedrock import LocalBedrock

# " tide" is one token; 250,000 of them are well over Haiku 4.5's 200,000, 190,000 of them well under.
OVER_200K = " tide" * 250_000
UNDER_200K = " tide" * 190_000
TOO_LONG = re.compile(r"The model returned the following errors: prompt is too long: (\d+) tokens > 200000 maximum")


def _tokens_named(message: str, pattern: re.Pattern[str] = TOO_LONG) -> int:
    match = pattern.fullmatch(message)
    assert match, message
    return int(match.group(1))


@pytest.mark.parametrize("operation", ["invoke_model", "invoke_model_with_response_stream"])
def test_invoke_refuses_an_input_over_the_context_window(client, server, operation) -> None:
    with pytest.raises(client.exceptions.ValidationException) as caught:
        getattr(client, operation)(modelId=HAIKU, body=json.dumps(messages_body(OVER_200K, max_tokens=50)))
    assert caught.value.response["ResponseMetadata"]["HTTPStatusCode"] == 400
    assert 250_000 <= _tokens_named(caught.value.response["Error"]["Message"]) < 260_000
    call = server.calls[0]
    assert (call.status, call.error, call.sent_ms) == (400, "ValidationException", [])


def test_the_system_prompt_counts_toward_the_window(client) -> None:
    body = messages_body("Summarise the text above.", max_tokens=50, system=OVER_200K)
    with pytest.raises(client.exceptions.ValidationException, match="prompt is too long"):
        client.invoke_model(modelId=HAIKU, body=json.dumps(body))


def test_an_input_just_under_the_window_is_answered(client) -> None:
    response = client.invoke_model(modelId=HAIKU, body=json.dumps(messages_body(UNDER_200K, max_tokens=20)))
    answer = json.loads(response["body"].read())
    assert 190_000 <= answer["usage"]["input_tokens"] < 200_000
    assert answer["stop_reason"] in ("end_turn", "max_tokens")


def test_converse_stream_refuses_it_too(client) -> None:
    with pytest.raises(client.exceptions.ValidationException) as caught:
        client.converse_stream(modelId=HAIKU, messages=[{"role": "user", "content": [{"text": OVER_200K}]}],
                               inferenceConfig={"maxTokens": 50})
    assert 250_000 <= _tokens_named(caught.value.response["Error"]["Message"]) < 260_000


def test_the_messages_route_answers_in_anthropics_words() -> None:
    # A 1M-token model: 1,100,000 one-token words (about 5.5 MB of text, under Bedrock's 25 MB body limit).
    body = {"model": "global.anthropic.claude-sonnet-5-5", "max_tokens": 50, "stream": True,
            "messages": [{"role": "user", "content": " tide" * 1_100_000}]}
    with LocalBedrock(seed=0, time_scale=0) as server:
        response = httpx.post(f"{server.anthropic_base_url}/v1/messages", content=json.dumps(body).encode(),
                              headers={"content-type": "application/json", "anthropic-version": "2023-06-01"},
                              timeout=60)
    assert response.status_code == 400
    error = response.json()["error"]
    assert error["type"] == "invalid_request_error"
    named = _tokens_named(error["message"], re.compile(r"prompt is too long: (\d+) tokens > 1000000 maximum"))
    assert 1_100_000 <= named < 1_110_000
