"""The pytest plugin from outside: a fresh project installs the course package into its own virtual environment
as a user would (``pip install <the package>``), and its own test file gets the fixtures with no ``-p`` flag and
no conftest.py: pytest loads ``helpers.testing`` through the package's ``pytest11`` entry point.

To stay quick the new environment sees this one's packages (a ``.pth`` line, after its own site-packages, does
what ``--system-site-packages`` does for a non-venv Python), so boto3, pytest and the anthropic SDK are
already there (``--no-deps``), and the package itself is built and installed for real from a
copy of the sources. The build runs in pip's usual isolated build environment, because the project's
``build-system`` asks for a newer setuptools than a fresh virtual environment has: pip takes it from its cache
or the package index, and the test skips, saying so, when neither answers (as test_packaging.py does).
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import sysconfig
from pathlib import Path

import pytest
from test_packaging import _OFFLINE

ROOT = Path(__file__).resolve().parents[2]
EXAMPLE = ROOT / "examples" / "test_your_stream"

pytestmark = [pytest.mark.slow, pytest.mark.timeout(600)]


def clean_env() -> dict[str, str]:
    """No PYTHONPATH: the project must import the installed copy, not this checkout."""
    return {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "PYTEST_ADDOPTS",
                                                              "PYTEST_DISABLE_PLUGIN_AUTOLOAD")}


def test_a_fresh_project_gets_the_fixtures_from_an_installed_package(tmp_path: Path) -> None:
    source = tmp_path / "source"
    source.mkdir()
    for name in ("pyproject.toml", "README.md"):
        shutil.copy2(ROOT / name, source / name)
    shutil.copytree(ROOT / "helpers", source / "helpers", ignore=shutil.ignore_patterns("__pycache__"))

    venv = tmp_path / "venv"
    subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True, timeout=120)
    python = venv / "bin" / "python"
    own = subprocess.run([str(python), "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"],
                         capture_output=True, text=True, check=True, timeout=60).stdout.strip()
    (Path(own) / "zz_shared_dependencies.pth").write_text(sysconfig.get_paths()["purelib"] + "\n")
    install = subprocess.run([str(python), "-m", "pip", "install", "--no-deps", "--quiet", str(source)],
                             env=clean_env(), capture_output=True, text=True, timeout=300)
    if install.returncode != 0 and any(word in install.stderr for word in _OFFLINE):
        pytest.skip("no package index or pip cache to build the package with: " + install.stderr[-300:])
    assert install.returncode == 0, install.stdout + install.stderr

    project = tmp_path / "my_project"
    shutil.copytree(EXAMPLE, project, ignore=shutil.ignore_patterns("__pycache__"))
    where = subprocess.run([str(python), "-c", "import helpers.testing; print(helpers.testing.__file__)"],
                           cwd=project, env=clean_env(), capture_output=True, text=True, timeout=60)
    assert where.stdout.strip().startswith(str(venv)), where.stdout + where.stderr  # the installed copy

    run = subprocess.run([str(python), "-m", "pytest", "-q", "-p", "no:cacheprovider"],
                         cwd=project, env=clean_env(), capture_output=True, text=True, timeout=300)
    assert run.returncode == 0, run.stdout + run.stderr
    assert "5 passed" in run.stdout, run.stdout

    # Switched off by the entry point's name, the fixtures are gone: it was the entry point that loaded them.
    off = subprocess.run([str(python), "-m", "pytest", "-q", "-p", "no:cacheprovider", "-p", "no:helpers.testing",
                          "test_stream_handler.py::test_happy_path_streams_the_whole_answer"],
                         cwd=project, env=clean_env(), capture_output=True, text=True, timeout=300)
    assert off.returncode != 0 and "fixture 'bedrock_client' not found" in off.stdout, off.stdout
