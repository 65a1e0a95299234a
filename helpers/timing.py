"""Per-chunk timing figures from a recorded stream (pure: no I/O, no clocks).

Everything here is computed from the ``received_ns`` stamps that ``helpers.stream``
puts on each event the moment botocore hands it over, and from the
``request_sent_ns`` stamp taken just before the request left. Nothing here reads a
clock, so the same recording always gives the same figures.

Definitions (all times in milliseconds):

* an *output chunk* is an event that carries model output (text, tool-input JSON,
  thinking): ``event.carries_output``. Structural events (``message_start``,
  ``content_block_stop`` ...) are not chunks.
* ``ttft_ms`` - time to first token: request sent -> first output chunk received.
  ``None`` when the request time is unknown (a replayed recording).
* ``chunk_offsets_ms`` - arrival of each output chunk, measured from the request
  (or from the first chunk when the request time is unknown).
* ``gaps_ms`` - one per output chunk after the first: the time since the previous chunk.
* ``tokens_per_chunk`` - Bedrock chunks carry no per-chunk token count, only a total
  at the end (``usage.output_tokens`` / ``outputTokenCount``). The figures here are an
  *estimate*: the total is shared out over the output chunks in proportion to their
  characters (largest-remainder rounding), so they are integers that sum exactly to
  the reported total.
* ``tokens_per_s`` - decoding rate after the first chunk: the tokens of every chunk
  but the first, divided by the time from the first to the last chunk.
* ``total_ms`` - request sent (or first event) -> last event received.
* ``firstByteLatency`` / ``invocationLatency`` - what the *server* reported in the
  invocation metrics, beside the client figures so the two can be compared.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence
from typing import Any, Protocol

from helpers.events import (
    CompletionChunk,
    ConverseBlockDelta,
    InputJsonDelta,
    StreamEvent,
    TextDelta,
    ThinkingDelta,
)

__all__ = ["summarize", "summarize_runs", "output_tokens", "output_chars", "percentile", "distribute"]

_NS_PER_MS = 1_000_000


class _Snapshot(Protocol):
    usage: dict[str, Any]
    metrics: dict[str, Any]


class _Recorded(Protocol):
    events: list[StreamEvent]
    request_sent_ns: int
    snapshot: _Snapshot


def output_chars(event: StreamEvent) -> int:
    """Characters of model output an event carries (0 for structural events)."""
    if isinstance(event, TextDelta):
        return len(event.text)
    if isinstance(event, InputJsonDelta):
        return len(event.partial_json)
    if isinstance(event, ThinkingDelta):
        return len(event.thinking)
    if isinstance(event, CompletionChunk):
        return len(event.completion)
    if isinstance(event, ConverseBlockDelta):
        delta = event.delta
        if "text" in delta:
            return len(str(delta["text"]))
        tool = delta.get("toolUse")
        if isinstance(tool, dict):
            return len(str(tool.get("input", "")))
        reasoning = delta.get("reasoningContent")
        if isinstance(reasoning, dict):
            return len(str(reasoning.get("text", "")))
    return 0


def output_tokens(usage: dict[str, Any], metrics: dict[str, Any]) -> int | None:
    """The reported output-token total: Anthropic usage, Converse usage, or invocation metrics."""
    for source, key in ((usage, "output_tokens"), (usage, "outputTokens"), (metrics, "outputTokenCount")):
        value = source.get(key) if isinstance(source, dict) else None
        if isinstance(value, int) and not isinstance(value, bool):
            return value
    return None


def distribute(total: int, weights: Sequence[int]) -> list[int]:
    """Share ``total`` out in proportion to ``weights``: integers that sum exactly to ``total``.

    Largest-remainder rounding; ties go to the earlier position so the result is
    deterministic. All-zero weights share evenly.
    """
    if total < 0:
        raise ValueError(f"total must be >= 0, got {total}")
    n = len(weights)
    if n == 0:
        return []
    if any(w < 0 for w in weights):
        raise ValueError("weights must be >= 0")
    weight_sum = sum(weights)
    if weight_sum == 0:
        weights, weight_sum = [1] * n, n
    exact = [total * w / weight_sum for w in weights]
    shares = [math.floor(x) for x in exact]
    left = total - sum(shares)
    order = sorted(range(n), key=lambda i: (-(exact[i] - shares[i]), i))
    for i in order[:left]:
        shares[i] += 1
    return shares


def _ms(ns: int) -> float:
    return ns / _NS_PER_MS


def summarize(result: _Recorded) -> dict[str, Any]:
    """Timing figures for one stream (see the module docstring for definitions).

    ``result`` is a ``helpers.stream.StreamResult`` (live or finished, or built with
    ``StreamResult.from_events``); only its events, ``request_sent_ns`` and snapshot
    are read.
    """
    events = list(result.events)
    sent = int(getattr(result, "request_sent_ns", 0) or 0)
    snapshot = result.snapshot
    usage = dict(getattr(snapshot, "usage", {}) or {})
    metrics = dict(getattr(snapshot, "metrics", {}) or {})

    chunks = [e for e in events if e.carries_output]
    times = [e.received_ns for e in chunks]
    origin = sent if sent else (times[0] if times else (events[0].received_ns if events else 0))

    total_tokens = output_tokens(usage, metrics)
    per_chunk = distribute(total_tokens, [output_chars(e) for e in chunks]) if total_tokens is not None else []

    gaps = [_ms(b - a) for a, b in zip(times, times[1:], strict=False)]
    tokens_per_s: float | None = None
    if len(times) > 1 and per_chunk and times[-1] > times[0]:
        tokens_per_s = (sum(per_chunk) - per_chunk[0]) / ((times[-1] - times[0]) / 1e9)

    return {
        "ttft_ms": _ms(times[0] - sent) if (sent and times) else None,
        "gaps_ms": gaps,
        "chunk_offsets_ms": [_ms(t - origin) for t in times],
        "tokens_per_chunk": per_chunk,
        "output_tokens": total_tokens,
        "chunk_count": len(chunks),
        "event_count": len(events),
        "tokens_per_s": tokens_per_s,
        "total_ms": _ms(events[-1].received_ns - origin) if events else None,
        "firstByteLatency": metrics.get("firstByteLatency"),
        "invocationLatency": metrics.get("invocationLatency"),
        "latencyMs": metrics.get("latencyMs"),
    }


def percentile(values: Sequence[float], q: float) -> float | None:
    """The q-th percentile (0-100) with linear interpolation between ranks; None when empty."""
    if not 0 <= q <= 100:
        raise ValueError(f"percentile q must be between 0 and 100, got {q}")
    data = sorted(values)
    if not data:
        return None
    rank = (len(data) - 1) * q / 100
    low = math.floor(rank)
    high = min(low + 1, len(data) - 1)
    return data[low] + (data[high] - data[low]) * (rank - low)


def _stats(values: list[float]) -> dict[str, float | int | None]:
    return {
        "count": len(values),
        "median": percentile(values, 50),
        "p90": percentile(values, 90),
        "p99": percentile(values, 99),
    }


def summarize_runs(results: Iterable[_Recorded | dict[str, Any]]) -> dict[str, Any]:
    """Median, p90 and p99 across runs.

    Accepts StreamResults or dicts already returned by :func:`summarize`.
    ``ttft_ms``, ``tokens_per_s`` and ``total_ms`` take one value per run (runs without
    the figure are skipped); ``gaps_ms`` pools every gap of every run.
    """
    summaries = [r if isinstance(r, dict) else summarize(r) for r in results]

    def per_run(key: str) -> list[float]:
        return [s[key] for s in summaries if s.get(key) is not None]

    return {
        "runs": len(summaries),
        "ttft_ms": _stats(per_run("ttft_ms")),
        "gaps_ms": _stats([g for s in summaries for g in s.get("gaps_ms", [])]),
        "tokens_per_s": _stats(per_run("tokens_per_s")),
        "total_ms": _stats(per_run("total_ms")),
    }
