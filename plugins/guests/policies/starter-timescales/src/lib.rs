//! # starter-timescales: the first three statutory timescales of a child's journey
//!
//! A small, real policy, and the worked example of `docs/policy-authoring.md`:
//!
//! | deadline | clock starts | done when | default |
//! |---|---|---|---|
//! | `contact-decision` | `ContactReceived` | the `ContactDecided` naming the contact | 1 working day |
//! | `assessment` | `ReferralReceived` | the next `AssessmentCompleted` before any later referral | 45 working days |
//! | `initial-child-protection-conference` | the strategy discussion that started the section 47 enquiry | the next initial `ChildProtectionConferenceHeld` | 15 working days |
//!
//! Sources: Working Together to Safeguard Children (2013, 2015, 2018; retained in 2023), as summarised in
//! `shared/domain/rules.md` section 1.
//!
//! Parameters (JSON; every field optional):
//! * `counting`: `"inclusive"` (default; the DfE validators' convention: the start day is day 1) or
//!   `"exclusive"` (the next working day is day 1). See `journey_policy_sdk::Counting`.
//! * `contact_decision_working_days`, `assessment_working_days`, `initial_conference_working_days`.
//!
//! Not applicable: an assessment after a referral closed with no further action, or whose episode closed
//! without an assessment starting; a conference after an enquiry that concluded none was needed.

use journey_policy_sdk::*;
use serde::Deserialize;

struct StarterTimescales;

#[derive(Deserialize)]
#[serde(default, deny_unknown_fields)]
struct Parameters {
    counting: Counting,
    contact_decision_working_days: u32,
    assessment_working_days: u32,
    initial_conference_working_days: u32,
}

impl Default for Parameters {
    fn default() -> Parameters {
        Parameters {
            counting: Counting::Inclusive,
            contact_decision_working_days: 1,
            assessment_working_days: 45,
            initial_conference_working_days: 15,
        }
    }
}

const WORKING_TOGETHER: &str = "Working Together to Safeguard Children (2013-2023), chapter 1";

// The fields of the events this policy reads (Journey's API names); everything else is ignored.
#[derive(Deserialize)]
struct ContactDecided {
    contact_event_id: String,
}

#[derive(Deserialize)]
struct ReferralReceived {
    #[serde(default)]
    no_further_action: bool,
}

#[derive(Deserialize)]
struct Section47Started {
    #[serde(default)]
    strategy_discussion_event_id: Option<String>,
}

#[derive(Deserialize)]
struct Section47Completed {
    outcome: String,
}

#[derive(Deserialize)]
struct ConferenceHeld {
    kind: String,
}

impl Policy for StarterTimescales {
    fn about() -> PolicyInfo {
        PolicyInfo::new(
            "starter-timescales",
            PolicyKind::StatutoryTimescales,
            "0.1.0",
            "Contact decision (1 working day), single assessment (45 working days from referral) and initial \
             child protection conference (15 working days from the strategy discussion), with due dates, \
             whether each was met, and how late.",
        )
    }

    fn evaluate(input: &EvaluationInput) -> Result<Decisions, PolicyError> {
        let p: Parameters = input.parameters()?;
        for (name, n) in [
            ("contact_decision_working_days", p.contact_decision_working_days),
            ("assessment_working_days", p.assessment_working_days),
            (
                "initial_conference_working_days",
                p.initial_conference_working_days,
            ),
        ] {
            if n == 0 {
                return Err(PolicyError::InvalidParameters(format!(
                    "{name} must be at least 1"
                )));
            }
        }
        let mut decisions = Decisions::default();
        contact_decisions(input, &p, &mut decisions)?;
        assessments(input, &p, &mut decisions)?;
        initial_conferences(input, &p, &mut decisions)?;
        for d in &decisions.deadlines {
            if let Some(start) = d.starts_on
                && !input.calendar.covers(&start)
            {
                decisions.alerts.push(Alert {
                    code: "calendar-does-not-cover".into(),
                    severity: Severity::Warning,
                    message: format!(
                        "Bank holidays are not known for {start} (calendar {} covers {} to {}): the {} due date \
                         counts weekends only.",
                        input.calendar.version, input.calendar.covers_from, input.calendar.covers_to, d.name
                    ),
                    reasons: d.reasons.iter().take(1).cloned().collect(),
                });
            }
        }
        Ok(decisions)
    }
}

fn when(e: &JourneyEvent) -> String {
    match &e.occurred_time {
        Some(t) => format!("{} at {:02}:{:02}", e.occurred_on, t.hour, t.minute),
        None => e.occurred_on.to_string(),
    }
}

fn contact_decisions(
    input: &EvaluationInput,
    p: &Parameters,
    out: &mut Decisions,
) -> Result<(), PolicyError> {
    let n = p.contact_decision_working_days;
    let rule = Rule {
        name: "contact-decision",
        rule: &format!("Decide what happens to a contact within {n} working day(s) of receiving it"),
        source: WORKING_TOGETHER,
    };
    for contact in input.of_kind("ContactReceived") {
        let mut decision = None;
        for d in input.of_kind("ContactDecided") {
            if d.data::<ContactDecided>()?.contact_event_id == contact.event_id {
                decision = Some(d);
                break;
            }
        }
        let start = contact.occurred_on;
        let due = input.calendar.due_within_working_days(start, n, p.counting);
        let mut reasons = vec![Reason::new(
            format!(
                "Contact received on {}; due {due} ({n} working day(s), {:?} counting)",
                when(contact),
                p.counting
            ),
            [contact.event_id.as_str()],
        )];
        match decision {
            Some(d) => reasons.push(Reason::new(
                format!("Decided on {}", when(d)),
                [d.event_id.as_str()],
            )),
            None => reasons.push(Reason::because(format!(
                "No decision recorded by {}",
                input.evaluation_date
            ))),
        }
        out.deadlines.push(Deadline::judged(
            rule,
            start,
            due,
            decision.map(|d| d.occurred_on),
            input.evaluation_date,
            reasons,
        ));
    }
    Ok(())
}

/// The first event of `kind` on or after `from` and before `until` (if any), in occurrence order.
fn first_between<'a>(
    input: &'a EvaluationInput,
    kind: &'a str,
    from: Date,
    until: Option<Date>,
) -> impl Iterator<Item = &'a JourneyEvent> + 'a {
    input
        .of_kind(kind)
        .filter(move |e| e.occurred_on >= from && until.is_none_or(|u| e.occurred_on < u))
}

fn assessments(input: &EvaluationInput, p: &Parameters, out: &mut Decisions) -> Result<(), PolicyError> {
    let n = p.assessment_working_days;
    let rule = Rule {
        name: "assessment",
        rule: &format!("Complete the single assessment within {n} working days of the referral"),
        source: WORKING_TOGETHER,
    };
    let referrals: Vec<&JourneyEvent> = input.of_kind("ReferralReceived").collect();
    for (i, referral) in referrals.iter().enumerate() {
        let start = referral.occurred_on;
        let until = referrals.get(i + 1).map(|r| r.occurred_on);
        let referred = Reason::new(
            format!("Referral received on {}", when(referral)),
            [referral.event_id.as_str()],
        );
        if referral.data::<ReferralReceived>()?.no_further_action {
            out.deadlines.push(Deadline::not_applicable(
                rule,
                Some(start),
                vec![
                    referred,
                    Reason::new(
                        "The referral was closed with no further action",
                        [referral.event_id.as_str()],
                    ),
                ],
            ));
            continue;
        }
        let started = first_between(input, "AssessmentStarted", start, until).next();
        let completed = first_between(input, "AssessmentCompleted", start, until).next();
        let closed = first_between(input, "ChildInNeedEpisodeClosed", start, until).next();
        if let (None, None, Some(closed)) = (started, completed, closed) {
            out.deadlines.push(Deadline::not_applicable(
                rule,
                Some(start),
                vec![
                    referred,
                    Reason::new(
                        format!(
                            "The episode closed on {} without an assessment",
                            closed.occurred_on
                        ),
                        [closed.event_id.as_str()],
                    ),
                ],
            ));
            continue;
        }
        let due = input.calendar.due_within_working_days(start, n, p.counting);
        let mut reasons = vec![referred];
        if let Some(s) = started {
            reasons.push(Reason::new(
                format!("Assessment started on {}", s.occurred_on),
                [s.event_id.as_str()],
            ));
        }
        match completed {
            Some(c) => reasons.push(Reason::new(
                format!("Assessment completed on {}", c.occurred_on),
                [c.event_id.as_str()],
            )),
            None => reasons.push(Reason::because(format!(
                "No completed assessment recorded by {}",
                input.evaluation_date
            ))),
        }
        out.deadlines.push(Deadline::judged(
            rule,
            start,
            due,
            completed.map(|c| c.occurred_on),
            input.evaluation_date,
            reasons,
        ));
    }
    Ok(())
}

fn initial_conferences(
    input: &EvaluationInput,
    p: &Parameters,
    out: &mut Decisions,
) -> Result<(), PolicyError> {
    let n = p.initial_conference_working_days;
    let rule = Rule {
        name: "initial-child-protection-conference",
        rule: &format!(
            "Hold the initial child protection conference within {n} working days of the strategy discussion"
        ),
        source: WORKING_TOGETHER,
    };
    let enquiries: Vec<&JourneyEvent> = input.of_kind("Section47Started").collect();
    for (i, enquiry) in enquiries.iter().enumerate() {
        let until = enquiries.get(i + 1).map(|e| e.occurred_on);
        // The strategy discussion the enquiry names, else the latest one held on or before it started.
        let named = enquiry.data::<Section47Started>()?.strategy_discussion_event_id;
        let discussion = named
            .as_deref()
            .and_then(|id| input.event(id))
            .filter(|e| !e.is_retracted())
            .or_else(|| {
                input
                    .of_kind("StrategyDiscussionHeld")
                    .filter(|s| s.occurred_on <= enquiry.occurred_on)
                    .last()
            });
        let start = discussion.map_or(enquiry.occurred_on, |s| s.occurred_on);
        let mut reasons = vec![match discussion {
            Some(s) => Reason::new(
                format!(
                    "Strategy discussion on {}; section 47 enquiry started on {}",
                    when(s),
                    enquiry.occurred_on
                ),
                [s.event_id.as_str(), enquiry.event_id.as_str()],
            ),
            None => Reason::new(
                format!(
                    "Section 47 enquiry started on {} (no strategy discussion recorded)",
                    enquiry.occurred_on
                ),
                [enquiry.event_id.as_str()],
            ),
        }];
        let mut conference = None;
        for c in first_between(input, "ChildProtectionConferenceHeld", start, until) {
            if c.data::<ConferenceHeld>()?.kind == "initial" {
                conference = Some(c);
                break;
            }
        }
        let outcome = first_between(input, "Section47Completed", enquiry.occurred_on, until).next();
        if conference.is_none()
            && let Some(o) = outcome
        {
            let concluded = o.data::<Section47Completed>()?.outcome;
            if concluded != "conference_required" {
                reasons.push(Reason::new(
                    format!(
                        "The enquiry concluded on {} ({concluded}): no conference needed",
                        o.occurred_on
                    ),
                    [o.event_id.as_str()],
                ));
                out.deadlines
                    .push(Deadline::not_applicable(rule, Some(start), reasons));
                continue;
            }
        }
        let due = input.calendar.due_within_working_days(start, n, p.counting);
        match conference {
            Some(c) => reasons.push(Reason::new(
                format!("Initial conference held on {}", c.occurred_on),
                [c.event_id.as_str()],
            )),
            None => reasons.push(Reason::because(format!(
                "No initial conference recorded by {}",
                input.evaluation_date
            ))),
        }
        out.deadlines.push(Deadline::judged(
            rule,
            start,
            due,
            conference.map(|c| c.occurred_on),
            input.evaluation_date,
            reasons,
        ));
    }
    Ok(())
}

export_policy!(StarterTimescales);
