"""helpers.local_bedrock.model.responder: what the endpoint answers, planned deterministically."""

from __future__ import annotations

import base64
import json

import pytest

from helpers.bedrock_rules import MODELS, check_body
from helpers.local_bedrock.model.answers import COURSE_PROMPTS, answer_text
from helpers.local_bedrock.model.responder import ResponsePlan, plan_response
from helpers.local_bedrock.model.tokens import count_tokens

HAIKU = MODELS["anthropic.claude-3-haiku-20240307-v1:0"]
SONNET_4 = MODELS["anthropic.claude-sonnet-4-20250514-v1:0"]
CLAUDE_V2 = MODELS["anthropic.claude-v2"]

WEATHER_TOOL = {
    "name": "get_weather",
    "description": "Get the current weather for a city",
    "input_schema": {
        "type": "object",
        "properties": {
            "city": {"type": "string", "description": "City name"},
            "unit": {"type": "string", "enum": ["celsius", "fahrenheit"]},
            "days": {"type": "integer", "minimum": 1, "maximum": 7},
            "hourly": {"type": "boolean"},
            "fields": {"type": "array", "items": {"type": "string"}, "minItems": 2},
            "where": {
                "type": "object",
                "properties": {"lat": {"type": "number"}, "lon": {"type": "number"}},
                "required": ["lat", "lon"],
            },
        },
        "required": ["city", "days", "hourly", "fields", "where"],
    },
}
CALCULATOR = {
    "name": "calculator",
    "description": "Evaluate an arithmetic expression",
    "input_schema": {"type": "object", "properties": {"expression": {"type": "string"}}, "required": ["expression"]},
}


def body(prompt: str = "Write a haiku about rivers", max_tokens: int = 1000, **extra: object) -> dict:
    result = {
        "anthropic_version": "bedrock-2023-05-31",
        "max_tokens": max_tokens,
        "messages": [{"role": "user", "content": prompt}],
        **extra,
    }
    return result


def plan(b: dict, model=HAIKU, seed: int = 0) -> ResponsePlan:
    assert check_body(b, model) == [], "the test body itself must be valid"
    return plan_response(b, model, seed=seed)


def accumulate(p: ResponsePlan) -> dict:
    """Fold the planned stream into a message, the way a client accumulator would."""
    message: dict = {}
    for chunk in p.chunks:
        event = chunk.payload
        kind = event["type"]
        if kind == "message_start":
            message = json.loads(json.dumps(event["message"]))
        elif kind == "content_block_start":
            assert event["index"] == len(message["content"])
            block = dict(event["content_block"])
            if block["type"] == "tool_use":
                block["_json"] = ""
            message["content"].append(block)
        elif kind == "content_block_delta":
            block = message["content"][event["index"]]
            delta = event["delta"]
            if delta["type"] == "text_delta":
                block["text"] += delta["text"]
            elif delta["type"] == "input_json_delta":
                block["_json"] += delta["partial_json"]
            elif delta["type"] == "thinking_delta":
                block["thinking"] += delta["thinking"]
            elif delta["type"] == "signature_delta":
                block["signature"] = delta["signature"]
        elif kind == "content_block_stop":
            block = message["content"][event["index"]]
            if block["type"] == "tool_use":
                block["input"] = json.loads(block.pop("_json"))
        elif kind == "message_delta":
            message.update(event["delta"])
            message["usage"]["output_tokens"] = event["usage"]["output_tokens"]
    return message


def text_of(p: ResponsePlan) -> str:
    return "".join(b["text"] for b in p.response_body["content"] if b["type"] == "text")


def check_consistent(p: ResponsePlan) -> None:
    assert accumulate(p) == p.response_body
    total = sum(c.output_tokens for c in p.chunks)
    assert total == p.output_tokens == p.response_body["usage"]["output_tokens"]
    assert p.response_body["usage"]["input_tokens"] == p.input_tokens
    assert p.stop_reason == p.response_body["stop_reason"]
    for chunk in p.chunks:
        assert "amazon-bedrock-invocationMetrics" not in chunk.payload
        if chunk.payload["type"] == "content_block_delta" and chunk.payload["delta"]["type"] == "text_delta":
            assert chunk.output_tokens == count_tokens(chunk.payload["delta"]["text"]) >= 1


# --------------------------------------------------------------------------- shape and determinism


def test_event_order_and_message_start() -> None:
    p = plan(body())
    kinds = [c.payload["type"] for c in p.chunks]
    assert kinds[:2] == ["message_start", "content_block_start"]
    assert kinds[-3:] == ["content_block_stop", "message_delta", "message_stop"]
    assert set(kinds[2:-3]) == {"content_block_delta"}
    start = p.chunks[0].payload["message"]
    assert start["id"].startswith("msg_bdrk_01") and len(start["id"]) == len("msg_bdrk_01") + 22
    assert start["model"] == HAIKU.anthropic_name == "claude-3-haiku-20240307"
    assert start["content"] == [] and start["stop_reason"] is None and start["stop_sequence"] is None
    assert start["usage"]["input_tokens"] == p.input_tokens and start["usage"]["output_tokens"] == 1


def test_same_body_and_seed_give_the_same_plan() -> None:
    assert plan(body(), seed=7) == plan(body(), seed=7)


def test_different_seeds_chunk_differently_but_say_the_same() -> None:
    a, b = plan(body(COURSE_PROMPTS[0]), seed=1), plan(body(COURSE_PROMPTS[0]), seed=2)
    assert [c.payload for c in a.chunks[1:]] != [c.payload for c in b.chunks[1:]]
    assert text_of(a) == text_of(b)


def test_deltas_carry_one_to_a_few_tokens() -> None:
    p = plan(body("Write a short story about a lighthouse keeper", max_tokens=4096))
    sizes = [c.output_tokens for c in p.chunks if c.payload["type"] == "content_block_delta"]
    assert min(sizes) >= 1 and max(sizes) <= 4 and len(set(sizes)) > 1


@pytest.mark.parametrize("prompt", COURSE_PROMPTS)
def test_course_prompts_get_their_bank_answer(prompt: str) -> None:
    p = plan(body(prompt, max_tokens=4096))
    assert p.stop_reason == "end_turn"
    assert text_of(p) == answer_text(prompt, 0)
    check_consistent(p)


def test_bank_matching_ignores_case_punctuation_and_spacing() -> None:
    assert text_of(plan(body("  write a HAIKU about rivers!!  "))) == answer_text("Write a haiku about rivers", 0)


def test_lighthouse_story_has_markdown_for_the_live_view() -> None:
    story = answer_text("Write a short story about a lighthouse keeper", 0)
    assert story.startswith("# ") and "\n- " in story and "```" in story and count_tokens(story) > 500


def test_other_prompts_are_answered_about_their_subject_never_about_the_endpoint() -> None:
    for seed in range(5):
        text = text_of(plan(body("Tell me about penguins"), seed=seed))
        assert "penguins" in text
        lowered = text.lower()
        assert "endpoint" not in lowered and "course" not in lowered and "bedrock" not in lowered
        assert "I am Claude" not in text and "I'm Claude" not in text


# --------------------------------------------------------------------------- stop reasons


def test_max_tokens_cuts_at_exactly_max_tokens() -> None:
    for limit in (1, 5, 37):
        p = plan(body("Write a short story about a lighthouse keeper", max_tokens=limit))
        assert p.stop_reason == "max_tokens" and p.response_body["stop_sequence"] is None
        assert p.output_tokens == limit == count_tokens(text_of(p))
        check_consistent(p)


def test_an_answer_that_fits_exactly_ends_normally() -> None:
    exact = count_tokens(answer_text("Write a haiku about rivers", 0))
    assert plan(body(max_tokens=exact)).stop_reason == "end_turn"
    assert plan(body(max_tokens=exact - 1)).stop_reason == "max_tokens"


def test_stop_sequence_stops_before_it() -> None:
    prompt = "Write a short story about a lighthouse keeper"
    full = answer_text(prompt, 0)
    p = plan(body(prompt, max_tokens=4096, stop_sequences=["XYZ", "## "]))
    assert p.stop_reason == "stop_sequence" and p.response_body["stop_sequence"] == "## "
    assert text_of(p) == full[: full.index("## ")]
    assert p.chunks[-2].payload["delta"] == {"stop_reason": "stop_sequence", "stop_sequence": "## "}
    check_consistent(p)


def test_earliest_stop_sequence_wins() -> None:
    p = plan(body("Explain event-stream framing", stop_sequences=["CRC32", "\n\n"]))
    assert p.response_body["stop_sequence"] == "\n\n"


def test_max_tokens_wins_over_a_later_stop_sequence() -> None:
    p = plan(body("Write a short story about a lighthouse keeper", max_tokens=10, stop_sequences=["THE END"]))
    assert p.stop_reason == "max_tokens" and p.output_tokens == 10


# --------------------------------------------------------------------------- long answers


def test_length_marker_gives_exactly_that_many_tokens() -> None:
    p = plan(body("Benchmark text [[length=3000]]", max_tokens=8000), model=SONNET_4)
    assert p.stop_reason == "end_turn" and p.output_tokens == 3000


def test_chunk_marker_pins_the_delta_size_for_benchmarks() -> None:
    p = plan(body("[[length=20000]] [[chunk=1]]", max_tokens=20000), model=SONNET_4)
    deltas = [c for c in p.chunks if c.payload["type"] == "content_block_delta"]
    assert len(deltas) == 20000 and {c.output_tokens for c in deltas} == {1}


def test_long_prompt_beyond_max_tokens_stops_at_max_tokens() -> None:
    p = plan(body("Write a long essay about rivers", max_tokens=300))
    assert p.stop_reason == "max_tokens" and p.output_tokens == 300


# --------------------------------------------------------------------------- tool use


def tool_block(p: ResponsePlan) -> dict:
    (block,) = [b for b in p.response_body["content"] if b["type"] == "tool_use"]
    return block


def test_weather_prompt_calls_the_tool_with_schema_valid_input() -> None:
    p = plan(body("What's the weather in Lisbon tomorrow, in fahrenheit?", tools=[WEATHER_TOOL]))
    assert p.stop_reason == "tool_use"
    block = tool_block(p)
    assert block["id"].startswith("toolu_bdrk_") and block["name"] == "get_weather"
    data = block["input"]
    for key in WEATHER_TOOL["input_schema"]["required"]:
        assert key in data
    assert data["city"] == "Lisbon" and data["unit"] == "fahrenheit"
    assert isinstance(data["days"], int) and not isinstance(data["days"], bool) and 1 <= data["days"] <= 7
    assert data["hourly"] is True or data["hourly"] is False
    assert isinstance(data["fields"], list) and len(data["fields"]) >= 2
    assert all(isinstance(v, str) for v in data["fields"])
    assert isinstance(data["where"]["lat"], float) and isinstance(data["where"]["lon"], float)
    check_consistent(p)


def tool_input_deltas(p: ResponsePlan) -> list[tuple[str, int]]:
    return [(c.payload["delta"]["partial_json"], c.output_tokens) for c in p.chunks
            if c.payload["type"] == "content_block_delta" and c.payload["delta"]["type"] == "input_json_delta"]


def test_tool_input_streams_as_several_json_pieces_with_fine_grained_tool_streaming() -> None:
    p = plan(body("What's the weather in Lisbon?", tools=[WEATHER_TOOL],
                  anthropic_beta=["fine-grained-tool-streaming-2025-05-14"]))
    pieces = [piece for piece, _ in tool_input_deltas(p)]
    assert len([x for x in pieces if x]) > 3
    assert json.loads("".join(pieces)) == tool_block(p)["input"]
    start = [c.payload for c in p.chunks if c.payload["type"] == "content_block_start"][-1]
    assert start["content_block"]["input"] == {}


def test_tool_input_arrives_in_a_few_large_deltas_without_fine_grained_tool_streaming() -> None:
    # BerriAI/litellm#30230, earendil-works/pi#7375: without the beta the input is buffered, then flushed.
    p = plan(body("What's the weather in Lisbon?", tools=[WEATHER_TOOL]))
    deltas = [(piece, tokens) for piece, tokens in tool_input_deltas(p) if piece]
    assert 1 <= len(deltas) <= 2
    assert all(tokens >= 5 for _, tokens in deltas)  # each one waits for many tokens' worth of generation
    assert json.loads("".join(piece for piece, _ in deltas)) == tool_block(p)["input"]


def test_calculator_gets_the_expression_from_the_prompt() -> None:
    p = plan(body("Please calculate 17 * 23 for me", tools=[WEATHER_TOOL, CALCULATOR]))
    assert tool_block(p)["name"] == "calculator" and tool_block(p)["input"] == {"expression": "17 * 23"}


def test_unrelated_prompt_with_auto_answers_in_text() -> None:
    p = plan(body("Write a haiku about rivers", tools=[CALCULATOR]))
    assert p.stop_reason == "end_turn" and all(b["type"] == "text" for b in p.response_body["content"])


def test_forcing_tool_choice_calls_a_tool_without_preamble() -> None:
    for choice in ({"type": "any"}, {"type": "tool", "name": "calculator"}):
        p = plan(body("Write a haiku about rivers", tools=[CALCULATOR], tool_choice=choice))
        assert p.stop_reason == "tool_use"
        assert [b["type"] for b in p.response_body["content"]] == ["tool_use"]


def test_tool_choice_none_never_calls() -> None:
    p = plan(body("What's the weather in Lisbon?", tools=[WEATHER_TOOL], tool_choice={"type": "none"}))
    assert p.stop_reason == "end_turn"


def test_follow_up_with_tool_result_uses_it() -> None:
    first = plan(body("What's the weather in Lisbon?", tools=[WEATHER_TOOL]))
    follow = body("What's the weather in Lisbon?", tools=[WEATHER_TOOL])
    follow["messages"] += [
        {"role": "assistant", "content": first.response_body["content"]},
        {
            "role": "user",
            "content": [{"type": "tool_result", "tool_use_id": tool_block(first)["id"], "content": "21 C and sunny"}],
        },
    ]
    p = plan(follow)
    assert p.stop_reason == "end_turn"
    assert "21 C and sunny" in text_of(p) and "get_weather" in text_of(p)
    check_consistent(p)


# --------------------------------------------------------------------------- thinking


def test_thinking_block_first_within_budget_then_text() -> None:
    b = body("Explain event-stream framing", max_tokens=4000, thinking={"type": "enabled", "budget_tokens": 1024})
    p = plan(b, model=SONNET_4)
    thinking, text = p.response_body["content"]
    assert thinking["type"] == "thinking" and text["type"] == "text"
    assert 0 < count_tokens(thinking["thinking"]) <= 1024
    base64.b64decode(thinking["signature"], validate=True)
    deltas = [c.payload["delta"] for c in p.chunks if c.payload.get("index") == 0 and "delta" in c.payload]
    assert [d["type"] for d in deltas].count("signature_delta") == 1 and deltas[-1]["type"] == "signature_delta"
    assert p.chunks[1].payload["content_block"] == {"type": "thinking", "thinking": "", "signature": ""}
    check_consistent(p)


def test_thinking_counts_towards_max_tokens() -> None:
    b = body("Some text [[length=2000]]", max_tokens=1100)
    b["thinking"] = {"type": "enabled", "budget_tokens": 1024}
    p = plan(b, model=SONNET_4)
    assert p.stop_reason == "max_tokens" and p.output_tokens == 1100
    check_consistent(p)


# --------------------------------------------------------------------------- legacy


def legacy(question: str = "What is the capital of France?", limit: int = 300, **extra: object) -> dict:
    return {"prompt": f"\n\nHuman: {question}\n\nAssistant:", "max_tokens_to_sample": limit, **extra}


def test_legacy_stream_chunks_and_body() -> None:
    p = plan(legacy(), model=CLAUDE_V2)
    assert p.api == "text_completion"
    for chunk in p.chunks[:-1]:
        assert chunk.payload["stop_reason"] is None and chunk.payload["stop"] is None
        assert set(chunk.payload) == {"completion", "stop_reason", "stop"}
    assert p.chunks[-1].payload["stop_reason"] == "stop_sequence" and p.chunks[-1].payload["stop"] == "\n\nHuman:"
    completion = "".join(c.payload["completion"] for c in p.chunks)
    assert p.response_body == {"completion": completion, "stop_reason": "stop_sequence", "stop": "\n\nHuman:"}
    assert completion.strip() == answer_text("What is the capital of France?", 0)
    assert sum(c.output_tokens for c in p.chunks) == p.output_tokens == count_tokens(completion)


def test_legacy_max_tokens_to_sample_cuts_exactly() -> None:
    p = plan(legacy(limit=6), model=CLAUDE_V2)
    assert p.stop_reason == "max_tokens" and p.chunks[-1].payload["stop"] is None
    assert p.output_tokens == 6 == count_tokens(p.response_body["completion"])


def test_legacy_custom_stop_sequence() -> None:
    p = plan(legacy(stop_sequences=["Seine"]), model=CLAUDE_V2)
    assert p.response_body["stop"] == "Seine" and p.response_body["completion"].endswith("river ")
