"""Backend choice and the preflight's one-sentence explanations (mapped from the endpoint's real errors).

The real-AWS path of preflight cannot run offline; what is tested is the mapping from each
error Bedrock answers with to the sentence, using the local endpoint's injected request faults,
a client with no credentials and a client pointed at a closed loopback port.
"""

from __future__ import annotations

import json
import socket
from typing import Any

import boto3
import pytest
from botocore.config import Config

from helpers import client as client_module
from helpers.client import (
    backend_name,
    bedrock_runtime,
    describe_model,
    explain,
    local_server,
    preflight,
    resolve_backend,
)
from helpers.errors import PreflightError
from helpers.payloads import messages_body
from helpers.stream import invoke_stream

HAIKU = "global.anthropic.claude-haiku-4-5-20251001-v1:0"  # the course default (Claude 3 Haiku is EOL)
HAIKU_BASE = "anthropic.claude-haiku-4-5-20251001-v1:0"  # profile-only: its base id is refused on demand
LEGACY = "anthropic.claude-v2:1"
RETIRED = "anthropic.claude-3-haiku-20240307-v1:0"  # end of life on Bedrock 2026-09-10


def test_backend_name_from_argument_and_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("BEDROCK_BACKEND", raising=False)
    assert backend_name() == "local"
    monkeypatch.setenv("BEDROCK_BACKEND", "AWS")
    assert backend_name() == "aws"
    assert backend_name("local") == "local"
    monkeypatch.setenv("BEDROCK_BACKEND", "cloud")
    with pytest.raises(ValueError, match="BEDROCK_BACKEND"):
        backend_name()


def test_resolve_backend_reads_the_environment_for_none(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in ("BEDROCK_BACKEND", "AWS_REGION", "AWS_DEFAULT_REGION"):
        monkeypatch.delenv(name, raising=False)
    assert resolve_backend(None, None) == ("local", "us-east-1")
    monkeypatch.setenv("BEDROCK_BACKEND", "aws")
    monkeypatch.setenv("AWS_DEFAULT_REGION", "eu-central-1")
    assert resolve_backend(None, None) == ("aws", "eu-central-1")
    monkeypatch.setenv("AWS_REGION", "us-west-2")
    assert resolve_backend(None, None) == ("aws", "us-west-2")
    assert resolve_backend("local", "ap-northeast-1") == ("local", "ap-northeast-1")  # papermill's values win


def test_local_backend_starts_one_server_per_option_set(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("BEDROCK_BACKEND", raising=False)
    first = bedrock_runtime(seed=3, time_scale=0)
    server = local_server()
    second = bedrock_runtime(seed=3, time_scale=0)
    assert local_server() is server and server.running
    assert first.meta.endpoint_url == second.meta.endpoint_url == server.endpoint_url
    other = bedrock_runtime(seed=4, time_scale=0)
    assert local_server() is not server and other.meta.endpoint_url != server.endpoint_url
    result = invoke_stream(first, HAIKU, messages_body("Write a haiku about rivers", max_tokens=100)).consume()
    assert result.stop_reason == "end_turn" and result.text
    assert server.calls[0].model_id == HAIKU


def test_aws_backend_builds_a_plain_boto3_client(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("AWS_REGION", "eu-west-1")
    aws = bedrock_runtime("aws")
    assert aws.meta.region_name == "eu-west-1"
    assert aws.meta.endpoint_url == "https://bedrock-runtime.eu-west-1.amazonaws.com"
    assert bedrock_runtime("aws", region="us-west-2").meta.region_name == "us-west-2"
    # A lesson passes its seed and time scale whatever the backend; AWS ignores them ...
    assert bedrock_runtime("aws", seed=1, time_scale=0.5).meta.region_name == "eu-west-1"
    # ... but an option that only the local endpoint understands is a mistake on AWS.
    with pytest.raises(ValueError, match="only apply to the local backend"):
        bedrock_runtime("aws", seed=1, latency=None)


def _fault_sentence(server: Any, client: Any, error: str, message: str | None, model_id: str = HAIKU) -> str:
    spec: dict[str, Any] = {"error": error, "at": "request"}
    if message:
        spec["message"] = message
    server.faults.add(spec)
    with pytest.raises(PreflightError) as info:
        preflight(client, model_id, region="us-east-1")
    return str(info.value)


def test_preflight_passes_when_all_is_well(client: Any) -> None:
    preflight(client, HAIKU)
    preflight(client, HAIKU, messages_body("Hi", max_tokens=200))


def test_preflight_refuses_a_bad_body_before_sending_it(server: Any, client: Any) -> None:
    before = len(server.calls)
    with pytest.raises(PreflightError) as info:
        preflight(client, HAIKU, messages_body("Hi", max_tokens=0))
    sentence = str(info.value)
    assert info.value.reason == "body" and "max_tokens" in sentence and sentence.count("\n") == 0
    assert len(server.calls) == before  # nothing was sent


def test_preflight_with_a_retired_model_names_its_current_replacement(client: Any) -> None:
    with pytest.raises(PreflightError) as info:
        preflight(client, RETIRED)
    assert info.value.reason == "end_of_life"
    assert "end of life" in str(info.value) and "global.anthropic.claude-haiku-4-5-20251001-v1:0" in str(info.value)


def test_preflight_with_a_base_id_names_its_profile(client: Any) -> None:
    with pytest.raises(PreflightError) as info:
        preflight(client, HAIKU_BASE)
    assert info.value.reason == "on_demand" and f"global.{HAIKU_BASE}" in str(info.value)


def test_preflight_error_shows_as_one_sentence_in_ipython(client: Any) -> None:
    with pytest.raises(PreflightError) as info:
        preflight(client, "global.anthropic.claude-hiaku-4-5-20251001-v1:0")
    # IPython renders _render_traceback_ instead of the chained boto3 traceback.
    assert info.value._render_traceback_() == [f"PreflightError: {info.value}"]
    assert "did you mean" not in str(info.value) and HAIKU in str(info.value)  # the nearest id, spelled out


def test_describe_model_never_raises() -> None:
    assert describe_model(HAIKU).startswith("Claude Haiku 4.5 (Active), served by InvokeModel / Converse")
    # AWS's amazon-bedrock-workshop (01_Inference_APIs §4, 2026) calls Haiku 4.5 on the Messages API route.
    assert "/anthropic/v1/messages" in describe_model(HAIKU)
    assert "/anthropic/v1/messages" in describe_model("global.anthropic.claude-opus-4-7")
    refused = describe_model(RETIRED)
    assert refused.startswith("refused (404 ResourceNotFoundException)") and HAIKU in refused
    assert describe_model("no-such-model").startswith("refused (400 ValidationException)")


def test_model_access_not_granted(server: Any, client: Any) -> None:
    sentence = _fault_sentence(server, client, "AccessDeniedException", None)
    assert HAIKU in sentence and "aws-marketplace:Subscribe" in sentence and "use-case form" in sentence
    assert "Model access" not in sentence  # the console page is retired (AWS user guide, 2026)


def test_iam_permission_missing(server: Any, client: Any) -> None:
    sentence = _fault_sentence(
        server,
        client,
        "AccessDeniedException",
        "User: arn:aws:iam::123456789012:user/x is not authorized to perform: bedrock:InvokeModel",
    )
    assert "IAM policy" in sentence


def test_on_demand_throughput_needs_an_inference_profile(server: Any, client: Any) -> None:
    sentence = _fault_sentence(
        server,
        client,
        "ValidationException",
        f"Invocation of model ID {HAIKU_BASE} with on-demand throughput isn't supported. Retry your request with "
        "the ID or ARN of an inference profile that contains this model.",
        HAIKU_BASE,
    )
    assert f"global.{HAIKU_BASE}" in sentence and "inference profile" in sentence


def test_retired_model(server: Any, client: Any) -> None:
    sentence = _fault_sentence(
        server,
        client,
        "ResourceNotFoundException",
        "This model version has reached the end of its life. Please refer to the AWS documentation.",
        LEGACY,
    )
    assert "end of life" in sentence and LEGACY in sentence and "global.anthropic.claude-sonnet-4-6" in sentence


def test_other_errors_are_not_dressed_up(server: Any, client: Any) -> None:
    server.faults.add({"error": "ThrottlingException", "at": "request"})
    with pytest.raises(client.exceptions.ThrottlingException):
        preflight(client, HAIKU)


def test_no_credentials(server: Any, monkeypatch: pytest.MonkeyPatch, tmp_path: Any) -> None:
    for name in (
        "AWS_ACCESS_KEY_ID",
        "AWS_SECRET_ACCESS_KEY",
        "AWS_SESSION_TOKEN",
        "AWS_PROFILE",
        "AWS_BEARER_TOKEN_BEDROCK",
        "AWS_CONTAINER_CREDENTIALS_RELATIVE_URI",
        "AWS_CONTAINER_CREDENTIALS_FULL_URI",
        "AWS_WEB_IDENTITY_TOKEN_FILE",
    ):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", str(tmp_path / "none"))
    monkeypatch.setenv("AWS_CONFIG_FILE", str(tmp_path / "none"))
    monkeypatch.setenv("AWS_EC2_METADATA_DISABLED", "true")  # never look for an instance role over the network
    bare = boto3.Session().client(
        "bedrock-runtime",
        region_name="us-east-1",
        endpoint_url=server.endpoint_url,
        config=Config(retries={"total_max_attempts": 1}),
    )
    with pytest.raises(PreflightError, match="No AWS credentials were found") as info:
        preflight(bare, HAIKU)
    assert "aws configure" in str(info.value)


def test_unreachable_region_endpoint() -> None:
    with socket.socket() as probe:  # a loopback port with nothing listening
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    dead = boto3.client(
        "bedrock-runtime",
        region_name="us-east-1",
        endpoint_url=f"http://127.0.0.1:{port}",
        aws_access_key_id="x",
        aws_secret_access_key="y",
        config=Config(retries={"total_max_attempts": 1}, connect_timeout=2),
    )
    with pytest.raises(PreflightError, match="could not be reached in region us-east-1"):
        preflight(dead, HAIKU)


def test_explain_leaves_unrelated_errors_alone() -> None:
    assert explain(ValueError("x")) is None
    from botocore.exceptions import ClientError

    throttled = ClientError({"Error": {"Code": "ThrottlingException", "Message": "slow"}}, "InvokeModel")
    assert explain(throttled) is None


def test_legacy_ids_are_refused_up_front_on_aws(monkeypatch: pytest.MonkeyPatch) -> None:
    aws = bedrock_runtime("aws", region="us-east-1")
    calls: list[Any] = []
    monkeypatch.setattr(aws, "invoke_model", lambda **kw: calls.append(kw))  # must not be reached
    with pytest.raises(PreflightError, match="end of life"):
        preflight(aws, LEGACY)
    assert calls == []


def test_probe_body_matches_the_model_api() -> None:
    assert "prompt" in json.loads(client_module._probe_body(LEGACY))  # retired, but its API is still known
    assert "messages" in json.loads(client_module._probe_body(HAIKU))


def test_unknown_model_id_sentence_fits_the_id(server: Any, client: Any) -> None:
    invalid = "The provided model identifier is invalid."
    typo = _fault_sentence(server, client, "ValidationException", invalid, HAIKU.replace("haiku", "hiaku"))
    assert f"nearest id Bedrock knows is {HAIKU}" in typo
    # A real model under a profile prefix it does not have: name the profiles it does have.
    wrong_geo = "eu.anthropic.claude-opus-4-1-20250805-v1:0"
    profile = _fault_sentence(server, client, "ValidationException", invalid, wrong_geo)
    assert "us.anthropic.claude-opus-4-1-20250805-v1:0" in profile


def test_body_rules_are_explained_with_their_fix() -> None:
    from botocore.exceptions import ClientError

    both = ClientError(
        {
            "Error": {
                "Code": "ValidationException",
                "Message": "The model returned the following errors: `temperature` and `top_p` cannot both be "
                "specified for this model. Please use only one.",
            }
        },
        "InvokeModel",
    )
    assert "temperature or top_p, not both" in explain(both, model_id=HAIKU)
    body = messages_body("Hi", max_tokens=50, temperature=0.5, top_p=0.9)
    with_body = explain(both, model_id=HAIKU, body=body)
    assert with_body.startswith(f"Bedrock refused the request body for {HAIKU} at temperature") and "top_p" in with_body
    adaptive = ClientError(
        {"Error": {"Code": "ValidationException", "Message": "adaptive thinking is not supported on this model"}},
        "InvokeModel",
    )
    assert '"budget_tokens"' in explain(adaptive, model_id=HAIKU)
