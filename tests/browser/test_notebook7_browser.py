"""Every lesson in Jupyter Notebook 7, run as a learner runs it there: Kernel > Restart Kernel and Run All Cells.

The same checks as the JupyterLab test (test_lessons_browser.py), in Notebook 7's page: no error output, every
code cell ran with execution counts strictly increasing in cell order, every live view grew in several steps
before its cell finished, and in lesson 3 a learner clicks Stop mid-stream during the Run All. Notebook 7 is built
from JupyterLab's packages, including the setting that sends widget messages on a kernel subshell
("Kernel Comms over subshells"), so its Stop reaches the busy kernel the same way: the stream ends with a partial
answer and the status says it stopped. (helpers/live/kernel_events.py explains the subshell.) Each chart a lesson
draws (lessons 4, 8 and 9) is an image whose alt text says what it plots, with its figures in milliseconds.

All lessons run in one Notebook 7 server and one browser, at the paces the JupyterLab test uses, so this adds
about as much time as that test's lessons take without its screenshots.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from lab_driver import Notebook7Page, source
from lab_server import JupyterLab, running_lab
from test_lessons_browser import (
    LESSONS,
    STOP_AFTER_CHARS,
    check_live_cells,
    check_no_errors,
    check_order,
    check_stopped,
    run_all,
    serve_lesson,
    tagged,
)

pytestmark = [pytest.mark.browser, pytest.mark.timeout(240)]

pytest.importorskip("notebook", reason="Jupyter Notebook 7 is in the course's lab extra (pip install -e '.[lab]')")


@pytest.fixture(scope="module")
def notebook7(tmp_path_factory: pytest.TempPathFactory, chromium_path: Path) -> Iterator[JupyterLab]:
    home, root = tmp_path_factory.mktemp("nb7-home"), tmp_path_factory.mktemp("nb7-root")
    with running_lab(home, root, app="notebook") as server:
        yield server


@pytest.mark.parametrize("lesson", LESSONS, ids=[p.stem for p in LESSONS])
def test_lesson_in_notebook7(lesson: Path, page: Any, notebook7: JupyterLab, artifacts: Path) -> None:
    original, parameters, cells, live_lesson = serve_lesson(lesson, notebook7.root)
    stop_at = tagged(cells, "stop-demo")

    notebook = run_all(Notebook7Page(page, notebook7.notebook_url(lesson.name)))
    if stop_at is not None:
        notebook.wait_answer_longer_than(stop_at, STOP_AFTER_CHARS, timeout_ms=120_000)
        notebook.cell(stop_at).scroll_into_view_if_needed()
        notebook.part(stop_at, "stop").click()
    notebook.wait_all_done()
    report, logs = notebook.report(), notebook.watched()
    chart_alts = page.locator(".jp-OutputArea-output img").evaluate_all("imgs => imgs.map(i => i.alt)")
    if stop_at is not None:
        notebook.cell(stop_at).screenshot(path=str(artifacts / f"nb7-{lesson.stem}-stopped.png"))
    notebook.shut_down_kernel()

    check_no_errors(report)
    check_order(report)
    # The lessons' output images are their charts: a screen reader hears what each plots and its figures.
    unsaid = [alt for alt in chart_alts if not re.search(r"\b\d+(\.\d+)? ms\b", alt)]
    assert not unsaid, f"a chart's image has no text alternative with its figures: {unsaid}"
    if any("helpers.charts" in source(c) for c in original["cells"]):
        assert chart_alts, "the lesson draws charts (helpers.charts) but Notebook 7 shows no chart image"
    live = check_live_cells(logs, report)
    if live_lesson:
        assert live, "the lesson shows a live view (render_stream / LiveView) but none appeared in Notebook 7"
    if stop_at is not None:
        check_stopped(logs[stop_at], parameters)
        after = [c for c in report[stop_at + 1 :] if c.cell_type == "code"]
        printed = next((c.text() for c in after if "stopped by the reader" in c.text()), "")
        assert re.search(r"stopped by the reader: True", printed), f"the cell after Stop printed {printed!r}"
