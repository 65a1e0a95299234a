"""Latency charts from recorded streams: pure functions returning ``matplotlib.figure.Figure``.

Figures are built with ``matplotlib.figure.Figure`` directly (never pyplot), so they
hold no global state, work under the Agg backend in tests and CI, and display in a
notebook through the figure's own rich representation. Every number plotted comes
from :func:`helpers.timing.summarize`, so a chart and the timing table always agree.

One style for all charts: the palette and axis treatment below; every axis says its
unit; every title says what was measured.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from typing import Any

from matplotlib.figure import Figure

from helpers.timing import summarize

__all__ = ["chunk_latency", "cumulative_tokens", "latency_distribution", "sparkline_png", "COLORS"]

COLORS = {
    "ttft": "#d1495b",  # the wait for the first token stands out
    "gap": "#30638e",
    "rate": "#edae49",
    "point": "#00798c",
}


def _show_figures_as_png_in_ipython() -> None:
    """Let a bare ``Figure`` returned by a cell display as a PNG.

    IPython only learns to draw figures when pyplot sets up its inline backend
    (``%matplotlib inline``); these charts never touch pyplot, so without this a
    lesson would store only ``<Figure size ...>``. Nothing happens outside IPython.
    """
    import sys

    if "IPython" not in sys.modules:
        return
    from IPython import get_ipython

    shell = get_ipython()
    if shell is None:
        return
    from IPython.core.pylabtools import print_figure

    formatter = shell.display_formatter.formatters["image/png"]
    formatter.for_type(Figure, lambda fig: print_figure(fig, "png", bbox_inches="tight"))


_show_figures_as_png_in_ipython()


def _style(ax: Any) -> None:
    ax.grid(axis="y", alpha=0.3)
    for side in ("top", "right"):
        ax.spines[side].set_visible(False)
    ax.tick_params(labelsize=8)


def _label(result: Any) -> str:
    model = getattr(result, "model_id", "") or ""
    return f" - {model}" if model else ""


def chunk_latency(result: Any, *, figsize: tuple[float, float] = (8, 3)) -> Figure:
    """A bar per output chunk: the wait before it arrived. Bar 0 is the time to first token.

    Bar heights are ``[ttft_ms] + gaps_ms`` from :func:`helpers.timing.summarize`. When
    the request time is unknown (a replayed recording) there is no TTFT bar and the
    bars start at chunk 1.
    """
    t = summarize(result)
    fig = Figure(figsize=figsize, layout="constrained")
    ax = fig.add_subplot()
    gaps = t["gaps_ms"]
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


def cumulative_tokens(result: Any, *, figsize: tuple[float, float] = (8, 3)) -> Figure:
    """Output tokens received over time (estimated per chunk), with the mean decoding rate.

    The step line's points are ``(chunk_offsets_ms[i], cumsum(tokens_per_chunk)[i])``;
    the dashed line runs from the first to the last chunk with slope ``tokens_per_s``.
    """
    t = summarize(result)
    fig = Figure(figsize=figsize, layout="constrained")
    ax = fig.add_subplot()
    xs = t["chunk_offsets_ms"]
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
    origin = "request sent" if t["ttft_ms"] is not None else "first chunk"
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
) -> Figure:
    """TTFT (one point per run) and chunk gaps (every gap of every run), grouped by a label.

    ``by`` is None (one group), an attribute name of the results (``"model_id"``) or a
    function ``result -> label`` (e.g. ``lambda r: r.usage["output_tokens"]``). Groups
    are drawn in first-seen order; each has a box plot with its points over it.
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

    fig = Figure(figsize=figsize, layout="constrained")
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
