//! When each event is recorded, and how: recording lag (most the same day, a tail weeks late), history
//! migrated at go-live, corrections and retractions recorded after their targets, and the appends that
//! carry it all, in recorded order.
//!
//! The domain's rules see a stream in recorded order, so lateness has limits the generator keeps: an
//! episode, plan or order cannot be closed (or touched) before the event that opened it is recorded, and a
//! required reference (a contact decision's contact) must already be recorded. Everything else is free to
//! be late: strategy discussions, visits, reviews, conferences. An optional reference to something not yet
//! recorded (a section 47 enquiry naming a strategy discussion typed up weeks later) is left out, as a
//! case worker would have to.

use std::collections::HashMap;

use journey_core::domain::*;
use journey_core::envelope::NewEvent;
use journey_core::ids::ExpectedVersion;
use journey_core::ids::{ChildId, CorrelationId};
use journey_core::store::AppendRequest;
use journey_core::time::{Date, OccurredAt, Timestamp};

use super::GeneratedAppend;
use super::journey::{Draft, event_id};
use super::profile::AuthorityProfile;
use super::rng::{Purpose, Rng};
use super::skeleton::Skeleton;
use super::world::{Src, World};
use journey_core::domain::lists::{ContactMode, PartnerAgency, RetractionReason};

const MINUTE: i64 = 60_000_000;

/// Where an event sits in the lanes of `domain::state` (mirrored here: that table is private).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Op {
    Open,
    Touch,
    Close,
}

fn lane(p: &EventPayload) -> Option<(u16, Op)> {
    use EventPayload as E;
    let sub = |base: u16, k: u16| base * 64 + k;
    Some(match p {
        E::EarlyHelpStarted(_) => (1, Op::Open),
        E::EarlyHelpAssessmentCompleted(_) => (1, Op::Touch),
        E::EarlyHelpEnded(_) => (1, Op::Close),
        E::ReferralReceived(_) => (2, Op::Open),
        E::ChildInNeedEpisodeClosed(_) => (2, Op::Close),
        E::AssessmentStarted(_) => (3, Op::Open),
        E::AssessmentCompleted(_) => (3, Op::Close),
        E::AssessmentReviewed(_) => (3, Op::Touch),
        E::ChildInNeedPlanStarted(_) => (4, Op::Open),
        E::ChildInNeedPlanReviewed(_) => (4, Op::Touch),
        E::ChildInNeedPlanEnded(_) => (4, Op::Close),
        E::Section47Started(_) => (5, Op::Open),
        E::Section47Completed(_) => (5, Op::Close),
        E::ChildProtectionPlanStarted(_) => (6, Op::Open),
        E::ChildProtectionCategoryChanged(_) | E::CoreGroupMet(_) => (6, Op::Touch),
        E::ChildProtectionPlanEnded(_) => (6, Op::Close),
        E::PreProceedingsStarted(_) => (7, Op::Open),
        E::LetterBeforeProceedingsSent(_) | E::PreProceedingsMeetingHeld(_) => (7, Op::Touch),
        E::PreProceedingsEnded(_) => (7, Op::Close),
        E::CareProceedingsIssued(_) => (8, Op::Open),
        E::CareProceedingsConcluded(_) => (8, Op::Close),
        E::CourtOrderMade(o) => (sub(9, o.order as u16), Op::Open),
        E::CourtOrderEnded(o) => (sub(9, o.order as u16), Op::Close),
        E::BecameLookedAfter(_) => (10, Op::Open),
        E::LegalStatusChanged(_) | E::PlacementChanged(_) => (10, Op::Touch),
        E::CeasedToBeLookedAfter(_) => (10, Op::Close),
        E::MissingEpisodeStarted(_) => (11, Op::Open),
        E::MissingEpisodeEnded(_) => (11, Op::Close),
        E::ReturnInterviewOffered(_) | E::ReturnInterviewHeld(_) | E::ReturnInterviewDeclined(_) => {
            (11, Op::Touch)
        }
        E::UnaccompaniedAsylumSeekingStatusRecorded(_) => (12, Op::Open),
        E::UnaccompaniedAsylumSeekingStatusCeased(_) => (12, Op::Close),
        E::AdoptionDecisionMade(_) => (13, Op::Open),
        E::MatchedWithAdopters(_) => (13, Op::Touch),
        E::AdoptionDecisionReversed(_) => (13, Op::Close),
        E::PlacedForAdoption(_) => (14, Op::Open),
        E::PlacementForAdoptionCeased(_) => (14, Op::Close),
        E::PathwayPlanStarted(_) => (15, Op::Open),
        E::PathwayPlanReviewed(_) => (15, Op::Touch),
        E::StayingPutStarted(_) => (16, Op::Open),
        E::StayingPutEnded(_) => (16, Op::Close),
        E::WorkerAllocated(w) => (sub(17, w.role as u16), Op::Open),
        E::WorkerAllocationEnded(w) => (sub(17, w.role as u16), Op::Close),
        _ => return None,
    })
}

#[derive(Default, Clone, Copy)]
struct Track {
    /// The event that opened the current period.
    opener: Option<usize>,
    /// The last event that opened or closed a period.
    boundary: Option<usize>,
}

/// An event with its recording decided.
struct Rec {
    r: Timestamp,
    draft: Draft,
    imported: bool,
    source_recorded_at: Option<Timestamp>,
    /// Sorting key among events recorded at the same instant.
    order: usize,
}

/// The instant the child's history is migrated at go-live (within the first hour of the first day).
pub(crate) fn migration_instant(p: &AuthorityProfile, index: usize) -> Timestamp {
    let base = OccurredAt::at(p.start, 1, 0)
        .expect("a valid time")
        .to_timestamp();
    base.plus_micros((index % 3600) as i64 * 1_000_000)
}

/// The earliest instant any of the child's events can be recorded.
pub(crate) fn lower_bound(p: &AuthorityProfile, index: usize, sk: &Skeleton) -> Timestamp {
    if sk.first_contact < p.start {
        migration_instant(p, index)
    } else {
        OccurredAt::on(sk.first_contact).to_timestamp()
    }
}

fn end_of_day(d: Date) -> Timestamp {
    OccurredAt::on(d.add_days(1)).to_timestamp().plus_micros(-1)
}

pub(crate) struct Recorder<'a> {
    pub w: &'a World,
    pub p: &'a AuthorityProfile,
    pub rng: Rng,
    pub child: ChildId,
    pub index: usize,
    pub sk: Skeleton,
}

impl Recorder<'_> {
    pub(crate) fn new<'a>(
        w: &'a World,
        p: &'a AuthorityProfile,
        seed: u64,
        index: usize,
        child: ChildId,
        sk: Skeleton,
    ) -> Recorder<'a> {
        Recorder {
            w,
            p,
            rng: Rng::new(seed, index, Purpose::Recording),
            child,
            index,
            sk,
        }
    }

    /// When an event would be recorded, on its own.
    fn lag(&mut self, on: OccurredAt, p: &EventPayload) -> Timestamp {
        let rec = &self.p.recording;
        let occurred = on.to_timestamp();
        let kind = p.kind();
        let immediate = matches!(
            kind,
            EventKind::ContactReceived
                | EventKind::MissingEpisodeStarted
                | EventKind::MissingEpisodeEnded
                | EventKind::ReturnInterviewOffered
        );
        let late_p = match kind {
            EventKind::StrategyDiscussionHeld => rec.strategy_discussion_late,
            _ if immediate => rec.late * 0.3,
            _ => rec.late,
        };
        let same_p = if immediate {
            0.97
        } else {
            (rec.same_day / (1.0 - late_p).max(0.01)).min(1.0)
        };
        let days = if self.rng.chance(late_p) {
            self.rng
                .log_normal_days(rec.late_median_days, 0.55, 8, rec.late_max_days)
        } else if self.rng.chance(same_p) {
            0
        } else {
            self.rng.weighted(&[
                (1, 0.38),
                (2, 0.25),
                (3, 0.15),
                (4, 0.1),
                (5, 0.05),
                (6, 0.04),
                (7, 0.03),
            ])
        };
        let r = if days == 0 && (immediate || on.time().is_some()) {
            occurred.plus_micros(self.rng.int(5, 240) as i64 * MINUTE)
        } else {
            let d = on.date().add_days(days);
            let at = OccurredAt::at(d, self.rng.int(8, 18) as i8, self.rng.int(0, 59) as i8)
                .expect("a valid time");
            at.to_timestamp()
                .plus_micros(i64::from(self.rng.int(0, 59_999_999)))
        };
        r.max(occurred.plus_micros(self.rng.int(5, 60) as i64 * MINUTE))
    }

    pub(crate) fn record(mut self, drafts: Vec<Draft>) -> Vec<GeneratedAppend> {
        let mut drafts = drafts;
        drafts.sort_by_key(|d| (d.on.date(), d.n));
        let len = drafts.len();
        if len == 0 {
            return Vec::new();
        }
        let by_n: HashMap<u32, usize> = drafts.iter().enumerate().map(|(i, d)| (d.n, i)).collect();
        let birth = if self.sk.unborn {
            drafts.iter().position(
                |d| matches!(&d.payload, EventPayload::ChildDetailsAmended(a) if a.date_of_birth.is_some()),
            )
        } else {
            None
        };

        // Dependencies: what must be recorded before each event.
        let mut deps: Vec<[Option<usize>; 3]> = vec![[None; 3]; len];
        let mut tracks: HashMap<u16, Track> = HashMap::new();
        for (i, d) in drafts.iter().enumerate() {
            if i == 0 {
                continue;
            }
            let mut dep = [Some(0), None, None];
            if let Some((key, op)) = lane(&d.payload) {
                let t = tracks.entry(key).or_default();
                match op {
                    Op::Open => {
                        dep[1] = t.boundary;
                        t.opener = Some(i);
                        t.boundary = Some(i);
                    }
                    Op::Touch => dep[1] = t.opener,
                    Op::Close => {
                        dep[1] = t.opener;
                        t.boundary = Some(i);
                    }
                }
            }
            if let Some(n) = d.needs {
                dep[2] = by_n.get(&n).copied();
            } else if let Some(b) = birth
                && !d.payload.kind().allowed_before_birth()
            {
                dep[2] = Some(b);
            }
            deps[i] = dep;
        }

        // Recording times on their own, the registration just before the first other event.
        let mut r: Vec<Timestamp> = Vec::with_capacity(len);
        for d in &drafts {
            r.push(self.lag(d.on, &d.payload));
        }
        if len > 1 {
            let first_other = r[1..].iter().copied().min().expect("at least one other event");
            let floor = drafts[0].on.to_timestamp().plus_micros(MINUTE);
            r[0] = first_other
                .plus_micros(-(self.rng.int(1, 20) as i64) * MINUTE)
                .max(floor)
                .min(first_other);
        }
        let natural = propagate(&drafts, &deps, &mut r);

        // Go-live: what happened before it, and was recorded in the old system by then, is migrated.
        let migration = migration_instant(self.p, self.index);
        let mut imported = vec![false; len];
        if self.sk.first_contact < self.p.start {
            for i in 0..len {
                if drafts[i].on.date() < self.p.start && natural[i] <= migration {
                    imported[i] = true;
                    r[i] = migration;
                }
            }
            // Imported events only depend on imported ones; live ones move after the migration.
            for i in 0..len {
                if !imported[i] {
                    r[i] = r[i].max(migration.plus_micros(MINUTE));
                }
            }
            propagate(&drafts, &deps, &mut r);
        }

        let horizon = end_of_day(self.p.end);
        let mut recs: Vec<Rec> = Vec::with_capacity(len + len / 20);
        for (i, mut d) in drafts.into_iter().enumerate() {
            if r[i] > horizon {
                continue;
            }
            // Keep dates that must not be in the future within the recording day.
            if let EventPayload::AssessmentCompleted(a) = &mut d.payload
                && let Some(auth) = a.authorised_on
            {
                a.authorised_on = Some(auth.min(r[i].england_date()).max(d.on.date()));
            }
            let source_recorded_at = imported[i].then_some(natural[i]);
            if imported[i] {
                d.src = Src::Import;
            }
            recs.push(Rec {
                r: r[i],
                draft: d,
                imported: imported[i],
                source_recorded_at,
                order: i,
            });
        }
        // Optional references to events not recorded yet are left out.
        let when: HashMap<u32, (Timestamp, usize)> =
            recs.iter().map(|x| (x.draft.n, (x.r, x.order))).collect();
        for x in &mut recs {
            if let Some(t) = x.draft.optional_ref {
                let ok = when.get(&t).is_some_and(|&(rt, ot)| (rt, ot) < (x.r, x.order));
                if !ok {
                    strip_reference(&mut x.draft.payload);
                }
            }
        }

        self.corrections(&mut recs, horizon);

        recs.sort_by_key(|x| (x.r, x.order));
        self.appends(recs)
    }

    /// Corrections of events recorded with a mistake, and duplicates entered and later retracted.
    fn corrections(&mut self, recs: &mut Vec<Rec>, horizon: Timestamp) {
        let total = recs.len();
        let mut next_n = recs.iter().map(|x| x.draft.n).max().unwrap_or(0) + 1;
        let mut next_order = total * 4;
        // Not the registration of a child registered unborn: `StreamState` replays a correction's mark after
        // the birth was recorded, and would take the child for unborn again (reported upstream).
        let unborn = self.sk.unborn;
        let correctable: Vec<usize> = (0..total)
            .filter(|&i| correctable(&recs[i].draft.payload))
            .filter(|&i| !(unborn && matches!(recs[i].draft.payload, EventPayload::ChildRegistered(_))))
            .collect();
        let duplicable: Vec<usize> = (0..total)
            .filter(|&i| !recs[i].imported && duplicable(&recs[i].draft.payload))
            .collect();
        let rec = self.p.recording.clone();
        let p_correct = if correctable.is_empty() {
            0.0
        } else {
            (rec.corrected * total as f64 / correctable.len() as f64).min(0.9)
        };
        let p_dup = if duplicable.is_empty() {
            0.0
        } else {
            (rec.retracted * total as f64 / duplicable.len() as f64).min(0.5)
        };
        let mut extra = Vec::new();
        for &i in &correctable {
            if !self.rng.chance(p_correct) {
                continue;
            }
            let target = &recs[i];
            let delay = self.rng.log_normal_days(6.0, 1.0, 0, 200);
            let day = target.r.england_date().add_days(delay);
            let at = OccurredAt::at(day, self.rng.int(9, 17) as i8, self.rng.int(0, 59) as i8)
                .expect("a valid time");
            let r = at.to_timestamp().max(target.r.plus_micros(10 * MINUTE));
            if r > horizon {
                continue;
            }
            let Some((replacement, target_occurred_at, reason)) = self.amend(&target.draft, r.england_date())
            else {
                continue;
            };
            let payload = EventCorrected {
                target_event_id: event_id(&self.child, target.draft.n),
                target_occurred_at,
                replacement: Box::new(replacement),
                reason: LongText::parse(reason).expect("valid text"),
            };
            let draft = Draft {
                n: next_n,
                on: OccurredAt::on(r.england_date()),
                payload: payload.into(),
                src: Src::La,
                group: 0,
                causation: Some(target.draft.n),
                needs: None,
                optional_ref: None,
            };
            next_n += 1;
            next_order += 1;
            extra.push(Rec {
                r,
                draft,
                imported: false,
                source_recorded_at: None,
                order: next_order,
            });
        }
        for &i in &duplicable {
            if !self.rng.chance(p_dup) {
                continue;
            }
            let original = &recs[i];
            let r_dup = original
                .r
                .plus_micros(self.rng.int(1, 3 * 24 * 60) as i64 * MINUTE);
            let day = r_dup
                .england_date()
                .add_days(self.rng.log_normal_days(10.0, 0.9, 1, 150));
            let r_retract = OccurredAt::at(day, self.rng.int(9, 17) as i8, self.rng.int(0, 59) as i8)
                .expect("a valid time")
                .to_timestamp();
            if r_retract > horizon {
                continue;
            }
            let mut dup = original.draft.clone();
            dup.n = next_n;
            dup.group = 0;
            dup.needs = None;
            dup.optional_ref = None;
            let dup_n = next_n;
            next_n += 1;
            next_order += 1;
            extra.push(Rec {
                r: r_dup,
                draft: dup,
                imported: false,
                source_recorded_at: None,
                order: next_order,
            });
            let (reason, detail) = if self.rng.chance(0.8) {
                (RetractionReason::Duplicate, None)
            } else {
                (
                    RetractionReason::EnteredInError,
                    Some(
                        LongText::parse("Recorded twice in error during system outage").expect("valid text"),
                    ),
                )
            };
            let retraction = Draft {
                n: next_n,
                on: OccurredAt::on(day),
                payload: EventRetracted {
                    target_event_id: event_id(&self.child, dup_n),
                    reason,
                    detail,
                }
                .into(),
                src: Src::La,
                group: 0,
                causation: None,
                needs: None,
                optional_ref: None,
            };
            next_n += 1;
            next_order += 1;
            extra.push(Rec {
                r: r_retract.max(r_dup.plus_micros(MINUTE)),
                draft: retraction,
                imported: false,
                source_recorded_at: None,
                order: next_order,
            });
        }
        recs.extend(extra);
    }

    /// A corrected version of an event: the replacement, a corrected date if any, and the reason.
    fn amend(&mut self, d: &Draft, today: Date) -> Option<(EventPayload, Option<OccurredAt>, &'static str)> {
        let mut p = d.payload.clone();
        let earlier = |rng: &mut Rng, on: OccurredAt, dob: Date| -> Option<OccurredAt> {
            let moved = on.date().add_days(-rng.int(1, 3));
            (moved >= dob && moved <= today).then(|| OccurredAt::on(moved))
        };
        let dob = self.sk.dob;
        let reason = match &mut p {
            EventPayload::ChildRegistered(c) => {
                if c.ethnicity
                    .is_some_and(|e| e != journey_core::codes::Ethnicity::WBRI)
                    || c.ethnicity.is_none()
                {
                    c.ethnicity = Some(journey_core::codes::Ethnicity::WBRI);
                } else {
                    c.ethnicity = Some(journey_core::codes::Ethnicity::WOTH);
                }
                "Ethnicity confirmed with the family"
            }
            EventPayload::ContactReceived(c) => {
                c.summary = Some(
                    LongText::parse("Summary corrected: details added after a call back to the referrer.")
                        .expect("valid text"),
                );
                "Contact summary incomplete"
            }
            EventPayload::AssessmentCompleted(a) => {
                a.child_seen = Some(true);
                "Child was seen during the assessment: recorded wrongly"
            }
            EventPayload::ChildVisited(v) => {
                if self.rng.chance(0.5) {
                    return earlier(&mut self.rng, d.on, dob)
                        .map(|on| (p, Some(on), "Visit date entered wrongly"));
                }
                if !v.seen {
                    v.seen = true;
                } else {
                    v.seen_alone = Some(!v.seen_alone.unwrap_or(false));
                }
                "Visit outcome recorded wrongly"
            }
            EventPayload::LookedAfterReviewHeld(l) => {
                if self.rng.chance(0.5) || l.participation == journey_core::codes::ReviewParticipation::PN0 {
                    return earlier(&mut self.rng, d.on, dob)
                        .map(|on| (p, Some(on), "Review date entered wrongly"));
                }
                l.participation = journey_core::codes::ReviewParticipation::PN1;
                "Participation code corrected by the IRO"
            }
            EventPayload::HealthAssessmentCompleted(_) => {
                return earlier(&mut self.rng, d.on, dob)
                    .map(|on| (p, Some(on), "Assessment date taken from the clinic letter"));
            }
            EventPayload::StrategyDiscussionHeld(s) => {
                let police = s
                    .agencies
                    .iter_mut()
                    .find(|a| a.agency == PartnerAgency::Police)?;
                police.attended = !police.attended;
                if !police.attended {
                    police.professional = None;
                }
                "Police attendance recorded wrongly"
            }
            EventPayload::ChildProtectionConferenceHeld(c) => {
                let agency = c.agencies.iter_mut().find(|a| a.report_submitted.is_some())?;
                agency.report_submitted = agency.report_submitted.map(|r| !r);
                "Report received before the conference: recorded wrongly"
            }
            EventPayload::CoreGroupMet(c) => {
                let f = c.family.first_mut()?;
                f.attended = !f.attended;
                "Attendance corrected"
            }
            EventPayload::PlacementChanged(PlacementChanged { placement, .. })
            | EventPayload::BecameLookedAfter(BecameLookedAfter { placement, .. }) => {
                placement.postcode.as_ref()?;
                placement.postcode = Some(super::people::postcode_in(self.p.postcodes, &mut self.rng, 30));
                "Placement postcode corrected"
            }
            EventPayload::CareLeaverContactRecorded(c) => {
                use journey_core::codes::CareLeaverAccommodation as A;
                let a = c.accommodation?;
                c.accommodation = Some(match a {
                    A::D1 => A::D2,
                    A::U1 => A::U2,
                    A::E1 => A::E2,
                    A::B1 => A::B2,
                    A::D2 => A::D1,
                    A::U2 => A::U1,
                    _ => return None,
                });
                c.mode = c.mode.or(Some(ContactMode::Phone));
                "Suitability of accommodation reassessed"
            }
            _ => return None,
        };
        Some((p, None, reason))
    }

    /// The appends, in recorded order: events recorded together (a conference and the plan it decided), the
    /// migrated history in batches, everything else one by one.
    fn appends(&self, recs: Vec<Rec>) -> Vec<GeneratedAppend> {
        let mut out: Vec<GeneratedAppend> = Vec::new();
        let batch = self.p.recording.import_batch.max(1);
        let mut key: Option<(Timestamp, u32, Src, bool)> = None;
        for (version, x) in recs.into_iter().enumerate() {
            let version = version as u64;
            let group = if x.imported { u32::MAX } else { x.draft.group };
            let k = (x.r, group, x.draft.src, x.imported);
            let event = self.new_event(&x);
            let joins = group != 0
                && key == Some(k)
                && out
                    .last()
                    .is_some_and(|a| !x.imported || a.request.events.len() < batch);
            if joins {
                out.last_mut().expect("checked").request.events.push(event);
            } else {
                let expected = if version == 0 {
                    ExpectedVersion::NoStream
                } else {
                    ExpectedVersion::Exact(journey_core::ids::Version(version))
                };
                let sender = self.w.sender(x.draft.src);
                out.push(GeneratedAppend {
                    recorded_at: x.r,
                    request: AppendRequest {
                        child_id: self.child.clone(),
                        expected,
                        recorded_by: sender.principal.clone(),
                        events: vec![event],
                    },
                });
            }
            key = Some(k);
        }
        out
    }

    fn new_event(&self, x: &Rec) -> NewEvent {
        let d = &x.draft;
        let correlation_id = (d.group != 0 && !x.imported).then(|| {
            CorrelationId::parse(format!("{}-g{}", self.child, d.group)).expect("valid correlation id")
        });
        NewEvent {
            event_id: event_id(&self.child, d.n),
            occurred_at: d.on,
            source: self.w.sender(d.src).source.clone(),
            correlation_id,
            causation_id: d.causation.map(|n| event_id(&self.child, n)),
            source_recorded_at: x.source_recorded_at,
            payload: d.payload.clone(),
        }
    }
}

/// Recording times after dependencies (each event no earlier than what it depends on) and groups (one
/// time for all). Returns the result, also left in `r`.
fn propagate(drafts: &[Draft], deps: &[[Option<usize>; 3]], r: &mut [Timestamp]) -> Vec<Timestamp> {
    let len = drafts.len();
    let mut i = 0;
    while i < len {
        // A group: consecutive events with the same non-zero group.
        let mut j = i + 1;
        if drafts[i].group != 0 {
            while j < len && drafts[j].group == drafts[i].group {
                j += 1;
            }
        }
        let mut t = r[i];
        for k in i..j {
            t = t.max(r[k]);
            for dep in deps[k].iter().flatten() {
                // Ties are recorded in date order, so "no earlier than" is enough.
                if *dep < i {
                    t = t.max(r[*dep]);
                }
            }
        }
        for x in r.iter_mut().take(j).skip(i) {
            *x = t;
        }
        i = j;
    }
    r.to_vec()
}

fn strip_reference(p: &mut EventPayload) {
    match p {
        EventPayload::ReferralReceived(r) => r.contact_event_id = None,
        EventPayload::Section47Started(s) => s.strategy_discussion_event_id = None,
        EventPayload::ChildProtectionPlanStarted(c) => c.conference_event_id = None,
        _ => {}
    }
}

fn correctable(p: &EventPayload) -> bool {
    matches!(
        p,
        EventPayload::ChildRegistered(_)
            | EventPayload::ContactReceived(_)
            | EventPayload::AssessmentCompleted(_)
            | EventPayload::ChildVisited(_)
            | EventPayload::LookedAfterReviewHeld(_)
            | EventPayload::HealthAssessmentCompleted(_)
            | EventPayload::StrategyDiscussionHeld(_)
            | EventPayload::ChildProtectionConferenceHeld(_)
            | EventPayload::CoreGroupMet(_)
            | EventPayload::PlacementChanged(_)
            | EventPayload::BecameLookedAfter(_)
            | EventPayload::CareLeaverContactRecorded(_)
    )
}

fn duplicable(p: &EventPayload) -> bool {
    matches!(
        p,
        EventPayload::ChildVisited(_)
            | EventPayload::LookedAfterReviewHeld(_)
            | EventPayload::CoreGroupMet(_)
            | EventPayload::IndependentReviewingOfficerContacted(_)
            | EventPayload::CareLeaverContactRecorded(_)
            | EventPayload::HealthAssessmentCompleted(_)
            | EventPayload::DentalCheckCompleted(_)
            | EventPayload::PersonalEducationPlanReviewed(_)
            | EventPayload::ContactReceived(_)
    )
}
