"""Converse and ConverseStream: the same deterministic answers as InvokeModel, in Converse clothes.

Two halves, both pure; this module holds the first, converse_answer.py the second:

- :func:`prepare` turns a Converse request body into the Anthropic Messages body the responder
  understands (``messages``, ``system``, ``inferenceConfig``, ``toolConfig`` and
  ``additionalModelRequestFields`` each to their Messages keys), after checking it against
  botocore's shape and then against :mod:`helpers.bedrock_rules` -- with the problem paths mapped
  back to Converse names, so a learner reads ``inferenceConfig.maxTokens``, not ``max_tokens``.
  A Converse request and the Messages body it translates to get the very same plan: same text,
  same tool input and ids, same reasoning, same usage.
- :class:`ConversePlan` re-expresses that plan: the Converse JSON answer, and the ConverseStream
  events (``messageStart``, ``contentBlockStart`` for tool use only, ``contentBlockDelta``,
  ``contentBlockStop``, ``messageStop``, ``metadata``), one per planned Messages chunk so pacing,
  faults (``after`` N events) and the call log work unchanged.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from typing import Any

from helpers.bedrock_rules import ANTHROPIC_VERSION, ModelInfo, Problem, check_body, parse_body, validation_message

from ..errors import BedrockError
from .converse_check import check_shape
from .converse_legacy import legacy_body

__all__ = [
    "ConverseRequest",
    "prepare",
    "converse_message",
]

OPERATIONS = ("Converse", "ConverseStream")

# Converse fields that have a Messages twin: additionalModelRequestFields may not set those twins.
_TWINS = {
    "max_tokens": "inferenceConfig.maxTokens",
    "temperature": "inferenceConfig.temperature",
    "top_p": "inferenceConfig.topP",
    "stop_sequences": "inferenceConfig.stopSequences",
    "messages": "messages",
    "system": "system",
    "tools": "toolConfig.tools",
    "tool_choice": "toolConfig.toolChoice",
    "anthropic_version": "(set by Bedrock for Converse)",
}
_DOCUMENT_TYPES = {"pdf": "application/pdf", "txt": "text/plain", "md": "text/plain", "html": "text/plain",
                   "csv": "text/plain"}
# Words in bedrock_rules' Messages-flavoured rules and fixes, and what Converse calls them.
_WORDING = (
    ("max_tokens", "inferenceConfig.maxTokens"),
    ("stop_sequences", "inferenceConfig.stopSequences"),
    ("top_p", "inferenceConfig.topP"),
    ("tool_use_id", "toolUseId"),
    ("tool_result", "toolResult"),
    ("tool_use", "toolUse"),
    ("input_schema", "inputSchema.json"),
    ("tool_choice", "toolChoice"),
)


@dataclass
class ConverseRequest:
    """A checked Converse request: the Messages body to plan from, plus what shapes the answer."""

    body: dict[str, Any]
    response_field_paths: list[str] = field(default_factory=list)
    echo: dict[str, Any] = field(default_factory=dict)  # performanceConfig / serviceTier, answered back


class _Paths:
    """Where each translated Messages location came from, to name problems in Converse terms."""

    def __init__(self) -> None:
        self.exact: dict[str, str] = {}

    def add(self, messages_path: str, converse_path: str) -> None:
        self.exact[messages_path] = converse_path

    def back(self, path: str) -> str:
        # Longest translated prefix wins: messages[0].content[2].source.data -> ...image.source.bytes
        best = ""
        for prefix in self.exact:
            if (path == prefix or path.startswith(prefix + ".") or path.startswith(prefix + "[")) and len(
                prefix
            ) > len(best):
                best = prefix
        if not best:
            return f"additionalModelRequestFields.{path}" if path not in ("#", "") else path
        return self.exact[best] + path[len(best):]


def _reword(text: str) -> str:
    for old, new in _WORDING:
        text = re.sub(rf"(?<![\w.]){old}(?!\w)", new, text)
    return text


# --------------------------------------------------------------------------- request: Converse -> Messages


def _fail(problems: list[Problem]) -> BedrockError:
    return BedrockError(400, "ValidationException", converse_message(problems))


def converse_message(problems: list[Problem]) -> str:
    """The ValidationException text for Converse: every problem with its path (the fix stays off the wire)."""
    model_side = [p for p in problems if p.wire != "schema"]
    if model_side and len(model_side) == len(problems):
        first = model_side[0]
        if "roles must alternate" in first.rule:
            # Converse words this one itself (langchain-aws#192, bedrock-access-gateway#25).
            return ("A conversation must alternate between user and assistant roles. Make sure the conversation "
                    "alternates between user and assistant roles and try again.")
        return validation_message(model_side)  # Anthropic's own text, as for InvokeModel
    items = [f"'{p.path}': {p.rule}" for p in problems if p.wire == "schema"]
    count = len(items)
    return f"{count} validation error{'s' if count != 1 else ''} detected: " + "; ".join(items)


def _image(block: dict, path: str, out: list[Problem]) -> dict:
    source = block["source"]
    if "bytes" not in source:
        out.append(Problem(f"{path}.source", "only image bytes are supported by the local endpoint (no S3)",
                           "send the image as source.bytes"))
        return {"type": "text", "text": "(image)"}
    return {"type": "image", "source": {"type": "base64", "media_type": f"image/{block['format']}",
                                        "data": source["bytes"]}}


def _document(block: dict, path: str, out: list[Problem]) -> dict:
    source = block["source"]
    fmt = block.get("format", "txt")
    if "text" in source:
        return {"type": "document", "source": {"type": "text", "media_type": "text/plain", "data": source["text"]}}
    if "bytes" in source and fmt in _DOCUMENT_TYPES:
        return {"type": "document", "source": {"type": "base64", "media_type": _DOCUMENT_TYPES[fmt],
                                               "data": source["bytes"]}}
    out.append(Problem(path, f"document format {fmt!r} from {next(iter(source), '?')} is not supported here",
                       "send a pdf or txt document as source.bytes, or source.text"))
    return {"type": "text", "text": "(document)"}


def _tool_result(block: dict, path: str, out: list[Problem]) -> dict:
    content = []
    for i, inner in enumerate(block["content"]):
        if "text" in inner:
            content.append({"type": "text", "text": inner["text"]})
        elif "json" in inner:
            content.append({"type": "text", "text": json.dumps(inner["json"])})
        elif "image" in inner:
            content.append(_image(inner["image"], f"{path}.content[{i}].image", out))
        else:
            out.append(Problem(f"{path}.content[{i}]", f"tool result content {next(iter(inner))!r} is not supported",
                               "return text, json or an image"))
    result: dict[str, Any] = {"type": "tool_result", "tool_use_id": block["toolUseId"], "content": content}
    if block.get("status") == "error":
        result["is_error"] = True
    return result


def _block(block: dict, path: str, paths: _Paths, target: str, out: list[Problem]) -> dict | None:
    """One Converse content block as a Messages block (None for markers such as cachePoint)."""
    kind = next(iter(block))
    value = block[kind]
    if kind == "text":
        paths.add(target, path)
        return {"type": "text", "text": value}
    if kind == "image":
        paths.add(f"{target}.source.data", f"{path}.image.source.bytes")
        paths.add(f"{target}.source.media_type", f"{path}.image.format")
        paths.add(target, f"{path}.image")
        return _image(value, f"{path}.image", out)
    if kind == "document":
        paths.add(target, f"{path}.document")
        return _document(value, f"{path}.document", out)
    if kind == "toolUse":
        paths.add(f"{target}.id", f"{path}.toolUse.toolUseId")
        paths.add(target, f"{path}.toolUse")
        return {"type": "tool_use", "id": value["toolUseId"], "name": value["name"], "input": value["input"]}
    if kind == "toolResult":
        paths.add(f"{target}.tool_use_id", f"{path}.toolResult.toolUseId")
        paths.add(target, f"{path}.toolResult")
        return _tool_result(value, f"{path}.toolResult", out)
    if kind == "reasoningContent":
        paths.add(target, f"{path}.reasoningContent")
        if "redactedContent" in value:
            return {"type": "redacted_thinking", "data": value["redactedContent"]}
        text = value["reasoningText"]
        thinking = {"type": "thinking", "thinking": text["text"]}
        if "signature" in text:
            thinking["signature"] = text["signature"]
        return thinking
    if kind == "guardContent":
        paths.add(target, f"{path}.guardContent")
        return {"type": "text", "text": value.get("text", {}).get("text", "")}
    if kind == "cachePoint":
        return None  # a caching marker: changes billing on Bedrock, not the answer
    out.append(Problem(f"{path}.{kind}", f"content block [{kind}] is not supported by Anthropic Claude models",
                       "use text, image, document, toolUse, toolResult or reasoningContent blocks"))
    return None


def _messages(messages: list[dict], paths: _Paths, out: list[Problem]) -> list[dict]:
    translated = []
    for i, message in enumerate(messages):
        path = f"messages[{i}]"
        paths.add(f"messages[{i}].role", f"{path}.role")
        paths.add(f"messages[{i}]", path)
        if message["role"] == "system":
            out.append(Problem(f"{path}.role", 'role "system" is not allowed in messages',
                               'put system prompts in the top-level system list: [{"text": "..."}]'))
        content = []
        for j, block in enumerate(message["content"]):
            target = f"messages[{i}].content[{len(content)}]"
            converted = _block(block, f"{path}.content[{j}]", paths, target, out)
            if converted is not None:
                content.append(converted)
            elif "cachePoint" in block and content:
                content[-1] = {**content[-1], "cache_control": _cache_control(block["cachePoint"])}
        paths.add(f"messages[{i}].content", f"{path}.content")
        translated.append({"role": message["role"], "content": content})
    return translated


def _cache_control(point: object) -> dict:
    """A Converse cachePoint marks the end of a cached prefix: Anthropic's cache_control on the block before it."""
    ttl = point.get("ttl") if isinstance(point, dict) else None
    return {"type": "ephemeral", **({"ttl": ttl} if ttl in ("5m", "1h") else {})}


def _tools(config: dict, paths: _Paths, out: list[Problem]) -> tuple[list[dict], dict | None]:
    tools = []
    for i, tool in enumerate(config["tools"]):
        if "cachePoint" in tool:
            if tools:
                tools[-1] = {**tools[-1], "cache_control": _cache_control(tool["cachePoint"])}
            continue
        if "toolSpec" not in tool:
            out.append(Problem(f"toolConfig.tools[{i}]", "system tools are not supported by the local endpoint",
                               "describe the tool with toolSpec {name, description, inputSchema: {json: {...}}}"))
            continue
        spec = tool["toolSpec"]
        at, source = f"tools[{len(tools)}]", f"toolConfig.tools[{i}].toolSpec"
        paths.add(at, source)
        paths.add(f"{at}.input_schema", f"{source}.inputSchema.json")
        if "json" not in spec["inputSchema"]:
            out.append(Problem(f"{source}.inputSchema", "inputSchema needs a [json] schema",
                               'use {"json": {"type": "object", "properties": {...}}}'))
        entry = {"name": spec["name"], "input_schema": spec["inputSchema"].get("json")}
        if "description" in spec:
            entry["description"] = spec["description"]
        tools.append(entry)
    choice = config.get("toolChoice")
    if choice is None:
        return tools, None
    paths.add("tool_choice.name", "toolConfig.toolChoice.tool.name")
    paths.add("tool_choice", "toolConfig.toolChoice")
    kind = next(iter(choice))
    return tools, ({"type": "tool", "name": choice["tool"]["name"]} if kind == "tool" else {"type": kind})


def _uses_tools(messages: list[dict]) -> bool:
    return any(
        isinstance(b, dict) and ("toolUse" in b or "toolResult" in b) for m in messages for b in m["content"]
    )


def _translate(request: dict, model: ModelInfo, out: list[Problem]) -> tuple[dict, _Paths]:
    paths = _Paths()
    body: dict[str, Any] = {"anthropic_version": ANTHROPIC_VERSION}
    config = request.get("inferenceConfig", {})
    # Bedrock's documented default for maxTokens: the model's largest allowed value.
    body["max_tokens"] = config.get("maxTokens", model.max_output_tokens)
    paths.add("max_tokens", "inferenceConfig.maxTokens")
    paths.add("messages", "messages")
    body["messages"] = _messages(request["messages"], paths, out)
    system: list[dict] = []
    for entry in request.get("system", []):
        if "text" in entry:
            system.append({"type": "text", "text": entry["text"]})
        elif "cachePoint" in entry and system:
            system[-1] = {**system[-1], "cache_control": _cache_control(entry["cachePoint"])}
    if system:
        body["system"] = system
        paths.add("system", "system")
    for key, name in (("temperature", "temperature"), ("top_p", "topP"), ("stop_sequences", "stopSequences")):
        if name in config:
            body[key] = config[name]
            paths.add(key, f"inferenceConfig.{name}")
    if "toolConfig" in request:
        paths.add("tools", "toolConfig.tools")
        tools, choice = _tools(request["toolConfig"], paths, out)
        body["tools"] = tools
        if choice is not None:
            body["tool_choice"] = choice
    elif _uses_tools(request["messages"]):
        out.append(Problem("toolConfig", "The toolConfig field must be defined when using toolUse and toolResult "
                                         "content blocks.", "send the same toolConfig as in the turn that "
                                                            "produced the toolUse"))
    _merge_additional(request, body, out)
    return body, paths


def _merge_additional(request: dict, body: dict, out: list[Problem]) -> None:
    """Model-specific fields (thinking, top_k, anthropic_beta...) go into the body as they are."""
    extra = request.get("additionalModelRequestFields", {})
    if not isinstance(extra, dict):
        out.append(Problem("additionalModelRequestFields", "must be a JSON object",
                           'e.g. {"thinking": {"type": "enabled", "budget_tokens": 2048}} or {"top_k": 50}'))
        return
    for key, value in extra.items():
        if key in _TWINS or key in ("prompt", "max_tokens_to_sample"):
            twin = _TWINS.get(key, "messages / inferenceConfig.maxTokens")
            out.append(Problem(f"additionalModelRequestFields.{key}", f"[{key}] has its own Converse field",
                               f"set {twin} instead"))
        else:
            body[key] = value


def _check_unsupported(request: dict, out: list[Problem]) -> None:
    if not request.get("messages"):
        out.append(Problem("messages", "at least one message is required",
                           'send messages=[{"role": "user", "content": [{"text": "Hello"}]}]'))
    for key, why in (
        ("promptVariables", "prompt management is not available on the local endpoint; send messages"),
        ("outputConfig", "structured output is not modelled by the local endpoint; remove outputConfig"),
        ("guardrailConfig", "the local endpoint has no guardrails; remove guardrailConfig"),
    ):
        if key in request:
            out.append(Problem(key, f"[{key}] is not supported by the local Bedrock endpoint", why))
    for i, pointer in enumerate(request.get("additionalModelResponseFieldPaths", [])):
        if not pointer.startswith("/"):
            out.append(Problem(f"additionalModelResponseFieldPaths[{i}]", f"{pointer!r} is not a JSON pointer",
                               'write it like "/stop_sequence"'))


def prepare(operation: str, raw: bytes, model: ModelInfo) -> ConverseRequest:
    """Check a Converse request and translate it; raises a ValidationException ``BedrockError`` naming
    every problem by its Converse path."""
    request, problems = parse_body(raw)
    if problems:
        raise _fail(problems)
    problems = check_shape(operation, request)
    if problems:
        raise _fail(problems)
    assert isinstance(request, dict)
    _check_unsupported(request, problems)
    if problems:
        raise _fail(problems)
    if model.api == "messages":
        body, paths = _translate(request, model, problems)
    else:
        paths = _Paths()
        body = legacy_body(request, model, paths, problems)
        _merge_additional(request, body, problems)
    if problems:
        raise _fail(problems)
    problems = [Problem(paths.back(p.path), _reword(p.rule) if p.wire == "schema" else p.rule, _reword(p.fix), p.wire)
                for p in check_body(body, model)]
    if problems:
        raise _fail(problems)
    echo = {k: request[k] for k in ("performanceConfig", "serviceTier") if k in request}
    return ConverseRequest(body, list(request.get("additionalModelResponseFieldPaths", [])), echo)
