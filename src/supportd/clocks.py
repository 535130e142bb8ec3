"""Where "now" comes from. Code that decides with the time asks the Context's clock.

Production runs on the system clock. For tests (and demonstrations) the setting
`fake_clock_file` names a file holding an offset in milliseconds that is added to the
system clock; writing a new offset to the file moves every server process using it
forward (or back) at once, without patching anything. Time keeps flowing from there.
The file is re-read when it changes (one stat per call); a missing or empty file
means no offset.
"""

from __future__ import annotations

import logging
import os
from pathlib import Path
from typing import Protocol

from supportd.domain import clock as domain_clock


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


def from_setting(fake_clock_file: str) -> Clock:
    if not fake_clock_file:
        return SYSTEM_CLOCK
    logging.getLogger("supportd").warning(
        "fake clock: the time is the system clock plus the offset in %s (tests only)",
        fake_clock_file,
    )
    return OffsetFileClock(Path(fake_clock_file))


def write_offset(path: Path, offset_ms: int) -> None:
    """Set a fake clock file's offset (atomically: readers never see half a number)."""
    tmp = path.with_name(path.name + ".tmp")
    tmp.write_text(f"{offset_ms}\n", encoding="utf-8")
    os.replace(tmp, path)
