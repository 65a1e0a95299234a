"""Offline answers follow the request the way a model would, on every wire, for prompts the lessons never use.

Each behaviour is checked through real boto3 (InvokeModel, InvokeModelWithResponseStream, Converse) and the
anthropic SDK (``AnthropicBedrock`` on InvokeModel's route, ``Anthropic`` on the Messages API route):

- a second turn refers back to the first;
- after a tool result the answer states the values it holds, in prose, not as JSON;
- a prompt asking for two things gets two parallel ``tool_use`` blocks;
- an ``is_error`` tool result gets an answer about the failure;
- thinking is about the task, never about the endpoint or a course;
- an image is described by what its bytes say (format, size), one sentence when one is asked for.
"""

from __future__ import annotations

import base64
import json
import struct
import zlib
from typing import Any

import anthropic
import pytest
from endpoint_support import HAIKU

from helpers.stream import invoke_stream

SONNET = "global.anthropic.claude-sonnet-4-5-20250929-v1:0"
VERSION = "bedrock-2023-05-31"

TIDES = {
    "name": "tide_table",
    "description": "High and low tide times for a harbour",
    "input_schema": {"type": "object", "properties": {"location": {"type": "string"}}, "required": ["location"]},
}
ARITH = {
    "name": "arith",
    "description": "Evaluate an arithmetic expression",
    "input_schema": {"type": "object", "properties": {"expression": {"type": "string"}}, "required": ["expression"]},
}
ENCYCLOPEDIA = {
    "name": "encyclopedia_search",
    "description": "Search an encyclopedia and return the best article",
    "input_schema": {"type": "object", "properties": {"query": {"type": "string"}}, "required": ["query"]},
}
TIDE_PROMPT = "When is high tide at Brest?"


@pytest.fixture(scope="module")
def bedrock_sdk(server) -> anthropic.AnthropicBedrock:
    return anthropic.AnthropicBedrock(base_url=server.endpoint_url, aws_access_key="x", aws_secret_key="y",
                                      aws_region="us-east-1", max_retries=0)


@pytest.fixture(scope="module")
def messages_sdk(server) -> anthropic.Anthropic:
    return anthropic.Anthropic(base_url=server.anthropic_base_url, api_key="local", max_retries=0)


def _body(messages: list[dict], **extra: Any) -> dict:
    return {"anthropic_version": VERSION, "max_tokens": 2048, "messages": messages, **extra}


def _by_boto3(client: Any, body: dict, model: str = HAIKU) -> dict:
    """The whole message from InvokeModel; the stream (helpers' reader) must hold the same content."""
    whole = json.loads(client.invoke_model(modelId=model, body=json.dumps(body))["body"].read())
    streamed = invoke_stream(client, model, body).consume()
    def same(content: list[dict]) -> list[dict]:  # tool ids are new on every call, as on Bedrock
        return [{k: v for k, v in block.items() if k != "id"} for block in content]

    assert same(streamed.assistant_message()["content"]) == same(whole["content"])
    return whole


def _by_sdk(sdk: anthropic.AnthropicBedrock | anthropic.Anthropic, body: dict, model: str = HAIKU) -> dict:
    kwargs = {k: v for k, v in body.items() if k != "anthropic_version"}
    if isinstance(sdk, anthropic.AnthropicBedrock):
        kwargs["extra_body"] = {"anthropic_version": VERSION}
    else:
        model = "global.anthropic.claude-sonnet-5-5"  # a model the Messages API route serves
    return sdk.messages.create(model=model, **kwargs).model_dump(exclude_none=True)


def _text(message: dict) -> str:
    return "".join(b["text"] for b in message["content"] if b["type"] == "text")


def _tool_uses(message: dict) -> list[dict]:
    return [b for b in message["content"] if b["type"] == "tool_use"]


def _clients(client, bedrock_sdk, messages_sdk):
    return [("boto3", lambda b, **kw: _by_boto3(client, b, **kw)),
            ("AnthropicBedrock", lambda b, **kw: _by_sdk(bedrock_sdk, b, **kw)),
            ("Anthropic", lambda b, **kw: _by_sdk(messages_sdk, b, **kw))]


# --------------------------------------------------------------------------- conversation


def test_a_second_turn_refers_back_to_the_first(client, bedrock_sdk, messages_sdk) -> None:
    first_question = "What is a fjord?"
    for name, send in _clients(client, bedrock_sdk, messages_sdk):
        first = send(_body([{"role": "user", "content": first_question}]))
        history = [{"role": "user", "content": first_question}, {"role": "assistant", "content": _text(first)},
                   {"role": "user", "content": "Give me an example of it."}]
        second = _text(send(_body(history)))
        alone = _text(send(_body([{"role": "user", "content": "Give me an example of it."}])))
        assert "fjord" in second and first_question in second, name
        assert "fjord" not in alone and second != alone, name  # the earlier turn is what made the difference


def test_a_request_to_shorten_uses_the_earlier_answer(client, bedrock_sdk, messages_sdk) -> None:
    for name, send in _clients(client, bedrock_sdk, messages_sdk):
        first = _text(send(_body([{"role": "user", "content": "Describe how a sundial tells the time"}])))
        history = [{"role": "user", "content": "Describe how a sundial tells the time"},
                   {"role": "assistant", "content": first},
                   {"role": "user", "content": "Now say that in one sentence."}]
        short = _text(send(_body(history)))
        opening = first.split("\n")[0]
        assert short.startswith("In short: ") and opening[:40] in short and len(short) < len(first), name


def test_a_fresh_question_in_a_conversation_is_answered_on_its_own(client) -> None:
    history = [{"role": "user", "content": "What is a fjord?"}, {"role": "assistant", "content": "A sea inlet."},
               {"role": "user", "content": "Describe how a sundial tells the time"}]
    text = _text(_by_boto3(client, _body(history)))
    assert "sundial" in text and "fjord" not in text


# --------------------------------------------------------------------------- tool results


def _tool_turn(send: Any, tools: list[dict], prompt: str) -> tuple[list[dict], dict]:
    first = send(_body([{"role": "user", "content": prompt}], tools=tools))
    assert first["stop_reason"] == "tool_use"
    return [{"role": "user", "content": prompt}, {"role": "assistant", "content": first["content"]}], first


def test_the_answer_after_a_tool_result_states_its_values_in_prose(client, bedrock_sdk, messages_sdk) -> None:
    result = {"high_tide": "14:32", "height_m": 6.8, "coefficient": 94}
    for name, send in _clients(client, bedrock_sdk, messages_sdk):
        history, first = _tool_turn(send, [TIDES], TIDE_PROMPT)
        (call,) = _tool_uses(first)
        assert call["input"] == {"location": "Brest"}, name
        history.append({"role": "user", "content": [
            {"type": "tool_result", "tool_use_id": call["id"], "content": json.dumps(result)}]})
        final = send(_body(history, tools=[TIDES]))
        text = _text(final)
        assert final["stop_reason"] == "end_turn", name
        for value in ("14:32", "6.8", "94", "Brest"):
            assert value in text, (name, value, text)
        assert "{" not in text and '":' not in text, (name, text)  # prose, not the JSON echoed


def test_a_text_tool_result_is_read_out(client) -> None:
    history, first = _tool_turn(lambda b: _by_boto3(client, b), [TIDES], TIDE_PROMPT)
    (call,) = _tool_uses(first)
    history.append({"role": "user", "content": [{"type": "tool_result", "tool_use_id": call["id"],
                                                  "content": [{"type": "text", "text": "High water 14:32, 6.8 m."}]}]})
    text = _text(_by_boto3(client, _body(history, tools=[TIDES])))
    assert "High water 14:32, 6.8 m" in text and "tide_table" in text


def test_an_error_result_gets_an_answer_about_the_failure(client, bedrock_sdk, messages_sdk) -> None:
    for name, send in _clients(client, bedrock_sdk, messages_sdk):
        history, first = _tool_turn(send, [TIDES], TIDE_PROMPT)
        (call,) = _tool_uses(first)
        ok = [*history, {"role": "user", "content": [
            {"type": "tool_result", "tool_use_id": call["id"], "content": "harbour office did not answer"}]}]
        failed = [*history, {"role": "user", "content": [
            {"type": "tool_result", "tool_use_id": call["id"], "content": "harbour office did not answer",
             "is_error": True}]}]
        text = _text(send(_body(failed, tools=[TIDES])))
        assert "failed" in text and "harbour office did not answer" in text, (name, text)
        assert "again" in text and text != _text(send(_body(ok, tools=[TIDES]))), name  # offers a retry


# --------------------------------------------------------------------------- parallel tool use

TWO_HARBOURS = "When is high tide at Brest and at Cherbourg?"
TWO_TASKS = "Multiply 17 * 23 and search the encyclopedia for the Treaty of Westphalia"


def test_two_requests_get_two_parallel_tool_calls(client, bedrock_sdk, messages_sdk) -> None:
    for name, send in _clients(client, bedrock_sdk, messages_sdk):
        same_tool = send(_body([{"role": "user", "content": TWO_HARBOURS}], tools=[TIDES, ARITH]))
        assert same_tool["stop_reason"] == "tool_use", name
        assert [(c["name"], c["input"]) for c in _tool_uses(same_tool)] == [
            ("tide_table", {"location": "Brest"}), ("tide_table", {"location": "Cherbourg"})], name
        two_tools = send(_body([{"role": "user", "content": TWO_TASKS}], tools=[TIDES, ARITH, ENCYCLOPEDIA]))
        calls = _tool_uses(two_tools)
        assert [c["name"] for c in calls] == ["arith", "encyclopedia_search"], name
        assert calls[0]["input"] == {"expression": "17 * 23"} and "Treaty of Westphalia" in calls[1]["input"]["query"]
        assert len({c["id"] for c in calls}) == 2, name


def test_parallel_calls_over_converse(client) -> None:
    response = client.converse(
        modelId=HAIKU, messages=[{"role": "user", "content": [{"text": TWO_HARBOURS}]}],
        toolConfig={"tools": [{"toolSpec": {"name": TIDES["name"], "description": TIDES["description"],
                                            "inputSchema": {"json": TIDES["input_schema"]}}}]})
    uses = [b["toolUse"] for b in response["output"]["message"]["content"] if "toolUse" in b]
    assert response["stopReason"] == "tool_use"
    assert [u["input"] for u in uses] == [{"location": "Brest"}, {"location": "Cherbourg"}]


def test_disable_parallel_tool_use_makes_one_call(client) -> None:
    body = _body([{"role": "user", "content": TWO_HARBOURS}], tools=[TIDES],
                 tool_choice={"type": "auto", "disable_parallel_tool_use": True})
    assert len(_tool_uses(_by_boto3(client, body))) == 1


def test_both_results_are_answered_together(client, messages_sdk) -> None:
    for send in (lambda b: _by_boto3(client, b), lambda b: _by_sdk(messages_sdk, b)):
        history, first = _tool_turn(send, [TIDES], TWO_HARBOURS)
        brest, cherbourg = _tool_uses(first)
        history.append({"role": "user", "content": [
            {"type": "tool_result", "tool_use_id": brest["id"], "content": json.dumps({"high_tide": "14:32"})},
            {"type": "tool_result", "tool_use_id": cherbourg["id"], "content": json.dumps({"high_tide": "15:05"})}]})
        text = _text(send(_body(history, tools=[TIDES])))
        assert "Brest" in text and "14:32" in text and "Cherbourg" in text and "15:05" in text


# --------------------------------------------------------------------------- thinking


def _thinking(message: dict) -> str:
    return "".join(b["thinking"] for b in message["content"] if b["type"] == "thinking")


def test_thinking_is_about_the_task(client, bedrock_sdk) -> None:
    body = _body([{"role": "user", "content": TWO_HARBOURS}], tools=[TIDES],
                 thinking={"type": "enabled", "budget_tokens": 1024})
    for name, send in (("boto3", lambda b: _by_boto3(client, b, model=SONNET)),
                       ("AnthropicBedrock", lambda b: _by_sdk(bedrock_sdk, b, model=SONNET))):
        thinking = _thinking(send(body))
        assert TWO_HARBOURS in thinking and "tide_table" in thinking, (name, thinking)
        lowered = thinking.lower()
        assert "course" not in lowered and "endpoint" not in lowered and "local" not in lowered, name


def test_answers_never_talk_about_the_endpoint(client) -> None:
    for prompt in ("How do bees make honey?", "List three uses of basalt", "Why do cats purr?"):
        text = _text(_by_boto3(client, _body([{"role": "user", "content": prompt}]))).lower()
        assert "endpoint" not in text and "course" not in text and "bedrock" not in text, text


def test_arithmetic_written_as_numbers_calls_the_calculator_beside_a_lookup(client, messages_sdk) -> None:
    prompt = "Add 19+23 and look up the Hanseatic League"
    for send in (lambda b: _by_boto3(client, b), lambda b: _by_sdk(messages_sdk, b)):
        calls = _tool_uses(send(_body([{"role": "user", "content": prompt}], tools=[ARITH, ENCYCLOPEDIA])))
        assert [(c["name"], c["input"]) for c in calls] == [
            ("arith", {"expression": "19+23"}), ("encyclopedia_search", {"query": "the Hanseatic League"})]


# -- an image is described from what its bytes say ----------------------------------------------------------------


def _png(width: int, height: int) -> str:
    """A real PNG of ``width`` × ``height`` black pixels, base64-encoded (PNG spec: signature, IHDR, IDAT, IEND)."""

    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))

    rows = b"".join(b"\x00" + b"\x00" * width * 3 for _ in range(height))
    raw = (b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0))
           + chunk(b"IDAT", zlib.compress(rows)) + chunk(b"IEND", b""))
    return base64.b64encode(raw).decode()


def _image_turn(width: int, height: int, question: str) -> list[dict]:
    image = {"type": "image", "source": {"type": "base64", "media_type": "image/png", "data": _png(width, height)}}
    return [{"role": "user", "content": [image, {"type": "text", "text": question}]}]


def test_an_image_is_described_by_its_format_and_size(client, messages_sdk) -> None:
    messages = _image_turn(48, 20, "Sum up this picture in one sentence.")
    by_boto3 = _by_boto3(client, _body(messages))["content"][0]["text"]
    by_sdk = messages_sdk.messages.create(model=HAIKU, max_tokens=300, messages=messages).content[0].text
    for text in (by_boto3, by_sdk):
        assert text == "This is a PNG image of 48×20 pixels."  # one sentence, as asked; the size is the header's


def test_a_large_image_answer_says_it_is_scaled_down(client) -> None:
    # Anthropic's vision guide: images with a long edge over 1,568 px are scaled down before the model reads them.
    text = _by_boto3(client, _body(_image_turn(2400, 600, "What does this chart show?")))["content"][0]["text"]
    assert text.startswith("This is a PNG image of 2400×600 pixels.")
    assert "1,568 pixels" in text
