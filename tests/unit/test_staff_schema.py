"""The staff API's Structs spell out the domain's values: they must agree."""

from __future__ import annotations

import re
from typing import get_args

import msgspec
import pytest

from supportd.domain import advisor, lifecycle, sla, staff
from supportd.domain.addresses import is_valid_email
from supportd.http import staff_schema


def test_literal_types_are_the_domain_values() -> None:
    assert set(get_args(staff_schema.Status)) == lifecycle.STATUSES
    assert get_args(staff_schema.Role) == staff.ROLES
    assert get_args(staff_schema.SlaFilter) == staff.SLA_FILTERS
    assert get_args(staff_schema.Sort) == staff.SORTS
    assert get_args(staff_schema.SlaTarget) == sla.TARGETS
    assert get_args(staff_schema.CheckStatus) == advisor.CHECK_STATUSES
    assert get_args(staff_schema.ResourceStatus) == advisor.RESOURCE_STATUSES


def _pattern(tp: object) -> re.Pattern[str]:
    return re.compile(msgspec.json.schema(tp)["pattern"])


@pytest.mark.parametrize(
    ("text", "ok"),
    [
        ("hello", True),
        ("  \n x", True),
        ("\u00a0", True),  # not a blank the API strips: text
        ("\x1c", True),
        ("", False),
        (" \t\r\n\x0b\x0c", False),
        ("a\x00b", False),
        ("x" * staff.MAX_BODY_CHARS, True),
    ],
)
def test_the_text_pattern_is_the_rule_the_operations_apply(text: str, ok: bool) -> None:
    matched = _pattern(staff_schema.Text).search(text) is not None
    rule = bool(text.strip(staff.BLANK)) and "\x00" not in text
    assert matched == rule == ok


@pytest.mark.parametrize(
    "address", ["a@example.com", "a.b+c@sub.example.org", "a@b", "a@@b.com", "a b@c.com"]
)
def test_the_email_pattern_is_the_address_rule(address: str) -> None:
    assert (_pattern(staff_schema.Email).search(address) is not None) == is_valid_email(address)


@pytest.mark.parametrize("name", ["agent1", "a.b-c_d", "A", "-x", "x" * 64, "", "é"])
def test_the_name_pattern_is_the_name_rule(name: str) -> None:
    matched = _pattern(staff_schema.StaffName).search(name) is not None
    assert matched == bool(staff.NAME_PATTERN.match(name))
