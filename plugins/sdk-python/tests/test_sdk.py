"""The SDK's own tests (the same cases as the Rust SDK's): `python3 -m unittest discover -s tests` in
plugins/sdk-python, or pytest. Run by cli/tests/python_policies.rs."""

import json
import sys
import unittest
from dataclasses import dataclass, field
from pathlib import Path
from typing import Dict, List, Optional

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from journey_policy import (  # noqa: E402
    Calendar,
    Counting,
    Date,
    DeadlineStatus,
    Failed,
    InvalidParameters,
    Lateness,
    Rule,
    TimeOfDay,
    TimeUnit,
    days,
    judge,
    judged,
    late_in_working_days,
    reason,
)
from journey_policy.content import ContactReceived, content_of  # noqa: E402
from journey_policy.testing import england_and_wales, event, input, mismatch, to_json  # noqa: E402


def calendar() -> Calendar:
    holidays = ["2007-12-25", "2007-12-26", "2024-03-29", "2024-04-01", "2024-05-06"]
    return Calendar("test", Date(2007, 1, 1), Date(2024, 12, 31), [Date.parse(h) for h in holidays])


class Dates(unittest.TestCase):
    def test_days_since_epoch_round_trips(self):
        for n in range(-800_000, 800_000, 997):
            d = Date.from_days_since_epoch(n)
            self.assertTrue(d.is_valid(), d)
            self.assertEqual(d.days_since_epoch(), n)
        self.assertEqual(Date(2000, 3, 1).days_since_epoch(), 11_017)

    def test_months_clamp_and_birthdays_on_29_february(self):
        self.assertEqual(Date(2024, 1, 31).add_months(1), Date(2024, 2, 29))
        self.assertEqual(Date(2023, 1, 31).add_months(1), Date(2023, 2, 28))
        self.assertEqual(Date(2024, 2, 29).add_years(1), Date(2025, 2, 28))
        self.assertEqual(Date(2008, 2, 29).age_on(Date(2026, 2, 27)), 17)
        self.assertEqual(Date(2008, 2, 29).age_on(Date(2026, 2, 28)), 18)
        self.assertIsNone(Date(2008, 2, 29).age_on(Date(2008, 2, 28)))
        self.assertEqual(Date(2024, 1, 31).months_until(Date(2024, 2, 29)), 1)
        self.assertEqual(Date(2024, 3, 15).months_until(Date(2024, 1, 15)), -2)
        self.assertEqual((days(1), days(45)), ("1 day", "45 days"))

    def test_dates_order_hash_parse_and_print(self):
        self.assertLess(Date(2023, 12, 31), Date(2024, 1, 1))
        self.assertEqual(len({Date(2024, 1, 1), Date.parse("2024-01-01")}), 1)
        self.assertEqual(str(Date(987, 6, 5)), "0987-06-05")
        for bad in ["2024-02-30", "2024-1-01", "2024-01-01x", "٢٠٢٤-01-01"]:
            with self.assertRaises(ValueError, msg=bad):
                Date.parse(bad)
        self.assertEqual(Date(1970, 1, 1).weekday(), 3)

    def test_instants_in_england_across_the_clock_changes(self):
        def at(d, h, m=0):
            return d.instant_in_england(TimeOfDay(h, m))

        winter = at(Date(2024, 1, 15), 12)
        self.assertEqual(winter, (Date(2024, 1, 15).days_since_epoch() * 24 + 12) * 3_600_000_000)
        summer = at(Date(2024, 7, 1), 12)
        self.assertEqual(summer, (Date(2024, 7, 1).days_since_epoch() * 24 + 11) * 3_600_000_000)
        self.assertEqual(Date.in_england_at(at(Date(2024, 7, 2), 0, 30)), Date(2024, 7, 2))
        start = at(Date(2024, 3, 29), 22)
        self.assertEqual(Date.describe_instant(start + 72 * 3_600_000_000), "2024-04-01 at 23:00")


class WorkingDays(unittest.TestCase):
    def test_working_days_match_pandas_custom_business_day(self):
        c = calendar()
        for start, n, expected in [
            ("2024-03-28", 0, "2024-03-28"),
            ("2024-03-28", 1, "2024-04-02"),
            ("2024-03-30", 0, "2024-04-02"),
            ("2024-03-30", 1, "2024-04-02"),
            ("2024-03-23", 0, "2024-03-25"),
            ("2024-03-23", 1, "2024-03-25"),
            ("2024-03-29", 1, "2024-04-02"),
            ("2024-04-02", -1, "2024-03-28"),
            ("2007-12-20", 5, "2007-12-31"),
        ]:
            self.assertEqual(str(c.add_working_days(Date.parse(start), n)), expected, f"{start} + {n}")

    def test_both_counting_conventions_and_lateness(self):
        c = calendar()
        thursday = Date(2024, 3, 28)
        self.assertEqual(c.due_within_working_days(thursday, 1, Counting.INCLUSIVE), thursday)
        self.assertEqual(c.due_within_working_days(thursday, 1, Counting.EXCLUSIVE), Date(2024, 4, 2))
        self.assertEqual(c.count_working_days(Date(2024, 3, 28), Date(2024, 4, 3)), 2)
        self.assertEqual(c.count_working_days(Date(2024, 4, 3), Date(2024, 3, 28)), -2)
        # Due on Thursday 28 March 2024, done on Wednesday 3 April: 6 calendar days, 2 working days late.
        rule = Rule("assessment", "within 1 working day", "test")
        d = judged(rule, thursday, thursday, Date(2024, 4, 3), Date(2024, 4, 30), [])
        self.assertEqual((d.status, d.late_by), (DeadlineStatus.MISSED, Lateness(6, TimeUnit.CALENDAR_DAYS)))
        self.assertEqual(str(late_in_working_days(d, c).late_by), "2 working days")
        self.assertEqual(judge(thursday, None, thursday), (DeadlineStatus.OPEN, None))

    def test_the_shipped_calendar_is_the_hosts_data(self):
        c = england_and_wales()
        self.assertTrue(c.is_bank_holiday(Date(2021, 12, 27)))
        self.assertFalse(c.is_working_day(Date(2020, 5, 8)))
        self.assertEqual(str(c.covers_to), "2028-12-31")


@dataclass
class Band:
    name: str
    ages: List[int]


@dataclass
class Parameters:
    days: int
    codes: List[str]
    bands: List[Band] = field(default_factory=list)
    labels: Dict[str, str] = field(default_factory=dict)
    since: Optional[Date] = None


DEFAULTS = json.dumps({"days": 10, "codes": ["V3", "V4"]})


class Decoding(unittest.TestCase):
    def read(self, parameters: str) -> Parameters:
        return input("2024-01-01", [], parameters=parameters).parameters_over(DEFAULTS, Parameters)

    def test_parameters_fall_back_to_the_shipped_defaults_field_by_field(self):
        self.assertEqual(self.read(""), Parameters(10, ["V3", "V4"]))
        self.assertEqual(self.read('{"days": 5}'), Parameters(5, ["V3", "V4"]))
        p = self.read('{"bands": [{"name": "baby", "ages": [0]}], "since": "2020-02-29"}')
        self.assertEqual((p.bands[0].name, p.since), ("baby", Date(2020, 2, 29)))

    def test_a_wrong_parameter_is_refused_by_name(self):
        for given, message in [
            ('{"days": "5"}', "parameter `days`: expected an integer, found the string '5'"),
            ('{"days": true}', "parameter `days`: expected an integer, found a boolean"),
            ('{"codes": [1]}', "parameter `codes`: [0]: expected a string, found a number"),
            ('{"dayz": 5}', "parameter `dayz`: unknown field"),
            ('{"bands": [{"name": "x", "ages": [1], "extra": 1}]}', "parameter `bands`: [0].extra: unknown field"),
            ('{"since": "2021-02-29"}', "parameter `since`: 2021-02-29 is not a real date"),
            ("[1]", "the parameters must be a JSON object"),
            ("{", "the parameters are not JSON"),
        ]:
            with self.assertRaises(InvalidParameters, msg=given) as refused:
                self.read(given)
            self.assertIn(message, refused.exception.message, given)

    def test_event_contents_decode_into_typed_objects_naming_the_field(self):
        contact = event("c-1", "ContactReceived", "2024-03-28", {"source": "2A", "concerns": ["3B"], "other": 1})
        self.assertEqual(contact.data(ContactReceived), ContactReceived("2A", ["3B"]))
        self.assertEqual(content_of(contact).concerns, ["3B"])
        self.assertEqual((contact.code("source"), contact.flag("source")), ("2A", None))
        broken = event("c-2", "ContactReceived", "2024-03-28", {"concerns": "3B"})
        with self.assertRaises(Failed) as refused:
            broken.data(ContactReceived)
        self.assertEqual(
            refused.exception.message,
            "cannot read the content of ContactReceived event c-2: concerns: expected a list, found the string '3B'",
        )
        self.assertEqual(broken.assessment_factors(), [])

    def test_reasons_cite_events_and_the_json_is_the_hosts(self):
        r = reason("Two referrals", event("r-1", "ReferralReceived", "2024-01-01"), "r-2", ["r-3"])
        self.assertEqual(r.event_ids, ["r-1", "r-2", "r-3"])
        rule = Rule("assessment", "45 working days", "test")
        d = judged(rule, Date(2024, 1, 1), Date(2024, 3, 1), None, Date(2024, 3, 2), [r])
        j = to_json(d)
        self.assertEqual((j["status"], j["due_on"], j["late_by"]), ("missed", "2024-03-01", {"amount": 1, "unit": "calendar-days"}))
        self.assertIsNone(mismatch({"status": "missed", "reasons": [{"event_ids": ["r-1", "r-2", "r-3"]}]}, j))
        self.assertEqual(mismatch({"reasons": []}, j), 'reasons: expected 0 item(s), got [{"text": "Two referrals", "event_ids": ["r-1", "r-2", "r-3"]}]')


class Journeys(unittest.TestCase):
    def test_periods_pair_starts_with_the_next_end(self):
        i = input(
            "2024-12-31",
            [
                event("s1", "EarlyHelpStarted", "2024-01-10"),
                event("s2", "EarlyHelpStarted", "2024-01-20"),
                event("e1", "EarlyHelpEnded", "2024-03-01"),
                event("e2", "EarlyHelpEnded", "2024-03-05"),
                event("s3", "EarlyHelpStarted", "2024-06-01"),
            ],
        )
        p = i.periods("EarlyHelpStarted", "EarlyHelpEnded")
        self.assertEqual([x.event_ids() for x in p], [["s1", "e1"], ["s3"]])
        self.assertFalse(p[0].is_open_on(Date(2024, 3, 1)))
        self.assertEqual(p[0].days_within(Date(2024, 2, 1), Date(2025, 1, 1)), 29)

    def test_care_periods_carry_legal_statuses_and_placements(self):
        def placed(ls, pt):
            return {"legal_status": ls, "placement": {"place_type": pt}}

        i = input(
            "2024-12-31",
            [
                event("la1", "BecameLookedAfter", "2024-01-10", placed("V2", "U6")),
                event("ls1", "LegalStatusChanged", "2024-02-10", {"legal_status": "C1"}),
                event("pc1", "PlacementChanged", "2024-03-10", {"placement": {"place_type": "U4"}}),
                event("ce1", "CeasedToBeLookedAfter", "2024-04-10", {"reason": "E4A"}),
                event("la2", "BecameLookedAfter", "2024-06-01", placed("V3", "U6")),
            ],
        )
        first, second = i.care_periods()
        self.assertEqual([s.until for s in first.legal_statuses], [Date(2024, 2, 10), Date(2024, 4, 10)])
        self.assertEqual(first.placement_on(Date(2024, 3, 10)), "U4")
        self.assertIsNone(first.placement_on(Date(2024, 4, 10)))
        self.assertEqual(first.end_reason(), "E4A")
        self.assertFalse(first.is_short_breaks(["V3", "V4"]))
        self.assertTrue(second.is_short_breaks(["V3", "V4"]))

    def test_the_open_child_in_need_episode_skips_referrals_closed_with_no_further_action(self):
        i = input(
            "2024-12-31",
            [
                event("r1", "ReferralReceived", "2024-01-10", {"no_further_action": False}),
                event("x1", "ChildInNeedEpisodeClosed", "2024-03-01", {"reason": "RC8"}),
                event("r2", "ReferralReceived", "2024-05-01", {"no_further_action": True}),
                event("r3", "ReferralReceived", "2024-06-01", {"no_further_action": False}),
            ],
        )

        def at(d):
            p = i.child_in_need_episode_on(Date.parse(d))
            return p.event_ids() if p else None

        self.assertEqual(at("2024-02-01"), ["r1", "x1"])
        self.assertIsNone(at("2024-03-01"))
        self.assertIsNone(at("2024-05-15"))
        self.assertEqual(at("2024-06-01"), ["r3"])


if __name__ == "__main__":
    unittest.main()
