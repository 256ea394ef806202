//! Recently read streams, kept decoded.
//!
//! An investigator reads the same child again and again: every page of a timeline, every move of the
//! "known at" slider, every export re-reads the whole stream. Reading a stream from the log costs one `pread`
//! per record (a child's records are scattered through the log among everyone else's) plus decoding, about
//! 3 µs a record; handing out a copy of records already decoded costs a fraction of that.
//!
//! The cache holds, per child, the stream's **prefix** from version 1: a stream only ever grows, and a stored
//! record never changes, so a prefix that was right when it was read stays right forever, and a later read
//! only has to fetch the records appended since. What is cached was decoded from the log and checked against
//! the index exactly as an uncached read is; verification ([`super::EventStore::verify`]) and export always
//! read the log itself, so tampering with the files underneath a running store is still found.
//!
//! The bound is a number of events (each is a few hundred bytes decoded), least recently read child first
//! out. A stream longer than the whole bound is never cached.

use std::sync::{Arc, Mutex};

use journey_core::envelope::RecordedEvent;
use journey_core::ids::ChildId;

#[derive(Debug)]
pub(crate) struct ReadCache {
    capacity_events: usize,
    state: Mutex<State>,
}

#[derive(Debug)]
struct State {
    streams: lru::LruCache<ChildId, Arc<Vec<RecordedEvent>>>,
    events: usize,
}

impl ReadCache {
    /// A cache of at most `capacity_events` decoded events; 0 turns it off.
    pub(crate) fn new(capacity_events: usize) -> ReadCache {
        ReadCache {
            capacity_events,
            state: Mutex::new(State {
                streams: lru::LruCache::unbounded(),
                events: 0,
            }),
        }
    }

    pub(crate) fn enabled(&self) -> bool {
        self.capacity_events > 0
    }

    /// The cached prefix of the child's stream (versions 1 to its length), marking it recently used.
    pub(crate) fn get(&self, child_id: &ChildId) -> Option<Arc<Vec<RecordedEvent>>> {
        if !self.enabled() {
            return None;
        }
        self.state
            .lock()
            .expect("read cache lock")
            .streams
            .get(child_id)
            .cloned()
    }

    /// Offers a prefix of the child's stream (its first record must be version 1, with no gaps). Kept if it is
    /// longer than what is cached and fits; older streams are evicted to make room.
    /// Drops a child's cached stream (its record was destroyed).
    pub(crate) fn remove(&self, child_id: &ChildId) {
        let mut state = self.state.lock().expect("read cache lock");
        if let Some(stream) = state.streams.pop(child_id) {
            state.events -= stream.len();
        }
    }

    pub(crate) fn offer(&self, child_id: &ChildId, prefix: Arc<Vec<RecordedEvent>>) {
        let len = prefix.len();
        if len == 0 || len > self.capacity_events {
            return;
        }
        debug_assert_eq!(
            prefix[0].envelope.version.0, 1,
            "a cached stream starts at version 1"
        );
        debug_assert_eq!(
            prefix[len - 1].envelope.version.0,
            len as u64,
            "a cached prefix has no gaps"
        );
        let mut state = self.state.lock().expect("read cache lock");
        let replaced = match state.streams.peek(child_id) {
            Some(cached) if cached.len() >= len => return,
            Some(cached) => cached.len(),
            None => 0,
        };
        state.events = state.events - replaced + len;
        state.streams.put(child_id.clone(), prefix);
        while state.events > self.capacity_events {
            let (_, evicted) = state
                .streams
                .pop_lru()
                .expect("events counted means streams cached");
            state.events -= evicted.len();
        }
    }

    /// How many events are cached (for tests and metrics).
    #[cfg(test)]
    pub(crate) fn events(&self) -> usize {
        self.state.lock().expect("read cache lock").events
    }
}

#[cfg(test)]
mod tests {
    use futures::executor::block_on;

    use super::*;
    use journey_core::ids::ExpectedVersion;
    use journey_core::store::{EventStore, InMemoryStore};
    use journey_core::{Version, testkit};

    /// A real stream of `len` events, as a store hands it out.
    fn prefix(child: &str, len: u64) -> Arc<Vec<RecordedEvent>> {
        let store = InMemoryStore::new(testkit::clock());
        let mut events = vec![testkit::registered(&format!("{child}-0"), "2015-06-01")];
        events.extend((1..len).map(|i| testkit::contact(&format!("{child}-{i}"), "2023-03-01")));
        block_on(store.append(testkit::append(child, ExpectedVersion::NoStream, events))).unwrap();
        Arc::new(block_on(store.read_stream(testkit::child(child), Version::FIRST, usize::MAX)).unwrap())
    }

    #[test]
    fn keeps_the_longest_prefix_and_evicts_least_recently_read_children_first() {
        let cache = ReadCache::new(10);
        cache.offer(&testkit::child("a"), prefix("a", 4));
        cache.offer(&testkit::child("b"), prefix("b", 4));
        // A shorter prefix than the cached one changes nothing.
        cache.offer(&testkit::child("a"), prefix("a", 2));
        assert_eq!(cache.get(&testkit::child("a")).unwrap().len(), 4);
        // "a" was read last, so "b" goes when "c" needs room.
        cache.offer(&testkit::child("c"), prefix("c", 5));
        assert!(cache.get(&testkit::child("b")).is_none());
        assert_eq!(cache.get(&testkit::child("a")).unwrap().len(), 4);
        assert_eq!(cache.events(), 9);
        // A longer prefix replaces the shorter one and is counted once.
        cache.offer(&testkit::child("a"), prefix("a", 5));
        assert_eq!(cache.events(), 10);
        // A stream longer than the whole cache is not kept, and evicts nothing.
        cache.offer(&testkit::child("d"), prefix("d", 11));
        assert!(cache.get(&testkit::child("d")).is_none());
        assert_eq!(cache.events(), 10);
    }

    #[test]
    fn a_zero_capacity_cache_holds_nothing() {
        let cache = ReadCache::new(0);
        cache.offer(&testkit::child("a"), prefix("a", 1));
        assert!(cache.get(&testkit::child("a")).is_none());
    }
}
