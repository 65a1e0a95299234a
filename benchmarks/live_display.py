"""Display lag in a real page: from the kernel receiving a chunk to its text appearing in JupyterLab.

* ``live.display_lag_ms_p95`` - lesson 3's live demonstration (its paced stream, time_scale 1) run in
  JupyterLab in Debian's Chromium, exactly as the browser test runs it. The kernel stamps every chunk on receipt
  (``received_ns``, ``time.perf_counter_ns``; converted to the wall clock in the kernel once, after the stream).
  A MutationObserver in the page records the page clock (``performance.timeOrigin + performance.now()``) at each
  change of the live answer. The two clocks are aligned through the page: this process reads its wall clock
  either side of reading the page's, and the page's offset is taken at the midpoint (the kernel, this process
  and the browser share the machine's clock, so the offset is the browser's own error, bounded by the round
  trip). A chunk counts as displayed at the first page state showing at least as many words as the text up to
  and including it renders to. Counted from the first text the view shows: chunks that arrived before it
  waited for JupyterLab to build the widget (the first widget of a session also loads the widget library),
  a one-off cost reported separately as ``live.first_text_ms`` (first chunk received -> first text shown).
  Target <= 100 ms (the view's 20-updates-per-second throttle alone allows 50).

Needs Chromium (``make chromium``); without it the module reports nothing and says why on stderr.
"""

from __future__ import annotations

import json
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / "tests" / "browser"))

from expectations import page_text, words  # noqa: E402
from lab_driver import NotebookPage, serve_copy  # noqa: E402
from lab_server import chromium_browser, chromium_missing_message, new_page, running_lab  # noqa: E402

from helpers.timing import percentile  # noqa: E402

# Appended after the live demonstration: the text chunks with their receipt stamps on the wall clock.
STAMPS_CELL = """import json as _json, time as _time
from helpers.events import TextDelta as _TextDelta
_wall_minus_perf = _time.time_ns() - _time.perf_counter_ns()
print("STAMPS" + _json.dumps([[(e.received_ns + _wall_minus_perf) / 1e6, e.text]
                              for e in {name}.events if isinstance(e, _TextDelta)]))
"""


def _lesson() -> Path:
    return sorted((REPO / "notebooks").glob("03_*.ipynb"))[0]


def _page_clock_offset_ms(page: Any) -> float:
    """Page clock minus this process's wall clock, read at the midpoint of a round trip."""
    best: tuple[float, float] | None = None
    for _ in range(5):
        before = time.time() * 1000
        page_now = page.evaluate("() => performance.timeOrigin + performance.now()")
        after = time.time() * 1000
        rtt = after - before
        if best is None or rtt < best[0]:
            best = (rtt, page_now - (before + after) / 2)
    assert best is not None
    return best[1]


def display_lags_ms() -> tuple[list[float], float]:
    """Lag of each chunk received once the view was on the page, and the wait for the first text."""
    lesson = json.loads(_lesson().read_text(encoding="utf-8"))
    cells = lesson["cells"]
    demo = next(i for i, c in enumerate(cells) if "live-demo" in c.get("metadata", {}).get("tags", []))
    source = "".join(cells[demo]["source"])
    name = source.split("=", 1)[0].strip()
    lesson = dict(lesson, cells=cells[: demo + 1])
    with tempfile.TemporaryDirectory() as tmp:
        home, root = Path(tmp) / "home", Path(tmp) / "root"
        home.mkdir()
        root.mkdir()
        stamps_cell = STAMPS_CELL.format(name=name)
        _, injected = serve_copy(lesson, root, "lag.ipynb", {"time_scale": 1.0}, extra_cells=[stamps_cell])
        index = demo + (1 if injected is not None else 0)
        with running_lab(home, root) as lab, chromium_browser() as browser:
            context, page = new_page(browser)
            notebook = NotebookPage(page, lab.notebook_url("lag.ipynb"))
            notebook.open()
            notebook.watch()
            notebook.restart_and_run_all()
            notebook.wait_all_done()
            offset = _page_clock_offset_ms(page)
            report, logs = notebook.report(), notebook.watched()
            notebook.shut_down_kernel()
            context.close()  # type: ignore[attr-defined]
    errors = [e for c in report for e in c.errors()]
    if errors:
        raise RuntimeError(f"lesson 3 failed in the page: {errors}")
    printed = report[-1].text()
    stamps = json.loads(printed[printed.index("STAMPS") + len("STAMPS") :])
    shown = [(t - offset, len(words(text))) for t, text in logs[index].answers_before_idle()]
    first_shown = shown[0][0]
    lags, text = [], ""
    for received_ms, piece in stamps:
        text += piece
        if received_ms < first_shown:
            continue  # waited for the widget itself to be built (see the module docstring)
        needed = len(words(page_text(text, partial=True)))
        seen = next((t for t, count in shown if count >= needed and t >= received_ms - 1000), None)
        if seen is not None:
            lags.append(seen - received_ms)
    counted = sum(1 for received_ms, _ in stamps if received_ms >= first_shown)
    if len(lags) < counted * 0.9:
        raise RuntimeError(f"only {len(lags)} of {counted} chunks were seen in the page")
    return lags, first_shown - stamps[0][0]


def run() -> dict[str, float]:
    missing = chromium_missing_message()
    if missing:
        print(f"benchmarks.live_display skipped: {missing}", file=sys.stderr)
        return {}
    lags, first_text_ms = display_lags_ms()
    return {
        "live.display_lag_ms_p95": percentile(lags, 95),
        "live.display_lag_ms_median": percentile(lags, 50),
        "live.first_text_ms": first_text_ms,
    }


if __name__ == "__main__":
    print(json.dumps(run(), indent=2))
