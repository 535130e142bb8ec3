"""What the web tests share: the CLI, a signed-in HTTP client, page scraping."""

from __future__ import annotations

import json
import os
import re
import subprocess
from typing import Any

import httpx

from tests.support.server import TEST_SERVER_KEY, ServerProcess, supportd_executable

PASSWORD = "correct horse battery staple"
_CSRF = re.compile(r'name="csrf_token" value="([^"]*)"')
_CASE_LINK = re.compile(r'href="/support/cases/(\d+)"')


def store_args(server: ServerProcess) -> list[str]:
    args = ["--data-dir", str(server.data_dir)]
    if server.database_url:
        args += ["--database", server.database_url]
    return args


def supportd(
    server: ServerProcess, *args: str, stdin: str | None = None, lines: bool = False
) -> Any:
    """`supportd <args> --json` on the server's store; the parsed JSON output (a list
    of documents with `lines`, for commands that write JSON lines)."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("SUPPORTD_")}
    env["SUPPORTD_SERVER_KEY"] = TEST_SERVER_KEY if server.database_url else ""
    done = subprocess.run(
        [supportd_executable(), *args, "--json", *store_args(server)],
        input=stdin,
        capture_output=True,
        text=True,
        env=env,
        timeout=60,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    if lines:
        return [json.loads(line) for line in done.stdout.splitlines() if line.strip()]
    return json.loads(done.stdout)


def create_user(server: ServerProcess, account: str, email: str, name: str = "") -> str:
    """A user with PASSWORD, made with the CLI; the user id."""
    created = supportd(
        server,
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
    return str(created["userId"])


def csrf(html: str) -> str:
    found = _CSRF.search(html)
    assert found, "the page has no CSRF token"
    return found.group(1)


def case_ids_listed(html: str) -> list[str]:
    return list(dict.fromkeys(_CASE_LINK.findall(html)))


class WebClient(httpx.Client):
    """A browser without a browser: cookies, no redirects followed. Every client is
    closed after its test (conftest's close_clients)."""

    opened: list[WebClient] = []  # noqa: RUF012 (the registry of open clients)

    def __init__(self, server: ServerProcess, **kwargs: Any) -> None:
        super().__init__(base_url=server.url, follow_redirects=False, timeout=30, **kwargs)
        WebClient.opened.append(self)

    def plant(self, value: str) -> None:
        """Set the session cookie as the server would (same domain and path)."""
        self.cookies.set("supportd_support", value, domain="127.0.0.1", path="/support")

    def sign_in(self, email: str, password: str = PASSWORD, **headers: str) -> httpx.Response:
        page = self.get("/support/sign-in")
        return self.post(
            "/support/sign-in",
            data={"csrf_token": csrf(page.text), "email": email, "password": password},
            headers=headers,
        )

    def token(self, path: str = "/support/account") -> str:
        """The session's CSRF token, as a page of it shows it."""
        page = self.get(path)
        assert page.status_code == 200, page.status_code
        return csrf(page.text)

    @property
    def session_cookie(self) -> str | None:
        return self.cookies.get("supportd_support")


def signed_in(server: ServerProcess, email: str) -> WebClient:
    client = WebClient(server)
    answer = client.sign_in(email)
    assert answer.status_code == 303, answer.text
    return client
