//! One child, one record (issue #20): merging two records found to be one child, and undoing it.
//!
//! A merge of `A` into `B` is recorded as events in both records, never as a rewrite: `RecordMergedInto` in
//! `A` first (from then on the store's judge refuses every append to `A`, naming `B`, so nothing can be
//! recorded under `A` while the merge stands), then `RecordMergedFrom` in `B`, which is the instant the merge
//! takes effect for reads. Undoing it records `MergeUndone` in `B` first (reads of `B` are `B`'s own again),
//! then in `A` (which takes appends again). A crash between the two halves leaves a merge *incomplete*:
//! readers see two children as before, `A` refuses appends, and repeating the same merge (or undoing it)
//! finishes it; the event ids are derived from the merge, so a repeat writes nothing twice.
//!
//! **Appends to `A` are refused, not applied to `B`.** An integrator that writes to `A` finds out from the
//! refusal (a problem naming `B`) and fixes its own link; silently moving its events would leave its system
//! believing in a record that no longer exists, and would put events into `B`'s hash chain that the sender
//! never addressed to it.
//!
//! What is merged at an instant is read from the log itself ([`Merges`], an index caught up on each use).
//! [`MergedView`] is the store as readers see it at an instant: `B` is the union of the records merged into
//! it, in the order recorded and numbered again from 1 (`journey_core::view::merge`); `A` reads as empty (the
//! routes answer a redirect to `B`); and the whole log carries `A`'s records under `B`, so that returns,
//! measures and dry runs count the child once. "As known at T" before the merge shows two children, after it
//! one. Exports and proofs stay per record: each record's hashes are untouched.

use std::collections::{BTreeMap, HashMap};
use std::ops::ControlFlow;
use std::sync::Arc;

use futures::future::BoxFuture;
use journey_core::content_keys::KeyError;
use journey_core::domain::{EventPayload, LongText, MergeUndone, RecordMergedFrom, RecordMergedInto};
use journey_core::store::{AppendOutcome, AppendRequest, EventStore, LogHead, StreamExport, VerifyReport};
use journey_core::view::merge::{MergedStream, merge_problems, merged_stream, merged_version};
use journey_core::{
    AgencyId, ChildId, EventId, ExpectedVersion, FieldError, NewEvent, OccurredAt, Position, PrincipalId,
    Problems, RecordedEvent, Source, SystemId, Timestamp, Version,
};
use serde::Serialize;
use tokio::sync::Mutex;
use utoipa::ToSchema;

use crate::error::{ApiError, ApiResult};

/// One merge of a record into another, as the log records it. The reason stays in the records (sealed with
/// their content, and erased with it): this index, held in memory and listed, keeps only ids and instants.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, ToSchema)]
pub struct Merge {
    /// The `RecordMergedInto` event in the merged record: the merge's identity.
    #[schema(value_type = String)]
    pub merge_event_id: EventId,
    /// The record merged away.
    #[schema(value_type = String)]
    pub merged: ChildId,
    /// The record that survives, read as the union of both.
    #[schema(value_type = String)]
    pub into: ChildId,
    #[schema(value_type = String)]
    pub recorded_by: PrincipalId,
    /// When `RecordMergedInto` was recorded: from then on the merged record takes no appends.
    #[schema(value_type = String, format = DateTime)]
    pub begun_at: Timestamp,
    /// When `RecordMergedFrom` was recorded in the surviving record: the merge's effect on every read.
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(value_type = Option<String>, format = DateTime)]
    pub merged_at: Option<Timestamp>,
    /// When the merge was undone in the surviving record (its reads are its own again).
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(value_type = Option<String>, format = DateTime)]
    pub undone_at: Option<Timestamp>,
    /// When the merged record took appends again (the undoing recorded in it too).
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(value_type = Option<String>, format = DateTime)]
    pub released_at: Option<Timestamp>,
    pub state: MergeState,
    /// The surviving record's `RecordMergedFrom`.
    #[serde(skip)]
    merged_from_event_id: Option<EventId>,
}

/// Where a merge stands.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum MergeState {
    /// Begun in the merged record only (a crash between the two halves): repeat the merge to finish it.
    Incomplete,
    /// In force: the surviving record reads as the union.
    InForce,
    /// Undone in the surviving record only: repeat the undoing to finish it.
    UndoIncomplete,
    Undone,
}

impl Merge {
    fn state(&self) -> MergeState {
        match (self.merged_at, self.undone_at, self.released_at) {
            (_, _, Some(_)) => MergeState::Undone,
            (_, Some(_), None) => MergeState::UndoIncomplete,
            (Some(_), None, None) => MergeState::InForce,
            (None, None, None) => MergeState::Incomplete,
        }
    }

    /// Whether the merge is in effect for reads as known at `at`.
    fn in_force_at(&self, at: Timestamp) -> bool {
        self.merged_at.is_some_and(|m| m <= at) && self.undone_at.is_none_or(|u| u > at)
    }

    /// Whether the merged record refuses appends now (the store's judge decides; this is for messages).
    fn holds_merged_record(&self) -> bool {
        self.released_at.is_none()
    }
}

/// The merges the log records, caught up with the log on each use.
#[derive(Default)]
pub struct Merges {
    index: Mutex<Index>,
}

impl std::fmt::Debug for Merges {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Merges").finish_non_exhaustive()
    }
}

#[derive(Default)]
struct Index {
    next: Option<Position>,
    /// By the merged record's `RecordMergedInto` id, in the order begun.
    merges: BTreeMap<Position, Merge>,
    /// Each merge's `RecordMergedInto` id -> its position (the key above).
    by_event: HashMap<EventId, Position>,
    /// Each surviving record's `RecordMergedFrom` id -> the merge's position.
    by_from_event: HashMap<EventId, Position>,
}

impl Index {
    async fn catch_up(&mut self, store: &dyn EventStore) -> ApiResult<()> {
        let from = self.next.unwrap_or(Position::FIRST);
        let next = crate::routes::each_logged_from(store, from, |e| {
            if e.payload.kind().is_merge() {
                self.observe(&e);
            }
            ControlFlow::Continue(())
        })
        .await?;
        self.next = Some(next);
        Ok(())
    }

    fn observe(&mut self, e: &RecordedEvent) {
        let env = &e.envelope;
        match &e.payload {
            EventPayload::RecordMergedInto(m) => {
                self.by_event.insert(env.event_id.clone(), env.position);
                let mut merge = Merge {
                    merge_event_id: env.event_id.clone(),
                    merged: env.child_id.clone(),
                    into: m.surviving_child_id.clone(),
                    recorded_by: env.recorded_by.clone(),
                    begun_at: env.recorded_at,
                    merged_at: None,
                    undone_at: None,
                    released_at: None,
                    state: MergeState::Incomplete,
                    merged_from_event_id: None,
                };
                merge.state = merge.state();
                self.merges.insert(env.position, merge);
            }
            EventPayload::RecordMergedFrom(m) => {
                if let Some(&at) = self.by_event.get(&m.merge_event_id)
                    && let Some(merge) = self.merges.get_mut(&at)
                    && merge.merged_at.is_none()
                {
                    merge.merged_at = Some(env.recorded_at);
                    merge.merged_from_event_id = Some(env.event_id.clone());
                    merge.state = merge.state();
                    self.by_from_event.insert(env.event_id.clone(), at);
                }
            }
            EventPayload::MergeUndone(u) => {
                if let Some(&at) = self.by_event.get(&u.merge_event_id)
                    && let Some(merge) = self.merges.get_mut(&at)
                {
                    merge.released_at = Some(env.recorded_at);
                    merge.state = merge.state();
                } else if let Some(&at) = self.by_from_event.get(&u.merge_event_id)
                    && let Some(merge) = self.merges.get_mut(&at)
                {
                    merge.undone_at = Some(env.recorded_at);
                    merge.state = merge.state();
                }
            }
            _ => {}
        }
    }

    /// The merge that holds `child` as the merged record, if one does (not yet released).
    fn holding(&self, child: &ChildId) -> Option<&Merge> {
        self.merges
            .values()
            .rev()
            .find(|m| &m.merged == child && m.holds_merged_record())
    }
}

impl Merges {
    /// Every merge, in the order begun.
    pub async fn list(&self, store: &dyn EventStore) -> ApiResult<Vec<Merge>> {
        let mut index = self.index.lock().await;
        index.catch_up(store).await?;
        Ok(index.merges.values().cloned().collect())
    }

    /// The store as readers see it as known at `at`: the merges in force then applied.
    pub async fn view<'a>(&self, store: &'a dyn EventStore, at: Timestamp) -> ApiResult<MergedView<'a>> {
        let mut index = self.index.lock().await;
        index.catch_up(store).await?;
        let mut groups: HashMap<ChildId, Vec<ChildId>> = HashMap::new();
        let mut survivor_of = HashMap::new();
        for m in index.merges.values().filter(|m| m.in_force_at(at)) {
            groups.entry(m.into.clone()).or_default().push(m.merged.clone());
            survivor_of.insert(m.merged.clone(), m.into.clone());
        }
        Ok(MergedView {
            inner: store,
            survivor_of,
            groups,
            positions: Mutex::new(HashMap::new()),
        })
    }

    /// Merges `merged` into `into` (both checked to exist and be readable by the caller), or finishes an
    /// incomplete merge of the two. Refused, naming the rule, when either record is merged already, or when
    /// the merged history would be impossible by the domain rules (`merge_problems`).
    pub async fn merge(
        &self,
        store: &dyn EventStore,
        merged: &ChildId,
        into: &ChildId,
        reason: &LongText,
        by: &PrincipalId,
        now: Timestamp,
    ) -> ApiResult<Merge> {
        if merged == into {
            return Err(field(
                "into",
                "is the record being merged: a merge joins two different children's records",
            ));
        }
        let existing = {
            let mut index = self.index.lock().await;
            index.catch_up(store).await?;
            if let Some(m) = index.holding(into) {
                return Err(field(
                    "into",
                    format!(
                        "{into} is itself merged into {} ({}): merge into {} instead",
                        m.into, m.merge_event_id, m.into
                    ),
                ));
            }
            index.holding(merged).cloned()
        };
        let begun = match existing {
            Some(m) if &m.into != into => {
                return Err(ApiError::ConflictDetail(format!(
                    "{merged} is already merged into {} ({}): undo that merge first",
                    m.into, m.merge_event_id
                )));
            }
            Some(m) if m.state == MergeState::Incomplete => m.merge_event_id,
            Some(m) if m.state == MergeState::UndoIncomplete => {
                return Err(ApiError::ConflictDetail(format!(
                    "the merge of {merged} into {into} is being undone ({}): finish undoing it first",
                    m.merge_event_id
                )));
            }
            Some(m) => return Ok(m),
            None => {
                let merged_events = whole(store, merged).await?;
                let survivor_events = whole(store, into).await?;
                merge_problems(&survivor_events, &merged_events, now, "into").into_result()?;
                let version = merged_events.last().map_or(0, |e| e.envelope.version.0);
                let id = event_id(format!("merge:{merged}:v{}", version + 1))?;
                let payload = EventPayload::RecordMergedInto(RecordMergedInto {
                    surviving_child_id: into.clone(),
                    reason: reason.clone(),
                });
                append(
                    store,
                    merged,
                    ExpectedVersion::Exact(Version(version)),
                    by,
                    now,
                    &id,
                    payload,
                )
                .await?;
                id
            }
        };
        let payload = EventPayload::RecordMergedFrom(RecordMergedFrom {
            merged_child_id: merged.clone(),
            merge_event_id: begun.clone(),
            reason: reason.clone(),
        });
        let from_id = event_id(format!("{begun}:from"))?;
        append(store, into, ExpectedVersion::Any, by, now, &from_id, payload).await?;
        self.find(store, &begun).await
    }

    /// Undoes the merge holding `merged` (or finishes undoing it): `MergeUndone` in the surviving record,
    /// then in the merged one.
    pub async fn undo(
        &self,
        store: &dyn EventStore,
        merged: &ChildId,
        reason: &LongText,
        by: &PrincipalId,
        now: Timestamp,
    ) -> ApiResult<Merge> {
        let m = {
            let mut index = self.index.lock().await;
            index.catch_up(store).await?;
            index.holding(merged).cloned()
        };
        let Some(m) = m else {
            return Err(ApiError::NotFound(format!(
                "{merged} is not merged into another record"
            )));
        };
        if let (Some(from), None) = (&m.merged_from_event_id, m.undone_at) {
            let payload = EventPayload::MergeUndone(MergeUndone {
                merge_event_id: from.clone(),
                reason: reason.clone(),
            });
            let id = event_id(format!("{from}:undone"))?;
            append(store, &m.into, ExpectedVersion::Any, by, now, &id, payload).await?;
        }
        let payload = EventPayload::MergeUndone(MergeUndone {
            merge_event_id: m.merge_event_id.clone(),
            reason: reason.clone(),
        });
        let id = event_id(format!("{}:undone", m.merge_event_id))?;
        append(store, merged, ExpectedVersion::Any, by, now, &id, payload).await?;
        self.find(store, &m.merge_event_id).await
    }

    async fn find(&self, store: &dyn EventStore, merge_event_id: &EventId) -> ApiResult<Merge> {
        let mut index = self.index.lock().await;
        index.catch_up(store).await?;
        let at = index.by_event.get(merge_event_id).copied();
        at.and_then(|at| index.merges.get(&at).cloned()).ok_or_else(|| {
            ApiError::Internal(format!(
                "merge {merge_event_id} recorded but not found in the log"
            ))
        })
    }
}

fn field(name: &str, rule: impl Into<String>) -> ApiError {
    ApiError::Invalid(Problems::from(FieldError::new(name, rule)))
}

fn event_id(id: String) -> ApiResult<EventId> {
    EventId::parse(id).map_err(|e| ApiError::Internal(format!("a merge's event id: {e}")))
}

async fn whole(store: &dyn EventStore, child: &ChildId) -> ApiResult<Vec<RecordedEvent>> {
    let events = store
        .read_stream(child.clone(), Version::FIRST, usize::MAX)
        .await?;
    if events.is_empty() {
        return Err(crate::routes::children::unknown_child(child, None));
    }
    Ok(events)
}

/// Appends one merge event, recorded by the admin's key as Journey's own records decision. A repeat of an
/// event already stored (a retried merge) is harmless: the store recognises the id and content.
async fn append(
    store: &dyn EventStore,
    child: &ChildId,
    expected: ExpectedVersion,
    by: &PrincipalId,
    now: Timestamp,
    id: &EventId,
    payload: EventPayload,
) -> ApiResult<AppendOutcome> {
    let event = NewEvent {
        event_id: id.clone(),
        occurred_at: OccurredAt::on(now.england_date()),
        source: Source {
            agency: AgencyId::parse("journey").expect("valid agency"),
            system: SystemId::parse("journey-merge").expect("valid system"),
        },
        correlation_id: None,
        causation_id: None,
        source_recorded_at: None,
        payload,
    };
    let request = AppendRequest {
        child_id: child.clone(),
        expected,
        recorded_by: by.clone(),
        events: vec![event],
    };
    Ok(store.append(request).await?)
}

/// The store as readers see it at an instant, with the merges in force then (see the module documentation).
/// Nothing is appended through it.
pub struct MergedView<'a> {
    inner: &'a dyn EventStore,
    /// Each record merged away -> the record it was merged into.
    survivor_of: HashMap<ChildId, ChildId>,
    /// Each surviving record -> the records merged into it.
    groups: HashMap<ChildId, Vec<ChildId>>,
    /// Each surviving record -> the log positions of the union, sorted (read once, on first need).
    positions: Mutex<HashMap<ChildId, Arc<Vec<Position>>>>,
}

impl std::fmt::Debug for MergedView<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("MergedView")
            .field("survivor_of", &self.survivor_of)
            .finish_non_exhaustive()
    }
}

impl<'a> MergedView<'a> {
    /// The record `child` was merged into, if it was (as known at the view's instant).
    pub fn survivor_of(&self, child: &ChildId) -> Option<&ChildId> {
        self.survivor_of.get(child)
    }

    /// The records merged into `child` (as known at the view's instant).
    pub fn merged_into(&self, child: &ChildId) -> &[ChildId] {
        self.groups.get(child).map_or(&[], Vec::as_slice)
    }

    /// `child`'s whole record as readers see it: the union of its records when others were merged into it,
    /// with where each event was recorded.
    pub async fn record(&self, child: &ChildId) -> journey_core::Result<MergedStream> {
        if self.survivor_of.contains_key(child) {
            return Ok(MergedStream::default());
        }
        let Some(members) = self.groups.get(child) else {
            let events = self
                .inner
                .read_stream(child.clone(), Version::FIRST, usize::MAX)
                .await?;
            return Ok(MergedStream {
                events,
                recorded_under: HashMap::new(),
            });
        };
        let mut records = vec![
            self.inner
                .read_stream(child.clone(), Version::FIRST, usize::MAX)
                .await?,
        ];
        for m in members {
            records.push(self.member(m).await?);
        }
        Ok(merged_stream(child, records))
    }

    /// The records of `child`'s union as stored (each with its own record's id and version), in log order.
    pub async fn stored_records(&self, child: &ChildId) -> journey_core::Result<Vec<RecordedEvent>> {
        let mut events = self
            .inner
            .read_stream(child.clone(), Version::FIRST, usize::MAX)
            .await?;
        for m in self.merged_into(child) {
            events.extend(self.member(m).await?);
        }
        events.sort_by_key(|e| e.envelope.position);
        Ok(events)
    }

    /// A record merged into another, for the union: nothing of one whose content was destroyed (erased under
    /// its retention rule, issue #19), so that the survivor still reads as what remains.
    async fn member(&self, child: &ChildId) -> journey_core::Result<Vec<RecordedEvent>> {
        match self
            .inner
            .read_stream(child.clone(), Version::FIRST, usize::MAX)
            .await
        {
            Err(journey_core::Error::Key(KeyError::Destroyed { .. })) => Ok(Vec::new()),
            other => other,
        }
    }

    /// The sorted log positions of `survivor`'s union.
    async fn union_positions(&self, survivor: &ChildId) -> journey_core::Result<Arc<Vec<Position>>> {
        if let Some(p) = self.positions.lock().await.get(survivor) {
            return Ok(p.clone());
        }
        let mut positions = Vec::new();
        let own = self
            .inner
            .read_stream(survivor.clone(), Version::FIRST, usize::MAX)
            .await?;
        positions.extend(own.iter().map(|e| e.envelope.position));
        for child in self.merged_into(survivor) {
            positions.extend(self.member(child).await?.iter().map(|e| e.envelope.position));
        }
        positions.sort();
        let positions = Arc::new(positions);
        self.positions
            .lock()
            .await
            .insert(survivor.clone(), positions.clone());
        Ok(positions)
    }

    /// The survivor a record's events are read under, if it belongs to a merged group.
    fn group_of(&self, child: &ChildId) -> Option<ChildId> {
        match self.survivor_of.get(child) {
            Some(survivor) => Some(survivor.clone()),
            None => self.groups.contains_key(child).then(|| child.clone()),
        }
    }
}

impl EventStore for MergedView<'_> {
    fn append(&self, _: AppendRequest) -> BoxFuture<'_, journey_core::Result<AppendOutcome>> {
        Box::pin(async {
            Err(journey_core::Error::Invalid(Problems::from(FieldError::new(
                "child_id",
                "a merged view of the record is read, never appended to",
            ))))
        })
    }

    fn read_stream(
        &self,
        child_id: ChildId,
        from: Version,
        limit: usize,
    ) -> BoxFuture<'_, journey_core::Result<Vec<RecordedEvent>>> {
        Box::pin(async move {
            if self.survivor_of.contains_key(&child_id) {
                return Ok(Vec::new());
            }
            if !self.groups.contains_key(&child_id) {
                return self.inner.read_stream(child_id, from, limit).await;
            }
            let record = self.record(&child_id).await?;
            Ok(record
                .events
                .into_iter()
                .filter(|e| e.envelope.version >= from)
                .take(limit)
                .collect())
        })
    }

    fn stream_version(&self, child_id: ChildId) -> BoxFuture<'_, journey_core::Result<Option<Version>>> {
        Box::pin(async move {
            if self.survivor_of.contains_key(&child_id) {
                return Ok(None);
            }
            if !self.groups.contains_key(&child_id) {
                return self.inner.stream_version(child_id).await;
            }
            let positions = self.union_positions(&child_id).await?;
            Ok(Some(Version(positions.len() as u64)))
        })
    }

    fn read_all(
        &self,
        from: Position,
        limit: usize,
    ) -> BoxFuture<'_, journey_core::Result<Vec<RecordedEvent>>> {
        Box::pin(async move {
            let mut page = self.inner.read_all(from, limit).await?;
            if self.groups.is_empty() {
                return Ok(page);
            }
            for e in &mut page {
                let Some(survivor) = self.group_of(&e.envelope.child_id) else {
                    continue;
                };
                let positions = self.union_positions(&survivor).await?;
                e.envelope.version = merged_version(&positions, e.envelope.position);
                e.envelope.child_id = survivor;
            }
            Ok(page)
        })
    }

    fn head(&self) -> BoxFuture<'_, journey_core::Result<LogHead>> {
        self.inner.head()
    }

    fn watch_head(&self) -> tokio::sync::watch::Receiver<u64> {
        self.inner.watch_head()
    }

    fn export_stream(&self, child_id: ChildId) -> BoxFuture<'_, journey_core::Result<StreamExport>> {
        self.inner.export_stream(child_id)
    }

    fn verify(&self) -> BoxFuture<'_, journey_core::Result<VerifyReport>> {
        self.inner.verify()
    }

    fn content_sealed(&self) -> bool {
        self.inner.content_sealed()
    }

    fn seal_for_child(
        &self,
        child_id: &ChildId,
        aad: &[u8],
        plaintext: &[u8],
    ) -> journey_core::Result<Option<Vec<u8>>> {
        self.inner.seal_for_child(child_id, aad, plaintext)
    }

    fn open_for_child(&self, child_id: &ChildId, aad: &[u8], sealed: &[u8]) -> journey_core::Result<Vec<u8>> {
        self.inner.open_for_child(child_id, aad, sealed)
    }

    fn failure(&self) -> Option<String> {
        self.inner.failure()
    }
}
