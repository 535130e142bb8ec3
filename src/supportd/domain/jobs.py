"""Background jobs: what a queued piece of work is, independent of the store."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

QUEUED = "queued"
RUNNING = "running"
DONE = "done"
FAILED = "failed"


@dataclass(frozen=True, slots=True)
class Job:
    """A job claimed by one worker until `lease_until_ms`; `lease` proves the claim."""

    seq: int
    kind: str
    key: str | None
    payload: dict[str, Any]
    attempts: int
    lease: str
    lease_until_ms: int


def periodic_key(name: str, now_ms: int, interval_ms: int) -> tuple[str, int]:
    """The key and start of the current period of a periodic job: every node proposes
    the same key, and the store keeps one job per key, so the period runs once."""
    start = now_ms - now_ms % interval_ms
    return f"periodic:{name}:{start}", start
