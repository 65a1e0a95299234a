"""Answers in flight are bounded (issue 23, bug 1): by a token budget per process, and by cutting a client
that stops reading.

- **The budget.** A plan holds its whole answer (about 300 to 500 bytes a token). Answers planned and not yet
  finished share ``ANSWER_TOKEN_BUDGET`` tokens per process; past that a call gets a 503
  ``ServiceUnavailableException``, which boto3's standard retry mode retries. An HTTP/2 connection can hold at
  most 100 of them at once (connections.py), an HTTP/1.1 connection one.
- **A client that stops reading.** A stream whose next frame has been due for ``read_timeout`` seconds
  without going out (the client's window is shut, or its socket buffer full), or whose last write has not
  finished for that long, is cut, and the call log says why. The check runs on a timer beside the stream,
  never per frame, so the send path is unchanged.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable

from ..errors import BedrockError

# Tokens of answers planned and not yet sent, per process. 500,000 tokens hold at most about 250 MB of
# plans; a room of a thousand 150-token streams uses 150,000, forty 2,000-token "long" answers 80,000.
ANSWER_TOKEN_BUDGET = 500_000


class AnswerBudget:
    """Tokens of answers in flight, shared by every call of one process."""

    def __init__(self, limit: int = ANSWER_TOKEN_BUDGET) -> None:
        self.limit = limit
        self.held = 0

    def take(self, tokens: int) -> int:
        """Hold ``tokens`` (give them back when the call ends), or raise a 503 when the budget is spent."""
        tokens = max(0, tokens)
        if self.held + tokens > self.limit and self.held:
            raise BedrockError(503, "ServiceUnavailableException",
                               f"The local endpoint is already answering {self.held:,} tokens of answers in "
                               f"flight (its limit is {self.limit:,}); retry in a moment (boto3 does).")
        self.held += tokens
        return tokens

    def give(self, tokens: int) -> None:
        self.held = max(0, self.held - tokens)


def stopped_reading(seconds: float) -> str:
    """The call log's words for a client cut for not reading."""
    return f"client stopped reading: nothing could be sent for {seconds:g} s (the read timeout), so it was cut"


async def cut_when_stuck(main: asyncio.Task, sent: Callable[[], int], due_at: Callable[[int], float | None],
                         timeout: float, on_cut: Callable[[], None]) -> None:
    """Cancel ``main`` (after ``on_cut()``) once its stream has made no progress for ``timeout`` seconds
    although something was due: ``sent()`` counts frames handed to the server, ``due_at(i)`` is when frame
    ``i`` is due (loop time), None past the last frame (whose write is then what must finish)."""
    loop = asyncio.get_running_loop()
    last, since = sent(), loop.time()
    while not main.done():
        await asyncio.sleep(timeout / 4)
        now, count = loop.time(), sent()
        if count != last:
            last, since = count, now
            continue
        due = due_at(count)
        waiting_since = max(since, due) if due is not None else since
        if now - waiting_since >= timeout:
            on_cut()
            main.cancel()
            return
