"""Civil dates, times of day and instants in England, and durations between them.

Dates are proleptic Gregorian, as Journey's core counts them (Howard Hinnant's days-from-civil algorithms),
and behave exactly as the Rust SDK's `Date`: `add_months` clamps to the end of a shorter month, and a
29 February birthday falls on 28 February in a common year (as the DfE validators count ages).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Optional

DAY_MICROS = 86_400_000_000
HOUR_MICROS = 3_600_000_000

WEEKDAYS = ("Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday")


def is_leap_year(year: int) -> bool:
    return (year % 4 == 0 and year % 100 != 0) or year % 400 == 0


def days_in_month(year: int, month: int) -> int:
    if month in (1, 3, 5, 7, 8, 10, 12):
        return 31
    if month in (4, 6, 9, 11):
        return 30
    if month == 2:
        return 29 if is_leap_year(year) else 28
    return 0


class Date:
    """A civil date in England. Ordered, hashable, printed `YYYY-MM-DD`; treat it as immutable.

    (A plain class with slots rather than a frozen dataclass: a policy's input holds hundreds of dates,
    made and compared in the guest's interpreter on every evaluation, and this is several times cheaper.)
    """

    __slots__ = ("year", "month", "day", "_key")

    def __init__(self, year: int, month: int, day: int):
        self.year = year
        self.month = month
        self.day = day
        # One integer that orders dates as (year, month, day) do.
        self._key = (year * 16 + month) * 32 + day

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Date) and self._key == other._key

    def __ne__(self, other: object) -> bool:
        return not self.__eq__(other)

    def __lt__(self, other: "Date") -> bool:
        return self._key < other._key

    def __le__(self, other: "Date") -> bool:
        return self._key <= other._key

    def __gt__(self, other: "Date") -> bool:
        return self._key > other._key

    def __ge__(self, other: "Date") -> bool:
        return self._key >= other._key

    def __hash__(self) -> int:
        return self._key

    def __repr__(self) -> str:
        return f"Date({self.year}, {self.month}, {self.day})"

    def __reduce__(self) -> tuple:
        return (Date, (self.year, self.month, self.day))

    @staticmethod
    def ymd(year: int, month: int, day: int) -> "Date":
        """The date; raises ValueError if it is not a real calendar date."""
        date = Date(year, month, day)
        if not date.is_valid():
            raise ValueError(f"{date} is not a real date")
        return date

    @staticmethod
    def parse(text: str) -> "Date":
        """Parses exactly `YYYY-MM-DD`; raises ValueError otherwise."""
        if (
            len(text) != 10
            or text[4] != "-"
            or text[7] != "-"
            or not (text[0:4] + text[5:7] + text[8:10]).isdigit()
            or not text.isascii()
        ):
            raise ValueError(f"not a date YYYY-MM-DD: {text!r}")
        return Date.ymd(int(text[0:4]), int(text[5:7]), int(text[8:10]))

    def is_valid(self) -> bool:
        return 1 <= self.month <= 12 and 1 <= self.day <= days_in_month(self.year, self.month)

    def __str__(self) -> str:
        return f"{self.year:04}-{self.month:02}-{self.day:02}"

    def days_since_epoch(self) -> int:
        """Days since 1970-01-01 (negative before it)."""
        m, d = self.month, self.day
        y = self.year - (1 if m <= 2 else 0)
        era = y // 400
        yoe = y - era * 400
        doy = (153 * (m - 3 if m > 2 else m + 9) + 2) // 5 + d - 1
        doe = yoe * 365 + yoe // 4 - yoe // 100 + doy
        return era * 146_097 + doe - 719_468

    @staticmethod
    def from_days_since_epoch(days: int) -> "Date":
        z = days + 719_468
        era = z // 146_097
        doe = z - era * 146_097
        yoe = (doe - doe // 1460 + doe // 36_524 - doe // 146_096) // 365
        doy = doe - (365 * yoe + yoe // 4 - yoe // 100)
        mp = (5 * doy + 2) // 153
        day = doy - (153 * mp + 2) // 5 + 1
        month = mp + 3 if mp < 10 else mp - 9
        return Date(yoe + era * 400 + (1 if month <= 2 else 0), month, day)

    def weekday(self) -> int:
        """0 Monday .. 6 Sunday (`WEEKDAYS[d.weekday()]` names it)."""
        # 1970-01-01 was a Thursday.
        return (self.days_since_epoch() + 3) % 7

    def is_weekend(self) -> bool:
        return self.weekday() >= 5

    def add_days(self, days: int) -> "Date":
        return Date.from_days_since_epoch(self.days_since_epoch() + days)

    def add_weeks(self, weeks: int) -> "Date":
        return self.add_days(weeks * 7)

    def days_until(self, later: "Date") -> int:
        """Whole days from this date to `later` (negative if `later` is earlier)."""
        return later.days_since_epoch() - self.days_since_epoch()

    def add_months(self, months: int) -> "Date":
        """The same day `months` months later, clamped to the end of a shorter month."""
        index = self.year * 12 + self.month - 1 + months
        year, month = index // 12, index % 12 + 1
        return Date(year, month, min(self.day, days_in_month(year, month)))

    def add_years(self, years: int) -> "Date":
        """The same day `years` years later; 29 February becomes 28 February in a common year."""
        return self.add_months(years * 12)

    def age_on(self, on: "Date") -> Optional[int]:
        """Age in completed years on `on`, for a date of birth; None before birth."""
        if on < self:
            return None
        years = on.year - self.year
        if self.add_years(years) > on:
            years -= 1
        return years

    def birthday(self, n: int) -> "Date":
        """The `n`th birthday of a child born on this date."""
        return self.add_years(n)

    def months_until(self, later: "Date") -> int:
        """Whole calendar months from this date to `later` (negative if earlier)."""
        n = (later.year - self.year) * 12 + later.month - self.month
        while self.add_months(n) > later:
            n -= 1
        while self.add_months(n + 1) <= later:
            n += 1
        return n

    def instant_in_england(self, time: Optional["TimeOfDay"] = None) -> int:
        """The instant (UTC microseconds) of this date at `time` (midnight if None) in England, GMT or BST."""
        h, m, s = (time.hour, time.minute, time.second) if time is not None else (0, 0, 0)
        local = self.days_since_epoch() * DAY_MICROS + (h * 3600 + m * 60 + s) * 1_000_000
        starts, ends = _summer_time(self.year)
        as_bst = local - HOUR_MICROS
        return as_bst if starts <= as_bst < ends else local

    @staticmethod
    def in_england_at(instant: int) -> "Date":
        """The date in England at an instant."""
        return Date.from_days_since_epoch(_local_in_england(instant) // DAY_MICROS)

    @staticmethod
    def describe_instant(instant: int) -> str:
        """`2024-04-01 at 23:00`, in England."""
        local = _local_in_england(instant)
        seconds = local % DAY_MICROS // 1_000_000
        date = Date.from_days_since_epoch(local // DAY_MICROS)
        return f"{date} at {seconds // 3600:02}:{seconds % 3600 // 60:02}"


@dataclass(frozen=True, order=True)
class TimeOfDay:
    hour: int
    minute: int
    second: int = 0

    def __str__(self) -> str:
        return f"{self.hour:02}:{self.minute:02}:{self.second:02}"


def days(n: int) -> str:
    """`1 day`, `45 days`: a duration in calendar days for a reason's text."""
    return f"{n} day" if n in (1, -1) else f"{n} days"


def hours_between(start: int, end: int) -> int:
    """Whole hours from instant `start` to `end`, any part of an hour counting as one."""
    late = end - start
    return late // HOUR_MICROS + (1 if late % HOUR_MICROS else 0)


def _summer_time(year: int) -> tuple:
    """The instants British Summer Time starts and ends in `year`: 01:00 UTC on the last Sunday of March
    and of October."""

    def last_sunday(month: int) -> Date:
        last = Date(year, month, 31)
        return last.add_days(-((last.weekday() + 1) % 7))

    def at_one(d: Date) -> int:
        return d.days_since_epoch() * DAY_MICROS + HOUR_MICROS

    return at_one(last_sunday(3)), at_one(last_sunday(10))


def _local_in_england(instant: int) -> int:
    utc = Date.from_days_since_epoch(instant // DAY_MICROS)
    starts, ends = _summer_time(utc.year)
    return instant + HOUR_MICROS if starts <= instant < ends else instant
