//! What a policy decided, on the host side: the contract's `decisions`, checked against the contract's
//! rules as it is converted. The conversion is where garbage stops: a date that does not exist, a level
//! outside 1 to 4, a reason citing an event that is not in the input, or a decision without a reason is a
//! [`PluginError::MalformedOutput`] naming the path at fault.

use std::collections::HashSet;

use journey_core::{Date, Timestamp};
use serde::{Deserialize, Serialize};

use crate::bindings::wit;

/// Limits on the pieces of an output, so that one absurd string cannot pass for a reason.
const MAX_NAME: usize = 200;
const MAX_TEXT: usize = 10_000;

#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Decisions {
    pub level_of_need: Option<LevelOfNeed>,
    pub step: Option<StepRecommendation>,
    pub entitlements: Vec<Entitlement>,
    pub deadlines: Vec<Deadline>,
    pub alerts: Vec<Alert>,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Reason {
    pub text: String,
    pub event_ids: Vec<String>,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct LevelOfNeed {
    pub level: u8,
    pub label: String,
    pub reasons: Vec<Reason>,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Service {
    None,
    EarlyHelp,
    ChildInNeed,
    ChildProtection,
    LookedAfter,
    LeavingCare,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum StepDirection {
    StepUp,
    StepDown,
    Stay,
    Close,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct StepRecommendation {
    pub current: Service,
    pub recommended: Service,
    pub direction: StepDirection,
    pub reasons: Vec<Reason>,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Entitlement {
    pub name: String,
    pub category: Option<String>,
    pub starts_on: Date,
    pub ends_on: Option<Date>,
    pub reasons: Vec<Reason>,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum DeadlineStatus {
    Met,
    Missed,
    Open,
    NotApplicable,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Deadline {
    pub name: String,
    pub rule: String,
    pub source: String,
    pub starts_on: Option<Date>,
    pub due_on: Option<Date>,
    pub due_at: Option<Timestamp>,
    pub status: DeadlineStatus,
    pub completed_on: Option<Date>,
    pub days_late: Option<u32>,
    pub reasons: Vec<Reason>,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Severity {
    Info,
    Warning,
    Urgent,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Alert {
    pub code: String,
    pub severity: Severity,
    pub message: String,
    pub reasons: Vec<Reason>,
}

/// A contract rule broken at a path of the output.
#[derive(Debug)]
pub(crate) struct Malformed {
    pub path: String,
    pub problem: String,
}

type Checked<T> = Result<T, Malformed>;

fn malformed<T>(path: &str, problem: impl Into<String>) -> Checked<T> {
    Err(Malformed {
        path: path.to_string(),
        problem: problem.into(),
    })
}

/// Converts and checks a policy's output against the input it was given.
pub(crate) struct Checker<'a> {
    pub citable: HashSet<&'a str>,
}

impl Checker<'_> {
    pub(crate) fn decisions(&self, d: wit::Decisions) -> Checked<Decisions> {
        Ok(Decisions {
            level_of_need: d.level_of_need.map(|l| self.level(l)).transpose()?,
            step: d.step.map(|s| self.step(s)).transpose()?,
            entitlements: (d.entitlements.into_iter().enumerate())
                .map(|(i, e)| self.entitlement(&format!("entitlements[{i}]"), e))
                .collect::<Checked<_>>()?,
            deadlines: (d.deadlines.into_iter().enumerate())
                .map(|(i, e)| self.deadline(&format!("deadlines[{i}]"), e))
                .collect::<Checked<_>>()?,
            alerts: (d.alerts.into_iter().enumerate())
                .map(|(i, a)| self.alert(&format!("alerts[{i}]"), a))
                .collect::<Checked<_>>()?,
        })
    }

    fn reasons(&self, at: &str, reasons: Vec<wit::Reason>) -> Checked<Vec<Reason>> {
        if reasons.is_empty() {
            return malformed(
                &format!("{at}.reasons"),
                "every decision needs at least one reason",
            );
        }
        reasons
            .into_iter()
            .enumerate()
            .map(|(i, r)| {
                let path = format!("{at}.reasons[{i}]");
                let text = text(&format!("{path}.text"), r.text, MAX_TEXT)?;
                for (j, id) in r.event_ids.iter().enumerate() {
                    if !self.citable.contains(id.as_str()) {
                        let shown: String = id.chars().take(80).collect();
                        return malformed(
                            &format!("{path}.event_ids[{j}]"),
                            format!("cites event {shown:?}, which is not in the input"),
                        );
                    }
                }
                Ok(Reason {
                    text,
                    event_ids: r.event_ids,
                })
            })
            .collect()
    }

    fn level(&self, l: wit::LevelOfNeed) -> Checked<LevelOfNeed> {
        if !(1..=4).contains(&l.level) {
            return malformed(
                "level_of_need.level",
                format!("must be 1 (universal) to 4 (specialist), got {}", l.level),
            );
        }
        Ok(LevelOfNeed {
            level: l.level,
            label: text("level_of_need.label", l.label, MAX_NAME)?,
            reasons: self.reasons("level_of_need", l.reasons)?,
        })
    }

    fn step(&self, s: wit::StepRecommendation) -> Checked<StepRecommendation> {
        Ok(StepRecommendation {
            current: service(s.current),
            recommended: service(s.recommended),
            direction: match s.direction {
                wit::StepDirection::StepUp => StepDirection::StepUp,
                wit::StepDirection::StepDown => StepDirection::StepDown,
                wit::StepDirection::Stay => StepDirection::Stay,
                wit::StepDirection::Close => StepDirection::Close,
            },
            reasons: self.reasons("step", s.reasons)?,
        })
    }

    fn entitlement(&self, at: &str, e: wit::Entitlement) -> Checked<Entitlement> {
        let starts_on = date(&format!("{at}.starts_on"), e.starts_on)?;
        let ends_on = e.ends_on.map(|d| date(&format!("{at}.ends_on"), d)).transpose()?;
        if let Some(end) = ends_on
            && end < starts_on
        {
            return malformed(
                &format!("{at}.ends_on"),
                format!("{end} is before starts_on {starts_on}"),
            );
        }
        Ok(Entitlement {
            name: code(&format!("{at}.name"), e.name)?,
            category: e
                .category
                .map(|c| code(&format!("{at}.category"), c))
                .transpose()?,
            starts_on,
            ends_on,
            reasons: self.reasons(at, e.reasons)?,
        })
    }

    fn deadline(&self, at: &str, d: wit::Deadline) -> Checked<Deadline> {
        let status = match d.status {
            wit::DeadlineStatus::Met => DeadlineStatus::Met,
            wit::DeadlineStatus::Missed => DeadlineStatus::Missed,
            wit::DeadlineStatus::Open => DeadlineStatus::Open,
            wit::DeadlineStatus::NotApplicable => DeadlineStatus::NotApplicable,
        };
        let due_on = d.due_on.map(|x| date(&format!("{at}.due_on"), x)).transpose()?;
        let due_at = d
            .due_at
            .map(|micros| {
                Timestamp::from_micros(micros).or_else(|e| malformed(&format!("{at}.due_at"), e.to_string()))
            })
            .transpose()?;
        if status != DeadlineStatus::NotApplicable && due_on.is_none() && due_at.is_none() {
            return malformed(
                &format!("{at}.due_on"),
                "a deadline that applies needs a due date",
            );
        }
        if d.days_late.is_some() && status != DeadlineStatus::Missed {
            return malformed(&format!("{at}.days_late"), "only a missed deadline is late");
        }
        Ok(Deadline {
            name: code(&format!("{at}.name"), d.name)?,
            rule: text(&format!("{at}.rule"), d.rule, MAX_TEXT)?,
            source: text(&format!("{at}.source"), d.source, MAX_TEXT)?,
            starts_on: d
                .starts_on
                .map(|x| date(&format!("{at}.starts_on"), x))
                .transpose()?,
            due_on,
            due_at,
            status,
            completed_on: d
                .completed_on
                .map(|x| date(&format!("{at}.completed_on"), x))
                .transpose()?,
            days_late: d.days_late,
            reasons: self.reasons(at, d.reasons)?,
        })
    }

    fn alert(&self, at: &str, a: wit::Alert) -> Checked<Alert> {
        Ok(Alert {
            code: code(&format!("{at}.code"), a.code)?,
            severity: match a.severity {
                wit::Severity::Info => Severity::Info,
                wit::Severity::Warning => Severity::Warning,
                wit::Severity::Urgent => Severity::Urgent,
            },
            message: text(&format!("{at}.message"), a.message, MAX_TEXT)?,
            reasons: self.reasons(at, a.reasons)?,
        })
    }
}

fn service(s: wit::Service) -> Service {
    match s {
        wit::Service::None => Service::None,
        wit::Service::EarlyHelp => Service::EarlyHelp,
        wit::Service::ChildInNeed => Service::ChildInNeed,
        wit::Service::ChildProtection => Service::ChildProtection,
        wit::Service::LookedAfter => Service::LookedAfter,
        wit::Service::LeavingCare => Service::LeavingCare,
    }
}

pub(crate) fn date(at: &str, d: wit::Date) -> Checked<Date> {
    let real = i16::try_from(d.year)
        .ok()
        .zip(i8::try_from(d.month).ok())
        .zip(i8::try_from(d.day).ok())
        .and_then(|((y, m), day)| Date::new(y, m, day).ok());
    match real {
        Some(date) => Ok(date),
        None => malformed(
            at,
            format!("{:04}-{:02}-{:02} is not a real date", d.year, d.month, d.day),
        ),
    }
}

/// Free text: non-empty after trimming, bounded.
fn text(at: &str, s: String, max: usize) -> Checked<String> {
    if s.trim().is_empty() {
        return malformed(at, "must not be empty");
    }
    if s.len() > max {
        return malformed(at, format!("is {} bytes, over the limit of {max}", s.len()));
    }
    Ok(s)
}

/// A stable code: lower-case ASCII letters, digits and hyphens.
fn code(at: &str, s: String) -> Checked<String> {
    let s = text(at, s, MAX_NAME)?;
    if !s
        .bytes()
        .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
    {
        let shown: String = s.chars().take(80).collect();
        return malformed(
            at,
            format!("must be lower-case letters, digits and hyphens, got {shown:?}"),
        );
    }
    Ok(s)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dates_must_be_real() {
        let ok = date(
            "x",
            wit::Date {
                year: 2024,
                month: 2,
                day: 29,
            },
        )
        .unwrap();
        assert_eq!(ok.to_string(), "2024-02-29");
        let err = date(
            "x",
            wit::Date {
                year: 2023,
                month: 2,
                day: 29,
            },
        )
        .unwrap_err();
        assert_eq!(err.problem, "2023-02-29 is not a real date");
        assert!(
            date(
                "x",
                wit::Date {
                    year: 70_000,
                    month: 1,
                    day: 1
                }
            )
            .is_err()
        );
        assert!(
            date(
                "x",
                wit::Date {
                    year: 2024,
                    month: 200,
                    day: 1
                }
            )
            .is_err()
        );
    }

    #[test]
    fn codes_are_kebab_case() {
        assert!(code("x", "initial-child-protection-conference".into()).is_ok());
        assert!(code("x", "Not A Code".into()).is_err());
        assert!(code("x", " ".into()).is_err());
    }
}
