//! The incremental summary projection equals a full replay on synthetic children's journeys, after every
//! append as the generator recorded them.

use futures::executor::block_on;
use journey_core::store::{EventStore, InMemoryStore};
use journey_core::testkit;
use journey_core::view::{AsOf, ChildSummary, SummaryProjection, known_at};
use journey_core::{Date, RecordedEvent, Version};
use journey_synth::{self as synth, AuthorityProfile};
use proptest::prelude::*;

fn d(s: &str) -> Date {
    testkit::date(s)
}

/// One synthetic child's stream, appended as the generator recorded it (batches included); also the
/// number of records after each accepted append.
fn load(seed: u64, index: usize) -> (Vec<RecordedEvent>, Vec<usize>) {
    let profile = AuthorityProfile::deep_end();
    let clock = testkit::clock();
    let store = InMemoryStore::new(clock.clone());
    let mut boundaries = Vec::new();
    let mut count = 0;
    let mut child = None;
    for append in synth::generate_child(seed, index, &profile) {
        clock.set(append.recorded_at);
        let n = append.request.events.len();
        child = Some(append.request.child_id.clone());
        // The store's rules decide: an append they refuse is left out, and the stream stays valid.
        if block_on(store.append(append.request)).is_ok() {
            count += n;
            boundaries.push(count);
        }
    }
    let Some(child) = child else {
        return (Vec::new(), boundaries);
    };
    (
        block_on(store.read_stream(child, Version::FIRST, usize::MAX)).unwrap(),
        boundaries,
    )
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 16, ..ProptestConfig::default() })]

    #[test]
    fn synthetic_journeys_project_as_they_replay(seed in any::<u64>(), index in 0..40usize) {
        let (events, boundaries) = load(seed, index);
        let mut dates: Vec<Date> = events.iter().step_by(7).map(|e| e.envelope.occurred_at.date()).collect();
        dates.push(d("2100-01-01"));
        let mut p = SummaryProjection::with_checkpoint_every(4);
        let mut applied = 0;
        for &end in &boundaries {
            for e in &events[applied..end] {
                p.apply(e);
            }
            applied = end;
            let prefix = &events[..end];
            let known = prefix[end - 1].envelope.recorded_at;
            // "As known at" an instant is exactly the records made by then (appends may share an instant).
            let by_then = events.partition_point(|e| e.envelope.recorded_at <= known);
            prop_assert_eq!(known_at(&events, known), known_at(&events[..by_then], known));
            for &on in &dates {
                prop_assert_eq!(p.summary(on), ChildSummary::replay(prefix, AsOf::new(on, known)), "on {}", on);
            }
        }
    }
}
