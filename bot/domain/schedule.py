"""When follow-ups may be sent: the clinic's daytime hours and the patient's weekly cap."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import UTC, datetime, time, timedelta
from zoneinfo import ZoneInfo

_HOURS = re.compile(r"^([01]\d|2[0-3]):([0-5]\d)-([01]\d|2[0-4]):([0-5]\d)$")


@dataclass(frozen=True, slots=True)
class SendHours:
    """Daytime in the clinic's time zone, e.g. 09:00-20:00; a window may cross midnight."""

    start: time
    end: time
    zone: ZoneInfo

    @classmethod
    def parse(cls, text: str, zone: str) -> SendHours:
        """`HH:MM-HH:MM` in the IANA time zone `zone` (e.g. Europe/Madrid)."""
        match = _HOURS.match(text.strip())
        if match is None:
            raise ValueError("must look like 09:00-20:00")
        start_h, start_m, end_h, end_m = (int(part) for part in match.groups())
        end = time.max if (end_h, end_m) == (24, 0) else time(end_h, end_m)
        if end_h == 24 and end_m != 0:
            raise ValueError("must look like 09:00-20:00")
        start = time(start_h, start_m)
        if start == end:
            raise ValueError("the window is empty")
        return cls(start, end, ZoneInfo(zone))

    def allows(self, moment: datetime) -> bool:
        """Whether `moment` falls inside the window, in the clinic's local time."""
        local = moment.astimezone(self.zone).time()
        if self.start < self.end:
            return self.start <= local < self.end
        return local >= self.start or local < self.end

    def open_between(self, start: datetime, end: datetime) -> timedelta:
        """How much of the time from `start` to `end` falls inside the window."""
        total = timedelta(0)
        start, end = start.astimezone(UTC), end.astimezone(UTC)
        # Each local day's window, from the day before `start` (a window may cross midnight).
        day = start.astimezone(self.zone).date() - timedelta(days=1)
        while day <= end.astimezone(self.zone).date():
            opens = datetime.combine(day, self.start, self.zone)
            if self.end == time.max:
                closes = datetime.combine(day + timedelta(days=1), time(0), self.zone)
            else:
                closing_day = day if self.start < self.end else day + timedelta(days=1)
                closes = datetime.combine(closing_day, self.end, self.zone)
            # In UTC: between two times of one zone, Python subtracts wall clocks (DST).
            overlap = min(end, closes.astimezone(UTC)) - max(start, opens.astimezone(UTC))
            total += max(overlap, timedelta(0))
            day += timedelta(days=1)
        return total


@dataclass(frozen=True, slots=True)
class FollowupPolicy:
    """The manners of follow-ups, from the settings."""

    send_hours: SendHours
    gap: timedelta = timedelta(days=7)
    """At most one follow-up message per patient in this long (the weekly cap)."""
    reminder_after: timedelta = timedelta(days=7)
    answer_window: timedelta = timedelta(days=14)
    """A follow-up not answered this long after it was sent is dropped."""
    batch: int = 500
    retry_after: timedelta = timedelta(minutes=10)
    """A send that failed (network) is tried again this much later, doubling each time."""


# Back-off after a failed delivery: 1, 2, 4... seconds, at most five minutes, so that a
# chat that comes back is served within minutes and a broken one is not hammered.
FIRST_RETRY = timedelta(seconds=1)
LONGEST_RETRY = timedelta(minutes=5)


def backoff(failed_attempts: int) -> timedelta:
    """How long to wait after this many failed deliveries in a row."""
    doubled: timedelta = FIRST_RETRY * 2 ** max(failed_attempts - 1, 0)
    return min(doubled, LONGEST_RETRY)
