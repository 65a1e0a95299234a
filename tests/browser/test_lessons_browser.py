"""Every lesson, run as a learner runs it: open in JupyterLab in Chromium, Kernel > Restart Kernel and Run All
Cells, wait for idle, then check what the page shows.

For each lesson: no error output anywhere; every code cell ran, with execution counts strictly increasing in cell
order (a cell set aside and run later breaks that); every live view grew in several distinct steps before its
cell finished. Where a lesson has them: the ``live-demo`` cell's live text ends as the local endpoint's answer,
its chart shows, and the static copy that replaces it keeps text, width, typography and chart in place; during
the Run All a learner clicks Stop in the ``stop-demo`` cell, which keeps a partial answer and leaves the order of
every later cell alone. papermill and nbval run the lessons headless; only a page can show these.

The lessons are served as copies with a papermill-style parameters cell setting the pace (``time_scale``): the
real pace for a lesson with a live view, no pauses for the others (see PACE_LIVE), so the course runs in about two
minutes.
"""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any, NamedTuple

import pytest
from a11y import axe_violations, blocking
from expectations import expected_answer, is_prefix_of, page_text, parameters_of, squash, words
from lab_driver import CellReport, NotebookPage, WatchLog, serve_copy, source

pytestmark = [pytest.mark.browser, pytest.mark.timeout(240)]

REPO = Path(__file__).resolve().parents[2]
LESSONS = sorted((REPO / "notebooks").glob("[0-9][0-9]_*.ipynb"))

# A lesson with a live view runs at the real pace, as a learner sees it: its answers stream for seconds, so the
# throttled view (20 frames/s) draws many frames and a Stop click lands well before the end, even on a busy CI
# box. A lesson without one runs at time_scale 0, as papermill runs it in CI: its pace changes nothing the page
# can show, and nine lessons then fit the time budget.
PACE_LIVE = {"time_scale": 1.0}
PACE_OTHER = {"time_scale": 0.0}
MIN_LIVE_STEPS = 3  # distinct states a live view shows before its cell ends
MIN_DEMO_STEPS = 5  # for the lesson's main live demonstration
STOP_AFTER_CHARS = 400


class ServedLesson(NamedTuple):
    original: dict[str, Any]  # the lesson as stored
    parameters: dict[str, Any]  # its parameters, with the pace it is served at
    cells: list[dict[str, Any]]  # the cells served
    live: bool  # it shows a live view (render_stream / LiveView)


def serve_lesson(lesson: Path, root: Path) -> ServedLesson:
    """Serve a copy of ``lesson`` from ``root`` at its pace."""
    original = json.loads(lesson.read_text(encoding="utf-8"))
    live = any(re.search(r"\b(render_stream|LiveView)\(", source(c)) for c in original["cells"])
    parameters, _ = serve_copy(original, root, lesson.name, PACE_LIVE if live else PACE_OTHER)
    cells = json.loads((root / lesson.name).read_text(encoding="utf-8"))["cells"]
    return ServedLesson(original, parameters, cells, live)


def run_all(notebook: NotebookPage) -> NotebookPage:
    """Open the notebook, watch its outputs, and Restart Kernel and Run All Cells, as a learner does."""
    notebook.open()
    notebook.watch()
    notebook.restart_and_run_all()
    return notebook


def tagged(cells: list[dict[str, Any]], tag: str) -> int | None:
    return next((i for i, c in enumerate(cells) if tag in c.get("metadata", {}).get("tags", [])), None)


def check_order(report: list[CellReport]) -> None:
    code = [c for c in report if c.cell_type == "code"]
    not_run = [c.index for c in code if c.execution_count is None]
    assert not not_run, f"code cells never ran: {not_run}"
    counts = [c.execution_count for c in code]
    assert all(a < b for a, b in zip(counts, counts[1:], strict=False)), (
        "execution counts are not strictly increasing in cell order (a cell ran out of turn): "
        + ", ".join(f"cell {c.index}: [{c.execution_count}]" for c in code)
    )


def check_no_errors(report: list[CellReport]) -> None:
    errors = [f"cell {c.index}: {e}" for c in report for e in c.errors()]
    assert not errors, "error output in the page:\n" + "\n".join(errors)


def check_live_cells(logs: dict[int, WatchLog], report: list[CellReport]) -> list[int]:
    live = [i for i, log in logs.items() if log.had_live_view]
    for i in live:
        steps = logs[i].live_steps()
        assert len(steps) >= MIN_LIVE_STEPS, (
            f"cell {i}'s live view changed {len(steps)} times before the cell finished; a live view shows the "
            f"answer growing in at least {MIN_LIVE_STEPS} steps\n{report[i].source[:200]}"
        )
        check_blocks(logs[i])
    return live


def check_blocks(log: WatchLog) -> None:
    """Thinking readable while it streams and folded after; the static copy keeps the blocks' streamed order."""
    order = log.block_order()
    if "thinking" in order:
        assert any(e.thinking_visible for e in log.before_idle() if e.live), "thinking was hidden while it streamed"
    final = log.final()
    if final.static_order is None:
        return  # a LiveView shown directly (not through render_stream) stays a widget
    static = list(dict.fromkeys(final.static_order))
    assert static == order, f"the static copy shows blocks as {static}, they streamed as {order}"
    if "thinking" in order:
        assert final.static_thinking_open is False, "the static copy should fold the thinking away"


def check_live_demo(log: WatchLog, parameters: dict[str, Any]) -> None:
    expected = page_text(expected_answer(*parameters_of(parameters)))
    full = words(expected)
    steps = log.answers_before_idle()
    assert len(steps) >= MIN_DEMO_STEPS, f"the live demo's answer changed only {len(steps)} times while it streamed"
    assert squash(steps[-1][1]) == expected, "the live view's last text is not the endpoint's answer"
    for _t, step in steps:
        assert is_prefix_of(step, full), f"the live view showed text the answer does not have: {step[:80]!r}"
    assert log.chart_seen(), "the side chart never appeared beside the live demo's answer"
    final = log.final()
    assert not final.live and final.static_answer is not None, "the widget was not replaced by the static copy"
    assert squash(final.static_answer) == expected
    assert "stop_reason" in (final.static_status or ""), final.static_status
    check_no_jump(log)


def check_no_jump(log: WatchLog) -> None:
    """The static copy that replaces the widget keeps the answer where it was, as wide, in the same type."""
    live, final = log.last_live(), log.final()
    assert live.box and final.box, "the answer's box was not found in the page"
    assert final.box["font"] == live.box["font"], f"typography changes: {live.box['font']} -> {final.box['font']}"
    assert abs(final.box["width"] - live.box["width"]) <= 4, f"width changes: {live.box} -> {final.box}"
    assert abs(final.box["left"] - live.box["left"]) <= 4, f"the text moves sideways: {live.box} -> {final.box}"
    assert abs(final.box["top"] - live.box["top"]) <= 6, f"the text jumps: {live.box} -> {final.box}"
    if log.chart_seen():
        assert final.static_chart, "the chart disappeared when the static copy replaced the widget"


def check_stopped(log: WatchLog, parameters: dict[str, Any]) -> None:
    full = words(page_text(expected_answer(parameters["long_prompt"], parameters["long_max_tokens"],
                                           parameters["seed"], parameters.get("model_id"))))  # fmt: skip
    last = log.last_live()
    kept = words(last.answer)
    assert 0 < len(kept) < len(full), f"Stop kept {len(kept)} of {len(full)} words; expected a partial answer"
    assert is_prefix_of(last.answer or "", full)
    assert "stop" in (last.status or "").lower(), f"the live status line does not say it stopped: {last.status!r}"
    final = log.final()
    assert words(final.static_answer) == kept, "the static copy lost or changed the partial answer"
    assert "stopped" in (final.static_status or "").lower(), final.static_status


@pytest.mark.parametrize("lesson", LESSONS, ids=[p.stem for p in LESSONS])
def test_lesson_restart_and_run_all(lesson: Path, page: Any, jupyter_lab: Any, artifacts: Path) -> None:
    _, parameters, cells, live_lesson = serve_lesson(lesson, jupyter_lab.root)
    stop_at, demo_at = tagged(cells, "stop-demo"), tagged(cells, "live-demo")

    notebook = run_all(NotebookPage(page, jupyter_lab.notebook_url(lesson.name)))
    if stop_at is not None:
        notebook.wait_answer_longer_than(stop_at, STOP_AFTER_CHARS, timeout_ms=120_000)
        notebook.cell(stop_at).scroll_into_view_if_needed()
        notebook.screenshot(artifacts / f"{lesson.stem}-stop-mid-stream.png")
        # tools/screenshots.py makes the README's picture of the live view from this one.
        notebook.cell(stop_at).screenshot(path=str(artifacts / "stop-mid-stream-cell.png"))
        # A lesson page with a live view streaming: no serious or critical accessibility problem in the view.
        violations = axe_violations(page, ".bedrock-live")
        (artifacts / f"{lesson.stem}-axe.json").write_text(json.dumps(violations, indent=1), encoding="utf-8")
        assert not blocking(violations), "axe-core in the live view: " + json.dumps(blocking(violations), indent=1)
        notebook.part(stop_at, "stop").click()
    notebook.wait_all_done()
    notebook.screenshot(artifacts / f"{lesson.stem}.png")
    report, logs = notebook.report(), notebook.watched()
    for index, tag in ((demo_at, "live-demo"), (stop_at, "stopped")):
        if index is not None:
            notebook.cell(index).screenshot(path=str(artifacts / f"{lesson.stem}-{tag}.png"))

    summary = {i: {"live_steps": len(log.live_steps()), "blocks": log.block_order()}
               for i, log in logs.items() if log.had_live_view}  # fmt: skip
    (artifacts / f"{lesson.stem}-live-cells.json").write_text(json.dumps(summary, indent=1), encoding="utf-8")
    for i in summary:
        notebook.cell(i).screenshot(path=str(artifacts / f"{lesson.stem}-cell{i}.png"))
    notebook.shut_down_kernel()

    check_no_errors(report)
    check_order(report)
    live = check_live_cells(logs, report)
    if live_lesson:
        assert live, "the lesson shows a live view (render_stream / LiveView) but none appeared in the page"
    if demo_at is not None:
        check_live_demo(logs[demo_at], parameters)
    if stop_at is not None:
        check_stopped(logs[stop_at], parameters)
        after = [c for c in report[stop_at + 1 :] if c.cell_type == "code"]
        printed = next((c.text() for c in after if "stopped by the reader" in c.text()), "")
        assert re.search(r"stopped by the reader: True", printed), f"the cell after Stop printed {printed!r}"
