"""Payload builders and validate_body, checked against what the local endpoint accepts and rejects."""

from __future__ import annotations

import base64
import json
import struct
import zlib
from pathlib import Path
from typing import Any

import pytest

from helpers.errors import PayloadError
from helpers.payloads import (
    detect_media_type,
    image_block,
    messages_body,
    model_problem,
    text_completion_body,
    validate_body,
)

HAIKU = "global.anthropic.claude-haiku-4-5-20251001-v1:0"  # the course default (Claude 3 Haiku is EOL)
HAIKU_35 = "us.anthropic.claude-3-5-haiku-20241022-v1:0"  # text-only on Bedrock; end of life 2026-06-19
LEGACY = "anthropic.claude-v2:1"
SONNET_46 = "global.anthropic.claude-sonnet-4-6"
BEFORE_RETIREMENTS = "2025-01-01"  # the as_of day on which the retired models above were still served


def _png() -> bytes:
    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))

    raw = b"\x00\xff\x00\x00"  # one red pixel, filter byte first
    return (
        b"\x89PNG\r\n\x1a\n"
        + chunk(b"IHDR", struct.pack(">IIBBBBB", 1, 1, 8, 2, 0, 0, 0))
        + chunk(b"IDAT", zlib.compress(raw))
        + chunk(b"IEND", b"")
    )


MAGIC = {
    "image/png": _png(),
    "image/jpeg": b"\xff\xd8\xff\xe0\x00\x10JFIF\x00",
    "image/gif": b"GIF89a\x01\x00\x01\x00",
    "image/webp": b"RIFF\x10\x00\x00\x00WEBPVP8 ",
}


def test_messages_body_minimal_has_only_given_keys() -> None:
    body = messages_body("Hi", max_tokens=100)
    assert body == {
        "anthropic_version": "bedrock-2023-05-31",
        "max_tokens": 100,
        "messages": [{"role": "user", "content": "Hi"}],
    }
    json.dumps(body)


def test_messages_body_all_options() -> None:
    tool = {"name": "t", "description": "d", "input_schema": {"type": "object", "properties": {}}}
    body = messages_body(
        "Hi",
        max_tokens=2000,
        system="Be brief.",
        temperature=0.2,
        top_p=0.9,
        top_k=50,
        stop_sequences=["END"],
        tools=[tool],
        tool_choice="t",
        thinking=1024,
    )
    assert body["system"] == "Be brief." and body["stop_sequences"] == ["END"]
    assert body["tool_choice"] == {"type": "tool", "name": "t"}
    assert body["thinking"] == {"type": "enabled", "budget_tokens": 1024}
    assert messages_body("Hi", max_tokens=5, tool_choice="any", tools=[tool])["tool_choice"] == {"type": "any"}
    adaptive = messages_body("Hi", max_tokens=2000, thinking="adaptive", effort="low")
    assert adaptive["thinking"] == {"type": "adaptive"} and adaptive["output_config"] == {"effort": "low"}
    assert validate_body(adaptive, SONNET_46) == adaptive


def test_messages_list_is_not_mutated_and_images_go_before_text(tmp_path: Path) -> None:
    path = tmp_path / "pixel.png"
    path.write_bytes(MAGIC["image/png"])
    messages = [{"role": "user", "content": "What is this?"}]
    body = messages_body(messages, max_tokens=50, images=[path])
    assert messages == [{"role": "user", "content": "What is this?"}]
    content = body["messages"][0]["content"]
    assert [b["type"] for b in content] == ["image", "text"] and content[1]["text"] == "What is this?"
    assert base64.b64decode(content[0]["source"]["data"]) == MAGIC["image/png"]


@pytest.mark.parametrize("media_type", sorted(MAGIC))
def test_image_media_type_from_magic_bytes(media_type: str) -> None:
    data = MAGIC[media_type]
    assert detect_media_type(data) == media_type
    block = image_block(data)
    assert block["source"] == {"type": "base64", "media_type": media_type, "data": base64.b64encode(data).decode()}


def test_image_errors_name_the_problem(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="not a PNG, JPEG, GIF or WebP"):
        image_block(b"%PDF-1.7 not an image")
    with pytest.raises(ValueError, match="drop media_type or set it to image/png"):
        image_block(MAGIC["image/png"], media_type="image/jpeg")
    with pytest.raises(FileNotFoundError, match="not found"):
        image_block(tmp_path / "missing.png")
    with pytest.raises(ValueError, match="empty"):
        image_block(b"")


def test_text_completion_body_wraps_plain_prompts_only() -> None:
    body = text_completion_body("Hello", max_tokens_to_sample=50, stop_sequences=["\n\nHuman:"])
    assert body["prompt"] == "\n\nHuman: Hello\n\nAssistant:"
    # AWS's Text Completions parameters have no anthropic_version.
    assert body["stop_sequences"] == ["\n\nHuman:"] and "anthropic_version" not in body
    ready = "\n\nHuman: Hi there\n\nAssistant:"
    assert text_completion_body(ready, max_tokens_to_sample=5)["prompt"] == ready


def test_valid_bodies_pass_and_come_back_as_bedrock_reads_them() -> None:
    body = messages_body("Hi", max_tokens=10, images=[MAGIC["image/png"]])
    assert validate_body(body, HAIKU) == body
    assert validate_body(json.dumps(body), HAIKU) == body
    legacy = text_completion_body("Hi", max_tokens_to_sample=10)
    assert validate_body(legacy, LEGACY, as_of=BEFORE_RETIREMENTS) == legacy


def test_every_problem_is_listed_with_path_and_fix() -> None:
    body = {
        "anthropic_version": "bedrock-2023-05-31",
        "max_tokens": 0,
        "temperature": 7,
        "stream": True,
        "messages": [{"role": "assistant", "content": "x"}],
    }
    with pytest.raises(PayloadError) as info:
        validate_body(body, HAIKU)
    paths = [p.path for p in info.value.problems]
    assert {"max_tokens", "temperature", "stream"} <= set(paths)
    assert any(p.startswith("messages[0]") for p in paths)
    assert all(p.fix for p in info.value.problems)
    text = str(info.value)
    assert f"{len(paths)} problems" in text and "Fix:" in text and "temperature" in text


def test_model_specific_rules() -> None:
    with pytest.raises(PayloadError, match="image"):
        validate_body(messages_body("Hi", max_tokens=10, images=[MAGIC["image/png"]]), HAIKU_35, as_of="2025-06-01")
    with pytest.raises(PayloadError) as info:
        validate_body(messages_body("Hi", max_tokens=10), "meta.llama3-8b-instruct-v1:0")
    assert info.value.problems[0].path == "modelId"


def test_model_ids_are_judged_as_bedrock_judges_them_today_with_the_fix() -> None:
    with pytest.raises(PayloadError) as retired:
        validate_body(messages_body("Hi", max_tokens=10), HAIKU_35)
    (problem,) = retired.value.problems
    assert problem.path == "modelId" and "end of its life" in problem.rule
    assert HAIKU in problem.fix and "Claude 3.5 Haiku" in problem.fix  # the catalogue's replacement
    on_demand = model_problem("anthropic.claude-sonnet-4-6")
    assert on_demand is not None and "on-demand throughput" in on_demand.rule and SONNET_46 in on_demand.fix
    assert model_problem(SONNET_46) is None
    assert model_problem(HAIKU_35, as_of="2025-06-01") is None  # the local endpoint's as_of switch


@pytest.mark.parametrize(
    ("model_id", "extra", "rule", "fix"),
    [
        (HAIKU, {"temperature": 0.5, "top_p": 0.9}, "cannot both be specified", "top_p"),
        (HAIKU, {"thinking": {"type": "adaptive"}}, "adaptive thinking is not supported", "budget_tokens"),
        (SONNET_46, {"thinking": {"type": "adaptive"}, "output_config": {"effort": "medium"}}, None, None),
    ],
)
def test_per_model_rules_name_the_rule_and_the_fix(
    model_id: str, extra: dict, rule: str | None, fix: str | None
) -> None:
    body = {**messages_body("Hi", max_tokens=2048), **extra}
    if rule is None:
        assert validate_body(body, model_id) == body
        return
    with pytest.raises(PayloadError) as info:
        validate_body(body, model_id)
    (problem,) = info.value.problems
    assert rule in problem.rule and fix in problem.fix
    assert f"{problem.rule.rstrip('.')}. Fix: {problem.fix}" in str(info.value)


def test_unserialisable_and_garbage_bodies() -> None:
    with pytest.raises(PayloadError, match="cannot be turned into JSON"):
        validate_body({"anthropic_version": "bedrock-2023-05-31", "max_tokens": 5, "messages": b"x"}, HAIKU)
    with pytest.raises(PayloadError):
        validate_body("{not json", HAIKU)


BAD_BODIES = [
    {"anthropic_version": "bedrock-2023-05-31", "max_tokens": 10, "messages": []},
    {"max_tokens": 10, "messages": [{"role": "user", "content": "x"}]},
    {
        "anthropic_version": "bedrock-2023-05-31",
        "max_tokens": 10,
        "model": "claude",
        "messages": [{"role": "user", "content": "x"}],
    },
    {
        "anthropic_version": "bedrock-2023-05-31",
        "max_tokens": 10,
        "top_k": -1,
        "messages": [{"role": "user", "content": "x"}, {"role": "user", "content": "y"}],
    },
]


@pytest.mark.parametrize("body", BAD_BODIES)
def test_same_verdict_as_the_endpoint(client: Any, body: dict) -> None:
    """One source of truth: what validate_body refuses, the endpoint refuses, naming the same fields."""
    with pytest.raises(PayloadError) as info:
        validate_body(body, HAIKU)
    with pytest.raises(client.exceptions.ValidationException) as server_side:
        client.invoke_model_with_response_stream(modelId=HAIKU, body=json.dumps(body))
    message = server_side.value.response["Error"]["Message"]
    # Bedrock lists every schema problem at once, and otherwise reports the model's first complaint.
    schema = [p for p in info.value.problems if p.wire == "schema"]
    for problem in schema or info.value.problems[:1]:
        assert problem.rule in message
        assert problem.fix not in message  # the teaching text never goes on the wire


def test_good_builder_output_is_accepted_by_the_endpoint(client: Any) -> None:
    body = messages_body("Hi", max_tokens=20, system="Be brief.", temperature=0.5, images=[MAGIC["image/png"]])
    validate_body(body, HAIKU)
    response = client.invoke_model(modelId=HAIKU, body=json.dumps(body))
    assert json.loads(response["body"].read())["stop_reason"] in ("end_turn", "max_tokens")
