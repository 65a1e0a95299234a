"""Retry a streaming call -- but only while nothing has been shown yet.

botocore retries throttling *before* a stream starts (depending on the client's retry
config) and never retries an exception frame inside a stream. ``with_retries`` covers
both cases for one rule: retry a retryable failure as long as no model output has
arrived, and never after, because a second attempt would start the answer again and
the learner would see duplicated text.

Backoff is exponential with "full jitter": attempt ``n`` waits a uniformly random time
between 0 and ``min(max_delay, base_delay * 2**n)``, which spreads a class of thirty
laptops retrying at once. ``seed`` (or ``rng``) makes the waits repeatable in tests, and
``sleep`` can be replaced so tests do not wait.
"""

from __future__ import annotations

import random
import time
from collections.abc import Callable, Iterable
from typing import Any, TypeVar

from botocore.exceptions import ClientError

from helpers.errors import RETRYABLE_CODES, MessagesApiError, StreamError
from helpers.stream import StreamResult

__all__ = ["with_retries", "backoff_delays", "is_retryable", "RETRYABLE_CODES"]

T = TypeVar("T")


def backoff_delays(
    attempts: int,
    *,
    base_delay: float = 0.5,
    max_delay: float = 8.0,
    jitter: bool = True,
    rng: random.Random | None = None,
) -> list[float]:
    """The waits between ``attempts`` tries (one fewer than ``attempts``)."""
    rng = rng or random.Random()
    delays = []
    for n in range(max(attempts - 1, 0)):
        cap = min(max_delay, base_delay * (2**n))
        delays.append(rng.uniform(0.0, cap) if jitter else cap)
    return delays


def _code_of(exc: BaseException) -> str:
    if isinstance(exc, StreamError):
        return exc.code
    if isinstance(exc, ClientError):
        return str(exc.response.get("Error", {}).get("Code", ""))
    if isinstance(exc, MessagesApiError):  # the Messages API's refusals carry Anthropic's error type
        return exc.error_type
    return ""


def is_retryable(exc: BaseException, retry_on: Iterable[str] = RETRYABLE_CODES) -> bool:
    """True if ``exc`` is worth retrying: a retryable code, and (for a stream) no output yet."""
    wanted = {code.lower() for code in retry_on}
    if isinstance(exc, StreamError):
        if exc.output_started:
            return False
        return exc.code.lower() in wanted
    return _code_of(exc).lower() in wanted


def with_retries(
    call: Callable[[], T],
    *,
    attempts: int = 4,
    base_delay: float = 0.5,
    max_delay: float = 8.0,
    jitter: bool = True,
    retry_on: Iterable[str] = RETRYABLE_CODES,
    seed: int | None = None,
    rng: random.Random | None = None,
    sleep: Callable[[float], Any] = time.sleep,
    on_retry: Callable[[int, BaseException, float], Any] | None = None,
) -> T:
    """Call ``call()`` until it succeeds, retrying retryable failures that came before any output.

    The tested version of lesson 5's plain retry loop (backoff with full jitter, never after text was shown).

    ``call`` is typically ``lambda: invoke_stream(client, model_id, body)``. When it returns
    a ``StreamResult``, the stream is read up to its first output-carrying event (kept for
    your own iteration) so that a failure at the very start of the stream is retried too.
    A ``StreamError`` after output started is raised at once with its ``.partial``.

    ``retry_on`` lists error codes (either spelling: ``ThrottlingException`` or
    ``throttlingException``); add ``"connectionLost"`` to retry dropped connections.
    ``on_retry(attempt, error, delay)`` is called before each wait (for a printed note).
    The returned ``StreamResult`` has ``.attempts`` set to the number of tries used.
    """
    if attempts < 1:
        raise ValueError(f"attempts must be at least 1, not {attempts}")
    if base_delay < 0 or max_delay < 0:
        raise ValueError("base_delay and max_delay must be >= 0 seconds")
    codes = tuple(retry_on)
    delays = backoff_delays(
        attempts, base_delay=base_delay, max_delay=max_delay, jitter=jitter, rng=rng or random.Random(seed)
    )
    for attempt in range(1, attempts + 1):
        try:
            result = call()
            if isinstance(result, StreamResult):
                result.wait_for_output()
                result.attempts = attempt
            return result
        except (StreamError, ClientError, MessagesApiError) as exc:
            if attempt == attempts or not is_retryable(exc, codes):
                raise
            delay = delays[attempt - 1]
            if on_retry is not None:
                on_retry(attempt, exc, delay)
            sleep(delay)
    raise AssertionError("unreachable")  # the loop always returns or raises
