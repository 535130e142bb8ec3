"""`supportd staff` and `supportd cases` through click's CliRunner: on the server's store
itself, and against the running server's staff API (--url / --token)."""

from __future__ import annotations

import json
from typing import Any

import pytest

from supportd.cli import staff as cli_staff
from tests.staff.conftest import StaffServer, customer_case, new_case


def _json(result: Any) -> Any:
    return json.loads(result.output)


@pytest.mark.parametrize("mode", ["local", "remote"])
def test_case_commands(staff_server: StaffServer, customer: Any, mode: str) -> None:
    run = staff_server.cli if mode == "local" else staff_server.remote
    acting = ["--as", "admin"] if mode == "local" else []
    case_id = new_case(customer, subject=f"CLI {mode}", severityCode="normal")
    display_id = customer_case(customer, case_id)["displayId"]

    listed = _json(run("cases", "list", "--status", "unassigned", "--limit", "100", "--json"))
    assert case_id in [c["caseId"] for c in listed["cases"]]
    table = run("cases", "list", "--sort", "created", "--limit", "5").output
    assert table.splitlines()[0].startswith("DISPLAY ID")
    assert display_id in table

    run("cases", "assign", display_id, *acting)
    replied = _json(
        run(
            "cases",
            "reply",
            case_id,
            "--body",
            "Try rebooting.",
            "--status",
            "pending-customer-action",
            *acting,
            "--json",
        )
    )
    assert replied["case"]["status"] == "pending-customer-action"
    run("cases", "note", display_id, "--body", "internal only", *acting)
    run("cases", "status", display_id, "work-in-progress", *acting)

    shown = _json(run("cases", "show", display_id, "--json"))
    assert [m["body"] for m in shown["communications"]] == [
        "Testing the support side.",
        "Try rebooting.",
    ]
    assert [n["body"] for n in shown["notes"]] == ["internal only"]
    text = run("cases", "show", case_id).output
    assert "internal only" in text and "Try rebooting." in text and "history:" in text

    comms = customer.describe_communications(caseId=case_id)["communications"]
    assert comms[0]["body"] == "Try rebooting."
    assert comms[0]["submittedBy"] == "Amazon Web Services"

    found = _json(run("cases", "search", f"CLI {mode}", "--json"))
    assert case_id in [r["case"]["caseId"] for r in found["results"]]
    assert found["truncated"] is False

    resolved = run("cases", "resolve", display_id, *acting).output
    assert "work-in-progress -> resolved" in resolved
    assert customer_case(customer, case_id)["status"] == "resolved"

    refused = run("cases", "status", display_id, "reopened", *acting, ok=False)
    assert refused.exit_code == 1
    assert "illegal_transition" in refused.output
    missing = run("cases", "show", "1999999999", ok=False)
    assert missing.exit_code == 1 and "case_not_found" in missing.output


def test_the_same_json_locally_and_remotely(staff_server: StaffServer, customer: Any) -> None:
    case_id = new_case(customer)
    local = _json(staff_server.cli("cases", "show", case_id, "--json"))
    remote = _json(staff_server.remote("cases", "show", case_id, "--json"))
    assert local == remote


def test_staff_commands(staff_server: StaffServer) -> None:
    cli = staff_server.cli
    created = _json(cli("staff", "create", "cli-agent", "--email", "c@example.com", "--json"))
    assert created["staff"]["role"] == "agent"
    duplicate = cli("staff", "create", "cli-agent", "--email", "c@example.com", ok=False)
    assert duplicate.exit_code == 1 and "exists" in duplicate.output

    issued = cli("staff", "token", "cli-agent")
    token = issued.output.split()[-1]  # the last word
    assert token.startswith("sdst_")
    me = staff_server.remote("cases", "list", "--assignee", "me", "--json", token=token)
    assert _json(me)["cases"] == []

    listed = cli("staff", "list").output
    assert "cli-agent" in listed and "admin" in listed
    tokens = _json(cli("staff", "tokens", "cli-agent", "--json"))["tokens"]
    assert [t["active"] for t in tokens] == [True]
    assert token not in json.dumps(tokens)  # shown once, never again

    # Remote administration (the admin's token), then revocation.
    second = staff_server.remote("staff", "token", "cli-agent").output.split()[-1]
    staff_server.remote("staff", "revoke", tokens[0]["tokenId"])
    refused = staff_server.remote("cases", "list", token=token, ok=False)
    assert refused.exit_code == 1 and "revoked" in refused.output
    staff_server.remote("cases", "list", token=second)

    cli("staff", "disable", "cli-agent")
    disabled = staff_server.remote("cases", "list", token=second, ok=False)
    assert "disabled" in disabled.output
    # Enabled again on the local store: the old token stays dead.
    cli("staff", "enable", "cli-agent")
    revived = staff_server.remote("cases", "list", token=second, ok=False)
    assert revived.exit_code == 1 and "revoked" in revived.output
    cli("staff", "disable", "cli-agent")
    assert not _json(cli("staff", "list", "--json"))["staff"][-1]["active"]
    acting = cli("cases", "list", "--assignee", "me", ok=False)
    assert acting.exit_code == 1 and "--assignee" in acting.output


def test_local_actions_need_an_acting_staff_member(
    staff_server: StaffServer, customer: Any
) -> None:
    case_id = new_case(customer)
    nobody = staff_server.cli("cases", "reply", case_id, "--body", "hi", ok=False)
    assert nobody.exit_code == 1 and "--as" in nobody.output
    stranger = staff_server.cli(
        "cases", "reply", case_id, "--body", "hi", "--as", "ghost", ok=False
    )
    assert "staff_not_found" in stranger.output
    no_token = staff_server.cli("cases", "list", "--url", staff_server.url, ok=False)
    assert no_token.exit_code == 2 and "--token" in no_token.output


def test_search_text_says_when_results_were_cut() -> None:
    cut = "(cut: only the newest matches were ranked; add words or filters)"
    assert cli_staff._search_text({"results": [], "truncated": True}).splitlines() == [
        "(no matches)",
        cut,
    ]
    assert cut not in cli_staff._search_text({"results": [], "truncated": False})
