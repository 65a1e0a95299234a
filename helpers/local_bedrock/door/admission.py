"""Calls start only as fast as the endpoint can keep the streams it already has on time.

A paced answer is a promise: its frames leave at the offsets its schedule says, because that rhythm (time to
first token, the gaps between chunks) is what the lessons measure. One process keeps a few hundred streams on
time on a fast machine and fewer on a slow one; past that, every frame of every stream goes out late and every
learner's chart is wrong. So when the streams already running are late, a new call waits before its answer is
planned, the way a busy server leaves connections in its accept queue: the learners who came last wait longer
for their first token, and every stream that has started keeps its rhythm. The call log records each call's
wait (``queued_ms``); ``benchmarks/endpoint_room_1000.py`` reports it beside the send error.

How many calls may run at once (``cap``) is learned while serving, since it depends on the machine and on
what else runs on it:

- a frame sent more than ``LATE_S`` after it was due lowers the cap to what is running, less a fifth (at most
  every ``SHRINK_EVERY_S``, so one late burst counts once). Only frames a stream waited for count: one that
  was already due when the stream's previous write finished was held up by its client's reading, and a
  learner who pauses a kernel must not make the room queue;
- every ``WINDOW_S`` in which frames went out, none of them late, and the cap was reached raises it by
  ``STEP`` (a window with no frame at all proves nothing: calls just let in send their first frame only after
  the model's time to first token);
- ``FLOOR`` calls are always let in at once: a lab's kernel or a room of up to 64 learners never waits,
  however slow the machine (this kit's 2-core machine, on a day it ran three times slower than usual, kept
  250 streams on time in two processes: benchmarks/ROOM.md).

Waiting calls are let in one at a time, at most one per loop pass, so planning them never comes in one block
between the frames of the streams that are running. At time scale 0 nothing is paced and nothing waits.
"""

from __future__ import annotations

import asyncio
import collections
import contextlib
from collections.abc import AsyncIterator
from typing import Any

from .hangup import or_hang_up

FLOOR = 64
START_CAP = 128
STEP = 8
WINDOW_S = 0.05
LATE_S = 0.010
SHRINK_EVERY_S = 0.2


class Admission:
    """One process's gate for paced calls (used on its event loop only)."""

    def __init__(self, enabled: bool = True) -> None:
        self.enabled = enabled
        self.cap = START_CAP
        self.running = 0
        self._waiting: collections.deque[asyncio.Future[None]] = collections.deque()
        self._late_in_window = False
        self._on_time_in_window = False
        self._last_shrink = float("-inf")
        self._window_started: float | None = None
        self._timer: asyncio.Handle | None = None

    @contextlib.asynccontextmanager
    async def slot(self, receive: Any) -> AsyncIterator[float]:
        """Hold a place among the running calls for the body of the ``async with``; yields the seconds the
        call waited for it (0.0 when let in at once). ``receive``: the call's ASGI receive, its body already
        read, so a client that hangs up while waiting ends the wait at once (``ClientGone``)."""
        if not self.enabled:
            yield 0.0
            return
        loop = asyncio.get_running_loop()
        waited = 0.0
        if self._waiting or self.running >= max(self.cap, FLOOR):
            started = loop.time()
            future = loop.create_future()
            self._waiting.append(future)
            self._let_in_soon(loop)
            try:
                await or_hang_up(receive, future)  # running was counted for us when it was let in
            except BaseException:
                if future.done() and not future.cancelled():
                    self._leave(loop)  # let in, then cancelled before it could run: give the place back
                raise
            waited = loop.time() - started
        else:
            self.running += 1
        try:
            yield waited
        finally:
            self._leave(loop)

    def note_late(self, late_s: float) -> None:
        """A stream that waited for its next frame got to send it ``late_s`` seconds after it was due (called
        once per write it waited for; a frame already due when the previous write finished is not counted, since
        a client that reads slowly makes that one late, not the endpoint)."""
        if late_s <= LATE_S:
            self._on_time_in_window = True
            return
        if not self.enabled:
            return
        self._late_in_window = True
        now = asyncio.get_running_loop().time()
        if now - self._last_shrink >= SHRINK_EVERY_S:
            self._last_shrink = now
            self.cap = max(FLOOR, self.running - self.running // 5)

    @property
    def waiting(self) -> int:
        return sum(1 for f in self._waiting if not f.done())

    def _leave(self, loop: asyncio.AbstractEventLoop) -> None:
        self.running -= 1
        if self._waiting:
            self._let_in_soon(loop)

    def _let_in_soon(self, loop: asyncio.AbstractEventLoop) -> None:
        if isinstance(self._timer, asyncio.TimerHandle):  # waiting out a window: a place is free now
            self._timer.cancel()
            self._timer = None
        if self._timer is None:
            self._timer = loop.call_soon(self._let_in, loop)

    def _let_in(self, loop: asyncio.AbstractEventLoop) -> None:
        """Let one waiting call in if there is room, then come back on the next loop pass (or after a window,
        when the cap is reached, to see whether it may grow)."""
        self._timer = None
        now = loop.time()
        if self._window_started is None:
            self._window_started = now
        elif now - self._window_started >= WINDOW_S:
            if self._on_time_in_window and not self._late_in_window and self.running >= self.cap:
                self.cap += STEP
            self._late_in_window = self._on_time_in_window = False
            self._window_started = now
        waiting = self._waiting
        while waiting and waiting[0].done():  # cancelled while waiting
            waiting.popleft()
        if not waiting:
            return
        if self.running < max(self.cap, FLOOR):
            self.running += 1
            waiting.popleft().set_result(None)
            if waiting:
                self._timer = loop.call_soon(self._let_in, loop)
            return
        self._timer = loop.call_later(WINDOW_S, self._let_in, loop)
