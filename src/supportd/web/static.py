"""The web pages' CSS and JavaScript, served from the package under /static/ (nothing
is loaded from anywhere else)."""

from __future__ import annotations

from starlette.routing import Mount
from starlette.staticfiles import StaticFiles

from supportd.web.security import WithHeaders

PREFIX = "/static"


def mount() -> Mount:
    files = StaticFiles(packages=[("supportd.web", "static")])
    return Mount(PREFIX, app=WithHeaders(files, static=True), name="static")
