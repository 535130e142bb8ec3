"""Who is calling. Open mode trusts the access key named in the Authorization header.

Open mode checks no signature: a 12-digit access key id is that account, anything else
(or no header) is the configured default account. Strict SigV4 verification plugs in
as another Authenticator with the same signature.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Protocol

from supportd.domain.records import Principal

_CREDENTIAL = re.compile(r"Credential=([^/,\s]+)/")


class Authenticator(Protocol):
    def __call__(self, headers: Mapping[str, str], body: bytes) -> Principal: ...


def access_key_id(authorization: str) -> str | None:
    match = _CREDENTIAL.search(authorization)
    return match.group(1) if match else None


class OpenAuthenticator:
    def __init__(self, default_account: str, email_domain: str) -> None:
        self.default_account = default_account
        self.email_domain = email_domain

    def __call__(self, headers: Mapping[str, str], body: bytes) -> Principal:
        key = access_key_id(headers.get("authorization", "")) or "anonymous"
        account = key if key.isdigit() and len(key) == 12 else self.default_account
        return Principal(
            account_id=account,
            email=f"account-{account}@{self.email_domain}",
            name=f"{key} (User)",
            access_key_id=key,
        )
