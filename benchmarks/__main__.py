"""Run every benchmark module and print the figures.

``python -m benchmarks --json`` prints one JSON object merging each module's
``run()``; without ``--json`` it prints a table with each issue's target beside
the figure. Modules run one after another, each in a fresh interpreter; the figures
that are ratios are measured side by side inside one module's run.
"""

from __future__ import annotations

import argparse
import importlib.util
import json
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]

# The modules, in the order they run.
MODULES = ("endpoint", "endpoint_room", "endpoint_room_1000", "endpoint_stall", "reader", "live", "live_display")

# key -> (comparison, target): the targets written in the issues.
TARGETS: dict[str, tuple[str, float]] = {
    "endpoint.frames_per_s_single": (">=", 20_000),
    "endpoint.send_error_ms_p99_single": ("<=", 2.0),
    "endpoint.frames_per_s_64": (">=", 20_000),
    "endpoint.send_error_ms_p99_100": ("<=", 5.0),
    "endpoint.keepalive_invoke_ms_median": ("<=", 3.0),
    "endpoint.client_track_error_ms_median": ("<=", 25.0),  # the bound tests/endpoint/test_endpoint_pacing.py had
    "endpoint.room_streams_1000.send_error_ms_p99": ("<=", 20.0),
    "endpoint.worst_prompt_loop_block_ms": ("<=", 20.0),
    "reader.us_per_event.helpers": ("ratio<=boto3_plain", 1.15),
    "live.overhead_ratio": ("<=", 1.05),
    "live.display_lag_ms_p95": ("<=", 100.0),
    "timing.error_ms_median": ("<=", 1.0),
    "timing.error_ms_p99": ("<=", 5.0),
    "reader.anthropic_sdk_over_helpers": (">=", 3.0),
    "reader.sse_anthropic_sdk_over_sse_helpers": (">=", 3.0),
    "reader.sse_helpers_over_helpers": ("<=", 1.0),
}


def _exists(name: str) -> bool:
    return importlib.util.find_spec(f"benchmarks.{name}") is not None


def _run_isolated(name: str) -> dict[str, float]:
    """One module's ``run()`` in a fresh interpreter.

    Each module's ratios are measured side by side inside its own process; a fresh
    process keeps one module's leftovers (a larger heap, threads, sockets) from
    skewing the next module's figures.
    """
    code = f"import json, benchmarks.{name} as m; print(json.dumps(m.run()))"
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=ROOT, check=False)
    if done.returncode != 0:
        raise RuntimeError(f"benchmarks.{name} failed:\n{done.stderr.strip()}")
    return json.loads(done.stdout.strip().splitlines()[-1])


def _verdict(key: str, figures: dict[str, float]) -> str:
    if key not in TARGETS or key not in figures:
        return ""
    how, target = TARGETS[key]
    value = figures[key]
    if how == ">=":
        ok = value >= target
    elif how == "<=":
        ok = value <= target
    else:
        plain = figures.get("reader.us_per_event.boto3_plain")
        ok = bool(plain) and value / plain <= target
        return f"{'meets' if ok else 'MISSES'} target ≤ {target}× boto3_plain"
    return f"{'meets' if ok else 'MISSES'} target {how} {target:g}"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m benchmarks", description=__doc__)
    parser.add_argument("--json", action="store_true", help="print one JSON object and nothing else")
    parser.add_argument("--only", nargs="*", choices=MODULES, help="run only these modules")
    args = parser.parse_args(argv)

    figures: dict[str, float] = {}
    for name in args.only or MODULES:
        if not _exists(name):
            continue
        if not args.json:
            print(f"running benchmarks.{name} ...", file=sys.stderr)
        figures.update(_run_isolated(name))

    if "reader.us_per_event.helpers" in figures and "reader.us_per_event.anthropic_sdk" in figures:
        figures["reader.anthropic_sdk_over_helpers"] = (
            figures["reader.us_per_event.anthropic_sdk"] / figures["reader.us_per_event.helpers"]
        )

    if args.json:
        print(json.dumps(figures, indent=2, sort_keys=True))
        return 0
    width = max((len(k) for k in figures), default=10)
    for key in sorted(figures):
        print(f"{key:<{width}}  {figures[key]:>12.3f}  {_verdict(key, figures)}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
