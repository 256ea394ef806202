"""journey-policy: write a Journey policy in plain Python.

A policy is a module `policy.py` with two functions:

    from journey_policy import *

    def about() -> PolicyInfo:
        return PolicyInfo("my-policy", PolicyKind.OTHER, "0.1.0", "What it decides, in one paragraph.")

    def evaluate(input: EvaluationInput) -> Decisions:
        decisions = Decisions()
        for contact in input.of_kind("ContactReceived"):
            ...  # rules
        return decisions

`journey policy build` makes it a WebAssembly component exporting `journey:policy/policy@2.0.0` (the
contract, `wit/policy-2.0.0.wit` beside this package); `journey policy test` runs its example cases in
Journey's sandbox, and `journey_policy.testing` runs them natively under pytest.

Everything a policy knows is in its input: no files, no network, no environment; the clocks are fixed and
random numbers are a fixed sequence, so the same input always gives the same answer. Use
`input.evaluation_date` for "today" and `input.calendar` for working days. Raise `InvalidParameters`,
`UnsupportedInput` or `Failed` for a considered refusal; any other exception is reported as a crash.
"""

CONTRACT_VERSION = "2.0.0"
"""The contract version this SDK implements: the version of the `journey:policy` WIT package."""



def shipped_parameters(policy_file: str) -> str:
    """The JSON text of the `parameters.json` shipped beside the policy module `policy_file` (pass
    `__file__`): the defaults for `input.parameters_over`. In the component, the text `journey policy build`
    embedded (a guest reads no files); natively, the file."""
    try:
        import journey_policy_shipped  # written by `journey policy build`

        return journey_policy_shipped.PARAMETERS
    except ImportError:
        from pathlib import Path

        return (Path(policy_file).resolve().parent / "parameters.json").read_text()


from .content import CONTENT_TYPES, content_of  # noqa: E402
from .dates import WEEKDAYS, Date, TimeOfDay, days, hours_between  # noqa: E402
from .output import (  # noqa: E402
    Rule,
    because,
    counted,
    judge,
    judged,
    judged_at,
    late_in_working_days,
    not_applicable,
    reason,
)
from .types import (  # noqa: E402
    CARE_FOUND_IN_PROGRESS,
    Alert,
    Calendar,
    CarePeriod,
    ChildFacts,
    Counting,
    Deadline,
    DeadlineStatus,
    Decisions,
    Entitlement,
    EvaluationInput,
    EventStatus,
    Failed,
    InvalidParameters,
    JourneyEvent,
    Lateness,
    LegalStatusSpan,
    LevelOfNeed,
    Period,
    PolicyError,
    PolicyInfo,
    PolicyKind,
    Reason,
    Retention,
    RetentionStatus,
    Service,
    Severity,
    StepDirection,
    StepRecommendation,
    Timestamp,
    TimeUnit,
    UnsupportedInput,
)

__all__ = [name for name in dir() if not name.startswith("_")]
