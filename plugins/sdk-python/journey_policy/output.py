"""Building decisions: reasons that cite events, and deadlines judged the same way by every policy."""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Iterable, List, Optional, Union

from .dates import Date, hours_between
from .types import Calendar, Counting, Deadline, DeadlineStatus, JourneyEvent, Lateness, Reason, TimeUnit


def reason(text: str, *cites: Union[str, JourneyEvent, Iterable[Union[str, JourneyEvent]]]) -> Reason:
    """A reason resting on these events (ids or events, or lists of them): `reason("Referred", referral)`."""
    ids: List[str] = []

    def add(item: Union[str, JourneyEvent]) -> None:
        ids.append(item if isinstance(item, str) else item.event_id)

    for cite in cites:
        if isinstance(cite, (str, JourneyEvent)):
            add(cite)
        else:
            for item in cite:
                add(item)
    return Reason(text, ids)


def because(text: str) -> Reason:
    """A reason that rests on no event ("no referral is recorded")."""
    return Reason(text, [])


@dataclass(frozen=True)
class Rule:
    """What a deadline is: its stable name, the rule in words, and where the rule comes from."""

    name: str
    rule: str
    source: str


def judge(due: Date, completed: Optional[Date], evaluation_date: Date) -> "tuple[DeadlineStatus, Optional[int]]":
    """Met (done by the due date), missed (done late, or not done and past due) or open; with the calendar
    days late for missed."""
    if completed is not None:
        if completed <= due:
            return DeadlineStatus.MET, None
        return DeadlineStatus.MISSED, due.days_until(completed)
    if evaluation_date > due:
        return DeadlineStatus.MISSED, due.days_until(evaluation_date)
    return DeadlineStatus.OPEN, None


def judged(
    rule: Rule,
    starts_on: Date,
    due_on: Date,
    completed_on: Optional[Date],
    evaluation_date: Date,
    reasons: List[Reason],
) -> Deadline:
    """A deadline that applies, judged on `evaluation_date`, late by calendar days (see
    `late_in_working_days` for a rule in working days)."""
    status, days_late = judge(due_on, completed_on, evaluation_date)
    return Deadline(
        name=rule.name,
        rule=rule.rule,
        source=rule.source,
        starts_on=starts_on,
        due_on=due_on,
        due_at=None,
        counting=None,
        status=status,
        completed_on=completed_on,
        completed_at=None,
        late_by=Lateness(days_late, TimeUnit.CALENDAR_DAYS) if days_late is not None else None,
        reasons=reasons,
    )


def judged_at(
    rule: Rule,
    starts_on: Date,
    due_at: int,
    completed_at: Optional[int],
    evaluation_date: Date,
    reasons: List[Reason],
) -> Deadline:
    """An hour-based deadline judged by instants (the 72-hour return interview): late by whole hours."""
    due_on = Date.in_england_at(due_at)
    late_by = None
    if completed_at is not None:
        status = DeadlineStatus.MET if completed_at <= due_at else DeadlineStatus.MISSED
        if status == DeadlineStatus.MISSED:
            late_by = Lateness(hours_between(due_at, completed_at), TimeUnit.HOURS)
    elif evaluation_date > due_on:
        status = DeadlineStatus.MISSED
        late_by = Lateness(hours_between(due_at, evaluation_date.instant_in_england(None)), TimeUnit.HOURS)
    else:
        status = DeadlineStatus.OPEN
    return Deadline(
        name=rule.name,
        rule=rule.rule,
        source=rule.source,
        starts_on=starts_on,
        due_on=due_on,
        due_at=due_at,
        counting=None,
        status=status,
        completed_on=Date.in_england_at(completed_at) if completed_at is not None else None,
        completed_at=completed_at,
        late_by=late_by,
        reasons=reasons,
    )


def late_in_working_days(deadline: Deadline, calendar: Calendar) -> Deadline:
    """The same deadline with its lateness in working days (for a rule in working days)."""
    late = deadline.late_by
    if late is None or late.unit != TimeUnit.CALENDAR_DAYS or deadline.due_on is None:
        return deadline
    until = deadline.due_on.add_days(late.amount)
    working = max(calendar.working_days_late(deadline.due_on, until), 1)
    return replace(deadline, late_by=Lateness(working, TimeUnit.WORKING_DAYS))


def counted(deadline: Deadline, counting: Counting) -> Deadline:
    """The same deadline saying how its due date was counted from its start."""
    return replace(deadline, counting=counting)


def not_applicable(rule: Rule, starts_on: Optional[Date], reasons: List[Reason]) -> Deadline:
    """A timescale that does not apply, and why."""
    return Deadline(
        name=rule.name,
        rule=rule.rule,
        source=rule.source,
        starts_on=starts_on,
        due_on=None,
        due_at=None,
        counting=None,
        status=DeadlineStatus.NOT_APPLICABLE,
        completed_on=None,
        completed_at=None,
        late_by=None,
        reasons=reasons,
    )
