"""Helpers for the compatibility tests: raw signed HTTP, unvalidated clients, restarts.

Everything here talks to a real `supportd serve` process over HTTP; nothing reaches
into supportd's components.
"""

from __future__ import annotations

import itertools
import json
import re
import uuid
from collections.abc import Callable, Iterator, Mapping
from dataclasses import replace
from typing import Any

import boto3
import httpx
import pytest
from botocore.auth import SigV4Auth
from botocore.awsrequest import AWSRequest
from botocore.config import Config
from botocore.credentials import Credentials
from botocore.exceptions import ClientError

from tests.support.server import ServerProcess

TARGET_PREFIX = "AWSSupport_20130415"
JSON_11 = "application/x-amz-json-1.1"
SECRET = "not-checked-in-open-mode"
# The server fixtures run with the default account e-mail domain.
EMAIL_DOMAIN = "example.com"

CASE_ID = re.compile(r"^case-(\d{12})-[a-z]{4}-(\d{4})-[0-9a-f]{16}$")
TIME_CREATED = re.compile(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z$")
CASE_KEYS = {
    "caseId",
    "displayId",
    "subject",
    "status",
    "severityCode",
    "submittedBy",
    "timeCreated",
    "ccEmailAddresses",
    "language",
}
COMMUNICATION_KEYS = {
    "caseId",
    "body",
    "submittedBy",
    "timeCreated",
    "attachmentSet",
    "attachments",
}

# Accounts for tests that need a second one: the `account` fixture counts from
# 100_000_000_000 in steps of 7919, these from one above, so the two never meet.
_extra_accounts = itertools.count(100_000_000_001, 7919)


def new_account() -> str:
    return str(next(_extra_accounts))


def account_email(account: str) -> str:
    return f"account-{account}@{EMAIL_DOMAIN}"


def unvalidated_client(url: str, account: str) -> Any:
    """A boto3 client that sends what it is given: botocore checks some constraints
    (required members, minimums) itself and would never reach the server."""
    return boto3.client(
        "support",
        endpoint_url=url,
        region_name="us-east-1",
        aws_access_key_id=account,
        aws_secret_access_key=SECRET,
        config=Config(parameter_validation=False, retries={"max_attempts": 1, "mode": "standard"}),
    )


def post(
    url: str,
    target: str | None,
    body: bytes | str | Mapping[str, Any] | list[Any] | None = None,
    *,
    account: str = "111122223333",
    headers: Mapping[str, str] | None = None,
) -> httpx.Response:
    """POST / with a SigV4-signed request, as an SDK would send it. `target` is an
    operation name (prefixed here) or, when it contains a dot, the whole header."""
    if body is None:
        content = b"{}"
    elif isinstance(body, bytes):
        content = body
    elif isinstance(body, str):
        content = body.encode()
    else:
        content = json.dumps(body).encode()
    request_headers = {"Content-Type": JSON_11}
    if target is not None:
        request_headers["X-Amz-Target"] = target if "." in target else f"{TARGET_PREFIX}.{target}"
    request_headers.update(headers or {})
    request = AWSRequest(method="POST", url=url + "/", data=content, headers=request_headers)
    SigV4Auth(Credentials(account, SECRET), "support", "us-east-1").add_auth(request)
    return httpx.post(url + "/", content=content, headers=dict(request.headers.items()), timeout=30)


def assert_error(response: httpx.Response, code: str, status: int = 400) -> str:
    """The AWS JSON 1.1 error shape; returns the message."""
    assert response.status_code == status, response.text
    assert response.headers["content-type"] == JSON_11
    assert response.headers["x-amzn-errortype"] == code
    uuid.UUID(response.headers["x-amzn-requestid"])
    body = response.json()
    assert set(body) == {"__type", "message"}, body
    assert body["__type"] == code
    assert isinstance(body["message"], str)
    assert body["message"]
    return str(body["message"])


def expect_error(code: str, call: Callable[..., Any], **params: Any) -> str:
    """Call a boto3 operation that must fail with `code`; returns the message."""
    with pytest.raises(ClientError) as info:
        call(**params)
    error = info.value.response["Error"]
    assert error["Code"] == code, error
    assert info.value.response["ResponseMetadata"]["HTTPStatusCode"] == 400
    return str(error["Message"])


def strip(response: Mapping[str, Any]) -> dict[str, Any]:
    """A boto3 response without its ResponseMetadata."""
    return {k: v for k, v in response.items() if k != "ResponseMetadata"}


def new_case(client: Any, **params: Any) -> str:
    params.setdefault("subject", "TEST CASE-Please ignore")
    params.setdefault("communicationBody", "Testing supportd.")
    return str(client.create_case(**params)["caseId"])


def get_case(client: Any, case_id: str, **params: Any) -> dict[str, Any]:
    """The one case with this id, resolved or not."""
    params.setdefault("includeResolvedCases", True)
    cases = client.describe_cases(caseIdList=[case_id], **params)["cases"]
    assert [case["caseId"] for case in cases] == [case_id]
    return dict(cases[0])


def all_cases(client: Any, **params: Any) -> list[dict[str, Any]]:
    """Every case through botocore's paginator (which fails on a repeated token)."""
    paginator = client.get_paginator("describe_cases")
    return [case for page in paginator.paginate(**params) for case in page["cases"]]


def all_communications(client: Any, case_id: str, **params: Any) -> list[dict[str, Any]]:
    paginator = client.get_paginator("describe_communications")
    pages = paginator.paginate(caseId=case_id, **params)
    return [comm for page in pages for comm in page["communications"]]


def nulls(value: Any, path: str = "") -> Iterator[str]:
    """Paths of every JSON null in a decoded document."""
    if value is None:
        yield path or "."
    elif isinstance(value, dict):
        for key, item in value.items():
            yield from nulls(item, f"{path}.{key}")
    elif isinstance(value, list):
        for index, item in enumerate(value):
            yield from nulls(item, f"{path}[{index}]")


def restarted(server: ServerProcess) -> ServerProcess:
    """A new server process on the stopped server's data (same settings, new port)."""
    return replace(server, port=0, process=None, log_path=None).start()
