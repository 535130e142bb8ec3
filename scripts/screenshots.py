"""`make screenshots`: a PNG of every Support Center page, filled with realistic data.

Starts a real `supportd serve` on a free port with a throwaway SQLite store, fills it
through the real front doors (the CLI for accounts, users, staff and Trusted Advisor
results; boto3 for cases and attachments; the staff API for support's replies), then
drives Debian's chromium with Playwright through each page and writes
screenshots/NN-name.png (the folder is git-ignored).

Run from the repository root: `make screenshots` (or `python scripts/screenshots.py`).
"""

from __future__ import annotations

import json
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from collections.abc import Callable
from pathlib import Path
from typing import Any

import boto3
from botocore.config import Config as BotoConfig
from playwright.sync_api import Page, sync_playwright

ROOT = Path(__file__).resolve().parents[1]
OUT = ROOT / "screenshots"
CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
PASSWORD = "correct horse battery staple"
BUSINESS, DEVELOPER, EMPTY = "111122223333", "444455556666", "777788889999"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def supportd_command() -> list[str]:
    candidate = Path(sys.executable).with_name("supportd")
    return [str(candidate)] if candidate.exists() else [sys.executable, "-m", "supportd.cli"]


class Demo:
    def __init__(self, workdir: Path) -> None:
        self.data_dir = workdir / "data"
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.env = {k: v for k, v in os.environ.items() if not k.startswith("SUPPORTD_")}
        self.server: subprocess.Popen[bytes] | None = None
        self.log = workdir / "server.log"

    def cli(self, *args: str, stdin: str | None = None) -> str:
        done = subprocess.run(
            [*supportd_command(), *args, "--data-dir", str(self.data_dir)],
            input=stdin,
            capture_output=True,
            text=True,
            env=self.env,
            check=False,
            timeout=120,
        )
        if done.returncode != 0:
            raise RuntimeError(f"supportd {' '.join(args)} failed:\n{done.stderr}")
        return done.stdout

    def start(self) -> None:
        with open(self.log, "ab") as log:
            self.server = subprocess.Popen(
                [
                    *supportd_command(),
                    "serve",
                    "--port",
                    str(self.port),
                    "--data-dir",
                    str(self.data_dir),
                ],
                stdout=log,
                stderr=subprocess.STDOUT,
                env=self.env,
            )
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            try:
                with urllib.request.urlopen(self.url + "/healthz", timeout=1):
                    return
            except OSError:
                time.sleep(0.1)
        raise RuntimeError(f"supportd did not start:\n{self.log.read_text()}")

    def stop(self) -> None:
        if self.server is not None:
            self.server.terminate()
            self.server.wait(timeout=30)

    def client(self, account: str) -> Any:
        return boto3.client(
            "support",
            region_name="us-east-1",
            endpoint_url=self.url,
            aws_access_key_id=account,
            aws_secret_access_key="demo",  # open mode: not checked
            config=BotoConfig(retries={"max_attempts": 1}),
        )

    def staff(self, method: str, path: str, token: str, body: Any = None) -> Any:
        request = urllib.request.Request(
            f"{self.url}/staff/api{path}",
            method=method,
            data=json.dumps(body).encode() if body is not None else None,
            headers={"Authorization": f"Bearer {token}", "Content-Type": "application/json"},
        )
        with urllib.request.urlopen(request, timeout=30) as response:
            return json.loads(response.read() or b"{}")


CASES = [
    (
        "EC2 instances in eu-west-1 fail status checks after the kernel update",
        "amazon-elastic-compute-cloud-linux",
        "instance-issue",
        "urgent",
    ),
    (
        "RDS PostgreSQL failover took 11 minutes instead of the documented 60-120 seconds "
        "during the maintenance window on Saturday, and the application lost writes in the "
        "meantime; we need to understand why the standby was not promoted sooner",
        "amazon-relational-database-service",
        "general-guidance",
        "high",
    ),
    ("Question about Reserved Instance billing", "aws-billing-and-cost-management", "other", "low"),
    ("S3 bucket policy denies our CI role", "amazon-simple-storage-service", "security", "normal"),
    ("Lambda cold starts above 3 s for Java functions", "aws-lambda", "performance", "normal"),
    ("Increase the limit of Elastic IPs in us-east-1", "service-limit-increase", "other", "low"),
]


def _category(client: Any, service: str, wanted: str) -> str:
    services = client.describe_services(serviceCodeList=[service])["services"]
    codes = [c["code"] for c in services[0]["categories"]]
    return wanted if wanted in codes else codes[0]


def fill(demo: Demo) -> dict[str, str]:
    """Accounts, users, staff, cases with conversations, an attachment, advisor results;
    display ids of the cases the pages show."""
    demo.cli("accounts", "create", BUSINESS, "--email", "ops@example.com", "--plan", "business")
    demo.cli("accounts", "create", DEVELOPER, "--email", "dev@example.org", "--plan", "developer")
    demo.cli("accounts", "create", EMPTY, "--email", "new@example.net", "--plan", "enterprise")
    for account, email, name in (
        (BUSINESS, "jane@example.com", "Jane Doe"),
        (DEVELOPER, "raj@example.org", "Raj Patel"),
        (EMPTY, "ana@example.net", "Ana Lima"),
    ):
        demo.cli(
            "users",
            "create",
            "--account",
            account,
            "--email",
            email,
            "--name",
            name,
            "--password-stdin",
            stdin=PASSWORD + "\n",
        )
    demo.cli("staff", "create", "sam", "--email", "sam@support.example", "--role", "admin")
    token = json.loads(demo.cli("staff", "token", "sam", "--json"))["token"]
    demo.start()

    client = demo.client(BUSINESS)
    ids: dict[str, str] = {}
    case_ids = []
    for subject, service, category, severity in CASES:
        created = client.create_case(
            subject=subject,
            serviceCode=service,
            categoryCode=_category(client, service, category),
            severityCode=severity,
            issueType="customer-service" if "billing" in service else "technical",
            communicationBody=(
                f"Hello,\n\n{subject}.\n\nWhat we see: the problem started at 09:14 UTC and "
                "affects production traffic. Logs are attached where useful.\n\nThanks,\nJane"
            ),
            ccEmailAddresses=["oncall@example.com"],
            language="en",
        )
        case_ids.append(created["caseId"])
    main_case = case_ids[0]
    staff_reply = (
        "Thanks for the details. The instances failed the reachability check because the "
        "new kernel does not load the ENA driver.\n\nCould you send the output of "
        "`modinfo ena` from one affected instance?"
    )
    demo.staff("POST", f"/cases/{main_case}/reply", token, {"body": staff_reply})
    attached = client.add_attachments_to_set(
        attachments=[
            {
                "fileName": "modinfo-ena.txt",
                "data": b"filename: /lib/modules/6.1.0-18/ena.ko\nversion: 2.8.1K\n",
            }
        ]
    )
    client.add_communication_to_case(
        caseId=main_case,
        communicationBody="Here is the output. The driver is present but not loaded at boot.",
        attachmentSetId=attached["attachmentSetId"],
    )
    demo.staff(
        "POST",
        f"/cases/{main_case}/reply",
        token,
        {
            "body": "Confirmed: add `ena` to /etc/modules-load.d and rebuild the initramfs. "
            "We have filed the kernel regression with the distribution.",
            "status": "pending-customer-action",
        },
    )
    resolved = case_ids[2]
    demo.staff("POST", f"/cases/{resolved}/reply", token, {"body": "Your RIs apply hourly."})
    client.resolve_case(caseId=resolved)

    found = client.describe_cases(caseIdList=[main_case, resolved], includeResolvedCases=True)
    by_id = {c["caseId"]: c["displayId"] for c in found["cases"]}
    ids["main"], ids["resolved"] = by_id[main_case], by_id[resolved]

    seed_advisor(demo)
    return ids


def seed_advisor(demo: Demo) -> None:
    results = {
        "Pfx0RwqBli": {
            "status": "error",
            "flaggedResources": [
                {
                    "status": "error",
                    "region": "eu-west-1",
                    "resourceId": "bucket-logs",
                    "metadata": ["Red", "eu-west-1", "acme-public-logs", "Yes", "Yes", "No"],
                },
                {
                    "status": "warning",
                    "region": "us-east-1",
                    "resourceId": "bucket-assets",
                    "metadata": ["Yellow", "us-east-1", "acme-static-assets", "Yes", "No", "No"],
                },
            ],
        },
        "Z4AUBRNSmz": {
            "status": "warning",
            "flaggedResources": [
                {
                    "status": "warning",
                    "region": "us-east-1",
                    "resourceId": "eip-1",
                    "metadata": ["us-east-1", "3.91.20.14"],
                }
            ],
        },
        "HCP4007jGY": {"status": "ok", "flaggedResources": []},
    }
    for check_id, result in results.items():
        demo.cli(
            "advisor", "set-result", BUSINESS, check_id, "--file", "-", stdin=json.dumps(result)
        )


def sign_in(page: Page, url: str, email: str) -> None:
    page.goto(f"{url}/support/sign-in")
    page.get_by_label("Email").fill(email)
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Sign in").click()
    page.wait_for_url("**/support/cases**")


def shoot(page: Page, name: str, go: Callable[[], Any]) -> None:
    go()
    page.screenshot(path=str(OUT / f"{name}.png"), full_page=True)
    print(f"screenshots/{name}.png")


def take(demo: Demo, ids: dict[str, str]) -> None:
    url = demo.url
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        try:
            page = browser.new_page(viewport={"width": 1280, "height": 900})
            shoot(page, "01-sign-in", lambda: page.goto(f"{url}/support/sign-in"))

            def wrong_password() -> None:
                page.get_by_label("Email").fill("jane@example.com")
                page.get_by_label("Password").fill("not my password")
                page.get_by_role("button", name="Sign in").click()

            shoot(page, "02-sign-in-error", wrong_password)
            sign_in(page, url, "jane@example.com")
            shoot(page, "03-cases", lambda: page.goto(f"{url}/support/cases?status=all"))
            shoot(
                page,
                "04-cases-no-match",
                lambda: page.goto(f"{url}/support/cases?status=all&find=kubernetes"),
            )
            shoot(page, "05-create-case", lambda: page.goto(f"{url}/support/cases/new"))

            def submit_empty() -> None:
                page.get_by_label("Subject").fill("")
                page.get_by_role("button", name="Submit").click()

            shoot(page, "06-create-case-errors", submit_empty)
            shoot(page, "07-case", lambda: page.goto(f"{url}/support/cases/{ids['main']}"))
            shoot(
                page,
                "08-case-resolved",
                lambda: page.goto(f"{url}/support/cases/{ids['resolved']}"),
            )
            shoot(page, "09-trusted-advisor", lambda: page.goto(f"{url}/support/advisor"))
            shoot(
                page,
                "10-trusted-advisor-check",
                lambda: page.goto(f"{url}/support/advisor/Pfx0RwqBli"),
            )
            shoot(page, "11-account", lambda: page.goto(f"{url}/support/account"))
            shoot(page, "12-not-found", lambda: page.goto(f"{url}/support/cases/999"))
            page.set_viewport_size({"width": 390, "height": 844})
            shoot(page, "13-cases-phone", lambda: page.goto(f"{url}/support/cases?status=all"))
            page.close()

            other = browser.new_page(viewport={"width": 1280, "height": 900})
            sign_in(other, url, "ana@example.net")
            shoot(other, "14-cases-empty", lambda: other.goto(f"{url}/support/cases"))
            other.close()

            dev = browser.new_page(viewport={"width": 1280, "height": 900})
            sign_in(dev, url, "raj@example.org")
            shoot(dev, "15-create-case-developer", lambda: dev.goto(f"{url}/support/cases/new"))
            shoot(dev, "16-trusted-advisor-developer", lambda: dev.goto(f"{url}/support/advisor"))
            dev.close()
        finally:
            browser.close()


def main() -> int:
    if not Path(CHROMIUM).exists():
        print(f"{CHROMIUM} is missing: apt-get install -y chromium", file=sys.stderr)
        return 1
    OUT.mkdir(exist_ok=True)
    workdir = Path(tempfile.mkdtemp(prefix="supportd-screenshots-"))
    demo = Demo(workdir)
    try:
        ids = fill(demo)
        take(demo, ids)
    finally:
        demo.stop()
        shutil.rmtree(workdir, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
