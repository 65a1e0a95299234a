"""Serve the relay with hypercorn: ``python examples/web_relay/serve.py [--host H] [--port P]``.

``start_in_thread(app)`` serves it from a background thread instead (a notebook, a test) and returns the
running server, with its ``url`` and ``stop()``.

Set the usual AWS variables (``AWS_PROFILE``, ``AWS_REGION``; ``AWS_ENDPOINT_URL_BEDROCK_RUNTIME`` for a local
endpoint) and optionally ``RELAY_MODEL_ID``; for the Messages API, ``RELAY_MESSAGES_BASE_URL`` (…/anthropic),
``RELAY_MESSAGES_API_KEY`` and ``RELAY_MESSAGES_MODEL_ID``.
"""

from __future__ import annotations

import argparse
import asyncio
import logging
import sys
import threading
from pathlib import Path
from typing import Any

from hypercorn.asyncio import serve
from hypercorn.config import Config

if __package__:  # imported as web_relay.serve (the lesson, the tests)
    from .relay import config_from_env, create_app
else:  # run as `python serve.py` from anywhere
    sys.path.insert(0, str(Path(__file__).parent))
    from relay import config_from_env, create_app


def hypercorn_config(host: str, port: int) -> Config:
    config = Config()
    config.bind = [f"{host}:{port}"]
    config.accesslog = None
    config.errorlog = logging.getLogger("web_relay.server")  # not stderr: a notebook cell would show it in red
    # hypercorn closes a keep-alive connection idle for this long (default 5 s, hypercorn/config.py). Behind a
    # load balancer it must be LONGER than the balancer's idle timeout (60 s on an ALB), else the balancer may
    # send a request on a connection the app is closing and answer 502 (ELB guide, Connection idle timeout).
    config.keep_alive_timeout = 75
    config.graceful_timeout = 1.0
    return config


class RunningRelay:
    """The relay served from a background thread (its own asyncio loop)."""

    def __init__(self, app: Any, host: str = "127.0.0.1", port: int = 0) -> None:
        self.app = app
        config = hypercorn_config(host, port)
        sockets = config.create_sockets()  # bound now, so the port is known before serving
        self.port = sockets.insecure_sockets[0].getsockname()[1]
        self.url = f"http://{host}:{self.port}/"
        config.create_sockets = lambda: sockets  # type: ignore[method-assign]
        self._config = config
        self._stop: asyncio.Event | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        ready = threading.Event()
        self._thread = threading.Thread(target=self._run, args=(ready,), name="web-relay", daemon=True)
        self._thread.start()
        ready.wait(10)

    def _run(self, ready: threading.Event) -> None:
        async def main() -> None:
            self._loop, self._stop = asyncio.get_running_loop(), asyncio.Event()
            self._loop.call_soon(ready.set)
            await serve(self.app, self._config, shutdown_trigger=self._stop.wait, mode="asgi")

        asyncio.run(main())

    def stop(self) -> None:
        if self._loop is not None and self._stop is not None and self._thread.is_alive():
            self._loop.call_soon_threadsafe(self._stop.set)
            self._thread.join(10)

    def __enter__(self) -> RunningRelay:
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def __repr__(self) -> str:
        return f"<web relay at {self.url}>"


def start_in_thread(app: Any, host: str = "127.0.0.1", port: int = 0) -> RunningRelay:
    """Serve ``app`` on ``host:port`` (0: a free port) from a background thread."""
    return RunningRelay(app, host, port)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8080)
    args = parser.parse_args()
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s %(message)s")
    print(f"relay on http://{args.host}:{args.port}/  (Ctrl-C stops it)")
    asyncio.run(serve(create_app(config_from_env()), hypercorn_config(args.host, args.port), mode="asgi"))


if __name__ == "__main__":
    main()
