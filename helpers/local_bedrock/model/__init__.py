"""The server's view of the model half: body rules, model ids and the deterministic responder.

Kept as one import point so the server never reaches into the model half anywhere else.
"""

from __future__ import annotations

from helpers.bedrock_rules import (
    MAX_BODY_BYTES,
    ModelInfo,
    ModelLookupError,
    Problem,
    check_body,
    parse_body,
    resolve_model,
    validation_message,
)
from helpers.bedrock_rules.model_ids import resolve_messages_model, serves_messages_route

from .responder import PlannedChunk, ResponsePlan, plan_response

__all__ = [
    "MAX_BODY_BYTES",
    "ModelInfo",
    "ModelLookupError",
    "PlannedChunk",
    "Problem",
    "ResponsePlan",
    "check_body",
    "parse_body",
    "plan_response",
    "resolve_messages_model",
    "resolve_model",
    "serves_messages_route",
    "validation_message",
]
