"""The live view's side chart: the gap before each chunk, drawn off the cell's thread.

What makes it worth looking at:

* it appears only once there are ``MIN_POINTS`` gaps - three dots are noise, not a picture;
* axes a reader can read at a glance: chunks counted from 1 along x with a few whole-number
  ticks, milliseconds from 0 up on y, and a y range set by the 98th percentile so one slow
  chunk does not flatten everything else (points above the range sit on its top edge, drawn
  as triangles, and the title says how many);
* drawing a PNG with matplotlib takes tens of milliseconds, which on the cell's thread would
  hold back the text updates. ``ChartPainter`` draws on a worker thread; the cell's thread
  only picks up the finished image.
"""

from __future__ import annotations

import math
import threading
from collections.abc import Sequence
from io import BytesIO
from typing import TYPE_CHECKING

if TYPE_CHECKING:  # matplotlib is imported when the first chart is drawn, not with the live view
    from matplotlib.figure import Figure

__all__ = ["MIN_POINTS", "gap_chart", "gap_chart_png", "ChartPainter", "y_limit"]

MIN_POINTS = 20
GAP_COLOR = "#30638e"  # the course's colour for gaps (helpers.charts.COLORS["gap"])


def y_limit(gaps_ms: Sequence[float]) -> float:
    """Top of the y axis: the 98th percentile with some headroom, at least 1 ms."""
    data = sorted(gaps_ms)
    top = data[min(len(data) - 1, math.ceil(0.98 * len(data)) - 1)]
    return max(1.0, top * 1.15)


def gap_chart_png(gaps_ms: Sequence[float], *, ttft_ms: float | None = None, width_px: int = 340) -> bytes:
    """The side chart as PNG bytes."""
    buf = BytesIO()
    gap_chart(gaps_ms, ttft_ms=ttft_ms, width_px=width_px).savefig(buf, format="png")
    return buf.getvalue()


def gap_chart(gaps_ms: Sequence[float], *, ttft_ms: float | None = None, width_px: int = 340) -> Figure:
    """The gap before each chunk (chunk 1 is the gap after the first token), as a small figure."""
    from matplotlib.figure import Figure
    from matplotlib.ticker import MaxNLocator

    limit = y_limit(gaps_ms)
    xs = range(1, len(gaps_ms) + 1)
    inside = [min(g, limit) for g in gaps_ms]
    over = [(x, limit) for x, g in zip(xs, gaps_ms, strict=True) if g > limit]

    fig = Figure(figsize=(width_px / 100, 1.6), dpi=100, layout="constrained")
    ax = fig.add_subplot()
    ax.plot(xs, inside, color=GAP_COLOR, linewidth=0.8)
    if over:
        ax.scatter([x for x, _ in over], [y for _, y in over], marker="^", s=10, color=GAP_COLOR, clip_on=False)
    ax.set_xlim(1, max(2, len(gaps_ms)))
    ax.set_ylim(0, limit)
    ax.xaxis.set_major_locator(MaxNLocator(nbins=4, integer=True))
    ax.yaxis.set_major_locator(MaxNLocator(nbins=3))
    ax.set_xlabel("chunk", fontsize=7, labelpad=1)
    ax.set_ylabel("gap (ms)", fontsize=7, labelpad=1)
    # Two short lines rather than one long one: the chart is only 340 px wide.
    first = "gap before each chunk" if ttft_ms is None else f"first token after {ttft_ms:.0f} ms"
    second = "gap before each chunk" if ttft_ms is not None else ""
    if over:
        second += f"{' · ' if second else ''}{len(over)} above the scale (▲)"
    ax.set_title(f"{first}\n{second}" if second else first, fontsize=7)
    ax.tick_params(labelsize=6, length=2)
    for side in ("top", "right"):
        ax.spines[side].set_visible(False)
    return fig


class ChartPainter:
    """Draws one chart at a time on a worker thread; ``take()`` returns a finished PNG once."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._busy = False
        self._done: bytes | None = None
        self._worker: threading.Thread | None = None

    @property
    def busy(self) -> bool:
        return self._busy

    def request(self, gaps_ms: Sequence[float], ttft_ms: float | None) -> bool:
        """Start drawing these gaps unless a drawing is under way. Returns True if started."""
        with self._lock:
            if self._busy:
                return False
            self._busy = True
        gaps = list(gaps_ms)  # a copy: the reader keeps appending to the original

        def draw() -> None:
            png = None
            try:
                png = gap_chart_png(gaps, ttft_ms=ttft_ms)
            finally:
                with self._lock:
                    self._done = png
                    self._busy = False

        self._worker = threading.Thread(target=draw, name="bedrock-live-chart", daemon=True)
        self._worker.start()
        return True

    def take(self) -> bytes | None:
        with self._lock:
            png, self._done = self._done, None
        return png

    def wait(self) -> None:
        """Let a drawing under way finish (the final chart must include every gap)."""
        worker = self._worker
        if worker is not None:
            worker.join()
