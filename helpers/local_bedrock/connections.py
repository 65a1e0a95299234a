"""Close a connection as soon as its client has gone, even when it was idle between requests.

hypercorn 0.18 (asyncio) notices the end of an idle HTTP/1.1 connection (a client that connected and
left, or closed a keep-alive connection between requests), but its connection task still waits for
its keep-alive timer before the socket is released, so a room of laptops coming and going leaves
sockets and tasks behind for ``keep_alive_timeout`` seconds each. Stopping that timer once the read
side has ended lets the connection close at once; requests still in flight finish as before, since
the timer only ever runs while the connection is idle.

``install()`` swaps hypercorn's per-connection class for the subclass below, once, and only when
hypercorn still has the shape this was written against; otherwise it leaves hypercorn alone (the room
test in tests/endpoint/test_room.py would then show the sockets lingering).
"""

from __future__ import annotations

import hypercorn.asyncio.run as hypercorn_run
from hypercorn.asyncio.tcp_server import TCPServer


class PromptCloseTCPServer(TCPServer):
    async def _read_data(self) -> None:
        await super()._read_data()
        await self.idle_task.stop()  # the client has gone: no keep-alive to wait for


def install() -> bool:
    """Use :class:`PromptCloseTCPServer` for new connections; True when it is in place."""
    current = getattr(hypercorn_run, "TCPServer", None)
    if current is PromptCloseTCPServer:
        return True
    if current is not TCPServer or not hasattr(TCPServer, "_read_data"):
        return False
    hypercorn_run.TCPServer = PromptCloseTCPServer
    return True
