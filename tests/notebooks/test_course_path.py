"""One path through the course: README's lesson table, each lesson's course map and each lesson's Next agree.

A learner who follows "Next" from lesson 0 must reach every lesson in order; the map line at the top of each
lesson says where it is and whether it is core or optional, as the README's table does.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from lessons import ROOT, lesson_paths, load, source

LESSONS = lesson_paths()
ids = [p.stem for p in LESSONS]

ROW = re.compile(r"^\| (\d+) \| `(\d\d_\w+)` \| (core|optional \([a-z ]+\)) \| ", re.MULTILINE)
MAP = re.compile(r"^\*\*Course map:\*\* lesson (\d+) · (core|optional \([a-z ]+\)) · core path ([\d →]+?) · (.*)$",
                 re.MULTILINE)
LESSON_LINK = re.compile(r"\[[^\]]+\]\((\d\d_[a-z0-9_]+\.ipynb)\)")


def _readme_rows() -> dict[int, tuple[str, str]]:
    text = (ROOT / "README.md").read_text(encoding="utf-8")
    return {int(n): (f"{stem}.ipynb", path) for n, stem, path in ROW.findall(text)}


def _markdown(path: Path) -> list[str]:
    return [source(c) for c in load(path)["cells"] if c.get("cell_type") == "markdown"]


def _number(path: Path) -> int:
    return int(path.name[:2])


def test_readme_table_lists_every_lesson_once_in_order() -> None:
    rows = _readme_rows()
    assert [rows[n][0] for n in sorted(rows)] == [p.name for p in LESSONS], (
        "README.md's lesson table must list every notebooks/NN_*.ipynb once, in order, with its path (core/optional)"
    )
    assert sorted(rows) == [_number(p) for p in LESSONS]


@pytest.mark.parametrize("path", LESSONS, ids=ids)
def test_next_leads_to_the_next_lesson(path: Path) -> None:
    last = _markdown(path)[-1]
    assert "## Next" in last, f"{path.name}: the last cell needs a '## Next' section naming the next lesson"
    after = last.split("## Next", 1)[1]
    i = LESSONS.index(path)
    if i + 1 < len(LESSONS):
        links = LESSON_LINK.findall(after)
        assert links, f"{path.name}: the Next section links to no lesson"
        expected = LESSONS[i + 1].name
        assert links[0] == expected, f"{path.name}: Next should lead to {expected}, not {links[0]}"
    else:
        # The last lesson says the course ends there and leads somewhere that exists (the troubleshooting page).
        assert "last lesson" in after, f"{path.name}: the last lesson's Next should say it is the last lesson"
        targets = re.findall(r"\]\(([^)#]+)\)", after)
        assert targets, f"{path.name}: the last lesson's Next links to nothing"
        for target in targets:
            assert (path.parent / target).exists(), f"{path.name}: Next links to {target}, which does not exist"


@pytest.mark.parametrize("path", LESSONS, ids=ids)
def test_course_map_says_where_you_are(path: Path) -> None:
    first = _markdown(path)[0]
    found = MAP.search(first)
    assert found, f"{path.name}: the first cell needs a '**Course map:** lesson N · core|optional (...) · ...' line"
    number, track, core_path, links = found.groups()
    rows = _readme_rows()
    assert int(number) == _number(path), f"{path.name}: the map says lesson {number}"
    listed = rows[_number(path)][1]
    assert track == listed, f"{path.name}: the map says {track!r}, README's table {listed!r}"
    core = [n for n, (_, kind) in sorted(rows.items()) if kind == "core"]
    assert [int(n) for n in core_path.split(" → ")] == core, f"{path.name}: the core path differs from README's table"
    i = LESSONS.index(path)
    expected = [LESSONS[i - 1].name] if i > 0 else []
    named = LESSON_LINK.findall(links)
    assert named[: len(expected)] == expected, f"{path.name}: the map's previous lesson should be {expected}"
    if i + 1 == len(LESSONS):
        assert len(named) == len(expected) and "last lesson" in links, (
            f"{path.name}: the last lesson's map names its previous lesson and says it is the last"
        )
        return
    assert len(named) == len(expected) + 1, f"{path.name}: the map names a previous (if any) and a next lesson"
    next_link = LESSON_LINK.findall(_markdown(path)[-1].split("## Next", 1)[1])[0]
    assert named[-1] == next_link, f"{path.name}: the map's next ({named[-1]}) and the Next section disagree"


@pytest.mark.parametrize("path", LESSONS, ids=ids)
def test_every_lesson_link_points_at_a_lesson_that_exists(path: Path) -> None:
    for text in _markdown(path):
        for target in LESSON_LINK.findall(text):
            assert (path.parent / target).exists(), f"{path.name}: links to {target}, which does not exist"
