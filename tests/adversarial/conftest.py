"""The adversarial suite's one server: a locked endpoint in a child process (see adversarial_support)."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from adversarial_support import Child, start_child


@pytest.fixture(scope="package")
def child() -> Iterator[Child]:
    yield from start_child()


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    for item in items:
        if "tests/adversarial/" in str(item.path).replace("\\", "/"):
            item.add_marker(pytest.mark.adversarial)
