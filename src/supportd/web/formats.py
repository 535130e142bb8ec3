"""How values read on a page: times, sizes, durations and case statuses."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

STATUS_LABELS = {
    "unassigned": "Unassigned",
    "work-in-progress": "Work in progress",
    "pending-customer-action": "Pending customer action",
    "customer-action-completed": "Customer action completed",
    "opened": "Opened",
    "reopened": "Reopened",
    "resolved": "Resolved",
}


def _dt(ms: int) -> datetime:
    return datetime.fromtimestamp(ms / 1000, tz=UTC)


def when(ms: int | None) -> str:
    """`2024-05-01 14:03 UTC`: one zone for everyone, so a thread reads the same to
    the customer and to support."""
    return "" if ms is None else _dt(ms).strftime("%Y-%m-%d %H:%M UTC")


def iso(ms: int | None) -> str:
    """For <time datetime=...>."""
    return "" if ms is None else _dt(ms).strftime("%Y-%m-%dT%H:%M:%SZ")


def api_time(text: str) -> str:
    """An API time string (2024-05-13T21:38:05Z, with or without milliseconds) as `when`
    writes times."""
    try:
        moment = datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        return text
    return when(int(moment.timestamp() * 1000))


def size(n: int) -> str:
    if n < 1024:
        return f"{n} bytes"
    if n < 1024 * 1024:
        return f"{n / 1024:.1f} KB"
    return f"{n / (1024 * 1024):.1f} MB"


def duration(ms: int) -> str:
    """`15 minutes`, `4 hours`, `1 day`, `1 hour 30 minutes`."""
    minutes = ms // 60_000
    days, rest = divmod(minutes, 1440)
    hours, minutes = divmod(rest, 60)
    parts = []
    for count, unit in ((days, "day"), (hours, "hour"), (minutes, "minute")):
        if count:
            parts.append(f"{count} {unit}" + ("" if count == 1 else "s"))
    return " ".join(parts) or "under a minute"


def status_label(status: str) -> str:
    return STATUS_LABELS.get(status, status)


FILTERS: dict[str, Callable[..., Any]] = {
    "when": when,
    "iso": iso,
    "api_time": api_time,
    "size": size,
    "duration": duration,
    "status_label": status_label,
}
