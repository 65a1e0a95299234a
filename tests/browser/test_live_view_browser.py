"""The rendering lesson in a real JupyterLab and a real Chromium: the answer appears while it streams,
Stop stops it, and the latency chart shows.

papermill and nbval never draw a widget, so only a page can show that the live view updated many times
before the cell finished. The test serves a copy of the lesson, cut after its streaming cell, with a
papermill-style injected parameters cell that sets a real-time pace (the stored lesson is never touched),
and checks what the page showed against the local endpoint's deterministic answer computed here.
"""

from __future__ import annotations

import html.parser
import json
import os
import re
import warnings
from pathlib import Path
from typing import Any

import pytest
from lab_driver import CELLS, STDERR, NotebookPage, WatchLog

from helpers.live import render_markdown
from helpers.local_bedrock import LocalBedrock

pytestmark = [pytest.mark.browser, pytest.mark.timeout(240)]

REPO = Path(__file__).resolve().parents[2]
LESSON_GLOB = "03_*.ipynb"

# Real-time pacing (time_scale 1: ~100 tokens/s) so the stream lasts long enough for the throttled view
# to draw several frames; CI's stored-output runs use time_scale 0 and never see a widget anyway.
LIVE_OVERRIDES: dict[str, Any] = {"time_scale": 1.0}
# The responder answers "long" prompts with about 2,000 tokens: ~20 s at real pace, ended early by Stop.
STOP_OVERRIDES: dict[str, Any] = {"time_scale": 1.0, "prompt": "Write a long answer about rivers", "max_tokens": 4000}
MIN_LIVE_STEPS = 5


# --- the lesson, prepared for the page ------------------------------------------------------------------


# Used only while the real lesson does not exist, and never in CI: the smallest notebook shaped like it
# (a parameters cell, then a streaming cell), so the harness and the live view are exercised meanwhile.
STANDIN_CELLS = [
    (
        "parameters",
        'backend = "local"\nregion = "us-east-1"\nmodel_id = "global.anthropic.claude-haiku-4-5-20251001-v1:0"\n'
        'prompt = "Why stream a model\'s answer?"\nmax_tokens = 300\nseed = 0\ntime_scale = 0.0\n',
    ),
    (
        "",
        "from helpers.live import render_stream\nfrom helpers.local_bedrock import LocalBedrock\n"
        "from helpers.stream import invoke_stream\n\n"
        "server = LocalBedrock(seed=seed, time_scale=time_scale).start()\n"
        'body = {"anthropic_version": "bedrock-2023-05-31", "max_tokens": max_tokens,\n'
        '        "messages": [{"role": "user", "content": prompt}]}\n'
        "result = render_stream(invoke_stream(server.client(), model_id, body), show_chart=True)\n",
    ),
]


def load_lesson() -> dict[str, Any]:
    found = sorted((REPO / "notebooks").glob(LESSON_GLOB))
    if found:
        return json.loads(found[0].read_text(encoding="utf-8"))
    message = f"the rendering lesson notebooks/{LESSON_GLOB} does not exist yet"
    if os.environ.get("CI", "").lower() == "true":
        pytest.fail(message, pytrace=False)
    warnings.warn(f"{message}: testing a stand-in notebook instead", stacklevel=2)
    cells = [
        {"cell_type": "code", "metadata": {"tags": [tag] if tag else []}, "source": source,
         "outputs": [], "execution_count": None}
        for tag, source in STANDIN_CELLS
    ]  # fmt: skip
    kernel = {"name": "python3", "display_name": "Python 3 (ipykernel)", "language": "python"}
    return {"cells": cells, "metadata": {"kernelspec": kernel}, "nbformat": 4, "nbformat_minor": 5}


def _source(cell: dict[str, Any]) -> str:
    source = cell.get("source", "")
    return "".join(source) if isinstance(source, list) else source


def streaming_cell(cells: list[dict[str, Any]], *, want_chart: bool) -> int:
    """The lesson's first render_stream cell; with ``want_chart``, the first one that shows the chart."""
    calls = [i for i, c in enumerate(cells) if c["cell_type"] == "code" and "render_stream(" in _source(c)]
    if not calls:
        raise AssertionError("the rendering lesson has no code cell calling render_stream(...)")
    if not want_chart:
        return calls[0]
    with_chart = [i for i in calls if re.search(r"show_chart\s*=\s*True", _source(cells[i]))]
    if not with_chart:
        raise AssertionError(
            "no render_stream(..., show_chart=True) cell in the rendering lesson: the chart is untested"
        )
    return with_chart[0]


def parameters_cell(cells: list[dict[str, Any]]) -> int:
    for i, cell in enumerate(cells):
        if "parameters" in cell.get("metadata", {}).get("tags", []):
            return i
    raise AssertionError("the rendering lesson has no cell tagged 'parameters' (papermill needs one)")


def prepare_lesson(
    root: Path, name: str, overrides: dict[str, Any], *, want_chart: bool
) -> tuple[str, int, dict[str, Any]]:
    """Write the served copy; return its file name, the streaming cell's index and the effective parameters."""
    notebook = load_lesson()
    cells = notebook["cells"]
    stream_at, params_at = streaming_cell(cells, want_chart=want_chart), parameters_cell(cells)
    assert params_at < stream_at, "the parameters cell must come before the streaming cell"
    injected_source = "".join(f"{key} = {value!r}\n" for key, value in overrides.items())
    injected = {
        "cell_type": "code",
        "metadata": {"tags": ["injected-parameters"]},
        "source": "# Parameters injected by the browser test\n" + injected_source,
        "outputs": [],
        "execution_count": None,
    }
    kept = cells[: stream_at + 1]
    kept.insert(params_at + 1, injected)
    for number, cell in enumerate(kept):
        cell["id"] = f"cell-{number}"
        if cell["cell_type"] == "code":
            cell["outputs"], cell["execution_count"] = [], None
    notebook["cells"] = kept
    (root / name).write_text(json.dumps(notebook, indent=1), encoding="utf-8")
    parameters: dict[str, Any] = {}
    exec(_source(cells[params_at]) + "\n" + injected_source, {}, parameters)  # our own lesson's assignments
    return name, stream_at + 1, parameters


# --- the answer the page should show ------------------------------------------------------------------


def expected_answer(parameters: dict[str, Any]) -> str:
    """The local endpoint's answer for these parameters, read with plain boto3 (independent of the lesson)."""
    body = {
        "anthropic_version": "bedrock-2023-05-31",
        "max_tokens": parameters["max_tokens"],
        "messages": [{"role": "user", "content": parameters["prompt"]}],
    }
    with LocalBedrock(seed=parameters["seed"], time_scale=0.0) as server:
        client = server.client()
        response = client.invoke_model_with_response_stream(modelId=parameters["model_id"], body=json.dumps(body))
        pieces = []
        for event in response["body"]:
            chunk = json.loads(event["chunk"]["bytes"])
            if chunk.get("type") == "content_block_delta" and chunk["delta"].get("type") == "text_delta":
                pieces.append(chunk["delta"]["text"])
    return "".join(pieces)


class _Text(html.parser.HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.parts: list[str] = []

    def handle_data(self, data: str) -> None:
        self.parts.append(data)


def page_text(markdown: str) -> str:
    """What the page shows for ``markdown``: rendered as the live view renders it, tags dropped."""
    parser = _Text()
    parser.feed(render_markdown(markdown))
    parser.close()
    return squash("".join(parser.parts))


def squash(text: str | None) -> str:
    return " ".join((text or "").split())


def words(text: str) -> list[str]:
    return re.findall(r"\w+", text)


# --- driving the page ----------------------------------------------------------------------------------


def run_until_finished(notebook: NotebookPage, index: int, timeout_ms: float = 120_000) -> None:
    """Wait for cell ``index`` to finish, failing early with the traceback if an earlier cell raised."""
    notebook.page.wait_for_function(
        """([i, cells, stderr]) => {
            const all = [...document.querySelectorAll(cells)];
            const prompt = all[i] && all[i].querySelector('.jp-InputPrompt');
            if (prompt && /^\\[\\d+\\]:?$/.test(prompt.textContent.trim())) return true;
            // An earlier cell that raised stops run-all: report its traceback instead of timing out.
            const failed = c => [...c.querySelectorAll(stderr)].some(e => e.textContent.includes('Traceback'));
            return all.slice(0, i + 1).some(c => failed(c)
                && c.querySelector('.jp-InputPrompt').textContent.trim() !== '[*]:');
        }""",
        arg=[index, CELLS, STDERR],
        timeout=timeout_ms,
    )
    errors = notebook.errors_up_to(index)
    assert not errors, "a lesson cell failed in JupyterLab:\n" + "\n".join(errors)[-3000:]


def open_lesson(
    page: Any, jupyter_lab: Any, overrides: dict[str, Any], name: str, *, want_chart: bool = False
) -> tuple[NotebookPage, int, dict]:
    filename, index, parameters = prepare_lesson(jupyter_lab.root, name, overrides, want_chart=want_chart)
    notebook = NotebookPage(page, jupyter_lab.notebook_url(filename))
    notebook.open()
    notebook.watch(index)
    return notebook, index, parameters


def shoot(notebook: NotebookPage, index: int, artifacts: Path, stem: str) -> None:
    notebook.page.screenshot(path=str(artifacts / f"{stem}-page.png"))
    notebook.cell(index).screenshot(path=str(artifacts / f"{stem}-cell.png"))


# --- the tests -------------------------------------------------------------------------------------------


def test_answer_appears_while_streaming(page: Any, jupyter_lab: Any, artifacts: Path) -> None:
    notebook, index, parameters = open_lesson(page, jupyter_lab, LIVE_OVERRIDES, "live.ipynb")
    notebook.run_all()
    run_until_finished(notebook, index)
    shoot(notebook, index, artifacts, "answer-end")
    seen: WatchLog = notebook.watched()

    steps = seen.answers_before_idle()
    assert len(steps) >= MIN_LIVE_STEPS, (
        f"the answer area changed {len(steps)} times before the cell finished; a live view shows the answer "
        f"growing in at least {MIN_LIVE_STEPS} steps (first texts seen: {[s[:40] for s in steps[:3]]})"
    )
    expected = page_text(expected_answer(parameters))
    assert squash(steps[-1]) == expected, "the live view's last text is not the endpoint's answer"
    # Each step shows more of the same answer: the view never shows text the answer does not have.
    for step in steps:
        assert words(expected)[: len(words(step)) - 1] == words(step)[:-1], f"not a prefix of the answer: {step!r}"
    # The saved notebook keeps the same answer as a static rendering that replaces the widget.
    final = seen.final()
    assert final.static_answer is not None, "the widget was not replaced by a static rendering at the end"
    assert squash(final.static_answer) == expected
    assert "stop_reason" in (final.static_status or ""), final.static_status


def test_stop_keeps_partial_answer_and_chart_shows(page: Any, jupyter_lab: Any, artifacts: Path) -> None:
    notebook, index, parameters = open_lesson(page, jupyter_lab, STOP_OVERRIDES, "stop.ipynb", want_chart=True)
    notebook.run_all()
    notebook.wait_answer_longer_than(index, 400)
    notebook.part(index, "chart").wait_for(state="visible", timeout=30_000)
    shoot(notebook, index, artifacts, "stop-mid-stream")
    notebook.part(index, "chart").screenshot(path=str(artifacts / "stop-mid-stream-chart.png"))
    notebook.part(index, "stop").click()
    run_until_finished(notebook, index)
    shoot(notebook, index, artifacts, "stop-end")
    seen = notebook.watched()

    assert seen.chart_seen(), "the latency chart image never appeared beside the answer"
    full = words(page_text(expected_answer(parameters)))
    last = seen.last_live()
    kept = words(last.answer or "")
    assert 0 < len(kept) < len(full), f"Stop kept {len(kept)} of {len(full)} words; expected a partial answer"
    # The last word may be cut mid-token; every word before it must match the full answer in order.
    assert kept[:-1] == full[: len(kept) - 1] and full[len(kept) - 1].startswith(kept[-1])
    assert "stop" in (last.status or "").lower(), f"the live status line does not say it stopped: {last.status!r}"
    final = seen.final()
    assert words(final.static_answer or "") == kept, "the static rendering lost or changed the partial answer"
    assert "stopped" in (final.static_status or "").lower(), final.static_status
