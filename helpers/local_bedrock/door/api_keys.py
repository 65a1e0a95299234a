"""Bedrock's short-term API keys, as ``aws-bedrock-token-generator`` makes them, checked against a room's keys.

A short-term key is ``bedrock-api-key-`` + base64 of a SigV4 *query-presigned* URL (aws-bedrock-token-generator
1.1.0, ``token_generator.py``): ``bedrock.amazonaws.com/?Action=CallWithBearerToken&X-Amz-Algorithm=...
&X-Amz-Credential=KEY/yyyymmdd/region/bedrock/aws4_request&X-Amz-Date=...&X-Amz-Expires=N&X-Amz-SignedHeaders=host
&X-Amz-Signature=...&Version=1``, signed with botocore's ``SigV4QueryAuth`` for service ``bedrock``, valid at
most 12 hours (``TOKEN_DURATION = 43200``). AWS's user guide ("Generate Amazon Bedrock API keys", short-term
keys) says the key carries the permissions of the identity that made it and lasts until the session or the
chosen expiry ends, whichever comes first.

A locked room holds the secret of each key pair it was given, so it can do what AWS does with such a key: sign
the same URL again with botocore's own signer, with the date and expiry the key claims, and compare. Nothing
of a key is ever put in an error message, the call log or a cassette.
"""

from __future__ import annotations

import base64
import binascii
import datetime
import hmac
from collections.abc import Mapping
from urllib.parse import parse_qsl

from botocore.auth import SigV4QueryAuth
from botocore.awsrequest import AWSRequest
from botocore.credentials import Credentials

from .sigv4 import MAX_SKEW

PREFIX = "bedrock-api-key-"  # token_generator.AUTH_PREFIX
HOST = "bedrock.amazonaws.com"  # token_generator.DEFAULT_HOST
SERVICE = "bedrock"  # token_generator.SERVICE_NAME
ACTION = "CallWithBearerToken"
VERSION_SUFFIX = "&Version=1"  # token_generator.TOKEN_VERSION, appended after the signature
MAX_SECONDS = 43200  # token_generator.TOKEN_DURATION: "at most 12 hours"
_SIGNATURE = "&X-Amz-Signature="
_TIMESTAMP = "%Y%m%dT%H%M%SZ"


class TokenProblem(Exception):
    """Why a short-term key was refused, in words that repeat nothing of the key."""


def is_short_term_key(token: str) -> bool:
    return token.startswith(PREFIX)


def _decode(token: str) -> str:
    try:
        url = base64.b64decode(token[len(PREFIX):].encode("ascii"), validate=True).decode("ascii")
    except (UnicodeError, binascii.Error, ValueError):
        raise TokenProblem("it is not base64 of a presigned URL; make it again with provide_token()") from None
    if not url.startswith(f"{HOST}/?") or not url.endswith(VERSION_SUFFIX) or url.count(_SIGNATURE) != 1:
        raise TokenProblem("it is not a presigned CallWithBearerToken URL; make it again with provide_token()")
    return url


def _fields(url: str) -> dict[str, str]:
    query = url[len(HOST) + 2:-len(VERSION_SUFFIX)]
    try:
        pairs = parse_qsl(query, keep_blank_values=True, strict_parsing=True)
    except ValueError:
        raise TokenProblem("its query string is malformed; make it again with provide_token()") from None
    fields = dict(pairs)
    if len(fields) != len(pairs):
        raise TokenProblem("it repeats a query parameter; make it again with provide_token()")
    return fields


def verify_token(token: str, keys: Mapping[str, str], now: datetime.datetime | None = None) -> None:
    """Raise :class:`TokenProblem` unless ``token`` was presigned, unexpired, with one of ``keys`` (key -> secret)."""
    url = _decode(token)
    fields = _fields(url)
    scope = fields.get("X-Amz-Credential", "").split("/")
    if (fields.get("Action") != ACTION or fields.get("X-Amz-Algorithm") != "AWS4-HMAC-SHA256"
            or len(scope) != 5 or scope[3] != SERVICE or scope[4] != "aws4_request"):
        raise TokenProblem("it is not a Bedrock short-term key (Action, algorithm or service differ)")
    access_key, day, region = scope[0], scope[1], scope[2]
    secret = keys.get(access_key)
    if secret is None:
        raise TokenProblem("it was made with an access key this endpoint was not given with --verify-sigv4; "
                           "make it with the room's key pair")
    timestamp, expires_text = fields.get("X-Amz-Date", ""), fields.get("X-Amz-Expires", "")
    try:
        signed_at = datetime.datetime.strptime(timestamp, _TIMESTAMP).replace(tzinfo=datetime.UTC)
        expires = int(expires_text)
    except ValueError:
        raise TokenProblem("its X-Amz-Date or X-Amz-Expires is malformed") from None
    if timestamp[:8] != day or not 0 < expires <= MAX_SECONDS or expires_text != str(expires):
        raise TokenProblem(f"its date or lifetime is out of range (a key lives 1 to {MAX_SECONDS} seconds)")
    now = now or datetime.datetime.now(datetime.UTC)
    # The clock rule of a signed header (sigv4.MAX_SKEW): a key dated more than 15 minutes ahead of the
    # server's clock is refused; one past its X-Amz-Date + X-Amz-Expires is expired.
    if signed_at - now > MAX_SKEW:
        raise TokenProblem("it is dated more than 15 minutes ahead of the server's clock; check this computer's "
                           "clock")
    if now >= signed_at + datetime.timedelta(seconds=expires):
        raise TokenProblem("it has expired; make a new one with provide_token()")
    expected = _presign(Credentials(access_key, secret, fields.get("X-Amz-Security-Token")), region, expires,
                        timestamp)
    # The whole URL is compared, so a changed, added or dropped parameter fails as a changed signature does.
    if not hmac.compare_digest(expected.encode(), url.encode()):
        raise TokenProblem("its signature does not match the room's key pair (a changed or forged key, or one "
                           "signed with another secret)")


def _presign(credentials: Credentials, region: str, expires: int, timestamp: str) -> str:
    """The URL aws-bedrock-token-generator presigns, made again by botocore's signer at ``timestamp``.

    ``SigV4QueryAuth.add_auth`` reads the clock; its steps are run here with the key's own date instead.
    """
    request = AWSRequest(method="POST", url=f"https://{HOST}/", headers={"host": HOST},
                         params={"Action": ACTION})
    signer = SigV4QueryAuth(credentials, SERVICE, region, expires=expires)
    request.context["timestamp"] = timestamp
    signer._modify_request_before_signing(request)
    signature = signer.signature(signer.string_to_sign(request, signer.canonical_request(request)), request)
    signer._inject_signature_to_request(request, signature)
    return request.url.replace("https://", "") + VERSION_SUFFIX
