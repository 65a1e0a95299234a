"""Regenerate the README's screenshots from the browser test's artifacts.

    make browser                      # or: .venv/bin/pytest -m browser  (writes test-artifacts/browser/)
    python -m tools.screenshots       # copies and trims them into docs/images/

The browser test takes the pictures (a real JupyterLab in a real Chromium, mid-stream), so the README
always shows what the current live view really draws; this command only chooses and trims them. The
latency chart is drawn here by ``helpers.charts.chunk_latency`` from a paced stream of the local
endpoint, exactly as lesson 4 draws it.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from PIL import Image

REPO = Path(__file__).resolve().parents[1]
ARTIFACTS = REPO / "test-artifacts" / "browser"
IMAGES = REPO / "docs" / "images"

# README image <- browser-test artifact, and the tallest it may be (a long answer is trimmed at the
# bottom: the top of the cell, the status line and the first paragraphs are what the README shows).
SHOTS: dict[str, tuple[str, int]] = {
    "live-view.png": ("stop-mid-stream-cell.png", 900),
}
CHART = "latency-chart.png"


def draw_latency_chart(path: Path) -> Path:
    """Lesson 4's chunk-latency chart for one paced answer from the local endpoint (seed 0)."""
    from helpers.bedrock_rules import DEFAULT_MODEL_ID
    from helpers.charts import chunk_latency
    from helpers.local_bedrock import LocalBedrock
    from helpers.payloads import messages_body
    from helpers.stream import invoke_stream

    with LocalBedrock(seed=0, time_scale=1.0) as server:
        body = messages_body("Explain what streaming a model response means", max_tokens=300)
        result = invoke_stream(server.client(), DEFAULT_MODEL_ID, body).consume()
    chunk_latency(result).savefig(path, dpi=110)
    return path


def regenerate(artifacts: Path = ARTIFACTS, images: Path = IMAGES) -> list[Path]:
    """Write every README image from its artifact; raise FileNotFoundError naming what to run if one is missing."""
    missing = [source for source, _ in SHOTS.values() if not (artifacts / source).is_file()]
    if missing:
        raise FileNotFoundError(
            f"missing in {artifacts}: {', '.join(missing)}; run the browser test first "
            "(`make browser` or `.venv/bin/pytest -m browser`)"
        )
    images.mkdir(parents=True, exist_ok=True)
    written = []
    for target, (source, max_height) in SHOTS.items():
        with Image.open(artifacts / source) as picture:
            trimmed = picture.crop((0, 0, picture.width, min(picture.height, max_height)))
            trimmed.save(images / target, optimize=True)
        written.append(images / target)
    written.append(draw_latency_chart(images / CHART))
    return written


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--artifacts", type=Path, default=ARTIFACTS, help="where the browser test saved its shots")
    parser.add_argument("--images", type=Path, default=IMAGES, help="where the README's images go")
    options = parser.parse_args(argv)
    try:
        written = regenerate(options.artifacts, options.images)
    except FileNotFoundError as error:
        print(f"error: {error}", file=sys.stderr)
        return 1
    for path in written:
        print(f"wrote {path.relative_to(REPO) if path.is_relative_to(REPO) else path}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
