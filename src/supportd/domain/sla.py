"""SLA clocks: response targets per plan and severity, an optional business-hours
calendar, and the clock of each case (running, paused while the case waits on the
customer, or stopped).

A case has at most one target outstanding: the *first response* (from creation until
support's first reply) or a *next response* (from a customer reply until support's next
reply). A running clock has a due time; a paused one keeps the business time that was
left (negative if it was already overdue). Everything here is pure: the store applies
these functions to the row it holds locked.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta, tzinfo
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from supportd.domain import lifecycle

FIRST_RESPONSE = "first-response"
NEXT_RESPONSE = "next-response"
TARGETS = (FIRST_RESPONSE, NEXT_RESPONSE)
_KIND_NAMES = {"first": FIRST_RESPONSE, "next": NEXT_RESPONSE}

SEVERITIES = ("low", "normal", "high", "urgent", "critical")
MINUTE_MS = 60_000
HOUR_MS = 60 * MINUTE_MS
DAY_MS = 24 * HOUR_MS

# AWS's published first-response targets (General guidance ... Business-critical system
# down); supportd uses the same for next responses unless configured otherwise.
DEFAULT_TARGET_MS: dict[str, int] = {
    "low": 24 * HOUR_MS,
    "normal": 12 * HOUR_MS,
    "high": 4 * HOUR_MS,
    "urgent": 1 * HOUR_MS,
    "critical": 15 * MINUTE_MS,
}

# A calendar search never walks further than this (a calendar with working days always
# finds one within a week; the bound only stops a runaway loop).
MAX_CALENDAR_DAYS = 3700


class SlaSettingError(ValueError):
    """An sla_targets or sla_business_hours setting that cannot be parsed."""


# --- durations ------------------------------------------------------------------------

_DURATION_PART = re.compile(r"(\d+)([dhms])")
_UNIT_MS = {"d": DAY_MS, "h": HOUR_MS, "m": MINUTE_MS, "s": 1000}


def parse_duration(text: str) -> int:
    """`15m`, `4h`, `1d`, `1h30m`, `90s` -> milliseconds."""
    value = text.strip().lower()
    if not value or _DURATION_PART.sub("", value):
        raise SlaSettingError(f"not a duration: {text!r} (examples: 15m, 4h, 1d, 1h30m)")
    total = sum(int(n) * _UNIT_MS[unit] for n, unit in _DURATION_PART.findall(value))
    if total <= 0:
        raise SlaSettingError(f"a duration must be positive: {text!r}")
    return total


def format_duration(ms: int) -> str:
    """The shortest `1d2h3m4s` spelling of a duration (sub-second parts dropped)."""
    sign, ms = ("-", -ms) if ms < 0 else ("", ms)
    parts = []
    for unit in ("d", "h", "m", "s"):
        count, ms = divmod(ms, _UNIT_MS[unit])
        if count:
            parts.append(f"{count}{unit}")
    return sign + ("".join(parts) or "0s")


# --- targets --------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Targets:
    """Response targets: (plan or "" for every plan, target, severity) -> milliseconds."""

    overrides: dict[tuple[str, str, str], int] = field(default_factory=dict)

    def duration(self, target: str, severity: str, plan: str = "") -> int:
        for key in ((plan, target, severity), ("", target, severity)):
            if key in self.overrides:
                return self.overrides[key]
        return DEFAULT_TARGET_MS.get(severity, DEFAULT_TARGET_MS["low"])

    def table(self, plan: str = "") -> dict[str, dict[str, int]]:
        """target -> severity -> milliseconds, as they apply to a plan."""
        return {t: {s: self.duration(t, s, plan) for s in SEVERITIES} for t in TARGETS}


def parse_targets(text: str) -> Targets:
    """`[PLAN.]first|next.SEVERITY=DURATION`, comma-separated; e.g.
    `first.low=24h,next.low=12h,developer.first.normal=24h`. Unnamed ones keep defaults."""
    overrides: dict[tuple[str, str, str], int] = {}
    for entry in (part.strip() for part in text.split(",")):
        if not entry:
            continue
        key, sep, value = entry.partition("=")
        names = key.strip().lower().split(".")
        if not sep or len(names) not in (2, 3):
            raise SlaSettingError(
                f"sla_targets entry {entry!r}: expected [PLAN.]first|next.SEVERITY=DURATION"
            )
        plan = names[0] if len(names) == 3 else ""
        kind, severity = names[-2], names[-1]
        if kind not in _KIND_NAMES:
            raise SlaSettingError(f"sla_targets entry {entry!r}: use first or next, not {kind!r}")
        if severity not in SEVERITIES:
            raise SlaSettingError(
                f"sla_targets entry {entry!r}: unknown severity {severity!r}"
                f" (one of {', '.join(SEVERITIES)})"
            )
        overrides[(plan, _KIND_NAMES[kind], severity)] = parse_duration(value)
    return Targets(overrides)


# --- business-hours calendar ------------------------------------------------------------

_DAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
_HOURS = re.compile(r"^(\d{1,2}):(\d{2})-(\d{1,2}):(\d{2})$")


@dataclass(frozen=True, slots=True)
class Calendar:
    """When the SLA clock ticks. The default ticks around the clock; otherwise on the
    given weekdays (0 = Monday) between two local times of a time zone."""

    days: frozenset[int] = frozenset(range(7))
    start_minute: int = 0
    end_minute: int = 24 * 60
    zone: str = "UTC"
    always: bool = True

    def _tz(self) -> tzinfo:
        return UTC if self.zone == "UTC" else ZoneInfo(self.zone)

    @staticmethod
    def _at(day: date, minute: int, tz: tzinfo) -> int:
        moment = datetime.combine(day, time(minute // 60, minute % 60), tzinfo=tz)
        return int(moment.timestamp() * 1000)

    def _at_end(self, day: date, tz: tzinfo) -> int:
        if self.end_minute == 24 * 60:
            return self._at(day + timedelta(days=1), 0, tz)
        return self._at(day, self.end_minute, tz)

    def add(self, start_ms: int, duration_ms: int) -> int:
        """The instant `duration_ms` of business time after start_ms."""
        if self.always:
            return start_ms + duration_ms
        tz = self._tz()
        day = datetime.fromtimestamp(start_ms / 1000, tz).date()
        remaining = duration_ms
        moment = start_ms
        for offset in range(MAX_CALENDAR_DAYS):
            current = day + timedelta(days=offset)
            if current.weekday() not in self.days:
                continue
            begin = max(moment, self._at(current, self.start_minute, tz))
            end = self._at_end(current, tz)
            if begin >= end:
                continue
            if remaining <= end - begin:
                return begin + remaining
            remaining -= end - begin
            moment = end
        raise SlaSettingError("the business-hours calendar has no working time")

    def between(self, start_ms: int, end_ms: int) -> int:
        """Business time from start_ms to end_ms (negative if end is before start)."""
        if end_ms < start_ms:
            return -self.between(end_ms, start_ms)
        if self.always:
            return end_ms - start_ms
        tz = self._tz()
        day = datetime.fromtimestamp(start_ms / 1000, tz).date()
        total = 0
        for offset in range(MAX_CALENDAR_DAYS):
            current = day + timedelta(days=offset)
            day_start = self._at(current, 0, tz)
            if day_start >= end_ms:
                break
            if current.weekday() not in self.days:
                continue
            begin = max(start_ms, self._at(current, self.start_minute, tz))
            end = min(end_ms, self._at_end(current, tz))
            if end > begin:
                total += end - begin
        return total


ALWAYS = Calendar()


def parse_calendar(text: str) -> Calendar:
    """`mon-fri 09:00-17:00 Europe/Berlin` (time zone optional: UTC); empty or `24x7`:
    around the clock. Days: a range (`mon-fri`) or a list (`mon,wed,fri`)."""
    value = text.strip()
    if not value or value.lower() == "24x7":
        return ALWAYS
    parts = value.split()
    if len(parts) not in (2, 3):
        raise SlaSettingError(
            f"sla_business_hours {text!r}: expected DAYS HH:MM-HH:MM [TIME ZONE],"
            " e.g. mon-fri 09:00-17:00 Europe/Berlin"
        )
    days = _parse_days(parts[0], text)
    match = _HOURS.match(parts[1])
    if match is None:
        raise SlaSettingError(f"sla_business_hours {text!r}: hours must look like 09:00-17:00")
    h1, m1, h2, m2 = (int(g) for g in match.groups())
    start, end = h1 * 60 + m1, h2 * 60 + m2
    if h1 > 23 or m1 > 59 or m2 > 59 or end > 24 * 60 or end <= start:
        raise SlaSettingError(
            f"sla_business_hours {text!r}: the end of the day must come after its start"
        )
    zone = parts[2] if len(parts) == 3 else "UTC"
    if zone != "UTC":
        try:
            ZoneInfo(zone)
        except (ZoneInfoNotFoundError, ValueError):
            raise SlaSettingError(
                f"sla_business_hours {text!r}: unknown time zone {zone!r}"
            ) from None
    return Calendar(days, start, end, zone, always=False)


def _parse_days(spec: str, text: str) -> frozenset[int]:
    days: set[int] = set()
    for item in spec.lower().split(","):
        first, _, last = item.partition("-")
        if first not in _DAYS or (last and last not in _DAYS):
            raise SlaSettingError(
                f"sla_business_hours {text!r}: days are mon, tue, wed, thu, fri, sat, sun"
            )
        a = _DAYS.index(first)
        b = _DAYS.index(last) if last else a
        days.update(range(a, b + 1) if a <= b else [*range(a, 7), *range(0, b + 1)])
    return frozenset(days)


# --- the clock of a case ------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class SlaClock:
    """target None: nothing outstanding. Running: due_ms set. Paused: remaining_ms set."""

    target: str | None = None
    due_ms: int | None = None
    remaining_ms: int | None = None

    @property
    def running(self) -> bool:
        return self.due_ms is not None

    @property
    def paused(self) -> bool:
        return self.remaining_ms is not None

    def state(self) -> str:
        return "running" if self.running else "paused" if self.paused else "none"

    def breached(self, now_ms: int) -> bool:
        """Past due: running after its due time, or paused when already overdue."""
        if self.due_ms is not None:
            return now_ms > self.due_ms
        return self.remaining_ms is not None and self.remaining_ms < 0


STOPPED = SlaClock()


@dataclass(frozen=True, slots=True)
class ResponseTarget:
    """What a customer's message starts: a next-response target of this length."""

    duration_ms: int
    calendar: Calendar = ALWAYS


def start(target: str, now_ms: int, duration_ms: int, calendar: Calendar) -> SlaClock:
    return SlaClock(target, calendar.add(now_ms, duration_ms), None)


def pause(clock: SlaClock, now_ms: int, calendar: Calendar) -> SlaClock:
    if clock.due_ms is None:
        return clock
    return SlaClock(clock.target, None, calendar.between(now_ms, clock.due_ms))


def resume(clock: SlaClock, now_ms: int, calendar: Calendar) -> SlaClock:
    if clock.remaining_ms is None:
        return clock
    if clock.remaining_ms < 0:
        # Already overdue when paused: it stays overdue by as much (wall-clock time).
        return SlaClock(clock.target, now_ms + clock.remaining_ms, None)
    return SlaClock(clock.target, calendar.add(now_ms, clock.remaining_ms), None)


def after_customer_reply(clock: SlaClock, now_ms: int, target: ResponseTarget) -> SlaClock:
    """A running target keeps its due time (a nudge neither extends nor shortens it); a
    paused one resumes; with none outstanding, a next-response target starts."""
    if clock.running:
        return clock
    if clock.paused:
        return resume(clock, now_ms, target.calendar)
    return start(NEXT_RESPONSE, now_ms, target.duration_ms, target.calendar)


def after_status_change(
    clock: SlaClock, new_status: str, now_ms: int, calendar: Calendar
) -> SlaClock:
    """Waiting on the customer pauses the clock; leaving that status resumes it; a
    resolved case has no clock."""
    if new_status == lifecycle.RESOLVED:
        return STOPPED
    if new_status == lifecycle.PENDING_CUSTOMER_ACTION:
        return pause(clock, now_ms, calendar)
    return resume(clock, now_ms, calendar)


@dataclass(frozen=True, slots=True)
class SlaPolicy:
    """The deployment's SLA settings, parsed once."""

    targets: Targets = field(default_factory=Targets)
    calendar: Calendar = ALWAYS

    def first_response_due(self, created_ms: int, severity: str, plan: str = "") -> int:
        return self.calendar.add(created_ms, self.targets.duration(FIRST_RESPONSE, severity, plan))

    def next_response(self, severity: str, plan: str = "") -> ResponseTarget:
        return ResponseTarget(self.targets.duration(NEXT_RESPONSE, severity, plan), self.calendar)


def policy(targets_text: str, hours_text: str) -> SlaPolicy:
    return SlaPolicy(parse_targets(targets_text), parse_calendar(hours_text))
