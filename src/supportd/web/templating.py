"""Jinja2 templates for every web page, with autoescaping always on: any value put in
a page is HTML-escaped unless a template marks it safe, and none of ours mark user data
safe. Undefined names are errors, not empty strings, so a template typo fails a test
instead of rendering quietly wrong."""

from __future__ import annotations

from jinja2 import Environment, PackageLoader, StrictUndefined

from supportd.web import formats


class Templates:
    def __init__(self) -> None:
        self.env = Environment(
            loader=PackageLoader("supportd.web", "templates"),
            autoescape=True,
            undefined=StrictUndefined,
            trim_blocks=True,
            lstrip_blocks=True,
            enable_async=False,
        )
        self.env.filters.update(formats.FILTERS)
