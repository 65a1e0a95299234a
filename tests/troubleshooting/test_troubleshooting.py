"""Every reproduction in docs/troubleshooting.md, run as written there: real boto3 and anthropic SDK clients
against the local endpoint. Each test is named after the entry it reproduces; the expected texts are the ones
the entry quotes (Bedrock's own words, from the public reports it cites)."""

from __future__ import annotations

import asyncio
import json

import anthropic
import pytest
import urllib3.exceptions
from botocore.config import Config
from botocore.exceptions import ClientError, EventStreamError

from helpers.local_bedrock import LocalBedrock

pytestmark = pytest.mark.timeout(120)

HAIKU = "global.anthropic.claude-haiku-4-5-20251001-v1:0"
SONNET_45 = "global.anthropic.claude-sonnet-4-5-20250929-v1:0"
OPUS_47 = "global.anthropic.claude-opus-4-7"
MESSAGES_MODEL = "global.anthropic.claude-sonnet-5-5"
FINE_GRAINED = "fine-grained-tool-streaming-2025-05-14"
WEATHER = {"name": "get_weather", "description": "Weather for a city",
           "input_schema": {"type": "object", "properties": {"city": {"type": "string"},
                                                             "unit": {"type": "string", "enum": ["c", "f"]}},
                            "required": ["city", "unit"]}}


def body(prompt: str = "Describe a glacier", max_tokens: int = 300, **extra: object) -> str:
    return json.dumps({"anthropic_version": "bedrock-2023-05-31", "max_tokens": max_tokens,
                       "messages": [{"role": "user", "content": prompt}], **extra})


def chunks_of(client, model_id: str, raw: str) -> list[dict]:
    response = client.invoke_model_with_response_stream(modelId=model_id, body=raw)
    return [json.loads(event["chunk"]["bytes"]) for event in response["body"]]


# -- 1. a mid-stream error arrives untyped and is never retried ------------------------------------------------------

def test_mid_stream_error_is_an_untyped_event_stream_error_and_is_not_retried(fast: LocalBedrock) -> None:
    client = fast.client()
    before = fast.calls[0].id if fast.calls else 0
    fast.faults.add({"error": "throttlingException", "at": "event", "after": 3})
    response = client.invoke_model_with_response_stream(modelId=HAIKU, body=body())
    with pytest.raises(EventStreamError) as caught:
        for _ in response["body"]:
            pass
    assert caught.value.response["Error"]["Code"] == "throttlingException"  # lowerCamel: not ThrottlingException
    assert not isinstance(caught.value, client.exceptions.ThrottlingException)
    assert [c.error for c in fast.calls if c.id > before] == ["throttlingException"]  # botocore#3126: not retried


def test_mid_stream_error_reaches_anthropic_bedrock_untyped_and_is_not_retried(fast: LocalBedrock) -> None:
    sdk = anthropic.AnthropicBedrock(base_url=fast.endpoint_url, aws_region="us-east-1", aws_access_key="local",
                                     aws_secret_key="local")  # its default: 2 retries
    before = fast.calls[0].id if fast.calls else 0
    fast.faults.add({"error": "internalServerException", "at": "event", "after": 3})
    # anthropic 2.17.0 raises the generic APIStatusError naming the frame's type (before the fix of
    # anthropic-sdk-python#1477: a bare ValueError "Bad response code, expected 200"), not InternalServerError.
    with pytest.raises(anthropic.APIStatusError, match="internalServerException") as caught:
        with sdk.messages.stream(model=HAIKU, max_tokens=300, messages=[{"role": "user", "content": "Hi"}],
                                 extra_body={"anthropic_version": "bedrock-2023-05-31"}) as stream:
            for _ in stream:
                pass
    assert not isinstance(caught.value, anthropic.InternalServerError)
    assert len([c for c in fast.calls if c.id > before]) == 1


# -- 2. new models refuse temperature / top_p, or thinking.type enabled -----------------------------------------------

@pytest.mark.parametrize(("model_id", "extra", "words"), [
    (SONNET_45, {"temperature": 0.5, "top_p": 0.9}, "`temperature` and `top_p` cannot both be specified"),
    (OPUS_47, {"temperature": 0.5}, "`temperature` is deprecated for this model"),
    (OPUS_47, {"thinking": {"type": "enabled", "budget_tokens": 1024}}, '"thinking.type.enabled" is not supported'),
    (SONNET_45, {"thinking": {"type": "adaptive"}}, "adaptive thinking is not supported on this model"),
])
def test_new_models_refuse_old_sampling_and_thinking_fields(fast: LocalBedrock, model_id: str, extra: dict,
                                                            words: str) -> None:
    with pytest.raises(ClientError) as caught:
        fast.client().invoke_model_with_response_stream(modelId=model_id, body=body(**extra))
    assert caught.value.response["Error"]["Code"] == "ValidationException"
    assert words in caught.value.response["Error"]["Message"]


# -- 3. model id, inference profile, Legacy and end-of-life errors --------------------------------------------------

@pytest.mark.parametrize(("model_id", "code", "words"), [
    ("anthropic.claude-sonnet-4-6", "ValidationException", "with on-demand throughput isn’t supported"),
    ("anthropic.claude-3-haiku-20240307-v1:0", "ResourceNotFoundException", "has reached the end of its life"),
    ("global.anthropic.claude-haiku-9", "ValidationException", "The provided model identifier is invalid."),
])
def test_model_id_errors(fast: LocalBedrock, model_id: str, code: str, words: str) -> None:
    with pytest.raises(ClientError) as caught:
        fast.client().invoke_model_with_response_stream(modelId=model_id, body=body())
    assert caught.value.response["Error"]["Code"] == code
    assert words in caught.value.response["Error"]["Message"]


def test_a_legacy_model_on_an_inactive_account() -> None:
    with LocalBedrock(seed=0, time_scale=0, inactive_account=True) as endpoint:
        with pytest.raises(ClientError) as caught:
            endpoint.client().invoke_model_with_response_stream(modelId="us.anthropic.claude-sonnet-4-20250514-v1:0",
                                                                body=body())
    assert caught.value.response["Error"]["Code"] == "ResourceNotFoundException"
    assert "marked by provider as Legacy" in caught.value.response["Error"]["Message"]


# -- 4. read timeouts on long or slow streams ------------------------------------------------------------------------

def test_a_silence_longer_than_read_timeout_fails_mid_stream_and_is_not_retried(fast: LocalBedrock) -> None:
    client = fast.client(config=Config(read_timeout=0.5, retries={"mode": "standard"}))
    before = fast.calls[0].id if fast.calls else 0
    fast.faults.add({"error": "stall", "at": "event", "after": 3, "seconds": 2})
    response = client.invoke_model_with_response_stream(modelId=HAIKU, body=body())
    with pytest.raises(urllib3.exceptions.ReadTimeoutError, match="Read timed out"):
        for _ in response["body"]:
            pass
    assert [c.operation for c in fast.calls if c.id > before] == ["InvokeModelWithResponseStream"]


# -- 5. a thinking signature lost or altered between turns -------------------------------------------------------

THINKING_PROMPT = "Plan a three-day walking trip around Lisbon"


def _thinking_turn(client) -> list[dict]:
    """Stream a thinking answer and keep every block as it came, as StreamResult.assistant_message() does."""
    raw = json.dumps({"anthropic_version": "bedrock-2023-05-31", "max_tokens": 2048,
                      "thinking": {"type": "enabled", "budget_tokens": 1024},
                      "messages": [{"role": "user", "content": THINKING_PROMPT}]})
    blocks: dict[int, dict] = {}
    for chunk in chunks_of(client, HAIKU, raw):
        if chunk["type"] == "content_block_start":
            blocks[chunk["index"]] = dict(chunk["content_block"])
        elif chunk["type"] == "content_block_delta":
            block, delta = blocks[chunk["index"]], chunk["delta"]
            if delta["type"] == "thinking_delta":
                block["thinking"] = block.get("thinking", "") + delta["thinking"]
            elif delta["type"] == "signature_delta":
                block["signature"] = block.get("signature", "") + delta["signature"]
            elif delta["type"] == "text_delta":
                block["text"] = block.get("text", "") + delta["text"]
    return [blocks[i] for i in sorted(blocks)]


def _next_turn(client, assistant: list[dict]) -> None:
    raw = json.dumps({"anthropic_version": "bedrock-2023-05-31", "max_tokens": 2048,
                      "thinking": {"type": "enabled", "budget_tokens": 1024},
                      "messages": [{"role": "user", "content": THINKING_PROMPT},
                                   {"role": "assistant", "content": assistant},
                                   {"role": "user", "content": "Make day two shorter"}]})
    chunks_of(client, HAIKU, raw)


def test_a_thinking_turn_sent_back_unchanged_is_accepted(fast: LocalBedrock) -> None:
    client = fast.client()
    assistant = _thinking_turn(client)
    assert [b["type"] for b in assistant][0] == "thinking" and assistant[0]["signature"]
    _next_turn(client, assistant)  # no error: the history came back exactly as it was sent


@pytest.mark.parametrize(("damage", "words"), [
    # The bug users hit most: history rebuilt from thinking_delta text alone, signature_delta dropped.
    # "Field required" at thinking.signature: can1357/oh-my-pi#10486 (Bedrock, 2026-09).
    ("drop the signature", "messages.1.content.0.thinking.signature: Field required"),
    # Thinking text edited (or re-joined wrongly) between turns: ding113/claude-code-hub#518, kaitranntt/ccs#415.
    ("edit the thinking", "messages.1.content.0: Invalid `signature` in `thinking` block"),
])
def test_a_thinking_block_lost_or_altered_between_turns_is_a_400(fast: LocalBedrock, damage: str,
                                                                  words: str) -> None:
    client = fast.client()
    assistant = _thinking_turn(client)
    if damage == "drop the signature":
        assistant[0] = {"type": "thinking", "thinking": assistant[0]["thinking"]}
    else:
        assistant[0] = {**assistant[0], "thinking": assistant[0]["thinking"] + " "}
    with pytest.raises(ClientError) as caught:
        _next_turn(client, assistant)
    assert caught.value.response["ResponseMetadata"]["HTTPStatusCode"] == 400
    assert caught.value.response["Error"]["Code"] == "ValidationException"
    message = caught.value.response["Error"]["Message"]
    assert message.startswith("The model returned the following errors: ")
    assert words in message


# -- 6. tool arguments in one late burst without fine-grained tool streaming ------------------------------------------

def tool_deltas(chunks: list[dict]) -> list[str]:
    return [c["delta"]["partial_json"] for c in chunks
            if c["type"] == "content_block_delta" and c["delta"]["type"] == "input_json_delta"
            and c["delta"]["partial_json"]]


def test_tool_input_is_buffered_without_the_fine_grained_beta(fast: LocalBedrock) -> None:
    client = fast.client()
    ask = {"tools": [WEATHER], "tool_choice": {"type": "tool", "name": "get_weather"}}
    buffered = tool_deltas(chunks_of(client, HAIKU, body("Weather in Oslo, in celsius?", **ask)))
    fine = tool_deltas(chunks_of(client, HAIKU, body("Weather in Oslo, in celsius?", anthropic_beta=[FINE_GRAINED],
                                                     **ask)))
    assert 1 <= len(buffered) <= 2 < 4 <= len(fine)
    assert json.loads("".join(buffered)) == json.loads("".join(fine))


def test_the_messages_route_takes_the_beta_as_a_header(fast: LocalBedrock) -> None:
    sdk = anthropic.Anthropic(base_url=fast.anthropic_base_url, api_key="local", max_retries=0)

    def deltas(headers: dict) -> list[str]:
        with sdk.messages.stream(model=MESSAGES_MODEL, max_tokens=300, tools=[WEATHER],
                                 tool_choice={"type": "tool", "name": "get_weather"}, extra_headers=headers,
                                 messages=[{"role": "user", "content": "Weather in Oslo, in celsius?"}]) as stream:
            return [e.delta.partial_json for e in stream
                    if e.type == "content_block_delta" and e.delta.type == "input_json_delta" and e.delta.partial_json]

    assert len(deltas({})) <= 2 and len(deltas({"anthropic-beta": FINE_GRAINED})) >= 4


# -- 7. a stream buffered whole by async code that iterates a blocking body -------------------------------------------

def test_async_code_iterating_a_blocking_body_holds_the_event_loop(paced: LocalBedrock) -> None:
    client = paced.client()
    raw = body("Describe a glacier [[length=40]]")

    def read_all() -> list:
        return list(client.invoke_model_with_response_stream(modelId=HAIKU, body=raw)["body"])

    async def main() -> tuple[int, int]:
        ticks = 0
        done = asyncio.Event()

        async def ticker() -> None:  # stands for every other request the app serves
            nonlocal ticks
            while not done.is_set():
                ticks += 1
                await asyncio.sleep(0.005)

        task = asyncio.create_task(ticker())
        await asyncio.sleep(0)
        before = ticks
        read_all()  # inside a coroutine, but blocking: nothing else on the loop runs meanwhile
        blocked = ticks - before
        before = ticks
        await asyncio.to_thread(read_all)  # the fix: the blocking read in a thread
        freed = ticks - before
        done.set()
        await task
        return blocked, freed

    blocked, freed = asyncio.run(main())
    assert blocked == 0 and freed > 0


# -- 8. cache and usage counts "missing" from a stream ---------------------------------------------------------------

def test_where_usage_and_cache_counts_live_on_each_wire(fast: LocalBedrock) -> None:
    client = fast.client()
    # Above Haiku 4.5's 4,096-token minimum for a cache checkpoint (AWS prompt caching guide).
    system = [{"type": "text", "text": "Glaciers and ice sheets, in detail. " * 900,
               "cache_control": {"type": "ephemeral"}}]
    chunks_of(client, HAIKU, body("Describe a glacier", system=system))  # writes the cache
    chunks = chunks_of(client, HAIKU, body("Describe a glacier", system=system))  # reads it
    start = next(c for c in chunks if c["type"] == "message_start")["message"]["usage"]
    delta = next(c for c in chunks if c["type"] == "message_delta")["usage"]
    metrics = next(c for c in chunks if c["type"] == "message_stop")["amazon-bedrock-invocationMetrics"]
    assert start["cache_read_input_tokens"] > 4096 and "input_tokens" in start
    assert delta["output_tokens"] > 0  # output tokens only at the end, in message_delta
    assert metrics["cacheReadInputTokenCount"] == start["cache_read_input_tokens"]
    assert metrics["outputTokenCount"] == delta["output_tokens"]

    converse_request = {
        "modelId": HAIKU, "inferenceConfig": {"maxTokens": 300},
        "system": [{"text": "Glaciers and ice sheets, in detail. " * 900}, {"cachePoint": {"type": "default"}}],
        "messages": [{"role": "user", "content": [{"text": "Describe a glacier"}]}]}
    list(client.converse_stream(**converse_request)["stream"])  # writes the cache
    events = list(client.converse_stream(**converse_request)["stream"])  # reads it
    usage = next(e["metadata"]["usage"] for e in events if "metadata" in e)  # only in the last event
    assert usage["cacheReadInputTokens"] > 4096 and usage["outputTokens"] > 0


# -- 9. an HTTP 200 stream that carries an error chunk (interface built on branch i20a) -------------------------------

def test_an_http_200_stream_can_carry_an_error_chunk(fast: LocalBedrock) -> None:
    from helpers.errors import StreamThrottled
    from helpers.stream import invoke_stream

    client = fast.client()
    fault = {"error": "rate_limit_error", "at": "event", "after": 0, "operation": "InvokeModelWithResponseStream"}
    fast.faults.add(fault)
    response = client.invoke_model_with_response_stream(modelId=HAIKU, body=body())
    assert response["ResponseMetadata"]["HTTPStatusCode"] == 200
    chunks = [json.loads(event["chunk"]["bytes"]) for event in response["body"]]
    assert chunks[0]["type"] == "error" and chunks[0]["error"]["type"] == "rate_limit_error"  # #1472's shape
    fast.faults.add(fault)
    with pytest.raises(StreamThrottled):
        invoke_stream(client, HAIKU, body()).consume()


# -- 10. throttling: "Too many tokens, please wait before trying again." ----------------------------------------------

def test_throttling_before_the_stream_is_retried_then_raised(fast: LocalBedrock) -> None:
    client = fast.client(config=Config(retries={"mode": "standard", "total_max_attempts": 3}))
    fast.faults.add({"error": "ThrottlingException", "times": 3,
                     "message": "Too many tokens, please wait before trying again."})
    with pytest.raises(client.exceptions.ThrottlingException, match="Too many tokens, please wait"):
        client.invoke_model_with_response_stream(modelId=HAIKU, body=body())
    throttled = [c for c in fast.calls[:3] if c.error == "ThrottlingException"]
    assert len(throttled) == 3  # botocore's standard mode retried it twice before raising
