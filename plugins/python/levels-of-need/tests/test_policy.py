"""The policy's example cases and rules, natively (`python -m pytest` in the policy's folder)."""

import pytest

import policy
from journey_policy import Date, InvalidParameters
from journey_policy.testing import event, example_cases, input, run_example


@pytest.mark.parametrize("case", example_cases("examples"), ids=lambda case: case.name)
def test_example(case):
    run_example(policy, case, parameters="parameters.json")


def test_a_baby_with_a_parent_misusing_drugs_is_specialist_and_a_teenager_is_targeted():
    i = input("2024-04-01", [event("c1", "ContactReceived", "2024-03-01", {"concerns": ["2B"]})])
    i.child.date_of_birth = Date.ymd(2024, 2, 29)
    assert policy.evaluate(i).level_of_need.level == 4
    i.child.date_of_birth = Date.ymd(2010, 2, 28)
    assert policy.evaluate(i).level_of_need.level == 3


@pytest.mark.parametrize(
    "parameters, message",
    [
        ('{"labels": {"1": "a"}}', "parameter `labels`: must name level 2"),
        ('{"factor_levels": {"2B": 5}}', "parameter `factor_levels`: 2B: a level is 1 to 4"),
        ('{"disability_level": "high"}', "parameter `disability_level`: expected an integer"),
        ('{"disability_levle": 2}', "parameter `disability_levle`: unknown field"),
    ],
)
def test_bad_parameters_name_the_field(parameters, message):
    with pytest.raises(InvalidParameters) as refused:
        policy.evaluate(input("2024-04-01", [], parameters=parameters))
    assert message in refused.value.message
