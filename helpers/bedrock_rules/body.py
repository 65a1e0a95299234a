"""Request-body rules for Anthropic Claude on Amazon Bedrock (InvokeModel bodies).

The local endpoint uses them to answer a bad request the way Bedrock would (a 400
ValidationException), and ``helpers.payloads`` uses them to stop a bad body before it leaves the
learner's machine. Model facts (limits, thinking modes, sampling rule) come from the catalogue rows.

Pure: standard library only, no I/O.
"""

from __future__ import annotations

import base64
import binascii
import re

from .basics import ANTHROPIC_VERSION, IMAGE_MEDIA_TYPES, _check_positive_int, _show, is_accepted_version, json_kind
from .caching import _check_cache_control
from .catalogue import ModelInfo
from .legacy import _check_legacy_body
from .messages import DATED_VERSION_UNSUPPORTED, Problem
from .sampling import _check_sampling_rule, _check_stop_sequences, _check_top_k, _check_unit_interval
from .thinking import _check_output_config, _check_thinking
from .tools import _check_tool_choice, _check_tools

__all__ = ["check_body"]

# Claude 3.7 Sonnet accepts up to 128k output tokens when this beta is sent.
_OUTPUT_128K_BETA = "output-128k-2025-02-19"
_OUTPUT_128K_LIMIT = 128_000


_MESSAGES_KEYS = (
    "anthropic_version",
    "anthropic_beta",
    "max_tokens",
    "messages",
    "system",
    "temperature",
    "top_p",
    "top_k",
    "stop_sequences",
    "tools",
    "tool_choice",
    "thinking",
    "metadata",
    "output_config",
)
_FIRST_PARTY_HINT = {
    "model": "remove [model]: on Bedrock the model id goes in the URL (modelId=...), not in the body",
    "stream": "remove [stream]: call invoke_model_with_response_stream instead to stream",
}


_BASE64 = re.compile(r"^[A-Za-z0-9+/]*={0,2}$")


def _output_limit(body: dict, model: ModelInfo) -> int:
    betas = body.get("anthropic_beta")
    if (
        model.base_id == "anthropic.claude-3-7-sonnet-20250219-v1:0"
        and isinstance(betas, list)
        and _OUTPUT_128K_BETA in betas
    ):
        return _OUTPUT_128K_LIMIT
    return model.max_output_tokens


def _check_text_block(block: dict, path: str, out: list[Problem]) -> None:
    text = block.get("text")
    if not isinstance(text, str):
        out.append(
            Problem(f"{path}.text", "a text block needs a string [text]", 'write {"type": "text", "text": "..."}')
        )
    elif not text:
        out.append(Problem(f"{path}.text", "text content blocks must be non-empty", "remove the block or add text"))


def _check_image_block(block: dict, path: str, model: ModelInfo, out: list[Problem]) -> None:
    if not model.supports_images:
        out.append(
            Problem(
                path,
                f"{model.name} does not accept image input",
                "remove the image or pick a model with vision",
            )
        )
    source = block.get("source")
    fix = 'use {"type": "base64", "media_type": "image/png", "data": "<base64 bytes>"}'
    if not isinstance(source, dict):
        out.append(Problem(f"{path}.source", "an image block needs a [source] object", fix))
        return
    if source.get("type") != "base64":
        out.append(Problem(f"{path}.source.type", f"{_show(source.get('type'))} is not a valid enum value", fix))
    if source.get("media_type") not in IMAGE_MEDIA_TYPES:
        out.append(
            Problem(
                f"{path}.source.media_type",
                f"{_show(source.get('media_type'))} is not one of {', '.join(IMAGE_MEDIA_TYPES)}",
                "set media_type to the image's real format",
            )
        )
    data = source.get("data")
    if not isinstance(data, str) or not data:
        out.append(Problem(f"{path}.source.data", "image data must be a non-empty base64 string", fix))
    elif not _valid_base64(data):
        out.append(
            Problem(
                f"{path}.source.data",
                "image data is not valid base64",
                "encode the file with base64.b64encode(raw).decode('ascii')",
            )
        )


def _valid_base64(data: str) -> bool:
    if len(data) % 4 or not _BASE64.match(data):
        return False
    try:
        base64.b64decode(data, validate=True)
    except (binascii.Error, ValueError):
        return False
    return True


def _check_tool_use_block(block: dict, path: str, out: list[Problem]) -> None:
    fix = 'copy the block the model returned: {"type": "tool_use", "id": ..., "name": ..., "input": {}}'
    for key in ("id", "name"):
        if not isinstance(block.get(key), str) or not block.get(key):
            out.append(Problem(f"{path}.{key}", f"a tool_use block needs a non-empty string [{key}]", fix))
    if not isinstance(block.get("input"), dict):
        out.append(Problem(f"{path}.input", "a tool_use block needs an [input] object", fix))


def _check_tool_result_block(block: dict, path: str, model: ModelInfo, out: list[Problem]) -> None:
    if not isinstance(block.get("tool_use_id"), str) or not block.get("tool_use_id"):
        out.append(
            Problem(
                f"{path}.tool_use_id",
                "a tool_result block needs the [tool_use_id] of the tool_use it answers",
                "copy the id from the assistant's tool_use block",
            )
        )
    if "content" not in block:
        out.append(
            Problem(
                f"{path}.content",
                "a tool_result block needs [content]",
                "put the tool's output in content as a string or a list of text blocks",
            )
        )
        return
    content = block["content"]
    if isinstance(content, str):
        return
    if not isinstance(content, list):
        out.append(
            Problem(
                f"{path}.content",
                f"expected a string or an array, found: {json_kind(content)}",
                "put the tool's output in content as a string or a list of text blocks",
            )
        )
        return
    for i, inner in enumerate(content):
        inner_path = f"{path}.content[{i}]"
        kind = inner.get("type") if isinstance(inner, dict) else None
        if kind == "text":
            _check_text_block(inner, inner_path, out)
        elif kind == "image":
            _check_image_block(inner, inner_path, model, out)
        else:
            out.append(
                Problem(
                    inner_path,
                    "tool_result content blocks must be text or image blocks",
                    'use {"type": "text", "text": "..."}',
                )
            )


_BLOCK_TYPES = ("text", "image", "tool_use", "tool_result", "document", "thinking", "redacted_thinking")


def _check_block(block: object, path: str, role: object, model: ModelInfo, out: list[Problem]) -> None:
    if not isinstance(block, dict):
        out.append(
            Problem(
                path,
                f"expected a content block object, found: {json_kind(block)}",
                'use {"type": "text", "text": "..."}',
            )
        )
        return
    kind = block.get("type")
    if kind not in _BLOCK_TYPES:
        out.append(
            Problem(
                f"{path}.type",
                f"{_show(kind)} is not a valid content block type",
                "use one of: " + ", ".join(_BLOCK_TYPES),
            )
        )
    elif kind == "text":
        _check_text_block(block, path, out)
    elif kind == "image":
        _check_image_block(block, path, model, out)
    elif kind == "tool_use":
        if role == "user":
            out.append(
                Problem(
                    path,
                    "tool_use blocks may only appear in assistant messages",
                    "move it to an assistant turn",
                )
            )
        _check_tool_use_block(block, path, out)
    elif kind == "tool_result":
        if role == "assistant":
            out.append(Problem(path, "tool_result blocks may only appear in user messages", "move it to a user turn"))
        _check_tool_result_block(block, path, model, out)


def _tool_use_ids(message: object) -> set[str]:
    if not isinstance(message, dict) or not isinstance(message.get("content"), list):
        return set()
    return {
        b["id"]
        for b in message["content"]
        if isinstance(b, dict) and b.get("type") == "tool_use" and isinstance(b.get("id"), str)
    }


def _check_messages(body: dict, model: ModelInfo, out: list[Problem]) -> None:
    msgs_fix = 'give messages as a list like [{"role": "user", "content": "Hello"}]'
    if "messages" not in body:
        out.append(Problem("messages", "required key [messages] not found", msgs_fix))
        return
    messages = body["messages"]
    if not isinstance(messages, list):
        out.append(Problem("messages", f"expected type: JSONArray, found: {json_kind(messages)}", msgs_fix))
        return
    if not messages:
        out.append(Problem("messages", "messages: at least one message is required", msgs_fix))
        return
    previous_role: object = None
    for i, message in enumerate(messages):
        path = f"messages[{i}]"
        if not isinstance(message, dict):
            out.append(Problem(path, f"expected type: JSONObject, found: {json_kind(message)}", msgs_fix))
            previous_role = None
            continue
        role = message.get("role")
        for key in message:
            if key not in ("role", "content"):
                out.append(
                    Problem(
                        f"{path}.{key}",
                        f"extraneous key [{key}] is not permitted",
                        "keep only role and content",
                    )
                )
        if role not in ("user", "assistant"):
            out.append(
                Problem(
                    f"{path}.role",
                    f"{_show(role)} is not a valid enum value",
                    'set role to "user" or "assistant"',
                )
            )
        elif i == 0 and role != "user":
            out.append(
                Problem(
                    f"{path}.role",
                    'the first message must use the "user" role',
                    "start the conversation with a user message",
                )
            )
        elif role == previous_role:
            out.append(
                Problem(
                    # Anthropic's own text, passed through without Bedrock's wrapper (giskard-oss#1933).
                    "messages",
                    f'roles must alternate between "user" and "assistant", but found multiple "{role}" roles in a row',
                    "merge consecutive messages of the same role into one message",
                    "anthropic",
                )
            )
        previous_role = role
        _check_content(message, path, role, model, out)
        if role == "user" and isinstance(message.get("content"), list):
            known = _tool_use_ids(messages[i - 1]) if i > 0 else set()
            for j, block in enumerate(message["content"]):
                if isinstance(block, dict) and block.get("type") == "tool_result":
                    ref = block.get("tool_use_id")
                    if isinstance(ref, str) and ref and ref not in known:
                        out.append(
                            Problem(
                                f"{path}.content[{j}].tool_use_id",
                                f"tool_use_id {ref!r} matches no tool_use block in the previous message",
                                "answer only tool_use ids from the assistant message just before this one",
                            )
                        )


def _check_content(message: dict, path: str, role: object, model: ModelInfo, out: list[Problem]) -> None:
    fix = 'set content to a non-empty string or a list of blocks like [{"type": "text", "text": "..."}]'
    if "content" not in message:
        out.append(Problem(f"{path}.content", "required key [content] not found", fix))
        return
    content = message["content"]
    if isinstance(content, str):
        if not content:
            out.append(Problem(f"{path}.content", "text content must be non-empty", fix))
        return
    if not isinstance(content, list):
        out.append(Problem(f"{path}.content", f"expected a string or an array, found: {json_kind(content)}", fix))
        return
    if not content:
        out.append(Problem(f"{path}.content", "content must contain at least one block", fix))
        return
    for j, block in enumerate(content):
        _check_block(block, f"{path}.content[{j}]", role, model, out)


def _check_system(body: dict, out: list[Problem]) -> None:
    if "system" not in body:
        return
    system = body["system"]
    fix = 'give system as a string or a list like [{"type": "text", "text": "..."}]'
    if isinstance(system, str):
        return
    if not isinstance(system, list):
        out.append(Problem("system", f"expected a string or an array, found: {json_kind(system)}", fix))
        return
    for i, block in enumerate(system):
        if not isinstance(block, dict) or block.get("type") != "text":
            out.append(Problem(f"system[{i}]", "system blocks must be text blocks", fix))
        else:
            _check_text_block(block, f"system[{i}]", out)


def _check_beta(body: dict, out: list[Problem]) -> None:
    if "anthropic_beta" not in body:
        return
    betas = body["anthropic_beta"]
    fix = 'give anthropic_beta as a list of strings, e.g. ["output-128k-2025-02-19"]'
    if not isinstance(betas, list):
        out.append(Problem("anthropic_beta", f"expected type: JSONArray, found: {json_kind(betas)}", fix))
        return
    for i, beta in enumerate(betas):
        if not isinstance(beta, str) or not beta:
            out.append(Problem(f"anthropic_beta[{i}]", "each beta must be a non-empty string", fix))


def _check_version(body: dict, model: ModelInfo, out: list[Problem]) -> None:
    fix = f'add "anthropic_version": "{ANTHROPIC_VERSION}"'
    if "anthropic_version" not in body:
        out.append(Problem("anthropic_version", "required key [anthropic_version] not found", fix,
                           patch={"anthropic_version": ANTHROPIC_VERSION}))
    elif is_accepted_version(body["anthropic_version"], model):
        return
    elif is_accepted_version(body["anthropic_version"]):  # a dated version on an ARN-versioned model
        value = body["anthropic_version"]
        out.append(
            Problem(
                "anthropic_version",
                DATED_VERSION_UNSUPPORTED.format(value=value),
                f"{model.name} is served through the ARN-versioned integration: send "
                f'"anthropic_version": "{ANTHROPIC_VERSION}" (with the anthropic SDK 2.x, pass '
                f'extra_body={{"anthropic_version": "{ANTHROPIC_VERSION}"}})',
                patch={"anthropic_version": ANTHROPIC_VERSION},
            )
        )
    else:
        out.append(Problem("anthropic_version", f"{_show(body['anthropic_version'])} is not a valid enum value", fix,
                           patch={"anthropic_version": ANTHROPIC_VERSION}))


def _check_messages_body(body: dict, model: ModelInfo) -> list[Problem]:
    out: list[Problem] = []
    if "prompt" in body and "messages" not in body:
        out.append(
            Problem(
                "prompt",
                f"{model.name} uses the Messages API, not Text Completions",
                'replace prompt/max_tokens_to_sample with max_tokens and messages=[{"role": "user", "content": ...}]',
            )
        )
    _check_version(body, model, out)
    _check_positive_int(body, "max_tokens", _output_limit(body, model), model, out)
    _check_messages(body, model, out)
    _check_system(body, out)
    _check_unit_interval(body, "temperature", out)
    _check_unit_interval(body, "top_p", out)
    _check_top_k(body, out)
    _check_stop_sequences(body, out)
    names = _check_tools(body, out)
    _check_tool_choice(body, names, out)
    _check_thinking(body, model, out)
    _check_output_config(body, model, out)
    _check_sampling_rule(body, model, out)
    _check_cache_control(body, model, out)
    _check_beta(body, out)
    for key in body:
        if key not in _MESSAGES_KEYS and key not in ("prompt", "max_tokens_to_sample", "cache_control"):
            hint = _FIRST_PARTY_HINT.get(key, "remove [{key}]; it is not a Bedrock Messages parameter")
            out.append(Problem(str(key), f"extraneous key [{key}] is not permitted", hint.format(key=key),
                               patch={str(key): None}))
    if "max_tokens_to_sample" in body:
        out.append(
            Problem(
                "max_tokens_to_sample",
                "extraneous key [max_tokens_to_sample] is not permitted",
                "use max_tokens with the Messages API",
            )
        )
    return out


def check_body(body: object, model: ModelInfo) -> list[Problem]:
    """Every problem with ``body`` for ``model``, all at once, in a stable order (empty list = valid)."""
    if not isinstance(body, dict):
        return [
            Problem(
                "#",
                f"expected type: JSONObject, found: {json_kind(body)}",
                'send a JSON object such as {"anthropic_version": ..., "max_tokens": ..., "messages": [...]}',
            )
        ]
    if model.api == "text_completion":
        return _check_legacy_body(body, model)
    return _check_messages_body(body, model)
