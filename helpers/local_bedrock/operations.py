"""What the endpoint adds around a planned answer: lifecycle switches, the caller's region, prompt caching,
echoed headers and CountTokens.

Kept out of server.py so the server only routes and paces; everything here is plain data in, data out.
"""

from __future__ import annotations

import base64
import binascii
import dataclasses
import hashlib
import json
import re
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date
from typing import Any

from helpers.bedrock_rules import ModelInfo, cache_checkpoints, check_body, parse_body

from .errors import BedrockError
from .responder import ResponsePlan
from .tokens import count_input_tokens

__all__ = [
    "CacheUsage",
    "PromptCache",
    "Switches",
    "apply_cache",
    "count_tokens",
    "echo_headers",
    "request_region",
]


# --------------------------------------------------------------------------- switches


@dataclass(frozen=True)
class Switches:
    """How the endpoint plays the catalogue's lifecycle.

    ``as_of``: judge Active/Legacy/EOL on this day instead of today (old code against retired models);
    ``inactive_account``: the account has not used a Legacy model in 15 days, so AWS refuses it.
    """

    as_of: date | None = None
    inactive_account: bool = False

    @classmethod
    def coerce(cls, *, as_of: date | str | None = None, inactive_account: bool = False) -> Switches:
        if isinstance(as_of, str):
            try:
                as_of = date.fromisoformat(as_of)
            except ValueError:
                raise ValueError(f"as_of must be a date like '2026-01-01', not {as_of!r}") from None
        if as_of is not None and not isinstance(as_of, date):
            raise ValueError(f"as_of must be a date like '2026-01-01', not {as_of!r}")
        return cls(as_of, bool(inactive_account))


# SigV4: "Credential=AKID/20261201/us-east-1/bedrock/aws4_request" names the region the client signed for.
_SCOPE = re.compile(r"Credential=[^/,\s]+/\d{8}/(?P<region>[a-z0-9-]+)/")


def request_region(headers: dict[str, str]) -> str | None:
    """The region from the request's SigV4 credential scope (None for an unsigned or bearer request)."""
    match = _SCOPE.search(headers.get("authorization", ""))
    return match.group("region") if match else None


# --------------------------------------------------------------------------- echoed headers

# botocore 1.44's InvokeModel* shapes send these and read them back from the response.
_ECHOED = ("x-amzn-bedrock-service-tier", "x-amzn-bedrock-performanceconfig-latency")


def echo_headers(request_headers: dict[str, str]) -> list[tuple[bytes, bytes]]:
    """The service tier and latency setting the caller asked for, echoed as InvokeModel does."""
    return [(name.encode(), request_headers[name].encode()) for name in _ECHOED if name in request_headers]


# --------------------------------------------------------------------------- prompt caching

_TTL_SECONDS = {"5m": 300.0, "1h": 3600.0}


@dataclass(frozen=True)
class CacheUsage:
    """Tokens read from and written to the prompt cache by one call."""

    read: int = 0
    write_5m: int = 0
    write_1h: int = 0

    @property
    def write(self) -> int:
        return self.write_5m + self.write_1h

    @staticmethod
    def headers_of(plan: Any) -> list[tuple[bytes, bytes]]:
        """InvokeModel's cache headers (capture im_claude-3-5-haiku_prompt_cache), when caching was asked for."""
        cache = getattr(plan, "cache", None)
        if cache is None:
            return []
        return [
            (b"x-amzn-bedrock-cache-read-input-token-count", str(cache.read).encode()),
            (b"x-amzn-bedrock-cache-write-input-token-count", str(cache.write).encode()),
        ]


def _prefix_body(body: dict, path: str) -> dict:
    """The part of the prompt up to and including the block at ``path`` (tools, then system, then messages)."""
    parts = re.findall(r"[a-z_]+|\[\d+\]", path)
    top = parts[0]
    tools = body.get("tools") if isinstance(body.get("tools"), list) else []
    system = body.get("system") if isinstance(body.get("system"), list) else body.get("system")
    messages = body.get("messages", [])
    if top == "tools":
        return {"tools": tools[: int(parts[1][1:-1]) + 1], "messages": []}
    if top == "system":
        return {"tools": tools, "system": system[: int(parts[1][1:-1]) + 1], "messages": []}
    m = int(parts[1][1:-1])
    message = messages[m]
    if len(parts) > 3 and isinstance(message.get("content"), list):
        message = {**message, "content": message["content"][: int(parts[3][1:-1]) + 1]}
    prefix: dict = {"messages": [*messages[:m], message]}
    if tools:
        prefix["tools"] = tools
    if system:
        prefix["system"] = system
    return prefix


def _strip_cache_control(value: Any) -> Any:
    if isinstance(value, dict):
        return {k: _strip_cache_control(v) for k, v in value.items() if k != "cache_control"}
    if isinstance(value, list):
        return [_strip_cache_control(v) for v in value]
    return value


class PromptCache:
    """The endpoint's prompt cache: a prefix marked with ``cache_control`` is written on the first call and
    read by a repeat within its TTL (5 minutes, or 1 hour with ``"ttl": "1h"``; a hit refreshes it).

    Per model; a prefix shorter than the model's minimum is never cached and raises no error (AWS
    prompt-caching page). ``clock`` is injectable so the TTL can be tested without waiting.
    """

    def __init__(self, clock: Callable[[], float] = time.monotonic) -> None:
        self.clock = clock
        self._entries: dict[str, float] = {}  # prefix key -> expiry
        self._lock = threading.Lock()

    def use(self, model: ModelInfo, body: dict) -> CacheUsage | None:
        """Read and write the cache for one validated Messages body; None when the body asks for no caching."""
        points = cache_checkpoints(body)
        if not points or model.cache_min_tokens is None:
            return None
        now = self.clock()
        eligible = []
        for path, control in points:
            prefix = _prefix_body(body, path)
            tokens = count_input_tokens(prefix, model)
            if tokens < model.cache_min_tokens:
                continue
            canonical = json.dumps(_strip_cache_control(prefix), sort_keys=True, ensure_ascii=False)
            key = hashlib.sha256(f"{model.base_id}\x00{canonical}".encode()).hexdigest()
            eligible.append((key, tokens, control.get("ttl", "5m")))
        if not eligible:
            return CacheUsage()
        with self._lock:
            for key in [k for k, expiry in self._entries.items() if expiry <= now]:
                del self._entries[key]
            hit = max((i for i, (key, _, _) in enumerate(eligible) if key in self._entries), default=-1)
            read = eligible[hit][1] if hit >= 0 else 0
            written = {"5m": 0, "1h": 0}
            previous = read
            for i, (key, tokens, ttl) in enumerate(eligible):
                if i > hit:
                    written[ttl] += max(0, tokens - previous)
                    previous = max(previous, tokens)
                self._entries[key] = max(self._entries.get(key, 0.0), now + _TTL_SECONDS[ttl])
        return CacheUsage(read, written["5m"], written["1h"])


# Two InvokeModelWithResponseStream captures of answers that stop for tool use report
# invocationMetrics.outputTokenCount below the usage's output_tokens (ims_claude-3-5-sonnet_tool_use_2025-03: 90 vs
# 134 with two tool calls; ims_claude-3-sonnet_tool_use_2025-07_jsv3: 72 vs 88 with one), while every capture
# without tool use reports them equal. The gap per call (22 and 16 tokens) follows no rule we can confirm; 19 tokens
# per tool call is their mean. (unconfirmed: set it to 0 to report the two figures equal)
METRICS_TOOL_CALL_GAP_TOKENS = 19


def stream_metrics_counts(plan: Any, output_tokens: int) -> dict[str, int]:
    """The token counts of the stream's closing invocationMetrics (latencies are added at send time).

    Output tokens as Bedrock's metric counts them (see METRICS_TOOL_CALL_GAP_TOKENS), and the prompt cache's read
    and write counts when the request asked for caching (PROTOCOL.md: message_stop's metrics).
    """
    counted = output_tokens
    if getattr(plan, "stop_reason", None) == "tool_use":
        content = (getattr(plan, "response_body", None) or {}).get("content") or []
        calls = sum(1 for block in content if isinstance(block, dict) and block.get("type") == "tool_use")
        counted = max(1, output_tokens - METRICS_TOOL_CALL_GAP_TOKENS * calls)
    counts = {"outputTokenCount": counted}
    cache = getattr(plan, "cache", None)
    if cache is not None:
        counts.update(cacheReadInputTokenCount=cache.read, cacheWriteInputTokenCount=cache.write)
    return counts


def apply_cache(plan: ResponsePlan, cache: CacheUsage | None) -> ResponsePlan:
    """The plan with its usage split into uncached, cache-read and cache-written input tokens."""
    if cache is None or plan.api != "messages":
        return plan
    uncached = max(0, plan.input_tokens - cache.read - cache.write)

    def usage(output_tokens: int) -> dict:
        # Anthropic's key order (capture im_claude-3-5-haiku_prompt_cache, plus the per-TTL split).
        return {
            "input_tokens": uncached,
            "cache_creation_input_tokens": cache.write,
            "cache_read_input_tokens": cache.read,
            "cache_creation": {"ephemeral_5m_input_tokens": cache.write_5m,
                               "ephemeral_1h_input_tokens": cache.write_1h},
            "output_tokens": output_tokens,
        }

    chunks = list(plan.chunks)
    first = chunks[0]
    message = dict(first.payload["message"])
    message["usage"] = usage(message["usage"]["output_tokens"])
    chunks[0] = dataclasses.replace(first, payload={**first.payload, "message": message})
    body = {**plan.response_body, "usage": usage(plan.output_tokens)}
    return dataclasses.replace(plan, chunks=chunks, input_tokens=uncached, response_body=body, cache=cache)


# --------------------------------------------------------------------------- CountTokens


def count_tokens(raw: bytes, model: ModelInfo) -> int:
    """Input tokens of a CountTokens request: ``{"input": {"invokeModel": {"body": ...}}}`` or
    ``{"input": {"converse": {...}}}`` (botocore's CountTokens shape). Raises a ValidationException."""
    from . import converse  # converse imports the responder; imported here to keep module loading light

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
            from helpers.bedrock_rules import validation_message

            raise BedrockError(400, "ValidationException", validation_message(problems))
        assert isinstance(body, dict)
        return count_input_tokens(body, model)
    if isinstance(given.get("converse"), dict):
        prepared = converse.prepare("Converse", json.dumps(given["converse"]).encode(), model)
        return count_input_tokens(prepared.body, model)
    raise BedrockError(400, "ValidationException", "input must hold invokeModel or converse.")
