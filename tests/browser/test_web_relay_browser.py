"""Lesson 12's web relay in Chromium: the page shows the answer growing, and its Stop button -- or closing the
page -- reaches Bedrock: the local endpoint's call log (``GET /_local/calls``) shows the stream closed by the
client before every chunk was sent."""

from __future__ import annotations

import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "web_relay"))

from relay_support import closed_early, endpoint_calls, relay_in_front_of, wait_for  # noqa: E402

from helpers.local_bedrock import LocalBedrock  # noqa: E402

pytestmark = [pytest.mark.browser, pytest.mark.timeout(180)]

LONG_PROMPT = "Tell me the history of lighthouses [[length=800]]"  # streams for many seconds at the real pace


@pytest.fixture(scope="module")
def server() -> Iterator[LocalBedrock]:
    with LocalBedrock(seed=5, time_scale=1.0) as endpoint:
        yield endpoint


@pytest.fixture(scope="module")
def relay(server: LocalBedrock) -> Iterator[Any]:
    with relay_in_front_of(server) as running:
        yield running


def start_answer(page: Any, relay: Any, api: str) -> list[int]:
    """Open the page, ask, and return the answer's lengths seen while it grew (at least three distinct)."""
    page.goto(relay.url)
    page.fill("#prompt", LONG_PROMPT)
    page.select_option("#api", api)
    page.fill("#max_tokens", "2000")
    page.click("#send")
    lengths: list[int] = []
    for _ in range(600):
        length = len(page.text_content("#answer") or "")
        if not lengths or length != lengths[-1]:
            lengths.append(length)
        if len([n for n in lengths if n > 0]) >= 4:
            break
        page.wait_for_timeout(50)
    return lengths


def last_id(server: LocalBedrock) -> int:
    calls = endpoint_calls(server)
    return calls[0]["id"] if calls else 0


def call_after(server: LocalBedrock, operation: str, after: int) -> dict[str, Any]:
    """The page's upstream call (made after call ``after``), once the endpoint has ended it."""
    def finished() -> dict[str, Any] | None:
        calls = [c for c in endpoint_calls(server) if c["id"] > after and c["operation"] == operation]
        return calls[0] if calls and calls[0]["done"] else None

    return wait_for(finished, what=f"the page's {operation} call to end")


@pytest.mark.parametrize(("api", "operation"), [("invoke", "InvokeModelWithResponseStream"),
                                                ("messages", "MessagesStream")])
def test_stop_on_the_page_closes_the_upstream_stream(page: Any, relay: Any, server: LocalBedrock, api: str,
                                                     operation: str) -> None:
    before = last_id(server)
    lengths = start_answer(page, relay, api)
    growing = [n for n in lengths if n > 0]
    assert len(growing) >= 4 and growing == sorted(growing), f"the answer did not grow step by step: {lengths}"
    page.click("#stop")
    page.wait_for_function("document.getElementById('status').textContent === 'stopped'")
    kept = len(page.text_content("#answer") or "")
    call = call_after(server, operation, before)
    assert closed_early(call), f"the endpoint sent {len(call['sent_ms'])} of {len(call['schedule_ms'])} chunks"
    assert 0 < kept, "Stop should keep the text already shown"
    record = wait_for(lambda: (r := relay.app.state.log.records[0]).outcome != "streaming" and r,
                      what="the relay's log")
    assert record.outcome == "stopped: page left"


def test_closing_the_page_closes_the_upstream_stream(browser: Any, relay: Any, server: LocalBedrock) -> None:
    before = last_id(server)
    context = browser.new_context()
    page = context.new_page()
    try:
        lengths = start_answer(page, relay, "invoke")
        assert len([n for n in lengths if n > 0]) >= 4, lengths
        page.close()  # as a learner closes the tab mid-answer
    finally:
        context.close()
    call = call_after(server, "InvokeModelWithResponseStream", before)
    assert closed_early(call), f"the endpoint sent {len(call['sent_ms'])} of {len(call['schedule_ms'])} chunks"
