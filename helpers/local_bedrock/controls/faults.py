"""Scheduled faults: throttling before a stream, an exception frame half-way, a dropped connection, a stall.

A fault is matched against each call (operation and model), counted, and fired on the calls its
``times`` / ``every`` / ``probability`` select. A call it did not match is never touched.
"""

from __future__ import annotations

import itertools
import random
import threading
from dataclasses import asdict, dataclass, field
from typing import Any

from ..errors import DEFAULT_MESSAGES, STATUS_BY_ERROR, STREAM_EXCEPTIONS, class_name

OPERATIONS = ("InvokeModel", "InvokeModelWithResponseStream", "Converse", "ConverseStream", "Messages",
              "MessagesStream")
_NO_STREAM = ("InvokeModel", "Converse", "Messages")
# In-band errors (Anthropic's error types, https://docs.claude.com/en/api/errors): on the Messages API's SSE
# stream an ``event: error`` (see messages_api.py); on InvokeModelWithResponseStream an HTTP 200 stream whose
# chunk is ``{"type": "error", "error": {...}}`` (reported with rate_limit_error in anthropic-sdk-python#1472).
SSE_ERRORS = ("overloaded_error", "api_error", "rate_limit_error")
# The operations that carry them. Without "operation" a fault fires on MessagesStream only, as it always did:
# the error chunk on InvokeModelWithResponseStream is asked for by name.
_IN_BAND_OPERATIONS = ("MessagesStream", "InvokeModelWithResponseStream")
# ConverseStream's event-stream union has no modelTimeoutException member (botocore's service model).
_CONVERSE_STREAM_EXCEPTIONS = tuple(m for m in STREAM_EXCEPTIONS if m != "modelTimeoutException")
# Every call walks the schedule, so it stays short: a lesson needs a handful of faults, never thousands.
MAX_FAULTS = 100
# A stall longer than any client's read timeout (botocore's default is 60 s) shows nothing more.
MAX_STALL_SECONDS = 300.0
_KEYS = ("error", "at", "after", "seconds", "times", "every", "probability", "model", "operation", "message")


@dataclass
class Fault:
    error: str  # an exception name, an in-stream lowerCamel member, "drop" or "stall"
    at: str = "request"  # "request" (before the stream) or "event" (after `after` chunk events)
    after: int = 0
    seconds: float = 0.0  # for "stall"
    times: int | None = 1  # None: no limit
    every: int = 1
    probability: float = 1.0
    model: str | None = None
    operation: str | None = None
    message: str | None = None
    id: int = 0
    matched: int = 0  # calls that matched operation/model
    fired: int = 0

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)

    @property
    def exhausted(self) -> bool:
        return self.times is not None and self.fired >= self.times


def _fail(message: str) -> None:
    raise ValueError(f"fault: {message}")


def make_fault(spec: dict[str, Any]) -> Fault:
    """Validate a fault spec (from Python or JSON) and say how to fix it when it is wrong."""
    if not isinstance(spec, dict):
        _fail(f"expected a JSON object, got {type(spec).__name__}")
    unknown = sorted(set(spec) - set(_KEYS))
    if unknown:
        _fail(f"unknown key(s) {unknown}; allowed keys are {list(_KEYS)}")
    if "error" not in spec:
        _fail('"error" is required, e.g. {"error": "ThrottlingException", "at": "request"}')
    error, at = spec["error"], spec.get("at", "request")
    if at not in ("request", "event"):
        _fail(f'"at" must be "request" or "event", not {at!r}')
    operation = spec.get("operation")
    if operation is not None and operation not in OPERATIONS:
        _fail(f'"operation" must be one of {list(OPERATIONS)}, not {operation!r}')
    if error in ("drop", "stall"):
        pass
    elif at == "request":
        if error not in STATUS_BY_ERROR:
            hint = f" (did you mean {class_name(error)!r}?)" if class_name(error) in STATUS_BY_ERROR else ""
            _fail(f"unknown pre-stream error {error!r}{hint}; use one of {sorted(STATUS_BY_ERROR)}")
    elif error in SSE_ERRORS:
        if operation is not None and operation not in _IN_BAND_OPERATIONS:
            _fail(f'{error!r} is an in-band error: it needs "operation": "MessagesStream" (an SSE error event; '
                  'the default) or "InvokeModelWithResponseStream" (an error chunk)')
    else:
        if error not in STREAM_EXCEPTIONS:
            member = error[:1].lower() + error[1:]
            hint = f" (in-stream names are lowerCamel: {member!r})" if member in STREAM_EXCEPTIONS else ""
            _fail(f"unknown in-stream exception {error!r}{hint}; use one of {list(STREAM_EXCEPTIONS)} "
                  f"(or an in-band error of the Messages API's SSE stream or InvokeModelWithResponseStream: "
                  f"one of {list(SSE_ERRORS)})")
        if operation in _NO_STREAM:
            _fail(f'an "at": "event" fault needs a stream; {operation} has none')
        if operation == "ConverseStream" and error not in _CONVERSE_STREAM_EXCEPTIONS:
            _fail(f"ConverseStream has no in-stream {error!r}; use one of {list(_CONVERSE_STREAM_EXCEPTIONS)}")
    fault = Fault(error=error, at=at, operation=operation, model=spec.get("model"), message=spec.get("message"))
    for key, kind in (("after", int), ("every", int), ("times", int)):
        if key in spec:
            value = spec[key]
            if key == "times" and value is None:
                fault.times = None
                continue
            if not isinstance(value, int) or isinstance(value, bool) or value < (0 if key == "after" else 1):
                low = 0 if key == "after" else 1
                _fail(f'"{key}" must be an integer >= {low}, not {value!r}')
            setattr(fault, key, kind(value))
    if "probability" in spec:
        p = spec["probability"]
        if isinstance(p, bool) or not isinstance(p, int | float) or not 0 <= p <= 1:
            _fail(f'"probability" must be a number from 0 to 1, not {p!r}')
        fault.probability = float(p)
    if "seconds" in spec:
        s = spec["seconds"]
        if isinstance(s, bool) or not isinstance(s, int | float) or not 0 <= s <= MAX_STALL_SECONDS:
            _fail(f'"seconds" must be a finite number from 0 to {MAX_STALL_SECONDS:g}, not {s!r}')
        fault.seconds = float(s)
    if error == "stall" and at == "request" and fault.seconds == 0:
        _fail('a "stall" needs "seconds" > 0')
    if fault.message is not None and not isinstance(fault.message, str):
        _fail('"message" must be a string')
    if fault.model is not None and not isinstance(fault.model, str):
        _fail('"model" must be a model id string')
    return fault


def message_for(fault: Fault) -> str:
    if fault.message:
        return fault.message
    return DEFAULT_MESSAGES.get(class_name(fault.error), f"{fault.error} (fault injected by the local endpoint)")


@dataclass
class FaultBook:
    """The server's fault schedule. Thread-safe: learners add faults while the loop thread consumes them."""

    seed: int = 0
    _faults: list[Fault] = field(default_factory=list)
    _lock: threading.Lock = field(default_factory=threading.Lock)
    _ids: itertools.count = field(default_factory=lambda: itertools.count(1))

    def __post_init__(self) -> None:
        self._rng = random.Random(f"faults:{self.seed}")

    def add(self, spec: dict[str, Any] | None = None, /, **kwargs: Any) -> dict[str, Any]:
        """``faults.add({"error": "ThrottlingException"})`` or ``faults.add(error="drop", at="event", after=3)``."""
        if spec is not None and not isinstance(spec, dict):
            _fail(f"expected a JSON object, got {type(spec).__name__}")
        return self.add_many([{**(spec or {}), **kwargs}])[0]

    def add_many(self, specs: list[Any]) -> list[dict[str, Any]]:
        """Add every spec or none: one bad spec (or one too many) rejects the whole list."""
        made = [make_fault(spec) for spec in specs]
        with self._lock:
            if len(self._faults) + len(made) > MAX_FAULTS:
                # Spent faults make room first (their counts were reported as they fired).
                live = [f for f in self._faults if not f.exhausted]
                if len(live) + len(made) > MAX_FAULTS:
                    _fail(f"at most {MAX_FAULTS} faults can be scheduled at once ({len(live)} are); "
                          "clear them first (DELETE /_local/faults or server.faults.clear())")
                self._faults = live
            for fault in made:
                fault.id = next(self._ids)
                self._faults.append(fault)
            return [f.as_dict() for f in made]

    def list(self) -> list[dict[str, Any]]:
        with self._lock:
            return [f.as_dict() for f in self._faults]

    def clear(self) -> None:
        with self._lock:
            self._faults.clear()

    def take(self, operation: str, model_ids: tuple[str, ...], at: str) -> Fault | None:
        """The ``at`` fault (if any) this call gets; counts it as matched/fired. First match wins."""
        with self._lock:
            for fault in self._faults:
                if fault.exhausted or fault.at != at:
                    continue
                if fault.operation is not None and fault.operation != operation:
                    continue
                if fault.at == "event" and operation in _NO_STREAM:
                    continue  # InvokeModel / Converse have no events to fail after
                if fault.at == "event" and operation == "ConverseStream" and fault.error in STREAM_EXCEPTIONS \
                        and fault.error not in _CONVERSE_STREAM_EXCEPTIONS:
                    continue  # an exception ConverseStream cannot carry
                if fault.at == "event" and fault.error in SSE_ERRORS and operation != (
                        fault.operation or "MessagesStream"):
                    continue  # an in-band error fires on the one operation it names (MessagesStream by default)
                if fault.model is not None and fault.model not in model_ids:
                    continue
                fault.matched += 1
                if fault.matched % fault.every:
                    continue
                if fault.probability < 1 and self._rng.random() >= fault.probability:
                    continue
                fault.fired += 1
                return Fault(**{**fault.__dict__})
            return None
