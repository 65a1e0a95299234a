"""A client that hangs up mid-answer: notice it and stop sending, on every streaming route.

Once a request's body has been read, the only thing ASGI's ``receive()`` can still yield is
``http.disconnect``. A small task waits for it and cancels the task that streams the answer, so a paced
stream stops at once instead of writing into a closed socket until its schedule ends. A disconnect that
comes after the answer was finished is no hang-up and cancels nothing.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable
from typing import Any, TypeVar

T = TypeVar("T")


class ClientGone(Exception):
    """The client went away (hung up, or reset its HTTP/2 stream) before its answer was complete."""


class HangUpWatch:
    """Used by the task that streams an answer::

        watch = HangUpWatch(receive).start()
        try:
            ...send the answer...
            watch.finish()
        except asyncio.CancelledError:
            if watch.absorb_cancel():  # the client hung up: record it, end quietly
                return
            raise
        finally:
            watch.stop()
    """

    def __init__(self, receive: Any) -> None:
        self._receive = receive
        self.finished = False
        self.gone = False
        self._main: asyncio.Task | None = None
        self._task: asyncio.Task | None = None

    def start(self) -> HangUpWatch:
        self._main = asyncio.current_task()
        assert self._main is not None, "HangUpWatch.start() runs inside the task that streams the answer"
        self._task = asyncio.get_running_loop().create_task(self._watch())
        return self

    async def _watch(self) -> None:
        while True:
            if (await self._receive())["type"] == "http.disconnect":
                if not self.finished:
                    self.gone = True
                    assert self._main is not None
                    self._main.cancel()
                return

    def finish(self) -> None:
        """The answer is complete: a disconnect from now on is the client leaving normally."""
        self.finished = True

    def absorb_cancel(self) -> bool:
        """True, with the cancellation undone, when it came from the client hanging up."""
        if self.gone and self._main is not None:
            self._main.uncancel()
            return True
        return False

    def stop(self) -> None:
        self.finished = True
        if self._task is not None:
            self._task.cancel()


async def or_hang_up(receive: Any, work: Awaitable[T]) -> T:
    """``work``'s result, or ``ClientGone`` the moment the client hangs up or resets its stream.

    For the parts of a call that send nothing (planning, an InvokeModel answer waiting for its time): a reset
    HTTP/2 stream or a closed socket then ends the call's work at once, instead of letting it run to its end
    with the socket in CLOSE-WAIT (issue 23, bug 3).
    """
    watch = HangUpWatch(receive).start()
    try:
        result = await work
        watch.finish()
        return result
    except asyncio.CancelledError:
        if watch.absorb_cancel():
            raise ClientGone from None
        raise
    finally:
        watch.stop()
