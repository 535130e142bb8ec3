"""A real `supportd serve` per test module (on each store), and the accounts and users
the web tests act as."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from tests.conftest import _database_url
from tests.support.server import ServerProcess
from tests.web.helpers import WebClient, create_user, supportd

BUSINESS = "210000000001"
OTHER = "210000000002"
DEVELOPER = "210000000003"


@dataclass
class WebSite:
    server: ServerProcess
    clock_file: Path
    alice: str  # e-mail of a user of BUSINESS
    bob: str  # e-mail of a user of OTHER
    dev: str  # e-mail of a user of DEVELOPER (developer plan)

    @property
    def url(self) -> str:
        return self.server.url

    def move_clock(self, ms: int) -> None:
        """Every process of the server sees the time this much later (fake_clock_file)."""
        current = int(self.clock_file.read_text() or "0")
        self.clock_file.write_text(str(current + ms))


@pytest.fixture(scope="module")
def site(
    request: pytest.FixtureRequest, store_kind: str, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[WebSite]:
    base = tmp_path_factory.mktemp(f"web-{store_kind}")
    clock_file = base / "clock"
    clock_file.write_text("0")
    server = ServerProcess(
        data_dir=base / "data",
        database_url=_database_url(request, store_kind),
        extra_args=["--fake-clock-file", str(clock_file)],
    )
    # Accounts and users exist before the server starts: the CLI writes the store.
    server.data_dir.mkdir(parents=True, exist_ok=True)
    for account, plan in ((BUSINESS, "business"), (OTHER, "enterprise"), (DEVELOPER, "developer")):
        supportd(
            server, "accounts", "create", account, "--email", f"{plan}@example.com", "--plan", plan
        )
    alice, bob, dev = "alice@example.com", "bob@example.org", "dev@example.net"
    create_user(server, BUSINESS, alice, "Alice Example")
    create_user(server, OTHER, bob, "Bob Other")
    create_user(server, DEVELOPER, dev, "Dev Eloper")
    server.start()
    yield WebSite(server, clock_file, alice, bob, dev)
    server.stop()


@pytest.fixture(autouse=True)
def close_clients() -> Iterator[None]:
    yield
    while WebClient.opened:
        WebClient.opened.pop().close()
