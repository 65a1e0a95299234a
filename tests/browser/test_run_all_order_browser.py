"""Regression: Restart Kernel and Run All Cells runs the cells after a live view in order.

The smallest notebook that showed the bug (issue 12): set-up, a live ``render_stream``, ``x = 1``,
``y = x + 1``, ``print(y)``. A Stop-button message pump set the cell after the live view aside and ran it after
every later cell, so ``y = x + 1`` failed with NameError. Four runs out of four failed before the fix; the test
restarts and runs all twice, as a learner trying again would.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from lab_driver import NotebookPage, serve_copy

pytestmark = [pytest.mark.browser, pytest.mark.timeout(180)]

SETUP = """from helpers.live import render_stream
from helpers.local_bedrock import LocalBedrock
from helpers.payloads import messages_body
from helpers.stream import invoke_stream

server = LocalBedrock(seed=0, time_scale=1.0).start()
client = server.client()
body = messages_body("Write about rivers [[length=150]]", max_tokens=400)
"""
CELLS = [
    SETUP,
    "result = render_stream(invoke_stream(client, 'global.anthropic.claude-haiku-4-5-20251001-v1:0', body))",
    "x = 1",
    "y = x + 1",
    "print(y, result.stop_reason)",
]


def test_cells_after_a_live_view_run_in_order(page: Any, jupyter_lab: Any, artifacts: Path) -> None:
    kernel = {"name": "python3", "display_name": "Python 3 (ipykernel)", "language": "python"}
    notebook_json = {
        "cells": [{"cell_type": "code", "metadata": {}, "source": code, "outputs": [], "execution_count": None}
                  for code in CELLS],
        "metadata": {"kernelspec": kernel}, "nbformat": 4, "nbformat_minor": 5,
    }  # fmt: skip
    serve_copy(notebook_json, jupyter_lab.root, "five_cells.ipynb", {})
    notebook = NotebookPage(page, jupyter_lab.notebook_url("five_cells.ipynb"))
    notebook.open()
    for attempt in (1, 2):
        notebook.watch()
        notebook.restart_and_run_all()
        notebook.wait_all_done()
        notebook.screenshot(artifacts / f"five-cells-run-{attempt}.png")
        report, logs = notebook.report(), notebook.watched()
        errors = [f"cell {c.index}: {e}" for c in report for e in c.errors()]
        assert not errors, f"run {attempt}: " + "; ".join(errors)
        assert [c.execution_count for c in report] == [1, 2, 3, 4, 5], f"run {attempt}: cells ran out of order"
        assert report[4].text().split() == ["2", "end_turn"]
        assert len(logs[1].live_steps()) >= 3, "the live view did not update while the stream ran"
    notebook.shut_down_kernel()
