"""The simulated window and fast ISO-8601 formatting (times are int epoch seconds, UTC)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from functools import lru_cache

DAY = 86_400
HOUR = 3_600
MINUTE = 60


@lru_cache(maxsize=1)
def _times_of_day() -> tuple[str, ...]:
    # 86,400 ready-made "HH:MM:SSZ" suffixes: formatting becomes two list lookups and a concat.
    return tuple(
        f"{h:02d}:{m:02d}:{s:02d}Z" for h in range(24) for m in range(60) for s in range(60)
    )


class Clock:
    """Days ``end_date - days + 1 .. end_date`` (UTC), as epoch seconds."""

    def __init__(self, end_date: date, days: int) -> None:
        if days < 1:
            raise ValueError("days must be at least 1")
        self.days = days
        self.first_day = end_date - timedelta(days=days - 1)
        self.dates = tuple(self.first_day + timedelta(days=d) for d in range(days))
        self.start = int(datetime(*self.first_day.timetuple()[:3], tzinfo=UTC).timestamp())
        self.end = self.start + days * DAY - 1  # last second of end_date
        self.day_prefixes = tuple(d.isoformat() + "T" for d in self.dates)
        self.times_of_day = _times_of_day()

    def fmt(self, ts: int) -> str:
        """``2026-09-01T12:34:56Z``."""
        d, s = divmod(ts - self.start, DAY)
        if 0 <= d < self.days:
            return self.day_prefixes[d] + self.times_of_day[s]
        return datetime.fromtimestamp(ts, UTC).strftime("%Y-%m-%dT%H:%M:%SZ")

    def day_index(self, ts: int) -> int:
        return (ts - self.start) // DAY

    def epoch(self, day: date, hour: int = 0, minute: int = 0) -> int:
        return int(datetime(day.year, day.month, day.day, hour, minute, tzinfo=UTC).timestamp())


@dataclass(frozen=True)
class Campaign:
    campaign_id: str
    kind: str  # newsletter | offer | promo | winback (welcome is per customer)
    sent_at: int


def campaign_calendar(clock: Clock) -> tuple[Campaign, ...]:
    """Weekly newsletters (Tuesdays 09:00) and offers (Fridays 10:00), promos on the 5th,
    win-backs on the 20th."""
    out: list[Campaign] = []
    for day in clock.dates:
        year, week, _ = day.isocalendar()
        if day.weekday() == 1:
            out.append(Campaign(f"newsletter_{year}{week:02d}", "newsletter", clock.epoch(day, 9)))
        if day.weekday() == 4:
            out.append(Campaign(f"offer_{year}{week:02d}", "offer", clock.epoch(day, 10)))
        if day.day == 5:
            out.append(Campaign(f"promo_{day:%Y%m}", "promo", clock.epoch(day, 15)))
        if day.day == 20:
            out.append(Campaign(f"winback_{day:%Y%m}", "winback", clock.epoch(day, 17)))
    return tuple(out)
