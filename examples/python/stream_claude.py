"""AWS's InvokeModelWithResponseStream example for Python (boto3), brought up to date.

A Messages body for a current Claude model called through an inference profile, the text deltas printed
as they arrive. The endpoint is boto3's own choice: AWS, or ``AWS_ENDPOINT_URL_BEDROCK_RUNTIME`` when it is
set, so the same script runs against the course's local endpoint and against Bedrock unchanged.

    python stream_claude.py [PROMPT [MODEL_ID]]
"""

from __future__ import annotations

import json
import os
import sys
from typing import Any

import boto3
from botocore.exceptions import ClientError

# A current model through a global cross-region inference profile: newer Claude models are served through
# inference profiles only (AWS's published example still names Claude 3 Haiku, retired on Bedrock).
DEFAULT_MODEL_ID = "global.anthropic.claude-haiku-4-5-20251001-v1:0"
DEFAULT_PROMPT = "Describe the purpose of a 'hello world' program in one line."


def stream_claude(client: Any, model_id: str, prompt: str) -> str:
    """Send the prompt to the model, print each text delta as it arrives and return the whole text."""
    # The Messages request body (Anthropic's format on Bedrock).
    body = {
        "anthropic_version": "bedrock-2023-05-31",
        "max_tokens": 512,
        "messages": [{"role": "user", "content": [{"type": "text", "text": prompt}]}],
    }
    response = client.invoke_model_with_response_stream(
        modelId=model_id, contentType="application/json", body=json.dumps(body)
    )
    text = []
    # An exception frame in the middle of the stream is raised here, as botocore's EventStreamError.
    for event in response["body"]:
        chunk = json.loads(event["chunk"]["bytes"])
        if chunk["type"] == "content_block_delta" and chunk["delta"]["type"] == "text_delta":
            print(chunk["delta"]["text"], end="", flush=True)
            text.append(chunk["delta"]["text"])
    return "".join(text)


def main(argv: list[str]) -> int:
    prompt = argv[0] if argv else DEFAULT_PROMPT
    model_id = argv[1] if len(argv) > 1 else DEFAULT_MODEL_ID
    client = boto3.client("bedrock-runtime", region_name=os.environ.get("AWS_REGION", "us-east-1"))
    try:
        stream_claude(client, model_id, prompt)
    except ClientError as error:
        print()
        # boto3's typed exception class, e.g. ResourceNotFoundException, with Bedrock's own message.
        message = error.response.get("Error", {}).get("Message", "")
        print(f"ERROR: Can't invoke '{model_id}'. Reason: {type(error).__name__}: {message}", file=sys.stderr)
        return 1
    print()
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
