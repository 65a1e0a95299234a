"""hypercorn's per-connection handling, tightened for a room endpoint.

Four things hypercorn 0.18 (asyncio) leaves open, each fixed here by a subclass that ``install()`` swaps in
once, and only when hypercorn still has the shape this was written against (otherwise hypercorn is left
alone and the tests in tests/endpoint/ and tests/adversarial/ show what is missing):

- A client that has gone, even while idle between requests, gets its socket closed at once instead of
  after the keep-alive timer, so a room of laptops coming and going leaves no sockets behind.
- Every accepted connection gets ``TCP_NODELAY``. asyncio sets it only on sockets whose ``proto`` is
  ``IPPROTO_TCP``, which an accepted socket is not; without it a response written as headers then body
  waits for the client's delayed ACK (about 40 ms on Linux) on every keep-alive call.
- A client that owes the server bytes (request headers or body not finished, an HTTP/2 connection with no
  request under way) and sends nothing for ``read_timeout`` seconds is cut off. hypercorn's own
  ``read_timeout`` would also cut a client silently reading a long stream, and its keep-alive timer is
  stopped as soon as a request starts, so an unfinished body (or an h2c preface and silence) held the
  connection forever.
- HTTP/2 frames are held to the advertised ``h2_max_inbound_frame_size``: hypercorn assigns that limit
  after the h2 library has already sized its frame buffer for 16 MiB frames.
- A client's GOAWAY (NO_ERROR) lets the streams it has open finish, as RFC 9113 section 6.8 says it does,
  and the connection closes when the last of them is done. hypercorn closes the connection on the h2
  library's ConnectionTerminated event, and h2 moves to CLOSED on any GOAWAY, so a paced answer ended
  before its first frame: the AWS SDK for JavaScript v3's default handler (NodeHttp2Handler with isolated
  sessions) sends GOAWAY as soon as the response headers arrive, then keeps reading.
"""

from __future__ import annotations

import asyncio
import socket
from ssl import SSLError
from typing import Any

import h2.connection
import h2.errors
import h2.events
import h2.stream
import h11
import hypercorn.asyncio.run as hypercorn_run
import hypercorn.protocol as hypercorn_protocol
import priority
from hypercorn.asyncio.tcp_server import MAX_RECV, TCPServer
from hypercorn.events import Closed, RawData
from hypercorn.protocol.events import Event as StreamEvent
from hypercorn.protocol.events import StreamClosed
from hypercorn.protocol.h2 import H2Protocol
from hyperframe.frame import Frame, GoAwayFrame

# What the server reads from LocalBedrock's Config (set in server.py); None = no read timeout.
READ_TIMEOUT_SETTING = "local_read_timeout"

_CLIENT_SENDING = (h2.stream.StreamState.OPEN, h2.stream.StreamState.HALF_CLOSED_LOCAL)
# HTTP/2 rapid reset (CVE-2023-44487): a client may reset this many streams per connection in any
# RESET_WINDOW_S seconds; past that the connection gets GOAWAY ENHANCE_YOUR_CALM and is closed. A learner
# pressing Stop resets one stream per answer, far below this.
MAX_RESETS = 200
RESET_WINDOW_S = 10.0


def client_owes_bytes(protocol: Any) -> bool:
    """True while the server is waiting on the client rather than the other way round."""
    inner = getattr(protocol, "protocol", None)
    connection = getattr(inner, "connection", None)
    if isinstance(connection, h11.Connection):
        # IDLE: request headers not (all) there yet; SEND_BODY: the body is unfinished.
        return connection.their_state in (h11.IDLE, h11.SEND_BODY)
    streams = getattr(connection, "streams", None)
    if isinstance(streams, dict):
        states = [stream.state_machine.state for stream in streams.values()]
        answering = any(state == h2.stream.StreamState.HALF_CLOSED_REMOTE for state in states)
        return not answering or any(state in _CLIENT_SENDING for state in states)
    return False


class RoomTCPServer(TCPServer):
    async def run(self) -> None:
        sock = self.writer.get_extra_info("socket")
        if sock is not None and sock.family in (socket.AF_INET, socket.AF_INET6):
            try:
                sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            except OSError:
                pass  # already closed by the peer: run() ends at once anyway
        await super().run()

    async def _read_data(self) -> None:
        limit = getattr(self.config, READ_TIMEOUT_SETTING, None)
        while not self.reader.at_eof():
            timeout = limit if limit is not None and client_owes_bytes(self.protocol) else None
            try:
                data = await asyncio.wait_for(self.reader.read(MAX_RECV), timeout)
            except (ConnectionError, OSError, TimeoutError, SSLError):
                break
            else:
                await self.protocol.handle(RawData(data))
        await self.protocol.handle(Closed())
        await self.idle_task.stop()  # the client has gone (or was cut off): no keep-alive to wait for


def _h2_dispatches_goaway(connection: h2.connection.H2Connection) -> bool:
    """True when h2 still routes GOAWAY frames through the per-connection table this module hooks into."""
    table = getattr(connection, "_frame_dispatch_table", None)
    return isinstance(table, dict) and GoAwayFrame in table


class BoundedH2Protocol(H2Protocol):
    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.connection.max_inbound_frame_size = self.config.h2_max_inbound_frame_size
        self.client_went_away = False  # a GOAWAY came while streams were open: close after the last one
        if _h2_dispatches_goaway(self.connection):
            table = self.connection._frame_dispatch_table
            self._h2_receive_goaway = table[GoAwayFrame]
            table[GoAwayFrame] = self._receive_goaway

    def _receive_goaway(self, frame: GoAwayFrame) -> tuple[list[Frame], list[h2.events.Event]]:
        # A client's GOAWAY names the last stream *the server* opened (this server opens none); the streams
        # the client opened are the ones it is still reading. Only a graceful one (NO_ERROR) is held back:
        # a GOAWAY with an error means the client is abandoning the connection, and closes at once as before.
        if frame.error_code == h2.errors.ErrorCodes.NO_ERROR and self.connection.open_inbound_streams:
            self.client_went_away = True
            return [], []  # h2 stays open (so DATA can still be sent) and hypercorn hears no ConnectionTerminated
        return self._h2_receive_goaway(frame)

    async def _handle_events(self, events: list[h2.events.Event]) -> None:
        resets = sum(isinstance(event, h2.events.StreamReset) and event.remote_reset for event in events)
        if resets:
            now = asyncio.get_running_loop().time()
            if now - getattr(self, "_reset_window", -RESET_WINDOW_S) > RESET_WINDOW_S:
                self._reset_window, self._resets = now, 0
            self._resets = getattr(self, "_resets", 0) + resets
            if self._resets > MAX_RESETS:
                await self._enhance_your_calm()
                return
        await super()._handle_events(events)

    async def _enhance_your_calm(self) -> None:
        """GOAWAY ENHANCE_YOUR_CALM, then close: the calls the connection had are ended with it."""
        if self.closed:
            return
        self.connection.close_connection(error_code=h2.errors.ErrorCodes.ENHANCE_YOUR_CALM)
        await self._flush()
        await self.send(Closed())

    async def _priority_updated(self, event: h2.events.PriorityUpdated) -> None:
        # RFC 9113 section 5.3.2 deprecates priority signalling. A PRIORITY frame for a stream that does not
        # exist made hypercorn insert it in its priority tree, whose 1,000-stream limit then raised
        # TooManyStreamsError (a traceback per frame) before any credential was judged: ignore those.
        if event.stream_id not in self.stream_buffers:
            return
        try:
            await super()._priority_updated(event)
        except priority.PriorityError:
            await self._enhance_your_calm()

    async def stream_send(self, event: StreamEvent) -> None:
        await super().stream_send(event)
        if isinstance(event, StreamClosed) and self.client_went_away and not self.streams and not self.closed:
            await self.send(Closed())  # the last stream the client was waiting for is done



def install() -> bool:
    """Use the classes above for new connections; True when they are in place."""
    current = getattr(hypercorn_run, "TCPServer", None)
    h2_current = getattr(hypercorn_protocol, "H2Protocol", None)
    if current is RoomTCPServer and h2_current is BoundedH2Protocol:
        return True
    if current not in (TCPServer, RoomTCPServer) or not hasattr(TCPServer, "_read_data"):
        return False
    if h2_current not in (H2Protocol, BoundedH2Protocol) or not hasattr(H2Protocol, "initiate"):
        return False
    hypercorn_run.TCPServer = RoomTCPServer
    hypercorn_protocol.H2Protocol = BoundedH2Protocol
    return True
