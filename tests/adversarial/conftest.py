"""The adversarial suite's one server: a locked endpoint in a child process (see adversarial_support)."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from adversarial_support import Child, start_child, still_serves


@pytest.fixture(scope="package")
def child() -> Iterator[Child]:
    yield from start_child()


@pytest.fixture
def baseline(child: Child) -> dict[str, int]:
    """The server's memory, threads and descriptors, warm (boto3's first call loads what later ones reuse)."""
    still_serves(child)
    return child.usage()


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    for item in items:
        if "tests/adversarial/" in str(item.path).replace("\\", "/"):
            item.add_marker(pytest.mark.adversarial)
