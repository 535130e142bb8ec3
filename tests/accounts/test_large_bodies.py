"""Large request bodies (AddAttachmentsToSet takes up to 25 MB) are read only after
the caller is known, and only a few at a time.

- SigV4: a 20 MB request with a malformed Authorization header, a stale date or an
  unknown key is refused before its body is read: the server answers while the client
  has sent only its headers and the first 64 KiB, and keeps waiting for nothing.
- --max-large-bodies: with one slot, a second large body waits, then gets
  ThrottlingException, while small requests pass; once the first is done, the next
  large one passes.

Requests go over raw sockets, so the test controls exactly how much of a body is sent.
"""

from __future__ import annotations

import base64
import json
import socket
import time
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from tests.accounts.conftest import SigV4Server
from tests.accounts.signer import JSON_11, TARGET_PREFIX, Headers, Key, sign
from tests.conftest import _database_url
from tests.support.server import ServerProcess

LARGE = 20 * 1024 * 1024
FIRST = 64 * 1024
# Long enough for a server to have read 20 MB from loopback many times over; an
# answer that has not come by then is an answer that waits for the body.
ANSWER_TIMEOUT_S = 10.0


@dataclass
class Answer:
    status: int
    code: str | None
    body: dict[str, object]


def _head(port: int, headers: Headers, length: int) -> bytes:
    lines = ["POST / HTTP/1.1", *(f"{n}: {v}" for n, v in headers), f"Content-Length: {length}"]
    return ("\r\n".join(lines) + "\r\n\r\n").encode()


def _open(port: int, headers: Headers, length: int, first: bytes) -> socket.socket:
    """A request whose headers and the first bytes of its body are sent; the rest is
    up to the caller (or never sent)."""
    sock = socket.create_connection(("127.0.0.1", port), timeout=ANSWER_TIMEOUT_S)
    sock.sendall(_head(port, headers, length) + first)
    return sock


def _answer(sock: socket.socket) -> Answer:
    """The response: read within ANSWER_TIMEOUT_S or the test fails."""
    data = b""
    try:
        while b"\r\n\r\n" not in data:
            chunk = sock.recv(65536)
            assert chunk, f"connection closed without an answer: {data!r}"
            data += chunk
        head, _, rest = data.partition(b"\r\n\r\n")
        lines = head.decode("latin-1").split("\r\n")
        headers = {k.lower(): v.strip() for k, _, v in (line.partition(":") for line in lines[1:])}
        length = int(headers.get("content-length", "0"))
        while len(rest) < length:
            chunk = sock.recv(65536)
            assert chunk, "connection closed in the middle of the answer"
            rest += chunk
    except TimeoutError:
        pytest.fail("no answer: the server is waiting for the rest of the body")
    return Answer(int(lines[0].split()[1]), headers.get("x-amzn-errortype"), json.loads(rest))


def _target_headers(port: int, operation: str) -> Headers:
    return [
        ("Host", f"127.0.0.1:{port}"),
        ("Content-Type", JSON_11),
        ("X-Amz-Target", f"{TARGET_PREFIX}.{operation}"),
    ]


def _unknown_key(port: int) -> Headers:
    return sign(Key("AKIAUNKNOWNKEY000000", "x" * 40), _target_headers(port, OPERATION), b"")


def _stale(port: int) -> Headers:
    when = datetime.now(UTC) - timedelta(hours=1)
    return sign(
        Key("AKIAUNKNOWNKEY000000", "x" * 40), _target_headers(port, OPERATION), b"", when=when
    )


def _malformed(port: int) -> Headers:
    return [*_target_headers(port, OPERATION), ("Authorization", "AWS4-HMAC-SHA256 Credential=")]


OPERATION = "AddAttachmentsToSet"
REFUSALS = {
    "unknown key": (_unknown_key, "UnrecognizedClientException"),
    "signed an hour ago": (_stale, "InvalidSignatureException"),
    "malformed Authorization": (_malformed, "IncompleteSignatureException"),
}


@pytest.mark.parametrize("refusal", list(REFUSALS), ids=list(REFUSALS))
def test_a_large_body_of_an_unknown_caller_is_never_read(
    sigv4_server: SigV4Server, refusal: str
) -> None:
    build, code = REFUSALS[refusal]
    started = time.monotonic()
    with _open(sigv4_server.port, build(sigv4_server.port), LARGE, b"{" + b" " * FIRST) as sock:
        answer = _answer(sock)
    assert (answer.status, answer.code) == (403, code), answer.body
    assert time.monotonic() - started < ANSWER_TIMEOUT_S


# --- at most --max-large-bodies at once ----------------------------------------------


@pytest.fixture
def one_slot(
    request: pytest.FixtureRequest, store_kind: str, tmp_path: Path
) -> Iterator[ServerProcess]:
    process = ServerProcess(
        data_dir=tmp_path / "data",
        database_url=_database_url(request, store_kind),
        extra_args=["--max-large-bodies", "1"],
    ).start()
    yield process
    process.stop()


def _open_mode_headers(port: int, operation: str, account: str) -> Headers:
    authorization = (
        f"AWS4-HMAC-SHA256 Credential={account}/20260101/us-east-1/support/aws4_request, "
        "SignedHeaders=host, Signature=00"
    )
    return [*_target_headers(port, operation), ("Authorization", authorization)]


def _attachment_body(size: int) -> bytes:
    data = base64.b64encode(b"\x07" * size).decode()
    return json.dumps({"attachments": [{"fileName": "big.bin", "data": data}]}).encode()


def test_large_bodies_are_handled_one_at_a_time_with_one_slot(one_slot: ServerProcess) -> None:
    port, account = one_slot.port, "333344445555"
    body = _attachment_body(1_500_000)  # 2 MB of JSON: over --max-body-bytes
    headers = _open_mode_headers(port, OPERATION, account)

    # The first large request takes the slot and is held half sent.
    first = _open(port, headers, len(body), body[: len(body) // 2])
    try:
        time.sleep(0.3)  # let the server start reading it
        # A second one waits for the slot, then is throttled.
        started = time.monotonic()
        with _open(port, headers, len(body), body) as second:
            throttled = _answer(second)
        assert (throttled.status, throttled.code) == (400, "ThrottlingException")
        assert time.monotonic() - started >= 1.5
        # Small requests do not need a slot.
        small = json.dumps({"subject": "s", "communicationBody": "b"}).encode()
        with _open(port, _open_mode_headers(port, "CreateCase", account), len(small), small) as s:
            assert _answer(s).status == 200
        # The first one finishes...
        first.sendall(body[len(body) // 2 :])
        assert _answer(first).status == 200
    finally:
        first.close()
    # ...and gives its slot back.
    with _open(port, headers, len(body), body) as third:
        answer = _answer(third)
    assert answer.status == 200, answer.body
    assert str(answer.body["attachmentSetId"]).startswith("as-")
