"""Hypothesis strategies derived from botocore's Support model.

`value_for(shape_name)` draws values that satisfy the model's constraints (plus the
lowercase code pattern supportd enforces on service, category and severity codes), so
botocore's serializer accepts them and supportd's parser must accept them too.
`overrides` replaces the strategy of a member by name wherever it appears (None: leave
the member out), which steers inputs towards values that name real things.
"""

from __future__ import annotations

import string
from collections.abc import Mapping
from typing import Any

from botocore.loaders import Loader
from hypothesis import strategies as st

from supportd.http import protocol

RAW_MODEL: dict[str, Any] = Loader().load_service_model("support", "service-2")
SHAPES: Mapping[str, Mapping[str, Any]] = RAW_MODEL["shapes"]
OPERATIONS: list[str] = sorted(RAW_MODEL["operations"])

# Bounds for unbounded strings and lists keep examples small and fast.
MAX_TEXT = 40
MAX_ITEMS = 3
INT_BOUNDS = {"integer": (-(2**31), 2**31 - 1), "long": (-(2**63), 2**63 - 1)}
CODE_ALPHABET = string.ascii_lowercase + string.digits + "-_"


def input_shape(operation: str) -> str:
    return RAW_MODEL["operations"][operation]["input"]["shape"]


def output_shape(operation: str) -> str:
    return RAW_MODEL["operations"][operation]["output"]["shape"]


def _string(shape_name: str, shape: Mapping[str, Any]) -> st.SearchStrategy[str]:
    if "enum" in shape:
        return st.sampled_from(shape["enum"])
    low = shape.get("min", 0)
    high = min(shape.get("max", MAX_TEXT), max(low, MAX_TEXT))
    if shape_name in protocol.SERVICE_PATTERNS:
        return st.text(CODE_ALPHABET, min_size=max(low, 1), max_size=max(high, 1))
    return st.text(min_size=low, max_size=high)


def value_for(
    shape_name: str,
    overrides: Mapping[str, st.SearchStrategy[Any] | None] | None = None,
) -> st.SearchStrategy[Any]:
    overrides = overrides or {}
    shape = SHAPES[shape_name]
    kind = shape["type"]
    if kind == "structure":
        members = shape.get("members", {})
        required = set(shape.get("required", ()))

        def member(name: str) -> st.SearchStrategy[Any]:
            override = overrides.get(name)
            if override is not None:
                return override
            return value_for(members[name]["shape"], overrides)

        left_out = {name for name in overrides if overrides[name] is None} - required
        kept = [name for name in members if name not in left_out]
        return st.fixed_dictionaries(
            {name: member(name) for name in kept if name in required},
            optional={name: member(name) for name in kept if name not in required},
        )
    if kind == "list":
        low = shape.get("min", 0)
        high = min(shape.get("max", MAX_ITEMS), max(low, MAX_ITEMS))
        return st.lists(value_for(shape["member"]["shape"], overrides), min_size=low, max_size=high)
    if kind == "string":
        return _string(shape_name, shape)
    if kind == "boolean":
        return st.booleans()
    if kind in INT_BOUNDS:
        low, high = INT_BOUNDS[kind]
        return st.integers(shape.get("min", low), shape.get("max", high))
    if kind in ("double", "float"):
        return st.floats(allow_nan=False, allow_infinity=False)
    if kind == "blob":
        return st.binary(max_size=64)
    raise AssertionError(f"shape {shape_name} has a type the model strategies do not know: {kind}")


def input_for(
    operation: str, overrides: Mapping[str, st.SearchStrategy[Any] | None] | None = None
) -> st.SearchStrategy[dict[str, Any]]:
    return value_for(input_shape(operation), overrides)
