"""levels-of-need, in Python: the twin of the Rust reference policy `plugins/guests/policies/levels-of-need`.

The same parameters (its `parameters.json`), the same example cases and the same decisions, reasons and
alerts, word for word: a dry run of this version against the Rust one reports no child whose answer
differs (`plugins/tests/it/python_twin.rs`). The rules, highest level wins:

1. Services open on the evaluation date: looked after (4), a child protection plan (4), a child in need plan
   or an open child in need episode (3), a series of short breaks (3), early help (2).
2. Factors recorded in the last `factors_within_months` (contacts' concerns, assessments' factors), each at
   its level in `factor_levels`, raised in an `age_bands` band for the factors it names.
3. Multiple needs: `multiple_needs_factors` distinct factors at level 2 or above.
4. Re-referral: `referrals_for_re_referral` referrals within `referrals_within_months`.
5. Disability recorded for the child.

An alert says when the level the front door last recorded for a contact differs from the level computed.
"""

from dataclasses import dataclass
from typing import Dict, List, Optional

from journey_policy import (
    Alert,
    Decisions,
    EvaluationInput,
    InvalidParameters,
    JourneyEvent,
    LevelOfNeed,
    Period,
    PolicyInfo,
    PolicyKind,
    Reason,
    Severity,
    because,
    reason,
    shipped_parameters,
)

DEFAULTS = shipped_parameters(__file__)


@dataclass
class ServiceLevels:
    early_help: int
    child_in_need: int
    short_breaks: int
    child_protection: int
    looked_after: int


@dataclass
class AgeBand:
    name: str
    from_age: int
    under_age: int
    raise_factors: List[str]
    by: int


@dataclass
class Parameters:
    labels: Dict[str, str]
    factor_levels: Dict[str, int]
    unlisted_factor_level: int
    factors_within_months: int
    multiple_needs_factors: int
    multiple_needs_level: int
    referrals_within_months: int
    referrals_for_re_referral: int
    re_referral_level: int
    open_service_levels: ServiceLevels
    age_bands: List[AgeBand]
    disability_level: int
    short_break_legal_statuses: List[str]

    def validate(self) -> None:
        check = InvalidParameters.check
        for level in "1234":
            check(bool(self.labels.get(level, "").strip()), "labels", f"must name level {level}")
        check(len(self.labels) == 4, "labels", "must name exactly the levels 1 to 4")
        for code, level in self.factor_levels.items():
            check(1 <= level <= 4, "factor_levels", f"{code}: a level is 1 to 4")
        s = self.open_service_levels
        for name, level in (
            ("unlisted_factor_level", self.unlisted_factor_level),
            ("multiple_needs_level", self.multiple_needs_level),
            ("re_referral_level", self.re_referral_level),
            ("disability_level", self.disability_level),
            ("open_service_levels", s.early_help),
            ("open_service_levels", s.child_in_need),
            ("open_service_levels", s.short_breaks),
            ("open_service_levels", s.child_protection),
            ("open_service_levels", s.looked_after),
        ):
            check(1 <= level <= 4, name, "a level is 1 to 4")
        check(self.factors_within_months >= 1, "factors_within_months", "must be at least 1")
        check(self.referrals_within_months >= 1, "referrals_within_months", "must be at least 1")
        check(self.multiple_needs_factors >= 2, "multiple_needs_factors", "must be at least 2")
        check(self.referrals_for_re_referral >= 2, "referrals_for_re_referral", "must be at least 2")
        for band in self.age_bands:
            check(
                0 <= band.from_age < band.under_age and band.by >= 1,
                "age_bands",
                f"{band.name}: from_age must be below under_age, and by at least 1",
            )

    def label(self, level: int) -> str:
        return self.labels[str(level)]


@dataclass
class Finding:
    """One rule's finding: the level it gives and why."""

    level: int
    reason: Reason


def about() -> PolicyInfo:
    return PolicyInfo(
        name="levels-of-need",
        kind=PolicyKind.LEVEL_OF_NEED,
        version="1.1.0-python",
        summary="The level of need (1 universal, 2 early help, 3 targeted / child in need, 4 specialist / "
        "protection) from the services open, the factors recorded at contacts and assessments, re-referrals, "
        "age and disability, with the local threshold document as parameters. Written in Python.",
    )


def evaluate(input: EvaluationInput) -> Decisions:
    p = input.parameters_over(DEFAULTS, Parameters)
    p.validate()
    on = input.evaluation_date
    findings = open_services(input, p)
    findings.extend(factors(input, p))
    findings.extend(re_referrals(input, p))
    disabled = input.disabilities()
    if disabled is not None:
        codes, event = disabled
        findings.append(Finding(p.disability_level, reason(f"Disability recorded ({', '.join(codes)})", event)))
    # The highest level first; within a level, in the order the rules ran.
    findings.sort(key=lambda f: -f.level)
    level = findings[0].level if findings else 1
    reasons = [f.reason for f in findings] or [
        because(f"No open service, factor or referral recorded in the {p.factors_within_months} months to {on}")
    ]
    decisions = Decisions(level_of_need=LevelOfNeed(level, p.label(level), reasons))
    alert = recorded_level_differs(input, p, level)
    if alert is not None:
        decisions.alerts.append(alert)
    return decisions


def open_services(input: EvaluationInput, p: Parameters) -> List[Finding]:
    """The services open on the evaluation date."""
    on = input.evaluation_date
    levels = p.open_service_levels
    out: List[Finding] = []

    def open_(level: int, what: str, period: Period) -> None:
        out.append(Finding(level, reason(f"{what} since {period.starts_on()}", period.start)))

    for care in input.care_periods():
        if care.period.is_open_on(on):
            if care.is_short_breaks(p.short_break_legal_statuses):
                open_(levels.short_breaks, "Receiving a series of short breaks", care.period)
            else:
                open_(levels.looked_after, "Looked after", care.period)
    for start, end, level, what in (
        ("ChildProtectionPlanStarted", "ChildProtectionPlanEnded", levels.child_protection, "On a child protection plan"),
        ("ChildInNeedPlanStarted", "ChildInNeedPlanEnded", levels.child_in_need, "On a child in need plan"),
        ("EarlyHelpStarted", "EarlyHelpEnded", levels.early_help, "Receiving early help"),
    ):
        period = input.open_period_on(start, end, on)
        if period is not None:
            open_(level, what, period)
    # A child in need episode without a plan (yet): from a referral accepted to its closure.
    episode = input.child_in_need_episode_on(on)
    if episode is not None and input.open_period_on("ChildInNeedPlanStarted", "ChildInNeedPlanEnded", on) is None:
        open_(levels.child_in_need, "Open child in need episode (referral accepted)", episode)
    return out


def factors(input: EvaluationInput, p: Parameters) -> List[Finding]:
    """The factors recorded in the window, each at its level (raised for the child's age band)."""
    on = input.evaluation_date
    since = on.add_months(-p.factors_within_months)
    # Each distinct factor, with the latest event that recorded it.
    latest: Dict[str, JourneyEvent] = {}
    for e in input.of_kinds(("ContactReceived", "AssessmentCompleted", "EarlyHelpAssessmentCompleted")):
        if e.occurred_on > since:
            for code in e.assessment_factors():
                latest[code] = e
    # Unborn children (no date of birth yet) are in the youngest band.
    dob = input.date_of_birth()
    if dob is not None:
        age: Optional[int] = dob.age_on(on)
    elif input.child.expected_date_of_birth is not None:
        age = 0
    else:
        age = None

    def band(code: str) -> Optional[AgeBand]:
        for b in p.age_bands:
            if age is not None and b.from_age <= age < b.under_age and code in b.raise_factors:
                return b
        return None

    out: List[Finding] = []
    significant = []
    for code in sorted(latest):
        e = latest[code]
        base = p.factor_levels.get(code, p.unlisted_factor_level)
        b = band(code)
        if b is not None:
            level, why = min(base + b.by, 4), f" (level {base}, raised by {b.by} for a child {b.name})"
        else:
            level, why = base, ""
        if level >= 2:
            significant.append((code, e))
        out.append(Finding(level, reason(f"Factor {code} recorded on {e.occurred_on} ({e.kind}): level {level}{why}", e)))
    if len(significant) >= p.multiple_needs_factors:
        ids = sorted({e.event_id for _, e in significant})
        codes = [c for c, _ in significant]
        out.append(
            Finding(
                p.multiple_needs_level,
                reason(
                    f"Multiple needs: {len(codes)} factors at level 2 or above ({', '.join(codes)}) since {since}",
                    ids,
                ),
            )
        )
    return out


def re_referrals(input: EvaluationInput, p: Parameters) -> List[Finding]:
    on = input.evaluation_date
    since = on.add_months(-p.referrals_within_months)
    referrals = [r for r in input.of_kind("ReferralReceived") if r.occurred_on > since]
    if len(referrals) < p.referrals_for_re_referral:
        return []
    text = f"{len(referrals)} referrals in the {p.referrals_within_months} months to {on} (re-referral)"
    return [Finding(p.re_referral_level, reason(text, referrals))]


def recorded_level_differs(input: EvaluationInput, p: Parameters, level: int) -> Optional[Alert]:
    """An alert when the level the front door last recorded (within the factor window) is not the level
    computed."""
    since = input.evaluation_date.add_months(-p.factors_within_months)
    decided = None
    for d in input.of_kind("ContactDecided"):
        recorded = d.get("level_of_need")
        if d.occurred_on > since and isinstance(recorded, int) and not isinstance(recorded, bool) and 0 <= recorded <= 255:
            decided = (d, recorded)
    if decided is None:
        return None
    event, recorded = decided
    if recorded == level:
        return None
    return Alert(
        code="recorded-level-differs",
        severity=Severity.INFO,
        message=f"The contact decision of {event.occurred_on} recorded level {recorded} "
        f"({p.label(min(max(recorded, 1), 4))}); the threshold document gives level {level} ({p.label(level)}) "
        f"on {input.evaluation_date}",
        reasons=[reason("The recorded level", event)],
    )
