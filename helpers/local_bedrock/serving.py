"""Garbage collection for a process that does nothing but serve the endpoint (a room's server).

A full collection walks every object the process holds: in a room, every open stream's plan, frames and
call record. Measured in a hypercorn worker holding 500 paced streams, each took 15 to 56 ms, and while it
runs no frame of any stream leaves: one full collection made hundreds of frames late at once. Python
starts one after every ten collections of the middle generation, and right after ``gc.freeze()`` (when the
oldest generation is empty) nothing else holds it back, so in a busy room they came every half second.
Making them a hundred times rarer was not enough: one 64,000-chunk answer holds about 130,000 tracked
objects, and a full collection that came while it streamed held the loop for 20 to 25 ms on a slow machine.

So a serving process never starts a full collection in the middle of its work. Young objects are still
collected as always (those pauses stay at 1 to 5 ms); full collections run from the loop, between requests:
when nothing has been in flight for a moment and something was collected since the last one, and at least
every ``FULL_AT_LEAST_EVERY_S`` seconds however busy the endpoint is, so cyclic garbage is always freed
within minutes.
"""

from __future__ import annotations

import asyncio
import gc
from collections.abc import Callable

# The oldest generation's threshold in a serving process: never reached, so Python never starts a full
# collection by itself (collect_when_quiet does).
NEVER = 2**31 - 1
QUIET_CHECK_S = 1.0
FULL_AT_LEAST_EVERY_S = 300.0

_serving = False


def settle_for_serving() -> None:
    """Keep start-up objects out of every collection, and leave full collections to ``collect_when_quiet``
    (a serving process)."""
    global _serving
    gc.collect()
    gc.freeze()
    young, middle, _ = gc.get_threshold()
    gc.set_threshold(young, middle, NEVER)
    _serving = True


def serving() -> bool:
    """True once ``settle_for_serving()`` has run in this process."""
    return _serving


async def collect_when_quiet(quiet: Callable[[], bool]) -> None:
    """Run full collections on the loop: when ``quiet()`` (nothing in flight) and the middle generation has
    been collected since the last one, and at least every FULL_AT_LEAST_EVERY_S seconds. Runs until
    cancelled."""
    loop = asyncio.get_running_loop()
    last, seen = loop.time(), _middle_collections()
    while True:
        await asyncio.sleep(QUIET_CHECK_S)
        now, middle = loop.time(), _middle_collections()
        if (middle != seen and quiet()) or now - last >= FULL_AT_LEAST_EVERY_S:
            gc.collect()
            last, seen = loop.time(), _middle_collections()


def _middle_collections() -> int:
    return gc.get_stats()[1]["collections"]
