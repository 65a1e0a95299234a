"""Bodies held by calls in flight share one budget: past it a call gets a 503 that boto3 retries, and what a
call held is given back when it ends (answered, refused or cut off)."""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator

import pytest
from adversarial_support import HAIKU, messages_body
from botocore.config import Config

from helpers.local_bedrock import LocalBedrock

MIB = 1024 * 1024


def _settles_to_zero(server: LocalBedrock) -> bool:
    """The server gives a call's bytes back just after its answer leaves; poll briefly for that."""
    for _ in range(200):
        if server.body_budget.held == 0:
            return True
        threading.Event().wait(0.01)
    return False


@pytest.fixture
def tight() -> Iterator[LocalBedrock]:
    with LocalBedrock(seed=0, time_scale=0) as running:
        running.body_budget.limit = 1 * MIB
        yield running


def test_bodies_past_the_budget_get_a_retryable_503_and_the_budget_comes_back(tight: LocalBedrock) -> None:
    client = tight.client(config=Config(retries={"mode": "standard", "total_max_attempts": 1}))
    big = json.dumps(messages_body("r" * (700 * 1024)))
    tight.faults.add(error="stall", seconds=1.5)  # the first call holds its body while it stalls
    first = threading.Thread(target=client.invoke_model, kwargs={"modelId": HAIKU, "body": big})
    first.start()
    try:
        for _ in range(500):  # until the first call has read its whole body and stalls
            if tight.calls and tight.calls[0].fault is not None:
                break
            threading.Event().wait(0.01)
        assert tight.body_budget.held > 600 * 1024
        with pytest.raises(client.exceptions.ServiceUnavailableException, match="retry"):
            client.invoke_model(modelId=HAIKU, body=big)
    finally:
        first.join(30)
    assert _settles_to_zero(tight)
    assert json.loads(client.invoke_model(modelId=HAIKU, body=big)["body"].read())["type"] == "message"
    assert _settles_to_zero(tight)
