"""The locked environment: uv from PyPI, then exactly the versions in uv.lock, on any OS.

Standard library only: this runs under whatever Python the learner typed, before the course's virtual
environment exists. uv itself comes from PyPI (`pip install uv`, the wheel carries the binary) into a small
virtual environment of its own in the user's cache folder (shared by every clone of the course, so a second
clone or a fresh `.venv` needs no download), so the course's environment never holds the tool that syncs it
(an exact sync would remove it, and Windows cannot delete a running program).
"""

from __future__ import annotations

import os
import subprocess
import sys
import venv
from collections.abc import Sequence
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
# One version for every machine in a room: uv's lock format and resolver change between releases.
# Bump it here (and run `make lock`) to move on.
UV_VERSION = "0.13.8"
DEFAULT_VENV = REPO / ".venv"
LOCK = REPO / "uv.lock"


def _user_cache() -> Path:
    if os.name == "nt":
        return Path(os.environ.get("LOCALAPPDATA") or Path.home() / "AppData" / "Local")
    if sys.platform == "darwin":
        return Path.home() / "Library" / "Caches"
    return Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache")


# COURSE_UV_HOME moves it (the install test and the cold-cache measurement start from an empty one).
UV_HOME = Path(os.environ.get("COURSE_UV_HOME") or _user_cache() / "bedrock-streaming-course" / f"uv-{UV_VERSION}")


class CourseError(RuntimeError):
    """A step of the set-up failed; the message says what and how to fix it."""


def _bin(env_dir: Path, name: str) -> Path:
    if os.name == "nt":
        return env_dir / "Scripts" / (name if name.endswith(".exe") else f"{name}.exe")
    return env_dir / "bin" / name


def venv_python(env_dir: Path) -> Path:
    return _bin(env_dir, "python")


def venv_script(env_dir: Path, name: str) -> Path:
    return _bin(env_dir, name)


def base_python() -> str:
    """The interpreter the course's environment is built on: the one running this, never a download.

    Run from inside a virtual environment, `sys._base_executable` names the interpreter it was made from.
    """
    return getattr(sys, "_base_executable", None) or sys.executable


def run(command: Sequence[str | Path], *, env: dict[str, str] | None = None, what: str) -> None:
    printable = " ".join(str(part) for part in command)
    done = subprocess.run([str(part) for part in command], cwd=REPO, env=env)
    if done.returncode:
        raise CourseError(f"{what} failed (exit {done.returncode}): {printable}")


def find_uv(wheelhouse: Path | None = None) -> Path:
    """uv at the pinned version: COURSE_UV if set, else UV_HOME's (installed from PyPI or the wheelhouse once)."""
    explicit = os.environ.get("COURSE_UV")
    if explicit:
        return Path(explicit)
    uv = venv_script(UV_HOME, "uv")
    if uv.exists() and _uv_version(uv) == UV_VERSION:
        return uv
    print(f"Installing uv {UV_VERSION} into {UV_HOME} (once; it installs the course's locked packages)", flush=True)
    venv.create(UV_HOME, with_pip=True, clear=True)
    source = ["--no-index", "--find-links", str(wheelhouse)] if wheelhouse else []
    run([venv_python(UV_HOME), "-m", "pip", "install", "--quiet", "--disable-pip-version-check", *source,
         f"uv=={UV_VERSION}"], what="Installing uv")  # fmt: skip
    return uv


def _uv_version(uv: Path) -> str | None:
    try:
        out = subprocess.run([str(uv), "--version"], capture_output=True, text=True, timeout=30).stdout
    except OSError:
        return None
    parts = out.split()
    return parts[1] if len(parts) > 1 else None


def uv_env(venv_dir: Path) -> dict[str, str]:
    env = dict(os.environ)
    # uv syncs this folder instead of ./.venv; Makefile's VENV and --venv land here.
    env["UV_PROJECT_ENVIRONMENT"] = str(venv_dir)
    # A missing interpreter is the learner's to install: never a Python downloaded from outside the registries.
    env["UV_PYTHON_DOWNLOADS"] = "never"
    env.pop("VIRTUAL_ENV", None)  # an activated environment elsewhere would only draw a warning
    return env


def sync(venv_dir: Path, extras: Sequence[str], *, exact: bool, wheelhouse: Path | None = None) -> None:
    """Install exactly the locked versions of the given extras (and the course, editable) into venv_dir.

    `--locked` refuses a lock that no longer matches pyproject.toml instead of quietly re-resolving.
    exact=False keeps packages outside these extras (`lab` on the environment `test` made keeps the test
    tools), while every package of the extras still gets its locked version.
    """
    if wheelhouse:
        _install_from_wheelhouse(venv_dir, wheelhouse)
        return
    uv = find_uv()
    command: list[str | Path] = [uv, "sync", "--locked", "--python", base_python()]
    for extra in extras:
        command += ["--extra", extra]
    if not exact:
        command.append("--inexact")
    print(f"Installing the locked {' + '.join(extras)} set into {venv_dir}", flush=True)
    try:
        run(command, env=uv_env(venv_dir), what="uv sync")
    except CourseError as error:
        raise CourseError(
            f"{error}\nIf uv says the lockfile needs to be updated, pyproject.toml changed: run `make lock` "
            "(or `python -m helpers.course lock`) and commit uv.lock."
        ) from None


def _install_from_wheelhouse(venv_dir: Path, wheelhouse: Path) -> None:
    """The lab set from a wheelhouse with every index switched off, at the versions and hashes it was built for.

    `uv sync` cannot: it fetches a locked package from the URL in uv.lock, and re-resolving against the folder
    would no longer be the lock. The wheelhouse carries the lock's own export (`make wheelhouse` wrote it).
    """
    requirements = wheelhouse / "requirements.lock.txt"
    if not requirements.is_file():
        raise CourseError(f"{wheelhouse} has no requirements.lock.txt: rebuild it with `make wheelhouse`")
    uv = find_uv(wheelhouse)
    env = uv_env(venv_dir)
    print(f"Installing the locked lab set from {wheelhouse} into {venv_dir} (no index)", flush=True)
    if not venv_python(venv_dir).exists():
        run([uv, "venv", "--quiet", "--python", base_python(), venv_dir], env=env, what="uv venv")
    offline = ["--offline", "--no-index", "--find-links", wheelhouse, "--python", venv_python(venv_dir)]
    run([uv, "pip", "install", "--quiet", *offline, "-r", requirements], env=env, what="uv pip install")
    run([uv, "pip", "install", "--quiet", *offline, "--no-deps", "-e", REPO], env=env, what="uv pip install")


def lock(*, upgrade: bool = False, check: bool = False) -> None:
    """Re-resolve uv.lock from pyproject.toml (keeping current pins unless upgrade), or only check it."""
    command: list[str | Path] = [find_uv(), "lock", "--python", base_python()]
    if upgrade:
        command.append("--upgrade")
    if check:
        command.append("--check")
    run(command, env=uv_env(DEFAULT_VENV), what="uv lock")


def wheelhouse(target: Path) -> int:
    """Wheels of the locked lab set, uv itself and the build backend, for `make lab` with no index."""
    uv = find_uv()
    target.mkdir(parents=True, exist_ok=True)
    requirements = target / "requirements.lock.txt"
    run([uv, "export", "--locked", "--extra", "lab", "--no-emit-project", "--format", "requirements.txt",
         "--quiet", "--output-file", requirements], env=uv_env(DEFAULT_VENV), what="uv export")  # fmt: skip
    if not venv_python(UV_HOME).exists():  # uv came from COURSE_UV: UV_HOME is still where pip lives
        venv.create(UV_HOME, with_pip=True)
    pip = [venv_python(UV_HOME), "-m", "pip", "--disable-pip-version-check"]
    # The hashes uv wrote put pip in hash-checking mode: a wheel that differs from the lock is refused.
    run([*pip, "wheel", "--quiet", "--no-deps", "--wheel-dir", target, "-r", requirements], what="pip wheel")
    run([*pip, "wheel", "--quiet", "--wheel-dir", target, f"uv=={UV_VERSION}", "setuptools>=68"], what="pip wheel")
    return len(list(target.glob("*.whl")))
