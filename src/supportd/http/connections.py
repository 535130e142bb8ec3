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

A response's head is written together with the first part of its body, in one write:
uvicorn writes each ASGI message as it comes, and on a kept-alive connection every write
is a send() that wakes the client, so a small answer cost two (bench/README.md). A
streamed answer's head waits for its first chunk.

`supportd serve` names this class as uvicorn's `http` protocol; the deadline comes from
the SUPPORTD_* settings every worker process receives.
"""

from __future__ import annotations

import asyncio
import functools
from typing import Any

from uvicorn._types import ASGISendEvent
from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol, RequestResponseCycle

from supportd import config as config_module


@functools.cache
def header_timeout_s() -> float:
    return float(config_module.from_environ().client_header_timeout_s)


class GuardedHttpToolsProtocol(HttpToolsProtocol):
    """One timer per connection, not one per request: a request head only records when
    it began (`_head_since`), and the timer, when it fires, either closes a head that is
    too slow or sets itself again for the earliest moment one could be (a timer made
    and cancelled for every request cost several microseconds each)."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._head_deadline: asyncio.TimerHandle | None = None
        self._head_since: float | None = None

    def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
        super().connection_made(transport)
        timeout = header_timeout_s()
        if timeout > 0:
            self._head_since = self.loop.time()
            self._head_deadline = self.loop.call_later(timeout, self._check_head)

    def data_received(self, data: bytes) -> None:
        # The first bytes of a new request on a kept-alive connection start its clock.
        if self._head_since is None and (self.cycle is None or self.cycle.response_complete):
            self._head_since = self.loop.time()
        super().data_received(data)

    def on_headers_complete(self) -> None:
        self._head_since = None
        super().on_headers_complete()
        # The cycle uvicorn just made for this request; its task has not run yet.
        if self.cycle is not None and type(self.cycle) is RequestResponseCycle:
            self.cycle.__class__ = _OneWriteCycle

    def connection_lost(self, exc: Exception | None) -> None:
        self._head_since = None
        if self._head_deadline is not None:
            self._head_deadline.cancel()
            self._head_deadline = None
        super().connection_lost(exc)

    def _check_head(self) -> None:
        self._head_deadline = None
        if self.transport.is_closing():
            return
        timeout = header_timeout_s()
        now = self.loop.time()
        since = self._head_since
        if since is not None and now - since >= timeout:
            self._head_since = None
            self.transport.close()
            return
        wait = timeout if since is None else since + timeout - now
        self._head_deadline = self.loop.call_later(wait, self._check_head)


class _HeldWrites:
    """Stands in for the transport from a response's head to its first body message:
    keeps what is written, passes everything else through (a close writes what it kept
    first)."""

    __slots__ = ("chunks", "transport")

    def __init__(self, transport: asyncio.Transport) -> None:
        self.transport = transport
        self.chunks: list[bytes] = []

    def write(self, data: bytes) -> None:
        self.chunks.append(data)

    def flush(self) -> None:
        if self.chunks and not self.transport.is_closing():
            self.transport.write(b"".join(self.chunks))
        self.chunks = []

    def close(self) -> None:
        self.flush()
        self.transport.close()

    def __getattr__(self, name: str) -> Any:
        return getattr(self.transport, name)


class _OneWriteCycle(RequestResponseCycle):
    """uvicorn's request cycle, writing a response's head with its first body message."""

    async def send(self, message: ASGISendEvent) -> None:
        current: Any = self.transport
        if isinstance(current, _HeldWrites):
            try:
                await super().send(message)
            finally:
                self.transport = current.transport
                current.flush()
        elif message["type"] == "http.response.start" and not self.response_started:
            self.transport = _HeldWrites(current)  # type: ignore[assignment]
            try:
                await super().send(message)
            except BaseException:
                self.transport = current
                raise
        else:
            await super().send(message)
