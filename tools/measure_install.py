"""Time a fresh `make lab` until JupyterLab answers over HTTP (the README's cold and warm figures).

    python tools/measure_install.py --cold    # a fresh clone, empty uv and pip caches (downloads everything)
    python tools/measure_install.py           # a fresh clone, the caches of earlier runs (warm)

It clones this checkout's committed HEAD into a temporary folder, runs `make lab` there with --no-browser on a
free loopback port and a known token, polls /api/status every 0.1 s, prints the seconds from the start of
`make` to the first 200, then stops the server. Cold runs use fresh cache folders (UV_CACHE_DIR, PIP_NO_CACHE_DIR)
and a fresh home for uv itself, so nothing comes from an earlier download; warm runs use the machine's usual
caches.
"""

from __future__ import annotations

import argparse
import os
import secrets
import signal
import socket
import subprocess
import tempfile
import time
import urllib.error
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def measure(cold: bool, timeout_s: float = 900.0) -> float:
    with tempfile.TemporaryDirectory(prefix="course-install-") as tmp:
        clone = Path(tmp) / "course"
        subprocess.run(["git", "clone", "--quiet", str(ROOT), str(clone)], check=True)
        env = {k: v for k, v in os.environ.items() if not k.startswith(("VIRTUAL_ENV", "COURSE_"))}
        env.update(JUPYTER_RUNTIME_DIR=str(Path(tmp) / "runtime"), JUPYTER_CONFIG_DIR=str(Path(tmp) / "config"))
        if cold:
            env.update(UV_CACHE_DIR=str(Path(tmp) / "uv-cache"), PIP_NO_CACHE_DIR="1",
                       COURSE_UV_HOME=str(Path(tmp) / "uv-home"))  # uv itself downloaded too
        port, token = _free_port(), secrets.token_hex(8)
        lab_args = f"--no-browser --ip=127.0.0.1 --port={port} --IdentityProvider.token={token}"
        log = (Path(tmp) / "lab.log").open("wb")
        start = time.monotonic()
        process = subprocess.Popen(
            ["make", "lab", f"LAB_ARGS={lab_args}"], cwd=clone, env=env, stdout=log, stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL, start_new_session=True,
        )  # fmt: skip
        request = urllib.request.Request(f"http://127.0.0.1:{port}/api/status",
                                         headers={"Authorization": f"token {token}"})  # fmt: skip
        try:
            while time.monotonic() - start < timeout_s:
                if process.poll() is not None:
                    raise SystemExit(f"make lab exited: {(Path(tmp) / 'lab.log').read_text()[-2000:]}")
                try:
                    with urllib.request.urlopen(request, timeout=2) as response:
                        if response.status == 200:
                            return time.monotonic() - start
                except (urllib.error.URLError, ConnectionError, TimeoutError):
                    pass
                time.sleep(0.1)
            raise SystemExit("JupyterLab did not answer in time")
        finally:
            os.killpg(process.pid, signal.SIGTERM)
            process.wait(timeout=30)
            log.close()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--cold", action="store_true", help="empty package caches")
    options = parser.parse_args()
    seconds = measure(options.cold)
    print(f"{'cold' if options.cold else 'warm'}: make lab answered HTTP after {seconds:.1f} s")


if __name__ == "__main__":
    main()
