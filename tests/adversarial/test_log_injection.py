"""Issue 23, bug 6: nothing a client sends reaches the instructor's terminal raw: no forged line, no escape
sequence, whatever the request does to the endpoint."""

from __future__ import annotations

import json
import logging
import os
import subprocess
import sys
from pathlib import Path

from adversarial_support import HAIKU, KEY, SECRET, messages_body
from botocore.auth import SigV4Auth
from botocore.awsrequest import AWSRequest
from botocore.credentials import Credentials
from test_credentials import _post, _with_signature

ROOT = Path(__file__).resolve().parents[2]
# A decoded %0A starts a forged log line; %1B[31m turns the instructor's terminal red.
FORGED_PATH = f"/model/{HAIKU}%0AFORGED%20ERROR%20root%20access%1B[31m/invoke"


def test_a_hostile_path_never_reaches_the_terminal_raw() -> None:
    process = subprocess.Popen(
        [sys.executable, "-m", "helpers.local_bedrock", "--port", "0", "--time-scale", "0",
         "--verify-sigv4", f"{KEY}:{SECRET}"],
        cwd=ROOT, env={**os.environ, "PYTHONUNBUFFERED": "1"}, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    assert process.stdout is not None
    port = 0
    for line in process.stdout:
        if b"AWS_ENDPOINT_URL_BEDROCK_RUNTIME=http://127.0.0.1:" in line:
            port = int(line.rsplit(b":", 1)[1].strip())
            break
    try:
        body = json.dumps(messages_body()).encode()
        request = AWSRequest(method="POST", url=f"http://127.0.0.1:{port}{FORGED_PATH}", data=body,
                             headers={"content-type": "application/json"})
        SigV4Auth(Credentials(KEY, SECRET), "bedrock", "us-east-1").add_auth(request)
        signed = dict(request.headers.items())
        # The path with a good signature, a forged signature, and a signature no server can compare.
        for headers in (signed, _with_signature(signed, b"0" * 64), _with_signature(signed, "é".encode() * 64)):
            status, _, _ = _post(port, FORGED_PATH, body, headers)
            assert status < 500
    finally:
        process.terminate()
        printed, errors = process.communicate(timeout=20)
    written = printed + errors
    assert b"\x1b" not in written
    assert not any(line.startswith(b"FORGED") for line in written.splitlines())


def test_the_endpoint_log_escapes_what_it_is_given(capsys: object) -> None:
    from helpers.local_bedrock.server import log

    handler = logging.StreamHandler(sys.stderr)
    log.addHandler(handler)
    try:
        log.error("serving %s", "/x\nFORGED line\x1b[31m\u2028")
        try:
            raise ValueError("bad\nFORGED too\x1b[0m")
        except ValueError:
            log.exception("while serving %s", "/y")
    finally:
        log.removeHandler(handler)
    err = capsys.readouterr().err  # type: ignore[attr-defined]
    assert "\x1b" not in err and "\u2028" not in err
    assert not any(line.startswith("FORGED") for line in err.splitlines())
    assert "FORGED line" in err and "FORGED too" in err  # escaped, not dropped
