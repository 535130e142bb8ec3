"""The Support Center over plain HTTP against a real server, on both stores: sessions,
CSRF, headers, throttling, isolation between accounts, escaping, forms, plans, the
reopen window and bad input. (tests/web/test_browser.py drives a real browser.)"""

from __future__ import annotations

import json
import re
import time
from typing import Any

import httpx

from tests.support.clients import boto3_client
from tests.web.conftest import BUSINESS, OTHER, WebSite
from tests.web.helpers import (
    PASSWORD,
    WebClient,
    case_ids_listed,
    create_user,
    csrf,
    signed_in,
    supportd,
)

HOUR_MS = 3_600_000
DAY_MS = 24 * HOUR_MS
EC2 = "amazon-elastic-compute-cloud-linux"


def new_case_form(token: str, **fields: str) -> dict[str, str]:
    form = {
        "csrf_token": token,
        "issue_type": "technical",
        "service": EC2,
        "category": f"{EC2}/other",
        "severity": "normal",
        "subject": "Instance unreachable",
        "description": "Since 09:00 the instance answers no SSH.",
        "language": "en",
        "cc": "",
    }
    form.update(fields)
    return form


def api_case(site: WebSite, account: str, subject: str, **extra: Any) -> tuple[str, str]:
    """A case filed through boto3: (caseId, displayId)."""
    client = boto3_client(site.url, account)
    case_id = client.create_case(subject=subject, communicationBody="body", **extra)["caseId"]
    found = client.describe_cases(caseIdList=[case_id], includeResolvedCases=True)
    return case_id, found["cases"][0]["displayId"]


def case_count(site: WebSite, account: str) -> int:
    client = boto3_client(site.url, account)
    return len(client.describe_cases(includeResolvedCases=True, maxResults=100)["cases"])


# --- headers and cookies ----------------------------------------------------------------


def test_every_answer_carries_the_security_headers(site: WebSite) -> None:
    alice = signed_in(site.server, site.alice)
    anonymous = WebClient(site.server)
    answers = [
        anonymous.get("/support/sign-in"),
        anonymous.get("/support/no-such-page"),
        anonymous.post("/support/cases/new", data={}),  # 403: no session
        anonymous.get("/static/supportd.css"),
        alice.get("/support/cases"),
        alice.get("/support/cases/999999"),  # 404 page
        alice.request("OPTIONS", "/support/sign-in"),  # a method no page takes
        anonymous.get("/static/no-such-file.css"),  # the static files' own 404
    ]
    assert [a.status_code for a in answers] == [200, 404, 403, 200, 200, 404, 404, 404]
    for answer in answers:
        csp = answer.headers["content-security-policy"]
        assert "script-src 'self'" in csp
        assert "unsafe-inline" not in csp and "unsafe-eval" not in csp
        assert "frame-ancestors 'none'" in csp
        assert answer.headers["x-frame-options"] == "DENY"
        assert answer.headers["x-content-type-options"] == "nosniff"
    assert all(
        a.headers["cache-control"] == "no-store"
        for a in answers
        if "html" in a.headers["content-type"]
    )
    # No inline script anywhere: only the package's own file.
    html = alice.get("/support/cases/new").text
    assert re.findall(r"<script[^>]*>", html) == [
        '<script src="/static/supportd.js" defer>',
        '<script src="/static/uploads.js" defer>',
    ]
    assert not re.search(r"<[^>]+\son[a-z]+=", html)  # no inline event handlers
    assert "style=" not in html  # no inline styles either (style-src 'self')


def test_session_cookie_is_httponly_lax_and_secure_over_https(site: WebSite) -> None:
    client = WebClient(site.server)
    answer = client.sign_in(site.alice)
    cookie = next(
        v for k, v in answer.headers.multi_items() if k == "set-cookie" and "supportd_support=" in v
    )
    assert "HttpOnly" in cookie and "SameSite=lax" in cookie and "Path=/support" in cookie
    assert "Secure" not in cookie  # plain http: a Secure cookie would never come back
    # Behind a TLS proxy (uvicorn trusts X-Forwarded-Proto from loopback): Secure.
    https = WebClient(site.server)
    answer = https.sign_in(site.alice, **{"X-Forwarded-Proto": "https"})
    cookie = next(
        v for k, v in answer.headers.multi_items() if k == "set-cookie" and "supportd_support=" in v
    )
    assert "Secure" in cookie and "HttpOnly" in cookie


# --- sessions -------------------------------------------------------------------------------


def test_a_session_id_is_never_carried_across_sign_in(site: WebSite) -> None:
    client = WebClient(site.server)
    planted = "attacker-chosen-session-id-0123456789abcdef"
    client.plant(planted)
    assert client.get("/support/cases").status_code == 303  # a made-up id is no session
    assert client.sign_in(site.alice).status_code == 303
    first = client.session_cookie
    assert first and first != planted
    # Signing in again while signed in (another user on a shared computer) replaces the
    # session the browser presents: its id is deleted, not kept.
    form = WebClient(site.server).get("/support/sign-in")
    client.cookies.set(
        "supportd_support_form", form.cookies["supportd_support_form"], "127.0.0.1", "/support"
    )
    again = client.post(
        "/support/sign-in",
        data={"csrf_token": csrf(form.text), "email": site.alice, "password": PASSWORD},
    )
    assert again.status_code == 303
    second = client.session_cookie
    assert second and second != first
    stale = WebClient(site.server)
    stale.plant(first)
    assert stale.get("/support/cases").status_code == 303


def test_sign_in_brings_the_person_back_to_the_page_they_asked_for(site: WebSite) -> None:
    client = WebClient(site.server)
    asked = client.get("/support/cases?status=resolved")
    assert asked.status_code == 303
    assert (
        asked.headers["location"] == "/support/sign-in?next=%2Fsupport%2Fcases%3Fstatus%3Dresolved"
    )
    page = client.get(asked.headers["location"])
    assert 'name="next" value="/support/cases?status=resolved"' in page.text
    for target, landing in (
        ("/support/cases?status=resolved", "/support/cases?status=resolved"),
        ("https://evil.example/", "/support/cases"),
        ("//evil.example/support/", "/support/cases"),
    ):
        fresh = WebClient(site.server)
        form = fresh.get("/support/sign-in")
        answer = fresh.post(
            "/support/sign-in",
            data={
                "csrf_token": csrf(form.text),
                "email": site.alice,
                "password": PASSWORD,
                "next": target,
            },
        )
        assert answer.status_code == 303 and answer.headers["location"] == landing


def test_sign_out_ends_the_session_on_the_server(site: WebSite) -> None:
    client = signed_in(site.server, site.alice)
    cookie = client.session_cookie
    answer = client.post("/support/sign-out", data={"csrf_token": client.token()})
    assert answer.status_code == 303
    assert answer.headers["location"] == "/support/sign-in?done=signed-out"
    # The old cookie, replayed by anyone, no longer works.
    replay = WebClient(site.server)
    replay.plant(cookie or "")
    page = replay.get("/support/cases")
    assert page.status_code == 303 and page.headers["location"].startswith("/support/sign-in")


def test_sign_out_everywhere_ends_every_session(site: WebSite) -> None:
    laptop, phone = signed_in(site.server, site.alice), signed_in(site.server, site.alice)
    answer = laptop.post("/support/sign-out-everywhere", data={"csrf_token": laptop.token()})
    assert answer.status_code == 303
    assert phone.get("/support/cases").status_code == 303
    assert laptop.get("/support/cases").status_code == 303


def test_sessions_end_after_the_idle_time(site: WebSite) -> None:
    client = signed_in(site.server, site.alice)
    assert client.get("/support/cases").status_code == 200
    site.move_clock(8 * HOUR_MS + 120_000)  # web_session_idle_s: 8 hours
    try:
        assert client.get("/support/cases").status_code == 303
    finally:
        site.move_clock(-(8 * HOUR_MS + 120_000))


def test_disabling_a_user_ends_their_sessions_at_once(site: WebSite) -> None:
    email = "temp-disabled@example.com"
    create_user(site.server, BUSINESS, email)
    client = signed_in(site.server, email)
    assert client.get("/support/cases").status_code == 200
    supportd(site.server, "users", "disable", email)
    assert client.get("/support/cases").status_code == 303
    assert client.sign_in(email).status_code == 400  # and no new one
    supportd(site.server, "users", "enable", email)
    assert client.sign_in(email).status_code == 303


# --- CSRF -------------------------------------------------------------------------------


def test_posts_without_the_session_csrf_token_are_refused_and_change_nothing(
    site: WebSite,
) -> None:
    alice = signed_in(site.server, site.alice)
    mallory = signed_in(site.server, site.bob)
    case_id, display_id = api_case(site, BUSINESS, "CSRF target")
    before = case_count(site, BUSINESS)
    token = alice.token()
    attempts = [
        ("/support/cases/new", new_case_form("")),
        ("/support/cases/new", new_case_form("not-the-token")),
        ("/support/cases/new", new_case_form(mallory.token())),  # another session's token
        (f"/support/cases/{display_id}/reply", {"body": "forged reply"}),
        (f"/support/cases/{display_id}/resolve", {"csrf_token": token + "x"}),
        ("/support/account/password", {"current_password": PASSWORD, "new_password": "x" * 12}),
        ("/support/sign-out-everywhere", {}),
    ]
    for path, data in attempts:
        answer = alice.post(path, data=data)
        assert answer.status_code == 403, path
        assert "nothing was changed" in answer.text
    # A post from another site's page, even with the right token.
    answer = alice.post(
        "/support/cases/new", data=new_case_form(token), headers={"Origin": "https://evil.example"}
    )
    assert answer.status_code == 403
    assert case_count(site, BUSINESS) == before
    comms = boto3_client(site.url, BUSINESS).describe_communications(caseId=case_id)
    assert [c["body"] for c in comms["communications"]] == ["body"]
    case = boto3_client(site.url, BUSINESS).describe_cases(caseIdList=[case_id])["cases"][0]
    assert case["status"] != "resolved"
    assert alice.get("/support/cases").status_code == 200  # still signed in
    # The sign-in form has its own token, bound to a cookie.
    fresh = WebClient(site.server)
    answer = fresh.post(
        "/support/sign-in", data={"csrf_token": "guess", "email": site.alice, "password": PASSWORD}
    )
    assert answer.status_code == 403 and fresh.session_cookie is None


# --- sign-in throttling -----------------------------------------------------------------


def test_sign_in_is_throttled_per_user_with_a_clear_message(site: WebSite) -> None:
    email = "throttled@example.com"
    create_user(site.server, BUSINESS, email)
    client = WebClient(site.server)
    for _ in range(5):  # web_sign_in_max_per_user
        assert client.sign_in(email, "wrong password!").status_code == 400
    answer = client.sign_in(email)  # even the right password now
    assert answer.status_code == 429
    assert "Too many failed sign-in attempts. Wait 15 minutes and try again." in answer.text
    assert client.session_cookie is None
    site.move_clock(15 * 60_000 + 1000)
    try:
        assert client.sign_in(email).status_code == 303
    finally:
        site.move_clock(-(15 * 60_000 + 1000))


def test_sign_in_is_throttled_per_address(site: WebSite) -> None:
    # uvicorn takes the client address from X-Forwarded-For sent by a trusted (loopback)
    # proxy: each test address is a client of its own.
    client = WebClient(site.server)
    address = {"X-Forwarded-For": "203.0.113.9"}
    for n in range(30):  # web_sign_in_max_per_address, over many e-mail addresses
        assert (
            client.sign_in(f"nobody{n}@example.com", "wrong password!", **address).status_code
            == 400
        )
    answer = client.sign_in(site.alice, **address)
    assert answer.status_code == 429 and "Too many failed sign-in attempts" in answer.text
    # Another address is not affected.
    assert client.sign_in(site.alice, **{"X-Forwarded-For": "203.0.113.10"}).status_code == 303


def test_unknown_and_wrong_credentials_get_the_same_answer(site: WebSite) -> None:
    client = WebClient(site.server)
    unknown = client.sign_in("nobody-at-all@example.com", "whatever password")
    wrong = client.sign_in(site.alice, "whatever password")
    assert unknown.status_code == wrong.status_code == 400
    message = "The email address or password is incorrect."
    assert message in unknown.text and message in wrong.text


# --- accounts see only their own ----------------------------------------------------------


def test_another_accounts_case_and_attachment_are_not_found(site: WebSite) -> None:
    owner = boto3_client(site.url, OTHER)
    attached = owner.add_attachments_to_set(attachments=[{"fileName": "x.log", "data": b"x"}])
    case_id = owner.create_case(
        subject="Bob's private case",
        communicationBody="secret",
        attachmentSetId=attached["attachmentSetId"],
    )["caseId"]
    found = owner.describe_cases(caseIdList=[case_id])["cases"][0]
    display_id = found["displayId"]
    attachment_id = owner.describe_communications(caseId=case_id)["communications"][0][
        "attachmentSet"
    ][0]["attachmentId"]
    bob = signed_in(site.server, site.bob)
    assert bob.get(f"/support/cases/{display_id}").status_code == 200
    assert bob.get(f"/support/attachments/{attachment_id}").status_code == 303
    alice = signed_in(site.server, site.alice)
    for path in (
        f"/support/cases/{display_id}",
        f"/support/attachments/{attachment_id}",
    ):
        answer = alice.get(path)
        assert answer.status_code == 404, path
        assert "Bob" not in answer.text and "secret" not in answer.text
    token = alice.token()
    for path in (f"/support/cases/{display_id}/reply", f"/support/cases/{display_id}/resolve"):
        answer = alice.post(path, data={"csrf_token": token, "body": "hijack"})
        assert answer.status_code == 404, path
    assert "Bob's private case" not in alice.get("/support/cases?status=all").text
    searched = alice.get(f"/support/cases?status=all&find={display_id}").text
    assert case_ids_listed(searched) == [] and "No cases match these filters" in searched


# --- escaping -------------------------------------------------------------------------------


def test_user_supplied_text_is_escaped_everywhere(site: WebSite) -> None:
    evil = "<script>alert('x')</script>"
    client = boto3_client(site.url, BUSINESS)
    attached = client.add_attachments_to_set(
        attachments=[{"fileName": f'"><img src=x onerror=alert(1)>{evil}.txt', "data": b"1"}]
    )
    case_id = client.create_case(
        subject=f"Subject {evil}",
        communicationBody=f"Body {evil} <b>bold</b>",
        ccEmailAddresses=["cc@example.com"],
        attachmentSetId=attached["attachmentSetId"],
    )["caseId"]
    display_id = client.describe_cases(caseIdList=[case_id])["cases"][0]["displayId"]
    alice = signed_in(site.server, site.alice)
    for path in (f"/support/cases/{display_id}", "/support/cases?status=all"):
        html = alice.get(path).text
        assert "<script>alert" not in html and "<img src=x" not in html and "<b>bold" not in html
        assert "&lt;script&gt;alert(&#39;x&#39;)&lt;/script&gt;" in html
    # What a person types into a form comes back escaped too.
    page = alice.post(
        "/support/cases/new",
        data=new_case_form(alice.token(), subject="", description=f"typed {evil}"),
    )
    assert page.status_code == 400
    assert "<script>alert" not in page.text and "typed &lt;script&gt;" in page.text


# --- forms ----------------------------------------------------------------------------------


def test_errors_appear_next_to_their_field_and_keep_the_input(site: WebSite) -> None:
    alice = signed_in(site.server, site.alice)
    before = case_count(site, BUSINESS)
    page = alice.post(
        "/support/cases/new",
        data=new_case_form(
            alice.token(),
            subject="",
            category="aws-lambda/other",  # a category of another service
            cc="ok@example.com, not-an-address",
            description="Kept text",
        ),
    )
    assert page.status_code == 400
    html = page.text
    assert 'id="subject-error"' in html and "Enter a subject." in html
    assert "Choose a category of Elastic Compute Cloud (EC2 - Linux)." in html
    assert "This is not an email address: not-an-address" in html
    assert 'aria-invalid="true"' in html and 'aria-describedby="subject-error"' in html
    assert ">Kept text</textarea>" in html
    assert 'value="ok@example.com, not-an-address"' in html
    assert f'<option value="{EC2}" selected>' in html
    assert case_count(site, BUSINESS) == before


def test_the_plan_decides_which_severities_are_offered(site: WebSite) -> None:
    dev = signed_in(site.server, site.dev)
    form = dev.get("/support/cases/new").text
    assert re.search(r'value="urgent"[^>]*disabled', form)
    assert re.search(r'value="critical"[^>]*disabled', form)
    assert not re.search(r'value="normal"[^>]*disabled', form)
    assert "It needs the Business plan or higher; this account has the Developer plan." in form
    assert "First response within 1 hour" in form  # urgent's target, shown all the same
    refused = dev.post("/support/cases/new", data=new_case_form(dev.token(), severity="urgent"))
    assert refused.status_code == 400
    assert "This severity is not available with the Developer plan." in refused.text
    # A Developer account has no API access, but the Support Center serves it.
    created = dev.post("/support/cases/new", data=new_case_form(dev.token(), severity="normal"))
    assert created.status_code == 303
    listed = dev.get("/support/cases").text
    assert "Instance unreachable" in listed


def test_a_case_filed_on_the_web_is_the_apis_case(site: WebSite) -> None:
    alice = signed_in(site.server, site.alice)
    answer = alice.post(
        "/support/cases/new",
        data=new_case_form(alice.token(), subject="Web-filed", severity="high", cc="a@example.com"),
        files={"attachments": ("boot.log", b"kernel: panic", "text/plain")},
    )
    assert answer.status_code == 303
    display_id = answer.headers["location"].split("/")[-1].split("?")[0]
    client = boto3_client(site.url, BUSINESS)
    case = client.describe_cases(displayId=display_id, includeCommunications=True)["cases"][0]
    assert case["subject"] == "Web-filed" and case["severityCode"] == "high"
    assert case["serviceCode"] == EC2 and case["categoryCode"] == "other"
    assert case["ccEmailAddresses"] == ["a@example.com"]
    assert case["submittedBy"] == site.alice
    comm = case["recentCommunications"]["communications"][0]
    assert comm["submittedBy"] == f"Alice Example <{site.alice}>"
    assert [a["fileName"] for a in comm["attachmentSet"]] == ["boot.log"]
    attachment = client.describe_attachment(attachmentId=comm["attachmentSet"][0]["attachmentId"])
    assert attachment["attachment"]["data"] == b"kernel: panic"
    # The audit trail names the web user, as the API names a key.
    rows = supportd(
        site.server, "audit", "--account", BUSINESS, "--operation", "CreateCase", lines=True
    )
    assert any(f"{site.alice} (Web)" in json.dumps(row) for row in rows)


def test_too_many_or_too_large_files_are_refused_next_to_attachments(site: WebSite) -> None:
    alice = signed_in(site.server, site.alice)
    before = case_count(site, BUSINESS)
    four = [("attachments", (f"f{n}.txt", b"x", "text/plain")) for n in range(4)]
    page = alice.post("/support/cases/new", data=new_case_form(alice.token()), files=four)
    assert page.status_code == 400 and "Choose at most 3 files." in page.text
    big = [("attachments", ("big.bin", b"\0" * (5 * 1024 * 1024 + 1), "application/octet-stream"))]
    page = alice.post("/support/cases/new", data=new_case_form(alice.token()), files=big)
    assert page.status_code == 400 and "big.bin is larger than 5 MB" in page.text
    assert case_count(site, BUSINESS) == before


def test_reply_reopens_within_the_window_and_not_after(site: WebSite) -> None:
    case_id, display_id = api_case(site, BUSINESS, "Reopen me")
    client = boto3_client(site.url, BUSINESS)
    client.resolve_case(caseId=case_id)
    alice = signed_in(site.server, site.alice)
    page = alice.get(f"/support/cases/{display_id}").text
    assert "A reply until" in page and "Resolve case" not in page
    answer = alice.post(
        f"/support/cases/{display_id}/reply", data={"csrf_token": alice.token(), "body": "again"}
    )
    assert answer.status_code == 303 and answer.headers["location"].endswith("?done=reopened")
    assert client.describe_cases(caseIdList=[case_id])["cases"][0]["status"] == "reopened"
    # Resolved again, then 15 days pass: a reply is refused and changes nothing.
    resolve = alice.post(f"/support/cases/{display_id}/resolve", data={"csrf_token": alice.token()})
    assert resolve.status_code == 303
    site.move_clock(15 * DAY_MS)
    try:
        late = signed_in(site.server, site.alice)  # the old session has long ended
        answer = late.post(
            f"/support/cases/{display_id}/reply", data={"csrf_token": late.token(), "body": "late"}
        )
        assert answer.status_code == 400
        assert "resolved more than 14 days ago and cannot be reopened" in answer.text
        assert ">late</textarea>" in answer.text
    finally:
        site.move_clock(-15 * DAY_MS)
    bodies = [c["body"] for c in client.describe_communications(caseId=case_id)["communications"]]
    assert "late" not in bodies and "again" in bodies


# --- the case list ----------------------------------------------------------------------------


def test_the_case_list_filters_finds_and_pages(site: WebSite) -> None:
    account = "210000000009"
    email = "lister@example.com"
    create_user(site.server, account, email)
    client = boto3_client(site.url, account)
    ids = [
        client.create_case(subject=f"Case number {n}", communicationBody="b")["caseId"]
        for n in range(27)
    ]
    client.resolve_case(caseId=ids[0])
    web = signed_in(site.server, email)
    first = web.get("/support/cases").text  # open cases, newest first, 25 a page
    shown = case_ids_listed(first)
    assert len(shown) == 25 and shown == sorted(shown, reverse=True)
    older = re.search(r'href="(/support/cases\?[^"]*after=[^"]+)"', first)
    assert older
    rest = web.get(older.group(1).replace("&amp;", "&")).text
    assert len(case_ids_listed(rest)) == 1 and "Older cases" not in rest
    resolved = web.get("/support/cases?status=resolved").text
    assert "Case number 0" in resolved and len(case_ids_listed(resolved)) == 1
    found = web.get("/support/cases?status=all&find=NUMBER 1").text  # subjects, any case
    assert sorted(case_ids_listed(found)) == case_ids_listed(found)[::-1]
    assert len(case_ids_listed(found)) == 11  # 1, 10..19
    display = case_ids_listed(first)[3]
    assert case_ids_listed(web.get(f"/support/cases?find={display}").text) == [display]
    assert case_ids_listed(web.get("/support/cases?status=all&to=2001-01-01").text) == []
    bad = web.get("/support/cases?from=31/12/2024")
    assert bad.status_code == 400 and "Enter a date as YYYY-MM-DD" in bad.text
    stale = web.get("/support/cases?after=not-a-token")
    assert stale.status_code == 200 and "no longer available" in stale.text
    empty = signed_in(site.server, site.bob).get("/support/cases?find=zzz-no-such-thing").text
    assert "No cases match these filters" in empty


# --- passwords and invitations --------------------------------------------------------------


def test_changing_the_password_ends_the_other_sessions(site: WebSite) -> None:
    email = "changer@example.com"
    create_user(site.server, BUSINESS, email)
    here, elsewhere = signed_in(site.server, email), signed_in(site.server, email)
    wrong = here.post(
        "/support/account/password",
        data={
            "csrf_token": here.token(),
            "current_password": "not it at all",
            "new_password": "a brand new passphrase",
            "confirm_password": "a brand new passphrase",
        },
    )
    assert wrong.status_code == 400 and "The current password is incorrect." in wrong.text
    short = here.post(
        "/support/account/password",
        data={"csrf_token": here.token(), "current_password": PASSWORD, "new_password": "short"},
    )
    assert short.status_code == 400 and "at least 10 characters" in short.text
    done = here.post(
        "/support/account/password",
        data={
            "csrf_token": here.token(),
            "current_password": PASSWORD,
            "new_password": "a brand new passphrase",
            "confirm_password": "a brand new passphrase",
        },
    )
    assert done.status_code == 303
    assert here.get("/support/cases").status_code == 200
    assert elsewhere.get("/support/cases").status_code == 303
    assert WebClient(site.server).sign_in(email).status_code == 400
    assert WebClient(site.server).sign_in(email, "a brand new passphrase").status_code == 303


def test_a_one_time_link_sets_a_password_once(site: WebSite) -> None:
    created = supportd(
        site.server,
        "users",
        "create",
        "--account",
        BUSINESS,
        "--email",
        "new@example.com",
        "--invite",
    )
    assert created["status"] == "invited"
    link = created["inviteLink"]
    path = link[link.index("/support/invite/") :]
    client = WebClient(site.server)
    form = client.get(path)
    assert form.status_code == 200 and "new@example.com" in form.text
    mismatch = client.post(
        path,
        data={
            "csrf_token": csrf(form.text),
            "new_password": "x" * 12,
            "confirm_password": "y" * 12,
        },
    )
    assert mismatch.status_code == 400 and "not the same" in mismatch.text
    accepted = client.post(
        path,
        data={
            "csrf_token": csrf(form.text),
            "new_password": "my own passphrase",
            "confirm_password": "my own passphrase",
        },
    )
    assert accepted.status_code == 303 and client.session_cookie
    assert client.get("/support/cases").status_code == 200
    again = WebClient(site.server).get(path)
    assert again.status_code == 404 and "cannot be used" in again.text
    assert WebClient(site.server).sign_in("new@example.com", "my own passphrase").status_code == 303


# --- bad input ------------------------------------------------------------------------------


BAD_PATHS = [
    "/support/cases?status=%3Cscript%3E&from=x&to=y&find=%00&after=%00%00",
    "/support/cases/abc",
    "/support/cases/99999999999999999999999",
    "/support/cases/-1",
    "/support/attachments/attachment-nope",
    "/support/attachments/%00",
    "/support/advisor/no-such-check",
    "/support/invite/nonsense",
    "/support/cases?after=" + "A" * 5000,
]


def test_bad_input_gets_a_page_not_a_fault(site: WebSite) -> None:
    alice = signed_in(site.server, site.alice)
    for path in BAD_PATHS:
        answer = alice.get(path)
        assert answer.status_code in (200, 400, 404), (path, answer.text[:500])
        assert "text/html" in answer.headers["content-type"], path


def test_oversized_and_malformed_posts_are_refused_plainly(site: WebSite) -> None:
    alice = signed_in(site.server, site.alice)
    token = alice.token()
    huge = alice.post(
        "/support/account/password",
        data={"csrf_token": token, "current_password": "x" * 200_000},
    )
    assert huge.status_code == 413 and "too large" in huge.text
    garbage = alice.post(
        "/support/cases/new",
        content=b"--xyz\r\nnot a part\r\n",
        headers={"content-type": "multipart/form-data; boundary=xyz"},
    )
    assert garbage.status_code in (400, 403)
    assert alice.get("/support/cases").status_code == 200


# --- large files through the large-upload links ---------------------------------------


def large_upload(client: WebClient, name: str, content: bytes) -> str:
    """What uploads.js does for a file over 5 MB: the upload's links, each part PUT, the
    upload completed, then waited on until ready. Its upload id."""
    token = client.token("/support/cases/new")
    started = client.post(
        "/support/uploads", data={"csrf_token": token, "file_name": name, "size": len(content)}
    )
    assert started.status_code == 200, started.text
    found = started.json()
    part = found["partSizeBytes"]
    etags = []
    for link in found["uploadUrls"]:
        start = (link["partIndex"] - 1) * part
        put = httpx.put(link["url"], content=content[start : start + part])
        assert put.status_code == 200, put.text
        etags.append(put.headers["etag"])
    upload_id = found["uploadId"]
    done = client.post(
        f"/support/uploads/{upload_id}/complete",
        data={"csrf_token": token, "etag": etags},
    )
    assert done.status_code == 200, done.text
    for _ in range(200):  # the assembly runs in the background; no timing asserted
        status = client.get(f"/support/uploads/{upload_id}").json()["uploadStatus"]
        if status == "attachment-ready":
            return upload_id
        assert status == "attachment-not-ready"
        time.sleep(0.05)
    raise AssertionError(f"upload {upload_id} never became ready")


def test_a_large_upload_named_in_the_form_is_attached(site: WebSite) -> None:
    alice = signed_in(site.server, site.alice)
    content = bytes(range(256)) * (6 * 4096)  # 6 MB
    upload_id = large_upload(alice, "trace.bin", content)
    form = new_case_form(alice.token(), subject="With a large file")
    answer = alice.post("/support/cases/new", data={**form, "upload_ids": upload_id})
    assert answer.status_code == 303, answer.text
    display_id = answer.headers["location"].split("/")[-1].split("?")[0]
    client = boto3_client(site.url, BUSINESS)
    case = client.describe_cases(displayId=display_id)["cases"][0]
    comm = client.describe_communications(caseId=case["caseId"])["communications"][0]
    assert [a["fileName"] for a in comm["attachments"]] == ["trace.bin"]
    page = alice.get(f"/support/cases/{display_id}").text
    assert ">trace.bin</a>" in page
    # Used once: the same upload cannot be attached again.
    again = alice.post(
        f"/support/cases/{display_id}/reply",
        data={"csrf_token": alice.token(), "body": "again", "upload_ids": upload_id},
    )
    assert again.status_code == 400
    assert "is already attached to a communication" in again.text


def test_the_upload_endpoints_refuse_a_post_without_the_csrf_token(site: WebSite) -> None:
    alice = signed_in(site.server, site.alice)
    for path, data in (
        ("/support/uploads", {"file_name": "x.bin", "size": "6000000"}),
        ("/support/uploads/upload-x/complete", {"etag": "abc"}),
    ):
        refused = alice.post(path, data=data)
        assert refused.status_code == 403 and "This form cannot be accepted" in refused.text
        wrong = alice.post(path, data={**data, "csrf_token": "not-the-token"})
        assert wrong.status_code == 403
    # From another site, even with the token: refused.
    token = alice.token()
    foreign = alice.post(
        "/support/uploads",
        data={"csrf_token": token, "file_name": "x.bin", "size": "6000000"},
        headers={"Origin": "https://evil.example"},
    )
    assert foreign.status_code == 403
    # Signed out: no upload either.
    stranger = WebClient(site.server)
    assert stranger.post("/support/uploads", data={"csrf_token": token}).status_code == 403


def test_another_accounts_upload_is_not_found_and_not_attached(site: WebSite) -> None:
    alice = signed_in(site.server, site.alice)
    bob = signed_in(site.server, site.bob)
    upload_id = large_upload(alice, "alice.bin", b"a" * (5 * 1024 * 1024 + 10))
    assert bob.get(f"/support/uploads/{upload_id}").status_code == 404
    token = bob.token()
    more = bob.post(
        "/support/uploads",
        data={"csrf_token": token, "file_name": "alice.bin", "upload_id": upload_id},
    )
    assert more.status_code == 404 and "not found" in more.json()["message"]
    before = case_count(site, OTHER)
    taken = bob.post(
        "/support/cases/new",
        data={**new_case_form(token, subject="Stolen file"), "upload_ids": upload_id},
    )
    assert taken.status_code == 400 and f"Upload ID {upload_id} not found" in taken.text
    assert 'id="attachments-error"' in taken.text
    assert case_count(site, OTHER) == before
    # Still Alice's to attach.
    mine = alice.post(
        "/support/cases/new",
        data={**new_case_form(alice.token(), subject="Mine"), "upload_ids": upload_id},
    )
    assert mine.status_code == 303


def test_large_uploads_keep_the_limits(site: WebSite) -> None:
    alice = signed_in(site.server, site.alice)
    token = alice.token()
    huge = alice.post(
        "/support/uploads",
        data={"csrf_token": token, "file_name": "huge.bin", "size": str(150 * 1024 * 1024 + 1)},
    )
    assert huge.status_code == 400
    assert huge.json()["message"] == (
        "The file has 157,286,401 bytes; a file may have at most 150 MB (157,286,400 bytes). "
        "Attach a smaller file."
    )
    nameless = alice.post("/support/uploads", data={"csrf_token": token, "size": "7000000"})
    assert nameless.status_code == 400 and nameless.json()["message"] == "Choose a file to upload."
    bad_name = alice.post(
        "/support/uploads", data={"csrf_token": token, "file_name": "a\tb", "size": "7000000"}
    )
    assert bad_name.status_code == 400
    assert bad_name.json()["message"] == "fileName must not contain control characters"
    # Three files with the form and one large upload: four, one too many.
    before = case_count(site, BUSINESS)
    three = [("attachments", (f"f{n}.txt", b"x", "text/plain")) for n in range(3)]
    four = alice.post(
        "/support/cases/new",
        data={**new_case_form(token), "upload_ids": "upload-0123"},
        files=three,
    )
    assert four.status_code == 400 and "Choose at most 3 files." in four.text
    assert case_count(site, BUSINESS) == before


def test_a_form_that_comes_back_keeps_its_large_uploads(site: WebSite) -> None:
    alice = signed_in(site.server, site.alice)
    bob = signed_in(site.server, site.bob)
    upload_id = large_upload(alice, "kept.bin", b"k" * (5 * 1024 * 1024 + 1))
    others = large_upload(bob, "bobs.bin", b"b" * (5 * 1024 * 1024 + 1))
    hidden = f'<input type="hidden" name="upload_ids" value="{upload_id}">'
    back = alice.post(
        "/support/cases/new",
        data={**new_case_form(alice.token(), subject=""), "upload_ids": [upload_id, others]},
    )
    assert back.status_code == 400 and "Enter a subject." in back.text
    assert hidden in back.text and "attached when you send this form: kept.bin." in back.text
    assert others not in back.text  # another account's upload is not shown, nor sent again
    # The reply form likewise.
    _, display_id = api_case(site, BUSINESS, "Keep my upload")
    reply = alice.post(
        f"/support/cases/{display_id}/reply",
        data={"csrf_token": alice.token(), "body": "", "upload_ids": upload_id},
    )
    assert reply.status_code == 400 and hidden in reply.text
    # Sent again as the page has it: attached.
    again = alice.post(
        "/support/cases/new",
        data={**new_case_form(alice.token(), subject="Second try"), "upload_ids": upload_id},
    )
    assert again.status_code == 303
    # Attached now: a form that comes back no longer offers it.
    used = alice.post(
        "/support/cases/new",
        data={**new_case_form(alice.token(), subject=""), "upload_ids": upload_id},
    )
    assert used.status_code == 400 and upload_id not in used.text
