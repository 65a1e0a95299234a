"""``LiveView``: one widget box that shows a stream as it arrives, without slowing it.

Two threads, one direction of data (rich's ``Live`` is the model):

* a *reader* thread iterates the ``StreamResult``; ``helpers.stream`` stamps and folds
  each event into ``result.snapshot`` before yielding it, so timestamps never wait
  for rendering;
* the *cell's* thread renders the latest snapshot at a throttled rate (tqdm's
  ``mininterval`` is the model): at most ``max_updates_per_s`` updates a second, and
  never more often than keeps rendering under ``max_render_share`` (2 %) of the time
  (rendering 100 kB of Markdown is not free, and it shares the GIL with the reader).
  A frame's cost is the CPU time of the cell's thread (``time.thread_time``), smoothed over
  frames: that is what the reader loses while the cell's thread holds the GIL. The wall time
  of a frame also counts the time the renderer *waited* for the GIL while the reader ran, so
  a budget on it spaces frames out for nothing on a busy machine (a 2 % share of wall time:
  display lag p95 1.5 s at load 13 on 2 cores); on CPU time, 2 % keeps lesson 3's paced
  stream at the full 20 frames/s and a 20,000-delta bulk read at a few frames a second
  (``live.overhead_ratio``, ``live.display_lag_ms_p95`` in ``benchmarks``).
  The reader flags new data, so a frame is drawn as soon as it arrives and the throttle
  allows (display lag in the page: ~30 ms median, ~55 ms p95, ``benchmarks.live_display``).
  Each widget only sends the traits that changed, batched with ``hold_sync``; the
  last state is always flushed at the end.

The layout is what the static copy (``helpers.live.static``) repeats, so replacing the
widget moves nothing: Stop and the status on one line, thinking (open while it streams,
folded once it ended), the answer in JupyterLab's Markdown typography beside the side
chart, then tool input. Stop clicks reach the busy kernel on a subshell
(``helpers.live.kernel_events``); nothing here ever touches the kernel's message queue.

The widget state is the rendered text and nothing else (no Output widget, no
history), so its size is proportional to what is on screen.
"""

from __future__ import annotations

import html
import threading
import time
from typing import Any

import ipywidgets as widgets

from helpers.live.kernel_events import route_to_frontend_subshell
from helpers.live.markdown import IncrementalMarkdown
from helpers.live.region import LiveRegion
from helpers.live.sidechart import MIN_POINTS, WIDTH, gap_chart_svg
from helpers.live.static import StaticRendering, thinking_text, tool_inputs
from helpers.live.status import LiveFigures, live_status

__all__ = ["LiveView", "markdown_block"]

_POLL_S = 0.02  # longest the cell's thread waits for data before looking at the chart again


def _hook(part: str) -> tuple[str, ...]:
    """Stable CSS class for a part of the view (styling, and the browser test's selectors)."""
    return (f"bedrock-live-{part}",)


def markdown_block(rendered: str) -> str:
    """The widget value that shows already rendered Markdown."""
    # JupyterLab's rendered-Markdown styles (the static copy gets them as an HTML output), not the widget
    # label's, so the text keeps its size and spacing when the static copy replaces the widget.
    return f'<div class="bedrock-md jp-RenderedHTMLCommon">{rendered}</div>'


def _check_rate(name: str, value: float) -> float:
    if not isinstance(value, int | float) or isinstance(value, bool) or not value > 0:
        raise ValueError(f"{name} must be a positive number of updates per second, got {value!r}")
    return float(value)


class LiveView(widgets.VBox):
    """Stop button and status line, thinking area, Markdown answer with optional chart, tool-input area.

    ``view.run(result)`` streams ``result`` into the view and returns it when it ends
    (normally, by error, by Stop, or by a kernel interrupt - the partial result is kept).
    """

    def __init__(
        self,
        *,
        max_updates_per_s: float = 20,
        show_chart: bool = False,
        chart_updates_per_s: float = 2,
        max_render_share: float = 0.02,
        **kwargs: Any,
    ) -> None:
        self.max_updates_per_s = _check_rate("max_updates_per_s", max_updates_per_s)
        self.chart_updates_per_s = _check_rate("chart_updates_per_s", chart_updates_per_s)
        if not 0 < max_render_share <= 1:
            raise ValueError(f"max_render_share must be in (0, 1], got {max_render_share!r}")
        self.max_render_share = max_render_share
        self.show_chart = bool(show_chart)

        self.status = widgets.HTML(value="<small>waiting for the first event...</small>", _dom_classes=_hook("status"))
        # ipywidgets.HTML's twin with a polite live region for screen readers (helpers.live.region).
        self.answer = LiveRegion(
            value="", layout=widgets.Layout(flex="1 1 auto", min_width="0"), _dom_classes=_hook("answer")
        )
        # A fixed width keeps the chart from stretching to the answer's height in the HBox. Only a view that
        # shows the chart has one: each widget costs comm messages to create (three here, with its layout and
        # style), and a bulk read's view is mostly what it costs to make (live.overhead_ratio).
        self.chart: widgets.HTML | None = widgets.HTML(
            value="",
            _dom_classes=_hook("chart"),
            layout=widgets.Layout(display="none", flex="0 0 auto", width=f"{WIDTH}px", align_self="flex-start"),
        ) if self.show_chart else None
        # Thinking and tool-input areas are made the first time a response has them:
        # most answers have neither, and every widget costs comm messages to create.
        self.thinking: widgets.HTML | None = None
        self.thinking_box: widgets.Accordion | None = None
        self.tools: widgets.HTML | None = None
        self.tools_box: widgets.Accordion | None = None
        self.stop_button = widgets.Button(
            description="Stop", icon="stop", button_style="warning", _dom_classes=_hook("stop"),
            layout=widgets.Layout(width="auto", flex="0 0 auto"),  # as wide as its label, not 148 px
            # The warning style draws its label in the theme's inverse text colour: white on the light theme's
            # orange is 2.7:1 (measured in tests/browser/test_dark_theme_a11y_browser.py), below WCAG AA's 4.5:1.
            # Both themes' warning orange is light enough for black (7:1 and more), so the label is black.
            style=widgets.ButtonStyle(text_color="black"),
        )
        self.stop_button.on_click(lambda _b: self.stop())
        # Clicks are handled on the frontend's comm subshell while the cell runs (see kernel_events).
        route_to_frontend_subshell(self.stop_button)
        self._body = widgets.HBox([self.answer] if self.chart is None else [self.answer, self.chart])
        kwargs.setdefault("_dom_classes", ("bedrock-live",))
        # Stop sits on the status line, above the text: it stays where it is while the answer grows below.
        self._header = widgets.HBox([self.stop_button, self.status], layout=widgets.Layout(align_items="center"))
        super().__init__(children=[self._header, self._body], **kwargs)

        self.result: Any = None
        self.update_count = 0  # frames rendered (each sends only what changed)
        self.stop_requested = False
        self.interrupted = False
        self._figures: LiveFigures | None = None
        self._drawn_events = -1
        self._last_chart_s = 0.0
        self._charted_gaps = -1
        # Each frame re-renders only the answer's unsettled end: the cost stays flat as it grows.
        self._answer_md = IncrementalMarkdown()
        self._thinking_md = IncrementalMarkdown()
        self._render_cost_s = 0.0  # smoothed CPU seconds per frame

    # --- control ----------------------------------------------------------------------

    def stop(self) -> None:
        """End the stream now, keeping everything received (the Stop button calls this)."""
        self.stop_requested = True
        if self.result is not None:
            self.result.close()

    def run(self, result: Any) -> Any:
        """Stream ``result`` into the view; returns it once it has ended. Never raises StreamError."""
        self.result = result
        self.answer.done = False
        self._figures = LiveFigures(getattr(result, "request_sent_ns", 0) or 0, gaps=self.show_chart)
        if self.stop_requested:
            result.close()
        failure: list[BaseException] = []
        # Set by the reader on every event: a frame is drawn as soon as data arrives and the throttle allows,
        # not at the next tick of a polling loop (that wait would add to what the reader sees late).
        arrived = threading.Event()

        def read() -> None:
            try:
                for _event in result:
                    if not arrived.is_set():  # a flag read; set() takes a lock, once per frame is enough
                        arrived.set()
            except Exception as exc:  # StreamError lands on result.error; keep anything else too
                if getattr(result, "error", None) is not exc:
                    failure.append(exc)

        reader = threading.Thread(target=read, name="bedrock-stream-reader", daemon=True)
        reader.start()
        min_interval = 1.0 / self.max_updates_per_s
        next_frame = 0.0
        try:
            while reader.is_alive():
                now = time.perf_counter()
                if now < next_frame:
                    reader.join(next_frame - now)  # the throttle: no frame before next_frame
                    continue
                if arrived.wait(_POLL_S):
                    arrived.clear()
                    started, cpu_started = time.perf_counter(), time.thread_time()
                    self.update()
                    cost = time.thread_time() - cpu_started
                    # Smoothed: one slow frame (or a coarse thread clock, ~16 ms steps on Windows) must not
                    # stall the view, and a steady cost is what the share is about.
                    smoothed = self._render_cost_s
                    self._render_cost_s = cost if smoothed == 0.0 else 0.7 * smoothed + 0.3 * cost
                    # Keep rendering to a small share of the time: the reader needs the GIL.
                    next_frame = started + max(min_interval, self._render_cost_s / self.max_render_share)
                # The chart has its own, slower schedule; its cost must not hold back the text.
                self.update_chart()
        except KeyboardInterrupt:
            self.interrupted = True
            result.close()
            reader.join()
        self.update(final=True)
        self.update_chart(final=True)
        if failure:
            raise failure[0]
        return result

    # --- rendering --------------------------------------------------------------------

    def update(self, *, final: bool = False) -> bool:
        """Render the latest snapshot now (only what changed). Returns True if anything was drawn."""
        result = self.result
        if result is None:
            return False
        figures = self._figures
        assert figures is not None
        # The event count is the cheap "anything new?" test: a snapshot may be rebuilt per access.
        seen = len(result.events)
        if seen == self._drawn_events and not final:
            return False
        self._drawn_events = seen
        snapshot = result.snapshot
        figures.advance(result.events, snapshot)
        done = final or bool(getattr(result, "done", False))

        status = html.escape(live_status(result, figures, done=done))
        if self.interrupted:
            status += " · interrupted (kernel interrupt)"
        self._set(self.status, f"<small>{status}</small>")
        with self.answer.hold_sync():  # the last text and "done" in one message
            if done:
                self.answer.done = True  # the last block is complete: screen readers hear it now
            self._set(self.answer, markdown_block(self._answer_md.render(snapshot.text, partial=not done)))
        thinking = thinking_text(snapshot)
        if thinking:
            if self.thinking is None:
                self.thinking, self.thinking_box = self._side_area("Thinking", "thinking", position=1)
            self._set(self.thinking, markdown_block(self._thinking_md.render(thinking, partial=not done)))
        tools = tool_inputs(snapshot)
        if tools:
            if self.tools is None:
                # Below the answer: tool input comes after the text that introduces it, as it streamed.
                self.tools, self.tools_box = self._side_area("Tool input", "tools", position=len(self.children))
            self._set(
                self.tools,
                "".join(f"<b>{html.escape(n)}</b><pre>{html.escape(t)}</pre>" for n, t in tools),
            )
        if done:
            self.stop_button.disabled = True
            if self.thinking_box is not None and self.thinking_box.selected_index is not None:
                self.thinking_box.selected_index = None  # read while it streamed; folded away once it ended
        self.update_count += 1
        return True

    def update_chart(self, *, final: bool = False) -> bool:
        """Redraw the side chart if it is on, has enough points and its own interval has passed.

        See ``helpers.live.sidechart``: it appears from ``MIN_POINTS`` gaps on. Returns True if drawn.
        """
        figures = self._figures
        if self.chart is None or figures is None or len(figures.gaps_ms) < MIN_POINTS:
            return False
        now = time.perf_counter()
        if not final and now - self._last_chart_s < 1.0 / self.chart_updates_per_s:
            return False
        if len(figures.gaps_ms) == self._charted_gaps:
            return False
        self._charted_gaps = len(figures.gaps_ms)
        self._set(self.chart, gap_chart_svg(figures.gaps_ms[-500:], ttft_ms=figures.ttft_ms))
        self._show(self.chart)
        self._last_chart_s = time.perf_counter()
        return True

    def _side_area(self, title: str, hook: str, *, position: int) -> tuple[widgets.HTML, widgets.Accordion]:
        """A titled, collapsible area, open while it streams."""
        content = widgets.HTML(value="")
        box = widgets.Accordion(children=[content], titles=(title,), selected_index=0, _dom_classes=_hook(hook))
        children = list(self.children)
        children.insert(position, box)
        self.children = tuple(children)
        return content, box

    @staticmethod
    def _set(widget: widgets.DOMWidget, value: str) -> None:
        if widget.value != value:  # unchanged traits send nothing
            with widget.hold_sync():
                widget.value = value

    @staticmethod
    def _show(widget: widgets.DOMWidget) -> None:
        if widget.layout.display == "none":
            widget.layout.display = None

    def release(self) -> None:
        """Close every widget of the view and let go of the stream.

        A closed widget leaves the kernel's widget registry, so a notebook that streams
        many answers does not keep every view - and every event of every stream - alive.
        """
        parts = (self.status, self.answer, self.chart, self.thinking, self.thinking_box, self.tools, self.tools_box)
        for widget in (*parts, self.stop_button, self._header, self._body, self):
            if widget is None:
                continue
            # Layout and style are widgets of their own, with their own comms.
            for helper in (getattr(widget, "layout", None), getattr(widget, "style", None)):
                if isinstance(helper, widgets.Widget):
                    helper.close()
            widget.close()
        self.result = None

    # --- plain-text and static forms --------------------------------------------------

    def static(self, *, timing: str = "") -> StaticRendering:
        """The deterministic rendering of what the view shows now."""
        if self.result is None:
            raise ValueError("this LiveView has not shown a stream yet; call view.run(result) first")
        chart = self.chart
        shown = chart.value if chart is not None and chart.layout.display != "none" else None
        return StaticRendering.of(self.result, timing=timing, chart_svg=shown)

    def __repr__(self) -> str:
        if self.result is None:
            return "LiveView(no stream yet)"
        return f"LiveView({StaticRendering.of(self.result).status})"
