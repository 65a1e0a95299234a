"""Fixtures for the client-side helpers: one real local endpoint on loopback, real boto3 over HTTP.

The endpoint runs at time_scale 0 (as fast as it can send) for the whole session. Faults are
cleared after every test so one test's schedule never leaks into the next.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from botocore.config import Config

from helpers.local_bedrock import LocalBedrock

HAIKU = "global.anthropic.claude-haiku-4-5-20251001-v1:0"  # the course default (Claude 3 Haiku is EOL)
# A day on which the retired Text Completions models were still served: the endpoint's as_of switch
# replays that day's lifecycle, so the legacy wire format stays testable.
BEFORE_RETIREMENTS = "2025-01-01"
SONNET_45 = "global.anthropic.claude-sonnet-4-5-20250929-v1:0"  # budget thinking (3.7 Sonnet is EOL)
LEGACY = "anthropic.claude-v2:1"


@pytest.fixture(scope="session")
def server() -> Iterator[LocalBedrock]:
    with LocalBedrock(seed=0, time_scale=0.0) as running:
        yield running


@pytest.fixture(autouse=True)
def _clear_faults(request: pytest.FixtureRequest) -> Iterator[None]:
    yield
    if "server" in request.fixturenames:
        request.getfixturevalue("server").faults.clear()


@pytest.fixture(scope="session")
def retired_client() -> Iterator[Any]:
    """A client of an endpoint that answers as Bedrock did before the Claude 2 / Instant retirements."""
    with LocalBedrock(seed=0, time_scale=0.0, as_of=BEFORE_RETIREMENTS) as running:
        yield running.client(config=Config(retries={"total_max_attempts": 1}, read_timeout=60))


@pytest.fixture(scope="session")
def client(server: LocalBedrock) -> Any:
    """A boto3 client with botocore's own retries off, so every injected fault reaches the helpers."""
    return server.client(config=Config(retries={"total_max_attempts": 1}, read_timeout=60))


@pytest.fixture(scope="session")
def models() -> dict[str, str]:
    return {"haiku": HAIKU, "sonnet45": SONNET_45, "legacy": LEGACY}


@pytest.fixture
def left_call() -> Any:
    """``left_call(server)``: the server's newest call once it is over; fails if it never ends.

    For Stop tests: the server's own record says whether it saw the client leave, and how much it sent.
    """
    import time

    def wait(server: LocalBedrock, timeout_s: float = 15.0) -> Any:
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            call = server.calls[0]
            if call.done:
                return call
            time.sleep(0.02)
        raise AssertionError(f"the server never finished the call: {server.calls[0]}")

    return wait
