"""The room form of the endpoint: ``python -m helpers.local_bedrock --workers N`` serves one port from N
hypercorn worker processes, locked like the one-process endpoint, and stops cleanly on Ctrl-C."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
import urllib.error
import urllib.request
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import boto3
import pytest
from botocore.config import Config
from endpoint_support import HAIKU, joined_text, messages_body

ROOT = Path(__file__).resolve().parents[2]
pytestmark = pytest.mark.skipif(not Path("/proc/self/stat").exists(), reason="reads worker processes from /proc")


def _children(pid: int) -> dict[int, str]:
    """``pid``'s child processes and their command lines."""
    found = {}
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            stat = Path(f"/proc/{entry}/stat").read_text()
            cmdline = Path(f"/proc/{entry}/cmdline").read_bytes().replace(b"\0", b" ").decode()
        except OSError:
            continue  # ended while we looked
        if int(stat.rpartition(")")[2].split()[1]) == pid:
            found[int(entry)] = cmdline
    return found


def _workers(pid: int, count: int, timeout: float = 30.0) -> list[int]:
    """The hypercorn worker processes ``pid`` started, once there are ``count`` of them."""
    deadline = time.monotonic() + timeout
    while True:
        workers = [child for child, cmdline in _children(pid).items() if "spawn_main" in cmdline]
        if len(workers) >= count or time.monotonic() > deadline:
            return workers
        time.sleep(0.1)


def _start(*args: str, env: dict[str, str] | None = None) -> tuple[subprocess.Popen, dict[str, str]]:
    clean = {k: v for k, v in os.environ.items() if not k.startswith("AWS_")}
    process = subprocess.Popen(
        [sys.executable, "-m", "helpers.local_bedrock", "--port", "0", *args],
        cwd=ROOT, env={**clean, **(env or {})}, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
    )
    assert process.stdout is not None
    lines: list[str] = []
    while not any(line.startswith("export ANTHROPIC_BEDROCK_MANTLE_BASE_URL") for line in lines):
        line = process.stdout.readline()
        assert line, f"the endpoint ended early: {process.stderr.read() if process.stderr else ''}"
        lines.append(line.strip())
    assert "2 worker processes" in lines[0]
    exports = dict(line[len("export "):].split("=", 1) for line in lines if line.startswith("export "))
    return process, exports


def _stop(process: subprocess.Popen) -> str:
    process.send_signal(signal.SIGINT)
    _, err = process.communicate(timeout=30)
    return err


def _stream_text(client, prompt: str) -> str:
    response = client.invoke_model_with_response_stream(
        modelId=HAIKU, body=json.dumps(messages_body(prompt=prompt, max_tokens=40)))
    return joined_text([json.loads(event["chunk"]["bytes"]) for event in response["body"]])


def test_a_locked_room_is_served_by_two_worker_processes(tmp_path: Path) -> None:
    process, exports = _start("--workers", "2", "--time-scale", "0.2", "--verify-sigv4", "room:a-long-room-secret",
                              env={"LOCAL_BEDROCK_TIMINGS_DIR": str(tmp_path)})
    try:
        workers = _workers(process.pid, 2)
        assert len(workers) == 2, _children(process.pid)
        url = exports["AWS_ENDPOINT_URL_BEDROCK_RUNTIME"]
        assert exports["AWS_ACCESS_KEY_ID"] == "room"

        def learner(i: int) -> str:  # a client each: its own connections, as learners' kernels have
            client = boto3.client("bedrock-runtime", endpoint_url=url, region_name="us-east-1",
                                  aws_access_key_id="room", aws_secret_access_key="a-long-room-secret")
            return _stream_text(client, f"Tell me about river {i}.")

        with ThreadPoolExecutor(12) as pool:
            texts = list(pool.map(learner, range(12)))
        assert all(texts) and len(set(texts)) > 1

        stranger = boto3.client("bedrock-runtime", endpoint_url=url, region_name="us-east-1",
                                 aws_access_key_id="room", aws_secret_access_key="a-guess",
                                 config=Config(retries={"total_max_attempts": 1}))
        with pytest.raises(stranger.exceptions.ClientError, match="InvalidSignatureException"):
            _stream_text(stranger, "let me in")
        err = _stop(process)
        assert process.returncode == 0, err
        assert "Traceback" not in err
        assert not [pid for pid in workers if Path(f"/proc/{pid}").exists()], "a worker outlived the endpoint"
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()
    # Each worker wrote what it served; together they served every call, the refused one included.
    served = [json.loads(f.read_text()) for f in sorted(tmp_path.glob("*.json"))]
    assert len(served) == 2
    records = [r for worker in served for r in worker["records"]]
    assert sum(1 for r in records if r["status"] == 200 and r["done"]) == 12
    assert all(len(r["sent_ms"]) == len(r["schedule_ms"]) > 0 for r in records if r["status"] == 200)


def test_the_per_process_routes_refuse_with_several_workers() -> None:
    process, exports = _start("--workers", "2", "--time-scale", "0")
    try:
        url = exports["AWS_ENDPOINT_URL_BEDROCK_RUNTIME"]
        health = json.loads(urllib.request.urlopen(f"{url}/_local/health", timeout=10).read())
        assert health["workers"] == 2
        for method, route in (("GET", "/_local/calls"), ("POST", "/_local/faults"), ("DELETE", "/_local/faults")):
            request = urllib.request.Request(f"{url}{route}", method=method,
                                             data=b'{"error": "ThrottlingException"}' if method == "POST" else None)
            with pytest.raises(urllib.error.HTTPError) as refused:
                urllib.request.urlopen(request, timeout=10)
            assert refused.value.code == 409
            message = json.loads(refused.value.read())["message"]
            assert "--workers 2" in message and "without --workers" in message
        client = boto3.client("bedrock-runtime", endpoint_url=url, region_name="us-east-1",
                              aws_access_key_id="local", aws_secret_access_key="local")
        assert _stream_text(client, "Still answering?")
        err = _stop(process)
        assert process.returncode == 0, err
        assert "Traceback" not in err
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()


@pytest.mark.parametrize(("args", "says"), [
    (["--workers", "0"], "--workers must be between 1 and 64"),
    (["--workers", "2", "--replay", "tape.jsonl"], "drop --workers"),
    (["--workers", "2", "--upstream", "aws"], "drop --workers"),
])
def test_workers_flag_errors_name_the_fix(args: list[str], says: str) -> None:
    done = subprocess.run([sys.executable, "-m", "helpers.local_bedrock", "--port", "0", *args], cwd=ROOT,
                          capture_output=True, text=True, timeout=60, stdin=subprocess.DEVNULL)
    assert done.returncode == 2
    assert says in done.stderr


_GC_PROBE = """
import asyncio, gc, json
from helpers.local_bedrock import serving

class Node:
    pass

def garbage(n):
    for _ in range(n):
        node = Node()
        node.me = node  # a cycle: only a collection frees it

def full():
    return gc.get_stats()[2]["collections"]

start = full()
garbage(300_000)
unsettled = full() - start  # what Python does by itself with this much garbage

serving.QUIET_CHECK_S = 0.02
serving.FULL_AT_LEAST_EVERY_S = 1e9
serving.settle_for_serving()
frozen = gc.get_freeze_count()

async def main():
    busy = True
    collector = asyncio.create_task(serving.collect_when_quiet(lambda: not busy))
    start = full()
    garbage(300_000)
    await asyncio.sleep(0.3)
    while_busy = full() - start
    serving.FULL_AT_LEAST_EVERY_S = 0.0  # busy, but the longest gap between full collections is up
    start = full()
    await asyncio.sleep(0.3)
    forced = full() - start
    serving.FULL_AT_LEAST_EVERY_S = 1e9
    busy = False
    garbage(100_000)
    start = full()
    await asyncio.sleep(0.3)
    quiet = full() - start
    collector.cancel()
    return {"unsettled": unsettled, "frozen": frozen, "while_busy": while_busy, "forced": forced, "quiet": quiet,
            "oldest_threshold": gc.get_threshold()[2]}

print(json.dumps(asyncio.run(main())))
"""


def test_a_serving_process_collects_fully_only_between_requests() -> None:
    done = subprocess.run([sys.executable, "-c", _GC_PROBE], cwd=ROOT, capture_output=True, text=True, timeout=60)
    seen = json.loads(done.stdout)
    assert seen["unsettled"] > 0  # the garbage is enough for Python to start full collections by itself
    assert seen["frozen"] > 0  # start-up objects are out of every collection
    assert seen["while_busy"] == 0  # none in the middle of the work, however much garbage
    # Python itself never starts one: at a threshold of 1,000 it still did once a 64,000-chunk answer had streamed
    assert seen["oldest_threshold"] == 2**31 - 1
    assert seen["forced"] >= 1  # but at least every FULL_AT_LEAST_EVERY_S
    assert seen["quiet"] >= 1  # and when nothing is in flight
