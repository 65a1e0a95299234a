"""The live view in JupyterLab Dark, for eyes, screen readers and keyboards.

One notebook, as a learner writes it: a long paced answer in a live view with its side chart, then a matplotlib
chart of the same stream (helpers.charts). While the answer streams:

* every piece of text in the view (status line, answer, Stop's label, the chart's labels) has a contrast of at
  least 4.5:1 against the background it is drawn on (WCAG 2.2 AA, 1.4.3), from the computed styles, in the
  light theme and again after switching to JupyterLab Dark (Settings > Theme) mid-stream; the chart's line 3:1;
* the answer has one ``aria-live="polite"`` region that stays the same element while the text grows and
  receives the finished paragraphs, and the side chart says what it shows (``role="img"`` + ``aria-label``);
* axe-core (tests/browser/axe, pinned by its package-lock.json) finds no serious or critical violation inside
  the course's widgets;
* Stop is a focusable button, and Enter on it (no mouse) stops the stream with the partial answer kept.

After the run, the matplotlib chart is an opaque image (its dark text sits on its own white, not on the dark
page) whose alt text says what it plots and its figures (the time to first token, the median and longest gap),
so a screen reader reads the chart too. Screenshots land in test-artifacts/browser/dark-*.png.
"""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import pytest
from a11y import axe_violations, blocking
from lab_driver import NotebookPage, serve_copy

pytestmark = [pytest.mark.browser, pytest.mark.timeout(240)]

AA_TEXT = 4.5  # WCAG 2.2 success criterion 1.4.3, normal-size text

SETUP = """from helpers.charts import chunk_latency
from helpers.live import render_stream
from helpers.local_bedrock import LocalBedrock
from helpers.payloads import messages_body
from helpers.stream import invoke_stream

server = LocalBedrock(seed=3, time_scale=1.0).start()
client = server.client()
body = messages_body("Explain how glaciers carve valleys, in several paragraphs [[length=900]]", max_tokens=1200)
"""
CELLS = [
    SETUP,
    "result = render_stream(invoke_stream(client, 'global.anthropic.claude-haiku-4-5-20251001-v1:0', body), "
    "show_chart=True)",
    "print('stopped:', result.stopped)\nchunk_latency(result)",
]
LIVE_CELL, CHART_CELL = 1, 2
# The chart's alt text: what is plotted, its unit and the stream's own figures (which vary with timing, hence \d).
CHART_ALT = re.compile(
    r"Bar chart of the wait before each of \d+ streamed chunks from global\.anthropic\.claude-haiku-4-5-20251001-v1:0, "
    r"in milliseconds: time to first token [\d.]+ ms; gap between chunks median [\d.]+ ms \(longest [\d.]+ ms\)\."
)

# Contrast from computed styles. The background is the first ancestor with an opaque background colour
# (JupyterLab paints its layout colours on containers); translucent layers on the way are blended over it.
_COLOURS_JS = """
  const parse = c => { const m = c.match(/[\\d.]+/g).map(Number);
                       return {r: m[0], g: m[1], b: m[2], a: m.length > 3 ? m[3] : 1}; };
  const over = (top, under) => ({r: top.r * top.a + under.r * (1 - top.a), g: top.g * top.a + under.g * (1 - top.a),
                                 b: top.b * top.a + under.b * (1 - top.a), a: 1});
  const background = el => {
    const layers = [];
    for (let e = el; e; e = e.parentElement) {
      const c = parse(getComputedStyle(e).backgroundColor);
      if (c.a > 0) layers.push(c);
      if (c.a >= 1) break;
    }
    let colour = {r: 255, g: 255, b: 255, a: 1};
    for (const layer of layers.reverse()) colour = over(layer, colour);
    return colour;
  };
  const lum = c => { const f = v => { v /= 255; return v <= 0.03928 ? v / 12.92 : ((v + 0.055) / 1.055) ** 2.4; };
                     return 0.2126 * f(c.r) + 0.7152 * f(c.g) + 0.0722 * f(c.b); };
  const ratio = (fg, bg) => { const [hi, lo] = [lum(fg), lum(bg)].sort((a, b) => b - a);
                              return (hi + 0.05) / (lo + 0.05); };
"""
# Every visible text in the view (SVG text by its fill).
_TEXT_CONTRAST_JS = "(root) => {" + _COLOURS_JS + """
  const out = [];
  const walker = document.createTreeWalker(root, NodeFilter.SHOW_TEXT);
  for (let node = walker.nextNode(); node; node = walker.nextNode()) {
    const el = node.parentElement;
    if (!node.textContent.trim() || !el.getClientRects().length) continue;
    if (el.closest('.bedrock-live-announce')) continue;  // visually hidden: read aloud, not drawn
    const style = getComputedStyle(el);
    const isSvg = el instanceof SVGElement;
    const bg = background(isSvg ? el.ownerSVGElement.parentElement : el);
    const part = el.closest('[class*="bedrock-live-"]');
    out.push({text: node.textContent.trim().slice(0, 40), where: part ? part.className : '',
              ratio: ratio(over(parse(isSvg ? style.fill : style.color), bg), bg)});
  }
  return out;
}"""
# The side chart's plotted line, by its stroke.
_LINE_CONTRAST_JS = "(root) => {" + _COLOURS_JS + """
  const line = root.querySelector('.bedrock-live-chart polyline');
  const bg = background(line.ownerSVGElement.parentElement);
  return ratio(over(parse(getComputedStyle(line).stroke), bg), bg);
}"""


def text_below_aa(view: Any, theme: str, artifacts: Path) -> list[str]:
    """Every text of the view in ``theme`` below 4.5:1, one line each; the measures go to an artifact."""
    contrasts = view.evaluate(_TEXT_CONTRAST_JS)
    (artifacts / f"{theme}-contrast.json").write_text(json.dumps(contrasts, indent=1), encoding="utf-8")
    where = {c["where"].split()[0] if c["where"] else "" for c in contrasts}
    for part in ("bedrock-live-status", "bedrock-live-answer", "bedrock-live-stop", "bedrock-live-chart"):
        assert any(part in c["where"] for c in contrasts), f"{theme}: no text measured in {part} ({sorted(where)})"
    return [f"  {theme}: {c['ratio']:.2f}:1 {c['where']}: {c['text']!r}" for c in contrasts if c["ratio"] < AA_TEXT]


def test_live_view_in_dark_theme_is_legible_and_accessible(page: Any, jupyter_lab: Any, artifacts: Path) -> None:
    kernel = {"name": "python3", "display_name": "Python 3 (ipykernel)", "language": "python"}
    notebook_json = {
        "cells": [{"cell_type": "code", "metadata": {}, "source": code, "outputs": [], "execution_count": None}
                  for code in CELLS],
        "metadata": {"kernelspec": kernel}, "nbformat": 4, "nbformat_minor": 5,
    }  # fmt: skip
    serve_copy(notebook_json, jupyter_lab.root, "dark.ipynb", {})
    notebook = NotebookPage(page, jupyter_lab.notebook_url("dark.ipynb"))
    notebook.open()
    notebook.watch()
    notebook.restart_and_run_all()
    notebook.wait_answer_longer_than(LIVE_CELL, 300, timeout_ms=120_000)
    view = notebook.part(LIVE_CELL, "view")
    page.wait_for_function(
        "(sel) => { const c = document.querySelector(sel); return !!c && c.querySelector('svg') && "
        "c.getBoundingClientRect().width > 0; }",
        arg=".bedrock-live-chart",
        timeout=60_000,
    )
    region = view.locator('.bedrock-live-answer [aria-live="polite"]')
    assert region.count() == 1, "the streaming answer has no single aria-live=polite region"
    region.evaluate("(el) => { el.__sameRegion = true; }")
    # The light theme first (what most learners have), then the switch a dark-theme user makes, mid-stream.
    low = text_below_aa(view, "light", artifacts)
    notebook.command("apputils:change-theme", {"theme": "JupyterLab Dark"})
    page.wait_for_function("() => document.body.dataset.jpThemeLight === 'false'", timeout=30_000)
    page.wait_for_function("() => document.body.dataset.jpThemeName === 'JupyterLab Dark'", timeout=30_000)
    notebook.wait_answer_longer_than(LIVE_CELL, 700, timeout_ms=120_000)
    notebook.cell(LIVE_CELL).scroll_into_view_if_needed()
    notebook.cell(LIVE_CELL).screenshot(path=str(artifacts / "dark-live-view.png"))
    low += text_below_aa(view, "dark", artifacts)
    assert not low, "text below 4.5:1:\n" + "\n".join(low)

    # The plotted line is a graphic, not text: WCAG 1.4.11 asks 3:1 against what is next to it.
    line = view.evaluate(_LINE_CONTRAST_JS)
    assert line >= 3.0, f"the chart's line has {line:.2f}:1 against the dark background (3:1 needed)"

    chart = view.locator(".bedrock-live-chart svg")
    assert chart.get_attribute("role") == "img"
    label = chart.get_attribute("aria-label") or ""
    assert label.startswith("Chart of the gap before each chunk") and " chunks, median gap " in label, label

    axe = axe_violations(page, ".bedrock-live")
    (artifacts / "dark-axe.json").write_text(json.dumps(axe, indent=1), encoding="utf-8")
    serious = blocking(axe)
    assert not serious, "axe-core: " + json.dumps(serious, indent=1)

    # Still streaming: the region is the element marked before, and holds the finished blocks, each once.
    spoken = view.evaluate(
        """(v) => { const r = v.querySelector('.bedrock-live-answer [aria-live="polite"]');
                    const blocks = [...v.querySelectorAll('.bedrock-live-answer .bedrock-md > *')];
                    return {same: !!(r && r.__sameRegion), lines: r ? [...r.children].map(p => p.textContent) : [],
                            blocks: blocks.map(b => b.textContent)}; }"""
    )
    assert spoken["same"], "the aria-live region was replaced while the answer streamed"
    finished = spoken["blocks"][:-1]
    assert len(finished) >= 2, f"expected several finished paragraphs mid-stream, the view shows {spoken['blocks']}"
    assert spoken["lines"][: len(finished)] == finished, "the live region did not get each finished block once"
    assert len(spoken["lines"]) <= len(spoken["blocks"])

    stop = notebook.part(LIVE_CELL, "stop").locator("xpath=descendant-or-self::button").first
    assert stop.evaluate("(b) => b.tagName === 'BUTTON' && b.tabIndex >= 0 && !b.disabled"), "Stop is not focusable"
    stop.focus()
    assert stop.evaluate("(b) => document.activeElement === b")
    page.keyboard.press("Enter")
    notebook.wait_all_done()
    notebook.screenshot(artifacts / "dark-after-stop.png")
    report, logs = notebook.report(), notebook.watched()
    notebook.cell(CHART_CELL).screenshot(path=str(artifacts / "dark-matplotlib-chart.png"))
    chart_image = notebook.cell(CHART_CELL).locator(".jp-OutputArea img")
    assert chart_image.count() == 1, "the chart cell shows no single image"
    chart_alt = chart_image.get_attribute("alt") or ""
    opaque = chart_image.evaluate(
        """(img) => { const c = document.createElement('canvas');
                      c.width = img.naturalWidth; c.height = img.naturalHeight;
                      const g = c.getContext('2d'); g.drawImage(img, 0, 0);
                      return [[0, 0], [c.width - 1, 0], [0, c.height - 1], [c.width - 1, c.height - 1]]
                        .every(([x, y]) => g.getImageData(x, y, 1, 1).data[3] === 255); }"""
    )
    notebook.shut_down_kernel()

    errors = [f"cell {c.index}: {e}" for c in report for e in c.errors()]
    assert not errors, errors
    assert "stopped: True" in report[CHART_CELL].text(), "Enter on the focused Stop button did not stop the stream"
    assert "stopped" in (logs[LIVE_CELL].final().static_status or "")
    assert opaque, "the matplotlib chart is transparent: its dark text would sit on the dark page"
    assert CHART_ALT.fullmatch(chart_alt), (
        f"the chart's image has no text alternative saying what it plots: {chart_alt!r}"
    )
