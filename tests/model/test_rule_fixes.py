"""Every fix the body rules suggest must itself validate.

For each rule a body breaking it is built by hand; the problems it gets either carry ``patch`` (the fix as a
JSON merge patch, RFC 7396) -- applied here, the body must then validate -- or are listed below as fixes a
person has to carry out (a prompt to write, a tool to name), whose ``patch`` must be None.
"""

from __future__ import annotations

import copy
from typing import Any

import pytest

from helpers.bedrock_rules import MODELS, check_body

HAIKU_45 = MODELS["anthropic.claude-haiku-4-5-20251001-v1:0"]  # budget thinking
SONNET_46 = MODELS["anthropic.claude-sonnet-4-6"]  # adaptive and budget thinking
OPUS_47 = MODELS["anthropic.claude-opus-4-7"]  # adaptive only: budget thinking removed
HAIKU_3 = MODELS["anthropic.claude-3-haiku-20240307-v1:0"]  # no thinking
CLAUDE_V2 = MODELS["anthropic.claude-v2:1"]  # Text Completions


def merge_patch(target: Any, patch: Any) -> Any:
    """RFC 7396, written from the RFC's own pseudo-code."""
    if not isinstance(patch, dict):
        return patch
    result = dict(target) if isinstance(target, dict) else {}
    for key, value in patch.items():
        if value is None:
            result.pop(key, None)
        else:
            result[key] = merge_patch(result.get(key), value)
    return result


def messages(max_tokens: int = 400, **extra: Any) -> dict:
    return {"anthropic_version": "bedrock-2023-05-31", "max_tokens": max_tokens,
            "messages": [{"role": "user", "content": "Sketch a plan for a vegetable garden"}], **extra}


def legacy(**extra: Any) -> dict:
    return {"prompt": "\n\nHuman: Sketch a garden plan\n\nAssistant:", "max_tokens_to_sample": 300, **extra}


def without(body: dict, key: str) -> dict:
    return {k: v for k, v in body.items() if k != key}


FORCED = {"tools": [{"name": "plant_lookup", "description": "Find a plant",
                     "input_schema": {"type": "object"}}], "tool_choice": {"type": "any"}}

# (name, model, body that breaks the rule): every problem these get has a patch.
MECHANICAL = [
    ("budget equal to max_tokens (the 2048/2048 case)", HAIKU_45,
     messages(2048, thinking={"type": "enabled", "budget_tokens": 2048})),
    ("budget above max_tokens", HAIKU_45, messages(3000, thinking={"type": "enabled", "budget_tokens": 5000})),
    ("budget below the minimum, max_tokens too small to think", HAIKU_45,
     messages(600, thinking={"type": "enabled", "budget_tokens": 500})),
    ("budget not an integer", HAIKU_45, messages(4000, thinking={"type": "enabled", "budget_tokens": "lots"})),
    ("thinking type unknown, budget model", HAIKU_45, messages(400, thinking={"type": "sometimes"})),
    ("thinking type unknown, adaptive model", SONNET_46, messages(400, thinking={"type": "sometimes"})),
    ("thinking not an object", HAIKU_45, messages(4000, thinking="yes")),
    ("adaptive thinking on a budget model", HAIKU_45, messages(1500, thinking={"type": "adaptive"})),
    ("budget thinking where it was removed", OPUS_47,
     messages(4000, thinking={"type": "enabled", "budget_tokens": 2048})),
    ("thinking on a model that cannot think", HAIKU_3,
     messages(4000, thinking={"type": "enabled", "budget_tokens": 2048})),
    ("sampling and forced tools while thinking", HAIKU_45,
     messages(4000, thinking={"type": "enabled", "budget_tokens": 2048}, temperature=0.3, top_k=40, top_p=0.5,
              **FORCED)),
    ("temperature, top_p and top_k out of range", HAIKU_45, messages(temperature=1.7, top_p=-0.2, top_k=-3)),
    ("sampling values of the wrong type", HAIKU_45, messages(temperature="warm", top_p="high", top_k=2.5)),
    ("max_tokens zero", HAIKU_45, messages(0)),
    ("max_tokens above the model's limit", HAIKU_3, messages(50_000)),
    ("max_tokens missing", HAIKU_45, without(messages(), "max_tokens")),
    ("max_tokens missing while thinking", HAIKU_45,
     without(messages(thinking={"type": "enabled", "budget_tokens": 3000}), "max_tokens")),
    ("max_tokens a string", HAIKU_45, messages("400")),
    ("a first-party key", HAIKU_45, messages(stream=True, model="claude")),
    ("tool_choice type unknown", HAIKU_45, messages(tools=FORCED["tools"], tool_choice={"type": "maybe"})),
    ("anthropic_version missing", HAIKU_45, without(messages(), "anthropic_version")),
    ("anthropic_version unknown", HAIKU_45, messages(anthropic_version="2020-01-01")),
    ("legacy top_k above 500", CLAUDE_V2, legacy(top_k=900)),
    ("legacy top_k negative", CLAUDE_V2, legacy(top_k=-1)),
    ("legacy anthropic_version unknown", CLAUDE_V2, legacy(anthropic_version="v1")),
    ("legacy max_tokens_to_sample zero", CLAUDE_V2, legacy(max_tokens_to_sample=0)),
    ("legacy extraneous key", CLAUDE_V2, legacy(system="Be brief.")),
]

# (name, model, body, path): fixes a person must carry out; their patch is None.
TEXTUAL = [
    ("messages missing", HAIKU_45, without(messages(), "messages"), "messages"),
    ("legacy prompt without its turns", CLAUDE_V2, legacy(prompt="Sketch a garden plan"), "prompt"),
    ("a tool name with spaces", HAIKU_45,
     messages(tools=[{"name": "plant lookup", "input_schema": {"type": "object"}}]), "tools[0].name"),
    ("an empty user message", HAIKU_45, messages(messages=[{"role": "user", "content": ""}]), "messages[0].content"),
    ("an empty stop sequence", HAIKU_45, messages(stop_sequences=[""]), "stop_sequences[0]"),
]


@pytest.mark.parametrize(("name", "model", "body"), MECHANICAL, ids=[case[0] for case in MECHANICAL])
def test_every_suggested_patch_makes_the_body_valid(name, model, body) -> None:
    problems = check_body(copy.deepcopy(body), model)
    assert problems, f"{name}: the body must break a rule"
    fixed = body
    for problem in problems:
        assert problem.patch is not None, f"{name}: {problem.path} has no mechanical fix ({problem.fix})"
        fixed = merge_patch(fixed, problem.patch)
    assert check_body(fixed, model) == [], f"{name}: after the fixes {fixed}"


def test_the_budget_fix_for_max_tokens_2048_is_a_budget_below_it() -> None:
    (problem,) = check_body(messages(2048, thinking={"type": "enabled", "budget_tokens": 2048}), HAIKU_45)
    assert "1024" in problem.fix and "2048" not in problem.fix.split("raise")[0]
    assert problem.patch == {"thinking": {"budget_tokens": 1024}}


def test_legacy_top_k_is_0_to_500() -> None:
    # AWS, "Anthropic Claude Text Completions API": top_k minimum 0, maximum 500.
    assert check_body(legacy(top_k=500), CLAUDE_V2) == [] and check_body(legacy(top_k=0), CLAUDE_V2) == []
    (problem,) = check_body(legacy(top_k=501), CLAUDE_V2)
    assert problem.path == "top_k" and "500" in problem.fix


@pytest.mark.parametrize(("name", "model", "body", "path"), TEXTUAL, ids=[case[0] for case in TEXTUAL])
def test_fixes_that_need_a_person_say_so_with_no_patch(name, model, body, path) -> None:
    problems = [p for p in check_body(body, model) if p.path == path]
    assert problems, f"{name}: expected a problem at {path}"
    assert all(p.patch is None and p.fix for p in problems), name
