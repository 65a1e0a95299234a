"""Work on a large request body runs beside the event loop, not inside it (issue 23, bug 2).

Judging and planning a request is pure Python over its body. For a small body that takes well under a
millisecond and stays on the loop (a room's many short calls keep their old path). A large body's work runs
in a worker thread: the interpreter hands the loop the GIL every ``sys.getswitchinterval()`` (5 ms), so the
other clients keep being served while one 25 MB prompt is read. The steps that hold the GIL for a whole call
(a regular expression or JSON parse over the text) are kept short by the callers: each reads a bounded
piece (tokens.count_tokens, responder.last_user_text, bodies.json_shape_problem).

One large body is worked at a time per process, so a burst of them queues instead of sharing the CPU with
the loop N ways.
"""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Callable
from typing import TypeVar

T = TypeVar("T")

# Bodies up to this size are judged on the loop: the largest lesson body (an image) is well above it, a
# typical chat turn far below, and 64 KiB of text is planned in about a millisecond.
OFF_LOOP_BYTES = 64 * 1024

_one_at_a_time: asyncio.Semaphore | None = None


def plan_cost(body_size: int, parsed: object) -> int:
    """What planning an answer reads and writes, in bytes: the body, or the longest answer it may get
    (about four bytes a token, ``max_tokens``), whichever is more. A 64,000-token answer asked for in a
    short body is planned beside the loop too."""
    max_tokens = parsed.get("max_tokens") if isinstance(parsed, dict) else None
    answer = 4 * max_tokens if isinstance(max_tokens, int) and max_tokens > 0 else 0
    return max(body_size, answer)


async def off_loop(size: int, work: Callable[..., T], *args: object, **kwargs: object) -> T:
    """``work(*args, **kwargs)``, in a worker thread when the body it reads is over OFF_LOOP_BYTES.

    ``work`` must touch no state the loop changes (the call log, faults, the prompt cache): it only reads
    its arguments and returns a value. The thread is the call's own and ends with it, so an idle endpoint
    holds no extra thread (tests/adversarial/ checks its thread count returns to where it was).
    """
    global _one_at_a_time
    if size <= OFF_LOOP_BYTES:
        return work(*args, **kwargs)
    if _one_at_a_time is None:
        _one_at_a_time = asyncio.Semaphore(1)
    async with _one_at_a_time:
        loop = asyncio.get_running_loop()
        done: asyncio.Future[T] = loop.create_future()

        def settle(result: T | None, error: BaseException | None) -> None:
            if done.done():  # the call was cancelled (its client left) while the work ran
                return
            if error is not None:
                done.set_exception(error)
            else:
                done.set_result(result)  # type: ignore[arg-type]

        def run() -> None:
            try:
                result, error = work(*args, **kwargs), None
            except BaseException as raised:  # handed to the awaiting task, which decides
                result, error = None, raised
            try:
                loop.call_soon_threadsafe(settle, result, error)
            except RuntimeError:
                pass  # the endpoint stopped while this ran: nobody waits for it

        threading.Thread(target=run, name="local-bedrock-plan", daemon=True).start()
        return await done
