"""Background jobs: what a queued piece of work is, independent of the store."""

from __future__ import annotations

from collections.abc import Mapping
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


@dataclass(frozen=True, slots=True)
class JobProgress:
    """How far the background work has got: the run time of the latest finished job of
    each kind asked about, and how many jobs of those kinds are due and unfinished."""

    latest_finished_ms: Mapping[str, int]
    due_unfinished: int


def caught_up(progress: JobProgress, period_starts: Mapping[str, int]) -> bool:
    """Whether everything due has run: every periodic kind has finished a period that
    starts at or after the given one, and no due job is left queued or running."""
    return progress.due_unfinished == 0 and all(
        progress.latest_finished_ms.get(kind, -1) >= start for kind, start in period_starts.items()
    )
