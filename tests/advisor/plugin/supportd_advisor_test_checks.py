"""Check providers for the Trusted Advisor tests: a real plug-in distribution (see the
.dist-info next to it) that a server finds through the `supportd.advisor_checks` entry
point group once this directory is on its PYTHONPATH.

Every run is appended to the file named by ADVISOR_TEST_LOG (one line: provider,
account, check), so tests can count runs across server processes.
"""

from __future__ import annotations

import asyncio
import os
import time
from typing import Any

SLOW_S = 0.6


def _log(name: str, request: Any) -> None:
    path = os.environ.get("ADVISOR_TEST_LOG")
    if path:
        with open(path, "a", encoding="utf-8") as log:
            log.write(f"{name} {request.account_id} {request.check.id} {os.getpid()}\n")


def _one_resource(status: str) -> dict[str, Any]:
    return {
        "flaggedResources": [
            {
                "status": status,
                "region": "eu-west-1",
                "resourceId": "res-1",
                "metadata": ["Yellow", "eu-west-1", "res-1"],
            }
        ]
    }


async def slow(request: Any) -> dict[str, Any]:
    _log("slow", request)
    await asyncio.sleep(SLOW_S)
    return _one_resource("warning")


async def quick(request: Any) -> dict[str, Any]:
    _log("quick", request)
    return {"status": "ok", "resourcesSummary": {"resourcesProcessed": 4}}


def blocking(request: Any) -> dict[str, Any]:
    """A plain function: runs in a thread."""
    _log("blocking", request)
    time.sleep(0.05)
    return _one_resource("error")


async def raises(request: Any) -> dict[str, Any]:
    _log("raises", request)
    raise RuntimeError("the provider exploded")


async def hangs(request: Any) -> dict[str, Any]:
    _log("hangs", request)
    await asyncio.Event().wait()
    raise AssertionError("unreachable")


async def invalid(request: Any) -> dict[str, Any]:
    _log("invalid", request)
    return {"flaggedResources": [{"status": "warning", "resourceId": "r", "metadata": ["a"]}]}


async def elastic_ips(request: Any) -> dict[str, Any]:
    """A real cost-optimizing check: savings are doubles, given here as integers."""
    _log("elastic_ips", request)
    return {
        "categorySpecificSummary": {
            "costOptimizing": {"estimatedMonthlySavings": 7, "estimatedPercentMonthlySavings": 0}
        },
        "flaggedResources": [
            {
                "status": "warning",
                "region": "us-east-1",
                "resourceId": "eipalloc-1",
                "metadata": ["us-east-1", "203.0.113.7"],
            }
        ],
    }


async def names_no_check(request: Any) -> dict[str, Any]:
    raise AssertionError("never called: its check is not in the catalogue")
