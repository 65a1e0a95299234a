"""The web relay (examples/web_relay) served in front of a local endpoint, for its tests and its browser tests."""

from __future__ import annotations

import json
import sys
import time
import urllib.request
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT / "examples"))

from web_relay.relay import RelayConfig, create_app  # noqa: E402
from web_relay.serve import RunningRelay, start_in_thread  # noqa: E402

MODEL = "global.anthropic.claude-haiku-4-5-20251001-v1:0"
# Whether the local Messages API route serves Haiku 4.5 differs between endpoint versions; Sonnet 5.5 it serves.
MESSAGES_MODEL = "global.anthropic.claude-sonnet-5-5"


@contextmanager
def relay_in_front_of(server: Any, **overrides: Any) -> Iterator[RunningRelay]:
    """The relay app, on a free loopback port, calling ``server`` (a running LocalBedrock) with real clients."""
    from anthropic import AsyncAnthropic

    settings: dict[str, Any] = {
        "bedrock": server.client(),
        "model_id": MODEL,
        "messages_client": AsyncAnthropic(base_url=server.anthropic_base_url, api_key="local", max_retries=0),
        "messages_model_id": MESSAGES_MODEL,
    }
    settings.update(overrides)
    with start_in_thread(create_app(RelayConfig(**settings))) as relay:
        yield relay


def endpoint_calls(server: Any) -> list[dict[str, Any]]:
    """The endpoint's call log over HTTP, newest first, as any client reads it."""
    with urllib.request.urlopen(f"{server.endpoint_url}/_local/calls", timeout=10) as response:
        return json.loads(response.read())


def wait_for(condition: Callable[[], Any], seconds: float = 10.0, what: str = "the condition") -> Any:
    """Poll ``condition`` until it returns something truthy; fail after ``seconds`` (a bound, not a timing)."""
    end = time.monotonic() + seconds
    while True:
        value = condition()
        if value:
            return value
        if time.monotonic() > end:
            raise AssertionError(f"gave up waiting for {what}")
        time.sleep(0.02)


def closed_early(call: dict[str, Any]) -> bool:
    """The endpoint saw the client hang up before it had sent every chunk it planned."""
    return call["error"] == "client disconnected" and 0 < len(call["sent_ms"]) < len(call["schedule_ms"])
