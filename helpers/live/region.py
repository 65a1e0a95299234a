"""The live answer area: rendered Markdown that screen readers hear once per finished block.

Why not ``ipywidgets.HTML``: it replaces its whole content on every frame, so a live region inside it is a new
element twenty times a second (screen readers announce changes *in* a region that stays, not regions that are
inserted), and a region around it cannot be marked up from the kernel. This widget is ``ipywidgets.HTML``'s
twin built with anywidget (a small ES module the frontend loads; anywidget documents JupyterLab, Notebook 7,
VS Code and Colab as hosts, https://anywidget.dev/en/getting-started/): it draws ``value`` the same way (same
``widget-html-content`` element, same typography), and keeps beside it one persistent, visually hidden
``aria-live="polite"`` region. Each block of the answer (paragraph, heading, list, code block) is appended there
once, when the next block starts or the stream ends (``done``), so a screen reader reads the answer paragraph by
paragraph as it streams instead of re-reading a growing paragraph on every frame. Sighted users see no change.
"""

from __future__ import annotations

import anywidget
import traitlets

__all__ = ["LiveRegion"]

_ESM = """
function render({ model, el }) {
  el.classList.add("widget-html");
  const content = document.createElement("div");
  content.className = "widget-html-content";
  const spoken = document.createElement("div");
  spoken.className = "bedrock-live-announce";
  spoken.setAttribute("aria-live", "polite");
  spoken.setAttribute("aria-relevant", "additions");
  // Visually hidden, still read (the usual screen-reader-only recipe).
  spoken.style.cssText = "position:absolute;width:1px;height:1px;margin:-1px;padding:0;overflow:hidden;"
    + "clip:rect(0,0,0,0);white-space:nowrap;border:0";
  el.append(content, spoken);
  let announced = 0;
  const draw = () => {
    content.innerHTML = model.get("value");
    const root = content.querySelector(".bedrock-md") || content;
    const blocks = [...root.children];
    // While streaming, the last block may still grow: announce it only once the next one starts or it ends.
    const settled = model.get("done") ? blocks.length : Math.max(0, blocks.length - 1);
    if (settled < announced) announced = 0;  // a new answer in the same view
    for (; announced < settled; announced++) {
      const line = document.createElement("p");
      line.textContent = blocks[announced].textContent;
      spoken.append(line);
    }
  };
  model.on("change:value", draw);
  model.on("change:done", draw);
  draw();
}
export default { render };
"""


class LiveRegion(anywidget.AnyWidget):
    """Shows ``value`` (HTML) like ``ipywidgets.HTML``; finished blocks are announced politely (module docstring)."""

    _esm = _ESM
    value = traitlets.Unicode("").tag(sync=True)
    done = traitlets.Bool(False).tag(sync=True)
