"""The contract's types (`journey:policy/policy@2.0.0`, `plugins/wit/policy-2.0.0.wit`) as dataclasses.

These mirror, field for field, the records, enums and variants componentize-py generates from the WIT: a
policy reads and builds these, with an editor's completion, and the SDK converts them to and from the
generated bindings at the component's boundary (`journey_policy._guest`). Field names are the WIT's with
`-` as `_`; `option<T>` is `Optional[T]`; `list<T>` is `List[T]`; a timestamp is UTC microseconds.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import Enum
import json as _json
from typing import Any, Dict, Iterator, List, Optional, Sequence, Tuple, Type, TypeVar

T = TypeVar("T")

from .content import decode_content, decode_parameters
from .dates import Date, TimeOfDay

Timestamp = int
"""An instant (transaction time): microseconds since 1970-01-01T00:00:00Z."""


class EventStatus(Enum):
    CURRENT = 0
    CORRECTED = 1
    RETRACTED = 2


@dataclass
class ChildFacts:
    child_id: str
    date_of_birth: Optional[Date] = None
    expected_date_of_birth: Optional[Date] = None
    died_on: Optional[Date] = None
    age: Optional[int] = None
    summary: str = "{}"


@dataclass
class JourneyEvent:
    event_id: str
    version: int
    kind: str
    stage: str
    occurred_on: Date
    occurred_time: Optional[TimeOfDay]
    recorded_at: Timestamp
    status: EventStatus
    content: str
    caused_by: Optional[str] = None
    amended_by: List[str] = field(default_factory=list)

    def is_retracted(self) -> bool:
        return self.status == EventStatus.RETRACTED

    def json(self) -> Any:
        """The content as decoded JSON (a dict), parsed once and kept."""
        cached = self.__dict__.get("_json")
        if cached is None:
            try:
                cached = _json.loads(self.content)
            except ValueError as e:
                raise Failed(f"cannot read the content of {self.kind} event {self.event_id}: {e}") from None
            self.__dict__["_json"] = cached
        return cached

    def data(self, cls: Type[T]) -> T:
        """The content decoded into the dataclass `cls`, reading only the fields it declares (unknown fields
        are ignored; `journey_policy.content` has classes for the common event types). Raises `Failed` naming
        the event and the field when the content does not fit."""
        return decode_content(cls, self.json(), f"the content of {self.kind} event {self.event_id}", Failed)

    def get(self, name: str, default: Any = None) -> Any:
        """A top-level field of the content ("outcome", "no_further_action"), or `default`."""
        content = self.json()
        return content.get(name, default) if isinstance(content, dict) else default

    def code(self, name: str) -> Optional[str]:
        """A top-level string field of the content, if it is there and a string."""
        value = self.get(name)
        return value if isinstance(value, str) else None

    def flag(self, name: str) -> Optional[bool]:
        """A top-level boolean field of the content, if it is there and a boolean."""
        value = self.get(name)
        return value if isinstance(value, bool) else None

    def assessment_factors(self) -> List[str]:
        """The CIN census factor codes the event records: an assessment's `factors`, else a contact's
        `concerns`. Empty for other kinds, or when either field is not a list of strings."""
        content = self.json()
        if not isinstance(content, dict):
            return []
        factors, concerns = content.get("factors", []), content.get("concerns", [])
        if not (_is_strings(factors) and _is_strings(concerns)):
            return []
        return list(factors) if factors else list(concerns)

    def names_event(self) -> Optional[str]:
        """The id of the event this one names as its origin (a decision's contact, a plan's conference)."""
        for name in ("contact_event_id", "conference_event_id", "strategy_discussion_event_id", "offer_event_id"):
            value = self.code(name)
            if value is not None:
                return value
        return None

    def when(self) -> str:
        """`2024-03-28`, or `2024-03-28 at 15:00` with a time of day."""
        t = self.occurred_time
        return f"{self.occurred_on} at {t.hour:02}:{t.minute:02}" if t is not None else str(self.occurred_on)


@dataclass
class Calendar:
    version: str
    covers_from: Date
    covers_to: Date
    bank_holidays: List[Date]

    def covers(self, date: Date) -> bool:
        """True when the holiday data covers `date` (working days outside it are unreliable)."""
        return self.covers_from <= date <= self.covers_to

    def is_bank_holiday(self, date: Date) -> bool:
        holidays = self.__dict__.get("_holidays")
        if holidays is None:
            holidays = self.__dict__["_holidays"] = frozenset(self.bank_holidays)
        return date in holidays

    def is_working_day(self, date: Date) -> bool:
        """Monday to Friday and not a bank holiday."""
        return not date.is_weekend() and not self.is_bank_holiday(date)

    def add_working_days(self, start: Date, n: int) -> Date:
        """`n` working days after `start` (before, if negative), as pandas' `CustomBusinessDay(n)` and the DfE
        validators count: a start that is not a working day first rolls back (n > 0) or forward (n <= 0)."""
        day = start
        roll = -1 if n > 0 else 1
        while not self.is_working_day(day):
            day = day.add_days(roll)
        direction = 1 if n > 0 else -1
        for _ in range(abs(n)):
            day = day.add_days(direction)
            while not self.is_working_day(day):
                day = day.add_days(direction)
        return day

    def due_within_working_days(self, start: Date, n: int, counting: "Counting") -> Date:
        """The due date of "within `n` working days of `start`", counted the `counting` way."""
        return self.add_working_days(start, n - 1 if counting == Counting.INCLUSIVE else n)

    def count_working_days(self, start: Date, end: Date) -> int:
        """Working days in `[start, end)` (negative if `end` is before `start`)."""
        if end < start:
            return -self.count_working_days(end, start)
        count, day = 0, start
        while day < end:
            if self.is_working_day(day):
                count += 1
            day = day.add_days(1)
        return count

    def working_days_late(self, due: Date, until: Date) -> int:
        """Working days after `due` up to and including `until` (a non-working `until` counts to the next
        working day); 0 when not after `due`."""
        if until <= due:
            return 0
        counted = until
        while not self.is_working_day(counted):
            counted = counted.add_days(1)
        return max(self.count_working_days(due.add_days(1), counted.add_days(1)), 0)


@dataclass
class EvaluationInput:
    evaluation_date: Date
    known_at: Timestamp
    child: ChildFacts
    events: List[JourneyEvent]
    calendar: Calendar
    parameters: str = ""

    def parameters_over(self, defaults: str, cls: Type[T]) -> T:
        """The policy's parameters decoded into the dataclass `cls`, each top-level field defaulting to the
        same field of `defaults` (the JSON text of the policy's shipped `parameters.json`). An unknown or
        wrong field is refused with `InvalidParameters` naming it: `parameter `days`: expected an integer`."""
        return decode_parameters(self.parameters, defaults, cls, InvalidParameters, Failed)

    def event(self, event_id: str) -> Optional[JourneyEvent]:
        """The event with this id (retracted or not)."""
        for e in self.events:
            if e.event_id == event_id:
                return e
        return None

    def in_force(self) -> Iterator[JourneyEvent]:
        """Every event but the retracted ones, in the order they occurred."""
        return (e for e in self.events if e.status != EventStatus.RETRACTED)

    def of_kind(self, kind: str) -> Iterator[JourneyEvent]:
        """The events in force of one kind ("ContactReceived"), in the order they occurred."""
        return (e for e in self.events if e.kind == kind and e.status != EventStatus.RETRACTED)

    def of_kinds(self, kinds: Sequence[str]) -> Iterator[JourneyEvent]:
        return (e for e in self.events if e.kind in kinds and e.status != EventStatus.RETRACTED)

    def between(self, kind: str, start: Date, until: Optional[Date] = None) -> Iterator[JourneyEvent]:
        """The events in force of `kind` on or after `start` and (if given) before `until`."""
        return (e for e in self.of_kind(kind) if e.occurred_on >= start and (until is None or e.occurred_on < until))

    def last_of_kind(self, kind: str) -> Optional[JourneyEvent]:
        last = None
        for e in self.of_kind(kind):
            last = e
        return last

    def date_of_birth(self) -> Optional[Date]:
        return self.child.date_of_birth

    def age_on(self, on: Date) -> Optional[int]:
        """The child's age in completed years on `on`; None if the date of birth is unknown or after `on`."""
        dob = self.child.date_of_birth
        return dob.age_on(on) if dob is not None else None

    def birthday(self, n: int) -> Optional[Date]:
        dob = self.child.date_of_birth
        return dob.birthday(n) if dob is not None else None

    def periods(self, start_kind: str, end_kind: str) -> List["Period"]:
        """The spans opened by `start_kind` and closed by the next `end_kind` (a start while one is open and
        an end with none open are ignored)."""
        return self._periods_opened_by((start_kind,), end_kind)

    def _periods_opened_by(self, start_kinds: Sequence[str], end_kind: str) -> List["Period"]:
        periods: List[Period] = []
        for e in self.in_force():
            is_open = bool(periods) and periods[-1].end is None
            if e.kind in start_kinds and not is_open:
                periods.append(Period(e, None))
            elif e.kind == end_kind and is_open:
                periods[-1].end = e
        return periods

    def open_period_on(self, start_kind: str, end_kind: str, on: Date) -> Optional["Period"]:
        """The span of `start_kind`..`end_kind` open on `on`, if any."""
        for p in reversed(self.periods(start_kind, end_kind)):
            if p.is_open_on(on):
                return p
        return None

    def child_in_need_episode_on(self, on: Date) -> Optional["Period"]:
        """The child in need episode open on `on`: from the latest referral on or before `on` not closed
        with no further action, to the first `ChildInNeedEpisodeClosed` after it."""
        referral = None
        for r in self.of_kind("ReferralReceived"):
            if r.occurred_on <= on and r.flag("no_further_action") is not True:
                referral = r
        if referral is None:
            return None
        after = next(i for i, e in enumerate(self.events) if e is referral) + 1
        end = next(
            (e for e in self.events[after:] if not e.is_retracted() and e.kind == "ChildInNeedEpisodeClosed"),
            None,
        )
        episode = Period(referral, end)
        return episode if episode.is_open_on(on) else None

    def care_periods(self) -> List["CarePeriod"]:
        """The periods of care that began on a recorded date (`BecameLookedAfter` .. `CeasedToBeLookedAfter`),
        each with its legal statuses and placements, in order."""
        return self._care_periods_opened_by(("BecameLookedAfter",))

    def all_care_periods(self) -> List["CarePeriod"]:
        """As `care_periods`, with a period found in progress when history was imported (start unknown)."""
        return self._care_periods_opened_by(("BecameLookedAfter", CARE_FOUND_IN_PROGRESS))

    def _care_periods_opened_by(self, start_kinds: Sequence[str]) -> List["CarePeriod"]:
        out = []
        for period in self._periods_opened_by(start_kinds, "CeasedToBeLookedAfter"):
            until = period.ends_on()
            statuses: List[LegalStatusSpan] = []
            placements: List[Tuple[JourneyEvent, str]] = []
            first = next((i for i, e in enumerate(self.events) if e is period.start), 0)
            for e in self.events[first:]:
                if e.is_retracted():
                    continue
                if until is not None and e.occurred_on >= until:
                    break
                if e is not period.start and e.kind not in ("LegalStatusChanged", "PlacementChanged"):
                    continue
                placed = e.json()
                status = placed.get("legal_status") if isinstance(placed, dict) else None
                if status is not None and not isinstance(status, str):
                    raise Failed(f"cannot read the content of {e.kind} event {e.event_id}: legal_status: expected a string")
                if status is not None and (not statuses or statuses[-1].legal_status != status):
                    if statuses:
                        statuses[-1].until = e.occurred_on
                    statuses.append(LegalStatusSpan(status, e.occurred_on, until, e))
                placement = placed.get("placement") if isinstance(placed, dict) else None
                if placement is not None:
                    place_type = placement.get("place_type") if isinstance(placement, dict) else None
                    if not isinstance(place_type, str):
                        raise Failed(
                            f"cannot read the content of {e.kind} event {e.event_id}: placement.place_type: expected a string"
                        )
                    placements.append((e, place_type))
            out.append(CarePeriod(period, statuses, placements))
        return out

    def disabilities(self) -> Optional[Tuple[List[str], JourneyEvent]]:
        """The child's disability codes as last recorded (registration, then any `ChildDetailsAmended` that
        lists them), other than `NONE`, with the event that recorded them."""
        found = None
        for e in self.of_kinds(("ChildRegistered", "ChildDetailsAmended")):
            codes = e.get("disabilities")
            if _is_strings(codes):
                found = ([c for c in codes if c != "NONE"], e)
        if found is None or not found[0]:
            return None
        return found


def _is_strings(value: Any) -> bool:
    return isinstance(value, list) and all(isinstance(v, str) for v in value)


CARE_FOUND_IN_PROGRESS = "CareInProgressRecorded"
"""The event that opens a period of care found in progress when history was imported."""


@dataclass
class Period:
    """A span of the journey opened by one event and closed by another (`end` None while open)."""

    start: JourneyEvent
    end: Optional[JourneyEvent]

    def starts_on(self) -> Date:
        return self.start.occurred_on

    def ends_on(self) -> Optional[Date]:
        """The day it ended (the first day it no longer applied), if it has."""
        return self.end.occurred_on if self.end is not None else None

    def is_open_on(self, on: Date) -> bool:
        """True when it had started by `on` and had not yet ended."""
        end = self.ends_on()
        return self.starts_on() <= on and (end is None or end > on)

    def days_within(self, start: Date, until: Date) -> int:
        """Whole days of the period in `[start, until)`; an open period runs to `until`."""
        first = max(self.starts_on(), start)
        end = self.ends_on()
        last = until if end is None else min(end, until)
        return max(first.days_until(last), 0)

    def event_ids(self) -> List[str]:
        """The ids of its start and end events, for a `Reason`."""
        return [self.start.event_id] + ([self.end.event_id] if self.end is not None else [])


@dataclass
class LegalStatusSpan:
    legal_status: str
    start: Date
    until: Optional[Date]
    event: JourneyEvent


@dataclass
class CarePeriod:
    period: Period
    legal_statuses: List[LegalStatusSpan]
    placements: List[Tuple[JourneyEvent, str]]

    def start_unknown(self) -> bool:
        return self.period.start.kind == CARE_FOUND_IN_PROGRESS

    def is_short_breaks(self, short_breaks: Sequence[str]) -> bool:
        """True when every legal status of the period is one of `short_breaks` ("V3", "V4")."""
        return all(s.legal_status in short_breaks for s in self.legal_statuses)

    def placement_on(self, on: Date) -> Optional[str]:
        if not self.period.is_open_on(on):
            return None
        for e, place_type in reversed(self.placements):
            if e.occurred_on <= on:
                return place_type
        return None

    def end_reason(self) -> Optional[str]:
        return self.period.end.code("reason") if self.period.end is not None else None


@dataclass
class Reason:
    text: str
    event_ids: List[str] = field(default_factory=list)


@dataclass
class LevelOfNeed:
    level: int
    label: str
    reasons: List[Reason]


class Service(Enum):
    NONE = 0
    EARLY_HELP = 1
    CHILD_IN_NEED = 2
    CHILD_PROTECTION = 3
    LOOKED_AFTER = 4
    LEAVING_CARE = 5


class StepDirection(Enum):
    STEP_UP = 0
    STEP_DOWN = 1
    STAY = 2
    CLOSE = 3


@dataclass
class StepRecommendation:
    current: Service
    recommended: Service
    direction: StepDirection
    reasons: List[Reason]


@dataclass
class Entitlement:
    name: str
    category: Optional[str]
    starts_on: Date
    ends_on: Optional[Date]
    reasons: List[Reason]


class TimeUnit(Enum):
    HOURS = 0
    CALENDAR_DAYS = 1
    WORKING_DAYS = 2


@dataclass
class Lateness:
    amount: int
    unit: TimeUnit

    def __str__(self) -> str:
        one, many = {
            TimeUnit.HOURS: ("hour", "hours"),
            TimeUnit.CALENDAR_DAYS: ("day", "days"),
            TimeUnit.WORKING_DAYS: ("working day", "working days"),
        }[self.unit]
        return f"{self.amount} {one if self.amount == 1 else many}"


class Counting(Enum):
    INCLUSIVE = 0
    EXCLUSIVE = 1


class DeadlineStatus(Enum):
    MET = 0
    MISSED = 1
    OPEN = 2
    NOT_APPLICABLE = 3


@dataclass
class Deadline:
    name: str
    rule: str
    source: str
    starts_on: Optional[Date]
    due_on: Optional[Date]
    due_at: Optional[Timestamp]
    counting: Optional[Counting]
    status: DeadlineStatus
    completed_on: Optional[Date]
    completed_at: Optional[Timestamp]
    late_by: Optional[Lateness]
    reasons: List[Reason]


class Severity(Enum):
    INFO = 0
    WARNING = 1
    URGENT = 2


@dataclass
class Alert:
    code: str
    severity: Severity
    message: str
    reasons: List[Reason]


class RetentionStatus(Enum):
    UNTIL = 0
    INDEFINITELY = 1
    UNDETERMINED = 2
    HELD = 3


@dataclass
class Retention:
    status: RetentionStatus
    destroy_from: Optional[Date]
    runs_from: Optional[Date]
    rule: str
    source: str
    reasons: List[Reason]


@dataclass
class Decisions:
    """What a policy decided: fill in only what the policy is about."""

    level_of_need: Optional[LevelOfNeed] = None
    step: Optional[StepRecommendation] = None
    entitlements: List[Entitlement] = field(default_factory=list)
    deadlines: List[Deadline] = field(default_factory=list)
    alerts: List[Alert] = field(default_factory=list)
    retention: Optional[Retention] = None


class PolicyKind(Enum):
    LEVEL_OF_NEED = 0
    STEP_UP_STEP_DOWN = 1
    CARE_LEAVER_ENTITLEMENTS = 2
    STATUTORY_TIMESCALES = 3
    RETENTION = 4
    OTHER = 5


@dataclass
class PolicyInfo:
    name: str
    kind: PolicyKind
    version: str
    summary: str
    contract_version: str = ""


class PolicyError(Exception):
    """A policy's considered refusal to decide (as opposed to a crash): raise one of the subclasses."""

    def __init__(self, message: str):
        super().__init__(message)
        self.message = message


class InvalidParameters(PolicyError):
    """The deployed parameters are wrong: the message says which and why."""

    @staticmethod
    def field(name: str, problem: str) -> "InvalidParameters":
        return InvalidParameters(f"parameter `{name}`: {problem}")

    @staticmethod
    def check(ok: bool, name: str, problem: str) -> None:
        """Raises `parameter `name`: problem` unless `ok`."""
        if not ok:
            raise InvalidParameters.field(name, problem)


class UnsupportedInput(PolicyError):
    """The input is outside what the policy handles."""


class Failed(PolicyError):
    """Anything else the policy wants to report."""
