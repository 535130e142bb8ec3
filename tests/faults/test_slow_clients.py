"""Slow and idle clients do not starve the others: 5,000 connections that never send a
request, and a slowloris client trickling its headers, while normal requests go on.

The server closes a connection whose request head is not complete within
--client-header-timeout-s (5 s here) of its first byte or of the connection's opening.
Meanwhile normal requests are answered promptly: an idle connection costs the event
loop nothing, and the server raises its open-file limit so that thousands of them do
not exhaust its descriptors.
"""

from __future__ import annotations

import http.client
import resource
import selectors
import socket
import threading
import time
from pathlib import Path

from tests.support.clients import boto3_client
from tests.support.server import ServerProcess

IDLE = 5000
TIMEOUT_S = 5


def _get(port: int, path: str) -> int:
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=5)
    try:
        connection.request("GET", path)
        response = connection.getresponse()
        response.read()
        return response.status
    finally:
        connection.close()


def _slowloris(port: int, result: dict[str, float], stop: threading.Event) -> None:
    sock = socket.create_connection(("127.0.0.1", port))
    started = time.monotonic()
    try:
        sock.sendall(b"POST / HTTP/1.1\r\nHost: x\r\n")
        while not stop.is_set() and time.monotonic() - started < 10:
            sock.sendall(b"X-a: b\r\n")  # a header line, never the blank line that ends them
            sock.settimeout(0.25)
            try:
                if sock.recv(1) == b"":
                    break
            except TimeoutError:
                continue
    except OSError:
        pass  # reset by the server
    finally:
        result["held_s"] = time.monotonic() - started
        sock.close()


def test_idle_and_slowloris_connections_do_not_starve_requests(tmp_path: Path) -> None:
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    assert hard >= IDLE + 500, f"this test needs {IDLE + 500} open files (hard limit {hard})"
    resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))
    server = ServerProcess(
        data_dir=tmp_path / "data", extra_args=["--client-header-timeout-s", str(TIMEOUT_S)]
    ).start()
    idle: list[socket.socket] = []
    stop = threading.Event()
    slow: dict[str, float] = {}
    loris = threading.Thread(target=_slowloris, args=(server.port, slow, stop))
    client = boto3_client(server.url, "717171717171")
    try:
        loris.start()
        opened_at = time.monotonic()
        for _ in range(IDLE):
            idle.append(socket.create_connection(("127.0.0.1", server.port)))
        # Normal requests while they are all open: API calls, and plain GETs each on a
        # connection of its own.
        latencies = []
        for i in range(20):
            started = time.monotonic()
            client.create_case(subject=f"while idle {i}", communicationBody="x")
            assert _get(server.port, "/healthz") == 200
            latencies.append(time.monotonic() - started)
        assert time.monotonic() - opened_at < TIMEOUT_S, "the requests ran within the window"
        assert max(latencies) < 1.0, latencies

        # The idle connections are closed once their time is up.
        selector = selectors.DefaultSelector()
        for sock in idle:
            selector.register(sock, selectors.EVENT_READ)
        closed = 0
        deadline = time.monotonic() + TIMEOUT_S + 5
        while closed < IDLE and time.monotonic() < deadline:
            for key, _ in selector.select(timeout=0.5):
                sock = key.fileobj
                assert isinstance(sock, socket.socket)
                try:
                    data = sock.recv(1)
                except ConnectionResetError:
                    data = b""
                assert data == b""  # closed, without an answer
                selector.unregister(sock)
                closed += 1
        selector.close()
        assert closed == IDLE
        assert time.monotonic() - opened_at >= TIMEOUT_S - 0.5
        loris.join(timeout=15)
        assert TIMEOUT_S - 0.5 <= slow["held_s"] < TIMEOUT_S + 3, slow
        # And the server is as responsive as before.
        client.create_case(subject="after", communicationBody="x")
    finally:
        stop.set()
        for sock in idle:
            sock.close()
        client.close()
        server.stop()
        resource.setrlimit(resource.RLIMIT_NOFILE, (soft, hard))


def test_a_request_head_arriving_in_time_is_served(tmp_path: Path) -> None:
    """The deadline is for the head only, and a kept-alive connection gets a new one
    for each request: a client slower than nothing but quicker than the timeout is
    served, twice on one connection."""
    timeout_s = 2
    server = ServerProcess(
        data_dir=tmp_path / "data", extra_args=["--client-header-timeout-s", str(timeout_s)]
    ).start()
    try:
        with socket.create_connection(("127.0.0.1", server.port)) as sock:
            for _ in range(2):
                for part in (b"GET /healthz HTTP/1.1\r\n", b"Host: x\r\n", b"\r\n"):
                    sock.sendall(part)
                    time.sleep(timeout_s / 4)
                answer = sock.recv(4096)
                assert answer.startswith(b"HTTP/1.1 200 OK"), answer
                time.sleep(timeout_s * 0.4)  # idle between requests, under the keep-alive (5 s)
    finally:
        server.stop()
