"""``python -m helpers.local_bedrock``: serve the local Bedrock Runtime endpoint until Ctrl-C."""

from __future__ import annotations

import argparse
import os
import signal
import sys
import threading

from .door.fdlimit import raise_open_files_limit
from .model.retention import DATA_RETENTION_MODES, DEFAULT_DATA_RETENTION
from .room import serve_workers
from .server import LocalBedrock, is_loopback
from .serving import settle_for_serving

_EPILOG = """\
HTTP/1.1 and HTTP/2 (cleartext, prior knowledge) are served on the same port.

A room of learners: run one endpoint on the instructor's machine with
  python -m helpers.local_bedrock --host 0.0.0.0 --port 8000 --verify-sigv4 room:SOME-LONG-SECRET
and let learners point AWS_ENDPOINT_URL_BEDROCK_RUNTIME at http://<instructor-ip>:8000 with
AWS_ACCESS_KEY_ID=room and AWS_SECRET_ACCESS_KEY=SOME-LONG-SECRET. Risks of --host 0.0.0.0: anyone who
can reach the machine can use the endpoint and its /_local/ control routes (faults, call log, which
holds every prompt), the traffic is plain HTTP (no TLS), and the firewall must let the port in. Lock
it: --bearer-token TOKEN for clients that can send a Bearer token over http (boto3 sends
AWS_BEARER_TOKEN_BEDROCK only over HTTPS), or --verify-sigv4 KEY:SECRET, which boto3 and the anthropic
SDK satisfy with ordinary access keys and which never puts the secret on the wire. Stop the endpoint
when the session ends.

A room of hundreds: one process keeps a few hundred paced streams on time; add --workers with one per
core (e.g. --workers 2) and hypercorn serves the port from that many processes. Each keeps its own call
log, faults and prompt cache, so with more than one /_local/calls and /_local/faults answer 409: run the
fault exercises on a one-process endpoint. --workers serves the local model only (no record, replay or
upstream).

Record and replay: --record FILE --upstream aws forwards every call to real Bedrock with this
machine's AWS credentials and writes each exchange to FILE (JSON lines, no credentials); later
--replay FILE serves those exchanges with no network, timed as recorded (scaled by --time-scale).
"""


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m helpers.local_bedrock",
        description="A local Amazon Bedrock Runtime endpoint for the course (no AWS account needed).",
        epilog=_EPILOG, formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--host", default="127.0.0.1",
                        help="address to listen on (default: 127.0.0.1; 0.0.0.0 for a room, see below)")
    parser.add_argument("--port", type=int, default=8000, help="port to listen on, 0 = any free port (default: 8000)")
    parser.add_argument("--seed", type=int, default=0, help="seed for text, pacing and faults (default: 0)")
    parser.add_argument("--time-scale", type=float, default=1.0,
                        help="1 = paced like Bedrock, 0 = as fast as possible (default: 1.0)")
    parser.add_argument("--workers", type=int, metavar="N",
                        help="serve from N hypercorn worker processes sharing the port, one per core, for a room of "
                             "hundreds of streams (default: this process serves; see below)")
    parser.add_argument("--read-timeout", type=float, default=30.0, metavar="SECONDS",
                        help="cut a client that leaves a request unfinished (or idles) this long (default: 30)")
    parser.add_argument("--no-queue", action="store_true",
                        help="start every call at once, even when the streams already running are late (default: "
                             "a new call waits until the endpoint can keep it on time; its wait is logged)")
    auth = parser.add_argument_group("auth (default: any signature or token is accepted)")
    auth.add_argument("--verify-sigv4", metavar="KEY:SECRET", action="append",
                      help="check SigV4 signatures against this access key and secret (repeatable)")
    auth.add_argument("--instructor-key", metavar="KEY:SECRET", action="append",
                      help="a SigV4 key that may also use /_local/calls and /_local/faults (repeatable); once one "
                           "is given, the --verify-sigv4 keys and the Bearer token are learners' and get a 403 there")
    auth.add_argument("--bearer-token", metavar="TOKEN",
                      help="accept only this Bearer token (Authorization: Bearer TOKEN)")
    models = parser.add_argument_group("model lifecycle (default: as on AWS today)")
    models.add_argument("--as-of", metavar="YYYY-MM-DD",
                        help="judge each model's lifecycle on this day, e.g. 2026-01-01 to serve models retired since")
    models.add_argument("--inactive-account", action="store_true",
                        help="refuse Legacy models as AWS does for an account that has not used them in 15 days")
    models.add_argument("--data-retention", metavar="MODE", default=DEFAULT_DATA_RETENTION,
                        choices=DATA_RETENTION_MODES,
                        help="the account's data-retention mode: " + "|".join(DATA_RETENTION_MODES)
                             + f" (default: {DEFAULT_DATA_RETENTION}); 'none' blocks the models from Fable 5 on")
    tape = parser.add_argument_group("record and replay")
    tape.add_argument("--record", metavar="FILE", help="append each exchange with the upstream to FILE")
    tape.add_argument("--upstream", metavar="aws|URL",
                      help="answer by forwarding to real Bedrock ('aws') or another endpoint URL")
    tape.add_argument("--upstream-region", metavar="REGION",
                      help="region for --upstream aws (default: the region the client signed for)")
    tape.add_argument("--replay", metavar="FILE", help="answer only from the exchanges recorded in FILE")
    return parser


def _print_banner(server: LocalBedrock, args: argparse.Namespace) -> None:
    workers = "" if args.workers is None else f", {args.workers} worker process{'es' if args.workers > 1 else ''}"
    region = os.environ.get("AWS_REGION") or os.environ.get("AWS_DEFAULT_REGION") or "us-east-1"
    lines = [f"Local Bedrock Runtime endpoint on {server.endpoint_url} (seed {args.seed}, time scale "
             f"{args.time_scale:g}{workers}). Ctrl-C to stop.", "", "In another shell:",
             f"export AWS_ENDPOINT_URL_BEDROCK_RUNTIME={server.endpoint_url}",
             f"export AWS_REGION={region}"]
    if server.auth.keys:
        lines += [f"export AWS_ACCESS_KEY_ID={next(iter(server.auth.keys))}",
                  "export AWS_SECRET_ACCESS_KEY=<the secret given to --verify-sigv4>"]
    elif not (os.environ.get("AWS_ACCESS_KEY_ID") and os.environ.get("AWS_SECRET_ACCESS_KEY")):
        lines += ["export AWS_ACCESS_KEY_ID=local", "export AWS_SECRET_ACCESS_KEY=local"]
    # The Messages API route (POST /anthropic/v1/messages, SSE): the anthropic SDK's AnthropicBedrockMantle
    # reads its base URL from this variable (anthropic 2.x, lib/bedrock/_mantle.py) and appends /v1/messages.
    messages_base = server.anthropic_base_url
    lines += ["", f"The Messages API (POST /anthropic/v1/messages, JSON or SSE) has the base URL {messages_base};",
              "the anthropic SDK's AnthropicBedrockMantle reads it from:",
              f"export ANTHROPIC_BEDROCK_MANTLE_BASE_URL={messages_base}"]
    if args.record:
        lines += ["", f"Recording every exchange with {args.upstream} to {args.record}."]
    elif args.upstream:
        lines += ["", f"Forwarding every call to {args.upstream} (not recording)."]
    if args.replay:
        lines += ["", f"Replaying {len(server.passthrough.exchanges)} recorded exchanges from {args.replay}."]
    if args.as_of:
        lines += ["", f"Model lifecycles judged as of {args.as_of}: models retired since then are served."]
    if args.inactive_account:
        lines += ["", "Playing an inactive account: Legacy models are refused."]
    if args.data_retention == "none":
        lines += ["", "Data retention mode 'none': the models from Fable 5 on are refused."]
    print("\n".join(lines), flush=True)


def _serve_workers(args: argparse.Namespace, settings: dict) -> int:
    """The room form: hypercorn's worker processes share the port (room.py)."""
    if args.record or args.upstream or args.replay:
        _parser().error("--workers serves the local model only: --record, --replay and --upstream need one "
                        "process, so drop --workers for them")
    try:
        code = serve_workers(settings, args.workers, banner=lambda server: _print_banner(server, args))
    except ValueError as error:
        _parser().error(str(error))
    except OSError as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    print("stopped", flush=True)
    return code


def main(argv: list[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    if not 0 <= args.time_scale < 1e6:  # also refuses nan and inf
        _parser().error(f"--time-scale must be a number >= 0 (0 = as fast as possible), not {args.time_scale}")
    if not is_loopback(args.host):
        print(f"warning: listening on {args.host}, not loopback: anyone who can reach this machine can use "
              "this endpoint. Use --host 127.0.0.1 unless you are running a shared room endpoint.",
              file=sys.stderr, flush=True)
    if not is_loopback(args.host) and not (args.verify_sigv4 or args.bearer_token):
        print("warning: no --bearer-token or --verify-sigv4 given, so the endpoint is open to everyone who "
              "can reach it; see --help for locking a room endpoint.", file=sys.stderr, flush=True)
    if args.workers is not None and not 1 <= args.workers <= 64:
        _parser().error(f"--workers must be between 1 and 64 (one per core), not {args.workers}")
    files_note = raise_open_files_limit()
    if files_note:
        print(files_note, file=sys.stderr, flush=True)
    settings = {"seed": args.seed, "time_scale": args.time_scale, "host": args.host, "port": args.port,
                "verify_sigv4": args.verify_sigv4, "bearer_token": args.bearer_token,
                "instructor_keys": args.instructor_key, "as_of": args.as_of,
                "inactive_account": args.inactive_account, "read_timeout": args.read_timeout,
                "data_retention": args.data_retention, "queue_when_late": not args.no_queue}
    if args.workers is not None:
        return _serve_workers(args, settings)
    try:
        server = LocalBedrock(**settings, record=args.record, upstream=args.upstream,
                              upstream_region=args.upstream_region, replay=args.replay)
    except ValueError as error:
        _parser().error(str(error))
    # This process only serves: keep what was loaded at start-up (boto3's models and the like) out of
    # garbage collections, and full collections (which stall every stream in the room at once) out of the
    # middle of its work. Before start(): the endpoint's start-up runs its collector when it sees this.
    settle_for_serving()
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

    _print_banner(server, args)
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
