"""The app in process: create_app over an SQLiteStore in tmp_path, driven through httpx's
ASGI transport on one event loop (Starlette's TestClient warns about httpx, and pytest
treats warnings as errors)."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import pytest

from supportd.config import Config
from supportd.http.app import create_app
from supportd.http.protocol import CONTENT_TYPE
from supportd.storage.sqlite import SQLiteStore

TARGET_PREFIX = "AWSSupport_20130415"


def authorization(account: str) -> str:
    """Open mode takes the account from the access key id of the credential scope."""
    return (
        f"AWS4-HMAC-SHA256 Credential={account}/20260101/us-east-1/support/aws4_request, "
        "SignedHeaders=host, Signature=00"
    )


@dataclass
class ApiClient:
    """Sends JSON 1.1 requests to the in-process app and keeps every exchange."""

    runner: asyncio.Runner
    client: httpx.AsyncClient
    account: str = "111122223333"
    exchanges: list[tuple[str, httpx.Response]] = field(default_factory=list)

    def send(
        self,
        operation: str,
        body: bytes,
        account: str | None = None,
        headers: dict[str, str] | None = None,
    ) -> httpx.Response:
        request = self.client.post(
            "/",
            content=body,
            headers={
                "Content-Type": CONTENT_TYPE,
                "X-Amz-Target": f"{TARGET_PREFIX}.{operation}",
                "Authorization": authorization(account or self.account),
                **(headers or {}),
            },
        )
        response = self.runner.run(request)
        self.exchanges.append((operation, response))
        return response

    def call(self, operation: str, params: dict[str, Any] | None = None, **kw: Any) -> Any:
        """A request that must succeed; its JSON result."""
        response = self.send(operation, json.dumps(params or {}).encode(), **kw)
        assert response.status_code == 200, (operation, params, response.text)
        return response.json()

    def error(self, operation: str, params: dict[str, Any], **kw: Any) -> tuple[int, Any]:
        """A request that must fail; its status and JSON error body."""
        response = self.send(operation, json.dumps(params).encode(), **kw)
        assert response.status_code != 200, (operation, params, response.text)
        return response.status_code, response.json()


@pytest.fixture
def api(tmp_path: Path) -> Iterator[ApiClient]:
    config = Config(data_dir=str(tmp_path))
    store = SQLiteStore(config.sqlite_path)
    app = create_app(config, store)
    with asyncio.Runner() as runner:
        # What the app's lifespan does; the ASGI transport sends no lifespan events.
        runner.run(store.open())
        client = httpx.AsyncClient(transport=httpx.ASGITransport(app), base_url="http://127.0.0.1")
        try:
            yield ApiClient(runner, client)
        finally:
            runner.run(client.aclose())
            runner.run(store.close())
