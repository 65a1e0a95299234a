"""The legacy Text Completions body (``prompt``, ``max_tokens_to_sample``) of older Claude models.

Part of the request-body rules (body.py); pure: standard library only, no I/O.
"""

from __future__ import annotations

from .basics import ANTHROPIC_VERSION, LEGACY_TOP_K_MAX, _check_extraneous, _check_positive_int, _show, json_kind
from .catalogue import ModelInfo
from .messages import Problem
from .sampling import _check_stop_sequences, _check_top_k, _check_unit_interval

_LEGACY_KEYS = (
    "prompt",
    "max_tokens_to_sample",
    "stop_sequences",
    "temperature",
    "top_p",
    "top_k",
    "anthropic_version",
)
_HUMAN = "\n\nHuman:"
_ASSISTANT = "\n\nAssistant:"


def _check_legacy_body(body: dict, model: ModelInfo) -> list[Problem]:
    out: list[Problem] = []
    if "messages" in body:
        out.append(
            Problem(
                "messages",
                f"{model.name} ({model.base_id}) uses the legacy Text Completions API, not Messages",
                'send {"prompt": "\\n\\nHuman: ...\\n\\nAssistant:", "max_tokens_to_sample": 300}, '
                "or pick a Claude 3 or later model id for a Messages body",
            )
        )
    prompt_fix = 'write the prompt as "\\n\\nHuman: <question>\\n\\nAssistant:"'
    if "prompt" not in body:
        if "messages" not in body:
            out.append(Problem("prompt", "required key [prompt] not found", prompt_fix))
    elif not isinstance(body["prompt"], str):
        out.append(Problem("prompt", f"expected type: String, found: {json_kind(body['prompt'])}", prompt_fix))
    else:
        prompt = body["prompt"]
        if not prompt.startswith(_HUMAN):
            out.append(Problem("prompt", 'prompt must start with "\\n\\nHuman:" turn', prompt_fix))
        if not prompt.endswith(_ASSISTANT):
            out.append(Problem("prompt", 'prompt must end with "\\n\\nAssistant:" turn', prompt_fix))
    _check_positive_int(body, "max_tokens_to_sample", model.max_output_tokens, model, out)
    _check_unit_interval(body, "temperature", out)
    _check_unit_interval(body, "top_p", out)
    # top_k is 0-500 for Text Completions (AWS, "Anthropic Claude Text Completions API" parameters page).
    _check_top_k(body, out, maximum=LEGACY_TOP_K_MAX)
    _check_stop_sequences(body, out)
    if "anthropic_version" in body and body["anthropic_version"] not in (ANTHROPIC_VERSION,):
        out.append(
            Problem(
                "anthropic_version",
                f"{_show(body['anthropic_version'])} is not a valid enum value",
                f'remove anthropic_version or set it to "{ANTHROPIC_VERSION}"',
                patch={"anthropic_version": None},
            )
        )
    allowed = (*_LEGACY_KEYS, "messages")
    _check_extraneous(
        body,
        allowed,
        out,
        "remove [{key}]; Text Completions accepts prompt, max_tokens_to_sample, "
        "stop_sequences, temperature, top_p and top_k",
    )
    return out
