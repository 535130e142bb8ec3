"""What every handler receives: settings, reference data, the store and the clock."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

from supportd import errors
from supportd.clocks import SYSTEM_CLOCK, Clock
from supportd.config import Config
from supportd.domain.records import Principal
from supportd.reference.catalogue import Catalogue
from supportd.storage.base import Store


@dataclass(frozen=True, slots=True)
class Context:
    config: Config
    catalogue: Catalogue
    store: Store
    # Where "now" comes from (supportd.clocks): the system clock, or a fake one in tests.
    clock: Clock = SYSTEM_CLOCK


Handler = Callable[[Context, Principal, dict[str, Any]], Awaitable[dict[str, Any]]]


def dry_run_check(params: dict[str, Any]) -> None:
    """Called once everything is validated and before anything changes."""
    if params.get("dryRun"):
        raise errors.DryRunOperationException(
            "Request would have succeeded, but DryRun flag is set."
        )
