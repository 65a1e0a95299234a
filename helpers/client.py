"""Choose where requests go: the embedded local endpoint (default) or real Amazon Bedrock.

``bedrock_runtime()`` always returns a real boto3 ``bedrock-runtime`` client, so lesson
code reads like AWS's own examples. ``backend=None`` reads ``BEDROCK_BACKEND``
(``local`` unless set), which lets papermill and CI switch backends without editing cells.

- ``"local"`` starts ``helpers.local_bedrock.LocalBedrock`` once per process for each set
  of options (``seed``, ``time_scale``...) and points the client at it. ``local_server()``
  returns that server (faults, call log).
- ``"aws"`` uses boto3's standard credential chain (profile, env vars, SSO, instance role);
  region from the argument, ``AWS_REGION``, ``AWS_DEFAULT_REGION``, else ``us-east-1``.

``preflight(client, model_id)`` sends one tiny request and turns the usual first-day
failures into one plain sentence with the fix (``PreflightError``); ``explain(exc)`` is
the mapping on its own. Only the mapping is tested here, against the local endpoint's
injected errors: the real-AWS path cannot be exercised offline, so it is kept thin.
"""

from __future__ import annotations

import atexit
import json
import os
import threading
from typing import Any

import boto3
from botocore.config import Config
from botocore.exceptions import (
    ClientError,
    EndpointConnectionError,
    NoCredentialsError,
    NoRegionError,
    PartialCredentialsError,
)

from helpers.bedrock_rules import ModelLookupError, resolve_model
from helpers.errors import PreflightError

__all__ = [
    "bedrock_runtime",
    "local_server",
    "backend_name",
    "aws_region",
    "resolve_backend",
    "preflight",
    "explain",
    "PreflightError",
    "BACKENDS",
    "DEFAULT_REGION",
]

BACKENDS = ("local", "aws")
DEFAULT_REGION = "us-east-1"

_lock = threading.Lock()
_servers: dict[tuple[tuple[str, Any], ...], Any] = {}
_current: Any = None


def backend_name(backend: str | None = None) -> str:
    """The backend to use: the argument, else ``BEDROCK_BACKEND``, else ``"local"``."""
    chosen = backend if backend is not None else os.environ.get("BEDROCK_BACKEND", "local")
    name = str(chosen).strip().lower()
    if name not in BACKENDS:
        source = "backend" if backend is not None else "the BEDROCK_BACKEND environment variable"
        raise ValueError(f'{source} is {chosen!r}; use "local" (the embedded endpoint) or "aws" (real Bedrock)')
    return name


def aws_region(region: str | None = None) -> str:
    """The region for real Bedrock: argument, ``AWS_REGION``, ``AWS_DEFAULT_REGION``, else us-east-1."""
    return region or os.environ.get("AWS_REGION") or os.environ.get("AWS_DEFAULT_REGION") or DEFAULT_REGION


def resolve_backend(backend: str | None = None, region: str | None = None) -> tuple[str, str]:
    """A lesson's ``(backend, region)`` after its parameters cell: ``None`` means "from the environment".

    ``backend`` falls back to ``BEDROCK_BACKEND``, then ``"local"``; ``region`` to ``AWS_REGION``,
    ``AWS_DEFAULT_REGION``, then us-east-1. So ``BEDROCK_BACKEND=aws make lab`` switches every lesson,
    and papermill (or a learner) can still set either in the cell.
    """
    return backend_name(backend), aws_region(region)


def _local(options: dict[str, Any]) -> Any:
    global _current
    from helpers.local_bedrock import LocalBedrock

    options = {"seed": 0, "time_scale": 1.0, **options}
    key = tuple(sorted((k, repr(v)) for k, v in options.items()))
    with _lock:
        server = _servers.get(key)
        if server is None or not server.running:
            server = LocalBedrock(**options).start()
            _servers[key] = server
        _current = server
        return server


def local_server(**local_options: Any) -> Any:
    """The embedded local endpoint used by the latest ``bedrock_runtime()`` call.

    With options (or when none is running yet) it starts / returns the server for those
    options, exactly as ``bedrock_runtime(backend="local", **options)`` would.
    """
    if local_options or _current is None or not _current.running:
        return _local(local_options)
    return _current


_LESSON_PARAMETERS = ("seed", "time_scale")


def bedrock_runtime(backend: str | None = None, region: str | None = None, **local_options: Any) -> Any:
    """A real boto3 ``bedrock-runtime`` client for the chosen backend.

    ``local_options`` go to ``LocalBedrock`` (``seed``, ``time_scale``, ``latency``...) and
    only apply to the local backend; on ``"aws"`` the lesson parameters ``seed`` and
    ``time_scale`` are ignored and any other local option is an error. Pass ``config=``
    (a ``botocore.config.Config``) to change the client's own settings on either backend.
    """
    name = backend_name(backend)
    config = local_options.pop("config", None)
    client_kwargs: dict[str, Any] = {}
    if config is not None:
        client_kwargs["config"] = config
    if name == "local":
        server = _local(local_options)
        if region:
            client_kwargs["region_name"] = region
        return server.client(**client_kwargs)
    # Every lesson's parameters cell has a seed and a time scale; on AWS they mean nothing, and a
    # lesson must run unchanged there, so those two are dropped. Anything else is a mistake.
    for option in _LESSON_PARAMETERS:
        local_options.pop(option, None)
    if local_options:
        raise ValueError(f"{sorted(local_options)} only apply to the local backend; remove them for backend='aws'")
    # Streams of long answers can pause for a while between chunks: a generous read timeout.
    client_kwargs.setdefault("config", Config(read_timeout=300, retries={"mode": "standard"}))
    return boto3.client("bedrock-runtime", region_name=aws_region(region), **client_kwargs)


@atexit.register
def _stop_servers() -> None:
    for server in list(_servers.values()):
        try:
            server.stop()
        except Exception:
            pass


# --- preflight ---------------------------------------------------------------------------------


def _profile_prefix(region: str) -> str:
    if region.startswith("eu-"):
        return "eu."
    if region.startswith("ap-"):
        return "apac."
    return "us."


def _is_legacy(model_id: str | None) -> bool:
    if not model_id:
        return False
    try:
        return resolve_model(model_id).legacy
    except ModelLookupError:
        return False


def explain(exc: BaseException, *, model_id: str | None = None, region: str | None = None) -> str | None:
    """One plain sentence with the fix for a first-day setup failure, or None if ``exc`` is not one."""
    region = region or aws_region()
    model = model_id or "this model"
    if isinstance(exc, NoCredentialsError | PartialCredentialsError):
        return (
            "No AWS credentials were found: run `aws configure` or `aws sso login` (or set AWS_PROFILE, or "
            "AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY) and restart the kernel, or use backend='local'."
        )
    if isinstance(exc, NoRegionError):
        return "No AWS region is set: pass region='us-east-1' (or set AWS_REGION) to bedrock_runtime()."
    if isinstance(exc, EndpointConnectionError):
        return (
            f"Bedrock Runtime could not be reached in region {region}: use a region where Amazon Bedrock "
            "offers Claude, such as us-east-1 or us-west-2 (region= or AWS_REGION), and check your network."
        )
    if not isinstance(exc, ClientError):
        return None
    error = exc.response.get("Error", {})
    code = str(error.get("Code", ""))
    message = str(error.get("Message", ""))
    lowered = message.lower()
    if code in ("UnrecognizedClientException", "InvalidSignatureException"):
        return (
            "AWS rejected your credentials: check the access key and secret (or run `aws sso login` again) "
            "and restart the kernel."
        )
    if code == "ExpiredTokenException" or "expired" in lowered and "token" in lowered:
        return "Your AWS session has expired: run `aws sso login` (or refresh your credentials) and restart the kernel."
    # Checked before access: AWS reports a lapsed legacy model as AccessDeniedException.
    retired = "end of its life" in lowered or "as legacy" in lowered
    if retired or (code == "ResourceNotFoundException" and _is_legacy(model_id)):
        return (
            f"{model} is a legacy model retired on Amazon Bedrock: use a current Claude model such as "
            "anthropic.claude-3-5-haiku-20241022-v1:0 (the local backend still serves legacy models for teaching)."
        )
    if code == "AccessDeniedException":
        if "not authorized to perform" in lowered:
            return (
                "Your AWS identity is not allowed to call Bedrock: ask for an IAM policy that allows "
                "bedrock:InvokeModel and bedrock:InvokeModelWithResponseStream on this model."
            )
        return (
            f"Your account has no access to {model} in {region}: request it in the Amazon Bedrock console "
            "under 'Model access', or use a model you already have access to."
        )
    if code == "ValidationException" and "on-demand throughput" in lowered:
        hint = f"{_profile_prefix(region)}{model_id}" if model_id else "us.<model id>"
        return f"{model} cannot be called on demand by its base id: use an inference profile id such as {hint}."
    if code == "ResourceNotFoundException" or "model identifier is invalid" in lowered:
        already_profile = bool(model_id) and model_id.split(".", 1)[0] in ("us", "eu", "apac", "global")
        also = (
            "and that this inference profile exists in your region"
            if already_profile
            else f"or try its inference profile id ({_profile_prefix(region)}<model id>)"
        )
        return (
            f"Bedrock does not know the model id {model!r} in {region}: check its spelling against the "
            f"Bedrock console's model catalogue, {also}."
        )
    return None


def _probe_body(model_id: str) -> bytes:
    try:
        api = resolve_model(model_id).api
    except ModelLookupError:
        api = "messages"
    if api == "text_completion":
        body: dict[str, Any] = {"prompt": "\n\nHuman: Hi\n\nAssistant:", "max_tokens_to_sample": 1}
    else:
        body = {
            "anthropic_version": "bedrock-2023-05-31",
            "max_tokens": 1,
            "messages": [{"role": "user", "content": "Hi"}],
        }
    return json.dumps(body).encode()


def _is_aws(client: Any) -> bool:
    return "amazonaws.com" in str(getattr(client.meta, "endpoint_url", ""))


def preflight(client: Any | None, model_id: str, *, region: str | None = None) -> None:
    """Send one 1-token request; on a first-day failure raise ``PreflightError`` with one sentence and the fix.

    ``client=None`` builds one with ``bedrock_runtime(region=region)``. On real AWS a legacy
    model id is refused up front. Errors that are not setup problems are raised unchanged.
    """
    try:
        if client is None:
            client = bedrock_runtime(region=region)
        region = region or client.meta.region_name or aws_region()
        if _is_aws(client) and _is_legacy(model_id):
            raise PreflightError(
                explain(
                    ClientError(
                        {
                            "Error": {
                                "Code": "ResourceNotFoundException",
                                "Message": "This model version has reached the end of its life.",
                            }
                        },
                        "InvokeModel",
                    ),
                    model_id=model_id,
                    region=region,
                )
                or "",
                reason="legacy",
            )
        client.invoke_model(
            modelId=model_id, body=_probe_body(model_id), contentType="application/json", accept="application/json"
        )
    except PreflightError:
        raise
    except (ClientError, NoCredentialsError, PartialCredentialsError, NoRegionError, EndpointConnectionError) as exc:
        sentence = explain(exc, model_id=model_id, region=region)
        if sentence is None:
            raise
        code = exc.response.get("Error", {}).get("Code", "") if isinstance(exc, ClientError) else type(exc).__name__
        raise PreflightError(sentence, reason=str(code)) from exc
