"""A hostile policy: allocates without bound (the host's memory limit stops it)."""

from journey_policy import Decisions, EvaluationInput, PolicyInfo, PolicyKind


def about() -> PolicyInfo:
    return PolicyInfo("python-unbounded-allocation", PolicyKind.OTHER, "0.1.0", "Allocates for ever.")


def evaluate(input: EvaluationInput) -> Decisions:
    hoard = []
    while True:
        hoard.append(bytearray(1 << 20))
