//! One short, human-readable line per event, for chronologies: what happened, with DfE codes followed by
//! their meaning. Free text (summaries, rationales) and third parties' details are left out: the line is a
//! heading, and the payload beside it has everything.

use crate::codes::MissingKind;
use crate::domain::{AgencyAttendance, EventPayload, Placement};

/// A DfE code with its description: `U4 (Foster placement with other foster carer(s): long-term fostering)`.
macro_rules! dfe {
    ($c:expr) => {{
        let c = $c;
        format!("{} ({})", c.code(), c.description())
    }};
}

/// The line for one event: `Placement changed to U4 (...), provider PR1 (...) — reason CARPL (...)`.
pub fn describe(payload: &EventPayload) -> String {
    use EventPayload as P;
    match payload {
        P::ChildRegistered(r) => {
            let born = match (r.date_of_birth, r.expected_date_of_birth) {
                (Some(d), _) => format!("date of birth {d}"),
                (None, Some(e)) => format!("unborn, expected {e}"),
                (None, None) => "date of birth not known".to_owned(),
            };
            format!("Child registered ({born}, sex {})", r.sex.code())
        }
        P::ChildDetailsAmended(a) => {
            let mut fields = Vec::new();
            let mut field = |present: bool, name: &'static str| {
                if present {
                    fields.push(name);
                }
            };
            field(
                a.given_name.is_some() || a.family_name.is_some() || a.preferred_name.is_some(),
                "name",
            );
            field(a.date_of_birth.is_some(), "date of birth");
            field(a.expected_date_of_birth.is_some(), "expected date of birth");
            field(a.sex.is_some(), "sex");
            field(a.ethnicity.is_some(), "ethnicity");
            field(
                a.upn.is_some() || a.former_upn.is_some() || a.upn_unknown_reason.is_some(),
                "UPN",
            );
            field(a.nhs_number.is_some(), "NHS number");
            field(a.disabilities.is_some(), "disabilities");
            field(a.family_id.is_some(), "family");
            let mut line = format!("Details amended: {}", fields.join(", "));
            if let Some(d) = a.date_of_birth {
                line.push_str(&format!(" (born {d})"));
            }
            line
        }
        // The value is left out (the payload has it): the line says which identifier and why it failed.
        P::InvalidIdentifierRecorded(i) => format!(
            "{} kept as recorded, failing its check: {}",
            i.identifier.description(),
            i.problem
        ),
        P::ChildBecameParent(_) => "Became a parent".to_owned(),
        P::ChildDied(_) => "Child died".to_owned(),
        P::ContactReceived(c) => {
            let mut line = format!("Contact received from {}", dfe!(c.source));
            if let Some(a) = &c.agency {
                line.push_str(&format!(", {a}"));
            }
            if !c.concerns.is_empty() {
                line.push_str(&format!(
                    " — concerns {}",
                    codes(c.concerns.iter().map(|f| f.code()))
                ));
            }
            line
        }
        P::ContactDecided(d) => {
            let mut line = format!(
                "Contact {} decided: {}",
                d.contact_event_id,
                d.outcome.description()
            );
            if let Some(level) = d.level_of_need {
                line.push_str(&format!(" (level of need {level})"));
            }
            line
        }
        P::EarlyHelpStarted(e) => {
            let step = if e.stepped_down_from_social_care {
                " — stepped down from social care"
            } else {
                ""
            };
            format!("Early help started with {}{step}", e.organisation)
        }
        P::EarlyHelpAssessmentCompleted(a) => {
            format!(
                "Early help assessment completed (factors {})",
                codes(a.factors.iter().map(|f| f.code()))
            )
        }
        P::EarlyHelpEnded(e) => format!("Early help ended: {}", e.reason.description()),
        P::ReferralReceived(r) => {
            let nfa = if r.no_further_action {
                " — no further action"
            } else {
                ""
            };
            format!(
                "Referral received from {}; primary need {}{nfa}",
                dfe!(r.source),
                dfe!(r.primary_need)
            )
        }
        P::AssessmentStarted(_) => "Assessment started".to_owned(),
        P::AssessmentReviewed(_) => "Assessment reviewed".to_owned(),
        P::AssessmentCompleted(a) => {
            let mut line = format!(
                "Assessment completed (factors {})",
                codes(a.factors.iter().map(|f| f.code()))
            );
            match a.child_seen {
                Some(true) => line.push_str(", child seen"),
                Some(false) => line.push_str(", child not seen"),
                None => {}
            }
            if let Some(need) = a.primary_need {
                line.push_str(&format!("; primary need {}", dfe!(need)));
            }
            line
        }
        P::ChildInNeedPlanStarted(_) => "Child in need plan started".to_owned(),
        P::ChildInNeedPlanReviewed(_) => "Child in need plan reviewed".to_owned(),
        P::ChildInNeedPlanEnded(e) => match e.reason {
            Some(r) => format!("Child in need plan ended: {}", r.description()),
            None => "Child in need plan ended".to_owned(),
        },
        P::ChildVisited(v) => {
            let seen = match (v.seen, v.seen_alone) {
                (false, _) => "child not seen",
                (true, Some(true)) => "child seen alone",
                (true, Some(false)) => "child seen, not alone",
                (true, None) => "child seen",
            };
            format!("{}: {seen}", v.kind.description())
        }
        P::ChildInNeedEpisodeClosed(c) => format!("Child in need episode closed: {}", dfe!(c.reason)),
        P::StrategyDiscussionHeld(s) => {
            format!(
                "Strategy discussion: {}{}",
                s.outcome.description(),
                attendance(&s.agencies)
            )
        }
        P::Section47Started(_) => "Section 47 enquiry started".to_owned(),
        P::Section47Completed(s) => format!("Section 47 enquiry completed: {}", s.outcome.description()),
        P::ChildProtectionConferenceHeld(c) => {
            let mut line = format!("{}: {}", c.kind.description(), c.outcome.description());
            if let Some(cat) = c.category {
                line.push_str(&format!(", category {}", dfe!(cat)));
            }
            line.push_str(&attendance(&c.agencies));
            line
        }
        P::ChildProtectionPlanStarted(p) => {
            format!("Child protection plan started: category {}", dfe!(p.category))
        }
        P::ChildProtectionCategoryChanged(c) => {
            format!("Child protection category changed to {}", dfe!(c.category))
        }
        P::CoreGroupMet(c) => format!("Core group met{}", attendance(&c.agencies)),
        P::ChildProtectionPlanEnded(e) => format!("Child protection plan ended: {}", e.reason.description()),
        P::PreProceedingsStarted(_) => "Pre-proceedings started".to_owned(),
        P::LetterBeforeProceedingsSent(_) => "Letter before proceedings sent".to_owned(),
        P::FamilyGroupConferenceOffered(_) => "Family group conference offered".to_owned(),
        P::FamilyGroupConferenceHeld(_) => "Family group conference held".to_owned(),
        P::PreProceedingsMeetingHeld(m) => m.kind.description().to_owned(),
        P::PreProceedingsEnded(e) => format!("Pre-proceedings ended: {}", e.outcome.description()),
        P::CareProceedingsIssued(c) => match &c.court {
            Some(court) => format!("Care proceedings issued ({court})"),
            None => "Care proceedings issued".to_owned(),
        },
        P::CareProceedingsConcluded(c) => format!("Care proceedings concluded: {}", c.outcome.description()),
        P::CourtOrderMade(o) => {
            let mut line = format!("Order made: {}", o.order.description());
            if let Some(e) = o.expires_on {
                line.push_str(&format!(", expires {e}"));
            }
            line
        }
        P::CourtOrderEnded(o) => format!(
            "Order ended: {} — {}",
            o.order.description(),
            o.reason.description()
        ),
        P::BecameLookedAfter(b) => format!(
            "Became looked after: legal status {}, category of need {}, placement {}",
            dfe!(b.legal_status),
            dfe!(b.category_of_need),
            placement(&b.placement)
        ),
        P::LegalStatusChanged(l) => format!("Legal status changed to {}", dfe!(l.legal_status)),
        P::PlacementChanged(p) => {
            let mut line = format!("Placement changed to {}", placement(&p.placement));
            if p.same_carers {
                line.push_str(", same carers");
            }
            if let Some(r) = p.reason {
                line.push_str(&format!(" — reason {}", dfe!(r)));
            }
            line
        }
        P::CareInProgressRecorded(c) => format!(
            "Already looked after (period of care begun earlier, start not recorded): episode {}, {}, placed {}",
            dfe!(c.reason_new_episode),
            dfe!(c.legal_status),
            placement(&c.placement)
        ),
        P::CeasedToBeLookedAfter(c) => format!("Ceased to be looked after: {}", dfe!(c.reason)),
        P::LookedAfterReviewHeld(r) => {
            format!("Looked-after review (participation {})", dfe!(r.participation))
        }
        P::IndependentReviewingOfficerContacted(c) => {
            format!("Independent reviewing officer contact: {}", c.mode.description())
        }
        P::HealthAssessmentCompleted(h) => format!("Health assessment completed: {}", h.kind.description()),
        P::DentalCheckCompleted(_) => "Dental check completed".to_owned(),
        P::ImmunisationsRecorded(i) => if i.up_to_date {
            "Immunisations up to date"
        } else {
            "Immunisations not up to date"
        }
        .to_owned(),
        P::SdqScoreRecorded(s) => match (s.score, s.reason_not_completed) {
            (Some(score), _) => format!("SDQ score {score}"),
            (None, Some(r)) => format!("SDQ not completed: {}", dfe!(r)),
            (None, None) => "SDQ recorded".to_owned(),
        },
        P::SubstanceMisuseIdentified(s) => match s.intervention {
            Some(i) => format!("Substance misuse identified: {}", i.description()),
            None => "Substance misuse identified".to_owned(),
        },
        P::ChildConvicted(c) => format!("Convicted or cautioned: {}", c.outcome.description()),
        P::PersonalEducationPlanReviewed(_) => "Personal education plan reviewed".to_owned(),
        P::MissingEpisodeStarted(m) => {
            let mut line = match m.kind {
                MissingKind::M => "Missing from care (M)".to_owned(),
                MissingKind::A => "Away from placement without authorisation (A)".to_owned(),
            };
            match m.reported_to_police {
                Some(true) => line.push_str(", reported to police"),
                Some(false) => line.push_str(", not reported to police"),
                None => {}
            }
            line
        }
        P::MissingEpisodeEnded(_) => "Returned: missing episode ended".to_owned(),
        P::ReturnInterviewOffered(_) => "Return home interview offered".to_owned(),
        P::ReturnInterviewHeld(_) => "Return home interview held".to_owned(),
        P::ReturnInterviewDeclined(_) => "Return home interview declined".to_owned(),
        P::UnaccompaniedAsylumSeekingStatusRecorded(_) => "Unaccompanied asylum-seeking child".to_owned(),
        P::UnaccompaniedAsylumSeekingStatusCeased(_) => {
            "Unaccompanied asylum-seeking status ceased".to_owned()
        }
        P::AdoptionDecisionMade(_) => "Agency decision: should be placed for adoption".to_owned(),
        P::MatchedWithAdopters(m) => {
            let carers = if m.adopters_were_foster_carers {
                ", the current foster carers"
            } else {
                ""
            };
            format!("Matched with adopters ({} adopter(s){carers})", m.adopter_count)
        }
        P::PlacedForAdoption(_) => "Placed for adoption".to_owned(),
        P::PlacementForAdoptionCeased(p) => format!("Placement for adoption ceased: {}", dfe!(p.reason)),
        P::AdoptionDecisionReversed(_) => "Decision no longer to place for adoption".to_owned(),
        P::PreviousPermanenceRecorded(p) => format!("Previous permanence: {}", dfe!(p.previous)),
        P::PermanencePlanRecorded(p) => format!("Permanence plan: {}", p.plan.description()),
        P::LeavingCareNeedsAssessmentCompleted(_) => "Leaving care needs assessment completed".to_owned(),
        P::PathwayPlanStarted(_) => "Pathway plan started".to_owned(),
        P::PathwayPlanReviewed(_) => "Pathway plan reviewed".to_owned(),
        P::StayingPutStarted(_) => "Staying put started".to_owned(),
        P::StayingPutEnded(_) => "Staying put ended".to_owned(),
        P::CareLeaverContactRecorded(c) => {
            let mut line = format!("Care leaver contact: in touch {}", dfe!(c.in_touch));
            if let Some(a) = c.activity {
                line.push_str(&format!(", activity {}", a.code()));
            }
            if let Some(a) = c.accommodation {
                line.push_str(&format!(", accommodation {}", a.code()));
            }
            line
        }
        P::HealthHistoryGiven(_) => "Health history given".to_owned(),
        P::EntitlementOffered(o) => {
            let mut line = format!("Entitlement offered: {}", o.entitlement.kind.description());
            if let Some(name) = &o.entitlement.name {
                line.push_str(&format!(" ({name})"));
            }
            if let Some(p) = o.amount_pence {
                line.push_str(&format!(", £{}.{:02}", p / 100, p % 100));
            }
            line
        }
        P::EntitlementAccepted(a) => format!("Entitlement {} accepted", a.offer_event_id),
        P::EntitlementDeclined(d) => format!("Entitlement {} declined", d.offer_event_id),
        P::WorkerAllocated(w) => {
            let who = w
                .worker
                .name
                .as_ref()
                .map_or_else(|| w.worker.worker_id.to_string(), |n| n.to_string());
            let mut line = format!("{}: {who} allocated", w.role.description());
            if let Some(team) = &w.team {
                line.push_str(&format!(" ({team})"));
            }
            line
        }
        P::WorkerAllocationEnded(w) => format!("{}: allocation ended", w.role.description()),
        P::TransferredIn(t) => match (&t.from_local_authority, &t.from_authority_name) {
            (_, Some(name)) => format!("Transferred in from {name}"),
            (Some(la), None) => format!("Transferred in from local authority {la}"),
            (None, None) => "Transferred in".to_owned(),
        },
        P::TransferredOut(t) => match (&t.to_local_authority, &t.to_authority_name) {
            (_, Some(name)) => format!("Transferred out to {name}"),
            (Some(la), None) => format!("Transferred out to local authority {la}"),
            (None, None) => "Transferred out".to_owned(),
        },
        P::EventCorrected(c) => {
            let mut line = format!("Correction of {} {}", c.replacement.kind(), c.target_event_id);
            if let Some(at) = c.target_occurred_at {
                line.push_str(&format!(", occurred {at}"));
            }
            line.push_str(&format!(" — {}", c.reason));
            line
        }
        P::EventRetracted(x) => {
            let mut line = format!("Retraction of {}: {}", x.target_event_id, x.reason.description());
            if let Some(d) = &x.detail {
                line.push_str(&format!(" — {d}"));
            }
            line
        }
        P::RecordRestricted(r) => {
            let what = match &r.target_event_id {
                Some(target) => format!("event {target}"),
                None => "the whole record".to_owned(),
            };
            format!(
                "Use of {what} restricted: {} — {}",
                r.grounds.description(),
                r.reason
            )
        }
        P::ContinuedUnderNewIdentity(c) => format!("Continues under a new identity: {}", c.new_child_id),
        P::RestrictionLifted(l) => format!("Restriction {} lifted — {}", l.restriction_event_id, l.reason),
        P::RecordMergedInto(m) => format!(
            "Record merged into {}: the same child — {}",
            m.surviving_child_id, m.reason
        ),
        P::RecordMergedFrom(m) => format!(
            "Record {} merged into this one: the same child — {}",
            m.merged_child_id, m.reason
        ),
        P::MergeUndone(u) => format!("Merge {} undone — {}", u.merge_event_id, u.reason),
    }
}

fn codes<'a>(codes: impl Iterator<Item = &'a str>) -> String {
    codes.collect::<Vec<_>>().join(", ")
}

fn placement(p: &Placement) -> String {
    let mut line = dfe!(p.place_type);
    if let Some(provider) = p.provider {
        line.push_str(&format!(", provider {}", provider.code()));
    }
    line
}

/// `; attended: police, health; invited, absent: education` (empty when nobody was listed).
fn attendance(agencies: &[AgencyAttendance]) -> String {
    let attended: Vec<&str> = agencies
        .iter()
        .filter(|a| a.attended)
        .map(|a| a.agency.code())
        .collect();
    let absent: Vec<&str> = agencies
        .iter()
        .filter(|a| a.invited && !a.attended)
        .map(|a| a.agency.code())
        .collect();
    let mut line = String::new();
    if !attended.is_empty() {
        line.push_str(&format!("; attended: {}", attended.join(", ")));
    }
    if !absent.is_empty() {
        line.push_str(&format!("; invited, absent: {}", absent.join(", ")));
    }
    line
}
