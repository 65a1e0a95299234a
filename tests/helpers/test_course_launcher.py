"""The locked environment and the launcher every OS uses (``python -m helpers.course``; make calls it too).

uv.lock must match pyproject.toml (uv's own check, which needs no index when they match); a pyproject.toml
edited without re-locking must be caught; the environment the tests run in, when the launcher made it, must
hold exactly the locked versions; and the launcher must start JupyterLab the way the README says.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from helpers.course.__main__ import lab_command, lab_environment
from helpers.course.environment import base_python, find_uv, uv_env
from helpers.course.site import WIDGET_VIEW, strip_widget_outputs

REPO = Path(__file__).resolve().parents[2]
# uv's words for "no index answered", as opposed to a lock that is out of date.
_UNREACHABLE = ("network was disabled", "Failed to fetch", "dns error", "Connection refused", "error sending request")


def _uv_lock_check(project: Path, *, offline: bool) -> subprocess.CompletedProcess[str]:
    command = [str(find_uv()), "lock", "--check", "--python", base_python()] + (["--offline"] if offline else [])
    return subprocess.run(command, cwd=project, env=uv_env(project / ".venv"), capture_output=True, text=True,
                          timeout=300, stdin=subprocess.DEVNULL)  # fmt: skip


def _check_online_or_skip(project: Path) -> subprocess.CompletedProcess[str]:
    done = _uv_lock_check(project, offline=True)
    if done.returncode and "network was disabled" in done.stderr:
        done = _uv_lock_check(project, offline=False)
        if done.returncode and any(word in done.stderr for word in _UNREACHABLE):
            pytest.skip(f"no package index reachable for uv: {done.stderr.strip().splitlines()[-1]}")
    return done


def test_uv_lock_matches_pyproject() -> None:
    done = _check_online_or_skip(REPO)
    assert done.returncode == 0, f"uv.lock is out of date: run `make lock` and commit uv.lock\n{done.stderr}"


def test_a_pyproject_change_without_relocking_is_caught(tmp_path: Path) -> None:
    for name in ("pyproject.toml", "uv.lock", "README.md"):
        shutil.copy2(REPO / name, tmp_path / name)
    pyproject = tmp_path / "pyproject.toml"
    text = pyproject.read_text(encoding="utf-8")
    assert '"matplotlib>=3.8"' in text
    # A minimum the locked matplotlib still meets: only the recorded requirements differ.
    pyproject.write_text(text.replace('"matplotlib>=3.8"', '"matplotlib>=3.9"'), encoding="utf-8")
    done = _check_online_or_skip(tmp_path)
    assert done.returncode != 0
    assert "needs to be updated" in done.stderr, done.stderr


def test_the_launchers_environment_holds_exactly_the_locked_test_set() -> None:
    config = Path(sys.prefix) / "pyvenv.cfg"
    if sys.prefix == sys.base_prefix or "uv = " not in config.read_text(encoding="utf-8"):
        pytest.skip(f"{sys.prefix} was not made by the launcher (make test / python -m helpers.course test)")
    command = [str(find_uv()), "sync", "--locked", "--extra", "dev", "--check", "--offline", "--python", base_python()]
    done = subprocess.run(command, cwd=REPO, env=uv_env(Path(sys.prefix)), capture_output=True, text=True,
                          timeout=300, stdin=subprocess.DEVNULL)  # fmt: skip
    assert done.returncode == 0, done.stdout + done.stderr


def test_lab_starts_on_the_first_lesson_with_the_course_config_and_the_local_backend() -> None:
    env = lab_environment({"PATH": "/bin"})
    assert env["BEDROCK_BACKEND"] == "local"
    assert env["JUPYTER_CONFIG_PATH"] == str(REPO / "lab-config")
    assert env["PATH"] == "/bin"
    command = lab_command(Path("venv"), ["--no-browser"])
    assert "--LabApp.default_url=/lab/tree/00_setup_and_first_call.ipynb" in command
    assert f"--notebook-dir={REPO / 'notebooks'}" in command
    assert command[-1] == "--no-browser"
    assert ("--allow-root" in command) == (hasattr(os, "geteuid") and os.geteuid() == 0)


def test_lab_keeps_the_learners_backend_and_config_path() -> None:
    env = lab_environment({"BEDROCK_BACKEND": "aws", "JUPYTER_CONFIG_PATH": "/etc/mine"})
    assert env["BEDROCK_BACKEND"] == "aws"
    assert env["JUPYTER_CONFIG_PATH"] == f"{REPO / 'lab-config'}{os.pathsep}/etc/mine"
    assert lab_environment({"BEDROCK_BACKEND": ""})["BEDROCK_BACKEND"] == "local"  # as `${BEDROCK_BACKEND:-local}`


def test_the_site_shows_the_static_copy_not_the_widget() -> None:
    static = {"text/html": '<div class="bedrock-stream">Hello</div>', "text/plain": "[done]\nHello"}
    widget = {WIDGET_VIEW: {"model_id": "abc", "version_major": 2}, "text/plain": "VBox(children=(HTML(value=''),))"}
    notebook = {
        "metadata": {"widgets": {"application/vnd.jupyter.widget-state+json": {"state": {}}}},
        "cells": [
            {"cell_type": "markdown", "source": "# T"},
            {"cell_type": "code", "source": "view()", "outputs": [
                {"output_type": "display_data", "data": widget, "metadata": {}},
                {"output_type": "display_data", "data": static, "metadata": {}},
                {"output_type": "stream", "name": "stdout", "text": "done\n"},
            ]},
        ],
    }  # fmt: skip
    stripped = strip_widget_outputs(notebook)
    outputs = stripped["cells"][1]["outputs"]
    assert [o.get("data", {}).get("text/plain", o.get("text")) for o in outputs] == ["[done]\nHello", "done\n"]
    assert "widgets" not in stripped["metadata"]


def test_a_frame_onto_a_page_the_notebook_served_becomes_a_note() -> None:
    frame = {"text/html": '<iframe width="100%" height="420" src="http://127.0.0.1:43675/"></iframe>',
             "text/plain": "<IPython.lib.display.IFrame at 0x7f574eceb250>"}
    elsewhere = {"text/html": '<iframe src="https://docs.aws.amazon.com/bedrock/"></iframe>', "text/plain": "x"}
    notebook = {"cells": [{"cell_type": "code", "source": "IFrame(url)", "outputs": [
        {"output_type": "display_data", "data": frame, "metadata": {}},
        {"output_type": "display_data", "data": dict(elsewhere), "metadata": {}},
    ]}]}  # fmt: skip
    outputs = strip_widget_outputs(notebook)["cells"][0]["outputs"]
    assert "127.0.0.1" not in outputs[0]["data"]["text/html"] and "Run the lesson" in outputs[0]["data"]["text/html"]
    assert outputs[1]["data"] == elsewhere  # a frame onto a real site is left alone
