"""The Converse answer: a responder plan re-expressed as Converse JSON and ConverseStream events.

:class:`ConversePlan` holds the Converse JSON answer and the ConverseStream events (``messageStart``,
``contentBlockStart`` for tool use only, ``contentBlockDelta``, ``contentBlockStop``, ``messageStop``,
``metadata``), one per planned Messages chunk so pacing, faults (``after`` N events) and the call log work
unchanged. The request half (Converse JSON -> the Messages body) is converse.py.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from helpers.bedrock_rules import ModelInfo

from ..model.prompt_cache import apply_cache
from ..model.responder import PlannedChunk, ResponsePlan, plan_response
from ..wire import frames
from .converse import ConverseRequest
from .converse_legacy import legacy_events

__all__ = [
    "ConversePlan",
    "plan_converse",
    "chunk_frame",
    "metadata_frame",
]


def _converse_block(block: dict) -> dict:
    kind = block["type"]
    if kind == "text":
        return {"text": block["text"]}
    if kind == "tool_use":
        return {"toolUse": {"toolUseId": converse_tool_id(block["id"]), "name": block["name"],
                            "input": block["input"]}}
    if kind == "thinking":
        return {"reasoningContent": {"reasoningText": {"text": block["thinking"], "signature": block["signature"]}}}
    if kind == "redacted_thinking":
        return {"reasoningContent": {"redactedContent": block["data"]}}
    return {"text": ""}


# Converse's StopReason enum (botocore 1.44) has no "refusal"; a refusal is reported as content_filtered.
# UNCONFIRMED against a real Converse refusal; pause_turn passes through as Anthropic names it.
_CONVERSE_STOP = {"refusal": "content_filtered"}


def converse_stop_reason(stop_reason: str) -> str:
    return _CONVERSE_STOP.get(stop_reason, stop_reason)


def converse_tool_id(messages_id: str) -> str:
    """Converse names tool calls "tooluse_" + 22 characters (captures cv_*/cvs_*), not "toolu_bdrk_01..."."""
    return "tooluse_" + messages_id[-22:] if messages_id.startswith("toolu_bdrk_01") else messages_id


def _stream_event(chunk: dict) -> tuple[str, dict] | None:
    """The ConverseStream event for one planned Messages chunk (None: Converse sends nothing for it)."""
    kind = chunk["type"]
    if kind == "message_start":
        return "messageStart", {"role": "assistant"}
    if kind == "content_block_start":
        block = chunk["content_block"]
        if block["type"] == "redacted_thinking":
            # Redacted thinking arrives whole, as one delta (capture cvs_claude-3-7-sonnet_redacted_thinking).
            delta = {"reasoningContent": {"redactedContent": block["data"]}}
            return "contentBlockDelta", {"delta": delta, "contentBlockIndex": chunk["index"]}
        if block["type"] != "tool_use":
            return None  # Converse opens text and reasoning blocks with their first delta
        start = {"toolUse": {"toolUseId": converse_tool_id(block["id"]), "name": block["name"]}}
        return "contentBlockStart", {"start": start, "contentBlockIndex": chunk["index"]}
    if kind == "content_block_delta":
        delta = chunk["delta"]
        dtype = delta["type"]
        if dtype == "text_delta":
            converse: dict = {"text": delta["text"]}
        elif dtype == "input_json_delta":
            # The first tool delta is empty on AWS too: {"toolUse": {"input": ""}} (captures cvs_*_tool_use).
            converse = {"toolUse": {"input": delta["partial_json"]}}
        elif dtype == "thinking_delta":
            converse = {"reasoningContent": {"text": delta["thinking"]}}
        elif dtype == "signature_delta":
            converse = {"reasoningContent": {"signature": delta["signature"]}}
        else:
            return None
        return "contentBlockDelta", {"delta": converse, "contentBlockIndex": chunk["index"]}
    if kind == "content_block_stop":
        return "contentBlockStop", {"contentBlockIndex": chunk["index"]}
    if kind == "message_delta":
        return "messageStop", {"stopReason": converse_stop_reason(chunk["delta"]["stop_reason"])}
    if kind == "message_stop":
        return "metadata", {}  # usage and metrics are filled in when it is sent
    return None


_EVENT_HEADERS = {
    name: frames.encode_headers([(":event-type", name), (":content-type", "application/json"),
                                 (":message-type", "event")])
    for name in ("messageStart", "contentBlockStart", "contentBlockDelta", "contentBlockStop", "messageStop",
                 "metadata")
}


def event_frame(name: str, body: dict, padding: str = "") -> bytes:
    """One ConverseStream event frame: the member's JSON directly (no base64 wrapper) plus ``p`` padding."""
    payload = json.dumps({**body, "p": padding}, separators=(",", ":"), ensure_ascii=False).encode("utf-8")
    return frames.encode_frame(_EVENT_HEADERS[name], payload)


@dataclass(frozen=True)
class ConversePlan:
    """A responder plan re-expressed for Converse; ``chunks`` payloads are ``{"event": name, "body": {...}}``."""

    chunks: list[PlannedChunk]
    input_tokens: int
    output_tokens: int
    stop_reason: str
    message: dict
    extra_fields: dict
    echo: dict
    cache_keys: bool = False  # models with prompt caching report the cache keys, zero or not
    cache_read: int = 0
    cache_write: int = 0

    def usage(self) -> dict[str, Any]:
        return converse_usage(self.input_tokens, self.output_tokens, self.cache_keys, self.cache_read,
                              self.cache_write)

    def response_json(self, latency_ms: int) -> dict:
        """The Converse answer, with the latency measured when it is sent."""
        answer: dict[str, Any] = {
            "output": {"message": self.message},
            "stopReason": self.stop_reason,
            "usage": self.usage(),
            "metrics": {"latencyMs": latency_ms},
        }
        if self.extra_fields:
            answer["additionalModelResponseFields"] = self.extra_fields
        return {**answer, **self.echo}


def converse_usage(input_tokens: int, output_tokens: int, cache_keys: bool = False, cache_read: int = 0,
                   cache_write: int = 0, server_tools: bool = False) -> dict[str, Any]:
    """Converse usage as real answers spell it, keys in alphabetical order.

    Cache keys come twice (``cacheReadInputTokens`` and ``cacheReadInputTokenCount``, captures
    cv_claude-sonnet-4-5_prompt_cache, cvs_claude-3-7-sonnet_prompt_cache); answers since late 2025 add
    ``serverToolUsage: {}`` (cvs_claude-3-sonnet_tool_use_2025-10, cvs_claude-sonnet-4-6_live_2026-08).
    ``totalTokens`` counts cached tokens too.
    """
    usage: dict[str, Any] = {"inputTokens": input_tokens, "outputTokens": output_tokens,
                             "totalTokens": input_tokens + output_tokens + cache_read + cache_write}
    if cache_keys:
        usage.update(cacheReadInputTokenCount=cache_read, cacheReadInputTokens=cache_read,
                     cacheWriteInputTokenCount=cache_write, cacheWriteInputTokens=cache_write)
    if server_tools or cache_keys:
        usage["serverToolUsage"] = {}
    return dict(sorted(usage.items()))


def chunk_frame(chunk: PlannedChunk, padding: str = "") -> bytes:
    """The frame of one planned ConverseStream event."""
    return event_frame(chunk.payload["event"], chunk.payload["body"], padding)


def metadata_frame(chunk: PlannedChunk, padding: str, input_tokens: int, output_tokens: int,
                   latency_ms: int) -> bytes:
    """The last event, ``metadata``: usage, and the latency measured when it is sent."""
    body = dict(chunk.payload["body"])
    cache = body.pop("_cache", None)  # planned cache figures, never sent as such
    # ConverseStream reports cache keys only when the request asked for caching (cvs_claude-sonnet-4-6_live).
    usage = converse_usage(input_tokens, output_tokens, *(cache or (False, 0, 0)), server_tools=True)
    body = {**body, "usage": usage, "metrics": {"latencyMs": latency_ms}}
    return event_frame(chunk.payload["event"], body, padding)


def _extra_fields(paths: list[str], response: dict) -> dict:
    # Claude's stop_sequence reaches Converse callers only when asked for by JSON pointer.
    extra = {}
    for pointer in paths:
        key = pointer.lstrip("/").split("/")[0]
        if key in response:
            extra[key] = response[key]
    return extra


def plan_converse(request: ConverseRequest, model: ModelInfo, *, seed: int, call: int = 0,
                  cache: Any = None, sign: Callable[[ResponsePlan], ResponsePlan] | None = None) -> ConversePlan:
    """The Converse answer to a prepared request: the InvokeModel plan for its Messages body, renamed
    (``sign``: the endpoint's thinking signatures, applied to that plan first)."""
    plan: ResponsePlan = plan_response(request.body, model, seed=seed, call=call)
    plan = apply_cache(sign(plan) if sign is not None else plan, cache)
    cache_keys = model.cache_min_tokens is not None and plan.api == "messages"
    cache_read, cache_write = (cache.read, cache.write) if plan.cache is not None else (0, 0)
    if plan.api == "text_completion":
        events, message, stop_reason, fields = legacy_events(plan)
    else:
        events, fields = _messages_events(plan), plan.response_body
        stop_reason = converse_stop_reason(plan.stop_reason)
        message = {"role": "assistant", "content": [_converse_block(b) for b in plan.response_body["content"]]}
    extra = _extra_fields(request.response_field_paths, fields)
    chunks = []
    for chunk in events:
        name, body = chunk.payload["event"], chunk.payload["body"]
        if name == "messageStop" and extra:
            body = {**body, "additionalModelResponseFields": extra}
        if name == "metadata":
            body = {**body, **request.echo, "_cache": (plan.cache is not None, cache_read, cache_write)}
        chunks.append(PlannedChunk({"event": name, "body": body}, chunk.output_tokens))
    return ConversePlan(chunks, plan.input_tokens, plan.output_tokens, stop_reason, message, extra, request.echo,
                        cache_keys, cache_read, cache_write)


def _messages_events(plan: ResponsePlan) -> list[PlannedChunk]:
    events = []
    for chunk in plan.chunks:
        event = _stream_event(chunk.payload)
        if event is not None:
            events.append(PlannedChunk({"event": event[0], "body": event[1]}, chunk.output_tokens))
    return events
