"""End to end: real boto3 over loopback to the local endpoint, through helpers.stream, into the view."""

from __future__ import annotations

import threading
import time
from typing import Any

import pytest
from live_support import updates

from helpers.live import LiveView, StaticRendering, render_stream
from helpers.live.markdown import render_markdown
from helpers.live.view import markdown_block
from helpers.local_bedrock import LocalBedrock
from helpers.stream import invoke_stream
from helpers.timing import summarize

# 64k output tokens: room for long streams; through its global profile (its base id is not on-demand).
MODEL = "global.anthropic.claude-haiku-4-5-20251001-v1:0"


def _body(prompt: str, max_tokens: int = 4096) -> dict:
    return {
        "anthropic_version": "bedrock-2023-05-31",
        "max_tokens": max_tokens,
        "messages": [{"role": "user", "content": prompt}],
    }


@pytest.fixture(scope="module")
def server():
    with LocalBedrock(seed=0, time_scale=0.0) as s:
        yield s


def test_live_view_over_the_real_endpoint(server, recording_comm) -> None:
    result = invoke_stream(server.client(), MODEL, _body("[[length=5000]] [[chunk=1]] rivers", 6000))
    view = LiveView()
    render_stream(result, view=view, display=False)
    assert result.error is None and result.stop_reason == "end_turn"
    assert result.usage["output_tokens"] == 5000
    assert view.answer.value == markdown_block(render_markdown(result.text))
    assert len(updates(recording_comm.log, view.answer.comm.comm_id)) < 5000 / 10
    t = summarize(result)
    assert t["chunk_count"] == 5000 and sum(t["tokens_per_chunk"]) == 5000
    assert t["ttft_ms"] is not None and t["firstByteLatency"] is not None


def _finished_call(server: LocalBedrock, timeout_s: float = 15.0) -> Any:
    deadline = time.monotonic() + timeout_s
    while not server.calls[0].done:
        assert time.monotonic() < deadline, f"the server never finished the call: {server.calls[0]}"
        time.sleep(0.02)
    return server.calls[0]


def test_stop_mid_stream_over_the_real_endpoint(recording_comm) -> None:
    with LocalBedrock(seed=0, time_scale=1.0) as paced:
        result = invoke_stream(paced.client(), MODEL, _body("[[length=3000]] [[chunk=1]] lakes", 4000))
        view = LiveView()

        def stop_after_some_text() -> None:
            while result.snapshot.output_event_count < 5:
                threading.Event().wait(0.005)
            view.stop_button.click()

        clicker = threading.Thread(target=stop_after_some_text)
        clicker.start()
        render_stream(result, view=view, display=False)
        clicker.join()
        call = _finished_call(paced)
    assert result.stopped and result.error is None
    assert 0 < result.snapshot.output_event_count < 3000
    # The server's side of the click: it saw the client leave and sent a small part of the 3,000-token answer.
    assert call.error == "client disconnected"
    assert result.snapshot.event_count <= len(call.sent_ms) < 3000 // 10
    assert view.answer.value == markdown_block(render_markdown(result.text))


def test_static_output_is_the_same_for_the_same_seed(capsys) -> None:
    outputs = []
    for _ in range(2):
        with LocalBedrock(seed=3, time_scale=0.0) as s:
            result = invoke_stream(s.client(), MODEL, _body("Explain streaming in two paragraphs."))
            render_stream(result, live=False)
            outputs.append((capsys.readouterr().out, StaticRendering.of(result)._repr_mimebundle_()))
    assert outputs[0] == outputs[1]
    assert "stop_reason: end_turn" in outputs[0][0] and " ms" not in outputs[0][0]
