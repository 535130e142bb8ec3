"""The pieces in process: SigV4 verification steps against the independent signer and
botocore's, Host header values, token buckets, limit resolution, the secret box, the plan gate."""

from __future__ import annotations

import asyncio
import hashlib
import hmac
from datetime import UTC, datetime, timedelta

import pytest
from botocore.auth import SigV4Auth
from botocore.awsrequest import AWSRequest
from botocore.credentials import Credentials

from supportd import api_errors
from supportd.domain import hosts
from supportd.domain.accounts import (
    NO_LIMITS,
    UNLIMITED,
    Account,
    CaseQuotaExceeded,
    LimitOverrides,
    Limits,
    api_family,
    check_case_quota,
    effective_limits,
    quota_window_start,
)
from supportd.domain.ratelimit import RateLimiter
from supportd.domain.records import Principal
from supportd.operations.access import Gate, check_severity
from supportd.security import sigv4
from supportd.security.auth import Caller, IncomingRequest, LookupCache, OpenAuthenticator
from supportd.security.secretbox import SecretBox, SecretBoxError, load_key
from tests.accounts.signer import Key, sign

KEY = Key("AKIDEXAMPLE", "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY")
BODY = b'{"language": "en"}'


def _verify(headers: list[tuple[str, str]], body: bytes = BODY, secret: str = KEY.secret) -> bool:
    auth = sigv4.parse_authorization([v for n, v in headers if n == "Authorization"])
    date = next(v for n, v in headers if n == "X-Amz-Date")
    index: dict[str, list[str]] = {}
    for name, value in headers:
        index.setdefault(name.lower(), []).append(value)
    expected = sigv4.expected_signature(auth, secret, "POST", "/", "", index, body, date)
    return sigv4.signatures_match(expected, auth.signature)


def _headers() -> list[tuple[str, str]]:
    return [
        ("Host", "support.us-east-1.amazonaws.com"),
        ("Content-Type", "application/x-amz-json-1.1"),
        ("X-Amz-Target", "AWSSupport_20130415.DescribeServices"),
    ]


@pytest.mark.parametrize(
    ("path", "query"),
    [
        ("/", ""),
        ("/", "b=2&a=1&a=0"),
        ("/a/./b/../c", "x=%2F&y"),
        ("/with%20space/", "k=v%20w"),
        ("", ""),
    ],
)
def test_the_canonical_request_is_the_one_botocore_signs(path: str, query: str) -> None:
    """botocore signs a request it sends; supportd rebuilds the canonical request from
    the raw path and query string it receives: the two agree."""
    host = _headers()[0][1]
    url = f"https://{host}{path or '/'}" + (f"?{query}" if query else "")
    request = AWSRequest(method="POST", url=url, data=BODY)
    request.context["timestamp"] = "20260101T000000Z"
    signer = SigV4Auth(Credentials(KEY.access_key_id, KEY.secret), "support", "us-east-1")
    ours = sigv4.canonical_request(
        "POST",
        path,
        query,
        {"content-type": [_headers()[1][1]], "host": [host], "x-amz-target": [_headers()[2][1]]},
        hashlib.sha256(BODY).hexdigest(),
    )
    for name, value in _headers():
        request.headers[name] = value
    assert ours == signer.canonical_request(request)


@pytest.mark.parametrize(
    ("value", "well_formed", "loopback"),
    [
        ("127.0.0.1", True, True),
        ("127.0.0.1:4599", True, True),
        ("[::1]:4599", True, True),
        ("[::1]", True, True),
        ("localhost:80", True, True),
        ("LOCALHOST", True, True),
        ("support.example.com", True, False),
        ("support.example.com.:443", True, False),
        ("my_service:8080", True, False),
        ("10.1.2.3:80", True, False),
        ("[2001:db8::1]:443", True, False),
        ("127.0.0.1.nip.io", True, False),
        ("localhost.example.com", True, False),
        ("", False, False),
        ("[", False, False),
        ("a]b", False, False),
        ("[::1", False, False),
        ("[::1]x", False, False),
        ("[fe80::1%25eth0]", False, False),
        ("h/x", False, False),
        ("h?x", False, False),
        ("h#x", False, False),
        ("user@h", False, False),
        ("a b", False, False),
        ("h:", False, False),
        ("h:65536", False, False),
        ("h:8o", False, False),
        ("a" * 64 + ".example", False, False),
    ],
)
def test_host_header_values(value: str, well_formed: bool, loopback: bool) -> None:
    assert (hosts.parse_host(value) is not None) is well_formed
    assert hosts.is_loopback_host(value) is loopback


def _scope(date: str = "20260101", region: str = "us-east-1") -> sigv4.Authorization:
    return sigv4.Authorization(
        "AKIDEXAMPLE", date, region, "support", ("host", "x-amz-date", "x-amz-target"), "0" * 64
    )


def test_the_credential_scope_names_the_day_and_an_accepted_region() -> None:
    sigv4.check_scope(_scope(), "20260101T235959Z")  # default: us-east-1
    sigv4.check_scope(_scope(region="eu-west-1"), "20260101T000000Z", frozenset({"eu-west-1"}))
    for auth, message in [
        (_scope(date="2026"), "Date in Credential scope"),  # a prefix of the day
        (_scope(date="20260102"), "Date in Credential scope"),
        (_scope(date="20251231"), "Date in Credential scope"),
        (_scope(region="eu-west-1"), "valid region, not 'eu-west-1'"),
        (_scope(region="US-EAST-1"), "valid region"),
    ]:
        with pytest.raises(api_errors.InvalidSignatureException, match=message):
            sigv4.check_scope(auth, "20260101T120000Z")


@pytest.mark.parametrize("values", [[], ["a", "b"], ["["], ["a]b"], ["h/p"], ["h?q"]])
def test_check_host_refuses_anything_but_one_host(values: list[str]) -> None:
    with pytest.raises(api_errors.InvalidSignatureException):
        sigv4.check_host(values)


def test_botocore_verification_agrees_with_the_independent_signer() -> None:
    assert _verify(sign(KEY, _headers(), BODY))
    assert _verify(sign(KEY, _headers(), BODY, region="eu-west-3"))
    assert _verify(sign(KEY, [*_headers(), ("X-Odd", "  a  b ")], BODY))
    # The query string is signed: a request signed with one is not this one.
    assert not _verify(sign(KEY, _headers(), BODY, query="b=2&a=1"))
    assert not _verify(sign(KEY, _headers(), BODY), body=b"{}")
    assert not _verify(sign(KEY, _headers(), BODY), secret="x" * 40)


def test_signing_key_chain() -> None:
    expected = ("AWS4" + KEY.secret).encode()
    for part in ("20150830", "us-east-1", "support", "aws4_request"):
        expected = hmac.new(expected, part.encode(), hashlib.sha256).digest()
    assert sigv4.signing_key(KEY.secret, "20150830", "us-east-1") == expected
    assert sigv4.signing_key(KEY.secret, "20150830", "us-west-2") != expected


@pytest.mark.parametrize(
    ("values", "code"),
    [
        ([], "MissingAuthenticationTokenException"),
        (["AWS4-HMAC-SHA256"], "IncompleteSignatureException"),
        (["AWS4-HMAC-SHA256 Credential=A/20260101/us-east-1/support/aws4_request"],
         "IncompleteSignatureException"),
        (["AWS4-HMAC-SHA256 Credential=A/20260101/us-east-1/support, SignedHeaders=host, "
          "Signature=" + "0" * 64], "IncompleteSignatureException"),
        (["AWS4-HMAC-SHA256 Credential=A/20260101/us-east-1/support/aws4_request, "
          "SignedHeaders=x-amz-date;host, Signature=" + "0" * 64], "IncompleteSignatureException"),
        (["AWS4-HMAC-SHA256 Credential=A/20260101/us-east-1/support/aws4_request, "
          "SignedHeaders=host, Signature=xyz"], "IncompleteSignatureException"),
        (["a", "b"], "IncompleteSignatureException"),
    ],
)  # fmt: skip
def test_malformed_authorization(values: list[str], code: str) -> None:
    with pytest.raises(api_errors.ApiError) as info:
        sigv4.parse_authorization(values)
    assert info.value.code == code


def test_clock_skew_is_fifteen_minutes_either_way() -> None:
    now = datetime(2026, 1, 1, 12, tzinfo=UTC)
    for skew in (timedelta(0), timedelta(minutes=14, seconds=59), -timedelta(minutes=15)):
        sigv4.check_clock(now + skew, now)
    for skew in (timedelta(minutes=15, seconds=1), -timedelta(minutes=15, seconds=1)):
        with pytest.raises(api_errors.InvalidSignatureException):
            sigv4.check_clock(now + skew, now)


def test_payload_hash_header() -> None:
    sigv4.check_payload_hash(None, BODY)
    sigv4.check_payload_hash(hashlib.sha256(BODY).hexdigest().upper(), BODY)
    for declared in ("UNSIGNED-PAYLOAD", hashlib.sha256(b"{}").hexdigest()):
        with pytest.raises(api_errors.InvalidSignatureException):
            sigv4.check_payload_hash(declared, BODY)


def test_token_bucket_allows_its_burst_then_its_rate() -> None:
    limiter = RateLimiter()
    assert [limiter.allow("a", 5, now=0.0) for _ in range(6)] == [True] * 5 + [False]
    assert limiter.allow("b", 5, now=0.0)  # buckets are per key
    assert limiter.allow("a", 5, now=0.2) and not limiter.allow("a", 5, now=0.2)
    assert [limiter.allow("a", 5, now=10.0) for _ in range(6)] == [True] * 5 + [False]
    # A lower rate applies at once.
    assert limiter.allow("c", 0.001, now=0.0) and not limiter.allow("c", 0.001, now=500.0)


def test_limits_resolution() -> None:
    aws = Limits(10, 5.0, 100.0)
    assert effective_limits(aws, LimitOverrides()) == aws
    assert effective_limits(NO_LIMITS, LimitOverrides(3, None, 0.5)) == Limits(3, None, 0.5)
    assert effective_limits(aws, LimitOverrides(UNLIMITED, UNLIMITED, None)) == Limits(
        None, None, 100.0
    )
    assert api_family("DescribeTrustedAdvisorChecks") == "trusted-advisor-api"
    assert api_family("CreateCase") == api_family("DescribeServices") == "case-api"


def test_case_quota_counts_the_hour_before_the_new_case() -> None:
    assert quota_window_start(10_000_000) == 10_000_000 - 3_600_000
    check_case_quota(2, 3)  # room for one more
    with pytest.raises(CaseQuotaExceeded) as exceeded:
        check_case_quota(3, 3)
    assert exceeded.value.limit == 3
    with pytest.raises(CaseQuotaExceeded):
        check_case_quota(0, 0)


def test_secret_box(tmp_path: object) -> None:
    box = SecretBox(load_key("", str(tmp_path)))
    sealed = box.seal("secret", "AKIA1")
    assert "secret" not in sealed
    assert box.open(sealed, "AKIA1") == "secret"
    with pytest.raises(SecretBoxError):
        box.open(sealed, "AKIA2")  # bound to its key id
    with pytest.raises(SecretBoxError):
        SecretBox(load_key("", str(tmp_path / "other"))).open(sealed, "AKIA1")
    with pytest.raises(SecretBoxError, match="no server key"):
        load_key("", str(tmp_path / "third"), create=False)


def test_lookup_cache_keeps_hits_and_misses_for_its_time() -> None:
    now = [0.0]
    loads: list[str] = []

    async def load(key: str) -> str | None:
        loads.append(key)
        return None if key == "missing" else key.upper()

    async def run() -> None:
        cache: LookupCache[str | None] = LookupCache(1.0, clock=lambda: now[0])
        assert await cache.get("a", load) == "A"
        assert await cache.get("missing", load) is None
        now[0] = 0.9
        assert await cache.get("a", load) == "A"
        assert await cache.get("missing", load) is None
        assert loads == ["a", "missing"]
        now[0] = 1.0
        assert await cache.get("a", load) == "A"
        assert loads == ["a", "missing", "a"]
        off: LookupCache[str | None] = LookupCache(0.0)
        await off.get("b", load)
        await off.get("b", load)
        assert loads[-2:] == ["b", "b"]

    asyncio.run(run())


def test_open_mode_makes_a_principal_again_when_the_account_record_changes() -> None:
    basic = Account("111122223333", "a@example.com", "basic", LimitOverrides(), 0)
    accounts = {"111122223333": basic}

    async def lookup(account_id: str) -> Account | None:
        return accounts.get(account_id)

    def request(key: str) -> IncomingRequest:
        authorization = f"AWS4-HMAC-SHA256 Credential={key}/20260101/us-east-1/support/aws4_request"
        headers = [(b"host", b"127.0.0.1:1"), (b"authorization", authorization.encode())]
        return IncomingRequest("POST", "/", "", headers, b"{}", local_address="127.0.0.1")

    async def run() -> None:
        auth = OpenAuthenticator("999988887777", "example.org", lookup, NO_LIMITS, cache_s=0.0)
        first = await auth(request("111122223333"), Caller())
        assert (first.plan, first.email) == ("basic", "a@example.com")
        # The same record (equal, and here the same object) gives the same principal.
        assert await auth(request("111122223333"), Caller()) is first
        accounts["111122223333"] = Account(
            "111122223333", "b@example.com", "business", LimitOverrides(cases_per_hour=3), 0
        )
        changed = await auth(request("111122223333"), Caller())
        assert (changed.plan, changed.email) == ("business", "b@example.com")
        assert changed.limits.cases_per_hour == 3
        unknown = await auth(request("AKIDEXAMPLE"), Caller())
        assert (unknown.account_id, unknown.plan) == ("999988887777", "enterprise")
        assert unknown.email == "account-999988887777@example.org"

    asyncio.run(run())


def _principal(plan: str, limits: Limits = NO_LIMITS) -> Principal:
    return Principal("111122223333", "a@example.com", "x (User)", "AKIA", plan, limits)


def test_gate() -> None:
    gate = Gate()
    for plan in ("basic", "developer"):
        with pytest.raises(api_errors.SubscriptionRequiredException):
            gate.check(_principal(plan), "DescribeTrustedAdvisorChecks", now=0.0)
    gate.check(_principal("business"), "DescribeTrustedAdvisorChecks", now=0.0)
    limited = _principal("enterprise", Limits(None, 1.0, None))
    gate.check(limited, "CreateCase", now=0.0)
    with pytest.raises(api_errors.ThrottlingException) as info:
        gate.check(limited, "DescribeCases", now=0.5)
    assert info.value.body()["throttlingReasons"] == [
        {"reason": "TransactionsPerSecondExceeded", "resource": "case-api"}
    ]
    gate.check(limited, "DescribeTrustedAdvisorChecks", now=0.5)  # no TA limit
    gate.check(limited, "DescribeCases", now=1.5)
    check_severity(_principal("enterprise"), "critical")
    check_severity(_principal("business"), "urgent")
    with pytest.raises(api_errors.InvalidParameterValueException):
        check_severity(_principal("business"), "critical")
