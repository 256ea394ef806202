//! The store's side of proof an outsider can check: the tree (`crate::tree`) and the checkpoints log
//! (`crate::checkpoints`) behind `journey_core::store::TreeStore`.

use super::*;
use journey_core::store::tree::{HashRange, StoredCheckpoint, StoredCosignature, TreeStatus, TreeStore};
use journey_core::tlog::tree::HashReader;
use journey_core::tlog::{Hash, LeafEntry};

impl EmbeddedStore {
    fn send_tree(&self, message: TreeMsg) -> Result<()> {
        let sender = self.tree_tx.lock().expect("tree sender lock");
        sender
            .as_ref()
            .ok_or_else(|| Error::Closed("the store is closed".into()))?
            .send(message)
            .map_err(|_| Error::Closed("the tree thread has stopped".into()))
    }

    fn leaf_entries(&self, first: Position, count: usize) -> Result<Vec<LeafEntry>> {
        let last = self.head_state().head.position.map_or(0, |p| p.0);
        let first = first.0.max(1);
        let end = first.saturating_add(count as u64).min(last + 1);
        let locations: Vec<EntryLocation> = {
            let index = self.shared.index();
            (first..end)
                .map(|p| {
                    index
                        .location(p)
                        .ok_or_else(|| Error::Index(format!("position {p} is not in the index")))
                })
                .collect::<Result<_>>()?
        };
        let mut entries = vec![
            LeafEntry {
                stream_hash: [0; 32],
                log_hash: [0; 32],
            };
            locations.len()
        ];
        self.shared.reader.read_many_each(&locations, |i, bytes| {
            let (chain, _) = split_entry(bytes, locations[i])?;
            entries[i] = LeafEntry {
                stream_hash: chain.stream_hash,
                log_hash: chain.log_hash,
            };
            Ok(())
        })?;
        Ok(entries)
    }
}

impl TreeStore for EmbeddedStore {
    fn log_id(&self) -> &LogId {
        &self.log_id
    }

    fn tree_status(&self) -> BoxFuture<'_, Result<TreeStatus>> {
        let status = self.tree.status();
        async move { Ok(status) }.boxed()
    }

    fn read_hashes(&self, ranges: Vec<HashRange>) -> BoxFuture<'_, Result<Vec<Vec<Hash>>>> {
        let result = ranges
            .iter()
            .map(|r| {
                let mut out = vec![[0u8; 32]; r.count];
                self.tree
                    .read_hashes(r.level, r.start, &mut out)
                    .map(|()| out)
                    .map_err(journey_core::store::tree::tree_error)
            })
            .collect();
        async move { result }.boxed()
    }

    fn local_hashes(&self) -> Option<&dyn HashReader> {
        Some(&*self.tree)
    }

    fn read_leaf_entries(&self, first: Position, count: usize) -> BoxFuture<'_, Result<Vec<LeafEntry>>> {
        let result = self.leaf_entries(first, count);
        async move { result }.boxed()
    }

    fn sync_tree(&self) -> BoxFuture<'_, Result<u64>> {
        let (reply, answer) = oneshot::channel();
        let sent = self.send_tree(TreeMsg::Sync(reply));
        async move {
            sent?;
            answer
                .await
                .map_err(|_| Error::Closed("the tree thread has stopped".into()))?
        }
        .boxed()
    }

    fn rebuild_tree(&self, why: String) -> BoxFuture<'_, Result<()>> {
        self.tree.rebuild_requested(&why);
        let sent = self.send_tree(TreeMsg::Rebuild(why));
        async move { sent }.boxed()
    }

    fn store_checkpoint(&self, checkpoint: StoredCheckpoint) -> BoxFuture<'_, Result<StoredCheckpoint>> {
        let result = self.checkpoints.store_checkpoint(checkpoint);
        async move { result }.boxed()
    }

    fn latest_checkpoint(&self) -> BoxFuture<'_, Result<Option<StoredCheckpoint>>> {
        let result = self.checkpoints.latest();
        async move { result }.boxed()
    }

    fn checkpoint_at(&self, size: u64) -> BoxFuture<'_, Result<Option<StoredCheckpoint>>> {
        let result = self.checkpoints.at(size);
        async move { result }.boxed()
    }

    fn latest_cosigned(&self, at_most: u64) -> BoxFuture<'_, Result<Option<StoredCheckpoint>>> {
        let result = self.checkpoints.latest_cosigned(at_most);
        async move { result }.boxed()
    }

    fn checkpoints(&self) -> BoxFuture<'_, Result<Vec<StoredCheckpoint>>> {
        let result = self.checkpoints.all();
        async move { result }.boxed()
    }

    fn store_cosignature(&self, cosignature: StoredCosignature) -> BoxFuture<'_, Result<bool>> {
        let result = self.checkpoints.store_cosignature(cosignature);
        async move { result }.boxed()
    }

    fn cosignatures(&self, size: u64) -> BoxFuture<'_, Result<Vec<StoredCosignature>>> {
        let result = self.checkpoints.cosignatures(size);
        async move { result }.boxed()
    }
}
