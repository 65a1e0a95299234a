"""Request bodies as the server reads them: hashed while they arrive, kept only up to a limit.

The SHA-256 is what a SigV4 signature covers, so a locked endpoint can check a signature without ever
having kept more than ``keep`` bytes. A body longer than ``keep`` is still read to its end (the client is
owed an answer on the same connection) but its bytes are dropped as they come; ``size`` stays exact, so an
oversize-body message can state the real size.
"""

from __future__ import annotations

import functools
import hashlib
import json
import re
from dataclasses import dataclass
from typing import Any

# A JSON escape for half of a UTF-16 surrogate pair; only bodies holding one need the exact check below.
_SURROGATE_ESCAPE = re.compile(rb"\\u[dD][89a-fA-F][0-9a-fA-F]{2}")


# Request bodies all requests in flight may hold at once. One lesson call holds kilobytes; a room of
# clients sending 25 MB bodies at the same moment must not take the instructor's laptop down with it.
MAX_BODIES_HELD = 256 * 1024 * 1024


class BodyBudget:
    """Bytes of request bodies held across every request in flight (used on the server's loop thread only)."""

    def __init__(self, limit: int = MAX_BODIES_HELD) -> None:
        self.limit = limit
        self.held = 0

    def take(self, size: int) -> bool:
        if self.held + size > self.limit:
            return False
        self.held += size
        return True

    def give(self, size: int) -> None:
        self.held = max(0, self.held - size)


@dataclass(frozen=True)
class Body:
    # The body as it arrived, piece by piece, or () when it was longer than the reader kept (or the budget
    # allowed). Joining 25 MB into one bytes object is ~20 ms of the loop (fresh memory), so a large body goes
    # to the worker process piece by piece (door/worker.py) and is joined only where ``data`` is read.
    pieces: tuple[bytes, ...]
    size: int  # bytes that arrived
    sha256: str  # hex digest of every byte that arrived
    over_budget: bool = False  # dropped because the server already holds MAX_BODIES_HELD of bodies
    held: int = 0  # bytes taken from the budget, to give back when the request ends

    @functools.cached_property
    def data(self) -> bytes:
        """The whole body kept, as one bytes object (b"" when it was not kept)."""
        return self.pieces[0] if len(self.pieces) == 1 else b"".join(self.pieces)

    @property
    def kept(self) -> int:
        return sum(len(piece) for piece in self.pieces)

    def head(self, size: int) -> bytes:
        """The first ``size`` bytes kept, without joining the rest."""
        out = bytearray()
        for piece in self.pieces:
            if len(out) >= size:
                break
            out += piece[: size - len(out)]
        return bytes(out)

    @property
    def complete(self) -> bool:
        return self.kept == self.size and not self.over_budget


async def read_body(receive: Any, keep: int, budget: BodyBudget | None = None) -> Body | None:
    """Read an ASGI request body to its end; None when the client disconnected first.

    Bytes kept are taken from ``budget``; a body the budget cannot hold is hashed and dropped like an
    oversize one, with ``over_budget`` set. The caller gives ``held`` back when the request ends.
    """
    digest = hashlib.sha256()
    parts: list[bytes] = []
    size = 0
    held = 0
    over_budget = False
    try:
        while True:
            message = await receive()
            if message["type"] == "http.disconnect":
                return None
            chunk = message.get("body", b"")
            digest.update(chunk)
            size += len(chunk)
            if size <= keep and not over_budget:
                if budget is None or budget.take(len(chunk)):
                    held += len(chunk) if budget is not None else 0
                    parts.append(chunk)
                else:
                    over_budget = True
            if (size > keep or over_budget) and parts:
                parts.clear()  # nothing more is kept, and nothing kept so far either
                if budget is not None:
                    budget.give(held)
                held = 0
            if not message.get("more_body", False):
                kept = tuple(parts) if size <= keep and not over_budget else ()
                result = Body(kept, size, digest.hexdigest(), over_budget, held)
                held = 0
                return result
    finally:
        if budget is not None and held:
            budget.give(held)  # disconnected or cancelled mid-body


# Python refuses to convert integers longer than this many digits (sys.int_info.default_max_str_digits).
# Found as a substring once every digit reads "0": a pattern tried at every position of a 25 MB body held
# the event loop for over a second (issue 23).
_ZERO_DIGITS = bytes.maketrans(b"123456789", b"000000000")
_LONG_INTEGER = b"0" * 4301


def json_text_problem(raw: bytes) -> tuple[str, str] | None:
    """(what is wrong, the fix) for JSON text Python parses badly, or None.

    Two cases the body rules cannot see, because they end in an exception rather than a parse error:
    a lone half of a surrogate pair (``"\ud800"``: Python accepts it, but it is no Unicode text, so every
    later step that writes it out fails) and an integer longer than Python will convert. Paired halves are
    joined by the parser and pass; a backslash-escaped ``\\ud800`` is plain text and passes too. The
    exact checks run only when a cheap scan finds a candidate.
    """
    if _LONG_INTEGER in raw.translate(_ZERO_DIGITS):
        try:
            json.loads(raw)
        except ValueError as error:
            if not isinstance(error, json.JSONDecodeError) and "digits" in str(error):
                return ("the request body holds a number with more than 4,300 digits",
                        "send numbers of ordinary size")
        except RecursionError:
            return None
    if _SURROGATE_ESCAPE.search(raw) is None:
        return None
    try:
        value = json.loads(raw)
        json.dumps(value, ensure_ascii=False).encode("utf-8")
    except UnicodeEncodeError:
        return ("the request body holds a lone UTF-16 surrogate escape (such as \\ud800 without its pair), "
                "which is not Unicode text", "send well-formed text; json.dumps of a Python str never writes one")
    except (ValueError, RecursionError):
        return None  # not JSON at all: the body rules name that problem
    return None


def parse_control_json(raw: bytes) -> Any:
    """A control route's JSON body; ``ValueError`` naming the problem for anything that is not plain JSON."""

    def no_constant(name: str) -> Any:
        raise ValueError(f"{name} is not a JSON number; use a finite number")

    try:
        return json.loads(raw, parse_constant=no_constant)
    except RecursionError:
        raise ValueError("the body nests too deeply; a fault spec is one flat JSON object") from None
    except UnicodeDecodeError:
        raise ValueError("the body is not UTF-8 text") from None
