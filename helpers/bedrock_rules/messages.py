"""Bedrock's words: the texts it answers with, and how a list of problems becomes one error message.

Texts quoted from real Bedrock answers carry their source; a text no source confirmed is one constant
marked UNCONFIRMED, so it changes in one place when a real answer turns up.

A :class:`Problem` keeps the wire text (``rule``, what Bedrock says) apart from the teaching text
(``fix``, what to change): only ``rule`` goes on the wire; ``helpers.payloads`` and
``helpers.client.explain`` show ``fix``.
"""

from __future__ import annotations

import re
from typing import Literal, NamedTuple

__all__ = [
    "ACCESS_DENIED",
    "ADAPTIVE_UNSUPPORTED",
    "CACHE_CONTROL_TOP_LEVEL",
    "DATED_VERSION_UNSUPPORTED",
    "EFFORT_UNSUPPORTED",
    "END_OF_LIFE",
    "ERROR_TYPE_SUFFIX",
    "INVALID_MODEL_ID",
    "LEGACY_INACTIVE",
    "MODEL_ERROR_PREFIX",
    "NOT_FOUND",
    "Problem",
    "SAMPLING_BOTH",
    "SAMPLING_FIXED",
    "SAMPLING_UNSUPPORTED",
    "THINKING_ENABLED_REMOVED",
    "on_demand_unsupported",
    "prompt_too_long",
    "sampling_deprecated",
    "validation_message",
]

# x-amzn-ErrorType carries this after the type name (captures err_invalid_model_*; SDKs strip after ':').
ERROR_TYPE_SUFFIX = ":http://internal.amazon.com/coral/com.amazon.bedrock/"

# captures err_invalid_model_* (2025), all four operations.
INVALID_MODEL_ID = "The provided model identifier is invalid."
NOT_FOUND = "Could not resolve the foundation model from the provided model identifier."
# Pasted into aws-solutions-library-samples/accelerated-intelligent-document-processing-on-aws#708 (2026-08).
END_OF_LIFE = (
    "This model version has reached the end of its life. Please refer to the AWS documentation for more details."
)
# awslabs/llmeter#35, amazon-bedrock-workshop#386 (2026).
LEGACY_INACTIVE = (
    "Access denied. This Model is marked by provider as Legacy and you have not been actively using the model "
    "in the last 15 days. Please upgrade to an active model on Amazon Bedrock"
)
# dirkpetersen/our-chat#3 and others (2024-2025).
ACCESS_DENIED = "You don't have access to the model with the specified model ID."


def on_demand_unsupported(base_id: str) -> str:
    """terricain/aioboto3#352, anthropics/claude-code#110: note the typographic apostrophe in isn’t."""
    return (
        f"Invocation of model ID {base_id} with on-demand throughput isn\u2019t supported. Retry your request "
        "with the ID or ARN of an inference profile that contains this model."
    )


# Bedrock passes Anthropic's own validation errors through behind this prefix (Portkey-AI/gateway#1142).
MODEL_ERROR_PREFIX = "The model returned the following errors: "
# Anthropic's texts, as BEDROCK-2026.md quotes them.
SAMPLING_BOTH = "`temperature` and `top_p` cannot both be specified for this model. Please use only one."


def prompt_too_long(input_tokens: int, limit: int) -> str:
    """Anthropic's words for an input longer than the model's context window.

    Bedrock answers 400 ValidationException with them behind MODEL_ERROR_PREFIX: "The model returned the
    following errors: prompt is too long: 200049 tokens > 200000 maximum" (daisuke-awaji/moca#254, 2026-03);
    Anthropic's own API says the same words (entropy-research/Devon#88). Claude 3 Haiku, since retired,
    said "Input is too long for requested model." instead (aws/aws-sdk-js-v3#6266, 2024). The same text on
    Converse / ConverseStream is unconfirmed (no capture); the course uses it there too.
    """
    return f"prompt is too long: {input_tokens} tokens > {limit} maximum"


def sampling_deprecated(param: str) -> str:
    return f"`{param}` is deprecated for this model."


THINKING_ENABLED_REMOVED = (
    '"thinking.type.enabled" is not supported for this model. Use "thinking.type.adaptive" and '
    '"output_config.effort" to control thinking behavior.'
)
ADAPTIVE_UNSUPPORTED = "adaptive thinking is not supported on this model"
# UNCONFIRMED: no real answer recorded. BEDROCK-2026 says ARN-versioned models answer the anthropic SDK
# 2.x's dated version with a 400 whose text is unknown; this is the closest schema-style wording.
DATED_VERSION_UNSUPPORTED = "{value} is not a supported anthropic_version for this model"
# UNCONFIRMED: effort sent to a model without it (wording modelled on Anthropic's extra-input errors).
EFFORT_UNSUPPORTED = "output_config.effort: effort is not supported on this model"
# UNCONFIRMED: Fable 5.2 / Mythos 5.2 take temperature only as 1.0 and top_p only as 0.99 (their AWS model cards);
# the 400's text is unknown, modelled on Anthropic's sampling errors above.
SAMPLING_FIXED = "`{param}` may only be set to {value} for this model."
SAMPLING_UNSUPPORTED = "`{param}` is not supported for this model."
# UNCONFIRMED: top-level (automatic) cache_control on the legacy integration is a 400; text unknown.
CACHE_CONTROL_TOP_LEVEL = "extraneous key [cache_control] is not permitted"


class Problem(NamedTuple):
    """One thing wrong with a request body.

    ``rule`` is what Bedrock says (on the wire); ``fix`` is what to change (never on the wire).
    ``wire`` says how Bedrock reports it: ``schema`` problems are listed in a "Malformed input request"
    message; ``model`` problems are Anthropic's, wrapped in :data:`MODEL_ERROR_PREFIX`; ``anthropic``
    problems are Anthropic's text as is, ``<path>: <rule>`` (e.g. roles that do not alternate).
    """

    path: str  # "messages[1].role", "temperature", or "#" for the whole body
    rule: str  # what is wrong, in Bedrock's wording
    fix: str  # what to change
    wire: Literal["schema", "model", "anthropic"] = "schema"
    # The fix as a JSON merge patch of the body (RFC 7396: a key set to None is removed), when it can be applied
    # mechanically; None when the fix needs a person's choice (a prompt to write, a tool to name, a model to pick).
    patch: dict | None = None


def _pointer(path: str) -> str:
    """Turn ``messages[1].content[0]`` into Bedrock's JSON-pointer style ``#/messages/1/content/0``."""
    if path in ("", "#"):
        return "#"
    parts = re.sub(r"\[(\d+)\]", r".\1", path).split(".")
    return "#/" + "/".join(p for p in parts if p)


def _dotted(path: str) -> str:
    """``messages[1].content[0]`` -> Anthropic's ``messages.1.content.0``."""
    return re.sub(r"\[(\d+)\]", r".\1", path).strip(".")


def validation_message(problems: list[Problem]) -> str:
    """The text of Bedrock's 400 ValidationException for ``problems``.

    Schema problems come first and are all listed (Bedrock checks its schema before the model sees the
    body); otherwise the first model-side problem is reported, as Anthropic reports one at a time.
    """
    schema = [p for p in problems if p.wire == "schema"]
    if not problems:
        return "Malformed input request, please reformat your input and try again."
    if not schema:
        first = problems[0]
        if first.wire == "anthropic":
            return f"{_dotted(first.path)}: {first.rule}"
        return MODEL_ERROR_PREFIX + first.rule
    items = [f"{_pointer(p.path)}: {p.rule}" for p in schema]
    if len(items) == 1:
        return f"Malformed input request: {items[0]}, please reformat your input and try again."
    listed = "; ".join(f"{n}) {item}" for n, item in enumerate(items, 1))
    return (
        f"Malformed input request: {len(items)} schema violations found: {listed}, "
        "please reformat your input and try again."
    )
