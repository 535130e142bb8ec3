"""The scale-out store: PostgresCore plus one mixin per area of the data."""

from __future__ import annotations

from supportd.storage.jobs import Jobs
from supportd.storage.outbox import Outbox
from supportd.storage.postgres_accounts import PostgresAccounts
from supportd.storage.postgres_advisor import PostgresAdvisor
from supportd.storage.postgres_attachments import PostgresAttachments
from supportd.storage.postgres_cases import PostgresCases
from supportd.storage.postgres_core import PostgresCore, check_schema, display_url, migrate
from supportd.storage.postgres_staff import PostgresStaff

__all__ = ["PostgresStore", "check_schema", "display_url", "migrate"]


class PostgresStore(
    PostgresCases,
    Jobs,
    Outbox,
    PostgresAccounts,
    PostgresAdvisor,
    PostgresAttachments,
    PostgresStaff,
    PostgresCore,
):
    """Every area of the store over one PostgreSQL database (see postgres_core)."""
