//! The in-memory journal, for tests: the same rules as [`super::FileJournal`], nothing durable.

use std::sync::{Arc, Mutex, PoisonError};

use futures::future::{self, BoxFuture, FutureExt};

use super::{Journal, JournalHead, JournalRecord, JournalVerification, NewRecord, Sequencer, SystemStream};
use crate::error::Result;
use crate::ids::ExpectedVersion;
use crate::time::Clock;

#[derive(Debug, Default)]
struct State {
    sequencer: Sequencer,
    /// Stored bytes in journal order, so that verification checks what a file journal would.
    stored: Vec<Vec<u8>>,
    records: Vec<JournalRecord>,
}

/// A journal held in memory.
#[derive(Debug, Clone)]
pub struct MemoryJournal {
    clock: Arc<dyn Clock>,
    state: Arc<Mutex<State>>,
}

impl MemoryJournal {
    pub fn new(clock: Arc<dyn Clock>) -> MemoryJournal {
        MemoryJournal {
            clock,
            state: Arc::default(),
        }
    }

    fn state(&self) -> std::sync::MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Replaces one stored record's bytes, as an attacker with access to the storage might (tests of
    /// verification only).
    #[doc(hidden)]
    pub fn tamper(&self, sequence: u64, stored: Vec<u8>) {
        self.state().stored[sequence as usize - 1] = stored;
    }
}

impl Journal for MemoryJournal {
    fn append(
        &self,
        stream: &SystemStream,
        expected: ExpectedVersion,
        records: Vec<NewRecord>,
    ) -> BoxFuture<'static, Result<Vec<JournalRecord>>> {
        let mut state = self.state();
        let result = state
            .sequencer
            .plan(stream, expected, records, self.clock.now())
            .map(|(planned, _rollback)| {
                planned
                    .into_iter()
                    .map(|(record, stored)| {
                        state.stored.push(stored);
                        state.records.push(record.clone());
                        record
                    })
                    .collect()
            });
        future::ready(result).boxed()
    }

    fn read_stream(
        &self,
        stream: &SystemStream,
        from: u64,
        limit: usize,
    ) -> BoxFuture<'static, Result<Vec<JournalRecord>>> {
        let records = self
            .state()
            .records
            .iter()
            .filter(|r| &r.stream == stream && r.version >= from)
            .take(limit)
            .cloned()
            .collect();
        future::ready(Ok(records)).boxed()
    }

    fn stream_version(&self, stream: &SystemStream) -> u64 {
        self.state().sequencer.version(stream)
    }

    fn head(&self) -> JournalHead {
        self.state().sequencer.head()
    }

    fn verify(&self) -> BoxFuture<'static, Result<JournalVerification>> {
        let stored = self.state().stored.clone();
        future::ready(super::verify_records(stored.into_iter().map(Ok))).boxed()
    }
}
