//! # statutory-timescales: every deadline that applies to the child
//!
//! For each timescale, a deadline with the day its clock started, its due date, how the due date was
//! counted, whether it was met, missed or is still open on the evaluation date, and how late in the rule's
//! own unit (working days for a rule in working days, hours for the return interview, calendar days for
//! the rest). Recurring timescales (review conferences, visits, reviews, health assessments) are a series:
//! each one is due a fixed time after the previous one was actually done, and the series stops when the
//! plan, placement or period of care ends.
//!
//! | deadline | clock starts | done when | default | source |
//! |---|---|---|---|---|
//! | `contact-decision` | `ContactReceived` | the `ContactDecided` naming it | 1 working day | WT |
//! | `assessment` (`initial-assessment` before WT 2013) | `ReferralReceived` | the next `AssessmentCompleted`'s authorisation (`authorised_on`, else its date) | 45 (10) working days | WT |
//! | `initial-child-protection-conference` | the strategy discussion that started the s47 enquiry | next initial conference | 15 working days | WT |
//! | `core-group` | an initial conference that made a plan | next `CoreGroupMet` | 10 working days | WT |
//! | `review-child-protection-conference` | the initial conference, then each review | review conference | 3, then 6 months | WT |
//! | `child-protection-visit` | plan start, then each visit seen | `ChildVisited` (child protection, seen) | 10 working days (local) | local |
//! | `child-in-need-visit` | child in need plan start, then each visit seen | `ChildVisited` (child in need, seen) | 20 working days (local) | local |
//! | `looked-after-review` | becoming looked after, then each review | `LookedAfterReviewHeld` | 20 working days, 3 months, 6 months | CPPCR 2010 reg 33 |
//! | `looked-after-review` (short breaks) | the first short break | review | 3 months, then 6 months | reg 48 |
//! | `looked-after-visit` | each placement, then each visit | `ChildVisited` (looked after) | 1 week, then 6 weeks (3 months after a year in a long-term placement) | reg 28 |
//! | `health-assessment` | becoming looked after, then each assessment | `HealthAssessmentCompleted` | 20 working days, then 6 months under 5, 12 from 5 | reg 7 |
//! | `return-interview` | the end of a missing episode (its time, if recorded) | `ReturnInterviewOffered` / `Held` | 72 hours | DfE 2014 |
//! | `adoption-a1` | entering care (the period of care with the adoption decision) | `PlacedForAdoption` | the scorecard's A1 days | scorecard |
//! | `adoption-a2` | the placement order | `MatchedWithAdopters` (before the order counts as 0 days) | the scorecard's A2 days | scorecard |
//!
//! **Counting.** "Within N working days of X" is read two ways, and for a 1-day rule the two mean different
//! rules (the same day, or the next working day). Each rule in working days states its convention and why
//! in the `counting` parameter (`inclusive`: X is day 1; `exclusive`: the working day after X is day 1), and
//! each deadline says which it used (`counting`, and a reason). The defaults follow each rule's source:
//!
//! | rule | default | why (the source's reading) |
//! |---|---|---|
//! | `contact-decision` | exclusive | Working Together asks for a decision "within one working day" of receipt: by the end of the next working day, not the day it came in |
//! | `assessment` | inclusive | the DfE measures it in the children in need census with the referral as day 1 of the 45 (10) working days, as its validators count (rule 8670Q, `start + CustomBusinessDay(n = N - 1)`) |
//! | `initial-child-protection-conference` | inclusive | the same census measure from the strategy discussion (rule 8675Q) |
//! | `core-group` | exclusive | Working Together, with no DfE measure: "within 10 working days of" the conference, the day of the conference not counted (as the law reads "within N days of" an event) |
//! | `child-protection-visit`, `child-in-need-visit` | exclusive | a local standard of at most N working days between visits, counted from the day after the last |
//! | `looked-after-review` | exclusive | CPPCR 2010 reg 33(1), "within 20 working days of the date on which C becomes looked after", that day not counted |
//! | `health-assessment` | exclusive | the initial health assessment informs the first review (CPPCR reg 7; 20 working days in statutory guidance), counted as the first review is |
//!
//! Timescales in calendar days, weeks, months or years run from the day after the start (7 days from a
//! Monday is the next Monday; 3 months from 15 January is 15 April) and say `exclusive`; the return
//! interview's 72 hours run between instants.
//!
//! Which rules apply is the `rules` parameter; which edition of Working Together applies is chosen by the
//! date the clock started, from `working_together` (each edition with its own numbers, so an authority can
//! model its local variations and an investigator the rules of the day); the scorecard thresholds by the
//! date of completion (or the evaluation date, while open) from `adoption_scorecard`. Every number is in
//! `parameters.json`. Sources: `shared/domain/rules.md` sections 1-3.
//!
//! Judging: met when done on or before the due date. An assessment is done when it was authorised, the date
//! the DfE measures it by (the CIN census exports it as `AssessmentAuthorisationDate`), which is its
//! completion date unless a later authorisation is recorded; a reason gives the completion date when they
//! differ, and an assessment authorised after the date judged was not yet done on it. A return interview is judged by instants when both the
//! return and the interview have a time (due 72 hours after the return, late by whole hours), and by dates
//! when either has only a date (due on the day the 72 hours end, counted from the end of the day of return
//! when its time is not known; late by days), and a reason says which was used; the due instant is always
//! reported as `due_at`. A series item never done is missed from the day after its due date until the
//! evaluation date, or until the day its plan or placement ended.

use std::collections::BTreeMap;

use journey_policy_sdk::*;
use serde::Deserialize;

struct StatutoryTimescales;

const DEFAULTS: &str = include_str!("../parameters.json");

const RULES: [&str; 13] = [
    "contact-decision",
    "assessment",
    "initial-child-protection-conference",
    "core-group",
    "review-child-protection-conference",
    "child-protection-visit",
    "child-in-need-visit",
    "looked-after-review",
    "looked-after-visit",
    "health-assessment",
    "return-interview",
    "adoption-a1",
    "adoption-a2",
];

/// The rules in working days, each with a counting convention in the `counting` parameter.
const WORKING_DAY_RULES: [&str; 8] = [
    "contact-decision",
    "assessment",
    "initial-child-protection-conference",
    "core-group",
    "child-protection-visit",
    "child-in-need-visit",
    "looked-after-review",
    "health-assessment",
];

const CPPCR: &str = "Care Planning, Placement and Case Review (England) Regulations 2010";

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Parameters {
    /// By rule (`WORKING_DAY_RULES`): how its working days are counted, and why. A deployment may give
    /// only the rules it changes; the others keep the shipped defaults.
    counting: BTreeMap<String, Convention>,
    rules: Vec<String>,
    working_together: Vec<Edition>,
    child_protection_visit_working_days: u32,
    child_in_need_visit_working_days: u32,
    looked_after_first_review_working_days: u32,
    looked_after_second_review_months: i32,
    looked_after_later_review_months: i32,
    short_break_legal_statuses: Vec<String>,
    short_break_first_review_months: i32,
    looked_after_first_visit_days: i64,
    looked_after_visit_weeks: i64,
    long_term_placements: Vec<String>,
    long_term_visit_months: i32,
    initial_health_assessment_working_days: u32,
    health_review_months_under_5: i32,
    health_review_months_from_5: i32,
    return_interview_hours: i64,
    adoption_scorecard: Vec<Scorecard>,
}

/// What an `AssessmentCompleted` says of its authorisation.
#[derive(Deserialize)]
struct Authorisation {
    #[serde(default)]
    authorised_on: Option<Date>,
}

/// How a rule's working days are counted, and the source of that reading.
#[derive(Clone, Deserialize)]
#[serde(deny_unknown_fields)]
struct Convention {
    convention: Counting,
    source: String,
}

/// One edition of Working Together, in force from a date, with its numbers.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Edition {
    edition: String,
    from: Date,
    /// `assessment` (single assessment) or `initial-assessment` (before 2013).
    assessment: String,
    assessment_working_days: u32,
    contact_decision_working_days: u32,
    initial_conference_working_days: u32,
    core_group_working_days: u32,
    first_review_conference_months: i32,
    review_conference_months: i32,
}

/// The adoption scorecard thresholds used from a date.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Scorecard {
    scorecard: String,
    from: Date,
    a1_days: i64,
    a2_days: i64,
}

impl Parameters {
    /// The parameters given over the shipped ones; `counting` rule by rule.
    fn read(input: &EvaluationInput) -> Result<Parameters, PolicyError> {
        let mut p: Parameters = input.parameters_over(DEFAULTS)?;
        if WORKING_DAY_RULES.iter().any(|r| !p.counting.contains_key(*r)) {
            let defaults: Parameters = serde_json::from_str(DEFAULTS)
                .map_err(|e| PolicyError::Failed(format!("the policy's default parameters: {e}")))?;
            for (rule, convention) in defaults.counting {
                p.counting.entry(rule).or_insert(convention);
            }
        }
        p.validate()?;
        Ok(p)
    }

    fn validate(&self) -> Result<(), PolicyError> {
        for (rule, c) in &self.counting {
            PolicyError::check(
                WORKING_DAY_RULES.contains(&rule.as_str()),
                "counting",
                format!(
                    "`{rule}` is not a rule in working days (those are: {})",
                    WORKING_DAY_RULES.join(", ")
                ),
            )?;
            PolicyError::check(
                !c.source.trim().is_empty(),
                "counting",
                format!("`{rule}`: say where the convention comes from (source)"),
            )?;
        }
        for r in &self.rules {
            PolicyError::check(
                RULES.contains(&r.as_str()),
                "rules",
                format!("unknown rule `{r}` (known: {})", RULES.join(", ")),
            )?;
        }
        let wt = "working_together";
        PolicyError::check(
            !self.working_together.is_empty(),
            wt,
            "must list at least one edition",
        )?;
        PolicyError::check(
            self.working_together.windows(2).all(|w| w[0].from < w[1].from),
            wt,
            "editions must be in order of `from`",
        )?;
        for e in &self.working_together {
            PolicyError::check(
                matches!(e.assessment.as_str(), "assessment" | "initial-assessment"),
                wt,
                format!(
                    "{}: assessment must be `assessment` or `initial-assessment`",
                    e.edition
                ),
            )?;
            for (n, what) in [
                (e.assessment_working_days, "assessment_working_days"),
                (e.contact_decision_working_days, "contact_decision_working_days"),
                (
                    e.initial_conference_working_days,
                    "initial_conference_working_days",
                ),
                (e.core_group_working_days, "core_group_working_days"),
            ] {
                PolicyError::check(n >= 1, wt, format!("{}: {what} must be at least 1", e.edition))?;
            }
            PolicyError::check(
                e.first_review_conference_months >= 1 && e.review_conference_months >= 1,
                wt,
                format!("{}: review conference months must be at least 1", e.edition),
            )?;
        }
        for (n, field) in [
            (
                self.child_protection_visit_working_days,
                "child_protection_visit_working_days",
            ),
            (
                self.child_in_need_visit_working_days,
                "child_in_need_visit_working_days",
            ),
            (
                self.looked_after_first_review_working_days,
                "looked_after_first_review_working_days",
            ),
            (
                self.initial_health_assessment_working_days,
                "initial_health_assessment_working_days",
            ),
        ] {
            PolicyError::check(n >= 1, field, "must be at least 1")?;
        }
        for (n, field) in [
            (
                self.looked_after_second_review_months,
                "looked_after_second_review_months",
            ),
            (
                self.looked_after_later_review_months,
                "looked_after_later_review_months",
            ),
            (
                self.short_break_first_review_months,
                "short_break_first_review_months",
            ),
            (self.long_term_visit_months, "long_term_visit_months"),
            (self.health_review_months_under_5, "health_review_months_under_5"),
            (self.health_review_months_from_5, "health_review_months_from_5"),
        ] {
            PolicyError::check(n >= 1, field, "must be at least 1 month")?;
        }
        PolicyError::check(
            self.looked_after_first_visit_days >= 1,
            "looked_after_first_visit_days",
            "must be at least 1",
        )?;
        PolicyError::check(
            self.looked_after_visit_weeks >= 1,
            "looked_after_visit_weeks",
            "must be at least 1",
        )?;
        PolicyError::check(
            self.return_interview_hours >= 1,
            "return_interview_hours",
            "must be at least 1",
        )?;
        let sc = "adoption_scorecard";
        PolicyError::check(
            !self.adoption_scorecard.is_empty(),
            sc,
            "must list at least one scorecard",
        )?;
        PolicyError::check(
            self.adoption_scorecard.windows(2).all(|w| w[0].from < w[1].from),
            sc,
            "scorecards must be in order of `from`",
        )?;
        PolicyError::check(
            self.adoption_scorecard
                .iter()
                .all(|s| s.a1_days >= 1 && s.a2_days >= 1),
            sc,
            "thresholds must be at least 1 day",
        )
    }

    fn applies(&self, rule: &str) -> bool {
        self.rules.iter().any(|r| r == rule)
    }

    /// The edition in force on `on` (the earliest for dates before them all).
    fn edition(&self, on: Date) -> &Edition {
        self.working_together
            .iter()
            .rev()
            .find(|e| e.from <= on)
            .unwrap_or(&self.working_together[0])
    }

    fn scorecard(&self, on: Date) -> &Scorecard {
        self.adoption_scorecard
            .iter()
            .rev()
            .find(|s| s.from <= on)
            .unwrap_or(&self.adoption_scorecard[0])
    }
}

impl Policy for StatutoryTimescales {
    fn about() -> PolicyInfo {
        PolicyInfo::new(
            "statutory-timescales",
            PolicyKind::StatutoryTimescales,
            "2.0.0",
            "Every statutory timescale that applies to the child (front door, assessment, child protection \
             conferences, core groups, visits, looked-after reviews, health assessments, return interviews, \
             adoption scorecard A1/A2), with due dates, how they were counted, met/missed/open and how late \
             in the rule's own unit. The rules, their counting conventions and the edition of Working \
             Together in force are parameters.",
        )
    }

    fn evaluate(input: &EvaluationInput) -> Result<Decisions, PolicyError> {
        let p = Parameters::read(input)?;
        let t = Timescales {
            input,
            p: &p,
            on: input.evaluation_date,
            care: care(input, &p)?,
        };
        let mut out = Vec::new();
        let rules: [(&str, Judge<'_>); 13] = [
            ("contact-decision", Timescales::contact_decisions),
            ("assessment", Timescales::assessments),
            (
                "initial-child-protection-conference",
                Timescales::initial_conferences,
            ),
            ("core-group", Timescales::core_groups),
            (
                "review-child-protection-conference",
                Timescales::review_conferences,
            ),
            ("child-protection-visit", Timescales::protection_visits),
            ("child-in-need-visit", Timescales::child_in_need_visits),
            ("looked-after-review", Timescales::looked_after_reviews),
            ("looked-after-visit", Timescales::looked_after_visits),
            ("health-assessment", Timescales::health_assessments),
            ("return-interview", Timescales::return_interviews),
            ("adoption-a1", Timescales::adoption_a1),
            ("adoption-a2", Timescales::adoption_a2),
        ];
        for (rule, judge) in rules {
            if p.applies(rule) {
                judge(&t, &mut out)?;
            }
        }
        let mut decisions = Decisions {
            deadlines: out,
            ..Decisions::default()
        };
        calendar_alerts(input, &mut decisions);
        Ok(decisions)
    }
}

type Judge<'a> = fn(&Timescales<'a>, &mut Vec<Deadline>) -> Result<(), PolicyError>;

/// A warning for each clock that starts outside the bank-holiday data.
fn calendar_alerts(input: &EvaluationInput, decisions: &mut Decisions) {
    let c = &input.calendar;
    for d in &decisions.deadlines {
        if let Some(start) = d.starts_on
            && !c.covers(&start)
        {
            decisions.alerts.push(Alert::new(
                "calendar-does-not-cover",
                Severity::Warning,
                format!(
                    "Bank holidays are not known for {start} (calendar {} covers {} to {}): the {} due date \
                     counts weekends only.",
                    c.version, c.covers_from, c.covers_to, d.name
                ),
                d.reasons.iter().take(1).cloned().collect(),
            ));
        }
    }
}

fn cite(text: String, e: &JourneyEvent) -> Reason {
    Reason::new(text, [e.event_id.as_str()])
}

/// "offered" or "held", for a return interview's event.
fn offered_verb(e: &JourneyEvent) -> &'static str {
    if e.kind == "ReturnInterviewHeld" {
        "held"
    } else {
        "offered"
    }
}

/// When one deadline is due, and how it was counted.
struct Due {
    on: Date,
    /// The rule in words.
    words: String,
    /// A rule in working days (counted by the series' convention), else calendar days or months.
    working_days: bool,
}

/// A recurring timescale: the first is due a set time after the clock starts, each next a set time after
/// the previous was done, until the plan, placement or period of care it belongs to ends.
struct Series<'a> {
    name: &'a str,
    source: String,
    start: Date,
    /// Why the clock started.
    opened: Reason,
    /// The `n`th (from 0), given when the previous one was done.
    due: &'a dyn Fn(usize, Date) -> Due,
    /// What counts as done, in order (only those on or after the start are used).
    done: Vec<&'a JourneyEvent>,
    /// The event that ends the series, if it has ended.
    end: Option<&'a JourneyEvent>,
}

struct Timescales<'a> {
    input: &'a EvaluationInput,
    p: &'a Parameters,
    on: Date,
    /// The periods of care (see [`care`]).
    care: Vec<Care<'a>>,
}

/// A period of care (consecutive series of short breaks merged into one), whether it is short breaks, and
/// its legal statuses and placements.
type Care<'a> = (Period<'a>, bool, CarePeriod<'a>);

/// The periods of care, with consecutive series of short breaks merged into one.
fn care<'a>(input: &'a EvaluationInput, p: &Parameters) -> Result<Vec<Care<'a>>, PolicyError> {
    let short = &p.short_break_legal_statuses;
    let mut out: Vec<Care<'a>> = Vec::new();
    for c in input.care_periods()? {
        let is_short = c.is_short_breaks(short);
        match out.last_mut() {
            Some((period, true, _)) if is_short => period.end = c.period.end,
            _ => out.push((c.period, is_short, c)),
        }
    }
    Ok(out)
}

impl<'a> Timescales<'a> {
    /// How `rule`'s working days are counted (validated: every rule in working days has one).
    fn convention(&self, rule: &str) -> &Convention {
        &self.p.counting[rule]
    }

    /// The last day of "within `n` working days of `start`" under `rule`'s convention.
    fn working_days(&self, rule: &str, start: Date, n: u32) -> Date {
        self.input
            .calendar
            .due_within_working_days(start, n, self.convention(rule).convention)
    }

    /// Why the due date is what it is, for a rule in working days: the count, the convention and its source.
    fn counted(&self, rule: &str, n: u32, due: Date) -> Reason {
        let c = self.convention(rule);
        Reason::because(format!(
            "Due {due}: {n} working day(s), {} ({})",
            c.convention.describe(),
            c.source
        ))
    }

    /// A deadline of a rule in working days: late by working days, and saying how it was counted.
    fn in_working_days(&self, rule: &str, d: Deadline) -> Deadline {
        d.late_in_working_days(&self.input.calendar)
            .counted(self.convention(rule).convention)
    }

    /// One deadline, done by `done` if it was. `what` says it was done ("Decided") or that it was not ("No
    /// decision").
    fn one(
        &self,
        rule: Rule<'_>,
        start: Date,
        due: Date,
        done: Option<&JourneyEvent>,
        mut reasons: Vec<Reason>,
        (did, did_not): (&str, &str),
    ) -> Deadline {
        match done {
            Some(d) => reasons.push(cite(format!("{did} on {}", d.when()), d)),
            None => reasons.push(Reason::because(format!("{did_not} recorded by {}", self.on))),
        }
        Deadline::judged(rule, start, due, done.map(|d| d.occurred_on), self.on, reasons)
    }

    fn series(&self, s: Series<'_>, out: &mut Vec<Deadline>) {
        let mut from = s.start;
        let mut cause = s.opened;
        let mut n = 0;
        let mut due = (s.due)(0, from);
        // A deadline of the series, in its unit.
        let unit = |d: Deadline, due: &Due| {
            if due.working_days {
                self.in_working_days(s.name, d)
            } else {
                d.counted(Counting::Exclusive)
            }
        };
        let end_on = s.end.map(|e| e.occurred_on);
        for d in s.done.iter().filter(|d| d.occurred_on >= s.start) {
            let r = Rule {
                name: s.name,
                rule: &due.words,
                source: &s.source,
            };
            let reasons = vec![cause, cite(format!("Done on {}", d.when()), d)];
            out.push(unit(
                Deadline::judged(r, from, due.on, Some(d.occurred_on), self.on, reasons),
                &due,
            ));
            cause = cite(format!("The previous one was on {}", d.occurred_on), d);
            from = d.occurred_on;
            n += 1;
            due = (s.due)(n, from);
        }
        if end_on.is_some_and(|end| end <= due.on) {
            return;
        }
        let r = Rule {
            name: s.name,
            rule: &due.words,
            source: &s.source,
        };
        let mut reasons = vec![cause];
        let judged_on = match s.end {
            Some(end) => {
                reasons.push(cite(
                    format!("Not done before it ended on {} ({})", end.occurred_on, end.kind),
                    end,
                ));
                end.occurred_on.min(self.on)
            }
            None => {
                reasons.push(Reason::because(format!("Not done by {}", self.on)));
                self.on
            }
        };
        out.push(unit(
            Deadline::judged(r, from, due.on, None, judged_on, reasons),
            &due,
        ));
    }

    fn contact_decisions(&self, out: &mut Vec<Deadline>) -> Result<(), PolicyError> {
        // The first decision naming each contact (one pass over the decisions).
        let mut decisions: std::collections::BTreeMap<String, &JourneyEvent> =
            std::collections::BTreeMap::new();
        for d in self.input.of_kind("ContactDecided") {
            if let Some(contact) = d.names_event() {
                decisions.entry(contact).or_insert(d);
            }
        }
        for contact in self.input.of_kind("ContactReceived") {
            let ed = self.p.edition(contact.occurred_on);
            let n = ed.contact_decision_working_days;
            let words = format!("Decide what happens to a contact within {n} working day(s) of receiving it");
            let rule = Rule {
                name: "contact-decision",
                rule: &words,
                source: &ed.edition,
            };
            let decision = decisions.get(&contact.event_id).copied();
            let key = "contact-decision";
            let due = self.working_days(key, contact.occurred_on, n);
            let reasons = vec![
                cite(format!("Contact received on {}", contact.when()), contact),
                self.counted(key, n, due),
            ];
            let d = self.one(
                rule,
                contact.occurred_on,
                due,
                decision,
                reasons,
                ("Decided", "No decision"),
            );
            out.push(self.in_working_days(key, d));
        }
        Ok(())
    }

    fn assessments(&self, out: &mut Vec<Deadline>) -> Result<(), PolicyError> {
        let referrals: Vec<&JourneyEvent> = self.input.of_kind("ReferralReceived").collect();
        for (i, referral) in referrals.iter().enumerate() {
            let start = referral.occurred_on;
            let until = referrals.get(i + 1).map(|r| r.occurred_on);
            let ed = self.p.edition(start);
            let n = ed.assessment_working_days;
            let words = if ed.assessment == "initial-assessment" {
                format!("Complete the initial assessment within {n} working days of the referral")
            } else {
                format!("Complete the single assessment within {n} working days of the referral")
            };
            let rule = Rule {
                name: &ed.assessment,
                rule: &words,
                source: &ed.edition,
            };
            let referred = cite(format!("Referral received on {}", referral.when()), referral);
            if referral.flag("no_further_action") == Some(true) {
                let closed = cite("The referral was closed with no further action".into(), referral);
                out.push(Deadline::not_applicable(
                    rule,
                    Some(start),
                    vec![referred, closed],
                ));
                continue;
            }
            let started = self.input.between("AssessmentStarted", start, until).next();
            let completed = self.input.between("AssessmentCompleted", start, until).next();
            let closed = self
                .input
                .between("ChildInNeedEpisodeClosed", start, until)
                .next();
            if let (None, None, Some(closed)) = (started, completed, closed) {
                let why = cite(
                    format!(
                        "The episode closed on {} without an assessment",
                        closed.occurred_on
                    ),
                    closed,
                );
                out.push(Deadline::not_applicable(rule, Some(start), vec![referred, why]));
                continue;
            }
            let key = "assessment";
            let due = self.working_days(key, start, n);
            let mut reasons = vec![referred, self.counted(key, n, due)];
            if let Some(s) = started {
                reasons.push(cite(format!("Assessment started on {}", s.occurred_on), s));
            }
            // Done when authorised, as the DfE measures it and the CIN census exports it.
            let done = match completed {
                Some(c) => {
                    let authorised = c.data::<Authorisation>()?.authorised_on.unwrap_or(c.occurred_on);
                    let text = if authorised == c.occurred_on {
                        format!("Assessment completed and authorised on {}", c.occurred_on)
                    } else {
                        format!(
                            "Assessment completed on {}, authorised on {authorised}: the DfE measures an \
                             assessment by the date it was authorised (CIN census AssessmentAuthorisationDate)",
                            c.occurred_on
                        )
                    };
                    reasons.push(cite(text, c));
                    if authorised <= self.on {
                        Some(authorised)
                    } else {
                        reasons.push(Reason::because(format!(
                            "Not yet authorised on {}, the date judged",
                            self.on
                        )));
                        None
                    }
                }
                None => {
                    reasons.push(Reason::because(format!(
                        "No completed assessment recorded by {}",
                        self.on
                    )));
                    None
                }
            };
            let d = Deadline::judged(rule, start, due, done, self.on, reasons);
            out.push(self.in_working_days(key, d));
        }
        Ok(())
    }

    fn initial_conferences(&self, out: &mut Vec<Deadline>) -> Result<(), PolicyError> {
        let enquiries: Vec<&JourneyEvent> = self.input.of_kind("Section47Started").collect();
        for (i, enquiry) in enquiries.iter().enumerate() {
            let until = enquiries.get(i + 1).map(|e| e.occurred_on);
            // The strategy discussion the enquiry names, else the latest one held on or before it started.
            let discussion = enquiry
                .names_event()
                .and_then(|id| self.input.event(&id))
                .filter(|e| !e.is_retracted())
                .or_else(|| {
                    self.input
                        .of_kind("StrategyDiscussionHeld")
                        .filter(|s| s.occurred_on <= enquiry.occurred_on)
                        .last()
                });
            let start = discussion.map_or(enquiry.occurred_on, |s| s.occurred_on);
            let ed = self.p.edition(start);
            let n = ed.initial_conference_working_days;
            let words = format!(
                "Hold the initial child protection conference within {n} working days of the strategy discussion"
            );
            let rule = Rule {
                name: "initial-child-protection-conference",
                rule: &words,
                source: &ed.edition,
            };
            let mut reasons = vec![match discussion {
                Some(s) => Reason::new(
                    format!(
                        "Strategy discussion on {}; section 47 enquiry started on {}",
                        s.when(),
                        enquiry.occurred_on
                    ),
                    [s.event_id.as_str(), enquiry.event_id.as_str()],
                ),
                None => cite(
                    format!(
                        "Section 47 enquiry started on {} (no strategy discussion recorded)",
                        enquiry.occurred_on
                    ),
                    enquiry,
                ),
            }];
            let conference = self
                .input
                .between("ChildProtectionConferenceHeld", start, until)
                .find(|c| c.code("kind").as_deref() == Some("initial"));
            let outcome = self
                .input
                .between("Section47Completed", enquiry.occurred_on, until)
                .next();
            if conference.is_none()
                && let Some(o) = outcome
                && let Some(concluded) = o.code("outcome").filter(|c| c != "conference_required")
            {
                reasons.push(cite(
                    format!(
                        "The enquiry concluded on {} ({concluded}): no conference needed",
                        o.occurred_on
                    ),
                    o,
                ));
                out.push(Deadline::not_applicable(rule, Some(start), reasons));
                continue;
            }
            let key = "initial-child-protection-conference";
            let due = self.working_days(key, start, n);
            reasons.push(self.counted(key, n, due));
            let d = self.one(
                rule,
                start,
                due,
                conference,
                reasons,
                ("Initial conference held", "No initial conference"),
            );
            out.push(self.in_working_days(key, d));
        }
        Ok(())
    }

    /// Initial conferences that made (or continued) a plan.
    fn plan_conferences(&self) -> Vec<&'a JourneyEvent> {
        self.input
            .of_kind("ChildProtectionConferenceHeld")
            .filter(|c| {
                c.code("kind").as_deref() == Some("initial")
                    && c.code("outcome").as_deref() == Some("plan_required")
            })
            .collect()
    }

    fn core_groups(&self, out: &mut Vec<Deadline>) -> Result<(), PolicyError> {
        let conferences = self.plan_conferences();
        for (i, icpc) in conferences.iter().enumerate() {
            let start = icpc.occurred_on;
            let until = conferences.get(i + 1).map(|c| c.occurred_on);
            let ed = self.p.edition(start);
            let n = ed.core_group_working_days;
            let words = format!(
                "Hold the first core group meeting within {n} working days of the initial conference"
            );
            let rule = Rule {
                name: "core-group",
                rule: &words,
                source: &ed.edition,
            };
            let met = self.input.between("CoreGroupMet", start, until).next();
            let key = "core-group";
            let due = self.working_days(key, start, n);
            let reasons = vec![
                cite(
                    format!("Initial conference on {start} made a child protection plan"),
                    icpc,
                ),
                self.counted(key, n, due),
            ];
            let d = self.one(
                rule,
                start,
                due,
                met,
                reasons,
                ("Core group met", "No core group meeting"),
            );
            out.push(self.in_working_days(key, d));
        }
        Ok(())
    }

    /// Child protection plans, each with the conference that made it (the plan's start if none is named).
    fn protection_plans(&self) -> Vec<(Period<'a>, &'a JourneyEvent)> {
        self.input
            .periods("ChildProtectionPlanStarted", "ChildProtectionPlanEnded")
            .into_iter()
            .map(|plan| {
                let conference = plan
                    .start
                    .names_event()
                    .and_then(|id| self.input.event(&id))
                    .filter(|c| !c.is_retracted() && c.occurred_on <= plan.starts_on())
                    .unwrap_or(plan.start);
                (plan, conference)
            })
            .collect()
    }

    /// Events of `kind` during a period (from its start to the day it ended, inclusive), that `keep`.
    fn during(
        &self,
        kind: &'a str,
        period: &Period<'_>,
        keep: impl Fn(&JourneyEvent) -> bool,
    ) -> Vec<&'a JourneyEvent> {
        let until = period.ends_on().map(|d| d.add_days(1));
        self.input
            .between(kind, period.starts_on(), until)
            .filter(|e| keep(e))
            .collect()
    }

    fn review_conferences(&self, out: &mut Vec<Deadline>) -> Result<(), PolicyError> {
        for (plan, conference) in self.protection_plans() {
            let ed = self.p.edition(conference.occurred_on);
            let (first, later) = (ed.first_review_conference_months, ed.review_conference_months);
            let due = move |n: usize, from: Date| {
                if n == 0 {
                    Due {
                        on: from.add_months(first),
                        words: format!(
                            "Hold the first review conference within {first} months of the initial conference"
                        ),
                        working_days: false,
                    }
                } else {
                    Due {
                        on: from.add_months(later),
                        words: format!(
                            "Hold review conferences at intervals of not more than {later} months"
                        ),
                        working_days: false,
                    }
                }
            };
            let reviews = self.during("ChildProtectionConferenceHeld", &plan, |c| {
                c.code("kind").as_deref() == Some("review")
            });
            self.series(
                Series {
                    name: "review-child-protection-conference",
                    source: ed.edition.clone(),
                    start: conference.occurred_on,
                    opened: cite(
                        format!(
                            "Child protection plan from the conference on {}",
                            conference.occurred_on
                        ),
                        conference,
                    ),
                    due: &due,
                    done: reviews,
                    end: plan.end,
                },
                out,
            );
        }
        Ok(())
    }

    fn protection_visits(&self, out: &mut Vec<Deadline>) -> Result<(), PolicyError> {
        let plans = self
            .protection_plans()
            .into_iter()
            .map(|(plan, _)| plan)
            .collect();
        let n = self.p.child_protection_visit_working_days;
        self.plan_visits(
            plans,
            "child-protection-visit",
            "child_protection",
            "child protection",
            n,
            out,
        );
        Ok(())
    }

    fn child_in_need_visits(&self, out: &mut Vec<Deadline>) -> Result<(), PolicyError> {
        let plans = self
            .input
            .periods("ChildInNeedPlanStarted", "ChildInNeedPlanEnded");
        let n = self.p.child_in_need_visit_working_days;
        self.plan_visits(
            plans,
            "child-in-need-visit",
            "child_in_need",
            "child in need",
            n,
            out,
        );
        Ok(())
    }

    /// Visits at least every `n` working days while a plan is open, counting visits of `kind` at which the
    /// child was seen.
    fn plan_visits(
        &self,
        plans: Vec<Period<'a>>,
        name: &str,
        kind: &str,
        plan: &str,
        n: u32,
        out: &mut Vec<Deadline>,
    ) {
        for period in plans {
            let due = |_: usize, from: Date| {
                let on = self.working_days(name, from, n);
                let c = self.convention(name);
                Due {
                    on,
                    words: format!(
                        "See the child at least every {n} working days while on a {plan} plan ({}: {})",
                        c.convention.describe(),
                        c.source
                    ),
                    working_days: true,
                }
            };
            let visits = self.during("ChildVisited", &period, |v| {
                v.code("kind").as_deref() == Some(kind) && v.flag("seen") == Some(true)
            });
            self.series(
                Series {
                    name,
                    source: "Local standard (no national frequency; Working Together leaves it to local procedures)"
                        .into(),
                    start: period.starts_on(),
                    opened: cite(format!("The {plan} plan started on {}", period.starts_on()), period.start),
                    due: &due,
                    done: visits,
                    end: period.end,
                },
                out,
            );
        }
    }

    fn looked_after_reviews(&self, out: &mut Vec<Deadline>) -> Result<(), PolicyError> {
        let p = self.p;
        for &(period, short_breaks, _) in &self.care {
            let due = |n: usize, from: Date| match (short_breaks, n) {
                (true, 0) => Due {
                    on: from.add_months(p.short_break_first_review_months),
                    words: format!(
                        "Review a series of short breaks within {} months of the first",
                        p.short_break_first_review_months
                    ),
                    working_days: false,
                },
                (false, 0) => {
                    let (key, wd) = ("looked-after-review", p.looked_after_first_review_working_days);
                    let c = self.convention(key);
                    Due {
                        on: self.working_days(key, from, wd),
                        words: format!(
                            "First review within {wd} working days of becoming looked after ({}: {})",
                            c.convention.describe(),
                            c.source
                        ),
                        working_days: true,
                    }
                }
                (false, 1) => Due {
                    on: from.add_months(p.looked_after_second_review_months),
                    words: format!(
                        "Second review not more than {} months after the first",
                        p.looked_after_second_review_months
                    ),
                    working_days: false,
                },
                _ => Due {
                    on: from.add_months(p.looked_after_later_review_months),
                    words: format!(
                        "Later reviews at intervals of not more than {} months",
                        p.looked_after_later_review_months
                    ),
                    working_days: false,
                },
            };
            let reviews = self.during("LookedAfterReviewHeld", &period, |_| true);
            let source = if short_breaks {
                format!("{CPPCR}, regulation 48")
            } else {
                format!("{CPPCR}, regulation 33")
            };
            let what = if short_breaks {
                "First short break"
            } else {
                "Became looked after"
            };
            self.series(
                Series {
                    name: "looked-after-review",
                    source,
                    start: period.starts_on(),
                    opened: cite(format!("{what} on {}", period.starts_on()), period.start),
                    due: &due,
                    done: reviews,
                    end: period.end,
                },
                out,
            );
        }
        Ok(())
    }

    fn looked_after_visits(&self, out: &mut Vec<Deadline>) -> Result<(), PolicyError> {
        let p = self.p;
        for &(_, short_breaks, ref care) in &self.care {
            if short_breaks {
                continue;
            }
            for (i, (placed, kind)) in care.placements.iter().enumerate() {
                let end = care.placements.get(i + 1).map(|(e, _)| *e).or(care.period.end);
                let placement = Period { start: placed, end };
                let long_term = p.long_term_placements.contains(kind);
                let placed_on = placed.occurred_on;
                let due = |n: usize, from: Date| {
                    if n == 0 {
                        let d = p.looked_after_first_visit_days;
                        Due {
                            on: from.add_days(d),
                            words: format!("Visit within {d} days of the start of a placement"),
                            working_days: false,
                        }
                    } else if long_term && from >= placed_on.add_years(1) {
                        let m = p.long_term_visit_months;
                        Due {
                            on: from.add_months(m),
                            words: format!(
                                "After the first year of a long-term placement, visit at least every {m} months"
                            ),
                            working_days: false,
                        }
                    } else {
                        let w = p.looked_after_visit_weeks;
                        Due {
                            on: from.add_weeks(w),
                            words: format!("Visit at intervals of not more than {w} weeks"),
                            working_days: false,
                        }
                    }
                };
                let visits = self.during("ChildVisited", &placement, |v| {
                    v.code("kind").as_deref() == Some("looked_after")
                });
                self.series(
                    Series {
                        name: "looked-after-visit",
                        source: format!("{CPPCR}, regulation 28"),
                        start: placed_on,
                        opened: cite(format!("Placement ({kind}) from {placed_on}"), placed),
                        due: &due,
                        done: visits,
                        end,
                    },
                    out,
                );
            }
        }
        Ok(())
    }

    fn health_assessments(&self, out: &mut Vec<Deadline>) -> Result<(), PolicyError> {
        let p = self.p;
        for &(period, short_breaks, _) in &self.care {
            if short_breaks {
                continue;
            }
            let due = |n: usize, from: Date| {
                if n == 0 {
                    let (key, wd) = ("health-assessment", p.initial_health_assessment_working_days);
                    let c = self.convention(key);
                    return Due {
                        on: self.working_days(key, from, wd),
                        words: format!(
                            "Initial health assessment within {wd} working days of becoming looked after ({}: {})",
                            c.convention.describe(),
                            c.source
                        ),
                        working_days: true,
                    };
                }
                match self.input.age_on(from) {
                    Some(age) if age < 5 => Due {
                        on: from.add_months(p.health_review_months_under_5),
                        words: format!(
                            "Review health assessment within {} months (the child was under 5 at the last)",
                            p.health_review_months_under_5
                        ),
                        working_days: false,
                    },
                    _ => Due {
                        on: from.add_months(p.health_review_months_from_5),
                        words: format!(
                            "Review health assessment within {} months (the child was 5 or over at the last)",
                            p.health_review_months_from_5
                        ),
                        working_days: false,
                    },
                }
            };
            let done = self.during("HealthAssessmentCompleted", &period, |_| true);
            self.series(
                Series {
                    name: "health-assessment",
                    source: format!(
                        "{CPPCR}, regulation 7; Promoting the health and wellbeing of looked-after children (2015)"
                    ),
                    start: period.starts_on(),
                    opened: cite(format!("Became looked after on {}", period.starts_on()), period.start),
                    due: &due,
                    done,
                    end: period.end,
                },
                out,
            );
        }
        Ok(())
    }

    fn return_interviews(&self, out: &mut Vec<Deadline>) -> Result<(), PolicyError> {
        let hours = self.p.return_interview_hours;
        let words = format!("Offer a return interview within {hours} hours of the child's return");
        let rule = Rule {
            name: "return-interview",
            rule: &words,
            source: "Children who run away or go missing from home or care (DfE statutory guidance, 2014)",
        };
        let episodes = self.input.periods("MissingEpisodeStarted", "MissingEpisodeEnded");
        for (i, episode) in episodes.iter().enumerate() {
            let Some(returned) = episode.end else {
                continue;
            };
            let until = episodes.get(i + 1).map(|e| e.starts_on());
            // The instant of the return, where the record has its time.
            let returned_at = returned
                .occurred_time
                .map(|t| returned.occurred_on.instant_in_england(Some(t)));
            // Without a time of return, the clock runs from the end of the day of return.
            let due_at = returned_at
                .unwrap_or_else(|| returned.occurred_on.add_days(1).instant_in_england(None) - 1)
                .saturating_add(hours * 3_600_000_000);
            let due = Date::in_england_at(due_at);
            let offered = self
                .input
                .of_kinds(&["ReturnInterviewOffered", "ReturnInterviewHeld"])
                .find(|e| e.occurred_on >= returned.occurred_on && until.is_none_or(|u| e.occurred_on < u));
            let offered_at =
                offered.and_then(|o| o.occurred_time.map(|t| o.occurred_on.instant_in_england(Some(t))));
            let mut reasons = vec![Reason::new(
                format!(
                    "Missing from {}, returned {}",
                    episode.start.when(),
                    returned.when()
                ),
                episode.event_ids(),
            )];
            let due_words = Date::describe_instant(due_at);
            let d = match (returned_at, offered, offered_at) {
                // Both instants known: judged by them, to the hour.
                (Some(_), Some(o), Some(done_at)) => {
                    reasons.push(cite(
                        format!(
                            "Return interview {} on {}; judged by the times recorded: due {due_words}",
                            offered_verb(o),
                            o.when()
                        ),
                        o,
                    ));
                    Deadline::judged_at(
                        rule,
                        returned.occurred_on,
                        due_at,
                        Some(done_at),
                        self.on,
                        reasons,
                    )
                }
                // One of them has only a date: judged by dates.
                (_, Some(o), _) => {
                    let missing = if returned_at.is_none() {
                        "the return"
                    } else {
                        "the interview"
                    };
                    reasons.push(cite(
                        format!(
                            "Return interview {} on {}; judged by date, as {missing} has no time recorded: due by \
                             the end of {due} ({due_words})",
                            offered_verb(o),
                            o.when()
                        ),
                        o,
                    ));
                    let d = Deadline::judged(
                        rule,
                        returned.occurred_on,
                        due,
                        Some(o.occurred_on),
                        self.on,
                        reasons,
                    )
                    .with_due_at(due_at)
                    .counted(Counting::Exclusive);
                    match offered_at {
                        Some(done_at) => d.with_completed_at(done_at),
                        None => d,
                    }
                }
                // Not offered, the return's time known: due at the instant, late by the hours from it to the
                // start of the day judged (at least that late).
                (Some(_), None, _) => {
                    reasons.push(Reason::because(format!(
                        "No return interview offered or held by {}; due {due_words}",
                        self.on
                    )));
                    Deadline::judged_at(rule, returned.occurred_on, due_at, None, self.on, reasons)
                }
                (None, None, _) => {
                    reasons.push(Reason::because(format!(
                        "No return interview offered or held by {}; judged by date, as the return has no time \
                         recorded: due by the end of {due}",
                        self.on
                    )));
                    Deadline::judged(rule, returned.occurred_on, due, None, self.on, reasons)
                        .with_due_at(due_at)
                        .counted(Counting::Exclusive)
                }
            };
            out.push(d);
        }
        Ok(())
    }

    /// The periods of care in which an adoption decision or placement order was made.
    fn adoption_care(&self) -> Result<Vec<(&CarePeriod<'a>, &'a JourneyEvent)>, PolicyError> {
        let decisions: Vec<&JourneyEvent> = self
            .input
            .of_kinds(&["AdoptionDecisionMade", "CourtOrderMade"])
            .filter(|e| {
                e.kind == "AdoptionDecisionMade" || e.code("order").as_deref() == Some("placement_order")
            })
            .collect();
        let mut out = Vec::new();
        for (_, _, care) in &self.care {
            if let Some(decision) = decisions.iter().find(|d| {
                d.occurred_on >= care.period.starts_on()
                    && care.period.ends_on().is_none_or(|e| d.occurred_on <= e)
            }) {
                out.push((care, *decision));
            }
        }
        Ok(out)
    }

    fn adoption_a1(&self, out: &mut Vec<Deadline>) -> Result<(), PolicyError> {
        for (care, decision) in self.adoption_care()? {
            let start = care.period.starts_on();
            let placed = self
                .input
                .between(
                    "PlacedForAdoption",
                    start,
                    care.period.ends_on().map(|e| e.add_days(1)),
                )
                .next();
            let sc = self.p.scorecard(placed.map_or(self.on, |p| p.occurred_on));
            let words = format!(
                "Move in with the adoptive family within {} days of entering care (adoption scorecard A1, {})",
                sc.a1_days, sc.scorecard
            );
            let source = format!("Adoption scorecard {} threshold (DfE)", sc.scorecard);
            let rule = Rule {
                name: "adoption-a1",
                rule: &words,
                source: &source,
            };
            let reasons = vec![
                cite(format!("Entered care on {start}"), care.period.start),
                cite(
                    format!("Adoption decided on {} ({})", decision.occurred_on, decision.kind),
                    decision,
                ),
            ];
            if placed.is_none()
                && let Some(reversed) = self
                    .input
                    .between("AdoptionDecisionReversed", decision.occurred_on, None)
                    .next()
            {
                let mut reasons = reasons;
                reasons.push(cite(
                    format!("The adoption plan was reversed on {}", reversed.occurred_on),
                    reversed,
                ));
                out.push(Deadline::not_applicable(rule, Some(start), reasons));
                continue;
            }
            let due = start.add_days(sc.a1_days);
            out.push(
                self.one(
                    rule,
                    start,
                    due,
                    placed,
                    reasons,
                    ("Placed for adoption", "No placement for adoption"),
                )
                .counted(Counting::Exclusive),
            );
        }
        Ok(())
    }

    fn adoption_a2(&self, out: &mut Vec<Deadline>) -> Result<(), PolicyError> {
        let orders = self
            .input
            .of_kind("CourtOrderMade")
            .filter(|e| e.code("order").as_deref() == Some("placement_order"));
        for order in orders {
            let start = order.occurred_on;
            // A match before the authority counts as made on the day of the order (zero days).
            let earlier = self
                .input
                .of_kind("MatchedWithAdopters")
                .find(|m| m.occurred_on <= start);
            let matched = earlier.or_else(|| self.input.between("MatchedWithAdopters", start, None).next());
            let sc = self
                .p
                .scorecard(matched.map_or(self.on, |m| m.occurred_on.max(start)));
            let words = format!(
                "Match with adopters within {} days of the placement order (adoption scorecard A2, {})",
                sc.a2_days, sc.scorecard
            );
            let source = format!("Adoption scorecard {} threshold (DfE)", sc.scorecard);
            let rule = Rule {
                name: "adoption-a2",
                rule: &words,
                source: &source,
            };
            let due = start.add_days(sc.a2_days);
            let mut reasons = vec![cite(format!("Placement order made on {start}"), order)];
            let completed = match matched {
                Some(m) if m.occurred_on <= start => {
                    reasons.push(cite(
                        format!(
                            "Matched on {}, before the order: counts as zero days",
                            m.occurred_on
                        ),
                        m,
                    ));
                    Some(start)
                }
                Some(m) => {
                    reasons.push(cite(format!("Matched with adopters on {}", m.occurred_on), m));
                    Some(m.occurred_on)
                }
                None => {
                    reasons.push(Reason::because(format!("No match recorded by {}", self.on)));
                    None
                }
            };
            out.push(
                Deadline::judged(rule, start, due, completed, self.on, reasons).counted(Counting::Exclusive),
            );
        }
        Ok(())
    }
}

export_policy!(StatutoryTimescales);

#[cfg(test)]
mod tests;
