"""What the endpoint writes to the instructor's terminal holds no control character a client sent.

A path such as ``/model/x%0AFORGED%1B[31m/invoke`` is decoded before it is logged: unescaped, its line break
forged a log line and its ESC recoloured the terminal (issue 23, bug 6). Every record of the endpoint's logger
(hypercorn logs through it too, server.py) is escaped here: control characters become ``\\xNN``, and each
line of a traceback is indented, so no text from a request can start a line of its own.
"""

from __future__ import annotations

import logging
import re
import traceback

# C0 and C1 controls, DEL, and the Unicode line and paragraph separators some terminals honour.
_CONTROL = re.compile("[\x00-\x1f\x7f-\x9f\u2028\u2029]")


def printable(text: str) -> str:
    """``text`` with every control character written as an escape (``\\n`` -> ``\\x0a``)."""
    return _CONTROL.sub(lambda found: f"\\x{ord(found.group()):02x}" if ord(found.group()) < 256
                        else f"\\u{ord(found.group()):04x}", text)


class EscapeControls(logging.Filter):
    """Escapes a record's message and indents its traceback (installed on the endpoint's logger)."""

    def filter(self, record: logging.LogRecord) -> bool:
        record.msg = printable(record.getMessage())
        record.args = None
        if record.exc_info and not record.exc_text:
            lines = "".join(traceback.format_exception(*record.exc_info)).rstrip("\n").split("\n")
            record.exc_text = "\n".join("    " + printable(line) for line in lines)
        return True
