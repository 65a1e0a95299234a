"""TEMPORARY stand-in for the model half (bedrock_rules / responder) until it lands; same contract.

Deleted as soon as ``helpers.bedrock_rules`` and ``helpers.local_bedrock.responder`` exist.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Literal, NamedTuple

MAX_BODY_BYTES = 20 * 1024 * 1024


@dataclass(frozen=True)
class ModelInfo:
    base_id: str
    name: str
    api: Literal["messages", "text_completion"]
    max_output_tokens: int
    supports_thinking: bool
    supports_images: bool
    legacy: bool


class ModelLookupError(Exception):
    def __init__(self, status: int, error_type: str, message: str) -> None:
        super().__init__(message)
        self.status, self.error_type, self.message = status, error_type, message


class Problem(NamedTuple):
    path: str
    rule: str
    fix: str


def resolve_model(model_id: str) -> ModelInfo:
    base = model_id.split("/")[-1]
    for prefix in ("us.", "eu.", "apac.", "global."):
        if base.startswith(prefix):
            base = base[len(prefix):]
    if not base.startswith("anthropic."):
        raise ModelLookupError(400, "ValidationException", "This local endpoint serves Anthropic models only.")
    legacy = base.startswith(("anthropic.claude-v2", "anthropic.claude-instant"))
    return ModelInfo(base, "stand-in", "text_completion" if legacy else "messages", 4096, False, True, legacy)


def parse_body(raw: bytes) -> tuple[object | None, list[Problem]]:
    try:
        return json.loads(raw), []
    except ValueError as error:
        return None, [Problem("#", f"malformed JSON: {error}", "send valid JSON")]


def check_body(body: object, model: ModelInfo) -> list[Problem]:
    if not isinstance(body, dict):
        return [Problem("#", "body must be a JSON object", "send an object")]
    if model.api == "messages" and "max_tokens" not in body:
        return [Problem("max_tokens", "required key missing", "add max_tokens")]
    return []


def validation_message(problems: list[Problem]) -> str:
    return "; ".join(f"{p.path}: {p.rule} ({p.fix})" for p in problems)


@dataclass(frozen=True)
class PlannedChunk:
    payload: dict
    output_tokens: int


@dataclass(frozen=True)
class ResponsePlan:
    api: Literal["messages", "text_completion"]
    chunks: list[PlannedChunk]
    input_tokens: int
    output_tokens: int
    stop_reason: str
    response_body: dict


def plan_response(body: dict, model: ModelInfo, *, seed: int) -> ResponsePlan:
    words = [w + " " for w in "This answer comes from the local Bedrock endpoint stand-in.".split()]
    words = words[: max(1, int(body.get("max_tokens", 99)))]
    text = "".join(words)
    n = len(words)
    chunks = [
        PlannedChunk({"type": "message_start", "message": {"id": "msg_local", "type": "message",
                      "role": "assistant", "model": model.base_id, "content": [], "stop_reason": None,
                      "stop_sequence": None, "usage": {"input_tokens": 5, "output_tokens": 1}}}, 0),
        PlannedChunk({"type": "content_block_start", "index": 0, "content_block": {"type": "text", "text": ""}}, 0),
        *[PlannedChunk({"type": "content_block_delta", "index": 0, "delta": {"type": "text_delta", "text": w}}, 1)
          for w in words],
        PlannedChunk({"type": "content_block_stop", "index": 0}, 0),
        PlannedChunk({"type": "message_delta", "delta": {"stop_reason": "end_turn", "stop_sequence": None},
                      "usage": {"output_tokens": n}}, 0),
        PlannedChunk({"type": "message_stop"}, 0),
    ]
    response = {"id": "msg_local", "type": "message", "role": "assistant", "model": model.base_id,
                "content": [{"type": "text", "text": text}], "stop_reason": "end_turn", "stop_sequence": None,
                "usage": {"input_tokens": 5, "output_tokens": n}}
    return ResponsePlan("messages", chunks, 5, n, "end_turn", response)
