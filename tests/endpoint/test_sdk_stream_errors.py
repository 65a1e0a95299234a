"""How the anthropic SDK's AnthropicBedrock raises a failure inside a stream, for the installed release.

Lesson 7 teaches it per release, and a learner catches exactly these classes:

- an exception frame (``:message-type: exception``): a bare ``ValueError`` before 2.17
  (anthropics/anthropic-sdk-python#1477); from 2.17 the SDK's ``lib/bedrock/_stream_decoder.py`` turns the frame
  into an ``error`` event, raised as ``anthropic.APIStatusError``;
- a connection that drops mid-stream: httpx's own error before 2.17; ``anthropic.APIConnectionError`` from 2.17
  (the SDK's 2.17.0 changelog: a dropped stream is no longer a raw httpx error, and is not re-sent).
"""

from __future__ import annotations

import anthropic
import httpx
import pytest
from anthropic import AnthropicBedrock
from endpoint_support import HAIKU

BEDROCK_VERSION = {"anthropic_version": "bedrock-2023-05-31"}
RELEASE = tuple(int(part) for part in anthropic.__version__.split(".")[:2])
FROM_2_17 = RELEASE >= (2, 17)


@pytest.fixture(scope="module")
def sdk(server) -> AnthropicBedrock:
    # max_retries=0: a failure reaches the test exactly as the SDK raises it.
    return AnthropicBedrock(base_url=server.endpoint_url, aws_access_key="x", aws_secret_key="y",
                            aws_region="us-east-1", max_retries=0)


def _read_stream(sdk: AnthropicBedrock) -> None:
    with sdk.messages.stream(model=HAIKU, max_tokens=200, extra_body=BEDROCK_VERSION,
                             messages=[{"role": "user", "content": "Name three rivers in Portugal"}]) as stream:
        for _event in stream:
            pass


def test_an_exception_frame_raises_the_class_of_this_release(server, sdk) -> None:
    server.faults.add(error="modelStreamErrorException", at="event", after=3)
    with pytest.raises(Exception) as caught:  # noqa: B017 - the exact class is asserted below, per release
        _read_stream(sdk)
    expected = anthropic.APIStatusError if FROM_2_17 else ValueError
    assert type(caught.value) is expected, (
        f"anthropic {anthropic.__version__}: an in-stream exception frame raised {type(caught.value).__name__}, "
        f"lesson 7 says {expected.__name__}"
    )


def test_a_dropped_stream_raises_the_class_of_this_release(server, sdk) -> None:
    server.faults.add(error="drop", at="event", after=3)
    with pytest.raises(Exception) as caught:  # noqa: B017 - the exact class is asserted below, per release
        _read_stream(sdk)
    if FROM_2_17:
        assert type(caught.value) is anthropic.APIConnectionError, type(caught.value)
    else:
        assert isinstance(caught.value, httpx.HTTPError) and not isinstance(caught.value, anthropic.AnthropicError)
