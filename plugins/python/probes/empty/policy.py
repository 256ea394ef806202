"""A probe for the Python evaluation benchmark (plugins/benches/python.rs): decides nothing, so that its cost
is what every Python policy pays before its rules run (instantiating the pre-initialised interpreter,
lowering the input into Python objects, the SDK's conversion to its own types, returning)."""

from journey_policy import Decisions, EvaluationInput, PolicyInfo, PolicyKind


def about() -> PolicyInfo:
    return PolicyInfo("python-empty", PolicyKind.OTHER, "0.1.0", "Decides nothing: a benchmark probe.")


def evaluate(input: EvaluationInput) -> Decisions:
    return Decisions()
