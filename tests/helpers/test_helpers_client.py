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
from helpers.client import backend_name, bedrock_runtime, explain, local_server, preflight
from helpers.errors import PreflightError
from helpers.payloads import messages_body
from helpers.stream import invoke_stream

HAIKU = "anthropic.claude-3-haiku-20240307-v1:0"
LEGACY = "anthropic.claude-v2:1"


def test_backend_name_from_argument_and_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("BEDROCK_BACKEND", raising=False)
    assert backend_name() == "local"
    monkeypatch.setenv("BEDROCK_BACKEND", "AWS")
    assert backend_name() == "aws"
    assert backend_name("local") == "local"
    monkeypatch.setenv("BEDROCK_BACKEND", "cloud")
    with pytest.raises(ValueError, match="BEDROCK_BACKEND"):
        backend_name()


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
    preflight(client, LEGACY)  # the local backend still serves legacy models


def test_model_access_not_granted(server: Any, client: Any) -> None:
    sentence = _fault_sentence(server, client, "AccessDeniedException", None)
    assert "no access" in sentence and "Model access" in sentence and HAIKU in sentence


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
        f"Invocation of model ID {HAIKU} with on-demand throughput isn't supported. Retry your request with "
        "the ID or ARN of an inference profile that contains this model.",
    )
    assert f"us.{HAIKU}" in sentence and "inference profile" in sentence


def test_retired_model(server: Any, client: Any) -> None:
    sentence = _fault_sentence(
        server,
        client,
        "ResourceNotFoundException",
        "This model version has reached the end of its life. Please refer to the AWS documentation.",
        LEGACY,
    )
    assert "legacy model retired" in sentence and LEGACY in sentence


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
    with pytest.raises(PreflightError, match="legacy model retired"):
        preflight(aws, LEGACY)
    assert calls == []


def test_probe_body_matches_the_model_api() -> None:
    assert "prompt" in json.loads(client_module._probe_body(LEGACY))
    assert "messages" in json.loads(client_module._probe_body(HAIKU))


def test_unknown_model_id_sentence_fits_the_id(server: Any, client: Any) -> None:
    base = _fault_sentence(server, client, "ValidationException", "The provided model identifier is invalid.")
    assert "us.<model id>" in base
    profile = _fault_sentence(
        server, client, "ValidationException", "The provided model identifier is invalid.", f"us.{HAIKU}"
    )
    # Already a profile id: telling the learner to add "us." again would be wrong.
    assert "us.<model id>" not in profile and "inference profile exists" in profile
