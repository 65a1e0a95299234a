"""The charts plot exactly the timing figures (read back from the artists)."""

from __future__ import annotations

import matplotlib.colors as mcolors
import pytest
from live_support import make_result, text_events
from matplotlib.figure import Figure

from helpers.charts import COLORS, chunk_latency, cumulative_tokens, latency_distribution, sparkline_png
from helpers.timing import summarize

MS = 1_000_000


def _result(ttft_ms: int = 100, step_ms: int = 20, model_id: str = "m", pieces: tuple[str, ...] = ("ab", "cdef", "gh")):
    sent = 1_000 * MS
    events = text_events(list(pieces), start_ns=sent + (ttft_ms - step_ms) * MS, step_ns=step_ms * MS,
                         output_tokens=8)
    return make_result(events, request_sent_ns=sent, model_id=model_id)


def test_chunk_latency_bars_are_ttft_then_gaps() -> None:
    result = _result()
    t = summarize(result)
    fig = chunk_latency(result)
    assert isinstance(fig, Figure)
    ax = fig.axes[0]
    bars = sorted(ax.patches, key=lambda p: p.get_x())
    heights = [b.get_height() for b in bars]
    assert heights == pytest.approx([t["ttft_ms"], *t["gaps_ms"]])
    assert mcolors.to_hex(bars[0].get_facecolor()) == COLORS["ttft"]  # TTFT is marked
    assert all(mcolors.to_hex(b.get_facecolor()) == COLORS["gap"] for b in bars[1:])
    assert "(ms)" in ax.get_ylabel() and "chunk" in ax.get_xlabel()
    assert "Wait before each streamed chunk" in ax.get_title()


def test_cumulative_tokens_steps_and_mean_rate() -> None:
    result = _result()
    t = summarize(result)
    ax = cumulative_tokens(result).axes[0]
    step, rate = ax.lines[0], ax.lines[1]
    xs, ys = step.get_xdata(), step.get_ydata()
    assert list(xs) == pytest.approx(t["chunk_offsets_ms"])
    assert list(ys) == [2, 6, 8]
    (x0, x1), (y0, y1) = rate.get_xdata(), rate.get_ydata()
    assert (y1 - y0) / ((x1 - x0) / 1000) == pytest.approx(t["tokens_per_s"])
    assert "tokens" in ax.get_ylabel() and "(ms)" in ax.get_xlabel()


def test_latency_distribution_groups_runs_by_label() -> None:
    runs = [_result(100, model_id="a"), _result(300, model_id="b"), _result(200, model_id="a")]
    fig = latency_distribution(runs, by="model_id")
    ttft_ax, gap_ax = fig.axes[:2]
    assert [t.get_text() for t in ttft_ax.get_xticklabels()] == ["a", "b"]
    points = ttft_ax.collections
    group_a = sorted(points[0].get_offsets()[:, 1])
    group_b = sorted(points[1].get_offsets()[:, 1])
    assert group_a == pytest.approx([100, 200]) and group_b == pytest.approx([300])
    assert sorted(gap_ax.collections[0].get_offsets()[:, 1]) == pytest.approx([20.0] * 4)
    # A function works as the grouping too.
    fig2 = latency_distribution(runs, by=lambda r: summarize(r)["ttft_ms"] > 150)
    assert [t.get_text() for t in fig2.axes[0].get_xticklabels()] == ["False", "True"]


def test_latency_distribution_axes_start_at_zero() -> None:
    """Two groups 1 ms apart must not look far apart: both panels' y-axes start at 0 ms."""
    runs = [_result(100, model_id="a"), _result(101, model_id="b")]
    ttft_ax, gap_ax = latency_distribution(runs, by="model_id").axes[:2]
    assert ttft_ax.get_ylim()[0] == 0 and gap_ax.get_ylim()[0] == 0
    assert ttft_ax.get_ylim()[1] >= 101


def test_latency_distribution_bad_inputs_say_what_to_do() -> None:
    with pytest.raises(ValueError, match="no attribute 'colour'"):
        latency_distribution([_result()], by="colour")
    with pytest.raises(ValueError, match="at least one result"):
        latency_distribution([])


def test_sparkline_is_a_png() -> None:
    assert sparkline_png([1.0, 2.0, 3.0], ttft_ms=50).startswith(b"\x89PNG")


def _irregular_stream():
    """Five text chunks: the first 250 ms after the request, then gaps of 12, 40, 20 and 16 ms; 12 output tokens."""
    from helpers.events import ContentBlockStart, ContentBlockStop, MessageDelta, MessageStart, MessageStop, TextDelta

    sent = 1_000 * MS
    arrivals_ms = (1_250, 1_262, 1_302, 1_322, 1_338)
    pieces = ("ab", "cdef", "gh", "ij", "kl")  # 12 characters for 12 tokens: 2, 4, 2, 2, 2 per chunk
    events = [MessageStart(1_100 * MS, {"id": "msg_1", "model": "m", "role": "assistant", "usage": {}}),
              ContentBlockStart(1_100 * MS, 0, {"type": "text", "text": ""})]  # fmt: skip
    events += [TextDelta(at * MS, 0, piece) for at, piece in zip(arrivals_ms, pieces, strict=True)]
    end = arrivals_ms[-1] * MS
    events += [ContentBlockStop(end, 0), MessageDelta(end, "end_turn", None, {"output_tokens": 12}),
               MessageStop(end, {})]  # fmt: skip
    return make_result(events, request_sent_ns=sent, model_id="test-model")


def test_charts_describe_the_figures_they_plot() -> None:
    # By hand from the stream above: TTFT 1250 - 1000 = 250 ms; gaps 12, 40, 20, 16 -> sorted 12, 16, 20, 40,
    # median (16 + 20) / 2 = 18 ms, longest 40 ms; last chunk 338 ms after the request; rate: the 10 tokens
    # after the first chunk over 1338 - 1250 = 88 ms = 113.6 tokens/s.
    result = _irregular_stream()
    bars = chunk_latency(result)
    assert bars.description == (
        "Bar chart of the wait before each of 5 streamed chunks from test-model, in milliseconds: "
        "time to first token 250 ms; gap between chunks median 18 ms (longest 40 ms)."
    )
    bars.suptitle("local endpoint at time_scale 1")  # what a lesson adds after the call
    assert bars.alt_text() == "local endpoint at time_scale 1. " + bars.description
    assert cumulative_tokens(result).description == (
        "Step chart of the output tokens received from test-model (estimated per chunk) against the time since "
        "the request was sent: 12 output tokens in 5 chunks, the first chunk at 250 ms, the last at 338 ms; "
        "mean rate 114 tokens/s."
    )


def test_distribution_describes_each_group() -> None:
    # Group a: TTFTs 100 and 200 ms, gaps 20, 20, 30, 30 ms; group b: TTFT 300 ms, gaps 5, 5 ms.
    runs = [_result(100, step_ms=20, model_id="a"), _result(200, step_ms=30, model_id="a"),
            _result(300, step_ms=5, model_id="b")]  # fmt: skip
    assert latency_distribution(runs, by="model_id").alt_text() == (
        "Latency across 3 runs. Box plots with every value as a point, in milliseconds: on the left the time to "
        "first token of each run, on the right every gap between chunks of every run, by group. "
        "a: 2 runs, time to first token median 150 ms (longest 200 ms), gap between chunks median 25 ms "
        "(longest 30 ms); b: 1 run, time to first token median 300 ms (longest 300 ms), gap between chunks "
        "median 5.0 ms (longest 5.0 ms)."
    )


def test_a_chart_returned_by_a_cell_displays_as_an_image_with_its_description() -> None:
    # Lessons show charts by returning the figure. The HTML image carries the description as its alt text (what
    # JupyterLab, Notebook 7 and the site show); the PNG stays for readers without HTML; the text is the description.
    import base64
    import html
    import re

    from IPython.core.interactiveshell import InteractiveShell

    figure = chunk_latency(_irregular_stream())
    data, _ = InteractiveShell.instance().display_formatter.format(figure)
    assert data["image/png"][:4] == b"\x89PNG"
    assert data["text/plain"] == figure.description
    img = re.fullmatch(r'<img src="data:image/png;base64,([A-Za-z0-9+/=]+)" alt="([^"]*)">', data["text/html"])
    assert img, data["text/html"][:200]
    assert base64.b64decode(img[1])[:4] == b"\x89PNG"
    assert html.unescape(img[2]) == figure.description
    assert "time to first token 250 ms" in img[2]


def test_side_chart_axes_read_at_a_glance() -> None:
    import xml.etree.ElementTree as ET

    from helpers.live.sidechart import gap_chart_svg, nice_ticks, y_limit

    gaps = [10.0 + (i % 5) for i in range(60)] + [900.0]  # one slow chunk among steady ones
    svg = ET.fromstring(gap_chart_svg(gaps, ttft_ms=120))
    texts = {cls: [t.text for t in svg.iter("{http://www.w3.org/2000/svg}text") if t.get("class") == cls]
             for cls in ("title", "xtick", "ytick", "xlabel", "ylabel")}  # fmt: skip
    assert y_limit(gaps) < 100, "one slow chunk must not flatten the steady ones"
    assert texts["ytick"][0] == "0" and all(float(t) <= y_limit(gaps) for t in texts["ytick"])
    assert texts["xtick"] and all(t.isdigit() and 1 <= int(t) <= len(gaps) for t in texts["xtick"])
    assert 2 <= len(texts["xtick"]) <= 5 and 2 <= len(texts["ytick"]) <= 5
    assert texts["xlabel"] == ["chunk"] and texts["ylabel"] == ["gap (ms)"]
    assert texts["title"] == ["first token after 120 ms", "gap before each chunk · 1 above the scale (▲)"]
    assert len([p for p in svg.iter("{http://www.w3.org/2000/svg}path") if p.get("class") == "over"]) == 1
    assert nice_ticks(47) == [0, 20, 40] and nice_ticks(61, 4, integer=True) == [0, 20, 40, 60]


def test_side_chart_says_what_it_shows_to_screen_readers() -> None:
    import xml.etree.ElementTree as ET

    from helpers.live.sidechart import gap_chart_svg

    svg = ET.fromstring(gap_chart_svg([30.0, 10.0, 20.0, 80.0], ttft_ms=120.4))
    expected = "Chart of the gap before each chunk: first token after 120 ms; 4 chunks, median gap 25 ms, longest 80 ms"
    assert svg.get("role") == "img" and svg.get("aria-label") == expected
    assert svg.find("{http://www.w3.org/2000/svg}title").text == expected  # a tooltip for sighted readers too


def test_side_chart_waits_for_enough_points() -> None:
    from live_support import StandInResult

    from helpers.live import LiveView
    from helpers.live.sidechart import MIN_POINTS

    few = LiveView(show_chart=True)
    few.run(StandInResult(iter(text_events(["a"] * (MIN_POINTS - 1)))))
    assert few.chart.layout.display == "none", "a chart of a handful of gaps is noise"
    assert few.static().chart_svg is None
    many = LiveView(show_chart=True)
    many.run(StandInResult(iter(text_events(["a"] * (MIN_POINTS + 5)))))
    assert many.chart.layout.display != "none" and many.chart.value.startswith("<svg")
    assert many.static().chart_svg == many.chart.value  # the static copy keeps the chart the view showed
    assert many.chart.value in many.static().to_html()
