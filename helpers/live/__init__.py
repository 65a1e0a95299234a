"""The live view: stream Claude's answer into a notebook as formatted Markdown.

``render_stream(result)`` is the one-liner; ``LiveView`` is the widget behind it.
Modules, one concern each: ``markdown`` (safe, partial-aware Markdown -> HTML),
``status`` (status lines), ``static`` (the deterministic stored rendering),
``frontend`` (is a widget frontend attached?), ``kernel_events`` (Stop clicks reach
a busy kernel on a subshell), ``sidechart`` (the gap chart, as SVG), ``region`` (the answer area and its
aria-live region for screen readers), ``view`` (the widget
and its throttled render loop), ``render`` (``render_stream``).
"""

from helpers.live.frontend import widgets_frontend
from helpers.live.markdown import render_markdown
from helpers.live.render import render_stream
from helpers.live.static import StaticRendering
from helpers.live.view import LiveView

__all__ = ["LiveView", "render_stream", "render_markdown", "StaticRendering", "widgets_frontend"]
