"""LiveView and render_stream: throttling, Stop, memory, Markdown safety, static output."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator

import pytest
from live_support import StandInResult, make_result, text_events, updates

from helpers.events import StreamEvent
from helpers.live import LiveView, StaticRendering, render_stream
from helpers.live.markdown import close_open_fence, render_markdown
from helpers.live.view import markdown_block


def paced(events: list[StreamEvent], per_s: float) -> Iterator[StreamEvent]:
    """Yield events at about ``per_s`` a second (busy-waiting in small steps, like a fast socket)."""
    start = time.perf_counter()
    for i, e in enumerate(events):
        due = start + i / per_s
        while time.perf_counter() < due:
            time.sleep(0.0002)
        yield e


def answer_updates(log: list, view: LiveView) -> list[dict]:
    """Updates the answer widget sent: one per rendered frame whose text changed (not its ``done`` flag alone)."""
    return [u for u in updates(log, view.answer.comm.comm_id) if "value" in u["state"]]


# --- Markdown ----------------------------------------------------------------------------


def test_raw_html_in_model_text_is_escaped() -> None:
    html = render_markdown('Hi <img src=x onerror="alert(1)"> and <script>x()</script>')
    assert "<img" not in html and "<script" not in html
    assert "&lt;script&gt;" in html


def test_open_fence_renders_as_code_mid_stream() -> None:
    partial = "Here:\n\n```python\nprint('<b>')\n# not a heading"
    html = render_markdown(partial, partial=True)
    assert '<pre><code class="language-python">' in html
    assert "<h1>" not in html and "&lt;b&gt;" in html
    assert close_open_fence("```\ncode\n```\n") == "```\ncode\n```\n"  # closed fences untouched
    assert close_open_fence("~~~~\nx").endswith("\n~~~~\n")


# --- throttling and final value ----------------------------------------------------------


def test_throttled_updates_at_5000_events_per_s_and_final_value(recording_comm) -> None:
    pieces = [f"w{i} " for i in range(3000)]
    result = StandInResult(paced(text_events(pieces), 5000))
    view = LiveView(max_updates_per_s=20)
    started = time.perf_counter()
    view.run(result)
    elapsed = time.perf_counter() - started
    sent = answer_updates(recording_comm.log, view)
    allowed = 20 * elapsed + 2  # the rate ceiling, the first frame and the final flush
    assert 2 <= len(sent) <= allowed, (len(sent), elapsed)
    assert len(sent) < len(pieces) / 10
    assert view.answer.value == markdown_block(render_markdown(result.snapshot.text))
    assert result.snapshot.text == "".join(pieces)
    assert sent[-1]["state"]["value"] == view.answer.value  # the flush reached the frontend


def test_lower_ceiling_sends_fewer_updates(recording_comm) -> None:
    result = StandInResult(paced(text_events([f"x{i} " for i in range(1500)]), 5000))
    view = LiveView(max_updates_per_s=2)
    started = time.perf_counter()
    view.run(result)
    assert len(answer_updates(recording_comm.log, view)) <= 2 * (time.perf_counter() - started) + 2


def test_chart_does_not_starve_the_text(recording_comm) -> None:
    # Drawing the chart PNG is slow (matplotlib); it runs on its own schedule, so the
    # answer keeps updating at the text rate while the chart is on.
    result = StandInResult(paced(text_events([f"w{i} " for i in range(4000)]), 4000))
    view = LiveView(max_updates_per_s=20, show_chart=True)
    view.run(result)
    assert len(answer_updates(recording_comm.log, view)) >= 8
    assert view.chart.value, "the chart was never drawn"
    assert view.answer.value.count("w3999") == 1


def test_bad_option_is_named() -> None:
    with pytest.raises(ValueError, match="max_updates_per_s must be a positive number"):
        LiveView(max_updates_per_s=0)


# --- Stop ------------------------------------------------------------------------------


def test_stop_button_from_another_thread_keeps_partial_text(recording_comm) -> None:
    pieces = [f"t{i} " for i in range(20000)]
    result = StandInResult(paced(text_events(pieces), 5000))
    view = LiveView()

    def click_when_started() -> None:
        while len(result.events) < 200:
            time.sleep(0.001)
        view.stop_button.click()  # the same path as a frontend click

    clicker = threading.Thread(target=click_when_started)
    clicker.start()
    view.run(result)
    clicker.join()
    assert result.stopped and result.done
    kept = result.snapshot.text
    assert 0 < len(kept) < len("".join(pieces)) and "".join(pieces).startswith(kept)
    assert view.answer.value == markdown_block(render_markdown(kept))
    assert "stopped" in view.status.value
    assert view.stop_button.disabled


# --- memory ----------------------------------------------------------------------------


def test_widget_state_stays_proportional_to_rendered_text(recording_comm) -> None:
    pieces = ["tok "] * 100_000
    result = StandInResult(iter(text_events(pieces)))
    view = LiveView(max_updates_per_s=50)
    view.run(result)
    rendered = len(view.answer.value)
    state_size = sum(len(str(v)) for w in (view, *view.children) for v in w.get_state().values())
    assert rendered >= len("".join(pieces))
    assert state_size < rendered + 10_000  # nothing but the current text (no history)
    assert len(view.children) == 2  # Stop + status, answer (+chart): no growing list of outputs


# --- static rendering ------------------------------------------------------------------


def test_static_rendering_is_deterministic_and_timing_free() -> None:
    def run(offset_ns: int) -> StaticRendering:
        events = text_events(["# Title\n\n", "Some **bold** ", "<b>raw</b>"], start_ns=offset_ns,
                             step_ns=offset_ns // 7 + 1, output_tokens=9)
        result = make_result(events, request_sent_ns=offset_ns - 5, model_id="anthropic.claude-x")
        return StaticRendering.of(result)

    a, b = run(1_000_000), run(9_999_999_999)
    assert a._repr_mimebundle_() == b._repr_mimebundle_()
    assert a.status == "anthropic.claude-x · stop_reason: end_turn · 9 output tokens"
    bundle = a._repr_mimebundle_()
    assert "<h1>Title</h1>" in bundle["text/html"] and "&lt;b&gt;raw" in bundle["text/html"]
    assert bundle["text/plain"].endswith("<b>raw</b>")


def test_render_stream_without_frontend_prints_static(capsys) -> None:
    result = StandInResult(iter(text_events(["Hello ", "world"])), model_id="m1")
    returned = render_stream(result, live=None)
    assert returned is result and result.done
    out = capsys.readouterr().out
    assert out == "[m1 · stop_reason: end_turn · 2 output tokens]\nHello world\n"


def test_render_stream_live_without_display_returns_result(recording_comm) -> None:
    result = StandInResult(iter(text_events(["a", "b"])))
    assert render_stream(result, live=True, display=False).text == "ab"
    assert updates(recording_comm.log)  # the widget did send its state


def test_render_stream_rejects_a_raw_response() -> None:
    with pytest.raises(TypeError, match="invoke_stream"):
        render_stream({"body": None})


def test_render_stream_releases_the_view_it_made(recording_comm) -> None:
    from ipywidgets.widgets.widget import _instances as open_widgets

    before = len(open_widgets)
    result = StandInResult(paced(text_events([f"r{i} " for i in range(300)]), 5000))
    render_stream(result, live=True, display=False)
    # A notebook streaming many answers must not keep every view (and every stream) alive.
    assert len(open_widgets) == before
    assert result.snapshot.text.endswith("r299 ")


def test_thinking_and_tool_input_get_their_own_areas(recording_comm) -> None:
    from helpers.events import (
        ContentBlockStart,
        ContentBlockStop,
        InputJsonDelta,
        MessageDelta,
        SignatureDelta,
        ThinkingDelta,
    )

    events = [
        ContentBlockStart(1, 0, {"type": "thinking", "thinking": ""}),
        ThinkingDelta(2, 0, "The user wants <weather>."),
        SignatureDelta(3, 0, "c2ln"),
        ContentBlockStop(4, 0),
        ContentBlockStart(5, 1, {"type": "tool_use", "id": "toolu_1", "name": "get_weather", "input": {}}),
        InputJsonDelta(6, 1, '{"city": '),
        InputJsonDelta(7, 1, '"Lisbon"}'),
        ContentBlockStop(8, 1),
        MessageDelta(9, "tool_use", None, {"output_tokens": 12}),
    ]
    plain = LiveView()
    plain.run(StandInResult(iter(text_events(["Just text."]))))
    assert plain.thinking is None and plain.tools is None  # no empty areas for a plain answer

    view = LiveView()
    opened: list[int | None] = []
    view.update = _recording_thinking_state(view, opened)  # type: ignore[method-assign]
    view.run(StandInResult(_paced(events, 0.05)))  # slower than the view's redraws, so frames are drawn mid-way
    # Laid out in streamed order: thinking above the answer, tool input below it (it follows the text).
    children = list(view.children)
    assert children.index(view.thinking_box) < children.index(view._body) < children.index(view.tools_box)
    # Thinking is open while it streams, so it can be read, and folded away once the stream ended.
    assert 0 in opened, "the thinking area was never open while the stream ran"
    assert view.thinking_box.selected_index is None
    assert "&lt;weather&gt;" in view.thinking.value  # model text is escaped here too
    assert "get_weather" in view.tools.value and "Lisbon" in view.tools.value
    assert view.children[0].children == (view.stop_button, view.status)  # Stop stays put above the text


def _paced(events: list[StreamEvent], pause_s: float) -> Iterator[StreamEvent]:
    for event in events:
        time.sleep(pause_s)
        yield event


def _recording_thinking_state(view: LiveView, seen: list[int | None]):
    original = view.update

    def update(*, final: bool = False) -> bool:
        drawn = original(final=final)
        if not final and view.thinking_box is not None:
            seen.append(view.thinking_box.selected_index)
        return drawn

    return update


def test_static_copy_keeps_blocks_in_streamed_order() -> None:
    from helpers.events import ContentBlockStart, ContentBlockStop, InputJsonDelta, MessageDelta, TextDelta

    events = [
        ContentBlockStart(1, 0, {"type": "text", "text": ""}),
        TextDelta(2, 0, "Let me look that up."),
        ContentBlockStop(3, 0),
        ContentBlockStart(4, 1, {"type": "tool_use", "id": "toolu_1", "name": "get_weather", "input": {}}),
        InputJsonDelta(5, 1, '{"city": "Lisbon"}'),
        ContentBlockStop(6, 1),
        MessageDelta(7, "tool_use", None, {"output_tokens": 12}),
    ]
    rendering = StaticRendering.of(make_result(events))
    text = rendering.to_text()
    assert text.index("Let me look that up.") < text.index("--- tool input: get_weather ---")
    page = rendering.to_html()
    assert page.index("Let me look that up.") < page.index("Tool input: get_weather")
    assert rendering.chart_svg is None and "<svg" not in page  # stored outputs never carry the timing chart
