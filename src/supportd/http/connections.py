"""The server's HTTP connections: uvicorn's httptools protocol, with a deadline for the
request head.

uvicorn closes a kept-alive connection that stays idle after a response, but gives a
connection no deadline before its first request, nor while a request's head (request
line and headers) trickles in. A client that opens connections and sends nothing, or
sends a header byte every few seconds (slowloris), would keep them, and their file
descriptors, for ever. Here each request head must be complete within
`client_header_timeout_s` of its first byte (or of the connection's opening): else the
connection is closed, as nginx's client_header_timeout does. Bodies are not affected:
a slow upload is the attachment links' business, bounded by its own limits.

`supportd serve` names this class as uvicorn's `http` protocol; the deadline comes from
the SUPPORTD_* settings every worker process receives.
"""

from __future__ import annotations

import asyncio
import functools
from typing import Any

from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol

from supportd import config as config_module


@functools.cache
def header_timeout_s() -> float:
    return float(config_module.from_environ().client_header_timeout_s)


class GuardedHttpToolsProtocol(HttpToolsProtocol):
    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._head_deadline: asyncio.TimerHandle | None = None

    def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
        super().connection_made(transport)
        self._arm()

    def data_received(self, data: bytes) -> None:
        # The first bytes of a new request on a kept-alive connection start its clock.
        if self._head_deadline is None and (self.cycle is None or self.cycle.response_complete):
            self._arm()
        super().data_received(data)

    def on_headers_complete(self) -> None:
        self._disarm()
        super().on_headers_complete()

    def connection_lost(self, exc: Exception | None) -> None:
        self._disarm()
        super().connection_lost(exc)

    def _arm(self) -> None:
        timeout = header_timeout_s()
        if timeout > 0:
            self._head_deadline = self.loop.call_later(timeout, self._head_too_slow)

    def _disarm(self) -> None:
        if self._head_deadline is not None:
            self._head_deadline.cancel()
            self._head_deadline = None

    def _head_too_slow(self) -> None:
        self._head_deadline = None
        if not self.transport.is_closing():
            self.transport.close()
