"""Fixtures for the examples' tests: each program built once, run once per case, several at a time.

Four local endpoints with the same seed: a paced one the programs stream from, an instant one that
boto3 asks for the expected text (and that refuses the as-published, retired model id), one whose
streams for the current model fail with an exception frame after a few deltas, and one locked with a
room key as an instructor runs it for a workshop.
"""

from __future__ import annotations

from collections.abc import Iterator
from concurrent.futures import Future, ThreadPoolExecutor

import pytest
from examples_support import (
    CURRENT_MODEL,
    MID_STREAM_MESSAGE,
    PROGRAMS,
    PUBLISHED_MODEL,
    Run,
    build_examples,
    child_env,
    prompt_for,
    run_program,
)

from helpers.local_bedrock import LocalBedrock

SEED = 7
PACED = 1.0  # Claude Haiku's own pacing: the default answer takes about a second and a half.
# Two programs at a time: on two cores a third JVM or Go start-up would only queue behind them.
WORKERS = 2
ROOM_KEY, ROOM_SECRET = "room", "a-room-secret-for-the-examples-tests"


@pytest.fixture(scope="session")
def examples_built() -> None:
    build_examples()


@pytest.fixture(scope="session")
def paced_endpoint() -> Iterator[LocalBedrock]:
    with LocalBedrock(seed=SEED, time_scale=PACED) as server:
        yield server


@pytest.fixture(scope="session")
def reference_endpoint() -> Iterator[LocalBedrock]:
    with LocalBedrock(seed=SEED, time_scale=0) as server:
        yield server


@pytest.fixture(scope="session")
def failing_endpoint() -> Iterator[LocalBedrock]:
    """Every stream for the current model ends in a modelStreamErrorException frame after five events."""
    with LocalBedrock(seed=SEED, time_scale=0) as server:
        server.faults.add({"error": "modelStreamErrorException", "at": "event", "after": 5, "times": None,
                           "model": CURRENT_MODEL, "message": MID_STREAM_MESSAGE})
        yield server


@pytest.fixture(scope="session")
def room_endpoint() -> Iterator[LocalBedrock]:
    """Locked as README's workshop section says: every request must be SigV4-signed with the room's key."""
    with LocalBedrock(seed=SEED, time_scale=0, verify_sigv4=[f"{ROOM_KEY}:{ROOM_SECRET}"]) as server:
        yield server


def _selected_programs(session: pytest.Session) -> list[str]:
    """The programs the selected tests ask for (``-k go`` runs the Go program only)."""
    names = {item.callspec.params["program"] for item in session.items
             if hasattr(item, "callspec") and "program" in item.callspec.params
             and item.get_closest_marker("examples")}
    return [name for name in PROGRAMS if name in names]


@pytest.fixture(scope="session")
def runs(request: pytest.FixtureRequest, examples_built: None, paced_endpoint: LocalBedrock,
         reference_endpoint: LocalBedrock, failing_endpoint: LocalBedrock,
         room_endpoint: LocalBedrock) -> dict[tuple[str, str], Future[Run]]:
    """Every selected program run once per case, ``WORKERS`` at a time: {(case, program): finished job}.

    A test takes its own ``.result()``, so a program that hangs or fails to start fails only its own tests.
    """
    jobs: dict[tuple[str, str], Future[Run]] = {}
    with ThreadPoolExecutor(WORKERS) as pool:
        for name in _selected_programs(request.session):
            program = PROGRAMS[name]
            # NODE_DEBUG=http2 makes Node say on stderr when a request goes out on an HTTP/2 session.
            debug = {"NODE_DEBUG": "http2"} if name.startswith("javascript") else {}
            jobs["stream", name] = pool.submit(run_program, program, [prompt_for(name)],
                                               child_env(paced_endpoint.endpoint_url, **debug))
            if name == "javascript":  # the default HTTP/2 handler on a stream sent all at once
                jobs["instant", name] = pool.submit(run_program, program, [prompt_for(name)],
                                                    child_env(reference_endpoint.endpoint_url))
            jobs["published", name] = pool.submit(run_program, program, [prompt_for(name), PUBLISHED_MODEL],
                                                  child_env(reference_endpoint.endpoint_url))
            jobs["failing", name] = pool.submit(run_program, program, [prompt_for(name)],
                                                child_env(failing_endpoint.endpoint_url))
            jobs["room", name] = pool.submit(run_program, program, [prompt_for(name)],
                                             child_env(room_endpoint.endpoint_url, AWS_ACCESS_KEY_ID=ROOM_KEY,
                                                       AWS_SECRET_ACCESS_KEY=ROOM_SECRET))
    return jobs
