"""The instructor's dry run: execute every lesson with papermill and report, lesson by lesson.

    python -m tools.dry_run                    # every lesson on the aws backend (real Bedrock)
    python -m tools.dry_run --only 00 05       # some lessons
    python -m tools.dry_run --backend local    # the offline course, e.g. to time each lesson
    make dry-run                               # the same as the first line

On ``aws`` it uses boto3's usual configuration (AWS_PROFILE or keys, AWS_REGION) and honours
``AWS_ENDPOINT_URL_BEDROCK_RUNTIME``, so a room endpoint or a second local endpoint can stand in for AWS.
When the endpoint answers the local endpoint's ``/_local/calls`` route, the report also counts the calls
and tokens each lesson used (that is how docs/workshop/aws.md's cost estimate was measured); on real AWS
those columns stay empty. Executed copies go to ``--out`` (default: a temporary folder) for a look at
the cell that failed. The exit status is 1 when any lesson failed.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
import time
import urllib.error
import urllib.request
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
NOTEBOOKS = ROOT / "notebooks"


@dataclass
class LessonReport:
    lesson: str
    ok: bool
    seconds: float
    failed_cell: int | None = None  # the In [N] execution count of the failing cell in the executed copy
    error: str | None = None  # "ExceptionName: message", first line
    calls: int | None = None  # model calls the endpoint saw (local stand-in only)
    input_tokens: int | None = None
    output_tokens: int | None = None
    max_tokens_requested: int | None = None  # the ceiling on output: each call's max_tokens, summed


def _endpoint_calls(endpoint: str | None) -> list[dict[str, Any]] | None:
    """The stand-in's call log, or None when the endpoint is real AWS (no such route) or unset."""
    if not endpoint:
        return None
    try:
        with urllib.request.urlopen(endpoint.rstrip("/") + "/_local/calls", timeout=5) as response:
            value = json.loads(response.read())
    except (urllib.error.URLError, OSError, ValueError):
        return None
    return value if isinstance(value, list) else None


def _max_tokens(body: Any) -> int:
    """An InvokeModel body's max_tokens, or a Converse request's inferenceConfig.maxTokens (0 if neither)."""
    if not isinstance(body, dict):
        return 0
    value = body.get("max_tokens") or (body.get("inferenceConfig") or {}).get("maxTokens") or 0
    return value if isinstance(value, int) else 0


def run_lesson(path: Path, *, backend: str, out_dir: Path, parameters: dict[str, Any], timeout: int) -> LessonReport:
    """Execute one lesson top to bottom on ``backend``; never raises for a failing cell."""
    import papermill  # imported here so --help works without it

    endpoint = os.environ.get("AWS_ENDPOINT_URL_BEDROCK_RUNTIME") if backend == "aws" else None
    seen = {c["id"] for c in _endpoint_calls(endpoint) or []}
    started = time.perf_counter()
    report = LessonReport(lesson=path.stem, ok=True, seconds=0.0)
    try:
        papermill.execute_notebook(
            str(path), str(out_dir / path.name), parameters={"backend": backend, **parameters},
            cwd=str(path.parent), kernel_name="python3", progress_bar=False, execution_timeout=timeout,
        )
    except papermill.PapermillExecutionError as error:
        report.ok = False
        report.failed_cell = error.exec_count
        report.error = f"{error.ename}: {str(error.evalue).splitlines()[0] if error.evalue else ''}"
    except Exception as error:  # a kernel that died or timed out is a failed lesson, not a crashed dry run
        report.ok = False
        report.error = f"{type(error).__name__}: {str(error).splitlines()[0] if str(error) else ''}"
    report.seconds = round(time.perf_counter() - started, 1)
    after = _endpoint_calls(endpoint)
    if after is not None:
        new = [c for c in after if c["id"] not in seen]
        report.calls = len(new)
        report.input_tokens = sum(c.get("input_tokens") or 0 for c in new)
        report.output_tokens = sum(c.get("output_tokens") or 0 for c in new)
        report.max_tokens_requested = sum(_max_tokens(c.get("request_body")) for c in new)
    return report


def lessons(folder: Path, only: list[str] | None) -> list[Path]:
    paths = sorted(folder.glob("[0-9][0-9]_*.ipynb"))
    if only:
        paths = [p for p in paths if any(p.stem.startswith(prefix) for prefix in only)]
    return paths


def _table(reports: list[LessonReport]) -> str:
    def num(value: int | None) -> str:
        return "-" if value is None else f"{value:,}"

    width = max([len(r.lesson) for r in reports] + [6])
    lines = [f"{'lesson':<{width}}  {'result':<6}  {'seconds':>7}  {'calls':>5}  {'in tok':>8}  {'out tok':>8}  detail"]
    for r in reports:
        detail = "" if r.ok else f"In [{r.failed_cell}]: {r.error}" if r.failed_cell is not None else r.error or ""
        lines.append(f"{r.lesson:<{width}}  {'ok' if r.ok else 'FAILED':<6}  {r.seconds:>7.1f}  {num(r.calls):>5}  "
                     f"{num(r.input_tokens):>8}  {num(r.output_tokens):>8}  {detail}")
    failed = sum(not r.ok for r in reports)
    lines.append(f"{len(reports) - failed} of {len(reports)} lessons ran top to bottom"
                 + (f"; {failed} failed (executed copies show the failing cell)" if failed else ""))
    return "\n".join(lines)


def _parameter(text: str) -> tuple[str, Any]:
    name, sep, value = text.partition("=")
    if not sep or not name.isidentifier():
        raise argparse.ArgumentTypeError(f"expected NAME=VALUE (e.g. time_scale=0), not {text!r}")
    try:
        return name, json.loads(value)
    except ValueError:
        return name, value  # a plain string such as a model id


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m tools.dry_run", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--backend", choices=("aws", "local"), default="aws", help="default: aws")
    parser.add_argument("--only", nargs="*", metavar="NN", help="lesson number prefixes, e.g. 00 05")
    parser.add_argument("--notebooks", type=Path, default=NOTEBOOKS, help="folder of NN_*.ipynb lessons")
    parser.add_argument("--out", type=Path, help="keep the executed copies here (default: a temporary folder)")
    parser.add_argument("-p", "--parameter", type=_parameter, action="append", default=[], metavar="NAME=VALUE",
                        help="override a lesson parameter in every lesson (JSON value or plain text), repeatable")
    parser.add_argument("--timeout", type=int, default=600, help="seconds one cell may take (default: 600)")
    parser.add_argument("--json", action="store_true", help="print one JSON list instead of the table")
    args = parser.parse_args(argv)

    paths = lessons(args.notebooks, args.only)
    if not paths:
        parser.error(f"no lessons matching {args.only or 'NN_*.ipynb'} in {args.notebooks}")
    if args.backend == "aws" and not (os.environ.get("AWS_REGION") or os.environ.get("AWS_DEFAULT_REGION")):
        print("note: AWS_REGION is not set; the lessons fall back to us-east-1", file=sys.stderr)
    with tempfile.TemporaryDirectory(prefix="dry-run-") as scratch:
        out_dir = args.out or Path(scratch)
        out_dir.mkdir(parents=True, exist_ok=True)
        reports = []
        for path in paths:
            if not args.json:
                print(f"running {path.stem} on {args.backend} ...", file=sys.stderr, flush=True)
            reports.append(run_lesson(path, backend=args.backend, out_dir=out_dir,
                                      parameters=dict(args.parameter), timeout=args.timeout))
    print(json.dumps([asdict(r) for r in reports], indent=1) if args.json else _table(reports))
    return 0 if all(r.ok for r in reports) else 1


if __name__ == "__main__":
    sys.exit(main())
