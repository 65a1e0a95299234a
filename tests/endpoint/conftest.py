"""Fixtures for the local endpoint's tests: one real server on loopback, real boto3 clients over HTTP."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from botocore.config import Config

from helpers.local_bedrock import LocalBedrock


@pytest.fixture(scope="session")
def server() -> Iterator[LocalBedrock]:
    with LocalBedrock(seed=0, time_scale=0) as running:
        yield running


@pytest.fixture(autouse=True)
def _no_leftover_faults(request: pytest.FixtureRequest) -> Iterator[None]:
    yield
    if "server" in request.fixturenames:
        request.getfixturevalue("server").faults.clear()


@pytest.fixture(scope="session")
def client(server: LocalBedrock) -> Any:
    """No retries, so every fault and error reaches the test exactly as the server sent it."""
    return server.client(config=Config(retries={"mode": "standard", "total_max_attempts": 1}, read_timeout=30))
