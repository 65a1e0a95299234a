"""Fixtures for the live view, timing and chart tests (helpers live in live_support.py)."""

from __future__ import annotations

from collections.abc import Iterator

import comm
import matplotlib
import pytest

matplotlib.use("Agg")

from live_support import RecordingComm  # noqa: E402


@pytest.fixture
def recording_comm() -> Iterator[type[RecordingComm]]:
    """Every widget created inside the test talks through a RecordingComm."""
    original = comm.create_comm
    RecordingComm.log = []
    RecordingComm.bytes_sent = 0
    comm.create_comm = lambda *a, **k: RecordingComm(*a, **k)
    try:
        yield RecordingComm
    finally:
        comm.create_comm = original
