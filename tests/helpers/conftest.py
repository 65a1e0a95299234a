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

HAIKU = "anthropic.claude-3-haiku-20240307-v1:0"
SONNET_37 = "anthropic.claude-3-7-sonnet-20250219-v1:0"
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
def client(server: LocalBedrock) -> Any:
    """A boto3 client with botocore's own retries off, so every injected fault reaches the helpers."""
    return server.client(config=Config(retries={"total_max_attempts": 1}, read_timeout=60))


@pytest.fixture(scope="session")
def models() -> dict[str, str]:
    return {"haiku": HAIKU, "sonnet37": SONNET_37, "legacy": LEGACY}
