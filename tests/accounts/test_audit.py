"""The audit trail: one row per API call (success, API error, authentication failure),
filtered and exported by `supportd audit`, never holding a body, a message or a secret,
and complete after a graceful stop (SIGTERM) however fast it followed the calls."""

from __future__ import annotations

import json
import signal
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from click.testing import CliRunner

from supportd import cli
from tests.accounts.conftest import ENV, SigV4Server, start_sigv4_server
from tests.accounts.signer import Key, call

FIELDS = {
    "eventTime",
    "eventName",
    "requestId",
    "accountId",
    "accessKeyId",
    "userIdentity",
    "sourceIPAddress",
    "userAgent",
    "httpStatus",
    "errorCode",
}


@pytest.fixture(scope="module")
def history(sigv4_server: SigV4Server) -> tuple[str, Key, dict[str, str]]:
    """An account with a few calls of each kind; request ids by what they were."""
    admin = sigv4_server.admin
    account_id = admin.account("enterprise")
    key = admin.key(account_id, "--user", "auditor")
    port = sigv4_server.port
    ids = {
        "create": call(
            port, key, "CreateCase", {"subject": "S", "communicationBody": "BODY-MARKER-7731"}
        ).request_id,
        "describe": call(port, key, "DescribeCases").request_id,
        "invalid": call(
            port,
            key,
            "CreateCase",
            {"subject": "S", "communicationBody": "x", "language": "xx-MARKER"},
        ).request_id,
        "not found": call(port, key, "ResolveCase", {"caseId": "case-nope"}).request_id,
        "bad signature": call(port, Key(key.access_key_id, "z" * 40), "DescribeCases").request_id,
    }
    admin.audit_rows(list(ids.values()), "--account", account_id)
    return account_id, key, ids


def test_rows_name_who_what_where_and_how_it_ended(
    sigv4_server: SigV4Server, history: tuple[str, Key, dict[str, str]]
) -> None:
    account_id, key, ids = history
    rows = sigv4_server.admin.audit_rows(list(ids.values()), "--account", account_id)
    for row in rows.values():
        assert set(row) == FIELDS
        assert row["accountId"] == account_id
        assert row["accessKeyId"] == key.access_key_id
        assert row["userIdentity"] == "auditor (User)"
        assert row["sourceIPAddress"] == "127.0.0.1"
        assert row["userAgent"] == ""  # the raw sender sends none
        datetime.strptime(row["eventTime"], "%Y-%m-%dT%H:%M:%S.%fZ")
    outcome = {
        name: (rows[i]["eventName"], rows[i]["httpStatus"], rows[i]["errorCode"])
        for name, i in ids.items()
    }
    assert outcome == {
        "create": ("CreateCase", 200, None),
        "describe": ("DescribeCases", 200, None),
        "invalid": ("CreateCase", 400, "InvalidParameterValueException"),
        "not found": ("ResolveCase", 400, "CaseIdNotFound"),
        "bad signature": ("DescribeCases", 403, "InvalidSignatureException"),
    }


def test_no_bodies_messages_or_secrets(
    sigv4_server: SigV4Server, history: tuple[str, Key, dict[str, str]]
) -> None:
    _, key, _ = history
    dump = json.dumps(sigv4_server.admin.audit())
    assert "MARKER" not in dump
    assert key.secret not in dump
    assert "BODY" not in dump


def test_filters(sigv4_server: SigV4Server, history: tuple[str, Key, dict[str, str]]) -> None:
    account_id, _, ids = history
    audit = sigv4_server.admin.audit

    def request_ids(*filters: str) -> set[str]:
        return {row["requestId"] for row in audit("--account", account_id, *filters)}

    assert request_ids() == set(ids.values())
    assert request_ids("--operation", "CreateCase") == {ids["create"], ids["invalid"]}
    assert request_ids("--error-code", "CaseIdNotFound") == {ids["not found"]}
    assert request_ids("--errors") == {ids["invalid"], ids["not found"], ids["bad signature"]}
    assert request_ids("--ok") == {ids["create"], ids["describe"]}
    assert request_ids("--since", "1h") == set(ids.values())
    assert request_ids("--until", "2000-01-01") == set()
    tomorrow = (datetime.now(UTC) + timedelta(days=1)).strftime("%Y-%m-%d")
    assert request_ids("--since", tomorrow) == set()
    assert request_ids("--since", "2000-01-01T00:00:00Z", "--until", tomorrow) == set(ids.values())
    assert len(audit("--account", account_id, "--limit", "2")) == 2
    # Oldest first.
    assert audit("--account", account_id)[0]["requestId"] == ids["create"]


def test_human_output_and_file_export(
    sigv4_server: SigV4Server, history: tuple[str, Key, dict[str, str]], tmp_path: Path
) -> None:
    account_id, _, ids = history
    args = ["audit", "--account", account_id, *sigv4_server.admin.store_args]
    text = CliRunner().invoke(cli.main, args, env=ENV)
    assert text.exit_code == 0, text.output
    lines = text.output.splitlines()
    assert len(lines) == len(ids)
    assert "CaseIdNotFound" in lines[3] and ids["not found"] in lines[3]

    out = tmp_path / "audit.jsonl"
    exported = CliRunner().invoke(cli.main, [*args, "--json", "-o", str(out)], env=ENV)
    assert exported.exit_code == 0, exported.output
    rows = [json.loads(line) for line in out.read_text().splitlines()]
    assert [row["requestId"] for row in rows] == list(ids.values())

    bad = CliRunner().invoke(cli.main, [*args, "--since", "yesterday-ish"], env=ENV)
    assert bad.exit_code == 2 and "is not a time" in bad.output


def test_every_acknowledged_call_is_recorded_after_sigterm(
    request: pytest.FixtureRequest, store_kind: str, tmp_path: Path
) -> None:
    server = start_sigv4_server(request, store_kind, tmp_path / "data", "--limits", "none")
    try:
        admin = server.admin
        account_id = admin.account("enterprise")
        key = admin.key(account_id)
        ids = [call(server.port, key, "DescribeServices").request_id for _ in range(40)]
    finally:
        # Straight after the last answer: the rows may still be queued.
        assert server.process.stop(signal.SIGTERM) == 0
    rows = {row["requestId"] for row in admin.audit("--account", account_id)}
    assert set(ids) <= rows
