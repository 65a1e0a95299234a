"""``python -m helpers.local_bedrock``: serve the local Bedrock Runtime endpoint until Ctrl-C."""

from __future__ import annotations

import argparse
import os
import signal
import sys
import threading

from .server import LocalBedrock, is_loopback


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m helpers.local_bedrock",
        description="A local Amazon Bedrock Runtime endpoint for the course (no AWS account needed).",
    )
    parser.add_argument("--host", default="127.0.0.1", help="address to listen on (default: 127.0.0.1)")
    parser.add_argument("--port", type=int, default=8000, help="port to listen on, 0 = any free port (default: 8000)")
    parser.add_argument("--seed", type=int, default=0, help="seed for text, pacing and faults (default: 0)")
    parser.add_argument("--time-scale", type=float, default=1.0,
                        help="1 = paced like Bedrock, 0 = as fast as possible (default: 1.0)")
    return parser


def main(argv: list[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    if args.time_scale < 0:
        _parser().error("--time-scale must be >= 0 (0 = as fast as possible)")
    if not is_loopback(args.host):
        print(f"warning: listening on {args.host}, not loopback: anyone who can reach this machine can use "
              "this endpoint. Use --host 127.0.0.1 unless you are running a shared room endpoint.",
              file=sys.stderr, flush=True)
    server = LocalBedrock(seed=args.seed, time_scale=args.time_scale, host=args.host, port=args.port)
    try:
        server.start()
    except OSError as error:
        print(f"error: {error}", file=sys.stderr)
        return 2

    stop = threading.Event()

    def _on_signal(signum: int, frame: object) -> None:
        stop.set()

    for name in ("SIGINT", "SIGTERM"):
        signal.signal(getattr(signal, name), _on_signal)

    region = os.environ.get("AWS_REGION") or os.environ.get("AWS_DEFAULT_REGION") or "us-east-1"
    lines = [f"Local Bedrock Runtime endpoint on {server.endpoint_url} (seed {args.seed}, time scale "
             f"{args.time_scale:g}). Ctrl-C to stop.", "", "In another shell:",
             f"export AWS_ENDPOINT_URL_BEDROCK_RUNTIME={server.endpoint_url}",
             f"export AWS_REGION={region}"]
    if not (os.environ.get("AWS_ACCESS_KEY_ID") and os.environ.get("AWS_SECRET_ACCESS_KEY")):
        lines += ["export AWS_ACCESS_KEY_ID=local", "export AWS_SECRET_ACCESS_KEY=local"]
    print("\n".join(lines), flush=True)
    try:
        while not stop.wait(0.5):
            if not server.running:
                print("error: the endpoint stopped unexpectedly", file=sys.stderr)
                return 1
    finally:
        server.stop()
    print("stopped", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
