"""pytest fixtures for testing your own streaming code against the course's local Bedrock Runtime endpoint.

Install the course package (``pip install <this repository>``) in your project's test environment and ask
for the fixtures by name in your tests; nothing else is needed::

    def test_my_handler_keeps_partial_text(bedrock_client, bedrock_faults, bedrock_calls):
        bedrock_faults.add({"error": "modelStreamErrorException", "at": "event", "after": 5})
        ...
        assert bedrock_calls.last.error == "modelStreamErrorException"

Fixtures (all prefixed ``bedrock_`` / ``anthropic_``, so they cannot shadow your own):

- ``bedrock_endpoint`` (session): a running ``helpers.local_bedrock.LocalBedrock`` on 127.0.0.1, a free port.
  Deterministic: the same seed gives the same text, chunking and timing. ``--bedrock-seed N`` (default 0),
  ``--bedrock-time-scale X`` (default 0: as fast as possible; 1: a real model's pace), ``--bedrock-replay
  FILE``: serve a cassette recorded with ``python -m helpers.local_bedrock --record FILE --upstream aws``
  (real Claude text, offline). ``bedrock_endpoint.client(config=Config(read_timeout=1))`` gives a client
  with your own botocore settings.
- ``bedrock_endpoint_factory``: ``make(seed=3, time_scale=1.0, **LocalBedrock options)`` starts another
  endpoint, stopped after the test.
- ``bedrock_client``: a real boto3 ``bedrock-runtime`` client pointed at the session endpoint.
- ``anthropic_bedrock_client``: the anthropic SDK's ``AnthropicBedrock`` (InvokeModel) pointed at it;
  ``anthropic_client``: the SDK's base ``Anthropic`` client on its Messages API route (``…/anthropic``).
  Both skip the test when the anthropic SDK is not installed.
- ``bedrock_faults``: the endpoint's fault book, emptied before and after each test, so a fault never leaks
  into the next one. ``add({"error": "ThrottlingException"})`` (before the stream), ``{"error":
  "modelStreamErrorException", "at": "event", "after": 3}`` (an exception frame after 3 chunks), ``{"error":
  "drop", "at": "event", "after": 3}`` (the connection cut), ``{"error": "stall", "at": "event", "after": 0,
  "seconds": 2}`` (silence, to meet your ``read_timeout``).
- ``bedrock_calls``: the endpoint's call log, only the calls made during this test, newest first.

**Auto-loaded, and inert until asked.** The package registers this module under pytest's ``pytest11`` entry
point, so every pytest run in an environment where the package is installed loads it. Opt-in loading
(``-p helpers.testing`` in each project) was weighed and not chosen: loading this module changes nothing
-- no autouse fixture, no hook that touches collection or reporting, no import beyond pytest until a fixture
is requested, no endpoint started until then -- so auto-loading cannot surprise a project, and a learner's
tests work after a plain ``pip install``. It adds three ``--bedrock-*`` options to ``pytest --help``. A
project that wants none of it runs ``pytest -p no:helpers.testing``; with plugin auto-loading disabled
(``PYTEST_DISABLE_PLUGIN_AUTOLOAD=1``) load it with ``-p helpers.testing`` or
``pytest_plugins = ["helpers.testing"]`` in a conftest.py.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

__all__ = ["CallsDuringTest"]

PLACEHOLDER_KEYS = {"aws_access_key": "local", "aws_secret_key": "local"}  # the unlocked endpoint takes any


def pytest_addoption(parser: pytest.Parser) -> None:
    group = parser.getgroup("bedrock", "the local Bedrock Runtime endpoint (helpers.testing)")
    group.addoption("--bedrock-seed", type=int, default=0,
                    help="seed of the local endpoint: the same seed gives the same answers and timing (default 0)")
    group.addoption("--bedrock-time-scale", type=float, default=0.0,
                    help="pace of the local endpoint's streams: 0 as fast as possible (default), 1 a real model's")
    group.addoption("--bedrock-replay", default=None, metavar="CASSETTE",
                    help="serve the calls recorded in this cassette (python -m helpers.local_bedrock --record)")


class CallsDuringTest:
    """The endpoint's call records made since this test began, newest first (``helpers.local_bedrock.calls``).

    Each record has ``operation``, ``model_id``, ``request_body``, ``status``, ``error`` (an exception name,
    ``"drop"``, ``"client disconnected"``), ``stop_reason``, ``input_tokens``, ``output_tokens``,
    ``schedule_ms`` (the chunks it planned) and ``sent_ms`` (those it sent), ``done``.
    """

    def __init__(self, endpoint: Any) -> None:
        self._endpoint = endpoint
        calls = endpoint.calls
        self._after = calls[0].id if calls else 0

    def _records(self) -> list[Any]:
        return [record for record in self._endpoint.calls if record.id > self._after]

    def __iter__(self) -> Iterator[Any]:
        return iter(self._records())

    def __len__(self) -> int:
        return len(self._records())

    def __getitem__(self, index: int) -> Any:
        return self._records()[index]

    @property
    def last(self) -> Any:
        """The newest call made during this test; AssertionError when there is none."""
        records = self._records()
        assert records, "the local endpoint received no call during this test"
        return records[0]

    def __repr__(self) -> str:
        return f"<{len(self)} call(s) during this test: {[(r.operation, r.error) for r in self._records()]}>"


def _start(**options: Any) -> Any:
    from helpers.local_bedrock import LocalBedrock

    return LocalBedrock(**options).start()


@pytest.fixture(scope="session")
def bedrock_endpoint(request: pytest.FixtureRequest) -> Iterator[Any]:
    options: dict[str, Any] = {"seed": request.config.getoption("bedrock_seed"),
                               "time_scale": request.config.getoption("bedrock_time_scale")}
    replay = request.config.getoption("bedrock_replay")
    if replay:
        path = Path(replay)
        if not path.is_file():
            raise pytest.UsageError(f"--bedrock-replay {replay}: no such file; record one with "
                                    "`python -m helpers.local_bedrock --record FILE --upstream aws`")
        options["replay"] = path
    endpoint = _start(**options)
    try:
        yield endpoint
    finally:
        endpoint.stop()


@pytest.fixture
def bedrock_endpoint_factory() -> Iterator[Callable[..., Any]]:
    started: list[Any] = []

    def make(**options: Any) -> Any:
        endpoint = _start(**options)
        started.append(endpoint)
        return endpoint

    yield make
    for endpoint in started:
        endpoint.stop()


@pytest.fixture
def bedrock_faults(bedrock_endpoint: Any) -> Iterator[Any]:
    bedrock_endpoint.faults.clear()
    yield bedrock_endpoint.faults
    bedrock_endpoint.faults.clear()


@pytest.fixture
def bedrock_calls(bedrock_endpoint: Any) -> CallsDuringTest:
    return CallsDuringTest(bedrock_endpoint)


@pytest.fixture(scope="session")
def bedrock_client(bedrock_endpoint: Any) -> Any:
    return bedrock_endpoint.client()


@pytest.fixture(scope="session")
def anthropic_bedrock_client(bedrock_endpoint: Any) -> Any:
    anthropic = pytest.importorskip("anthropic", reason="the anthropic SDK is not installed")
    return anthropic.AnthropicBedrock(base_url=bedrock_endpoint.endpoint_url, aws_region="us-east-1",
                                      **PLACEHOLDER_KEYS)


@pytest.fixture(scope="session")
def anthropic_client(bedrock_endpoint: Any) -> Any:
    anthropic = pytest.importorskip("anthropic", reason="the anthropic SDK is not installed")
    return anthropic.Anthropic(base_url=bedrock_endpoint.anthropic_base_url, api_key="local")
