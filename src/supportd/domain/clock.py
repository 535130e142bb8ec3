"""Time formats that clients see verbatim (the model types them as plain strings)."""

from __future__ import annotations

import re
import time
from datetime import UTC, datetime, timedelta

from supportd.domain.errors import InvalidTime


def now_ms() -> int:
    return time.time_ns() // 1_000_000


def _dt(ms: int) -> datetime:
    return datetime.fromtimestamp(ms / 1000, tz=UTC)


# Pages of cases and communications format many times within the same seconds: the
# "2020-03-23T21:31:47." prefix is kept per second (bounded, cleared when full) and the
# "774Z" tails are made once, so a time costs a dict look-up and a concatenation.
_SECONDS_KEPT = 4096
_seconds: dict[int, str] = {}
_MILLIS = tuple(f"{ms:03d}Z" for ms in range(1000))


def format_case_time(ms: int) -> str:
    """`2020-03-23T21:31:47.774Z`: cases and communications."""
    seconds, millis = divmod(ms, 1000)
    prefix = _seconds.get(seconds)
    if prefix is None:
        if len(_seconds) >= _SECONDS_KEPT:
            _seconds.clear()
        prefix = _seconds[seconds] = _dt(seconds * 1000).strftime("%Y-%m-%dT%H:%M:%S.")
    return prefix + _MILLIS[millis]


def optional_case_time(ms: int | None) -> str | None:
    """format_case_time, or None for a time that has not happened (resolved, revoked)."""
    return format_case_time(ms) if ms is not None else None


def format_expiry_time(ms: int) -> str:
    """`2020-05-14T17:04:40.790+0000`: attachment set expiry."""
    return _dt(ms).strftime("%Y-%m-%dT%H:%M:%S.") + f"{ms % 1000:03d}+0000"


def format_advisor_time(ms: int) -> str:
    """`2020-05-13T21:38:05Z`: Trusted Advisor, no milliseconds."""
    return _dt(ms).strftime("%Y-%m-%dT%H:%M:%SZ")


_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_MS = timedelta(milliseconds=1)
_DATE_ONLY = re.compile(r"^\d{4}-\d{2}-\d{2}$")
# RFC 3339's full-date and date-time (JSON Schema's `date` and `date-time` formats).
_RFC3339 = re.compile(
    r"[0-9]{4}-[0-9]{2}-[0-9]{2}"
    r"(?:[Tt][0-9]{2}:[0-9]{2}:[0-9]{2}(?:\.[0-9]+)?(?:[Zz]|[+-][0-9]{2}:[0-9]{2}))?"
)


def parse_time_filter(value: str) -> int:
    """afterTime / beforeTime: `YYYY-MM-DD` (midnight UTC) or an ISO-8601 instant."""
    text = value.strip()
    if not text:
        raise InvalidTime(value)
    try:
        if _DATE_ONLY.match(text):
            parsed = datetime.strptime(text, "%Y-%m-%d").replace(tzinfo=UTC)
        else:
            if text.endswith(("Z", "z")):
                text = text[:-1] + "+00:00"
            parsed = datetime.fromisoformat(text)
            if parsed.tzinfo is None:
                parsed = parsed.replace(tzinfo=UTC)
    except ValueError as exc:
        raise InvalidTime(value) from exc
    # Exact integer arithmetic: float seconds * 1000 can land a millisecond short.
    return (parsed - _EPOCH) // _MS


def parse_rfc3339_filter(value: str) -> int:
    """A date (midnight UTC) or an RFC 3339 time, and nothing looser: the staff API's
    filters, whose schema names those two formats."""
    if _RFC3339.fullmatch(value) is None:
        raise InvalidTime(value)
    return parse_time_filter(value)
