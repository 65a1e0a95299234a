"""Request-body rules for Anthropic Claude on Amazon Bedrock (InvokeModel bodies).

The local endpoint uses them to answer a bad request the way Bedrock would (a 400
ValidationException), and ``helpers.payloads`` uses them to stop a bad body before it leaves the
learner's machine. Model facts (limits, thinking modes, sampling rule) come from the catalogue rows.

Pure: standard library only, no I/O.
"""

from __future__ import annotations

import base64
import binascii
import json
import math
import re

from .catalogue import ModelInfo
from .messages import (
    ADAPTIVE_UNSUPPORTED,
    CACHE_CONTROL_TOP_LEVEL,
    DATED_VERSION_UNSUPPORTED,
    EFFORT_UNSUPPORTED,
    SAMPLING_BOTH,
    THINKING_ENABLED_REMOVED,
    Problem,
    sampling_deprecated,
)

__all__ = [
    "ANTHROPIC_VERSION",
    "IMAGE_MEDIA_TYPES",
    "MAX_BODY_BYTES",
    "MAX_CACHE_CHECKPOINTS",
    "MAX_STOP_SEQUENCES",
    "cache_checkpoints",
    "check_body",
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

IMAGE_MEDIA_TYPES = ("image/jpeg", "image/png", "image/gif", "image/webp")

# Claude 3.7 Sonnet accepts up to 128k output tokens when this beta is sent.
_OUTPUT_128K_BETA = "output-128k-2025-02-19"
_OUTPUT_128K_LIMIT = 128_000


# --------------------------------------------------------------------------- parsing


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


# --------------------------------------------------------------------------- shared checks


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


def _check_unit_interval(body: dict, key: str, out: list[Problem]) -> None:
    if key not in body:
        return
    value = body[key]
    if not _is_number(value):
        out.append(
            Problem(key, f"expected type: Number, found: {json_kind(value)}", f"set {key} to a number from 0 to 1")
        )
    elif not 0 <= value <= 1:
        out.append(Problem(key, f"{_show(value)} is not within 0 and 1", f"set {key} to a number from 0 to 1"))


def _check_top_k(body: dict, out: list[Problem]) -> None:
    if "top_k" not in body:
        return
    value = body["top_k"]
    if not _is_int(value):
        out.append(
            Problem("top_k", f"expected type: Integer, found: {json_kind(value)}", "set top_k to a whole number >= 0")
        )
    elif value < 0:
        out.append(Problem("top_k", f"{value} is not higher or equal to 0", "set top_k to a whole number >= 0"))


def _check_stop_sequences(body: dict, out: list[Problem]) -> None:
    if "stop_sequences" not in body:
        return
    value = body["stop_sequences"]
    fix = 'give stop_sequences as a list of non-empty strings, e.g. ["\\n\\nHuman:"]'
    if not isinstance(value, list):
        out.append(Problem("stop_sequences", f"expected type: JSONArray, found: {json_kind(value)}", fix))
        return
    if len(value) > MAX_STOP_SEQUENCES:
        out.append(
            Problem(
                "stop_sequences",
                f"expected maximum item count: {MAX_STOP_SEQUENCES}, found: {len(value)}",
                "send fewer stop sequences",
            )
        )
    for i, item in enumerate(value):
        if not isinstance(item, str):
            out.append(Problem(f"stop_sequences[{i}]", f"expected type: String, found: {json_kind(item)}", fix))
        elif not item:
            out.append(Problem(f"stop_sequences[{i}]", "an empty stop sequence is not allowed", fix))


def _check_extraneous(body: dict, allowed: tuple[str, ...], out: list[Problem], hint: str) -> None:
    for key in body:
        if key not in allowed:
            out.append(Problem(str(key), f"extraneous key [{key}] is not permitted", hint.format(key=key)))


def _check_positive_int(body: dict, key: str, limit: int, model: ModelInfo, out: list[Problem]) -> None:
    fix = f"set {key} to a whole number from 1 to {limit} for {model.name}"
    if key not in body:
        out.append(Problem(key, f"required key [{key}] not found", fix))
        return
    value = body[key]
    if not _is_int(value):
        out.append(Problem(key, f"expected type: Integer, found: {json_kind(value)}", fix))
    elif value < 1:
        out.append(Problem(key, f"{value} is not higher or equal to 1", fix))
    elif value > limit:
        short = model.base_id.removeprefix("anthropic.")
        out.append(
            Problem(
                key,
                f"{value} > {limit}, which is the maximum allowed number of output tokens for {short}",
                fix,
            )
        )


# --------------------------------------------------------------------------- Messages API

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
_TOOL_NAME = re.compile(r"^[a-zA-Z0-9_-]{1,64}$")
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


def _check_tools(body: dict, out: list[Problem]) -> list[str]:
    """Check ``tools``; return the tool names seen, for ``tool_choice``."""
    if "tools" not in body:
        return []
    tools = body["tools"]
    fix = 'give tools as [{"name": "get_weather", "description": "...", "input_schema": {"type": "object"}}]'
    if not isinstance(tools, list):
        out.append(Problem("tools", f"expected type: JSONArray, found: {json_kind(tools)}", fix))
        return []
    names: list[str] = []
    seen: set[str] = set()  # a list's `in` made many tools cost their square (issue 23)
    for i, tool in enumerate(tools):
        path = f"tools[{i}]"
        if not isinstance(tool, dict):
            out.append(Problem(path, f"expected type: JSONObject, found: {json_kind(tool)}", fix))
            continue
        name = tool.get("name")
        if not isinstance(name, str) or not _TOOL_NAME.match(name):
            out.append(
                Problem(
                    f"{path}.name",
                    f"{_show(name)} does not match ^[a-zA-Z0-9_-]{{1,64}}$",
                    "name the tool with 1-64 letters, digits, _ or -",
                )
            )
        elif name in seen:
            out.append(Problem(f"{path}.name", f"tool names must be unique; {name!r} is repeated", "rename one tool"))
        else:
            names.append(name)
            seen.add(name)
        if "description" in tool and not isinstance(tool["description"], str):
            out.append(Problem(f"{path}.description", "description must be a string", "describe the tool in words"))
        schema = tool.get("input_schema")
        schema_fix = 'set input_schema to a JSON Schema like {"type": "object", "properties": {...}}'
        if not isinstance(schema, dict):
            out.append(Problem(f"{path}.input_schema", "required key [input_schema] must be an object", schema_fix))
        elif schema.get("type") != "object":
            out.append(Problem(f"{path}.input_schema.type", 'input_schema.type must be "object"', schema_fix))
    return names


def _check_tool_choice(body: dict, tool_names: list[str], out: list[Problem]) -> None:
    if "tool_choice" not in body:
        return
    choice = body["tool_choice"]
    fix = 'use {"type": "auto"}, {"type": "any"}, {"type": "none"} or {"type": "tool", "name": "..."}'
    if not isinstance(choice, dict):
        out.append(Problem("tool_choice", f"expected type: JSONObject, found: {json_kind(choice)}", fix))
        return
    kind = choice.get("type")
    if kind not in ("auto", "any", "tool", "none"):
        out.append(Problem("tool_choice.type", f"{_show(kind)} is not a valid enum value", fix))
        return
    if kind in ("any", "tool") and "tools" not in body:
        out.append(
            Problem("tool_choice", f"tool_choice {kind!r} needs a [tools] list", "add tools or drop tool_choice")
        )
    if kind == "tool":
        name = choice.get("name")
        if not isinstance(name, str) or not name:
            out.append(Problem("tool_choice.name", 'tool_choice "tool" needs a [name]', "name one of your tools"))
        elif name not in tool_names and "tools" in body:
            out.append(
                Problem(
                    "tool_choice.name",
                    f"tool {name!r} is not among the tools given",
                    "use the name of a tool in [tools]",
                )
            )


def _check_thinking(body: dict, model: ModelInfo, out: list[Problem]) -> None:
    if "thinking" not in body:
        return
    thinking = body["thinking"]
    if "adaptive" in model.thinking:
        fix = 'use {"type": "adaptive"} with "output_config": {"effort": "medium"}'
    else:
        fix = 'use {"type": "enabled", "budget_tokens": 2048} with max_tokens above the budget'
    if not isinstance(thinking, dict):
        out.append(Problem("thinking", f"expected type: JSONObject, found: {json_kind(thinking)}", fix))
        return
    kind = thinking.get("type")
    if kind == "disabled":
        return
    if kind not in ("enabled", "adaptive"):
        out.append(Problem("thinking.type", f"{_show(kind)} is not a valid enum value", fix))
        return
    if kind == "adaptive" and "adaptive" not in model.thinking:
        out.append(
            Problem(
                "thinking.type",
                ADAPTIVE_UNSUPPORTED,
                f"{model.name} thinks with a budget: use "
                '{"type": "enabled", "budget_tokens": 2048}, or pick a model with adaptive thinking '
                "(Claude Sonnet 4.6, Opus 4.6 or later)"
                if model.supports_thinking
                else f"{model.name} cannot think: remove thinking, or pick a model that can",
                "model",
            )
        )
        return
    if kind == "enabled":
        if "budget" in model.thinking_removed:
            out.append(
                Problem(
                    "thinking.type",
                    THINKING_ENABLED_REMOVED,
                    f'{model.name} only thinks adaptively: send "thinking": {{"type": "adaptive"}} and set '
                    '"output_config": {"effort": ...} instead of a budget',
                    "model",
                )
            )
            return
        if "budget" not in model.thinking:
            out.append(
                Problem(
                    "thinking",
                    f"{model.name} does not support extended thinking",
                    "remove thinking, or use a model that thinks (Claude Haiku 4.5, Sonnet 4.6 or later)",
                    "model",
                )
            )
        _check_budget(thinking, body, out, fix)
    _check_sampling_while_thinking(body, out)


def _check_budget(thinking: dict, body: dict, out: list[Problem], fix: str) -> None:
    budget = thinking.get("budget_tokens")
    max_tokens = body.get("max_tokens")
    if not _is_int(budget):
        out.append(Problem("thinking.budget_tokens", "budget_tokens must be an integer", fix))
    elif budget < MIN_THINKING_BUDGET:
        out.append(
            Problem(
                "thinking.budget_tokens",
                f"{budget} is not higher or equal to {MIN_THINKING_BUDGET}",
                f"set budget_tokens to at least {MIN_THINKING_BUDGET}",
            )
        )
    elif _is_int(max_tokens) and budget >= max_tokens:
        out.append(
            Problem(
                "thinking.budget_tokens",
                f"max_tokens must be greater than thinking.budget_tokens ({max_tokens} <= {budget})",
                "raise max_tokens above budget_tokens, or lower the budget",
            )
        )


def _check_sampling_while_thinking(body: dict, out: list[Problem]) -> None:
    temperature = body.get("temperature")
    if "temperature" in body and temperature != 1:
        out.append(
            Problem(
                "temperature",
                "temperature may only be set to 1 when thinking is enabled",
                "remove temperature (or set it to 1) while thinking is enabled",
            )
        )
    if "top_k" in body:
        out.append(Problem("top_k", "top_k is not allowed when thinking is enabled", "remove top_k"))
    top_p = body.get("top_p")
    if _is_number(top_p) and top_p < 0.95:
        out.append(
            Problem(
                "top_p",
                "top_p must be between 0.95 and 1 when thinking is enabled",
                "remove top_p or raise it",
            )
        )
    choice = body.get("tool_choice")
    if isinstance(choice, dict) and choice.get("type") in ("any", "tool"):
        out.append(
            Problem(
                "tool_choice",
                "thinking may not be enabled when tool_choice forces tool use",
                'use tool_choice {"type": "auto"} with thinking',
            )
        )


def _check_output_config(body: dict, model: ModelInfo, out: list[Problem]) -> None:
    if "output_config" not in body:
        return
    config = body["output_config"]
    if not isinstance(config, dict):
        out.append(
            Problem(
                "output_config",
                f"expected type: JSONObject, found: {json_kind(config)}",
                'give output_config as an object, e.g. {"effort": "medium"}',
            )
        )
        return
    if "effort" not in config:
        return
    effort = config["effort"]
    if not model.effort_levels:
        out.append(
            Problem(
                "output_config.effort",
                EFFORT_UNSUPPORTED,
                f"{model.name} has no effort setting: remove output_config.effort, or pick a model with effort "
                "(Claude Sonnet 4.6, Opus 4.6 or later)",
                "model",
            )
        )
    elif effort not in model.effort_levels:
        out.append(
            Problem(
                "output_config.effort",
                f"{_show(effort)} is not a valid enum value",
                f"set effort to one of {', '.join(model.effort_levels)} for {model.name}",
            )
        )


# Anthropic's defaults: a value equal to these is not "non-default" (top_p default unconfirmed).
_SAMPLING_DEFAULTS = {"temperature": 1, "top_p": 1}


def _check_sampling_rule(body: dict, model: ModelInfo, out: list[Problem]) -> None:
    if model.sampling == "temperature_xor_top_p":
        if "temperature" in body and "top_p" in body:
            out.append(
                Problem(
                    "temperature",
                    SAMPLING_BOTH,
                    f"{model.name} takes temperature or top_p, not both: remove one of them",
                    "model",
                )
            )
    elif model.sampling == "defaults_only":
        # With the anthropic SDK 2.x's dated version even default values are refused (BEDROCK-2026).
        strict = body.get("anthropic_version") != ANTHROPIC_VERSION
        for key in ("temperature", "top_p", "top_k"):
            if key in body and (strict or key == "top_k" or body[key] != _SAMPLING_DEFAULTS[key]):
                out.append(
                    Problem(
                        key,
                        sampling_deprecated(key),
                        f"{model.name} decides its own sampling: remove {key} "
                        '(steer the answer with the prompt, or with output_config.effort)',
                        "model",
                    )
                )
                return


def _cache_points(value: object, path: str, found: list[tuple[str, object]]) -> None:
    if isinstance(value, dict):
        if "cache_control" in value:
            found.append((path, value["cache_control"]))
        for key in ("content",):
            if isinstance(value.get(key), list):
                _cache_points(value[key], f"{path}.{key}", found)
    elif isinstance(value, list):
        for i, item in enumerate(value):
            _cache_points(item, f"{path}[{i}]", found)


def cache_checkpoints(body: dict) -> list[tuple[str, dict]]:
    """``(path, cache_control)`` of every block marked for caching, in prompt order: tools, system, messages."""
    found: list[tuple[str, object]] = []
    for key in ("tools", "system", "messages"):
        if isinstance(body.get(key), list):
            _cache_points(body[key], key, found)
    return [(p, c) for p, c in found if isinstance(c, dict)]


def _check_cache_control(body: dict, model: ModelInfo, out: list[Problem]) -> None:
    if "cache_control" in body and model.integration == "arn_versioned":
        out.append(
            Problem(
                "cache_control",
                CACHE_CONTROL_TOP_LEVEL,
                "put cache_control on the last block to cache (a system, message or tool block) instead",
            )
        )
    found: list[tuple[str, object]] = []
    for key in ("tools", "system", "messages"):
        if isinstance(body.get(key), list):
            _cache_points(body[key], key, found)
    fix = 'write cache_control as {"type": "ephemeral"} or {"type": "ephemeral", "ttl": "1h"}'
    for path, control in found:
        if not isinstance(control, dict) or control.get("type") != "ephemeral":
            out.append(Problem(f"{path}.cache_control", "cache_control.type must be \"ephemeral\"", fix))
        elif control.get("ttl", "5m") not in ("5m", "1h"):
            out.append(Problem(f"{path}.cache_control.ttl", f"{_show(control.get('ttl'))} is not a valid enum value",
                               fix))
    if len(found) > MAX_CACHE_CHECKPOINTS:
        out.append(
            Problem(
                "#",
                f"A maximum of {MAX_CACHE_CHECKPOINTS} blocks with cache_control may be provided. Found {len(found)}.",
                f"mark at most {MAX_CACHE_CHECKPOINTS} blocks: the end of each stable prefix worth caching",
                "model",
            )
        )


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
        out.append(Problem("anthropic_version", "required key [anthropic_version] not found", fix))
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
            )
        )
    else:
        out.append(Problem("anthropic_version", f"{_show(body['anthropic_version'])} is not a valid enum value", fix))


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
            out.append(Problem(str(key), f"extraneous key [{key}] is not permitted", hint.format(key=key)))
    if "max_tokens_to_sample" in body:
        out.append(
            Problem(
                "max_tokens_to_sample",
                "extraneous key [max_tokens_to_sample] is not permitted",
                "use max_tokens with the Messages API",
            )
        )
    return out


# --------------------------------------------------------------------------- legacy Text Completions

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
    _check_top_k(body, out)
    _check_stop_sequences(body, out)
    if "anthropic_version" in body and body["anthropic_version"] not in (ANTHROPIC_VERSION,):
        out.append(
            Problem(
                "anthropic_version",
                f"{_show(body['anthropic_version'])} is not a valid enum value",
                f'remove anthropic_version or set it to "{ANTHROPIC_VERSION}"',
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


# --------------------------------------------------------------------------- entry point


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
