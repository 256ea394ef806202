//! A child's journey in outline: how deep it goes, and its key dates (first contact, the referral that
//! leads to the deepest involvement, birth, entering and leaving care, the adoption milestones).
//!
//! Drawn from the child's own `Arrival` stream, cheaply, so that the generator can order 70,000 children
//! by when they first appear without simulating their journeys. The journey simulation fills in everything
//! else around these dates.

use journey_core::time::Date;

use super::profile::AuthorityProfile;
use super::rng::{Purpose, Rng};

/// The deepest involvement a child's journey reaches.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Depth {
    /// Contacts only: no further action, advice, signposting, or early help.
    FrontDoor,
    /// Referred, with no further action.
    ReferralNfa,
    /// Assessed (and perhaps a child in need plan), no section 47.
    Assessed,
    /// A section 47 enquiry, no conference.
    Section47,
    /// An initial conference that decided against a plan.
    Conference,
    /// A child protection plan.
    ProtectionPlan,
    /// Looked after.
    LookedAfter,
}

/// How a child came into care.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Route {
    /// Child protection plan, pre-proceedings, care proceedings, interim care order.
    Protection,
    /// Police protection, emergency protection order, then proceedings or agreement.
    Emergency,
    /// Accommodated by agreement (section 20).
    Section20,
    /// Unaccompanied asylum-seeking child (section 20).
    Uasc,
    /// Remanded to local authority accommodation.
    Remand,
}

/// How a period of care ends.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Outcome {
    Adoption,
    SpecialGuardianship,
    ChildArrangements,
    ReturnHome,
    LeavingCare,
    /// Still looked after at the end (and under 18 then).
    Remains,
}

#[derive(Clone, Copy, Debug)]
pub(crate) struct AdoptionDates {
    pub decision: Date,
    pub placement_order: Date,
    pub matched: Date,
    pub placed: Date,
    pub order: Date,
}

#[derive(Clone, Copy, Debug)]
pub(crate) struct CarePlan {
    pub route: Route,
    pub outcome: Outcome,
    pub entry: Date,
    /// `None`: still looked after at the end.
    pub exit: Option<Date>,
    pub adoption: Option<AdoptionDates>,
}

/// A first, short episode before the referral that leads to the deepest involvement.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Prelude {
    None,
    /// Contacts with no further action, months before.
    Contacts,
    /// Early help that stepped up.
    EarlyHelp,
    /// An earlier referral within 12 months: no further action at referral.
    ReferralNfa,
    /// An earlier referral within 12 months: closed after assessment.
    Assessed,
}

#[derive(Clone, Copy, Debug)]
pub(crate) struct Skeleton {
    pub depth: Depth,
    /// The first contact: the day the child becomes known.
    pub first_contact: Date,
    pub prelude: Prelude,
    /// The referral (or, at the front door, the contact) that leads to the deepest involvement.
    pub main: Date,
    pub dob: Date,
    /// Known before birth: registered with an expected date of birth.
    pub unborn: bool,
    pub care: Option<CarePlan>,
    pub transferred_in: bool,
}

impl Skeleton {
    pub(crate) fn draw(seed: u64, index: usize, p: &AuthorityProfile) -> Skeleton {
        let mut rng = Rng::new(seed, index, Purpose::Arrival);
        let s = &p.shares;
        let l = &p.looked_after;
        let la = s.looked_after;
        let la_cp = la * l.via_protection;
        let la_em = la * l.emergency;
        let la_direct = la - la_cp - la_em;
        let depth = rng.weighted(&[
            (Depth::FrontDoor, 1.0 - s.referral),
            (Depth::ReferralNfa, s.referral - s.assessment),
            (Depth::Assessed, s.assessment - s.section_47 - la_direct),
            (Depth::Section47, s.section_47 - s.initial_conference - la_em),
            (Depth::Conference, s.initial_conference - s.child_protection_plan),
            (Depth::ProtectionPlan, s.child_protection_plan - la_cp),
            (Depth::LookedAfter, la),
        ]);
        let floor = Date::new(2013, 4, 1)
            .expect("a real date")
            .max(p.start.add_years(-p.history_years.max(0)));
        let uniform = |rng: &mut Rng, from: Date, to: Date| -> Date {
            if to <= from {
                from
            } else {
                from.add_days(rng.int(0, from.days_until(to)))
            }
        };

        // Re-referrals: r of all referrals are re-referrals, so a referred child has a second referral
        // with probability q = r / (1 - r).
        let referred = depth != Depth::FrontDoor;
        let q = (s.re_referral / (1.0 - s.re_referral).max(0.05)).min(1.0);
        let prelude = if !referred {
            Prelude::None
        } else if rng.chance(q) {
            if depth == Depth::ReferralNfa || rng.chance(0.45) {
                Prelude::ReferralNfa
            } else {
                Prelude::Assessed
            }
        } else if rng.chance(s.step_up_from_early_help) {
            Prelude::EarlyHelp
        } else if rng.chance(0.2) {
            Prelude::Contacts
        } else {
            Prelude::None
        };
        let prelude_days = match prelude {
            Prelude::None => 0,
            Prelude::Contacts => rng.int(30, 360),
            Prelude::EarlyHelp => rng.int(60, 330),
            // Within 12 months of the earlier referral, after it closed.
            Prelude::ReferralNfa => rng.int(21, 340),
            Prelude::Assessed => rng.int(75, 355),
        };

        let unborn_eligible = matches!(
            depth,
            Depth::ReferralNfa
                | Depth::Assessed
                | Depth::Section47
                | Depth::Conference
                | Depth::ProtectionPlan
        );
        let mut care = None;
        let unborn;
        let (main, dob) = if depth == Depth::LookedAfter {
            let (plan, main, dob, is_unborn) = draw_care(&mut rng, p, floor);
            care = Some(plan);
            unborn = is_unborn;
            (main, dob)
        } else {
            // How long after the main referral the defining event comes, so that it falls in the period.
            let (margin, lookback) = match depth {
                Depth::FrontDoor => (0, 0),
                Depth::ReferralNfa => (1, 0),
                Depth::Assessed => (5, 120),
                Depth::Section47 => (15, 0),
                Depth::Conference => (45, 0),
                _ => (45, 365),
            };
            let from = p.start.add_days(-lookback).max(floor.add_days(prelude_days));
            let to = p.end.add_days(-margin).max(from);
            let main = uniform(&mut rng, from, to);
            unborn = unborn_eligible && rng.chance(s.unborn / 0.55);
            let dob = if unborn {
                main.add_days(rng.int(40, 150))
            } else {
                // Ages at referral: more young children than older ones; deep journeys need time before 18.
                let max_age = if matches!(depth, Depth::FrontDoor | Depth::ReferralNfa) {
                    17
                } else {
                    15
                };
                let age = rng.weighted(&[
                    (0, 0.14),
                    (1, 0.1),
                    (3, 0.1),
                    (5, 0.14),
                    (8, 0.14),
                    (11, 0.16),
                    (14, 0.14),
                ]);
                let age = (age + rng.int(0, 2)).min(max_age);
                main.add_years(-(age as i16)).add_days(-rng.int(0, 364))
            };
            (main, dob)
        };
        let mut first_contact = main.add_days(-prelude_days);
        let mut prelude = prelude;
        // No prelude for a child known before birth (first known when the pregnancy is), for one not born
        // at the time the prelude would start, or when it would reach back before the earliest history.
        if unborn || first_contact < dob || first_contact < floor {
            first_contact = main;
            prelude = Prelude::None;
        }
        let unborn = unborn || main < dob;
        let transferred_in = matches!(depth, Depth::ReferralNfa | Depth::Assessed)
            && prelude == Prelude::None
            && !unborn
            && rng.chance(s.transferred_in / 0.2);
        Skeleton {
            depth,
            first_contact,
            prelude: if first_contact == main {
                Prelude::None
            } else {
                prelude
            },
            main,
            dob,
            unborn,
            care,
            transferred_in,
        }
    }
}

/// The route into care, the way out and the key dates of a looked-after child; the main referral date and
/// the date of birth.
fn draw_care(rng: &mut Rng, p: &AuthorityProfile, floor: Date) -> (CarePlan, Date, Date, bool) {
    let l = &p.looked_after;
    let route = rng.weighted(&[
        (Route::Protection, l.via_protection),
        (Route::Emergency, l.emergency),
        (Route::Uasc, l.uasc),
        (Route::Remand, l.remand),
        (
            Route::Section20,
            (1.0 - l.via_protection - l.emergency - l.uasc - l.remand).max(0.0),
        ),
    ]);
    // Remanded children go home when the remand ends; unaccompanied children age out or remain. The other
    // routes take the rest of each way out, so the ways out keep their shares overall.
    let rest = (1.0 - l.uasc - l.remand).max(0.05);
    let remains =
        (1.0 - l.adoption - l.special_guardianship - l.child_arrangements - l.return_home - l.leaving_care)
            .max(0.0);
    let outcome = match route {
        Route::Remand => Outcome::ReturnHome,
        Route::Uasc => {
            if rng.chance(0.65) {
                Outcome::LeavingCare
            } else {
                Outcome::Remains
            }
        }
        _ => rng.weighted(&[
            (Outcome::Adoption, l.adoption / rest),
            (Outcome::SpecialGuardianship, l.special_guardianship / rest),
            (Outcome::ChildArrangements, l.child_arrangements / rest),
            (Outcome::ReturnHome, ((l.return_home - l.remand) / rest).max(0.0)),
            (
                Outcome::LeavingCare,
                ((l.leaving_care - 0.65 * l.uasc) / rest).max(0.0),
            ),
            (Outcome::Remains, ((remains - 0.35 * l.uasc) / rest).max(0.0)),
        ]),
    };
    // Days from the main referral to entering care.
    let lead = |rng: &mut Rng| match route {
        Route::Protection => rng.int(150, 480),
        Route::Emergency | Route::Uasc => 0,
        Route::Section20 => rng.int(20, 120),
        Route::Remand => rng.int(0, 20),
    };
    let uniform = |rng: &mut Rng, from: Date, to: Date| -> Date {
        if to <= from {
            from
        } else {
            from.add_days(rng.int(0, from.days_until(to)))
        }
    };
    let mut unborn = false;
    let mut adoption = None;
    let (entry, exit, dob, main) = match outcome {
        Outcome::Adoption => {
            let a1 = rng.log_normal_days(l.a1_median_days, 0.35, 150, 1400);
            let a2 = rng.log_normal_days(l.a2_median_days, 0.6, 0, 700);
            let order_after = rng.int(70, 330);
            let exit = uniform(rng, p.start, p.end);
            let placed = exit.add_days(-order_after);
            let entry = placed.add_days(-a1);
            let matched = placed.add_days(-rng.int(10, 42));
            let placement_order = matched.add_days(-a2).max(entry.add_days(60)).min(matched);
            let decision = placement_order.add_days(-rng.int(20, 90)).max(entry.add_days(20));
            adoption = Some(AdoptionDates {
                decision,
                placement_order,
                matched,
                placed,
                order: exit,
            });
            // A third of children adopted were known before birth.
            let (dob, main) = if route == Route::Protection && rng.chance(0.3) {
                unborn = true;
                let dob = entry.add_days(-rng.int(1, 10));
                (dob, dob.add_days(-rng.int(100, 150)))
            } else {
                let age_days = if rng.chance(0.6) {
                    rng.int(1, 360)
                } else {
                    rng.int(361, 1100)
                };
                let dob = entry.add_days(-age_days);
                (dob, entry.add_days(-lead(rng)))
            };
            (entry, Some(exit), dob, main)
        }
        Outcome::SpecialGuardianship | Outcome::ChildArrangements | Outcome::ReturnHome => {
            let stay = match (outcome, route) {
                (Outcome::ReturnHome, Route::Remand) => rng.int(14, 120),
                (Outcome::ReturnHome, Route::Section20) => rng.int(20, 540),
                (Outcome::ReturnHome, _) => rng.int(150, 420),
                (Outcome::ChildArrangements, _) => rng.int(150, 600),
                _ => rng.int(180, 760),
            };
            let exit = uniform(rng, p.start, p.end);
            let entry = exit.add_days(-stay);
            let max_age = match route {
                Route::Remand => 17,
                _ => 12,
            };
            let min_age = if route == Route::Remand { 12 } else { 0 };
            let age_days = rng.int(min_age * 365, max_age * 365 + 200);
            let mut dob = entry.add_days(-age_days);
            // Home before 16 (so not a care leaver), and before 18 at the latest.
            if dob.add_years(16) <= exit && route != Route::Remand {
                dob = exit.add_years(-15).add_days(-rng.int(0, 300));
            }
            if dob.add_years(18) <= exit {
                dob = exit.add_years(-17).add_days(-rng.int(0, 200));
            }
            (entry, Some(exit), dob.min(entry), entry.add_days(-lead(rng)))
        }
        Outcome::LeavingCare => {
            let exit_lo = p.start.add_years(-2).max(floor.add_days(4 * 365));
            let exit = uniform(rng, exit_lo, p.end.add_days(-60));
            let dob = if rng.chance(0.75) {
                exit.add_years(-18)
            } else {
                exit.add_years(-16).add_days(-rng.int(30, 700))
            };
            let entry_age_days = if route == Route::Uasc {
                rng.int(14 * 365 + 100, 16 * 365 - 120)
            } else {
                rng.int(11 * 365, 16 * 365 - 120)
            };
            let entry = dob
                .add_days(entry_age_days)
                .max(floor.add_days(30))
                .min(dob.add_years(16).add_days(-92));
            (entry, Some(exit), dob, entry.add_days(-lead(rng)))
        }
        Outcome::Remains => {
            let entry = uniform(
                rng,
                p.start
                    .add_years(-p.history_years.clamp(0, 6))
                    .max(floor.add_days(500)),
                p.end,
            );
            let age_days = if route == Route::Uasc {
                rng.int(14 * 365 + 100, 17 * 365)
            } else {
                rng.int(0, 15 * 365)
            };
            let mut dob = entry.add_days(-age_days);
            // Under 18 at the end.
            let youngest = p.end.add_years(-18).add_days(rng.int(30, 700));
            if dob < youngest {
                dob = youngest.min(entry);
            }
            (entry, None, dob, entry.add_days(-lead(rng)))
        }
    };
    // A journey reaching back before the earliest history is moved forward whole (its end may then fall
    // after the period: a journey still under way).
    let shift = main.days_until(floor).max(0);
    let later = |d: Date| d.add_days(shift);
    let (main, entry, exit, dob) = (later(main), later(entry), exit.map(later), later(dob));
    let adoption = adoption.map(|a| AdoptionDates {
        decision: later(a.decision),
        placement_order: later(a.placement_order),
        matched: later(a.matched),
        placed: later(a.placed),
        order: later(a.order),
    });
    let main = main.min(entry);
    // A referral before birth comes during the pregnancy: at most 40 weeks before it (CIN rule 8606).
    let main = if main < dob.add_days(-270) {
        dob.add_days(-rng.int(90, 270)).min(entry)
    } else {
        main
    };
    // Referred before birth: known as an unborn child.
    let unborn = unborn || main < dob;
    (
        CarePlan {
            route,
            outcome,
            entry,
            exit,
            adoption,
        },
        main,
        dob,
        unborn,
    )
}
