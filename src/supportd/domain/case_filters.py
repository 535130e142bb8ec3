"""The Support Center's case list filters: pure rules (the store applies them)."""

from __future__ import annotations

OPEN = "open"
RESOLVED = "resolved"
ALL = "all"
STATUS_FILTERS = (OPEN, RESOLVED, ALL)
MAX_FIND_CHARS = 200


def contains_pattern(text: str) -> str:
    """A LIKE pattern (escape character backslash) matching subjects that contain the
    text, ignoring case."""
    escaped = text.lower().replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    return f"%{escaped}%"
