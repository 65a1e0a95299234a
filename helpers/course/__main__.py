"""``python -m helpers.course COMMAND``: every set-up task of the course, the same on Windows, macOS and Linux.

    python -m helpers.course lab          # install the locked lab set into .venv, open JupyterLab on lesson 0
    python -m helpers.course test         # install the locked test set, then ruff, pytest and nbval
    python -m helpers.course test tests/helpers -x    # ... then pytest on what you name
    python -m helpers.course endpoint     # the local Bedrock endpoint as a server (options pass through)
    python -m helpers.course dry-run      # every lesson with papermill on the aws backend
    python -m helpers.course site         # the lessons as a static site in build/site/
    python -m helpers.course lock         # re-resolve uv.lock after editing pyproject.toml (--upgrade: newest)
    python -m helpers.course wheelhouse   # wheels for a room with no internet

Run it from the course folder with Python 3.11 or newer (`py -3.11` on Windows). The Makefile's targets of
the same names call these. Standard library only until the environment exists.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
from collections.abc import Mapping, Sequence
from pathlib import Path

from helpers.course.environment import (
    DEFAULT_VENV,
    REPO,
    CourseError,
    lock,
    sync,
    venv_python,
    venv_script,
    wheelhouse,
)

LAB_CONFIG = REPO / "lab-config"
NOTEBOOKS = REPO / "notebooks"


def first_lesson() -> str:
    return sorted(path.name for path in NOTEBOOKS.glob("[0-9][0-9]_*.ipynb"))[0]


def lab_environment(base: Mapping[str, str]) -> dict[str, str]:
    """What JupyterLab starts with: the course's lab-config/ first on the config path, the local backend.

    lab-config/ (see its README) turns off the news pop-up and update checks and encrypts kernel traffic,
    without writing to the learner's own Jupyter settings. BEDROCK_BACKEND=aws still wins when set.
    """
    env = dict(base)
    config = [str(LAB_CONFIG)] + ([base["JUPYTER_CONFIG_PATH"]] if base.get("JUPYTER_CONFIG_PATH") else [])
    env["JUPYTER_CONFIG_PATH"] = os.pathsep.join(config)
    env["BEDROCK_BACKEND"] = base.get("BEDROCK_BACKEND") or "local"
    return env


def lab_command(venv_dir: Path, extra_args: Sequence[str]) -> list[str]:
    command = [str(venv_script(venv_dir, "jupyter")), "lab", f"--notebook-dir={NOTEBOOKS}",
               f"--LabApp.default_url=/lab/tree/{first_lesson()}"]  # fmt: skip
    # Containers and workshop VMs run as root, and Jupyter refuses that unless told it is intended.
    if hasattr(os, "geteuid") and os.geteuid() == 0:
        command.append("--allow-root")
    return command + list(extra_args)


def _replace_process(command: list[str], env: dict[str, str]) -> int:
    """Become the program (POSIX), so Ctrl-C and a terminating signal reach it directly; wait for it on Windows."""
    sys.stdout.flush()
    if os.name == "posix":
        os.execve(command[0], command, env)
    return subprocess.call(command, env=env, cwd=REPO)


def _in_venv(venv_dir: Path, args: Sequence[str], env: Mapping[str, str] | None = None) -> int:
    return subprocess.call([str(venv_python(venv_dir)), *args], cwd=REPO, env=dict(env or os.environ))


def cmd_lab(options: argparse.Namespace) -> int:
    sync(options.venv, ["lab"], exact=False, wheelhouse=options.wheelhouse)
    print(f"Starting JupyterLab on the course. Begin with {first_lesson()} (it opens in the browser).", flush=True)
    return _replace_process(lab_command(options.venv, options.args), lab_environment(os.environ))


def cmd_test(options: argparse.Namespace) -> int:
    sync(options.venv, ["dev"], exact=True)
    if options.fast:
        return _in_venv(options.venv, ["-m", "pytest", "tests", "-m", "not browser and not notebooks", *options.args])
    if options.args:  # `test tests/helpers -x`: pytest on what was named, nothing else
        return _in_venv(options.venv, ["-m", "pytest", *options.args])
    steps = (
        ["-m", "ruff", "check", "."],
        ["-m", "pytest", "tests"],
        ["-m", "pytest", "--nbval", "notebooks", "--nbval-current-env", "--nbval-sanitize-with",
         "notebooks/sanitize.cfg", "-p", "no:cacheprovider"],
    )  # fmt: skip
    for step in steps:
        status = _in_venv(options.venv, step)
        if status:
            return status
    return 0


def cmd_install(options: argparse.Namespace) -> int:
    extra = options.args[0] if options.args else "lab"
    sync(options.venv, [extra], exact=extra == "dev", wheelhouse=options.wheelhouse if extra == "lab" else None)
    return 0


def cmd_endpoint(options: argparse.Namespace) -> int:
    sync(options.venv, ["lab"], exact=False)
    return _in_venv(options.venv, ["-m", "helpers.local_bedrock", *options.args])


def cmd_dry_run(options: argparse.Namespace) -> int:
    sync(options.venv, ["lab"], exact=False)
    return _in_venv(options.venv, ["-m", "tools.dry_run", *options.args])


def cmd_site(options: argparse.Namespace) -> int:
    sync(options.venv, ["site"], exact=False)
    return _in_venv(options.venv, ["-m", "helpers.course.site", *options.args])


def cmd_lock(options: argparse.Namespace) -> int:
    lock(upgrade="--upgrade" in options.args, check="--check" in options.args)
    return 0


def cmd_wheelhouse(options: argparse.Namespace) -> int:
    target = Path(options.args[0]) if options.args else REPO / "wheelhouse"
    count = wheelhouse(target.resolve())
    print(f"{count} wheels in {target}; copy it beside the course and run the lab command there")
    return 0


COMMANDS = {
    "lab": cmd_lab,
    "test": cmd_test,
    "install": cmd_install,
    "endpoint": cmd_endpoint,
    "dry-run": cmd_dry_run,
    "site": cmd_site,
    "lock": cmd_lock,
    "wheelhouse": cmd_wheelhouse,
}


def parse(argv: Sequence[str]) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m helpers.course", description=__doc__.split("\n\n")[0],
                                     formatter_class=argparse.RawDescriptionHelpFormatter)  # fmt: skip
    parser.add_argument("--venv", type=Path, default=Path(os.environ.get("COURSE_VENV") or DEFAULT_VENV),
                        help="the course's virtual environment (default .venv in the course folder)")  # fmt: skip
    parser.add_argument("--wheelhouse", type=Path, default=None,
                        help="install the lab set from this folder of wheels with no index (default ./wheelhouse "
                             "when it exists)")  # fmt: skip
    parser.add_argument("--fast", action="store_true", help="test: no browser or notebook tests, no lint")
    parser.add_argument("command", choices=sorted(COMMANDS))
    parser.add_argument("args", nargs=argparse.REMAINDER, help="passed on (to jupyter lab, pytest, the endpoint ...)")
    options = parser.parse_args(argv)
    options.venv = options.venv.resolve()
    if options.wheelhouse is None and (REPO / "wheelhouse").is_dir():
        options.wheelhouse = REPO / "wheelhouse"
    options.wheelhouse = options.wheelhouse.resolve() if options.wheelhouse else None
    return options


def main(argv: Sequence[str] | None = None) -> int:
    if sys.version_info < (3, 11):  # noqa: UP036 - this runs under whatever Python the learner typed
        print(f"Python 3.11 or newer is needed (found {sys.version.split()[0]})", file=sys.stderr)
        return 2
    options = parse(sys.argv[1:] if argv is None else argv)
    try:
        return COMMANDS[options.command](options)
    except CourseError as error:
        print(f"error: {error}", file=sys.stderr)
        return 1


if __name__ == "__main__":
    sys.exit(main())
