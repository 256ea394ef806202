"""A hostile policy: never finishes (the host's fuel, then its deadline, stop it)."""

from journey_policy import Decisions, EvaluationInput, PolicyInfo, PolicyKind


def about() -> PolicyInfo:
    return PolicyInfo("python-infinite-loop", PolicyKind.OTHER, "0.1.0", "Loops for ever.")


def evaluate(input: EvaluationInput) -> Decisions:
    n = 0
    while True:
        n += len(input.events) + 1
