"""Verifying AWS Signature Version 4 on incoming requests, in small named steps.

parse_authorization -> check_scope -> check_clock -> check_payload_hash ->
expected_signature (canonical request, string to sign, key chain: botocore's own
signer, restricted to exactly the headers the client signed) -> signatures_match
(constant time). Each failure raises the error AWS answers with.
"""

from __future__ import annotations

import hashlib
import hmac
import re
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from botocore.auth import SigV4Auth
from botocore.awsrequest import AWSRequest
from botocore.compat import HTTPHeaders
from botocore.credentials import Credentials

from supportd import errors

ALGORITHM = "AWS4-HMAC-SHA256"
SERVICE = "support"
MAX_SKEW = timedelta(minutes=15)
AMZ_DATE_FORMAT = "%Y%m%dT%H%M%SZ"
SIGNATURE_MISMATCH = (
    "The request signature we calculated does not match the signature you provided. "
    "Check your AWS Secret Access Key and signing method. "
    "Consult the service documentation for details."
)
# Headers a signature must cover: without them a signed request could be replayed
# against another host, at another time, or as another operation.
REQUIRED_SIGNED = ("host", "x-amz-date", "x-amz-target")

_PARAM = re.compile(r"\s*([A-Za-z]+)\s*=\s*([^,\s]*)\s*")


@dataclass(frozen=True, slots=True)
class Authorization:
    access_key_id: str
    date: str
    region: str
    service: str
    signed_headers: tuple[str, ...]
    signature: str


def parse_authorization(values: list[str]) -> Authorization:
    """The Authorization header's parts; IncompleteSignature if anything is missing."""
    if not values:
        raise errors.MissingAuthenticationTokenException("Missing Authentication Token")
    if len(values) > 1:
        raise errors.IncompleteSignatureException("Request has more than one Authorization header.")
    header = values[0].strip()
    algorithm, _, rest = header.partition(" ")
    if algorithm != ALGORITHM:
        raise errors.IncompleteSignatureException(
            f"Unsupported AWS 'algorithm': '{algorithm}'. Use {ALGORITHM}."
        )
    params: dict[str, str] = {}
    for part in rest.split(","):
        match = _PARAM.fullmatch(part)
        if match is None or match.group(1) in params:
            raise errors.IncompleteSignatureException(
                f"Authorization header is malformed: '{_clip(header)}'."
            )
        params[match.group(1)] = match.group(2)
    missing = [
        name for name in ("Credential", "SignedHeaders", "Signature") if not params.get(name)
    ]
    if missing:
        raise errors.IncompleteSignatureException(
            " ".join(f"Authorization header requires '{name}' parameter." for name in missing)
            + f" Authorization={_clip(header)}"
        )
    scope = params["Credential"].split("/")
    if len(scope) != 5 or scope[4] != "aws4_request" or not all(scope):
        raise errors.IncompleteSignatureException(
            "Credential should be scoped to a valid region, service and date: "
            f"'{_clip(params['Credential'])}'."
        )
    signed = tuple(params["SignedHeaders"].split(";"))
    if any(not name or name != name.lower() for name in signed) or list(signed) != sorted(signed):
        raise errors.IncompleteSignatureException(
            "SignedHeaders must be lowercase header names, sorted and separated by ';'."
        )
    if not re.fullmatch(r"[0-9a-f]{64}", params["Signature"]):
        raise errors.IncompleteSignatureException("Signature must be 64 hexadecimal characters.")
    return Authorization(
        access_key_id=scope[0],
        date=scope[1],
        region=scope[2],
        service=scope[3],
        signed_headers=signed,
        signature=params["Signature"],
    )


def _clip(text: str) -> str:
    return text if len(text) <= 200 else text[:200] + "..."


def check_scope(auth: Authorization, amz_date: str) -> None:
    if auth.service != SERVICE:
        raise errors.InvalidSignatureException(
            f"Credential should be scoped to correct service: '{SERVICE}'."
        )
    if not amz_date.startswith(auth.date):
        raise errors.InvalidSignatureException(
            "Date in Credential scope does not match YYYYMMDD from ISO-8601 version of date "
            "from HTTP: " + f"'{auth.date}' != '{amz_date[:8]}', from '{amz_date}'."
        )
    for name in REQUIRED_SIGNED:
        if name not in auth.signed_headers:
            raise errors.InvalidSignatureException(
                f"'{name}' must be a 'SignedHeader' in the AWS Authorization."
            )


def parse_amz_date(value: str | None) -> datetime:
    if not value:
        raise errors.IncompleteSignatureException(
            "Authorization header requires existence of a 'X-Amz-Date' header."
        )
    try:
        return datetime.strptime(value, AMZ_DATE_FORMAT).replace(tzinfo=UTC)
    except ValueError:
        raise errors.IncompleteSignatureException(
            "X-Amz-Date must be in the ISO-8601 basic format YYYYMMDD'T'HHMMSS'Z': "
            f"'{_clip(value)}'."
        ) from None


def check_clock(signed_at: datetime, now: datetime) -> None:
    stamp = signed_at.strftime(AMZ_DATE_FORMAT)
    if signed_at < now - MAX_SKEW:
        raise errors.InvalidSignatureException(
            f"Signature expired: {stamp} is now earlier than "
            f"{(now - MAX_SKEW).strftime(AMZ_DATE_FORMAT)} "
            f"({now.strftime(AMZ_DATE_FORMAT)} - 15 min.)"
        )
    if signed_at > now + MAX_SKEW:
        raise errors.InvalidSignatureException(
            f"Signature not yet current: {stamp} is still later than "
            f"{(now + MAX_SKEW).strftime(AMZ_DATE_FORMAT)} "
            f"({now.strftime(AMZ_DATE_FORMAT)} + 15 min.)"
        )


def check_payload_hash(declared: str | None, body: bytes) -> None:
    """x-amz-content-sha256, when sent, must be the body's hash (no unsigned payloads)."""
    if declared is None:
        return
    if not hmac.compare_digest(declared.lower(), hashlib.sha256(body).hexdigest()):
        raise errors.InvalidSignatureException(
            "The provided 'x-amz-content-sha256' header does not match what was computed."
        )


class _ExactHeadersSigner(SigV4Auth):  # type: ignore[misc]
    """botocore's signer, told to canonicalise exactly the headers the client signed
    (its own choice of headers leaves out some, e.g. user-agent, that clients may sign)."""

    def __init__(self, credentials: Credentials, region: str, signed: HTTPHeaders) -> None:
        super().__init__(credentials, SERVICE, region)
        self._signed = signed

    def headers_to_sign(self, request: AWSRequest) -> HTTPHeaders:
        return self._signed


def expected_signature(
    auth: Authorization,
    secret_key: str,
    method: str,
    path: str,
    query: str,
    headers: Iterable[tuple[str, str]],
    body: bytes,
    amz_date: str,
) -> str:
    """The signature the client should have sent, computed by botocore's SigV4 signer."""
    wanted = set(auth.signed_headers)
    signed = HTTPHeaders()
    for name, value in headers:
        if name.lower() in wanted:
            signed[name.lower()] = value
    absent = wanted.difference(signed.keys())
    if absent:
        raise errors.InvalidSignatureException(
            f"Signed header(s) not present in the request: {', '.join(sorted(absent))}."
        )
    url = "http://" + (signed.get("host") or "localhost") + path + (f"?{query}" if query else "")
    request = AWSRequest(method=method, url=url, data=body)
    request.context["timestamp"] = amz_date
    # Keep botocore's payload hashing on the real body even if the client sent the header.
    request.headers = HTTPHeaders()
    signer = _ExactHeadersSigner(Credentials(auth.access_key_id, secret_key), auth.region, signed)
    canonical = signer.canonical_request(request)
    string_to_sign = signer.string_to_sign(request, canonical)
    signature: str = signer.signature(string_to_sign, request)
    return signature


def signatures_match(expected: str, given: str) -> bool:
    return hmac.compare_digest(expected.encode(), given.encode())
