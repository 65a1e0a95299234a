"""Drive a notebook in JupyterLab from Playwright, as a learner does, and read back what the page showed.

How "a cell finished" is read: JupyterLab shows ``[*]:`` in a code cell's input prompt from the moment it is
queued until the kernel's execute_reply for it arrives, then ``[N]:``. The reply comes after every output and
widget message of that cell, so a live view's updates seen while its prompt still showed ``[*]:`` were drawn
before the cell finished. A MutationObserver installed before Run All records, for every code cell, each
different state of its live view, static copy and prompt, with the page's clock (``performance.timeOrigin +
performance.now()``, milliseconds since the epoch), so "changed before idle" is an ordering of DOM events.

Outputs (error or not, execution counts) are read from the notebook model JupyterLab renders from.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

CELLS = ".jp-NotebookPanel .jp-Notebook .jp-Cell"

# Where the live view's parts are in the page: the ``bedrock-live*`` classes helpers.live.LiveView puts on its
# widgets. When the stream ends, render_stream replaces the widget with a static ``div.bedrock-stream``.
SELECTORS = {
    "view": ".bedrock-live",
    "answer": ".bedrock-live-answer .widget-html-content",
    "thinking": ".bedrock-live-thinking .widget-html-content",
    "tools": ".bedrock-live-tools .widget-html-content",
    "status": ".bedrock-live-status .widget-html-content",
    "stop": ".bedrock-live-stop",
    "chart": ".bedrock-live-chart",
    "static": ".bedrock-stream",
    "static_answer": ".bedrock-stream-answer",
    "static_status": ".bedrock-stream-status",
    "static_chart": ".bedrock-stream-chart svg",
}

_OBSERVER_JS = """
([sel, cellsSelector]) => {
  const notebook = document.querySelector(".jp-NotebookPanel .jp-Notebook");
  const first = (root, selector) => root ? root.querySelector(selector) : null;
  const text = (root, selector) => { const e = first(root, selector); return e ? e.textContent : null; };
  const shown = e => !!e && e.getBoundingClientRect().width > 0;
  const high = e => !!e && e.getBoundingClientRect().height > 0;
  const geometry = (out, e) => {
    if (!e || !out) return null;
    // The content box: where the text itself sits, whatever padding its container has.
    // top: where the first line of text starts (margins collapse differently around a flex item).
    const o = out.getBoundingClientRect(), r = e.getBoundingClientRect(), s = getComputedStyle(e);
    const px = v => parseFloat(v) || 0;
    const line = e.querySelector('h1, h2, h3, h4, h5, h6, p, li, pre, table, blockquote') || e;
    return {top: Math.round(line.getBoundingClientRect().top - o.top),
            left: Math.round(r.left - o.left + px(s.paddingLeft)),
            width: Math.round(r.width - px(s.paddingLeft) - px(s.paddingRight)),
            font: s.fontFamily + ' ' + s.fontSize + ' ' + s.lineHeight};
  };
  const read = (cell) => {
    const out = first(cell, '.jp-OutputArea');
    const view = first(out, sel.view), stat = first(out, sel.static);
    const chart = first(out, sel.chart), staticChart = first(out, sel.static_chart);
    const answerBox = view ? first(view, sel.answer + ' .bedrock-md') : (stat ? first(stat, sel.static_answer) : null);
    return {
      live: !!view,
      answer: view ? text(view, sel.answer) : null,
      thinking: view ? text(view, sel.thinking) : null,
      tools: view ? text(view, sel.tools) : null,
      thinkingVisible: view ? high(first(view, sel.thinking)) : null,
      staticThinkingOpen: first(stat, '.bedrock-block-thinking') ? first(stat, '.bedrock-block-thinking').open : null,
      status: view ? text(view, sel.status) : null,
      chart: shown(first(chart, 'svg')),
      staticAnswer: stat ? text(stat, sel.static_answer) : null,
      staticStatus: stat ? text(stat, sel.static_status) : null,
      staticChart: shown(staticChart),
      // JupyterLab's sanitizer drops data-* attributes from HTML outputs; classes stay.
      staticOrder: stat ? [...stat.querySelectorAll('[class^="bedrock-block-"]')]
        .map(e => e.className.replace('bedrock-block-', '')) : null,
      box: geometry(out, answerBox),
      prompt: (text(cell, '.jp-InputPrompt') || '').trim(),
    };
  };
  const same = (a, b) => Object.keys(a).every(k => k === 't' || JSON.stringify(a[k]) === JSON.stringify(b[k]));
  const cells = () => [...document.querySelectorAll(cellsSelector)];
  const logs = cells().map(() => []);
  const look = () => {
    const t = performance.timeOrigin + performance.now();
    cells().forEach((cell, i) => {
      if (!cell.classList.contains('jp-CodeCell')) return;
      const now = read(cell);
      now.t = t;
      const log = logs[i] || (logs[i] = []);
      if (!log.length || !same(now, log[log.length - 1])) log.push(now);
    });
  };
  look();
  const observer = new MutationObserver(look);
  observer.observe(notebook, {subtree: true, childList: true, characterData: true, attributes: true});
  window.__liveWatch = {logs, observer};
}
"""

_FINISHED = re.compile(r"^\[\d+\]:?$")


@dataclass(frozen=True)
class Seen:
    """One state of a code cell as the page showed it."""

    live: bool
    answer: str | None
    thinking: str | None
    tools: str | None
    thinking_visible: bool | None
    static_thinking_open: bool | None
    status: str | None
    chart: bool
    static_answer: str | None
    static_status: str | None
    static_chart: bool
    static_order: list[str] | None
    box: dict[str, Any] | None
    prompt: str
    t: float  # page clock, ms since the epoch

    @classmethod
    def of(cls, raw: dict[str, Any]) -> Seen:
        return cls(
            raw["live"], raw["answer"], raw["thinking"], raw["tools"], raw["thinkingVisible"],
            raw["staticThinkingOpen"], raw["status"],
            raw["chart"], raw["staticAnswer"], raw["staticStatus"], raw["staticChart"], raw["staticOrder"],
            raw["box"], raw["prompt"], raw["t"],
        )  # fmt: skip


@dataclass(frozen=True)
class WatchLog:
    """What the MutationObserver saw for one cell, in order."""

    entries: list[Seen]

    @property
    def had_live_view(self) -> bool:
        return any(e.live for e in self.entries)

    def before_idle(self) -> list[Seen]:
        """Entries recorded while the cell was still running (up to the prompt getting its number)."""
        seen_running = False
        for position, entry in enumerate(self.entries):
            if entry.prompt.startswith("[*]"):
                seen_running = True
            elif seen_running and _FINISHED.match(entry.prompt):
                return self.entries[:position]
        raise AssertionError(f"the cell never finished in the observed log (last prompt {self.entries[-1].prompt!r})")

    def live_steps(self) -> list[tuple[str, str, str]]:
        """Each different (thinking, tools, answer) the live view showed while the cell ran, in order."""
        steps: list[tuple[str, str, str]] = []
        for e in self.before_idle():
            if not e.live:
                continue
            state = (e.thinking or "", e.tools or "", e.answer or "")
            if any(part.strip() for part in state) and (not steps or steps[-1] != state):
                steps.append(state)
        return steps

    def answers_before_idle(self) -> list[tuple[float, str]]:
        """(page time, text) of each different non-empty answer the live view showed while the cell ran."""
        texts: list[tuple[float, str]] = []
        for e in self.before_idle():
            if e.answer and e.answer.strip() and (not texts or texts[-1][1] != e.answer):
                texts.append((e.t, e.answer))
        return texts

    def block_order(self) -> list[str]:
        """Kinds of block (thinking, text, tool_use) in the order the live view first showed them."""
        order: list[str] = []
        for e in self.before_idle():
            if not e.live:
                continue
            for kind, value in (("thinking", e.thinking), ("text", e.answer), ("tool_use", e.tools)):
                if value and value.strip() and kind not in order:
                    order.append(kind)
        return order

    def last_live(self) -> Seen:
        live = [e for e in self.entries if e.live]
        if not live:
            raise AssertionError("the live widget never appeared in the cell's output")
        return live[-1]

    def chart_seen(self) -> bool:
        return any(e.chart for e in self.entries)

    def final(self) -> Seen:
        return self.entries[-1]


@dataclass(frozen=True)
class CellReport:
    """A cell as JupyterLab's notebook model holds it after the run."""

    index: int
    cell_type: str
    execution_count: int | None
    outputs: list[dict[str, Any]]
    source: str

    def errors(self) -> list[str]:
        """Error outputs, and stderr that carries a traceback, as one line each."""
        found = []
        for out in self.outputs:
            if out["output_type"] == "error":
                found.append(f"{out['ename']}: {out['evalue']}")
            elif out["output_type"] == "stream" and out.get("name") == "stderr" and "Traceback" in out["text"]:
                found.append(out["text"].strip().splitlines()[-1])
        return found

    def text(self) -> str:
        return "".join(out.get("text", "") for out in self.outputs if out["output_type"] == "stream")


class NotebookPage:
    """One open notebook tab and the commands the test needs."""

    FOLD_LEFT_AREA = True  # JupyterLab opens with the file browser beside the notebook

    def __init__(self, page: Any, url: str) -> None:
        self.page = page
        self.url = url

    def open(self, timeout_ms: float = 90_000) -> None:
        self.page.goto(self.url)
        self.page.wait_for_selector(CELLS, timeout=timeout_ms)
        # Ask the app itself whether the notebook's kernel is connected and idle: the toolbar's indicator
        # already says "idle" before a kernel exists, and run-all sent then is silently dropped.
        self.page.wait_for_function(
            """() => {
                const panel = window.jupyterapp && window.jupyterapp.shell.currentWidget;
                const kernel = panel && panel.sessionContext && panel.sessionContext.session
                    && panel.sessionContext.session.kernel;
                return !!kernel && kernel.connectionStatus === 'connected' && kernel.status === 'idle';
            }""",
            timeout=timeout_ms,
        )
        if self.FOLD_LEFT_AREA:
            # Collapse the file browser so screenshots show the notebook, not the sidebar.
            self.command("application:toggle-left-area")

    def command(self, name: str, args: dict[str, Any] | None = None) -> None:
        # The command's promise is not awaited: run-all resolves only when every cell has run, and the test
        # watches the page for that instead.
        self.page.evaluate("([n, a]) => { window.jupyterapp.commands.execute(n, a); }", [name, args or {}])

    def cell(self, index: int) -> Any:
        return self.page.locator(CELLS).nth(index)

    def part(self, index: int, name: str) -> Any:
        """A part of the output of cell ``index`` (see SELECTORS)."""
        return self.cell(index).locator(".jp-OutputArea").locator(SELECTORS[name]).first

    def watch(self) -> None:
        """Start recording every code cell's states (call before running anything)."""
        self.page.evaluate(_OBSERVER_JS, [SELECTORS, CELLS])

    def watched(self) -> dict[int, WatchLog]:
        raw = self.page.evaluate("() => window.__liveWatch.logs")
        return {i: WatchLog([Seen.of(e) for e in log]) for i, log in enumerate(raw) if log}

    def restart_and_run_all(self) -> None:
        """Kernel > Restart Kernel and Run All Cells..., confirming the dialog as a learner would."""
        self.command("notebook:restart-run-all")
        self.page.locator(".jp-Dialog .jp-Dialog-footer .jp-mod-accept").click(timeout=30_000)

    def wait_all_done(self, timeout_ms: float = 180_000) -> None:
        """Wait until the kernel is idle with nothing queued: every code cell numbered, or an error stopped the run."""
        self.page.wait_for_function(
            """(cellsSelector) => {
                const panel = window.jupyterapp.shell.currentWidget;
                const kernel = panel.sessionContext.session && panel.sessionContext.session.kernel;
                if (!kernel || kernel.status !== 'idle') return false;
                const prompts = [...document.querySelectorAll(cellsSelector)]
                    .filter(c => c.classList.contains('jp-CodeCell'))
                    .map(c => c.querySelector('.jp-InputPrompt').textContent.trim());
                if (prompts.some(p => p.startsWith('[*]'))) return false;
                if (prompts.every(p => /^\\[\\d+\\]/.test(p))) return true;
                const cells = panel.content.model.cells;
                for (let i = 0; i < cells.length; i++) {
                    const outputs = cells.get(i).toJSON().outputs || [];
                    if (outputs.some(o => o.output_type === 'error')) return true;
                }
                return false;
            }""",
            arg=CELLS,
            timeout=timeout_ms,
        )

    def wait_answer_longer_than(self, index: int, chars: int, timeout_ms: float = 60_000) -> None:
        """Wait until the live answer area of cell ``index`` shows more than ``chars`` characters."""
        self.page.wait_for_function(
            """([i, cells, sel, n]) => {
                const cell = document.querySelectorAll(cells)[i];
                const out = cell && cell.querySelector('.jp-OutputArea');
                const answer = out && out.querySelector(sel);
                return !!answer && answer.textContent.length > n;
            }""",
            arg=[index, CELLS, SELECTORS["answer"], chars],
            timeout=timeout_ms,
        )

    def report(self) -> list[CellReport]:
        raw = self.page.evaluate(
            """() => {
                const cells = window.jupyterapp.shell.currentWidget.content.model.cells;
                const text = t => typeof t === 'string' ? t : (t || []).join('');
                const out = [];
                for (let i = 0; i < cells.length; i++) {
                    const j = cells.get(i).toJSON();
                    out.push({type: j.cell_type, count: j.execution_count === undefined ? null : j.execution_count,
                              source: text(j.source),
                              outputs: (j.outputs || []).map(o => ({output_type: o.output_type, name: o.name,
                                  ename: o.ename, evalue: o.evalue, text: text(o.text)}))});
                }
                return out;
            }"""
        )
        return [CellReport(i, c["type"], c["count"], c["outputs"], c["source"]) for i, c in enumerate(raw)]

    def shut_down_kernel(self) -> None:
        """End this notebook's kernel (each lesson starts its own; nine idle kernels would crowd a small CI box)."""
        self.page.evaluate("() => window.jupyterapp.shell.currentWidget.sessionContext.shutdown()")

    def screenshot(self, path: Path) -> None:
        self.page.screenshot(path=str(path))


class Notebook7Page(NotebookPage):
    """The same notebook in Jupyter Notebook 7 (``jupyter notebook``), one notebook per tab.

    Notebook 7 is assembled from JupyterLab's own packages: the same notebook panel, cells, prompts, output areas,
    dialogs and commands (``notebook:restart-run-all``), and the same application object when the server exposes
    it. What differs for the test is the page around it: the notebook has the tab to itself.
    """

    FOLD_LEFT_AREA = False


# --- preparing a notebook for the page -------------------------------------------------------------------


def source(cell: dict[str, Any]) -> str:
    text = cell.get("source", "")
    return "".join(text) if isinstance(text, list) else text


def serve_copy(
    notebook: dict[str, Any], root: Path, name: str, overrides: dict[str, Any], *, extra_cells: list[str] = ()
) -> tuple[dict[str, Any], int | None]:
    """Write a copy of ``notebook`` to the server's folder with a papermill-style injected parameters cell
    after its ``parameters`` cell (when it has one) and ``extra_cells`` appended; outputs cleared.

    Returns the effective parameters (the parameters cell's assignments with the overrides applied) and the
    injected cell's index.
    """
    cells = [dict(c) for c in notebook["cells"]]
    params_at = next((i for i, c in enumerate(cells) if "parameters" in c.get("metadata", {}).get("tags", [])), None)
    injected_source = "".join(f"{key} = {value!r}\n" for key, value in overrides.items())
    injected_at = None
    if params_at is not None and overrides:
        injected_at = params_at + 1
        cells.insert(injected_at, _code("# Parameters injected by the browser test\n" + injected_source,
                                        tags=["injected-parameters"]))  # fmt: skip
    cells += [_code(code) for code in extra_cells]
    for number, cell in enumerate(cells):
        cell["id"] = f"cell-{number}"
        if cell["cell_type"] == "code":
            cell["outputs"], cell["execution_count"] = [], None
    copy = dict(notebook, cells=cells)
    (root / name).write_text(json.dumps(copy, indent=1), encoding="utf-8")
    parameters: dict[str, Any] = {}
    if params_at is not None:
        exec(source(notebook["cells"][params_at]) + "\n" + injected_source, {}, parameters)  # our own lesson
    return parameters, injected_at


def _code(text: str, *, tags: list[str] | None = None) -> dict[str, Any]:
    metadata = {"tags": tags or []}
    return {"cell_type": "code", "metadata": metadata, "source": text, "outputs": [], "execution_count": None}
