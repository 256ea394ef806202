"""Decoding JSON (an event's content, the policy's parameters) into dataclasses, naming the field that does
not fit; and typed contents for the event types policies read most.

Field names and code strings are those of Journey's API (`docs/events.md`). A content class declares only
the fields a policy reads: unknown fields are ignored, and a field left out of the JSON takes the class's
default (a field without a default is required).
"""

from __future__ import annotations

import dataclasses
import json
import typing
from dataclasses import dataclass, field
from typing import Any, Dict, List, Optional, Type, TypeVar, Union

from .dates import Date

T = TypeVar("T")

_HINTS: Dict[type, Dict[str, Any]] = {}


class _Mismatch(Exception):
    def __init__(self, path: str, problem: str):
        super().__init__(f"{path}: {problem}" if path else problem)
        self.path = path
        self.problem = problem


def _hints(cls: type) -> Dict[str, Any]:
    hints = _HINTS.get(cls)
    if hints is None:
        hints = _HINTS[cls] = typing.get_type_hints(cls)
    return hints


def _describe(value: Any) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "a boolean"
    if isinstance(value, (int, float)):
        return "a number"
    if isinstance(value, str):
        return f"the string {value!r}"
    if isinstance(value, list):
        return "a list"
    return "an object"


def _convert(hint: Any, value: Any, path: str, strict: bool) -> Any:
    origin = typing.get_origin(hint)
    if hint is Any:
        return value
    if origin is Union:
        args = [a for a in typing.get_args(hint) if a is not type(None)]
        if value is None:
            return None
        return _convert(args[0], value, path, strict)
    if origin in (list, List):
        if not isinstance(value, list):
            raise _Mismatch(path, f"expected a list, found {_describe(value)}")
        (item,) = typing.get_args(hint) or (Any,)
        return [_convert(item, v, f"{path}[{i}]", strict) for i, v in enumerate(value)]
    if origin in (dict, Dict):
        if not isinstance(value, dict):
            raise _Mismatch(path, f"expected an object, found {_describe(value)}")
        _, item = typing.get_args(hint) or (str, Any)
        return {k: _convert(item, v, f"{path}.{k}", strict) for k, v in value.items()}
    if hint is Date:
        if not isinstance(value, str):
            raise _Mismatch(path, f"expected a date YYYY-MM-DD, found {_describe(value)}")
        try:
            return Date.parse(value)
        except ValueError as e:
            raise _Mismatch(path, str(e)) from None
    if hint is bool:
        if not isinstance(value, bool):
            raise _Mismatch(path, f"expected a boolean, found {_describe(value)}")
        return value
    if hint is int:
        if isinstance(value, bool) or not isinstance(value, int):
            raise _Mismatch(path, f"expected an integer, found {_describe(value)}")
        return value
    if hint is float:
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            raise _Mismatch(path, f"expected a number, found {_describe(value)}")
        return float(value)
    if hint is str:
        if not isinstance(value, str):
            raise _Mismatch(path, f"expected a string, found {_describe(value)}")
        return value
    if dataclasses.is_dataclass(hint):
        return _decode(hint, value, path, strict)
    raise TypeError(f"{path}: cannot decode into {hint!r}")


def _decode(cls: type, value: Any, path: str, strict: bool) -> Any:
    if not isinstance(value, dict):
        raise _Mismatch(path, f"expected an object, found {_describe(value)}")
    hints = _hints(cls)
    fields = dataclasses.fields(cls)
    if strict:
        known = {f.name for f in fields}
        for key in value:
            if key not in known:
                where = f"{path}.{key}" if path else key
                raise _Mismatch(where, f"unknown field (expected one of {', '.join(sorted(known))})")
    kwargs = {}
    for f in fields:
        where = f"{path}.{f.name}" if path else f.name
        if f.name in value:
            kwargs[f.name] = _convert(hints[f.name], value[f.name], where, strict)
        elif f.default is dataclasses.MISSING and f.default_factory is dataclasses.MISSING:
            raise _Mismatch(where, "missing")
    return cls(**kwargs)


def decode_content(cls: Type[T], value: Any, what: str, error: type) -> T:
    """`value` (decoded JSON) as the dataclass `cls`; unknown fields ignored. Raises `error` naming `what`
    and the field."""
    try:
        return _decode(cls, value, "", strict=False)
    except _Mismatch as e:
        raise error(f"cannot read {what}: {e}") from None


def decode_parameters(text: str, defaults: str, cls: Type[T], invalid: type, failed: type) -> T:
    """The parameters `text` over the shipped `defaults`, field by field, as the dataclass `cls`, refusing
    unknown fields. Raises `invalid` (`parameter `name`: problem`) or, for broken defaults, `failed`."""
    try:
        merged = json.loads(defaults)
    except ValueError as e:
        raise failed(f"the policy's default parameters: {e}") from None
    if not isinstance(merged, dict):
        raise failed("the policy's default parameters are not an object")
    if text.strip():
        try:
            given = json.loads(text)
        except ValueError as e:
            raise invalid(f"the parameters are not JSON: {e}") from None
        if not isinstance(given, dict):
            raise invalid("the parameters must be a JSON object")
        merged.update(given)
    try:
        return _decode(cls, merged, "", strict=True)
    except _Mismatch as e:
        name = e.path.split(".")[0].split("[")[0]
        rest = e.path[len(name) :].lstrip(".")
        raise invalid(f"parameter `{name}`: {rest + ': ' if rest else ''}{e.problem}") from None


# ---------------------------------------------------------------------------------------------------------
# Typed contents of common event types (read with `event.data(ContactReceived)`, or `content_of(event)`).
# ---------------------------------------------------------------------------------------------------------


@dataclass
class Placement:
    place_type: str
    provider: Optional[str] = None
    postcode: Optional[str] = None


@dataclass
class ChildRegistered:
    date_of_birth: Optional[Date] = None
    expected_date_of_birth: Optional[Date] = None
    sex: Optional[str] = None
    disabilities: Optional[List[str]] = None


@dataclass
class ChildDetailsAmended:
    date_of_birth: Optional[Date] = None
    disabilities: Optional[List[str]] = None


@dataclass
class ContactReceived:
    source: Optional[str] = None
    concerns: List[str] = field(default_factory=list)


@dataclass
class ContactDecided:
    contact_event_id: Optional[str] = None
    outcome: Optional[str] = None
    level_of_need: Optional[int] = None


@dataclass
class ReferralReceived:
    source: Optional[str] = None
    no_further_action: Optional[bool] = None


@dataclass
class AssessmentCompleted:
    factors: List[str] = field(default_factory=list)


@dataclass
class EarlyHelpAssessmentCompleted:
    factors: List[str] = field(default_factory=list)


@dataclass
class BecameLookedAfter:
    legal_status: Optional[str] = None
    reason_new_episode: Optional[str] = None
    placement: Optional[Placement] = None


@dataclass
class LegalStatusChanged:
    legal_status: str


@dataclass
class PlacementChanged:
    placement: Optional[Placement] = None


@dataclass
class CeasedToBeLookedAfter:
    reason: Optional[str] = None


@dataclass
class ChildInNeedEpisodeClosed:
    reason: Optional[str] = None


CONTENT_TYPES: Dict[str, type] = {
    cls.__name__: cls
    for cls in (
        ChildRegistered,
        ChildDetailsAmended,
        ContactReceived,
        ContactDecided,
        ReferralReceived,
        AssessmentCompleted,
        EarlyHelpAssessmentCompleted,
        BecameLookedAfter,
        LegalStatusChanged,
        PlacementChanged,
        CeasedToBeLookedAfter,
        ChildInNeedEpisodeClosed,
    )
}
"""The typed content class of each event type the SDK knows, by the event's `kind`."""


def content_of(event: Any) -> Any:
    """The event's content as its typed class (`CONTENT_TYPES[event.kind]`), or as a dict for other kinds."""
    cls = CONTENT_TYPES.get(event.kind)
    return event.data(cls) if cls is not None else event.json()
