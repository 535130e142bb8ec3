"""The web pages: server-rendered HTML over the same operations as the API; every page
works without JavaScript.

Foundation modules, shared by every area (the customer Support Center, the staff
console): security (headers, CSRF), sessions (cookies), forms (reading posts within
limits), templating (Jinja2, autoescaped), formats, site (the context, error pages,
audited operation calls), static (CSS and JS).
"""

from __future__ import annotations

from starlette.routing import BaseRoute

from supportd.operations.context import Context


def routes(ctx: Context) -> list[BaseRoute]:
    """Every route of the web pages, for app.py to mount."""
    from supportd.web import static

    return [static.mount()]
