"""A room with no internet: ``make wheelhouse`` on a connected machine, then ``make lab`` installs offline.

The test builds the wheelhouse for the lab set with the Makefile's own target (pip's cache makes this
mostly a copy), then runs the launcher's lab install (what ``make lab`` runs) into a fresh virtual
environment with every index switched off (``PIP_NO_INDEX=1`` and uv pointed at a dead port, on top of the
``--no-index`` the launcher passes), uv itself included. What it proves: every package the lessons need is
in the wheelhouse at its locked version, the install never reaches an index, and the lab set carries the
anthropic SDK (lesson 7) but no test tools.
Building the wheelhouse needs a package index (or pip's cache); when none answers the test skips, saying so.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from helpers.course.environment import find_uv

ROOT = Path(__file__).resolve().parents[2]

pytestmark = [pytest.mark.slow, pytest.mark.timeout(1800)]

_OFFLINE = (
    "NewConnectionError",
    "Temporary failure in name resolution",
    "Network is unreachable",
    "ConnectTimeout",
    "Max retries exceeded",
)

_CHECK = textwrap.dedent(
    """
    import importlib.util, json
    import anthropic, boto3, ipywidgets, jupyterlab, matplotlib, papermill
    from helpers.local_bedrock import LocalBedrock
    test_tools = [m for m in ("pytest", "playwright", "hypothesis", "ruff", "nbval") if importlib.util.find_spec(m)]
    assert not test_tools, f"the lab set installed test tools: {test_tools}"
    with LocalBedrock(seed=0, time_scale=0.0) as server:
        client = anthropic.AnthropicBedrock(
            base_url=server.endpoint_url, aws_region="us-east-1", aws_access_key="room", aws_secret_key="room")
        with client.messages.stream(model="global.anthropic.claude-haiku-4-5-20251001-v1:0", max_tokens=5,
                                    messages=[{"role": "user", "content": "Hi"}],
                                    # SDK 2.x sends 2026-10-21, which ARN-versioned models refuse on Bedrock.
                                    extra_body={"anthropic_version": "bedrock-2023-05-31"}) as stream:
            print("stop_reason", stream.get_final_message().stop_reason)
    """
)


def _copy_source(target: Path) -> None:
    target.mkdir()
    for name in ("pyproject.toml", "uv.lock", "README.md", "Makefile"):
        shutil.copy2(ROOT / name, target / name)
    shutil.copytree(ROOT / "helpers", target / "helpers", ignore=shutil.ignore_patterns("__pycache__"))


def test_make_lab_installs_from_a_wheelhouse_with_the_index_switched_off(tmp_path: Path) -> None:
    if shutil.which("make") is None:
        pytest.skip("make is not installed")
    source = tmp_path / "course"
    _copy_source(source)
    wheelhouse = tmp_path / "wheelhouse"

    # The uv this checkout already uses builds it (no second bootstrap); the offline install below makes its own.
    building = dict(os.environ, COURSE_UV=str(find_uv()), COURSE_UV_HOME=str(tmp_path / "build-tools"))
    built = subprocess.run(
        ["make", "wheelhouse", f"PYTHON={sys.executable}", f"WHEELHOUSE_DIR={wheelhouse}"],
        cwd=source, env=building, capture_output=True, text=True, timeout=1200,
    )
    if built.returncode != 0:
        output = built.stdout + built.stderr
        if any(word in output for word in _OFFLINE):
            pytest.skip(f"no package index reachable to build the wheelhouse: {output.strip().splitlines()[-1]}")
        pytest.fail(f"make wheelhouse failed:\n{output}")
    wheels = sorted(p.name for p in wheelhouse.glob("*.whl"))
    assert any(w.startswith("anthropic-") for w in wheels), wheels
    assert any(w.startswith("uv-") for w in wheels), wheels
    assert not any(w.startswith(("pytest-", "playwright-", "ruff-")) for w in wheels), wheels

    venv_dir = tmp_path / "venv"
    offline = {
        **{k: v for k, v in os.environ.items() if not k.startswith(("PIP_", "UV_", "COURSE_", "VIRTUAL_ENV"))},
        "PIP_NO_INDEX": "1",
        # Any index access would have to go here, and nothing listens on port 9.
        "PIP_INDEX_URL": "http://127.0.0.1:9/simple",
        "UV_INDEX_URL": "http://127.0.0.1:9/simple",
        "UV_CACHE_DIR": str(tmp_path / "uv-cache"),  # an empty cache: nothing comes from an earlier download
        "COURSE_UV_HOME": str(tmp_path / "uv-home"),  # and uv itself installed anew, from the wheelhouse
    }
    installed = subprocess.run(
        [sys.executable, "-m", "helpers.course", "--venv", str(venv_dir), "--wheelhouse", str(wheelhouse),
         "install", "lab"],
        cwd=source, env=offline, capture_output=True, text=True, timeout=1200,
    )  # fmt: skip
    assert installed.returncode == 0, installed.stdout + installed.stderr
    python = venv_dir / "bin" / "python"
    uv = tmp_path / "uv-home" / "bin" / "uv"  # installed from the wheelhouse, with the index off
    consistent = subprocess.run([str(uv), "pip", "check", "--python", str(python)], capture_output=True, text=True,
                                timeout=120, env=offline)  # fmt: skip
    assert consistent.returncode == 0, consistent.stdout + consistent.stderr
    run = subprocess.run([str(python), "-c", _CHECK], capture_output=True, text=True, timeout=300, cwd=tmp_path)
    assert run.returncode == 0, run.stdout + run.stderr
    assert "stop_reason max_tokens" in run.stdout  # five tokens: the answer is cut, as asked
