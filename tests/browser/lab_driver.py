"""Drive one notebook in JupyterLab from Playwright and watch a live view change in the page.

How "the kernel went idle" is read: JupyterLab shows ``[*]:`` in a code cell's input prompt from the
moment it is queued until the kernel's execute_reply for it arrives, then ``[N]:``. The reply comes after
every output and widget message of that cell, so the first moment the streaming cell's prompt holds a
number is when the kernel finished it. The page records that moment in the same MutationObserver log
as the answer area's text, so "changed before idle" is an ordering of DOM events, never a clock reading.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

CELLS = ".jp-NotebookPanel .jp-Notebook .jp-Cell"
# Tracebacks render as stderr output in JupyterLab.
STDERR = '.jp-OutputArea-output[data-mime-type="application/vnd.jupyter.stderr"]'

# Where the live view's parts are in the page. The ``bedrock-live*`` classes are stable hooks the live view
# may add; the fallbacks follow helpers.live.LiveView's layout: VBox[status HTML, thinking, tools,
# HBox[answer HTML, chart Image], Stop button]. When the stream ends, render_stream replaces the widget with
# a static ``div.bedrock-stream`` (status in its first paragraph, then the answer's HTML).
SELECTORS = {
    "view": ".bedrock-live, .jp-OutputArea-output > .widget-vbox",
    "answer": ".bedrock-live-answer .widget-html-content, "
    ".widget-vbox > .widget-hbox > .widget-html .widget-html-content",
    "status": ".bedrock-live-status .widget-html-content, .widget-vbox > .widget-html .widget-html-content",
    "stop": ".bedrock-live-stop, .widget-vbox > button",
    "chart": ".bedrock-live-chart, .widget-vbox > .widget-hbox > img",
    "static": ".bedrock-stream",
}

# Installed before the cell runs. It watches the whole notebook (the cell's output area does not exist
# yet) and appends an entry whenever anything it reads changes: the widget's answer and status, whether
# the chart image is shown, the static rendering, and the cell's prompt.
_OBSERVER_JS = """
([cellIndex, sel, cellsSelector]) => {
  const notebook = document.querySelector(".jp-NotebookPanel .jp-Notebook");
  const first = (root, selector) => root ? root.querySelector(selector) : null;
  const read = () => {
    const cell = document.querySelectorAll(cellsSelector)[cellIndex];
    const out = first(cell, '.jp-OutputArea');
    const answer = first(out, sel.answer);
    const status = first(out, sel.status);
    const chart = first(out, sel.chart);
    const stat = first(out, sel.static);
    const statStatus = first(stat, 'p');
    let statAnswer = null;
    if (stat) {
      const copy = stat.cloneNode(true);
      copy.querySelector('p').remove();
      statAnswer = copy.textContent;
    }
    const prompt = first(cell, '.jp-InputPrompt');
    return {
      answer: answer ? answer.textContent : null,
      status: status ? status.textContent : null,
      chart: !!(chart && chart.getAttribute('src') && chart.offsetWidth > 0),
      staticAnswer: statAnswer,
      staticStatus: statStatus ? statStatus.textContent : null,
      prompt: prompt ? prompt.textContent.trim() : '',
    };
  };
  const same = (a, b) => Object.keys(a).every(k => a[k] === b[k]);
  const log = [read()];
  const observer = new MutationObserver(() => {
    const now = read();
    if (!same(now, log[log.length - 1])) log.push(now);
  });
  observer.observe(notebook, {subtree: true, childList: true, characterData: true, attributes: true});
  window.__liveWatch = {log, observer};
}
"""

_FINISHED = re.compile(r"^\[\d+\]:?$")


@dataclass(frozen=True)
class Seen:
    """One state of the streaming cell as the page showed it."""

    answer: str | None
    status: str | None
    chart: bool
    static_answer: str | None
    static_status: str | None
    prompt: str


@dataclass(frozen=True)
class WatchLog:
    """What the MutationObserver saw, in order."""

    entries: list[Seen]

    def before_idle(self) -> list[Seen]:
        """Entries recorded while the cell was still running (up to the prompt getting its number)."""
        seen_running = False
        for position, entry in enumerate(self.entries):
            if entry.prompt.startswith("[*]"):
                seen_running = True
            elif seen_running and _FINISHED.match(entry.prompt):
                return self.entries[:position]
        raise AssertionError(f"the cell never finished in the observed log (last prompt {self.entries[-1].prompt!r})")

    def answers_before_idle(self) -> list[str]:
        """Each different non-empty text the live answer area showed while the cell ran, in order."""
        texts: list[str] = []
        for entry in self.before_idle():
            if entry.answer and entry.answer.strip() and (not texts or texts[-1] != entry.answer):
                texts.append(entry.answer)
        return texts

    def last_live(self) -> Seen:
        """The last state in which the live widget was on the page."""
        live = [e for e in self.entries if e.answer is not None]
        if not live:
            raise AssertionError("the live widget never appeared in the streaming cell's output")
        return live[-1]

    def chart_seen(self) -> bool:
        return any(e.chart for e in self.entries)

    def final(self) -> Seen:
        return self.entries[-1]


class NotebookPage:
    """One open notebook tab and the commands the test needs."""

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
        # Collapse the file browser so screenshots show the notebook, not the sidebar.
        self.command("application:toggle-left-area")

    def command(self, name: str, args: dict[str, Any] | None = None) -> None:
        # window.jupyterapp exists because the fixture starts the lab with expose_app_in_browser. The
        # command's promise is not awaited: run-all resolves only when every cell has run, and the test
        # watches the page for that instead.
        self.page.evaluate("([n, a]) => { window.jupyterapp.commands.execute(n, a); }", [name, args or {}])

    def cell(self, index: int) -> Any:
        return self.page.locator(CELLS).nth(index)

    def part(self, index: int, name: str) -> Any:
        """A part of the output of cell ``index``: answer, status, stop, chart, view or static."""
        return self.cell(index).locator(".jp-OutputArea").locator(SELECTORS[name]).first

    def watch(self, index: int) -> None:
        self.page.evaluate(_OBSERVER_JS, [index, SELECTORS, CELLS])

    def watched(self) -> WatchLog:
        raw = self.page.evaluate("() => window.__liveWatch.log")
        return WatchLog(
            [Seen(e["answer"], e["status"], e["chart"], e["staticAnswer"], e["staticStatus"], e["prompt"]) for e in raw]
        )

    def run_all(self) -> None:
        self.command("notebook:run-all-cells")

    def wait_finished(self, index: int, timeout_ms: float = 90_000) -> None:
        """Wait until cell ``index`` holds an execution count (see the module docstring)."""
        self.page.wait_for_function(
            """([i, cells, pattern]) => {
                const cell = document.querySelectorAll(cells)[i];
                const prompt = cell && cell.querySelector('.jp-InputPrompt');
                return !!prompt && new RegExp(pattern).test(prompt.textContent.trim());
            }""",
            arg=[index, CELLS, _FINISHED.pattern],
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

    def errors_up_to(self, index: int) -> list[str]:
        """Tracebacks shown in cells 0..index: a failing lesson cell should say why, not time out."""
        return self.page.evaluate(
            """([i, cells, stderr]) => [...document.querySelectorAll(cells)].slice(0, i + 1)
                .flatMap(c => [...c.querySelectorAll(stderr)])
                .map(e => e.textContent)
                .filter(t => t.includes('Traceback'))""",
            [index, CELLS, STDERR],
        )
