"""Render every staff console page to PNG, filled with realistic demo data.

    python -m tests.web.screenshots_console [--out screenshots]

Starts its own `supportd serve` (SQLite, in a temporary directory), loads the demo data
of tests/web/console_demo.py, and drives Debian's chromium through Playwright: each
page as an admin or an agent sees it, with its empty states and error messages, at a
desktop width, and the queue and a case also at a phone's width. Files are named
console-<page>.png (screenshots/ is git-ignored).
"""

from __future__ import annotations

import argparse
import sys
import tempfile
from pathlib import Path
from typing import Any

from playwright.sync_api import sync_playwright

from tests.web.console_demo import seed
from tests.web.console_kit import launch, sign_in_page, start_server

DESKTOP = {"width": 1280, "height": 900}
PHONE = {"width": 390, "height": 844}


def shoot(page: Any, out: Path, name: str) -> None:
    path = out / f"console-{name}.png"
    page.screenshot(path=str(path), full_page=True)
    print(path)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=Path("screenshots"))
    args = parser.parse_args()
    out: Path = args.out
    out.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix="supportd-screens-") as work:
        # No live polling: the pictures must not change while they are taken.
        server = start_server(Path(work), poll_s=0)
        try:
            demo = seed(server)
            with sync_playwright() as playwright:
                browser = launch(playwright)
                try:
                    render(browser, server.url, demo, out)
                finally:
                    browser.close()
        finally:
            server.process.stop()


def render(browser: Any, url: str, demo: Any, out: Path) -> None:
    admin, agent = demo.staff["maria"], demo.staff["devon"]
    breached = demo.cases["breached"]

    page = browser.new_page(viewport=DESKTOP)
    page.goto(url + "/console/sign-in")
    shoot(page, out, "sign-in")
    page.get_by_label("Email").fill(admin.email)
    page.get_by_label("Password").fill("not the password")
    page.get_by_role("button", name="Sign in").click()
    shoot(page, out, "sign-in-failed")

    sign_in_page(page, url, admin)
    shoot(page, out, "queue")
    page.goto(url + "/console/queue?sla=breaching")
    shoot(page, out, "queue-breached")
    page.goto(url + "/console/queue?account=999999999999")
    shoot(page, out, "queue-no-match")
    page.goto(url + "/console/queue?account=12ab")
    shoot(page, out, "queue-bad-filter")

    page.goto(url + "/console/search?q=failover")
    shoot(page, out, "search")
    page.goto(url + "/console/search?q=zanzibar")
    shoot(page, out, "search-no-match")
    page.goto(url + "/console/search")
    shoot(page, out, "search-start")

    page.goto(url + f"/console/cases/{breached}")
    shoot(page, out, "case")
    page.get_by_label("Canned reply").select_option(label="Ask for logs")
    page.get_by_role("button", name="Insert").click()
    page.get_by_role("button", name="Send reply").click()  # the text, then sent
    page.goto(url + f"/console/cases/{demo.cases['soon']}")
    page.get_by_role("button", name="Send reply").click()  # nothing typed: the error
    shoot(page, out, "case-reply-error")
    page.goto(url + f"/console/cases/{demo.cases['resolved']}")
    shoot(page, out, "case-resolved")
    page.goto(url + f"/console/cases/{demo.cases['normal']}")
    shoot(page, out, "case-long-subject")

    page.goto(url + "/console/canned")
    shoot(page, out, "canned-admin")
    page.goto(url + "/console/canned/new")
    page.get_by_role("button", name="Save").click()
    shoot(page, out, "canned-new-error")
    page.goto(url + "/console/canned")
    page.get_by_role("link", name="Edit Greeting").click()
    shoot(page, out, "canned-edit")
    page.goto(url + "/console/staff")
    shoot(page, out, "staff-admin")
    page.goto(url + "/console/no-such-page")
    shoot(page, out, "not-found")
    page.goto(url + "/console/cases/1999999999")
    shoot(page, out, "case-not-found")
    page.close()

    page = browser.new_page(viewport=DESKTOP)
    sign_in_page(page, url, agent)
    page.goto(url + "/console/canned")
    shoot(page, out, "canned-agent")
    page.goto(url + "/console/canned/new")
    shoot(page, out, "forbidden")
    page.goto(url + "/console/staff")
    shoot(page, out, "staff-agent")
    page.goto(url + "/console/queue?assignee=me")
    shoot(page, out, "queue-mine")
    page.close()

    phone = browser.new_page(viewport=PHONE)
    sign_in_page(phone, url, agent)
    shoot(phone, out, "queue-phone")
    phone.goto(url + f"/console/cases/{breached}")
    shoot(phone, out, "case-phone")
    phone.close()


if __name__ == "__main__":
    sys.exit(main())
