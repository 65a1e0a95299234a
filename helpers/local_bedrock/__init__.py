"""A local Amazon Bedrock Runtime endpoint: real HTTP, genuine event-stream frames, paced like the service.

    from helpers.local_bedrock import LocalBedrock
    with LocalBedrock(seed=0, time_scale=1.0) as server:
        client = server.client()   # a real boto3 bedrock-runtime client

Or from a shell: ``python -m helpers.local_bedrock``. This package is a server: it imports nothing from the
client side of ``helpers``.
"""

from .model.pacing import LatencyModel
from .server import LocalBedrock

__all__ = ["LocalBedrock", "LatencyModel"]
