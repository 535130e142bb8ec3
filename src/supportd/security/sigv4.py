"""Verifying AWS Signature Version 4 on incoming requests, in small named steps.

parse_authorization -> check_scope -> check_host -> check_clock -> check_payload_hash
-> expected_signature (canonical request built from the request as received, over
exactly the headers the client signed; string to sign; key chain) -> signatures_match
(constant time). Each failure raises the error AWS answers with.
"""

from __future__ import annotations

import functools
import hashlib
import hmac
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from urllib.parse import quote

from botocore.utils import normalize_url_path

from supportd import api_errors
from supportd.domain.hosts import parse_host

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
# The header as SDKs write it: one match instead of the general parse below.
_USUAL = re.compile(
    r"AWS4-HMAC-SHA256 Credential=([^/,\s]+)/([^/,\s]+)/([^/,\s]+)/([^/,\s]+)/aws4_request,"
    r" ?SignedHeaders=([a-z0-9\-;_.]+), ?Signature=([0-9a-f]{64})"
)
_AMZ_DATE = re.compile(r"(\d{4})(\d{2})(\d{2})T(\d{2})(\d{2})(\d{2})Z")


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
        raise api_errors.MissingAuthenticationTokenException("Missing Authentication Token")
    if len(values) > 1:
        raise api_errors.IncompleteSignatureException(
            "Request has more than one Authorization header."
        )
    header = values[0].strip()
    usual = _USUAL.fullmatch(header)
    if usual is not None:
        signed = tuple(usual.group(5).split(";"))
        if all(signed) and list(signed) == sorted(signed):
            key_id, date, region, service, _, signature = usual.groups()
            return Authorization(key_id, date, region, service, signed, signature)
    algorithm, _, rest = header.partition(" ")
    if algorithm != ALGORITHM:
        raise api_errors.IncompleteSignatureException(
            f"Unsupported AWS 'algorithm': '{algorithm}'. Use {ALGORITHM}."
        )
    params: dict[str, str] = {}
    for part in rest.split(","):
        match = _PARAM.fullmatch(part)
        if match is None or match.group(1) in params:
            raise api_errors.IncompleteSignatureException(
                f"Authorization header is malformed: '{clip(header)}'."
            )
        params[match.group(1)] = match.group(2)
    missing = [
        name for name in ("Credential", "SignedHeaders", "Signature") if not params.get(name)
    ]
    if missing:
        raise api_errors.IncompleteSignatureException(
            " ".join(f"Authorization header requires '{name}' parameter." for name in missing)
            + f" Authorization={clip(header)}"
        )
    scope = params["Credential"].split("/")
    if len(scope) != 5 or scope[4] != "aws4_request" or not all(scope):
        raise api_errors.IncompleteSignatureException(
            "Credential should be scoped to a valid region, service and date: "
            f"'{clip(params['Credential'])}'."
        )
    signed = tuple(params["SignedHeaders"].split(";"))
    if any(not name or name != name.lower() for name in signed) or list(signed) != sorted(signed):
        raise api_errors.IncompleteSignatureException(
            "SignedHeaders must be lowercase header names, sorted and separated by ';'."
        )
    if not re.fullmatch(r"[0-9a-f]{64}", params["Signature"]):
        raise api_errors.IncompleteSignatureException(
            "Signature must be 64 hexadecimal characters."
        )
    return Authorization(
        access_key_id=scope[0],
        date=scope[1],
        region=scope[2],
        service=scope[3],
        signed_headers=signed,
        signature=params["Signature"],
    )


def clip(text: str) -> str:
    """Client text quoted in a message, cut at 200 characters."""
    return text if len(text) <= 200 else text[:200] + "..."


def check_scope(
    auth: Authorization, amz_date: str, regions: frozenset[str] = frozenset({"us-east-1"})
) -> None:
    """The credential scope names this service, one of the accepted regions and the day
    of X-Amz-Date; the headers that must be signed are."""
    if auth.service != SERVICE:
        raise api_errors.InvalidSignatureException(
            f"Credential should be scoped to correct service: '{SERVICE}'."
        )
    if auth.date != amz_date[:8]:
        raise api_errors.InvalidSignatureException(
            "Date in Credential scope does not match YYYYMMDD from ISO-8601 version of date "
            "from HTTP: " + f"'{clip(auth.date)}' != '{amz_date[:8]}', from '{amz_date}'."
        )
    if auth.region not in regions:
        raise api_errors.InvalidSignatureException(
            f"Credential should be scoped to a valid region, not '{clip(auth.region)}'. "
            f"This endpoint accepts {', '.join(sorted(regions))}."
        )
    for name in REQUIRED_SIGNED:
        if name not in auth.signed_headers:
            raise api_errors.InvalidSignatureException(
                f"'{name}' must be a 'SignedHeader' in the AWS Authorization."
            )


@functools.lru_cache(maxsize=256)
def parse_amz_date(value: str | None) -> datetime:
    """X-Amz-Date as a time (cached: under load many requests carry the same second)."""
    if not value:
        raise api_errors.IncompleteSignatureException(
            "Authorization header requires existence of a 'X-Amz-Date' header."
        )
    match = _AMZ_DATE.fullmatch(value)
    try:
        if match is None:
            raise ValueError(value)
        year, month, day, hour, minute, second = (int(part) for part in match.groups())
        return datetime(year, month, day, hour, minute, second, tzinfo=UTC)
    except ValueError:
        raise api_errors.IncompleteSignatureException(
            "X-Amz-Date must be in the ISO-8601 basic format YYYYMMDD'T'HHMMSS'Z': "
            f"'{clip(value)}'."
        ) from None


def check_clock(signed_at: datetime, now: datetime) -> None:
    if now - MAX_SKEW <= signed_at <= now + MAX_SKEW:
        return
    stamp = signed_at.strftime(AMZ_DATE_FORMAT)
    if signed_at < now - MAX_SKEW:
        raise api_errors.InvalidSignatureException(
            f"Signature expired: {stamp} is now earlier than "
            f"{(now - MAX_SKEW).strftime(AMZ_DATE_FORMAT)} "
            f"({now.strftime(AMZ_DATE_FORMAT)} - 15 min.)"
        )
    if signed_at > now + MAX_SKEW:
        raise api_errors.InvalidSignatureException(
            f"Signature not yet current: {stamp} is still later than "
            f"{(now + MAX_SKEW).strftime(AMZ_DATE_FORMAT)} "
            f"({now.strftime(AMZ_DATE_FORMAT)} + 15 min.)"
        )


def check_payload_hash(declared: str | None, body: bytes) -> None:
    """x-amz-content-sha256, when sent, must be the body's hash (no unsigned payloads)."""
    if declared is None:
        return
    if not hmac.compare_digest(declared.lower(), hashlib.sha256(body).hexdigest()):
        raise api_errors.InvalidSignatureException(
            "The provided 'x-amz-content-sha256' header does not match what was computed."
        )


def check_host(values: Sequence[str]) -> None:
    """Exactly one Host header, well-formed (domain.hosts): the value is signed, and a
    malformed one is refused as a bad signature before anything reads it."""
    if len(values) != 1:
        raise api_errors.InvalidSignatureException("The request must have exactly one Host header.")
    if parse_host(values[0]) is None:
        raise api_errors.InvalidSignatureException(
            f"The Host header is not a valid host name: '{clip(values[0])}'."
        )


def canonical_query(query: str) -> str:
    """The query string's parameters sorted, as sent (already URI-encoded by the client,
    which is how SDKs sign them: botocore's canonical query string of a URL)."""
    if not query:
        return ""
    pairs = [part.partition("=") for part in query.split("&")]
    return "&".join(f"{name}={value}" for name, _, value in sorted(pairs))


@functools.lru_cache(maxsize=64)
def canonical_path(raw_path: str) -> str:
    """The path as the client sent it, dot segments removed, encoded once more (SigV4's
    rule for every service but S3, as botocore applies it)."""
    return quote(normalize_url_path(raw_path) or "/", safe="/~")


def _trimmed(value: str) -> str:
    return " ".join(value.split())


def canonical_request(
    method: str,
    raw_path: str,
    query: str,
    signed: Mapping[str, Sequence[str]],
    payload_hash: str,
) -> str:
    """SigV4's canonical request, from the parts of the request as received (the ASGI
    scope): method, raw path, raw query string, and the signed headers by lower-case
    name, each with all its values in order. No URL is built from them, so no header
    value can move text into the path or the query."""
    names = sorted(signed)
    headers = "".join(
        f"{name}:{','.join(_trimmed(value) for value in signed[name])}\n" for name in names
    )
    return "\n".join(
        [
            method.upper(),
            canonical_path(raw_path),
            canonical_query(query),
            headers,
            ";".join(names),
            payload_hash,
        ]
    )


def string_to_sign(auth: Authorization, amz_date: str, canonical: str) -> str:
    scope = f"{auth.date}/{auth.region}/{auth.service}/aws4_request"
    digest = hashlib.sha256(canonical.encode("utf-8")).hexdigest()
    return f"{ALGORITHM}\n{amz_date}\n{scope}\n{digest}"


_signing_keys: dict[tuple[str, str, str], bytes] = {}
MAX_SIGNING_KEYS = 10_000


def signing_key(secret_key: str, date: str, region: str) -> bytes:
    """kSigning = HMAC chain over date, region, service and "aws4_request"."""
    cache_key = (secret_key, date, region)
    key = _signing_keys.get(cache_key)
    if key is None:
        key = ("AWS4" + secret_key).encode()
        for part in (date, region, SERVICE, "aws4_request"):
            key = hmac.new(key, part.encode(), hashlib.sha256).digest()
        if len(_signing_keys) >= MAX_SIGNING_KEYS:
            _signing_keys.clear()
        _signing_keys[cache_key] = key
    return key


def expected_signature(
    auth: Authorization,
    secret_key: str,
    method: str,
    path: str,
    query: str,
    headers: Mapping[str, Sequence[str]],
    body: bytes,
    amz_date: str,
) -> str:
    """The signature the client should have sent, over exactly the headers the client
    signed. `path` and `query`: the raw path and query string as received; `headers`:
    every header of the request by lower-case name, with all its values in the order
    received."""
    signed: dict[str, Sequence[str]] = {}
    absent = []
    for name in auth.signed_headers:
        values = headers.get(name)
        if values:
            signed[name] = values
        else:
            absent.append(name)
    if absent:
        raise api_errors.InvalidSignatureException(
            f"Signed header(s) not present in the request: {', '.join(sorted(absent))}."
        )
    canonical = canonical_request(method, path, query, signed, hashlib.sha256(body).hexdigest())
    key = signing_key(secret_key, auth.date, auth.region)
    text = string_to_sign(auth, amz_date, canonical).encode("utf-8")
    # hmac.new, not the one-shot hmac.digest: that one releases the GIL, and under
    # load the SQLite writer thread takes it for a while every time.
    return hmac.new(key, text, hashlib.sha256).hexdigest()


def signatures_match(expected: str, given: str) -> bool:
    return hmac.compare_digest(expected.encode(), given.encode())
