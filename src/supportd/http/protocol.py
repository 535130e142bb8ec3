"""AWS JSON 1.1 for the Support service, driven by botocore's model loaded at run time.

Parsing turns a request body into a validated dict of input members; serialising turns
a result or an ApiError into the bytes, status and headers AWS would send. Nothing
here knows what a case is.
"""

from __future__ import annotations

import base64
import binascii
import math
import re
from collections.abc import Mapping
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


class _Validator:
    """Checks a JSON value against a shape: types first (SerializationException), then
    the model's constraints, collected like AWS's framework collects them."""

    def __init__(self, model: ServiceModel) -> None:
        self.model = model
        self.problems: list[str] = []

    def structure(self, shape_name: str, value: Any, path: str) -> dict[str, Any]:
        shape = self.model.shapes[shape_name]
        if not isinstance(value, dict):
            raise _wrong_type(path, "structure")
        members: Mapping[str, Any] = shape.get("members", {})
        result: dict[str, Any] = {}
        for name in shape.get("required", ()):
            if value.get(name) is None:
                self.violated("null", _join(path, name), "not be null")
        for name, member in members.items():
            if name not in value or value[name] is None:
                continue
            result[name] = self.value(member["shape"], value[name], _join(path, name))
        return result

    def value(self, shape_name: str, value: Any, path: str) -> Any:
        shape = self.model.shapes[shape_name]
        kind = shape["type"]
        if kind == "structure":
            return self.structure(shape_name, value, path)
        if kind == "list":
            return self.sequence(shape, value, path)
        if kind == "string":
            if not isinstance(value, str):
                raise _wrong_type(path, "string")
            self.string(shape_name, shape, value, path)
            return value
        if kind == "boolean":
            if not isinstance(value, bool):
                raise _wrong_type(path, "boolean")
            return value
        if kind in ("integer", "long"):
            if isinstance(value, bool) or not isinstance(value, int):
                raise _wrong_type(path, kind)
            low, high = _INT_RANGES[kind]
            if not low <= value <= high:
                # Java's int / long cannot hold it: a deserialisation failure, as in AWS.
                raise _wrong_type(path, kind)
            self.number(shape, value, path)
            return value
        if kind in ("double", "float"):
            if (
                isinstance(value, bool)
                or not isinstance(value, int | float)
                or not math.isfinite(value)
            ):
                raise _wrong_type(path, kind)
            self.number(shape, value, path)
            return float(value)
        if kind == "blob":
            if not isinstance(value, str):
                raise _wrong_type(path, "blob")
            try:
                return base64.b64decode(value, validate=True)
            except (binascii.Error, ValueError):
                raise api_errors.SerializationException(
                    f"Value at '{path}' is not valid base64-encoded data."
                ) from None
        raise api_errors.SerializationException(f"Unsupported value at '{path}'.")

    def sequence(self, shape: Mapping[str, Any], value: Any, path: str) -> list[Any]:
        if not isinstance(value, list):
            raise _wrong_type(path, "list")
        member_shape = shape["member"]["shape"]
        items = [
            self.value(member_shape, item, f"{path}.{index}.member")
            for index, item in enumerate(value, start=1)
            if item is not None
        ]
        self.length(shape, value, path)
        return items

    def string(self, shape_name: str, shape: Mapping[str, Any], value: str, path: str) -> None:
        self.length(shape, value, path)
        enum = shape.get("enum")
        if enum and value not in enum:
            self.violated(_render(value), path, f"satisfy enum value set: [{', '.join(enum)}]")
        pattern = self.model.pattern(shape_name)
        if pattern is not None and not pattern.search(value):
            regex = self.model.pattern_text(shape_name)
            self.violated(_render(value), path, f"satisfy regular expression pattern: {regex}")

    def length(self, shape: Mapping[str, Any], value: str | list[Any], path: str) -> None:
        self.bounds(shape, len(value), "length", value, path)

    def number(self, shape: Mapping[str, Any], value: float, path: str) -> None:
        self.bounds(shape, value, "value", value, path)

    def bounds(
        self, shape: Mapping[str, Any], measure: float, what: str, value: Any, path: str
    ) -> None:
        """The shape's min and max, applied to the value's length or the value itself.
        The value is rendered into a message only when a constraint fails: this runs for
        every string, list and number of every request."""
        if "min" in shape and measure < shape["min"]:
            must = f"have {what} greater than or equal to {shape['min']}"
            self.violated(_render(value), path, must)
        if "max" in shape and measure > shape["max"]:
            self.violated(_render(value), path, f"have {what} less than or equal to {shape['max']}")

    def violated(self, rendered: str, path: str, must: str) -> None:
        self.problems.append(
            f"Value {rendered} at '{path}' failed to satisfy constraint: Member must {must}"
        )


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
    validator = _Validator(model)
    params = validator.structure(operation.input_shape, body, "")
    if validator.problems:
        count = len(validator.problems)
        noun = "error" if count == 1 else "errors"
        raise api_errors.ValidationException(
            f"{count} validation {noun} detected: " + "; ".join(validator.problems)
        )
    return params


# --- serialising -------------------------------------------------------------------

_encoder = msgspec.json.Encoder()


def encode_result(result: Mapping[str, Any]) -> bytes:
    return _encoder.encode(result)


def encode_error(error: api_errors.ApiError) -> bytes:
    return _encoder.encode(error.body())
