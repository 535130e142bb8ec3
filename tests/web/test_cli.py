"""`supportd users` as an operator uses it: --json and text output, passwords from
stdin only, one-time links, and every mistake answered in one line."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner, Result

from supportd import cli
from supportd.security import passwords
from supportd.storage.sqlite import SQLiteStore

ACCOUNT = "111122223333"


class Users:
    def __init__(self, data_dir: Path) -> None:
        self.data_dir = data_dir
        self.runner = CliRunner()

    def run(
        self, *args: str, stdin: str | None = None, env: dict[str, str] | None = None
    ) -> Result:
        return self.runner.invoke(
            cli.main,
            [*args, "--data-dir", str(self.data_dir)],
            input=stdin,
            env={"SUPPORTD_AUTH": None, "SUPPORTD_PUBLIC_URL": None, **(env or {})},  # type: ignore[dict-item]
            catch_exceptions=False,
        )

    def json(self, *args: str, stdin: str | None = None, **kwargs: Any) -> Any:
        result = self.run(*args, "--json", stdin=stdin, **kwargs)
        assert result.exit_code == 0, result.output
        return json.loads(result.output)


@pytest.fixture
def users(tmp_path: Path) -> Users:
    return Users(tmp_path / "data")


def stored_hash(data_dir: Path, email: str) -> str | None:
    async def read() -> str | None:
        store = SQLiteStore(data_dir / "supportd.db")
        await store.open()
        try:
            found = await store.get_web_user_by_email(email)
            return found.password_hash if found else None
        finally:
            await store.close()

    return asyncio.run(read())


def test_create_with_a_password_from_stdin(users: Users) -> None:
    made = users.json(
        "users", "create", "--account", ACCOUNT, "--email", "Jane@Example.COM", "--name",
        "Jane Doe", "--password-stdin", stdin="a long passphrase\n",
    )  # fmt: skip
    assert made["email"] == "jane@example.com"  # one user per address, whatever its case
    assert (made["accountId"], made["name"], made["status"]) == (ACCOUNT, "Jane Doe", "active")
    assert made["userId"].startswith("user-") and "inviteLink" not in made
    stored = stored_hash(users.data_dir, "jane@example.com")
    assert stored is not None and stored.startswith("$argon2id$")
    assert "a long passphrase" not in stored
    assert passwords.verify_password(stored, "a long passphrase")
    text = users.run(
        "users", "create", "--account", ACCOUNT, "--email", "raj@example.com",
        "--password-stdin", stdin="another passphrase",
    )  # fmt: skip
    assert text.exit_code == 0 and text.output.startswith("created user raj@example.com (user-")


def test_create_with_a_one_time_link(users: Users) -> None:
    made = users.json(
        "users", "create", "--account", ACCOUNT, "--email", "new@example.com", "--invite",
        "--public-url", "https://support.example.com",
    )  # fmt: skip
    assert made["status"] == "invited"
    assert made["inviteLink"].startswith("https://support.example.com/support/invite/")
    assert stored_hash(users.data_dir, "new@example.com") is None
    again = users.json("users", "invite", "new@example.com", "--port", "8080")
    assert again["inviteLink"].startswith("http://127.0.0.1:8080/support/invite/")
    assert again["inviteLink"] != made["inviteLink"]


def test_list_disable_enable_delete(users: Users) -> None:
    for email, account in (("a@example.com", ACCOUNT), ("b@example.com", "444455556666")):
        users.json(
            "users", "create", "--account", account, "--email", email, "--password-stdin",
            stdin="a long passphrase",
        )  # fmt: skip
    listed = users.json("users", "list")
    assert [u["email"] for u in listed] == ["a@example.com", "b@example.com"]
    assert [u["email"] for u in users.json("users", "list", "--account", ACCOUNT)] == [
        "a@example.com"
    ]
    table = users.run("users", "list").output.splitlines()
    assert table[0].split() == ["USER", "ACCOUNT", "EMAIL", "NAME", "STATUS", "CREATED"]
    disabled = users.json("users", "disable", "a@example.com")
    assert disabled["status"] == "disabled" and "disabled" in disabled
    user_id = disabled["userId"]
    assert users.json("users", "enable", user_id)["status"] == "active"
    deleted = users.json("users", "delete", "A@example.com")
    assert deleted["deleted"] is True and deleted["userId"] == user_id
    assert [u["email"] for u in users.json("users", "list")] == ["b@example.com"]
    assert users.run("users", "list", "--account", "999999999999").output.strip() == "no users"


@pytest.mark.parametrize(
    ("args", "stdin", "message"),
    [
        (
            ["--email", "x@example.com"],
            "passphrase!!",
            "exactly one of --password-stdin and --invite",
        ),
        (["--email", "x@example.com", "--invite", "--password-stdin"], "p" * 12, "exactly one of"),
        (["--email", "x@example.com", "--password-stdin"], "", "standard input holds no password"),
        (["--email", "x@example.com", "--password-stdin"], "short", "at least 10 characters"),
        (["--email", "not-an-address", "--password-stdin"], "p" * 12, "name@example.com"),
        (["--email", "x@example.com", "--name", "a\x01b", "--invite"], None, "control characters"),
    ],
)
def test_create_refuses_mistakes_in_one_line(
    users: Users, args: list[str], stdin: str | None, message: str
) -> None:
    result = users.run("users", "create", "--account", ACCOUNT, *args, stdin=stdin)
    assert result.exit_code in (1, 2)
    assert message in result.output
    assert "Traceback" not in result.output
    assert users.json("users", "list") == []


def test_accounts_and_users_that_do_not_exist(users: Users) -> None:
    bad = users.run("users", "create", "--account", "12345", "--email", "x@example.com", "--invite")
    assert bad.exit_code == 1 and "is not a 12-digit account id" in bad.output
    # With signatures required, a user needs an account that exists.
    sigv4 = users.run(
        "users", "create", "--account", ACCOUNT, "--email", "x@example.com", "--invite",
        env={"SUPPORTD_AUTH": "sigv4"},
    )  # fmt: skip
    assert sigv4.exit_code == 1 and f"no account {ACCOUNT}" in sigv4.output
    users.json("accounts", "create", ACCOUNT, "--email", "o@example.com", "--plan", "business")
    ok = users.run(
        "users", "create", "--account", ACCOUNT, "--email", "x@example.com", "--invite",
        env={"SUPPORTD_AUTH": "sigv4"},
    )  # fmt: skip
    assert ok.exit_code == 0, ok.output
    taken = users.run(
        "users", "create", "--account", ACCOUNT, "--email", "X@example.com", "--invite"
    )
    assert taken.exit_code == 1 and "exists already" in taken.output
    for command in ("disable", "enable", "delete", "invite"):
        missing = users.run("users", command, "nobody@example.com")
        assert missing.exit_code == 1 and "no user nobody@example.com" in missing.output
    users.json("users", "disable", "x@example.com")
    refused = users.run("users", "invite", "x@example.com")
    assert refused.exit_code == 1 and "is disabled" in refused.output
