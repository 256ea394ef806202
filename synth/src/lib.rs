//! The synthetic journey generator: seeded, reproducible children for a whole local authority, for tests,
//! benchmarks and demonstrations. No real person's data anywhere: names are drawn from short lists of
//! common names, postcodes are in an area that does not exist (`QX`) unless the profile asks for real
//! postcode units ([`PostcodeArea::Real`]: a few dozen public ONS postcodes, never with a house number, for
//! returns that geocode postcodes), NHS numbers are in the range the NHS reserves for tests (999...), UPNs
//! carry a fictional authority code.
//!
//! ```no_run
//! use journey_synth::{self as synth, AuthorityProfile};
//! let profile = AuthorityProfile::small();
//! for append in synth::generate(42, &profile) {
//!     // Set the store's clock to `append.recorded_at`, then `store.append(append.request)`.
//!     # let _ = append;
//! }
//! ```
//!
//! # How a child is made
//! 1. **Skeleton** (`skeleton.rs`): how deep the journey goes, drawn so that the shares of children
//!    reaching referral, assessment, section 47, conference, plan and care match [`StageShares`], and the
//!    key dates (first contact, the main referral, birth, entering and leaving care, adoption milestones),
//!    placed so that those milestones fall within the period. Cheap: the generator draws every skeleton first
//!    to order children by when they are first recorded.
//! 2. **Journey** (`journey.rs`): every event around the skeleton, with the date it happened: contacts and
//!    decisions, early help and step-up/step-down, referral and assessment (45 working days, some late),
//!    strategy discussion and section 47, initial conference (15 working days, in the configured share),
//!    plans with core groups, visits and reviews, pre-proceedings, court orders, looked-after episodes
//!    with legal statuses, placements and moves, reviews, visits, health, education, missing episodes and
//!    return interviews, adoption (around the A1/A2 scorecard thresholds), special guardianship, leaving
//!    care with needs assessment, pathway plan, personal adviser, staying put, contacts and entitlements;
//!    re-referrals within 12 months, transfers in and out, worker allocation.
//! 3. **Recording** (`record.rs`): when each event is recorded (most the same day, a tail weeks late,
//!    strategy discussions especially), history before go-live migrated at go-live with
//!    `source_recorded_at`, corrections and retractions recorded after their targets, events recorded
//!    together appended together. Recorded order keeps the domain's rules: see `record.rs`.
//!
//! Each child draws from its own seeded streams (`rng.rs`), so [`generate_child`] reproduces one child
//! without the others, and changing the number of children does not change the children already there.
//! Output is identical for a seed on a given platform (floating-point `ln`/`exp` may differ in the last bit
//! between platforms' maths libraries).
//!
//! [`Tally`] measures what was generated (shares of children at each stage, timeliness, late recording,
//! corrections, re-referrals) from the appends alone, for tests and for reporting on a data set.
//!
//! A child whose first event would be recorded after `end` (a contact on the last evening, recorded the
//! next morning) does not appear: of 70,000 children, a handful.

use std::cmp::Reverse;
use std::collections::{BinaryHeap, VecDeque};
use std::sync::Arc;

use serde::Serialize;

use journey_core::error::{Error, Result};
use journey_core::ids::{ChildId, EventId};
use journey_core::store::{AppendRequest, EventStore};
use journey_core::time::{ManualClock, Timestamp};

mod calendar;
mod journey;
mod people;
mod profile;
mod record;
mod rng;
mod skeleton;
mod tally;
mod world;

pub use profile::{AuthorityProfile, LookedAfterProfile, PostcodeArea, Recording, StageShares, Timeliness};
pub use tally::{Proportions, Tally};

use journey::Sim;
use record::Recorder;
use rng::{Purpose, Rng};
use skeleton::Skeleton;
use world::World;

/// One append to make: set the store's clock to `recorded_at`, then append `request`. Loading every append
/// of a generation in order reproduces its recording history, late recording included.
#[derive(Clone, Debug, PartialEq)]
pub struct GeneratedAppend {
    /// When the authority recorded it (transaction time).
    pub recorded_at: Timestamp,
    pub request: AppendRequest,
}

impl Serialize for GeneratedAppend {
    fn serialize<S: serde::Serializer>(&self, s: S) -> std::result::Result<S::Ok, S::Error> {
        use serde::ser::SerializeStruct;
        let mut st = s.serialize_struct("GeneratedAppend", 5)?;
        st.serialize_field("recorded_at", &self.recorded_at)?;
        st.serialize_field("child_id", &self.request.child_id)?;
        st.serialize_field("expected", &self.request.expected)?;
        st.serialize_field("recorded_by", &self.request.recorded_by)?;
        st.serialize_field("events", &self.request.events)?;
        st.end()
    }
}

/// The id of child number `index` of an authority: `<prefix><index, 6 digits>`.
pub fn child_id(profile: &AuthorityProfile, index: usize) -> ChildId {
    ChildId::parse(format!("{}{index:06}", profile.child_id_prefix))
        .expect("the profile's prefix makes valid child ids")
}

/// Every append for the whole authority, in recorded order (`recorded_at` never decreases), generated as it
/// is consumed: only the children whose journeys are under way are held in memory.
///
/// # Panics
/// If the profile fails [`AuthorityProfile::check`].
pub fn generate(seed: u64, profile: &AuthorityProfile) -> Generator {
    if let Err(p) = profile.check() {
        panic!("invalid authority profile: {p}");
    }
    let profile = Arc::new(profile.clone());
    let world = Arc::new(World::new(&profile));
    // Children in the order they can first be recorded, the earliest last (popped first).
    let mut pending: Vec<(Timestamp, usize)> = (0..profile.children)
        .map(|i| {
            (
                record::lower_bound(&profile, i, &Skeleton::draw(seed, i, &profile)),
                i,
            )
        })
        .collect();
    pending.sort_unstable_by(|a, b| b.cmp(a));
    Generator {
        seed,
        profile,
        world,
        pending,
        active: BinaryHeap::new(),
        queues: Vec::new(),
    }
}

/// The appends of one child, in recorded order: exactly those [`generate`] yields for this child.
///
/// # Panics
/// If the profile fails [`AuthorityProfile::check`].
pub fn generate_child(seed: u64, index: usize, profile: &AuthorityProfile) -> Vec<GeneratedAppend> {
    if let Err(p) = profile.check() {
        panic!("invalid authority profile: {p}");
    }
    child(seed, index, profile, &World::new(profile))
}

fn child(seed: u64, index: usize, profile: &AuthorityProfile, world: &World) -> Vec<GeneratedAppend> {
    let sk = Skeleton::draw(seed, index, profile);
    let id = child_id(profile, index);
    let drafts = Sim::new(
        world,
        profile,
        Rng::new(seed, index, Purpose::Journey),
        id.clone(),
        sk,
    )
    .run();
    Recorder::new(world, profile, seed, index, id, sk).record(drafts)
}

/// The iterator [`generate`] returns: a merge, by recorded time, of every child's appends.
#[derive(Debug)]
pub struct Generator {
    seed: u64,
    profile: Arc<AuthorityProfile>,
    world: Arc<World>,
    /// Children not generated yet, with the earliest instant they can be recorded; earliest last.
    pending: Vec<(Timestamp, usize)>,
    /// Children generated, by the time of their next append.
    active: BinaryHeap<Reverse<(Timestamp, usize)>>,
    /// Each active child's remaining appends, by child index.
    queues: Vec<Option<VecDeque<GeneratedAppend>>>,
}

impl Generator {
    /// The number of children whose appends are held in memory right now.
    pub fn in_flight(&self) -> usize {
        self.active.len()
    }
}

impl Iterator for Generator {
    type Item = GeneratedAppend;

    fn next(&mut self) -> Option<GeneratedAppend> {
        loop {
            let next_active = self.active.peek().map(|Reverse(k)| *k);
            let next_pending = self.pending.last().copied();
            match (next_pending, next_active) {
                // A child not yet generated might come first: generate it and look again.
                (Some(p), a) if a.is_none_or(|a| p <= a) => {
                    self.pending.pop();
                    let (_, index) = p;
                    let appends: VecDeque<GeneratedAppend> =
                        child(self.seed, index, &self.profile, &self.world).into();
                    if let Some(first) = appends.front() {
                        debug_assert!(
                            first.recorded_at >= p.0,
                            "a child's first append precedes its lower bound"
                        );
                        self.active.push(Reverse((first.recorded_at, index)));
                        if self.queues.len() <= index {
                            self.queues.resize_with(index + 1, || None);
                        }
                        self.queues[index] = Some(appends);
                    }
                }
                (_, Some((_, index))) => {
                    self.active.pop();
                    let queue = self.queues[index].as_mut().expect("an active child has a queue");
                    let append = queue.pop_front().expect("an active child has an append");
                    match queue.front() {
                        Some(next) => self.active.push(Reverse((next.recorded_at, index))),
                        None => self.queues[index] = None,
                    }
                    return Some(append);
                }
                (None, None) => return None,
                (Some(_), None) => unreachable!("handled by the first arm"),
            }
        }
    }
}

/// What [`load`] did.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize)]
pub struct LoadReport {
    pub appends: usize,
    pub events: usize,
    /// Appends that were already in the store (a load run again): recognised as retries, nothing written.
    pub already_recorded: usize,
    /// Appends the store refused (broken rules or conflicts); infrastructure failures stop the load instead.
    pub rejected: Vec<Rejection>,
}

/// An append the store refused.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Rejection {
    pub child_id: ChildId,
    pub recorded_at: Timestamp,
    pub event_ids: Vec<EventId>,
    pub error: String,
}

/// Appends every `GeneratedAppend` to `store`, setting `clock` (the store's clock) to its `recorded_at`
/// first. Refused appends are reported and the load goes on; any other error stops it.
pub async fn load(
    store: &dyn EventStore,
    clock: &ManualClock,
    appends: impl IntoIterator<Item = GeneratedAppend>,
) -> Result<LoadReport> {
    let mut report = LoadReport::default();
    for a in appends {
        clock.set(a.recorded_at);
        let event_ids: Vec<EventId> = a.request.events.iter().map(|e| e.event_id.clone()).collect();
        let child_id = a.request.child_id.clone();
        match store.append(a.request).await {
            Ok(out) if out.already_recorded => report.already_recorded += 1,
            Ok(out) => {
                report.appends += 1;
                report.events += out.events.len();
            }
            Err(e @ (Error::Invalid(_) | Error::Conflict(_))) => {
                report.rejected.push(Rejection {
                    child_id,
                    recorded_at: a.recorded_at,
                    event_ids,
                    error: e.to_string(),
                });
            }
            Err(e) => return Err(e),
        }
    }
    Ok(report)
}
