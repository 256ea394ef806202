//! Sealed adoption records (`shared/domain/rules.md` §8; Adoption and Children Act 2002 ss56-65): once an
//! adoption order is recorded, the child's pre-adoption record is sealed.
//!
//! * **Hidden from every ordinary role.** A read of a sealed child by any role but `sealed-records` answers
//!   exactly as for a child that does not exist (the same 404, after the same access-log record), so that
//!   existence does not leak. The log, the feed and dry runs pass over its events; returns and measures
//!   count it under a pseudonym (below). Admin is an ordinary role here.
//! * **Opened with a legal basis.** The `sealed-records` role may open it, stating the legal basis in
//!   `X-Journey-Legal-Basis` as well as a purpose; the access-log record of every opening names the basis.
//!   Without a basis the opening is refused (400 naming the header).
//! * **Counted without exposing the child.** The DfE's returns and the measures for the years before the
//!   order still need the child. In them a sealed child is named by a pseudonym, `Z` and nine hex digits of
//!   an HMAC-SHA256 of its id under a key of this deployment's (kept in the journal's `sealing` stream):
//!   stable from year to year, as the DfE links children across years, and not reversible without the key.
//!
//! What seals a record is core's [`sealed_since`]; this module keeps an index of the sealed children
//! ([`SealedRecords`]), caught up from the log on each use: it reads only the records appended since, and
//! re-reads a child's stream only when a record may change whether it is sealed.

use std::collections::{HashMap, HashSet};

use futures::future::BoxFuture;
use journey_core::ExpectedVersion;
use journey_core::domain::EventPayload;
use journey_core::journal::{Journal, NewRecord, SystemStream};
use journey_core::store::{AppendOutcome, AppendRequest, EventStore, LogHead, StreamExport, VerifyReport};
use journey_core::view::{may_change_sealing, sealing};
use journey_core::{ChildId, Date, FieldError, Position, PrincipalId, RecordedEvent, Version};
use rand::RngCore;
use ring::hmac;
use serde::{Deserialize, Serialize};
use tokio::sync::{Mutex, OnceCell};

use crate::error::{ApiError, ApiResult};

/// The header in which the `sealed-records` role states the legal basis for opening a sealed record.
pub const LEGAL_BASIS_HEADER: &str = "x-journey-legal-basis";
const LEGAL_BASIS_MAX: usize = 500;
/// The journal stream holding this deployment's pseudonym key.
pub const SEALING_STREAM: &str = "sealing";
pub const PSEUDONYM_KEY_CREATED: &str = "PseudonymKeyCreated";

pub fn sealing_stream() -> SystemStream {
    SystemStream::parse(SEALING_STREAM).expect("valid stream name")
}

/// The body of the `PseudonymKeyCreated` record: the HMAC key, hex.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct PseudonymKeyCreated {
    key: String,
}

/// The sealed children, as the log says up to the last record read.
#[derive(Default)]
pub struct SealedRecords {
    index: Mutex<Index>,
    pseudonym_key: OnceCell<hmac::Key>,
}

impl std::fmt::Debug for SealedRecords {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SealedRecords").finish_non_exhaustive()
    }
}

#[derive(Default)]
struct Index {
    /// The next position of the log to read.
    next: Option<Position>,
    /// Each sealed child and the date it was sealed from.
    sealed: HashMap<ChildId, Date>,
    /// Each child recorded as continuing under new identities after adoption -> those identities.
    continued_as: HashMap<ChildId, Vec<ChildId>>,
}

impl SealedRecords {
    /// The sealed children now: the index caught up with the log first.
    pub async fn snapshot(&self, store: &dyn EventStore) -> ApiResult<HashMap<ChildId, Date>> {
        let mut index = self.index.lock().await;
        index.catch_up(store).await?;
        Ok(index.sealed.clone())
    }

    /// The date `child_id`'s record is sealed from, if it is.
    pub async fn sealed_since(&self, store: &dyn EventStore, child_id: &ChildId) -> ApiResult<Option<Date>> {
        let mut index = self.index.lock().await;
        index.catch_up(store).await?;
        Ok(index.sealed.get(child_id).copied())
    }

    /// What links `child_id` to other identities across an adoption: the record it was sealed in and the
    /// identities it continued under, or the sealed records it continues.
    pub async fn identities(&self, store: &dyn EventStore, child_id: &ChildId) -> ApiResult<Identities> {
        let mut index = self.index.lock().await;
        index.catch_up(store).await?;
        let mut continued_from: Vec<ChildId> = index
            .continued_as
            .iter()
            .filter(|(_, new)| new.contains(child_id))
            .map(|(old, _)| old.clone())
            .collect();
        continued_from.sort();
        Ok(Identities {
            child_id: child_id.clone(),
            sealed_since: index.sealed.get(child_id).copied(),
            continued_as: index.continued_as.get(child_id).cloned().unwrap_or_default(),
            continued_from,
        })
    }

    /// The events of `events` whose children are not sealed (what the log and the feed show).
    pub async fn without_sealed(
        &self,
        store: &dyn EventStore,
        events: Vec<RecordedEvent>,
    ) -> ApiResult<Vec<RecordedEvent>> {
        let sealed = self.snapshot(store).await?;
        if sealed.is_empty() {
            return Ok(events);
        }
        Ok(events
            .into_iter()
            .filter(|e| !sealed.contains_key(&e.envelope.child_id))
            .collect())
    }

    /// The pseudonym a sealed child is counted under in returns and measures.
    pub async fn pseudonym(&self, journal: &dyn Journal, child_id: &ChildId) -> ApiResult<ChildId> {
        let key = self
            .pseudonym_key
            .get_or_try_init(|| pseudonym_key(journal))
            .await?;
        let tag = hmac::sign(key, child_id.as_str().as_bytes());
        let name = format!("Z{}", &hex::encode(tag.as_ref())[..9]);
        Ok(ChildId::parse(name).expect("a pseudonym is a valid child id"))
    }
}

impl Index {
    async fn catch_up(&mut self, store: &dyn EventStore) -> ApiResult<()> {
        let from = self.next.unwrap_or(Position::FIRST);
        let mut changed: HashSet<ChildId> = HashSet::new();
        let next = crate::routes::each_logged_from(store, from, |e| {
            if may_change_sealing(&e.payload) {
                changed.insert(e.envelope.child_id);
            }
            std::ops::ControlFlow::Continue(())
        })
        .await?;
        self.next = Some(next);
        for child_id in changed {
            let stream = store
                .read_stream(child_id.clone(), Version::FIRST, usize::MAX)
                .await?;
            let sealing = sealing(&stream);
            if sealing.continued_as.is_empty() {
                self.continued_as.remove(&child_id);
            } else {
                self.continued_as.insert(child_id.clone(), sealing.continued_as);
            }
            match sealing.since {
                Some(since) => self.sealed.insert(child_id, since),
                None => self.sealed.remove(&child_id),
            };
        }
        Ok(())
    }
}

/// This deployment's pseudonym key: the one in the journal, or a new random one put there (once: a second
/// server racing to put its own reads the winner's).
async fn pseudonym_key(journal: &dyn Journal) -> ApiResult<hmac::Key> {
    let stream = sealing_stream();
    loop {
        if let Some(record) = journal
            .read_stream(&stream, 1, 1)
            .await?
            .into_iter()
            .find(|r| r.kind.as_str() == PSEUDONYM_KEY_CREATED)
        {
            let body: PseudonymKeyCreated = record.body_as()?;
            let key = hex::decode(&body.key)
                .map_err(|_| ApiError::Internal("the journal's pseudonym key is not hex".into()))?;
            return Ok(hmac::Key::new(hmac::HMAC_SHA256, &key));
        }
        let mut key = [0u8; 32];
        rand::rng().fill_bytes(&mut key);
        let record = NewRecord::new(
            PSEUDONYM_KEY_CREATED,
            PrincipalId::parse("journey").expect("valid principal"),
            &PseudonymKeyCreated {
                key: hex::encode(key),
            },
        );
        match journal
            .append(&stream, ExpectedVersion::NoStream, vec![record])
            .await
        {
            Ok(_) => return Ok(hmac::Key::new(hmac::HMAC_SHA256, &key)),
            Err(journey_core::Error::Conflict(_)) => continue,
            Err(e) => return Err(e.into()),
        }
    }
}

/// The refusal of an opening without a legal basis: 400 naming the header.
pub fn legal_basis_required(child_id: &ChildId) -> ApiError {
    ApiError::BadRequest {
        detail: format!(
            "{child_id}: opening a sealed adoption record, or the links between a child's identities, needs the \
             legal basis in the X-Journey-Legal-Basis header"
        ),
        errors: vec![FieldError::new(
            "X-Journey-Legal-Basis",
            "required to open a sealed adoption record (for example the section of the Adoption and Children \
             Act 2002 or the court order that allows it)",
        )],
    }
}

/// The legal basis stated for opening a sealed record, from `X-Journey-Legal-Basis`.
pub fn legal_basis(headers: &axum::http::HeaderMap) -> ApiResult<Option<String>> {
    let Some(value) = headers.get(LEGAL_BASIS_HEADER) else {
        return Ok(None);
    };
    let bad = |rule: &str| ApiError::BadRequest {
        detail: format!("X-Journey-Legal-Basis {rule}"),
        errors: vec![FieldError::new("X-Journey-Legal-Basis", rule)],
    };
    let text = value
        .to_str()
        .map_err(|_| bad("must be visible ASCII text"))?
        .trim();
    if text.is_empty() {
        return Ok(None);
    }
    if text.len() > LEGAL_BASIS_MAX {
        return Err(bad("must be at most 500 characters"));
    }
    Ok(Some(text.to_owned()))
}

impl SealedRecords {
    /// `store` (the log as stored, or a view of it: `crate::merges`) as returns and measures read it: a
    /// sealed child counted under its pseudonym ([`Pseudonymised`]). Which children are sealed is read from
    /// `log`, the log as stored.
    pub async fn for_counting<'a>(
        &self,
        log: &dyn EventStore,
        store: &'a dyn EventStore,
        journal: &dyn Journal,
    ) -> ApiResult<Pseudonymised<'a>> {
        let mut names = HashMap::new();
        for child_id in self.snapshot(log).await?.into_keys() {
            let pseudonym = self.pseudonym(journal, &child_id).await?;
            names.insert(child_id, pseudonym);
        }
        Ok(Pseudonymised { inner: store, names })
    }
}

/// A store whose sealed children are counted without being exposed: each of their records carries the
/// child's pseudonym instead of its id, and no name or NHS number (which no return needs). What the DfE
/// requires of every child (date of birth, sex, ethnicity, UPN, the episodes) stays, so that the returns and
/// measures of the years before the order still count the child as the DfE requires. Reads of one child
/// by id find no sealed child (a pseudonym names none); nothing is appended through it.
#[derive(Debug)]
pub struct Pseudonymised<'a> {
    inner: &'a dyn EventStore,
    /// Each sealed child's id -> its pseudonym.
    names: HashMap<ChildId, ChildId>,
}

impl Pseudonymised<'_> {
    fn counted(&self, mut events: Vec<RecordedEvent>) -> Vec<RecordedEvent> {
        if self.names.is_empty() {
            return events;
        }
        for e in &mut events {
            if let Some(pseudonym) = self.names.get(&e.envelope.child_id) {
                e.envelope.child_id = pseudonym.clone();
                strip_identity(&mut e.payload);
            }
        }
        events
    }
}

/// Takes the child's names and NHS number out of a record that carries them (in force or as corrected).
fn strip_identity(payload: &mut EventPayload) {
    match payload {
        EventPayload::ChildRegistered(r) => {
            (r.given_name, r.family_name, r.preferred_name, r.nhs_number) = (None, None, None, None);
        }
        EventPayload::ChildDetailsAmended(a) => {
            (a.given_name, a.family_name, a.preferred_name, a.nhs_number) = (None, None, None, None);
        }
        EventPayload::EventCorrected(c) => strip_identity(&mut c.replacement),
        _ => {}
    }
}

impl EventStore for Pseudonymised<'_> {
    fn append(&self, _: AppendRequest) -> BoxFuture<'_, journey_core::Result<AppendOutcome>> {
        Box::pin(async {
            Err(journey_core::Error::Invalid(journey_core::Problems::from(
                FieldError::new(
                    "child_id",
                    "returns and measures read the record; they append nothing",
                ),
            )))
        })
    }

    fn read_stream(
        &self,
        child_id: ChildId,
        from: Version,
        limit: usize,
    ) -> BoxFuture<'_, journey_core::Result<Vec<RecordedEvent>>> {
        Box::pin(async move {
            if self.names.contains_key(&child_id) {
                return Ok(Vec::new());
            }
            self.inner.read_stream(child_id, from, limit).await
        })
    }

    fn stream_version(&self, child_id: ChildId) -> BoxFuture<'_, journey_core::Result<Option<Version>>> {
        Box::pin(async move {
            if self.names.contains_key(&child_id) {
                return Ok(None);
            }
            self.inner.stream_version(child_id).await
        })
    }

    fn read_all(
        &self,
        from: Position,
        limit: usize,
    ) -> BoxFuture<'_, journey_core::Result<Vec<RecordedEvent>>> {
        Box::pin(async move { Ok(self.counted(self.inner.read_all(from, limit).await?)) })
    }

    fn head(&self) -> BoxFuture<'_, journey_core::Result<LogHead>> {
        self.inner.head()
    }

    fn watch_head(&self) -> tokio::sync::watch::Receiver<u64> {
        self.inner.watch_head()
    }

    fn export_stream(&self, child_id: ChildId) -> BoxFuture<'_, journey_core::Result<StreamExport>> {
        Box::pin(async move {
            if self.names.contains_key(&child_id) {
                return Err(journey_core::Error::Invalid(journey_core::Problems::from(
                    FieldError::new("child_id", "no such child"),
                )));
            }
            self.inner.export_stream(child_id).await
        })
    }

    fn verify(&self) -> BoxFuture<'_, journey_core::Result<VerifyReport>> {
        self.inner.verify()
    }
}

/// The links between a child's identities across an adoption: what only the `sealed-records` role sees.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct Identities {
    #[schema(value_type = String)]
    pub child_id: ChildId,
    /// When the child's own record was sealed by an adoption order, if it was.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schema(value_type = Option<String>, format = Date)]
    pub sealed_since: Option<Date>,
    /// The identities the child continued under after adoption.
    #[schema(value_type = Vec<String>)]
    pub continued_as: Vec<ChildId>,
    /// The sealed pre-adoption records this child continues.
    #[schema(value_type = Vec<String>)]
    pub continued_from: Vec<ChildId>,
}
