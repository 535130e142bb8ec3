"""Who is calling: open mode (trust the access key id) or strict SigV4.

Both authenticators look accounts and keys up through callables (the store's methods),
so the store stays out of this module, and both fill in a `Caller` as they learn who is
calling: the audit trail records it for failed requests too.

- Open mode checks no signature: a 12-digit access key id is that account, anything
  else (or no header) is the configured default account. An account that exists in the
  accounts table has its plan, e-mail and own limits; any other account is served as
  an enterprise-plan account with the e-mail `account-<id>@<domain>`.
- SigV4 mode accepts only a valid signature (sigv4.py) by a known, unrevoked key, with
  the session token of a temporary key, and serves the key's account.
"""

from __future__ import annotations

import hmac
import logging
import re
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Generic, Protocol, TypeVar

from supportd import api_errors
from supportd.domain.accounts import (
    AccessKey,
    Account,
    Credential,
    Limits,
    effective_limits,
    is_account_id,
    token_hash,
)
from supportd.domain.hosts import is_loopback_host, is_loopback_name
from supportd.domain.plans import ENTERPRISE
from supportd.domain.records import Principal
from supportd.security import sigv4
from supportd.security.secretbox import SecretBox, SecretBoxError

log = logging.getLogger("supportd.auth")

_CREDENTIAL = re.compile(r"Credential=([^/,\s]+)/")
MAX_KEY_ID = 128  # longer "access key ids" are clipped in the audit trail
INVALID_TOKEN = "The security token included in the request is invalid."  # noqa: S105
EXPIRED_TOKEN = "The security token included in the request is expired"  # noqa: S105


class IncomingRequest:
    """What authentication reads of an HTTP request: the ASGI scope's raw headers,
    decoded and indexed by lower-case name on first use, and the body, read only when
    first asked for (`await body()`): SigV4 checks the Authorization header, the date
    and the key before it reads a byte of a body that may be 25 MB."""

    __slots__ = (
        "_body",
        "_index",
        "_read",
        "local_address",
        "method",
        "path",
        "query",
        "raw_headers",
    )

    def __init__(
        self,
        method: str,
        path: str,
        query: str,
        raw_headers: list[tuple[bytes, bytes]],
        body: bytes | Callable[[], Awaitable[bytes]],
        local_address: str | None = None,
    ) -> None:
        self.method = method
        # The address of this server the connection arrived on (None: not a TCP
        # socket, e.g. a Unix socket).
        self.local_address = local_address
        self.path = path
        self.query = query
        self.raw_headers = raw_headers
        self._body: bytes | None = None
        self._read: Callable[[], Awaitable[bytes]] | None = None
        if isinstance(body, bytes):
            self._body = body
        else:
            self._read = body
        self._index: dict[str, list[str]] | None = None

    async def body(self) -> bytes:
        """The request body (read on the first call)."""
        if self._body is None:
            assert self._read is not None
            self._body = await self._read()
        return self._body

    def _headers(self) -> dict[str, list[str]]:
        if self._index is None:
            index: dict[str, list[str]] = {}
            for name, value in self.raw_headers:
                index.setdefault(name.decode("latin-1").lower(), []).append(value.decode("latin-1"))
            self._index = index
        return self._index

    def headers(self) -> dict[str, list[str]]:
        """Every header by lower-case name, with its values in the order received."""
        return self._headers()

    def values(self, name: str) -> list[str]:
        return self._headers().get(name, [])

    def header(self, name: str) -> str | None:
        values = self._headers().get(name)
        return values[0] if values else None


@dataclass(slots=True)
class Caller:
    """What is known about the caller so far: kept for the audit trail when
    authentication fails half way."""

    access_key_id: str | None = None
    account_id: str | None = None
    name: str | None = None


class Authenticator(Protocol):
    async def __call__(self, request: IncomingRequest, caller: Caller) -> Principal: ...


AccountLookup = Callable[[str], Awaitable[Account | None]]
CredentialLookup = Callable[[str], Awaitable[Credential | None]]
T = TypeVar("T")
MAX_CACHED = 100_000


class LookupCache(Generic[T]):
    """Look-ups by id kept for ttl_s seconds (0: not kept), misses included.

    A store read per request costs more than a SigV4 verification (on SQLite it hands
    the GIL to the writer thread; on PostgreSQL it is a round trip), and accounts and
    keys change rarely. The price: a revoked key, a new plan or new limits reach each
    process within ttl_s (as IAM changes reach AWS's endpoints within seconds).
    """

    def __init__(self, ttl_s: float, clock: Callable[[], float] = time.monotonic) -> None:
        self.ttl_s = ttl_s
        self.clock = clock
        self._entries: dict[str, tuple[float, T]] = {}

    async def get(self, key: str, load: Callable[[str], Awaitable[T]]) -> T:
        if self.ttl_s <= 0:
            return await load(key)
        now = self.clock()
        hit = self._entries.get(key)
        if hit is not None and hit[0] > now:
            return hit[1]
        value = await load(key)
        if len(self._entries) >= MAX_CACHED:
            self._entries.clear()  # e.g. a flood of made-up key ids
        self._entries[key] = (now + self.ttl_s, value)
        return value


def access_key_id(authorization: str) -> str | None:
    match = _CREDENTIAL.search(authorization)
    return match.group(1) if match else None


def identity(key: AccessKey) -> str:
    """The caller as AWS shows it in submittedBy: `jane (User)`; temporary keys are
    shown as roles (`deploy (Role)`), as assumed-role sessions are."""
    return f"{key.user_name} ({'Role' if key.temporary else 'User'})"


class OpenAuthenticator:
    """`loopback_only` (open mode without --allow-open-on-network): only requests that
    arrive on a loopback address and name a loopback Host (127.0.0.1, [::1] or
    localhost) are served. A web page whose name was rebound to 127.0.0.1 sends its own
    name as Host, so it cannot drive the API from a browser (DNS rebinding)."""

    def __init__(
        self,
        default_account: str,
        email_domain: str,
        lookup_account: AccountLookup,
        profile: Limits,
        cache_s: float = 0.0,
        loopback_only: bool = True,
    ) -> None:
        self.loopback_only = loopback_only
        self.default_account = default_account
        self.email_domain = email_domain
        self.lookup_account = lookup_account
        self.profile = profile
        self._accounts: LookupCache[Account | None] = LookupCache(cache_s)
        self._principals: dict[str, tuple[Account | None, Principal]] = {}

    async def __call__(self, request: IncomingRequest, caller: Caller) -> Principal:
        if self.loopback_only:
            _check_loopback(request)
        key = access_key_id(request.header("authorization") or "") or "anonymous"
        account_id = key if is_account_id(key) else self.default_account
        caller.access_key_id = key[:MAX_KEY_ID]
        caller.account_id = account_id
        caller.name = f"{key} (User)"
        account = await self._accounts.get(account_id, self.lookup_account)
        # The principal is made from the key and the account alone: made again only
        # when the account record is another one (a new look-up), not per request.
        known = self._principals.get(key)
        if known is not None and known[0] is account:
            return known[1]
        principal = self._principal(key, account_id, caller.name, account)
        if len(self._principals) >= MAX_CACHED:
            self._principals.clear()
        self._principals[key] = (account, principal)
        return principal

    def _principal(
        self, key: str, account_id: str, name: str, account: Account | None
    ) -> Principal:
        if account is None:
            return Principal(
                account_id=account_id,
                email=f"account-{account_id}@{self.email_domain}",
                name=name,
                access_key_id=key,
                plan=ENTERPRISE,
                limits=self.profile,
            )
        return Principal(
            account_id=account_id,
            email=account.email,
            name=name,
            access_key_id=key,
            plan=account.plan,
            limits=effective_limits(self.profile, account.limits),
        )


# Answers of is_loopback_name / is_loopback_host by value: parsing an address with
# ipaddress costs about a tenth of an open-mode CreateCase, and a server sees a handful
# of local addresses and Host values. Bounded: made-up Host values cannot grow it.
_LOOPBACK_CACHE_MAX = 1024
_loopback_names: dict[str, bool] = {}
_loopback_hosts: dict[str, bool] = {}


def _cached(cache: dict[str, bool], check: Callable[[str], bool], value: str) -> bool:
    known = cache.get(value)
    if known is None:
        if len(cache) >= _LOOPBACK_CACHE_MAX:
            cache.clear()
        known = cache[value] = check(value)
    return known


def _check_loopback(request: IncomingRequest) -> None:
    local = request.local_address
    if local is not None and not _cached(_loopback_names, is_loopback_name, local):
        raise api_errors.AccessDeniedException(
            "Open mode (no authentication) serves only connections to a loopback address; "
            f"this one arrived on {request.local_address}. Use --auth sigv4 to serve a "
            "network."
        )
    hosts = request.values("host")
    if len(hosts) != 1 or not _cached(_loopback_hosts, is_loopback_host, hosts[0]):
        shown = ", ".join(f"'{sigv4.clip(h)}'" for h in hosts) or "none"
        raise api_errors.AccessDeniedException(
            "Open mode (no authentication) answers only requests addressed to this machine "
            "as 127.0.0.1, [::1] or localhost (any port); this request's Host is "
            f"{shown}. Use --auth sigv4 to serve other names."
        )


class SigV4Authenticator:
    def __init__(
        self,
        lookup_credential: CredentialLookup,
        box: SecretBox,
        profile: Limits,
        cache_s: float = 0.0,
        clock: Callable[[], float] = time.time,
        regions: frozenset[str] = frozenset({"us-east-1"}),
    ) -> None:
        self.lookup_credential = lookup_credential
        self.regions = regions
        self.box = box
        self.profile = profile
        self.clock = clock
        self._credentials: LookupCache[tuple[Credential, Principal] | None] = LookupCache(cache_s)
        # Opened secrets by (key id, sealed secret): AES-GCM once per key and process.
        self._secrets: dict[tuple[str, str], str] = {}

    async def __call__(self, request: IncomingRequest, caller: Caller) -> Principal:
        # 1. The Authorization header's parts, the date, the scope, the clock.
        presented = request.values("authorization")
        try:
            auth = sigv4.parse_authorization(presented)
        except api_errors.ApiError:
            # For the audit trail: the key id of a malformed header, if it names one.
            if presented:
                caller.access_key_id = (access_key_id(presented[0]) or "")[:MAX_KEY_ID] or None
            raise
        caller.access_key_id = auth.access_key_id[:MAX_KEY_ID]
        amz_date = request.header("x-amz-date")
        signed_at = sigv4.parse_amz_date(amz_date)
        assert amz_date is not None  # parse_amz_date refuses a missing date
        sigv4.check_scope(auth, amz_date, self.regions)
        sigv4.check_host(request.values("host"))
        now = self.clock()
        sigv4.check_clock(signed_at, datetime.fromtimestamp(now, tz=UTC))
        # 2. The key: known, not revoked, with its session token if temporary.
        found = await self._credentials.get(auth.access_key_id, self._lookup)
        if found is None:
            raise api_errors.UnrecognizedClientException(INVALID_TOKEN)
        credential, principal = found
        key, account = credential.key, credential.account
        caller.account_id = account.account_id
        caller.name = identity(key)
        if key.revoked_ms is not None:
            raise api_errors.UnrecognizedClientException(INVALID_TOKEN)
        _check_session_token(key, request.values("x-amz-security-token"), int(now * 1000))
        # 3. Only now the body: its hash, when declared, and the signature itself.
        body = await request.body()
        sigv4.check_payload_hash(request.header("x-amz-content-sha256"), body)
        expected = sigv4.expected_signature(
            auth,
            self._secret(key),
            request.method,
            request.path,
            request.query,
            request.headers(),
            body,
            amz_date,
        )
        if not sigv4.signatures_match(expected, auth.signature):
            raise api_errors.InvalidSignatureException(sigv4.SIGNATURE_MISMATCH)
        return principal

    async def _lookup(self, access_key_id: str) -> tuple[Credential, Principal] | None:
        """The key, its account, and who a request signed with it is."""
        credential = await self.lookup_credential(access_key_id)
        if credential is None:
            return None
        key, account = credential.key, credential.account
        principal = Principal(
            account_id=account.account_id,
            email=account.email,
            name=identity(key),
            access_key_id=key.access_key_id,
            plan=account.plan,
            limits=effective_limits(self.profile, account.limits),
        )
        return credential, principal

    def _secret(self, key: AccessKey) -> str:
        cache_key = (key.access_key_id, key.secret_sealed)
        secret = self._secrets.get(cache_key)
        if secret is None:
            try:
                secret = self.box.open(key.secret_sealed, key.access_key_id)
            except SecretBoxError as exc:
                raise RuntimeError(
                    f"the secret of access key {key.access_key_id} cannot be decrypted with "
                    "this server's key: every node and the CLI must use the same server key "
                    "(--server-key, or the same server.key file in --data-dir)"
                ) from exc
            if len(self._secrets) >= 100_000:
                self._secrets.clear()
            self._secrets[cache_key] = secret
        return secret


def _check_session_token(key: AccessKey, tokens: list[str], now_ms: int) -> None:
    if key.session_token_hash is None:
        if tokens:
            # A long-term key with a session token: AWS refuses the token.
            raise api_errors.UnrecognizedClientException(INVALID_TOKEN)
        return
    if len(tokens) != 1 or not hmac.compare_digest(token_hash(tokens[0]), key.session_token_hash):
        raise api_errors.UnrecognizedClientException(INVALID_TOKEN)
    if key.expires_ms is not None and now_ms >= key.expires_ms:
        raise api_errors.ExpiredTokenException(EXPIRED_TOKEN)
