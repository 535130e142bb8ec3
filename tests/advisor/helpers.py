"""Helpers of the Trusted Advisor tests: the CLI, raw requests, waiting for a status."""

from __future__ import annotations

import json
import os
import subprocess
import time
from typing import Any

import httpx
from botocore.exceptions import ClientError

from tests.advisor.conftest import CHECKS_FILE, AdvisorServer
from tests.support.server import supportd_executable

TARGET_PREFIX = "AWSSupport_20130415"


def supportd(
    *args: str, stdin: str | None = None, env: dict[str, str] | None = None
) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [supportd_executable(), *args],
        capture_output=True,
        text=True,
        input=stdin,
        env={
            **{k: v for k, v in os.environ.items() if not k.startswith("SUPPORTD_")},
            **(env or {}),
        },
        timeout=60,
        check=False,
    )


def set_result(
    server: AdvisorServer, account: str, check_id: str, result: Any
) -> subprocess.CompletedProcess[str]:
    """`supportd advisor set-result ACCOUNT CHECK_ID --file -` on the server's store."""
    return supportd(
        "advisor",
        "set-result",
        account,
        check_id,
        "--file",
        "-",
        "--advisor-checks-file",
        str(CHECKS_FILE),
        *server.store_args,
        stdin=result if isinstance(result, str) else json.dumps(result),
    )


def seed(server: AdvisorServer, account: str, check_id: str, result: Any) -> None:
    done = set_result(server, account, check_id, result)
    assert done.returncode == 0, done.stderr


def post(server: AdvisorServer, account: str, operation: str, params: Any) -> httpx.Response:
    """The raw HTTP exchange, for what botocore would hide (0.0 versus 0)."""
    return httpx.post(
        server.url + "/",
        content=json.dumps(params).encode(),
        headers={
            "Content-Type": "application/x-amz-json-1.1",
            "X-Amz-Target": f"{TARGET_PREFIX}.{operation}",
            "Authorization": (
                f"AWS4-HMAC-SHA256 Credential={account}/20260101/us-east-1/support/aws4_request,"
                " SignedHeaders=host, Signature=00"
            ),
        },
        timeout=30,
    )


def error_of(call: Any, **params: Any) -> tuple[str, str]:
    try:
        call(**params)
    except ClientError as exc:
        error = exc.response["Error"]
        return str(error["Code"]), str(error["Message"])
    raise AssertionError(f"no error for {params}")


def refresh_status(client: Any, check_id: str) -> dict[str, Any]:
    [status] = client.describe_trusted_advisor_check_refresh_statuses(checkIds=[check_id])[
        "statuses"
    ]
    return dict(status)


def wait_for_status(
    client: Any, check_id: str, wanted: set[str], timeout_s: float = 10.0
) -> tuple[dict[str, Any], list[str]]:
    """Poll the refresh status until it is one of `wanted`; it and every status seen."""
    seen: list[str] = []
    deadline = time.monotonic() + timeout_s
    while True:
        status = refresh_status(client, check_id)
        if not seen or seen[-1] != status["status"]:
            seen.append(status["status"])
        if status["status"] in wanted:
            return status, seen
        assert time.monotonic() < deadline, f"{check_id} still {seen} after {timeout_s} s"
        time.sleep(0.02)
