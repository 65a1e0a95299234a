"""with_retries against the endpoint's injected faults: retried before output, never after."""

from __future__ import annotations

import random
from typing import Any

import pytest

from helpers.errors import StreamConnectionLost, StreamThrottled
from helpers.payloads import messages_body
from helpers.retries import backoff_delays, with_retries
from helpers.stream import invoke_stream

HAIKU = "global.anthropic.claude-haiku-4-5-20251001-v1:0"  # the course default (Claude 3 Haiku is EOL)


class Sleeps(list):
    """Records the waits instead of waiting."""

    def __call__(self, seconds: float) -> None:
        self.append(seconds)


def _call(client: Any, prompt: str = "Tell me about dew [[length=80]]") -> Any:
    body = messages_body(prompt, max_tokens=200)
    return lambda: invoke_stream(client, HAIKU, body)


def _stream_calls(server: Any) -> int:
    return sum(1 for c in server.calls if c.operation == "InvokeModelWithResponseStream")


def test_backoff_is_exponential_capped_and_jittered() -> None:
    assert backoff_delays(5, base_delay=0.5, max_delay=3.0, jitter=False) == [0.5, 1.0, 2.0, 3.0]
    jittered = backoff_delays(6, base_delay=0.5, max_delay=3.0, rng=random.Random(7))
    caps = [0.5, 1.0, 2.0, 3.0, 3.0]
    assert all(0.0 <= d <= cap for d, cap in zip(jittered, caps, strict=True))
    assert jittered == backoff_delays(6, base_delay=0.5, max_delay=3.0, rng=random.Random(7))
    assert jittered != backoff_delays(6, base_delay=0.5, max_delay=3.0, rng=random.Random(8))


def test_pre_stream_throttling_is_retried(server: Any, client: Any) -> None:
    server.faults.add({"error": "ThrottlingException", "at": "request", "times": 2})
    sleeps = Sleeps()
    before = _stream_calls(server)
    result = with_retries(_call(client), attempts=4, seed=1, sleep=sleeps)
    assert result.attempts == 3 and len(sleeps) == 2
    assert sleeps == backoff_delays(4, rng=random.Random(1))[:2]
    result.consume()
    assert result.stop_reason == "end_turn" and result.text
    assert _stream_calls(server) - before == 3


@pytest.mark.parametrize(
    "error",
    ["ServiceUnavailableException", "InternalServerException", "ModelNotReadyException", "ModelTimeoutException"],
)
def test_other_retryable_pre_stream_errors(server: Any, client: Any, error: str) -> None:
    server.faults.add({"error": error, "at": "request", "times": 1})
    result = with_retries(_call(client), sleep=Sleeps())
    assert result.attempts == 2
    assert result.consume().error is None


def test_gives_up_after_the_last_attempt(server: Any, client: Any) -> None:
    server.faults.add({"error": "ThrottlingException", "at": "request", "times": None})
    sleeps = Sleeps()
    with pytest.raises(client.exceptions.ThrottlingException):
        with_retries(_call(client), attempts=3, sleep=sleeps)
    assert len(sleeps) == 2


def test_non_retryable_errors_are_raised_at_once(server: Any, client: Any) -> None:
    server.faults.add({"error": "AccessDeniedException", "at": "request"})
    sleeps = Sleeps()
    with pytest.raises(client.exceptions.AccessDeniedException):
        with_retries(_call(client), sleep=sleeps)
    assert sleeps == []


def test_in_stream_throttle_before_any_output_is_retried(server: Any, client: Any) -> None:
    # after=1: message_start arrives, then the exception frame -- no output yet, safe to resend.
    server.faults.add({"error": "throttlingException", "at": "event", "after": 1, "times": 1})
    before = _stream_calls(server)
    result = with_retries(_call(client), sleep=Sleeps())
    assert result.attempts == 2
    events = list(result)  # what wait_for_output read is still yielded, once
    assert events == result.events
    assert result.stop_reason == "end_turn"
    assert _stream_calls(server) - before == 2


def test_never_retried_after_output_started(server: Any, client: Any) -> None:
    server.faults.add({"error": "throttlingException", "at": "event", "after": 10, "times": 1})
    before = _stream_calls(server)
    sleeps = Sleeps()
    result = with_retries(_call(client), sleep=sleeps)
    with pytest.raises(StreamThrottled) as info:
        result.consume()
    assert info.value.partial is result and info.value.output_started
    assert len(result.events) == 10 and result.text
    assert sleeps == [] and _stream_calls(server) - before == 1  # no second request: no duplicated text


def test_first_output_event_failure_raises_with_partial(server: Any, client: Any) -> None:
    # after=3: message_start, content_block_start, one text delta -- output has started.
    server.faults.add({"error": "throttlingException", "at": "event", "after": 3, "times": 1})
    sleeps = Sleeps()
    result = with_retries(_call(client), sleep=sleeps)
    with pytest.raises(StreamThrottled):
        result.consume()
    assert sleeps == [] and result.snapshot.output_event_count == 1


def test_every_second_call_fails(server: Any, client: Any) -> None:
    server.faults.add({"error": "ThrottlingException", "at": "request", "every": 2, "times": None})
    attempts = [with_retries(_call(client), sleep=Sleeps()).attempts for _ in range(4)]
    # Matched calls 2, 4, 6 fail: the first request passes, each later one needs a retry.
    assert attempts == [1, 2, 2, 2]


def test_dropped_connections_only_when_asked(server: Any, client: Any) -> None:
    server.faults.add({"error": "drop", "at": "event", "after": 1, "times": 1})
    with pytest.raises(StreamConnectionLost):
        with_retries(_call(client), sleep=Sleeps())
    server.faults.add({"error": "drop", "at": "event", "after": 1, "times": 1})
    result = with_retries(_call(client), sleep=Sleeps(), retry_on=["throttlingException", "connectionLost"])
    assert result.attempts == 2 and result.consume().stop_reason == "end_turn"


def test_on_retry_reports_each_wait(server: Any, client: Any) -> None:
    server.faults.add({"error": "ThrottlingException", "at": "request", "times": 2})
    seen: list[tuple[int, str, float]] = []
    with_retries(
        _call(client),
        sleep=Sleeps(),
        jitter=False,
        on_retry=lambda n, exc, delay: seen.append((n, type(exc).__name__, delay)),
    )
    assert seen == [(1, "ThrottlingException", 0.5), (2, "ThrottlingException", 1.0)]


def test_bad_arguments() -> None:
    with pytest.raises(ValueError, match="attempts"):
        with_retries(lambda: None, attempts=0)
    with pytest.raises(ValueError, match="delay"):
        with_retries(lambda: None, base_delay=-1)
