"""The request cycle that writes a response's head with its first body message: what a
client receives, write by write, for a small answer, a streamed one and one that ends
before its body. The transport records the writes the socket would get."""

from __future__ import annotations

import asyncio
import functools
import logging
from collections.abc import Callable, Coroutine
from typing import Any

from uvicorn.protocols.http.flow_control import FlowControl

from supportd.http.connections import _OneWriteCycle

HEAD = [(b"content-type", b"application/x-amz-json-1.1")]


class RecordingTransport(asyncio.Transport):
    def __init__(self) -> None:
        super().__init__()
        self.writes: list[bytes] = []
        self.closed = False

    def write(self, data: bytes | bytearray | memoryview) -> None:
        assert not self.closed, "a write after close"
        self.writes.append(bytes(data))

    def close(self) -> None:
        self.closed = True

    def is_closing(self) -> bool:
        return self.closed


def _synchronous(test: Callable[[], Coroutine[Any, Any, None]]) -> Callable[[], None]:
    @functools.wraps(test)
    def run() -> None:
        asyncio.run(test())

    return run


def _cycle(transport: RecordingTransport, keep_alive: bool = True) -> _OneWriteCycle:
    scope: Any = {"type": "http", "method": "POST", "path": "/", "http_version": "1.1"}
    return _OneWriteCycle(
        scope=scope,
        transport=transport,
        flow=FlowControl(transport),
        logger=logging.getLogger("test"),
        access_logger=logging.getLogger("test.access"),
        access_log=False,
        default_headers=[],
        message_event=asyncio.Event(),
        expect_100_continue=False,
        keep_alive=keep_alive,
        on_response=lambda: None,
    )


async def _start(cycle: _OneWriteCycle, length: int, status: int = 200) -> None:
    headers = [*HEAD, (b"content-length", str(length).encode())]
    await cycle.send({"type": "http.response.start", "status": status, "headers": headers})


@_synchronous
async def test_a_small_answer_leaves_in_one_write() -> None:
    transport = RecordingTransport()
    cycle = _cycle(transport)
    await _start(cycle, 2)
    assert transport.writes == []
    await cycle.send({"type": "http.response.body", "body": b"{}"})
    [written] = transport.writes
    assert written.startswith(b"HTTP/1.1 200 OK\r\n")
    assert written.endswith(b"\r\n\r\n{}")
    assert cycle.transport is transport and cycle.response_complete


@_synchronous
async def test_a_streamed_answer_sends_its_head_with_the_first_chunk_only() -> None:
    transport = RecordingTransport()
    cycle = _cycle(transport)
    await _start(cycle, 6)
    await cycle.send({"type": "http.response.body", "body": b"abc", "more_body": True})
    await cycle.send({"type": "http.response.body", "body": b"def"})
    assert len(transport.writes) == 2
    assert transport.writes[0].endswith(b"\r\n\r\nabc")
    assert transport.writes[1] == b"def"


@_synchronous
async def test_a_head_is_not_lost_when_the_connection_closes_before_the_body() -> None:
    transport = RecordingTransport()
    cycle = _cycle(transport)
    await cycle.send({"type": "http.response.start", "status": 500, "headers": HEAD})
    cycle.transport.close()  # what uvicorn does when the app fails after the head
    assert transport.closed
    [written] = transport.writes
    assert written.startswith(b"HTTP/1.1 500 Internal Server Error\r\n")


@_synchronous
async def test_closing_after_the_answer_writes_it_first() -> None:
    transport = RecordingTransport()
    cycle = _cycle(transport, keep_alive=False)
    await _start(cycle, 2)
    await cycle.send({"type": "http.response.body", "body": b"{}"})
    [written] = transport.writes
    assert b"connection: close\r\n" in written and written.endswith(b"{}")
    assert transport.closed
