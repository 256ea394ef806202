//! Proof an outsider can check (`docs/adr/0010-outsider-proof.md`), on top of a store's tree
//! ([`TreeStore`]): signing checkpoints by the rules, receiving witnesses' cosignatures, serving tiles and
//! proofs, and the per-child proof bundle of a verifiable export ([`bundle`]). One implementation for every
//! store, so the rules before a signature are the same whichever store holds the log.
//!
//! **The rules before signing** a checkpoint of size N (memo §5.6), all under one lock per process (the
//! store refuses, atomically with its write, a checkpoint that contradicts a stored one, which covers
//! several servers on one database):
//! 1. the tree is not being rebuilt, and its hashes up to N are durable (`sync_tree`);
//! 2. N is at least the last signed size, and equal sizes have equal roots;
//! 3. the tree at N extends the last signed checkpoint: a consistency proof made from the stored tree
//!    verifies against both roots. If it does not, the stored tree is damaged or the log was changed: the
//!    tree is rebuilt from the log once; if the log still does not extend the checkpoint, signing is refused
//!    for good (the log is not the one that was signed), loudly;
//! 4. the checkpoint is stored durably before anyone is shown it.
//!
//! Checking a witness's own latest checkpoint before signing (memo §5.6) needs the network: the server
//! holds every cosignature it was given, all of them over checkpoints it stored, so rule 3 against the
//! last stored checkpoint covers them; the witnesses themselves are the guard against a rewritten store.

use std::sync::Arc;

use serde::Serialize;

use crate::error::{Conflict, Error, FieldError, Result};
use crate::store::LogId;
use crate::store::tree::{
    StoredCheckpoint, StoredCosignature, TreeStore, tlog_invalid, tree_error, with_hashes,
};
use crate::time::{Clock, Timestamp};
use journey_tlog::tiles::TileKind;
use journey_tlog::{
    Checkpoint, Hash, LeafEntry, Note, NoteSignature, NoteSigner, Origin, RecordProof, SignedCheckpoint,
    TilePath, VerifierKey,
};

pub mod bundle;

/// Where in the network a log's origins start: `<base>/<log id>` is an origin. A schema-less URL prefix
/// (`journey.council.example/log`): no scheme, no spaces, no `+`, no trailing `/`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct OriginBase(String);

impl OriginBase {
    pub fn parse(base: impl Into<String>) -> std::result::Result<OriginBase, FieldError> {
        let base = base.into();
        let field = "checkpoint.origin_base";
        let rule = if base.is_empty() {
            Some("must not be empty".to_owned())
        } else if base.contains("://") {
            Some("is written without a scheme: journey.council.example/log, not https://…".to_owned())
        } else if base.ends_with('/') {
            Some("must not end with '/' (the log id follows it after one)".to_owned())
        } else if base.len() > 200 {
            Some("must be at most 200 bytes".to_owned())
        } else {
            base.chars()
                .find(|c| c.is_whitespace() || *c == '+' || c.is_control())
                .map(|c| format!("must not contain {c:?} (no spaces, '+' or control characters)"))
        };
        match rule {
            Some(rule) => Err(FieldError::new(field, format!("{rule} (got {base:?})"))),
            None => Ok(OriginBase(base)),
        }
    }

    /// The origin of the log `log_id`.
    pub fn origin(&self, log_id: &LogId) -> Origin {
        Origin::parse(format!("{}/{}", self.0, log_id)).expect("a checked base and a log id make an origin")
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// A witness this server accepts cosignatures from: the name people know it by, and its cosignature/v1
/// verifier key.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Witness {
    pub name: String,
    pub key: VerifierKey,
}

impl Witness {
    pub fn new(name: impl Into<String>, vkey: &str) -> std::result::Result<Witness, FieldError> {
        let name = name.into();
        if name.is_empty() || name.len() > 100 || name.chars().any(char::is_control) {
            return Err(FieldError::new(
                "checkpoint.witness.name",
                "must be 1 to 100 characters, none of them control characters",
            ));
        }
        let key = VerifierKey::parse(vkey)
            .map_err(|e| FieldError::new("checkpoint.witness.vkey", e.to_string()))?;
        if key.key_type() != journey_tlog::KeyType::CosignatureV1 {
            return Err(FieldError::new(
                "checkpoint.witness.vkey",
                format!("{name}'s key is not a cosignature/v1 key (type 0x04)"),
            ));
        }
        Ok(Witness { name, key })
    }
}

/// What signing did.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Signed {
    pub checkpoint: StoredCheckpoint,
    /// False when the tree had not grown since the last checkpoint, which is given again.
    pub new: bool,
}

/// A witness's cosignature on a checkpoint, for people.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Cosigned {
    /// The witness's name in this server's configuration (its key's name if it is no longer configured).
    pub witness: String,
    /// When the witness says it cosigned (POSIX seconds).
    pub timestamp: u64,
}

/// Which checkpoint a record is proven against, for people: the timeline page's words.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Provenance {
    pub origin: String,
    pub size: u64,
    #[serde(with = "crate::envelope::hex_32")]
    pub root: Hash,
    pub signed_at: Timestamp,
    /// Every configured witness that cosigned it, once, with its first cosignature.
    pub cosigned: Vec<Cosigned>,
}

impl Provenance {
    /// In words, for the timeline page: "Proven in log `<origin>` at tree size N (root `ab12…`), signed
    /// by the log at <time>, cosigned by <witness> at <time> and …" (or "not yet cosigned by any
    /// witness"). A witness's time is the one it claims, in POSIX seconds, shown as an instant.
    pub fn in_words(&self) -> String {
        let root = hex::encode(&self.root[..6]);
        let mut words = format!(
            "Proven in log {} at tree size {} (root {root}…), signed by the log at {}",
            self.origin, self.size, self.signed_at
        );
        if self.cosigned.is_empty() {
            words.push_str(", not yet cosigned by any witness.");
            return words;
        }
        let each: Vec<String> = self
            .cosigned
            .iter()
            .map(|c| {
                let at = i64::try_from(c.timestamp)
                    .ok()
                    .and_then(|s| s.checked_mul(1_000_000))
                    .and_then(|micros| Timestamp::from_micros(micros).ok())
                    .map_or_else(|| format!("{} (POSIX seconds)", c.timestamp), |t| t.to_string());
                format!("{} at {at}", c.witness)
            })
            .collect();
        words.push_str(", cosigned by ");
        match each.split_last() {
            Some((last, [])) => words.push_str(last),
            Some((last, rest)) => {
                words.push_str(&rest.join(", "));
                words.push_str(" and ");
                words.push_str(last);
            }
            None => {}
        }
        words.push('.');
        words
    }
}

/// What `POST /checkpoint/cosignatures` did.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct CosignaturesAccepted {
    pub size: u64,
    /// Witnesses whose cosignature was stored now.
    pub stored: Vec<String>,
    /// Witnesses whose same cosignature was already stored.
    pub already_stored: Vec<String>,
    /// Signature lines of keys this server does not know (its own among them), ignored.
    pub ignored: usize,
}

/// The proof service of one log: its origin, its signing key, the witnesses it knows.
#[derive(Debug)]
pub struct Proofs {
    tree: Arc<dyn TreeStore>,
    origin: Origin,
    signer: NoteSigner,
    witnesses: Vec<Witness>,
    clock: Arc<dyn Clock>,
    /// One signature at a time in this process.
    signing: tokio::sync::Mutex<SignerState>,
}

#[derive(Debug, Default)]
struct SignerState {
    /// Set when the tree was rebuilt because it did not extend the last checkpoint: if the rebuilt tree does
    /// not either, the log itself was changed, and nothing more is signed.
    rebuilt_for: Option<String>,
}

impl Proofs {
    /// The proof service over `tree`, signing with `signer`, whose name must be the origin
    /// `<base>/<log id>`.
    pub fn new(
        tree: Arc<dyn TreeStore>,
        base: &OriginBase,
        signer: NoteSigner,
        witnesses: Vec<Witness>,
        clock: Arc<dyn Clock>,
    ) -> Result<Proofs> {
        let origin = base.origin(tree.log_id());
        if signer.name().as_str() != origin.as_str() {
            return Err(FieldError::new(
                "checkpoint.signing_key",
                format!(
                    "the key is named {}, but this log's origin is {origin}: a log's key is named after its \
                     origin (name this log's key, or, for a key `journey serve` made for another log or \
                     another checkpoint.origin_base, move it aside and a new one is made at the next start)",
                    signer.name()
                ),
            )
            .into());
        }
        Ok(Proofs {
            tree,
            origin,
            signer,
            witnesses,
            clock,
            signing: tokio::sync::Mutex::new(SignerState::default()),
        })
    }

    pub fn origin(&self) -> &Origin {
        &self.origin
    }

    /// The log's verifier key (`<origin>+<key id>+<base64>`): to be given to verifiers out of band.
    pub fn verifier_key(&self) -> VerifierKey {
        self.signer.verifier_key()
    }

    pub fn witnesses(&self) -> &[Witness] {
        &self.witnesses
    }

    pub fn tree(&self) -> &Arc<dyn TreeStore> {
        &self.tree
    }

    /// The tree's size, or `Unavailable` while it is rebuilt.
    async fn ready_size(&self) -> Result<u64> {
        let status = self.tree.tree_status().await?;
        match status.rebuilding {
            Some(why) => Err(Error::Unavailable(format!(
                "the tree over the log is being rebuilt from the log ({why}); {} leaves so far",
                status.size
            ))),
            None => Ok(status.size),
        }
    }

    /// The root of the tree of `size` leaves, from the stored hashes.
    pub async fn root(&self, size: u64) -> Result<Hash> {
        with_hashes(self.tree.as_ref(), |reader| {
            journey_tlog::tree::root(size, &reader)
        })
        .await
    }

    /// Signs a checkpoint of the tree as it stands, by the rules of the module's documentation. Gives the
    /// last checkpoint again when the tree has not grown.
    pub async fn sign(&self) -> Result<Signed> {
        let mut state = self.signing.lock().await;
        self.ready_size().await?;
        // The last checkpoint is read before the tree's size: another server on the same database may sign
        // at any moment, and a checkpoint it stored after this one's tree was read would look like a tree
        // that shrank. Read first, it is one the tree (which only grows) had already reached.
        let latest = self.tree.latest_checkpoint().await?;
        let size = self.tree.sync_tree().await?;
        let root = self.root(size).await?;
        if let Some(latest) = &latest {
            self.check_same_log(latest)?;
            if let Err(problem) = self.extends(latest, size, root).await {
                if let Some(earlier) = &state.rebuilt_for {
                    return Err(Error::Conflict(Conflict::NotConsistent {
                        size: latest.size,
                        detail: format!(
                            "{problem}; the tree was already rebuilt from the log once ({earlier}), so the log \
                             itself no longer extends what was signed: nothing more is signed until an operator \
                             has found out why"
                        ),
                    }));
                }
                state.rebuilt_for = Some(problem.clone());
                self.tree.rebuild_tree(problem.clone()).await?;
                return Err(Error::Unavailable(format!(
                    "{problem}: the tree is being rebuilt from the log before anything more is signed"
                )));
            }
            if latest.size == size {
                return Ok(Signed {
                    checkpoint: latest.clone(),
                    new: false,
                });
            }
        }
        let checkpoint = Checkpoint {
            origin: self.origin.clone(),
            size,
            root,
        };
        let signed = SignedCheckpoint::sign(checkpoint, &self.signer).map_err(tlog_invalid)?;
        let stored = self
            .tree
            .store_checkpoint(StoredCheckpoint {
                size,
                root,
                note: signed.to_bytes(),
                signed_at: self.clock.now(),
            })
            .await?;
        state.rebuilt_for = None;
        Ok(Signed {
            checkpoint: stored,
            new: true,
        })
    }

    /// Refuses to sign for a log whose last checkpoint this service could not have signed: one of another
    /// origin, or signed with another key. A log signs with one key, so every server of it (several on one
    /// PostgreSQL database) must be configured with the same one; a second key would give verifiers who hold
    /// the first checkpoints they reject.
    fn check_same_log(&self, stored: &StoredCheckpoint) -> Result<()> {
        let parsed = SignedCheckpoint::parse(&stored.note)
            .map_err(|e| Error::Decode(format!("the stored checkpoint at tree size {}: {e}", stored.size)))?;
        let origin = &parsed.checkpoint().origin;
        if origin != &self.origin {
            return Err(Error::Conflict(Conflict::NotConsistent {
                size: stored.size,
                detail: format!(
                    "the last checkpoint was signed as {origin}, and this server is configured as {}: a log's \
                     origin never changes (set checkpoint.origin_base back)",
                    self.origin
                ),
            }));
        }
        if parsed.verify(&self.verifier_key()).is_err() {
            return Err(Error::Conflict(Conflict::NotConsistent {
                size: stored.size,
                detail: format!(
                    "the log's last checkpoint (tree size {}) was signed with another key than this server's \
                     ({}): a log signs with one key, so every server of it must be configured with the same \
                     checkpoint.signing_key",
                    stored.size,
                    self.verifier_key()
                ),
            }));
        }
        Ok(())
    }

    /// Whether this service may sign for the log as stored: its last checkpoint, if any, is of this origin and
    /// signed with this key (what [`Proofs::sign`] checks each time; a server checks it at start too).
    pub async fn check_signer(&self) -> Result<()> {
        match self.tree.latest_checkpoint().await? {
            Some(latest) => self.check_same_log(&latest),
            None => Ok(()),
        }
    }

    /// Whether the stored tree of `size` leaves and root `root` extends the checkpoint `latest`.
    async fn extends(
        &self,
        latest: &StoredCheckpoint,
        size: u64,
        root: Hash,
    ) -> std::result::Result<(), String> {
        if size < latest.size {
            return Err(format!(
                "the tree holds {size} leaves, fewer than the {} of the last signed checkpoint",
                latest.size
            ));
        }
        let proof = with_hashes(self.tree.as_ref(), |reader| {
            journey_tlog::tree::consistency_proof(latest.size, size, &reader)
        })
        .await
        .map_err(|e| e.to_string())?;
        let old_root = if latest.size == 0 {
            journey_tlog::EMPTY_ROOT
        } else {
            latest.root
        };
        if latest.size == size && root != old_root {
            return Err(format!(
                "the tree's root at tree size {size} is not the one signed at that size"
            ));
        }
        journey_tlog::verify_consistency(latest.size, size, &old_root, &root, &proof).map_err(|e| {
            format!(
                "the tree of {size} leaves does not extend the checkpoint signed at tree size {} ({e})",
                latest.size
            )
        })
    }

    /// A stored checkpoint as served: the log's note with every configured witness's first cosignature.
    pub async fn served(&self, stored: &StoredCheckpoint) -> Result<SignedCheckpoint> {
        let mut signed = SignedCheckpoint::parse(&stored.note)
            .map_err(|e| Error::Decode(format!("the stored checkpoint at tree size {}: {e}", stored.size)))?;
        for cosignature in self.first_cosignatures(stored.size).await? {
            let line = NoteSignature::parse_line(&cosignature.line).map_err(tlog_invalid)?;
            signed.add_signature(line).map_err(tlog_invalid)?;
        }
        Ok(signed)
    }

    /// Each witness key's first cosignature of the checkpoint of size `size`, in the order received.
    async fn first_cosignatures(&self, size: u64) -> Result<Vec<StoredCosignature>> {
        let mut firsts: Vec<StoredCosignature> = Vec::new();
        for c in self.tree.cosignatures(size).await? {
            if !firsts
                .iter()
                .any(|f| f.key_name == c.key_name && f.key_id == c.key_id)
            {
                firsts.push(c);
            }
        }
        Ok(firsts)
    }

    /// The latest checkpoint, with its cosignatures.
    pub async fn latest(&self) -> Result<Option<SignedCheckpoint>> {
        match self.tree.latest_checkpoint().await? {
            Some(stored) => self.served(&stored).await.map(Some),
            None => Ok(None),
        }
    }

    /// The checkpoint of size `size`, with its cosignatures.
    pub async fn at(&self, size: u64) -> Result<Option<SignedCheckpoint>> {
        match self.tree.checkpoint_at(size).await? {
            Some(stored) => self.served(&stored).await.map(Some),
            None => Ok(None),
        }
    }

    /// Which checkpoint, and which witnesses, a checkpoint's cosignatures name, in words people read.
    pub async fn provenance(&self, stored: &StoredCheckpoint) -> Result<Provenance> {
        let cosigned = self
            .first_cosignatures(stored.size)
            .await?
            .into_iter()
            .map(|c| Cosigned {
                witness: self
                    .witnesses
                    .iter()
                    .find(|w| w.key.name().as_str() == c.key_name && w.key.key_id().0 == c.key_id)
                    .map_or(c.key_name.clone(), |w| w.name.clone()),
                timestamp: c.timestamp,
            })
            .collect();
        Ok(Provenance {
            origin: self.origin.to_string(),
            size: stored.size,
            root: stored.root,
            signed_at: stored.signed_at,
            cosigned,
        })
    }

    /// The checkpoint a record at `position` is proven against: the latest a witness cosigned that covers
    /// it, else the latest signed that covers it (not yet witnessed), else none.
    pub async fn proven_against(&self, position: u64) -> Result<Option<StoredCheckpoint>> {
        if let Some(cosigned) = self.tree.latest_cosigned(u64::MAX).await?
            && cosigned.size >= position
        {
            return Ok(Some(cosigned));
        }
        Ok(self
            .tree
            .latest_checkpoint()
            .await?
            .filter(|latest| latest.size >= position))
    }

    /// Receives witnesses' cosignatures (`POST /checkpoint/cosignatures`): a signed note whose text is one of
    /// this log's checkpoints, carrying cosignature lines (as a witness serves its latest cosigned checkpoint);
    /// or bare cosignature lines, of the checkpoint of size `size` (default: the latest). A line whose key is
    /// a configured witness's is verified and stored; one that does not verify refuses the whole request;
    /// lines of other keys (the log's own among them) are ignored. At least one configured witness must have
    /// cosigned.
    pub async fn receive_cosignatures(&self, body: &[u8], size: Option<u64>) -> Result<CosignaturesAccepted> {
        let text = std::str::from_utf8(body).map_err(|_| FieldError::new("body", "is not UTF-8 text"))?;
        let (checkpoint_text, lines) = if text.contains("\n\n") {
            let note = Note::parse(body).map_err(tlog_invalid)?;
            (Some(note.text().to_owned()), note.signatures().to_vec())
        } else {
            let lines = text
                .lines()
                .filter(|l| !l.is_empty())
                .map(NoteSignature::parse_line)
                .collect::<journey_tlog::Result<Vec<_>>>()
                .map_err(tlog_invalid)?;
            (None, lines)
        };
        let stored = match (&checkpoint_text, size) {
            (Some(text), _) => {
                let checkpoint = Checkpoint::parse_text(text).map_err(tlog_invalid)?;
                if checkpoint.origin != self.origin {
                    return Err(FieldError::new(
                        "checkpoint.origin",
                        format!("{} is not this log ({})", checkpoint.origin, self.origin),
                    )
                    .into());
                }
                self.tree.checkpoint_at(checkpoint.size).await?.ok_or_else(|| {
                    Error::NotFound(format!(
                        "this log signed no checkpoint of tree size {}",
                        checkpoint.size
                    ))
                })?
            }
            (None, Some(size)) => self.tree.checkpoint_at(size).await?.ok_or_else(|| {
                Error::NotFound(format!("this log signed no checkpoint of tree size {size}"))
            })?,
            (None, None) => self
                .tree
                .latest_checkpoint()
                .await?
                .ok_or_else(|| Error::NotFound("this log has signed no checkpoint yet".into()))?,
        };
        let ours = SignedCheckpoint::parse(&stored.note)
            .map_err(|e| Error::Decode(format!("the stored checkpoint at tree size {}: {e}", stored.size)))?;
        if let Some(text) = &checkpoint_text
            && text != ours.note().text()
        {
            return Err(FieldError::new(
                "checkpoint",
                format!(
                    "is not the checkpoint this log signed at tree size {}: the root differs",
                    stored.size
                ),
            )
            .into());
        }
        let now = self.clock.now();
        let mut accepted = CosignaturesAccepted {
            size: stored.size,
            stored: Vec::new(),
            already_stored: Vec::new(),
            ignored: 0,
        };
        let mut verified = Vec::new();
        for line in &lines {
            let Some(witness) = self.witnesses.iter().find(|w| w.key.matches_line(line)) else {
                accepted.ignored += 1;
                continue;
            };
            journey_tlog::cosignature::verify(&witness.key, ours.checkpoint(), line).map_err(|e| {
                FieldError::new(
                    "cosignature",
                    format!(
                        "{}'s cosignature of the checkpoint at tree size {} does not verify: {e}",
                        witness.name, stored.size
                    ),
                )
            })?;
            verified.push((witness.name.clone(), line.to_line()));
        }
        if verified.is_empty() {
            return Err(FieldError::new(
                "cosignature",
                format!(
                    "no cosignature of a configured witness (configured: {})",
                    if self.witnesses.is_empty() {
                        "none; add [[checkpoint.witness]] entries to the config file".to_owned()
                    } else {
                        self.witnesses
                            .iter()
                            .map(|w| w.name.as_str())
                            .collect::<Vec<_>>()
                            .join(", ")
                    }
                ),
            )
            .into());
        }
        for (name, line) in verified {
            let line = line.trim_end_matches('\n');
            let cosignature = StoredCosignature::from_line(stored.size, line, now)?;
            if self.tree.store_cosignature(cosignature).await? {
                accepted.stored.push(name);
            } else {
                accepted.already_stored.push(name);
            }
        }
        Ok(accepted)
    }

    /// The consistency proof from the tree of `old` leaves to the tree of `new`. When both are sizes this
    /// log signed, the proof is checked against their signed roots before it is served.
    pub async fn consistency(&self, old: u64, new: u64) -> Result<Vec<Hash>> {
        let size = self.ready_size().await?;
        if new > size {
            return Err(FieldError::new("new", format!("the tree holds {size} leaves, not {new}")).into());
        }
        if old > new {
            return Err(FieldError::new("old", format!("{old} is larger than new ({new})")).into());
        }
        let proof = with_hashes(self.tree.as_ref(), |reader| {
            journey_tlog::tree::consistency_proof(old, new, &reader)
        })
        .await?;
        if let (Some(a), Some(b)) = (
            self.tree.checkpoint_at(old).await?,
            self.tree.checkpoint_at(new).await?,
        ) && let Err(e) = journey_tlog::verify_consistency(old, new, &a.root, &b.root, &proof)
        {
            return Err(self
                .damaged(format!(
                    "the consistency proof from tree size {old} to {new} made from the stored tree does not \
                     verify against the roots signed at those sizes ({e})"
                ))
                .await);
        }
        Ok(proof)
    }

    /// The stored tree gave a proof that does not verify: it is rebuilt from the log, and the caller is
    /// told to ask again later.
    async fn damaged(&self, why: String) -> Error {
        match self.tree.rebuild_tree(why.clone()).await {
            Ok(()) => Error::Unavailable(format!("{why}; the tree is being rebuilt from the log")),
            Err(e) => e,
        }
    }

    /// The inclusion proof of the record at `position` in the checkpoint of size `size` (default: the one it
    /// is proven against, see [`Proofs::proven_against`]), as a c2sp.org/tlog-proof with the checkpoint and
    /// its cosignatures.
    pub async fn inclusion(&self, position: u64, size: Option<u64>) -> Result<RecordProof> {
        self.ready_size().await?;
        if position == 0 {
            return Err(FieldError::new("position", "positions start at 1").into());
        }
        let stored = match size {
            Some(size) => self.tree.checkpoint_at(size).await?.ok_or_else(|| {
                Error::NotFound(format!("this log signed no checkpoint of tree size {size}"))
            })?,
            None => self.proven_against(position).await?.ok_or_else(|| {
                Error::NotFound(format!(
                    "position {position} is not yet in a signed checkpoint; ask again after the next one"
                ))
            })?,
        };
        if position > stored.size {
            return Err(FieldError::new(
                "position",
                format!("{position} is not in the checkpoint of tree size {}", stored.size),
            )
            .into());
        }
        let index = position - 1;
        let path = with_hashes(self.tree.as_ref(), |reader| {
            journey_tlog::tree::inclusion_proof(index, stored.size, &reader)
        })
        .await?;
        let entry = self
            .tree
            .read_leaf_entries(crate::ids::Position(position), 1)
            .await?
            .pop()
            .ok_or_else(|| Error::NotFound(format!("no record at position {position}")))?;
        // The stored tree is checked where it is opened only at its edges (its last leaf, the last
        // checkpoint's root): a proof is checked before it is served, and one that does not lead from the
        // log's record to the signed root means the stored tree is damaged there.
        if let Err(e) =
            journey_tlog::verify_inclusion(index, stored.size, &entry.leaf_hash(), &path, &stored.root)
        {
            return Err(self
                .damaged(format!(
                    "the inclusion proof of position {position} made from the stored tree does not lead to the \
                     root signed at tree size {} ({e})",
                    stored.size
                ))
                .await);
        }
        Ok(RecordProof::for_entry(
            &entry,
            index,
            path,
            self.served(&stored).await?,
        ))
    }

    /// A tile or an entry bundle (c2sp.org/tlog-tiles) of the tree as it stands.
    pub async fn tile(&self, tile: &TilePath) -> Result<Vec<u8>> {
        let size = self.ready_size().await?;
        if !tile.within(size) {
            return Err(Error::NotFound(format!(
                "{tile} is not in the tree of {size} leaves"
            )));
        }
        match tile.kind() {
            TileKind::Hashes { .. } => {
                with_hashes(self.tree.as_ref(), |reader| {
                    journey_tlog::tiles::read_tile(tile, &reader)
                })
                .await
            }
            TileKind::Entries => {
                let entries = self
                    .tree
                    .read_leaf_entries(crate::ids::Position(tile.start() + 1), usize::from(tile.width()))
                    .await?;
                let bytes: Vec<[u8; 64]> = entries.iter().map(LeafEntry::to_bytes).collect();
                journey_tlog::tiles::encode_entry_bundle(bytes.iter().map(|b| &b[..])).map_err(tree_error)
            }
        }
    }
}

#[cfg(test)]
mod tests;
