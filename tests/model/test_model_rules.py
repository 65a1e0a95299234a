"""helpers.bedrock_rules: model ids, body parsing and Bedrock-style validation."""

from __future__ import annotations

import copy
import json

import pytest

from helpers.bedrock_rules import (
    MAX_BODY_BYTES,
    MODELS,
    ModelLookupError,
    Problem,
    check_body,
    identify_model,
    parse_body,
    resolve_model,
    validation_message,
)

HAIKU = MODELS["anthropic.claude-3-haiku-20240307-v1:0"]
HAIKU_35 = MODELS["anthropic.claude-3-5-haiku-20241022-v1:0"]
SONNET_37 = MODELS["anthropic.claude-3-7-sonnet-20250219-v1:0"]
CLAUDE_V2 = MODELS["anthropic.claude-v2"]

PNG_1PX = "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mNkYPhfDwAChwGA60e6kgAAAABJRU5ErkJggg=="
WEATHER_TOOL = {
    "name": "get_weather",
    "description": "Get the current weather for a city",
    "input_schema": {"type": "object", "properties": {"city": {"type": "string"}}, "required": ["city"]},
}


def good() -> dict:
    return {
        "anthropic_version": "bedrock-2023-05-31",
        "max_tokens": 200,
        "messages": [{"role": "user", "content": "Hello"}],
    }


def good_legacy() -> dict:
    return {"prompt": "\n\nHuman: Hello\n\nAssistant:", "max_tokens_to_sample": 100}


def with_(**changes: object) -> dict:
    body = good()
    for key, value in changes.items():
        if value is _DROP:
            body.pop(key)
        else:
            body[key] = value
    return body


_DROP = object()

# --------------------------------------------------------------------------- model ids

ALL_IDS = sorted(MODELS)


@pytest.mark.parametrize("base_id", ALL_IDS)
def test_every_base_id_identifies_itself(base_id: str) -> None:
    ref = identify_model(base_id)
    assert (ref.info.base_id, ref.form, ref.prefix) == (base_id, "base", None)


@pytest.mark.parametrize("prefix", ["us.", "eu.", "apac.", "global."])
def test_cross_region_profile_ids_resolve_to_the_base_model(prefix: str) -> None:
    info = resolve_model(prefix + "anthropic.claude-sonnet-4-20250514-v1:0")
    assert info.name == "Claude Sonnet 4"
    assert identify_model(prefix + "anthropic.claude-sonnet-4-20250514-v1:0").prefix == prefix[:-1]


def test_foundation_model_arn_resolves() -> None:
    arn = "arn:aws:bedrock:us-east-1::foundation-model/anthropic.claude-3-haiku-20240307-v1:0"
    assert identify_model(arn).info is HAIKU
    assert identify_model(arn).form == "foundation_model_arn"
    assert resolve_model(arn, as_of="2026-01-01") is HAIKU


def test_inference_profile_arn_resolves() -> None:
    arn = "arn:aws:bedrock:eu-west-1:123456789012:inference-profile/eu.anthropic.claude-3-7-sonnet-20250219-v1:0"
    assert identify_model(arn).info is SONNET_37
    assert resolve_model(arn, as_of="2026-01-01") is SONNET_37


def test_legacy_ids_use_text_completions() -> None:
    for legacy_id in ("anthropic.claude-v2", "anthropic.claude-v2:1", "anthropic.claude-instant-v1"):
        info = resolve_model(legacy_id, as_of="2025-01-01")
        assert info.api == "text_completion" and info.legacy  # retired on Bedrock today


@pytest.mark.parametrize(
    "model_id",
    [
        "anthropic.claude-3-haiku-20990101-v1:0",
        "anthropic.claude-9",
        "us.anthropic.claude-unknown-v1:0",
        "arn:aws:bedrock:us-east-1::foundation-model/anthropic.nope-v1:0",
        "not an id at all",
        "",
    ],
)
def test_unknown_anthropic_ids_get_bedrocks_validation_error(model_id: str) -> None:
    with pytest.raises(ModelLookupError) as caught:
        resolve_model(model_id)
    assert (caught.value.status, caught.value.error_type) == (400, "ValidationException")
    assert caught.value.message == "The provided model identifier is invalid."


def test_account_owned_arns_are_not_found() -> None:
    with pytest.raises(ModelLookupError) as caught:
        resolve_model("arn:aws:bedrock:us-east-1:123456789012:provisioned-model/abcdefghijkl")
    assert (caught.value.status, caught.value.error_type) == (404, "ResourceNotFoundException")


@pytest.mark.parametrize(
    "model_id",
    [
        "amazon.titan-text-express-v1",
        "meta.llama3-8b-instruct-v1:0",
        "us.meta.llama3-2-1b-instruct-v1:0",
        "arn:aws:bedrock:us-east-1::foundation-model/amazon.titan-text-express-v1",
    ],
)
def test_non_anthropic_ids_say_this_endpoint_serves_claude_only(model_id: str) -> None:
    with pytest.raises(ModelLookupError) as caught:
        resolve_model(model_id)
    assert caught.value.status == 400
    assert "Anthropic Claude models only" in caught.value.message


# --------------------------------------------------------------------------- parse_body


def test_parse_body_accepts_json() -> None:
    body, problems = parse_body(json.dumps(good()).encode())
    assert body == good() and problems == []


@pytest.mark.parametrize(
    ("raw", "words"),
    [
        (b"", "empty"),
        (b'{"max_tokens": 10,\n "messages": [}', "line 2 column"),
        (b'{"a": "\xff\xfe"}', "UTF-8"),
    ],
)
def test_parse_body_problems(raw: bytes, words: str) -> None:
    body, problems = parse_body(raw)
    assert body is None and len(problems) == 1
    assert problems[0].path == "#" and words in problems[0].rule


def test_oversized_body_reports_size_and_limit() -> None:
    body, problems = parse_body(b" " * (MAX_BODY_BYTES + 1))
    assert body is None
    assert f"{MAX_BODY_BYTES + 1:,}" in problems[0].rule and f"{MAX_BODY_BYTES:,}" in problems[0].rule


# --------------------------------------------------------------------------- bad bodies

text = {"type": "text", "text": "hi"}

BAD_BODIES: list[tuple[str, object, object, str]] = [
    # (case, body, model, expected path)
    ("not an object", ["hello"], HAIKU, "#"),
    ("no anthropic_version", with_(anthropic_version=_DROP), HAIKU, "anthropic_version"),
    ("wrong anthropic_version", with_(anthropic_version="bedrock-2024-01-01"), HAIKU, "anthropic_version"),
    ("no max_tokens", with_(max_tokens=_DROP), HAIKU, "max_tokens"),
    ("max_tokens a string", with_(max_tokens="100"), HAIKU, "max_tokens"),
    ("max_tokens zero", with_(max_tokens=0), HAIKU, "max_tokens"),
    ("max_tokens over the limit", with_(max_tokens=4097), HAIKU, "max_tokens"),
    ("max_tokens a float", with_(max_tokens=10.5), HAIKU, "max_tokens"),
    ("no messages", with_(messages=_DROP), HAIKU, "messages"),
    ("empty messages", with_(messages=[]), HAIKU, "messages"),
    ("messages not a list", with_(messages={"role": "user"}), HAIKU, "messages"),
    ("message not an object", with_(messages=["hi"]), HAIKU, "messages[0]"),
    ("bad role", with_(messages=[{"role": "system", "content": "x"}]), HAIKU, "messages[0].role"),
    ("first role assistant", with_(messages=[{"role": "assistant", "content": "x"}]), HAIKU, "messages[0].role"),
    (
        "roles not alternating",
        with_(messages=[{"role": "user", "content": "a"}, {"role": "user", "content": "b"}]),
        HAIKU,
        "messages",
    ),
    ("content missing", with_(messages=[{"role": "user"}]), HAIKU, "messages[0].content"),
    ("content empty string", with_(messages=[{"role": "user", "content": ""}]), HAIKU, "messages[0].content"),
    ("content empty list", with_(messages=[{"role": "user", "content": []}]), HAIKU, "messages[0].content"),
    ("content a number", with_(messages=[{"role": "user", "content": 5}]), HAIKU, "messages[0].content"),
    (
        "text block without text",
        with_(messages=[{"role": "user", "content": [{"type": "text"}]}]),
        HAIKU,
        "messages[0].content[0].text",
    ),
    (
        "unknown block type",
        with_(messages=[{"role": "user", "content": [{"type": "video"}]}]),
        HAIKU,
        "messages[0].content[0].type",
    ),
    (
        "image media type",
        with_(
            messages=[
                {
                    "role": "user",
                    "content": [
                        {"type": "image", "source": {"type": "base64", "media_type": "image/bmp", "data": PNG_1PX}}
                    ],
                }
            ]
        ),
        HAIKU,
        "messages[0].content[0].source.media_type",
    ),
    (
        "image data not base64",
        with_(
            messages=[
                {
                    "role": "user",
                    "content": [
                        {"type": "image", "source": {"type": "base64", "media_type": "image/png", "data": "%%%"}}
                    ],
                }
            ]
        ),
        HAIKU,
        "messages[0].content[0].source.data",
    ),
    (
        "image on a text-only model",
        with_(
            messages=[
                {
                    "role": "user",
                    "content": [
                        {"type": "image", "source": {"type": "base64", "media_type": "image/png", "data": PNG_1PX}}
                    ],
                }
            ]
        ),
        HAIKU_35,
        "messages[0].content[0]",
    ),
    (
        "tool_use without input",
        with_(
            messages=[
                {"role": "user", "content": "hi"},
                {"role": "assistant", "content": [{"type": "tool_use", "id": "t1", "name": "f"}]},
            ]
        ),
        HAIKU,
        "messages[1].content[0].input",
    ),
    (
        "tool_result without tool_use_id",
        with_(messages=[{"role": "user", "content": [{"type": "tool_result", "content": "ok"}]}]),
        HAIKU,
        "messages[0].content[0].tool_use_id",
    ),
    (
        "tool_result answering an unknown tool_use",
        with_(messages=[{"role": "user", "content": [{"type": "tool_result", "tool_use_id": "x", "content": "ok"}]}]),
        HAIKU,
        "messages[0].content[0].tool_use_id",
    ),
    ("system a number", with_(system=3), HAIKU, "system"),
    ("system block not text", with_(system=[{"type": "image"}]), HAIKU, "system[0]"),
    ("temperature above 1", with_(temperature=1.7), HAIKU, "temperature"),
    ("temperature a string", with_(temperature="hot"), HAIKU, "temperature"),
    ("top_p negative", with_(top_p=-0.1), HAIKU, "top_p"),
    ("top_k negative", with_(top_k=-1), HAIKU, "top_k"),
    ("top_k a float", with_(top_k=2.5), HAIKU, "top_k"),
    ("stop_sequences a string", with_(stop_sequences="END"), HAIKU, "stop_sequences"),
    ("stop sequence empty", with_(stop_sequences=["END", ""]), HAIKU, "stop_sequences[1]"),
    ("tools not a list", with_(tools=WEATHER_TOOL), HAIKU, "tools"),
    ("tool name with spaces", with_(tools=[{**WEATHER_TOOL, "name": "get weather"}]), HAIKU, "tools[0].name"),
    (
        "tool schema not an object type",
        with_(tools=[{**WEATHER_TOOL, "input_schema": {"type": "string"}}]),
        HAIKU,
        "tools[0].input_schema.type",
    ),
    ("duplicate tool names", with_(tools=[WEATHER_TOOL, WEATHER_TOOL]), HAIKU, "tools[1].name"),
    ("tool_choice bad type", with_(tools=[WEATHER_TOOL], tool_choice={"type": "maybe"}), HAIKU, "tool_choice.type"),
    (
        "tool_choice names a missing tool",
        with_(tools=[WEATHER_TOOL], tool_choice={"type": "tool", "name": "nope"}),
        HAIKU,
        "tool_choice.name",
    ),
    (
        "thinking on a model without it",
        with_(max_tokens=4000, thinking={"type": "enabled", "budget_tokens": 2000}),
        HAIKU,
        "thinking",
    ),
    (
        "thinking budget too small",
        with_(max_tokens=4000, thinking={"type": "enabled", "budget_tokens": 500}),
        SONNET_37,
        "thinking.budget_tokens",
    ),
    (
        "thinking budget not below max_tokens",
        with_(max_tokens=2000, thinking={"type": "enabled", "budget_tokens": 2000}),
        SONNET_37,
        "thinking.budget_tokens",
    ),
    (
        "temperature with thinking",
        with_(max_tokens=4000, temperature=0.5, thinking={"type": "enabled", "budget_tokens": 2000}),
        SONNET_37,
        "temperature",
    ),
    ("anthropic_beta a string", with_(anthropic_beta="x"), HAIKU, "anthropic_beta"),
    ("stream key", with_(stream=True), HAIKU, "stream"),
    ("model key", with_(model="claude-3-haiku"), HAIKU, "model"),
    ("legacy body to a Messages model", good_legacy(), HAIKU, "prompt"),
    ("Messages body to a legacy model", good(), CLAUDE_V2, "messages"),
    ("legacy prompt without Human turn", {**good_legacy(), "prompt": "Hello\n\nAssistant:"}, CLAUDE_V2, "prompt"),
    ("legacy prompt without Assistant turn", {**good_legacy(), "prompt": "\n\nHuman: Hi"}, CLAUDE_V2, "prompt"),
    ("legacy without max_tokens_to_sample", {"prompt": good_legacy()["prompt"]}, CLAUDE_V2, "max_tokens_to_sample"),
    ("legacy unknown key", {**good_legacy(), "max_tokens": 5}, CLAUDE_V2, "max_tokens"),
    ("legacy temperature", {**good_legacy(), "temperature": 3}, CLAUDE_V2, "temperature"),
]


@pytest.mark.parametrize(("case", "body", "model", "path"), BAD_BODIES, ids=[c[0] for c in BAD_BODIES])
def test_bad_body_names_the_field(case: str, body: object, model: object, path: str) -> None:
    problems = check_body(copy.deepcopy(body), model)
    assert path in [p.path for p in problems], problems
    for problem in problems:
        assert problem.rule and problem.fix


def test_all_problems_are_reported_at_once_in_a_stable_order() -> None:
    body = {
        "max_tokens": 99999,
        "messages": [{"role": "assistant", "content": ""}],
        "temperature": 1.7,
        "stream": True,
    }
    problems = check_body(body, HAIKU)
    assert [p.path for p in problems] == [
        "anthropic_version",
        "max_tokens",
        "messages[0].role",
        "messages[0].content",
        "temperature",
        "stream",
    ]
    assert check_body(body, HAIKU) == problems


def test_extraneous_key_uses_bedrocks_wording() -> None:
    (problem,) = check_body(with_(stream=True), HAIKU)
    assert problem.rule == "extraneous key [stream] is not permitted"
    assert "invoke_model_with_response_stream" in problem.fix


def test_api_mismatch_says_which_api_the_model_expects() -> None:
    legacy_problem = check_body(good(), CLAUDE_V2)[0]
    assert "Text Completions" in legacy_problem.rule
    messages_problem = check_body(good_legacy(), HAIKU)[0]
    assert "Messages API" in messages_problem.rule


def test_claude_37_accepts_128k_output_with_the_beta() -> None:
    body = with_(max_tokens=100_000)
    assert [p.path for p in check_body(body, SONNET_37)] == ["max_tokens"]
    assert check_body({**body, "anthropic_beta": ["output-128k-2025-02-19"]}, SONNET_37) == []


# --------------------------------------------------------------------------- good bodies

GOOD_BODIES: list[tuple[str, dict, object]] = [
    ("minimal", good(), HAIKU),
    (
        "everything optional",
        with_(
            system=[{"type": "text", "text": "Be brief."}],
            temperature=0.2,
            top_p=0.9,
            top_k=50,
            stop_sequences=["\n\nHuman:", "END"],
            anthropic_beta=["token-efficient-tools-2025-02-19"],
            max_tokens=4096,
        ),
        HAIKU,
    ),
    (
        "image",
        with_(
            messages=[
                {
                    "role": "user",
                    "content": [
                        {"type": "image", "source": {"type": "base64", "media_type": "image/png", "data": PNG_1PX}},
                        {"type": "text", "text": "What is this?"},
                    ],
                }
            ]
        ),
        HAIKU,
    ),
    (
        "tool round trip",
        with_(
            tools=[WEATHER_TOOL],
            tool_choice={"type": "tool", "name": "get_weather"},
            messages=[
                {"role": "user", "content": "Weather in Oslo?"},
                {
                    "role": "assistant",
                    "content": [
                        {"type": "tool_use", "id": "toolu_1", "name": "get_weather", "input": {"city": "Oslo"}}
                    ],
                },
                {
                    "role": "user",
                    "content": [
                        {"type": "tool_result", "tool_use_id": "toolu_1", "content": [{"type": "text", "text": "4 C"}]}
                    ],
                },
            ],
        ),
        HAIKU,
    ),
    ("tool_choice none", with_(tools=[WEATHER_TOOL], tool_choice={"type": "none"}), HAIKU),
    ("thinking", with_(max_tokens=4000, thinking={"type": "enabled", "budget_tokens": 1024}), SONNET_37),
    (
        "thinking with temperature 1",
        with_(max_tokens=4000, temperature=1, thinking={"type": "enabled", "budget_tokens": 2048}),
        SONNET_37,
    ),
    (
        "assistant prefill",
        with_(messages=[{"role": "user", "content": "Hi"}, {"role": "assistant", "content": "{"}]),
        HAIKU,
    ),
    ("legacy", good_legacy(), CLAUDE_V2),
    (
        "legacy with options",
        {**good_legacy(), "stop_sequences": ["\n\nHuman:"], "temperature": 0.5, "top_k": 5},
        CLAUDE_V2,
    ),
]


@pytest.mark.parametrize(("case", "body", "model"), GOOD_BODIES, ids=[c[0] for c in GOOD_BODIES])
def test_good_bodies_have_no_problems(case: str, body: dict, model: object) -> None:
    assert check_body(body, model) == []


# --------------------------------------------------------------------------- validation_message


def test_validation_message_single_problem_reads_like_bedrock() -> None:
    message = validation_message([Problem("temperature", "1.7 is not within 0 and 1", "use 0 to 1")])
    assert message.startswith("Malformed input request: #/temperature: 1.7 is not within 0 and 1")
    assert message.endswith("please reformat your input and try again.")


def test_validation_message_lists_every_problem_with_pointer_paths() -> None:
    problems = check_body({"messages": [{"role": "user", "content": [{"type": "text"}]}]}, HAIKU)
    message = validation_message(problems)
    assert f"{len(problems)} schema violations" in message
    for pointer in ("#/anthropic_version", "#/max_tokens", "#/messages/0/content/0/text"):
        assert pointer in message


def test_dated_version_from_the_anthropic_sdk_is_refused_by_arn_versioned_models() -> None:
    # The anthropic SDK 2.x sends "2026-10-21"; only the Messages-API family takes it.
    body = {"anthropic_version": "2026-10-21", "max_tokens": 10, "messages": [{"role": "user", "content": "hi"}]}
    problems = check_body(body, MODELS["anthropic.claude-haiku-4-5-20251001-v1:0"])
    assert [p.path for p in problems] == ["anthropic_version"]
    assert "extra_body" in problems[0].fix and "bedrock-2023-05-31" in problems[0].fix
    assert check_body(body, MODELS["anthropic.claude-opus-4-7"]) == []
    body["anthropic_version"] = "bedrock-2023-05-32"
    assert [p.path for p in check_body(body, MODELS["anthropic.claude-opus-4-7"])] == ["anthropic_version"]
