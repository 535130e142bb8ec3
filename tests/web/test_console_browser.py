"""The staff console in a real browser: Debian's chromium driven by Playwright against a
real `supportd serve` (one server and one browser for the module; SQLite: every store
path is covered over HTTP by test_console_http.py on both stores).

A case filed through boto3 appears in the open queue without a reload, is answered in
the console (a canned reply inserted by the page's script, a status chosen), and the
customer sees the answer through boto3; axe-core finds no serious or critical problem
on any console page, no page breaks its own Content-Security-Policy, and the keyboard
reaches everything with a visible focus.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from playwright.sync_api import expect, sync_playwright

from tests.support.clients import boto3_client
from tests.web.console_kit import (
    ConsoleServer,
    Staff,
    axe_problems,
    launch,
    sign_in_page,
    start_server,
)

CANNED_TITLE = "Ask for logs"
CANNED_TEXT = "Please attach the system log from the time of the problem."
# Every CSP violation a page causes, recorded before any of its own scripts run.
CSP_WATCH = """
window.__cspViolations = [];
document.addEventListener("securitypolicyviolation", (e) => {
  window.__cspViolations.push(e.violatedDirective + " " + e.blockedURI);
});
"""


@pytest.fixture(scope="module")
def console(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ConsoleServer]:
    server = start_server(tmp_path_factory.mktemp("console-browser"), poll_s=1)
    # Made here, before the browser starts: the CLI runs its own event loop, which it
    # cannot while Playwright's runs on this thread.
    server.add_staff("agent", name="agent")
    admin = server.session(server.staff["admin"])
    created = admin.post("/console/canned", {"title": CANNED_TITLE, "body": CANNED_TEXT})
    assert created.status_code == 303
    admin.close()
    yield server
    server.process.stop()


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    with sync_playwright() as playwright:
        chromium = launch(playwright)
        yield chromium
        chromium.close()


@pytest.fixture
def page(browser: Any) -> Iterator[Any]:
    context = browser.new_context(viewport={"width": 1280, "height": 900})
    context.add_init_script(CSP_WATCH)
    tab = context.new_page()
    yield tab
    context.close()


@pytest.fixture(scope="module")
def agent(console: ConsoleServer) -> Staff:
    return console.staff["agent"]


def file_case(console: ConsoleServer, account: str, **params: Any) -> tuple[str, str]:
    client = boto3_client(console.url, account)
    try:
        case_id = client.create_case(
            serviceCode="general-info", categoryCode="using-aws", **params
        )["caseId"]
        display_id = client.describe_cases(caseIdList=[case_id])["cases"][0]["displayId"]
        return case_id, display_id
    finally:
        client.close()


def test_a_case_is_answered_in_the_console_and_the_customer_sees_the_answer(
    console: ConsoleServer, page: Any, agent: Staff, account: str
) -> None:
    sign_in_page(page, console.url, agent)
    page.goto(f"{console.url}/console/queue?account={account}")
    expect(page.get_by_role("heading", name="No cases match these filters")).to_be_visible()

    # The customer files a case, with a log file, while the queue is open.
    client = boto3_client(console.url, account)
    attached = client.add_attachments_to_set(
        attachments=[{"fileName": "boot.log", "data": b"kernel panic: VFS unable to mount\n"}]
    )
    case_id = client.create_case(
        subject="Instance does not boot after resize",
        communicationBody="It stops at the kernel panic in the attached log.",
        serviceCode="amazon-elastic-compute-cloud-linux",
        categoryCode="instance-issue",
        severityCode="urgent",
        attachmentSetId=attached["attachmentSetId"],
    )["caseId"]
    display_id = client.describe_cases(caseIdList=[case_id])["cases"][0]["displayId"]

    # It appears without a reload, marked, and the live region says so.
    row = page.locator(f'tr[data-case="{display_id}"]')
    expect(row).to_be_visible(timeout=15_000)
    expect(row).to_have_class("row-soon row-updated")
    expect(row).to_contain_text("Due within the hour")
    expect(page.locator("#queue-live")).to_have_text("1 case is new or changed.")

    row.get_by_role("link", name=display_id).click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Instance does not boot after resize")
    expect(page.get_by_role("link", name="boot.log")).to_be_visible()

    # The canned reply goes into the reply box in the page (no round trip).
    page.get_by_label("Reply", exact=True).fill("Thanks for the log.")
    page.get_by_label("Canned reply").select_option(label=CANNED_TITLE)
    url_before = page.url
    page.get_by_role("button", name="Insert").click()
    expect(page.get_by_label("Reply", exact=True)).to_have_value(
        f"Thanks for the log.\n\n{CANNED_TEXT}"
    )
    assert page.url == url_before
    page.get_by_label("Status", exact=True).select_option(
        label="Work in progress (we keep working on it)"
    )
    page.get_by_role("button", name="Send reply").click()
    expect(page.get_by_role("status")).to_have_text("Your reply was sent to the customer.")

    page.get_by_label("Internal note").fill("Resize to a Nitro type: check the NVMe driver.")
    page.get_by_role("button", name="Add note").click()
    note = page.locator("li.message-note")
    expect(note).to_contain_text("Resize to a Nitro type")
    expect(note).to_contain_text("Internal note")

    # The customer sees support's answer (and never the note) through boto3.
    comms = client.describe_communications(caseId=case_id)["communications"]
    assert comms[0]["body"] == f"Thanks for the log.\n\n{CANNED_TEXT}"
    assert comms[0]["submittedBy"] == "Amazon Web Services"
    assert all("Nitro" not in c["body"] for c in comms)
    case = client.describe_cases(caseIdList=[case_id])["cases"][0]
    assert case["status"] == "work-in-progress"

    # The customer resolves it; the console shows that.
    assert client.resolve_case(caseId=case_id)["finalCaseStatus"] == "resolved"
    client.close()
    page.reload()
    expect(page.locator(".case-badges .status")).to_have_text("Resolved")
    expect(page.get_by_role("button", name="Send reply")).to_have_count(0)


def test_every_console_page_passes_axe_and_keeps_its_csp(
    console: ConsoleServer, browser: Any, agent: Staff, account: str
) -> None:
    _, display_id = file_case(
        console,
        account,
        subject="Timeouts from the API gateway",
        communicationBody="Requests time out after 29 seconds.",
        severityCode="high",
    )
    admin = console.session(console.staff["admin"])
    admin.post(f"/console/cases/{display_id}/note", {"note": "Known limit of 29 s."})
    admin.close()
    problems: dict[str, list[str]] = {}

    def check(tab: Any, name: str, path: str) -> None:
        tab.goto(console.url + path)
        found = axe_problems(tab)
        violations = tab.evaluate("window.__cspViolations")
        inline = tab.evaluate("document.querySelectorAll('script:not([src])').length")
        if found or violations or inline:
            problems[name] = [*found, *(f"CSP: {v}" for v in violations), f"{inline} inline"]

    context = browser.new_context(viewport={"width": 1280, "height": 900})
    context.add_init_script(CSP_WATCH)
    tab = context.new_page()
    check(tab, "sign-in", "/console/sign-in")
    tab.get_by_label("Email").fill("nobody@example.com")
    tab.get_by_label("Password").fill("wrong password")
    tab.get_by_role("button", name="Sign in").click()
    assert axe_problems(tab) == []
    sign_in_page(tab, console.url, console.staff["admin"])
    for name, path in (
        ("queue", "/console/queue"),
        ("queue, filter error", "/console/queue?account=12ab"),
        ("queue, no match", "/console/queue?account=999999999997"),
        ("search, start", "/console/search"),
        ("search, results", "/console/search?q=timeouts"),
        ("case", f"/console/cases/{display_id}"),
        ("canned replies", "/console/canned"),
        ("new canned reply", "/console/canned/new"),
        ("staff", "/console/staff"),
        ("not found", "/console/cases/1999999999"),
    ):
        check(tab, name, path)
    # A form's error state.
    tab.goto(f"{console.url}/console/cases/{display_id}")
    tab.get_by_role("button", name="Send reply").click()
    expect(tab.locator(".error-summary")).to_be_focused()
    if axe_problems(tab):
        problems["case, reply error"] = axe_problems(tab)
    context.close()

    context = browser.new_context(viewport={"width": 390, "height": 844})
    context.add_init_script(CSP_WATCH)
    tab = context.new_page()
    sign_in_page(tab, console.url, agent)
    check(tab, "queue on a phone", "/console/queue")
    check(tab, "forbidden (agent)", "/console/canned/new")
    context.close()
    assert problems == {}


def test_the_keyboard_reaches_everything_with_a_visible_focus(
    console: ConsoleServer, page: Any, agent: Staff
) -> None:
    sign_in_page(page, console.url, agent)
    page.keyboard.press("Tab")
    skip = page.get_by_role("link", name="Skip to main content")
    expect(skip).to_be_focused()
    expect(skip).to_be_in_viewport()
    page.keyboard.press("Enter")
    expect(page.locator("main")).to_be_focused()
    # Every link and control of the page can be reached with Tab, each with an outline.
    reachable = page.evaluate(
        "document.querySelectorAll('main a[href], main button, main select, main input,"
        " main textarea').length"
    )
    seen = []
    for _ in range(reachable):
        page.keyboard.press("Tab")
        seen.append(
            page.evaluate(
                """() => {
                    const e = document.activeElement;
                    const style = getComputedStyle(e);
                    return [e.tagName, e.id || e.textContent.trim(), style.outlineStyle,
                            style.outlineWidth];
                }"""
            )
        )
    assert [s[0] for s in seen[:6]] == ["SELECT", "SELECT", "SELECT", "SELECT", "INPUT", "BUTTON"]
    assert all(style != "none" and width != "0px" for _, _, style, width in seen), seen


def test_signing_out_ends_the_session(console: ConsoleServer, page: Any, agent: Staff) -> None:
    sign_in_page(page, console.url, agent)
    page.get_by_role("button", name="Sign out").click()
    expect(page.get_by_role("status")).to_have_text("You have signed out.")
    page.goto(console.url + "/console/queue")
    expect(page).to_have_url(console.url + "/console/sign-in?next=%2Fconsole%2Fqueue")
    expect(page.get_by_role("button", name="Sign in")).to_be_visible()
