//! A live subscription built only on the [`EventStore`] trait: catch up from a position with `read_all`,
//! then follow the head. Because positions are gap-free and a record becomes visible only after all before
//! it, reading strictly from "last seen + 1" yields every record exactly once, in order.

use futures::stream::{self, BoxStream, StreamExt};

use crate::envelope::RecordedEvent;
use crate::error::Result;
use crate::ids::Position;
use crate::store::DynStore;

const PAGE: usize = 512;

/// Every record from `from` on, then each new record as it is appended. Ends after the first error.
pub fn subscribe(store: DynStore, from: Position) -> BoxStream<'static, Result<RecordedEvent>> {
    let head = store.watch_head();
    let state = (store, head, from, false);
    stream::unfold(state, |(store, mut head, next, failed)| async move {
        if failed {
            return None;
        }
        loop {
            // Mark the current head as seen *before* reading, so an append landing between the read and the
            // wait still wakes us.
            head.borrow_and_update();
            match store.read_all(next, PAGE).await {
                Err(e) => return Some((stream::iter(vec![Err(e)]), (store, head, next, true))),
                Ok(page) if !page.is_empty() => {
                    let after = page.last().map(|e| e.envelope.position.next()).unwrap_or(next);
                    let items: Vec<Result<RecordedEvent>> = page.into_iter().map(Ok).collect();
                    return Some((stream::iter(items), (store, head, after, false)));
                }
                Ok(_) => {
                    if head.changed().await.is_err() {
                        // The store is gone: nothing more will arrive.
                        return None;
                    }
                }
            }
        }
    })
    .flatten()
    .boxed()
}
