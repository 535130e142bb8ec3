"""A small SigV4 signer written from the AWS specification ("Create a signed AWS API
request", Signature Version 4), independent of botocore, and a raw HTTP sender that puts
exactly the given headers on the wire (duplicates included).

The failure table builds its requests with it: it signs any set of headers, at any
time, for any region or service, and its output can be mutated after signing.
"""

from __future__ import annotations

import hashlib
import hmac
import http.client
import json
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any
from urllib.parse import quote

TARGET_PREFIX = "AWSSupport_20130415"
JSON_11 = "application/x-amz-json-1.1"

Headers = list[tuple[str, str]]


def _hmac(key: bytes, text: str) -> bytes:
    return hmac.new(key, text.encode("utf-8"), hashlib.sha256).digest()


def _trimall(value: str) -> str:
    return " ".join(value.strip().split())


def canonical_query(query: str) -> str:
    pairs = []
    for part in query.split("&") if query else []:
        name, _, value = part.partition("=")
        pairs.append((quote(name, safe="-_.~"), quote(value, safe="-_.~")))
    return "&".join(f"{n}={v}" for n, v in sorted(pairs))


def canonical_request(
    method: str, path: str, query: str, headers: Headers, signed: list[str], payload_hash: str
) -> str:
    values: dict[str, list[str]] = {}
    for name, value in headers:
        if name.lower() in signed:
            values.setdefault(name.lower(), []).append(_trimall(value))
    lines = "".join(f"{name}:{','.join(values[name])}\n" for name in sorted(values))
    parts = [method, quote(path, safe="/-_.~"), canonical_query(query), lines]
    return "\n".join([*parts, ";".join(signed), payload_hash])


@dataclass(frozen=True)
class Key:
    access_key_id: str
    secret: str
    session_token: str | None = None


def sign(
    key: Key,
    headers: Headers,
    body: bytes,
    *,
    region: str = "us-east-1",
    service: str = "support",
    when: datetime | None = None,
    signed: list[str] | None = None,
    method: str = "POST",
    path: str = "/",
    query: str = "",
    algorithm: str = "AWS4-HMAC-SHA256",
    scope_date: str | None = None,
) -> Headers:
    """The headers plus X-Amz-Date, the session token (if any) and Authorization.
    `signed`: the header names to sign (default: every header given, and the date);
    `scope_date`: the credential scope's date (default: X-Amz-Date's day)."""
    when = when or datetime.now(UTC)
    amz_date = when.strftime("%Y%m%dT%H%M%SZ")
    headers = [*headers, ("X-Amz-Date", amz_date)]
    if key.session_token is not None:
        headers.append(("X-Amz-Security-Token", key.session_token))
    names = sorted({n.lower() for n, _ in headers} if signed is None else set(signed))
    payload_hash = hashlib.sha256(body).hexdigest()
    request = canonical_request(method, path, query, headers, names, payload_hash)
    day = amz_date[:8] if scope_date is None else scope_date
    scope = f"{day}/{region}/{service}/aws4_request"
    string_to_sign = "\n".join(
        ["AWS4-HMAC-SHA256", amz_date, scope, hashlib.sha256(request.encode()).hexdigest()]
    )
    k = _hmac(("AWS4" + key.secret).encode(), day)
    for part in (region, service, "aws4_request"):
        k = _hmac(k, part)
    signature = hmac.new(k, string_to_sign.encode(), hashlib.sha256).hexdigest()
    authorization = (
        f"{algorithm} Credential={key.access_key_id}/{scope}, "
        f"SignedHeaders={';'.join(names)}, Signature={signature}"
    )
    return [*headers, ("Authorization", authorization)]


def base_headers(port: int, operation: str, content_type: str = JSON_11) -> Headers:
    return [
        ("Host", f"127.0.0.1:{port}"),
        ("Content-Type", content_type),
        ("X-Amz-Target", f"{TARGET_PREFIX}.{operation}"),
    ]


@dataclass
class Answer:
    status: int
    headers: dict[str, str]
    body: dict[str, Any]

    @property
    def code(self) -> str | None:
        return self.headers.get("x-amzn-errortype")

    @property
    def request_id(self) -> str:
        return self.headers["x-amzn-requestid"]


def send(port: int, headers: Headers, body: bytes, path: str = "/") -> Answer:
    """POST exactly these headers (plus Content-Length) and this body."""
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
    try:
        conn.putrequest("POST", path, skip_host=True, skip_accept_encoding=True)
        for name, value in headers:
            conn.putheader(name, value)
        if not any(n.lower() == "content-length" for n, _ in headers):
            conn.putheader("Content-Length", str(len(body)))
        conn.endheaders(body)
        response = conn.getresponse()
        raw = response.read()
        return Answer(
            response.status,
            {k.lower(): v for k, v in response.getheaders()},
            json.loads(raw) if raw else {},
        )
    finally:
        conn.close()


def call(
    port: int, key: Key, operation: str, params: dict[str, Any] | None = None, **kw: Any
) -> Answer:
    body = json.dumps(params or {}).encode()
    return send(port, sign(key, base_headers(port, operation), body, **kw), body)
