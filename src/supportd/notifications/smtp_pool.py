"""SMTP connections kept open between messages.

A connection per message cost a TCP handshake, the greeting, EHLO (and STARTTLS and
AUTH where configured) and QUIT for each one: more CPU than the message itself. A
connection that delivered a message cleanly goes back to the pool and the next message
uses it; one that failed in any way is closed, never reused in an unknown state. A
connection idle longer than IDLE_S is closed rather than reused (servers drop idle
clients after a few minutes), and one the server dropped meanwhile is replaced once by
a fresh connection before the attempt counts as failed.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from email.message import Message

import aiosmtplib

IDLE_S = 30.0

SendResult = tuple[dict[str, aiosmtplib.SMTPResponse], str]


class SmtpPool:
    def __init__(self, connect: Callable[[], aiosmtplib.SMTP], idle_s: float = IDLE_S) -> None:
        self._connect = connect
        self._idle_s = idle_s
        self._idle: list[tuple[aiosmtplib.SMTP, float]] = []  # last used last

    def _take(self) -> aiosmtplib.SMTP | None:
        now = time.monotonic()
        while self._idle:
            client, since = self._idle.pop()
            if now - since < self._idle_s and client.is_connected:
                return client
            client.close()
        return None

    async def send(self, message: Message, sender: str, recipients: Sequence[str]) -> SendResult:
        reused = self._take()
        if reused is not None:
            try:
                return await self._send_on(reused, message, sender, recipients)
            except aiosmtplib.SMTPServerDisconnected:
                pass  # dropped while idle: once more on a new connection
        client = self._connect()
        try:
            await client.connect()
        except BaseException:
            client.close()
            raise
        return await self._send_on(client, message, sender, recipients)

    async def _send_on(
        self, client: aiosmtplib.SMTP, message: Message, sender: str, recipients: Sequence[str]
    ) -> SendResult:
        try:
            result = await client.send_message(message, sender=sender, recipients=recipients)
        except BaseException:  # an error answer, a timeout, a cancellation: not reused
            client.close()
            raise
        self._idle.append((client, time.monotonic()))
        return result

    async def close(self) -> None:
        idle, self._idle = self._idle, []
        for client, _ in idle:
            try:
                await client.quit()
            except (aiosmtplib.SMTPException, OSError):
                client.close()
