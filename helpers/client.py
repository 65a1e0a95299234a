"""Choose where requests go: the embedded local endpoint (default) or real Amazon Bedrock.

``bedrock_runtime()`` always returns a real boto3 ``bedrock-runtime`` client, so lesson
code reads like AWS's own examples. ``backend=None`` reads ``BEDROCK_BACKEND``
(``local`` unless set), which lets papermill and CI switch backends without editing cells.

- ``"local"`` starts ``helpers.local_bedrock.LocalBedrock`` once per process for each set
  of options (``seed``, ``time_scale``...) and points the client at it. ``local_server()``
  returns that server (faults, call log).
- ``"aws"`` uses boto3's standard credential chain (profile, env vars, SSO, instance role);
  region from the argument, ``AWS_REGION``, ``AWS_DEFAULT_REGION``, else ``us-east-1``.

``messages_client(backend, region)`` is the other way in, the one AWS's 2026 workshop teaches for Claude: the
anthropic SDK's base ``Anthropic`` client on the Messages API (``…/anthropic``) with a short-term Bedrock API key
from ``aws-bedrock-token-generator``; the same code on both backends.

``resolve_backend(backend, region)`` turns a lesson's ``None`` parameters into the environment's
choice (``BEDROCK_BACKEND``, ``AWS_REGION``), so ``BEDROCK_BACKEND=aws make lab`` switches every lesson.

``preflight(client, model_id, body)`` checks the body with the endpoint's own rules, sends one tiny
request and turns the usual first-day failures into one plain sentence with the fix
(``PreflightError``, shown without a traceback in IPython); ``explain(exc)`` is the mapping on its
own and ``describe_model(model_id)`` the same knowledge for an id, without a call. Model advice
(replacements, profile ids, the nearest known id) comes from the catalogue in ``helpers.bedrock_rules``.
Only the mapping is tested here, against the local endpoint's errors: the real-AWS path cannot be
exercised offline, so it is kept thin.
"""

from __future__ import annotations

import atexit
import json
import os
import threading
from typing import TYPE_CHECKING, Any

import boto3
from botocore.config import Config
from botocore.credentials import CredentialProvider, Credentials
from botocore.exceptions import (
    ClientError,
    EndpointConnectionError,
    NoCredentialsError,
    NoRegionError,
    PartialCredentialsError,
)

from helpers.bedrock_rules import (
    ANTHROPIC_VERSION,
    ModelInfo,
    ModelLookupError,
    current_models,
    identify_model,
    resolve_model,
)
from helpers.bedrock_rules.messages import (
    ADAPTIVE_UNSUPPORTED,
    DATED_VERSION_UNSUPPORTED,
    EFFORT_UNSUPPORTED,
    MODEL_ERROR_PREFIX,
    SAMPLING_BOTH,
    THINKING_ENABLED_REMOVED,
    sampling_deprecated,
)
from helpers.errors import PayloadError, PreflightError
from helpers.payloads import model_fix, validate_body

if TYPE_CHECKING:  # the anthropic SDK is in the lab extra, not a core dependency: imported when a client is built
    import anthropic

__all__ = [
    "bedrock_runtime",
    "messages_client",
    "local_server",
    "backend_name",
    "aws_region",
    "resolve_backend",
    "preflight",
    "explain",
    "describe_model",
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


class _PlaceholderCredentials(CredentialProvider):
    """Hands ``provide_token`` the local endpoint's placeholder keys, as the boto3 clients use them."""

    METHOD = "local-placeholder"

    def load(self) -> Credentials:
        return Credentials("local", "local")


def messages_client(backend: str | None = None, region: str | None = None, **local_options: Any) -> anthropic.Anthropic:
    """The anthropic SDK's base ``Anthropic`` client on Bedrock's Messages API, built as AWS's workshop builds it.

    On ``"aws"``: ``base_url`` is ``https://bedrock-runtime.{region}.amazonaws.com/anthropic`` (or
    ``$AWS_ENDPOINT_URL_BEDROCK_RUNTIME/anthropic`` when set, the room endpoint or stand-in boto3 also follows),
    and ``api_key`` is ``provide_token(region=region)``: a short-term Bedrock API key signed from the default
    AWS credential chain, valid in that region for at most 12 hours (build a new client after that).
    On ``"local"``: the same call, with the embedded endpoint's ``…/anthropic`` and a token signed from its
    placeholder keys. ``local_options`` are as for ``bedrock_runtime``. Needs the lab extra (``anthropic``,
    ``aws-bedrock-token-generator``).
    """
    # AWS's amazon-bedrock-workshop, 01_Inference_APIs/01_Inference_APIs.ipynb section 4 (2026): "the base
    # `Anthropic` client (recommended)", base_url on bedrock-runtime …/anthropic, api_key=provide_token(region=...).
    from anthropic import Anthropic
    from aws_bedrock_token_generator import provide_token

    name = backend_name(backend)
    region = aws_region(region)
    if name == "local":
        base_url = _local(local_options).anthropic_base_url
        # provide_token only calls .load() on the provider (aws_bedrock_token_generator/__init__.py, 1.1.0).
        api_key = provide_token(region=region, aws_credentials_provider=_PlaceholderCredentials())
        return Anthropic(base_url=base_url, api_key=api_key)
    for option in _LESSON_PARAMETERS:
        local_options.pop(option, None)
    if local_options:
        raise ValueError(f"{sorted(local_options)} only apply to the local backend; remove them for backend='aws'")
    # The anthropic SDK does not read boto3's AWS_ENDPOINT_URL_BEDROCK_RUNTIME; lessons 7 and 11 pass it on too.
    host = os.environ.get("AWS_ENDPOINT_URL_BEDROCK_RUNTIME") or f"https://bedrock-runtime.{region}.amazonaws.com"
    return Anthropic(base_url=f"{host.rstrip('/')}/anthropic", api_key=provide_token(region=region))


@atexit.register
def _stop_servers() -> None:
    for server in list(_servers.values()):
        try:
            server.stop()
        except Exception:
            pass


# --- preflight ---------------------------------------------------------------------------------

# Access to models, as of 2026 (AWS user guide, "Request access to models"): the console's "Model access"
# page is retired; every serverless model is enabled for identities allowed the AWS Marketplace actions
# below, the first call starts the subscription in the background (up to 15 minutes), and Anthropic
# models may first need a one-time use-case form. Access is restricted with IAM policies and SCPs.
_ACCESS_FLOW = (
    "Bedrock enables a model on its first call for identities allowed aws-marketplace:Subscribe and "
    "aws-marketplace:ViewSubscriptions (the subscription can take up to 15 minutes to become active), "
    "Anthropic models first need the one-time use-case form (Bedrock console, model catalogue, the model's "
    "page), and an IAM policy or SCP may deny the model"
)

# Every current Claude model answers InvokeModel / Converse (the newest through their profile ids: anthropic SDK
# example, AWS quickstart); the Messages API route serves the models whose AWS card lists Messages, Haiku 4.5
# included (AWS's amazon-bedrock-workshop, 01_Inference_APIs §4, 2026, calls it there; AWS's Haiku 4.5 card).
_INVOKE = "InvokeModel / Converse"
_MESSAGES_ROUTE = "the Messages API at /anthropic/v1/messages"
def _on_messages_route(info: ModelInfo) -> bool:
    """Does Bedrock's Messages API route serve this model? The catalogue keeps that rule per model."""
    from helpers.bedrock_rules.model_ids import serves_messages_route

    return serves_messages_route(info)


def _adaptive_model() -> ModelInfo | None:
    """The newest current model on InvokeModel that thinks adaptively (the catalogue lists oldest first)."""
    adaptive = [m for m in current_models() if "adaptive" in m.thinking and m.integration == "arn_versioned"]
    return adaptive[-1] if adaptive else None


def _body_fixes() -> tuple[tuple[str, str], ...]:
    """Bedrock's texts for the per-model body rules, each with the fix (used when the body is not at hand)."""
    adaptive = _adaptive_model()
    with_adaptive = f", or use a model with adaptive thinking such as {adaptive.recommended_id()}" if adaptive else ""
    with_effort = f", or use a model with effort levels such as {adaptive.recommended_id()}" if adaptive else ""
    return (
        (SAMPLING_BOTH, "send temperature or top_p, not both (Claude 4.5 models and later)"),
        (
            sampling_deprecated("")[1:],
            "leave temperature, top_p and top_k out: this model takes no sampling parameters",
        ),
        (
            THINKING_ENABLED_REMOVED,
            'send "thinking": {"type": "adaptive"} and "output_config": {"effort": "medium"} instead of a budget',
        ),
        (
            ADAPTIVE_UNSUPPORTED,
            'send "thinking": {"type": "enabled", "budget_tokens": 2048} (at least 1,024, below max_tokens)'
            + with_adaptive,
        ),
        (
            DATED_VERSION_UNSUPPORTED.split("}", 1)[1],
            f'send "anthropic_version": "{ANTHROPIC_VERSION}" (the anthropic SDK 2.x: pass '
            f'extra_body={{"anthropic_version": "{ANTHROPIC_VERSION}"}})',
        ),
        (EFFORT_UNSUPPORTED, "leave output_config.effort out on this model" + with_effort),
    )


def _classify(code: str, message: str) -> str | None:
    """Bedrock's reason for refusing a model id, in ``ModelLookupError.reason``'s words; None if not a model error."""
    lowered = message.lower()
    if "end of its life" in lowered:
        return "end_of_life"
    if "as legacy" in lowered:
        return "legacy_inactive"
    if code == "AccessDeniedException":
        return "iam" if "not authorized to perform" in lowered else "access"
    if "on-demand throughput" in lowered:
        return "on_demand"
    if "model identifier is invalid" in lowered:
        return "invalid"
    if code == "ResourceNotFoundException":
        return "not_found"
    return None


def _invitation_only(model_id: str | None) -> bool:
    try:
        return bool(model_id) and identify_model(str(model_id)).info.access == "invitation"
    except ModelLookupError:
        return False


def _model_sentence(reason: str, model_id: str | None, region: str) -> str:
    model = model_id or "this model"
    if reason == "iam":
        return (
            "Your AWS identity is not allowed to call Bedrock: ask for an IAM policy that allows "
            "bedrock:InvokeModel and bedrock:InvokeModelWithResponseStream on this model and its inference profile."
        )
    if reason == "access":
        if _invitation_only(model_id):
            return f"{model} is not open to every account: {model_fix(model_id, reason)}."
        return f"Your account cannot use {model} in {region} yet: {_ACCESS_FLOW}."
    fix = model_fix(model_id, reason)
    if reason == "end_of_life":
        return f"{model} has reached end of life on Amazon Bedrock: {fix}."
    if reason == "legacy_inactive":
        return f"{model} is a Legacy model this account has not used in the last 15 days, so Bedrock refuses it: {fix}."
    if reason == "on_demand":
        return f"{model} cannot be called on demand by its base id: {fix}."
    if reason == "not_found":
        return f"Bedrock could not find {model!r} in {region}: {fix}."
    return f"Bedrock does not know the model id {model!r} in {region}: {fix}."


def _body_sentence(message: str, model_id: str | None, body: Any) -> str | None:
    model = model_id or "this model"
    if body is not None and model_id:
        try:
            validate_body(body, model_id)
        except PayloadError as err:
            problem = next((p for p in err.problems if p.rule in message), err.problems[0])
            return f"Bedrock refused the request body for {model} at {problem.path}: {problem.fix}."
    for text, fix in _body_fixes():
        if text in message:
            return f"Bedrock refused the request body for {model}: {fix}."
    if message.startswith("Malformed input request") or message.startswith(MODEL_ERROR_PREFIX):
        return (
            f"Bedrock refused the request body for {model}: check it with "
            "helpers.payloads.validate_body(body, model_id), which names every problem and its fix."
        )
    return None


def explain(
    exc: BaseException, *, model_id: str | None = None, region: str | None = None, body: Any = None
) -> str | None:
    """One plain sentence with the fix for a first-day failure, or None if ``exc`` is not one.

    Model advice (what replaces a retired model, which profile id to use) comes from the catalogue in
    ``helpers.bedrock_rules``. Give ``body`` when you have it: a refused body is then explained by the
    very rule that refused it.
    """
    region = region or aws_region()
    if isinstance(exc, ModelLookupError):
        return _model_sentence(exc.reason, model_id, region)
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
    reason = _classify(code, message)
    if reason is not None:
        return _model_sentence(reason, model_id, region)
    if code == "ValidationException":
        return _body_sentence(message, model_id, body)
    return None


def describe_model(model_id: str, *, region: str | None = None) -> str:
    """One line about ``model_id`` as Bedrock sees it today: the model, its API and limits, or why it is refused.

    Never raises for a bad id: a refused id gets Bedrock's answer and the fix, in one sentence.
    """
    try:
        info = resolve_model(model_id, region=region)
    except ModelLookupError as exc:
        return f"refused ({exc.status} {exc.error_type}): {_model_sentence(exc.reason, model_id, aws_region(region))}"
    thinking = "+".join(info.thinking) or "none"
    apis = f"{_INVOKE} and {_MESSAGES_ROUTE}" if _on_messages_route(info) else _INVOKE
    return (
        f"{info.name} ({info.lifecycle}), served by {apis}; "
        f"up to {info.max_output_tokens:,} output tokens; thinking: {thinking}"
    )


def _probe_body(model_id: str) -> bytes:
    try:
        api = identify_model(model_id).info.api
    except ModelLookupError:
        api = "messages"
    if api == "text_completion":
        body: dict[str, Any] = {"prompt": "\n\nHuman: Hi\n\nAssistant:", "max_tokens_to_sample": 1}
    else:
        body = {
            "anthropic_version": ANTHROPIC_VERSION,
            "max_tokens": 1,
            "messages": [{"role": "user", "content": "Hi"}],
        }
    return json.dumps(body).encode()


def _is_aws(client: Any) -> bool:
    return "amazonaws.com" in str(getattr(client.meta, "endpoint_url", ""))


def _body_problems_sentence(err: PayloadError, model_id: str) -> str:
    first = err.problems[0]
    more = len(err.problems) - 1
    rest = (
        f" ({more} more problem{'s' if more != 1 else ''}: helpers.payloads.validate_body(body, model_id) lists them)"
        if more
        else ""
    )
    return f"The request body would be refused for {model_id} ({first.path}: {first.rule}): {first.fix}{rest}."


def preflight(client: Any | None, model_id: str, body: Any = None, *, region: str | None = None) -> None:
    """Check the set-up with one 1-token request; on a first-day failure raise ``PreflightError``: one sentence.

    ``client=None`` builds one with ``bedrock_runtime(region=region)``. ``body`` (optional) is the
    request you mean to send: it is checked with ``validate_body`` first (nothing is sent for a bad
    body). On real AWS a model the catalogue knows to be retired is refused before any request.
    Errors that are not setup problems are raised unchanged. In a notebook the error shows as its one
    sentence, not a traceback.
    """
    try:
        if client is None:
            client = bedrock_runtime(region=region)
        region = region or client.meta.region_name or aws_region()
        if _is_aws(client):
            try:
                resolve_model(model_id, region=region)
            except ModelLookupError as exc:
                if exc.reason == "end_of_life":
                    raise PreflightError(_model_sentence(exc.reason, model_id, region), reason=exc.reason) from None
        if body is not None:
            try:
                validate_body(body, model_id, region=region)
            except PayloadError as err:
                # A refused model id is left to the endpoint, whose answer is the authority (and the
                # local endpoint may replay retired models); anything else in the body fails here.
                if err.problems[0].path != "modelId":
                    raise PreflightError(_body_problems_sentence(err, model_id), reason="body") from None
        client.invoke_model(
            modelId=model_id, body=_probe_body(model_id), contentType="application/json", accept="application/json"
        )
    except PreflightError:
        raise
    except (ClientError, NoCredentialsError, PartialCredentialsError, NoRegionError, EndpointConnectionError) as exc:
        sentence = explain(exc, model_id=model_id, region=region, body=body)
        if sentence is None:
            raise
        if isinstance(exc, ClientError):
            error = exc.response.get("Error", {})
            reason = _classify(str(error.get("Code", "")), str(error.get("Message", ""))) or str(error.get("Code", ""))
        else:
            reason = type(exc).__name__
        raise PreflightError(sentence, reason=reason) from exc
