"""A hostile policy: raises an exception that is not a considered refusal (a crash, reported as one)."""

from journey_policy import Decisions, EvaluationInput, PolicyInfo, PolicyKind


def about() -> PolicyInfo:
    return PolicyInfo("python-raises", PolicyKind.OTHER, "0.1.0", "Raises.")


def evaluate(input: EvaluationInput) -> Decisions:
    thresholds = {1: "universal"}
    return thresholds[len(input.events) + 7]
