"""AWS's streaming example in Python, JavaScript, Java and Go, each run against the local endpoint.

What a developer at a workshop relies on: their own SDK's program, pointed at the room's endpoint with
AWS_ENDPOINT_URL_BEDROCK_RUNTIME, prints the endpoint's answer as it streams, and a retired model id comes
back as the SDK's own typed exception with Bedrock's message.
"""

from __future__ import annotations

import os
import re
import stat
import subprocess
from concurrent.futures import Future
from pathlib import Path

import pytest
from examples_support import (
    CURRENT_MODEL,
    EOL_MESSAGE,
    EXAMPLES,
    MID_STREAM_MESSAGE,
    PROGRAMS,
    PUBLISHED_MODEL,
    Run,
    prompt_for,
    streamed_text,
)

from helpers.local_bedrock import LocalBedrock

# The first test's set-up builds the programs; with cold caches (a fresh machine, no `make examples-build`
# before) that is a few minutes of downloads and compiling, more than pytest-timeout's default allows.
pytestmark = [pytest.mark.examples, pytest.mark.timeout(900)]

ALL = list(PROGRAMS)

# The JavaScript SDK's default HTTP/2 handler closes its session (sends GOAWAY) as soon as the response
# headers arrive, expecting the open stream to finish (RFC 9113, 6.8; @smithy/node-http-handler,
# `useIsolatedSession`): the two streaming tests below run the JavaScript program on that handler against
# a paced endpoint, so they check that the endpoint lets the open stream finish (local_bedrock/door/connections.py).
MIN_READS = 10  # the default answer comes in about fifty text deltas


def _error_line(program: str, model_id: str, exception: str, message: str) -> str:
    prefix = PROGRAMS[program].exception_prefix
    return f"ERROR: Can't invoke '{model_id}'. Reason: {prefix}{exception}: {message}"


@pytest.mark.parametrize("program", ALL)
def test_prints_the_endpoints_answer(program: str, runs: dict[tuple[str, str], Future[Run]],
                                     reference_endpoint: LocalBedrock) -> None:
    run = runs["stream", program].result()
    expected = streamed_text(reference_endpoint.client(), prompt_for(program))
    assert run.returncode == 0, run.describe()
    assert run.stdout == expected + "\n", run.describe()


@pytest.mark.parametrize("program", ALL)
def test_text_arrives_in_pieces_over_the_stream(program: str, runs: dict[tuple[str, str], Future[Run]],
                                                paced_endpoint: LocalBedrock) -> None:
    run = runs["stream", program].result()
    assert run.returncode == 0, run.describe()
    text = run.stdout.rstrip("\n")
    sizes = [len(data) for _, data in run.reads]
    assert len(run.reads) >= MIN_READS, f"{program} printed its answer in {len(run.reads)} writes: {sizes}"
    assert max(sizes) < len(text.encode()) / 2, f"{program} printed most of its answer at once: {sizes}"

    # The reads span a good part of the time the endpoint took to send the stream: printed as it arrived,
    # not gathered and printed at the end (a span of a few milliseconds). A quarter, not all of it: a JVM
    # still loading classes on a busy machine can fall behind on the first deltas and catch up later.
    # (A ratio of two spans from one run, not a time limit.)
    call = next(c for c in paced_endpoint.calls if c.request_body["messages"][0]["content"][0]["text"]
                == prompt_for(program))
    sent_span = call.sent_ms[-1] - call.sent_ms[0]
    read_span = (run.reads[-1][0] - run.reads[0][0]) / 1e6
    assert read_span >= 0.25 * sent_span, (
        f"{program}: reads spread over {read_span:.0f} ms of a stream the endpoint sent over {sent_span:.0f} ms")


@pytest.mark.parametrize("program", ALL)
def test_streams_from_a_room_endpoint_locked_with_a_sigv4_key(program: str, runs: dict[tuple[str, str], Future[Run]],
                                                                 reference_endpoint: LocalBedrock) -> None:
    # What a workshop learner does: the room's key pair in AWS_ACCESS_KEY_ID / AWS_SECRET_ACCESS_KEY; each
    # SDK signs with its own SigV4 code and the endpoint checks every signature. The JavaScript SDK, on its
    # default HTTP/2 handler, signs `:authority` instead of `host` (SignedHeaders=:authority;...).
    run = runs["room", program].result()
    assert run.returncode == 0, run.describe()
    assert run.stdout == streamed_text(reference_endpoint.client(), prompt_for(program)) + "\n", run.describe()


@pytest.mark.parametrize(("program", "http2"), [("javascript", True), ("javascript-http1", False)])
def test_javascript_sdk_streams_over_both_of_its_handlers(program: str, http2: bool,
                                                          runs: dict[tuple[str, str], Future[Run]]) -> None:
    # By default the SDK sends Bedrock Runtime calls over HTTP/2 (cleartext with prior knowledge on an
    # http:// endpoint); --http1 gives it NodeHttpHandler. Node's own HTTP/2 debug log says which was used.
    run = runs["stream", program].result()
    assert run.returncode == 0, run.describe()
    assert ("Http2Session client: initiating request" in run.stderr) is http2, run.describe()


@pytest.mark.parametrize("program", ["javascript"])
def test_javascript_default_handler_reads_an_answer_sent_at_once(program: str, runs: dict[tuple[str, str], Future[Run]],
                                                                 reference_endpoint: LocalBedrock) -> None:
    # The endpoint at time scale 0 has sent every frame before the SDK's GOAWAY reaches it: HTTP/2 framing
    # and event-stream decoding work end to end; only the early close above cuts a paced stream.
    run = runs["instant", program].result()
    assert run.returncode == 0, run.describe()
    assert run.stdout == streamed_text(reference_endpoint.client(), prompt_for(program)) + "\n", run.describe()


@pytest.mark.parametrize("program", ALL)
def test_published_model_id_gets_the_end_of_life_error(program: str,
                                                       runs: dict[tuple[str, str], Future[Run]]) -> None:
    # AWS's published example calls Claude 3 Haiku; Bedrock now refuses it with a 404 before the stream.
    run = runs["published", program].result()
    assert run.returncode == 1, run.describe()
    assert _error_line(program, PUBLISHED_MODEL, "ResourceNotFoundException", EOL_MESSAGE) in run.stderr, \
        run.describe()
    assert run.stdout.strip() == "", run.describe()


# boto3 raises every exception frame as botocore's EventStreamError (its code names the member); the other
# SDKs raise the modelled exception class.
IN_STREAM_EXCEPTION = {"python": "EventStreamError"}


@pytest.mark.parametrize("program", ALL)
def test_exception_mid_stream_is_the_sdks_typed_exception_after_the_partial_text(
        program: str, runs: dict[tuple[str, str], Future[Run]], reference_endpoint: LocalBedrock) -> None:
    run = runs["failing", program].result()
    assert run.returncode == 1, run.describe()
    exception = IN_STREAM_EXCEPTION.get(program, "ModelStreamErrorException")
    assert _error_line(program, CURRENT_MODEL, exception, MID_STREAM_MESSAGE) in run.stderr, run.describe()
    partial, full = run.stdout.rstrip("\n"), streamed_text(reference_endpoint.client(), prompt_for(program))
    assert partial and full.startswith(partial) and partial != full, run.describe()


def _fake_tool(folder: Path, name: str, script: str) -> None:
    path = folder / name
    path.write_text(f"#!/bin/sh\n{script}\n")
    path.chmod(path.stat().st_mode | stat.S_IXUSR)


def test_toolchain_check_names_each_toolchain_that_is_too_old(tmp_path: Path) -> None:
    _fake_tool(tmp_path, "go", 'echo "go1.20.3"')  # answers `go env GOVERSION`
    _fake_tool(tmp_path, "node", 'echo "16.20.2"')  # answers `node -p process.versions.node`
    env = {**os.environ, "PATH": f"{tmp_path}{os.pathsep}{os.environ['PATH']}"}
    done = subprocess.run([str(EXAMPLES / "check_toolchains.sh")], env=env, capture_output=True, text=True,
                          stdin=subprocess.DEVNULL, timeout=60)
    assert done.returncode == 1
    wanted_go = re.search(r"^go (\S+)$", (EXAMPLES / "go" / "go.mod").read_text(), re.M).group(1)
    assert f"Go {wanted_go} or newer is needed, found 1.20.3" in done.stderr
    assert "Node.js 18 or newer is needed, found 16.20.2" in done.stderr
    assert "JDK" not in done.stderr and "Maven" not in done.stderr  # present and new enough here
