"""The ceiling: an ASGI app that reads and parses the JSON body, then answers `{}`.

Served by uvicorn with the options `supportd serve` uses (httptools, uvloop, no access
log), it shows what the HTTP stack alone costs on this machine; supportd's figures are
read against it.
"""

from __future__ import annotations

from typing import Any

import msgspec

HEADERS = [
    (b"content-type", b"application/x-amz-json-1.1"),
    (b"content-length", b"2"),
]


async def app(scope: dict[str, Any], receive: Any, send: Any) -> None:
    if scope["type"] == "lifespan":
        while True:
            message = await receive()
            if message["type"] == "lifespan.startup":
                await send({"type": "lifespan.startup.complete"})
            elif message["type"] == "lifespan.shutdown":
                await send({"type": "lifespan.shutdown.complete"})
                return
    chunks = []
    more = True
    while more:
        message = await receive()
        chunks.append(message.get("body", b""))
        more = message.get("more_body", False)
    body = b"".join(chunks)
    if body:
        msgspec.json.decode(body)
    await send({"type": "http.response.start", "status": 200, "headers": HEADERS})
    await send({"type": "http.response.body", "body": b"{}"})
