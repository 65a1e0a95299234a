"""A throwaway JupyterLab (or Jupyter Notebook 7) server and Debian's Chromium, for the browser tests and the
display-lag benchmark.

Everything the server writes (settings, workspaces, runtime files, config) lives in one temporary folder, so a
run never touches the developer's own JupyterLab state and never modifies a stored notebook: callers copy what
they need into the server's root folder. The course's own JupyterLab configuration (lab-config/, what
`make lab` uses) is on JUPYTER_CONFIG_PATH here too, so the page runs the way a learner's does.
"""

from __future__ import annotations

import json
import os
import secrets
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
ARTIFACTS = REPO / "test-artifacts" / "browser"
CHROMIUM = Path(os.environ.get("CHROMIUM", "/usr/bin/chromium"))
VENV_BIN = Path(sys.executable).parent
LAB_CONFIG = REPO / "lab-config"

# Chromium must stay quiet on a closed network: no first-run, sync, component or background fetches
# (without these it floods the loopback-only sandbox with refused connections), no QUIC, no GPU.
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--disable-default-apps",
    "--disable-extensions",
    "--disable-dev-shm-usage",
]

# User settings JupyterLab reads from JUPYTERLAB_SETTINGS_DIR. Windowing off keeps every cell in the
# DOM (a virtualised notebook drops cells that scroll away, and the test reads them all); no extension
# manager (it would query PyPI). News and update checks are off through lab-config/, as for a learner.
LAB_USER_SETTINGS: dict[str, dict[str, object]] = {
    "@jupyterlab/notebook-extension/tracker": {"windowingMode": "none"},
    "@jupyterlab/extensionmanager-extension/plugin": {"enabled": False},
}

# Test-only server settings, on top of lab-config/jupyter_server_config.json.
SERVER_CONFIG = {
    "LabApp": {
        "extension_manager": "readonly",
        # window.jupyterapp lets the test run JupyterLab commands and read the notebook model.
        "expose_app_in_browser": True,
    },
    # Notebook 7 is built from JupyterLab's parts and exposes the same application object when asked.
    "JupyterNotebookApp": {"expose_app_in_browser": True},
    # CI containers run as root; the server refuses that unless told it is intended.
    "ServerApp": {"terminals_enabled": False, "allow_root": True},
}


def chromium_missing_message() -> str | None:
    if CHROMIUM.is_file() and os.access(CHROMIUM, os.X_OK):
        return None
    return (
        f"{CHROMIUM} is missing: install Debian's Chromium (`sudo apt-get install chromium`, or `make chromium` "
        "as root), or point the CHROMIUM environment variable at a Chromium binary"
    )


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@dataclass(frozen=True)
class JupyterLab:
    """A running JupyterLab (or Notebook 7): where it listens, its token and the folder it serves."""

    base_url: str
    token: str
    root: Path
    log: Path
    app: str = "lab"  # or "notebook": Jupyter Notebook 7

    def notebook_url(self, name: str) -> str:
        if self.app == "notebook":
            return f"{self.base_url}/notebooks/{name}?token={self.token}"
        return f"{self.base_url}/lab/tree/{name}?token={self.token}&reset"


def _write_lab_home(home: Path) -> dict[str, str]:
    """Create the temporary Jupyter folders and return the environment that points the server at them."""
    settings = home / "lab-settings"
    for plugin, values in LAB_USER_SETTINGS.items():
        path = settings / f"{plugin}.jupyterlab-settings"
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(json.dumps(values), encoding="utf-8")
    config = home / "config"
    config.mkdir()
    (config / "jupyter_server_config.json").write_text(json.dumps(SERVER_CONFIG), encoding="utf-8")
    for name in ("workspaces", "runtime", "data"):
        (home / name).mkdir()
    env = dict(os.environ)
    env.update(
        {
            # The venv's kernelspec and lab extensions sit under sys.prefix/share/jupyter, which Jupyter
            # always searches, so a temporary data dir does not hide them.
            "JUPYTER_CONFIG_DIR": str(config),
            "JUPYTER_CONFIG_PATH": str(LAB_CONFIG),
            "JUPYTER_DATA_DIR": str(home / "data"),
            "JUPYTER_RUNTIME_DIR": str(home / "runtime"),
            "JUPYTERLAB_SETTINGS_DIR": str(settings),
            "JUPYTERLAB_WORKSPACES_DIR": str(home / "workspaces"),
            "PATH": f"{VENV_BIN}{os.pathsep}{env.get('PATH', '')}",
            "BEDROCK_BACKEND": "local",
            "PYTHONUNBUFFERED": "1",
        }
    )
    return env


def _wait_until_up(lab: JupyterLab, process: subprocess.Popen[bytes], timeout_s: float = 60.0) -> None:
    deadline = time.monotonic() + timeout_s
    request = urllib.request.Request(f"{lab.base_url}/api/status", headers={"Authorization": f"token {lab.token}"})
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"jupyter lab exited with {process.returncode}; log:\n{lab.log.read_text()[-4000:]}")
        try:
            with urllib.request.urlopen(request, timeout=2) as response:
                if response.status == 200:
                    return
        except (urllib.error.URLError, ConnectionError, TimeoutError):
            pass
        time.sleep(0.2)
    tail = lab.log.read_text()[-4000:]
    raise RuntimeError(f"jupyter lab did not answer /api/status within {timeout_s:.0f} s; log:\n{tail}")


@contextmanager
def running_lab(home: Path, root: Path, *, app: str = "lab") -> Iterator[JupyterLab]:
    """A headless JupyterLab (``app="notebook"``: Notebook 7) on a free loopback port with a throwaway token,
    settings and root folder."""
    if app not in ("lab", "notebook"):
        raise ValueError(f"app must be 'lab' or 'notebook', got {app!r}")
    env = _write_lab_home(home)
    port, token = free_port(), secrets.token_hex(16)
    lab = JupyterLab(f"http://127.0.0.1:{port}", token, root, home / "server.log", app)
    command = [
        str(VENV_BIN / "jupyter"), app, "--no-browser", "--ip=127.0.0.1", f"--port={port}",
        "--ServerApp.port_retries=0", f"--IdentityProvider.token={token}", f"--ServerApp.root_dir={root}",
    ]  # fmt: skip
    with lab.log.open("wb") as log:
        # A new session makes the server the leader of its own process group, so teardown can end it
        # together with the kernels it started, and nothing else.
        process = subprocess.Popen(
            command, cwd=root, env=env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True
        )
    try:
        _wait_until_up(lab, process)
        yield lab
    finally:
        _stop_group(process)


def _stop_group(process: subprocess.Popen[bytes]) -> None:
    for sig, wait_s in ((signal.SIGTERM, 15), (signal.SIGKILL, 5)):
        try:
            os.killpg(process.pid, sig)
        except ProcessLookupError:
            return
        try:
            process.wait(timeout=wait_s)
        except subprocess.TimeoutExpired:
            continue
        # The server is gone; kernels in its group may linger a moment longer.
        try:
            os.killpg(process.pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
        return


@contextmanager
def chromium_browser() -> Iterator[object]:
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        # launch() gives each run a fresh temporary profile that Playwright deletes afterwards.
        browser = playwright.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS, headless=True)
        try:
            yield browser
        finally:
            browser.close()


def new_page(browser: object) -> tuple[object, object]:
    """A fresh context and page, sized so a lesson's live cell and its neighbours fit a screenshot."""
    context = browser.new_context(viewport={"width": 1280, "height": 1400}, device_scale_factor=1)  # type: ignore[attr-defined]
    return context, context.new_page()
