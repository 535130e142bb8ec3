"""Signatures made by real clients are accepted: boto3, the AWS CLI and an independent
signer (tests/accounts/signer.py, from the AWS specification), with the variations
clients produce: a charset in Content-Type, Host without the port, every header
signed, x-amz-content-sha256, repeated and oddly spaced headers, the configured regions, session
tokens. And submittedBy names the caller and the account's e-mail."""

from __future__ import annotations

import hashlib
import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from botocore.exceptions import ClientError

from tests.accounts.conftest import REGIONS, SigV4Server, client
from tests.accounts.signer import JSON_11, TARGET_PREFIX, Headers, Key, call, send, sign


def test_boto3_with_a_long_term_key(sigv4_server: SigV4Server, enterprise: tuple[str, Key]) -> None:
    account_id, key = enterprise
    support = client(sigv4_server.url, key)
    case_id = support.create_case(subject="signed by boto3", communicationBody="hello")["caseId"]
    assert case_id.startswith(f"case-{account_id}-")
    support.add_communication_to_case(caseId=case_id, communicationBody="a reply")
    [case] = support.describe_cases(caseIdList=[case_id])["cases"]
    assert case["submittedBy"] == f"owner-{account_id}@example.org"
    comms = support.describe_communications(caseId=case_id)["communications"]
    assert {c["submittedBy"] for c in comms} == {f"jane (User) <owner-{account_id}@example.org>"}


@pytest.mark.parametrize("region", REGIONS.split(","))
def test_boto3_in_the_configured_regions(
    sigv4_server: SigV4Server, enterprise: tuple[str, Key], region: str
) -> None:
    support = client(sigv4_server.url, enterprise[1], region=region)
    assert support.describe_severity_levels()["severityLevels"]


@pytest.mark.parametrize("region", ["eu-central-1", "ap-southeast-2"])
def test_boto3_in_another_region_is_refused(
    sigv4_server: SigV4Server, enterprise: tuple[str, Key], region: str
) -> None:
    support = client(sigv4_server.url, enterprise[1], region=region)
    with pytest.raises(ClientError) as info:
        support.describe_severity_levels()
    assert info.value.response["Error"]["Code"] == "InvalidSignatureException"
    assert info.value.response["ResponseMetadata"]["HTTPStatusCode"] == 403


def test_boto3_with_a_temporary_key_and_its_session_token(sigv4_server: SigV4Server) -> None:
    admin = sigv4_server.admin
    account_id = admin.account("business", email="team@example.net")
    key = admin.key(account_id, "--temporary", "--user", "deploy-role")
    assert key.access_key_id.startswith("ASIA") and key.session_token
    support = client(sigv4_server.url, key)
    case_id = support.create_case(subject="temporary", communicationBody="hi")["caseId"]
    [comm] = support.describe_communications(caseId=case_id)["communications"]
    assert comm["submittedBy"] == "deploy-role (Role) <team@example.net>"


def test_aws_cli(sigv4_server: SigV4Server, enterprise: tuple[str, Key], tmp_path: Path) -> None:
    account_id, key = enterprise
    env = {
        **os.environ,
        "AWS_ACCESS_KEY_ID": key.access_key_id,
        "AWS_SECRET_ACCESS_KEY": key.secret,
        "AWS_DEFAULT_REGION": "eu-west-1",
        "AWS_MAX_ATTEMPTS": "1",
        "AWS_CONFIG_FILE": os.devnull,
        "AWS_SHARED_CREDENTIALS_FILE": os.devnull,
    }
    aws = Path(sys.executable).with_name("aws")

    def run(*args: str) -> Any:
        result = subprocess.run(
            [str(aws), "support", *args, "--endpoint-url", sigv4_server.url, "--output", "json"],
            capture_output=True,
            text=True,
            env=env,
            timeout=60,
            check=False,
        )
        assert result.returncode == 0, result.stderr
        return json.loads(result.stdout)

    created = run(
        "create-case", "--subject", "from the AWS CLI", "--communication-body", "signed by awscli"
    )
    assert created["caseId"].startswith(f"case-{account_id}-")
    [case] = run("describe-cases", "--case-id-list", created["caseId"])["cases"]
    assert case["subject"] == "from the AWS CLI"

    env["AWS_SECRET_ACCESS_KEY"] = "wrong" + key.secret[5:]
    result = subprocess.run(
        [str(aws), "support", "describe-services", "--endpoint-url", sigv4_server.url],
        capture_output=True,
        text=True,
        env=env,
        timeout=60,
        check=False,
    )
    assert result.returncode != 0
    assert "InvalidSignatureException" in result.stderr


def _headers(port: int, operation: str, **overrides: str) -> Headers:
    headers = {
        "Host": f"127.0.0.1:{port}",
        "Content-Type": JSON_11,
        "X-Amz-Target": f"{TARGET_PREFIX}.{operation}",
    }
    headers.update(overrides)
    return list(headers.items())


VARIATIONS: dict[str, Any] = {
    "botocore's choice of headers": {},
    "charset in Content-Type": {"content_type": JSON_11 + "; charset=utf-8"},
    "Host without the port": {"host": "127.0.0.1"},
    "Host as a name": {"host": "localhost"},
    "every header signed": {
        "extra": [
            ("User-Agent", "independent-signer/1.0 (tests)"),
            ("Accept", "application/json"),
            ("Accept-Encoding", "identity"),
            ("X-Amz-Content-SHA256", "BODY_HASH"),
            ("Amz-Sdk-Invocation-Id", "8d5b1a2e-1c1e-4c8e-9c55-0a3c2f1f8e11"),
        ],
        "sign_length": True,
    },
    "x-amz-content-sha256 signed": {"extra": [("x-amz-content-sha256", "BODY_HASH")]},
    "x-amz-content-sha256 sent but not signed": {
        "extra": [("x-amz-content-sha256", "BODY_HASH")],
        "signed": ["content-type", "host", "x-amz-date", "x-amz-target"],
    },
    "spaces to trim and a repeated header": {
        "extra": [("X-Custom", "  a   b  "), ("X-Custom", "c")],
    },
    "lower-case header names": {"lower": True},
    "another accepted region": {"region": "eu-west-1"},
}


@pytest.mark.parametrize("variation", list(VARIATIONS), ids=list(VARIATIONS))
def test_independent_signer_variations(
    sigv4_server: SigV4Server, enterprise: tuple[str, Key], variation: str
) -> None:
    options = VARIATIONS[variation]
    port = sigv4_server.port
    body = json.dumps({"subject": f"variation: {variation}", "communicationBody": "x"}).encode()
    body_hash = hashlib.sha256(body).hexdigest()
    overrides = {}
    if "content_type" in options:
        overrides["Content-Type"] = options["content_type"]
    if "host" in options:
        overrides["Host"] = options["host"]
    headers = _headers(port, "CreateCase", **overrides)
    headers += [(n, body_hash if v == "BODY_HASH" else v) for n, v in options.get("extra", [])]
    if options.get("sign_length"):
        headers.append(("Content-Length", str(len(body))))
    if options.get("lower"):
        headers = [(n.lower(), v) for n, v in headers]
    signed = sign(
        enterprise[1],
        headers,
        body,
        region=options.get("region", "us-east-1"),
        signed=options.get("signed"),
    )
    answer = send(port, signed, body)
    assert answer.status == 200, answer.body
    assert answer.body["caseId"].startswith(f"case-{enterprise[0]}-")


def test_independent_signer_with_a_session_token(sigv4_server: SigV4Server) -> None:
    admin = sigv4_server.admin
    account_id = admin.account("enterprise")
    key = admin.key(account_id, "--temporary", "--expires-in", "600")
    answer = call(sigv4_server.port, key, "DescribeServices", {"serviceCodeList": ["general-info"]})
    assert answer.status == 200, answer.body
    assert [s["code"] for s in answer.body["services"]] == ["general-info"]
