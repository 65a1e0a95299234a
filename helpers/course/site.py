"""The lessons as a static site to read before installing: ``python -m helpers.course site`` (``make site``).

Sphinx with myst-nb reads every ``notebooks/NN_*.ipynb`` with the outputs stored in it (nothing is executed)
and sphinx-book-theme gives it a table of contents and previous/next links; all three are on PyPI and
bring their styles and scripts with them, so the build downloads nothing. Jupyter Book 2 (PyPI) runs mystmd,
a Node.js program, and mystmd's HTML build fetches its site theme as a template archive at build time, from
outside the package registries (mystmd.org guide, "Website Templates" and "theme developer").

A widget output has no live kernel on a web page. The course's live view stores a static copy (HTML with a
plain-text fallback) beside its widget, so the widget's own output is dropped here and myst-nb is told not
to load the ipywidgets scripts from a CDN: the page shows the static copy, never an empty widget.
The site goes to ``build/site/`` (git-ignored); open ``build/site/index.html``.
"""

from __future__ import annotations

import argparse
import json
import re
import sys
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[2]
NOTEBOOKS = REPO / "notebooks"
BUILD = REPO / "build"
WIDGET_VIEW = "application/vnd.jupyter.widget-view+json"
# A frame showing a page the notebook served on this machine while it ran (lesson 12's relay): on the web there
# is nothing at that address, so the page says what stood there instead of loading it.
LOCAL_FRAME = re.compile(r"<iframe\b[^>]*\bsrc=\"https?://(?:127\.0\.0\.1|localhost|\[::1\])[:/]", re.IGNORECASE)
LOCAL_FRAME_NOTE = (
    "<p><em>Here the notebook showed, in a frame, a page it served on the learner's own machine while the lesson "
    "ran. Run the lesson to see it live.</em></p>"
)
TITLE = "Streaming Claude on Amazon Bedrock"

CONF = f'''# Written by helpers/course/site.py on every build; edit it there.
project = {TITLE!r}
author = "the course's authors"
html_title = project
extensions = ["myst_nb"]
root_doc = "index"
exclude_patterns = ["_build"]
nb_execution_mode = "off"  # the stored outputs are the point: nothing runs at build time
# No CDN scripts for widgets, and never a widget view on the page (the static copy beside it is shown).
nb_ipywidgets_js = {{}}
nb_mime_priority_overrides = [("html", {WIDGET_VIEW!r}, None)]
html_theme = "sphinx_book_theme"
html_theme_options = {{"home_page_in_toc": True, "show_toc_level": 2, "use_download_button": True}}
html_show_sourcelink = False
html_copy_source = True
suppress_warnings = ["myst.header", "misc.highlighting_failure"]
'''


def lessons(folder: Path = NOTEBOOKS) -> list[Path]:
    return sorted(folder.glob("[0-9][0-9]_*.ipynb"))


def strip_widget_outputs(notebook: dict[str, Any]) -> dict[str, Any]:
    """The notebook without widget-view outputs and without saved widget state (no kernel on a web page), and
    with a note in place of any frame onto a page the notebook served locally (nothing is there on the web)."""
    for cell in notebook.get("cells", []):
        if "outputs" in cell:
            cell["outputs"] = [out for out in cell["outputs"] if WIDGET_VIEW not in out.get("data", {})]
            for out in cell["outputs"]:
                html = out.get("data", {}).get("text/html")
                if html is not None and LOCAL_FRAME.search("".join(html) if isinstance(html, list) else html):
                    out["data"] = {"text/html": LOCAL_FRAME_NOTE, "text/plain": "(a page served locally)"}
    notebook.get("metadata", {}).pop("widgets", None)
    return notebook


def _title(notebook: dict[str, Any], fallback: str) -> str:
    for cell in notebook.get("cells", []):
        if cell.get("cell_type") == "markdown":
            for line in "".join(cell.get("source", "")).splitlines():
                if line.startswith("# "):
                    return line[2:].strip()
    return fallback


def _write_if_changed(path: Path, text: str) -> None:
    # Unchanged files keep their time stamps, so Sphinx rebuilds only the lessons that changed.
    if not path.exists() or path.read_text(encoding="utf-8") != text:
        path.write_text(text, encoding="utf-8")


def stage(source: Path, notebooks: list[Path]) -> list[tuple[str, str]]:
    """Sphinx's source folder: conf.py, an index listing the lessons, and each lesson without widget outputs."""
    source.mkdir(parents=True, exist_ok=True)
    entries = []
    for path in notebooks:
        notebook = strip_widget_outputs(json.loads(path.read_text(encoding="utf-8")))
        _write_if_changed(source / path.name, json.dumps(notebook, indent=1, ensure_ascii=False) + "\n")
        entries.append((path.stem, _title(notebook, path.stem)))
    for stale in set(source.glob("*.ipynb")) - {source / path.name for path in notebooks}:
        stale.unlink()
    table = "\n".join(f"- [{title}]({stem}.ipynb)" for stem, title in entries)  # the titles carry their numbers
    index = (
        f"# {TITLE}\n\n"
        "A hands-on course on streaming Claude's answers from Amazon Bedrock with Python: the request body, "
        "what arrives on the wire, decoding it, showing it live, measuring it, and what to do when it goes "
        "wrong. These pages show every lesson with the outputs of one run on the course's local endpoint; "
        "to run them yourself, clone the course and follow its README.\n\n"
        f"{table}\n\n"
        "```{toctree}\n:maxdepth: 1\n:hidden:\n\n" + "\n".join(stem for stem, _ in entries) + "\n```\n"
    )
    _write_if_changed(source / "index.md", index)
    _write_if_changed(source / "conf.py", CONF)
    return entries


def build(out: Path, notebooks: list[Path], *, quiet: bool = False) -> Path:
    from sphinx.cmd.build import build_main

    source = out.parent / f"{out.name}-source"
    stage(source, notebooks)
    args = ["-b", "html", "-d", str(out.parent / f"{out.name}-doctrees"), str(source), str(out)]
    status = build_main(["-q", *args] if quiet else args)
    if status:
        raise SystemExit(f"the site build failed (sphinx exit {status})")
    return out / "index.html"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m helpers.course site", description=__doc__.split("\n\n")[0])
    parser.add_argument("--out", type=Path, default=BUILD / "site", help="output folder (default build/site)")
    parser.add_argument("--quiet", action="store_true")
    options = parser.parse_args(argv)
    index = build(options.out.resolve(), lessons())
    print(f"The course site is in {index.parent}: open {index}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
