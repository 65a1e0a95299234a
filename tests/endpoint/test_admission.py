"""New calls wait while the streams already running are late (helpers/local_bedrock/door/admission.py).

The gate's rules are checked on the class itself, on a real event loop; then through real boto3 against the
endpoint with a gate made small: the calls past it wait, the call log says how long, and a waiting call's
schedule starts when it is let in (its wait is not counted as lateness). Expected values come from the rules
the module documents: a late frame lowers the cap to what is running less a fifth, never below 64; a window
with nothing late at the cap raises it by 8; waiting calls are let in one per loop pass, in arrival order.
"""

from __future__ import annotations

import asyncio
import json
import socket
import threading
import time
from typing import Any

import anthropic
import pytest
from endpoint_support import HAIKU, messages_body

from helpers.local_bedrock import LocalBedrock
from helpers.local_bedrock.door import admission
from helpers.local_bedrock.door.admission import Admission
from helpers.local_bedrock.door.hangup import ClientGone


def _quiet_receive() -> Any:
    """An ASGI receive whose body was read already and whose client stays: it never returns."""

    async def receive() -> dict:
        await asyncio.Event().wait()
        return {}

    return receive


class _Holders:
    """Calls that take a place at ``gate`` and hold it until ``finish()``; ``waits`` and ``order`` say how long
    each waited and in which order they were let in."""

    def __init__(self, gate: Admission | None = None) -> None:
        self.gate = gate or Admission()
        self.release = asyncio.Event()
        self.waits: list[float] = []
        self.order: list[int] = []
        self.tasks: list[asyncio.Task] = []

    async def _hold(self, n: int) -> None:
        async with self.gate.slot(_quiet_receive()) as waited:
            self.waits.append(waited)
            self.order.append(n)
            await self.release.wait()

    async def start(self, count: int) -> None:
        first = len(self.tasks)
        self.tasks += [asyncio.create_task(self._hold(n)) for n in range(first, first + count)]
        await asyncio.sleep(0)

    async def finish(self) -> None:
        self.release.set()
        await asyncio.gather(*(t for t in self.tasks if not t.cancelled()))


def test_calls_up_to_the_cap_start_at_once_and_the_next_wait_for_a_place() -> None:
    async def scenario() -> None:
        held = _Holders()
        await held.start(130)
        await asyncio.sleep(0)
        assert held.gate.running == 128 and held.gate.waiting == 2  # the cap a process starts with
        assert held.waits == [0.0] * 128
        await held.finish()
        assert held.order[128:] == [128, 129]  # the waiting calls, in the order they came
        assert all(w > 0 for w in held.waits[128:])
        assert held.gate.running == 0

    asyncio.run(scenario())


def test_a_late_frame_lowers_the_cap_to_what_runs_less_a_fifth_once_per_burst() -> None:
    async def scenario() -> None:
        held = _Holders()
        await held.start(100)
        gate = held.gate
        gate.note_late(0.009)  # within 10 ms: on time
        assert gate.cap == 128
        gate.note_late(0.050)
        assert gate.cap == 80
        for _ in range(20):  # the rest of the same late burst counts once
            gate.note_late(0.050)
        assert gate.cap == 80
        await held.finish()

    asyncio.run(scenario())


def test_the_cap_never_falls_below_the_floor_and_the_floor_never_waits() -> None:
    async def scenario() -> None:
        held = _Holders()
        await held.start(10)
        held.gate.note_late(1.0)
        assert held.gate.cap == 64
        await held.start(60)
        assert held.gate.running == 64 and held.gate.waiting == 6
        assert held.waits == [0.0] * 64
        await held.finish()

    asyncio.run(scenario())


def test_a_window_with_nothing_late_at_the_cap_raises_it_by_a_step() -> None:
    async def scenario() -> None:
        held = _Holders()
        gate = held.gate
        await held.start(140)
        assert gate.running == 128
        await asyncio.sleep(admission.WINDOW_S * 2.5)  # no frame went out: nothing proves there is room
        assert gate.cap == 128 and gate.running == 128
        for _ in range(int(admission.WINDOW_S * 3.5 / 0.005)):  # frames on time, for three windows and more
            gate.note_late(0.001)
            await asyncio.sleep(0.005)
        assert gate.cap >= 136 and gate.running == min(gate.cap, 140)
        await held.finish()

    asyncio.run(scenario())


def test_a_late_window_does_not_raise_the_cap() -> None:
    async def scenario() -> None:
        held = _Holders()
        gate = held.gate
        await held.start(140)
        gate.note_late(0.05)  # 128 running: the cap becomes 103
        assert gate.cap == 103
        for _ in range(int(admission.WINDOW_S * 2.5 / 0.005)):  # frames on time, and late ones among them
            gate.note_late(0.001)
            gate.note_late(0.05)  # within the shrink interval: lowers nothing more, but marks the window late
            await asyncio.sleep(0.005)
        assert gate.cap == 103 and gate.running == 128
        await held.finish()

    asyncio.run(scenario())


def test_a_client_that_hangs_up_while_waiting_leaves_its_place_to_the_next() -> None:
    async def scenario() -> None:
        held = _Holders()
        gate = held.gate
        await held.start(128)
        gone = asyncio.Event()

        async def receive() -> dict:
            await gone.wait()
            return {"type": "http.disconnect"}

        async def leaves() -> None:
            async with gate.slot(receive):
                raise AssertionError("let in although it hung up")

        leaving = asyncio.create_task(leaves())
        await held.start(1)  # the call that stays, waiting behind the one that leaves
        assert gate.waiting == 2
        gone.set()
        with pytest.raises(ClientGone):
            await leaving
        assert gate.running == 128
        held.tasks[0].cancel()  # one place frees: it goes to the call still waiting
        await asyncio.sleep(0.01)
        assert held.order[-1] == 128 and gate.running == 128
        await held.finish()
        assert gate.running == 0

    asyncio.run(scenario())


def test_disabled_never_waits() -> None:
    async def scenario() -> None:
        held = _Holders(Admission(enabled=False))
        await held.start(300)
        held.gate.note_late(1.0)
        assert len(held.waits) == 300 and set(held.waits) == {0.0}
        await held.finish()

    asyncio.run(scenario())


# ---- through the endpoint ------------------------------------------------------------------------

# Answers much longer than the model's time to first token: a call that waits for a place waits about one
# whole answer, several times the first frame's offset in its schedule.
PROMPTS = [f"[[length=150]] Describe lighthouse number {n} on a stormy coast." for n in range(4)]


def _stream_all(server: LocalBedrock, wire: str = "eventstream") -> None:
    client = server.client()
    sdk = anthropic.Anthropic(base_url=server.anthropic_base_url, api_key="local", max_retries=0)
    errors: list[BaseException] = []

    def one(prompt: str) -> None:
        try:
            if wire == "sse":  # the Messages API through the anthropic SDK
                with sdk.messages.stream(model=HAIKU, max_tokens=300,
                                         messages=[{"role": "user", "content": prompt}]) as stream:
                    stream.until_done()
                return
            response = client.invoke_model_with_response_stream(
                modelId=HAIKU, body=json.dumps(messages_body(prompt, max_tokens=300)))
            for _ in response["body"]:
                pass
        except BaseException as error:  # reported below, not lost in a thread
            errors.append(error)

    threads = [threading.Thread(target=one, args=(p,)) for p in PROMPTS]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)
    assert not errors


@pytest.fixture
def small_gate(monkeypatch: pytest.MonkeyPatch) -> None:
    """A gate of two places that stays two (a process starts with 128, never goes below 64, grows by 8)."""
    monkeypatch.setattr(admission, "START_CAP", 2)
    monkeypatch.setattr(admission, "FLOOR", 2)
    monkeypatch.setattr(admission, "STEP", 0)  # and it does not grow: the others wait for a place


@pytest.mark.parametrize("wire", ["eventstream", "sse"])
def test_calls_past_the_gate_wait_and_their_schedule_starts_when_let_in(small_gate: None, wire: str) -> None:
    with LocalBedrock(seed=3, time_scale=0.2) as server:
        _stream_all(server, wire)
        records = server.calls[:4]
    assert all(r.done and r.error is None and r.sent_ms for r in records)
    queued = sorted(r.queued_ms for r in records)
    assert queued[:2] == [0.0, 0.0] and queued[2] > 0 and queued[3] > 0
    for record in records:
        # The wait is the learner's time to first token, not a late frame: send offsets count from when the
        # call was let in, so its first frame is logged at about its scheduled offset, well before an offset
        # counted from its arrival (which would be at least its wait).
        if record.queued_ms:
            assert record.schedule_ms[0] < record.queued_ms
            assert record.sent_ms[0] < record.queued_ms


def test_no_queue_starts_every_call_at_once(small_gate: None) -> None:
    with LocalBedrock(seed=3, time_scale=0.2, queue_when_late=False) as server:
        _stream_all(server)
        records = server.calls[:4]
    assert [r.queued_ms for r in records] == [0.0] * 4
    assert all(r.done and r.error is None for r in records)


def test_at_time_scale_zero_nothing_waits(small_gate: None) -> None:
    with LocalBedrock(seed=3, time_scale=0) as server:
        _stream_all(server)
        records = server.calls[:4]
    assert [r.queued_ms for r in records] == [0.0] * 4


def _slow_reader_request(wire: str, host: str, body: dict) -> bytes:
    if wire == "sse":  # the Messages API, as the anthropic SDK sends it
        fields = {k: v for k, v in body.items() if k != "anthropic_version"}  # a header on this API
        data = json.dumps({"model": HAIKU, **fields, "stream": True}).encode()
        path, extra = "/anthropic/v1/messages", "x-api-key: local\r\nanthropic-version: 2023-06-01\r\n"
    else:
        data = json.dumps(body).encode()
        path, extra = f"/model/{HAIKU}/invoke-with-response-stream", ""
    return (f"POST {path} HTTP/1.1\r\nHost: {host}\r\nContent-Type: application/json\r\n{extra}"
            f"Content-Length: {len(data)}\r\n\r\n").encode() + data


@pytest.mark.parametrize("wire", ["eventstream", "sse"])
def test_a_client_that_reads_slowly_does_not_make_others_wait(monkeypatch: pytest.MonkeyPatch, wire: str) -> None:
    """A stream held up by its own client's reading is late through no fault of the endpoint: that lateness
    never reaches the gate (a learner pausing a kernel must not make a room queue)."""
    noted: list[float] = []
    note_late = Admission.note_late
    monkeypatch.setattr(Admission, "note_late", lambda self, late_s: (noted.append(late_s), note_late(self, late_s)))
    body = messages_body("[[length=60000]] Describe every harbour on a long coastline.", max_tokens=60000)
    with LocalBedrock(seed=5, time_scale=0.002) as server:
        host, port = server.endpoint_url.removeprefix("http://").split(":")
        sock = socket.socket()
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
        sock.connect((host, int(port)))
        sock.sendall(_slow_reader_request(wire, host, body))
        time.sleep(3)  # not reading: the endpoint's writes back up well past the answer's schedule
        received = 0
        sock.settimeout(30)
        while chunk := sock.recv(1 << 16):
            received += len(chunk)
            if chunk.endswith(b"0\r\n\r\n"):
                break
        sock.close()
        record = server.calls[0]
    assert record.done and record.error is None and received > 2_000_000
    late_ms = max(sent - planned for sent, planned in zip(record.sent_ms, record.schedule_ms, strict=True))
    assert late_ms > 1000  # its frames did go out late, held up by the client
    assert max(noted, default=0.0) * 1000 < late_ms / 2  # the gate saw the loop's lateness, not that
