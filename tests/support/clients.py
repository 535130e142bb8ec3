"""Real AWS clients pointed at a supportd server."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import boto3
from botocore.config import Config


def boto3_client(url: str, account: str = "111122223333") -> Any:
    """A boto3 Support client; in open mode a 12-digit access key names the account."""
    return boto3.client(
        "support",
        endpoint_url=url,
        region_name="us-east-1",
        aws_access_key_id=account,
        aws_secret_access_key="not-checked-in-open-mode",
        config=Config(retries={"max_attempts": 1, "mode": "standard"}),
    )


def aws_cli(
    url: str, *args: str, account: str = "111122223333"
) -> subprocess.CompletedProcess[str]:
    """Run `aws support ...` (the awscli package) against the server; JSON output."""
    env = {
        **os.environ,
        "AWS_ACCESS_KEY_ID": account,
        "AWS_SECRET_ACCESS_KEY": "not-checked-in-open-mode",
        "AWS_DEFAULT_REGION": "us-east-1",
        "AWS_MAX_ATTEMPTS": "1",
        "AWS_CONFIG_FILE": os.devnull,
        "AWS_SHARED_CREDENTIALS_FILE": os.devnull,
    }
    aws = Path(sys.executable).with_name("aws")
    return subprocess.run(
        [str(aws), "support", *args, "--endpoint-url", url, "--output", "json"],
        capture_output=True,
        text=True,
        env=env,
        timeout=60,
        check=False,
    )


def cli_json(result: subprocess.CompletedProcess[str]) -> Any:
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout) if result.stdout.strip() else {}
