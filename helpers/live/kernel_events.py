"""Stop clicks while the cell is busy - without ever touching the order of cells.

The problem: ipykernel runs a cell on its main thread, and a widget's ``comm_msg`` sent
to the main shell waits until that thread is free. A Stop button handled there fires
only after the stream has ended.

What we do not do: read the kernel's shell messages ourselves while the cell runs (a
"message pump", as jupyter-ui-poll does). A pump has to take the next cell's
``execute_request`` off the queue and put it back later, and putting it back in the
right place depends on the kernel's private scheduling. Ours got it wrong on
ipykernel 7 (Run All executed the cell after a live view last), and jupyter-ui-poll
replays set-aside requests from a separate task, which races the kernel's own queue
the same way. The order of cells is not something a progress widget may gamble with,
so this course never reads, delays or re-sends an execute request.

What we do instead: kernel subshells (JEP 91, ipykernel >= 7). JupyterLab >= 4.4 sends
comm messages on a subshell of their own when the kernel supports subshells (setting
"Kernel Comms over subshells", default "one subshell per comm-target"; JupyterLab
pull request 17363). ipykernel's shell-channel thread hands a message addressed to a
subshell to that subshell's thread, so the click is handled there at once while the
main thread keeps running the cell, and every execute request stays queued, untouched,
on the main shell. ``LiveView.stop`` only sets a flag and closes the HTTP stream,
which is thread-safe (``StreamResult.close``).

The one internal we touch: ipykernel 7.4 calls ``comm._reply_subshell_for(data,
default)`` on the shell-channel thread to re-route a comm message to the subshell the
comm last *published* from. For our Stop button that is the main shell (the cell
created it), which would send the click back behind the busy cell.
``route_to_frontend_subshell`` sets that hook, on the Stop button's comm only, to
honour the subshell the frontend chose (``default``, the header's subshell_id).
Kernels without the hook route by the header already. Proved on the versions in
``SUBSHELL_ROUTING_PROVED_ON``; pyproject keeps ipykernel to the 7 series and
jupyterlab at or above the proved version, and tests/live/test_kernel_stop.py drives a
real kernel over ZMQ as JupyterLab does: it fails loudly if a future ipykernel routes
the click elsewhere or the cells queued behind a live view run out of order.

Where the frontend does not use subshells (the setting turned off, other frontends),
a click waits for the cell: the stream still ends normally, the order of cells is still
kept, and the kernel's interrupt button always works (``LiveView.run`` turns the
KeyboardInterrupt into a stop that keeps the partial answer).
"""

from __future__ import annotations

import sys
from typing import Any

__all__ = ["SUBSHELL_ROUTING_PROVED_ON", "kernel_supports_subshells", "route_to_frontend_subshell"]

# (ipykernel, jupyterlab) on which a Stop click was seen handled on a subshell mid-stream, in the
# browser test and in tests/live/test_kernel_stop.py.
SUBSHELL_ROUTING_PROVED_ON = ("7.4.0", "4.6.6")


def _kernel() -> Any | None:
    if "IPython" not in sys.modules:
        return None
    from IPython import get_ipython

    shell = get_ipython()
    return getattr(shell, "kernel", None) if shell is not None else None


def kernel_supports_subshells() -> bool:
    """True inside an ipykernel that runs subshells (it then advertises "kernel subshells")."""
    kernel = _kernel()
    return kernel is not None and getattr(kernel, "shell_channel_thread", None) is not None


def _frontend_choice(_data: Any, default: str | None) -> str | None:
    # ``default`` is the subshell_id in the message header: where the frontend sent the message.
    return default


def route_to_frontend_subshell(widget: Any) -> bool:
    """Let the frontend's choice of subshell stand for messages to ``widget`` (see the module docstring).

    Returns True when the widget's clicks can reach it while a cell runs (a kernel with
    subshells); False otherwise, and then nothing was changed.
    """
    if not kernel_supports_subshells():
        return False
    comm = getattr(widget, "comm", None)
    if comm is None:
        return False
    if hasattr(comm, "_reply_subshell_for"):
        comm._reply_subshell_for = _frontend_choice
    return True
