//! One child's facts as the SSDA903 return needs them, read from the child's stream as known at an
//! instant: the events in force (corrections applied, retractions dropped), in the order they occurred.
//!
//! Episodes are derived here: a period of care starts with `BecameLookedAfter` (`RNE` S); every change of
//! legal status (`LegalStatusChanged`) or placement (`PlacementChanged`) ends the open episode with `REC`
//! X1 and starts a new one with `RNE` L, P or T; a change of both on the same day is one new episode, B
//! or U. `CeasedToBeLookedAfter` ends the open episode with its `REC`. `CareInProgressRecorded` (imported
//! history that begins mid-period) starts a period with the episode it records, its `RNE` as recorded.

use journey_core::codes::{
    CareLeaverAccommodation, CareLeaverActivity, CategoryOfNeed, Ethnicity, InTouch, LegalStatus,
    MissingKind, PlacementProvider, PlacementType, PreviousPermanence, ReasonEpisodeCeased, ReasonNewEpisode,
    ReasonPlaceChange, ReasonPlacedCeased, ReviewParticipation, SdqReason, Sex, SocialWorkerChangeReason,
    UpnUnknownReason,
};
use journey_core::domain::lists::{HealthAssessmentKind, SubstanceMisuseIntervention, WorkerRole};
use journey_core::domain::{
    EventPayload, LaCode, MatchedWithAdopters, PartialDate, Postcode, Upn, Urn, WorkerId,
};
use journey_core::envelope::RecordedEvent;
use journey_core::ids::ChildId;
use journey_core::time::{Date, Timestamp};
use journey_core::view::{EffectiveEvent, known_at};

/// One SSDA903 episode.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Episode {
    pub start: Date,
    pub reason_new: ReasonNewEpisode,
    pub legal_status: LegalStatus,
    pub category_of_need: CategoryOfNeed,
    pub place: PlacementType,
    pub provider: Option<PlacementProvider>,
    pub end: Option<Date>,
    pub reason_ceased: Option<ReasonEpisodeCeased>,
    /// Why this episode's placement ended, on an episode that ended (X1) with a change of placement (the
    /// DfE puts `REASON_PLACE_CHANGE` on the episode that ends, validator rule 225).
    pub reason_place_change: Option<ReasonPlaceChange>,
    pub home_postcode: Option<Postcode>,
    pub placement_postcode: Option<Postcode>,
    pub urn: Option<Urn>,
    /// The first episode the record holds of a period of care begun earlier, on a date it does not hold
    /// (`CareInProgressRecorded`): `reason_new` is how this episode continued that period.
    pub period_start_unknown: bool,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct MissingSpell {
    pub kind: MissingKind,
    pub start: Date,
    pub end: Option<Date>,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SocialWorkerSpell {
    pub worker: WorkerId,
    pub start: Date,
    pub end: Option<Date>,
    /// Why this social worker was allocated (the change from the previous one).
    pub reason: Option<SocialWorkerChangeReason>,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CareLeaverContact {
    pub on: Date,
    pub in_touch: InTouch,
    pub activity: Option<CareLeaverActivity>,
    pub accommodation: Option<CareLeaverAccommodation>,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PrevPerm {
    pub on: Date,
    pub previous: PreviousPermanence,
    pub local_authority: Option<LaCode>,
    pub order_date: Option<PartialDate>,
}

/// What the return needs of one child, in the order things occurred.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct ChildFacts {
    pub child_id: Option<ChildId>,
    pub date_of_birth: Option<Date>,
    pub sex: Option<Sex>,
    pub ethnicity: Option<Ethnicity>,
    pub upn: Option<Upn>,
    pub upn_unknown: Option<UpnUnknownReason>,
    pub died: Option<Date>,
    /// Dates the child became a parent (SSDA903 `MC_DOB`).
    pub became_parent: Vec<Date>,
    pub episodes: Vec<Episode>,
    pub reviews: Vec<(Date, ReviewParticipation)>,
    /// UASC status: from, and ceased.
    pub uasc: Option<(Date, Option<Date>)>,
    pub missing: Vec<MissingSpell>,
    pub health_assessments: Vec<(Date, HealthAssessmentKind)>,
    pub dental_checks: Vec<Date>,
    pub immunisations: Vec<(Date, bool)>,
    pub sdq: Vec<(Date, Option<u8>, Option<SdqReason>)>,
    pub substance_misuse: Vec<(Date, Option<SubstanceMisuseIntervention>)>,
    pub convictions: Vec<Date>,
    pub care_leaver_contacts: Vec<CareLeaverContact>,
    pub adoption_decisions: Vec<Date>,
    pub matches: Vec<(Date, MatchedWithAdopters)>,
    /// Reversed decisions, with the SSDA903 reason when the reversal's text starts with its code (`RD1`..).
    pub adoption_decisions_reversed: Vec<(Date, Option<ReasonPlacedCeased>)>,
    pub placements_for_adoption_ceased: Vec<(Date, ReasonPlacedCeased)>,
    pub previous_permanence: Vec<PrevPerm>,
    pub social_workers: Vec<SocialWorkerSpell>,
}

impl ChildFacts {
    /// The facts of one child's stream as known at `known_at`.
    pub fn from_stream(events: &[RecordedEvent], known_at_instant: Timestamp) -> ChildFacts {
        let effective: Vec<(Date, u64, EventPayload)> = Self::effective(events, known_at_instant);
        ChildFacts::from_events(events.first().map(|e| e.envelope.child_id.clone()), effective)
    }

    /// The events in use at `known_at` (neither retracted nor restricted): date, version, content.
    pub(crate) fn effective(
        events: &[RecordedEvent],
        known_at_instant: Timestamp,
    ) -> Vec<(Date, u64, EventPayload)> {
        Self::effective_where(events, known_at_instant, EffectiveEvent::is_in_use)
    }

    /// The events stored at `known_at`, restricted ones included (not retracted): what an import
    /// reconciles a return against, so that a restricted fact is not recorded a second time.
    pub(crate) fn recorded(
        events: &[RecordedEvent],
        known_at_instant: Timestamp,
    ) -> Vec<(Date, u64, EventPayload)> {
        Self::effective_where(events, known_at_instant, |e| !e.is_retracted())
    }

    fn effective_where(
        events: &[RecordedEvent],
        known_at_instant: Timestamp,
        keep: impl Fn(&EffectiveEvent) -> bool,
    ) -> Vec<(Date, u64, EventPayload)> {
        known_at(events, known_at_instant)
            .into_iter()
            .filter(|e| keep(e))
            .map(|e| (e.occurred_at.date(), e.envelope.version.0, e.payload))
            .collect()
    }

    /// The facts of events in force, given as (date, version, content), in any order.
    pub(crate) fn from_events(
        child_id: Option<ChildId>,
        mut events: Vec<(Date, u64, EventPayload)>,
    ) -> ChildFacts {
        events.sort_by_key(|(d, version, _)| (*d, *version));
        let mut f = ChildFacts {
            child_id,
            ..ChildFacts::default()
        };
        let mut open: Option<Episode> = None;
        for (d, _, payload) in events {
            f.apply(d, payload, &mut open);
        }
        if let Some(e) = open {
            f.episodes.push(e);
        }
        f
    }

    fn apply(&mut self, d: Date, payload: EventPayload, open: &mut Option<Episode>) {
        use EventPayload as P;
        match payload {
            P::ChildRegistered(r) => {
                self.date_of_birth = r.date_of_birth.or(self.date_of_birth);
                self.sex = Some(r.sex);
                self.ethnicity = r.ethnicity;
                self.upn = r.upn;
                self.upn_unknown = r.upn_unknown_reason;
            }
            P::ChildDetailsAmended(a) => {
                if a.date_of_birth.is_some() {
                    self.date_of_birth = a.date_of_birth;
                }
                if a.sex.is_some() {
                    self.sex = a.sex;
                }
                if a.ethnicity.is_some() {
                    self.ethnicity = a.ethnicity;
                }
                if a.upn.is_some() {
                    self.upn = a.upn;
                    self.upn_unknown = None;
                }
                if a.upn_unknown_reason.is_some() {
                    self.upn_unknown = a.upn_unknown_reason;
                }
            }
            P::ChildBecameParent(_) => self.became_parent.push(d),
            P::ChildDied(_) => self.died = Some(d),
            P::CareInProgressRecorded(c) => {
                if let Some(mut prev) = open.take() {
                    prev.end = Some(d);
                    prev.reason_ceased = Some(ReasonEpisodeCeased::E8);
                    self.episodes.push(prev);
                }
                *open = Some(Episode {
                    start: d,
                    reason_new: c.reason_new_episode,
                    legal_status: c.legal_status,
                    category_of_need: c.category_of_need,
                    place: c.placement.place_type,
                    provider: c.placement.provider,
                    end: None,
                    reason_ceased: None,
                    reason_place_change: None,
                    home_postcode: c.home_postcode,
                    placement_postcode: c.placement.postcode,
                    urn: c.placement.urn,
                    period_start_unknown: true,
                });
            }
            P::BecameLookedAfter(b) => {
                if let Some(mut prev) = open.take() {
                    // A new period of care while one is open: the record is inconsistent; close the old one.
                    prev.end = Some(d);
                    prev.reason_ceased = Some(ReasonEpisodeCeased::E8);
                    self.episodes.push(prev);
                }
                *open = Some(Episode {
                    start: d,
                    reason_new: ReasonNewEpisode::S,
                    legal_status: b.legal_status,
                    category_of_need: b.category_of_need,
                    place: b.placement.place_type,
                    provider: b.placement.provider,
                    end: None,
                    reason_ceased: None,
                    reason_place_change: None,
                    home_postcode: b.home_postcode,
                    placement_postcode: b.placement.postcode,
                    urn: b.placement.urn,
                    period_start_unknown: false,
                });
            }
            P::LegalStatusChanged(c) => {
                let Some(cur) = open.as_mut() else { return };
                if cur.legal_status == c.legal_status {
                    return;
                }
                if cur.start == d {
                    // Same day as the episode's start: one episode with both changes.
                    cur.legal_status = c.legal_status;
                    cur.reason_new = match cur.reason_new {
                        ReasonNewEpisode::P => ReasonNewEpisode::B,
                        ReasonNewEpisode::T => ReasonNewEpisode::U,
                        other => other,
                    };
                    return;
                }
                let mut next = cur.clone();
                next.start = d;
                next.period_start_unknown = false;
                next.reason_new = ReasonNewEpisode::L;
                next.legal_status = c.legal_status;
                next.reason_place_change = None;
                self.close_x1(open, d);
                *open = Some(next);
            }
            P::PlacementChanged(c) => {
                let Some(cur) = open.as_mut() else { return };
                let p = c.placement;
                if cur.start == d {
                    // A second change on the episode's first day: one episode with both.
                    cur.place = p.place_type;
                    cur.provider = p.provider;
                    cur.placement_postcode = p.postcode;
                    cur.urn = p.urn;
                    if cur.reason_new == ReasonNewEpisode::L {
                        cur.reason_new = if c.same_carers {
                            ReasonNewEpisode::U
                        } else {
                            ReasonNewEpisode::B
                        };
                    }
                    if cur.reason_new != ReasonNewEpisode::S
                        && let Some(prev) = self.episodes.last_mut()
                        && prev.end == Some(d)
                        && prev.reason_ceased == Some(ReasonEpisodeCeased::X1)
                    {
                        prev.reason_place_change = c.reason.or(prev.reason_place_change);
                    }
                    return;
                }
                let mut next = cur.clone();
                next.start = d;
                next.period_start_unknown = false;
                next.reason_new = if c.same_carers {
                    ReasonNewEpisode::T
                } else {
                    ReasonNewEpisode::P
                };
                next.place = p.place_type;
                next.provider = p.provider;
                next.placement_postcode = p.postcode;
                next.urn = p.urn;
                next.reason_place_change = None;
                cur.reason_place_change = c.reason;
                self.close_x1(open, d);
                *open = Some(next);
            }
            P::CeasedToBeLookedAfter(c) => {
                if let Some(mut cur) = open.take() {
                    cur.end = Some(d);
                    cur.reason_ceased = Some(c.reason);
                    self.episodes.push(cur);
                }
            }
            P::LookedAfterReviewHeld(r) => self.reviews.push((d, r.participation)),
            P::UnaccompaniedAsylumSeekingStatusRecorded(_)
                if self.uasc.is_none_or(|(_, ceased)| ceased.is_some()) =>
            {
                self.uasc = Some((d, None));
            }
            P::UnaccompaniedAsylumSeekingStatusCeased(_) => {
                if let Some((_, ceased)) = self.uasc.as_mut() {
                    *ceased = Some(d);
                }
            }
            P::MissingEpisodeStarted(m) => self.missing.push(MissingSpell {
                kind: m.kind,
                start: d,
                end: None,
            }),
            P::MissingEpisodeEnded(_) => {
                if let Some(m) = self.missing.iter_mut().rev().find(|m| m.end.is_none()) {
                    m.end = Some(d);
                }
            }
            P::HealthAssessmentCompleted(h) => self.health_assessments.push((d, h.kind)),
            P::DentalCheckCompleted(_) => self.dental_checks.push(d),
            P::ImmunisationsRecorded(i) => self.immunisations.push((d, i.up_to_date)),
            P::SdqScoreRecorded(s) => self.sdq.push((d, s.score, s.reason_not_completed)),
            P::SubstanceMisuseIdentified(s) => self.substance_misuse.push((d, s.intervention)),
            P::ChildConvicted(_) => self.convictions.push(d),
            P::CareLeaverContactRecorded(c) => self.care_leaver_contacts.push(CareLeaverContact {
                on: d,
                in_touch: c.in_touch,
                activity: c.activity,
                accommodation: c.accommodation,
            }),
            P::AdoptionDecisionMade(_) => self.adoption_decisions.push(d),
            P::MatchedWithAdopters(m) => self.matches.push((d, m)),
            P::AdoptionDecisionReversed(r) => {
                let code = r
                    .reason
                    .as_ref()
                    .and_then(|t| t.as_str().get(..3))
                    .and_then(|c| ReasonPlacedCeased::parse(c).ok());
                self.adoption_decisions_reversed.push((d, code));
            }
            P::PlacementForAdoptionCeased(c) => self.placements_for_adoption_ceased.push((d, c.reason)),
            P::PreviousPermanenceRecorded(p) => self.previous_permanence.push(PrevPerm {
                on: d,
                previous: p.previous,
                local_authority: p.local_authority,
                order_date: p.order_date,
            }),
            P::WorkerAllocated(w) if w.role == WorkerRole::SocialWorker => {
                if let Some(prev) = self.social_workers.iter_mut().rev().find(|s| s.end.is_none()) {
                    prev.end = Some(d);
                }
                self.social_workers.push(SocialWorkerSpell {
                    worker: w.worker.worker_id,
                    start: d,
                    end: None,
                    reason: w.change_reason,
                });
            }
            P::WorkerAllocationEnded(w) if w.role == WorkerRole::SocialWorker => {
                if let Some(prev) = self.social_workers.iter_mut().rev().find(|s| s.end.is_none()) {
                    prev.end = Some(d);
                }
            }
            _ => {}
        }
    }

    fn close_x1(&mut self, open: &mut Option<Episode>, d: Date) {
        if let Some(mut cur) = open.take() {
            cur.end = Some(d);
            cur.reason_ceased = Some(ReasonEpisodeCeased::X1);
            self.episodes.push(cur);
        }
    }
}
