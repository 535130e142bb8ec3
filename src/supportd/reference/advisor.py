"""The Trusted Advisor check catalogue: our data file, merged with the operator's own.

Ids, names and categories of the 130 checks are AWS's (checks are named by id in every
client); descriptions and metadata column names are ours. Names and descriptions are in
English; a check may carry translations per language, and a language without one is
served in English.

The operator's file (setting `advisor_checks_file`) has the same layout. A check whose id
we have is merged into ours member by member (say `"autoRefresh": true`, or add a
translation, without repeating the rest); a new id adds a check and must be complete.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path
from typing import Any

from supportd.reference.catalogue import ReferenceDataError

FILE = "trusted_advisor_checks.json"
DEFAULT_LANGUAGE = "en"
COST_OPTIMIZING = "cost_optimizing"
# The categories the real service uses; an operator's check may name another
# (a lowercase identifier), which clients then see as it is.
CATEGORIES = ("cost_optimizing", "security", "fault_tolerance", "performance", "service_limits")
_CATEGORY = re.compile(r"[a-z][a-z0-9_]{0,63}")
_CHECK_ID = re.compile(r"[A-Za-z0-9_\-]{1,64}")
_LANGUAGE = re.compile(r"[a-z]{2,3}(?:_[A-Z]{2})?")


@dataclass(frozen=True, slots=True)
class CheckText:
    """What DescribeTrustedAdvisorChecks shows of a check in one language."""

    name: str
    description: str
    metadata: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class Check:
    id: str
    category: str
    text: CheckText  # English
    auto_refresh: bool = False
    translations: Mapping[str, CheckText] = field(default_factory=dict)

    @property
    def name(self) -> str:
        return self.text.name

    @property
    def metadata(self) -> tuple[str, ...]:
        return self.text.metadata

    @property
    def cost_optimizing(self) -> bool:
        return self.category == COST_OPTIMIZING

    def in_language(self, language: str) -> CheckText:
        return self.translations.get(language, self.text)


class CheckCatalogue:
    """The checks in catalogue order, indexed by id, and the supported language codes."""

    def __init__(self, checks: Iterable[Check], languages: Iterable[str]) -> None:
        self.checks: tuple[Check, ...] = tuple(checks)
        self.languages: tuple[str, ...] = tuple(dict.fromkeys(languages))
        self.by_id: dict[str, Check] = {check.id: check for check in self.checks}
        # Wire shapes per language, built once (see operations.advisor).
        self.cache: dict[str, Any] = {}

    def __len__(self) -> int:
        return len(self.checks)

    def get(self, check_id: str) -> Check | None:
        return self.by_id.get(check_id)


# --- loading ------------------------------------------------------------------------


def _fail(where: str, problem: str) -> ReferenceDataError:
    return ReferenceDataError(f"{where}: {problem}")


def _string(entry: Mapping[str, Any], key: str, where: str) -> str:
    value = entry.get(key)
    if not isinstance(value, str) or not value.strip():
        raise _fail(where, f"{key!r} must be a non-empty string")
    return value


def _columns(entry: Mapping[str, Any], where: str) -> tuple[str, ...]:
    value = entry.get("metadata")
    if not isinstance(value, list) or not all(isinstance(item, str) for item in value):
        raise _fail(where, "'metadata' must be a list of column names (strings)")
    return tuple(value)


def _text(entry: Mapping[str, Any], where: str, base: CheckText | None = None) -> CheckText:
    """A check's text from an entry; members the entry leaves out come from `base`."""
    if base is None:
        return CheckText(
            _string(entry, "name", where),
            _string(entry, "description", where),
            _columns(entry, where),
        )
    return CheckText(
        _string(entry, "name", where) if "name" in entry else base.name,
        _string(entry, "description", where) if "description" in entry else base.description,
        _columns(entry, where) if "metadata" in entry else base.metadata,
    )


def _translations(
    entry: Mapping[str, Any], where: str, english: CheckText, known: Mapping[str, CheckText]
) -> dict[str, CheckText]:
    value = entry.get("translations", {})
    if not isinstance(value, dict):
        raise _fail(where, "'translations' must map language codes to texts")
    result = dict(known)
    for language, text in value.items():
        if not isinstance(text, dict):
            raise _fail(where, f"translation {language!r} must be an object")
        translated = _text(
            text, f"{where}, translation {language!r}", result.get(language, english)
        )
        if len(translated.metadata) != len(english.metadata):
            raise _fail(where, f"translation {language!r} must name as many columns as English")
        result[language] = translated
    return result


def _check(entry: Any, where: str, base: Check | None) -> Check:
    if not isinstance(entry, dict):
        raise _fail(where, "each check must be an object")
    check_id = entry.get("id")
    if not isinstance(check_id, str) or not _CHECK_ID.fullmatch(check_id):
        raise _fail(where, "'id' must be 1 to 64 letters, digits, '-' or '_'")
    where = f"{where} ({check_id})"
    if base is None:
        category = _string(entry, "category", where)
        english = _text(entry, where)
        auto_refresh = False
        known: Mapping[str, CheckText] = {}
    else:
        category = _string(entry, "category", where) if "category" in entry else base.category
        english = _text(entry, where, base.text)
        auto_refresh = base.auto_refresh
        known = base.translations
        if english.metadata != base.metadata and "translations" not in entry:
            # Translated columns would no longer line up with the new English ones.
            known = {}
    if not _CATEGORY.fullmatch(category):
        raise _fail(where, "'category' must be a lowercase identifier such as 'security'")
    if "autoRefresh" in entry:
        if not isinstance(entry["autoRefresh"], bool):
            raise _fail(where, "'autoRefresh' must be true or false")
        auto_refresh = entry["autoRefresh"]
    return Check(
        id=check_id,
        category=category,
        text=english,
        auto_refresh=auto_refresh,
        translations=_translations(entry, where, english, known),
    )


def _merge(
    checks: dict[str, Check], languages: list[str], document: Any, where: str
) -> tuple[dict[str, Check], list[str]]:
    if not isinstance(document, dict) or not isinstance(document.get("checks"), list):
        raise _fail(where, 'expected {"checks": [...]} (and optionally "languages": [...])')
    added = document.get("languages", [])
    if not isinstance(added, list) or not all(
        isinstance(code, str) and _LANGUAGE.fullmatch(code) for code in added
    ):
        raise _fail(where, "'languages' must be a list of codes such as 'ja' or 'pt_BR'")
    languages = [*languages, *added]
    merged = dict(checks)
    seen: set[str] = set()
    for index, entry in enumerate(document["checks"], start=1):
        check_id = entry.get("id") if isinstance(entry, dict) else None
        if isinstance(check_id, str) and check_id in seen:
            raise _fail(where, f"check {check_id} appears twice")
        check = _check(entry, f"{where}, check {index}", merged.get(str(check_id)))
        seen.add(check.id)
        merged[check.id] = check
    for check in merged.values():
        for language in check.translations:
            if language not in languages:
                raise _fail(where, f"{check.id} has a translation for unsupported {language!r}")
    return merged, languages


def _read_operator_file(path: str) -> Any:
    try:
        return json.loads(Path(path).read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise ReferenceDataError(f"{path}: {exc}") from exc


def load(operator_file: str = "") -> CheckCatalogue:
    """Our catalogue, with the operator's file (if any) merged in; ReferenceDataError at
    start-up for a file that cannot be used."""
    ours = json.loads(resources.files(__package__).joinpath("data", FILE).read_text("utf-8"))
    checks, languages = _merge({}, [], ours, FILE)
    if operator_file:
        checks, languages = _merge(
            checks, languages, _read_operator_file(operator_file), operator_file
        )
    if DEFAULT_LANGUAGE not in languages:
        languages.insert(0, DEFAULT_LANGUAGE)
    return CheckCatalogue(checks.values(), languages)
