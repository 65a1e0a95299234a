"""``render_stream``: the one-liner the lessons use.

``live=None`` picks the live widget only when a widget-drawing frontend is attached
(see ``helpers.live.frontend`` for how and why); otherwise, and with ``live=False``,
the stream is read to the end and a static, deterministic rendering is displayed.
After a live run the widget's display is *replaced* by that same static rendering,
so a notebook saved from JupyterLab reads well on GitHub and carries no widget state.
"""

from __future__ import annotations

from typing import Any

from helpers.live.frontend import in_kernel, widgets_frontend
from helpers.live.static import StaticRendering
from helpers.live.view import LiveView

__all__ = ["render_stream"]


def _check_result(obj: Any) -> Any:
    needed = ("events", "snapshot", "close", "__iter__")
    missing = [n for n in needed if not hasattr(obj, n)]
    if missing:
        kind = type(obj).__name__
        hint = (
            " - that looks like the raw boto3 response; wrap it with helpers.stream.invoke_stream(...)"
            if isinstance(obj, dict)
            else ""
        )
        raise TypeError(
            f"render_stream needs a helpers.stream.StreamResult (from invoke_stream / converse_stream), "
            f"got {kind}{hint}"
        )
    return obj


def _display(obj: Any, **kwargs: Any) -> Any:
    from IPython.display import display

    return display(obj, **kwargs)


def _timing_line(result: Any) -> str:
    from helpers.timing import summarize

    t = summarize(result)
    parts = []
    if t["ttft_ms"] is not None:
        parts.append(f"time to first token {t['ttft_ms']:.0f} ms")
    if t["tokens_per_s"] is not None:
        parts.append(f"{t['tokens_per_s']:.0f} tokens/s")
    if t["total_ms"] is not None:
        parts.append(f"total {t['total_ms']:.0f} ms")
    return " · ".join(parts)


def render_stream(
    stream_or_result: Any,
    *,
    live: bool | None = None,
    max_updates_per_s: float = 20,
    show_chart: bool = False,
    show_timing: bool = False,
    display: bool = True,
    view: LiveView | None = None,
) -> Any:
    """Show a streaming response as it arrives; return the final ``StreamResult``.

    The tested version of lesson 3's display-handle update loop (throttled redraws, final text drawn last),
    plus a reader thread, a Stop button, a status line and a static copy for saved notebooks.

    * ``live`` - ``None`` (auto), ``True`` (always the widget) or ``False`` (static only).
    * ``max_updates_per_s`` - the widget's redraw ceiling (default 20).
    * ``show_chart`` - a small chunk-gap chart beside the text (redrawn at most twice a second).
    * ``show_timing`` - add time to first token / tokens/s / total to the final rendering.
      Off by default: timings differ run to run and would break nbval comparisons.
    * ``display`` - ``False`` to show nothing (the view still runs; useful in tests).
    * ``view`` - an existing ``LiveView`` to draw into (forces the live path).

    A mid-stream error does not raise here: the partial answer is shown with the error
    in the status line, and the result's ``.error`` holds it. A Stop click or a kernel
    interrupt ends the stream the same way, with ``.stopped`` set.
    """
    result = _check_result(stream_or_result)
    use_live = view is not None or (widgets_frontend() if live is None else bool(live))
    show = display and in_kernel()

    if not use_live:
        try:
            for _event in result:
                pass
        except KeyboardInterrupt:
            result.close()
        except Exception:
            if getattr(result, "error", None) is None:
                raise
        rendering = StaticRendering.of(result, timing=_timing_line(result) if show_timing else "")
        if show:
            _display(rendering)
        elif display:
            print(rendering.to_text())
        return result

    own_view = view is None
    view = view or LiveView(max_updates_per_s=max_updates_per_s, show_chart=show_chart)
    handle = _display(view, display_id=True) if show else None
    view.run(result)
    rendering = view.static(timing=_timing_line(result) if show_timing else "")
    if handle is not None:
        handle.update(rendering)
    elif display and not show:
        print(rendering.to_text())
    if own_view:
        # Its display now shows the static rendering: nothing can reach the widgets any more.
        view.release()
    return result
