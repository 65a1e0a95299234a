"""Local endpoints for the troubleshooting reproductions (docs/troubleshooting.md): one as fast as possible, one
at a real model's pace, each emptied of faults around every test."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from helpers.local_bedrock import LocalBedrock


@pytest.fixture(scope="module")
def fast() -> Iterator[LocalBedrock]:
    with LocalBedrock(seed=21, time_scale=0) as endpoint:
        yield endpoint


@pytest.fixture(scope="module")
def paced() -> Iterator[LocalBedrock]:
    with LocalBedrock(seed=21, time_scale=1.0) as endpoint:
        yield endpoint


@pytest.fixture(autouse=True)
def no_faults(request: pytest.FixtureRequest) -> Iterator[None]:
    endpoints = [request.getfixturevalue(name) for name in ("fast", "paced") if name in request.fixturenames]
    for endpoint in endpoints:
        endpoint.faults.clear()
    yield
    for endpoint in endpoints:
        endpoint.faults.clear()
