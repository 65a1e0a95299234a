"""Fixtures for the browser test: a throwaway JupyterLab server and Debian's Chromium (see lab_server.py)."""

from __future__ import annotations

import os
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

# Let the test modules import the page driver and server helpers that sit beside this file.
sys.path.insert(0, str(Path(__file__).parent))

from lab_server import ARTIFACTS, CHROMIUM, JupyterLab, chromium_browser, chromium_missing_message  # noqa: E402
from lab_server import new_page as _new_page  # noqa: E402
from lab_server import running_lab as _running_lab  # noqa: E402


def chromium_or_skip() -> Path:
    """Return Chromium's path; skip when it is missing, except in CI where a missing browser is a failure."""
    message = chromium_missing_message()
    if message is None:
        return CHROMIUM
    if os.environ.get("CI", "").lower() == "true":
        pytest.fail(message + " (CI=true, so the browser test may not skip)", pytrace=False)
    pytest.skip(message)


@pytest.fixture(scope="session")
def chromium_path() -> Path:
    return chromium_or_skip()


@pytest.fixture(scope="session")
def jupyter_lab(tmp_path_factory: pytest.TempPathFactory, chromium_path: Path) -> Iterator[JupyterLab]:
    with _running_lab(tmp_path_factory.mktemp("jupyter-home"), tmp_path_factory.mktemp("lab-root")) as lab:
        yield lab


# Module scope, not session: Playwright's sync API keeps an asyncio loop running on the main
# thread while it is open, and any later test calling asyncio.run() would then fail.
@pytest.fixture(scope="module")
def browser(chromium_path: Path) -> Iterator[object]:
    with chromium_browser() as chromium:
        yield chromium


@pytest.fixture
def page(browser: object) -> Iterator[object]:
    context, page = _new_page(browser)
    try:
        yield page
    finally:
        context.close()  # type: ignore[attr-defined]


@pytest.fixture(scope="session")
def artifacts() -> Path:
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    return ARTIFACTS
