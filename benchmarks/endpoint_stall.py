"""How long one hostile request can freeze the endpoint's event loop (issue 23, bug 2).

``endpoint.worst_prompt_loop_block_ms``: the endpoint runs as ``python -m helpers.local_bedrock`` in its own
process (time scale 0). For each worst-case request shape below (every body at most Bedrock's 25,000,000-byte
limit), one client sends it while a second client, on its own keep-alive connection, asks
``GET /_local/health`` again and again; the figure is the longest any of those health answers took while the
hostile request was being served, over every shape (minus nothing: a health answer takes well under 1 ms).
Everything travels over HTTP on 127.0.0.1. The probing process makes no garbage collection while it probes:
one of its own full collections (7 to 14 ms on a slow machine) was counted as the endpoint's stall.
"""

from __future__ import annotations

import gc
import json
import re
import socket
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
MODEL = "global.anthropic.claude-haiku-4-5-20251001-v1:0"
BODY_LIMIT = 25_000_000
_FILL = BODY_LIMIT - 4_096  # room for the JSON around a prompt


def _messages(prompt: str, max_tokens: int = 50, **extra: object) -> dict:
    return {"anthropic_version": "bedrock-2023-05-31", "max_tokens": max_tokens,
            "messages": [{"role": "user", "content": prompt}], **extra}


def _shapes() -> dict[str, tuple[str, bytes]]:
    """name -> (operation path suffix, body): the shapes that cost the most per byte."""
    calculator = {"name": "calculator", "description": "calculate an arithmetic expression",
                  "input_schema": {"type": "object", "properties": {"expression": {"type": "string"}},
                                   "required": ["expression"]}}
    many_tools = [{"name": f"t{i}", "description": "d", "input_schema": {"type": "object"}}
                  for i in range(60_000)]
    shapes: dict[str, tuple[str, dict]] = {
        "digit_list": ("invoke", _messages("1," * (_FILL // 2) + " tokens")),
        "long_number_calculator": ("invoke", _messages(
            "calculate " + "7" * (_FILL - 100), tools=[calculator],
            tool_choice={"type": "tool", "name": "calculator"})),
        "many_words": ("invoke", _messages("in Paris " * (_FILL // 9))),
        "markers": ("invoke", _messages("[[length=" * (_FILL // 9))),
        "many_messages": ("invoke", {**_messages("x"), "messages": [
            {"role": "user", "content": "a"}, {"role": "assistant", "content": "b"}] * 90_000
            + [{"role": "user", "content": "a"}]}),
        "many_tools": ("invoke", _messages("use the tool", tools=many_tools)),
        # Just under the size the endpoint still works on in a thread rather than its child process
        # (door/worker.py OFF_PROCESS_BYTES): the most objects per byte a thread-judged body can hold.
        "thread_sized_messages": ("invoke", {**_messages("x"), "messages": [
            {"role": "user", "content": "a"}, {"role": "assistant", "content": "b"}] * 3_400
            + [{"role": "user", "content": "a"}]}),
        "nested_schema": ("invoke", _messages("weather", tools=[{
            "name": "deep", "description": "d",
            "input_schema": json.loads('{"type":"object","properties":{"a":' * 60 + '{}' + "}}" * 60)}])),
        "long_answer_stream": ("invoke-with-response-stream",
                               _messages("[[length=64000]] [[chunk=1]] rivers", max_tokens=64_000)),
        "count_tokens_converse_messages": ("count-tokens", {"input": {"converse": {"messages": [
            {"role": "user", "content": [{"text": "a"}]},
            {"role": "assistant", "content": [{"text": "b"}]}] * 100_000
            + [{"role": "user", "content": [{"text": "a"}]}]}}}),
    }
    out = {}
    for name, (operation, body) in shapes.items():
        data = json.dumps(body).encode()
        assert len(data) <= (256 * 1024 if name.startswith("thread_sized") else BODY_LIMIT), (name, len(data))
        out[name] = (operation, data)
    return out


def _start() -> tuple[subprocess.Popen, int]:
    process = subprocess.Popen(
        [sys.executable, "-m", "helpers.local_bedrock", "--port", "0", "--time-scale", "0", "--read-timeout", "60"],
        cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
    assert process.stdout is not None
    for line in process.stdout:
        if found := re.search(r"AWS_ENDPOINT_URL_BEDROCK_RUNTIME=http://127\.0\.0\.1:(\d+)", line):
            threading.Thread(target=lambda: [None for _ in process.stdout], daemon=True).start()
            return process, int(found.group(1))
    raise RuntimeError("the endpoint did not start")


def _read_response(sock: socket.socket, buffer: bytearray) -> None:
    """Read one Content-Length or chunked response off ``sock`` (enough for these answers); ConnectionError
    when the server closed the connection first."""
    while b"\r\n\r\n" not in buffer:
        data = sock.recv(65536)
        if not data:
            raise ConnectionResetError("the server closed the connection")
        buffer += data
    head, _, rest = bytes(buffer).partition(b"\r\n\r\n")
    length = re.search(rb"(?i)content-length:\s*(\d+)", head)
    if length:
        need = int(length.group(1))
        while len(rest) < need:
            rest += sock.recv(65536)
        buffer[:] = rest[need:]
        return
    while not rest.endswith(b"0\r\n\r\n"):  # chunked: read to the last chunk
        data = sock.recv(1 << 20)
        if not data:
            break
        rest += data
    buffer[:] = b""


# The hostile client runs in a process of its own: reading a long answer in this process would take the GIL
# from the probe below and be counted as the endpoint's stall. It stands in for a learner's laptop, which has
# a CPU of its own: on this 2-core machine it runs at the lowest priority (as endpoint_room_1000's clients do),
# so its reading does not take the server's core and count as the server's stall.
_HOSTILE = """
import os, socket, sys
if hasattr(os, "nice"):
    os.nice(19)
port, operation, model, path = int(sys.argv[1]), sys.argv[2], sys.argv[3], sys.argv[4]
body = open(path, "rb").read()
with socket.create_connection(("127.0.0.1", port), timeout=300) as sock:
    sock.sendall((f"POST /model/{model}/{operation} HTTP/1.1\\r\\nHost: 127.0.0.1\\r\\n"
                  f"Content-Type: application/json\\r\\nContent-Length: {len(body)}\\r\\n"
                  "Connection: close\\r\\n\\r\\n").encode() + body)
    print("sent", flush=True)
    while sock.recv(1 << 20):  # to the end of the answer (the server closes the connection)
        pass
"""


def _hostile(port: int, operation: str, body: bytes) -> subprocess.Popen:
    """Start the hostile client; returns once its whole request is sent."""
    with tempfile.NamedTemporaryFile(suffix=".json", delete=False) as file:
        file.write(body)
    client = subprocess.Popen([sys.executable, "-c", _HOSTILE, str(port), operation, MODEL, file.name],
                              stdout=subprocess.PIPE, text=True)
    assert client.stdout is not None
    try:
        if client.stdout.readline().strip() != "sent":
            raise RuntimeError(f"the hostile client could not send its {operation} request")
    finally:
        Path(file.name).unlink()
    return client


def _worst_gap_ms(port: int, operation: str, body: bytes) -> float:
    worst = 0.0
    probe = socket.create_connection(("127.0.0.1", port), timeout=300)
    buffer = bytearray()
    # The server works on a body once it has it; probing during the upload only slows it.
    attack = _hostile(port, operation, body)
    gc.disable()  # the probe's own collections are not the endpoint's stall
    try:
        while attack.poll() is None:
            time.sleep(0.001)  # a probe a millisecond: fine enough for a 20 ms target, and leaves the CPU be
            start = time.perf_counter()
            try:
                probe.sendall(b"GET /_local/health HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n")
                _read_response(probe, buffer)
            except ConnectionError:
                # hypercorn ends a keep-alive connection after 1,000 requests (keep_alive_max_requests):
                # a new one, its handshake counted in this probe's time.
                probe.close()
                probe = socket.create_connection(("127.0.0.1", port), timeout=300)
                buffer.clear()
                probe.sendall(b"GET /_local/health HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n")
                _read_response(probe, buffer)
            worst = max(worst, (time.perf_counter() - start) * 1000)
    finally:
        gc.enable()
        probe.close()
    if attack.returncode != 0:
        raise RuntimeError(f"the hostile client failed (exit {attack.returncode})")
    return worst


def stalls() -> dict[str, float]:
    process, port = _start()
    try:
        _worst_gap_ms(port, "invoke", json.dumps(_messages("warm up")).encode())
        figures = {}
        for name, (operation, body) in _shapes().items():
            started = time.perf_counter()
            figures[name] = round(_worst_gap_ms(port, operation, body), 1)
            print(f"{name}: {figures[name]} ms stall, served in {time.perf_counter() - started:.1f} s",
                  file=sys.stderr, flush=True)
        return figures
    finally:
        process.terminate()
        process.wait(10)


def run() -> dict[str, float]:
    figures = stalls()
    return {"endpoint.worst_prompt_loop_block_ms": max(figures.values()),
            **{f"endpoint.loop_block_ms.{name}": value for name, value in figures.items()}}


if __name__ == "__main__":
    print(json.dumps(run(), indent=1))
