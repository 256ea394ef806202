//! # retention: until when a child's record must be kept, and the rule that says so
//!
//! One retention per child's record (the record is kept, or destroyed, as one), under the rule that keeps it
//! longest; every rule that applies is considered, and those that do not govern are given as reasons too
//! (`shared/domain/rules.md` §8). The statutory rules are built in:
//!
//! * **Looked after** (any period of care, including one found in progress when history was imported, and
//!   short breaks): keep the case record until the 75th anniversary of the child's birth; if the child died
//!   before 18, for 15 years from the date of death (Care Planning, Placement and Case Review (England)
//!   Regulations 2010, reg 50). "Before 18" is a death before the 18th birthday, and birthdays are
//!   `date_of_birth + N years`, a 29 February birthday falling on 28 February in a common year (as
//!   `journey-core` and the DfE validators count them).
//! * **Adoption order made**: keep the adoption case record for at least 100 years from the date of the
//!   order (Disclosure of Adoption Information (Post-Commencement Adoptions) Regulations 2005, reg 6). The
//!   order is a `CourtOrderMade` of `adoption_order`, or a period of care ended with an adoption reason
//!   (`adoption_reasons`: E11, E12; the SSDA903 end date of such a period is the date of the order). Of
//!   several, the latest governs. While a child is placed for adoption, or looked after under an adoption
//!   decision not reversed, and no order is made, the retention is *undetermined*: if the order is made, the
//!   record is kept for 100 years from it (Adoption Agencies Regulations 2005 reg 40: if not, it is kept as
//!   the looked-after record).
//! * **Care leavers** (any leaving-care event: a needs assessment, pathway plan, Staying Put, care-leaver
//!   contact, health history, entitlements): 75 years from the date of birth, or 15 years after death
//!   (Children (Leaving Care) Act 2000; local schedules).
//!
//! The local periods are parameters (`parameters.json`; the shipped defaults are examples from published
//! schedules, which an authority replaces with its own):
//!
//! * **Child protection** (`child_protection`: any strategy discussion, section 47 enquiry, conference or
//!   plan): default 35 years after the last activity on the record (Blackpool).
//! * **Children in need** (`child_in_need`: a referral, assessment, plan or closure, or pre-proceedings and
//!   court work, and no child protection, care or adoption): default the 18th birthday plus 3 years of
//!   inactivity (Devon).
//! * **Contacts and early help only** (`contact_and_early_help`: a child none of the rules above applies
//!   to, including one with nothing recorded but the registration): default as children in need.
//!
//! A local period runs from the later of the `from_birthday`th birthday (if given) and the last activity
//! (if `from_last_activity`), and the record may be destroyed `years` after it. The last activity is the
//! latest event in force of the child's journey, of any kind.
//!
//! **Undetermined** when what the date depends on is not known, with a reason saying what: no date of birth
//! (or an unborn child) for a rule counted from a birthday, or from a death before 18; an episode still open
//! (early help, a child in need episode or plan, a section 47 enquiry, a child protection plan, a period of
//! care, Staying Put) for a local period counted from the last activity, which is not known until it ends
//! (unless the child has died); an adoption order that may yet be made. One undetermined rule makes the
//! record's retention undetermined: it might keep the record longest.
//!
//! Never `held`: holds are recorded outside the child's journey, and the host that lists records due marks
//! a held record. Never `indefinitely`: no rule here keeps a record for ever.

use journey_policy_sdk::*;
use serde::Deserialize;

#[cfg(test)]
mod tests;

struct RecordsRetention;

const DEFAULTS: &str = include_str!("../parameters.json");

const LOOKED_AFTER_SOURCE: &str =
    "Care Planning, Placement and Case Review (England) Regulations 2010, regulation 50";
const ADOPTION_SOURCE: &str =
    "Disclosure of Adoption Information (Post-Commencement Adoptions) Regulations 2005, regulation 6";
const CARE_LEAVER_SOURCE: &str =
    "Children (Leaving Care) Act 2000; local retention schedules (Blackpool, Devon)";

const CHILD_PROTECTION: &[&str] = &[
    "StrategyDiscussionHeld",
    "Section47Started",
    "Section47Completed",
    "ChildProtectionConferenceHeld",
    "ChildProtectionPlanStarted",
    "ChildProtectionCategoryChanged",
    "CoreGroupMet",
    "ChildProtectionPlanEnded",
];
const CHILD_IN_NEED: &[&str] = &[
    "ReferralReceived",
    "AssessmentStarted",
    "AssessmentReviewed",
    "AssessmentCompleted",
    "ChildInNeedPlanStarted",
    "ChildInNeedPlanReviewed",
    "ChildInNeedPlanEnded",
    "ChildInNeedEpisodeClosed",
    "PreProceedingsStarted",
    "LetterBeforeProceedingsSent",
    "FamilyGroupConferenceOffered",
    "FamilyGroupConferenceHeld",
    "PreProceedingsMeetingHeld",
    "PreProceedingsEnded",
    "CareProceedingsIssued",
    "CareProceedingsConcluded",
    "CourtOrderMade",
    "CourtOrderEnded",
];
const LEAVING_CARE: &[&str] = &[
    "LeavingCareNeedsAssessmentCompleted",
    "PathwayPlanStarted",
    "PathwayPlanReviewed",
    "StayingPutStarted",
    "StayingPutEnded",
    "CareLeaverContactRecorded",
    "HealthHistoryGiven",
    "EntitlementOffered",
    "EntitlementAccepted",
    "EntitlementDeclined",
];
/// Spans whose end is the last activity on the record: `(start, end, what it is)`.
/// The most specific first: the reason names the episode that keeps the record open.
const EPISODES: &[(&str, &str, &str)] = &[
    (
        "ChildProtectionPlanStarted",
        "ChildProtectionPlanEnded",
        "child protection plan",
    ),
    ("Section47Started", "Section47Completed", "section 47 enquiry"),
    (
        "ChildInNeedPlanStarted",
        "ChildInNeedPlanEnded",
        "child in need plan",
    ),
    ("EarlyHelpStarted", "EarlyHelpEnded", "early help"),
    ("StayingPutStarted", "StayingPutEnded", "Staying Put arrangement"),
];

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Parameters {
    /// The SSDA903 reasons a period of care ends with when an adoption order is made.
    adoption_reasons: Vec<String>,
    child_protection: LocalPeriod,
    child_in_need: LocalPeriod,
    contact_and_early_help: LocalPeriod,
}

/// A period from the authority's own retention schedule.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct LocalPeriod {
    /// The period runs from no earlier than this birthday.
    from_birthday: Option<u32>,
    /// The period runs from no earlier than the last activity on the record.
    from_last_activity: bool,
    /// Years the record is kept after the period starts to run.
    years: u32,
    /// The schedule it comes from.
    source: String,
}

impl Parameters {
    fn validate(&self) -> Result<(), PolicyError> {
        PolicyError::check(
            !self.adoption_reasons.is_empty(),
            "adoption_reasons",
            "must name at least one reason code (E11, E12)",
        )?;
        self.child_protection.validate("child_protection")?;
        self.child_in_need.validate("child_in_need")?;
        self.contact_and_early_help.validate("contact_and_early_help")
    }
}

impl LocalPeriod {
    fn validate(&self, field: &str) -> Result<(), PolicyError> {
        PolicyError::check(
            self.from_birthday.is_some() || self.from_last_activity,
            field,
            "must run from a birthday (from_birthday), the last activity (from_last_activity) or the later of both",
        )?;
        PolicyError::check(
            self.from_birthday.is_none_or(|b| (1..=100).contains(&b)),
            &format!("{field}.from_birthday"),
            "must be an age from 1 to 100",
        )?;
        PolicyError::check(
            self.years <= 150,
            &format!("{field}.years"),
            "must be at most 150",
        )?;
        PolicyError::check(
            !self.source.trim().is_empty(),
            &format!("{field}.source"),
            "must name the local retention schedule the period comes from",
        )
    }

    /// The rule in words: "Keep the child protection record until 35 years after the last activity on it".
    fn rule(&self, record: &str) -> String {
        let years = match self.years {
            0 => String::new(),
            1 => "1 year after ".to_string(),
            n => format!("{n} years after "),
        };
        match (self.from_birthday, self.from_last_activity) {
            (Some(b), false) => format!("Keep the {record} until {years}the {}", ordinal_birthday(b)),
            (None, _) => format!("Keep the {record} until {years}the last activity on it"),
            (Some(b), true) => format!(
                "Keep the {record} until {years}the later of the {} and the last activity on it",
                ordinal_birthday(b)
            ),
        }
    }
}

fn ordinal_birthday(n: u32) -> String {
    let suffix = match (n % 10, n % 100) {
        (_, 11..=13) => "th",
        (1, _) => "st",
        (2, _) => "nd",
        (3, _) => "rd",
        _ => "th",
    };
    format!("{n}{suffix} birthday")
}

/// What one rule says of the record.
#[derive(Debug)]
struct Considered {
    rule: String,
    source: String,
    /// Why the rule applies to this child, citing the events that make it apply.
    applies: Reason,
    outcome: Outcome,
}

#[derive(Debug)]
enum Outcome {
    /// The record may be destroyed from `destroy_from`; `because` says how it was counted.
    Until {
        destroy_from: Date,
        runs_from: Date,
        because: Reason,
    },
    /// What the date depends on is not known: why.
    Undetermined(Reason),
}

/// What the record shows of who the child is.
struct Facts<'a> {
    /// The date of birth, and the event that recorded it.
    born: Option<(Date, Option<&'a JourneyEvent>)>,
    died: Option<&'a JourneyEvent>,
}

#[derive(Deserialize)]
struct Identity {
    #[serde(default)]
    date_of_birth: Option<Date>,
}

impl<'a> Facts<'a> {
    fn new(input: &'a EvaluationInput) -> Facts<'a> {
        let recorded_by = input
            .of_kinds(&["ChildRegistered", "ChildDetailsAmended"])
            .filter(|e| e.data::<Identity>().is_ok_and(|i| i.date_of_birth.is_some()))
            .last();
        Facts {
            born: input.date_of_birth().map(|dob| (dob, recorded_by)),
            died: input.last_of_kind("ChildDied"),
        }
    }

    fn ids(event: Option<&JourneyEvent>) -> Vec<String> {
        event.map(|e| e.event_id.clone()).into_iter().collect()
    }

    fn born_ids(&self) -> Vec<String> {
        Facts::ids(self.born.and_then(|(_, e)| e))
    }

    /// Undetermined for want of a date of birth.
    fn no_birth(&self, input: &EvaluationInput, counting: &str) -> Outcome {
        let registration = input.of_kind("ChildRegistered").next();
        let why = match input.child.expected_date_of_birth {
            Some(expected) => {
                format!("The child is not yet born (expected on {expected}), so {counting} cannot be counted")
            }
            None => format!("No date of birth is recorded, so {counting} cannot be counted"),
        };
        Outcome::Undetermined(Reason::new(why, Facts::ids(registration)))
    }

    /// Kept to the 75th birthday, or (if `death_governs` says the death counts) 15 years from the death.
    fn seventy_five_or_death(
        &self,
        input: &EvaluationInput,
        death_governs: impl Fn(Date, Option<Date>) -> bool,
        death_rule: &str,
    ) -> Outcome {
        let dob = self.born.map(|(d, _)| d);
        if let Some(died) = self.died
            && death_governs(died.occurred_on, dob)
        {
            return Outcome::Until {
                destroy_from: died.occurred_on.add_years(15),
                runs_from: died.occurred_on,
                because: Reason::new(
                    format!(
                        "The child died on {} ({death_rule}): kept for 15 years, until {}",
                        died.occurred_on,
                        died.occurred_on.add_years(15)
                    ),
                    [died.event_id.as_str()],
                ),
            };
        }
        let Some(dob) = dob else {
            let counting = if self.died.is_some() {
                "the age at death and the 75th birthday"
            } else {
                "the 75th birthday"
            };
            return self.no_birth(input, counting);
        };
        let mut text = format!("Born on {dob}: the 75th birthday is {}", dob.birthday(75));
        let mut ids = self.born_ids();
        if let Some(died) = self.died {
            text.push_str(&format!(
                "; the child died on {}, on or after the 18th birthday ({}), so the birthday governs",
                died.occurred_on,
                dob.birthday(18)
            ));
            ids.push(died.event_id.clone());
        }
        Outcome::Until {
            destroy_from: dob.birthday(75),
            runs_from: dob,
            because: Reason::new(text, ids),
        }
    }
}

impl Policy for RecordsRetention {
    fn about() -> PolicyInfo {
        PolicyInfo::new(
            "retention",
            PolicyKind::Retention,
            "1.0.0",
            "Until when the child's record must be kept, under the rule that keeps it longest: a \
             looked-after child's case record to the 75th birthday, or 15 years from a death before 18 \
             (CPPCR 2010 reg 50); at least 100 years from an adoption order (DAIR 2005 reg 6); care leavers \
             to the 75th birthday (15 years after death); child protection, children in need and contact or \
             early help records for the local periods the authority sets as parameters. Undetermined, with \
             the reason, while what the date depends on is unknown.",
        )
    }

    fn evaluate(input: &EvaluationInput) -> Result<Decisions, PolicyError> {
        let p: Parameters = input.parameters_over(DEFAULTS)?;
        p.validate()?;
        let considered = consider(input, &p)?;
        Ok(Decisions {
            retention: Some(decide(considered)),
            ..Decisions::default()
        })
    }
}

/// Every rule that applies to the child's record, in the order they are preferred on equal dates.
fn consider(input: &EvaluationInput, p: &Parameters) -> Result<Vec<Considered>, PolicyError> {
    let facts = Facts::new(input);
    let on = input.evaluation_date;
    let mut considered = Vec::new();

    // Adoption: the latest order, or an order that may yet be made.
    let orders: Vec<&JourneyEvent> = input
        .in_force()
        .filter(|e| match e.kind.as_str() {
            "CourtOrderMade" => e.code("order").as_deref() == Some("adoption_order"),
            "CeasedToBeLookedAfter" => e.code("reason").is_some_and(|r| p.adoption_reasons.contains(&r)),
            _ => false,
        })
        .collect();
    let adoption_rule =
        "Keep the adoption case record for at least 100 years from the date of the adoption order";
    if let Some(order) = orders.iter().max_by_key(|e| e.occurred_on) {
        let ids: Vec<&str> = orders.iter().map(|e| e.event_id.as_str()).collect();
        considered.push(Considered {
            rule: adoption_rule.into(),
            source: ADOPTION_SOURCE.into(),
            applies: Reason::new(
                format!("An adoption order was made on {}", order.occurred_on),
                ids,
            ),
            outcome: Outcome::Until {
                destroy_from: order.occurred_on.add_years(100),
                runs_from: order.occurred_on,
                because: Reason::new(
                    format!(
                        "100 years from the order of {} is {}",
                        order.occurred_on,
                        order.occurred_on.add_years(100)
                    ),
                    [order.event_id.as_str()],
                ),
            },
        });
    } else if let Some(pending) = adoption_pending(input)? {
        considered.push(Considered {
            rule: adoption_rule.into(),
            source: ADOPTION_SOURCE.into(),
            applies: Reason::new(
                format!("Adoption is in progress: {}", pending.0),
                [pending.1.as_str()],
            ),
            outcome: Outcome::Undetermined(Reason::new(
                format!(
                    "No adoption order is made yet ({}): if one is, the record is kept for 100 years from it; \
                     if not, as the looked-after record",
                    pending.0
                ),
                [pending.1.as_str()],
            )),
        });
    }

    let care = input.all_care_periods()?;
    let looked_after = !care.is_empty();
    if let Some(first) = care.first() {
        considered.push(Considered {
            rule: "Keep the looked-after child's case record until the 75th anniversary of the child's birth, or \
                   for 15 years from the date of death if the child died before 18"
                .into(),
            source: LOOKED_AFTER_SOURCE.into(),
            applies: Reason::new(
                format!("Looked after from {}", first.period.starts_on()),
                [first.period.start.event_id.as_str()],
            ),
            outcome: facts.seventy_five_or_death(
                input,
                |died, dob| dob.is_some_and(|dob| died < dob.birthday(18)),
                "before the 18th birthday",
            ),
        });
    }

    if let Some(first) = input.of_kinds(LEAVING_CARE).next() {
        considered.push(Considered {
            rule:
                "Keep the care leaver's record for 75 years from the date of birth, or 15 years after death"
                    .into(),
            source: CARE_LEAVER_SOURCE.into(),
            applies: Reason::new(
                format!("A care leaver: {} on {}", first.kind, first.occurred_on),
                [first.event_id.as_str()],
            ),
            outcome: facts.seventy_five_or_death(input, |_, _| true, "a care leaver's death"),
        });
    }

    let protection = input.of_kinds(CHILD_PROTECTION).next();
    if let Some(first) = protection {
        considered.push(local(
            input,
            &facts,
            &p.child_protection,
            "child protection record",
            Reason::new(
                format!("Child protection work is recorded from {}", first.occurred_on),
                [first.event_id.as_str()],
            ),
        )?);
    }

    let adopted = !orders.is_empty();
    if let Some(first) = input.of_kinds(CHILD_IN_NEED).next()
        && protection.is_none()
        && !looked_after
        && !adopted
    {
        considered.push(local(
            input,
            &facts,
            &p.child_in_need,
            "child in need record",
            Reason::new(
                format!(
                    "A child in need (no child protection, not looked after): {} on {}",
                    first.kind, first.occurred_on
                ),
                [first.event_id.as_str()],
            ),
        )?);
    }

    if considered.is_empty() {
        let registration = input.of_kind("ChildRegistered").next();
        let services: Vec<&str> = input
            .of_kinds(&["ContactReceived", "EarlyHelpStarted"])
            .map(|e| e.event_id.as_str())
            .take(1)
            .collect();
        let applies = if services.is_empty() {
            Reason::new(
                format!("No service is recorded for the child (as known on {on}): kept as a contact record"),
                Facts::ids(registration),
            )
        } else {
            Reason::new(
                "Only contacts and early help are recorded: no child in need, child protection or care work",
                services,
            )
        };
        considered.push(local(
            input,
            &facts,
            &p.contact_and_early_help,
            "contact and early help record",
            applies,
        )?);
    }
    Ok(considered)
}

/// Why an adoption order may yet be made, and the event that says so: placed for adoption, or looked after
/// under an adoption decision not reversed.
fn adoption_pending(input: &EvaluationInput) -> Result<Option<(String, String)>, PolicyError> {
    let on = input.evaluation_date;
    if let Some(placed) = input.open_period_on("PlacedForAdoption", "PlacementForAdoptionCeased", on) {
        return Ok(Some((
            format!("placed for adoption on {}", placed.starts_on()),
            placed.start.event_id.clone(),
        )));
    }
    let in_care = input.all_care_periods()?.iter().any(|c| c.period.is_open_on(on));
    if in_care
        && let Some(decision) = input.open_period_on("AdoptionDecisionMade", "AdoptionDecisionReversed", on)
    {
        return Ok(Some((
            format!(
                "looked after under a decision of {} that the child should be placed for adoption",
                decision.starts_on()
            ),
            decision.start.event_id.clone(),
        )));
    }
    Ok(None)
}

/// A local period: from the later of a birthday and the last activity, plus the years.
fn local(
    input: &EvaluationInput,
    facts: &Facts<'_>,
    period: &LocalPeriod,
    record: &str,
    applies: Reason,
) -> Result<Considered, PolicyError> {
    let outcome = local_outcome(input, facts, period)?;
    Ok(Considered {
        rule: period.rule(record),
        source: period.source.clone(),
        applies,
        outcome,
    })
}

fn local_outcome(
    input: &EvaluationInput,
    facts: &Facts<'_>,
    period: &LocalPeriod,
) -> Result<Outcome, PolicyError> {
    let mut runs_from: Option<(Date, String, Vec<String>)> = None;
    if let Some(n) = period.from_birthday {
        let Some((dob, _)) = facts.born else {
            return Ok(facts.no_birth(input, &format!("the {}", ordinal_birthday(n))));
        };
        runs_from = Some((
            dob.birthday(n),
            format!("the {} is {}", ordinal_birthday(n), dob.birthday(n)),
            facts.born_ids(),
        ));
    }
    if period.from_last_activity {
        // After a death nothing more happens: the last activity is known even if an episode was left open.
        if facts.died.is_none()
            && let Some((what, start)) = open_episode(input)?
        {
            return Ok(Outcome::Undetermined(Reason::new(
                format!(
                    "The {what} opened on {} is still open on {}: the last activity on the record is not known \
                     until it ends",
                    start.occurred_on, input.evaluation_date
                ),
                [start.event_id.as_str()],
            )));
        }
        let last = input
            .in_force()
            .max_by_key(|e| e.occurred_on)
            .ok_or_else(|| PolicyError::UnsupportedInput("the journey has no events".into()))?;
        if runs_from.as_ref().is_none_or(|(d, _, _)| last.occurred_on > *d) {
            runs_from = Some((
                last.occurred_on,
                format!(
                    "the last activity on the record is {} on {}",
                    last.kind, last.occurred_on
                ),
                vec![last.event_id.clone()],
            ));
        }
    }
    let (from, text, ids) = runs_from.expect("validated: a local period runs from something");
    let destroy_from = from.add_years(i32::try_from(period.years).expect("validated: at most 150"));
    Ok(Outcome::Until {
        destroy_from,
        runs_from: from,
        because: Reason::new(
            format!("Runs from {from} ({text}): kept until {destroy_from}"),
            ids,
        ),
    })
}

/// An episode open on the evaluation date, whose end (the last activity) is not known yet.
fn open_episode(input: &EvaluationInput) -> Result<Option<(&'static str, &JourneyEvent)>, PolicyError> {
    let on = input.evaluation_date;
    if let Some(care) = input
        .all_care_periods()?
        .into_iter()
        .find(|c| c.period.is_open_on(on))
    {
        return Ok(Some(("period of care", care.period.start)));
    }
    let episode = EPISODES
        .iter()
        .find_map(|(start, end, what)| input.open_period_on(start, end, on).map(|p| (*what, p.start)));
    Ok(episode.or_else(|| {
        input
            .child_in_need_episode_on(on)
            .map(|e| ("child in need episode", e.start))
    }))
}

/// The retention under the rule that keeps the record longest, or undetermined if any rule is.
fn decide(considered: Vec<Considered>) -> Retention {
    let undetermined = considered
        .iter()
        .position(|c| matches!(c.outcome, Outcome::Undetermined(_)));
    let governing = undetermined.unwrap_or_else(|| {
        // The latest date; on equal dates the first considered (the statutory rules come first).
        let mut best = 0;
        for (i, c) in considered.iter().enumerate() {
            if let (Outcome::Until { destroy_from: d, .. }, Outcome::Until { destroy_from: b, .. }) =
                (&c.outcome, &considered[best].outcome)
                && d > b
            {
                best = i;
            }
        }
        best
    });
    let mut reasons = Vec::new();
    let mut others = Vec::new();
    let mut retention = None;
    for (i, c) in considered.into_iter().enumerate() {
        if i == governing {
            reasons.push(c.applies);
            let (status, destroy_from, runs_from, because) = match c.outcome {
                Outcome::Until {
                    destroy_from,
                    runs_from,
                    because,
                } => (
                    RetentionStatus::Until,
                    Some(destroy_from),
                    Some(runs_from),
                    because,
                ),
                Outcome::Undetermined(because) => (RetentionStatus::Undetermined, None, None, because),
            };
            reasons.push(because);
            retention = Some(Retention {
                status,
                destroy_from,
                runs_from,
                rule: c.rule,
                source: c.source,
                reasons: Vec::new(),
            });
        } else {
            let said = match &c.outcome {
                Outcome::Until { destroy_from, .. } => format!("until {destroy_from}"),
                Outcome::Undetermined(r) => format!("undetermined: {}", r.text),
            };
            let mut ids = c.applies.event_ids.clone();
            let (Outcome::Until { because, .. } | Outcome::Undetermined(because)) = &c.outcome;
            for id in &because.event_ids {
                if !ids.contains(id) {
                    ids.push(id.clone());
                }
            }
            others.push(Reason::new(
                format!(
                    "Also considered, not governing: {} ({}): {}; {}",
                    c.rule, c.source, c.applies.text, said
                ),
                ids,
            ));
        }
    }
    let mut retention = retention.expect("at least one rule is always considered");
    reasons.extend(others);
    retention.reasons = reasons;
    retention
}

export_policy!(RecordsRetention);
