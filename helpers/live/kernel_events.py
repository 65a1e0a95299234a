"""Handle widget clicks while a cell is still running.

ipykernel runs a cell on its main thread, and that same thread's event loop is the
one that would deliver a button's ``comm_msg``; so while ``render_stream`` is busy a
Stop click would wait until the stream had ended - useless. ``CommPump.pump()``,
called from the render loop, takes whatever shell messages have arrived for the main
shell, hands ``comm_msg`` ones to the comm manager at once and keeps every other
message (the next cell's ``execute_request`` ...) to be re-dispatched, in order, once
the pump closes - they then run after the current cell, exactly as they would have.

jupyter_ui_poll does this for ipykernel 6 through ``kernel.do_one_iteration()``, which
ipykernel 7 removed (its shell messages now reach the main thread through an inproc
socket from the shell-channel thread). We use jupyter_ui_poll where it works and our
own reader of that socket on ipykernel 7. Outside a kernel, or if the kernel's
internals are not what we expect, the pump does nothing: Stop then still works from
another thread and a kernel interrupt always works.
"""

from __future__ import annotations

import asyncio
import logging
from typing import Any

__all__ = ["CommPump"]

log = logging.getLogger(__name__)


def _kernel() -> Any | None:
    import sys

    if "IPython" not in sys.modules:
        return None
    from IPython import get_ipython

    shell = get_ipython()
    return getattr(shell, "kernel", None) if shell is not None else None


class CommPump:
    """Context manager: ``with CommPump() as pump: ... pump() ...``."""

    def __init__(self) -> None:
        self._kernel = _kernel()
        self._socket: Any = None
        self._deferred: list[Any] = []
        self._legacy: Any = None
        self._legacy_poll: Any = None
        self.handled = 0  # comm messages dispatched while busy (for tests and curiosity)

    def __enter__(self) -> CommPump:
        kernel = self._kernel
        if kernel is None:
            return self
        try:
            if hasattr(kernel, "do_one_iteration"):  # ipykernel < 7: jupyter_ui_poll knows how
                from jupyter_ui_poll import ui_events

                self._legacy = ui_events()
                self._legacy_poll = self._legacy.__enter__()
            else:
                channel = getattr(kernel, "shell_channel_thread", None)
                if channel is not None:
                    self._socket = channel.manager.get_shell_channel_to_subshell_pair(None).to_socket
                else:
                    self._socket = kernel.shell_stream.socket
        except Exception:  # internals moved: degrade to "no pumping", never break the stream
            log.debug("comm pump unavailable", exc_info=True)
            self._socket = self._legacy = self._legacy_poll = None
        return self

    @property
    def active(self) -> bool:
        return self._socket is not None or self._legacy_poll is not None

    def __call__(self, limit: int = 20) -> None:
        self.pump(limit)

    def pump(self, limit: int = 20) -> None:
        """Dispatch up to ``limit`` waiting comm messages; keep anything else for later."""
        if self._legacy_poll is not None:
            self._legacy_poll(limit)
            return
        socket = self._socket
        if socket is None:
            return
        import zmq

        kernel = self._kernel
        for _ in range(limit):
            if not socket.poll(0, zmq.POLLIN):
                return
            frames = socket.recv_multipart(copy=False)
            try:
                idents, body = kernel.session.feed_identities(frames, copy=False)
                header = kernel.session.deserialize(body, content=False, copy=False)["header"]
                if header.get("msg_type") == "comm_msg" and not self._deferred:
                    msg = kernel.session.deserialize(body, content=True, copy=False)
                    kernel.comm_manager.comm_msg(None, idents, msg)
                    self.handled += 1
                    continue
            except Exception:
                log.debug("could not read a shell message while busy; deferring it", exc_info=True)
            # Once anything is deferred, later comm messages wait too, so order is kept.
            self._deferred.append(frames)

    def __exit__(self, *exc: object) -> None:
        if self._legacy is not None:
            self._legacy.__exit__(None, None, None)
            self._legacy = self._legacy_poll = None
            return
        if self._socket is None:
            return
        import zmq

        # Take what is left too: a message we leave behind may have had its readiness
        # edge consumed by our polls, and the kernel's own stream might not see it.
        while self._socket.poll(0, zmq.POLLIN):
            self._deferred.append(self._socket.recv_multipart(copy=False))
        kernel = self._kernel
        loop = asyncio.get_event_loop()
        for frames in self._deferred:
            # Each task queues on the main shell lock behind the running cell, in order.
            loop.create_task(kernel.shell_main(None, frames))
        self._deferred.clear()
        self._socket = None
