"""CountTokens: the input tokens a request would use, for an InvokeModel body or a Converse request."""

from __future__ import annotations

import base64
import binascii
import json

from helpers.bedrock_rules import ModelInfo, check_body, parse_body, validation_message

from ..errors import BedrockError
from ..model.tokens import count_input_tokens
from . import converse

__all__ = ["count_tokens"]


def count_tokens(raw: bytes, model: ModelInfo) -> int:
    """Input tokens of a CountTokens request: ``{"input": {"invokeModel": {"body": ...}}}`` or
    ``{"input": {"converse": {...}}}`` (botocore's CountTokens shape). Raises a ValidationException."""
    request, problems = parse_body(raw)
    if problems or not isinstance(request, dict) or not isinstance(request.get("input"), dict):
        raise BedrockError(400, "ValidationException",
                           'CountTokens takes {"input": {"invokeModel": {"body": ...}}} or '
                           '{"input": {"converse": {"messages": [...]}}}.')
    given = request["input"]
    if isinstance(given.get("invokeModel"), dict):
        encoded = given["invokeModel"].get("body", "")
        try:
            body_bytes = base64.b64decode(encoded, validate=True)
        except (binascii.Error, ValueError, TypeError):
            raise BedrockError(400, "ValidationException", "input.invokeModel.body must be base64") from None
        body, problems = parse_body(body_bytes)
        if not problems:
            problems = check_body(body, model)
        if problems:
            raise BedrockError(400, "ValidationException", validation_message(problems))
        assert isinstance(body, dict)
        return count_input_tokens(body, model)
    if isinstance(given.get("converse"), dict):
        prepared = converse.prepare("Converse", json.dumps(given["converse"]).encode(), model)
        return count_input_tokens(prepared.body, model)
    raise BedrockError(400, "ValidationException", "input must hold invokeModel or converse.")
