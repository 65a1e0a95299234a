"""A locked endpoint in a child process, probed as a careless or curious learner would, all on loopback.

The server runs as ``python -m helpers.local_bedrock`` (exactly what an instructor starts) so its memory,
threads and file descriptors can be read from /proc without the test's own allocations mixed in.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

ROOT = Path(__file__).resolve().parents[2]
KEY, SECRET = "room", "adversarial-room-secret"
READ_TIMEOUT = 1.0
# The course's default model, through its global profile (Claude 3 Haiku reached end of life on Bedrock).
HAIKU = "global.anthropic.claude-haiku-4-5-20251001-v1:0"


@dataclass
class Child:
    process: subprocess.Popen
    port: int

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def usage(self) -> dict[str, int]:
        """Resident memory (KiB), threads and open file descriptors of the server process."""
        status = Path(f"/proc/{self.process.pid}/status").read_text()
        rss = int(re.search(r"VmRSS:\s+(\d+)", status).group(1))
        threads = int(re.search(r"Threads:\s+(\d+)", status).group(1))
        fds = len(os.listdir(f"/proc/{self.process.pid}/fd"))
        return {"rss_kib": rss, "threads": threads, "fds": fds}

    def settled_usage(self, baseline: dict[str, int], rss_slack_kib: int, wait_s: float = 5.0) -> dict[str, int]:
        """Usage once the server has let go of what a probe made it hold (polled, not timed)."""
        deadline = time.monotonic() + wait_s
        while True:
            now = self.usage()
            settled = (now["fds"] <= baseline["fds"] and now["threads"] <= baseline["threads"]
                       and now["rss_kib"] <= baseline["rss_kib"] + rss_slack_kib)
            if settled or time.monotonic() > deadline:
                return now
            time.sleep(0.1)

    def client(self, **kwargs: Any) -> Any:
        import boto3
        from botocore.config import Config

        return boto3.client(
            "bedrock-runtime", endpoint_url=self.url, region_name="us-east-1", aws_access_key_id=KEY,
            aws_secret_access_key=SECRET,
            config=Config(retries={"mode": "standard", "total_max_attempts": 1}, read_timeout=30), **kwargs)


def start_child() -> Iterator[Child]:
    if not Path("/proc/self/status").exists():
        pytest.skip("reads the server's memory and descriptors from /proc (Linux)")
    env = {**os.environ, "PYTHONUNBUFFERED": "1"}
    process = subprocess.Popen(
        [sys.executable, "-m", "helpers.local_bedrock", "--port", "0", "--time-scale", "0",
         "--verify-sigv4", f"{KEY}:{SECRET}", "--read-timeout", str(READ_TIMEOUT)],
        cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    assert process.stdout is not None
    port = 0
    for line in process.stdout:
        found = re.search(r"AWS_ENDPOINT_URL_BEDROCK_RUNTIME=http://127\.0\.0\.1:(\d+)", line)
        if found:
            port = int(found.group(1))
            break
    assert port, f"the endpoint did not start: {process.stderr.read() if process.stderr else ''}"
    try:
        yield Child(process, port)
    finally:
        process.terminate()
        process.wait(10)


def messages_body(prompt: str = "What is streaming?", max_tokens: int = 50) -> dict:
    return {"anthropic_version": "bedrock-2023-05-31", "max_tokens": max_tokens,
            "messages": [{"role": "user", "content": prompt}]}


def still_serves(child: Child) -> None:
    """A normal boto3 call right after a probe gets a normal answer."""
    response = child.client().invoke_model(modelId=HAIKU, body=json.dumps(messages_body()))
    assert json.loads(response["body"].read())["type"] == "message"
