"""AWS JSON 1.1 for the Support service, driven by botocore's model loaded at run time.

Parsing turns a request body into a validated dict of input members; serialising turns
a result or an ApiError into the bytes, status and headers AWS would send. Nothing
here knows what a case is.
"""

from __future__ import annotations

import base64
import binascii
import functools
import math
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

import msgspec
from botocore.loaders import Loader

from supportd import api_errors

CONTENT_TYPE = "application/x-amz-json-1.1"

# Constraints the real service enforces that the public model omits (see the facts
# sheet): lowercase code patterns on the code shapes, including the Validated* shapes
# DescribeSupportedLanguages uses for the same members.
CODE_PATTERN = r"[0-9a-z\-_]+"
SERVICE_PATTERNS: dict[str, str] = {
    "ServiceCode": CODE_PATTERN,
    "ValidatedServiceCode": CODE_PATTERN,
    "CategoryCode": CODE_PATTERN,
    "ValidatedCategoryCode": CODE_PATTERN,
    "SeverityCode": CODE_PATTERN,
}


@dataclass(frozen=True, slots=True)
class Operation:
    name: str
    input_shape: str | None


class ServiceModel:
    """The parts of botocore's Support model that the protocol needs, indexed once."""

    def __init__(self, raw: Mapping[str, Any]) -> None:
        self.metadata: Mapping[str, Any] = raw["metadata"]
        self.target_prefix: str = self.metadata["targetPrefix"]
        self.shapes: Mapping[str, Mapping[str, Any]] = raw["shapes"]
        self.operations: dict[str, Operation] = {}
        for name, op in raw["operations"].items():
            self.operations[name] = Operation(name, op.get("input", {}).get("shape"))
        # \A...\Z, not ^...$: `$` also matches before a trailing newline.
        self._patterns = {
            name: re.compile(rf"\A(?:{pattern})\Z") for name, pattern in SERVICE_PATTERNS.items()
        }
        for name, shape in self.shapes.items():
            if "pattern" in shape and name not in self._patterns:
                self._patterns[name] = re.compile(shape["pattern"])

    @functools.cached_property
    def checks(self) -> dict[str, Check]:
        """A compiled check per shape (compile_checks), made on first use."""
        return compile_checks(self)

    def pattern(self, shape_name: str) -> re.Pattern[str] | None:
        return self._patterns.get(shape_name)

    def pattern_text(self, shape_name: str) -> str:
        return SERVICE_PATTERNS.get(shape_name) or self.shapes[shape_name]["pattern"]


def load_model() -> ServiceModel:
    return ServiceModel(Loader().load_service_model("support", "service-2"))


def operation_for_target(model: ServiceModel, target: str | None) -> Operation:
    prefix, _, name = (target or "").partition(".")
    operation = model.operations.get(name) if prefix == model.target_prefix else None
    if operation is None:
        raise api_errors.UnknownOperationException(
            f"Operation {target or '(none)'} is not supported."
            if target
            else "Missing X-Amz-Target header."
        )
    return operation


# --- parsing and validation -------------------------------------------------------


def decode_body(raw: bytes) -> dict[str, Any]:
    """The request body as a JSON object; an empty body is an empty input."""
    if not raw.strip():
        return {}
    try:
        value = msgspec.json.decode(raw)
    except (msgspec.DecodeError, UnicodeDecodeError, RecursionError):
        # UnicodeDecodeError: invalid UTF-8 inside a string; RecursionError: nesting
        # deeper than the decoder allows. Both are malformed bodies, not faults.
        raise api_errors.SerializationException(
            "Start of structure or map found where not expected."
        ) from None
    if not isinstance(value, dict):
        raise api_errors.SerializationException(
            "Start of structure or map found where not expected."
        ) from None
    return value


# A compiled check of one shape: (value, path, problems) -> the validated value. Type
# errors raise SerializationException at once; broken constraints are appended to
# problems, in the order AWS's framework reports them.
Check = Callable[[Any, str, list[str]], Any]


def compile_checks(model: ServiceModel) -> dict[str, Check]:
    """One check per shape, made once: validating a request then only runs closures
    over what each shape constrains (walking the model per request cost twice as much).
    Members are found by shape name at run time, so a shape may refer to itself."""
    checks: dict[str, Check] = {}
    for name in model.shapes:
        checks[name] = _compile(model, name, checks)
    return checks


def _compile(model: ServiceModel, shape_name: str, checks: dict[str, Check]) -> Check:
    shape = model.shapes[shape_name]
    kind = shape["type"]
    if kind == "structure":
        return _structure(shape, checks)
    if kind == "list":
        return _sequence(shape, checks)
    if kind == "string":
        return _string(model, shape_name, shape)
    if kind == "boolean":
        return _boolean
    if kind in ("integer", "long"):
        return _integer(kind, shape)
    if kind in ("double", "float"):
        return _double(kind, shape)
    if kind == "blob":
        return _blob
    return _unsupported


def _structure(shape: Mapping[str, Any], checks: dict[str, Check]) -> Check:
    required = tuple(shape.get("required", ()))
    members = tuple((name, member["shape"]) for name, member in shape.get("members", {}).items())

    def check(value: Any, path: str, problems: list[str]) -> dict[str, Any]:
        if not isinstance(value, dict):
            raise _wrong_type(path, "structure")
        for name in required:
            if value.get(name) is None:
                problems.append(_problem("null", _join(path, name), "not be null"))
        result: dict[str, Any] = {}
        for name, member_shape in members:
            item = value.get(name)
            if item is not None:
                result[name] = checks[member_shape](item, _join(path, name), problems)
        return result

    return check


def _sequence(shape: Mapping[str, Any], checks: dict[str, Check]) -> Check:
    member_shape = shape["member"]["shape"]
    bounds = _bounds(shape, "length")

    def check(value: Any, path: str, problems: list[str]) -> list[Any]:
        if not isinstance(value, list):
            raise _wrong_type(path, "list")
        item_check = checks[member_shape]
        items = [
            item_check(item, f"{path}.{index}.member", problems)
            for index, item in enumerate(value, start=1)
            if item is not None
        ]
        if bounds is not None:
            bounds(len(value), value, path, problems)
        return items

    return check


def _string(model: ServiceModel, shape_name: str, shape: Mapping[str, Any]) -> Check:
    bounds = _bounds(shape, "length")
    enum: list[str] | None = shape.get("enum") or None
    allowed = frozenset(enum) if enum else frozenset()
    enum_must = f"satisfy enum value set: [{', '.join(enum)}]" if enum else ""
    pattern = model.pattern(shape_name)
    pattern_must = (
        f"satisfy regular expression pattern: {model.pattern_text(shape_name)}"
        if pattern is not None
        else ""
    )

    def check(value: Any, path: str, problems: list[str]) -> str:
        if not isinstance(value, str):
            raise _wrong_type(path, "string")
        if bounds is not None:
            bounds(len(value), value, path, problems)
        if enum and value not in allowed:
            problems.append(_problem(_render(value), path, enum_must))
        if pattern is not None and not pattern.search(value):
            problems.append(_problem(_render(value), path, pattern_must))
        return value

    return check


def _boolean(value: Any, path: str, problems: list[str]) -> bool:
    if not isinstance(value, bool):
        raise _wrong_type(path, "boolean")
    return value


def _integer(kind: str, shape: Mapping[str, Any]) -> Check:
    low, high = _INT_RANGES[kind]
    bounds = _bounds(shape, "value")

    def check(value: Any, path: str, problems: list[str]) -> int:
        if isinstance(value, bool) or not isinstance(value, int):
            raise _wrong_type(path, kind)
        if not low <= value <= high:
            # Java's int / long cannot hold it: a deserialisation failure, as in AWS.
            raise _wrong_type(path, kind)
        if bounds is not None:
            bounds(value, value, path, problems)
        return value

    return check


def _double(kind: str, shape: Mapping[str, Any]) -> Check:
    bounds = _bounds(shape, "value")

    def check(value: Any, path: str, problems: list[str]) -> float:
        if isinstance(value, bool) or not isinstance(value, int | float):
            raise _wrong_type(path, kind)
        if not math.isfinite(value):
            raise _wrong_type(path, kind)
        if bounds is not None:
            bounds(value, value, path, problems)
        return float(value)

    return check


def _blob(value: Any, path: str, problems: list[str]) -> bytes:
    if not isinstance(value, str):
        raise _wrong_type(path, "blob")
    try:
        return base64.b64decode(value, validate=True)
    except (binascii.Error, ValueError):
        raise api_errors.SerializationException(
            f"Value at '{path}' is not valid base64-encoded data."
        ) from None


def _unsupported(value: Any, path: str, problems: list[str]) -> Any:
    raise api_errors.SerializationException(f"Unsupported value at '{path}'.")


Bounds = Callable[[float, Any, str, list[str]], None]


def _bounds(shape: Mapping[str, Any], what: str) -> Bounds | None:
    """The shape's min and max, applied to a value's length or the value itself; None
    when the shape has neither. The value is rendered into a message only when a
    constraint fails."""
    if "min" not in shape and "max" not in shape:
        return None
    low = shape.get("min")
    high = shape.get("max")
    low_must = f"have {what} greater than or equal to {low}"
    high_must = f"have {what} less than or equal to {high}"

    def check(measure: float, value: Any, path: str, problems: list[str]) -> None:
        if low is not None and measure < low:
            problems.append(_problem(_render(value), path, low_must))
        if high is not None and measure > high:
            problems.append(_problem(_render(value), path, high_must))

    return check


def _problem(rendered: str, path: str, must: str) -> str:
    return f"Value {rendered} at '{path}' failed to satisfy constraint: Member must {must}"


_INT_RANGES = {"integer": (-(2**31), 2**31 - 1), "long": (-(2**63), 2**63 - 1)}


def _join(path: str, name: str) -> str:
    return f"{path}.{name}" if path else name


def _render(value: str | float | list[Any]) -> str:
    if isinstance(value, list):
        return "'[" + ", ".join(str(item) for item in value) + "]'"
    return f"'{value}'"


def _wrong_type(path: str, expected: str) -> api_errors.ApiError:
    where = path or "the request"
    return api_errors.SerializationException(f"Expected {expected} for '{where}'.")


def parse_input(model: ServiceModel, operation: Operation, body: dict[str, Any]) -> dict[str, Any]:
    """Validated input members; raises SerializationException or ValidationException."""
    if operation.input_shape is None:
        return {}
    problems: list[str] = []
    params: dict[str, Any] = model.checks[operation.input_shape](body, "", problems)
    if problems:
        count = len(problems)
        noun = "error" if count == 1 else "errors"
        raise api_errors.ValidationException(
            f"{count} validation {noun} detected: " + "; ".join(problems)
        )
    return params


# --- serialising -------------------------------------------------------------------

_encoder = msgspec.json.Encoder()


def encode_result(result: Mapping[str, Any]) -> bytes:
    return _encoder.encode(result)


def encode_error(error: api_errors.ApiError) -> bytes:
    return _encoder.encode(error.body())
