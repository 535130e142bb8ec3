"""What monitoring asks of a store (/readyz, /metrics)."""

from __future__ import annotations

from typing import Protocol


class HealthStore(Protocol):
    async def schema_problem(self) -> str | None:
        """None when the store answers and its schema is current; else what is wrong.
        Raises if the store cannot be reached."""

    async def backlog(self, now_ms: int) -> dict[str, int]:
        """Counts of waiting work by name (jobs by state, due jobs, outbox rows)."""

    def usage(self) -> dict[str, int]:
        """This process's use of its connections, at this moment, without I/O (SQLite:
        `writer_queue`, the writes waiting for the writer thread; PostgreSQL:
        `pool_size`, `pool_in_use`, `pool_max`)."""
