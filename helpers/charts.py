"""Latency charts from recorded streams: pure functions returning ``matplotlib.figure.Figure``.

Figures are built with ``matplotlib.figure.Figure`` directly (never pyplot), so they
hold no global state, work under the Agg backend in tests and CI, and display in a
notebook through the figure's own rich representation. Every number plotted comes
from :func:`helpers.timing.summarize`, so a chart and the timing table always agree.

One style for all charts: the palette and axis treatment below; every axis says its
unit; every title says what was measured. Every chart is a :class:`ChartFigure` that also
says in words what it plots and the key figures, for readers who cannot see the picture.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from typing import Any

from matplotlib.figure import Figure

from helpers.timing import percentile, summarize

__all__ = ["ChartFigure", "chunk_latency", "cumulative_tokens", "latency_distribution", "sparkline_png", "COLORS"]

COLORS = {
    "ttft": "#d1495b",  # the wait for the first token stands out
    "gap": "#30638e",
    "rate": "#edae49",
    "point": "#00798c",
}


class ChartFigure(Figure):
    """A ``Figure`` that carries a text description of what it plots, and displays with it.

    A picture alone says nothing to a screen reader. JupyterLab draws an ``image/png`` output as an ``<img>``
    with no ``alt`` and reads no alt text from the output's metadata (``renderImage`` in
    ``packages/rendermime/src/renderers.ts``, JupyterLab 4.x: only width, height, unconfined and
    needs_background). So the figure displays as ``text/html``, an ``<img>`` whose ``alt`` is the description,
    which JupyterLab and Notebook 7 prefer to ``image/png`` (rendermime's default ranks: HTML 50, images 90)
    and so does myst-nb for the static site (HTML 30, PNG 50, ``base_render_priority`` in
    ``myst_nb/core/render.py``). The ``image/png`` stays in the bundle for readers that do not render HTML,
    and ``text/plain`` is the description itself instead of ``<Figure size 800x300 with 1 Axes>``.

    A subclass rather than a formatter registered for every ``Figure``: the description travels with the
    figure it describes, and it displays the same way in any IPython front-end without global setup.
    The description is kept separate from the suptitle, which a lesson may set afterwards; both are read
    when the figure is shown.
    """

    def __init__(self, *args: Any, description: str = "", **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.description = description

    def alt_text(self) -> str:
        """The suptitle (if any) followed by the description, or the axes' titles when there is none."""
        heading = self.get_suptitle().strip()
        body = self.description.strip()
        if not body:
            titles = [f"{a.get_title()} ({a.get_ylabel()})" if a.get_ylabel() else a.get_title() for a in self.axes]
            body = "; ".join(t.strip() for t in titles if t.strip()) or "A chart."
        return f"{heading}. {body}" if heading else body

    def _repr_mimebundle_(self, include: Any = None, exclude: Any = None) -> dict[str, Any]:
        import base64
        import html

        from IPython.core.pylabtools import print_figure

        png = print_figure(self, "png", bbox_inches="tight")
        alt = self.alt_text()
        source = "data:image/png;base64," + base64.b64encode(png).decode("ascii")
        return {"image/png": png, "text/html": f'<img src="{source}" alt="{html.escape(alt)}">', "text/plain": alt}


def _ms(value: float | None) -> str:
    # Whole milliseconds hide the gaps of a fast local stream (0.4 ms would read "0 ms").
    if value is None:
        return "unknown"
    return f"{value:.1f} ms" if value < 10 else f"{value:.0f} ms"


def _runs(n: int) -> str:
    return "1 run" if n == 1 else f"{n} runs"


def _spread(values: list[float]) -> str:
    if not values:
        return "unknown"
    return f"median {_ms(percentile(values, 50))} (longest {_ms(max(values))})"


def _style(ax: Any) -> None:
    ax.grid(axis="y", alpha=0.3)
    for side in ("top", "right"):
        ax.spines[side].set_visible(False)
    ax.tick_params(labelsize=8)


def _label(result: Any, before: str = " - ") -> str:
    model = getattr(result, "model_id", "") or ""
    return f"{before}{model}" if model else ""


def chunk_latency(result: Any, *, figsize: tuple[float, float] = (8, 3)) -> ChartFigure:
    """A bar per output chunk: the wait before it arrived. Bar 0 is the time to first token.

    Bar heights are ``[ttft_ms] + gaps_ms`` from :func:`helpers.timing.summarize`. When
    the request time is unknown (a replayed recording) there is no TTFT bar and the
    bars start at chunk 1. The figure's description gives the TTFT and the median and longest gap.
    """
    t = summarize(result)
    gaps = t["gaps_ms"]
    said = [f"time to first token {_ms(t['ttft_ms'])}" if t["ttft_ms"] is not None
            else "no time to first token (the request time is unknown)"]  # fmt: skip
    if gaps:
        said.append(f"gap between chunks {_spread(gaps)}")
    source = _label(result, " from ")
    description = (f"Bar chart of the wait before each of {t['chunk_count']} streamed chunks{source}, "
                   f"in milliseconds: {'; '.join(said)}.")  # fmt: skip
    fig = ChartFigure(figsize=figsize, layout="constrained", description=description)
    ax = fig.add_subplot()
    ax.bar(range(1, len(gaps) + 1), gaps, width=0.8, color=COLORS["gap"], label="gap since previous chunk")
    if t["ttft_ms"] is not None:
        label = f"time to first token ({t['ttft_ms']:.0f} ms)"
        ax.bar([0], [t["ttft_ms"]], width=0.8, color=COLORS["ttft"], label=label)
    ax.set_xlabel("output chunk (#)")
    ax.set_ylabel("wait before chunk (ms)")
    ax.set_title(f"Wait before each streamed chunk ({t['chunk_count']} chunks){_label(result)}", fontsize=10)
    ax.legend(fontsize=8, frameon=False)
    _style(ax)
    return fig


def cumulative_tokens(result: Any, *, figsize: tuple[float, float] = (8, 3)) -> ChartFigure:
    """Output tokens received over time (estimated per chunk), with the mean decoding rate.

    The step line's points are ``(chunk_offsets_ms[i], cumsum(tokens_per_chunk)[i])``;
    the dashed line runs from the first to the last chunk with slope ``tokens_per_s``. The figure's
    description gives the tokens, when the first and last chunk arrived and the mean rate.
    """
    t = summarize(result)
    xs = t["chunk_offsets_ms"]
    origin = "request sent" if t["ttft_ms"] is not None else "first chunk"
    tokens = "an unknown number of" if t["output_tokens"] is None else t["output_tokens"]
    said = f"{tokens} output tokens in {t['chunk_count']} chunks"
    if xs:
        said += f", the first chunk at {_ms(xs[0])}, the last at {_ms(xs[-1])}"
    if t["tokens_per_s"] is not None:
        said += f"; mean rate {t['tokens_per_s']:.0f} tokens/s"
    source = _label(result, " from ")
    since = "the request was sent" if t["ttft_ms"] is not None else "the first chunk arrived"
    description = (f"Step chart of the output tokens received{source} (estimated per chunk) against "
                   f"the time since {since}: {said}.")  # fmt: skip
    fig = ChartFigure(figsize=figsize, layout="constrained", description=description)
    ax = fig.add_subplot()
    running, ys = 0, []
    for n in t["tokens_per_chunk"]:
        running += n
        ys.append(running)
    if xs and ys:
        ax.step(xs, ys, where="post", color=COLORS["gap"], label="output tokens received")
    rate = t["tokens_per_s"]
    if rate is not None and len(xs) > 1:
        ax.plot(
            [xs[0], xs[-1]],
            [ys[0], ys[0] + rate * (xs[-1] - xs[0]) / 1000],
            linestyle="--",
            color=COLORS["rate"],
            label=f"mean rate {rate:.0f} tokens/s",
        )
    ax.set_xlabel(f"time since {origin} (ms)")
    ax.set_ylabel("output tokens (estimated)")
    ax.set_title(f"Output tokens over time ({t['output_tokens']} tokens){_label(result)}", fontsize=10)
    ax.legend(fontsize=8, frameon=False)
    _style(ax)
    return fig


def _group_key(by: str | Callable[[Any], Any] | None) -> Callable[[Any], str]:
    if by is None:
        return lambda _r: "all runs"
    if callable(by):
        return lambda r: str(by(r))
    if isinstance(by, str):
        def key(r: Any) -> str:
            if not hasattr(r, by):
                raise ValueError(
                    f"latency_distribution(by={by!r}): the result has no attribute {by!r}; "
                    "pass an attribute name such as 'model_id' or a function result -> label"
                )
            return str(getattr(r, by))

        return key
    raise TypeError(f"by must be None, an attribute name or a function, not {type(by).__name__}")


def _jitter(n: int, width: float = 0.25) -> list[float]:
    # Deterministic spread so the same runs always draw the same picture.
    if n <= 1:
        return [0.0] * n
    return [-width + 2 * width * i / (n - 1) for i in range(n)]


def latency_distribution(
    results: Iterable[Any],
    by: str | Callable[[Any], Any] | None = None,
    *,
    figsize: tuple[float, float] = (9, 3.5),
) -> ChartFigure:
    """TTFT (one point per run) and chunk gaps (every gap of every run), grouped by a label.

    ``by`` is None (one group), an attribute name of the results (``"model_id"``) or a
    function ``result -> label`` (e.g. ``lambda r: r.usage["output_tokens"]``). Groups
    are drawn in first-seen order; each has a box plot with its points over it. The figure's description
    gives each group's runs and the median and longest TTFT and gap.
    """
    key = _group_key(by)
    groups: dict[str, list[dict[str, Any]]] = {}
    for r in results:
        groups.setdefault(key(r), []).append(summarize(r))
    if not groups:
        raise ValueError("latency_distribution needs at least one result")
    labels = list(groups)
    ttfts = [[s["ttft_ms"] for s in groups[g] if s["ttft_ms"] is not None] for g in labels]
    gaps = [[x for s in groups[g] for x in s["gaps_ms"]] for g in labels]

    said = [f"{label}: {_runs(len(groups[label]))}, time to first token {_spread(ttft)}, gap between chunks "
            f"{_spread(gap)}" for label, ttft, gap in zip(labels, ttfts, gaps, strict=True)]  # fmt: skip
    description = ("Box plots with every value as a point, in milliseconds: on the left the time to first token "
                   "of each run, on the right every gap between chunks of every run, by group. "
                   + "; ".join(said) + ".")  # fmt: skip
    fig = ChartFigure(figsize=figsize, layout="constrained", description=description)
    axes = fig.subplots(1, 2)
    panels: Sequence[tuple[Any, list[list[float]], str, str]] = (
        (axes[0], ttfts, "time to first token (ms)", "Time to first token per run"),
        (axes[1], gaps, "gap between chunks (ms)", "Gaps between chunks, all runs"),
    )
    for ax, data, ylabel, title in panels:
        positions = list(range(1, len(labels) + 1))
        ax.boxplot([d if d else [float("nan")] for d in data], positions=positions, widths=0.6, showfliers=False)
        for pos, values in zip(positions, data, strict=True):
            ax.scatter(
                [pos + j for j in _jitter(len(values))], values, s=8, alpha=0.6, color=COLORS["point"], zorder=3
            )
        ax.set_xticks(positions, labels, fontsize=8)
        ax.set_ylabel(ylabel)
        # From zero: a box plot scaled to its data makes a 1 ms difference look as large as a 100 ms one.
        ax.set_ylim(bottom=0)
        ax.set_title(f"{title} ({sum(len(d) for d in data)} values)", fontsize=10)
        _style(ax)
    fig.suptitle(f"Latency across {sum(len(v) for v in groups.values())} runs", fontsize=11)
    return fig


def sparkline_png(gaps_ms: Sequence[float], *, ttft_ms: float | None = None, width_px: int = 240) -> bytes:
    """A small PNG of the chunk gaps so far, for the live view's side panel."""
    from io import BytesIO

    fig = Figure(figsize=(width_px / 80, 1.2), dpi=80, layout="constrained")
    ax = fig.add_subplot()
    ax.plot(range(1, len(gaps_ms) + 1), list(gaps_ms), color=COLORS["gap"], linewidth=0.8)
    title = "gap per chunk (ms)" if ttft_ms is None else f"TTFT {ttft_ms:.0f} ms · gaps (ms)"
    ax.set_title(title, fontsize=7)
    ax.tick_params(labelsize=6)
    for side in ("top", "right"):
        ax.spines[side].set_visible(False)
    buf = BytesIO()
    fig.savefig(buf, format="png")
    return buf.getvalue()
