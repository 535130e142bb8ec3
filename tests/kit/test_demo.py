"""`supportd demo`: a store filled with realistic data, read back through a real server
(boto3 as each customer, the staff API as support), on both stores."""

from __future__ import annotations

import json
import sqlite3
import subprocess
import urllib.request
from collections import Counter
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.support import postgres
from tests.support.clients import boto3_client
from tests.support.server import ServerProcess, supportd_executable

CASES = 40


def supportd(*args: str, check: bool = True) -> subprocess.CompletedProcess[str]:
    result = subprocess.run(
        [supportd_executable(), *args], capture_output=True, text=True, timeout=300, check=False
    )
    if check:
        assert result.returncode == 0, result.stderr
    return result


class Demo:
    def __init__(self, server: ServerProcess, store: list[str], summary: dict[str, Any]) -> None:
        self.server = server
        self.store = store  # the store options of the CLI
        self.summary = summary
        token = supportd("staff", "token", "alice", *store).stdout.split()[-1]
        self.token = token

    def cases(self, account: str) -> list[dict[str, Any]]:
        client = boto3_client(self.server.url, account)
        pages = client.get_paginator("describe_cases").paginate(includeResolvedCases=True)
        return [case for page in pages for case in page["cases"]]

    def staff_case(self, case_id: str) -> dict[str, Any]:
        request = urllib.request.Request(
            f"{self.server.url}/staff/api/cases/{case_id}",
            headers={"Authorization": f"Bearer {self.token}"},
        )
        with urllib.request.urlopen(request, timeout=30) as answer:
            found: dict[str, Any] = json.loads(answer.read())
            return found


@pytest.fixture(scope="module")
def demo(
    request: pytest.FixtureRequest, store_kind: str, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Demo]:
    data = tmp_path_factory.mktemp(f"demo-{store_kind}") / "data"
    url = ""
    if store_kind == "postgresql":
        databases: postgres.ThrowawayDatabases = request.getfixturevalue("postgres_databases")
        url = databases.new_database()
    store = ["--database", url] if url else ["--data-dir", str(data)]
    made = supportd(
        "demo", "--accounts", "3", "--cases", str(CASES), "--seed", "7", "--json", *store
    )
    server = ServerProcess(data_dir=data, database_url=url).start()
    try:
        yield Demo(server, store, json.loads(made.stdout))
    finally:
        server.stop()


def test_the_counts_are_what_the_summary_says(demo: Demo) -> None:
    summary = demo.summary
    assert len(summary["accounts"]) == 3
    assert summary["cases"] == CASES
    assert summary["staff"] == ["alice", "bob", "carol", "dmitri"]
    cases = [case for account in summary["accounts"] for case in demo.cases(account)]
    assert len(cases) == CASES
    assert Counter(case["status"] for case in cases) == Counter(summary["statuses"])
    assert Counter(case["severityCode"] for case in cases) == Counter(summary["severities"])


def test_cases_vary_in_status_severity_service_and_account(demo: Demo) -> None:
    summary = demo.summary
    assert len(summary["statuses"]) >= 4
    assert len(summary["severities"]) >= 3
    per_account = [demo.cases(account) for account in summary["accounts"]]
    assert all(per_account)  # every account has cases
    services = {case["serviceCode"] for cases in per_account for case in cases}
    assert len(services) >= 5
    subjects = [case["subject"] for cases in per_account for case in cases]
    assert len(set(subjects)) >= CASES // 2


def test_conversations_hold_both_sides_notes_and_attachments(demo: Demo) -> None:
    summary = demo.summary
    authors: Counter[str] = Counter()
    attachments = notes = 0
    for account in summary["accounts"]:
        client = boto3_client(demo.server.url, account)
        for case in demo.cases(account):
            seen = demo.staff_case(case["caseId"])
            authors.update(entry["authorKind"] for entry in seen["communications"])
            notes += len(seen["notes"])
            pages = client.get_paginator("describe_communications").paginate(caseId=case["caseId"])
            for page in pages:
                for comm in page["communications"]:
                    attachments += len(comm["attachmentSet"])
    assert authors["customer"] == summary["customerMessages"]
    assert authors["support"] == summary["supportReplies"] > 0
    assert notes == summary["notes"] > 0
    assert attachments == summary["attachments"] > 0


def test_every_account_has_trusted_advisor_results(demo: Demo) -> None:
    seen: Counter[str] = Counter()
    for account in demo.summary["accounts"]:
        client = boto3_client(demo.server.url, account)
        ids = [c["id"] for c in client.describe_trusted_advisor_checks(language="en")["checks"]]
        summaries = client.describe_trusted_advisor_check_summaries(checkIds=ids)["summaries"]
        statuses = [s["status"] for s in summaries if s["status"] != "not_available"]
        assert len(statuses) == 12
        seen.update(statuses)
    assert demo.summary["advisorResults"] == 36
    assert seen["ok"] > 0 and seen["warning"] + seen["error"] > 0


# --- deterministic, refused twice, bad arguments (SQLite: the CLI's behaviour) ----------------


def _story(data: Path) -> list[tuple[Any, ...]]:
    with sqlite3.connect(data / "supportd.db") as db:
        columns = "account_id, subject, severity_code, status, service_code"
        return db.execute(f"SELECT {columns} FROM cases ORDER BY seq").fetchall()


def test_the_same_seed_tells_the_same_story(tmp_path: Path) -> None:
    runs = {}
    for name, seed in (("a", "3"), ("b", "3"), ("c", "4")):
        made = supportd(
            "demo", "--cases", "10", "--seed", seed, "--json", "--data-dir", str(tmp_path / name)
        )
        runs[name] = (json.loads(made.stdout), _story(tmp_path / name))
    assert runs["a"] == runs["b"]
    assert runs["a"][1] != runs["c"][1]
    assert len(runs["a"][1]) == 10


def test_a_second_run_with_the_same_seed_is_refused_and_writes_nothing(tmp_path: Path) -> None:
    data = str(tmp_path / "data")
    supportd("demo", "--accounts", "1", "--cases", "5", "--seed", "9", "--data-dir", data)
    before = _story(tmp_path / "data")
    again = supportd(
        "demo", "--accounts", "1", "--cases", "5", "--seed", "9", "--data-dir", data, check=False
    )
    assert again.returncode == 1
    assert "exists already: use another --seed, or an empty store" in again.stderr
    assert "Traceback" not in again.stderr
    assert _story(tmp_path / "data") == before


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--accounts", "0"], "Invalid value for '--accounts'"),
        (["--cases", "-1"], "Invalid value for '--cases'"),
        (["--days", "0"], "Invalid value for '--days'"),
    ],
)
def test_bad_arguments_are_usage_errors(tmp_path: Path, args: list[str], message: str) -> None:
    result = supportd("demo", *args, "--data-dir", str(tmp_path / "data"), check=False)
    assert result.returncode == 2
    assert message in result.stderr
    assert not (tmp_path / "data").exists()
