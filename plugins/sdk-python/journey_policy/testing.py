"""Testing a policy natively, under pytest: build inputs by hand, or run the policy's example cases
(`examples/*.json`, the same files `journey policy test` runs in the sandbox) against its `evaluate`.

    # tests/test_policy.py
    import pytest
    import policy
    from journey_policy.testing import example_cases, run_example

    @pytest.mark.parametrize("case", example_cases("examples"), ids=lambda case: case.name)
    def test_example(case):
        run_example(policy, case, parameters="parameters.json")

Natively, an example's input is built here from its events, as the host builds it but for three things, so
`journey policy test` stays the judge: the child summary is `{}` (the host derives it from the events), each
event's `stage` is empty, and corrections and retractions are not applied (a case with them is skipped, with
a message saying so). For tests only: in production the host supplies the calendar, from the data version it
records as evidence.
"""

from __future__ import annotations

import dataclasses
import json
import os
from dataclasses import dataclass
from enum import Enum
from pathlib import Path
from typing import Any, Dict, List, Optional, Union

from .dates import DAY_MICROS, Date, TimeOfDay
from .types import Calendar, ChildFacts, Decisions, EvaluationInput, EventStatus, JourneyEvent, PolicyError

_DATA = "bank-holidays-england-and-wales.json"


def _calendar_file() -> Path:
    here = Path(__file__).resolve().parent
    # Written out beside a policy: sdk/python/journey_policy -> sdk/data. In Journey's repository:
    # plugins/sdk-python/journey_policy -> plugins/data.
    for candidate in (here.parent.parent / "data" / _DATA, here / "data" / _DATA):
        if candidate.is_file():
            return candidate
    raise FileNotFoundError(f"the bank-holiday data {_DATA} is not beside the SDK ({here.parent.parent / 'data'})")


def england_and_wales() -> Calendar:
    """England and Wales bank holidays from the data the SDK was written out with (the host's data)."""
    data = json.loads(_calendar_file().read_text())
    return Calendar(
        data["version"],
        Date.parse(data["covers_from"]),
        Date.parse(data["covers_to"]),
        [Date.parse(h["date"]) for h in data["holidays"]],
    )


def event(event_id: str, kind: str, occurred_on: str, content: Optional[Dict[str, Any]] = None) -> JourneyEvent:
    """An event as the host would send it: in force, recorded at midnight UTC on the day it occurred."""
    on = Date.parse(occurred_on)
    return JourneyEvent(
        event_id=event_id,
        version=0,
        kind=kind,
        stage="",
        occurred_on=on,
        occurred_time=None,
        recorded_at=on.days_since_epoch() * DAY_MICROS,
        status=EventStatus.CURRENT,
        content=json.dumps(content or {}),
    )


def input(evaluation_date: str, events: List[JourneyEvent], parameters: str = "", date_of_birth: Optional[str] = None) -> EvaluationInput:
    """An input judging `evaluation_date` with these events (numbered in the order given), the SDK's calendar,
    and `parameters` (JSON text; empty for the policy's defaults)."""
    for i, e in enumerate(events):
        e.version = i + 1
    on = Date.parse(evaluation_date)
    dob = Date.parse(date_of_birth) if date_of_birth else None
    return EvaluationInput(
        evaluation_date=on,
        known_at=(on.days_since_epoch() + 1) * DAY_MICROS,
        child=ChildFacts("TEST-1", dob, None, None, dob.age_on(on) if dob else None, "{}"),
        events=events,
        calendar=england_and_wales(),
        parameters=parameters,
    )


@dataclass
class ExampleCase:
    """One worked case, as in `examples/*.json`."""

    name: str
    evaluation_date: str
    events: List[Dict[str, Any]]
    expect: Dict[str, Any]
    description: str = ""
    parameters: Optional[Dict[str, Any]] = None
    file: str = ""


def example_cases(folder: Union[str, os.PathLike] = "examples") -> List[ExampleCase]:
    """The example cases in `folder` (relative to the working directory), in file-name order."""
    cases = []
    for path in sorted(Path(folder).glob("*.json")):
        data = json.loads(path.read_text())
        known = {f.name for f in dataclasses.fields(ExampleCase)} - {"file"}
        unknown = set(data) - known
        if unknown:
            raise ValueError(f"{path}: unknown field(s) {', '.join(sorted(unknown))} in an example case")
        cases.append(ExampleCase(file=str(path), **data))
    if not cases:
        raise FileNotFoundError(f"no example cases (*.json) in {Path(folder).resolve()}")
    return cases


def _occurred(text: str) -> "tuple[Date, Optional[TimeOfDay]]":
    date = Date.parse(text[:10])
    if len(text) == 10:
        return date, None
    clock = text[11:].split(":")
    return date, TimeOfDay(int(clock[0]), int(clock[1]), int(clock[2]) if len(clock) > 2 else 0)


def example_input(case: ExampleCase, parameters: Any = None) -> EvaluationInput:
    """The input the host would build for `case` (see the module's note for what differs natively)."""
    on = Date.parse(case.evaluation_date)
    amendments = [e["type"] for e in case.events if e["type"] in ("EventCorrected", "EventRetracted")]
    if amendments:
        import pytest

        pytest.skip(f"{case.name}: {amendments[0]} is applied by the host only; `journey policy test` runs this case")
    known_at = on.add_days(1).days_since_epoch() * DAY_MICROS - 1
    recorded = []
    for version, e in enumerate(case.events, start=1):
        occurred_on, occurred_time = _occurred(e["occurred_at"])
        recorded.append(
            JourneyEvent(
                event_id=e["event_id"],
                version=version,
                kind=e["type"],
                stage="",
                occurred_on=occurred_on,
                occurred_time=occurred_time,
                recorded_at=known_at,
                status=EventStatus.CURRENT,
                content=json.dumps(e.get("data", {}), separators=(",", ":")),
                caused_by=e.get("causation_id"),
            )
        )
    events = sorted((e for e in recorded if e.occurred_on <= on), key=lambda e: (e.occurred_on, e.version))
    dob = expected = None
    for e in events:
        if e.kind in ("ChildRegistered", "ChildDetailsAmended"):
            dob = Date.parse(e.get("date_of_birth")) if e.get("date_of_birth") else dob
            expected = Date.parse(e.get("expected_date_of_birth")) if e.get("expected_date_of_birth") else expected
    chosen = case.parameters if case.parameters is not None else parameters
    return EvaluationInput(
        evaluation_date=on,
        known_at=known_at,
        child=ChildFacts("EXAMPLE-1", dob, expected, None, dob.age_on(on) if dob else None, "{}"),
        events=events,
        calendar=england_and_wales(),
        parameters=json.dumps(chosen) if chosen is not None else "",
    )


def to_json(value: Any) -> Any:
    """Decisions (or any contract value) as the host writes them in JSON: dates `YYYY-MM-DD`, enum cases in
    kebab-case (`not-applicable`), field names as in the contract with `_`."""
    if isinstance(value, Date):
        return str(value)
    if isinstance(value, Enum):
        return value.name.lower().replace("_", "-")
    if dataclasses.is_dataclass(value):
        return {f.name: to_json(getattr(value, f.name)) for f in dataclasses.fields(value)}
    if isinstance(value, list):
        return [to_json(v) for v in value]
    return value


def mismatch(expect: Any, actual: Any, path: str = "") -> Optional[str]:
    """Where `expect` is not a subset of `actual` (objects key by key, lists element by element with the same
    length, scalars equal), as `path: problem`; None when it is."""
    if isinstance(expect, dict):
        if not isinstance(actual, dict):
            return f"{path or '.'}: expected an object, got {json.dumps(actual)}"
        for key, want in expect.items():
            where = f"{path}.{key}" if path else key
            if key not in actual:
                return f"{where}: missing"
            found = mismatch(want, actual[key], where)
            if found:
                return found
        return None
    if isinstance(expect, list):
        if not isinstance(actual, list) or len(actual) != len(expect):
            return f"{path}: expected {len(expect)} item(s), got {json.dumps(actual)}"
        for i, (want, got) in enumerate(zip(expect, actual)):
            found = mismatch(want, got, f"{path}[{i}]")
            if found:
                return found
        return None
    if expect != actual:
        return f"{path}: expected {json.dumps(expect)}, got {json.dumps(actual)}"
    return None


def run_example(policy: Any, case: ExampleCase, parameters: Union[None, str, os.PathLike, Dict[str, Any]] = None) -> Decisions:
    """Runs `case` against the policy module's `evaluate`; raises AssertionError naming the case and the
    path where the decisions differ from its `expect`. `parameters` is the policy's parameters (a dict or
    the path of `parameters.json`) unless the case has its own."""
    if isinstance(parameters, (str, os.PathLike)):
        parameters = json.loads(Path(parameters).read_text())
    try:
        decisions = policy.evaluate(example_input(case, parameters))
    except PolicyError as e:
        raise AssertionError(f"{case.name}: the policy refused with {type(e).__name__}: {e.message}") from None
    problem = mismatch(case.expect, to_json(decisions))
    if problem:
        raise AssertionError(f"{case.name} at `{problem}`")
    return decisions
