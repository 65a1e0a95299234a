"""When each chunk of a response is due: a seeded latency model and the sender's sleep.

A schedule is a list of offsets in milliseconds from the moment the request was received, one per chunk.
It is computed before the first byte leaves, kept on the call record, and followed by the sender, so a
lesson can put "what the server meant" next to "what the client saw".
"""

from __future__ import annotations

import asyncio
import hashlib
import random
from collections.abc import Sequence
from dataclasses import dataclass


@dataclass(frozen=True)
class LatencyModel:
    """A believable Claude 3 Haiku by default: ~0.4 s to the first byte, ~100 output tokens/s.

    The model reads the whole prompt before it writes, so the time to the first byte also
    grows with the input: ``input_tokens_per_s`` (a ballpark, not a measured Bedrock figure)
    adds about 0.1 s per thousand prompt tokens by default.
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


def rng_for(seed: int, *parts: bytes | str) -> random.Random:
    """A generator that depends only on the seed and the request, not on call order."""
    digest = hashlib.sha256(str(seed).encode())
    for part in parts:
        digest.update(b"\0" + (part.encode() if isinstance(part, str) else part))
    return random.Random(digest.digest())


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
    offsets: list[float] = []
    reading = max(0, input_tokens) / model.input_tokens_per_s
    now = (model.first_byte_s + reading) * rng.uniform(1 - model.first_byte_jitter, 1 + model.first_byte_jitter)
    for index, tokens in enumerate(output_tokens):
        if index > 0:
            if tokens > 0:
                gap = tokens / model.tokens_per_s
                now += gap * rng.uniform(1 - model.token_jitter, 1 + model.token_jitter)
            else:
                now += model.structural_gap_s
        offsets.append(round(now * time_scale * 1000.0, 3))
    return offsets


# How long before a deadline the sender stops sleeping and starts yielding: the selector's timeout is
# rounded to whole milliseconds, so a plain sleep can wake up to ~1 ms late.
_SPIN_S = 0.002


async def sleep_until(loop: asyncio.AbstractEventLoop, deadline: float) -> None:
    """Sleep on ``loop.time()`` until ``deadline``, waking slightly early and yielding until due."""
    remaining = deadline - loop.time()
    if remaining > _SPIN_S:
        await asyncio.sleep(remaining - _SPIN_S)
    while loop.time() < deadline:
        await asyncio.sleep(0)
