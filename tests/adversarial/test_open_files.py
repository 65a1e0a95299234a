"""Issue 23, weak point: started with a low open-files limit (256, macOS's default), the endpoint raises its
soft limit so a room's sockets fit, and says so when the system will not let it."""

from __future__ import annotations

import os
import re
import resource
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]


def _start(soft: int, hard: int) -> tuple[subprocess.Popen, str]:
    def limit() -> None:
        resource.setrlimit(resource.RLIMIT_NOFILE, (soft, hard))

    process = subprocess.Popen([sys.executable, "-m", "helpers.local_bedrock", "--port", "0"], cwd=ROOT,
                               env={**os.environ, "PYTHONUNBUFFERED": "1"}, stdout=subprocess.PIPE,
                               stderr=subprocess.PIPE, text=True, preexec_fn=limit)
    assert process.stdout is not None
    for line in process.stdout:
        if "AWS_ENDPOINT_URL_BEDROCK_RUNTIME=" in line:
            break
    return process, Path(f"/proc/{process.pid}/limits").read_text()


def _soft_limit(limits: str) -> int:
    return int(re.search(r"Max open files\s+(\d+)", limits).group(1))


@pytest.mark.skipif(not Path("/proc/self/limits").exists(), reason="reads the limit from /proc (Linux)")
def test_a_low_soft_limit_is_raised_at_start_up() -> None:
    hard = resource.getrlimit(resource.RLIMIT_NOFILE)[1]
    if hard != resource.RLIM_INFINITY and hard < 16_384:
        pytest.skip(f"this machine's hard limit ({hard}) is below what the endpoint asks for")
    process, limits = _start(256, hard)
    try:
        assert _soft_limit(limits) >= 16_384
    finally:
        process.terminate()
        process.communicate(timeout=20)


@pytest.mark.skipif(not Path("/proc/self/limits").exists(), reason="reads the limit from /proc (Linux)")
def test_a_limit_that_cannot_be_raised_is_reported() -> None:
    process, limits = _start(256, 256)
    try:
        assert _soft_limit(limits) == 256
    finally:
        process.terminate()
        _, errors = process.communicate(timeout=20)
    assert "ulimit -n" in errors and "256" in errors
