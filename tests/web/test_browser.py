"""The Support Center in a real browser: Debian's chromium driven by Playwright against a
real `supportd serve` (SQLite; test_http.py covers both stores). One browser and one
server for the module.

A customer made with the CLI signs in, files a case with an attachment, finds it in
the list, replies, resolves and signs out; boto3 sees the same case. Hostile text is
shown as text; every page passes axe-core (vendored from npm) without a serious or
critical violation; and everything works with JavaScript off.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from botocore.exceptions import ClientError
from playwright.sync_api import Browser, Page, expect, sync_playwright

from tests.support.clients import boto3_client
from tests.web.conftest import BUSINESS, WebSite
from tests.web.helpers import PASSWORD

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
AXE = (Path(__file__).parent / "vendor" / "axe.min.js").read_text(encoding="utf-8")
EC2 = "amazon-elastic-compute-cloud-linux"


@pytest.fixture(scope="module")
def store_kind() -> str:
    """One server for this module, on SQLite: a browser costs time, and what the pages
    do on each store is tested over HTTP on both (test_http.py)."""
    return "sqlite"


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    assert Path(CHROMIUM).exists(), f"{CHROMIUM} is missing: apt-get install -y chromium"
    with sync_playwright() as playwright:
        launched = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        yield launched
        launched.close()


@pytest.fixture
def page(browser: Browser) -> Iterator[Page]:
    context = browser.new_context(viewport={"width": 1280, "height": 900})
    opened = context.new_page()
    opened.set_default_timeout(15_000)
    yield opened
    context.close()


def sign_in(page: Page, site: WebSite, email: str) -> None:
    page.goto(f"{site.url}/support/sign-in")
    page.get_by_label("Email").fill(email)
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Sign in").click()
    expect(page).to_have_url(f"{site.url}/support/cases")


def fill_new_case(page: Page, subject: str, body: str) -> None:
    page.get_by_label("Issue type").select_option("technical")
    page.get_by_label("Service").select_option(EC2)
    page.get_by_label("Category").select_option(f"{EC2}/other")
    severity = page.get_by_role("group", name="Severity")
    severity.get_by_role("radio", name="High: Production system impaired").check()
    page.get_by_label("Subject").fill(subject)
    page.get_by_label("Description").fill(body)
    page.get_by_label("Language").select_option("en")
    page.get_by_label("CC email addresses").fill("oncall@example.com")


def test_a_customer_files_follows_and_resolves_a_case(
    page: Page, site: WebSite, tmp_path: Path
) -> None:
    log = tmp_path / "boot.log"
    log.write_bytes(b"kernel: ena: probe failed\n")
    sign_in(page, site, site.alice)
    page.get_by_role("link", name="Create case").first.click()
    # The cascade: once a service is chosen, only its categories are offered.
    page.get_by_label("Service").select_option("aws-lambda")
    visible = page.locator("#category optgroup:not([hidden])")
    expect(visible).to_have_count(1)
    expect(visible).to_have_attribute("label", "Lambda")
    fill_new_case(page, "Instances fail status checks", "Since the kernel update.")
    page.get_by_label("Attachments").set_input_files(str(log))
    page.get_by_role("button", name="Submit").click()

    expect(page.get_by_role("status")).to_have_text("Your case was created.")
    expect(page.get_by_role("heading", level=1)).to_have_text("Instances fail status checks")
    display_id = page.url.split("/")[-1].split("?")[0]
    thread = page.locator("ol.thread > li")
    expect(thread).to_have_count(1)
    expect(thread.first).to_contain_text("Since the kernel update.")
    expect(thread.first).to_contain_text("Alice Example")
    with page.expect_download() as download:
        page.get_by_role("link", name="boot.log").click()
    assert Path(download.value.path()).read_bytes() == log.read_bytes()

    page.get_by_role("navigation").get_by_role("link", name="Cases").click()
    row = page.locator("tbody tr", has_text=display_id)
    expect(row).to_contain_text("Instances fail status checks")
    expect(row).to_contain_text("Unassigned")
    expect(row).to_contain_text("High")
    row.get_by_role("link").click()

    page.get_by_label("Reply").fill("Here is more: it happens on every reboot.")
    page.get_by_role("button", name="Send").click()
    expect(page.get_by_role("status")).to_have_text("Your reply was sent.")
    expect(thread).to_have_count(2)
    expect(thread.first).to_contain_text("it happens on every reboot")  # newest first

    page.get_by_role("button", name="Resolve case").click()
    expect(page.get_by_role("status")).to_contain_text("The case is resolved.")
    expect(page.locator(".case-facts")).to_contain_text("Resolved")

    # The same case through the API.
    client = boto3_client(site.url, BUSINESS)
    case = client.describe_cases(displayId=display_id, includeResolvedCases=True)["cases"][0]
    assert case["subject"] == "Instances fail status checks"
    assert (case["status"], case["severityCode"], case["serviceCode"]) == ("resolved", "high", EC2)
    assert case["ccEmailAddresses"] == ["oncall@example.com"]
    comms = client.describe_communications(caseId=case["caseId"])["communications"]
    assert [c["body"] for c in comms] == [
        "Here is more: it happens on every reboot.",
        "Since the kernel update.",
    ]
    assert [a["fileName"] for a in comms[1]["attachmentSet"]] == ["boot.log"]

    page.get_by_role("button", name="Sign out").click()
    expect(page.get_by_role("status")).to_have_text("You have signed out.")
    page.goto(f"{site.url}/support/cases/{display_id}")
    expect(page.get_by_role("heading", name="Sign in")).to_be_visible()


def just_over_5_mb(tmp_path: Path, name: str) -> Path:
    path = tmp_path / name
    path.write_bytes(name.encode()[:1] * (5 * 1024 * 1024 + 1))
    return path


def new_case_with(page: Page, site: WebSite, subject: str, files: list[Path]) -> None:
    """Alice's Create case form, filled in, with these files chosen (not yet sent)."""
    sign_in(page, site, site.alice)
    page.goto(f"{site.url}/support/cases/new")
    fill_new_case(page, subject, "Large files.")
    page.get_by_label("Attachments").set_input_files([str(f) for f in files])


def test_a_large_file_goes_through_the_large_upload_links(
    page: Page, site: WebSite, tmp_path: Path
) -> None:
    """Over the attachment-set limit (5 MB), uploads.js sends the file through the API's
    large-upload links and the form names the upload; the case has the file."""
    dump = tmp_path / "core.dump"
    content = os.urandom(6 * 1024 * 1024)
    dump.write_bytes(content)
    small = tmp_path / "notes.txt"
    small.write_bytes(b"the small one goes with the form\n")
    new_case_with(page, site, "A core dump of 6 MB", [dump, small])
    page.get_by_role("button", name="Submit").click()

    expect(page.get_by_role("status")).to_have_text("Your case was created.")
    display_id = page.url.split("/")[-1].split("?")[0]
    files = page.locator("ol.thread > li .attachments a")
    expect(files).to_have_text(["notes.txt", "core.dump"])  # the form's files, then uploads
    with page.expect_download() as download:
        page.get_by_role("link", name="core.dump").click()
    assert Path(download.value.path()).read_bytes() == content

    client = boto3_client(site.url, BUSINESS)
    case = client.describe_cases(displayId=display_id)["cases"][0]
    comm = client.describe_communications(caseId=case["caseId"])["communications"][0]
    names = {a["fileName"]: a["attachmentId"] for a in comm["attachments"]}
    assert sorted(names) == ["core.dump", "notes.txt"]
    # DescribeAttachment returns files up to 5 MB; the large one comes by its link.
    assert client.describe_attachment(attachmentId=names["notes.txt"])["attachment"]["data"] == (
        b"the small one goes with the form\n"
    )
    with pytest.raises(ClientError, match="GetAttachmentDownloadLink"):
        client.describe_attachment(attachmentId=names["core.dump"])
    link = client.get_attachment_download_link(attachmentId=names["core.dump"])
    assert httpx.get(link["downloadUrl"]["url"]).content == content


def test_a_large_upload_survives_a_form_that_comes_back(
    page: Page, site: WebSite, tmp_path: Path
) -> None:
    new_case_with(page, site, "", [just_over_5_mb(tmp_path, "heap.bin")])
    page.get_by_role("button", name="Submit").click()
    expect(page.locator(".field-error").first).to_contain_text("Enter a subject.")
    expect(page.locator(".upload-kept")).to_have_text(
        "Uploaded already, and attached when you send this form: heap.bin."
    )
    page.get_by_label("Subject").fill("Now with a subject")
    page.get_by_role("button", name="Submit").click()
    expect(page.get_by_role("status")).to_have_text("Your case was created.")
    expect(page.locator("ol.thread > li .attachments a")).to_have_text(["heap.bin"])


def test_a_file_over_the_large_upload_maximum_is_refused_in_the_page(
    page: Page, site: WebSite, tmp_path: Path
) -> None:
    huge = tmp_path / "huge.bin"
    with huge.open("wb") as out:  # sparse: no disk space used
        out.truncate(150 * 1024 * 1024 + 1)
    new_case_with(page, site, "Too large", [huge])
    page.get_by_role("button", name="Submit").click()
    expect(page.locator("#attachments-status")).to_have_text(
        "huge.bin is larger than 150 MB, the most a file may have. Attach a smaller file."
    )
    assert page.url == f"{site.url}/support/cases/new"


def test_a_large_upload_after_the_session_ended_says_so(
    page: Page, site: WebSite, tmp_path: Path
) -> None:
    new_case_with(page, site, "Signed out meanwhile", [just_over_5_mb(tmp_path, "late.bin")])
    page.context.clear_cookies()  # as if the session ended in another tab
    page.get_by_role("button", name="Submit").click()
    expect(page.locator("#attachments-status")).to_have_text(
        "The upload could not go on: your session may have ended. Reload the page and try again."
    )
    assert page.url == f"{site.url}/support/cases/new"


def test_hostile_text_is_shown_as_text(page: Page, site: WebSite) -> None:
    evil = "<script>document.title='owned'; alert(1)</script>"
    client = boto3_client(site.url, BUSINESS)
    attached = client.add_attachments_to_set(
        attachments=[{"fileName": "<img src=x onerror=alert(2)>.txt", "data": b"x"}]
    )
    case_id = client.create_case(
        subject=f"XSS {evil}",
        communicationBody=f"<img src=x onerror=alert(3)> {evil}",
        attachmentSetId=attached["attachmentSetId"],
    )["caseId"]
    display_id = client.describe_cases(caseIdList=[case_id])["cases"][0]["displayId"]
    dialogs: list[str] = []
    page.on("dialog", lambda dialog: (dialogs.append(dialog.message), dialog.dismiss()))
    sign_in(page, site, site.alice)
    page.goto(f"{site.url}/support/cases/{display_id}")
    expect(page.get_by_role("heading", level=1)).to_have_text(f"XSS {evil}")
    expect(page.locator(".message-body").first).to_contain_text("<img src=x onerror=alert(3)>")
    expect(page.get_by_role("link", name="<img src=x onerror=alert(2)>.txt")).to_be_visible()
    page.goto(f"{site.url}/support/cases?status=all")
    expect(page.get_by_role("link", name=f"XSS {evil}")).to_be_visible()
    assert dialogs == []
    assert page.title() != "owned" and page.locator("img[src=x]").count() == 0


def test_every_page_works_without_javascript(browser: Browser, site: WebSite) -> None:
    context = browser.new_context(java_script_enabled=False)
    try:
        page = context.new_page()
        sign_in(page, site, site.alice)
        page.get_by_role("link", name="Create case").first.click()
        fill_new_case(page, "Filed without JavaScript", "Plain HTML forms.")
        page.get_by_role("button", name="Submit").click()
        expect(page.get_by_role("status")).to_have_text("Your case was created.")
        page.get_by_label("Reply").fill("Still no JavaScript.")
        page.get_by_role("button", name="Send").click()
        expect(page.get_by_role("status")).to_have_text("Your reply was sent.")
        page.get_by_role("link", name="Trusted Advisor").click()
        expect(page.get_by_role("heading", level=1)).to_have_text("Trusted Advisor")
    finally:
        context.close()


def axe_problems(page: Page) -> list[dict[str, Any]]:
    """axe-core's serious and critical violations on the page as it is now. (Injected
    over the DevTools protocol, which the page's CSP does not govern.)"""
    page.evaluate(AXE)
    violations: list[dict[str, Any]] = page.evaluate(
        """async () => {
            const result = await axe.run(document, {resultTypes: ["violations"]});
            return result.violations.map(v => ({
                id: v.id, impact: v.impact, help: v.help,
                nodes: v.nodes.map(n => n.target.join(" ")).slice(0, 5),
            }));
        }"""
    )
    return [v for v in violations if v["impact"] in ("serious", "critical")]


def test_every_customer_page_passes_axe(page: Page, site: WebSite) -> None:
    client = boto3_client(site.url, BUSINESS)
    case_id = client.create_case(subject="Accessible case", communicationBody="Text")["caseId"]
    display_id = client.describe_cases(caseIdList=[case_id])["cases"][0]["displayId"]
    checked: dict[str, list[dict[str, Any]]] = {}

    def check(name: str) -> None:
        checked[name] = axe_problems(page)

    page.goto(f"{site.url}/support/sign-in")
    check("sign-in")
    page.get_by_label("Email").fill(site.alice)
    page.get_by_label("Password").fill("wrong password!")
    page.get_by_role("button", name="Sign in").click()
    check("sign-in error")
    sign_in(page, site, site.alice)
    check("cases")
    page.goto(f"{site.url}/support/cases?status=all&find=nothing-matches-this")
    check("cases, none found")
    page.goto(f"{site.url}/support/cases?from=not-a-date")
    check("cases, bad filter")
    page.goto(f"{site.url}/support/cases/new")
    check("create case")
    page.get_by_role("button", name="Submit").click()
    check("create case with errors")
    page.goto(f"{site.url}/support/cases/{display_id}")
    check("case")
    page.get_by_role("button", name="Send").click()
    check("case, reply error")
    page.goto(f"{site.url}/support/advisor")
    check("trusted advisor")
    page.goto(f"{site.url}/support/advisor/Pfx0RwqBli")
    check("trusted advisor check")
    page.goto(f"{site.url}/support/account")
    check("account")
    page.goto(f"{site.url}/support/cases/1")
    check("not found")
    assert {name: found for name, found in checked.items() if found} == {}
    assert len(checked) == 13
