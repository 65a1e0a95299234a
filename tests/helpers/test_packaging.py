"""A plain ``pip install .`` (no extras) gives everything the course's helpers import at run time.

The dev extra installs many packages the helpers could lean on by accident (httpx was one). This test
installs the project into a fresh virtual environment with no extras and no access to this one's
packages, then imports every helpers module there and serves one request from the local endpoint.
It needs a package index (or pip's cache) for the dependencies; when none answers it skips, saying so.
"""

from __future__ import annotations

import shutil
import subprocess
import sys
import textwrap
import venv
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]


# pip's words for "could not reach an index", as opposed to a broken package. "No matching distribution
# found" is not one of them: pip prints it for an unsatisfiable pin on a reachable index too.
_OFFLINE = (
    "NewConnectionError",
    "Temporary failure in name resolution",
    "Network is unreachable",
    "ConnectTimeout",
    "Max retries exceeded",
)


def index_unreachable(pip_output: str) -> bool:
    """True only when pip failed because no index answered: a connection failure was reported and the
    requirement it gave up on saw no versions at all. An index that answered lists the versions it has
    ("from versions: 0.4.1, ..."), so a bad pin or a missing package is a failure, not a skip."""
    return any(word in pip_output for word in _OFFLINE) and "(from versions: none)" in pip_output

_CHECK = textwrap.dedent(
    """
    import importlib, json, pkgutil, sys
    import helpers
    assert helpers.__file__.startswith(sys.prefix), helpers.__file__  # the installed copy, not the checkout
    # helpers.testing is a pytest plugin: pytest loads it, so it may need pytest, which a plain install lacks.
    for module in pkgutil.walk_packages(helpers.__path__, "helpers."):
        if not module.name.endswith("__main__") and module.name != "helpers.testing":
            importlib.import_module(module.name)
    from helpers.local_bedrock import LocalBedrock
    with LocalBedrock(seed=0, time_scale=0.0) as server:
        body = {"anthropic_version": "bedrock-2023-05-31", "max_tokens": 200,
                "messages": [{"role": "user", "content": "Hi"}]}
        response = server.client().invoke_model(
            modelId="global.anthropic.claude-haiku-4-5-20251001-v1:0", body=json.dumps(body))
        print("stop_reason", json.loads(response["body"].read())["stop_reason"])
    """
)


@pytest.mark.slow
@pytest.mark.timeout(1200)
def test_plain_pip_install_imports_every_helper_and_serves_a_request(tmp_path: Path) -> None:
    source = tmp_path / "source"
    source.mkdir()
    # Only what the build reads, so nothing of this checkout (.venv, build output) leaks in or is written to.
    for name in ("pyproject.toml", "README.md"):
        shutil.copy2(ROOT / name, source / name)
    shutil.copytree(ROOT / "helpers", source / "helpers", ignore=shutil.ignore_patterns("__pycache__"))

    env_dir = tmp_path / "venv"
    venv.create(env_dir, with_pip=True, system_site_packages=False)
    python = env_dir / ("Scripts/python.exe" if sys.platform == "win32" else "bin/python")
    install = subprocess.run(
        [str(python), "-m", "pip", "install", "--quiet", "--disable-pip-version-check", str(source)],
        capture_output=True,
        text=True,
        timeout=1000,
    )
    if install.returncode != 0:
        output = install.stdout + install.stderr
        if index_unreachable(output):
            pytest.skip(f"no package index reachable for a fresh install: {output.strip().splitlines()[-1]}")
        pytest.fail(f"pip install . failed:\n{output}")

    consistent = subprocess.run([str(python), "-m", "pip", "check"], capture_output=True, text=True, timeout=120)
    assert consistent.returncode == 0, consistent.stdout + consistent.stderr
    run = subprocess.run([str(python), "-c", _CHECK], capture_output=True, text=True, timeout=300, cwd=tmp_path)
    assert run.returncode == 0, run.stdout + run.stderr
    assert "stop_reason end_turn" in run.stdout


# pip 26.3's own output (pip download ... --quiet, 2026-12), trimmed: an unsatisfiable pin on a reachable index,
# and the same command pointed at a port where nothing listens.
_PIN_UNSATISFIABLE = (
    "ERROR: Could not find a version that satisfies the requirement botocore==0.0.1 (from versions: 0.4.1, "
    "0.4.2, 1.44.18)\nERROR: No matching distribution found for botocore==0.0.1\n"
)
_NO_INDEX = (
    "WARNING: Retrying (Retry(total=0, connect=None, read=None, redirect=None, status=None)) after connection "
    "broken by 'NewConnectionError(\"HTTPConnection(host='127.0.0.1', port=9): Failed to establish a new "
    "connection: [Errno 111] Connection refused\")': /simple/botocore/\n"
    "ERROR: Could not find a version that satisfies the requirement botocore==1.0.0 (from versions: none)\n"
    "ERROR: No matching distribution found for botocore==1.0.0\n"
)


@pytest.mark.parametrize(("output", "offline"), [(_PIN_UNSATISFIABLE, False), (_NO_INDEX, True),
                                                 (_PIN_UNSATISFIABLE + _NO_INDEX.splitlines()[0], False)])
def test_only_an_unreachable_index_is_read_as_offline(output: str, offline: bool) -> None:
    assert index_unreachable(output) is offline
