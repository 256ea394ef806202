"""The component's side of the contract: converts the bindings componentize-py generates from the WIT to the
SDK's types and back, and calls the policy module's `about()` and `evaluate(input)`.

`journey policy build` writes the component's entry module, which exports the contract's `Policy` interface
through `export(policy_module)`; a policy never imports this module itself.
"""

from __future__ import annotations

import dataclasses
from enum import Enum
from typing import Any

from . import CONTRACT_VERSION
from .dates import Date, TimeOfDay
from .types import (
    Calendar,
    ChildFacts,
    Decisions,
    EvaluationInput,
    EventStatus,
    Failed,
    InvalidParameters,
    JourneyEvent,
    PolicyError,
    PolicyInfo,
    UnsupportedInput,
)

_STATUS = {s.value: s for s in EventStatus}


def _date(d: Any) -> Date:
    return Date(d.year, d.month, d.day)


def _optional_date(d: Any) -> Any:
    return None if d is None else Date(d.year, d.month, d.day)


def lift_input(i: Any) -> EvaluationInput:
    """The generated `EvaluationInput` as the SDK's."""
    c = i.child
    cal = i.calendar
    events = []
    for e in i.events:
        t = e.occurred_time
        events.append(
            JourneyEvent(
                e.event_id,
                e.version,
                e.kind,
                e.stage,
                Date(e.occurred_on.year, e.occurred_on.month, e.occurred_on.day),
                None if t is None else TimeOfDay(t.hour, t.minute, t.second),
                e.recorded_at,
                _STATUS[e.status.value],
                e.content,
                e.caused_by,
                list(e.amended_by),
            )
        )
    return EvaluationInput(
        _date(i.evaluation_date),
        i.known_at,
        ChildFacts(
            c.child_id,
            _optional_date(c.date_of_birth),
            _optional_date(c.expected_date_of_birth),
            _optional_date(c.died_on),
            c.age,
            c.summary,
        ),
        events,
        Calendar(cal.version, _date(cal.covers_from), _date(cal.covers_to), [_date(d) for d in cal.bank_holidays]),
        i.parameters,
    )


def lower(value: Any, wit: Any) -> Any:
    """An SDK value as the generated bindings' (classes matched by name, fields by name)."""
    if value is None or isinstance(value, (str, int, float, bool)):
        return value
    if isinstance(value, Date):
        return wit.Date(value.year, value.month, value.day)
    if isinstance(value, list):
        return [lower(v, wit) for v in value]
    if isinstance(value, Enum):
        return getattr(wit, type(value).__name__)[value.name]
    if dataclasses.is_dataclass(value):
        cls = getattr(wit, type(value).__name__)
        return cls(**{f.name: lower(getattr(value, f.name), wit) for f in dataclasses.fields(cls)})
    raise TypeError(f"a policy returned a {type(value).__name__}, which is not part of the contract")


def export(module: Any, wit: Any, err: Any) -> Any:
    """The class implementing the contract's `policy` interface for the policy module `module`."""

    class Policy:
        def about(self) -> Any:
            info = module.about()
            if not isinstance(info, PolicyInfo):
                raise TypeError("about() must return a journey_policy.PolicyInfo")
            return lower(dataclasses.replace(info, contract_version=CONTRACT_VERSION), wit)

        def evaluate(self, input: Any) -> Any:
            try:
                decisions = module.evaluate(lift_input(input))
            except InvalidParameters as e:
                raise err(wit.PolicyError_InvalidParameters(e.message)) from None
            except UnsupportedInput as e:
                raise err(wit.PolicyError_UnsupportedInput(e.message)) from None
            except PolicyError as e:
                raise err(wit.PolicyError_Failed(e.message)) from None
            if not isinstance(decisions, Decisions):
                raise TypeError("evaluate() must return a journey_policy.Decisions")
            return lower(decisions, wit)

    return Policy
