"""helpers/local_bedrock's layout: no import circle, small modules, and the server/client boundary of DESIGN.md.

The import graph is read from the source (every import statement, at module level or inside a function or an
``if TYPE_CHECKING`` block), so a circle hidden in a function-level import is found too. An edge goes to the
module named; the implicit import of a module's parent package is not an edge (every submodule would otherwise
"import" ``helpers.local_bedrock``, whose ``__init__`` imports the server).
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
PACKAGE = "helpers.local_bedrock"
PACKAGE_DIR = ROOT / "helpers" / "local_bedrock"
# DESIGN.md: the endpoint is a server; of the rest of helpers it may use only the shared body rules.
ALLOWED_HELPERS = ("helpers.bedrock_rules",)
MAX_LINES = 500  # the project's rule: no module over ~500 lines


def _module_name(path: Path) -> str:
    parts = path.relative_to(ROOT).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


MODULES = {_module_name(p): p for p in sorted(PACKAGE_DIR.rglob("*.py"))}


def _imports(name: str, path: Path) -> set[str]:
    """Every module ``name`` imports, as absolute dotted names (``from X import y`` names X.y when y is a module)."""
    is_package = path.name == "__init__.py"
    found: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"), str(path))):
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = name.split(".") if is_package else name.split(".")[:-1]
                base = base[: len(base) - (node.level - 1)]
                source = ".".join(base + ([node.module] if node.module else []))
            else:
                source = node.module or ""
            found.add(source)
            found.update(f"{source}.{alias.name}" for alias in node.names if f"{source}.{alias.name}" in MODULES)
    return found


GRAPH = {name: _imports(name, path) for name, path in MODULES.items()}


def _cycle() -> list[str] | None:
    """One import circle among the package's modules, or None."""
    internal = {name: sorted(t for t in targets if t in MODULES and t != name) for name, targets in GRAPH.items()}
    state: dict[str, int] = {}  # 1: on the current path, 2: done
    path: list[str] = []

    def visit(name: str) -> list[str] | None:
        state[name] = 1
        path.append(name)
        for target in internal[name]:
            if state.get(target) == 1:
                return path[path.index(target):] + [target]
            if target not in state and (found := visit(target)) is not None:
                return found
        path.pop()
        state[name] = 2
        return None

    for name in internal:
        if name not in state and (found := visit(name)) is not None:
            return found
    return None


def test_the_graph_sees_the_package() -> None:
    # The checks below mean something only if the walk found the modules and their imports.
    assert f"{PACKAGE}.server" in MODULES and f"{PACKAGE}.routes.messages_api" in MODULES
    assert f"{PACKAGE}.server" in GRAPH[PACKAGE]
    assert f"{PACKAGE}.routes.converse" in GRAPH[f"{PACKAGE}.routes.count_tokens"]


def test_no_import_circle() -> None:
    cycle = _cycle()
    assert cycle is None, "import circle: " + " -> ".join(cycle or []) + (
        "; move what both sides need into a lower module")


@pytest.mark.parametrize("name", sorted(MODULES))
def test_module_is_small(name: str) -> None:
    lines = len(MODULES[name].read_text(encoding="utf-8").splitlines())
    assert lines <= MAX_LINES, f"{MODULES[name].relative_to(ROOT)} has {lines} lines; split it by concern"


@pytest.mark.parametrize("name", sorted(MODULES))
def test_imports_nothing_from_the_client_side(name: str) -> None:
    outside = sorted(
        target for target in GRAPH[name]
        if (target == "helpers" or target.startswith("helpers."))
        and not (target == PACKAGE or target.startswith(PACKAGE + "."))
        and not any(target == allowed or target.startswith(allowed + ".") for allowed in ALLOWED_HELPERS)
    )
    assert not outside, f"{name} imports {outside}: the endpoint may use only {ALLOWED_HELPERS} from helpers"


RULES_DIR = ROOT / "helpers" / "bedrock_rules"


@pytest.mark.parametrize("path", sorted(RULES_DIR.glob("*.py")), ids=lambda p: p.name)
def test_body_rules_module_is_small(path: Path) -> None:
    """The shared rules the endpoint reads keep the same size rule (the catalogue's data and its id rules apart)."""
    lines = len(path.read_text(encoding="utf-8").splitlines())
    assert lines <= MAX_LINES, f"{path.relative_to(ROOT)} has {lines} lines; split it by concern"
