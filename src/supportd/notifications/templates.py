"""The e-mail templates: Jinja2 files an operator can replace or add to.

`<language>/case_update.txt` and `<language>/case_update.html`, looked up first in
--mail-templates, then among the built-in ones (English); a case in a language without
its own template gets English. HTML is autoescaped: every value in it comes from a
customer or a staff member.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

import jinja2

TEMPLATE = "case_update"
DEFAULT_LANGUAGE = "en"
_LANGUAGE = re.compile(r"\A[a-z]{2,3}(?:-[A-Za-z0-9]{2,8})*\Z")


class TemplateProblem(ValueError):
    """A template that cannot be loaded or rendered (the reason is recorded)."""


@dataclass(frozen=True, slots=True)
class Rendered:
    text: str
    html: str


class MailTemplates:
    def __init__(self, operator_dir: str = "") -> None:
        loaders: list[jinja2.BaseLoader] = []
        if operator_dir:
            loaders.append(jinja2.FileSystemLoader(operator_dir))
        loaders.append(jinja2.PackageLoader("supportd.notifications", "templates"))
        self._env = jinja2.Environment(
            loader=jinja2.ChoiceLoader(loaders),
            autoescape=jinja2.select_autoescape(enabled_extensions=("html",)),
            undefined=jinja2.StrictUndefined,
            keep_trailing_newline=True,
        )

    def _template(self, language: str, extension: str) -> jinja2.Template:
        names = [f"{DEFAULT_LANGUAGE}/{TEMPLATE}.{extension}"]
        if _LANGUAGE.match(language) and language != DEFAULT_LANGUAGE:
            names.insert(0, f"{language}/{TEMPLATE}.{extension}")
        try:
            return self._env.select_template(names)
        except jinja2.TemplateError as exc:
            raise TemplateProblem(f"mail template {names[0]}: {exc}") from None

    def render(self, language: str, values: dict[str, Any]) -> Rendered:
        try:
            return Rendered(
                self._template(language, "txt").render(values),
                self._template(language, "html").render(values),
            )
        except jinja2.TemplateError as exc:
            raise TemplateProblem(f"mail template for {language!r}: {exc}") from None

    def check(self) -> None:
        """Load the English templates (at start: a broken operator file is reported
        once, not per e-mail)."""
        for extension in ("txt", "html"):
            self._template(DEFAULT_LANGUAGE, extension)
