"""Bulk-load cases for one account straight into supportd's SQLite schema.

Every case gets the rows CreateCase would have written (the case, its first
communication, its status event); one in ten is resolved (plus its resolve event), so
`includeResolvedCases false` has something to skip. The schema comes from supportd's own
migrations; rows go in with executemany in one transaction, without the WAL, and the
file is switched back to WAL at the end as supportd expects.

    python bench/seed.py DATA_DIR COUNT
"""

from __future__ import annotations

import json
import sqlite3
import sys
import time
from collections.abc import Iterator
from importlib import resources
from pathlib import Path
from typing import Any

from supportd.storage.sqlite import migrate

ACCOUNT = "111122223333"
RESOLVED_EVERY = 10
BATCH = 50_000
DAY_MS = 86_400_000


def _pairs() -> list[tuple[str, str]]:
    text = resources.files("supportd.reference").joinpath("data", "services.json").read_text()
    services = json.loads(text)
    return [(s["code"], c["code"]) for s in services[:20] for c in s["categories"][:3]]


def seed(data_dir: Path, count: int, account: str = ACCOUNT) -> dict[str, Any]:
    """Create data_dir/supportd.db with `count` cases; timings and row counts."""
    started = time.perf_counter()
    path = data_dir / "supportd.db"
    if path.exists():
        raise FileExistsError(f"{path} exists: seed a fresh data dir")
    migrate(path)
    conn = sqlite3.connect(path, isolation_level=None)
    try:
        conn.execute("PRAGMA journal_mode = DELETE")
        conn.execute("PRAGMA synchronous = OFF")
        conn.execute("PRAGMA cache_size = -200000")
        conn.execute("BEGIN")
        for start in range(0, count, BATCH):
            _insert_batch(conn, account, start, min(start + BATCH, count), count)
        conn.execute("COMMIT")
        conn.execute("PRAGMA journal_mode = WAL")
        rows = {
            table: conn.execute(f"SELECT COUNT(*) FROM {table}").fetchone()[0]
            for table in ("cases", "communications", "case_events")
        }
    finally:
        conn.close()
    return {
        "cases": count,
        "open_cases": count - len(range(0, count, RESOLVED_EVERY)),
        "rows": rows,
        "seconds": round(time.perf_counter() - started, 2),
        "db_mb": round(path.stat().st_size / 1e6, 1),
    }


def _insert_batch(conn: sqlite3.Connection, account: str, lo: int, hi: int, count: int) -> None:
    pairs = _pairs()
    severities = ("low", "normal", "high", "urgent", "critical")
    email = f"account-{account}@example.com"
    author = f"{account} (User) <{email}>"
    # Newest case now, one every ~30 s before it.
    now_ms = int(time.time() * 1000)
    first_ms = now_ms - count * 30_000

    def cases() -> Iterator[tuple[Any, ...]]:
        for i in range(lo, hi):
            service, category = pairs[i % len(pairs)]
            created = first_ms + i * 30_000
            resolved = i % RESOLVED_EVERY == 0
            yield (
                i + 1,
                f"case-{account}-supd-2025-{i:016x}",
                account,
                f"Case {i}: instance unreachable after scheduled maintenance",
                service,
                category,
                severities[i % len(severities)],
                "resolved" if resolved else "unassigned",
                0 if resolved else 1,
                "en",
                "technical",
                email,
                '["oncall@example.com"]' if i % 3 == 0 else "[]",
                created,
                created + DAY_MS if resolved else None,
            )

    def communications() -> Iterator[tuple[Any, ...]]:
        body = (
            "Hello, our instance stopped answering health checks after the scheduled "
            "maintenance reboot. The system status check passes but the instance status "
            "check fails. We tried a stop/start cycle without success. Please advise. "
        )
        for i in range(lo, hi):
            created = first_ms + i * 30_000
            yield (i + 1, i + 1, f"{body}(case {i})", author, "customer", "[]", created)

    def events() -> Iterator[tuple[Any, ...]]:
        for i in range(lo, hi):
            created = first_ms + i * 30_000
            yield (i + 1, created, email, None, "unassigned")
            if i % RESOLVED_EVERY == 0:
                yield (i + 1, created + DAY_MS, account, "unassigned", "resolved")

    conn.executemany(
        "INSERT INTO cases (seq, case_id, account_id, subject, service_code, category_code,"
        " severity_code, status, is_open, language, issue_type, submitted_by, cc_emails,"
        " created_ms, resolved_ms) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
        cases(),
    )
    conn.executemany(
        "INSERT INTO communications (seq, case_seq, body, submitted_by, author_kind,"
        " cc_emails, created_ms) VALUES (?, ?, ?, ?, ?, ?, ?)",
        communications(),
    )
    conn.executemany(
        "INSERT INTO case_events (case_seq, at_ms, actor, from_status, to_status)"
        " VALUES (?, ?, ?, ?, ?)",
        events(),
    )


if __name__ == "__main__":
    if len(sys.argv) != 3:
        raise SystemExit(__doc__)
    print(json.dumps(seed(Path(sys.argv[1]), int(sys.argv[2]))))
