//! What a policy decided, on the host side: the contract's `decisions`, checked against the contract's
//! rules as it is converted. The conversion is where garbage stops: a date that does not exist, a level
//! outside 1 to 4, a reason citing an event that is not in the input, or a decision without a reason is a
//! [`PluginError::MalformedOutput`] naming the path at fault.
//!
//! Both contracts convert into the one [`Decisions`]. Its JSON (the canonical output a decision's output
//! hash covers) is each contract's own: a deadline from a 1.0 policy is written with 1.0's fields
//! (`days_late`, always present) and nothing of 2.0's, so that a decision recorded from a 1.0 policy
//! replays byte for byte; one from a 2.0 policy with 2.0's (`counting`, `completed_at`, `late_by`, each
//! only when present) and no `days_late`. `retention` is written only when a policy gave one.

use std::collections::HashSet;

use journey_core::{Date, Timestamp};
use serde::{Deserialize, Deserializer, Serialize, Serializer};

use crate::host::Contract;

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
    /// Contract 2.0: when the child's record may be destroyed (a retention policy's answer).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub retention: Option<Retention>,
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

/// The unit a timescale is counted in, and its lateness.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum TimeUnit {
    Hours,
    CalendarDays,
    WorkingDays,
}

impl TimeUnit {
    /// The unit in words, for `amount` of it ("1 working day", "3 hours").
    pub fn describe(self, amount: u32) -> String {
        let (one, many) = match self {
            TimeUnit::Hours => ("hour", "hours"),
            TimeUnit::CalendarDays => ("day", "days"),
            TimeUnit::WorkingDays => ("working day", "working days"),
        };
        format!("{amount} {}", if amount == 1 { one } else { many })
    }
}

/// How late a missed deadline was, in the rule's own unit.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct Lateness {
    pub amount: u32,
    pub unit: TimeUnit,
}

impl std::fmt::Display for Lateness {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.unit.describe(self.amount))
    }
}

/// How a due date was counted from the day its clock started (contract 2.0's `counting`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Counting {
    /// The start day is day 1 (the DfE CIN census validators' counting of working days).
    Inclusive,
    /// The day after the start is day 1.
    Exclusive,
}

/// A statutory or local timescale, as either contract gives it. `days_late` is contract 1.0's lateness
/// (calendar days, whatever the rule's unit); `counting`, `completed_at` and `late_by` are 2.0's. Use
/// [`Deadline::lateness`] for the lateness of either. `contract` says which fields the deadline is written
/// with (see the module documentation).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Deadline {
    pub name: String,
    pub rule: String,
    pub source: String,
    pub starts_on: Option<Date>,
    pub due_on: Option<Date>,
    pub due_at: Option<Timestamp>,
    pub counting: Option<Counting>,
    pub status: DeadlineStatus,
    pub completed_on: Option<Date>,
    pub completed_at: Option<Timestamp>,
    pub days_late: Option<u32>,
    pub late_by: Option<Lateness>,
    pub reasons: Vec<Reason>,
    pub contract: Contract,
}

impl Deadline {
    /// How late a missed deadline was: 2.0's `late_by`, or 1.0's `days_late` as calendar days.
    pub fn lateness(&self) -> Option<Lateness> {
        self.late_by.or(self.days_late.map(|amount| Lateness {
            amount,
            unit: TimeUnit::CalendarDays,
        }))
    }
}

/// A deadline as contract 1.0 writes it: the fields of 1.0's `deadline`, in its order.
#[derive(Serialize)]
struct DeadlineV1<'a> {
    name: &'a str,
    rule: &'a str,
    source: &'a str,
    starts_on: Option<Date>,
    due_on: Option<Date>,
    due_at: Option<Timestamp>,
    status: DeadlineStatus,
    completed_on: Option<Date>,
    days_late: Option<u32>,
    reasons: &'a [Reason],
}

/// A deadline as contract 2.0 writes it: its optional additions only when present.
#[derive(Serialize)]
struct DeadlineV2<'a> {
    name: &'a str,
    rule: &'a str,
    source: &'a str,
    starts_on: Option<Date>,
    due_on: Option<Date>,
    due_at: Option<Timestamp>,
    #[serde(skip_serializing_if = "Option::is_none")]
    counting: Option<Counting>,
    status: DeadlineStatus,
    completed_on: Option<Date>,
    #[serde(skip_serializing_if = "Option::is_none")]
    completed_at: Option<Timestamp>,
    #[serde(skip_serializing_if = "Option::is_none")]
    late_by: Option<Lateness>,
    reasons: &'a [Reason],
}

impl Serialize for Deadline {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        match self.contract {
            Contract::V1 => DeadlineV1 {
                name: &self.name,
                rule: &self.rule,
                source: &self.source,
                starts_on: self.starts_on,
                due_on: self.due_on,
                due_at: self.due_at,
                status: self.status,
                completed_on: self.completed_on,
                days_late: self.days_late,
                reasons: &self.reasons,
            }
            .serialize(serializer),
            Contract::V2 => DeadlineV2 {
                name: &self.name,
                rule: &self.rule,
                source: &self.source,
                starts_on: self.starts_on,
                due_on: self.due_on,
                due_at: self.due_at,
                counting: self.counting,
                status: self.status,
                completed_on: self.completed_on,
                completed_at: self.completed_at,
                late_by: self.late_by,
                reasons: &self.reasons,
            }
            .serialize(serializer),
        }
    }
}

/// Either contract's deadline, read back (a recorded decision from the journal): one with a `days_late`
/// key (even `null`) was written by contract 1.0.
#[derive(Deserialize)]
struct AnyDeadline {
    name: String,
    rule: String,
    source: String,
    starts_on: Option<Date>,
    due_on: Option<Date>,
    due_at: Option<Timestamp>,
    #[serde(default)]
    counting: Option<Counting>,
    status: DeadlineStatus,
    completed_on: Option<Date>,
    #[serde(default)]
    completed_at: Option<Timestamp>,
    #[serde(default, deserialize_with = "present")]
    days_late: Option<Option<u32>>,
    #[serde(default)]
    late_by: Option<Lateness>,
    reasons: Vec<Reason>,
}

/// A field that is there, `null` or not: `Some(None)` for `null`, where an absent one is `None`.
fn present<'de, D: Deserializer<'de>>(d: D) -> Result<Option<Option<u32>>, D::Error> {
    Option::<u32>::deserialize(d).map(Some)
}

impl<'de> Deserialize<'de> for Deadline {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Deadline, D::Error> {
        let d = AnyDeadline::deserialize(deserializer)?;
        Ok(Deadline {
            name: d.name,
            rule: d.rule,
            source: d.source,
            starts_on: d.starts_on,
            due_on: d.due_on,
            due_at: d.due_at,
            counting: d.counting,
            status: d.status,
            completed_on: d.completed_on,
            completed_at: d.completed_at,
            contract: if d.days_late.is_some() {
                Contract::V1
            } else {
                Contract::V2
            },
            days_late: d.days_late.flatten(),
            late_by: d.late_by,
            reasons: d.reasons,
        })
    }
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

/// Where the retention of a child's record stands (contract 2.0).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum RetentionStatus {
    /// May be destroyed from `destroy_from`.
    Until,
    /// Kept indefinitely under the rule.
    Indefinitely,
    /// Not yet determinable (the reasons say what is missing).
    Undetermined,
    /// Destruction suspended by a hold (the reasons cite it).
    Held,
}

/// How long the child's record must be kept (contract 2.0's `retention`).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Retention {
    pub status: RetentionStatus,
    /// The first day the record may be destroyed.
    pub destroy_from: Option<Date>,
    /// The day the period runs from (birth, death, adoption order, last contact).
    pub runs_from: Option<Date>,
    pub rule: String,
    pub source: String,
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

/// The conversions the two contracts share, written once over each contract's generated types (they are
/// distinct Rust types with the same shape): reasons, levels, steps, entitlements, alerts. Each contract's
/// module gets its own `Conv` (the [`Checker`] for that contract's types).
macro_rules! shared_conversions {
    ($wit:ident) => {
        struct Conv<'c, 'a>(&'c Checker<'a>);

        impl Conv<'_, '_> {
            fn reasons(&self, at: &str, reasons: Vec<$wit::Reason>) -> Checked<Vec<Reason>> {
                self.0.check_reasons(
                    at,
                    reasons.into_iter().map(|r| (r.text, r.event_ids)).collect(),
                )
            }

            fn level(&self, l: $wit::LevelOfNeed) -> Checked<LevelOfNeed> {
                check_level(l.level)?;
                Ok(LevelOfNeed {
                    level: l.level,
                    label: text("level_of_need.label", l.label, MAX_NAME)?,
                    reasons: self.reasons("level_of_need", l.reasons)?,
                })
            }

            fn step(&self, s: $wit::StepRecommendation) -> Checked<StepRecommendation> {
                Ok(StepRecommendation {
                    current: service(s.current),
                    recommended: service(s.recommended),
                    direction: match s.direction {
                        $wit::StepDirection::StepUp => StepDirection::StepUp,
                        $wit::StepDirection::StepDown => StepDirection::StepDown,
                        $wit::StepDirection::Stay => StepDirection::Stay,
                        $wit::StepDirection::Close => StepDirection::Close,
                    },
                    reasons: self.reasons("step", s.reasons)?,
                })
            }

            fn entitlement(&self, at: &str, e: $wit::Entitlement) -> Checked<Entitlement> {
                let starts_on = date(&format!("{at}.starts_on"), e.starts_on)?;
                let ends_on = e
                    .ends_on
                    .map(|d| date(&format!("{at}.ends_on"), d))
                    .transpose()?;
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

            fn alert(&self, at: &str, a: $wit::Alert) -> Checked<Alert> {
                Ok(Alert {
                    code: code(&format!("{at}.code"), a.code)?,
                    severity: match a.severity {
                        $wit::Severity::Info => Severity::Info,
                        $wit::Severity::Warning => Severity::Warning,
                        $wit::Severity::Urgent => Severity::Urgent,
                    },
                    message: text(&format!("{at}.message"), a.message, MAX_TEXT)?,
                    reasons: self.reasons(at, a.reasons)?,
                })
            }

            fn deadline_status(s: $wit::DeadlineStatus) -> DeadlineStatus {
                match s {
                    $wit::DeadlineStatus::Met => DeadlineStatus::Met,
                    $wit::DeadlineStatus::Missed => DeadlineStatus::Missed,
                    $wit::DeadlineStatus::Open => DeadlineStatus::Open,
                    $wit::DeadlineStatus::NotApplicable => DeadlineStatus::NotApplicable,
                }
            }
        }

        fn service(s: $wit::Service) -> Service {
            match s {
                $wit::Service::None => Service::None,
                $wit::Service::EarlyHelp => Service::EarlyHelp,
                $wit::Service::ChildInNeed => Service::ChildInNeed,
                $wit::Service::ChildProtection => Service::ChildProtection,
                $wit::Service::LookedAfter => Service::LookedAfter,
                $wit::Service::LeavingCare => Service::LeavingCare,
            }
        }

        fn date(at: &str, d: $wit::Date) -> Checked<Date> {
            real_date(at, d.year, d.month, d.day)
        }
    };
}

/// Contract 1.0's output.
mod v1 {
    use super::*;
    use crate::bindings::wit1;

    shared_conversions!(wit1);

    impl Checker<'_> {
        pub(crate) fn decisions_v1(&self, d: wit1::Decisions) -> Checked<Decisions> {
            Conv(self).decisions(d)
        }
    }

    impl Conv<'_, '_> {
        fn decisions(&self, d: wit1::Decisions) -> Checked<Decisions> {
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
                retention: None,
            })
        }

        fn deadline(&self, at: &str, d: wit1::Deadline) -> Checked<Deadline> {
            let status = Self::deadline_status(d.status);
            let due_on = d.due_on.map(|x| date(&format!("{at}.due_on"), x)).transpose()?;
            let due_at = d
                .due_at
                .map(|m| instant(&format!("{at}.due_at"), m))
                .transpose()?;
            check_due(at, status, due_on, due_at)?;
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
                counting: None,
                status,
                completed_on: d
                    .completed_on
                    .map(|x| date(&format!("{at}.completed_on"), x))
                    .transpose()?,
                completed_at: None,
                days_late: d.days_late,
                late_by: None,
                reasons: self.reasons(at, d.reasons)?,
                contract: Contract::V1,
            })
        }
    }
}

/// Contract 2.0's output.
mod v2 {
    use super::*;
    use crate::bindings::wit2;

    shared_conversions!(wit2);

    impl Checker<'_> {
        pub(crate) fn decisions_v2(&self, d: wit2::Decisions) -> Checked<Decisions> {
            Conv(self).decisions(d)
        }
    }

    impl Conv<'_, '_> {
        fn decisions(&self, d: wit2::Decisions) -> Checked<Decisions> {
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
                retention: d.retention.map(|r| self.retention(r)).transpose()?,
            })
        }

        fn deadline(&self, at: &str, d: wit2::Deadline) -> Checked<Deadline> {
            let status = Self::deadline_status(d.status);
            let due_on = d.due_on.map(|x| date(&format!("{at}.due_on"), x)).transpose()?;
            let due_at = d
                .due_at
                .map(|m| instant(&format!("{at}.due_at"), m))
                .transpose()?;
            check_due(at, status, due_on, due_at)?;
            let completed_on = d
                .completed_on
                .map(|x| date(&format!("{at}.completed_on"), x))
                .transpose()?;
            let completed_at = d
                .completed_at
                .map(|m| instant(&format!("{at}.completed_at"), m))
                .transpose()?;
            if let Some(done) = completed_at
                && completed_on != Some(done.england_date())
            {
                return malformed(
                    &format!("{at}.completed_at"),
                    format!(
                        "{done} is on {} in England, but completed_on is {}",
                        done.england_date(),
                        completed_on.map_or_else(|| "absent".to_owned(), |d| d.to_string())
                    ),
                );
            }
            let late_by = match d.late_by {
                Some(_) if status != DeadlineStatus::Missed => {
                    return malformed(&format!("{at}.late_by"), "only a missed deadline is late");
                }
                Some(l) if l.amount == 0 => {
                    return malformed(
                        &format!("{at}.late_by.amount"),
                        "a missed deadline is late by at least 1",
                    );
                }
                Some(l) => Some(Lateness {
                    amount: l.amount,
                    unit: match l.unit {
                        wit2::TimeUnit::Hours => TimeUnit::Hours,
                        wit2::TimeUnit::CalendarDays => TimeUnit::CalendarDays,
                        wit2::TimeUnit::WorkingDays => TimeUnit::WorkingDays,
                    },
                }),
                None => None,
            };
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
                counting: d.counting.map(|c| match c {
                    wit2::Counting::Inclusive => Counting::Inclusive,
                    wit2::Counting::Exclusive => Counting::Exclusive,
                }),
                status,
                completed_on,
                completed_at,
                days_late: None,
                late_by,
                reasons: self.reasons(at, d.reasons)?,
                contract: Contract::V2,
            })
        }

        fn retention(&self, r: wit2::Retention) -> Checked<Retention> {
            let at = "retention";
            let status = match r.status {
                wit2::RetentionStatus::Until => RetentionStatus::Until,
                wit2::RetentionStatus::Indefinitely => RetentionStatus::Indefinitely,
                wit2::RetentionStatus::Undetermined => RetentionStatus::Undetermined,
                wit2::RetentionStatus::Held => RetentionStatus::Held,
            };
            let destroy_from = r
                .destroy_from
                .map(|x| date("retention.destroy_from", x))
                .transpose()?;
            match (status, destroy_from) {
                (RetentionStatus::Until, None) => {
                    return malformed(
                        "retention.destroy_from",
                        "a record kept until a date needs the date",
                    );
                }
                (RetentionStatus::Indefinitely | RetentionStatus::Undetermined, Some(d)) => {
                    return malformed(
                        "retention.destroy_from",
                        format!("{d} given for a record with no date it may be destroyed from"),
                    );
                }
                _ => {}
            }
            let runs_from = r.runs_from.map(|x| date("retention.runs_from", x)).transpose()?;
            if let (Some(from), Some(until)) = (runs_from, destroy_from)
                && until < from
            {
                return malformed(
                    "retention.destroy_from",
                    format!("{until} is before runs_from {from}"),
                );
            }
            Ok(Retention {
                status,
                destroy_from,
                runs_from,
                rule: text("retention.rule", r.rule, MAX_TEXT)?,
                source: text("retention.source", r.source, MAX_TEXT)?,
                reasons: self.reasons(at, r.reasons)?,
            })
        }
    }
}

impl Checker<'_> {
    fn check_reasons(&self, at: &str, reasons: Vec<(String, Vec<String>)>) -> Checked<Vec<Reason>> {
        if reasons.is_empty() {
            return malformed(
                &format!("{at}.reasons"),
                "every decision needs at least one reason",
            );
        }
        reasons
            .into_iter()
            .enumerate()
            .map(|(i, (text_, event_ids))| {
                let path = format!("{at}.reasons[{i}]");
                let text_ = text(&format!("{path}.text"), text_, MAX_TEXT)?;
                for (j, id) in event_ids.iter().enumerate() {
                    if !self.citable.contains(id.as_str()) {
                        let shown: String = id.chars().take(80).collect();
                        return malformed(
                            &format!("{path}.event_ids[{j}]"),
                            format!("cites event {shown:?}, which is not in the input"),
                        );
                    }
                }
                Ok(Reason {
                    text: text_,
                    event_ids,
                })
            })
            .collect()
    }
}

fn check_level(level: u8) -> Checked<()> {
    if (1..=4).contains(&level) {
        Ok(())
    } else {
        malformed(
            "level_of_need.level",
            format!("must be 1 (universal) to 4 (specialist), got {level}"),
        )
    }
}

/// A deadline that applies needs a due date or a due instant.
fn check_due(
    at: &str,
    status: DeadlineStatus,
    due_on: Option<Date>,
    due_at: Option<Timestamp>,
) -> Checked<()> {
    if status != DeadlineStatus::NotApplicable && due_on.is_none() && due_at.is_none() {
        return malformed(
            &format!("{at}.due_on"),
            "a deadline that applies needs a due date",
        );
    }
    Ok(())
}

fn instant(at: &str, micros: i64) -> Checked<Timestamp> {
    Timestamp::from_micros(micros).or_else(|e| malformed(at, e.to_string()))
}

fn real_date(at: &str, year: i32, month: u8, day: u8) -> Checked<Date> {
    let real = i16::try_from(year)
        .ok()
        .zip(i8::try_from(month).ok())
        .zip(i8::try_from(day).ok())
        .and_then(|((y, m), d)| Date::new(y, m, d).ok());
    match real {
        Some(date) => Ok(date),
        None => malformed(at, format!("{year:04}-{month:02}-{day:02} is not a real date")),
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
        let ok = real_date("x", 2024, 2, 29).unwrap();
        assert_eq!(ok.to_string(), "2024-02-29");
        let err = real_date("x", 2023, 2, 29).unwrap_err();
        assert_eq!(err.problem, "2023-02-29 is not a real date");
        assert!(real_date("x", 70_000, 1, 1).is_err());
        assert!(real_date("x", 2024, 200, 1).is_err());
    }

    fn deadline(contract: Contract) -> Deadline {
        Deadline {
            name: "contact-decision".into(),
            rule: "Decide within 1 working day".into(),
            source: "Working Together".into(),
            starts_on: Date::new(2025, 12, 24).ok(),
            due_on: Date::new(2025, 12, 29).ok(),
            due_at: None,
            counting: None,
            status: DeadlineStatus::Missed,
            completed_on: Date::new(2025, 12, 30).ok(),
            completed_at: None,
            days_late: None,
            late_by: None,
            reasons: vec![Reason {
                text: "Decided".into(),
                event_ids: vec!["d-1".into()],
            }],
            contract,
        }
    }

    /// A 1.0 deadline is written with 1.0's fields exactly as before 2.0 (`days_late` even when null, none
    /// of 2.0's), a 2.0 one with 2.0's (only those given) and no `days_late`; each reads back as what it
    /// was. Decisions without a retention say nothing of it.
    #[test]
    fn each_contract_writes_its_own_deadline() {
        let v1 = Deadline {
            days_late: Some(1),
            ..deadline(Contract::V1)
        };
        let json = serde_json::to_string(&v1).unwrap();
        assert_eq!(
            json,
            r#"{"name":"contact-decision","rule":"Decide within 1 working day","source":"Working Together","starts_on":"2025-12-24","due_on":"2025-12-29","due_at":null,"status":"missed","completed_on":"2025-12-30","days_late":1,"reasons":[{"text":"Decided","event_ids":["d-1"]}]}"#
        );
        assert_eq!(serde_json::from_str::<Deadline>(&json).unwrap(), v1);
        let met = Deadline {
            status: DeadlineStatus::Met,
            ..deadline(Contract::V1)
        };
        let json = serde_json::to_string(&met).unwrap();
        assert!(json.contains(r#""days_late":null"#), "{json}");
        assert_eq!(serde_json::from_str::<Deadline>(&json).unwrap(), met);

        let v2 = Deadline {
            counting: Some(Counting::Exclusive),
            late_by: Some(Lateness {
                amount: 1,
                unit: TimeUnit::WorkingDays,
            }),
            ..deadline(Contract::V2)
        };
        let json = serde_json::to_string(&v2).unwrap();
        assert_eq!(
            json,
            r#"{"name":"contact-decision","rule":"Decide within 1 working day","source":"Working Together","starts_on":"2025-12-24","due_on":"2025-12-29","due_at":null,"counting":"exclusive","status":"missed","completed_on":"2025-12-30","late_by":{"amount":1,"unit":"working-days"},"reasons":[{"text":"Decided","event_ids":["d-1"]}]}"#
        );
        assert_eq!(serde_json::from_str::<Deadline>(&json).unwrap(), v2);
        assert_eq!(v2.lateness().unwrap().to_string(), "1 working day");
        assert_eq!(
            Deadline {
                days_late: Some(5),
                ..deadline(Contract::V1)
            }
            .lateness()
            .unwrap()
            .to_string(),
            "5 days"
        );
        let plain = Deadline {
            status: DeadlineStatus::Met,
            ..deadline(Contract::V2)
        };
        let json = serde_json::to_string(&plain).unwrap();
        assert!(!json.contains("days_late") && !json.contains("late_by") && !json.contains("counting"));
        assert_eq!(serde_json::from_str::<Deadline>(&json).unwrap(), plain);

        let decisions = Decisions::default();
        assert_eq!(
            serde_json::to_string(&decisions).unwrap(),
            r#"{"level_of_need":null,"step":null,"entitlements":[],"deadlines":[],"alerts":[]}"#
        );
    }

    #[test]
    fn codes_are_kebab_case() {
        assert!(code("x", "initial-child-protection-conference".into()).is_ok());
        assert!(code("x", "Not A Code".into()).is_err());
        assert!(code("x", " ".into()).is_err());
    }
}
