//! # step-up-down: should the child move between early help, child in need, child protection and care?
//!
//! The current service on the evaluation date is the highest open: looked after (a series of short breaks
//! counts as child in need), a child protection plan, a child in need plan or open child in need episode,
//! early help, or none. Then the triggers of the local step-up / step-down protocol, step-ups first (the
//! highest wins), else the first step-down that applies:
//!
//! | trigger | recommends |
//! |---|---|
//! | a concern in `protection_concerns` (contact or assessment, last `concerns_within_months`) with no strategy discussion since | child protection (step up) |
//! | an initial conference decided on a plan and no plan has started | child protection |
//! | `escalating_contacts` contacts during an open early help episode within `escalating_contacts_within_months` | child in need (step up) |
//! | a referral within `re_referral_within_months` of the previous one (also an alert) | child in need |
//! | a review conference ended the plan, or the plan ended stepping down, with no child in need plan since (last `recent_months`) | `step_down_from_protection_to` |
//! | a child in need plan or episode ended stepping down to early help (or closure RC9) and early help has not started | `step_down_from_child_in_need_to` |
//! | an assessment found no need for social care support and no plan started | early help if it found factors, else close |
//! | care ended with a return home (`return_home_reasons`) and no child in need plan since | `return_home_to` |
//!
//! Step-up and step-down have no national timescale; protocols are local (`shared/domain/rules.md`
//! section 5: Knowsley, Hull, Gloucestershire, Leeds), so every code and window is a parameter.

use journey_policy_sdk::*;
use serde::Deserialize;

struct StepUpDown;

const DEFAULTS: &str = include_str!("../parameters.json");

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Parameters {
    recent_months: i32,
    protection_concerns: Vec<String>,
    concerns_within_months: i32,
    escalating_contacts: usize,
    escalating_contacts_within_months: i32,
    re_referral_within_months: i32,
    step_down_from_protection_to: String,
    step_down_from_child_in_need_to: String,
    return_home_reasons: Vec<String>,
    return_home_to: String,
    short_break_legal_statuses: Vec<String>,
}

/// A service by its code, and its place on the continuum.
fn service(code: &str) -> Option<Service> {
    Some(match code {
        "none" => Service::None,
        "early-help" => Service::EarlyHelp,
        "child-in-need" => Service::ChildInNeed,
        "child-protection" => Service::ChildProtection,
        "looked-after" => Service::LookedAfter,
        _ => return None,
    })
}

fn rank(s: Service) -> u8 {
    match s {
        Service::None | Service::LeavingCare => 0,
        Service::EarlyHelp => 1,
        Service::ChildInNeed => 2,
        Service::ChildProtection => 3,
        Service::LookedAfter => 4,
    }
}

fn name(s: Service) -> &'static str {
    match s {
        Service::None => "no service",
        Service::EarlyHelp => "early help",
        Service::ChildInNeed => "child in need",
        Service::ChildProtection => "child protection",
        Service::LookedAfter => "looked after",
        Service::LeavingCare => "leaving care",
    }
}

struct Validated {
    from_protection: Service,
    from_child_in_need: Service,
    return_home: Service,
}

impl Parameters {
    fn validate(&self) -> Result<Validated, PolicyError> {
        for (n, field) in [
            (self.recent_months, "recent_months"),
            (self.concerns_within_months, "concerns_within_months"),
            (
                self.escalating_contacts_within_months,
                "escalating_contacts_within_months",
            ),
            (self.re_referral_within_months, "re_referral_within_months"),
        ] {
            PolicyError::check(n >= 1, field, "must be at least 1 month")?;
        }
        PolicyError::check(
            self.escalating_contacts >= 2,
            "escalating_contacts",
            "must be at least 2",
        )?;
        let parse = |field: &str, code: &str, below: Service| {
            let s = service(code).ok_or_else(|| {
                PolicyError::invalid_parameter(
                    field,
                    format!(
                        "`{code}` is not none, early-help, child-in-need, child-protection or looked-after"
                    ),
                )
            })?;
            PolicyError::check(
                rank(s) < rank(below),
                field,
                format!("must be below {}", name(below)),
            )?;
            Ok::<Service, PolicyError>(s)
        };
        Ok(Validated {
            from_protection: parse(
                "step_down_from_protection_to",
                &self.step_down_from_protection_to,
                Service::ChildProtection,
            )?,
            from_child_in_need: parse(
                "step_down_from_child_in_need_to",
                &self.step_down_from_child_in_need_to,
                Service::ChildInNeed,
            )?,
            return_home: parse("return_home_to", &self.return_home_to, Service::LookedAfter)?,
        })
    }
}

/// A trigger that fired: the service it recommends, why, and whether it steps down (from a service that
/// may already have been recorded as ended, so that the current service is below it).
struct Trigger {
    to: Service,
    reason: Reason,
    down: bool,
}

struct Journey<'a> {
    input: &'a EvaluationInput,
    p: &'a Parameters,
    on: Date,
}

impl Policy for StepUpDown {
    fn about() -> PolicyInfo {
        PolicyInfo::new(
            "step-up-down",
            PolicyKind::StepUpStepDown,
            "1.1.0",
            "Whether the child should step up or down between early help, child in need, child protection \
             and care, and why: protection concerns, escalating contacts in early help, re-referrals, plans \
             ended by review conferences, assessments that found no need, returns home. The local protocol's \
             codes and windows are parameters.",
        )
    }

    fn evaluate(input: &EvaluationInput) -> Result<Decisions, PolicyError> {
        let p: Parameters = input.parameters_over(DEFAULTS)?;
        let to = p.validate()?;
        let j = Journey {
            input,
            p: &p,
            on: input.evaluation_date,
        };
        let (current, mut reasons) = j.current()?;
        let mut decisions = Decisions::default();
        let mut ups = Vec::new();
        ups.extend(j.protection_concerns());
        ups.extend(j.conference_without_plan());
        ups.extend(j.escalating_contacts(current));
        if let Some((trigger, alert)) = j.re_referral() {
            ups.push(trigger);
            decisions.alerts.push(alert);
        }
        let up = ups
            .into_iter()
            .filter(|t| rank(t.to) > rank(current))
            .max_by_key(|t| rank(t.to));
        let down = || {
            [
                j.protection_ended(current, to.from_protection),
                j.child_in_need_ended(current, to.from_child_in_need),
                j.no_need_found(current),
                j.returned_home(current, to.return_home),
            ]
            .into_iter()
            .flatten()
            .find(|t| rank(t.to) < rank(current) || (t.to != current && current == Service::None))
        };
        let (recommended, down) = match up.or_else(down) {
            Some(t) => {
                reasons.push(t.reason);
                (t.to, t.down)
            }
            None => {
                reasons.push(Reason::because(format!(
                    "No step-up or step-down trigger applies on {}",
                    j.on
                )));
                (current, false)
            }
        };
        let direction = match rank(recommended).cmp(&rank(current)) {
            _ if down && recommended == Service::None => StepDirection::Close,
            _ if down => StepDirection::StepDown,
            std::cmp::Ordering::Greater => StepDirection::StepUp,
            std::cmp::Ordering::Less if recommended == Service::None => StepDirection::Close,
            std::cmp::Ordering::Less => StepDirection::StepDown,
            std::cmp::Ordering::Equal => StepDirection::Stay,
        };
        decisions.step = Some(StepRecommendation {
            current,
            recommended,
            direction,
            reasons,
        });
        Ok(decisions)
    }
}

impl<'a> Journey<'a> {
    fn recent(&self, months: i32) -> Date {
        self.on.add_months(-months)
    }

    /// The service open on the evaluation date, and why.
    fn current(&self) -> Result<(Service, Vec<Reason>), PolicyError> {
        let on = self.on;
        let since = |what: &str, p: Period<'_>| {
            Reason::new(
                format!("{what} since {}", p.starts_on()),
                [p.start.event_id.as_str()],
            )
        };
        for care in self.input.care_periods()? {
            if care.period.is_open_on(on) {
                if care.is_short_breaks(&self.p.short_break_legal_statuses) {
                    let r = since("Receiving a series of short breaks (child in need)", care.period);
                    return Ok((Service::ChildInNeed, vec![r]));
                }
                return Ok((Service::LookedAfter, vec![since("Looked after", care.period)]));
            }
        }
        let spans = [
            (
                "ChildProtectionPlanStarted",
                "ChildProtectionPlanEnded",
                Service::ChildProtection,
                "On a child protection plan",
            ),
            (
                "ChildInNeedPlanStarted",
                "ChildInNeedPlanEnded",
                Service::ChildInNeed,
                "On a child in need plan",
            ),
        ];
        for (start, end, service, what) in spans {
            if let Some(p) = self.input.open_period_on(start, end, on) {
                return Ok((service, vec![since(what, p)]));
            }
        }
        if let Some(p) = self.input.child_in_need_episode_on(on) {
            return Ok((Service::ChildInNeed, vec![since("Child in need episode open", p)]));
        }
        if let Some(p) = self
            .input
            .open_period_on("EarlyHelpStarted", "EarlyHelpEnded", on)
        {
            return Ok((Service::EarlyHelp, vec![since("Receiving early help", p)]));
        }
        Ok((
            Service::None,
            vec![Reason::because(format!("No service open on {on}"))],
        ))
    }

    fn protection_concerns(&self) -> Option<Trigger> {
        let since = self.recent(self.p.concerns_within_months);
        let concern = self
            .input
            .of_kinds(&[
                "ContactReceived",
                "AssessmentCompleted",
                "EarlyHelpAssessmentCompleted",
            ])
            .filter(|e| e.occurred_on > since)
            .filter_map(|e| {
                let codes: Vec<String> = e
                    .assessment_factors()
                    .into_iter()
                    .filter(|f| self.p.protection_concerns.contains(f))
                    .collect();
                (!codes.is_empty()).then_some((e, codes))
            })
            .last()?;
        let (event, codes) = concern;
        let discussed = self
            .input
            .between("StrategyDiscussionHeld", event.occurred_on, None)
            .next()
            .is_some();
        (!discussed).then(|| Trigger {
            down: false,
            to: Service::ChildProtection,
            reason: Reason::new(
                format!(
                    "Concerns of significant harm ({}) recorded on {} with no strategy discussion since",
                    codes.join(", "),
                    event.occurred_on
                ),
                [event.event_id.as_str()],
            ),
        })
    }

    fn conference_without_plan(&self) -> Option<Trigger> {
        let icpc = self
            .input
            .of_kind("ChildProtectionConferenceHeld")
            .filter(|c| c.code("kind").as_deref() == Some("initial"))
            .last()?;
        let planned = icpc.code("outcome").as_deref() == Some("plan_required");
        let started = self
            .input
            .between("ChildProtectionPlanStarted", icpc.occurred_on, None)
            .next()
            .is_some();
        (planned && !started).then(|| Trigger {
            down: false,
            to: Service::ChildProtection,
            reason: Reason::new(
                format!(
                    "The initial conference of {} decided on a child protection plan, and none has started",
                    icpc.occurred_on
                ),
                [icpc.event_id.as_str()],
            ),
        })
    }

    fn escalating_contacts(&self, current: Service) -> Option<Trigger> {
        if current != Service::EarlyHelp {
            return None;
        }
        let episode = self
            .input
            .open_period_on("EarlyHelpStarted", "EarlyHelpEnded", self.on)?;
        let since = self
            .recent(self.p.escalating_contacts_within_months)
            .max(episode.starts_on());
        let contacts: Vec<&JourneyEvent> = self.input.between("ContactReceived", since, None).collect();
        (contacts.len() >= self.p.escalating_contacts).then(|| Trigger {
            down: false,
            to: Service::ChildInNeed,
            reason: Reason::new(
                format!(
                    "{} contacts during the early help episode that began on {} (since {since}): needs are \
                     escalating",
                    contacts.len(),
                    episode.starts_on()
                ),
                std::iter::once(episode.start.event_id.as_str())
                    .chain(contacts.iter().map(|c| c.event_id.as_str())),
            ),
        })
    }

    fn re_referral(&self) -> Option<(Trigger, Alert)> {
        let referrals: Vec<&JourneyEvent> = self.input.of_kind("ReferralReceived").collect();
        let [.., previous, latest] = referrals.as_slice() else {
            return None;
        };
        let months = self.p.re_referral_within_months;
        let recent = latest.occurred_on > self.recent(months);
        let soon = latest.occurred_on <= previous.occurred_on.add_months(months);
        if !(recent && soon) {
            return None;
        }
        let ids = [previous.event_id.as_str(), latest.event_id.as_str()];
        let text = format!(
            "Referred on {} within {months} months of the referral of {}: consider whether the earlier closure \
             or step-down was premature",
            latest.occurred_on, previous.occurred_on
        );
        Some((
            Trigger {
                down: false,
                to: Service::ChildInNeed,
                reason: Reason::new(text.clone(), ids),
            },
            Alert::new(
                "re-referral-within-12-months",
                Severity::Warning,
                text,
                vec![Reason::new("The two referrals", ids)],
            ),
        ))
    }

    /// The latest event of `kind` in the recent window that `keep`, if nothing of `unless` followed it.
    fn recent_unanswered(
        &self,
        kinds: &'a [&'a str],
        keep: impl Fn(&JourneyEvent) -> bool,
        unless: &'a str,
    ) -> Option<&'a JourneyEvent> {
        let since = self.recent(self.p.recent_months);
        let e = self
            .input
            .of_kinds(kinds)
            .filter(|e| e.occurred_on > since && keep(e))
            .last()?;
        self.input
            .between(unless, e.occurred_on, None)
            .next()
            .is_none()
            .then_some(e)
    }

    fn protection_ended(&self, current: Service, to: Service) -> Option<Trigger> {
        let ended = self.recent_unanswered(
            &["ChildProtectionPlanEnded", "ChildProtectionConferenceHeld"],
            |e| match e.kind.as_str() {
                "ChildProtectionConferenceHeld" => {
                    e.code("kind").as_deref() == Some("review")
                        && e.code("outcome").as_deref() == Some("plan_not_required")
                }
                _ => matches!(
                    e.code("reason").as_deref(),
                    Some("stepped_down_to_child_in_need" | "stepped_down_to_early_help")
                ),
            },
            "ChildInNeedPlanStarted",
        )?;
        if rank(current) < rank(Service::ChildProtection) && rank(current) >= rank(to) {
            return None;
        }
        let how = if ended.kind == "ChildProtectionConferenceHeld" {
            "A review conference decided the child protection plan should end"
        } else {
            "The child protection plan ended, stepping down"
        };
        Some(Trigger {
            down: true,
            to,
            reason: Reason::new(
                format!(
                    "{how} on {}; no {} support has started since",
                    ended.occurred_on,
                    name(to)
                ),
                [ended.event_id.as_str()],
            ),
        })
    }

    fn child_in_need_ended(&self, current: Service, to: Service) -> Option<Trigger> {
        let ended = self.recent_unanswered(
            &["ChildInNeedPlanEnded", "ChildInNeedEpisodeClosed"],
            |e| {
                matches!(
                    e.code("reason").as_deref(),
                    Some("stepped_down_to_early_help" | "RC9")
                )
            },
            "EarlyHelpStarted",
        )?;
        (rank(current) > rank(to) || current == Service::None).then(|| Trigger {
            down: true,
            to,
            reason: Reason::new(
                format!(
                    "The child in need {} ended on {} stepping down to {}, which has not started",
                    if ended.kind == "ChildInNeedPlanEnded" {
                        "plan"
                    } else {
                        "episode"
                    },
                    ended.occurred_on,
                    name(to)
                ),
                [ended.event_id.as_str()],
            ),
        })
    }

    fn no_need_found(&self, current: Service) -> Option<Trigger> {
        if current != Service::ChildInNeed {
            return None;
        }
        let assessed = self.recent_unanswered(
            &["AssessmentCompleted"],
            |e| e.flag("requires_social_care_support") == Some(false),
            "ChildInNeedPlanStarted",
        )?;
        let factors: Vec<String> = assessed
            .assessment_factors()
            .into_iter()
            .filter(|f| f != "21")
            .collect();
        let (to, what) = if factors.is_empty() {
            (Service::None, "no factors: close".to_string())
        } else {
            (
                Service::EarlyHelp,
                format!("factors remain ({}): early help", factors.join(", ")),
            )
        };
        Some(Trigger {
            down: true,
            to,
            reason: Reason::new(
                format!(
                    "The assessment completed on {} found no need for social care support; {what}",
                    assessed.occurred_on
                ),
                [assessed.event_id.as_str()],
            ),
        })
    }

    fn returned_home(&self, current: Service, to: Service) -> Option<Trigger> {
        let home = &self.p.return_home_reasons;
        let ceased = self.recent_unanswered(
            &["CeasedToBeLookedAfter"],
            |e| e.code("reason").is_some_and(|r| home.contains(&r)),
            "ChildInNeedPlanStarted",
        )?;
        (rank(current) < rank(to)).then(|| Trigger {
            down: true,
            to,
            reason: Reason::new(
                format!(
                    "Returned home from care on {} ({}); no {} plan has started since",
                    ceased.occurred_on,
                    ceased.code("reason").unwrap_or_default(),
                    name(to)
                ),
                [ceased.event_id.as_str()],
            ),
        })
    }
}

export_policy!(StepUpDown);

#[cfg(test)]
mod tests {
    use journey_policy_sdk::testing::{event, input};
    use serde_json::json;

    use super::*;

    fn step(events: Vec<JourneyEvent>, on: &str) -> (Service, Service, StepDirection) {
        let s = StepUpDown::evaluate(&input(on, events)).unwrap().step.unwrap();
        (s.current, s.recommended, s.direction)
    }

    #[test]
    fn escalating_contacts_in_early_help_step_up() {
        let mut events = vec![event(
            "eh",
            "EarlyHelpStarted",
            "2024-01-10",
            json!({"organisation": "Hub"}),
        )];
        for (i, d) in ["2024-02-01", "2024-03-01"].iter().enumerate() {
            events.push(event(
                &format!("c{i}"),
                "ContactReceived",
                d,
                json!({"concerns": ["4B"]}),
            ));
        }
        assert_eq!(
            step(events.clone(), "2024-03-31"),
            (Service::EarlyHelp, Service::EarlyHelp, StepDirection::Stay)
        );
        events.push(event(
            "c3",
            "ContactReceived",
            "2024-03-20",
            json!({"concerns": ["4B"]}),
        ));
        assert_eq!(
            step(events, "2024-03-31"),
            (Service::EarlyHelp, Service::ChildInNeed, StepDirection::StepUp)
        );
    }

    #[test]
    fn a_review_conference_ending_the_plan_steps_down_to_child_in_need() {
        let events = vec![
            event(
                "cp",
                "ChildProtectionPlanStarted",
                "2024-01-10",
                json!({"category": "NEG"}),
            ),
            event(
                "rc",
                "ChildProtectionConferenceHeld",
                "2024-07-10",
                json!({"kind": "review", "outcome": "plan_not_required"}),
            ),
        ];
        assert_eq!(
            step(events, "2024-07-11"),
            (
                Service::ChildProtection,
                Service::ChildInNeed,
                StepDirection::StepDown
            )
        );
    }

    #[test]
    fn parameters_are_checked() {
        let mut i = input("2024-07-11", vec![]);
        i.parameters = r#"{"step_down_from_protection_to": "looked-after"}"#.into();
        match StepUpDown::evaluate(&i) {
            Err(PolicyError::InvalidParameters(m)) => {
                assert!(
                    m.contains("parameter `step_down_from_protection_to`: must be below"),
                    "{m}"
                )
            }
            other => panic!("{other:?}"),
        }
    }
}
