"""Check an incoming SigV4 signature by signing the same request again with botocore's own signer.

The request is rebuilt as an ``AWSRequest`` from what arrived on the wire: the method, the path exactly
as sent (still percent-encoded; botocore's signer encodes it once more, which is the double encoding
Bedrock Runtime expects), the query, only the headers the client listed in ``SignedHeaders``, and the
body. Signing that with the claimed date, region and the secret we know must give the same signature.

Over HTTP/2 a client may sign the ``:authority`` pseudo-header instead of ``host``: the AWS SDK for
JavaScript v3 does (its host-header middleware, @aws-sdk/core 3.981, replaces ``host`` by ``:authority``
on an h2 handler, and @smithy/signature-v4 5.7 signs every header it finds, giving
``SignedHeaders=:authority;...``). hypercorn hands the ``:authority`` value to the application as ``host``,
so it is signed again here under the name the client used.
"""

from __future__ import annotations

import datetime
import hmac
import re
from dataclasses import dataclass
from hashlib import sha256
from typing import Any

from botocore.auth import SigV4Auth
from botocore.awsrequest import AWSRequest
from botocore.credentials import Credentials

SERVICE = "bedrock"  # Bedrock Runtime's signing name (not "bedrock-runtime")
MAX_SKEW = datetime.timedelta(minutes=15)  # AWS refuses signatures dated further from its clock

_FIELD = re.compile(r"(\w+)=([^,\s]*)")
AUTHORITY = ":authority"  # HTTP/2's host header (RFC 9113 8.3.1); its value arrives as ``host``


class SignatureProblem(Exception):
    """Why a signature was refused; ``error_type`` is the name AWS answers with."""

    def __init__(self, error_type: str, message: str) -> None:
        super().__init__(message)
        self.error_type = error_type
        self.message = message


@dataclass(frozen=True)
class ParsedAuthorization:
    access_key: str
    date: str
    region: str
    service: str
    signed_headers: list[str]
    signature: str


def parse_authorization(value: str) -> ParsedAuthorization:
    """Split ``AWS4-HMAC-SHA256 Credential=..., SignedHeaders=..., Signature=...`` into its parts."""
    scheme, _, rest = value.strip().partition(" ")
    if scheme != "AWS4-HMAC-SHA256":
        raise SignatureProblem("IncompleteSignatureException",
                               f"Unsupported Authorization scheme {scheme!r}: sign requests with SigV4 "
                               "(AWS4-HMAC-SHA256), as boto3 does.")
    fields = dict(_FIELD.findall(rest))
    missing = [k for k in ("Credential", "SignedHeaders", "Signature") if not fields.get(k)]
    if missing:
        raise SignatureProblem("IncompleteSignatureException",
                               f"Authorization header requires {', '.join(missing)}: it must carry "
                               "Credential=..., SignedHeaders=... and Signature=....")
    scope = fields["Credential"].split("/")
    if len(scope) != 5 or scope[4] != "aws4_request":
        raise SignatureProblem("IncompleteSignatureException",
                               "Credential must be KEY/yyyymmdd/region/service/aws4_request, "
                               f"got {fields['Credential']!r}.")
    return ParsedAuthorization(
        access_key=scope[0], date=scope[1], region=scope[2], service=scope[3],
        signed_headers=fields["SignedHeaders"].lower().split(";"), signature=fields["Signature"],
    )


def check_envelope(parsed: ParsedAuthorization, headers: dict[str, str],
                   now: datetime.datetime | None = None, services: tuple[str, ...] = (SERVICE,),
                   *, http2: bool = False) -> None:
    """Every check that needs no body: service, date, clock skew, signed headers.

    Run before a byte of the body is read, so a request that can never pass costs the server nothing.
    ``services``: the signing names the route accepts (the Messages API route also takes ``bedrock-mantle``).
    ``http2``: the request came over HTTP/2, where a signed ``:authority`` stands for ``host``.
    """
    if parsed.service not in services:
        raise SignatureProblem("InvalidSignatureException",
                               f"Credential should be scoped to correct service: '{services[0]}'. "
                               f"The request was signed for {parsed.service!r}.")
    timestamp = headers.get("x-amz-date", "")
    try:
        signed_at = datetime.datetime.strptime(timestamp, "%Y%m%dT%H%M%SZ").replace(tzinfo=datetime.UTC)
    except ValueError:
        raise SignatureProblem("IncompleteSignatureException",
                               "The request must carry an X-Amz-Date header (yyyymmddThhmmssZ) that is "
                               "signed; boto3 adds it for you.") from None
    if timestamp[:8] != parsed.date:
        raise SignatureProblem("InvalidSignatureException",
                               f"Date in Credential scope does not match YYYYMMDD from X-Amz-Date: "
                               f"{parsed.date} vs {timestamp[:8]}.")
    now = now or datetime.datetime.now(datetime.UTC)
    if abs(now - signed_at) > MAX_SKEW:
        raise SignatureProblem("InvalidSignatureException",
                               f"Signature expired: {timestamp} is more than 15 minutes from the server's "
                               f"time {now:%Y%m%dT%H%M%SZ}. Check this computer's clock.")
    unsigned = [h for h in ("host", "x-amz-date") if h not in parsed.signed_headers]
    if http2 and AUTHORITY in parsed.signed_headers:
        unsigned = [h for h in unsigned if h != "host"]
    elif AUTHORITY in parsed.signed_headers:
        raise SignatureProblem("InvalidSignatureException",
                               f"SignedHeaders names {AUTHORITY}, an HTTP/2 pseudo-header, on an HTTP/1.1 "
                               "request: sign host instead.")
    if unsigned:
        named = ["host (or :authority over HTTP/2)" if h == "host" and http2 else h for h in unsigned]
        raise SignatureProblem("InvalidSignatureException", f"SignedHeaders must include {' and '.join(named)}.")


class _KnownPayloadSigner(SigV4Auth):
    """botocore's signer, told the body's SHA-256 instead of holding the body.

    The server hashes the body while reading it, so the signature can be checked without keeping (or
    re-reading) the bytes; everything else in the canonical request is botocore's own code.
    """

    def __init__(self, credentials: Credentials, service: str, region: str, payload_sha256: str) -> None:
        super().__init__(credentials, service, region)
        self._payload_sha256 = payload_sha256

    def payload(self, request: AWSRequest) -> str:
        return self._payload_sha256

    def headers_to_sign(self, request: AWSRequest) -> Any:
        # botocore adds a host header when the request has none; a client that signed :authority has none.
        headers = super().headers_to_sign(request)
        if AUTHORITY in headers and "host" not in request.headers:
            del headers["host"]
        return headers


def verify(
    parsed: ParsedAuthorization, secret_key: str, method: str, raw_path: bytes, query: bytes,
    headers: dict[str, str], body: bytes | None = None, now: datetime.datetime | None = None,
    *, body_sha256: str | None = None, services: tuple[str, ...] = (SERVICE,), http2: bool = False,
) -> None:
    """Raise ``SignatureProblem`` unless the signature matches; ``headers`` are lower-cased names.

    Give the body, or only its SHA-256 hex digest (``body_sha256``) when the body was hashed as it arrived.
    ``http2``: the request came over HTTP/2 (a signed ``:authority`` is then the ``host`` header's value).
    """
    check_envelope(parsed, headers, now, services, http2=http2)
    if body_sha256 is None:
        body_sha256 = sha256(body or b"").hexdigest()
    timestamp = headers["x-amz-date"]
    claimed_hash = headers.get("x-amz-content-sha256")
    if claimed_hash is not None and claimed_hash != body_sha256:
        raise SignatureProblem("InvalidSignatureException",
                               "The X-Amz-Content-SHA256 header does not match the body that arrived.")

    path = raw_path.decode("latin-1")
    url = f"http://{headers.get('host', 'localhost')}{path}"
    if query:
        url += "?" + query.decode("latin-1")
    request = AWSRequest(method=method, url=url)
    for name in parsed.signed_headers:
        if name in headers:
            request.headers[name] = headers[name]
        elif name == AUTHORITY and "host" in headers:
            request.headers[name] = headers["host"]
    request.context["timestamp"] = timestamp
    signer = _KnownPayloadSigner(Credentials(parsed.access_key, secret_key), parsed.service, parsed.region,
                                 body_sha256)
    canonical = signer.canonical_request(request)
    expected = signer.signature(signer.string_to_sign(request, canonical), request)
    # Compared as bytes: hmac refuses str holding anything but ASCII, and a header may hold any byte.
    if not hmac.compare_digest(expected.encode(), parsed.signature.encode("utf-8", "surrogatepass")):
        raise SignatureProblem("InvalidSignatureException",
                               "The request signature we calculated does not match the signature you "
                               "provided. Check your AWS Secret Access Key and signing method. Consult "
                               "the service documentation for details.")
