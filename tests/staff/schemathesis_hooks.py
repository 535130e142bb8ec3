"""schemathesis hooks for the staff API run (tests/staff/test_schemathesis.py).

They keep generated *valid* requests to what the schema can promise. Two rules of the
staff API are beyond JSON Schema, and the document says so in their descriptions:

- a page token (`nextToken`) is valid only as the server issued it: a string invented
  by the generator is refused (400 invalid_token), as it must be;
- a search must name a word to look for (letters or digits outside an excluded term),
  with at most 16 terms: other strings are refused (400 invalid_query / empty_query).

So valid requests carry no invented page token and only searches the grammar accepts.
Requests meant to be invalid are left as generated: the server must refuse them all.
"""

from __future__ import annotations

from typing import Any

import schemathesis

from supportd.domain import search


def _positive(case: Any) -> bool:
    meta = case.meta
    return meta is not None and meta.generation.mode.is_positive


@schemathesis.hook
def map_case(context: Any, case: Any) -> Any:
    if _positive(case) and isinstance(case.query, dict):
        case.query.pop("nextToken", None)
    return case


@schemathesis.hook
def filter_case(context: Any, case: Any) -> bool:
    if not _positive(case) or not isinstance(case.query, dict):
        return True
    q = case.query.get("q")
    if not isinstance(q, str):
        return True
    try:
        search.parse(q)
    except search.InvalidSearch:
        return False
    return bool(q.strip())
