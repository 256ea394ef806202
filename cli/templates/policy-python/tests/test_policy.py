"""The policy's rules and example cases, natively: `python -m pytest` in the policy's folder."""

import pytest

import policy
from journey_policy import InvalidParameters
from journey_policy.testing import event, example_cases, input, run_example


@pytest.mark.parametrize("case", example_cases("examples"), ids=lambda case: case.name)
def test_example(case):
    run_example(policy, case, parameters="parameters.json")


def test_a_second_referral_within_a_year_raises_an_alert():
    # 29 February 2024 plus twelve months is 28 February 2025: within the year.
    decisions = policy.evaluate(
        input(
            "2025-03-31",
            [
                event("r-1", "ReferralReceived", "2024-02-29", {"no_further_action": False}),
                event("r-2", "ReferralReceived", "2025-02-28", {"no_further_action": False}),
            ],
        )
    )
    assert len(decisions.alerts) == 1
    assert decisions.alerts[0].reasons[0].event_ids == ["r-1", "r-2"]


def test_referrals_a_year_and_a_day_apart_raise_none():
    decisions = policy.evaluate(
        input(
            "2025-03-31",
            [
                event("r-1", "ReferralReceived", "2024-02-28", {"no_further_action": False}),
                event("r-2", "ReferralReceived", "2025-03-01", {"no_further_action": False}),
            ],
        )
    )
    assert decisions.alerts == []


def test_a_wrong_parameter_is_refused_by_name():
    with pytest.raises(InvalidParameters) as refused:
        policy.evaluate(input("2025-03-31", [], parameters='{"within_months": 0}'))
    assert refused.value.message == "parameter `within_months`: must be at least 1"
