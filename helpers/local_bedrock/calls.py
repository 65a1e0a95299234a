"""The call log: what each request asked for, what the server meant to do, and what it did."""

from __future__ import annotations

import itertools
import threading
from collections import deque
from dataclasses import asdict, dataclass, field
from typing import Any

MAX_CALLS = 1000  # a long lab session must not grow without bound


@dataclass
class CallRecord:
    id: int
    operation: str
    model_id: str
    request_body: Any  # the parsed JSON body, or the raw text when it did not parse
    received_at: float  # time.time() at receipt, for people; offsets below are monotonic
    status: int = 200
    error: str | None = None  # error type / exception member / "drop" / "client disconnected"
    error_message: str | None = None
    fault: dict | None = None
    stop_reason: str | None = None
    input_tokens: int | None = None
    output_tokens: int | None = None
    schedule_ms: list[float] = field(default_factory=list)
    sent_ms: list[float] = field(default_factory=list)
    done: bool = False

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


class CallLog:
    """Thread-safe: the server's loop thread writes, the learner's thread reads snapshots."""

    def __init__(self, limit: int = MAX_CALLS) -> None:
        self._lock = threading.Lock()
        self._records: deque[CallRecord] = deque(maxlen=limit)
        self._ids = itertools.count(1)

    def new(self, operation: str, model_id: str, request_body: Any, received_at: float) -> CallRecord:
        with self._lock:
            record = CallRecord(next(self._ids), operation, model_id, request_body, received_at)
            self._records.appendleft(record)
            return record

    def update(self, record: CallRecord, **changes: Any) -> None:
        with self._lock:
            for key, value in changes.items():
                setattr(record, key, value)

    def sent(self, record: CallRecord, offsets: list[float]) -> None:
        with self._lock:
            record.sent_ms.extend(offsets)

    def snapshot(self) -> list[CallRecord]:
        """Copies, newest first, safe to read while streams are still running."""
        with self._lock:
            return [
                CallRecord(**{**r.__dict__, "schedule_ms": list(r.schedule_ms), "sent_ms": list(r.sent_ms)})
                for r in self._records
            ]

    def clear(self) -> None:
        with self._lock:
            self._records.clear()
