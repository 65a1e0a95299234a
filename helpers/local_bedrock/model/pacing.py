"""When each chunk of a response is due: a seeded latency model and the sender's sleep.

A schedule is a list of offsets in milliseconds from the moment the request was received, one per chunk.
It is computed before the first byte leaves, kept on the call record, and followed by the sender, so a
lesson can put "what the server meant" next to "what the client saw".
"""

from __future__ import annotations

import asyncio
import hashlib
import heapq
import itertools
import random
import weakref
from collections.abc import Iterator, Sequence
from dataclasses import dataclass


@dataclass(frozen=True)
class LatencyModel:
    """A believable Claude 3 Haiku by default: ~0.4 s to the first byte, ~100 output tokens/s.

    The model reads the whole prompt before it writes, so the time to the first byte also
    grows with the input: ``input_tokens_per_s`` (a ballpark, not a measured Bedrock figure)
    adds about 0.1 s per thousand prompt tokens by default.

    What a client measures from this, for ``first_byte_s=1.0, first_byte_jitter=0, tokens_per_s=400``:
    ``first_byte_s`` times the *first byte* (message_start). The first *text* follows it by the block
    start (``structural_gap_s``) and that delta's own tokens (1-4 tokens / 400 per s, ±35 %), so a time to
    first token of about 1,005-1,015 ms plus the client's own overhead. The rate is ``tokens_per_s`` on
    average over many gaps; a given seed's draw lands a few per cent either side (seed 0 on lesson 4's
    prompt: 222 tokens in 537 ms, 414 tokens/s). A client that reads its first frame late -- a busy
    machine, or a kernel whose endpoint thread shares its GIL -- measures both figures off: the late
    first frame adds to the TTFT, and the frames already due then arrive in a burst, which shortens the
    span the rate is measured over (the same 222 tokens read in 404 ms instead of 537 ms: 547 tokens/s).
    The call record's ``schedule_ms`` holds what the server meant; ``sent_ms`` what it sent when.
    """

    first_byte_s: float = 0.40
    first_byte_jitter: float = 0.25  # relative spread of the time to first byte
    input_tokens_per_s: float = 10_000.0
    tokens_per_s: float = 100.0
    token_jitter: float = 0.35  # relative spread of each chunk's gap
    structural_gap_s: float = 0.0005  # block start/stop and message events ride right behind their data

    def __post_init__(self) -> None:
        if self.first_byte_s < 0 or self.structural_gap_s < 0:
            raise ValueError("LatencyModel: times must be >= 0")
        if self.input_tokens_per_s <= 0:
            raise ValueError("LatencyModel: input_tokens_per_s must be > 0")
        if self.tokens_per_s <= 0:
            raise ValueError("LatencyModel: tokens_per_s must be > 0 (use time_scale=0 for 'as fast as possible')")
        if not 0 <= self.first_byte_jitter < 1 or not 0 <= self.token_jitter < 1:
            raise ValueError("LatencyModel: jitter values are relative spreads in [0, 1)")

    @classmethod
    def coerce(cls, value: LatencyModel | dict | None) -> LatencyModel:
        if value is None:
            return cls()
        if isinstance(value, cls):
            return value
        if isinstance(value, dict):
            try:
                return cls(**value)
            except TypeError as error:
                raise ValueError(f"latency: {error}; known keys are {sorted(cls.__dataclass_fields__)}") from None
        raise TypeError(f"latency must be a LatencyModel, a dict or None, not {type(value).__name__}")


# Frames (or SSE events) encoded and written at once when many are due: each is ~100 bytes and takes ~8 us to
# encode here, so a batch is about a millisecond and a 64,000-chunk answer at time scale 0 lets the rest of
# the room in between batches (512 a batch held the loop up to 35 ms with the write, issue 23).
MAX_BATCH = 128


def due_batch(offsets: Sequence[float], t0: float, now: float, start: int, stop: int) -> int:
    """Where the batch of frames from ``start`` ends: every frame before ``stop`` due by ``now`` (offsets in ms
    from ``t0``), at least one, at most MAX_BATCH. A full batch is followed by a turn of the loop."""
    end = start + 1
    last = min(stop, start + MAX_BATCH)
    while end < last and t0 + offsets[end] / 1000 <= now:
        end += 1
    return end


def rng_for(seed: int, *parts: bytes | str) -> random.Random:
    """A generator that depends only on the seed and the request, not on call order."""
    return random.Random(rng_digest(seed, *parts))


def rng_digest(seed: int, *parts: bytes | str) -> bytes:
    """What ``rng_for`` seeds its generator with (hashed beside the loop for a large body: door/worker.py)."""
    digest = hashlib.sha256(str(seed).encode())
    for part in parts:
        digest.update(b"\0" + (part.encode() if isinstance(part, str) else part))
    return digest.digest()


def schedule(
    output_tokens: Sequence[int],
    model: LatencyModel,
    time_scale: float,
    rng: random.Random,
    *,
    input_tokens: int = 0,
) -> list[float]:
    """Offsets (ms from receipt) at which each chunk is due; never decreasing."""
    if time_scale <= 0:
        return [0.0] * len(output_tokens)
    return list(_offsets(output_tokens, model, time_scale, rng, input_tokens))


async def schedule_yielding(output_tokens: Sequence[int], model: LatencyModel, time_scale: float,
                            rng: random.Random, *, input_tokens: int = 0) -> list[float]:
    """``schedule``, letting the rest of the loop run every 4,096 chunks: a 64,000-chunk answer's schedule is
    tens of milliseconds of Python, too long to hold the loop in one go (issue 23)."""
    if time_scale <= 0:
        return [0.0] * len(output_tokens)
    offsets: list[float] = []
    for offset in _offsets(output_tokens, model, time_scale, rng, input_tokens):
        offsets.append(offset)
        if len(offsets) % 4096 == 0:
            await asyncio.sleep(0)
    return offsets


def _offsets(output_tokens: Sequence[int], model: LatencyModel, time_scale: float, rng: random.Random,
             input_tokens: int) -> Iterator[float]:
    reading = max(0, input_tokens) / model.input_tokens_per_s
    now = (model.first_byte_s + reading) * rng.uniform(1 - model.first_byte_jitter, 1 + model.first_byte_jitter)
    for index, tokens in enumerate(output_tokens):
        if index > 0:
            if tokens > 0:
                gap = tokens / model.tokens_per_s
                now += gap * rng.uniform(1 - model.token_jitter, 1 + model.token_jitter)
            else:
                now += model.structural_gap_s
        yield round(now * time_scale * 1000.0, 3)


# How long before a deadline the sender stops sleeping and starts yielding: the selector's timeout is
# rounded to whole milliseconds, so a plain timer can fire up to ~1 ms late.
_SPIN_S = 0.002
# Within _SPIN_S of the next deadline the pacer polls the clock once per loop pass, which keeps sends
# sub-millisecond (endpoint.send_error_ms_p99_100 stays ~0.1 ms) but never lets the loop sleep. With more
# streams than this waiting on one loop (a workshop room: hundreds per hypercorn worker) a deadline is
# always that close, so polling would hold a core the other workers and the machine need; the pacer then
# lets its one timer fire instead, at most ~1 ms late, well inside the room's 20 ms budget.
SPIN_MAX_WAITING = 256


class Pacer:
    """Every paced sender on one event loop waits on a single timer instead of one timer each.

    A thousand streams each sleeping until their next frame cost a timer, a heap entry and (for
    precision) a few spins through the loop per frame; here one timer waits for the earliest deadline
    and, when it fires, releases every stream whose frame is due in the same loop pass. A stream is
    never released before its deadline.
    """

    _by_loop: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, Pacer] = weakref.WeakKeyDictionary()

    def __init__(self, loop: asyncio.AbstractEventLoop) -> None:
        self._loop = loop
        self._due: list[tuple[float, int, asyncio.Future[None]]] = []
        self._order = itertools.count()
        self._timer: asyncio.TimerHandle | asyncio.Handle | None = None
        self._armed_for = float("inf")

    @classmethod
    def of(cls, loop: asyncio.AbstractEventLoop) -> Pacer:
        pacer = cls._by_loop.get(loop)
        if pacer is None:
            pacer = cls._by_loop[loop] = cls(loop)
        return pacer

    def wait(self, deadline: float) -> asyncio.Future[None]:
        """A future that completes once ``loop.time() >= deadline``."""
        future = self._loop.create_future()
        heapq.heappush(self._due, (deadline, next(self._order), future))
        if deadline < self._armed_for:
            self._arm()
        return future

    def _arm(self) -> None:
        if self._timer is not None:
            self._timer.cancel()
        deadline = self._due[0][0]
        self._armed_for = deadline
        if deadline - self._loop.time() <= _SPIN_S and len(self._due) <= SPIN_MAX_WAITING:
            self._timer = self._loop.call_soon(self._release)
        else:
            self._timer = self._loop.call_at(deadline - (_SPIN_S if len(self._due) <= SPIN_MAX_WAITING else 0),
                                             self._release)

    def _release(self) -> None:
        self._timer = None
        self._armed_for = float("inf")
        now = self._loop.time()
        due = self._due
        while due and due[0][0] <= now:
            future = heapq.heappop(due)[2]
            if not future.done():  # a cancelled waiter (its stream ended) is simply dropped
                future.set_result(None)
        if due:
            self._arm()


async def sleep_until(loop: asyncio.AbstractEventLoop, deadline: float) -> None:
    """Sleep on ``loop.time()`` until ``deadline`` (never less), through the loop's shared pacer."""
    if loop.time() < deadline:
        await Pacer.of(loop).wait(deadline)
