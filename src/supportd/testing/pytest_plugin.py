"""The pytest plugin (entry point `pytest11`, name `supportd`; `-p no:supportd` turns it
off): two fixtures and two options, nothing else.

- `supportd_server` (session): a `SupportdServer`, started on first use, stopped at
  the end of the session. Its directory (store, clock file, log) is one of pytest's
  temporary directories, kept like the others for a look after a failure.
- `support_client` (function): a boto3 Support client for a new account of its own,
  so that tests never see each other's cases.
- `--supportd-database URL`: serve from this PostgreSQL database instead of SQLite.
- `--supportd-auth sigv4`: accounts get real keys, and every request is signed and
  checked.

Loading the plugin imports nothing of supportd's and starts nothing: a suite that uses
neither fixture pays nothing for it.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import TYPE_CHECKING, Any

import pytest

if TYPE_CHECKING:
    from supportd.testing import SupportdServer

AUTH_MODES = ("open", "sigv4")


def pytest_addoption(parser: pytest.Parser) -> None:
    group = parser.getgroup("supportd", "supportd (the supportd_server fixture)")
    group.addoption(
        "--supportd-database",
        metavar="URL",
        default=None,
        help="Run supportd_server on this PostgreSQL database (postgresql://...; migrated"
        " at start) instead of SQLite in a temporary directory.",
    )
    group.addoption(
        "--supportd-auth",
        choices=AUTH_MODES,
        default="open",
        help="open (default: the access key id names the account) or sigv4 (accounts get"
        " real access keys and every request's signature is checked).",
    )


@pytest.fixture(scope="session")
def supportd_server(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[SupportdServer]:
    """A real `supportd serve` for the session, on a free port, and the support side."""
    from supportd.testing import SupportdServer

    server = SupportdServer(
        database_url=request.config.getoption("--supportd-database"),
        auth=request.config.getoption("--supportd-auth"),
        directory=tmp_path_factory.mktemp("supportd"),
    )
    with server:
        yield server


@pytest.fixture
def support_client(supportd_server: SupportdServer) -> Iterator[Any]:
    """A boto3 Support client for a new account of this test's own."""
    client = supportd_server.client(supportd_server.new_account())
    yield client
    client.close()  # its connections to the server, now rather than at garbage collection
