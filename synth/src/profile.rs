//! What kind of authority to generate: its size, the period, and the proportions of its children's
//! journeys. Every knob has a default taken from the national picture (DfE children in need and looked-after
//! statistics) or from the Coventry inspections that seeded the project, and can be changed.

use serde::{Deserialize, Serialize};

use journey_core::error::Problems;
use journey_core::time::Date;

/// A local authority to generate: how many children, over which period, and how their journeys go.
///
/// Shares in [`StageShares`] are of **all generated children** (every child comes to the front door at
/// least once), and nest: every child with an assessment had a referral, every child on a child protection
/// plan had a section 47 enquiry and an initial conference. Looked-after children come both through child
/// protection (`looked_after_via_protection` of them) and directly (section 20, police protection, remand,
/// unaccompanied asylum-seeking children). Timeliness shares are of the events concerned.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct AuthorityProfile {
    /// The authority's name, for team names and the agency ids (`la.<slug>`).
    pub name: String,
    /// Lower-case slug for agency ids: `la.<slug>`, `police.<slug>`, `nhs.<slug>`.
    pub slug: String,
    /// The authority's three-digit DfE code (fictional by default), used in UPNs.
    pub la_code: String,
    /// Child ids are `<prefix><index, 6 digits>`.
    pub child_id_prefix: String,
    /// The authority's case management system (the `source.system` of most events).
    pub case_system: String,
    pub children: usize,
    /// Go-live: events of children known before this date are imported on it (with `source_recorded_at`).
    pub start: Date,
    /// The extraction date: nothing happens or is recorded after the end of this day.
    pub end: Date,
    /// How far before `start` the imported histories may reach (never before 1 April 2013, the first
    /// collection year the code lists know).
    pub history_years: i16,
    pub shares: StageShares,
    pub looked_after: LookedAfterProfile,
    pub timeliness: Timeliness,
    pub recording: Recording,
    /// Where addresses are: a fictional area (the default) or real postcode units, which statutory returns
    /// that geocode postcodes need (the DfE SSDA903 validator derives the placement's authority and its
    /// distance from home from them).
    #[serde(default)]
    pub postcodes: PostcodeArea,
}

/// Where the generated authority's postcodes are.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum PostcodeArea {
    /// The `QX` area, which does not exist: well-formed postcodes no gazetteer knows. Out-of-area
    /// placements have no postcode.
    #[default]
    Fictional,
    /// A few dozen real postcode units in Coventry, and in Warwickshire for out-of-area placements (public
    /// ONS data): the placement authority and distance can be derived, as the SSDA903 return requires.
    Real,
}

/// How far children's journeys go: shares of all children, nesting as documented on each field.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct StageShares {
    /// Referred to children's social care at least once (the rest stop at the front door: no further
    /// action, advice, or early help).
    pub referral: f64,
    /// Had a child and family assessment (of those referred; the rest are referrals with no further action).
    pub assessment: f64,
    /// Had a section 47 enquiry (a strategy discussion that decided on one).
    pub section_47: f64,
    /// Had an initial child protection conference.
    pub initial_conference: f64,
    /// Had a child protection plan.
    pub child_protection_plan: f64,
    /// Became looked after.
    pub looked_after: f64,
    /// Of the children whose deepest involvement is an assessment, the share given a child in need plan.
    pub child_in_need_plan: f64,
    /// Of the children who stop at the front door, the share offered early help.
    pub early_help: f64,
    /// Of referred children, the share who came by a step up from early help.
    pub step_up_from_early_help: f64,
    /// Of all referrals, the share that are re-referrals within 12 months of a previous referral.
    pub re_referral: f64,
    /// Children first known before birth (registered with an expected date of birth).
    pub unborn: f64,
    /// Children who transferred in from another authority.
    pub transferred_in: f64,
    /// Children on a plan who moved away (transferred out).
    pub transferred_out: f64,
}

/// The looked-after population: routes in and ways out.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct LookedAfterProfile {
    /// Share of looked-after children who came through a child protection plan and care proceedings.
    pub via_protection: f64,
    /// Share of looked-after children who were unaccompanied asylum-seeking children.
    pub uasc: f64,
    /// Share who came through police protection and an emergency protection order.
    pub emergency: f64,
    /// Share remanded to local authority accommodation.
    pub remand: f64,
    /// Ways out, as shares of looked-after children (the rest are still looked after at the end).
    pub adoption: f64,
    pub special_guardianship: f64,
    pub child_arrangements: f64,
    pub return_home: f64,
    /// Leave care at 16 to 18 as care leavers (needs assessment, pathway plan, personal adviser, contacts).
    pub leaving_care: f64,
    /// Share of looked-after children aged 11 or more who go missing at least once.
    pub missing: f64,
    /// Of care leavers leaving foster care at 18, the share staying put.
    pub staying_put: f64,
    /// Adoption scorecard A1 (entering care to moving in with the adopters): median days.
    pub a1_median_days: f64,
    /// Adoption scorecard A2 (placement order to match): median days.
    pub a2_median_days: f64,
    /// Placement moves per year in care (before adolescence; adolescents move twice as often).
    pub moves_per_year: f64,
}

/// The share of statutory timescales met.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Timeliness {
    /// Contacts decided within one working day.
    pub contact_decision_within_1wd: f64,
    /// Assessments completed within 45 working days of the referral.
    pub assessment_within_45wd: f64,
    /// Initial conferences within 15 working days of the strategy discussion. The Coventry inspection of
    /// 2014 found 60% late (0.4); the default is a poorly performing 0.6.
    pub icpc_within_15wd: f64,
    /// First core group within 10 working days of the initial conference.
    pub core_group_within_10wd: f64,
    /// Review conferences on time (first within 3 months, then 6-monthly).
    pub review_conference_on_time: f64,
    /// Child protection visits within 10 working days of the last.
    pub cp_visits_on_time: f64,
    /// Looked-after reviews on time (20 working days, 3 months, then 6-monthly).
    pub lac_review_on_time: f64,
    /// Looked-after visits within 6 weeks (the inspections found 82%).
    pub lac_visits_on_time: f64,
    /// Initial health assessments within 20 working days.
    pub health_assessment_within_20wd: f64,
    /// Return interviews offered within 72 hours of the return.
    pub return_interview_within_72h: f64,
    /// Care leavers' needs assessments within 3 months of the 16th birthday.
    pub needs_assessment_within_3m: f64,
    /// Care proceedings concluded within 26 weeks.
    pub proceedings_within_26w: f64,
}

/// How the authority records: recording lag, late recording, corrections and retractions.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Recording {
    /// Events recorded on the day they happened (the rest within a few days, or late).
    pub same_day: f64,
    /// Events recorded late: more than 7 days after they happened.
    pub late: f64,
    /// Median lag of a late event, in days (log-normal, 8 to `late_max_days`).
    pub late_median_days: f64,
    pub late_max_days: i32,
    /// Strategy discussions recorded late (the inspections found them recorded late or not at all).
    pub strategy_discussion_late: f64,
    /// Share of events later corrected (`EventCorrected`).
    pub corrected: f64,
    /// Share of events entered in error or twice, and later retracted (`EventRetracted`).
    pub retracted: f64,
    /// Largest number of events in one imported append.
    pub import_batch: usize,
}

impl AuthorityProfile {
    /// A small authority for tests: 300 children over two collection years (2023/24, 2024/25).
    pub fn small() -> AuthorityProfile {
        AuthorityProfile {
            name: "Exampleshire".to_owned(),
            slug: "exampleshire".to_owned(),
            la_code: "990".to_owned(),
            child_id_prefix: "EXS".to_owned(),
            case_system: "mosaic".to_owned(),
            children: 300,
            start: Date::new(2023, 4, 1).expect("a real date"),
            end: Date::new(2025, 3, 31).expect("a real date"),
            history_years: 6,
            shares: StageShares::default(),
            looked_after: LookedAfterProfile::default(),
            timeliness: Timeliness::default(),
            recording: Recording::default(),
            postcodes: PostcodeArea::Fictional,
        }
    }

    /// A large authority: 70,000 children over five collection years (2020/21 to 2024/25).
    pub fn large_authority() -> AuthorityProfile {
        AuthorityProfile {
            name: "Greater Exampleton".to_owned(),
            slug: "greater-exampleton".to_owned(),
            la_code: "991".to_owned(),
            child_id_prefix: "GEX".to_owned(),
            case_system: "liquidlogic-lcs".to_owned(),
            children: 70_000,
            start: Date::new(2020, 4, 1).expect("a real date"),
            end: Date::new(2025, 3, 31).expect("a real date"),
            history_years: 7,
            ..AuthorityProfile::small()
        }
    }

    /// Skewed to the deep end, for tests that need every path (adoption, special guardianship, care
    /// leavers, missing episodes...) in a few hundred children. Not realistic proportions.
    pub fn deep_end() -> AuthorityProfile {
        AuthorityProfile {
            name: "Deepdale".to_owned(),
            slug: "deepdale".to_owned(),
            la_code: "992".to_owned(),
            child_id_prefix: "DPD".to_owned(),
            shares: StageShares {
                referral: 0.9,
                assessment: 0.85,
                section_47: 0.6,
                initial_conference: 0.5,
                child_protection_plan: 0.45,
                looked_after: 0.4,
                child_in_need_plan: 0.5,
                early_help: 0.5,
                step_up_from_early_help: 0.15,
                re_referral: 0.2,
                unborn: 0.06,
                transferred_in: 0.04,
                transferred_out: 0.05,
            },
            looked_after: LookedAfterProfile {
                via_protection: 0.5,
                uasc: 0.12,
                emergency: 0.1,
                remand: 0.05,
                adoption: 0.2,
                special_guardianship: 0.15,
                child_arrangements: 0.05,
                return_home: 0.15,
                leaving_care: 0.3,
                missing: 0.5,
                ..LookedAfterProfile::default()
            },
            recording: Recording {
                corrected: 0.03,
                retracted: 0.01,
                ..Recording::default()
            },
            ..AuthorityProfile::small()
        }
    }

    /// This profile with `n` children.
    pub fn with_children(mut self, n: usize) -> AuthorityProfile {
        self.children = n;
        self
    }

    /// This profile with real postcodes (see [`PostcodeArea::Real`]).
    pub fn with_real_postcodes(mut self) -> AuthorityProfile {
        self.postcodes = PostcodeArea::Real;
        self
    }

    /// This profile over another period.
    pub fn with_period(mut self, start: Date, end: Date) -> AuthorityProfile {
        self.start = start;
        self.end = end;
        self
    }

    /// Every knob in range and the stage shares nesting; the generator refuses a profile that fails.
    pub fn check(&self) -> Result<(), Problems> {
        let mut p = Problems::new();
        let s = &self.shares;
        let l = &self.looked_after;
        let t = &self.timeliness;
        let r = &self.recording;
        let unit: &[(&str, f64)] = &[
            ("shares.referral", s.referral),
            ("shares.assessment", s.assessment),
            ("shares.section_47", s.section_47),
            ("shares.initial_conference", s.initial_conference),
            ("shares.child_protection_plan", s.child_protection_plan),
            ("shares.looked_after", s.looked_after),
            ("shares.child_in_need_plan", s.child_in_need_plan),
            ("shares.early_help", s.early_help),
            ("shares.step_up_from_early_help", s.step_up_from_early_help),
            ("shares.re_referral", s.re_referral),
            ("shares.unborn", s.unborn),
            ("shares.transferred_in", s.transferred_in),
            ("shares.transferred_out", s.transferred_out),
            ("looked_after.via_protection", l.via_protection),
            ("looked_after.uasc", l.uasc),
            ("looked_after.emergency", l.emergency),
            ("looked_after.remand", l.remand),
            ("looked_after.adoption", l.adoption),
            ("looked_after.special_guardianship", l.special_guardianship),
            ("looked_after.child_arrangements", l.child_arrangements),
            ("looked_after.return_home", l.return_home),
            ("looked_after.leaving_care", l.leaving_care),
            ("looked_after.missing", l.missing),
            ("looked_after.staying_put", l.staying_put),
            (
                "timeliness.contact_decision_within_1wd",
                t.contact_decision_within_1wd,
            ),
            ("timeliness.assessment_within_45wd", t.assessment_within_45wd),
            ("timeliness.icpc_within_15wd", t.icpc_within_15wd),
            ("timeliness.core_group_within_10wd", t.core_group_within_10wd),
            (
                "timeliness.review_conference_on_time",
                t.review_conference_on_time,
            ),
            ("timeliness.cp_visits_on_time", t.cp_visits_on_time),
            ("timeliness.lac_review_on_time", t.lac_review_on_time),
            ("timeliness.lac_visits_on_time", t.lac_visits_on_time),
            (
                "timeliness.health_assessment_within_20wd",
                t.health_assessment_within_20wd,
            ),
            (
                "timeliness.return_interview_within_72h",
                t.return_interview_within_72h,
            ),
            (
                "timeliness.needs_assessment_within_3m",
                t.needs_assessment_within_3m,
            ),
            ("timeliness.proceedings_within_26w", t.proceedings_within_26w),
            ("recording.same_day", r.same_day),
            ("recording.late", r.late),
            ("recording.strategy_discussion_late", r.strategy_discussion_late),
            ("recording.corrected", r.corrected),
            ("recording.retracted", r.retracted),
        ];
        for (field, v) in unit {
            if !(0.0..=1.0).contains(v) {
                p.push(*field, format!("must be a share between 0 and 1 (got {v})"));
            }
        }
        let nested = [
            ("shares.assessment", s.assessment, "shares.referral", s.referral),
            (
                "shares.section_47",
                s.section_47,
                "shares.assessment",
                s.assessment,
            ),
            (
                "shares.initial_conference",
                s.initial_conference,
                "shares.section_47",
                s.section_47,
            ),
            (
                "shares.child_protection_plan",
                s.child_protection_plan,
                "shares.initial_conference",
                s.initial_conference,
            ),
        ];
        for (field, v, outer, o) in nested {
            if v > o {
                p.push(
                    field,
                    format!("must not exceed {outer} ({o}): the stages nest (got {v})"),
                );
            }
        }
        let la_cp = s.looked_after * l.via_protection;
        let la_emergency = s.looked_after * l.emergency;
        let la_direct = s.looked_after - la_cp - la_emergency;
        if la_cp > s.child_protection_plan + 1e-9 {
            p.push(
                "looked_after.via_protection",
                "looked_after x via_protection must not exceed shares.child_protection_plan: those children had a plan",
            );
        }
        if la_emergency > s.section_47 - s.initial_conference + 1e-9 {
            p.push(
                "looked_after.emergency",
                "looked_after x emergency must fit within section_47 - initial_conference: those children had a \
                 section 47 enquiry but no conference",
            );
        }
        if la_direct > s.assessment - s.section_47 + 1e-9 {
            p.push(
                "shares.looked_after",
                "the children looked after directly (section 20, remand, UASC) must fit within assessment - section_47",
            );
        }
        let routes = l.via_protection + l.uasc + l.emergency + l.remand;
        if routes > 1.0 + 1e-9 {
            p.push(
                "looked_after",
                format!("via_protection + uasc + emergency + remand must not exceed 1 (got {routes})"),
            );
        }
        let exits =
            l.adoption + l.special_guardianship + l.child_arrangements + l.return_home + l.leaving_care;
        if exits > 1.0 + 1e-9 {
            p.push(
                "looked_after",
                format!("the ways out must not exceed 1 in total (got {exits})"),
            );
        }
        if r.same_day + r.late > 1.0 {
            p.push("recording.late", "same_day + late must not exceed 1");
        }
        if self.end < self.start {
            p.push("end", "must not be before start");
        }
        if self.start < Date::new(2013, 4, 1).expect("a real date")
            || self.end > Date::new(2030, 3, 31).expect("a real date")
        {
            p.push(
                "start",
                "the period must fall within 2013/14 to 2029/30, the collection years the code lists know",
            );
        }
        if self.la_code.len() != 3 || !self.la_code.bytes().all(|b| b.is_ascii_digit()) {
            p.push("la_code", "must be three digits");
        }
        if r.late_max_days < 8 || r.late_median_days < 8.0 {
            p.push(
                "recording.late_median_days",
                "late means more than 7 days: median and maximum must be at least 8",
            );
        }
        if r.import_batch == 0 {
            p.push("recording.import_batch", "must be at least 1");
        }
        for (field, v) in [
            ("slug", &self.slug),
            ("case_system", &self.case_system),
            ("child_id_prefix", &self.child_id_prefix),
        ] {
            let ok = !v.is_empty()
                && v.len() <= 40
                && v.starts_with(|c: char| c.is_ascii_alphanumeric())
                && v.chars().all(|c| c.is_ascii_alphanumeric() || c == '-');
            if !ok || (field == "slug" && v.chars().any(|c| c.is_ascii_uppercase())) {
                p.push(
                    field,
                    "must be 1 to 40 ASCII letters, digits or '-' (lower case for the slug)",
                );
            }
        }
        p.into_result()
    }
}

impl Default for AuthorityProfile {
    fn default() -> AuthorityProfile {
        AuthorityProfile::small()
    }
}

impl Default for StageShares {
    /// Roughly the national funnel for children who reach the front door of a large authority.
    fn default() -> StageShares {
        StageShares {
            referral: 0.45,
            assessment: 0.40,
            section_47: 0.12,
            initial_conference: 0.06,
            child_protection_plan: 0.05,
            looked_after: 0.035,
            child_in_need_plan: 0.35,
            early_help: 0.3,
            step_up_from_early_help: 0.1,
            re_referral: 0.22,
            unborn: 0.015,
            transferred_in: 0.01,
            transferred_out: 0.02,
        }
    }
}

impl Default for LookedAfterProfile {
    fn default() -> LookedAfterProfile {
        LookedAfterProfile {
            via_protection: 0.45,
            uasc: 0.08,
            emergency: 0.1,
            remand: 0.03,
            adoption: 0.1,
            special_guardianship: 0.12,
            child_arrangements: 0.04,
            return_home: 0.25,
            leaving_care: 0.25,
            missing: 0.3,
            staying_put: 0.3,
            a1_median_days: 440.0,
            a2_median_days: 130.0,
            moves_per_year: 0.5,
        }
    }
}

impl Default for Timeliness {
    /// A poorly performing authority, as the inspections found: 60% of initial conferences on time, 82% of
    /// looked-after children seen at the required frequency.
    fn default() -> Timeliness {
        Timeliness {
            contact_decision_within_1wd: 0.85,
            assessment_within_45wd: 0.8,
            icpc_within_15wd: 0.6,
            core_group_within_10wd: 0.85,
            review_conference_on_time: 0.85,
            cp_visits_on_time: 0.8,
            lac_review_on_time: 0.85,
            lac_visits_on_time: 0.82,
            health_assessment_within_20wd: 0.6,
            return_interview_within_72h: 0.75,
            needs_assessment_within_3m: 0.75,
            proceedings_within_26w: 0.55,
        }
    }
}

impl Default for Recording {
    fn default() -> Recording {
        Recording {
            same_day: 0.6,
            late: 0.07,
            late_median_days: 16.0,
            late_max_days: 120,
            strategy_discussion_late: 0.3,
            corrected: 0.01,
            retracted: 0.004,
            import_batch: 100,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn presets_are_consistent() {
        AuthorityProfile::small().check().unwrap();
        AuthorityProfile::large_authority().check().unwrap();
        AuthorityProfile::deep_end().check().unwrap();
        let mut bad = AuthorityProfile::small();
        bad.shares.section_47 = 0.5;
        let err = bad.check().unwrap_err();
        assert!(err.iter().any(|e| e.field == "shares.section_47"), "{err}");
    }
}
