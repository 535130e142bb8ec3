"""What the staff console's tests and screenshots share: a real `supportd serve` with a
fake clock, staff members with console passwords made by the CLI on its store, a
signed-in HTTP session (httpx, following the forms as a browser would), Debian's
chromium through Playwright, and axe-core run in a page."""

from __future__ import annotations

import html
import itertools
import re
import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
from click.testing import CliRunner

from supportd import cli
from supportd.runtime import write_offset
from tests.support.server import ServerProcess

PASSWORD = "correct horse battery staple"
CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
AXE = Path(__file__).resolve().parent / "vendor" / "axe.min.js"
_CSRF = re.compile(r'name="csrf_token" value="([^"]*)"')
_names = itertools.count(1)


@dataclass
class FakeClock:
    """The server's clock: system time plus the offset in this file."""

    path: Path
    offset_ms: int = 0

    def set(self, offset_ms: int) -> None:
        self.offset_ms = offset_ms
        write_offset(self.path, offset_ms)

    def now_ms(self) -> int:
        return time.time_ns() // 1_000_000 + self.offset_ms


@dataclass(frozen=True)
class Staff:
    name: str
    email: str
    role: str
    password: str = PASSWORD


@dataclass
class ConsoleServer:
    process: ServerProcess
    store_args: list[str]  # the CLI on the server's store (and its clock)
    clock: FakeClock
    staff: dict[str, Staff] = field(default_factory=dict)

    @property
    def url(self) -> str:
        return self.process.url

    def cli(self, *args: str, input: str | None = None, ok: bool = True, clock: bool = True) -> Any:
        """`supportd ARGS` on this server's store, in process (`clock`: the command
        takes the fake clock too)."""
        store_args = self.store_args if clock else self.store_args[:2]
        result = CliRunner().invoke(
            cli.main, [*args, *store_args], input=input, catch_exceptions=False
        )
        if ok:
            assert result.exit_code == 0, result.output
        return result

    def add_staff(
        self, role: str = "agent", name: str | None = None, password: str = PASSWORD
    ) -> Staff:
        """A staff member with a console password, made as an operator would."""
        name = name or f"{role}{next(_names)}"
        member = Staff(name, f"{name}@support.example.com", role, password)
        self.cli("staff", "create", name, "--email", member.email, "--role", role)
        self.cli("staff", "password", name, "--password-stdin", input=password + "\n")
        self.staff[name] = member
        return member

    def token(self, name: str) -> str:
        return str(self.cli("staff", "token", name).output.split()[-1])

    def session(self, member: Staff) -> ConsoleSession:
        session = ConsoleSession(httpx.Client(base_url=self.url, timeout=30))
        session.sign_in(member.email, member.password)
        return session


def start_server(
    base: Path,
    database_url: str = "",
    poll_s: int = 1,
    offset_ms: int = 0,
    env: Mapping[str, str] | None = None,
) -> ConsoleServer:
    """A server whose console queue polls every `poll_s` seconds (`env`: more
    SUPPORTD_* settings)."""
    clock = FakeClock(base / "clock")
    clock.set(offset_ms)
    store_args = (
        ["--database", database_url] if database_url else ["--data-dir", str(base / "data")]
    )
    store_args += ["--fake-clock-file", str(clock.path)]
    process = ServerProcess(
        data_dir=base / "data",
        database_url=database_url,
        extra_args=["--fake-clock-file", str(clock.path), "--worker-poll-ms", "100"],
        env={"SUPPORTD_WEB_CONSOLE_POLL_S": str(poll_s), **(env or {})},
    )
    server = ConsoleServer(process, store_args, clock)
    # The first staff member exists before the server starts, as an operator sets it up.
    server.add_staff("admin", name="admin")
    process.start()
    return server


def csrf_token(page: str) -> str:
    found = _CSRF.search(page)
    assert found, "the page has no form with a CSRF token"
    return html.unescape(found.group(1))


@dataclass
class ConsoleSession:
    """A browser-like session: cookies kept, forms posted with the page's CSRF token."""

    client: httpx.Client
    token: str = ""

    def sign_in(self, email: str, password: str) -> httpx.Response:
        page = self.client.get("/console/sign-in")
        assert page.status_code == 200, page.text
        response = self.client.post(
            "/console/sign-in",
            data={"csrf_token": csrf_token(page.text), "email": email, "password": password},
        )
        if response.status_code == 303:
            queue = self.client.get("/console/queue")
            assert queue.status_code == 200, queue.text
            self.token = csrf_token(queue.text)
        return response

    def get(self, path: str, **params: Any) -> httpx.Response:
        return self.client.get(path, params=params or None)

    def post(
        self, path: str, data: Mapping[str, str] | None = None, *, token: str | None = None
    ) -> httpx.Response:
        """Post a form with the session's CSRF token (or `token`: "" sends none)."""
        fields = dict(data or {})
        chosen = self.token if token is None else token
        if chosen:
            fields["csrf_token"] = chosen
        return self.client.post(path, data=fields)

    def close(self) -> None:
        self.client.close()


def launch(playwright: Any) -> Any:
    """Debian's chromium (never a downloaded browser)."""
    return playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS, headless=True)


def sign_in_page(page: Any, url: str, member: Staff) -> None:
    page.goto(url + "/console/sign-in")
    page.get_by_label("Email").fill(member.email)
    page.get_by_label("Password").fill(member.password)
    page.get_by_role("button", name="Sign in").click()
    page.wait_for_url("**/console/queue")


def axe_problems(page: Any) -> list[str]:
    """axe-core's serious and critical violations on the page, one line each. (Run
    through the DevTools protocol, so the page's CSP, which allows no inline script,
    stays as it is.)"""
    page.evaluate(AXE.read_text(encoding="utf-8"))
    found = page.evaluate(
        """async () => {
            const result = await axe.run(document, {resultTypes: ["violations"]});
            return result.violations.map(v => ({
                id: v.id, impact: v.impact, help: v.help,
                targets: v.nodes.slice(0, 3).map(n => n.target.join(" "))}));
        }"""
    )
    return [
        f"{v['impact']}: {v['id']} ({v['help']}) at {', '.join(v['targets'])}"
        for v in found
        if v["impact"] in ("serious", "critical")
    ]
