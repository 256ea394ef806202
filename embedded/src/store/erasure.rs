//! Erasure: destroying children's content keys (issue #19). Runs on the writer's first thread, in order
//! with the appends around it: appends judged before it were sealed with the key (their ciphertext is
//! written, and unreadable); appends after it are refused.

use super::*;

/// A destruction on its way to the writer.
pub(super) struct DestroyRequest {
    pub(super) children: Vec<ChildId>,
    pub(super) destroyed_at: Timestamp,
    pub(super) reply: oneshot::Sender<Result<Destruction>>,
}

impl EmbeddedStore {
    pub(super) fn destroy_content_now(
        &self,
        children: Vec<ChildId>,
        destroyed_at: Timestamp,
    ) -> BoxFuture<'_, Result<Destruction>> {
        if self.shared.content_keys.is_none() {
            return async { Err(Error::Key(KeyError::NotSealed)) }.boxed();
        }
        let unknown: Vec<&ChildId> = {
            let index = self.shared.index();
            children
                .iter()
                .filter(|c| index.stream_version(c).is_none())
                .collect()
        };
        if let Some(first) = unknown.first() {
            let error = Error::NotFound(format!("child {first} has no record to destroy"));
            return async { Err(error) }.boxed();
        }
        let (reply, answer) = oneshot::channel();
        let request = DestroyRequest {
            children,
            destroyed_at,
            reply,
        };
        self.ask_writer(WriterMsg::Destroy(request), answer)
    }
}

impl WriterState {
    /// Destroys the keys durably (the key store rewritten without them, all or nothing), then in memory, then
    /// drops what the caches hold of those children.
    pub(super) fn destroy(&mut self, request: DestroyRequest) {
        let DestroyRequest {
            children,
            destroyed_at,
            reply,
        } = request;
        let _ = reply.send(self.destroy_keys(children, destroyed_at));
    }

    fn destroy_keys(&mut self, mut children: Vec<ChildId>, destroyed_at: Timestamp) -> Result<Destruction> {
        let keys = self
            .shared
            .content_keys
            .clone()
            .ok_or(Error::Key(KeyError::NotSealed))?;
        if let Some(why) = self.shared.failure() {
            return Err(Error::Closed(why));
        }
        children.sort();
        children.dedup();
        let (already, fresh): (Vec<ChildId>, Vec<ChildId>) =
            children.into_iter().partition(|c| keys.destroyed_at(c).is_some());
        let already_destroyed = already
            .into_iter()
            .map(|c| {
                let at = keys.destroyed_at(&c).expect("partitioned on it");
                (c, at)
            })
            .collect();
        if !fresh.is_empty() {
            // What the key store will hold: everything as now, these children destroyed.
            let mut file = self.shared.key_file.lock().expect("key file lock");
            let file = file
                .as_mut()
                .ok_or_else(|| Error::Closed("the store seals content but has no key store".into()))?;
            let fresh_set: HashSet<&ChildId> = fresh.iter().collect();
            let kek = keys.kek();
            let entries: Vec<KeyEntry> = keys
                .entries_wrapped_by(kek.as_ref())?
                .into_iter()
                .map(|entry| match entry {
                    KeyEntry::Wrapped { child_id, .. } if fresh_set.contains(&child_id) => {
                        KeyEntry::Destroyed {
                            child_id,
                            destroyed_at,
                        }
                    }
                    other => other,
                })
                .collect();
            file.rewrite(kek.as_ref(), &entries)?;
            keys.mark_destroyed(&fresh, destroyed_at);
            for child in &fresh {
                self.shared.read_cache.remove(child);
                self.cache.pop(child);
                self.evicted.remove(child);
            }
            tracing::info!(
                children = fresh.len(),
                "content keys destroyed: those records are erased"
            );
        }
        Ok(Destruction {
            destroyed: fresh,
            already_destroyed,
            destroyed_at,
        })
    }
}
