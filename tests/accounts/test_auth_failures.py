"""Every way a request can fail SigV4 authentication: one row each, with the AWS error
code and HTTP status it must get, and the audit row it must leave. Never a 5xx, never a
pass.

Requests are signed by tests/accounts/signer.py (written from the AWS specification)
and mutated after signing, then sent byte for byte.
"""

from __future__ import annotations

import hashlib
import json
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from supportd.domain.hosts import parse_host
from tests.accounts.conftest import SigV4Server
from tests.accounts.signer import Headers, Key, base_headers, send, sign

BODY = json.dumps({"language": "en"}).encode()
OPERATION = "DescribeSeverityLevels"


@dataclass(frozen=True)
class Keys:
    account_id: str
    active: Key
    revoked: Key
    temporary: Key
    expired: Key


@pytest.fixture(scope="module")
def keys(sigv4_server: SigV4Server) -> Keys:
    admin = sigv4_server.admin
    account_id = admin.account("enterprise")
    active = admin.key(account_id, "--user", "jane")
    revoked = admin.key(account_id)
    admin.run("keys", "revoke", revoked.access_key_id)
    temporary = admin.key(account_id, "--temporary", "--expires-in", "3600")
    expired = admin.key(account_id, "--temporary", "--expires-in", "1")
    made = time.monotonic()
    # Outlive the one-second key (the outcome below does not depend on timing).
    time.sleep(max(0.0, 1.2 - (time.monotonic() - made)))
    return Keys(account_id, active, revoked, temporary, expired)


Build = Callable[[int, Keys], tuple[Headers, bytes]]


def signed(
    key: Callable[[Keys], Key] = lambda k: k.active,
    skew: timedelta = timedelta(0),
    **options: Any,
) -> Build:
    def build(port: int, keys: Keys) -> tuple[Headers, bytes]:
        when = datetime.now(UTC) + skew
        headers = sign(key(keys), base_headers(port, OPERATION), BODY, when=when, **options)
        return headers, BODY

    return build


def mutated(change: Callable[[Headers], Headers], base: Build | None = None) -> Build:
    def build(port: int, keys: Keys) -> tuple[Headers, bytes]:
        headers, body = (base or signed())(port, keys)
        return change(headers), body

    return build


def replace_header(name: str, value: Callable[[str], str]) -> Callable[[Headers], Headers]:
    return lambda headers: [(n, value(v) if n.lower() == name else v) for n, v in headers]


def drop_header(name: str) -> Callable[[Headers], Headers]:
    return lambda headers: [(n, v) for n, v in headers if n.lower() != name]


def other_body(port: int, keys: Keys) -> tuple[Headers, bytes]:
    headers, _ = signed()(port, keys)
    return headers, json.dumps({"language": "ja"}).encode()


def hashed_then_changed(port: int, keys: Keys) -> tuple[Headers, bytes]:
    headers = [
        *base_headers(port, OPERATION),
        ("X-Amz-Content-SHA256", hashlib.sha256(BODY).hexdigest()),
    ]
    return sign(keys.active, headers, BODY), b'{"language": "ko"}'


def signed_for_host(*hosts: str) -> Build:
    """A request signed with these Host header values (in place of the real one)."""

    def build(port: int, keys: Keys) -> tuple[Headers, bytes]:
        headers = [(n, v) for n, v in base_headers(port, OPERATION) if n != "Host"]
        headers = [*(("Host", host) for host in hosts), *headers]
        return sign(keys.active, headers, BODY), BODY

    return build


def with_token(token: str | None) -> Callable[[Keys], Key]:
    return lambda k: Key(k.temporary.access_key_id, k.temporary.secret, token)


@dataclass(frozen=True)
class Case:
    name: str
    build: Build
    code: str
    status: int = 403
    account_known: bool = True
    message: str = ""
    operation: str = OPERATION  # as the audit trail names it: what the request asked for
    wording: bool = False  # `message` is supportd's own text, not AWS's


CASES = [
    Case(
        "missing Authorization",
        lambda port, keys: (base_headers(port, OPERATION), BODY),
        "MissingAuthenticationTokenException",
        account_known=False,
    ),
    Case(
        "garbage Authorization",
        mutated(replace_header("authorization", lambda _: "Bearer 0xdeadbeef")),
        "IncompleteSignatureException",
        account_known=False,
    ),
    Case(
        "truncated Authorization",
        mutated(replace_header("authorization", lambda v: v[: len(v) // 2])),
        "IncompleteSignatureException",
        account_known=False,
    ),
    Case(
        "duplicated Authorization",
        mutated(lambda h: [*h, next(x for x in h if x[0] == "Authorization")]),
        "IncompleteSignatureException",
        account_known=False,
    ),
    Case(
        "wrong algorithm",
        signed(algorithm="AWS4-HMAC-SHA512"),
        "IncompleteSignatureException",
        account_known=False,
    ),
    Case(
        "X-Amz-Target not signed",
        signed(signed=["content-type", "host", "x-amz-date"]),
        "InvalidSignatureException",
        account_known=False,
        message="'x-amz-target' must be a 'SignedHeader'",
    ),
    Case(
        "Host not signed",
        signed(signed=["content-type", "x-amz-date", "x-amz-target"]),
        "InvalidSignatureException",
        account_known=False,
    ),
    Case(
        "signed header missing from the request",
        signed(signed=["content-type", "host", "x-amz-date", "x-amz-target", "x-extra"]),
        "InvalidSignatureException",
        message="not present",
        wording=True,
    ),
    # The Host is signed, but it is not a URL's authority: a value that is not a host
    # name (an unclosed or stray bracket, a path or query in it) is a bad signature.
    *(
        Case(
            f"Host {host!r}",
            signed_for_host(host),
            "InvalidSignatureException",
            account_known=False,
            message="The Host header is not a valid host name",
            wording=True,
        )
        for host in ("[", "a]b", "[::1", "127.0.0.1/x", "127.0.0.1?x=1", "h#f", "u@h", "h:99999")
    ),
    Case(
        "two Host headers",
        signed_for_host("127.0.0.1", "localhost"),
        "InvalidSignatureException",
        account_known=False,
        message="exactly one Host header",
        wording=True,
    ),
    Case(
        "X-Amz-Date missing",
        mutated(drop_header("x-amz-date")),
        "IncompleteSignatureException",
        account_known=False,
    ),
    Case("modified body", other_body, "InvalidSignatureException"),
    Case(
        "modified target",
        mutated(replace_header("x-amz-target", lambda v: v.replace(OPERATION, "DescribeServices"))),
        "InvalidSignatureException",
        operation="DescribeServices",
    ),
    Case(
        "x-amz-content-sha256 of another body",
        hashed_then_changed,
        "InvalidSignatureException",
        message="x-amz-content-sha256",
    ),
    Case(
        "signed 16 minutes ago",
        signed(skew=-timedelta(minutes=16)),
        "InvalidSignatureException",
        account_known=False,
        message="Signature expired",
    ),
    Case(
        "signed 16 minutes in the future",
        signed(skew=timedelta(minutes=16)),
        "InvalidSignatureException",
        account_known=False,
        message="Signature not yet current",
    ),
    Case(
        "wrong service in the scope",
        signed(service="s3"),
        "InvalidSignatureException",
        account_known=False,
        message="Credential should be scoped to correct service: 'support'",
    ),
    Case(
        "scope date a day before X-Amz-Date",
        lambda port, keys: signed(
            scope_date=(datetime.now(UTC) - timedelta(days=1)).strftime("%Y%m%d")
        )(port, keys),
        "InvalidSignatureException",
        account_known=False,
        message="Date in Credential scope does not match",
    ),
    Case(
        "scope date only the year of X-Amz-Date",
        lambda port, keys: signed(scope_date=datetime.now(UTC).strftime("%Y"))(port, keys),
        "InvalidSignatureException",
        account_known=False,
        message="Date in Credential scope does not match",
    ),
    Case(
        "region not accepted",
        signed(region="ap-southeast-2"),
        "InvalidSignatureException",
        account_known=False,
        message="Credential should be scoped to a valid region, not 'ap-southeast-2'",
        wording=True,
    ),
    Case(
        "unknown access key",
        signed(key=lambda k: Key("AKIAUNKNOWNKEY000000", "x" * 40)),
        "UnrecognizedClientException",
        account_known=False,
    ),
    Case(
        "revoked access key",
        signed(key=lambda k: k.revoked),
        "UnrecognizedClientException",
    ),
    Case(
        "wrong secret",
        signed(key=lambda k: Key(k.active.access_key_id, "y" * 40)),
        "InvalidSignatureException",
        message="does not match",
    ),
    Case(
        "expired session token",
        signed(key=lambda k: k.expired),
        "ExpiredTokenException",
    ),
    Case(
        "wrong session token",
        signed(key=with_token("not-the-token")),
        "UnrecognizedClientException",
    ),
    Case(
        "temporary key without its session token",
        signed(key=lambda k: Key(k.temporary.access_key_id, k.temporary.secret)),
        "UnrecognizedClientException",
    ),
    Case(
        "session token on a long-term key",
        signed(key=lambda k: Key(k.active.access_key_id, k.active.secret, "a-token")),
        "UnrecognizedClientException",
    ),
]


@pytest.mark.parametrize(
    "case",
    [
        pytest.param(c, id=c.name, marks=[pytest.mark.supportd_wording] if c.wording else [])
        for c in CASES
    ],
)
def test_auth_failure(sigv4_server: SigV4Server, keys: Keys, case: Case) -> None:
    headers, body = case.build(sigv4_server.port, keys)
    answer = send(sigv4_server.port, headers, body)

    assert answer.status == case.status, answer.body
    assert answer.code == case.code
    assert answer.headers["content-type"] == "application/x-amz-json-1.1"
    assert set(answer.body) == {"__type", "message"}
    assert answer.body["__type"] == case.code
    assert case.message in answer.body["message"]

    row = sigv4_server.admin.audit_rows([answer.request_id], "--error-code", case.code)[
        answer.request_id
    ]
    assert row["errorCode"] == case.code
    assert row["httpStatus"] == case.status
    assert row["eventName"] == case.operation
    assert row["sourceIPAddress"] == "127.0.0.1"
    assert row["accountId"] == (keys.account_id if case.account_known else None)


def test_the_unmutated_request_passes(sigv4_server: SigV4Server, keys: Keys) -> None:
    """The base every row above mutates is itself valid (so each row tests its one fault)."""
    for key in (keys.active, keys.temporary):
        headers, body = signed(key=lambda _, key=key: key)(sigv4_server.port, keys)
        answer = send(sigv4_server.port, headers, body)
        assert answer.status == 200, answer.body
        assert [level["code"] for level in answer.body["severityLevels"]][-1] == "critical"


def test_unknown_operation_is_answered_only_after_authentication(
    sigv4_server: SigV4Server, keys: Keys
) -> None:
    headers = [
        ("Host", f"127.0.0.1:{sigv4_server.port}"),
        ("Content-Type", "application/x-amz-json-1.1"),
        ("X-Amz-Target", "AWSSupport_20130415.NoSuchOperation"),
    ]
    assert send(sigv4_server.port, headers, b"{}").code == "MissingAuthenticationTokenException"
    answer = send(sigv4_server.port, sign(keys.active, headers, b"{}"), b"{}")
    assert (answer.status, answer.code) == (400, "UnknownOperationException")


# Printable header text: what an HTTP client can put in a Host header.
HOST_TEXT = (
    st.text(
        st.characters(min_codepoint=0x21, max_codepoint=0x7E) | st.sampled_from("[]:/?#@%. "),
        min_size=1,
        max_size=40,
    )
    .map(str.strip)
    .filter(bool)
)


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(host=HOST_TEXT)
def test_any_signed_host_is_a_pass_or_a_bad_signature(
    sigv4_server: SigV4Server, keys: Keys, host: str
) -> None:
    """Whatever Host a client signs: 200 if it is a host name, else 403
    InvalidSignatureException; never a 5xx."""
    headers, body = signed_for_host(host)(sigv4_server.port, keys)
    answer = send(sigv4_server.port, headers, body)
    if parse_host(host) is not None:
        assert answer.status == 200, (host, answer.body)
    else:
        assert (answer.status, answer.code) == (403, "InvalidSignatureException"), (host, answer)
