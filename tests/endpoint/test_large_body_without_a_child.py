"""Where the endpoint's loop cannot start a child process, a large body is still answered, in a thread.

asyncio's selector loop on Windows (the one a Jupyter kernel runs there) raises NotImplementedError for any
subprocess; the endpoint then judges and plans a large body in a thread (door/worker.py). The refusal is
simulated at that boundary: ``asyncio.create_subprocess_exec`` raises what such a loop raises.
"""

from __future__ import annotations

import asyncio
import json

import pytest

from helpers.local_bedrock import LocalBedrock

HAIKU = "global.anthropic.claude-haiku-4-5-20251001-v1:0"


def test_large_bodies_and_long_answers_are_served_where_no_child_can_start(monkeypatch: pytest.MonkeyPatch) -> None:
    async def no_subprocesses(*args: object, **kwargs: object) -> None:
        raise NotImplementedError

    monkeypatch.setattr(asyncio, "create_subprocess_exec", no_subprocesses)
    with LocalBedrock(seed=3, time_scale=0) as server:
        client = server.client()
        # ~400 kB about orchards: above the size judged in a thread when a child can start.
        body = {"anthropic_version": "bedrock-2023-05-31", "max_tokens": 40,
                "messages": [{"role": "user", "content": "Orchards need pruning in late winter. " * 10_000}]}
        answer = json.loads(client.invoke_model(modelId=HAIKU, body=json.dumps(body))["body"].read())
        assert answer["type"] == "message" and answer["usage"]["input_tokens"] > 50_000
        # A long answer to a short body (planned in the child where there is one).
        body = {"anthropic_version": "bedrock-2023-05-31", "max_tokens": 20_000,
                "messages": [{"role": "user", "content": "[[length=20000]] [[chunk=1]] orchards"}]}
        answer = json.loads(client.invoke_model(modelId=HAIKU, body=json.dumps(body))["body"].read())
        assert answer["usage"]["output_tokens"] == 20_000
        assert server._app is not None and server._app.worker.no_child and server._app.worker.starts == 0
