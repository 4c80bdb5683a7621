"""A power schedule's week, in time: its occurrences in its time zone, correct across daylight
saving changes (zoneinfo), and the checks on a week that a form reports.

A week is seven days, Monday first, each with an optional stop time and start time ("HH:MM",
local). Each day's times are events of their own: "start 07:00, stop 19:00" on weekdays stops
the VMs every weekday evening and starts them every weekday morning, so the Friday evening's
stop lasts until Monday morning.

Daylight saving: a local time that a change skips (02:30 on the spring change in most of
Europe) happens at the same wall time an hour later, as Python's zoneinfo maps it (fold=0);
a time that happens twice (01:30 on the autumn change) happens once, at its first occurrence.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

WEEKDAYS = ("Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday")
KINDS = ("stop", "start")
WEEKS_PER_MONTH = 365.25 / 12 / 7


@dataclass(frozen=True)
class Occurrence:
    kind: str  # "stop" or "start"
    due_at: datetime  # UTC
    local: datetime  # in the schedule's zone

    @property
    def label(self) -> str:
        return f"{self.local:%a %d %b %Y %H:%M} {self.local.tzname()}"


def zone_get(name: str) -> ZoneInfo | None:
    """The IANA zone `name`, or None when there is no such zone."""
    if not name or name != name.strip() or ".." in name or name.startswith("/"):
        return None
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        return None


def parse_time(value: str) -> time | None:
    if not value:
        return None
    hours, _, minutes = value.partition(":")
    return time(int(hours), int(minutes))


def weekly_events(week: list[dict[str, str]]) -> list[tuple[int, time, str]]:
    """(weekday, local time, kind) of every event of the week, in order."""
    events = [
        (day, moment, kind)
        for day, times in enumerate(week)
        for kind in KINDS
        if (moment := parse_time(times.get(kind, ""))) is not None
    ]
    return sorted(events, key=lambda e: (e[0], e[1]))


def week_problems(week: list[dict[str, str]]) -> list[str]:
    """What makes the week unusable, in words; [] when it is fine. It needs a stop and a start,
    no day with both at the same minute, and stops and starts that take turns around the week:
    a second stop before any start would overlap the first's off-hours (and a second start
    would start what nothing stopped)."""
    events = weekly_events(week)
    problems = [
        f"{WEEKDAYS[day]} stops and starts at the same time ({moment:%H:%M})."
        for day, times in enumerate(week)
        if times.get("stop") and times.get("stop") == times.get("start")
        for moment in [parse_time(times["stop"])]
        if moment is not None
    ]
    if problems:
        return problems
    kinds = {kind for _, _, kind in events}
    if kinds != set(KINDS):
        missing = "a stop time" if "stop" not in kinds else "a start time"
        return [f"Give at least one stop time and one start time: {missing} is missing."]
    for (day, moment, kind), (next_day, next_moment, next_kind) in zip(
        events, events[1:] + events[:1], strict=True
    ):
        if kind == next_kind and kind == "stop":
            problems.append(
                f"The off-hours overlap: {WEEKDAYS[day]}'s stop at {moment:%H:%M} is followed "
                f"by {WEEKDAYS[next_day]}'s stop at {next_moment:%H:%M} with no start between."
            )
        elif kind == next_kind:
            problems.append(
                f"The on-hours overlap: {WEEKDAYS[day]}'s start at {moment:%H:%M} is followed "
                f"by {WEEKDAYS[next_day]}'s start at {next_moment:%H:%M} with no stop between."
            )
    return problems


def off_hours_per_week(week: list[dict[str, str]]) -> float:
    """Hours a week the VMs are off (from each stop to the next start), by the wall clock."""
    events = weekly_events(week)
    total = 0.0
    for (day, moment, kind), (next_day, next_moment, _) in zip(
        events, events[1:] + events[:1], strict=True
    ):
        if kind != "stop":
            continue
        start = day * 24 * 60 + moment.hour * 60 + moment.minute
        end = next_day * 24 * 60 + next_moment.hour * 60 + next_moment.minute
        total += ((end - start) % (7 * 24 * 60) or 7 * 24 * 60) / 60
    return total


def _local(day: date, moment: time, zone: ZoneInfo) -> datetime:
    """`day` at `moment` in `zone`, as a real instant (see the module's note on DST)."""
    naive = datetime.combine(day, moment)
    instant = naive.replace(tzinfo=zone, fold=0).astimezone(UTC)
    return instant.astimezone(zone)


def occurrences(
    week: list[dict[str, str]], zone: ZoneInfo, *, after: datetime, until: datetime
) -> Iterator[Occurrence]:
    """The week's occurrences due in (after, until], in order."""
    events = weekly_events(week)
    if not events:
        return
    day = after.astimezone(zone).date() - timedelta(days=1)
    last = until.astimezone(zone).date() + timedelta(days=1)
    while day <= last:
        for weekday, moment, kind in events:
            if weekday != day.weekday():
                continue
            local = _local(day, moment, zone)
            due = local.astimezone(UTC)
            if after < due <= until:
                yield Occurrence(kind, due, local)
        day += timedelta(days=1)


def next_occurrences(
    week: list[dict[str, str]], zone: ZoneInfo, *, after: datetime, count: int = 5
) -> list[Occurrence]:
    """The next `count` occurrences after `after` (at most two weeks ahead)."""
    found = list(occurrences(week, zone, after=after, until=after + timedelta(days=15)))
    return found[:count]
