"""The read timeout cuts only clients that owe the server bytes: a client silently reading a long paced
answer (HTTP/1.1 or h2c), or waiting for a slow InvokeModel, is never cut, and a keep-alive connection
serves its next request after a pause shorter than the timeout."""

from __future__ import annotations

import json
from collections.abc import Iterator

import httpx
import pytest
from adversarial_support import HAIKU, messages_body

from helpers.local_bedrock import LocalBedrock

READ_TIMEOUT = 0.5
# Long enough, paced at time_scale 1, to outlast the read timeout several times over.
SLOW = messages_body("[[length=120]] Tell me about rivers.", max_tokens=300)


@pytest.fixture(scope="module")
def strict() -> Iterator[LocalBedrock]:
    with LocalBedrock(seed=0, time_scale=1.0, read_timeout=READ_TIMEOUT) as running:
        yield running


@pytest.mark.parametrize("http2", [False, True], ids=["http1.1", "h2c"])
def test_a_long_paced_stream_outlasts_the_read_timeout(strict: LocalBedrock, http2: bool) -> None:
    with httpx.Client(http1=not http2, http2=http2, timeout=30) as client:
        response = client.post(f"{strict.endpoint_url}/model/{HAIKU}/invoke-with-response-stream",
                               content=json.dumps(SLOW), headers={"content-type": "application/json"})
        assert response.status_code == 200
        assert response.http_version == ("HTTP/2" if http2 else "HTTP/1.1")
    record = strict.calls[0]
    assert record.done and record.error is None
    assert record.sent_ms[-1] > READ_TIMEOUT * 1000 * 2  # the answer really did take longer than the timeout


def test_a_slow_invoke_model_outlasts_the_read_timeout(strict: LocalBedrock) -> None:
    response = strict.client().invoke_model(modelId=HAIKU, body=json.dumps(SLOW))
    assert json.loads(response["body"].read())["stop_reason"] == "end_turn"
    assert strict.calls[0].sent_ms[-1] > READ_TIMEOUT * 1000 * 2
