//! # care-leaver-entitlements: the care-leaver category, and what follows from it, with dates
//!
//! **Counting, as the law does** (Children Act 1989 Sch 2 para 19B(2); CPPCR 2010 reg 40): a child is
//! *eligible* when aged 16 or 17, looked after, and looked after "for a period of 13 weeks, or periods
//! amounting in all to 13 weeks, which began after he reached the age of 14 and ended after he reached the
//! age of 16". Here:
//! * a day counts when the child was looked after on it: from the day a period of care began up to, not
//!   including, the day it ended; only days on or after the 14th birthday count; periods need not be
//!   continuous; 13 weeks is 91 such days, so a child who came into care after 14 is eligible from the 91st
//!   day (counting the first);
//! * the counted periods must end after the 16th birthday: the child is looked after on a day from the 16th
//!   birthday on (so a child in care since 14 is eligible on the 16th birthday itself);
//! * days under a series of short breaks (legal status V3 or V4, CPPCR reg 48) do not count, and a child
//!   only in short breaks is not eligible;
//! * birthdays are `date_of_birth + N years`, a 29 February birthday falling on 28 February in a common
//!   year (as the DfE validators count).
//!
//! Then on the evaluation date:
//! * **eligible**: 16 or 17, looked after, counted as above;
//! * **relevant** (s23A): 16 or 17, not looked after, eligible on the day before care last ended; no longer
//!   relevant once living for `parental_responsibility_months` with someone with parental responsibility
//!   (Care Leavers (England) Regulations 2010 reg 3(3)): care ended with one of
//!   `parental_responsibility_reasons` (home to a parent, E4A/E4B; a child arrangements or residence order,
//!   E41; adoption, E11/E12; special guardianship, E43-E48);
//! * **former relevant** (s23C): 18 to 24, eligible or relevant on the day before the 18th birthday;
//! * **qualifying** (s24): under 21 (16 to 20 for special guardianship), and looked after on a day after the
//!   16th birthday but no longer (s24(1B)), or looked after immediately before a special guardianship order
//!   (s24(1A), `special_guardianship_reasons`).
//!
//! **Reason codes by meaning, in every year.** The SSDA903 reason a period of care ended with (`REC`)
//! changed over the years: special guardianship was E43 (to former foster carers) and E44 (to other
//! carers) up to 2017/18, and E45-E48 from 2018/19. Each list above names every code of its meaning in
//! every collection year it was valid in, so that a history recorded before 2018/19 is judged as one
//! recorded after (Journey refuses a code on a date outside its years: `journey_core::codes`).
//!
//! **A period of care found in progress.** History imported from an authority's earliest return may begin
//! with a period of care already in progress (`CareInProgressRecorded`): it began before its recorded start,
//! on a date not recorded. Its days from the 14th birthday (or the end of an earlier recorded period) up to
//! its recorded start may have been looked after, so the days counted are "at least" and the reasons say so.
//! Where the category depends on those days (fewer than 13 weeks counted, but 13 weeks reachable with them),
//! the child is not given a category the record cannot show: an alert (`care-leaver-category-unknown`)
//! says why, and a young person who is at least qualifying is given that category with a reason saying that
//! former relevant depends on the unrecorded days. An eligible child's first eligible day is then "at the
//! latest".
//!
//! **Entitlements**, each with its start and last day (`ends_on` is the day before the birthday it ends
//! at): the needs assessment (and a deadline: within `needs_assessment_months` of becoming eligible, CPPCR
//! reg 42), a pathway plan and a personal adviser to 21, a personal adviser on request from 21 to 25 (s23CZB,
//! from 1 April 2018), accommodation and maintenance for a relevant child to 18 (s23B(8)), Staying Put to 21
//! from a foster placement held on the day before the 18th birthday (s23CZA, from 13 May 2014), the higher
//! education bursary (s23C(5A)), advice and assistance for a qualifying young person to 21 and help with
//! education and training to 25 (s24A, s24B), and the local offer (`local_offer`: any item, for the
//! categories and ages it names). Future entitlements are listed with their future start (Staying Put from
//! 18 for an eligible child in foster care now).
//!
//! Not covered: the prescribed relevant-child category of a young person detained or in hospital on the
//! 16th birthday, and the extension of duties to 25 for those in education (which depends on facts Journey
//! does not hold).

use journey_policy_sdk::*;
use serde::Deserialize;

struct CareLeaverEntitlements;

const DEFAULTS: &str = include_str!("../parameters.json");
/// Thirteen weeks, in days.
const THIRTEEN_WEEKS: i64 = 91;

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Parameters {
    short_break_legal_statuses: Vec<String>,
    parental_responsibility_reasons: Vec<String>,
    parental_responsibility_months: i32,
    special_guardianship_reasons: Vec<String>,
    needs_assessment_months: i32,
    personal_adviser_until_age: u32,
    personal_adviser_on_request_until_age: u32,
    personal_adviser_on_request_from: Date,
    staying_put_from: Date,
    staying_put_until_age: u32,
    staying_put_placements: Vec<String>,
    higher_education_bursary_from: Date,
    higher_education_bursary_pence: u32,
    education_support_until_age: u32,
    local_offer: Vec<Offer>,
}

/// An item of the local offer.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Offer {
    name: String,
    categories: Vec<String>,
    from_age: u32,
    until_age: u32,
    detail: String,
}

const CATEGORIES: [&str; 4] = ["eligible", "relevant", "former-relevant", "qualifying"];

impl Parameters {
    fn validate(&self) -> Result<(), PolicyError> {
        PolicyError::check(
            self.parental_responsibility_months >= 1,
            "parental_responsibility_months",
            "must be at least 1",
        )?;
        PolicyError::check(
            self.needs_assessment_months >= 1,
            "needs_assessment_months",
            "must be at least 1",
        )?;
        for (age, field) in [
            (self.personal_adviser_until_age, "personal_adviser_until_age"),
            (
                self.personal_adviser_on_request_until_age,
                "personal_adviser_on_request_until_age",
            ),
            (self.staying_put_until_age, "staying_put_until_age"),
            (self.education_support_until_age, "education_support_until_age"),
        ] {
            PolicyError::check((18..=30).contains(&age), field, "must be an age from 18 to 30")?;
        }
        PolicyError::check(
            self.personal_adviser_until_age <= self.personal_adviser_on_request_until_age,
            "personal_adviser_on_request_until_age",
            "must not be below personal_adviser_until_age",
        )?;
        for o in &self.local_offer {
            let lower = |c: char| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-';
            PolicyError::check(
                !o.name.is_empty() && o.name.chars().all(lower),
                "local_offer",
                format!("`{}`: a name is lower-case-with-hyphens", o.name),
            )?;
            PolicyError::check(
                !o.categories.is_empty() && o.categories.iter().all(|c| CATEGORIES.contains(&c.as_str())),
                "local_offer",
                format!("`{}`: categories are from {}", o.name, CATEGORIES.join(", ")),
            )?;
            PolicyError::check(
                o.from_age < o.until_age,
                "local_offer",
                format!("`{}`: from_age must be below until_age", o.name),
            )?;
        }
        Ok(())
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Category {
    Eligible,
    Relevant,
    FormerRelevant,
    Qualifying,
}

impl Category {
    fn code(self) -> &'static str {
        match self {
            Category::Eligible => "eligible",
            Category::Relevant => "relevant",
            Category::FormerRelevant => "former-relevant",
            Category::Qualifying => "qualifying",
        }
    }
}

/// The child's looked-after days, as the law counts them.
struct Care<'a> {
    dob: Date,
    /// Legal-status spans that count (not short breaks).
    counted: Vec<LegalStatusSpan<'a>>,
    /// Periods of care other than a series of short breaks.
    periods: Vec<CarePeriod<'a>>,
    /// The days before a period found in progress that may have been looked after and would count.
    unrecorded: Option<Unrecorded<'a>>,
}

/// Whether the child was eligible on a day, as far as the record shows.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Eligibility {
    Yes,
    No,
    /// Only if enough of the unrecorded days before a period found in progress were looked after.
    Unknown,
}

/// The days `[after, before)` that a period of care found in progress may have covered before its recorded
/// start (`before`): from the 14th birthday, or the end of the recorded period before it if later.
struct Unrecorded<'a> {
    after: Date,
    before: Date,
    /// The `CareInProgressRecorded` event, for citing.
    event: &'a JourneyEvent,
}

impl Unrecorded<'_> {
    /// Why counts that could include these days are lower bounds.
    fn reason(&self) -> Reason {
        Reason::new(
            format!(
                "Care found in progress on {} (history imported from a return that begins mid-period) began on a \
                 date not recorded: the days from {} to {} may have been looked after and are not counted",
                self.before,
                self.after,
                self.before.add_days(-1)
            ),
            [self.event.event_id.as_str()],
        )
    }
}

impl<'a> Care<'a> {
    fn new(input: &'a EvaluationInput, dob: Date, p: &Parameters) -> Result<Care<'a>, PolicyError> {
        // A series of short breaks is not care for any of the counting (CPPCR 2010 reg 48).
        let mut periods = input.all_care_periods()?;
        periods.retain(|c| !c.is_short_breaks(&p.short_break_legal_statuses));
        let counted = periods
            .iter()
            .flat_map(|c| c.legal_statuses.iter())
            .filter(|s| !p.short_break_legal_statuses.contains(&s.legal_status))
            .cloned()
            .collect();
        let unrecorded = periods.iter().enumerate().find_map(|(i, c)| {
            let before = c.period.starts_on();
            let previous_end = i.checked_sub(1).and_then(|j| periods[j].period.ends_on());
            let after = previous_end.map_or(dob.birthday(14), |e| e.max(dob.birthday(14)));
            (c.start_unknown() && after < before).then_some(Unrecorded {
                after,
                before,
                event: c.period.start,
            })
        });
        Ok(Care {
            dob,
            counted,
            periods,
            unrecorded,
        })
    }

    /// Of the unrecorded days before a period found in progress, those up to `d` (inclusive): they would
    /// count towards the 13 weeks if the child was looked after on them.
    fn unrecorded_days(&self, d: Date) -> i64 {
        self.unrecorded
            .as_ref()
            .map_or(0, |u| u.after.days_until(&u.before.min(d.add_days(1))).max(0))
    }

    /// "91 days", or "at least 91 days" when unrecorded days up to `d` may have been looked after too.
    fn days_to(&self, d: Date) -> String {
        let counted = days(self.days_since_14(d));
        if self.unrecorded_days(d) > 0 {
            format!("at least {counted}")
        } else {
            counted
        }
    }

    fn looked_after_on(&self, d: Date) -> bool {
        self.counted.iter().any(|s| s.days_within(d, d.add_days(1)) == 1)
    }

    /// Days looked after from the 14th birthday to `d`, inclusive.
    fn days_since_14(&self, d: Date) -> i64 {
        let from = self.dob.birthday(14);
        self.counted
            .iter()
            .map(|s| s.days_within(from, d.add_days(1)))
            .sum()
    }

    fn eligibility_on(&self, d: Date) -> Eligibility {
        if !matches!(self.dob.age_on(&d), Some(16 | 17)) {
            return Eligibility::No;
        }
        let counted = self.days_since_14(d);
        if self.looked_after_on(d) && counted >= THIRTEEN_WEEKS {
            return Eligibility::Yes;
        }
        // On an unrecorded day the child may have been looked after; after them, only as recorded.
        let may_be_looked_after = self.looked_after_on(d)
            || self
                .unrecorded
                .as_ref()
                .is_some_and(|u| u.after <= d && d < u.before);
        if may_be_looked_after && counted + self.unrecorded_days(d) >= THIRTEEN_WEEKS {
            Eligibility::Unknown
        } else {
            Eligibility::No
        }
    }

    fn eligible_on(&self, d: Date) -> bool {
        self.eligibility_on(d) == Eligibility::Yes
    }

    /// The first day from the 16th birthday to `until` (inclusive) on which the child was eligible, and
    /// whether the child may have been eligible earlier (on unrecorded days, or with them counted).
    fn first_eligible(&self, until: Date) -> (Option<Date>, bool) {
        let mut d = self.dob.birthday(16);
        let last = until.min(self.dob.birthday(18).add_days(-1));
        let mut maybe_earlier = false;
        while d <= last {
            match self.eligibility_on(d) {
                Eligibility::Yes => return (Some(d), maybe_earlier),
                Eligibility::Unknown => maybe_earlier = true,
                Eligibility::No => {}
            }
            d = d.add_days(1);
        }
        (None, maybe_earlier)
    }

    /// The last counted period of care that ended on or before `on`, with its end event.
    fn last_left(&self, on: Date) -> Option<&CarePeriod<'a>> {
        self.periods
            .iter()
            .rev()
            .find(|c| c.period.ends_on().is_some_and(|e| e <= on))
    }

    /// The span the child was in on `d`, for citing.
    fn span_on(&self, d: Date) -> Option<&LegalStatusSpan<'a>> {
        self.counted.iter().find(|s| s.days_within(d, d.add_days(1)) == 1)
    }
}

/// The category on a date, with the day it began to apply (for the relevant: the day care ended) and why.
struct Status<'a> {
    category: Category,
    since: Date,
    eligible_from: Option<Date>,
    reasons: Vec<Reason>,
    left: Option<&'a JourneyEvent>,
}

/// What the record shows of the category on the evaluation date.
enum Judged<'a> {
    Category(Status<'a>),
    /// The category depends on unrecorded days before a period found in progress: why.
    Undetermined(Vec<Reason>),
    None,
}

impl Policy for CareLeaverEntitlements {
    fn about() -> PolicyInfo {
        PolicyInfo::new(
            "care-leaver-entitlements",
            PolicyKind::CareLeaverEntitlements,
            "2.0.0",
            "The care-leaver category (eligible, relevant, former relevant, qualifying) counted from the \
             looked-after history and date of birth as the Children Act 1989 counts it (13 weeks after 14, \
             ending after 16, short breaks excluded), and the entitlements that follow with their start and \
             end dates: needs assessment, pathway plan, personal adviser to 21 and on request to 25, Staying \
             Put, the higher education bursary, and the local offer.",
        )
    }

    fn evaluate(input: &EvaluationInput) -> Result<Decisions, PolicyError> {
        let p: Parameters = input.parameters_over(DEFAULTS)?;
        p.validate()?;
        let mut decisions = Decisions::default();
        let Some(dob) = input.date_of_birth() else {
            decisions.alerts.push(Alert::new(
                "no-date-of-birth",
                Severity::Info,
                "No date of birth is recorded, so no care-leaver category can be counted.",
                vec![Reason::because("The child's date of birth is not known")],
            ));
            return Ok(decisions);
        };
        let care = Care::new(input, dob, &p)?;
        let on = input.evaluation_date;
        match status(input, &care, &p) {
            Judged::Category(s) => entitlements(input, &care, &p, &s, &mut decisions),
            Judged::Undetermined(reasons) => decisions.alerts.push(Alert::new(
                "care-leaver-category-unknown",
                Severity::Warning,
                format!(
                    "The care-leaver category on {on} cannot be counted from the record: it depends on days \
                     looked after before a period of care found in progress, which began on a date not \
                     recorded. Record the period's beginning (import the earlier return) to count it."
                ),
                reasons,
            )),
            Judged::None => {
                decisions.alerts.push(Alert::new(
                    "no-care-leaver-category",
                    Severity::Info,
                    format!(
                        "No care-leaver category on {on}: aged {}, looked after {} since the 14th birthday \
                         ({}), short breaks excluded.",
                        dob.age_on(&on).map_or("unborn".into(), |a| a.to_string()),
                        care.days_to(on),
                        dob.birthday(14)
                    ),
                    vec![Reason::because(format!("Date of birth {dob}"))],
                ));
            }
        }
        Ok(decisions)
    }
}

fn born(dob: Date) -> Reason {
    Reason::because(format!(
        "Born {dob}: 14 on {}, 16 on {}, 18 on {}, 21 on {}",
        dob.birthday(14),
        dob.birthday(16),
        dob.birthday(18),
        dob.birthday(21)
    ))
}

fn status<'a>(input: &'a EvaluationInput, care: &Care<'a>, p: &Parameters) -> Judged<'a> {
    let on = input.evaluation_date;
    let dob = care.dob;
    let Some(age) = dob.age_on(&on) else {
        return Judged::None;
    };
    let (b16, b18, b21) = (dob.birthday(16), dob.birthday(18), dob.birthday(21));
    let counted = |d: Date| {
        let mut ids: Vec<String> = care
            .counted
            .iter()
            .filter(|s| s.days_within(dob.birthday(14), d.add_days(1)) > 0)
            .map(|s| s.event.event_id.clone())
            .collect();
        ids.dedup();
        Reason::new(
            format!(
                "Looked after {} from the 14th birthday to {d} (13 weeks is {THIRTEEN_WEEKS} days; short breaks \
                 excluded), and on a day after the 16th birthday",
                care.days_to(d)
            ),
            ids,
        )
    };
    // Why a category rests on, or cannot be told without, the unrecorded days.
    let unrecorded = || care.unrecorded.as_ref().map(Unrecorded::reason);
    let undetermined = |why: String| {
        let mut reasons = vec![born(dob), Reason::because(why)];
        reasons.extend(unrecorded());
        Judged::Undetermined(reasons)
    };
    let found = |category, since, eligible_from, mut reasons: Vec<Reason>, left| {
        reasons.insert(0, born(dob));
        Judged::Category(Status {
            category,
            since,
            eligible_from,
            reasons,
            left,
        })
    };
    // Was the child, on the day before `d`, eligible, or relevant after leaving care?
    let last_left = |by: Date| {
        care.last_left(by)
            .filter(|c| c.period.ends_on().is_some_and(|e| e > b16))
    };
    // Relevant on `d` (`Yes` with the period left), or only if unrecorded days were looked after.
    let relevant_on = |d: Date| -> (Eligibility, Option<&CarePeriod<'a>>) {
        let Some(left) = last_left(d) else {
            return (Eligibility::No, None);
        };
        let Some(end) = left.period.ends_on() else {
            return (Eligibility::No, None);
        };
        let eligible = care.eligibility_on(end.add_days(-1));
        if care.looked_after_on(d) || eligible == Eligibility::No {
            return (Eligibility::No, None);
        }
        let home = left
            .end_reason()
            .is_some_and(|r| p.parental_responsibility_reasons.contains(&r));
        if home && d >= end.add_months(p.parental_responsibility_months) {
            return (Eligibility::No, None);
        }
        (eligible, Some(left))
    };
    if !(16..25).contains(&age) {
        return Judged::None;
    }
    let (eligible_from, maybe_earlier) = care.first_eligible(on.min(b18.add_days(-1)));
    // An eligible child who may have been eligible before the first day the record shows.
    let at_the_latest = |from: Date| {
        let mut reasons = Vec::new();
        if maybe_earlier {
            reasons.push(Reason::because(format!(
                "Eligible from {from} at the latest: eligible earlier if enough of the unrecorded days were \
                 looked after"
            )));
            reasons.extend(unrecorded());
        }
        reasons
    };
    if age < 18 {
        match care.eligibility_on(on) {
            Eligibility::Yes => {
                let from = eligible_from.unwrap_or(on);
                let mut reasons = vec![counted(on)];
                reasons.extend(at_the_latest(from));
                return found(Category::Eligible, from, Some(from), reasons, None);
            }
            Eligibility::Unknown => {
                return undetermined(format!(
                    "Looked after {} from the 14th birthday to {on}: eligible if the unrecorded days bring it \
                     to 13 weeks ({THIRTEEN_WEEKS} days)",
                    care.days_to(on)
                ));
            }
            Eligibility::No => {}
        }
    }
    // Relevant or former relevant only if unrecorded days were looked after: at most qualifying, as far as
    // the record shows.
    let mut category_unknown = None;
    if age < 18 {
        let (relevant, left) = relevant_on(on);
        if relevant == Eligibility::Unknown
            && let Some(end) = left.and_then(|l| l.period.ends_on())
        {
            category_unknown = Some(format!(
                "Relevant if the unrecorded days bring the days looked after from the 14th birthday to the day \
                 before care ended ({}; {} counted) to 13 weeks ({THIRTEEN_WEEKS} days)",
                end.add_days(-1),
                care.days_to(end.add_days(-1))
            ));
        } else if let Some(left) = left {
            let end = left.period.end.expect("a period that ended");
            let mut reasons = vec![
                counted(end.occurred_on.add_days(-1)),
                Reason::new(
                    format!(
                        "Eligible when care ended on {} ({})",
                        end.occurred_on,
                        left.end_reason().unwrap_or_default()
                    ),
                    [end.event_id.as_str()],
                ),
            ];
            reasons.extend(at_the_latest(eligible_from.unwrap_or(end.occurred_on)));
            return found(
                Category::Relevant,
                end.occurred_on,
                eligible_from,
                reasons,
                Some(end),
            );
        }
    } else {
        let eve = b18.add_days(-1);
        let (eligible, relevant) = (care.eligibility_on(eve), relevant_on(eve).0);
        if eligible == Eligibility::Yes || relevant == Eligibility::Yes {
            let how = if care.eligible_on(eve) {
                "Looked after and eligible on the day before the 18th birthday"
            } else {
                "A relevant child on the day before the 18th birthday"
            };
            // The count up to the last day looked after before 18.
            let last_day = match care.last_left(eve).and_then(|c| c.period.ends_on()) {
                Some(end) if !care.looked_after_on(eve) => end.add_days(-1),
                _ => eve,
            };
            let mut reasons = vec![counted(last_day)];
            let cite: Vec<String> = care
                .span_on(eve)
                .map(|s| s.event.event_id.clone())
                .into_iter()
                .collect();
            reasons.push(Reason::new(how, cite));
            reasons.extend(at_the_latest(eligible_from.unwrap_or(b18)));
            let left = care.last_left(on).and_then(|c| c.period.end);
            return found(Category::FormerRelevant, b18, eligible_from, reasons, left);
        }
        if eligible == Eligibility::Unknown || relevant == Eligibility::Unknown {
            category_unknown = Some(format!(
                "Former relevant if the unrecorded days bring the days looked after from the 14th birthday to \
                 the day before the 18th birthday ({eve}; {} counted) to 13 weeks ({THIRTEEN_WEEKS} days)",
                care.days_to(eve)
            ));
        }
    }
    // A young person who may be relevant or former relevant is at least qualifying, where the record shows
    // that.
    let qualifying = |mut reasons: Vec<Reason>| {
        if let Some(why) = &category_unknown {
            reasons.push(Reason::because(why.clone()));
            reasons.extend(unrecorded());
        }
        reasons
    };
    if age >= 21 {
        return match &category_unknown {
            Some(why) => undetermined(why.clone()),
            None => Judged::None,
        };
    }
    // Qualifying: looked after after 16 (while a child) but no longer, or special guardianship from care.
    let after_16 = care.periods.iter().rfind(|c| {
        c.period.starts_on() < b18
            && c.period.ends_on().is_some_and(|e| e > b16 && e <= on)
            && !c.is_short_breaks(&p.short_break_legal_statuses)
    });
    if let Some(c) = after_16
        && !care.looked_after_on(on)
    {
        let end = c.period.end.expect("a period that ended");
        let reasons = qualifying(vec![Reason::new(
            format!(
                "Looked after after the 16th birthday ({b16}) until {}",
                end.occurred_on
            ),
            c.period.event_ids(),
        )]);
        return found(
            Category::Qualifying,
            end.occurred_on.min(b21),
            None,
            reasons,
            Some(end),
        );
    }
    let sgo = care.periods.iter().rev().find(|c| {
        c.end_reason()
            .is_some_and(|r| p.special_guardianship_reasons.contains(&r))
            && c.period.ends_on().is_some_and(|e| e <= on)
    });
    if let Some(c) = sgo
        && !care.looked_after_on(on)
    {
        let end = c.period.end.expect("a period that ended");
        let reasons = qualifying(vec![Reason::new(
            format!(
                "Looked after immediately before a special guardianship order on {}",
                end.occurred_on
            ),
            [end.event_id.as_str()],
        )]);
        return found(
            Category::Qualifying,
            b16.max(end.occurred_on),
            None,
            reasons,
            Some(end),
        );
    }
    match &category_unknown {
        Some(why) => undetermined(why.clone()),
        None => Judged::None,
    }
}

/// Everything that follows from the category.
fn entitlements(
    input: &EvaluationInput,
    care: &Care<'_>,
    p: &Parameters,
    s: &Status<'_>,
    out: &mut Decisions,
) {
    let dob = care.dob;
    let birthday = |n: u32| dob.birthday(n);
    let until = |n: u32| Some(birthday(n).add_days(-1));
    let category = s.category.code();
    let mut add = |name: &str, starts_on: Date, ends_on: Option<Date>, why: String| {
        if ends_on.is_some_and(|e| e < starts_on) {
            return;
        }
        let mut reasons = s.reasons.clone();
        reasons.push(Reason::because(why));
        out.entitlements.push(Entitlement {
            name: name.to_string(),
            category: Some(category.to_string()),
            starts_on,
            ends_on,
            reasons,
        });
    };
    let leaving_care = s.category != Category::Qualifying;
    if leaving_care {
        let from = s.eligible_from.unwrap_or(s.since);
        let due = from.add_months(p.needs_assessment_months);
        add(
            "needs-assessment",
            from,
            Some(due),
            format!(
                "Assessment of needs within {} months of becoming eligible on {from} (CPPCR 2010 reg 42)",
                p.needs_assessment_months
            ),
        );
        let pa = p.personal_adviser_until_age;
        add(
            "pathway-plan",
            from,
            until(pa),
            format!("Pathway plan, reviewed at least every 6 months, until {pa} (CA89 Sch 2 para 19B, s23C)"),
        );
        add(
            "personal-adviser",
            from,
            until(pa),
            format!("A personal adviser until {pa} (CA89 Sch 2 para 19C, s23B(2), s23C(3))"),
        );
        let on_request = p.personal_adviser_on_request_until_age;
        add(
            "personal-adviser-on-request",
            birthday(pa).max(p.personal_adviser_on_request_from),
            until(on_request),
            format!(
                "A personal adviser on request from {pa} to {on_request} (CA89 s23CZB, from {})",
                p.personal_adviser_on_request_from
            ),
        );
        if s.category == Category::Relevant {
            add(
                "accommodation-and-maintenance",
                s.since,
                until(18),
                "Suitable accommodation and maintenance while a relevant child, to 18 (CA89 s23B(8))".into(),
            );
        }
        let eve = birthday(18).add_days(-1);
        let foster = care
            .periods
            .iter()
            .find_map(|c| c.placement_on(eve.min(input.evaluation_date)))
            .filter(|pl| p.staying_put_placements.iter().any(|x| x == pl));
        if let Some(placement) = foster
            && (s.category != Category::Relevant)
        {
            let sp = p.staying_put_until_age;
            add(
                "staying-put",
                birthday(18).max(p.staying_put_from),
                until(sp),
                format!(
                    "Staying Put with the foster carers of the placement ({placement}) held at 18, to {sp} (CA89 \
                     s23CZA, from {})",
                    p.staying_put_from
                ),
            );
        }
        let edu = p.education_support_until_age;
        add(
            "higher-education-bursary",
            birthday(18).max(p.higher_education_bursary_from),
            until(edu),
            format!(
                "Higher education bursary of £{}.{:02} for a course in the pathway plan (CA89 s23C(5A))",
                p.higher_education_bursary_pence / 100,
                p.higher_education_bursary_pence % 100
            ),
        );
    } else {
        add(
            "advice-and-assistance",
            s.since,
            until(21),
            "Advice and assistance for a qualifying young person, to 21 (CA89 s24A)".into(),
        );
        let edu = p.education_support_until_age;
        add(
            "education-and-training-assistance",
            s.since,
            until(edu),
            format!("Help with education and training to {edu} (CA89 s24B)"),
        );
    }
    for o in p
        .local_offer
        .iter()
        .filter(|o| o.categories.iter().any(|c| c == category))
    {
        add(
            &o.name,
            birthday(o.from_age).max(s.since),
            until(o.until_age),
            format!("Local offer: {}", o.detail),
        );
    }
    if leaving_care {
        needs_assessment_deadline(input, p, s, dob, out);
    }
}

fn needs_assessment_deadline(
    input: &EvaluationInput,
    p: &Parameters,
    s: &Status<'_>,
    dob: Date,
    out: &mut Decisions,
) {
    let from = s.eligible_from.unwrap_or(s.since);
    let due = from.add_months(p.needs_assessment_months);
    let done = input
        .between("LeavingCareNeedsAssessmentCompleted", dob.birthday(16), None)
        .next();
    let mut reasons = s.reasons.clone();
    reasons.push(match done {
        Some(d) => Reason::new(
            format!("Needs assessment completed on {}", d.occurred_on),
            [d.event_id.as_str()],
        ),
        None => Reason::because(format!(
            "No needs assessment recorded by {}",
            input.evaluation_date
        )),
    });
    if let Some(left) = s.left {
        reasons.push(Reason::new(
            format!("Left care on {}", left.occurred_on),
            [left.event_id.as_str()],
        ));
    }
    let words = format!(
        "Assess the eligible child's needs not more than {} months after the 16th birthday or becoming eligible",
        p.needs_assessment_months
    );
    out.deadlines.push(Deadline::judged(
        Rule {
            name: "leaving-care-needs-assessment",
            rule: &words,
            source: "Care Planning, Placement and Case Review (England) Regulations 2010, regulation 42",
        },
        from,
        due,
        done.map(|d| d.occurred_on),
        input.evaluation_date,
        reasons,
    ));
}

export_policy!(CareLeaverEntitlements);

#[cfg(test)]
mod tests;
