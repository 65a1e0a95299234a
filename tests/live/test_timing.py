"""helpers.timing against hand-made timestamp lists."""

from __future__ import annotations

import pytest
from live_support import make_result, text_events

from helpers.events import ContentBlockStart, MessageStart, TextDelta, ThinkingDelta
from helpers.timing import distribute, percentile, summarize, summarize_runs

MS = 1_000_000


def test_summarize_figures_from_known_stamps() -> None:
    sent = 10_000 * MS
    events = text_events(["ab", "cdef", "gh"], start_ns=sent + 100 * MS, step_ns=20 * MS, output_tokens=8,
                         metrics={"firstByteLatency": 90, "invocationLatency": 160, "outputTokenCount": 8})
    t = summarize(make_result(events, request_sent_ns=sent))
    assert t["ttft_ms"] == pytest.approx(120.0)  # first delta at +100 + 20 ms
    assert t["gaps_ms"] == pytest.approx([20.0, 20.0])
    assert t["chunk_offsets_ms"] == pytest.approx([120.0, 140.0, 160.0])
    assert t["tokens_per_chunk"] == [2, 4, 2]  # 8 tokens over 2/4/2 characters
    assert t["tokens_per_s"] == pytest.approx(6 / 0.040)  # tokens after the first chunk / 40 ms
    assert t["total_ms"] == pytest.approx(160.0)
    assert (t["firstByteLatency"], t["invocationLatency"]) == (90, 160)
    assert t["chunk_count"] == 3


def test_structural_events_are_not_chunks_and_thinking_is() -> None:
    events = [
        MessageStart(0, {"id": "x", "usage": {}}),
        ContentBlockStart(5 * MS, 0, {"type": "thinking", "thinking": ""}),
        ThinkingDelta(7 * MS, 0, "hmm"),
        TextDelta(12 * MS, 1, "yes"),
    ]
    t = summarize(make_result(events))
    assert t["ttft_ms"] is None  # request time unknown
    assert t["chunk_offsets_ms"] == pytest.approx([0.0, 5.0])
    assert t["gaps_ms"] == pytest.approx([5.0])
    assert t["tokens_per_chunk"] == []  # no reported total, no estimate


def test_distribute_sums_exactly_and_is_proportional() -> None:
    assert distribute(10, [1, 1, 1]) == [4, 3, 3]
    assert sum(distribute(101, [3, 7, 0, 11, 5])) == 101
    assert distribute(4, [0, 0]) == [2, 2]
    assert distribute(0, [5, 5]) == [0, 0]
    with pytest.raises(ValueError, match="total"):
        distribute(-1, [1])


def test_percentile_interpolates() -> None:
    assert percentile([1, 2, 3, 4], 50) == pytest.approx(2.5)
    assert percentile([10], 99) == 10
    assert percentile([], 50) is None
    assert percentile(list(range(101)), 90) == pytest.approx(90)
    with pytest.raises(ValueError, match="between 0 and 100"):
        percentile([1], 101)


def test_summarize_runs_pools_gaps_and_takes_ttft_per_run() -> None:
    runs = []
    for ttft in (100, 200, 300):
        sent = 0 + 1 * MS
        runs.append(make_result(text_events(["a", "b"], start_ns=sent + (ttft - 10) * MS, step_ns=10 * MS),
                                request_sent_ns=sent))
    s = summarize_runs(runs)
    assert s["runs"] == 3
    assert s["ttft_ms"]["median"] == pytest.approx(200)
    assert s["ttft_ms"]["count"] == 3
    assert s["gaps_ms"]["count"] == 3 and s["gaps_ms"]["median"] == pytest.approx(10)
    assert s["ttft_ms"]["p90"] == pytest.approx(280)
