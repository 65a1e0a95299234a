"""axe-core in the page: the version tests/browser/axe/package-lock.json pins, installed with npm ci.

``make axe`` (a prerequisite of ``make test`` and ``make browser``) installs it; run without make, the first test
that needs it runs the same ``npm ci``.
"""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest

AXE_DIR = Path(__file__).parent / "axe"
AXE = AXE_DIR / "node_modules" / "axe-core" / "axe.min.js"
BLOCKING = ("serious", "critical")  # axe's two highest impact levels


def install_axe() -> None:
    if AXE.is_file():
        return
    npm = shutil.which("npm")
    if npm is None:
        pytest.fail(f"{AXE} is missing and npm is not on PATH: install Node.js with npm", pytrace=False)
    done = subprocess.run([npm, "ci", "--no-audit", "--no-fund", "--prefer-offline", "--loglevel=error"],
                          cwd=AXE_DIR, capture_output=True, text=True, check=False)  # fmt: skip
    if done.returncode != 0 or not AXE.is_file():
        pytest.fail(f"npm ci in {AXE_DIR} failed:\n{done.stdout}\n{done.stderr}", pytrace=False)


def axe_violations(page: Any, selector: str) -> list[dict[str, Any]]:
    """axe-core's violations inside the elements matching ``selector`` (id, impact, help, a few targets)."""
    install_axe()
    found = page.evaluate("(s) => document.querySelectorAll(s).length", selector)
    assert found, f"nothing on the page matches {selector!r}: axe would check nothing"
    if not page.evaluate("() => typeof window.axe !== 'undefined'"):
        page.add_script_tag(path=str(AXE))
    return page.evaluate(
        """async (selector) => {
            const r = await axe.run({include: [[selector]]}, {resultTypes: ['violations']});
            return r.violations.map(v => ({id: v.id, impact: v.impact, help: v.help,
                                            nodes: v.nodes.map(n => n.target.join(' ')).slice(0, 3)}));
        }""",
        selector,
    )


def blocking(violations: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return [v for v in violations if v["impact"] in BLOCKING]
