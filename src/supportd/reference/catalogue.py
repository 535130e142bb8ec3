"""Loads the reference data files, the operator's own replacing ours file by file."""

from __future__ import annotations

import json
from importlib import resources
from pathlib import Path
from typing import Any


class ReferenceDataError(ValueError):
    """A reference data file that cannot be used (raised at start-up, never per request)."""


class Catalogue:
    """The reference data, indexed once for the lookups requests make."""

    def __init__(
        self,
        services: list[dict[str, Any]],
        severity_levels: list[dict[str, Any]],
        languages: list[dict[str, str]],
        create_case_options: dict[str, Any],
    ) -> None:
        self.services = services
        self.severity_levels = severity_levels
        self.languages = languages
        self.create_case_options = create_case_options
        self.categories_by_service = {
            s["code"]: {c["code"] for c in s["categories"]} for s in services
        }
        self.severity_codes = [level["code"] for level in severity_levels]
        self.language_codes = [language["code"] for language in languages]
        self.issue_types = list(create_case_options["communicationTypes"])


def _read(name: str, override_dir: str) -> Any:
    if override_dir:
        path = Path(override_dir) / name
        if path.exists():
            try:
                return json.loads(path.read_text(encoding="utf-8"))
            except (OSError, ValueError) as exc:
                raise ReferenceDataError(f"{path}: {exc}") from exc
    return json.loads(resources.files(__package__).joinpath("data", name).read_text("utf-8"))


def load(override_dir: str = "") -> Catalogue:
    try:
        catalogue = Catalogue(
            services=_read("services.json", override_dir),
            severity_levels=_read("severity_levels.json", override_dir),
            languages=_read("languages.json", override_dir),
            create_case_options=_read("create_case_options.json", override_dir),
        )
        _check(catalogue)
    except (KeyError, TypeError) as exc:
        raise ReferenceDataError(f"reference data is missing a field: {exc}") from exc
    return catalogue


def _check(catalogue: Catalogue) -> None:
    codes = [s["code"] for s in catalogue.services]
    if len(set(codes)) != len(codes):
        raise ReferenceDataError("services.json: duplicate service codes")
    for service in catalogue.services:
        if not isinstance(service["name"], str) or not service["categories"]:
            raise ReferenceDataError(
                f"services.json: {service['code']} needs a name and categories"
            )
    options = catalogue.create_case_options
    for language in options["languageAvailability"]:
        if language not in catalogue.language_codes:
            raise ReferenceDataError(f"create_case_options.json: unknown language {language}")
    for issue_type, languages in options["supportedLanguages"].items():
        if issue_type not in options["communicationTypes"]:
            raise ReferenceDataError(f"create_case_options.json: unknown issue type {issue_type}")
        for language in languages:
            if language not in catalogue.language_codes:
                raise ReferenceDataError(f"create_case_options.json: unknown language {language}")
