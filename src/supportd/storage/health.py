"""What monitoring asks of the store, on both stores: is the schema the one this
supportd needs (readiness), and how much work waits (the job queue, the notification
outbox) — each one short statement, written once.

The outbox tables belong to the notifications area, which a store may not have yet (an
older schema, or a build without it): their counts are reported only when the tables
exist.
"""

from __future__ import annotations

from supportd.domain import jobs
from supportd.storage import migrations
from supportd.storage.sql import SQLITE, SqlStore, Tx

VERSIONS_SQL = "SELECT version FROM schema_migrations"
JOBS_SQL = (
    "SELECT state, COUNT(*), COALESCE(SUM(CASE WHEN run_at_ms <= $2 THEN 1 ELSE 0 END), 0)"
    " FROM jobs WHERE state = ANY($1::text[]) GROUP BY state"
)
OUTBOX_EVENTS_SQL = "SELECT COUNT(*) FROM outbox_events WHERE fanned_out_ms IS NULL"
OUTBOX_DELIVERIES_SQL = "SELECT COUNT(*) FROM outbox_deliveries WHERE status = 'pending'"
BACKLOG_STATES = (jobs.QUEUED, jobs.RUNNING, jobs.FAILED)


async def _table_exists(tx: Tx, name: str) -> bool:
    if tx.dialect == SQLITE:
        found = await tx.fetchval(
            "SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = $1", name
        )
    else:
        found = await tx.fetchval("SELECT to_regclass($1) IS NOT NULL", name)
    return bool(found)


def schema_problem(dialect: str, applied: set[int]) -> str | None:
    """Why a database with these migrations applied is not ready for this supportd."""
    missing = migrations.versions(dialect) - applied
    if missing:
        return f"schema migrations missing: {', '.join(str(v) for v in sorted(missing))}"
    newer = {v for v in applied if v > migrations.latest(dialect)}
    if newer:
        return f"the schema is newer than this supportd (version {max(newer)})"
    return None


class Health(SqlStore):
    async def schema_problem(self) -> str | None:
        """None when the store answers and its schema is the one this supportd needs;
        else what is wrong. Raises if the store cannot be reached."""

        async def job(tx: Tx) -> str | None:
            rows = await tx.fetch(VERSIONS_SQL)
            return schema_problem(tx.dialect, {int(row[0]) for row in rows})

        return await self._read(job)

    async def backlog(self, now_ms: int) -> dict[str, int]:
        """Waiting work: `jobs_<state>` (queued, running, failed), `jobs_due` (queued
        and due now), and, where the notification tables exist, `outbox_events`
        (not yet fanned out) and `outbox_deliveries` (pending)."""

        async def job(tx: Tx) -> dict[str, int]:
            counts = {f"jobs_{state}": 0 for state in BACKLOG_STATES}
            counts["jobs_due"] = 0
            for state, total, due in await tx.fetch(JOBS_SQL, list(BACKLOG_STATES), now_ms):
                counts[f"jobs_{state}"] = int(total)
                if state == jobs.QUEUED:
                    counts["jobs_due"] = int(due)
            if await _table_exists(tx, "outbox_events"):
                counts["outbox_events"] = int(await tx.fetchval(OUTBOX_EVENTS_SQL))
            if await _table_exists(tx, "outbox_deliveries"):
                counts["outbox_deliveries"] = int(await tx.fetchval(OUTBOX_DELIVERIES_SQL))
            return counts

        return await self._scan(job)
