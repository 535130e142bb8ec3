"""The support side's pure rules: the lifecycle table, what staff actions do, SLA clocks
and calendars, search queries, tokens and the fake clock."""

from __future__ import annotations

import os
from datetime import UTC, datetime
from pathlib import Path

import msgspec
import pytest
from hypothesis import given
from hypothesis import strategies as st

from supportd.domain import lifecycle, search, sla, staff
from supportd.domain.errors import IllegalTransition, ReopenWindowClosed
from supportd.domain.records import SUPPORT, CaseRecord
from supportd.domain.staff import CaseWork, StaffAction, StaffCase
from supportd.runtime import OffsetFileClock, write_offset

HOUR = sla.HOUR_MS
DAY = sla.DAY_MS
T0 = 1_700_000_000_000


def ms(text: str) -> int:
    return int(datetime.fromisoformat(text).timestamp() * 1000)


def case(status: str = lifecycle.UNASSIGNED, **work: object) -> StaffCase:
    record = CaseRecord(
        seq=1,
        case_id="case-111122223333-supd-2026-0000000000000001",
        account_id="111122223333",
        subject="s",
        service_code=None,
        category_code=None,
        severity_code="high",
        status=status,
        language="en",
        issue_type="technical",
        submitted_by="a@example.com",
        cc_emails=(),
        created_ms=T0,
        resolved_ms=T0 if status == lifecycle.RESOLVED else None,
    )
    defaults: dict[str, object] = {"clock": sla.SlaClock(sla.FIRST_RESPONSE, T0 + 4 * HOUR)}
    defaults.update(work)
    return StaffCase(record, CaseWork(**defaults))  # type: ignore[arg-type]


def act(kind: str, **fields: object) -> StaffAction:
    values: dict[str, object] = {"kind": kind, "staff_name": "alice", "now_ms": T0 + HOUR}
    values.update(fields)
    return StaffAction(**values)  # type: ignore[arg-type]


# --- the lifecycle table ------------------------------------------------------------------

STAFF_TARGETS = {"work-in-progress", "pending-customer-action", "opened", "resolved"}


@pytest.mark.parametrize("current", sorted(lifecycle.STATUSES))
@pytest.mark.parametrize("target", sorted(lifecycle.STATUSES))
def test_every_staff_transition(current: str, target: str) -> None:
    allowed = current != lifecycle.RESOLVED and target in STAFF_TARGETS
    assert lifecycle.staff_may_set(current, target) is allowed
    if allowed:
        lifecycle.check_staff_transition(current, target)
    else:
        with pytest.raises(IllegalTransition):
            lifecycle.check_staff_transition(current, target)


def test_the_table_agrees_with_the_customer_rules() -> None:
    for t in lifecycle.TRANSITIONS:
        if t.by != lifecycle.CUSTOMER or t.event != "reply":
            continue
        for source in t.sources:
            assert source is not None
            resolved_at = T0 if source == lifecycle.RESOLVED else None
            after = lifecycle.status_after_customer_reply(source, resolved_at, T0 + DAY)
            assert after == (t.target or source)
    with pytest.raises(ReopenWindowClosed):
        lifecycle.status_after_customer_reply(lifecycle.RESOLVED, T0, T0 + 14 * DAY + 1)
    assert lifecycle.STAFF_SETTABLE == STAFF_TARGETS


def test_unknown_statuses_are_refused() -> None:
    with pytest.raises(IllegalTransition, match="unknown status"):
        lifecycle.check_staff_transition(lifecycle.OPENED, "all-open")


# --- staff actions -------------------------------------------------------------------------


def test_a_reply_asks_the_customer_stops_the_clock_and_picks_the_case_up() -> None:
    out = staff.decide(case(), act(staff.REPLY, body="hello", display_name="Support"))
    assert out.status == lifecycle.PENDING_CUSTOMER_ACTION
    assert out.status_change == (lifecycle.UNASSIGNED, lifecycle.PENDING_CUSTOMER_ACTION)
    assert out.assignment == (None, "alice")
    assert out.work == CaseWork("alice", sla.STOPPED, T0 + HOUR)
    assert out.reply is not None
    assert (out.reply.submitted_by, out.reply.author_kind, out.reply.body) == (
        "Support",
        SUPPORT,
        "hello",
    )


def test_a_reply_may_keep_working() -> None:
    current = case(lifecycle.OPENED, assignee="bob")
    out = staff.decide(current, act(staff.REPLY, body="on it", status=lifecycle.WORK_IN_PROGRESS))
    assert out.status_change == (lifecycle.OPENED, lifecycle.WORK_IN_PROGRESS)
    assert out.assignment is None and out.work.assignee == "bob"
    assert out.work.pending_since_ms is None


def test_replies_to_resolved_cases_are_refused() -> None:
    with pytest.raises(IllegalTransition, match="resolved"):
        staff.decide(case(lifecycle.RESOLVED), act(staff.REPLY, body="x"))


def test_assigning_picks_up_an_unassigned_case_only() -> None:
    out = staff.decide(case(), act(staff.ASSIGN, assignee="bob"))
    assert out.status_change == (lifecycle.UNASSIGNED, lifecycle.WORK_IN_PROGRESS)
    assert out.assignment == (None, "bob")
    out = staff.decide(case(lifecycle.OPENED), act(staff.ASSIGN, assignee="bob"))
    assert out.status_change is None
    same = staff.decide(case(lifecycle.OPENED, assignee="bob"), act(staff.ASSIGN, assignee="bob"))
    assert not same.changed
    gone = staff.decide(case(lifecycle.OPENED, assignee="bob"), act(staff.ASSIGN, assignee=None))
    assert gone.assignment == ("bob", None) and gone.status == lifecycle.OPENED


def test_notes_change_nothing_else() -> None:
    current = case(lifecycle.PENDING_CUSTOMER_ACTION, pending_since_ms=T0)
    out = staff.decide(current, act(staff.NOTE, body="hm"))
    assert out.note == "hm" and out.status_change is None and out.work == current.work


def test_resolving_stops_everything_and_twice_changes_nothing() -> None:
    current = case(lifecycle.PENDING_CUSTOMER_ACTION, pending_since_ms=T0)
    out = staff.decide(current, act(staff.RESOLVE))
    assert out.status == lifecycle.RESOLVED and out.resolved_ms == T0 + HOUR
    assert out.work.clock == sla.STOPPED and out.work.pending_since_ms is None
    assert not staff.decide(case(lifecycle.RESOLVED), act(staff.RESOLVE)).changed


def test_waiting_on_the_customer_pauses_and_resumes_the_clock() -> None:
    paused = staff.decide(case(), act(staff.SET_STATUS, status=lifecycle.PENDING_CUSTOMER_ACTION))
    assert paused.work.clock == sla.SlaClock(sla.FIRST_RESPONSE, None, 3 * HOUR)
    assert paused.work.pending_since_ms == T0 + HOUR
    back = StaffCase(
        msgspec.structs.replace(case().case, status=lifecycle.PENDING_CUSTOMER_ACTION), paused.work
    )
    later = act(staff.SET_STATUS, status=lifecycle.WORK_IN_PROGRESS, now_ms=T0 + 10 * HOUR)
    resumed = staff.decide(back, later)
    assert resumed.work.clock == sla.SlaClock(sla.FIRST_RESPONSE, T0 + 13 * HOUR, None)
    assert resumed.work.pending_since_ms is None


def test_customer_replies_and_the_clock() -> None:
    target = sla.ResponseTarget(2 * HOUR)
    none = staff.work_after_customer_reply(CaseWork(), lifecycle.OPENED, T0, target)
    assert none.clock == sla.SlaClock(sla.NEXT_RESPONSE, T0 + 2 * HOUR)
    running = CaseWork(clock=sla.SlaClock(sla.FIRST_RESPONSE, T0 + HOUR))
    assert staff.work_after_customer_reply(running, lifecycle.OPENED, T0, target) == running
    paused = CaseWork(
        clock=sla.SlaClock(sla.FIRST_RESPONSE, None, 30 * 60_000), pending_since_ms=T0
    )
    after = staff.work_after_customer_reply(
        paused, lifecycle.CUSTOMER_ACTION_COMPLETED, T0 + DAY, target
    )
    assert after == CaseWork(clock=sla.SlaClock(sla.FIRST_RESPONSE, T0 + DAY + 30 * 60_000))


# --- SLA targets and calendars -------------------------------------------------------------


def test_default_and_configured_targets() -> None:
    default = sla.Targets()
    assert [default.duration(sla.FIRST_RESPONSE, s) for s in sla.SEVERITIES] == [
        24 * HOUR,
        12 * HOUR,
        4 * HOUR,
        HOUR,
        15 * 60_000,
    ]
    targets = sla.parse_targets("first.high=2h, next.high=1h30m, developer.first.high=1d")
    assert targets.duration(sla.FIRST_RESPONSE, "high") == 2 * HOUR
    assert targets.duration(sla.NEXT_RESPONSE, "high") == 90 * 60_000
    assert targets.duration(sla.FIRST_RESPONSE, "high", "developer") == DAY
    assert targets.duration(sla.FIRST_RESPONSE, "high", "business") == 2 * HOUR
    assert targets.duration(sla.FIRST_RESPONSE, "low", "developer") == 24 * HOUR


@pytest.mark.parametrize(
    "text",
    ["first.low", "first.low=", "first.low=soon", "later.low=1h", "first.severe=1h", "a.b.c.d=1h"],
)
def test_bad_targets(text: str) -> None:
    with pytest.raises(sla.SlaSettingError):
        sla.parse_targets(text)


@pytest.mark.parametrize(
    "text",
    [
        "mon-fri",
        "mon-fri 9-17",
        "mon-fri 17:00-09:00",
        "someday 09:00-17:00",
        "mon 09:00-17:00 Mars/Base",
    ],
)
def test_bad_calendars(text: str) -> None:
    with pytest.raises(sla.SlaSettingError):
        sla.parse_calendar(text)


def test_business_hours_skip_nights_and_weekends() -> None:
    cal = sla.parse_calendar("mon-fri 09:00-17:00 UTC")
    friday_4pm = ms("2026-11-27T16:00:00+00:00")
    # 4 business hours from Friday 16:00: one on Friday, three on Monday.
    assert cal.add(friday_4pm, 4 * HOUR) == ms("2026-11-30T12:00:00+00:00")
    assert cal.between(friday_4pm, ms("2026-11-30T12:00:00+00:00")) == 4 * HOUR
    # Outside hours, the clock starts at the next opening.
    saturday = ms("2026-11-28T10:00:00+00:00")
    assert cal.add(saturday, HOUR) == ms("2026-11-30T10:00:00+00:00")
    assert cal.between(saturday, ms("2026-11-29T23:00:00+00:00")) == 0
    assert cal.between(ms("2026-11-30T12:00:00+00:00"), friday_4pm) == -4 * HOUR


def test_business_hours_in_a_time_zone_across_daylight_saving() -> None:
    cal = sla.parse_calendar("mon-fri 09:00-17:00 Europe/Berlin")
    # Friday 2026-10-23 16:00 CEST (14:00 UTC); clocks go back on Sunday the 25th.
    start = ms("2026-10-23T14:00:00+00:00")
    # One hour on Friday, one on Monday from 09:00 CET (08:00 UTC).
    assert cal.add(start, 2 * HOUR) == ms("2026-10-26T09:00:00+00:00")


def test_round_the_clock_and_wrapping_days() -> None:
    assert sla.parse_calendar("") is sla.ALWAYS
    assert sla.parse_calendar("24x7") is sla.ALWAYS
    weekend = sla.parse_calendar("sat-sun 00:00-24:00")
    assert weekend.days == frozenset({5, 6})
    wrap = sla.parse_calendar("fri-mon 10:00-12:00")
    assert wrap.days == frozenset({4, 5, 6, 0})


@given(
    start=st.integers(
        min_value=ms("2020-01-01T00:00:00+00:00"), max_value=ms("2030-01-01T00:00:00+00:00")
    ),
    hours=st.integers(min_value=0, max_value=200),
)
def test_add_and_between_agree(start: int, hours: int) -> None:
    cal = sla.parse_calendar("mon-fri 08:30-18:00 America/New_York")
    due = cal.add(start, hours * HOUR)
    assert due >= start
    assert cal.between(start, due) == hours * HOUR


def test_durations() -> None:
    assert sla.parse_duration("1h30m") == 90 * 60_000
    assert sla.format_duration(26 * HOUR + 60_000) == "1d2h1m"
    assert sla.format_duration(-HOUR) == "-1h"
    with pytest.raises(sla.SlaSettingError):
        sla.parse_duration("0m")


def test_breach() -> None:
    running = sla.SlaClock(sla.FIRST_RESPONSE, T0)
    assert not running.breached(T0) and running.breached(T0 + 1)
    assert sla.SlaClock(sla.FIRST_RESPONSE, None, -1).breached(T0)
    assert not sla.STOPPED.breached(T0)


# --- search queries ---------------------------------------------------------------------------


def test_search_queries() -> None:
    terms = search.parse('Restart "the DB server" -mysql -"old host" x_y')
    assert terms == (
        search.Term(("restart",)),
        search.Term(("the", "db", "server")),
        search.Term(("mysql",), exclude=True),
        search.Term(("old", "host"), exclude=True),
        search.Term(("x", "y")),
    )
    for bad in ("", "   ", "-only", '"" ...', "x" * 501, " ".join(["w"] * 17)):
        with pytest.raises(search.InvalidSearch):
            search.parse(bad)


def test_marks_become_offsets() -> None:
    marked = f"a {search.MARK_START}bc{search.MARK_END} d {search.MARK_START}é{search.MARK_END}"
    assert search.split_marks(marked) == ("a bc d é", [(2, 4), (7, 8)])


# --- tokens and the fake clock -----------------------------------------------------------------


def test_tokens() -> None:
    text, token = staff.new_token("alice", T0)
    parsed = staff.parse_token(text)
    assert parsed is not None and parsed[0] == token.token_id
    assert token.matches(parsed[1]) and not token.matches(parsed[1][:-1] + "x")
    assert parsed[1] not in repr(token)  # only the hash is kept
    for bad in ("", "sdst_", text + "x", text.replace("sdst", "sdsx"), "AKIAIOSFODNN7EXAMPLE"):
        assert staff.parse_token(bad) is None


def test_the_fake_clock_file(tmp_path: Path) -> None:
    path = tmp_path / "clock"
    clock = OffsetFileClock(path)
    assert clock.offset_ms() == 0  # no file: no offset
    write_offset(path, 5 * DAY)
    assert clock.offset_ms() == 5 * DAY
    real = datetime.now(UTC).timestamp() * 1000
    assert abs(clock.now_ms() - 5 * DAY - real) < 5_000
    write_offset(path, -HOUR)
    assert clock.offset_ms() == -HOUR
    path.write_text("soon")
    os.utime(path, ns=(1, 1))
    with pytest.raises(ValueError, match="offset in milliseconds"):
        clock.offset_ms()


def _m(doc: int, case: int, score: float) -> search.Match:
    return search.Match(doc, case, score)


def test_ranking_cases_by_their_best_match() -> None:
    comms = [_m(40, 1, 7.0), _m(30, 2, 8.0), _m(20, 1, 9.0), _m(10, 3, 5.0)]  # newest first
    subjects = [_m(4, 4, 4.25), _m(2, 2, 3.0)]
    ranking = search.rank_matches(comms, subjects, search.CANDIDATES)
    # A subject counts twice; ties rank the newest case first.
    assert ranking.cases == [(1, 9.0), (4, 8.5), (2, 8.0), (3, 5.0)]
    assert not ranking.truncated
    assert ranking.subject_matches == {2, 4}
    # Highlights: a case's best matching communications first.
    assert [m.doc_seq for m in ranking.highlighted_communications(1)] == [20, 40]
    assert ranking.highlighted_communications(4) == []
    assert ranking.page(1, 2) == [(4, 8.5), (2, 8.0)]
    assert search.rank_matches([], [], search.CANDIDATES).cases == []


def test_only_the_first_candidates_of_each_index_are_ranked_and_the_cut_is_told() -> None:
    comms = [_m(seq, seq, float(seq % 3)) for seq in range(10, 0, -1)]  # newest first
    # Exactly as many matches as candidates: nothing was left out.
    assert not search.rank_matches(comms[:4], [], 4).truncated
    # One more (a store reads SearchQuery.fetch_size): cut, and the oldest is not ranked.
    ranking = search.rank_matches(comms[:5], [], 4)
    assert ranking.truncated
    assert {seq for seq, _ in ranking.cases} == {10, 9, 8, 7}
    # Subjects alone can be cut too.
    subjects = [_m(seq, seq, 1.0) for seq in (9, 8, 7)]
    assert search.rank_matches(comms[:2], subjects, 2).truncated
    assert search.SearchQuery((search.Term(("x",)),), 10, candidates=4).fetch_size == 5


def test_highlights_are_limited_per_case() -> None:
    comms = [_m(doc, 1, float(doc)) for doc in range(1, 8)]
    chosen = search.rank_matches(comms, [], search.CANDIDATES).highlighted_communications(1)
    assert [m.doc_seq for m in chosen] == [7, 6, 5][: search.HIGHLIGHTS_PER_CASE]


@given(
    hits=st.lists(
        st.tuples(st.integers(1, 30), st.integers(0, 50).map(float), st.booleans()), max_size=60
    ),
    candidates=st.integers(1, 20),
)
def test_ranking_the_candidates_agrees_with_ranking_them_alone(
    hits: list[tuple[int, float, bool]], candidates: int
) -> None:
    comms = [
        _m(100 + n, case, score) for n, (case, score, subject) in enumerate(hits) if not subject
    ]
    subjects = [_m(case, case, score) for case, score, subject in hits if subject]
    cut = search.rank_matches(comms, subjects, candidates)
    alone = search.rank_matches(comms[:candidates], subjects[:candidates], candidates)
    assert cut.cases == alone.cases
    assert cut.truncated == (len(comms) > candidates or len(subjects) > candidates)
    assert not alone.truncated
    scores = [score for _, score in cut.cases]
    assert scores == sorted(scores, reverse=True)


def test_tokens_ended_by_a_change_of_state() -> None:
    live = staff.StaffToken("aaaaaaaaaaaa", "bob", "h", 1)
    dead = staff.StaffToken("bbbbbbbbbbbb", "bob", "h", 1, revoked_ms=2)
    assert staff.tokens_ended_by(True, False, [live, dead]) == [live]  # disabled
    assert staff.tokens_ended_by(False, True, [live, dead]) == [live]  # enabled again
    assert staff.tokens_ended_by(False, False, [live]) == [live]
    assert staff.tokens_ended_by(True, True, [live, dead]) == []  # enabled, was already
