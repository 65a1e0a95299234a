"""The call log: what each request asked for, what the server meant to do, and what it did."""

from __future__ import annotations

import itertools
import json
import threading
from collections import deque
from dataclasses import dataclass, field
from typing import Any

MAX_CALLS = 1000  # a long lab session must not grow without bound
# A body larger or deeper than this is logged as a summary (size, sha256, head), never kept whole: a
# thousand 8 MB prompts would otherwise hold gigabytes and make GET /_local/calls crawl.
MAX_RECORDED_BODY_BYTES = 64 * 1024
MAX_RECORDED_BODY_DEPTH = 64
BODY_HEAD_CHARS = 512


def _depth_exceeds(value: Any, limit: int) -> bool:
    stack = [(value, 1)]
    while stack:
        item, depth = stack.pop()
        if isinstance(item, dict | list):
            if depth > limit:
                return True
            children = item.values() if isinstance(item, dict) else item
            stack.extend((child, depth + 1) for child in children if isinstance(child, dict | list))
    return False


def body_summary(raw: bytes, size: int, sha256: str) -> dict[str, Any]:
    """What the log keeps of a body too large or too deep to keep: enough to recognise it."""
    return {"size": size, "sha256": sha256, "head": raw[:BODY_HEAD_CHARS].decode("utf-8", "replace")}


def _no_constant(name: str) -> Any:
    raise ValueError(f"{name} is not JSON")


def recorded_read(read: Any) -> tuple[Any, str]:
    """``recorded_body`` of a request body as read (door/bodies.Body), without joining a large one."""
    small = read.size <= MAX_RECORDED_BODY_BYTES
    return recorded_body(read.data if small else read.head(BODY_HEAD_CHARS), read.size, read.sha256)


def recorded_body(raw: bytes, size: int, sha256: str) -> tuple[Any, str]:
    """What the log keeps of a body, and that as JSON text for ``GET /_local/calls``.

    The parsed JSON body when small, shallow and valid (its JSON text is the body as sent, so reading the
    log never re-encodes a thousand prompts); its text when small but not JSON; else a summary.
    """
    if size > MAX_RECORDED_BODY_BYTES or len(raw) != size:
        summary = body_summary(raw, size, sha256)
        return summary, json.dumps(summary)
    try:
        parsed = json.loads(raw, parse_constant=_no_constant)
    except (ValueError, RecursionError):
        text = raw.decode("utf-8", "replace")
        return text, json.dumps(text)
    if _depth_exceeds(parsed, MAX_RECORDED_BODY_DEPTH):
        summary = body_summary(raw, size, sha256)
        return summary, json.dumps(summary)
    try:
        as_sent = raw.decode("utf-8-sig")
    except UnicodeDecodeError:  # UTF-16/32 JSON, or surrogates encoded as bytes: write it anew
        as_sent = json.dumps(parsed)
    return parsed, as_sent


@dataclass
class CallRecord:
    id: int
    operation: str
    model_id: str
    request_body: Any  # parsed JSON, raw text when not JSON, a summary when large (see recorded_body), None if refused
    received_at: float  # time.time() at receipt, for people; offsets below are monotonic
    status: int = 200
    error: str | None = None  # error type / exception member / "drop" / "client disconnected"
    error_message: str | None = None
    fault: dict | None = None
    stop_reason: str | None = None
    input_tokens: int | None = None
    output_tokens: int | None = None
    service_tier: str | None = None  # the tier the request asked for (its pace: model/tiers.py)
    schedule_ms: list[float] = field(default_factory=list)
    sent_ms: list[float] = field(default_factory=list)
    done: bool = False
    queued_ms: float = 0.0  # how long the call waited before it was let in (door/admission.py)
    request_json: str = field(default="null", repr=False, compare=False)  # request_body as JSON text

    def as_dict(self) -> dict[str, Any]:
        # Shallow on purpose: dataclasses.asdict deep-copies the request body, recursively.
        fields = {**self.__dict__, "schedule_ms": list(self.schedule_ms), "sent_ms": list(self.sent_ms)}
        del fields["request_json"]
        return fields

    def json_text(self) -> str:
        """This record as one JSON object, the body spliced in from its stored JSON text."""
        fields = self.as_dict()
        del fields["request_body"]
        head = json.dumps(fields, allow_nan=False)
        return f'{head[:-1]}, "request_body": {self.request_json}}}' if fields else head


class CallLog:
    """Thread-safe: the server's loop thread writes, the learner's thread reads snapshots."""

    def __init__(self, limit: int = MAX_CALLS) -> None:
        self._lock = threading.Lock()
        self._records: deque[CallRecord] = deque(maxlen=limit)
        self._ids = itertools.count(1)

    def new(self, operation: str, model_id: str, request_body: Any, received_at: float,
            request_json: str | None = None) -> CallRecord:
        """``request_json``: the body as JSON text, when the caller has it (see ``recorded_body``)."""
        if request_json is None:
            request_json = json.dumps(request_body)
        with self._lock:
            record = CallRecord(next(self._ids), operation, model_id, request_body, received_at,
                                request_json=request_json)
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

    def to_json(self) -> bytes:
        """Every record, newest first, as a JSON array; bodies are spliced in, not encoded again."""
        with self._lock:
            return ("[\n" + ",\n".join(r.json_text() for r in self._records) + "\n]").encode()

    def clear(self) -> None:
        with self._lock:
            self._records.clear()
