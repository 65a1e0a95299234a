"""Limits, the accepted API versions, parsing, and the value checks every part of a request body shares.

Part of the request-body rules (body.py); pure: standard library only, no I/O.
"""

from __future__ import annotations

import json
import math
import re

from .catalogue import ModelInfo
from .messages import Problem

__all__ = [
    "ANTHROPIC_VERSION",
    "IMAGE_MEDIA_TYPES",
    "MAX_BODY_BYTES",
    "MAX_CACHE_CHECKPOINTS",
    "MAX_STOP_SEQUENCES",
    "is_accepted_version",
    "json_kind",
    "parse_body",
]


ANTHROPIC_VERSION = "bedrock-2023-05-31"

# The anthropic SDK 2.x sends its dated API version (e.g. "2026-10-21") in the body. The Messages-API
# family (Opus 4.7 and later) accepts it; ARN-versioned models do not (BEDROCK-2026: 400, text unconfirmed).
_DATED_VERSION = re.compile(r"^\d{4}-\d{2}-\d{2}$")


def is_accepted_version(value: object, model: ModelInfo | None = None) -> bool:
    """True for ``bedrock-2023-05-31``, and for a dated version on a Messages-API-family model."""
    if value == ANTHROPIC_VERSION:
        return True
    dated = isinstance(value, str) and bool(_DATED_VERSION.match(value))
    return dated and (model is None or model.integration == "messages_api")


# botocore's bedrock-runtime model caps InvokeModel's body blob at 25,000,000 bytes.
MAX_BODY_BYTES = 25_000_000

# Bedrock's Anthropic parameter page allows up to 8191 custom stop sequences.
MAX_STOP_SEQUENCES = 8191

# AWS prompt-caching page: at most 4 cache checkpoints per request.
MAX_CACHE_CHECKPOINTS = 4

MIN_THINKING_BUDGET = 1024
LEGACY_TOP_K_MAX = 500

IMAGE_MEDIA_TYPES = ("image/jpeg", "image/png", "image/gif", "image/webp")


def parse_body(raw: bytes) -> tuple[object | None, list[Problem]]:
    """Decode the raw request bytes; return ``(body, [])`` or ``(None, problems)``."""
    size = len(raw)
    if size == 0:
        return None, [Problem("#", "the request body is empty", "send a JSON object as the request body")]
    if size > MAX_BODY_BYTES:
        return None, [
            Problem(
                "#",
                f"the request body is {size:,} bytes, above Bedrock's limit of {MAX_BODY_BYTES:,} bytes",
                "send fewer or smaller images, or shorten the conversation",
            )
        ]
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        return None, [
            Problem(
                "#",
                f"the request body is not valid UTF-8 (byte {exc.start} is {raw[exc.start]:#04x})",
                "encode the JSON text as UTF-8, e.g. json.dumps(body).encode('utf-8')",
            )
        ]
    try:
        return json.loads(text), []
    except json.JSONDecodeError as exc:
        return None, [
            Problem(
                "#",
                f"the request body is not valid JSON: {exc.msg} at line {exc.lineno} column {exc.colno}",
                "build the body as a Python dict and serialise it with json.dumps",
            )
        ]
    except RecursionError:
        return None, [Problem("#", "the request body nests too deeply", "flatten the JSON structure")]


def _is_int(value: object) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def _is_number(value: object) -> bool:
    return (isinstance(value, int | float) and not isinstance(value, bool)) and math.isfinite(value)


def json_kind(value: object) -> str:
    """JSON type name of a value, so messages say JSON words (object, array), not Python ones."""
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "boolean"
    if isinstance(value, int | float):
        return "number"
    if isinstance(value, str):
        return "string"
    if isinstance(value, list):
        return "array"
    if isinstance(value, dict):
        return "object"
    return type(value).__name__


def _show(value: object) -> str:
    try:
        text = json.dumps(value)
    except (TypeError, ValueError):
        text = repr(value)
    return text if len(text) <= 40 else text[:37] + "..."


def _check_extraneous(body: dict, allowed: tuple[str, ...], out: list[Problem], hint: str) -> None:
    for key in body:
        if key not in allowed:
            out.append(Problem(str(key), f"extraneous key [{key}] is not permitted", hint.format(key=key),
                               patch={str(key): None}))


def _check_positive_int(body: dict, key: str, limit: int, model: ModelInfo, out: list[Problem]) -> None:
    fix = f"set {key} to a whole number from 1 to {limit} for {model.name}"
    # A thinking budget needs max_tokens above it: the patch keeps room for it.
    thinking = body.get("thinking")
    budget = thinking.get("budget_tokens") if isinstance(thinking, dict) else None
    fallback = min(limit, max(1024, budget + 1024 if _is_int(budget) else 1024))
    if key not in body:
        out.append(Problem(key, f"required key [{key}] not found", fix, patch={key: fallback}))
        return
    value = body[key]
    if not _is_int(value):
        out.append(Problem(key, f"expected type: Integer, found: {json_kind(value)}", fix, patch={key: fallback}))
    elif value < 1:
        out.append(Problem(key, f"{value} is not higher or equal to 1", fix, patch={key: fallback}))
    elif value > limit:
        short = model.base_id.removeprefix("anthropic.")
        out.append(
            Problem(
                key,
                f"{value} > {limit}, which is the maximum allowed number of output tokens for {short}",
                fix,
                patch={key: limit},
            )
        )
