"""Open mode keeps to this machine, however the app is started.

- DNS rebinding: a web page whose name was pointed at 127.0.0.1 sends its own name as
  Host. Open mode answers only Host values that name this machine (127.0.0.1, [::1],
  localhost, any port); anything else is a clear 403 AccessDeniedException, and
  changes nothing. With --allow-open-on-network any well-formed name is served.
- The exposure rule (no open mode on a network address without
  --allow-open-on-network) is enforced where the app is made: uvicorn's factory refuses
  it too, and a connection that arrives on a non-loopback address is refused.
"""

from __future__ import annotations

import asyncio
import http.client
import json
import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from supportd.config import Config
from supportd.http.app import ExposureError, create_app
from supportd.storage.sqlite import SQLiteStore
from tests.compat.helpers import JSON_11, TARGET_PREFIX, all_cases
from tests.conftest import _database_url
from tests.support.clients import boto3_client
from tests.support.server import ServerProcess, free_port

BODY = json.dumps({"language": "en"}).encode()


Answer = tuple[int, dict[str, str], dict[str, Any]]


def _send(
    port: int,
    hosts: list[str],
    operation: str = "DescribeSeverityLevels",
    body: bytes = BODY,
    account: str = "111122223333",
) -> Answer:
    """POST / with exactly these Host headers (none if empty)."""
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
    try:
        conn.putrequest("POST", "/", skip_host=True, skip_accept_encoding=True)
        for host in hosts:
            conn.putheader("Host", host)
        conn.putheader("Content-Type", JSON_11)
        conn.putheader("X-Amz-Target", f"{TARGET_PREFIX}.{operation}")
        conn.putheader(
            "Authorization",
            f"AWS4-HMAC-SHA256 Credential={account}/20260101/us-east-1/support/aws4_request,"
            " SignedHeaders=host, Signature=00",
        )
        conn.putheader("Content-Length", str(len(body)))
        conn.endheaders(body)
        response = conn.getresponse()
        raw = response.read()
        return response.status, {k.lower(): v for k, v in response.getheaders()}, json.loads(raw)
    finally:
        conn.close()


LOOPBACK = ["127.0.0.1:{port}", "127.0.0.1", "localhost:{port}", "LOCALHOST", "[::1]:{port}"]
ELSEWHERE = [
    "evil.example:{port}",
    "evil.example",
    "127.0.0.1.nip.io:{port}",
    "localhost.evil.example:{port}",
    "10.0.0.5:{port}",
    "[",
]


@pytest.mark.parametrize("host", LOOPBACK)
def test_loopback_hosts_are_served(server: ServerProcess, host: str) -> None:
    status, _, body = _send(server.port, [host.format(port=server.port)])
    assert status == 200, body
    assert body["severityLevels"]


@pytest.mark.supportd_wording
@pytest.mark.parametrize("host", ELSEWHERE)
def test_other_hosts_are_refused_in_open_mode(
    server: ServerProcess, account: str, host: str
) -> None:
    value = host.format(port=server.port)
    case = json.dumps({"subject": "via a rebound name", "communicationBody": "b"}).encode()
    status, headers, body = _send(server.port, [value], "CreateCase", case, account)
    assert status == 403, body
    assert headers["x-amzn-errortype"] == "AccessDeniedException"
    assert body["__type"] == "AccessDeniedException"
    assert "127.0.0.1, [::1] or localhost" in body["message"]
    assert repr(value) in body["message"]
    assert all_cases(boto3_client(server.url, account)) == []  # nothing was created


def test_two_host_headers_are_refused_in_open_mode(server: ServerProcess) -> None:
    status, headers, _ = _send(server.port, ["127.0.0.1", "evil.example"])
    assert (status, headers["x-amzn-errortype"]) == (403, "AccessDeniedException")


@pytest.fixture(scope="module")
def open_on_network(
    request: pytest.FixtureRequest, store_kind: str, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[ServerProcess]:
    process = ServerProcess(
        data_dir=tmp_path_factory.mktemp(f"open-network-{store_kind}") / "data",
        database_url=_database_url(request, store_kind),
        extra_args=["--allow-open-on-network"],
    ).start()
    yield process
    process.stop()


@pytest.mark.parametrize("host", ["support.internal:{port}", "10.0.0.5", "my_service"])
def test_allow_open_on_network_serves_any_name(open_on_network: ServerProcess, host: str) -> None:
    status, _, body = _send(open_on_network.port, [host.format(port=open_on_network.port)])
    assert status == 200, body


# --- the exposure rule where the app is made ------------------------------------------


@pytest.mark.parametrize("host", ["0.0.0.0", "192.0.2.10", "::", "support.internal"])
def test_create_app_refuses_open_mode_on_a_network_address(tmp_path: Path, host: str) -> None:
    config = Config(host=host, data_dir=str(tmp_path))
    with pytest.raises(ExposureError, match="refusing to serve open mode"):
        create_app(config, SQLiteStore(config.sqlite_path))
    # Allowed on purpose, or with signatures: made.
    for allowed in (
        Config(host=host, data_dir=str(tmp_path), allow_open_on_network=True),
        Config(host=host, data_dir=str(tmp_path), auth="sigv4", server_key=_KEY),
    ):
        assert create_app(allowed, SQLiteStore(allowed.sqlite_path)) is not None


_KEY = "c3VwcG9ydGQtdGVzdC1zZXJ2ZXIta2V5LTMyLWJ5dGU="


def test_uvicorns_factory_refuses_open_mode_on_a_network_address(tmp_path: Path) -> None:
    """Started without `supportd serve`: the app factory itself refuses."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("SUPPORTD_")}
    env.update(SUPPORTD_HOST="0.0.0.0", SUPPORTD_DATA_DIR=str(tmp_path / "data"))
    result = subprocess.run(
        [sys.executable, "-m", "uvicorn", "--factory", "supportd.http.app:app_from_environment",
         "--host", "127.0.0.1", "--port", str(free_port())],
        env=env, capture_output=True, text=True, timeout=60, check=False,
    )  # fmt: skip
    assert result.returncode != 0
    assert "refusing to serve open mode (no authentication) on 0.0.0.0" in result.stderr


@pytest.mark.supportd_wording
def test_a_connection_on_a_network_address_is_refused_in_open_mode(tmp_path: Path) -> None:
    """An app made for loopback but listening on a network address (a server started
    with another --host than the settings say) serves no connection arriving there."""
    config = Config(data_dir=str(tmp_path))
    store = SQLiteStore(config.sqlite_path)
    app = create_app(config, store)

    async def ask(base_url: str) -> httpx.Response:
        transport = httpx.ASGITransport(app)  # the scope's server address is the URL's
        async with httpx.AsyncClient(transport=transport, base_url=base_url) as client:
            return await client.post(
                "/",
                content=BODY,
                headers={
                    "Content-Type": JSON_11,
                    "X-Amz-Target": f"{TARGET_PREFIX}.DescribeSeverityLevels",
                    "Host": "127.0.0.1",
                },
            )

    async def scenario() -> tuple[httpx.Response, httpx.Response]:
        await store.open()
        try:
            return await ask("http://192.0.2.10:4599"), await ask("http://127.0.0.1:4599")
        finally:
            await store.close()

    refused, served = asyncio.run(scenario())
    assert refused.status_code == 403
    assert refused.json()["__type"] == "AccessDeniedException"
    assert "arrived on 192.0.2.10" in refused.json()["message"]
    assert served.status_code == 200, served.text
