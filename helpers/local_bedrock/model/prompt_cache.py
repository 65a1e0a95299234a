"""The endpoint's prompt cache: which marked prefixes a call reads and writes, and the plan's usage split
into uncached, cache-read and cache-written input tokens."""

from __future__ import annotations

import dataclasses
import hashlib
import json
import re
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from helpers.bedrock_rules import ModelInfo, cache_checkpoints

from .responder import ResponsePlan
from .tokens import count_input_tokens

__all__ = ["CacheUsage", "PromptCache", "apply_cache"]

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


def cache_candidates(model: ModelInfo, body: dict) -> list[tuple[str, int, str]] | None:
    """(prefix key, its tokens, its TTL) for each cache point of a validated Messages body long enough to be
    cached; None when the body asks for no caching (or the model has none). Reads only the body."""
    points = cache_checkpoints(body)
    if not points or model.cache_min_tokens is None:
        return None
    eligible = []
    for path, control in points:
        prefix = _prefix_body(body, path)
        tokens = count_input_tokens(prefix, model)
        if tokens < model.cache_min_tokens:
            continue
        canonical = json.dumps(_strip_cache_control(prefix), sort_keys=True, ensure_ascii=False)
        key = hashlib.sha256(f"{model.base_id}\x00{canonical}".encode()).hexdigest()
        eligible.append((key, tokens, control.get("ttl", "5m")))
    return eligible


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
        return self.take(cache_candidates(model, body))

    def take(self, eligible: list[tuple[str, int, str]] | None) -> CacheUsage | None:
        """Read and write the cache for a body's ``cache_candidates`` (worked out beside the loop for a large
        body, door/worker.py: this part only touches the cache itself)."""
        if eligible is None:
            return None
        now = self.clock()
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
