//! # levels-of-need: the level of need under a local threshold document
//!
//! Level 1 (universal), 2 (early help), 3 (targeted / child in need) or 4 (specialist / protection), with
//! a reason for every rule that raised it. The level is the highest any rule gives:
//!
//! 1. **Services open on the evaluation date**: looked after (4), a child protection plan (4), a child in
//!    need plan or an open child in need episode (3), a series of short breaks (3), early help (2).
//! 2. **Factors** recorded in the last `factors_within_months`: a contact's concerns, an assessment's or
//!    an early help assessment's factors (CIN census codes "1A".."24A"), each at its level in
//!    `factor_levels` (`unlisted_factor_level` otherwise), raised `by` levels in an `age_bands` band for the
//!    factors it names (parental substance misuse for a baby, going missing for an adolescent).
//! 3. **Multiple needs**: `multiple_needs_factors` distinct factors at level 2 or above give
//!    `multiple_needs_level` (several agencies needed, not one).
//! 4. **Re-referral**: `referrals_for_re_referral` referrals within `referrals_within_months` give
//!    `re_referral_level`.
//! 5. **Disability** recorded for the child gives `disability_level`.
//!
//! `labels` names the levels as the local document does. Every number and code is in `parameters.json`,
//! so an area's threshold document is a parameter file. An alert says when the level the front door last
//! recorded for a contact differs from the level computed.
//!
//! Sources: Working Together requires each area to publish a threshold document; the levels and typical
//! indicators are from `shared/domain/rules.md` section 5 (Hampshire, Westmorland and Furness, Wigan,
//! Coventry, Reading).

use std::collections::BTreeMap;

use journey_policy_sdk::*;
use serde::Deserialize;

struct LevelsOfNeed;

const DEFAULTS: &str = include_str!("../parameters.json");

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Parameters {
    labels: BTreeMap<String, String>,
    factor_levels: BTreeMap<String, u8>,
    unlisted_factor_level: u8,
    factors_within_months: i32,
    multiple_needs_factors: usize,
    multiple_needs_level: u8,
    referrals_within_months: i32,
    referrals_for_re_referral: usize,
    re_referral_level: u8,
    open_service_levels: ServiceLevels,
    age_bands: Vec<AgeBand>,
    disability_level: u8,
    short_break_legal_statuses: Vec<String>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct ServiceLevels {
    early_help: u8,
    child_in_need: u8,
    short_breaks: u8,
    child_protection: u8,
    looked_after: u8,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct AgeBand {
    name: String,
    from_age: u32,
    under_age: u32,
    raise_factors: Vec<String>,
    by: u8,
}

fn is_level(l: u8) -> bool {
    (1..=4).contains(&l)
}

impl Parameters {
    fn validate(&self) -> Result<(), PolicyError> {
        for l in ["1", "2", "3", "4"] {
            PolicyError::check(
                self.labels.get(l).is_some_and(|s| !s.trim().is_empty()),
                "labels",
                format!("must name level {l}"),
            )?;
        }
        PolicyError::check(
            self.labels.len() == 4,
            "labels",
            "must name exactly the levels 1 to 4",
        )?;
        for (code, level) in &self.factor_levels {
            PolicyError::check(
                is_level(*level),
                "factor_levels",
                format!("{code}: a level is 1 to 4"),
            )?;
        }
        let s = &self.open_service_levels;
        for (field, level) in [
            ("unlisted_factor_level", self.unlisted_factor_level),
            ("multiple_needs_level", self.multiple_needs_level),
            ("re_referral_level", self.re_referral_level),
            ("disability_level", self.disability_level),
            ("open_service_levels", s.early_help),
            ("open_service_levels", s.child_in_need),
            ("open_service_levels", s.short_breaks),
            ("open_service_levels", s.child_protection),
            ("open_service_levels", s.looked_after),
        ] {
            PolicyError::check(is_level(level), field, "a level is 1 to 4")?;
        }
        PolicyError::check(
            self.factors_within_months >= 1,
            "factors_within_months",
            "must be at least 1",
        )?;
        PolicyError::check(
            self.referrals_within_months >= 1,
            "referrals_within_months",
            "must be at least 1",
        )?;
        PolicyError::check(
            self.multiple_needs_factors >= 2,
            "multiple_needs_factors",
            "must be at least 2",
        )?;
        PolicyError::check(
            self.referrals_for_re_referral >= 2,
            "referrals_for_re_referral",
            "must be at least 2",
        )?;
        for band in &self.age_bands {
            PolicyError::check(
                band.from_age < band.under_age && band.by >= 1,
                "age_bands",
                format!(
                    "{}: from_age must be below under_age, and by at least 1",
                    band.name
                ),
            )?;
        }
        Ok(())
    }

    fn label(&self, level: u8) -> String {
        self.labels[&level.to_string()].clone()
    }
}

/// One rule's finding: the level it gives and why.
struct Finding {
    level: u8,
    reason: Reason,
}

impl Policy for LevelsOfNeed {
    fn about() -> PolicyInfo {
        PolicyInfo::new(
            "levels-of-need",
            PolicyKind::LevelOfNeed,
            "1.1.0",
            "The level of need (1 universal, 2 early help, 3 targeted / child in need, 4 specialist / \
             protection) from the services open, the factors recorded at contacts and assessments, \
             re-referrals, age and disability, with the local threshold document as parameters.",
        )
    }

    fn evaluate(input: &EvaluationInput) -> Result<Decisions, PolicyError> {
        let p: Parameters = input.parameters_over(DEFAULTS)?;
        p.validate()?;
        let on = input.evaluation_date;
        let mut findings = open_services(input, &p)?;
        findings.extend(factors(input, &p));
        findings.extend(re_referrals(input, &p));
        if let Some((codes, e)) = input.disabilities() {
            findings.push(Finding {
                level: p.disability_level,
                reason: Reason::new(
                    format!("Disability recorded ({})", codes.join(", ")),
                    [e.event_id.as_str()],
                ),
            });
        }
        // The highest level first; within a level, in the order the rules ran.
        findings.sort_by_key(|f| std::cmp::Reverse(f.level));
        let level = findings.first().map_or(1, |f| f.level);
        let mut reasons: Vec<Reason> = findings.into_iter().map(|f| f.reason).collect();
        if reasons.is_empty() {
            reasons.push(Reason::because(format!(
                "No open service, factor or referral recorded in the {} months to {on}",
                p.factors_within_months
            )));
        }
        let mut decisions = Decisions {
            level_of_need: Some(LevelOfNeed {
                level,
                label: p.label(level),
                reasons,
            }),
            ..Decisions::default()
        };
        if let Some(alert) = recorded_level_differs(input, &p, level) {
            decisions.alerts.push(alert);
        }
        Ok(decisions)
    }
}

/// The services open on the evaluation date.
fn open_services(input: &EvaluationInput, p: &Parameters) -> Result<Vec<Finding>, PolicyError> {
    let on = input.evaluation_date;
    let levels = &p.open_service_levels;
    let mut out = Vec::new();
    let mut open = |level: u8, what: &str, period: Period<'_>| {
        out.push(Finding {
            level,
            reason: Reason::new(
                format!("{what} since {}", period.starts_on()),
                [period.start.event_id.as_str()],
            ),
        });
    };
    for care in input.care_periods()? {
        if care.period.is_open_on(on) {
            if care.is_short_breaks(&p.short_break_legal_statuses) {
                open(
                    levels.short_breaks,
                    "Receiving a series of short breaks",
                    care.period,
                );
            } else {
                open(levels.looked_after, "Looked after", care.period);
            }
        }
    }
    let spans = [
        (
            "ChildProtectionPlanStarted",
            "ChildProtectionPlanEnded",
            levels.child_protection,
            "On a child protection plan",
        ),
        (
            "ChildInNeedPlanStarted",
            "ChildInNeedPlanEnded",
            levels.child_in_need,
            "On a child in need plan",
        ),
        (
            "EarlyHelpStarted",
            "EarlyHelpEnded",
            levels.early_help,
            "Receiving early help",
        ),
    ];
    for (start, end, level, what) in spans {
        if let Some(period) = input.open_period_on(start, end, on) {
            open(level, what, period);
        }
    }
    // A child in need episode without a plan (yet): from a referral accepted to its closure.
    if let Some(episode) = input.child_in_need_episode_on(on)
        && input
            .open_period_on("ChildInNeedPlanStarted", "ChildInNeedPlanEnded", on)
            .is_none()
    {
        open(
            levels.child_in_need,
            "Open child in need episode (referral accepted)",
            episode,
        );
    }
    Ok(out)
}

/// The factors recorded in the window, each at its level (raised for the child's age band).
fn factors(input: &EvaluationInput, p: &Parameters) -> Vec<Finding> {
    let on = input.evaluation_date;
    let since = on.add_months(-p.factors_within_months);
    // Each distinct factor, with the latest event that recorded it.
    let mut latest: BTreeMap<String, &JourneyEvent> = BTreeMap::new();
    for e in input.of_kinds(&[
        "ContactReceived",
        "AssessmentCompleted",
        "EarlyHelpAssessmentCompleted",
    ]) {
        if e.occurred_on > since {
            for f in e.assessment_factors() {
                latest.insert(f, e);
            }
        }
    }
    // Unborn children (no date of birth yet) are in the youngest band.
    let age = match (input.date_of_birth(), input.child.expected_date_of_birth) {
        (Some(dob), _) => dob.age_on(&on),
        (None, Some(_)) => Some(0),
        (None, None) => None,
    };
    let band = |code: &str| {
        p.age_bands.iter().find(|b| {
            age.is_some_and(|a| b.from_age <= a && a < b.under_age)
                && b.raise_factors.iter().any(|f| f == code)
        })
    };
    let mut out = Vec::new();
    let mut significant: Vec<(&str, &JourneyEvent)> = Vec::new();
    for (code, e) in &latest {
        let base = p
            .factor_levels
            .get(code)
            .copied()
            .unwrap_or(p.unlisted_factor_level);
        let (level, why) = match band(code) {
            Some(b) => (
                (base + b.by).min(4),
                format!(" (level {base}, raised by {} for a child {})", b.by, b.name),
            ),
            None => (base, String::new()),
        };
        if level >= 2 {
            significant.push((code.as_str(), e));
        }
        out.push(Finding {
            level,
            reason: Reason::new(
                format!(
                    "Factor {code} recorded on {} ({}): level {level}{why}",
                    e.occurred_on, e.kind
                ),
                [e.event_id.as_str()],
            ),
        });
    }
    if significant.len() >= p.multiple_needs_factors {
        let mut ids: Vec<&str> = significant.iter().map(|(_, e)| e.event_id.as_str()).collect();
        ids.sort_unstable();
        ids.dedup();
        let codes: Vec<&str> = significant.iter().map(|(c, _)| *c).collect();
        out.push(Finding {
            level: p.multiple_needs_level,
            reason: Reason::new(
                format!(
                    "Multiple needs: {} factors at level 2 or above ({}) since {since}",
                    codes.len(),
                    codes.join(", ")
                ),
                ids,
            ),
        });
    }
    out
}

fn re_referrals(input: &EvaluationInput, p: &Parameters) -> Option<Finding> {
    let on = input.evaluation_date;
    let since = on.add_months(-p.referrals_within_months);
    let referrals: Vec<&JourneyEvent> = input
        .of_kind("ReferralReceived")
        .filter(|r| r.occurred_on > since)
        .collect();
    (referrals.len() >= p.referrals_for_re_referral).then(|| Finding {
        level: p.re_referral_level,
        reason: Reason::new(
            format!(
                "{} referrals in the {} months to {on} (re-referral)",
                referrals.len(),
                p.referrals_within_months
            ),
            referrals.iter().map(|r| r.event_id.as_str()),
        ),
    })
}

#[derive(Deserialize)]
struct Decided {
    #[serde(default)]
    level_of_need: Option<u8>,
}

/// An alert when the level the front door last recorded (within the factor window) is not the level
/// computed.
fn recorded_level_differs(input: &EvaluationInput, p: &Parameters, level: u8) -> Option<Alert> {
    let since = input.evaluation_date.add_months(-p.factors_within_months);
    let decided = input
        .of_kind("ContactDecided")
        .filter(|d| d.occurred_on > since)
        .filter_map(|d| Some((d, d.data::<Decided>().ok()?.level_of_need?)))
        .last()?;
    let (event, recorded) = decided;
    (recorded != level).then(|| {
        Alert::new(
            "recorded-level-differs",
            Severity::Info,
            format!(
                "The contact decision of {} recorded level {recorded} ({}); the threshold document gives level \
                 {level} ({}) on {}",
                event.occurred_on,
                p.label(recorded.clamp(1, 4)),
                p.label(level),
                input.evaluation_date
            ),
            vec![Reason::new("The recorded level", [event.event_id.as_str()])],
        )
    })
}

export_policy!(LevelsOfNeed);

#[cfg(test)]
mod tests {
    use journey_policy_sdk::testing::{event, input};
    use serde_json::json;

    use super::*;

    fn level(i: &EvaluationInput) -> (u8, String) {
        let l = LevelsOfNeed::evaluate(i).unwrap().level_of_need.unwrap();
        (l.level, l.label)
    }

    #[test]
    fn a_baby_with_a_parent_misusing_drugs_is_specialist_and_a_teenager_is_targeted() {
        let events = vec![event(
            "c1",
            "ContactReceived",
            "2024-03-01",
            json!({"concerns": ["2B"]}),
        )];
        let mut i = input("2024-04-01", events);
        i.child.date_of_birth = Some(Date::ymd(2024, 2, 29));
        assert_eq!(level(&i), (4, "Specialist (child protection)".into()));
        i.child.date_of_birth = Some(Date::ymd(2010, 2, 28));
        assert_eq!(level(&i).0, 3);
        // An area whose document puts parental drug misuse at early help.
        i.parameters =
            r#"{"factor_levels": {"2B": 2}, "labels": {"1": "A", "2": "B", "3": "C", "4": "D"}}"#.into();
        assert_eq!(level(&i), (2, "B".into()));
    }

    #[test]
    fn three_low_level_factors_are_multiple_needs_and_old_ones_are_forgotten() {
        let events = vec![
            event(
                "c1",
                "ContactReceived",
                "2023-01-10",
                json!({"concerns": ["11A"]}),
            ),
            event(
                "c2",
                "ContactReceived",
                "2024-03-01",
                json!({"concerns": ["4B", "7A"]}),
            ),
            event(
                "eh",
                "EarlyHelpAssessmentCompleted",
                "2024-03-20",
                json!({"factors": ["14A"]}),
            ),
        ];
        let i = input("2024-04-01", events);
        let d = LevelsOfNeed::evaluate(&i).unwrap().level_of_need.unwrap();
        assert_eq!(d.level, 3);
        assert!(
            d.reasons[0].text.starts_with("Multiple needs: 3 factors"),
            "{:?}",
            d.reasons
        );
        assert_eq!(d.reasons[0].event_ids, ["c2", "eh"]);
    }

    #[test]
    fn bad_parameters_name_the_field() {
        let mut i = input("2024-04-01", vec![]);
        for (p, needle) in [
            (
                r#"{"labels": {"1": "a"}}"#,
                "parameter `labels`: must name level 2",
            ),
            (
                r#"{"factor_levels": {"2B": 5}}"#,
                "parameter `factor_levels`: 2B: a level is 1 to 4",
            ),
            (
                r#"{"disability_level": "high"}"#,
                "parameter `disability_level`: invalid type",
            ),
        ] {
            i.parameters = p.into();
            match LevelsOfNeed::evaluate(&i) {
                Err(PolicyError::InvalidParameters(m)) => assert!(m.contains(needle), "{p}: {m}"),
                other => panic!("{p}: {other:?}"),
            }
        }
    }
}
