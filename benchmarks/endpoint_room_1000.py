"""A room of 1,000 paced streams: ``endpoint.room_streams_1000.send_error_ms_p99``.

1,000 InvokeModelWithResponseStream calls opened at the same moment, paced at time_scale 1 (Claude Haiku
4.5 through a global profile, realistic multi-token chunks), against the room endpoint exactly as an
instructor starts it: ``python -m helpers.local_bedrock --workers N`` (hypercorn's own worker processes
sharing one listening socket, helpers/local_bedrock/room.py), not a balancer of ours. The clients run in
separate processes, open their share of the streams with raw asyncio sockets and read bytes without
decoding them. The figure: the 99th percentile, over every frame of every stream (about 60,000), of
(actual - scheduled) send offset as each worker recorded them (``LOCAL_BEDROCK_TIMINGS_DIR``); the actual
offset is read from the loop's clock when the stream's task runs to write the frame, just before the write
(no await in between). Frames due in the same instant of one stream go out in one write, each recorded
with that write's time.

The clients stand in for the learners' laptops, which in a room have CPUs of their own. On this 2-core
machine they share the server's cores, so they run at the lowest CPU priority (nice 19): they get every
cycle the server leaves, and the figure is the server's. Beside it, ``..._clients_same_priority`` runs the
same room with the clients at the server's priority: there the two reading processes (about a core-second
of CPU) compete with the workers as equals, which is what this one machine cannot avoid and a room does not
have.

Beside them: the median, the CPU seconds the workers (start-up included) and the clients used, the longest
garbage-collection pause in any worker, the load average when the run started (other work on the machine
takes cores from the room), and the same room on one worker (``..._one_worker``), which shows what the
second process buys on this machine.
"""

from __future__ import annotations

import asyncio
import json
import multiprocessing
import os
import signal
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
MODEL = "global.anthropic.claude-haiku-4-5-20251001-v1:0"
STREAMS = 1_000
TOKENS = 100  # per answer: about 1 s of paced output at ~100 tokens/s after ~0.4 s to the first byte
# Every stream starts at once (the hardest case). ``room(workers, ramp_s=1.0)`` spreads the starts over a
# second, as a room pressing Run together would, for experiments.
RAMP_S = 0.0
CLIENT_PROCESSES = 2
WORKERS = max(2, os.cpu_count() or 2)
CLIENT_NICENESS = 19  # the lowest priority: the clients take only what the server leaves (see above)


def _body(i: int) -> bytes:
    return json.dumps({
        "anthropic_version": "bedrock-2023-05-31",
        "max_tokens": TOKENS + 50,
        "messages": [{"role": "user", "content": f"[[length={TOKENS}]] Tell me about river {i}."}],
    }).encode()


def _request(port: int, body: bytes) -> bytes:
    return (
        f"POST /model/{MODEL}/invoke-with-response-stream HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\n"
        f"Content-Type: application/json\r\nContent-Length: {len(body)}\r\nConnection: close\r\n\r\n"
    ).encode() + body


def _clients(port: int, first: int, count: int, ramp_s: float = 0.0) -> tuple[int, float, list[float]]:
    """In a child process: open ``count`` streams (spread evenly over ``ramp_s``), read each to EOF.

    Returns the bytes read, the CPU seconds the reading took (the clients share the machine's cores) and each
    stream's time to its first byte in ms, from the moment its request was written: what a learner waits, the
    time the endpoint kept the call queued (door/admission.py) included.
    """

    async def one(i: int) -> tuple[int, float]:
        await asyncio.sleep(ramp_s * (i - first) / max(count, 1))
        reader, writer = await asyncio.open_connection("127.0.0.1", port)
        writer.write(_request(port, _body(i)))
        asked = time.monotonic()
        first_byte = None
        total = 0
        while chunk := await reader.read(1 << 16):
            if first_byte is None:
                first_byte = time.monotonic()
            total += len(chunk)
        writer.close()
        return total, ((first_byte or time.monotonic()) - asked) * 1000

    async def everyone() -> list[tuple[int, float]]:
        return await asyncio.gather(*(one(i) for i in range(first, first + count)))

    cpu = time.process_time()
    results = asyncio.run(everyone())
    return sum(r[0] for r in results), time.process_time() - cpu, [r[1] for r in results]


def _p99(ordered: list[float]) -> float:
    """The 99th percentile of an ascending list."""
    return ordered[min(len(ordered) - 1, int(0.99 * len(ordered)))]


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _wait_until_listening(port: int, server: subprocess.Popen, timeout: float = 60.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if server.poll() is not None:
            raise RuntimeError(f"the room endpoint exited early: {server.stderr.read() if server.stderr else ''}")
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=1):
                return
        except OSError:
            time.sleep(0.2)
    raise RuntimeError(f"the room endpoint did not listen on port {port} within {timeout:.0f} s")


def _worker_logs(folder: Path, workers: int, timeout: float = 60.0) -> list[Path]:
    """Every worker's timings file; a worker may still be writing it after the command's process has exited."""
    deadline = time.monotonic() + timeout
    while len(logs := sorted(folder.glob("*.json"))) < workers and time.monotonic() < deadline:
        time.sleep(0.1)
    if len(logs) < workers:
        raise RuntimeError(f"only {len(logs)} of {workers} workers wrote their timings in {folder}")
    return logs


def room(workers: int, ramp_s: float = RAMP_S, client_niceness: int = CLIENT_NICENESS,
         queue: bool = True) -> dict[str, float]:
    """Serve the room with ``workers`` hypercorn workers; returns the p99 send error and what completed.
    ``queue=False`` starts the endpoint with ``--no-queue``: every call starts at once (door/admission.py)."""
    port = _free_port()
    with tempfile.TemporaryDirectory(prefix="room-calls-") as calls_dir:
        env = {**os.environ, "LOCAL_BEDROCK_TIMINGS_DIR": calls_dir}
        server = subprocess.Popen(
            [sys.executable, "-m", "helpers.local_bedrock", "--workers", str(workers), "--port", str(port),
             "--time-scale", "1", *([] if queue else ["--no-queue"])],
            cwd=ROOT, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True,
        )
        try:
            _wait_until_listening(port, server)
            share = STREAMS // CLIENT_PROCESSES
            with multiprocessing.get_context("spawn").Pool(CLIENT_PROCESSES, os.nice, (client_niceness,)) as pool:
                pool.apply(_clients, (port, 10_000, CLIENT_PROCESSES * 2))  # warm every worker up a little
                pending = [
                    pool.apply_async(_clients, (port, i * share, share, ramp_s)) for i in range(CLIENT_PROCESSES)
                ]
                done = [job.get(timeout=600) for job in pending]
                client_cpu_s = sum(d[1] for d in done)
                first_bytes = sorted(ms for d in done for ms in d[2])
        finally:
            server.send_signal(signal.SIGINT)
            try:
                server.wait(60)
            except subprocess.TimeoutExpired:
                server.kill()
                server.wait()
        logs = [json.loads(f.read_text()) for f in _worker_logs(Path(calls_dir), workers)]
        records = [r for log in logs for r in log["records"]]
    paced = [r for r in records if len(r["sent_ms"]) > 0 and r["status"] == 200]
    room_calls = sorted(paced, key=lambda r: len(r["sent_ms"]), reverse=True)[:STREAMS]
    errors = sorted(
        sent - planned for r in room_calls for sent, planned in zip(r["sent_ms"], r["schedule_ms"], strict=False)
    )
    if not errors:
        raise RuntimeError("no worker wrote its timings; did hypercorn run the lifespan shutdown?")
    queued = sorted(r.get("queued_ms", 0.0) for r in room_calls)
    return {
        "p99": _p99(errors),
        "p50": errors[len(errors) // 2],
        "frames": len(errors),
        "complete": sum(1 for r in room_calls if r["done"] and not r["error"]),
        "server_cpu_s": sum(log["cpu_s"] for log in logs),
        "client_cpu_s": client_cpu_s,
        "gc_pause_ms_max": max(max(log["gc_max_ms"]) for log in logs),
        "queued_ms_p99": _p99(queued),
        "queued_ms_max": queued[-1],
        "first_byte_ms_p50": first_bytes[len(first_bytes) // 2],
        "first_byte_ms_p99": _p99(first_bytes),
    }


def run() -> dict[str, float]:
    load = os.getloadavg()[0]  # other work on the machine takes cores from the room: say how much
    many = room(WORKERS)
    one = room(1)
    same_priority = room(WORKERS, client_niceness=0)
    no_queue = room(WORKERS, queue=False)
    key = "endpoint.room_streams_1000"
    return {
        f"{key}.send_error_ms_p99": round(many["p99"], 3),
        f"{key}.send_error_ms_median": round(many["p50"], 3),
        f"{key}.workers": WORKERS,
        f"{key}.streams_complete": many["complete"],
        f"{key}.frames": many["frames"],
        # CPU the room costs, start-up included: compare with the cores the machine has (os.cpu_count()).
        f"{key}.server_cpu_s": round(many["server_cpu_s"], 2),
        f"{key}.client_cpu_s": round(many["client_cpu_s"], 2),
        f"{key}.gc_pause_ms_max": round(many["gc_pause_ms_max"], 2),
        # What keeping the started streams on time costs the learners who came last (door/admission.py):
        # how long calls waited before they were let in, and each stream's time to first byte at the client.
        f"{key}.queued_ms_p99": round(many["queued_ms_p99"], 1),
        f"{key}.queued_ms_max": round(many["queued_ms_max"], 1),
        f"{key}.first_byte_ms_p50": round(many["first_byte_ms_p50"], 1),
        f"{key}.first_byte_ms_p99": round(many["first_byte_ms_p99"], 1),
        # The same room with every call started at once (--no-queue): the streams' send error, and the wait.
        f"{key}.send_error_ms_p99_no_queue": round(no_queue["p99"], 3),
        f"{key}.first_byte_ms_p99_no_queue": round(no_queue["first_byte_ms_p99"], 1),
        f"{key}.send_error_ms_p99_one_worker": round(one["p99"], 3),
        f"{key}.send_error_ms_p99_clients_same_priority": round(same_priority["p99"], 3),
        f"{key}.client_cpu_s_same_priority": round(same_priority["client_cpu_s"], 2),
        f"{key}.load_avg_1m_at_start": round(load, 2),
    }


if __name__ == "__main__":
    print(json.dumps(run(), indent=1))
