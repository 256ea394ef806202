//! Who is in each list for a window, and each row's cells, from every child's [`AnnexFacts`] (see the
//! module documentation of [`super`] for the rules and for the columns left empty).

use std::collections::BTreeMap;

use crate::ssda903::{Episode, format_date};
use journey_core::codes::{AdopterSex, ReasonEpisodeCeased, ReasonNewEpisode};
use journey_core::domain::lists::WorkerRole;
use journey_core::domain::lists::{
    ConferenceKind, ConferenceOutcome, CourtOrderKind, Section47Outcome, VisitKind,
};
use journey_core::time::Date;

use super::AnnexAWindow;
use super::facts::{AllocationSpell, AnnexFacts, ReturnInterview};
use super::lists::ListKind;

/// The rows of every list, in [`ListKind::ALL`] order, being built.
pub(super) struct Builder {
    window: AnnexAWindow,
    pub(super) rows: BTreeMap<ListKind, Vec<Vec<String>>>,
    /// List 11, by adoptive family (or, for a match without a family id, by child and match date).
    families: BTreeMap<String, Family>,
}

/// An adoptive family as the children's streams show it.
#[derive(Default)]
struct Family {
    family_id: Option<String>,
    adopters: Vec<String>,
    sex: Option<AdopterSex>,
    matched: Option<Date>,
    placed: Option<Date>,
    children_placed: u32,
    adoption_order: Option<Date>,
}

fn d(date: Date) -> String {
    format_date(date)
}

fn od(date: Option<Date>) -> String {
    date.map(format_date).unwrap_or_default()
}

fn yn(b: bool) -> String {
    if b { "Y" } else { "N" }.to_string()
}

fn oyn(b: Option<bool>) -> String {
    b.map(yn).unwrap_or_default()
}

/// The latest of `dates` within `[from, to]`.
fn latest_within(dates: impl IntoIterator<Item = Date>, from: Date, to: Date) -> Option<Date> {
    dates.into_iter().filter(|x| *x >= from && *x <= to).max()
}

/// `on` less `months` calendar months (the last day of a shorter month when the day does not exist).
fn months_before(on: Date, months: i32) -> Date {
    on.civil()
        .checked_sub(jiff::Span::new().months(months))
        .map(Date::from)
        .unwrap_or(on)
}

/// Whether `x` falls in the twelve months up to `on`: after `on - 1 year`, up to `on`.
fn in_12_months(x: Date, on: Date) -> bool {
    x > on.add_years(-1) && x <= on
}

fn team_worker(a: Option<&AllocationSpell>) -> [String; 2] {
    match a {
        Some(a) => [a.team.clone().unwrap_or_default(), a.worker.clone()],
        None => [String::new(), String::new()],
    }
}

/// A period of care: its episodes, first day and last day (`None` while open).
struct Period<'a> {
    episodes: &'a [Episode],
    start: Date,
    /// Begun before `start`, on a date the record does not hold (imported mid-period).
    start_unknown: bool,
    end: Option<Date>,
    reason_ceased: Option<ReasonEpisodeCeased>,
}

/// The periods of care, from the episodes: a new one at each `RNE` S (as the SSDA903 export counts them),
/// and at a period the record found in progress.
fn periods(episodes: &[Episode]) -> Vec<Period<'_>> {
    let mut starts: Vec<usize> = episodes
        .iter()
        .enumerate()
        .filter(|(i, e)| *i == 0 || e.reason_new == ReasonNewEpisode::S || e.period_start_unknown)
        .map(|(i, _)| i)
        .collect();
    starts.push(episodes.len());
    starts
        .windows(2)
        .filter_map(|w| {
            let eps = episodes.get(w[0]..w[1])?;
            let (first, last) = (eps.first()?, eps.last()?);
            let ended = last
                .reason_ceased
                .filter(|r| *r != ReasonEpisodeCeased::X1)
                .and(last.end);
            Some(Period {
                episodes: eps,
                start: first.start,
                start_unknown: first.period_start_unknown,
                end: ended,
                reason_ceased: last.reason_ceased.filter(|_| ended.is_some()),
            })
        })
        .collect()
}

/// A placement starts with a new period, or a change of placement (`RNE` S, P or B); T and U change the
/// placement type with the same carers and L only the legal status.
fn new_placement(e: &Episode) -> bool {
    matches!(
        e.reason_new,
        ReasonNewEpisode::S | ReasonNewEpisode::P | ReasonNewEpisode::B
    )
}

impl Builder {
    pub(super) fn new(window: AnnexAWindow) -> Builder {
        Builder {
            window,
            rows: ListKind::ALL.iter().map(|k| (*k, Vec::new())).collect(),
            families: BTreeMap::new(),
        }
    }

    fn push(&mut self, kind: ListKind, row: Vec<String>) {
        if let Some(rows) = self.rows.get_mut(&kind) {
            rows.push(row);
        }
    }

    /// Adds one child's rows to lists 1 to 10, and its matches to list 11.
    pub(super) fn add_child(&mut self, c: &AnnexFacts) {
        let Some(id) = &c.base.child_id else { return };
        let w = self.window;
        let dob = c.base.date_of_birth;
        let common = vec![
            id.as_str().to_string(),
            c.base.sex.map(|s| s.code().to_string()).unwrap_or_default(),
            c.base.ethnicity.map(|e| e.code().to_string()).unwrap_or_default(),
            od(dob),
            dob.filter(|b| *b <= w.end)
                .map(|b| b.age_on(w.end).to_string())
                .unwrap_or_default(),
        ];
        let row = |specific: Vec<String>| -> Vec<String> {
            let mut r = common.clone();
            r.extend(specific);
            r
        };
        // "Y" when a disability is recorded, "N" when "no disability" is, empty when nothing is.
        let disability = c
            .disabilities
            .as_ref()
            .map(|v| yn(v.iter().any(|x| *x != journey_core::codes::Disability::NONE)))
            .unwrap_or_default();
        let sw = |on: Date| team_worker(c.allocation_on(WorkerRole::SocialWorker, on));
        // The date an episode is described on: its last day if it ended in the window, else the window's end.
        let as_at = |end: Option<Date>| end.map_or(w.end, |x| x.min(w.end));

        // List 1: contacts in the window.
        for (on, source) in c.contacts.iter().filter(|(on, _)| w.contains(*on)) {
            let r = row(vec![d(*on), source.code().to_string()]);
            self.push(ListKind::Contacts, r);
        }

        // List 2: early help assessments started or completed in the window.
        for e in &c.early_help {
            if w.contains(e.start) || e.assessed.is_some_and(|x| w.contains(x)) {
                let r = row(vec![
                    d(e.start),
                    od(e.assessed.filter(|x| *x <= w.end)),
                    e.organisation.clone(),
                ]);
                self.push(ListKind::EarlyHelp, r);
            }
        }

        // List 3: referrals in the window; list 6: the episodes they opened, open on some day of it.
        for r in &c.referrals {
            let closed = r.closed.filter(|(x, _)| *x <= w.end);
            let at = as_at(closed.map(|(x, _)| x));
            if w.contains(r.on) {
                let count = c.referrals.iter().filter(|o| in_12_months(o.on, r.on)).count();
                let [team, worker] = sw(at);
                let cells = row(vec![
                    d(r.on),
                    r.source.code().to_string(),
                    yn(r.no_further_action),
                    count.to_string(),
                    team,
                    worker,
                ]);
                self.push(ListKind::Referrals, cells);
            }
            if w.overlaps(r.on, r.closed.map(|(x, _)| x)) {
                let last_seen = latest_within(c.visits.iter().filter(|v| v.seen).map(|v| v.on), r.on, at);
                let status = match closed {
                    Some(_) => "Closed",
                    None if c
                        .base
                        .episodes
                        .iter()
                        .any(|e| e.start <= at && e.end.is_none_or(|x| x > at)) =>
                    {
                        "Looked after"
                    }
                    None if c
                        .plans
                        .iter()
                        .any(|p| p.start <= at && p.end.is_none_or(|x| x > at)) =>
                    {
                        "Child protection plan"
                    }
                    None => "Child in need",
                };
                let [team, worker] = sw(at);
                let cells = row(vec![
                    disability.clone(),
                    d(r.on),
                    r.need_changes
                        .iter()
                        .rev()
                        .find(|(x, _)| *x <= at)
                        .map_or(r.primary_need, |(_, n)| *n)
                        .code()
                        .to_string(),
                    od(last_seen),
                    od(closed.map(|(x, _)| x)),
                    closed.map(|(_, why)| why.code().to_string()).unwrap_or_default(),
                    status.to_string(),
                    team,
                    worker,
                ]);
                self.push(ListKind::ChildrenInNeed, cells);
            }
        }

        // List 4: assessments open on some day of the window.
        for a in c.assessments.iter().filter(|a| w.overlaps(a.start, a.completed)) {
            let done = a.completed.filter(|x| *x <= w.end);
            let authorised = done.and(a.authorised.or(done)).filter(|x| *x <= w.end);
            let [team, worker] = sw(as_at(done));
            let when_done = |b: Option<bool>| if done.is_some() { oyn(b) } else { String::new() };
            let cells = row(vec![
                disability.clone(),
                d(a.start),
                when_done(a.child_seen),
                od(authorised),
                when_done(a.requires_support),
                team,
                worker,
            ]);
            self.push(ListKind::Assessments, cells);
        }

        // List 5: section 47 enquiries open on some day of the window.
        for (i, s) in c.section_47s.iter().enumerate() {
            if !w.overlaps(s.start, s.end) {
                continue;
            }
            let next = c.section_47s.get(i + 1).map(|n| n.start);
            let icpc = c.conferences.iter().find(|k| {
                k.kind == ConferenceKind::Initial
                    && k.on >= s.start
                    && k.on <= w.end
                    && next.is_none_or(|n| k.on < n)
            });
            let outcome = s.outcome.filter(|_| s.end.is_some_and(|x| x <= w.end));
            let s47s = c
                .section_47s
                .iter()
                .filter(|o| in_12_months(o.start, s.start))
                .count();
            // Up to this enquiry's own conference, when it had one.
            let icpcs_to = icpc.map_or(s.start, |k| k.on);
            let icpcs = c
                .conferences
                .iter()
                .filter(|k| k.kind == ConferenceKind::Initial && in_12_months(k.on, icpcs_to))
                .count();
            let [team, worker] = sw(as_at(s.end));
            let cells = row(vec![
                disability.clone(),
                od(s.strategy),
                outcome
                    .map(|o| yn(o != Section47Outcome::ConferenceRequired))
                    .unwrap_or_default(),
                od(icpc.map(|k| k.on)),
                icpc.map(|k| yn(k.outcome == ConferenceOutcome::PlanRequired))
                    .unwrap_or_default(),
                s47s.to_string(),
                icpcs.to_string(),
                team,
                worker,
            ]);
            self.push(ListKind::Section47, cells);
        }

        // List 7: child protection plans open on some day of the window.
        for (i, p) in c.plans.iter().enumerate() {
            if !w.overlaps(p.start, p.end) {
                continue;
            }
            let ended = p.end.filter(|x| *x <= w.end);
            let at = as_at(ended);
            let visit = c
                .visits
                .iter()
                .filter(|v| v.kind == VisitKind::ChildProtection && v.on >= p.start && v.on <= at)
                .max_by_key(|v| v.on);
            let review = latest_within(
                c.conferences
                    .iter()
                    .filter(|k| k.kind == ConferenceKind::Review)
                    .map(|k| k.on),
                p.start,
                at,
            );
            let six_months = months_before(at, 6);
            let protected = c.orders.iter().any(|(on, o)| {
                matches!(
                    o,
                    CourtOrderKind::EmergencyProtectionOrder | CourtOrderKind::PoliceProtection
                ) && *on > six_months
                    && *on <= at
            });
            let [team, worker] = sw(at);
            let cells = row(vec![
                disability.clone(),
                d(p.start),
                p.initial.code().to_string(),
                p.changes
                    .iter()
                    .rev()
                    .find(|(x, _)| *x <= at)
                    .map_or(p.initial, |(_, c)| *c)
                    .code()
                    .to_string(),
                od(visit.map(|v| v.on)),
                visit.map(|v| oyn(v.seen_alone)).unwrap_or_default(),
                od(review),
                od(ended),
                yn(protected),
                i.to_string(),
                team,
                worker,
            ]);
            self.push(ListKind::ChildProtection, cells);
        }

        let periods = periods(&c.base.episodes);

        // List 8: looked after on some day of the window: one row, for the latest such period of care.
        if let Some(p) = periods.iter().rev().find(|p| w.overlaps(p.start, p.end)) {
            let cells = row(self.looked_after(c, &periods, p, &disability));
            self.push(ListKind::LookedAfter, cells);
        }

        // List 9: care leavers at the window's end.
        if let Some(category) = care_leaver_category(c, &periods, w) {
            let at = w.end;
            let contact = c.base.care_leaver_contacts.iter().rev().find(|k| k.on <= at);
            let accommodation = contact.and_then(|k| k.accommodation).map(|a| a.code());
            let [team, worker] = sw(at);
            let cells = row(vec![
                yn(c.base.uasc.is_some_and(|(since, _)| since <= at)),
                disability.clone(),
                team,
                worker,
                c.allocation_on(WorkerRole::PersonalAdviser, at)
                    .map(|a| a.worker.clone())
                    .unwrap_or_default(),
                category.to_string(),
                od(c.pathway_plan_reviews.iter().copied().filter(|x| *x <= at).max()),
                contact.map(|k| k.in_touch.code().to_string()).unwrap_or_default(),
                od(contact.map(|k| k.on)),
                accommodation
                    .filter(|a| *a != "0")
                    .and_then(|a| a.get(..1))
                    .unwrap_or_default()
                    .to_string(),
                match accommodation.and_then(|a| a.get(1..2)) {
                    Some("1") => "Suitable",
                    Some("2") => "Unsuitable",
                    _ => "",
                }
                .to_string(),
                contact
                    .and_then(|k| k.activity)
                    .map(|a| a.code().to_string())
                    .unwrap_or_default(),
            ]);
            self.push(ListKind::CareLeavers, cells);
        }

        // List 10: an adoption step in the window.
        self.adoption(c, &periods, &disability, row);
    }

    fn looked_after(
        &self,
        c: &AnnexFacts,
        periods: &[Period<'_>],
        p: &Period<'_>,
        disability: &str,
    ) -> Vec<String> {
        let w = self.window;
        let ended = p.end.filter(|x| *x <= w.end);
        let at = ended.map_or(w.end, |x| x.min(w.end));
        let current: Vec<&Episode> = p.episodes.iter().filter(|e| e.start <= at).collect();
        let latest = current.last().copied();
        // The start of the current legal status: back through the episodes while it is the same.
        let legal_since = latest.map(|l| {
            current
                .iter()
                .rev()
                .take_while(|e| e.legal_status == l.legal_status)
                .last()
                .map_or(l.start, |e| e.start)
        });
        let year_before = at.add_years(-1);
        let uasc = c
            .base
            .uasc
            .is_some_and(|(since, ceased)| since <= at && ceased.is_none_or(|x| x > year_before));
        let subsequent = periods
            .iter()
            .filter(|o| o.start <= at && o.end.is_none_or(|x| x > year_before))
            .count()
            > 1;
        let placements = c
            .base
            .episodes
            .iter()
            .filter(|e| new_placement(e) && in_12_months(e.start, at))
            .count();
        let placement_start = current.iter().rev().find(|e| new_placement(e)).map(|e| e.start);
        let placement = c
            .placements
            .iter()
            .rev()
            .find(|x| x.start <= at && x.start >= p.start);
        let missing = |kind: journey_core::codes::MissingKind| {
            c.base
                .missing
                .iter()
                .filter(|m| m.kind == kind && in_12_months(m.start, at))
                .count()
        };
        let any_missing = c.base.missing.iter().any(|m| in_12_months(m.start, at));
        let interviews: Vec<ReturnInterview> = c
            .return_interviews
            .iter()
            .filter(|(on, _)| in_12_months(*on, at))
            .map(|(_, r)| *r)
            .collect();
        let offered = if any_missing {
            yn(!interviews.is_empty())
        } else {
            String::new()
        };
        let accepted = if interviews.contains(&ReturnInterview::Held) {
            yn(true)
        } else if interviews.contains(&ReturnInterview::Declined) {
            yn(false)
        } else {
            String::new()
        };
        let [team, worker] = team_worker(c.allocation_on(WorkerRole::SocialWorker, at));
        let code = |x: Option<&'static str>| x.unwrap_or_default().to_string();
        vec![
            yn(uasc),
            disability.to_string(),
            // Not known for a period the record found in progress: left empty rather than guessed.
            if p.start_unknown {
                String::new()
            } else {
                d(p.start)
            },
            code(latest.map(|e| e.category_of_need.code())),
            yn(subsequent),
            od(legal_since),
            code(latest.map(|e| e.legal_status.code())),
            od(latest_within(c.base.reviews.iter().map(|(x, _)| *x), p.start, at)),
            od(latest_within(
                c.visits
                    .iter()
                    .filter(|v| v.kind == VisitKind::LookedAfter)
                    .map(|v| v.on),
                p.start,
                at,
            )),
            c.permanence_plans
                .iter()
                .rev()
                .find(|(x, _)| *x <= at && *x >= p.start)
                .map(|(_, plan)| plan.description().to_string())
                .unwrap_or_default(),
            od(latest_within(c.iro_contacts.iter().copied(), p.start, at)),
            od(c.base
                .health_assessments
                .iter()
                .map(|(x, _)| *x)
                .filter(|x| *x <= at)
                .max()),
            od(c.base.dental_checks.iter().copied().filter(|x| *x <= at).max()),
            placements.to_string(),
            od(ended),
            p.reason_ceased
                .filter(|_| ended.is_some())
                .map(|r| r.code().to_string())
                .unwrap_or_default(),
            od(placement_start),
            code(latest.map(|e| e.place.code())),
            code(latest.and_then(|e| e.provider).map(|x| x.code())),
            latest
                .and_then(|e| e.placement_postcode.as_ref())
                .map(|x| x.as_str().to_string())
                .unwrap_or_default(),
            latest
                .and_then(|e| e.urn.as_ref())
                .map(|x| x.as_str().to_string())
                .unwrap_or_default(),
            placement
                .and_then(|x| x.location)
                .map(|x| x.description().to_string())
                .unwrap_or_default(),
            placement
                .and_then(|x| x.la_of_placement.as_ref())
                .map(|x| x.as_str().to_string())
                .unwrap_or_default(),
            missing(journey_core::codes::MissingKind::M).to_string(),
            missing(journey_core::codes::MissingKind::A).to_string(),
            offered,
            accepted,
            team,
            worker,
        ]
    }

    fn adoption(
        &mut self,
        c: &AnnexFacts,
        periods: &[Period<'_>],
        disability: &str,
        row: impl Fn(Vec<String>) -> Vec<String>,
    ) {
        let w = self.window;
        let upto = |x: &Date| *x <= w.end;
        let order = |kind: CourtOrderKind| {
            c.orders
                .iter()
                .filter(|(on, o)| *o == kind && upto(on))
                .map(|(on, _)| *on)
                .max()
        };
        let decision = c.base.adoption_decisions.iter().copied().filter(upto).max();
        let placement_order = order(CourtOrderKind::PlacementOrder);
        let adoption_order = order(CourtOrderKind::AdoptionOrder);
        let matched = c.matches.iter().filter(|m| upto(&m.on)).max_by_key(|m| m.on);
        let placed = c.placed_for_adoption.iter().copied().filter(upto).max();
        let reversed = c
            .base
            .adoption_decisions_reversed
            .iter()
            .filter(|(x, _)| upto(x) && decision.is_some_and(|dd| *x >= dd))
            .max_by_key(|(x, _)| *x);
        let steps = [
            decision,
            placement_order,
            adoption_order,
            matched.map(|m| m.on),
            placed,
            reversed.map(|(x, _)| *x),
        ];
        if !steps.iter().flatten().any(|x| w.contains(*x)) {
            return;
        }
        let entered = periods.iter().rev().find(|p| p.start <= w.end).map(|p| p.start);
        let ffa = c
            .placements
            .iter()
            .rev()
            .find(|p| {
                upto(&p.start)
                    && matches!(
                        p.place_type,
                        journey_core::codes::PlacementType::U2 | journey_core::codes::PlacementType::U5
                    )
            })
            .map(|p| p.start);
        let cells = row(vec![
            matched
                .and_then(|m| m.family_id.as_ref())
                .map(|f| f.as_str().to_string())
                .unwrap_or_default(),
            disability.to_string(),
            od(entered),
            od(decision),
            od(placement_order),
            od(matched.map(|m| m.on)),
            od(placed),
            od(adoption_order),
            od(reversed.map(|(x, _)| *x)),
            reversed
                .and_then(|(_, r)| *r)
                .map(|r| r.code().to_string())
                .unwrap_or_default(),
            od(ffa),
        ]);
        self.push(ListKind::Adoption, cells);

        // List 11: the family the child was matched with.
        let Some(m) = matched else { return };
        let Some(id) = &c.base.child_id else { return };
        let key = match &m.family_id {
            Some(f) => format!("family:{}", f.as_str()),
            None => format!("child:{}:{}", id.as_str(), d(m.on)),
        };
        let f = self.families.entry(key).or_default();
        f.family_id = m.family_id.as_ref().map(|x| x.as_str().to_string());
        for a in &m.adopters {
            if !f.adopters.iter().any(|x| x == a.as_str()) {
                f.adopters.push(a.as_str().to_string());
            }
        }
        f.sex = Some(m.adopters_sex);
        f.matched = Some(f.matched.map_or(m.on, |x| x.min(m.on)));
        if let Some(p) = placed.filter(|p| *p >= m.on) {
            f.placed = Some(f.placed.map_or(p, |x| x.min(p)));
            f.children_placed += 1;
        }
        if let Some(o) = adoption_order.filter(|o| *o >= m.on) {
            f.adoption_order = Some(f.adoption_order.map_or(o, |x| x.max(o)));
        }
    }

    /// List 11, one row per adopter the matches name (one row for the family when none is named).
    pub(super) fn finish(mut self) -> BTreeMap<ListKind, Vec<Vec<String>>> {
        let families = std::mem::take(&mut self.families);
        for f in families.into_values() {
            // The sex of an individual is known only for a single adopter.
            let sex = match f.sex {
                Some(AdopterSex::M1) => "M",
                Some(AdopterSex::F1) => "F",
                _ => "",
            };
            let ids: Vec<String> = if f.adopters.is_empty() {
                vec![String::new()]
            } else {
                f.adopters.clone()
            };
            for adopter in ids {
                let mut r = vec![adopter, f.family_id.clone().unwrap_or_default(), sex.to_string()];
                // Ethnicity, disability, fostering for adoption, enquiry, stages 1 and 2, application:
                // not in the log.
                r.extend(std::iter::repeat_n(String::new(), 10));
                r.extend([
                    od(f.matched),
                    od(f.placed),
                    f.children_placed.to_string(),
                    od(f.adoption_order),
                    String::new(),
                    String::new(),
                ]);
                self.push(ListKind::Adopters, r);
            }
        }
        self.rows
    }
}

/// The care leaver's eligibility category at the window's end (`shared/domain/rules.md` §4.1), or `None`
/// for a young person who is not a care leaver then. The time test is the one the SSDA903 OC3 and the
/// view's `CareLeaverFacts` use: at least 13 weeks (91 days) looked after from the 14th birthday and at
/// least one day after the 16th, short breaks (V3, V4) not counted.
/// * aged 16 or 17, no longer looked after, time test met: **Relevant**;
/// * 18 or over, time test met: **Former relevant**; under 21, or 21 to 24 with a contact or a pathway
///   plan review recorded in the window (the duties to 25 depend on education or a request);
/// * 16 to 20, looked after on some day after the 16th birthday but the time test not met: **Qualifying**.
fn care_leaver_category(c: &AnnexFacts, periods: &[Period<'_>], w: AnnexAWindow) -> Option<&'static str> {
    let dob = c.base.date_of_birth?;
    let at = w.end;
    let age = dob.age_on(at);
    if !(16..=24).contains(&age) || c.base.died.is_some_and(|x| x <= w.start) {
        return None;
    }
    // Not looked after at the window's end.
    let last = periods.last()?;
    if last.end.is_none_or(|x| x > at) {
        return None;
    }
    let (fourteen, sixteen) = (dob.add_years(14), dob.add_years(16));
    let mut after_14 = 0i64;
    let mut after_16 = false;
    for e in c
        .base
        .episodes
        .iter()
        .filter(|e| !e.legal_status.is_short_break())
    {
        let e_end = e.end.unwrap_or(at).min(at);
        let from = e.start.max(fourteen);
        if e_end > from {
            after_14 += i64::from(from.days_until(e_end));
        }
        if e_end > sixteen {
            after_16 = true;
        }
    }
    let time_test = after_14 >= 91 && after_16;
    let recent_contact = c
        .base
        .care_leaver_contacts
        .iter()
        .any(|k| k.on >= w.start && k.on <= at)
        || c.pathway_plan_reviews.iter().any(|x| *x >= w.start && *x <= at);
    match (time_test, age) {
        (true, 16..=17) => Some("Relevant"),
        (true, 18..=20) => Some("Former relevant"),
        (true, _) if recent_contact => Some("Former relevant"),
        (false, 16..=20) if after_16 => Some("Qualifying"),
        _ => None,
    }
}
