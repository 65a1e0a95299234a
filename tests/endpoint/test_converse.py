"""Converse and ConverseStream against the local endpoint, through real boto3 over HTTP.

The promise under test: a Converse request gets the very answer InvokeModel gives the Messages
body it translates to (text, tool input and ids, reasoning and its signature, usage), in
Converse's own shapes and event names, with the ConverseStream exception set.
"""

from __future__ import annotations

import http.client
import json
import re
from typing import Any

import pytest
from botocore.eventstream import EventStreamBuffer
from botocore.exceptions import EventStreamError, HTTPClientError
from endpoint_support import HAIKU, LEGACY

from helpers.local_bedrock import LocalBedrock

# A current model that thinks with a budget (deprecated there, still accepted), through its global profile.
SONNET_37 = "global.anthropic.claude-sonnet-4-6"
PROMPT = "What is streaming?"
WEATHER_SCHEMA = {
    "type": "object",
    "properties": {"city": {"type": "string"}, "unit": {"type": "string", "enum": ["C", "F"]}},
    "required": ["city"],
}
TOOL_CONFIG = {"tools": [{"toolSpec": {"name": "get_weather", "description": "Current weather for a city",
                                       "inputSchema": {"json": WEATHER_SCHEMA}}}]}
THINKING = {"thinking": {"type": "enabled", "budget_tokens": 1024}}


def user(text: str) -> dict:
    return {"role": "user", "content": [{"text": text}]}


def equivalent_body(messages: list[dict], max_tokens: int, **extra: Any) -> dict:
    """The Messages body a Converse request translates to (text blocks as lists, like Converse sends)."""
    return {"anthropic_version": "bedrock-2023-05-31", "max_tokens": max_tokens, "messages": messages, **extra}


def invoke(client: Any, body: dict, model_id: str = HAIKU) -> tuple[dict, dict]:
    response = client.invoke_model(modelId=model_id, body=json.dumps(body))
    return json.loads(response["body"].read()), response["ResponseMetadata"]["HTTPHeaders"]


def stream(client: Any, model_id: str = HAIKU, **kwargs: Any) -> list[dict]:
    response = client.converse_stream(modelId=model_id, **kwargs)
    return list(response["stream"])


def stream_text(events: list[dict]) -> str:
    return "".join(e["contentBlockDelta"]["delta"].get("text", "") for e in events if "contentBlockDelta" in e)


def _tokens(usage: dict) -> dict:
    """Converse usage without its cache keys, which Converse always sends for models with caching (capture
    cv_claude-haiku-4-5_app_profile) and ConverseStream only when caching was asked for."""
    return {k: v for k, v in usage.items() if not k.startswith("cache")}


def answer_text(response: dict) -> str:
    return "".join(b.get("text", "") for b in response["output"]["message"]["content"])


# --------------------------------------------------------------------------- plain text


def test_converse_answers_what_invoke_model_answers_for_the_same_request(client) -> None:
    response = client.converse(modelId=HAIKU, messages=[user(PROMPT)], inferenceConfig={"maxTokens": 300})
    body, headers = invoke(client, equivalent_body([{"role": "user", "content": [{"type": "text", "text": PROMPT}]}],
                                                   300))
    assert response["output"]["message"]["role"] == "assistant"
    assert answer_text(response) == body["content"][0]["text"]
    assert response["stopReason"] == body["stop_reason"] == "end_turn"
    usage = response["usage"]
    assert usage["inputTokens"] == body["usage"]["input_tokens"] == int(headers["x-amzn-bedrock-input-token-count"])
    assert usage["outputTokens"] == body["usage"]["output_tokens"]
    assert usage["totalTokens"] == usage["inputTokens"] + usage["outputTokens"]
    assert isinstance(response["metrics"]["latencyMs"], int)


def test_converse_stream_events_in_order_with_metadata_equal_to_invoke_usage(client) -> None:
    events = stream(client, messages=[user(PROMPT)], system=[{"text": "Be brief."}], inferenceConfig={"maxTokens": 300})
    names = [next(iter(e)) for e in events]
    assert names[0] == "messageStart" and events[0]["messageStart"] == {"role": "assistant"}
    assert names[-2:] == ["messageStop", "metadata"]
    assert set(names[1:-2]) == {"contentBlockDelta", "contentBlockStop"}  # text blocks open with a delta
    assert all(e[n]["contentBlockIndex"] == 0 for e, n in zip(events, names, strict=True) if n.startswith("content"))
    body, _ = invoke(client, equivalent_body([{"role": "user", "content": [{"type": "text", "text": PROMPT}]}], 300,
                                             system=[{"type": "text", "text": "Be brief."}]))
    assert stream_text(events) == body["content"][0]["text"]
    metadata = events[-1]["metadata"]
    # ConverseStream names cache tokens only when the request asked for caching (cvs_claude-sonnet-4-6_live).
    assert metadata["usage"] == {"inputTokens": body["usage"]["input_tokens"],
                                 "outputTokens": body["usage"]["output_tokens"],
                                 "totalTokens": body["usage"]["input_tokens"] + body["usage"]["output_tokens"]}
    assert isinstance(metadata["metrics"]["latencyMs"], int)
    assert events[-2]["messageStop"] == {"stopReason": "end_turn"}


def test_converse_stream_is_the_same_answer_as_converse(client) -> None:
    kwargs = {"messages": [user("Explain event streams")], "inferenceConfig": {"maxTokens": 120, "temperature": 0.2}}
    response = client.converse(modelId=HAIKU, **kwargs)
    events = stream(client, **kwargs)
    assert stream_text(events) == answer_text(response)
    assert events[-1]["metadata"]["usage"] == _tokens(response["usage"])


def test_frames_on_the_wire_are_converse_members_with_padding(server) -> None:
    """Raw bytes re-parsed by botocore: :event-type is the member name, payload the member JSON plus ``p``."""
    conn = http.client.HTTPConnection("127.0.0.1", server.port, timeout=10)
    body = json.dumps({"messages": [user(PROMPT)], "inferenceConfig": {"maxTokens": 50}})
    conn.request("POST", f"/model/{HAIKU}/converse-stream", body=body, headers={"Content-Type": "application/json"})
    response = conn.getresponse()
    assert response.status == 200
    assert response.getheader("Content-Type") == "application/vnd.amazon.eventstream"
    buffer = EventStreamBuffer()
    buffer.add_data(response.read())
    conn.close()
    messages = list(buffer)
    assert messages, "no frames"
    for message in messages:
        headers = message.headers
        payload = json.loads(message.payload)
        assert headers[":message-type"] == "event"
        assert headers[":content-type"] == "application/json"
        assert headers[":event-type"] in {"messageStart", "contentBlockDelta", "contentBlockStop", "messageStop",
                                          "metadata"}
        assert "bytes" not in payload and isinstance(payload["p"], str)
    assert [m.headers[":event-type"] for m in messages][-1] == "metadata"


# --------------------------------------------------------------------------- tools and reasoning


def test_tool_use_round_trip(client) -> None:
    first = client.converse(modelId=HAIKU, messages=[user("What is the weather in Paris?")], toolConfig=TOOL_CONFIG,
                            inferenceConfig={"maxTokens": 400})
    assert first["stopReason"] == "tool_use"
    assistant = first["output"]["message"]
    tool_use = assistant["content"][-1]["toolUse"]
    assert tool_use["name"] == "get_weather"
    assert isinstance(tool_use["input"]["city"], str) and tool_use["input"]["city"]
    # The same tool call as InvokeModel gives for the equivalent body; ids in each API's own form, new per call.
    body, _ = invoke(client, equivalent_body(
        [{"role": "user", "content": [{"type": "text", "text": "What is the weather in Paris?"}]}], 400,
        tools=[{"name": "get_weather", "input_schema": WEATHER_SCHEMA, "description": "Current weather for a city"}]))
    assert re.fullmatch(r"tooluse_[0-9A-Za-z]{22}", tool_use["toolUseId"])
    assert re.fullmatch(r"toolu_bdrk_01[0-9A-Za-z]{22}", body["content"][-1]["id"])
    assert body["content"][-1]["input"] == tool_use["input"]

    result = {"toolResult": {"toolUseId": tool_use["toolUseId"], "content": [{"json": {"temp_c": 21}}]}}
    second = client.converse(modelId=HAIKU, toolConfig=TOOL_CONFIG, inferenceConfig={"maxTokens": 400}, messages=[
        user("What is the weather in Paris?"), assistant, {"role": "user", "content": [result]}])
    assert second["stopReason"] == "end_turn"
    # The tool's JSON is read out in prose: its value is stated, the JSON itself is not echoed.
    assert "21" in answer_text(second) and "get_weather" in answer_text(second)
    assert '{"temp_c"' not in answer_text(second)


def test_tool_use_streams_a_start_event_and_json_pieces(client) -> None:
    events = stream(client, messages=[user("What is the weather in Paris?")], toolConfig={
        **TOOL_CONFIG, "toolChoice": {"tool": {"name": "get_weather"}}}, inferenceConfig={"maxTokens": 400})
    starts = [e["contentBlockStart"] for e in events if "contentBlockStart" in e]
    assert len(starts) == 1 and starts[0]["start"]["toolUse"]["name"] == "get_weather"
    index = starts[0]["contentBlockIndex"]
    pieces = [e["contentBlockDelta"]["delta"]["toolUse"]["input"] for e in events
              if "contentBlockDelta" in e and e["contentBlockDelta"]["contentBlockIndex"] == index]
    assert len(pieces) > 1 and json.loads("".join(pieces))["city"]
    assert stream_text(events) == ""  # a forced tool call has no preamble
    assert events[-2]["messageStop"]["stopReason"] == "tool_use"


def test_reasoning_content_matches_invoke_model_thinking(client) -> None:
    response = client.converse(modelId=SONNET_37, messages=[user(PROMPT)], inferenceConfig={"maxTokens": 2000},
                               additionalModelRequestFields=THINKING)
    reasoning = response["output"]["message"]["content"][0]["reasoningContent"]["reasoningText"]
    body, _ = invoke(client, equivalent_body([{"role": "user", "content": [{"type": "text", "text": PROMPT}]}], 2000,
                                             **THINKING), SONNET_37)
    assert body["content"][0]["type"] == "thinking"
    assert reasoning == {"text": body["content"][0]["thinking"], "signature": body["content"][0]["signature"]}

    events = stream(client, SONNET_37, messages=[user(PROMPT)], inferenceConfig={"maxTokens": 2000},
                    additionalModelRequestFields=THINKING)
    deltas = [e["contentBlockDelta"]["delta"]["reasoningContent"] for e in events
              if "contentBlockDelta" in e and "reasoningContent" in e["contentBlockDelta"]["delta"]]
    assert "".join(d.get("text", "") for d in deltas) == reasoning["text"]
    assert [d["signature"] for d in deltas if "signature" in d] == [reasoning["signature"]]
    assert "signature" in deltas[-1]  # the signature closes the reasoning block


def test_reasoning_content_goes_back_in_a_later_turn(client) -> None:
    first = client.converse(modelId=SONNET_37, messages=[user("Weather in Oslo?")], toolConfig=TOOL_CONFIG,
                            inferenceConfig={"maxTokens": 3000}, additionalModelRequestFields=THINKING)
    assistant = first["output"]["message"]
    assert "reasoningContent" in assistant["content"][0]
    tool_id = assistant["content"][-1]["toolUse"]["toolUseId"]
    second = client.converse(
        modelId=SONNET_37, toolConfig=TOOL_CONFIG, inferenceConfig={"maxTokens": 3000},
        additionalModelRequestFields=THINKING, messages=[
            user("Weather in Oslo?"), assistant,
            {"role": "user", "content": [{"toolResult": {"toolUseId": tool_id, "content": [{"text": "cold"}]}}]}])
    assert "cold" in answer_text(second)


# --------------------------------------------------------------------------- stop reasons


def _stop_reason_cases(client: Any) -> list[tuple[str, dict]]:
    full = answer_text(client.converse(modelId=HAIKU, messages=[user(PROMPT)]))
    stop_word = full.split()[5]
    return [
        ("end_turn", {"messages": [user(PROMPT)]}),
        ("max_tokens", {"messages": [user(PROMPT)], "inferenceConfig": {"maxTokens": 5}}),
        ("stop_sequence", {"messages": [user(PROMPT)], "inferenceConfig": {"stopSequences": [stop_word]}}),
        ("tool_use", {"messages": [user("Weather in Rome?")], "toolConfig": TOOL_CONFIG}),
    ]


def test_every_stop_reason_in_converse_and_converse_stream(client) -> None:
    for reason, kwargs in _stop_reason_cases(client):
        response = client.converse(modelId=HAIKU, **kwargs)
        assert response["stopReason"] == reason, kwargs
        events = stream(client, **kwargs)
        assert events[-2]["messageStop"]["stopReason"] == reason
        assert events[-1]["metadata"]["usage"] == _tokens(response["usage"])
        if reason == "max_tokens":
            assert response["usage"]["outputTokens"] == 5


def test_stop_sequence_is_reported_when_asked_for_by_json_pointer(client) -> None:
    _, kwargs = _stop_reason_cases(client)[2]
    stop_word = kwargs["inferenceConfig"]["stopSequences"][0]
    response = client.converse(modelId=HAIKU, additionalModelResponseFieldPaths=["/stop_sequence"], **kwargs)
    assert response["additionalModelResponseFields"] == {"stop_sequence": stop_word}
    assert "additionalModelResponseFields" not in client.converse(modelId=HAIKU, **kwargs)
    events = stream(client, additionalModelResponseFieldPaths=["/stop_sequence"], **kwargs)
    assert events[-2]["messageStop"]["additionalModelResponseFields"] == {"stop_sequence": stop_word}


# --------------------------------------------------------------------------- faults and call records


def test_call_records_name_the_converse_operations(server, client) -> None:
    client.converse(modelId=HAIKU, messages=[user(PROMPT)])
    stream(client, messages=[user(PROMPT)])
    streamed, plain = server.calls[0], server.calls[1]
    assert (plain.operation, streamed.operation) == ("Converse", "ConverseStream")
    assert plain.done and streamed.done and plain.error is None and streamed.error is None
    assert plain.input_tokens == streamed.input_tokens > 0
    assert len(streamed.sent_ms) == len(streamed.schedule_ms) > 3


@pytest.mark.parametrize("member", ["internalServerException", "modelStreamErrorException", "validationException",
                                    "throttlingException", "serviceUnavailableException"])
def test_in_stream_exceptions_after_exactly_three_events(server, client, member) -> None:
    server.faults.add(error=member, at="event", after=3, operation="ConverseStream")
    response = client.converse_stream(modelId=HAIKU, messages=[user(PROMPT)])
    seen = []
    with pytest.raises(EventStreamError) as caught:
        for event in response["stream"]:
            seen.append(event)
    assert len(seen) == 3
    assert caught.value.response["Error"]["Code"] == member
    assert server.calls[0].error == member and server.calls[0].operation == "ConverseStream"


def test_model_stream_error_frame_carries_the_original_status(server) -> None:
    server.faults.add(error="modelStreamErrorException", at="event", after=1)
    conn = http.client.HTTPConnection("127.0.0.1", server.port, timeout=10)
    conn.request("POST", f"/model/{HAIKU}/converse-stream", body=json.dumps({"messages": [user(PROMPT)]}),
                 headers={"Content-Type": "application/json"})
    buffer = EventStreamBuffer()
    buffer.add_data(conn.getresponse().read())
    conn.close()
    last = list(buffer)[-1]
    assert last.headers[":message-type"] == "exception"
    assert last.headers[":exception-type"] == "modelStreamErrorException"
    assert json.loads(last.payload)["originalStatusCode"] == 500


def test_request_faults_raise_typed_exceptions_for_converse(server, client) -> None:
    server.faults.add(error="ThrottlingException", operation="Converse")
    client.invoke_model(modelId=HAIKU, body=json.dumps(equivalent_body([{"role": "user", "content": PROMPT}], 50)))
    client.converse_stream(modelId=HAIKU, messages=[user(PROMPT)])  # not matched: untouched
    with pytest.raises(client.exceptions.ThrottlingException):
        client.converse(modelId=HAIKU, messages=[user(PROMPT)])
    server.faults.add(error="ModelNotReadyException", operation="ConverseStream")
    with pytest.raises(client.exceptions.ModelNotReadyException):
        client.converse_stream(modelId=HAIKU, messages=[user(PROMPT)])


def test_drop_mid_stream_breaks_the_read(server, client) -> None:
    server.faults.add(error="drop", at="event", after=4, operation="ConverseStream")
    response = client.converse_stream(modelId=HAIKU, messages=[user(PROMPT)])
    seen = []
    with pytest.raises(Exception) as caught:  # noqa: PT011 - urllib3/botocore pick the class
        for event in response["stream"]:
            seen.append(event)
    assert not isinstance(caught.value, EventStreamError)
    assert len(seen) == 4 and "metadata" not in seen[-1]


def test_drop_at_request_closes_a_converse_call_without_an_answer(server, client) -> None:
    server.faults.add(error="drop", operation="Converse")
    with pytest.raises(HTTPClientError):
        client.converse(modelId=HAIKU, messages=[user(PROMPT)])
    assert server.calls[0].error == "drop" and server.calls[0].operation == "Converse"


def test_fault_specs_follow_each_operation(server, client) -> None:
    with pytest.raises(ValueError, match="Converse has none"):
        server.faults.add(error="throttlingException", at="event", operation="Converse")
    with pytest.raises(ValueError, match="ConverseStream has no in-stream 'modelTimeoutException'"):
        server.faults.add(error="modelTimeoutException", at="event", operation="ConverseStream")
    # An unscoped modelTimeoutException waits for a stream that can carry it.
    server.faults.add(error="modelTimeoutException", at="event", after=0)
    assert next(iter(stream(client, messages=[user(PROMPT)])[-1])) == "metadata"
    assert server.faults.list()[0]["fired"] == 0


# --------------------------------------------------------------------------- validation


def _raw_converse(server: Any, body: object, model_id: str = HAIKU) -> tuple[int, str, str]:
    conn = http.client.HTTPConnection("127.0.0.1", server.port, timeout=10)
    conn.request("POST", f"/model/{model_id}/converse", body=json.dumps(body),
                 headers={"Content-Type": "application/json"})
    response = conn.getresponse()
    # The error type header carries Bedrock's namespace after a colon; SDKs keep the part before it.
    error_type = (response.getheader("x-amzn-errortype") or "").split(":", 1)[0]
    result = response.status, error_type, json.loads(response.read())["message"]
    conn.close()
    return result


BAD_VIA_BOTO3 = [
    ({"messages": [user("hi")], "inferenceConfig": {"temperature": 1.5}}, "inferenceConfig.temperature"),
    ({"messages": [user("hi")], "inferenceConfig": {"maxTokens": 100_000}}, "inferenceConfig.maxTokens"),
    ({"messages": [{"role": "assistant", "content": [{"text": "hi"}]}]}, "messages[0].role"),
    ({"messages": [user("a"), user("b")]}, "A conversation must alternate between user and assistant roles"),
    ({"messages": [{"role": "system", "content": [{"text": "hi"}]}]}, 'role "system" is not allowed'),
    ({"messages": [user("hi")], "toolConfig": {**TOOL_CONFIG, "toolChoice": {"tool": {"name": "nope"}}}},
     "toolConfig.toolChoice.tool.name"),
    ({"messages": [user("hi"), {"role": "assistant", "content": [
        {"toolUse": {"toolUseId": "t1", "name": "get_weather", "input": {}}}]},
        {"role": "user", "content": [{"toolResult": {"toolUseId": "t1", "content": [{"text": "x"}]}}]}]},
     "toolConfig field must be defined"),
    ({"messages": [user("hi")], "additionalModelRequestFields": {"max_tokens": 10}},
     "[max_tokens] has its own Converse field"),
    ({"messages": [user("hi")], "additionalModelRequestFields": {"colour": "red"}},
     "additionalModelRequestFields.colour"),
    ({"messages": [user("hi")], "inferenceConfig": {"maxTokens": 500}, "additionalModelRequestFields": {
        "thinking": {"type": "enabled", "budget_tokens": 100}}}, "additionalModelRequestFields.thinking"),
    ({"messages": [{"role": "user", "content": [{"image": {"format": "tiff", "source": {"bytes": b"x"}}}]}]},
     "messages[0].content[0].image.format"),
    ({"messages": []}, "'messages': at least one message"),
]


@pytest.mark.parametrize(("kwargs", "named"), BAD_VIA_BOTO3)
def test_bad_requests_get_a_validation_exception_naming_the_converse_path(client, kwargs, named) -> None:
    with pytest.raises(client.exceptions.ValidationException) as caught:
        client.converse(modelId=HAIKU, **kwargs)
    message = caught.value.response["Error"]["Message"]
    # Bedrock's words only: the teaching fix travels in Problem.fix, never on the wire.
    assert named in message and "fix:" not in message
    with pytest.raises(client.exceptions.ValidationException):
        client.converse_stream(modelId=HAIKU, **kwargs)


@pytest.mark.parametrize(("body", "named"), [
    ({"messages": [user("hi")], "temprature": 0.5}, "temprature"),
    ({}, "messages"),
    ({"messages": [{"role": "user", "content": [{"text": "a", "image": {}}]}]}, "exactly one member"),
    ({"messages": [{"role": "user"}]}, "messages[0].content"),
    ({"messages": "hi"}, "expected array"),
    ([1, 2], "expected a JSON object"),
    ({"messages": [user("hi")], "guardrailConfig": {"guardrailIdentifier": "g1", "guardrailVersion": "1"}},
     "guardrailConfig"),
])
def test_bad_raw_bodies_boto3_would_refuse_are_explained_too(server, body, named) -> None:
    status, error_type, message = _raw_converse(server, body)
    assert (status, error_type) == (400, "ValidationException")
    assert named in message


@pytest.fixture(scope="module")
def past_client() -> Any:
    """An endpoint judging lifecycles on 2025-01-01, when Claude 2.1 and the Claude 3 models were served."""
    with LocalBedrock(seed=0, time_scale=0, as_of="2025-01-01") as past:
        yield past.client()


def test_text_completion_models_answer_their_prompt_body_text(past_client) -> None:
    client = past_client
    conversation = [user("Hello"), {"role": "assistant", "content": [{"text": "Hi."}]}, user(PROMPT)]
    response = client.converse(modelId=LEGACY, system=[{"text": "Be kind."}], messages=conversation,
                               inferenceConfig={"maxTokens": 400})
    prompt = f"\n\nHuman: Be kind.\n\nHello\n\nAssistant: Hi.\n\nHuman: {PROMPT}\n\nAssistant:"
    body, _ = invoke(client, {"prompt": prompt, "max_tokens_to_sample": 400}, LEGACY)
    assert answer_text(response) == body["completion"]
    assert response["stopReason"] == "end_turn"  # the model's own "\n\nHuman:" stop is the end of its turn
    events = stream(client, LEGACY, messages=[user(PROMPT)], inferenceConfig={"maxTokens": 5})
    assert [next(iter(e)) for e in events[-3:]] == ["contentBlockStop", "messageStop", "metadata"]
    assert events[-2]["messageStop"]["stopReason"] == "max_tokens"
    assert events[-1]["metadata"]["usage"]["outputTokens"] == 5


@pytest.mark.parametrize(("kwargs", "named"), [
    ({"toolConfig": TOOL_CONFIG}, "does not support tool use"),
    ({"additionalModelRequestFields": THINKING}, "additionalModelRequestFields.thinking"),
    ({"messages": [user("a"), {"role": "assistant", "content": [{"text": "b"}]}]}, "last message must be a user"),
])
def test_text_completion_models_refuse_what_they_cannot_do(past_client, kwargs, named) -> None:
    client = past_client
    with pytest.raises(client.exceptions.ValidationException, match=named):
        client.converse(modelId=LEGACY, **{"messages": [user("hi")], **kwargs})


def test_model_ids_are_judged_as_for_invoke_model(client) -> None:
    with pytest.raises(client.exceptions.ValidationException, match="model identifier is invalid"):
        client.converse(modelId="anthropic.claude-9-ultra-v1:0", messages=[user("hi")])
    with pytest.raises(client.exceptions.ResourceNotFoundException):
        client.converse_stream(modelId="arn:aws:bedrock:us-east-1:123456789012:provisioned-model/abc",
                               messages=[user("hi")])
    assert client.converse(modelId=HAIKU.replace("global.", "us."), messages=[user("hi")])["stopReason"] == "end_turn"


# --------------------------------------------------------------------------- pacing


def test_converse_stream_is_paced_and_reports_the_latency_it_measured() -> None:
    with LocalBedrock(seed=2, time_scale=1.0, latency={"first_byte_s": 0.05, "tokens_per_s": 800}) as paced:
        client = paced.client()
        events = stream(client, messages=[user(PROMPT)], inferenceConfig={"maxTokens": 60})
        streamed = paced.calls[0]
        response = client.converse(modelId=HAIKU, messages=[user(PROMPT)], inferenceConfig={"maxTokens": 60})
        plain = paced.calls[0]
    planned, sent = streamed.schedule_ms, streamed.sent_ms
    assert len(planned) == len(sent) == len(events)
    assert planned[0] > 0 and planned[-1] > planned[0]  # a real schedule, not time_scale 0
    assert all(s >= p for s, p in zip(sent, planned, strict=True))  # never early
    assert events[-1]["metadata"]["metrics"]["latencyMs"] == round(sent[-1])
    # Converse waits for the whole answer, then reports the latency it measured.
    assert plain.sent_ms[0] >= plain.schedule_ms[-1] > 0
    assert response["metrics"]["latencyMs"] == round(plain.sent_ms[0])


# --------------------------------------------------------------------------- images

PNG_1X1 = bytes.fromhex(
    "89504e470d0a1a0a0000000d4948445200000001000000010806000000"
    "1f15c4890000000d49444154789c6360000002000154a24f5d0000000049454e44ae426082")


def test_image_bytes_are_accepted_where_the_model_has_vision(client, past_client) -> None:
    content = [{"image": {"format": "png", "source": {"bytes": PNG_1X1}}}, {"text": "What is in this image?"}]
    response = client.converse(modelId=HAIKU, messages=[{"role": "user", "content": content}])
    assert response["stopReason"] == "end_turn" and answer_text(response)
    # Claude 3.5 Haiku (text only) was served until 2026-06-19.
    with pytest.raises(client.exceptions.ValidationException, match=r"messages\[0\]\.content\[0\]\.image"):
        past_client.converse(modelId="us.anthropic.claude-3-5-haiku-20241022-v1:0",
                        messages=[{"role": "user", "content": content}])
