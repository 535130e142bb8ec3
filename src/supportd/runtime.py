"""What a process builds from its settings: the store, the secret box and the clock.

Both front doors (the HTTP app and the CLI) open their store and secret box here, and
the `Context` of the operations carries the clock made here.

The clock: production runs on the system clock. For tests (and demonstrations) the
setting `fake_clock_file` names a file holding an offset in milliseconds that is added to
the system clock; writing a new offset to the file moves every server process using it
forward (or back) at once, without patching anything. Time keeps flowing from there.
The file is re-read when it changes (one stat per call); a missing or empty file means
no offset.
"""

from __future__ import annotations

import logging
import os
from pathlib import Path
from typing import Protocol

from supportd.config import Config
from supportd.domain import clock as domain_clock
from supportd.security.secretbox import SecretBox, load_key
from supportd.storage.base import Store

# --- the store and the secret box ---------------------------------------------------------


def open_store(config: Config, *, lazy_commits: bool = False) -> Store:
    """The store the settings name (not opened yet: `await store.open()`).

    lazy_commits: on PostgreSQL, commits are acknowledged before they are flushed to
    disk. Only for the delivery process: every write it makes is bookkeeping that a job
    redoes if a PostgreSQL crash forgets it (a fan-out, an attempt's outcome), so a
    crash can repeat a delivery (receivers drop it by its idempotency key) but never
    lose a notification: the outbox events themselves are committed by the API, durably.
    SQLite's commits are already ordered and durable against a crash of the process."""
    if config.database_url:
        from supportd.storage.postgres import PostgresStore

        return PostgresStore(
            config.database_url,
            pool_size=config.database_pool_size,
            statement_timeout_ms=config.database_statement_timeout_ms,
            lazy_commits=lazy_commits,
        )
    from supportd.storage.sqlite import SQLiteStore

    return SQLiteStore(config.sqlite_path)


def open_secret_box(config: Config) -> SecretBox:
    """The box for access keys' secrets. SQLite: the key file is made on first use in
    the data directory, next to the database. PostgreSQL: never made automatically."""
    return SecretBox(load_key(config.server_key, config.data_dir, create=not config.database_url))


# --- the clock ----------------------------------------------------------------------------


class Clock(Protocol):
    def now_ms(self) -> int: ...


class SystemClock:
    def now_ms(self) -> int:
        return domain_clock.now_ms()


SYSTEM_CLOCK = SystemClock()


class OffsetFileClock:
    """The system clock plus the offset (ms, may be negative) written in a file."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self._stamp: tuple[int, int, int] | None = None
        self._offset = 0

    def offset_ms(self) -> int:
        try:
            info = os.stat(self.path)
        except FileNotFoundError:
            self._stamp, self._offset = None, 0
            return 0
        stamp = (info.st_ino, info.st_mtime_ns, info.st_size)
        if stamp != self._stamp:
            text = self.path.read_text(encoding="utf-8").strip()
            try:
                self._offset = int(text) if text else 0
            except ValueError:
                raise ValueError(
                    f"fake clock file {self.path}: expected an offset in milliseconds,"
                    f" got {text[:40]!r}"
                ) from None
            self._stamp = stamp
        return self._offset

    def now_ms(self) -> int:
        return domain_clock.now_ms() + self.offset_ms()


def open_clock(config: Config) -> Clock:
    """The system clock, or the fake clock of the `fake_clock_file` setting."""
    if not config.fake_clock_file:
        return SYSTEM_CLOCK
    logging.getLogger("supportd").warning(
        "fake clock: the time is the system clock plus the offset in %s (tests only)",
        config.fake_clock_file,
    )
    return OffsetFileClock(Path(config.fake_clock_file))


def write_offset(path: Path, offset_ms: int) -> None:
    """Set a fake clock file's offset (atomically: readers never see half a number)."""
    tmp = path.with_name(path.name + ".tmp")
    tmp.write_text(f"{offset_ms}\n", encoding="utf-8")
    os.replace(tmp, path)
