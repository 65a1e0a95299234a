"""Work on a large request runs beside the event loop or in a child process, never inside it (issue 23, bug 2).

Judging, counting and planning a request is pure Python over its body. Where it runs depends on the body:

* up to OFF_LOOP_BYTES (64 KiB): on the loop. It takes well under a millisecond, and a room's many short
  calls keep their old path.
* up to OFF_PROCESS_BYTES (256 KiB): in a thread of the call's own. The interpreter hands the loop its lock
  every ``sys.getswitchinterval()`` (5 ms by default, THREAD_SWITCH_S while such a thread runs: each
  wait for the lock would otherwise add up to 5 ms to every other client's answer), and the steps that
  hold it for a whole call (a JSON parse, a regular expression) are bounded by the body's size: a few
  milliseconds. A lesson's image stays here.
* above that: in a child process. One ``json.loads`` of a 25 MB body is a single call of about half a second
  that holds the interpreter's lock, so a thread would still freeze every other client for that long
  (``endpoint.worst_prompt_loop_block_ms`` in ``benchmarks``); the child has a lock of its own. A long
  answer to a short body (a plan over 64 KiB) is planned there too: half a second of Python in a thread
  leaves the loop waiting for the lock at every switch.

What crosses the pipe stays small: the body goes out as raw bytes, piece by piece as it arrived; the parsed
body stays in the child between the calls of one ``session`` (``kept``), and what comes back is a verdict, a
count or a plan. A plan of a long answer comes back in slices (``Sliced``), each read on its own turn of the
loop. One session at a time per process: a burst of large bodies queues instead of sharing the CPU N ways.
A client that hangs up mid-job (its call is cancelled) ends the child at once. The child is started on the
first body that needs it and ends after IDLE_S without work, so an idle endpoint holds no extra process,
thread or pipe (tests/adversarial/ checks that it returns to its baseline).
"""

from __future__ import annotations

import asyncio
import contextlib
import importlib
import os
import pickle
import struct
import sys
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

from ..errors import BedrockError
from .bodies import Body

# Bodies up to this size are judged on the loop: a typical chat turn is far below it, and 64 KiB of text is
# planned in about a millisecond.
OFF_LOOP_BYTES = 64 * 1024
# Bodies up to this size are judged in a thread (a lesson's image is well below it): a whole-body JSON parse
# of 256 KiB holds the interpreter for a few milliseconds (1 MiB of tiny messages: up to 30 ms).
OFF_PROCESS_BYTES = 256 * 1024
# How often the interpreter offers its lock to the loop while a body is worked in a thread (then restored).
THREAD_SWITCH_S = 0.0005
# The child ends after this long without work.
IDLE_S = 2.0
# Items of a sliced result per message: a slice of planned chunks is read in about a millisecond.
SLICE_ITEMS = 1_000
# Bytes written to the child's pipe per turn of the loop.
_WRITE_PIECE = 1 << 20
_HEAD = struct.Struct("!cQ")  # message kind, payload length


def plan_cost(body_size: int, max_tokens: object) -> int:
    """What planning an answer reads and writes, in bytes: the body, or the longest answer it may get
    (about four bytes a token, ``max_tokens`` as the body asked), whichever is more. A 64,000-token answer
    asked for in a short body is planned in the child too."""
    answer = 4 * max_tokens if isinstance(max_tokens, int) and max_tokens > 0 else 0
    return max(body_size, answer)


@dataclass
class Sliced:
    """A result too big to read in one turn of the loop: from the child it travels as ``split(whole)``'s head,
    then its items in slices of SLICE_ITEMS, and ``await rebuild(head, items)`` makes it whole again (a turn
    of the loop per slice); in this process it is simply ``whole``. Both functions module-level."""

    whole: Any
    split: Callable[[Any], tuple[Any, list]]
    rebuild: Callable[[Any, list], Awaitable[Any]]


class WorkerGone(BedrockError):
    """The child process ended before it answered (killed from outside, or out of memory): a 503, which
    botocore's retry modes retry; the next large body starts a fresh child."""

    def __init__(self, what: str) -> None:
        super().__init__(503, "ServiceUnavailableException",
                         f"The local endpoint's worker process {what}; retry in a moment (boto3 does).")


Where = Literal["here", "thread", "child"]


class Worker:
    """The endpoint's child process for large bodies (one per endpoint process, started when first needed)."""

    def __init__(self) -> None:
        self._process: asyncio.subprocess.Process | None = None
        self._lock: asyncio.Lock | None = None
        self._thread_lock: asyncio.Lock | None = None
        self._idle: asyncio.TimerHandle | None = None
        self.starts = 0  # children started
        self.no_child = False  # this loop cannot start one (see _started)

    @contextlib.asynccontextmanager
    async def session(self, size: int, *, long_answer: bool = False) -> AsyncIterator[Session]:
        """Calls on one request's body of ``size`` bytes (see the module's docstring for where they run);
        ``long_answer``: the calls plan an answer over OFF_LOOP_BYTES (the child, unless the body is small).

        Values a call keeps (``kept``) live until the session ends. A cancelled session (the client left)
        ends the child's work at once by ending the child."""
        if size <= OFF_LOOP_BYTES and not long_answer:
            yield Session("here", {})
            return
        if self._lock is None:
            self._lock, self._thread_lock = asyncio.Lock(), asyncio.Lock()
        if size > OFF_PROCESS_BYTES or (long_answer and size <= OFF_LOOP_BYTES):
            async with self._lock:
                process = await self._started()
                if process is not None:
                    if self._idle is not None:
                        self._idle.cancel()
                    session = Session("child", {}, process)
                    try:
                        yield session
                    finally:
                        if session.busy:  # cancelled or failed mid-call: the child may be mid-job or mid-message
                            self._end()
                        self._idle = asyncio.get_running_loop().call_later(IDLE_S, self._end_if_idle)
                    return
        assert self._thread_lock is not None
        async with self._thread_lock:  # one at a time: N threads would take the loop's lock N times as often
            interval = sys.getswitchinterval()
            sys.setswitchinterval(min(interval, THREAD_SWITCH_S))
            try:
                yield Session("thread", {})
            finally:
                sys.setswitchinterval(interval)

    async def _started(self) -> asyncio.subprocess.Process | None:
        """The running child, started if need be; None where this loop cannot start one (a selector loop on
        Windows, as in a Jupyter kernel there: the work then runs in a thread, as a mid-sized body's does)."""
        if self.no_child:
            return None
        process = self._process
        if process is not None and process.returncode is None:
            return process
        # The child imports this package the way this process did, wherever it was imported from.
        root = str(Path(__file__).resolve().parents[3])
        env = {**os.environ, "PYTHONPATH": os.pathsep.join(p for p in (root, os.environ.get("PYTHONPATH")) if p)}
        try:
            self._process = await asyncio.create_subprocess_exec(
                sys.executable, "-c", "from helpers.local_bedrock.door.worker import child_main; child_main()",
                stdin=asyncio.subprocess.PIPE, stdout=asyncio.subprocess.PIPE, env=env)
        except NotImplementedError:  # asyncio's docs: SelectorEventLoop on Windows has no subprocesses
            self.no_child = True
            return None
        self.starts += 1
        return self._process

    def _end_if_idle(self) -> None:
        if self._lock is not None and not self._lock.locked():
            self._end()

    def _end(self) -> None:
        process, self._process = self._process, None
        if process is None or process.returncode is not None:
            return
        if process.stdin is not None:
            process.stdin.close()  # an idle child reads the end of its input and exits
        with contextlib.suppress(ProcessLookupError):
            process.kill()  # a busy one is stopped mid-job

    async def aclose(self) -> None:
        """End the child and wait for it (the endpoint is stopping: its loop must not close on a live pipe)."""
        if self._idle is not None:
            self._idle.cancel()
        process = self._process
        self._end()
        if process is not None:
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(process.wait(), 5)


class Session:
    """One request's calls: ``await session.call(fn, *args)`` runs ``fn(kept, *args)`` where the body's size
    says (``where``)."""

    def __init__(self, where: Where, kept: dict, process: asyncio.subprocess.Process | None = None) -> None:
        self.where = where
        self.kept = kept  # what the calls keep between them (handed to the child for a long plan)
        self._process = process
        self._first = True
        self.busy = False  # a call to the child is between its first byte sent and its last byte read

    async def call(self, fn: Callable[..., Any], *args: Any) -> Any:
        """``fn(kept, *args)``: a module-level function, its arguments picklable, a request body passed as the
        ``Body`` read (it reaches ``fn`` as bytes). A ``Sliced`` result comes back whole; an exception ``fn``
        raises is raised here."""
        if self.where != "child":
            given = [a.data if isinstance(a, Body) else a for a in args]
            if self.where == "here":
                result = fn(self.kept, *given)
            else:  # the thread is the call's own and ends with it: an idle endpoint holds no extra thread
                result = await asyncio.to_thread(fn, self.kept, *given)
            return result.whole if isinstance(result, Sliced) else result
        process = self._process
        assert process is not None and process.stdin is not None and process.stdout is not None
        self.busy = True
        # A request body travels as a raw message of its own, piece by piece as it arrived, never joined here
        # and never inside a pickle; the child gets it as bytes.
        blobs = [a for a in args if isinstance(a, Body)]
        shapes = tuple(_Blob(blobs.index(a)) if isinstance(a, Body) else a for a in args)
        job = pickle.dumps((fn.__module__, fn.__qualname__, shapes, len(blobs), self._first), protocol=5)
        self._first = False
        await self._write(process, b"J", job)
        for blob in blobs:
            await self._write(process, b"B", *blob.pieces)
        kind, payload = await self._read(process)
        if kind == b"S":  # a sliced result: its head, then its slices
            head, count, rebuild = pickle.loads(payload)
            items: list = []
            for _ in range(count):
                await asyncio.sleep(0)  # one slice per turn of the loop
                _, piece = await self._read(process)
                items += pickle.loads(piece)
            self.busy = False
            return await rebuild(head, items)
        self.busy = False
        if kind == b"E":
            raise _rebuilt_error(*pickle.loads(payload))
        return pickle.loads(payload)

    @staticmethod
    async def _write(process: asyncio.subprocess.Process, kind: bytes, *pieces: bytes) -> None:
        stdin = process.stdin
        assert stdin is not None
        stdin.write(_HEAD.pack(kind, sum(len(piece) for piece in pieces)))
        written = 0
        for piece in pieces:
            view = memoryview(piece)
            for start in range(0, len(view), _WRITE_PIECE):
                stdin.write(view[start:start + _WRITE_PIECE])
                written += min(_WRITE_PIECE, len(view) - start)
                if written >= _WRITE_PIECE:  # a turn of the loop per megabyte
                    written = 0
                    try:
                        await stdin.drain()
                    except ConnectionError:
                        raise WorkerGone("ended while it was sent a body") from None

    @staticmethod
    async def _read(process: asyncio.subprocess.Process) -> tuple[bytes, bytes]:
        stdout = process.stdout
        assert stdout is not None
        try:
            kind, size = _HEAD.unpack(await stdout.readexactly(_HEAD.size))
            return kind, await stdout.readexactly(size)
        except asyncio.IncompleteReadError:
            raise WorkerGone("ended before it answered") from None


def _rebuilt_error(kind: type[BaseException], args: tuple, state: dict) -> BaseException:
    """An exception from the child as it was raised there (its class's own ``__init__`` is not called again:
    the endpoint's errors take other arguments than the ``args`` they keep)."""
    error = kind.__new__(kind, *args)
    error.args = args
    error.__dict__.update(state)
    return error


@dataclass(frozen=True)
class _Blob:
    index: int


# ---- the child ---------------------------------------------------------------------------------------


def _serve(source: Any, sink: Any) -> None:  # pragma: no cover - runs in the child (tests drive it over HTTP)
    kept: dict = {}

    def read() -> tuple[bytes, bytes] | None:
        head = source.read(_HEAD.size)
        if len(head) < _HEAD.size:
            return None
        kind, size = _HEAD.unpack(head)
        return kind, source.read(size)

    def write(kind: bytes, payload: bytes) -> None:
        sink.write(_HEAD.pack(kind, len(payload)))
        sink.write(payload)

    while (message := read()) is not None:
        module, name, shapes, blob_count, fresh = pickle.loads(message[1])
        blobs = []
        for _ in range(blob_count):
            blob = read()
            if blob is None:
                return
            blobs.append(blob[1])
        if fresh:
            kept.clear()
        args = [blobs[a.index] if isinstance(a, _Blob) else a for a in shapes]
        try:
            fn: Any = importlib.import_module(module)
            for part in name.split("."):
                fn = getattr(fn, part)
            result = fn(kept, *args)
            if isinstance(result, Sliced):
                head, items = result.split(result.whole)
                pieces = range(0, len(items), SLICE_ITEMS)
                write(b"S", pickle.dumps((head, len(pieces), result.rebuild), protocol=5))
                for start in pieces:
                    write(b"P", pickle.dumps(items[start:start + SLICE_ITEMS], protocol=5))
            else:
                write(b"R", pickle.dumps(result, protocol=5))
        except Exception as error:  # handed to the waiting call, which answers it as the loop would
            try:
                payload = pickle.dumps((type(error), error.args, vars(error)), protocol=5)
            except Exception:
                payload = pickle.dumps((RuntimeError, (f"{type(error).__name__}: {error}",), {}), protocol=5)
            write(b"E", payload)
        sink.flush()


def child_main() -> None:  # pragma: no cover - the child
    """The child's entry point: serve calls from the parent until it closes the pipe."""
    source, sink = sys.stdin.buffer, sys.stdout.buffer
    sys.stdout = sys.stderr  # nothing printed by accident may corrupt the pipe
    if hasattr(os, "nice"):
        # The endpoint's own loop comes first when both want the CPU (a laptop has few cores): the child's
        # half second on a huge body may take longer, the room's streams must not wait for it.
        os.nice(10)
    _serve(source, sink)
