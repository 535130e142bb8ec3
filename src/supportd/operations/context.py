"""What every handler receives: settings, reference data, the store and the clock."""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from supportd import api_errors
from supportd.config import Config
from supportd.domain.records import Principal
from supportd.operations.advisor_providers import LoadedProvider
from supportd.reference import advisor as advisor_reference
from supportd.reference.advisor import CheckCatalogue
from supportd.reference.catalogue import Catalogue
from supportd.runtime import SYSTEM_CLOCK, Clock
from supportd.storage.base import Store


@dataclass(frozen=True, slots=True)
class Context:
    config: Config
    catalogue: Catalogue
    store: Store
    # Where "now" comes from (supportd.runtime): the system clock, or a fake one in tests.
    clock: Clock = SYSTEM_CLOCK
    # Trusted Advisor: the check catalogue and the check providers, by check id.
    advisor_checks: CheckCatalogue = field(default_factory=advisor_reference.load)
    advisor_providers: Mapping[str, LoadedProvider] = field(default_factory=dict)


Handler = Callable[[Context, Principal, dict[str, Any]], Awaitable[dict[str, Any]]]


def dry_run_check(params: dict[str, Any]) -> None:
    """Called once everything is validated and before anything changes."""
    if params.get("dryRun"):
        raise api_errors.DryRunOperationException(
            "Request would have succeeded, but DryRun flag is set."
        )
