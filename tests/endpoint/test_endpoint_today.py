"""Today's Bedrock through real boto3 and the anthropic SDK: body rules with their exact words, prompt caching,
the newer stop reasons, redacted thinking, ids, CountTokens, echoed headers and the lifecycle switches."""

from __future__ import annotations

import base64
import json
import re
from typing import Any

import anthropic
import pytest
from anthropic import AnthropicBedrock
from endpoint_support import HAIKU, joined_text, messages_body, stream_chunks

from helpers.local_bedrock import LocalBedrock

SONNET_46 = "global.anthropic.claude-sonnet-4-6"
OPUS_47 = "global.anthropic.claude-opus-4-7"
BEDROCK_VERSION = {"anthropic_version": "bedrock-2023-05-31"}
MODEL_SAYS = "The model returned the following errors: "


@pytest.fixture
def fresh() -> Any:
    """A server of its own (prompt cache and call numbers start empty)."""
    with LocalBedrock(seed=0, time_scale=0) as server:
        yield server


def _error(client: Any, model_id: str, body: dict) -> tuple[int, str, str]:
    with pytest.raises(client.exceptions.ClientError) as caught:
        client.invoke_model(modelId=model_id, body=json.dumps(body))
    response = caught.value.response
    return response["ResponseMetadata"]["HTTPStatusCode"], response["Error"]["Code"], response["Error"]["Message"]


# --------------------------------------------------------------------------- body rules, exact words

RULES = [
    ("temperature and top_p on a 4.5 model", HAIKU, messages_body(temperature=0.5, top_p=0.9),
     MODEL_SAYS + "`temperature` and `top_p` cannot both be specified for this model. Please use only one."),
    ("temperature on Opus 4.7", OPUS_47, messages_body(temperature=0.5),
     MODEL_SAYS + "`temperature` is deprecated for this model."),
    ("top_k on Opus 4.7", OPUS_47, messages_body(top_k=5), MODEL_SAYS + "`top_k` is deprecated for this model."),
    ("adaptive thinking on Haiku 4.5", HAIKU, messages_body(max_tokens=3000, thinking={"type": "adaptive"}),
     MODEL_SAYS + "adaptive thinking is not supported on this model"),
    ("budget thinking on Opus 4.7", OPUS_47,
     messages_body(max_tokens=3000, thinking={"type": "enabled", "budget_tokens": 1024}),
     MODEL_SAYS + '"thinking.type.enabled" is not supported for this model. Use "thinking.type.adaptive" and '
                  '"output_config.effort" to control thinking behavior.'),
    ("effort on a model without it", HAIKU, messages_body(output_config={"effort": "low"}),
     MODEL_SAYS + "output_config.effort: effort is not supported on this model"),
    ("effort level the model lacks", SONNET_46, messages_body(output_config={"effort": "xhigh"}),
     'Malformed input request: #/output_config/effort: "xhigh" is not a valid enum value, please reformat your '
     "input and try again."),
    ("SDK 2.x version on an ARN-versioned model", HAIKU, messages_body(anthropic_version="2026-10-21"),
     "Malformed input request: #/anthropic_version: 2026-10-21 is not a supported anthropic_version for this "
     "model, please reformat your input and try again."),
    ("top-level cache_control on the legacy integration", HAIKU,
     messages_body(cache_control={"type": "ephemeral"}),
     "Malformed input request: #/cache_control: extraneous key [cache_control] is not permitted, please reformat "
     "your input and try again."),
    ("five cache checkpoints", HAIKU, messages_body(system=[
        {"type": "text", "text": f"part {i}", "cache_control": {"type": "ephemeral"}} for i in range(5)]),
     MODEL_SAYS + "A maximum of 4 blocks with cache_control may be provided. Found 5."),
    ("roles that do not alternate", HAIKU,
     messages_body(messages=[{"role": "user", "content": "a"}, {"role": "user", "content": "b"}]),
     'messages: roles must alternate between "user" and "assistant", but found multiple "user" roles in a row'),
    ("a schema problem", HAIKU, messages_body(temperature=1.5),
     "Malformed input request: #/temperature: 1.5 is not within 0 and 1, please reformat your input and try again."),
]


@pytest.mark.parametrize(("case", "model_id", "body", "message"), RULES, ids=[r[0] for r in RULES])
def test_body_rule_answers_with_bedrocks_words(client, case, model_id, body, message) -> None:
    assert _error(client, model_id, body) == (400, "ValidationException", message)


@pytest.mark.parametrize(("model_id", "body"), [
    (SONNET_46, messages_body(max_tokens=3000, thinking={"type": "adaptive"}, output_config={"effort": "low"})),
    (SONNET_46, messages_body(max_tokens=3000, thinking={"type": "enabled", "budget_tokens": 1024})),  # deprecated
    (HAIKU, messages_body(temperature=0.2)),
    (OPUS_47, messages_body(temperature=1)),  # the default value is no change
    (OPUS_47, messages_body(cache_control={"type": "ephemeral"})),  # automatic caching on the Messages family
])
def test_what_today_s_models_accept(client, model_id, body) -> None:
    answer = json.loads(client.invoke_model(modelId=model_id, body=json.dumps(body))["body"].read())
    assert answer["stop_reason"] == "end_turn"


def test_adaptive_thinking_thinks_more_at_higher_effort(client) -> None:
    def thinking_tokens(effort: str) -> int:
        body = messages_body(max_tokens=8000, thinking={"type": "adaptive"}, output_config={"effort": effort})
        answer = json.loads(client.invoke_model(modelId=SONNET_46, body=json.dumps(body))["body"].read())
        return sum(len(b["thinking"]) for b in answer["content"] if b["type"] == "thinking")

    assert thinking_tokens("low") == 0 < thinking_tokens("high")


# --------------------------------------------------------------------------- prompt caching

LONG_SYSTEM = "Rivers carry water from the hills to the sea. " * 700  # over Haiku 4.5's 4,096-token minimum


def _cached_body(ttl: str | None = None, text: str = LONG_SYSTEM) -> dict:
    control = {"type": "ephemeral", **({"ttl": ttl} if ttl else {})}
    return messages_body(system=[{"type": "text", "text": text, "cache_control": control}])


def _invoke(client: Any, body: dict, model_id: str = HAIKU) -> tuple[dict, dict]:
    response = client.invoke_model(modelId=model_id, body=json.dumps(body))
    return json.loads(response["body"].read()), response["ResponseMetadata"]["HTTPHeaders"]


def test_cache_is_written_then_read_within_its_ttl(fresh) -> None:
    client = fresh.client()
    first, first_headers = _invoke(client, _cached_body())
    second, second_headers = _invoke(client, _cached_body())
    written = first["usage"]["cache_creation_input_tokens"]
    assert written >= 4096 and first["usage"]["cache_read_input_tokens"] == 0
    assert first["usage"]["cache_creation"] == {"ephemeral_5m_input_tokens": written, "ephemeral_1h_input_tokens": 0}
    assert (first_headers["x-amzn-bedrock-cache-write-input-token-count"],
            first_headers["x-amzn-bedrock-cache-read-input-token-count"]) == (str(written), "0")
    assert second["usage"]["cache_read_input_tokens"] == written
    assert second["usage"]["cache_creation_input_tokens"] == 0
    assert (second_headers["x-amzn-bedrock-cache-write-input-token-count"],
            second_headers["x-amzn-bedrock-cache-read-input-token-count"]) == ("0", str(written))
    # The uncached rest is billed as input tokens, on the body and the header alike.
    assert second["usage"]["input_tokens"] == int(second_headers["x-amzn-bedrock-input-token-count"]) < 100
    assert list(first["usage"]) == ["input_tokens", "cache_creation_input_tokens", "cache_read_input_tokens",
                                    "cache_creation", "output_tokens"]


def test_stream_metrics_carry_the_cache_counts_when_caching_was_asked_for(fresh) -> None:
    client = fresh.client()
    plain = stream_chunks(client, messages_body())[-1]["amazon-bedrock-invocationMetrics"]
    assert "cacheReadInputTokenCount" not in plain and "cacheWriteInputTokenCount" not in plain
    first = stream_chunks(client, _cached_body())
    second = stream_chunks(client, _cached_body())
    written = first[0]["message"]["usage"]["cache_creation_input_tokens"]
    assert written >= 4096
    first_metrics = first[-1]["amazon-bedrock-invocationMetrics"]
    second_metrics = second[-1]["amazon-bedrock-invocationMetrics"]
    assert (first_metrics["cacheWriteInputTokenCount"], first_metrics["cacheReadInputTokenCount"]) == (written, 0)
    assert (second_metrics["cacheWriteInputTokenCount"], second_metrics["cacheReadInputTokenCount"]) == (0, written)


def test_one_hour_ttl_is_reported_apart(fresh) -> None:
    first, _ = _invoke(fresh.client(), _cached_body("1h"))
    assert first["usage"]["cache_creation"]["ephemeral_1h_input_tokens"] == first["usage"][
        "cache_creation_input_tokens"] > 0


def test_nothing_is_cached_below_the_model_minimum(fresh) -> None:
    client = fresh.client()
    for _ in range(2):
        answer, headers = _invoke(client, _cached_body(text="A short system prompt."))
        assert answer["usage"]["cache_creation_input_tokens"] == answer["usage"]["cache_read_input_tokens"] == 0
        assert headers["x-amzn-bedrock-cache-read-input-token-count"] == "0"
    # Sonnet 4.6 caches from 1,024 tokens, where Haiku 4.5 needs 4,096.
    text = "Rivers carry water. " * 300
    _invoke(client, _cached_body(text=text), SONNET_46)
    again, _ = _invoke(client, _cached_body(text=text), SONNET_46)
    assert again["usage"]["cache_read_input_tokens"] > 1024


def test_cache_expires_after_its_ttl() -> None:
    from helpers.bedrock_rules import MODELS
    from helpers.local_bedrock.model.prompt_cache import PromptCache

    now = [0.0]
    cache = PromptCache(clock=lambda: now[0])
    haiku = MODELS["anthropic.claude-haiku-4-5-20251001-v1:0"]
    written = cache.use(haiku, _cached_body()).write
    now[0] = 299.0
    assert cache.use(haiku, _cached_body()).read == written  # a hit refreshes the entry
    now[0] = 299.0 + 301.0
    assert cache.use(haiku, _cached_body()).write == written  # five quiet minutes later: written again


def test_converse_cache_point_and_usage_keys(fresh) -> None:
    client = fresh.client()
    request = {"modelId": HAIKU, "system": [{"text": LONG_SYSTEM}, {"cachePoint": {"type": "default"}}],
               "messages": [{"role": "user", "content": [{"text": "hi"}]}]}
    first = client.converse(**request)["usage"]
    second = client.converse(**request)["usage"]
    assert first["cacheWriteInputTokens"] > 0 and first["cacheReadInputTokens"] == 0
    assert second["cacheReadInputTokens"] == first["cacheWriteInputTokens"] and second["cacheWriteInputTokens"] == 0
    assert second["totalTokens"] == second["inputTokens"] + second["outputTokens"] + second["cacheReadInputTokens"]


def test_converse_raw_usage_has_the_2026_duplicate_keys(fresh) -> None:
    import http.client

    conn = http.client.HTTPConnection("127.0.0.1", fresh.port, timeout=10)
    conn.request("POST", f"/model/{HAIKU}/converse", json.dumps({"messages": [{"role": "user", "content": [
        {"text": "hi"}]}]}), {"Content-Type": "application/json"})
    usage = json.loads(conn.getresponse().read())["usage"]
    conn.close()
    assert list(usage) == ["cacheReadInputTokenCount", "cacheReadInputTokens", "cacheWriteInputTokenCount",
                           "cacheWriteInputTokens", "inputTokens", "outputTokens", "serverToolUsage", "totalTokens"]


# --------------------------------------------------------------------------- stop reasons and redacted thinking


@pytest.fixture(scope="module")
def sdk(server) -> AnthropicBedrock:
    return AnthropicBedrock(base_url=server.endpoint_url, aws_access_key="x", aws_secret_key="y",
                            aws_region="us-east-1", max_retries=0)


@pytest.mark.parametrize(("directive", "stop_reason"), [
    ("[[refusal]]", "refusal"),
    ("[[pause_turn]]", "pause_turn"),
    ("[[context_window_exceeded]]", "model_context_window_exceeded"),
])
def test_newer_stop_reasons_by_directive(client, sdk, directive, stop_reason) -> None:
    body = messages_body(f"Tell me about rivers. {directive}")
    chunks = stream_chunks(client, body, HAIKU)
    delta = next(c for c in chunks if c["type"] == "message_delta")["delta"]
    assert delta["stop_reason"] == stop_reason
    whole = json.loads(client.invoke_model(modelId=HAIKU, body=json.dumps(body))["body"].read())
    assert whole["stop_reason"] == stop_reason
    kwargs = {k: v for k, v in body.items() if k != "anthropic_version"}
    with sdk.messages.stream(model=HAIKU, extra_body=BEDROCK_VERSION, **kwargs) as stream:
        final = stream.get_final_message()
    assert final.stop_reason == stop_reason
    if stop_reason == "refusal":
        # HTTP 200, with the details of the refusal
        assert delta["stop_details"]["type"] == whole["stop_details"]["type"] == "refusal"
        # It names a category, one of those the anthropic SDK 2.17.0 lists (types/refusal_stop_details.py).
        assert delta["stop_details"]["category"] in ("cyber", "bio", "frontier_llm", "reasoning_extraction",
                                                     "general_harms")
        assert final.stop_details.category == delta["stop_details"]["category"]
        assert "endpoint" not in delta["stop_details"]["explanation"]
        assert final.stop_details is not None and final.stop_details.type == "refusal"
    assert stream_chunks(client, messages_body("Tell me about rivers."), HAIKU)  # directive text is not echoed
    assert directive not in joined_text(chunks)


def test_refusal_is_content_filtered_on_converse(client) -> None:
    response = client.converse(modelId=HAIKU, messages=[{"role": "user", "content": [{"text": "x [[refusal]]"}]}])
    assert response["stopReason"] == "content_filtered"


def test_redacted_thinking_on_demand(client, sdk) -> None:
    body = messages_body("Why do rivers meander? [[redacted_thinking]]", max_tokens=3000,
                         thinking={"type": "enabled", "budget_tokens": 1024})
    whole = json.loads(client.invoke_model(modelId=HAIKU, body=json.dumps(body))["body"].read())
    assert [b["type"] for b in whole["content"]][:2] == ["redacted_thinking", "thinking"]
    assert base64.b64decode(whole["content"][0]["data"])
    chunks = stream_chunks(client, body, HAIKU)
    starts = [c["content_block"] for c in chunks if c["type"] == "content_block_start"]
    assert starts[0]["type"] == "redacted_thinking" and starts[0]["data"]
    kwargs = {k: v for k, v in body.items() if k != "anthropic_version"}
    with sdk.messages.stream(model=HAIKU, extra_body=BEDROCK_VERSION, **kwargs) as stream:
        final = stream.get_final_message()
    assert final.content[0].type == "redacted_thinking"
    events = list(client.converse_stream(
        modelId=HAIKU, messages=[{"role": "user", "content": [{"text": "Why? [[redacted_thinking]]"}]}],
        inferenceConfig={"maxTokens": 3000},
        additionalModelRequestFields={"thinking": {"type": "enabled", "budget_tokens": 1024}})["stream"])
    redacted = [e for e in events if "contentBlockDelta" in e
                and "redactedContent" in e["contentBlockDelta"]["delta"].get("reasoningContent", {})]
    assert len(redacted) == 1
    asked = [{"role": "user", "content": [{"text": "Why? [[redacted_thinking]]"}]}]
    answer = client.converse(modelId=HAIKU, messages=asked,
                             inferenceConfig={"maxTokens": 3000},
                             additionalModelRequestFields={"thinking": {"type": "enabled", "budget_tokens": 1024}})
    assert "redactedContent" in answer["output"]["message"]["content"][0]["reasoningContent"]


# --------------------------------------------------------------------------- ids and model names


def test_ids_have_bedrocks_form_and_differ_on_every_call(client) -> None:
    body = messages_body("What is the weather in Paris?", tools=[{
        "name": "get_weather", "input_schema": {"type": "object", "properties": {"city": {"type": "string"}}}}],
        tool_choice={"type": "tool", "name": "get_weather"})
    answers = [json.loads(client.invoke_model(modelId=HAIKU, body=json.dumps(body))["body"].read())
               for _ in range(3)]
    message_ids = [a["id"] for a in answers]
    tool_ids = [a["content"][-1]["id"] for a in answers]
    assert all(re.fullmatch(r"msg_bdrk_01[0-9A-Za-z]{22}", i) for i in message_ids)
    assert all(re.fullmatch(r"toolu_bdrk_01[0-9A-Za-z]{22}", i) for i in tool_ids)
    assert len(set(message_ids)) == len(set(tool_ids)) == 3
    assert {a["model"] for a in answers} == {"claude-haiku-4-5-20251001"}
    converse = client.converse(modelId=HAIKU, messages=[{"role": "user", "content": [{"text": "Weather in Oslo?"}]}],
                               toolConfig={"tools": [{"toolSpec": {"name": "get_weather", "inputSchema": {"json": {
                                   "type": "object", "properties": {"city": {"type": "string"}}}}}}],
                                   "toolChoice": {"tool": {"name": "get_weather"}}})
    tool_use = converse["output"]["message"]["content"][-1]["toolUse"]
    assert re.fullmatch(r"tooluse_[0-9A-Za-z]{22}", tool_use["toolUseId"])


def test_stream_metrics_count_fewer_output_tokens_than_usage_on_tool_use(client) -> None:
    # Real tool-use streams report invocationMetrics.outputTokenCount below usage.output_tokens (captures: 90 vs
    # 134 with two tool calls, 72 vs 88 with one); text answers report them equal.
    from helpers.local_bedrock.model.operations import METRICS_TOOL_CALL_GAP_TOKENS

    tools = [{"name": "get_weather", "input_schema": {"type": "object", "properties": {"city": {"type": "string"}}}}]
    chunks = stream_chunks(client, messages_body("What is the weather in Paris?", tools=tools,
                                                 tool_choice={"type": "tool", "name": "get_weather"}))
    usage = chunks[-2]["usage"]["output_tokens"]
    calls = sum(1 for c in chunks if c["type"] == "content_block_start" and c["content_block"]["type"] == "tool_use")
    assert chunks[-2]["delta"]["stop_reason"] == "tool_use" and calls >= 1
    assert chunks[-1]["amazon-bedrock-invocationMetrics"]["outputTokenCount"] == max(
        1, usage - METRICS_TOOL_CALL_GAP_TOKENS * calls) < usage
    text = stream_chunks(client, messages_body("What is the capital of France?"))
    assert text[-1]["amazon-bedrock-invocationMetrics"]["outputTokenCount"] == text[-2]["usage"]["output_tokens"]


def test_ids_repeat_for_the_same_seed_and_call_number() -> None:
    def ids() -> list[str]:
        with LocalBedrock(seed=7, time_scale=0) as server:
            client = server.client()
            return [json.loads(client.invoke_model(modelId=HAIKU, body=json.dumps(messages_body()))["body"].read())[
                "id"] for _ in range(2)]

    first, again = ids(), ids()
    assert first == again and first[0] != first[1]


def test_converse_stream_first_tool_delta_is_empty_and_no_bedrock_content_type(server) -> None:
    client = server.client()
    response = client.converse_stream(
        modelId=HAIKU, messages=[{"role": "user", "content": [{"text": "Weather in Oslo?"}]}],
        toolConfig={"tools": [{"toolSpec": {"name": "get_weather", "inputSchema": {"json": {
            "type": "object", "properties": {"city": {"type": "string"}}}}}}],
            "toolChoice": {"tool": {"name": "get_weather"}}})
    assert "x-amzn-bedrock-content-type" not in response["ResponseMetadata"]["HTTPHeaders"]
    deltas = [e["contentBlockDelta"]["delta"]["toolUse"]["input"] for e in response["stream"]
              if "contentBlockDelta" in e and "toolUse" in e["contentBlockDelta"]["delta"]]
    assert deltas[0] == "" and isinstance(json.loads("".join(deltas)), dict)


# --------------------------------------------------------------------------- CountTokens and echoed headers


def test_count_tokens_for_an_invoke_model_body_and_a_converse_request(client) -> None:
    body = messages_body("How many tokens is this?")
    counted = client.count_tokens(modelId=HAIKU, input={"invokeModel": {"body": json.dumps(body)}})["inputTokens"]
    answer = json.loads(client.invoke_model(modelId=HAIKU, body=json.dumps(body))["body"].read())
    assert counted == answer["usage"]["input_tokens"] > 0
    converse = client.count_tokens(modelId=HAIKU, input={"converse": {"messages": [
        {"role": "user", "content": [{"text": "How many tokens is this?"}]}]}})["inputTokens"]
    assert converse > 0
    with pytest.raises(client.exceptions.ResourceNotFoundException, match="end of its life"):
        client.count_tokens(modelId="anthropic.claude-3-haiku-20240307-v1:0",
                            input={"invokeModel": {"body": json.dumps(body)}})


def test_service_tier_and_latency_are_echoed(client) -> None:
    body = json.dumps(messages_body())
    response = client.invoke_model(modelId=HAIKU, body=body, serviceTier="flex", performanceConfigLatency="standard")
    assert (response["serviceTier"], response["performanceConfigLatency"]) == ("flex", "standard")
    streamed = client.invoke_model_with_response_stream(modelId=HAIKU, body=body, serviceTier="priority")
    assert streamed["serviceTier"] == "priority"
    list(streamed["body"])


# --------------------------------------------------------------------------- lifecycle switches


def test_as_of_serves_models_retired_since() -> None:
    claude_3_haiku = "anthropic.claude-3-haiku-20240307-v1:0"
    with LocalBedrock(seed=0, time_scale=0, as_of="2026-01-01") as past:
        answer = json.loads(past.client().invoke_model(modelId=claude_3_haiku, body=json.dumps(
            messages_body()))["body"].read())
        assert answer["model"] == "claude-3-haiku-20240307"
    with LocalBedrock(seed=0, time_scale=0) as today:
        assert _error(today.client(), claude_3_haiku, messages_body())[:2] == (404, "ResourceNotFoundException")
    with pytest.raises(ValueError, match="as_of"):
        LocalBedrock(as_of="last year")


def test_inactive_account_refuses_legacy_models() -> None:
    sonnet_4 = "us.anthropic.claude-sonnet-4-20250514-v1:0"  # Legacy on Bedrock
    with LocalBedrock(seed=0, time_scale=0) as active:
        active.client().invoke_model(modelId=sonnet_4, body=json.dumps(messages_body()))
    with LocalBedrock(seed=0, time_scale=0, inactive_account=True) as inactive:
        status, code, message = _error(inactive.client(), sonnet_4, messages_body())
        assert (status, code) == (404, "ResourceNotFoundException")
        assert message.startswith("Access denied. This Model is marked by provider as Legacy and you have not been "
                                  "actively using the model in the last 15 days.")
        inactive.client().invoke_model(modelId=HAIKU, body=json.dumps(messages_body()))  # Active: served


def test_anthropic_sdk_gets_typed_errors_despite_the_error_type_suffix(sdk) -> None:
    with pytest.raises(anthropic.NotFoundError, match="end of its life"):
        sdk.messages.create(model="us.anthropic.claude-3-haiku-20240307-v1:0", max_tokens=5,
                            messages=[{"role": "user", "content": "hi"}], extra_body=BEDROCK_VERSION)
    with pytest.raises(anthropic.BadRequestError, match="on-demand throughput"):
        sdk.messages.create(model="anthropic.claude-haiku-4-5-20251001-v1:0", max_tokens=5,
                            messages=[{"role": "user", "content": "hi"}], extra_body=BEDROCK_VERSION)


def test_per_region_end_of_life_follows_the_signed_region(monkeypatch) -> None:
    """A region AWS still serves a retired model in (a catalogue row's eol_by_region) is read from SigV4."""
    import dataclasses
    from datetime import date

    from helpers.bedrock_rules import catalogue, model_ids

    haiku_3 = "anthropic.claude-3-haiku-20240307-v1:0"
    row = dataclasses.replace(catalogue.MODELS[haiku_3], eol_by_region={"ap-southeast-2": date(2099, 1, 1)})
    models = {**catalogue.MODELS, haiku_3: row}
    monkeypatch.setattr(catalogue, "MODELS", models)
    monkeypatch.setattr(model_ids, "MODELS", models)  # resolve_model's own name for the table
    with LocalBedrock(seed=0, time_scale=0) as server:
        sydney = server.client(region_name="ap-southeast-2")
        answer = json.loads(sydney.invoke_model(modelId=haiku_3, body=json.dumps(messages_body()))["body"].read())
        assert answer["model"] == "claude-3-haiku-20240307"
        virginia = server.client(region_name="us-east-1")
        assert _error(virginia, haiku_3, messages_body())[:2] == (404, "ResourceNotFoundException")


def test_models_before_sonnet_4_5_need_the_beta_for_the_context_window_stop(client) -> None:
    sonnet_4 = "us.anthropic.claude-sonnet-4-20250514-v1:0"
    body = messages_body("Tell me about rivers. [[context_window_exceeded]]")
    plain = json.loads(client.invoke_model(modelId=sonnet_4, body=json.dumps(body))["body"].read())
    assert plain["stop_reason"] == "max_tokens"
    body["anthropic_beta"] = ["model-context-window-exceeded-2025-08-26"]
    with_beta = json.loads(client.invoke_model(modelId=sonnet_4, body=json.dumps(body))["body"].read())
    assert with_beta["stop_reason"] == "model_context_window_exceeded"
