"""The web pages' pure rules: throttling and session times, passwords and addresses,
plans, filters, redirects after sign-in, escaping, and how values read on a page."""

from __future__ import annotations

import pytest
from starlette.requests import Request

from supportd.domain import plans
from supportd.domain.case_filters import contains_pattern
from supportd.domain.web_sessions import (
    Failures,
    SessionRules,
    ThrottleRules,
    WebSession,
    is_live,
    needs_touch,
    wait_ms,
    wait_text,
)
from supportd.domain.web_users import (
    email_problem,
    name_problem,
    normalize_email,
    password_problem,
)
from supportd.web import formats
from supportd.web.security import foreign_origin, tokens_match
from supportd.web.support_advisor import description_lines
from supportd.web.support_site import safe_next
from supportd.web.templating import Templates

RULES = ThrottleRules(window_ms=900_000, max_per_address=30, max_per_user=5)
NONE = Failures(0, None)


def test_throttling_waits_until_the_oldest_failure_leaves_the_window() -> None:
    assert wait_ms(RULES, NONE, Failures(4, 1000), 2000) is None
    assert wait_ms(RULES, NONE, Failures(5, 1000), 2000) == 899_000
    assert wait_ms(RULES, Failures(30, 500), Failures(5, 1000), 2000) == 899_000
    assert wait_ms(RULES, Failures(30, 1500), NONE, 2000) == 899_500
    # Never "wait 0 minutes": at least a second.
    assert wait_ms(RULES, NONE, Failures(5, 1000), 1000 + 900_000) == 1000
    assert wait_text(1000) == "1 minute"
    assert wait_text(899_000) == "15 minutes"
    assert wait_text(60_001) == "2 minutes"


def test_sessions_end_by_idle_time_or_age() -> None:
    rules = SessionRules(idle_ms=1000, max_ms=5000)
    fresh = WebSession("h", "customer", "u", "t", created_ms=0, last_seen_ms=0)
    assert is_live(fresh, rules, 999) and not is_live(fresh, rules, 1000)
    used = WebSession("h", "customer", "u", "t", created_ms=0, last_seen_ms=4500)
    assert is_live(used, rules, 4999) and not is_live(used, rules, 5000)
    assert not needs_touch(fresh, 59_999) and needs_touch(fresh, 60_000)


def test_passwords_names_and_addresses() -> None:
    assert password_problem("a" * 9) == "A password needs at least 10 characters."
    assert password_problem("a" * 10) is None
    assert password_problem("correct horse battery staple") is None
    assert password_problem("a" * 257) == "A password has at most 256 characters."
    assert password_problem("a" * 10 + "\x00") == "A password must not contain the NUL character."
    assert normalize_email("  Jane@Example.COM ") == "jane@example.com"
    assert email_problem("") == "Enter an e-mail address."
    assert email_problem("jane@") is not None and email_problem("jane@example.com") is None
    assert name_problem("x" * 101) is not None and name_problem("Ada\nEvil") is not None
    assert name_problem("Zoë O'Brien") is None


def test_plans_gate_severities_and_issue_types() -> None:
    allowed = {
        plan: [
            s
            for s in ("low", "normal", "high", "urgent", "critical")
            if plans.may_use_severity(plan, s)
        ]
        for plan in plans.PLANS
    }
    assert allowed == {
        "basic": ["low", "normal"],
        "developer": ["low", "normal"],
        "business": ["low", "normal", "high", "urgent"],
        "enterprise": ["low", "normal", "high", "urgent", "critical"],
    }
    assert not plans.may_use_severity("no-such-plan", "high")
    assert not plans.may_use_issue_type("basic", "technical")
    assert plans.may_use_issue_type("basic", "customer-service")
    assert plans.may_use_issue_type("developer", "technical")


def test_subject_search_patterns_escape_like_wildcards() -> None:
    assert contains_pattern("Disk Full") == "%disk full%"
    assert contains_pattern("100%_done\\") == "%100\\%\\_done\\\\%"


@pytest.mark.parametrize(
    ("target", "expected"),
    [
        ("/support/cases/1000000001", "/support/cases/1000000001"),
        ("/support/cases?status=all", "/support/cases?status=all"),
        ("https://evil.example/support/", "/support/cases"),
        ("//evil.example/support/", "/support/cases"),
        ("/support/\\evil", "/support/cases"),
        ("/supportx/cases", "/support/cases"),
        ("/console/", "/support/cases"),
        ("/support/ca ses", "/support/cases"),
        ("", "/support/cases"),
    ],
)
def test_after_sign_in_only_pages_of_the_area(target: str, expected: str) -> None:
    assert safe_next(target) == expected


def _request(headers: dict[str, str]) -> Request:
    raw = [(k.lower().encode(), v.encode()) for k, v in headers.items()]
    return Request({"type": "http", "method": "POST", "path": "/", "headers": raw})


def test_origin_and_token_checks() -> None:
    assert not foreign_origin(_request({"host": "support.example.com"}))
    assert not foreign_origin(
        _request({"host": "support.example.com", "origin": "https://support.example.com"})
    )
    assert foreign_origin(
        _request({"host": "support.example.com", "origin": "https://evil.example"})
    )
    assert not foreign_origin(_request({"host": "h", "origin": "null"}))  # the token decides
    assert tokens_match("abc", "abc")
    assert not tokens_match("abc", "abd") and not tokens_match("abc", None)
    assert not tokens_match("", "") and not tokens_match(None, "x")
    assert not tokens_match("abc", ["abc"])


def test_templates_escape_whatever_they_are_given() -> None:
    env = Templates().env
    rendered = env.from_string('<p title="{{ x }}">{{ x }}</p>').render(x="<script>\"'&")
    assert rendered == (
        '<p title="&lt;script&gt;&#34;&#39;&amp;">&lt;script&gt;&#34;&#39;&amp;</p>'
    )


def test_check_descriptions_become_text_runs() -> None:
    lines = description_lines(
        "Checks buckets.<br><br><b>Alert Criteria</b><br>Red: <a href='x'>open</a> &amp; "
        "<script>alert(1)</script><br><br><br>"
    )
    assert lines == [
        [("Checks buckets.", False)],
        [],
        [("Alert Criteria", True)],
        [("Red: ", False), ("open", False), (" & ", False), ("alert(1)", False)],
    ]


def test_how_values_read() -> None:
    assert formats.when(0) == "1970-01-01 00:00 UTC"
    assert formats.iso(1_700_000_000_000) == "2023-11-14T22:13:20Z"
    assert formats.api_time("2023-11-14T22:13:20.123Z") == "2023-11-14 22:13 UTC"
    assert formats.api_time("garbage") == "garbage"
    assert formats.duration(15 * 60_000) == "15 minutes"
    assert formats.duration(90 * 60_000) == "1 hour 30 minutes"
    assert formats.duration(86_400_000) == "1 day"
    assert formats.size(1536) == "1.5 KB"
    assert formats.status_label("pending-customer-action") == "Pending customer action"
    assert formats.status_label("something-new") == "something-new"
