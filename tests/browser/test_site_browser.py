"""The course as a static site: built from the stored lessons, every lesson page read in Chromium.

Builds the site with the course's own builder (what `make site` runs) into a temporary folder, serves it on
127.0.0.1 and opens each lesson: its title and section headings, every code cell, every stored output (the
text of each stream, each live view's static copy, each chart as a loaded image whose alt text is the chart's
stored description, so a screen reader reads the chart too) must be on the page, with
no widget placeholder in their place and no request leaving this machine. The expected content comes from
the notebook files, the source the site is built from.
"""

from __future__ import annotations

import functools
import http.server
import importlib.util
import json
import os
import re
import subprocess
import sys
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
LESSONS = sorted((REPO / "notebooks").glob("[0-9][0-9]_*.ipynb"))

pytestmark = [pytest.mark.browser, pytest.mark.slow, pytest.mark.timeout(600)]

# What a page shows when it has a widget but no kernel: ipywidgets' own placeholder texts, a widget's
# plain-text repr such as "VBox(children=(...))", or the widget-view script tag itself.
PLACEHOLDER_TEXT = re.compile(r"Loading widget|Error displaying widget|\b(?:VBox|HBox|HTML|Output|Button)\(")


def _squash(text: str) -> str:
    # Sphinx sets prose quotes typographically (smartquotes); the comparison is about the words.
    text = text.translate(str.maketrans({"\u2019": "'", "\u2018": "'", "\u201c": '"', "\u201d": '"'}))
    return " ".join(text.split())


class _QuietHandler(http.server.SimpleHTTPRequestHandler):
    def log_message(self, format: str, *args: object) -> None:  # noqa: A002 - the base class's name
        pass


@pytest.fixture(scope="module")
def site(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    if importlib.util.find_spec("sphinx") is None or importlib.util.find_spec("myst_nb") is None:
        message = "Sphinx and myst-nb are missing: install the course's site set (`make site` installs it)"
        if os.environ.get("CI", "").lower() == "true":
            pytest.fail(message + " (CI=true, so the site test may not skip)", pytrace=False)
        pytest.skip(message)
    out = tmp_path_factory.mktemp("site") / "html"
    built = subprocess.run([sys.executable, "-m", "helpers.course.site", "--out", str(out), "--quiet"],
                           cwd=REPO, capture_output=True, text=True, timeout=500)  # fmt: skip
    assert built.returncode == 0, built.stdout + built.stderr
    handler = functools.partial(_QuietHandler, directory=str(out))
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()


def _expected(lesson: Path) -> dict[str, list[str] | int]:
    notebook = json.loads(lesson.read_text(encoding="utf-8"))
    title, sections, code, streams, static_copies, charts, described = "", [], [], [], 0, 0, []
    for cell in notebook["cells"]:
        source = "".join(cell["source"])
        if cell["cell_type"] == "markdown":
            for line in source.splitlines():
                if line.startswith("# ") and not title:
                    title = line[2:].strip()
                elif line.startswith("## "):
                    sections.append(line[3:].strip())
        elif cell["cell_type"] == "code" and source.strip():
            code.append(next(line for line in source.splitlines() if line.strip()).strip())
            for output in cell.get("outputs", []):
                data = output.get("data", {})
                if output["output_type"] == "stream":
                    lines = [line.strip() for line in "".join(output["text"]).splitlines() if line.strip()]
                    streams += lines[:1] + lines[-1:]
                static_copies += 'class="bedrock-stream"' in "".join(data.get("text/html", ""))
                charts += "image/png" in data
                if "image/png" in data:
                    described.append("".join(data.get("text/plain", "")))
    return {"title": [title], "sections": sections, "code": code, "streams": streams,
            "static_copies": static_copies, "charts": charts, "described": described}  # fmt: skip


def _markdown_text(heading: str) -> str:
    # The page shows a heading's Markdown rendered: no backticks, link text only.
    return re.sub(r"\[([^\]]*)\]\([^)]*\)", r"\1", heading).replace("`", "").replace("**", "")


@pytest.mark.parametrize("lesson", LESSONS, ids=[p.stem[:2] for p in LESSONS])
def test_lesson_page_shows_the_lesson_with_its_stored_outputs(site: str, page: object, lesson: Path) -> None:
    expected = _expected(lesson)
    outside: list[str] = []
    page.on("request", lambda r: outside.append(r.url) if not r.url.startswith(site) else None)  # type: ignore[attr-defined]
    response = page.goto(f"{site}/{lesson.stem}.html", wait_until="load")  # type: ignore[attr-defined]
    assert response is not None and response.status == 200

    main = page.locator("main")  # type: ignore[attr-defined]
    assert _squash(main.locator("h1").first.inner_text()).rstrip("#").strip() == _markdown_text(expected["title"][0])
    shown_sections = {_squash(t).rstrip("#").strip() for t in main.locator("h2").all_inner_texts()}
    missing = [s for s in expected["sections"] if _squash(_markdown_text(s)) not in shown_sections]
    assert not missing, f"sections missing from the page: {missing}"

    code_text = _squash(" ".join(main.locator(".cell_input pre").all_inner_texts()))
    assert main.locator(".cell_input").count() == len(expected["code"])
    assert not [c for c in expected["code"] if _squash(c) not in code_text]

    output_text = _squash(" ".join(main.locator(".cell_output").all_inner_texts()))
    lost = [line for line in expected["streams"] if _squash(line) not in output_text]
    assert not lost, f"stored stream outputs missing from the page: {lost[:5]}"
    assert main.locator(".cell_output .bedrock-stream").count() == expected["static_copies"]

    images = main.locator(".cell_output img")
    assert images.count() == expected["charts"]
    for index in range(images.count()):
        assert images.nth(index).evaluate("img => img.complete && img.naturalWidth > 100"), "a chart did not load"
    alts = [images.nth(index).get_attribute("alt") or "" for index in range(images.count())]
    assert alts == expected["described"], "a chart's image lacks its description as alt text"

    assert page.locator('script[type="application/vnd.jupyter.widget-view+json"], .jupyter-widgets').count() == 0  # type: ignore[attr-defined]
    assert not PLACEHOLDER_TEXT.search(output_text), PLACEHOLDER_TEXT.search(output_text)
    assert not outside, f"the page fetched from outside the site: {outside}"

    # Navigation: every other lesson is one click away, and the next one has its own link.
    nav_links = page.locator("nav a").evaluate_all("links => links.map(a => a.getAttribute('href'))")  # type: ignore[attr-defined]
    others = {f"{p.stem}.html" for p in LESSONS if p != lesson}
    assert others <= {h.split("#")[0] for h in nav_links if h}
    following = LESSONS.index(lesson) + 1
    if following < len(LESSONS):
        assert page.locator(f'a.right-next[href="{LESSONS[following].stem}.html"]').count() == 1  # type: ignore[attr-defined]


def test_index_lists_every_lesson_in_order(site: str, page: object) -> None:
    page.goto(f"{site}/index.html", wait_until="load")  # type: ignore[attr-defined]
    links = page.locator("main article ul a").evaluate_all("links => links.map(a => a.getAttribute('href'))")  # type: ignore[attr-defined]
    assert links == [f"{p.stem}.html" for p in LESSONS]
