"""The staff console over HTTP, on both stores: a real `supportd serve` per store for the
module, staff made with the CLI, forms posted as a browser posts them (httpx with a
cookie jar and the page's CSRF token). Sign-in and sessions, CSRF, roles, escaping, the
queue, search, case actions, canned replies and attachment downloads. (The browser
itself, JavaScript and accessibility: test_console_browser.py.)"""

from __future__ import annotations

import html
import re
from collections.abc import Iterator
from html.parser import HTMLParser
from pathlib import Path
from typing import Any

import httpx
import pytest
from click.testing import CliRunner
from markupsafe import escape as markup_escape

from supportd import cli
from supportd.web.templating import Templates
from tests.support.clients import boto3_client
from tests.support.server import ServerProcess
from tests.web.console_kit import (
    PASSWORD,
    ConsoleServer,
    ConsoleSession,
    Staff,
    csrf_token,
    start_server,
)

MINUTE_MS = 60_000


@pytest.fixture(scope="module")
def console(
    request: pytest.FixtureRequest, store_kind: str, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[ConsoleServer]:
    database_url = (
        request.getfixturevalue("postgres_databases").new_database()
        if store_kind == "postgresql"
        else ""
    )
    server = start_server(
        tmp_path_factory.mktemp(f"console-http-{store_kind}"),
        database_url,
        # Every test signs in from 127.0.0.1: only the per-address limit is raised, so
        # the per-e-mail limit can be tested without locking the others out.
        env={"SUPPORTD_WEB_SIGN_IN_MAX_PER_ADDRESS": "10000"},
    )
    yield server
    server.process.stop()


@pytest.fixture(scope="module")
def admin(console: ConsoleServer) -> Staff:
    return console.staff["admin"]


@pytest.fixture
def agent(console: ConsoleServer) -> Staff:
    return console.add_staff("agent")


@pytest.fixture
def admin_session(console: ConsoleServer, admin: Staff) -> Iterator[ConsoleSession]:
    session = console.session(admin)
    yield session
    session.close()


@pytest.fixture
def agent_session(console: ConsoleServer, agent: Staff) -> Iterator[ConsoleSession]:
    session = console.session(agent)
    yield session
    session.close()


def file_case(console: ConsoleServer, account: str, **params: Any) -> tuple[str, str]:
    """A case filed through boto3: (case id, display id)."""
    params.setdefault("subject", "TEST CASE-Please ignore")
    params.setdefault("communicationBody", "Our instance does not start.")
    params.setdefault("serviceCode", "general-info")
    params.setdefault("categoryCode", "using-aws")
    params.setdefault("severityCode", "low")
    client = boto3_client(console.url, account)
    try:
        case_id = client.create_case(**params)["caseId"]
        found = client.describe_cases(caseIdList=[case_id], includeResolvedCases=True)
        return case_id, found["cases"][0]["displayId"]
    finally:
        client.close()


def customer_view(console: ConsoleServer, account: str, case_id: str) -> dict[str, Any]:
    """The case and its communications as the customer sees them through boto3."""
    client = boto3_client(console.url, account)
    try:
        case = client.describe_cases(caseIdList=[case_id], includeResolvedCases=True)["cases"][0]
        comms = client.describe_communications(caseId=case_id)["communications"]
        return {"case": case, "communications": comms}
    finally:
        client.close()


def rows(page: str) -> list[str]:
    """Display ids of the queue's rows, in order."""
    return re.findall(r'<tr data-case="(\d+)"', page)


def escape(text: str) -> str:
    """The text as the templates write it (Jinja's autoescape)."""
    return str(markup_escape(text))


def plant(client: httpx.Client, name: str, value: str) -> None:
    """A cookie as the server sets it (host-only, scoped to /console), so that the
    server's own Set-Cookie replaces it as in a browser."""
    client.cookies.set(name, value, domain="127.0.0.1", path="/console")


def signed_out(response: httpx.Response) -> bool:
    return response.status_code == 303 and response.headers["location"].startswith(
        "/console/sign-in"
    )


class ActiveMarkup(HTMLParser):
    """Elements and attributes that would run or load something: what an injected
    string must never become."""

    def __init__(self) -> None:
        super().__init__()
        self.found: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag in ("img", "svg", "iframe", "object", "embed", "b", "i"):
            self.found.append(tag)
        if tag == "script" and not dict(attrs).get("src"):
            self.found.append("inline script")
        self.found.extend(f"{tag}[{name}]" for name, _ in attrs if name.startswith("on"))


def active_markup(page: str) -> list[str]:
    parser = ActiveMarkup()
    parser.feed(page)
    return parser.found


# --- staff passwords --------------------------------------------------------------------


def test_staff_password_cli_sets_a_password_and_refuses_bad_ones(
    console: ConsoleServer,
) -> None:
    member = console.add_staff("agent")
    session = console.session(member)
    assert session.get("/console/queue").status_code == 200

    short = console.cli(
        "staff", "password", member.name, "--password-stdin", input="short\n", ok=False
    )
    assert short.exit_code != 0
    assert "at least 10 characters" in short.output
    missing = console.cli("staff", "password", member.name, ok=False)
    assert missing.exit_code != 0
    assert "--password-stdin" in missing.output
    unknown = console.cli(
        "staff", "password", "nobody-here", "--password-stdin", input=PASSWORD + "\n", ok=False
    )
    assert unknown.exit_code != 0
    assert "no staff member" in unknown.output
    # A second staff member with the same e-mail address cannot also sign in with it.
    console.cli("staff", "create", member.name + "-twin", "--email", member.email.upper())
    twin = console.cli(
        "staff", "password", member.name + "-twin", "--password-stdin", input=PASSWORD + "\n",
        ok=False,
    )  # fmt: skip
    assert twin.exit_code != 0
    assert "same e-mail address" in twin.output

    # A new password ends the member's sessions; the old password stops working.
    changed = console.cli(
        "staff", "password", member.name, "--password-stdin", "--json",
        input="a brand new passphrase\n",
    )  # fmt: skip
    assert '"consolePassword": true' in changed.output
    assert signed_out(session.get("/console/queue"))
    old = ConsoleSession(httpx.Client(base_url=console.url))
    assert old.sign_in(member.email, PASSWORD).status_code == 400
    assert old.sign_in(member.email, "a brand new passphrase").status_code == 303
    old.close()
    session.close()


# --- signing in and out -----------------------------------------------------------------


def test_sign_in_page_has_the_labelled_fields(console: ConsoleServer) -> None:
    page = httpx.get(console.url + "/console/sign-in")
    assert page.status_code == 200
    assert '<label for="email">Email</label>' in page.text
    assert '<label for="password">Password</label>' in page.text
    assert '<button type="submit" class="button">Sign in</button>' in page.text
    for header, value in (
        ("x-frame-options", "DENY"),
        ("x-content-type-options", "nosniff"),
        ("cache-control", "no-store"),
    ):
        assert page.headers[header] == value
    csp = page.headers["content-security-policy"]
    assert "script-src 'self'" in csp
    assert "frame-ancestors 'none'" in csp
    assert "unsafe-inline" not in csp
    assert active_markup(page.text) == []


def test_a_wrong_password_or_unknown_email_reads_the_same(
    console: ConsoleServer, agent: Staff
) -> None:
    answers = []
    for email, password in ((agent.email, "not the password"), ("nobody@example.com", PASSWORD)):
        session = ConsoleSession(httpx.Client(base_url=console.url))
        response = session.sign_in(email, password)
        assert response.status_code == 400
        assert "supportd_console=" not in response.headers.get("set-cookie", "")
        answers.append(re.search(r"You are not signed in</h2>\s*<p>(.*?)</p>", response.text))
        # What was typed is kept (escaped); the password never comes back.
        assert f'value="{html.escape(email)}"' in response.text
        assert password not in response.text
        session.close()
    assert [a.group(1) for a in answers if a] == ["The email address or password is incorrect."] * 2
    empty = ConsoleSession(httpx.Client(base_url=console.url))
    response = empty.sign_in("", "")
    assert response.status_code == 400
    assert "Enter your email address and password." in response.text
    empty.close()


def test_sign_in_is_throttled_per_email_address(console: ConsoleServer) -> None:
    member = console.add_staff("agent")
    session = ConsoleSession(httpx.Client(base_url=console.url))
    for _ in range(5):
        assert session.sign_in(member.email, "wrong wrong wrong").status_code == 400
    throttled = session.sign_in(member.email, member.password)  # right, but too late
    assert throttled.status_code == 429
    assert "Too many failed sign-in attempts. Wait" in throttled.text
    session.close()
    # Another staff member from the same address is not held up.
    other = console.add_staff("agent")
    fine = ConsoleSession(httpx.Client(base_url=console.url))
    assert fine.sign_in(other.email, other.password).status_code == 303
    fine.close()


def test_a_disabled_staff_member_cannot_sign_in(console: ConsoleServer) -> None:
    member = console.add_staff("agent")
    console.cli("staff", "disable", member.name)
    session = ConsoleSession(httpx.Client(base_url=console.url))
    response = session.sign_in(member.email, member.password)
    assert response.status_code == 400
    assert "This staff member is disabled" in response.text
    session.close()


def test_no_session_fixation(console: ConsoleServer, agent: Staff) -> None:
    """A session id chosen before sign-in never becomes a signed-in one: sign-in makes a
    new id (and deletes the one presented, if it was a session)."""
    chosen = "attacker-chosen-session-id-0123456789"
    victim = ConsoleSession(httpx.Client(base_url=console.url))
    plant(victim.client, "supportd_console", chosen)
    assert victim.sign_in(agent.email, agent.password).status_code == 303
    assert victim.client.cookies["supportd_console"] != chosen
    assert victim.get("/console/queue").status_code == 200
    attacker = httpx.Client(base_url=console.url, cookies={"supportd_console": chosen})
    assert signed_out(attacker.get("/console/queue"))
    attacker.close()
    victim.close()


def test_sign_in_replaces_the_session_the_browser_presented(
    console: ConsoleServer, agent: Staff
) -> None:
    session = console.session(agent)
    old_id = session.client.cookies["supportd_console"]
    # Straight to the sign-in form (as after a session expired in the browser's view).
    page = ConsoleSession(httpx.Client(base_url=console.url))
    plant(page.client, "supportd_console", old_id)
    plant(page.client, "supportd_console_form", "f" * 43)
    response = page.client.post(
        "/console/sign-in",
        data={"csrf_token": "f" * 43, "email": agent.email, "password": agent.password},
    )
    assert response.status_code == 303
    new_id = page.client.cookies["supportd_console"]
    assert new_id != old_id
    # The session id presented at sign-in is gone from the server.
    assert signed_out(session.get("/console/queue"))
    assert page.get("/console/queue").status_code == 200
    session.close()
    page.close()


def test_sign_out_ends_the_session_on_the_server(console: ConsoleServer, agent: Staff) -> None:
    session = console.session(agent)
    cookie = session.client.cookies["supportd_console"]
    # Without the form's token nothing happens.
    refused = session.post("/console/sign-out", token="")
    assert refused.status_code == 403
    assert session.get("/console/queue").status_code == 200
    out = session.post("/console/sign-out")
    assert out.status_code == 303
    assert out.headers["location"] == "/console/sign-in?done=signed-out"
    assert "supportd_console=" in out.headers["set-cookie"]
    # The same cookie, kept by an attacker, no longer opens anything.
    replay = httpx.Client(base_url=console.url, cookies={"supportd_console": cookie})
    assert signed_out(replay.get("/console/queue"))
    assert replay.get("/console/queue/updates").status_code == 401
    replay.close()
    session.close()


def test_disabling_a_staff_member_ends_their_sessions_at_once(
    console: ConsoleServer, admin_session: ConsoleSession
) -> None:
    member = console.add_staff("agent")
    session = console.session(member)
    cookie = session.client.cookies["supportd_console"]
    assert session.get("/console/queue").status_code == 200
    disabled = admin_session.post(f"/console/staff/{member.name}/disable")
    assert disabled.status_code == 303
    assert signed_out(session.get("/console/queue"))
    # Enabled again, the old session stays ended.
    assert admin_session.post(f"/console/staff/{member.name}/enable").status_code == 303
    replay = httpx.Client(base_url=console.url, cookies={"supportd_console": cookie})
    assert signed_out(replay.get("/console/queue"))
    replay.close()
    session.close()


def test_pages_need_a_session_and_come_back_after_sign_in(
    console: ConsoleServer, agent: Staff
) -> None:
    anonymous = httpx.Client(base_url=console.url)
    response = anonymous.get("/console/queue?severity=high")
    assert response.status_code == 303
    assert (
        response.headers["location"] == "/console/sign-in?next=%2Fconsole%2Fqueue%3Fseverity%3Dhigh"
    )
    page = anonymous.get(response.headers["location"])
    assert 'name="next" value="/console/queue?severity=high"' in page.text
    signed = anonymous.post(
        "/console/sign-in",
        data={
            "csrf_token": csrf_token(page.text),
            "email": agent.email,
            "password": agent.password,
            "next": "/console/queue?severity=high",
        },
    )
    assert signed.headers["location"] == "/console/queue?severity=high"
    anonymous.close()
    # Never to another site.
    other = ConsoleSession(httpx.Client(base_url=console.url))
    page = other.client.get("/console/sign-in")
    signed = other.client.post(
        "/console/sign-in",
        data={
            "csrf_token": csrf_token(page.text),
            "email": agent.email,
            "password": agent.password,
            "next": "//evil.example/console/queue",
        },
    )
    assert signed.headers["location"] == "/console/queue"
    other.close()


def test_a_customer_session_is_not_a_staff_session(console: ConsoleServer, account: str) -> None:
    console.cli(
        "users", "create", "--account", account, "--email", f"user-{account}@example.com",
        "--password-stdin", input=PASSWORD + "\n", clock=False,
    )  # fmt: skip
    customer = httpx.Client(base_url=console.url)
    page = customer.get("/support/sign-in")
    customer.post(
        "/support/sign-in",
        data={
            "csrf_token": csrf_token(page.text),
            "email": f"user-{account}@example.com",
            "password": PASSWORD,
        },
    )
    cookie = customer.cookies["supportd_support"]
    assert customer.get("/support/cases").status_code == 200
    # The same session id presented to the console opens nothing there.
    staffish = httpx.Client(base_url=console.url, cookies={"supportd_console": cookie})
    assert signed_out(staffish.get("/console/queue"))
    staffish.close()
    # And a customer e-mail address and password do not sign in to the console.
    session = ConsoleSession(httpx.Client(base_url=console.url))
    assert session.sign_in(f"user-{account}@example.com", PASSWORD).status_code == 400
    session.close()
    customer.close()


# --- CSRF and roles ----------------------------------------------------------------------


def test_posts_without_the_csrf_token_change_nothing(
    console: ConsoleServer, admin_session: ConsoleSession, account: str
) -> None:
    case_id, display_id = file_case(console, account)
    path = f"/console/cases/{display_id}"
    attempts = {
        f"{path}/reply": {"reply": "Forged reply", "status": "work-in-progress"},
        f"{path}/note": {"note": "Forged note"},
        f"{path}/assign": {"assignee": "admin"},
        f"{path}/status": {"status": "work-in-progress"},
        f"{path}/resolve": {},
        "/console/canned": {"title": "Forged", "body": "Forged canned reply"},
    }
    for url, data in attempts.items():
        for token in ("", "not-the-token"):
            refused = admin_session.post(url, data, token=token)
            assert refused.status_code == 403, url
            assert "This form cannot be accepted" in refused.text
        # The right token from another site's page: refused too.
        foreign = admin_session.client.post(
            url,
            data={**data, "csrf_token": admin_session.token},
            headers={"Origin": "https://evil.example"},
        )
        assert foreign.status_code == 403, url
    seen = customer_view(console, account, case_id)
    assert seen["case"]["status"] == "unassigned"
    assert [c["body"] for c in seen["communications"]] == ["Our instance does not start."]
    page = admin_session.get(path).text
    assert "Forged" not in page
    assert "Forged" not in admin_session.get("/console/canned").text
    # The sign-in form's own token is bound to its cookie.
    anonymous = httpx.Client(base_url=console.url)
    anonymous.get("/console/sign-in")
    forged = anonymous.post(
        "/console/sign-in",
        data={"csrf_token": "guess", "email": "admin@support.example.com", "password": PASSWORD},
    )
    assert forged.status_code == 403
    assert "supportd_console=" not in forged.headers.get("set-cookie", "")
    anonymous.close()


def test_an_agent_cannot_do_what_only_admins_may(
    console: ConsoleServer,
    admin_session: ConsoleSession,
    agent_session: ConsoleSession,
    agent: Staff,
) -> None:
    created = admin_session.post(
        "/console/canned", {"title": f"Kept {agent.name}", "body": "Admins wrote this."}
    )
    assert created.status_code == 303
    listing = admin_session.get("/console/canned").text
    reply_id = re.search(
        rf'/console/canned/(\d+)/edit" aria-label="Edit Kept {agent.name}"', listing
    )
    assert reply_id
    ref = reply_id.group(1)
    victim = console.add_staff("agent")

    # What agents see: the texts, no way to change them or other staff.
    agent_list = agent_session.get("/console/canned").text
    assert f"Kept {agent.name}" in agent_list
    assert "/edit" not in agent_list
    assert "New canned reply" not in agent_list
    assert "/disable" not in agent_session.get("/console/staff").text

    for path in ("/console/canned/new", f"/console/canned/{ref}/edit"):
        page = agent_session.get(path)
        assert page.status_code == 403
        assert "Only admins may do this" in page.text
    for path, data in (
        ("/console/canned", {"title": "Agent's own", "body": "Not allowed"}),
        (f"/console/canned/{ref}", {"title": "Changed by an agent", "body": "Not allowed"}),
        (f"/console/canned/{ref}/delete", {}),
        (f"/console/staff/{victim.name}/disable", {}),
    ):
        refused = agent_session.post(path, data)
        assert refused.status_code == 403, path
        assert "Only admins may do this" in refused.text
    after = admin_session.get("/console/canned").text
    assert f"Kept {agent.name}" in after
    assert "Agent&#39;s own" not in after
    assert "Changed by an agent" not in after
    victim_session = console.session(victim)
    assert victim_session.get("/console/queue").status_code == 200
    victim_session.close()
    # Admins may (and the staff API agrees on the roles: an agent's token is refused).
    assert admin_session.post(f"/console/canned/{ref}/delete").status_code == 303
    api = httpx.post(
        f"{console.url}/staff/api/staff/{victim.name}/disable",
        headers={"Authorization": f"Bearer {console.token(agent.name)}"},
    )
    assert api.status_code == 403


# --- escaping -------------------------------------------------------------------------------


def test_user_supplied_strings_are_escaped_everywhere(
    console: ConsoleServer, admin_session: ConsoleSession, account: str
) -> None:
    subject = '<script>alert("subject")</script> xsswordsubject'
    body = "<img src=x onerror=alert(1)> xsswordbody </textarea><b>bold</b>"
    file_name = '<svg onload=alert("file")>.txt'
    user_name = '<b onmouseover="alert(1)">Eve</b>'
    client = boto3_client(console.url, account)
    attached = client.add_attachments_to_set(attachments=[{"fileName": file_name, "data": b"x"}])
    case_id = client.create_case(
        subject=subject,
        communicationBody=body,
        serviceCode="general-info",
        categoryCode="using-aws",
        attachmentSetId=attached["attachmentSetId"],
    )["caseId"]
    display_id = client.describe_cases(caseIdList=[case_id])["cases"][0]["displayId"]
    client.close()
    # A Support Center user whose name is markup replies through the Support Center.
    email = f"eve-{account}@example.com"
    console.cli(
        "users", "create", "--account", account, "--email", email, "--name", user_name,
        "--password-stdin", input=PASSWORD + "\n", clock=False,
    )  # fmt: skip
    customer = httpx.Client(base_url=console.url)
    page = customer.get("/support/sign-in")
    customer.post(
        "/support/sign-in",
        data={"csrf_token": csrf_token(page.text), "email": email, "password": PASSWORD},
    )
    case_page = customer.get(f"/support/cases/{display_id}")
    replied = customer.post(
        f"/support/cases/{display_id}/reply",
        data={"csrf_token": csrf_token(case_page.text), "body": "A reply from Eve"},
    )
    assert replied.status_code == 303, replied.text
    customer.close()
    # Markup from staff: a note, and a canned reply's title and text.
    path = f"/console/cases/{display_id}"
    assert (
        admin_session.post(f"{path}/note", {"note": "<iframe src=//evil>note"}).status_code == 303
    )
    assert (
        admin_session.post(
            "/console/canned", {"title": f"<i>{account}</i>", "body": "<object>canned</object>"}
        ).status_code
        == 303
    )

    pages = {
        "queue": admin_session.get("/console/queue", account=account).text,
        "case": admin_session.get(path).text,
        "search subject": admin_session.get("/console/search", q="xsswordsubject").text,
        "search body": admin_session.get("/console/search", q="xsswordbody").text,
        "canned": admin_session.get("/console/canned").text,
        "updates": admin_session.get("/console/queue/updates", account=account).json()["html"],
    }
    for name, page_html in pages.items():
        assert active_markup(page_html) == [], name
    assert escape(subject) in pages["queue"]
    for text in (subject, body, file_name, user_name, "<iframe src=//evil>note"):
        assert escape(text) in pages["case"], text
    assert escape("<object>canned</object>") in pages["canned"]
    assert escape(f"<i>{account}</i>") in pages["canned"]
    assert "<mark>xsswordsubject</mark>" in pages["search subject"]
    assert "&lt;script&gt;" in pages["search subject"]
    assert "<mark>xsswordbody</mark>" in pages["search body"]
    # (PostgreSQL's highlighter drops what looks like a tag; what is left is escaped.)
    assert "onerror=alert(1)&gt;" in pages["search body"]


# --- the queue -------------------------------------------------------------------------------


def test_the_queue_orders_by_sla_due_time_with_badges(
    console: ConsoleServer, agent_session: ConsoleSession, account: str
) -> None:
    _, low = file_case(console, account, severityCode="low", subject="Low one")
    _, critical = file_case(console, account, severityCode="critical", subject="Critical one")
    _, urgent = file_case(console, account, severityCode="urgent", subject="Urgent one")
    _, normal = file_case(console, account, severityCode="normal", subject="Normal one")
    page = agent_session.get("/console/queue", account=account)
    assert page.status_code == 200
    assert rows(page.text) == [critical, urgent, normal, low]

    def row_html(text: str, display_id: str) -> str:
        return text.split(f'data-case="{display_id}"')[1].split("</tr>")[0]

    assert "Due within the hour" in row_html(page.text, urgent)
    assert "Due within the hour" not in row_html(page.text, low)
    assert "SLA breached" not in page.text
    # Twenty minutes on, the critical case's 15-minute first response is breached.
    console.clock.set(console.clock.offset_ms + 20 * MINUTE_MS)
    page = agent_session.get("/console/queue", account=account)
    assert "SLA breached" in row_html(page.text, critical)
    assert "Overdue by" in row_html(page.text, critical)
    assert 'class="row-breached"' in page.text
    breaching = agent_session.get("/console/queue", account=account, sla="breaching")
    assert rows(breaching.text) == [critical]
    high = agent_session.get("/console/queue", account=account, severity="urgent")
    assert rows(high.text) == [urgent]


def test_queue_filters_by_assignee_and_status(
    console: ConsoleServer, agent_session: ConsoleSession, agent: Staff, account: str
) -> None:
    _, mine = file_case(console, account, subject="Mine")
    _, theirs = file_case(console, account, subject="Theirs")
    _, nobodys = file_case(console, account, subject="Nobody's")
    assert (
        agent_session.post(f"/console/cases/{mine}/assign", {"assignee": agent.name}).status_code
        == 303
    )
    assert (
        agent_session.post(f"/console/cases/{theirs}/assign", {"assignee": "admin"}).status_code
        == 303
    )
    assert rows(agent_session.get("/console/queue", account=account, assignee="me").text) == [mine]
    assert rows(agent_session.get("/console/queue", account=account, assignee="none").text) == [
        nobodys
    ]
    assert rows(agent_session.get("/console/queue", account=account, assignee="admin").text) == [
        theirs
    ]
    assert agent_session.post(f"/console/cases/{nobodys}/resolve").status_code == 303
    open_rows = rows(agent_session.get("/console/queue", account=account).text)
    assert nobodys not in open_rows
    assert rows(agent_session.get("/console/queue", account=account, status="resolved").text) == [
        nobodys
    ]
    every = rows(agent_session.get("/console/queue", account=account, status="all").text)
    assert sorted(every) == sorted([mine, theirs, nobodys])
    empty = agent_session.get("/console/queue", account="999999999998")
    assert "No cases match these filters" in empty.text


def test_queue_pages_by_keyset(
    console: ConsoleServer, agent_session: ConsoleSession, account: str
) -> None:
    created = [file_case(console, account, subject=f"Paged {n}")[1] for n in range(53)]
    first = agent_session.get("/console/queue", account=account)
    assert len(rows(first.text)) == 50
    link = re.search(r'<a class="pager-next" href="([^"]+)">Next page</a>', first.text)
    assert link
    second = agent_session.get(html.unescape(link.group(1)))
    assert second.status_code == 200
    assert len(rows(second.text)) == 3
    assert sorted(rows(first.text) + rows(second.text)) == sorted(created)
    assert "First page" in second.text
    assert "Next page" not in second.text
    # A token altered, or used with other filters, is refused with a clear message.
    bad = agent_session.get("/console/queue", account=account, severity="low", after="garbage")
    assert bad.status_code == 400
    assert "no longer available" in bad.text


def test_bad_queue_filters_are_explained(agent_session: ConsoleSession) -> None:
    bad_account = agent_session.get("/console/queue", account="12ab")
    assert bad_account.status_code == 400
    assert "Enter a 12-digit account ID" in bad_account.text
    assert 'aria-invalid="true"' in bad_account.text
    bad_status = agent_session.get("/console/queue", status="<b>nope</b>")
    assert bad_status.status_code == 400
    assert "Unknown status &#39;&lt;b&gt;nope&lt;/b&gt;&#39;" in bad_status.text
    assert "<b>nope</b>" not in bad_status.text


def test_queue_updates_show_new_and_changed_cases(
    console: ConsoleServer, agent_session: ConsoleSession, account: str
) -> None:
    _, first = file_case(console, account, subject="Before the page")
    page = agent_session.get("/console/queue", account=account)
    assert f'data-updates="/console/queue/updates?account={account}"' in page.text
    assert 'data-poll-ms="1000"' in page.text
    before = agent_session.get("/console/queue/updates", account=account).json()
    assert [r["id"] for r in before["rows"]] == [first]
    _, second = file_case(console, account, subject="After the page", severityCode="critical")
    after = agent_session.get("/console/queue/updates", account=account).json()
    assert [r["id"] for r in after["rows"]] == [second, first]
    assert after["version"] != before["version"]
    assert "After the page" in after["html"]
    assert after["rows"][1] == before["rows"][0]
    # A change to a case changes its row's version.
    agent_session.post(f"/console/cases/{first}/assign", {"assignee": "admin"})
    changed = agent_session.get("/console/queue/updates", account=account).json()
    assert changed["rows"][1]["id"] == first
    assert changed["rows"][1]["version"] != after["rows"][1]["version"]
    assert agent_session.get("/console/queue/updates", account="12ab").status_code == 400
    anonymous = httpx.get(console.url + "/console/queue/updates")
    assert anonymous.status_code == 401
    assert anonymous.headers["content-type"] == "application/json"
    # Deeper pages are not live: their rows depend on the page before.
    assert "data-updates" not in agent_session.get("/console/queue", after="x").text


# --- search -------------------------------------------------------------------------------------


def test_search_highlights_matches(
    console: ConsoleServer, agent_session: ConsoleSession, account: str
) -> None:
    word = f"zq{account}"
    _, display_id = file_case(
        console,
        account,
        subject=f"Disk full on {word} host",
        communicationBody=f"The volume of {word} is full since <today> & nothing helps.",
    )
    page = agent_session.get("/console/search", q=word)
    assert page.status_code == 200
    assert f'href="/console/cases/{display_id}"' in page.text
    assert page.text.count(f"<mark>{word}</mark>") == 2
    assert "&amp; nothing helps" in page.text
    scoped = agent_session.get("/console/search", q=word, account="999999999998")
    assert "No matches" in scoped.text
    resolved_only = agent_session.get("/console/search", q=word, status="resolved")
    assert "No matches" in resolved_only.text
    start = agent_session.get("/console/search")
    assert start.status_code == 200
    assert "Internal notes are not searched" in start.text
    excluded_only = agent_session.get("/console/search", q="-everything")
    assert excluded_only.status_code == 400
    assert "The query has no word to search for." in excluded_only.text
    too_long = agent_session.get("/console/search", q="word " * 200)
    assert too_long.status_code == 400
    assert "longer than 500 characters" in too_long.text
    bad_account = agent_session.get("/console/search", q=word, account="abc")
    assert bad_account.status_code == 400


def test_search_says_when_it_shows_only_the_best_matches() -> None:
    """The staff API marks a bounded search `truncated`; the page says so."""
    page = (
        Templates()
        .env.get_template("console/search.html")
        .render(
            member=None,
            csrf_token="",
            section="search",
            area_prefix="/console",
            notice=None,
            title="Search",
            asked={"q": "common", "account": "", "status": ""},
            problems={},
            searched=True,
            results=[],
            truncated=True,
            next_href=None,
            first_href="/console/search?q=common",
            paged=False,
            status_choices=[("", "Any status")],
            severity_names={},
        )
    )
    assert "showing the best 0 matches" in page


# --- a case -------------------------------------------------------------------------------------


def test_staff_answer_in_the_console_and_the_customer_sees_it(
    console: ConsoleServer, agent_session: ConsoleSession, agent: Staff, account: str
) -> None:
    case_id, display_id = file_case(console, account, subject="Console answers")
    path = f"/console/cases/{display_id}"
    page = agent_session.get(path)
    assert page.status_code == 200
    for label in ('for="reply">Reply<', 'for="reply-status">Status<', 'for="note">Internal note<'):
        assert label in page.text
    assert ">Send reply</button>" in page.text
    assert ">Add note</button>" in page.text

    noted = agent_session.post(f"{path}/note", {"note": "Customer is on the old kernel."})
    assert noted.headers["location"] == f"{path}?done=noted#case-top"
    # (Browsers post a textarea's line breaks as CRLF.)
    replied = agent_session.post(
        f"{path}/reply",
        {"reply": "Please upgrade\r\nthe kernel.", "status": "work-in-progress"},
    )
    assert replied.status_code == 303
    seen = customer_view(console, account, case_id)
    assert seen["case"]["status"] == "work-in-progress"
    bodies = [c["body"] for c in seen["communications"]]
    assert bodies[0] == "Please upgrade\nthe kernel."
    assert seen["communications"][0]["submittedBy"] == "Amazon Web Services"
    assert "Customer is on the old kernel." not in bodies  # notes stay internal
    after = agent_session.get(f"{path}?done=replied")
    assert "Your reply was sent to the customer." in after.text
    # Interleaved, newest first: the reply, the note, the customer's message.
    order = [
        after.text.index(text)
        for text in (
            "Please upgrade\nthe kernel.",
            "Customer is on the old kernel.",
            "Our instance",
        )
    ]
    assert order == sorted(order)
    assert 'class="message message-note"' in after.text
    assert f"{agent.name} (as Amazon Web Services)" in after.text
    assert f"Assignee: nobody → {agent.name}" in after.text

    assert (
        agent_session.post(f"{path}/status", {"status": "pending-customer-action"}).status_code
        == 303
    )
    assert customer_view(console, account, case_id)["case"]["status"] == "pending-customer-action"
    paused = agent_session.get(path).text
    assert "Paused (waiting on the customer)" in paused or "Stopped" in paused
    unassigned = agent_session.post(f"{path}/assign", {"assignee": "none"})
    assert unassigned.status_code == 303
    assert "Unassigned" in agent_session.get(path).text
    same = agent_session.post(f"{path}/assign", {"assignee": "none"})
    assert same.headers["location"].endswith("done=unchanged#case-top")
    assert agent_session.post(f"{path}/resolve").status_code == 303
    assert customer_view(console, account, case_id)["case"]["status"] == "resolved"
    resolved = agent_session.get(path).text
    assert "support cannot reply to it" in resolved
    assert ">Send reply</button>" not in resolved


def test_case_forms_explain_refusals_and_keep_what_was_typed(
    console: ConsoleServer, agent_session: ConsoleSession, account: str
) -> None:
    case_id, display_id = file_case(console, account)
    path = f"/console/cases/{display_id}"
    empty = agent_session.post(f"{path}/reply", {"reply": "   ", "status": "work-in-progress"})
    assert empty.status_code == 400
    assert "Enter the reply." in empty.text
    too_long = agent_session.post(f"{path}/reply", {"reply": "x" * 8001})
    assert too_long.status_code == 400
    assert "Shorten the reply to 8,000 characters or fewer (it has 8,001)." in too_long.text
    bad_status = agent_session.post(
        f"{path}/reply", {"reply": "Kept <text>", "status": "unassigned"}
    )
    assert bad_status.status_code == 409
    assert "Staff cannot move a case from unassigned to unassigned" in bad_status.text
    assert "Kept &lt;text&gt;</textarea>" in bad_status.text
    no_note = agent_session.post(f"{path}/note", {"note": ""})
    assert no_note.status_code == 400
    assert "Enter the note." in no_note.text
    nobody = agent_session.post(f"{path}/assign", {"assignee": "no-such-member"})
    assert nobody.status_code == 404
    assert "No staff member" in nobody.text
    no_status = agent_session.post(f"{path}/status", {"status": ""})
    assert no_status.status_code == 400
    assert "Choose the new status." in no_status.text
    assert [c["body"] for c in customer_view(console, account, case_id)["communications"]] == [
        "Our instance does not start."
    ]
    for ref in ("1999999999", "not-a-case", "case-123"):
        missing = agent_session.get(f"/console/cases/{ref}")
        assert missing.status_code == 404
        assert "Case not found" in missing.text
        assert agent_session.post(f"/console/cases/{ref}/note", {"note": "x"}).status_code == 404
    unknown = agent_session.get("/console/no/such/page")
    assert unknown.status_code == 404
    assert "Page not found" in unknown.text


def test_resolved_cases_refuse_replies(
    console: ConsoleServer, agent_session: ConsoleSession, account: str
) -> None:
    _, display_id = file_case(console, account)
    path = f"/console/cases/{display_id}"
    assert agent_session.post(f"{path}/resolve").status_code == 303
    refused = agent_session.post(f"{path}/reply", {"reply": "Too late"})
    assert refused.status_code == 409
    assert "The case is resolved: support cannot reply to it" in refused.text
    # Notes still go in.
    assert agent_session.post(f"{path}/note", {"note": "Closed after a call."}).status_code == 303


def test_staff_download_any_accounts_attachment(
    console: ConsoleServer, agent_session: ConsoleSession, account: str
) -> None:
    client = boto3_client(console.url, account)
    data = b"kernel: Out of memory: Killed process 4242\n" * 10
    attached = client.add_attachments_to_set(attachments=[{"fileName": "oom.log", "data": data}])
    case_id = client.create_case(
        subject="OOM",
        communicationBody="See the log.",
        serviceCode="general-info",
        categoryCode="using-aws",
        attachmentSetId=attached["attachmentSetId"],
    )["caseId"]
    display_id = client.describe_cases(caseIdList=[case_id])["cases"][0]["displayId"]
    client.close()
    page = agent_session.get(f"/console/cases/{display_id}").text
    link = re.search(r'href="(/console/attachments/[^"]+)" download>oom.log</a>', page)
    assert link
    response = agent_session.client.get(link.group(1), follow_redirects=True)
    assert response.status_code == 200
    assert response.content == data
    missing = agent_session.get("/console/attachments/attachment-nope")
    assert missing.status_code == 404
    assert "Attachment not found" in missing.text


# --- canned replies ---------------------------------------------------------------------------


def test_admins_manage_canned_replies(
    console: ConsoleServer, admin_session: ConsoleSession, agent: Staff
) -> None:
    title = f"Ask {agent.name} for logs"
    assert (
        admin_session.post("/console/canned", {"title": title, "body": "Send us logs."}).status_code
        == 303
    )
    listing = admin_session.get("/console/canned?done=canned-created").text
    assert "The canned reply was created." in listing
    ref = re.search(rf'/console/canned/(\d+)/edit" aria-label="Edit {re.escape(title)}"', listing)
    assert ref
    duplicate = admin_session.post("/console/canned", {"title": title, "body": "Again"})
    assert duplicate.status_code == 400
    assert "exists already" in duplicate.text
    assert "Again</textarea>" in duplicate.text
    for data, message in (
        ({"title": "", "body": "x"}, "Enter a title."),
        ({"title": "t" * 101, "body": "x"}, "A title has at most 100 characters"),
        ({"title": "Fine", "body": " "}, "Enter the text of the reply."),
        ({"title": "Fine", "body": "x" * 8001}, "A canned reply has at most 8,000 characters"),
    ):
        refused = admin_session.post("/console/canned", data)
        assert refused.status_code == 400
        assert message in refused.text
    edited = admin_session.post(
        f"/console/canned/{ref.group(1)}", {"title": title + " (v2)", "body": "Send logs, please."}
    )
    assert edited.status_code == 303
    form = admin_session.get(f"/console/canned/{ref.group(1)}/edit")
    assert "Send logs, please.</textarea>" in form.text
    assert admin_session.post(f"/console/canned/{ref.group(1)}/delete").status_code == 303
    assert title not in admin_session.get("/console/canned").text
    assert admin_session.get(f"/console/canned/{ref.group(1)}/edit").status_code == 404
    assert admin_session.post(f"/console/canned/{ref.group(1)}/delete").status_code == 404
    assert admin_session.get("/console/canned/abc/edit").status_code == 404


def test_inserting_a_canned_reply_works_without_javascript(
    console: ConsoleServer,
    admin_session: ConsoleSession,
    agent_session: ConsoleSession,
    account: str,
) -> None:
    title = f"Greeting {account}"
    admin_session.post("/console/canned", {"title": title, "body": "Hello <there>,\nthanks."})
    _, display_id = file_case(console, account)
    path = f"/console/cases/{display_id}"
    page = agent_session.get(path).text
    option = re.search(rf'<option value="(\d+)">{re.escape(title)}</option>', page)
    assert option
    inserted = agent_session.post(
        f"{path}/insert",
        {"canned": option.group(1), "reply": "Typed first.", "status": "work-in-progress"},
    )
    assert inserted.status_code == 200
    assert "Typed first.\n\nHello &lt;there&gt;,\nthanks.</textarea>" in inserted.text
    assert '<option value="work-in-progress" selected>' in inserted.text
    nothing = agent_session.post(f"{path}/insert", {"canned": "", "reply": "Kept"})
    assert nothing.status_code == 400
    assert "Choose a canned reply to insert." in nothing.text
    assert "Kept</textarea>" in nothing.text


def test_canned_replies_and_console_passwords_move_with_export_and_import(
    console: ConsoleServer,
    admin_session: ConsoleSession,
    admin: Staff,
    tmp_path: Path,
) -> None:
    title = f"Exported {tmp_path.name}"
    assert (
        admin_session.post("/console/canned", {"title": title, "body": "Moves along."}).status_code
        == 303
    )
    dump = tmp_path / "export.jsonl"
    console.cli("export", "--output", str(dump), clock=False)
    lines = dump.read_text(encoding="utf-8")
    assert '"table":"canned_replies"' in lines
    assert '"table":"staff_passwords"' in lines
    # Into an empty SQLite store, served: the admin signs in with the same password and
    # finds the canned reply.
    target = tmp_path / "imported"
    result = CliRunner().invoke(
        cli.main, ["import", str(dump), "--data-dir", str(target)], catch_exceptions=False
    )
    assert result.exit_code == 0, result.output
    served = ServerProcess(data_dir=target).start()
    try:
        session = ConsoleSession(httpx.Client(base_url=served.url))
        assert session.sign_in(admin.email, admin.password).status_code == 303
        assert title in session.get("/console/canned").text
        session.close()
    finally:
        served.stop()
