//! The Children in Need census of a collection year, built from the log as it stood at a known-at instant,
//! as the XML the DfE collects (`../shared/domain/rules.md` §6.3; element names and nesting as the DfE's
//! validator, `csc-validator-be-cin`, reads them).
//!
//! * **Who is in it:** every child with a CIN episode open on some day of the year (1 April to 31 March): a
//!   referral (`ReferralReceived`) on or before 31 March, not closed (`ChildInNeedEpisodeClosed`) before
//!   1 April. Each such episode is a `CINdetails` block; a closure after 31 March is not yet known to the
//!   year and is left out.
//! * **Within an episode:** the assessments, CIN plans, section 47 enquiries and child protection plans of
//!   the episode that overlap the year. A section 47 starts on the strategy discussion that decided on it
//!   (`Section47Started.strategy_discussion_event_id`, else the latest such discussion before it, else the
//!   enquiry's own date); its `InitialCPCtarget` is 15 working days later (England and Wales bank holidays,
//!   given by the caller); `ICPCnotRequired` when it concluded without a conference being needed. The
//!   initial conference after it gives its `DateOfInitialCPC`; one that followed no enquiry (a transfer-in)
//!   is the episode's. On one day, the work is taken before the episode's closure. A plan's reviews are the review conferences held
//!   while it was open; `NumberOfPreviousCPP` counts the child's plans that started before it.
//! * **The child:** identifiers and characteristics from the registration in force (`ChildRegistered`, with
//!   `ChildDetailsAmended`): UPN or the reason there is none, former UPN, date of birth (or expected date for
//!   an unborn child), `GenderCurrent` (1, 2, 0) to 2023/24 and `Sex` (M, F, U) from 2024/25 (U, 0, for a child
//!   unborn on the reference date whatever sex is recorded: rule 8750), date of death,
//!   ethnicity, disabilities (`NONE` when none is recorded).
//!
//! Not produced: the 2025/26 pre-proceedings module (`PreProceedingsandFGDM`). The census's import, the
//! other way, is [`import_census`].

use std::collections::BTreeMap;

use quick_xml::Writer;
use quick_xml::events::{BytesDecl, BytesEnd, BytesStart, BytesText, Event};

use crate::ssda903::streams_known_at;
use journey_core::codes::{
    AbuseCategory, AssessmentFactor, CinClosureReason, CollectionYear, Disability, Ethnicity, PrimaryNeed,
    ReferralSource, Sex, UpnUnknownReason,
};
use journey_core::domain::lists::{ConferenceKind, Section47Outcome, StrategyOutcome};
use journey_core::domain::{ChildDetailsAmended, ChildRegistered, EventPayload, ReferralReceived, Upn};
use journey_core::envelope::RecordedEvent;
use journey_core::error::Result;
use journey_core::ids::{ChildId, EventId};
use journey_core::store::EventStore;
use journey_core::time::{Date, Timestamp};
use journey_core::view::{EffectiveEvent, known_at};

mod import;
#[cfg(test)]
mod import_tests;
#[cfg(test)]
mod tests;

pub use import::{CinFileSummary, CinImportReport, import_census};

/// Who sends the census and when.
#[derive(Clone, Debug)]
pub struct CinOptions<'a> {
    pub year: CollectionYear,
    /// The record as it stood at this instant.
    pub known_at: Timestamp,
    /// The authority's three-digit LA code (`LEA`).
    pub la_code: String,
    /// When the file is produced (`DateTime`).
    pub produced_at: Timestamp,
    /// England and Wales bank holidays, for the initial conference's 15-working-day target.
    pub bank_holidays: &'a [Date],
}

/// One child in the census.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct CinChild {
    pub child_id: Option<ChildId>,
    pub upn: Option<Upn>,
    pub former_upn: Option<Upn>,
    pub upn_unknown: Option<UpnUnknownReason>,
    pub date_of_birth: Option<Date>,
    pub expected_date_of_birth: Option<Date>,
    pub sex: Option<Sex>,
    pub died: Option<Date>,
    pub ethnicity: Option<Ethnicity>,
    pub disabilities: Vec<Disability>,
    pub episodes: Vec<CinEpisode>,
}

impl CinEpisode {
    /// The episode a referral on `on` opens, nothing in it yet.
    pub fn opened(on: Date, r: &ReferralReceived) -> CinEpisode {
        CinEpisode {
            referral: on,
            source: r.source,
            primary_need: r.primary_need,
            referral_nfa: r.no_further_action,
            closure: None,
            initial_conference: None,
            assessments: Vec::new(),
            plans: Vec::new(),
            section47s: Vec::new(),
            protection_plans: Vec::new(),
        }
    }
}

/// One CIN episode (`CINdetails`).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CinEpisode {
    pub referral: Date,
    pub source: ReferralSource,
    pub primary_need: PrimaryNeed,
    pub referral_nfa: bool,
    pub closure: Option<(Date, CinClosureReason)>,
    pub initial_conference: Option<Date>,
    pub assessments: Vec<Assessment>,
    pub plans: Vec<(Date, Option<Date>)>,
    pub section47s: Vec<Section47>,
    pub protection_plans: Vec<ProtectionPlan>,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Assessment {
    pub start: Date,
    pub internal_review: Option<Date>,
    pub authorised: Option<Date>,
    pub factors: Vec<AssessmentFactor>,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Section47 {
    pub start: Date,
    pub conference_target: Date,
    pub initial_conference: Option<Date>,
    /// Concluded without a conference being needed.
    pub conference_not_required: bool,
    /// Concluded (`Section47Completed`), whatever the outcome.
    pub concluded: bool,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ProtectionPlan {
    pub start: Date,
    pub end: Option<Date>,
    pub initial_category: AbuseCategory,
    pub latest_category: AbuseCategory,
    pub previous_plans: usize,
    pub reviews: Vec<Date>,
}

/// The census of a year.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CinCensus {
    pub year: CollectionYear,
    pub la_code: String,
    pub produced_at: Timestamp,
    pub children: Vec<CinChild>,
}

/// The census for `options.year` from every child in `store`, as the record stood at `options.known_at`.
pub async fn export(store: &dyn EventStore, options: &CinOptions<'_>) -> Result<CinCensus> {
    let streams = streams_known_at(store, options.known_at).await?;
    let children = streams
        .values()
        .filter_map(|events| {
            let effective = in_force(events, options.known_at);
            let child = events.first().map(|e| e.envelope.child_id.clone());
            child_in_year(child, effective, options)
        })
        .collect();
    Ok(CinCensus {
        year: options.year,
        la_code: options.la_code.clone(),
        produced_at: options.produced_at,
        children,
    })
}

/// A child's events in use as known at `at` (corrections applied; retracted and restricted events left
/// out), as [`child_history`] takes them: date, version, event id, content.
pub fn in_force(events: &[RecordedEvent], at: Timestamp) -> Vec<(Date, u64, Option<EventId>, EventPayload)> {
    effective_where(events, at, EffectiveEvent::is_in_use)
}

/// A child's events as stored and known at `at`, restricted ones included (corrections applied,
/// retractions left out): what an import reconciles a return against, so that a restricted fact is not
/// recorded a second time.
pub fn recorded(events: &[RecordedEvent], at: Timestamp) -> Vec<(Date, u64, Option<EventId>, EventPayload)> {
    effective_where(events, at, |e| !e.is_retracted())
}

fn effective_where(
    events: &[RecordedEvent],
    at: Timestamp,
    keep: impl Fn(&EffectiveEvent) -> bool,
) -> Vec<(Date, u64, Option<EventId>, EventPayload)> {
    known_at(events, at)
        .into_iter()
        .filter(|e| keep(e))
        .map(|e| {
            (
                e.occurred_at.date(),
                e.envelope.version.0,
                Some(e.envelope.event_id.clone()),
                e.payload,
            )
        })
        .collect()
}

/// `days` working days after `from` (weekends and `holidays` skipped).
pub fn add_working_days(from: Date, days: u32, holidays: &[Date]) -> Date {
    let mut d = from;
    let mut left = days;
    while left > 0 {
        d = d.add_days(1);
        let weekend = matches!(
            d.civil().weekday(),
            jiff::civil::Weekday::Saturday | jiff::civil::Weekday::Sunday
        );
        if !weekend && holidays.binary_search(&d).is_err() {
            left -= 1;
        }
    }
    d
}

/// One child's census entry from its events in force (date, version, event id, content), if it had an
/// episode open in the year.
pub fn child_in_year(
    child_id: Option<ChildId>,
    events: Vec<(Date, u64, Option<EventId>, EventPayload)>,
    options: &CinOptions<'_>,
) -> Option<CinChild> {
    child_history(child_id, events, options.bank_holidays).in_year(options.year)
}

/// One child's whole CIN history, every episode in census terms, from its events in force (date, version,
/// event id, content): what [`child_in_year`] cuts a year from, and what an import merges a census into.
pub fn child_history(
    child_id: Option<ChildId>,
    mut events: Vec<(Date, u64, Option<EventId>, EventPayload)>,
    bank_holidays: &[Date],
) -> CinChild {
    events.sort_by_key(|(d, v, _, _)| (*d, *v));
    // Records of one day are often made in another order: on each day, the episode's closure is taken after
    // the day's other work, but before a referral recorded after it (which starts the next episode).
    let mut ordered = Vec::with_capacity(events.len());
    let mut closures = Vec::new();
    let mut day = None;
    for event in events {
        if day != Some(event.0) {
            ordered.append(&mut closures);
            day = Some(event.0);
        }
        match &event.3 {
            EventPayload::ChildInNeedEpisodeClosed(_) => closures.push(event),
            EventPayload::ReferralReceived(_) => {
                ordered.append(&mut closures);
                ordered.push(event);
            }
            _ => ordered.push(event),
        }
    }
    ordered.append(&mut closures);
    let events = ordered;
    let mut child = CinChild {
        child_id,
        ..CinChild::default()
    };
    let mut episodes: Vec<CinEpisode> = Vec::new();
    let mut open: Option<usize> = None;
    let mut open_plan: Option<(usize, usize)> = None;
    let mut plans_so_far = 0usize;
    let mut strategy: BTreeMap<EventId, Date> = BTreeMap::new();
    let mut last_strategy: Option<Date> = None;
    for (on, _, id, payload) in events {
        use EventPayload as P;
        match payload {
            P::ChildRegistered(r) => child.register(r),
            P::ChildDetailsAmended(a) => child.amend(a),
            P::ChildDied(_) => child.died = Some(on),
            P::ReferralReceived(r) if open.is_none() => {
                episodes.push(CinEpisode::opened(on, &r));
                open = Some(episodes.len() - 1);
            }
            P::ChildInNeedEpisodeClosed(c) => {
                if let Some(i) = open.take() {
                    episodes[i].closure = Some((on, c.reason));
                }
            }
            P::AssessmentStarted(_) => {
                if let Some(i) = open {
                    episodes[i].assessments.push(Assessment {
                        start: on,
                        internal_review: None,
                        authorised: None,
                        factors: Vec::new(),
                    });
                }
            }
            P::AssessmentReviewed(_) => {
                if let Some(a) = open.and_then(|i| episodes[i].assessments.last_mut()) {
                    a.internal_review = Some(on);
                }
            }
            P::AssessmentCompleted(c) => {
                if let Some(i) = open {
                    if let Some(need) = c.primary_need {
                        episodes[i].primary_need = need;
                    }
                    if let Some(a) = episodes[i].assessments.last_mut() {
                        a.authorised = Some(c.authorised_on.unwrap_or(on));
                        a.factors = c.factors;
                    }
                }
            }
            P::ChildInNeedPlanStarted(_) => {
                if let Some(i) = open {
                    episodes[i].plans.push((on, None));
                }
            }
            P::ChildInNeedPlanEnded(_) => {
                if let Some(p) = open.and_then(|i| episodes[i].plans.last_mut()) {
                    p.1 = Some(on);
                }
            }
            P::StrategyDiscussionHeld(s) if s.outcome == StrategyOutcome::Section47Enquiry => {
                last_strategy = Some(on);
                if let Some(id) = id {
                    strategy.insert(id, on);
                }
            }
            P::Section47Started(s) => {
                if let Some(i) = open {
                    let begun = s
                        .strategy_discussion_event_id
                        .as_ref()
                        .and_then(|id| strategy.get(id).copied())
                        .or(last_strategy)
                        .filter(|d| *d <= on)
                        .unwrap_or(on);
                    episodes[i].section47s.push(Section47 {
                        start: begun,
                        conference_target: add_working_days(begun, 15, bank_holidays),
                        initial_conference: None,
                        conference_not_required: false,
                        concluded: false,
                    });
                }
                last_strategy = None;
            }
            P::Section47Completed(c) => {
                if let Some(s) = open.and_then(|i| episodes[i].section47s.last_mut()) {
                    s.conference_not_required = c.outcome != Section47Outcome::ConferenceRequired;
                    s.concluded = true;
                }
            }
            P::ChildProtectionConferenceHeld(c) => {
                let Some(i) = open else { continue };
                match c.kind {
                    ConferenceKind::Initial | ConferenceKind::TransferIn => {
                        // Recorded once: on the section 47 it followed, else on the episode (a transfer-in
                        // conference, say) (DfE rule 2884).
                        match episodes[i]
                            .section47s
                            .iter_mut()
                            .rev()
                            .find(|s| s.start <= on && s.initial_conference.is_none())
                        {
                            Some(s) => s.initial_conference = Some(on),
                            None => episodes[i].initial_conference = Some(on),
                        }
                    }
                    ConferenceKind::Review => {
                        if let Some((e, p)) = open_plan {
                            episodes[e].protection_plans[p].reviews.push(on);
                        }
                    }
                }
            }
            P::ChildProtectionPlanStarted(p) => {
                if let Some(i) = open {
                    episodes[i].protection_plans.push(ProtectionPlan {
                        start: on,
                        end: None,
                        initial_category: p.category,
                        latest_category: p.category,
                        previous_plans: plans_so_far,
                        reviews: Vec::new(),
                    });
                    open_plan = Some((i, episodes[i].protection_plans.len() - 1));
                }
                plans_so_far += 1;
            }
            P::ChildProtectionCategoryChanged(c) => {
                if let Some((e, p)) = open_plan {
                    episodes[e].protection_plans[p].latest_category = c.category;
                }
            }
            P::ChildProtectionPlanEnded(_) => {
                if let Some((e, p)) = open_plan.take() {
                    episodes[e].protection_plans[p].end = Some(on);
                }
            }
            _ => {}
        }
    }

    child.episodes = episodes;
    child
}

impl CinChild {
    /// Takes the identifiers and characteristics a registration gives.
    pub fn register(&mut self, r: ChildRegistered) {
        self.upn = r.upn;
        self.former_upn = r.former_upn;
        self.upn_unknown = r.upn_unknown_reason;
        self.date_of_birth = r.date_of_birth;
        self.expected_date_of_birth = r.expected_date_of_birth;
        self.sex = Some(r.sex);
        self.ethnicity = r.ethnicity;
        self.disabilities = r.disabilities;
    }

    /// Takes what an amendment changes.
    pub fn amend(&mut self, a: ChildDetailsAmended) {
        if let Some(v) = a.date_of_birth {
            self.date_of_birth = Some(v);
        }
        if let Some(v) = a.sex {
            self.sex = Some(v);
        }
        if let Some(v) = a.ethnicity {
            self.ethnicity = Some(v);
        }
        if let Some(v) = a.upn {
            self.upn = Some(v);
        }
        if let Some(v) = a.disabilities {
            self.disabilities = v;
        }
        if let Some(v) = a.former_upn {
            self.former_upn = Some(v);
        }
        if let Some(v) = a.upn_unknown_reason {
            self.upn_unknown = Some(v);
        }
        if let Some(v) = a.expected_date_of_birth {
            self.expected_date_of_birth = Some(v);
        }
    }

    /// Unborn on the census's reference date: no date of birth known to the year, an expected one given.
    pub fn is_unborn(&self) -> bool {
        self.date_of_birth.is_none() && self.expected_date_of_birth.is_some()
    }

    /// The sex the census reports: `U` (`GenderCurrent` 0) for an unborn child whatever the record holds
    /// (CIN rule 8750: the census reports sex from birth; a sex known before it, from a scan, stays in the
    /// record but not in the return), otherwise the record's, `U` when none is recorded.
    pub fn census_sex(&self) -> Sex {
        if self.is_unborn() {
            return Sex::U;
        }
        self.sex.unwrap_or(Sex::U)
    }

    /// The census's view of a year: the episodes open on some day of it, and within them what overlaps it,
    /// with dates after the reference date (31 March) not yet known to the year. `None` when no episode was
    /// open in the year.
    pub fn in_year(mut self, year: CollectionYear) -> Option<CinChild> {
        let (start, end) = (year.start_date(), year.end_date());
        let in_year = |from: Date, to: Option<Date>| from <= end && to.is_none_or(|t| t >= start);
        let known = |d: Option<Date>| d.filter(|d| *d <= end);
        let child = &mut self;
        // Born after the reference date: unborn as far as this year's census knows (rule 8520: no date of
        // birth after the census period), with the expected date the record keeps from the registration.
        if child.expected_date_of_birth.is_some() && child.date_of_birth.is_some_and(|d| d > end) {
            child.date_of_birth = None;
        }
        child.episodes = std::mem::take(&mut child.episodes)
            .into_iter()
            .filter(|e| in_year(e.referral, e.closure.map(|c| c.0)))
            .map(|mut e| {
                e.closure = e.closure.filter(|(d, _)| *d <= end);
                e.initial_conference = known(e.initial_conference);
                e.assessments.retain(|a| in_year(a.start, a.authorised));
                for a in &mut e.assessments {
                    a.internal_review = known(a.internal_review);
                    if a.authorised.is_some_and(|d| d > end) {
                        a.authorised = None;
                        a.factors.clear();
                    }
                }
                e.plans.retain(|(s, t)| in_year(*s, *t));
                for p in &mut e.plans {
                    p.1 = known(p.1);
                }
                e.section47s.retain(|s| in_year(s.start, s.initial_conference));
                for s in &mut e.section47s {
                    s.initial_conference = known(s.initial_conference);
                }
                e.protection_plans.retain(|p| in_year(p.start, p.end));
                for p in &mut e.protection_plans {
                    p.end = known(p.end);
                    p.reviews.retain(|r| *r >= start && *r <= end);
                }
                e
            })
            .collect();
        (!self.episodes.is_empty()).then_some(self)
    }
}

fn date(d: Date) -> String {
    format!("{:04}-{:02}-{:02}", d.year(), d.month(), d.day())
}

/// A small writer: elements with text, written only when there is a value.
struct Xml(Writer<Vec<u8>>);

impl Xml {
    fn open(&mut self, name: &str) {
        // Writing to memory cannot fail.
        let _ = self.0.write_event(Event::Start(BytesStart::new(name)));
    }

    fn close(&mut self, name: &str) {
        let _ = self.0.write_event(Event::End(BytesEnd::new(name)));
    }

    fn text(&mut self, name: &str, value: &str) {
        self.open(name);
        let _ = self.0.write_event(Event::Text(BytesText::new(value)));
        self.close(name);
    }

    fn opt(&mut self, name: &str, value: Option<String>) {
        if let Some(v) = value {
            self.text(name, &v);
        }
    }
}

impl CinCensus {
    /// The census as the DfE's XML (UTF-8, indented).
    pub fn to_xml(&self) -> Vec<u8> {
        let mut x = Xml(Writer::new_with_indent(Vec::new(), b' ', 2));
        let _ =
            x.0.write_event(Event::Decl(BytesDecl::new("1.0", Some("UTF-8"), None)));
        let reference = self.year.end_date();
        x.open("Message");
        x.open("Header");
        x.open("CollectionDetails");
        x.text("Collection", "CIN");
        x.text("Year", &self.year.ending_year().to_string());
        x.text("ReferenceDate", &date(reference));
        x.close("CollectionDetails");
        x.open("Source");
        x.text("SourceLevel", "L");
        x.text("LEA", &self.la_code);
        x.text("SoftwareCode", "Journey");
        x.text("Release", env!("CARGO_PKG_VERSION"));
        x.text("SerialNo", "1");
        x.text(
            "DateTime",
            &self.produced_at.jiff().strftime("%Y-%m-%dT%H:%M:%S").to_string(),
        );
        x.close("Source");
        x.close("Header");
        x.open("Children");
        let sex_codes = self.year.ending_year() >= 2025;
        for c in &self.children {
            x.open("Child");
            x.open("ChildIdentifiers");
            x.opt("LAchildID", c.child_id.as_ref().map(|id| id.to_string()));
            x.opt("UPN", c.upn.as_ref().map(|u| u.as_str().to_owned()));
            x.opt("FormerUPN", c.former_upn.as_ref().map(|u| u.as_str().to_owned()));
            if c.upn.is_none() {
                x.opt("UPNunknown", c.upn_unknown.map(|r| r.code().to_owned()));
            }
            x.opt("PersonBirthDate", c.date_of_birth.map(date));
            if c.date_of_birth.is_none() {
                x.opt("ExpectedPersonBirthDate", c.expected_date_of_birth.map(date));
            }
            let sex = c.census_sex();
            if sex_codes {
                x.text("Sex", sex.code());
            } else {
                let gender = match sex {
                    Sex::M => "1",
                    Sex::F => "2",
                    Sex::U => "0",
                };
                x.text("GenderCurrent", gender);
            }
            x.opt("PersonDeathDate", c.died.map(date));
            x.close("ChildIdentifiers");
            x.open("ChildCharacteristics");
            x.text("Ethnicity", c.ethnicity.map_or("NOBT", |e| e.code()));
            x.open("Disabilities");
            if c.disabilities.is_empty() {
                x.text("Disability", "NONE");
            }
            for d in &c.disabilities {
                x.text("Disability", d.code());
            }
            x.close("Disabilities");
            x.close("ChildCharacteristics");
            for e in &c.episodes {
                x.open("CINdetails");
                x.text("CINreferralDate", &date(e.referral));
                x.text("ReferralSource", e.source.code());
                x.text("PrimaryNeedCode", e.primary_need.code());
                if let Some((closed, reason)) = e.closure {
                    x.text("CINclosureDate", &date(closed));
                    x.text("ReasonForClosure", reason.code());
                }
                x.opt("DateOfInitialCPC", e.initial_conference.map(date));
                x.text("ReferralNFA", if e.referral_nfa { "true" } else { "false" });
                for a in &e.assessments {
                    x.open("Assessments");
                    x.text("AssessmentActualStartDate", &date(a.start));
                    x.opt("AssessmentInternalReviewDate", a.internal_review.map(date));
                    x.opt("AssessmentAuthorisationDate", a.authorised.map(date));
                    if a.authorised.is_some() {
                        x.open("FactorsIdentifiedAtAssessment");
                        for f in &a.factors {
                            x.text("AssessmentFactors", f.code());
                        }
                        x.close("FactorsIdentifiedAtAssessment");
                    }
                    x.close("Assessments");
                }
                for (from, to) in &e.plans {
                    x.open("CINPlanDates");
                    x.text("CINPlanStartDate", &date(*from));
                    x.opt("CINPlanEndDate", to.map(date));
                    x.close("CINPlanDates");
                }
                for s in &e.section47s {
                    x.open("Section47");
                    x.text("S47ActualStartDate", &date(s.start));
                    x.text("InitialCPCtarget", &date(s.conference_target));
                    x.opt("DateOfInitialCPC", s.initial_conference.map(date));
                    x.text(
                        "ICPCnotRequired",
                        if s.conference_not_required {
                            "true"
                        } else {
                            "false"
                        },
                    );
                    x.close("Section47");
                }
                for p in &e.protection_plans {
                    x.open("ChildProtectionPlans");
                    x.text("CPPstartDate", &date(p.start));
                    x.opt("CPPendDate", p.end.map(date));
                    x.text("InitialCategoryOfAbuse", p.initial_category.code());
                    x.text("LatestCategoryOfAbuse", p.latest_category.code());
                    x.text("NumberOfPreviousCPP", &p.previous_plans.to_string());
                    for r in &p.reviews {
                        x.open("Reviews");
                        x.text("CPPreviewDate", &date(*r));
                        x.close("Reviews");
                    }
                    x.close("ChildProtectionPlans");
                }
                x.close("CINdetails");
            }
            x.close("Child");
        }
        x.close("Children");
        x.close("Message");
        let mut out = x.0.into_inner();
        out.push(b'\n');
        out
    }
}
