"""Check providers: Python plug-ins that compute a Trusted Advisor check's result when
it is refreshed.

A provider is registered as an entry point of the group `supportd.advisor_checks` whose
name is the check id and whose value is a callable taking a CheckRequest:

    [project.entry-points."supportd.advisor_checks"]
    DqdJqYeRm5 = "mypackage.checks:key_rotation"

An `async def` provider runs on the worker's event loop (and may use the store); a plain
function runs in a thread. Either returns the result as a dict in the format of
`supportd advisor set-result` files (domain.advisor.parse_result): at least
`flaggedResources`, with the status, counts and savings derived when left out. A
provider that raises, hangs past the refresh timeout or returns something that is not a
valid result abandons the refresh; the previous result stays.

A plug-in from another distribution replaces the built-in provider of the same check.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass
from importlib import metadata
from typing import Any

from supportd.reference.advisor import Check, CheckCatalogue
from supportd.storage.base import Store

log = logging.getLogger("supportd.advisor")

ENTRY_POINT_GROUP = "supportd.advisor_checks"
BUILTIN_DISTRIBUTION = "supportd"


@dataclass(frozen=True, slots=True)
class CheckRequest:
    """What a provider is asked: compute `check` for `account_id` as of `now_ms`. The
    store is supportd's own (read it; write nothing: the result is stored for you)."""

    account_id: str
    check: Check
    now_ms: int
    store: Store


Provider = Callable[[CheckRequest], Awaitable[Mapping[str, Any]] | Mapping[str, Any]]


@dataclass(frozen=True, slots=True)
class LoadedProvider:
    check_id: str
    provider: Provider
    origin: str  # "distribution: module:attribute", for logs and `supportd advisor checks`
    builtin: bool


class ProviderUnavailable(RuntimeError):
    """A registered provider that could not be loaded; refreshing its check abandons."""


def _unavailable(origin: str, problem: str) -> Provider:
    def provider(request: CheckRequest) -> Mapping[str, Any]:
        raise ProviderUnavailable(f"the provider {origin} could not be loaded: {problem}")

    return provider


def _origin(entry: metadata.EntryPoint) -> tuple[str, bool]:
    name = entry.dist.name if entry.dist is not None else "?"
    return f"{name}: {entry.value}", name == BUILTIN_DISTRIBUTION


def load_providers(catalogue: CheckCatalogue) -> dict[str, LoadedProvider]:
    """Every provider registered for a check of the catalogue, by check id. Problems are
    logged, never raised: a broken plug-in must not stop the API."""
    chosen: dict[str, LoadedProvider] = {}
    entries = sorted(metadata.entry_points(group=ENTRY_POINT_GROUP), key=lambda e: _origin(e))
    for entry in entries:
        origin, builtin = _origin(entry)
        if catalogue.get(entry.name) is None:
            log.warning("check provider %s names no check of the catalogue: %s", origin, entry.name)
            continue
        try:
            loaded = entry.load()
        except Exception as exc:  # any import-time failure of a plug-in
            log.error("check provider %s for %s could not be loaded: %s", origin, entry.name, exc)
            loaded = _unavailable(origin, f"{type(exc).__name__}: {exc}")
        if not callable(loaded):
            log.error("check provider %s for %s is not callable", origin, entry.name)
            loaded = _unavailable(origin, "not callable")
        candidate = LoadedProvider(entry.name, loaded, origin, builtin)
        current = chosen.get(entry.name)
        if current is None or (current.builtin and not builtin):
            chosen[entry.name] = candidate
        elif not current.builtin and not builtin:
            log.error(
                "two check providers for %s: %s and %s; using the first",
                entry.name,
                current.origin,
                origin,
            )
    return chosen
