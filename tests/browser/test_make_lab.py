"""`make lab` starts clean: the first lesson named, no news pop-up, no warning a learner cannot act on.

Runs the real `make lab` target, and the command a learner without make types (`python -m helpers.course lab`),
each with --no-browser on a free loopback port; opens the first lesson, starts a kernel through the server's
REST API as JupyterLab does when a notebook opens, and reads what the terminal showed. Both install into the
environment running this test (a no-op when it holds the locked set), so they run only when the launcher made it.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import signal
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest

pytestmark = [pytest.mark.slow, pytest.mark.timeout(120)]

REPO = Path(__file__).resolve().parents[2]


def _free_port() -> int:
    import socket

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _call(url: str, token: str, method: str = "GET", body: bytes | None = None) -> dict:
    request = urllib.request.Request(url, data=body, method=method, headers={"Authorization": f"token {token}"})
    with urllib.request.urlopen(request, timeout=10) as response:
        return json.loads(response.read() or b"{}")


def _command(front: str, lab_args: list[str]) -> list[str]:
    if front == "make":
        return ["make", "--no-print-directory", "lab", f"LAB_ARGS={' '.join(lab_args)}", f"VENV={sys.prefix}",
                f"PYTHON={sys.executable}"]  # fmt: skip
    return [sys.executable, "-m", "helpers.course", "--venv", sys.prefix, "lab", *lab_args]


@pytest.mark.parametrize("front", ["make", "launcher"])
def test_make_lab_starts_clean(tmp_path: Path, front: str) -> None:
    config = Path(sys.prefix) / "pyvenv.cfg"
    if sys.prefix == sys.base_prefix or "uv = " not in config.read_text(encoding="utf-8"):
        pytest.skip(f"{sys.prefix} was not made by the launcher: `lab` would install the locked set into it")
    if front == "make" and shutil.which("make") is None:
        pytest.skip("make is not installed")
    port = _free_port()
    log = tmp_path / "lab.log"
    env = dict(os.environ, JUPYTER_RUNTIME_DIR=str(tmp_path / "runtime"), JUPYTER_CONFIG_DIR=str(tmp_path / "cfg"))
    env.pop("BEDROCK_BACKEND", None)
    lab_args = ["--no-browser", "--ip=127.0.0.1", f"--port={port}", "--ServerApp.port_retries=0"]
    with log.open("wb") as out:
        process = subprocess.Popen(
            _command(front, lab_args), cwd=REPO, env=env, stdout=out, stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL, start_new_session=True,
        )  # fmt: skip
    try:
        deadline = time.monotonic() + 60
        token = None
        while time.monotonic() < deadline and token is None:
            assert process.poll() is None, f"make lab exited early:\n{log.read_text()[-3000:]}"
            found = re.search(rf"http://127\.0\.0\.1:{port}/\S*token=(\w+)", log.read_text())
            token = found.group(1) if found else None
            time.sleep(0.2)
        assert token, f"JupyterLab did not print its URL within 60 s:\n{log.read_text()[-3000:]}"
        base = f"http://127.0.0.1:{port}"
        first = sorted(p.name for p in (REPO / "notebooks").glob("[0-9][0-9]_*.ipynb"))[0]
        lesson = _call(f"{base}/api/contents/{first}?content=0", token)
        assert (lesson["type"], lesson["path"]) == ("notebook", first), lesson

        kernel = _call(f"{base}/api/kernels", token, "POST", json.dumps({"name": "python3"}).encode())
        # The server's activity monitor listens on the kernel's IOPub channel: a new last_activity means the
        # kernel started and the server talks to it (over CurveZMQ with the course's settings).
        deadline = time.monotonic() + 30
        while _call(f"{base}/api/kernels/{kernel['id']}", token)["last_activity"] == kernel["last_activity"]:
            assert time.monotonic() < deadline, f"the kernel never spoke to the server:\n{log.read_text()[-2000:]}"
            time.sleep(0.2)
        time.sleep(1)  # the kernel's own start-up log lines reach the terminal just after
        settings = _call(f"{base}/lab/api/settings/@jupyterlab/apputils-extension:notification", token)
    finally:
        os.killpg(process.pid, signal.SIGTERM)
        try:
            process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait()

    output = log.read_text()
    assert f"Begin with {first}" in output, "the terminal does not name the first lesson"
    assert f"/lab/tree/{first}?token=" in output, "the printed URL does not open the first lesson"
    assert "without encryption" not in output, "kernels still warn about unencrypted TCP:\n" + output[-2000:]
    # The course's overrides become the schema's defaults, which JupyterLab uses unless the learner changed them.
    defaults = {name: spec.get("default") for name, spec in settings["schema"]["properties"].items()}
    assert defaults["fetchNews"] == "false", "the news pop-up would still ask the learner"
    assert defaults["checkForUpdates"] is False
