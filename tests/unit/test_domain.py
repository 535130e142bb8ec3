"""The pure rules in supportd.domain: ids, clock, redaction, addresses, lifecycle, tokens."""

from __future__ import annotations

import base64
import re
import string
from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import given
from hypothesis import strategies as st

from supportd.domain import clock, ids, lifecycle, pagination, redaction, staff
from supportd.domain.addresses import is_valid_email
from supportd.domain.errors import InvalidTime, InvalidToken, ReopenWindowClosed
from supportd.domain.redaction import MARK, redact

DAY_MS = 24 * 3600 * 1000
# 1970 .. 2100: the instants a case can plausibly carry.
INSTANTS = st.integers(min_value=0, max_value=4_102_444_800_000)


def ms(text: str) -> int:
    """Milliseconds since the epoch of an ISO-8601 instant, computed independently."""
    parsed = datetime.fromisoformat(text)
    return (parsed - datetime(1970, 1, 1, tzinfo=UTC)) // timedelta(milliseconds=1)


# --- ids ---------------------------------------------------------------------------


def test_case_id_format() -> None:
    case_id = ids.new_case_id("111122223333", ms("2016-05-01T12:00:00+00:00"))
    assert re.fullmatch(r"case-111122223333-[a-z]{4}-2016-[0-9a-f]{16}", case_id)
    match = ids.CASE_ID_PATTERN.fullmatch(case_id)
    assert match is not None and match.group(1) == "111122223333"


def test_case_id_year_is_utc() -> None:
    # 23:30 on 31 December in UTC is already next year in UTC+1; the id follows UTC.
    assert "-2019-" in ids.new_case_id("111122223333", ms("2019-12-31T23:30:00+00:00"))
    assert "-2020-" in ids.new_case_id("111122223333", ms("2020-01-01T00:00:00+00:00"))


def test_case_ids_are_unguessable_and_unique() -> None:
    now = ms("2024-01-01T00:00:00+00:00")
    made = {ids.new_case_id("111122223333", now) for _ in range(1000)}
    assert len(made) == 1000


@given(st.integers(min_value=1, max_value=10**12))
def test_display_ids_are_numeric_increasing_and_invertible(seq: int) -> None:
    shown = ids.display_id(seq)
    assert shown.isascii() and shown.isdigit()
    assert int(ids.display_id(seq + 1)) > int(shown)
    assert ids.seq_from_display_id(shown) == seq


def test_display_id_examples() -> None:
    assert ids.display_id(1) == "1000000001"
    assert ids.display_id(2) == "1000000002"
    assert len(ids.display_id(1)) == 10


@pytest.mark.parametrize(
    "value",
    ["", "abc", "12a", "-5", "+5", " 1000000001", "1000000001 ", "1" * 19, "1000000000", "0",
     "²", "1000000001²", "١٠٠٠٠٠٠٠٠١", "１０００００００００１"],
)  # fmt: skip
def test_display_id_junk_names_no_case(value: str) -> None:
    assert ids.seq_from_display_id(value) is None


# --- clock -------------------------------------------------------------------------


def test_case_time_format() -> None:
    assert clock.format_case_time(ms("2020-03-23T21:31:47.774+00:00")) == (
        "2020-03-23T21:31:47.774Z"
    )
    assert clock.format_case_time(0) == "1970-01-01T00:00:00.000Z"
    assert clock.format_case_time(ms("2020-03-23T21:31:47.005+00:00")).endswith("47.005Z")


def test_case_times_stay_right_past_the_kept_seconds() -> None:
    # More distinct seconds than the formatter keeps: the cache empties, the text does not
    # change.
    start = ms("2026-12-05T23:59:58.000+00:00")
    for offset in range(0, 3 * 5000 * 1000, 997):
        expected = datetime.fromtimestamp((start + offset) / 1000, tz=UTC)
        text = clock.format_case_time(start + offset)
        assert text == expected.strftime("%Y-%m-%dT%H:%M:%S.") + f"{(start + offset) % 1000:03d}Z"


def test_an_optional_case_time_is_none_until_it_happens() -> None:
    assert clock.optional_case_time(None) is None
    assert clock.optional_case_time(0) == "1970-01-01T00:00:00.000Z"


def test_expiry_time_format() -> None:
    assert clock.format_expiry_time(ms("2020-05-14T17:04:40.790+00:00")) == (
        "2020-05-14T17:04:40.790+0000"
    )


def test_advisor_time_format_has_no_milliseconds() -> None:
    assert clock.format_advisor_time(ms("2020-05-13T21:38:05.999+00:00")) == (
        "2020-05-13T21:38:05Z"
    )


@given(INSTANTS)
def test_formats_hold_for_every_instant(instant: int) -> None:
    assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z", clock.format_case_time(instant))
    assert re.fullmatch(
        r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}\+0000", clock.format_expiry_time(instant)
    )
    assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ", clock.format_advisor_time(instant))


@given(INSTANTS)
def test_a_case_time_parses_back_to_the_same_millisecond(instant: int) -> None:
    # Users feed timeCreated back as afterTime / beforeTime.
    assert clock.parse_time_filter(clock.format_case_time(instant)) == instant
    assert clock.parse_time_filter(clock.format_expiry_time(instant)) == instant
    assert clock.parse_time_filter(clock.format_advisor_time(instant)) == instant // 1000 * 1000


def test_a_millisecond_that_floats_round_down() -> None:
    # 2197012276.121 * 1000 is 2197012276120.9998 in floating point.
    assert clock.parse_time_filter("2039-08-15T09:11:16.121Z") == 2197012276121


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("2020-03-23", "2020-03-23T00:00:00+00:00"),
        ("2020-03-23T21:31:47Z", "2020-03-23T21:31:47+00:00"),
        ("2020-03-23T21:31:47.774Z", "2020-03-23T21:31:47.774+00:00"),
        ("2020-03-23T21:31:47.774z", "2020-03-23T21:31:47.774+00:00"),
        ("2020-03-23T23:31:47.774+02:00", "2020-03-23T21:31:47.774+00:00"),
        ("2020-03-23T16:31:47-05:00", "2020-03-23T21:31:47+00:00"),
        ("2020-03-23T21:31:47.774+0000", "2020-03-23T21:31:47.774+00:00"),
        ("2020-03-23T21:31:47", "2020-03-23T21:31:47+00:00"),
        ("  2020-03-23  ", "2020-03-23T00:00:00+00:00"),
    ],
)
def test_parse_time_filter(text: str, expected: str) -> None:
    assert clock.parse_time_filter(text) == ms(expected)


@pytest.mark.parametrize(
    "text",
    ["", "   ", "yesterday", "2020-13-01", "2020-02-30", "23/03/2020", "2020-03-23T25:00:00Z",
     "2020-03-23T21:31:47+25:00", "T21:31:47Z", "2020-03-23T21:31:47ZZ", "1584999107774"],
)  # fmt: skip
def test_parse_time_filter_rejects_junk(text: str) -> None:
    with pytest.raises(InvalidTime):
        clock.parse_time_filter(text)


@given(st.text(max_size=40))
def test_parse_time_filter_raises_nothing_but_invalid_time(text: str) -> None:
    try:
        result = clock.parse_time_filter(text)
    except InvalidTime:
        return
    assert isinstance(result, int)


# --- redaction ---------------------------------------------------------------------

SECRET_KEY = "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY"


def test_secret_access_key_is_redacted_whole() -> None:
    text = f"aws_secret_access_key = {SECRET_KEY}\nthanks"
    assert redact(text) == f"aws_secret_access_key = {MARK}\nthanks"
    assert MARK == "[REDACTED_BY_AWS]"


def test_secret_access_key_next_to_an_access_key_id() -> None:
    text = f"AKIAIOSFODNN7EXAMPLE:{SECRET_KEY}"
    assert redact(text) == f"AKIAIOSFODNN7EXAMPLE:{MARK}"


@pytest.mark.parametrize("kind", ["", "RSA ", "EC ", "DSA ", "OPENSSH ", "ENCRYPTED "])
def test_private_keys_are_redacted_whole(kind: str) -> None:
    key = (
        f"-----BEGIN {kind}PRIVATE KEY-----\n"
        "MIIEvQIBADANBgkqhkiG9w0BAQEFAASCBKcwggSjAgEAAoIBAQC7VJTUt9Us8cKj\n"
        "MzEfYyjiWA4R4/M2bS1GB4t7NXp98C3SC6dVMvDuictGeurT8jNbvJZHtCSuYEvu\n"
        f"-----END {kind}PRIVATE KEY-----"
    )
    assert redact(f"my key:\n{key}\nplease help") == f"my key:\n{MARK}\nplease help"


def test_a_truncated_private_key_is_redacted_to_the_end() -> None:
    text = "see -----BEGIN RSA PRIVATE KEY-----\nMIIEpAIBAAKCAQEA3Tz2mr7SZiAMfQyuvBjM"
    assert redact(text) == f"see {MARK}"


def test_two_private_keys_leave_the_text_between_them() -> None:
    one = "-----BEGIN PRIVATE KEY-----\nAAAA\n-----END PRIVATE KEY-----"
    two = "-----BEGIN EC PRIVATE KEY-----\nBBBB\n-----END EC PRIVATE KEY-----"
    assert redact(f"{one} and {two}") == f"{MARK} and {MARK}"


def test_public_keys_and_certificates_are_kept() -> None:
    text = (
        "-----BEGIN PUBLIC KEY-----\nMFkwEwYHKoZIzj0CAQYI\n-----END PUBLIC KEY-----\n"
        "-----BEGIN CERTIFICATE-----\nMIIBszCCAVmgAwIBAgIU\n-----END CERTIFICATE-----"
    )
    assert redact(text) == text


@pytest.mark.parametrize(
    ("card", "last4"),
    [
        ("4111111111111111", "1111"),
        ("4111 1111 1111 1111", "1111"),
        ("4111-1111-1111-1111", "1111"),
        ("5555555555554444", "4444"),
        ("378282246310005", "0005"),
        ("6011 0009 9013 9424", "9424"),
        ("4222222222222", "2222"),
    ],
)
def test_luhn_valid_card_numbers_keep_the_last_four(card: str, last4: str) -> None:
    assert redact(f"card {card} declined") == f"card {MARK}-{last4} declined"


@pytest.mark.parametrize(
    "text",
    [
        "card 4111 1111 1111 1112 declined",  # fails the Luhn check
        "order 1234567890123 shipped",  # 13 digits, not Luhn-valid
        "account 111122223333 in us-east-1",  # 12 digits: too short for a card
        "call +1 206 555 0100",
        "display id 1000000001",
    ],
)
def test_numbers_that_are_not_cards_are_kept(text: str) -> None:
    assert redact(text) == text


@pytest.mark.parametrize(
    "text",
    [
        "da39a3ee5e6b4b0d3255bfef95601890afd80709",  # sha1, lowercase hex
        "commit DA39A3EE5E6B4B0D3255BFEF95601890AFD80709 broke the build",
        "AKIAIOSFODNN7EXAMPLE",  # an access key id is not secret
        "The instance i-0abcd1234efgh5678 stopped responding after the upgrade.",
        "averyveryverylongwordwithoutanydigitsinitwhatsoeverAtAll",
        "case-111122223333-supd-2024-0123456789abcdef",
    ],
)
def test_ordinary_text_and_digests_are_kept(text: str) -> None:
    assert redact(text) == text


@given(st.text(alphabet=string.ascii_letters + " \n.,;:!?'\"()", max_size=300))
def test_text_without_digits_or_dashes_is_never_changed(text: str) -> None:
    assert redact(text) == text


def _redact_without_precheck(text: str) -> str:
    text = redaction._PRIVATE_KEY.sub(MARK, text)
    text = redaction._SECRET_KEY.sub(redaction._secret, text)
    return redaction._CARD.sub(redaction._card, text)


# Texts made of what the patterns look for: digits (ASCII and other scripts'), the
# separators, key characters, whitespace, and pieces of PEM armour.
_SECRET_PARTS = st.lists(
    st.sampled_from(
        [
            *("4", "1", "7", "0", "\u0664", "\u0661", " ", "-", "\n", "\t", "a", "Z", "9"),
            *("/", "+", "=", "x", "-----BEGIN RSA PRIVATE KEY-----"),
            *("-----END RSA PRIVATE KEY-----", "4111 1111 1111 1111"),
            "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY",
        ]
    ),
    max_size=60,
).map("".join)


@given(st.one_of(_SECRET_PARTS, st.text(max_size=300)))
def test_the_precheck_never_skips_a_redaction(text: str) -> None:
    assert redact(text) == _redact_without_precheck(text)


def test_a_card_number_in_another_scripts_digits_is_checked() -> None:
    # An ASCII 4, then ARABIC-INDIC DIGIT ONEs: an ASCII-only pre-check would miss it.
    one = "\u0661"
    text = f"card 4{one * 3} {one * 4} {one * 4} {one * 4} declined"
    assert redact(text) == _redact_without_precheck(text) == f"card {MARK}-{one * 4} declined"


@given(st.text(max_size=200))
def test_redaction_is_idempotent(text: str) -> None:
    once = redact(text)
    assert redact(once) == once


def _luhn_complete(prefix: str) -> str:
    for check in "0123456789":
        digits = prefix + check
        total = 0
        for index, char in enumerate(reversed(digits)):
            value = int(char) * (2 if index % 2 else 1)
            total += value - 9 if value > 9 else value
        if total % 10 == 0:
            return digits
    raise AssertionError("no Luhn check digit")


@given(
    st.sampled_from(["4", "51", "55", "2221", "2720", "6011", "65", "3530", "62"]),
    st.text(alphabet="0123456789", min_size=14, max_size=14),
    st.sampled_from(["", " ", "-"]),
)
def test_every_luhn_valid_16_digit_card_number_is_redacted(
    issuer: str, rest: str, sep: str
) -> None:
    card = _luhn_complete((issuer + rest)[:15])
    shown = sep.join(card[i : i + 4] for i in range(0, 16, 4))
    redacted = redact(f"pay with {shown} now")
    assert redacted == f"pay with {MARK}-{card[-4:]} now"
    assert card[:12] not in redacted.replace(" ", "").replace("-", "")


@pytest.mark.parametrize("prefix", ["1", "17642700", "0", "9", "7"])
def test_luhn_valid_numbers_of_no_card_network_are_kept(prefix: str) -> None:
    # Millisecond timestamps and order numbers in pasted logs are not card numbers.
    number = _luhn_complete((prefix + "0" * 15)[:12])
    assert redact(f"at {number} ok") == f"at {number} ok"


# --- e-mail addresses --------------------------------------------------------------


@pytest.mark.parametrize(
    "address",
    ["a@example.com", "first.last+tag@sub.example.co.uk", "o'brien@example.ie",
     "x_y-z@a-b.example", "UPPER@EXAMPLE.COM", "1@2.io"],
)  # fmt: skip
def test_valid_email_addresses(address: str) -> None:
    assert is_valid_email(address)


@pytest.mark.parametrize(
    "address",
    ["", "plain", "a@b", "@example.com", "a@", "a@@example.com", "a b@example.com",
     ".a@example.com", "a.@example.com", "a..b@example.com", "a@-example.com",
     "a@example-.com", "a@example.c", "a@example.com.", "a@example..com",
     "a@example.com\n", "a@example.com\nBcc: victim@example.com", " a@example.com",
     "a@exa_mple.com", "<a@example.com>", "x" * 250 + "@example.com"],
)  # fmt: skip
def test_invalid_email_addresses(address: str) -> None:
    assert not is_valid_email(address)


# --- lifecycle ---------------------------------------------------------------------

NOW = ms("2024-06-01T12:00:00+00:00")


def test_reply_to_pending_customer_action_completes_the_action() -> None:
    assert (
        lifecycle.status_after_customer_reply(lifecycle.PENDING_CUSTOMER_ACTION, None, NOW)
        == lifecycle.CUSTOMER_ACTION_COMPLETED
        == "customer-action-completed"
    )


@pytest.mark.parametrize("days", [0, 1, 13, 14])
def test_reply_within_14_days_reopens(days: int) -> None:
    resolved_at = NOW - days * DAY_MS
    assert lifecycle.status_after_customer_reply("resolved", resolved_at, NOW) == "reopened"


def test_reply_after_14_days_is_refused() -> None:
    with pytest.raises(ReopenWindowClosed):
        lifecycle.status_after_customer_reply("resolved", NOW - 14 * DAY_MS - 1, NOW)
    with pytest.raises(ReopenWindowClosed):
        lifecycle.status_after_customer_reply("resolved", NOW - 400 * DAY_MS, NOW)


def test_resolved_without_a_time_reopens() -> None:
    assert lifecycle.status_after_customer_reply("resolved", None, NOW) == "reopened"


@pytest.mark.parametrize(
    "status",
    ["unassigned", "work-in-progress", "customer-action-completed", "opened", "reopened"],
)
def test_reply_to_other_open_states_changes_nothing(status: str) -> None:
    assert lifecycle.status_after_customer_reply(status, None, NOW) == status


# --- pagination tokens -------------------------------------------------------------

KINDS = st.sampled_from(["cases", "communications"])
SCOPES = st.text(alphabet="0123456789abcdef", min_size=16, max_size=16)


@given(KINDS, SCOPES, st.integers(min_value=0, max_value=2**62))
def test_tokens_round_trip(kind: str, scope: str, last_seq: int) -> None:
    token = pagination.encode(pagination.Cursor(kind, scope, last_seq))
    assert re.fullmatch(r"[A-Za-z0-9_-]+", token)  # URL-safe, no padding
    assert pagination.decode(token, kind, scope) == last_seq


def test_tokens_are_stable() -> None:
    cursor = pagination.Cursor("cases", "0123456789abcdef", 42)
    assert pagination.encode(cursor) == pagination.encode(cursor)
    assert pagination.encode(cursor) != pagination.encode(pagination.Cursor("cases", "x", 43))


def test_token_of_another_kind_is_refused() -> None:
    token = pagination.encode(pagination.Cursor("cases", "s", 7))
    with pytest.raises(InvalidToken):
        pagination.decode(token, "communications", "s")


def test_token_of_another_scope_is_refused() -> None:
    token = pagination.encode(pagination.Cursor("cases", "account-a", 7))
    with pytest.raises(InvalidToken):
        pagination.decode(token, "cases", "account-b")


def test_token_with_a_negative_position_is_refused() -> None:
    token = pagination.encode(pagination.Cursor("cases", "s", -1))
    with pytest.raises(InvalidToken):
        pagination.decode(token, "cases", "s")


def test_staff_cursors_round_trip_and_are_no_case_tokens() -> None:
    """Staff page cursors are sealed like case tokens, under a digest of their own."""
    token = staff.encode_cursor("staff-sla", "scope", (5, 9))
    assert re.fullmatch(r"[A-Za-z0-9_-]+", token)
    assert staff.decode_cursor(token, "staff-sla", "scope", 2) == (5, 9)
    with pytest.raises(InvalidToken):
        staff.decode_cursor(token, "staff-sla", "scope", 1)
    with pytest.raises(InvalidToken):
        pagination.decode(token, "staff-sla", "scope")
    case_token = pagination.encode(pagination.Cursor("staff-sla", "scope", 5))
    with pytest.raises(InvalidToken):
        staff.decode_cursor(case_token, "staff-sla", "scope", 1)


def test_forged_token_is_refused() -> None:
    # A well-formed payload without supportd's digest.
    payload = b'["cases","s",7]'
    forged = base64.urlsafe_b64encode(b"\0" * 6 + payload).decode().rstrip("=")
    with pytest.raises(InvalidToken):
        pagination.decode(forged, "cases", "s")


@given(st.data())
def test_tampered_tokens_are_refused(data: st.DataObject) -> None:
    token = pagination.encode(pagination.Cursor("cases", "0123456789abcdef", 12345))
    index = data.draw(st.integers(0, len(token) - 1))
    replacement = data.draw(
        st.sampled_from(string.ascii_letters + string.digits + "-_").filter(
            lambda c: c != token[index]
        )
    )
    tampered = token[:index] + replacement + token[index + 1 :]
    try:
        decoded = pagination.decode(tampered, "cases", "0123456789abcdef")
    except InvalidToken:
        return
    # Changing the last character can alter only padding bits that base64 ignores.
    assert index == len(token) - 1
    assert decoded == 12345


@pytest.mark.parametrize(
    "token", ["", "=", "!!!!", "a", "abcd", "é", "null", "W10", " " * 8, "A" * 400]
)
def test_garbage_tokens_are_refused(token: str) -> None:
    with pytest.raises(InvalidToken):
        pagination.decode(token, "cases", "s")


@given(st.text(max_size=80))
def test_arbitrary_text_is_refused_as_a_token(token: str) -> None:
    with pytest.raises(InvalidToken):
        pagination.decode(token, "cases", "0123456789abcdef")
