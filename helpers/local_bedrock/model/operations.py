"""What the endpoint adds around a planned answer: lifecycle switches, the caller's region, echoed headers and
the stream's closing invocation metrics (the prompt cache is in prompt_cache.py, CountTokens in
routes/count_tokens.py).

Kept out of the routes so they only route and pace; everything here is plain data in, data out.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date
from typing import Any

from .retention import DEFAULT_DATA_RETENTION, check_mode

__all__ = [
    "METRICS_TOOL_CALL_GAP_TOKENS",
    "Switches",
    "echo_headers",
    "request_region",
    "stream_metrics_counts",
]


# --------------------------------------------------------------------------- switches


@dataclass(frozen=True)
class Switches:
    """How the endpoint plays the catalogue's lifecycle.

    ``as_of``: judge Active/Legacy/EOL on this day instead of today (old code against retired models);
    ``inactive_account``: the account has not used a Legacy model in 15 days, so AWS refuses it;
    ``data_retention``: the account's data-retention mode (retention.py: ``none`` blocks Fable 5 on).
    """

    as_of: date | None = None
    inactive_account: bool = False
    data_retention: str = DEFAULT_DATA_RETENTION

    @classmethod
    def coerce(cls, *, as_of: date | str | None = None, inactive_account: bool = False,
               data_retention: str = DEFAULT_DATA_RETENTION) -> Switches:
        if isinstance(as_of, str):
            try:
                as_of = date.fromisoformat(as_of)
            except ValueError:
                raise ValueError(f"as_of must be a date like '2026-01-01', not {as_of!r}") from None
        if as_of is not None and not isinstance(as_of, date):
            raise ValueError(f"as_of must be a date like '2026-01-01', not {as_of!r}")
        return cls(as_of, bool(inactive_account), check_mode(data_retention))


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


# --------------------------------------------------------------------------- invocation metrics

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
