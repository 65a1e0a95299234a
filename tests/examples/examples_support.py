"""Build and run the examples/ programs as a user would, reading their output as it arrives."""

from __future__ import annotations

import json
import os
import selectors
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[2]
EXAMPLES = REPO / "examples"

# What every example calls by default (examples/*): Claude Haiku 4.5 through the global inference profile.
CURRENT_MODEL = "global.anthropic.claude-haiku-4-5-20251001-v1:0"
# What AWS's published example calls: Claude 3 Haiku, end of life on Bedrock since 2026-09-10.
PUBLISHED_MODEL = "anthropic.claude-3-haiku-20240307-v1:0"
EOL_MESSAGE = ("This model version has reached the end of its life. "
               "Please refer to the AWS documentation for more details.")
MID_STREAM_MESSAGE = "The model stopped half-way (fault injected by the examples' tests)."
PROMPT = "Describe the purpose of a 'hello world' program in one line."


@dataclass(frozen=True)
class Program:
    name: str
    argv: tuple[str, ...]
    # How the program names the SDK's typed exception in its error line (Go prints the Go type).
    exception_prefix: str = ""


PROGRAMS = {
    program.name: program
    for program in (
        Program("python", (sys.executable, str(EXAMPLES / "python" / "stream_claude.py"))),
        Program("javascript", ("node", str(EXAMPLES / "javascript" / "stream_claude.js"))),
        Program("javascript-http1", ("node", str(EXAMPLES / "javascript" / "stream_claude.js"), "--http1")),
        Program("java", ("java", "-jar", str(EXAMPLES / "java" / "target" / "stream-claude.jar"))),
        Program("go", (str(EXAMPLES / "go" / "stream-claude"),), exception_prefix="*types."),
    )
}


def build_examples() -> None:
    """``make examples-build``: checks the toolchains, downloads what is pinned, rebuilds what changed."""
    # A make above us (make test) would hand its jobserver down; this build stands on its own.
    env = {k: v for k, v in os.environ.items() if k not in ("MAKEFLAGS", "MFLAGS", "MAKELEVEL")}
    done = subprocess.run(["make", "-s", "-j2", "examples-build"], cwd=REPO, env=env, stdin=subprocess.DEVNULL,
                          capture_output=True, text=True, timeout=900)
    if done.returncode:
        raise RuntimeError(f"make examples-build failed (exit {done.returncode}):\n{done.stdout}\n{done.stderr}")


def child_env(endpoint_url: str, **extra: str) -> dict[str, str]:
    """This machine's environment without its AWS settings, pointed at the local endpoint.

    Also without switches that would make a program's output arrive in pieces whatever the program does
    (PYTHONUNBUFFERED): the tests check that each program flushes its text itself.
    """
    env = {k: v for k, v in os.environ.items()
           if not k.startswith("AWS_") and k not in ("NODE_DEBUG", "PYTHONUNBUFFERED")}
    env.update(
        AWS_ENDPOINT_URL_BEDROCK_RUNTIME=endpoint_url,
        AWS_REGION="us-east-1",
        AWS_ACCESS_KEY_ID="local",
        AWS_SECRET_ACCESS_KEY="local",
        # No profile files and no instance metadata: the keys above are the only credentials in play.
        AWS_CONFIG_FILE=os.devnull,
        AWS_SHARED_CREDENTIALS_FILE=os.devnull,
        AWS_EC2_METADATA_DISABLED="true",
    )
    env.update(extra)
    return env


@dataclass
class Run:
    returncode: int
    reads: list[tuple[int, bytes]] = field(default_factory=list)  # (perf_counter_ns at receipt, bytes)
    stderr: str = ""

    @property
    def stdout(self) -> str:
        return b"".join(data for _, data in self.reads).decode("utf-8")

    def describe(self) -> str:
        return f"exit {self.returncode}\n--- stdout ---\n{self.stdout}\n--- stderr ---\n{self.stderr}"


def run_program(program: Program, args: list[str], env: dict[str, str], timeout: float = 120) -> Run:
    """Run to the end, stamping each read of its stdout the moment it returns."""
    with tempfile.TemporaryFile() as stderr:
        child = subprocess.Popen([*program.argv, *args], cwd=REPO, env=env, stdin=subprocess.DEVNULL,
                                 stdout=subprocess.PIPE, stderr=stderr, bufsize=0)
        assert child.stdout is not None
        run = Run(returncode=-1)
        deadline = time.monotonic() + timeout
        with selectors.DefaultSelector() as selector:
            selector.register(child.stdout, selectors.EVENT_READ)
            while True:
                left = deadline - time.monotonic()
                if left <= 0 or not selector.select(left):
                    child.kill()
                    child.wait()
                    raise TimeoutError(f"{program.name} did not finish in {timeout:g} s:\n{run.stdout}")
                data = os.read(child.stdout.fileno(), 65536)
                stamp = time.perf_counter_ns()
                if not data:
                    break
                run.reads.append((stamp, data))
        child.stdout.close()
        run.returncode = child.wait(timeout=max(deadline - time.monotonic(), 1))
        stderr.seek(0)
        run.stderr = stderr.read().decode("utf-8", "replace")
    return run


def request_body(prompt: str) -> dict[str, Any]:
    """The body every example sends (the endpoint's answer is deterministic per body and seed)."""
    return {
        "anthropic_version": "bedrock-2023-05-31",
        "max_tokens": 512,
        "messages": [{"role": "user", "content": [{"type": "text", "text": prompt}]}],
    }


def streamed_text(client: Any, prompt: str, model_id: str = CURRENT_MODEL) -> str:
    """The answer's text as boto3 receives it."""
    response = client.invoke_model_with_response_stream(modelId=model_id, body=json.dumps(request_body(prompt)))
    pieces = []
    for event in response["body"]:
        chunk = json.loads(event["chunk"]["bytes"])
        if chunk["type"] == "content_block_delta" and chunk["delta"]["type"] == "text_delta":
            pieces.append(chunk["delta"]["text"])
    return "".join(pieces)


def prompt_for(program: str) -> str:
    """One prompt per program, so each program's call is found in the endpoint's call log."""
    return f"{PROMPT} ({program})"
