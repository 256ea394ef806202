//! Candidate duplicate records (issue #20, "Finding duplicates"): pairs of children's records that may be
//! one child, for an administrator to decide. Never merges anything.
//!
//! The answer names children by id with the reasons (an NHS number or UPN in common, or one birthday and
//! names alike, with how alike), never the values compared. Finding them reads what identifies every child,
//! so the read is access-logged with every child compared, before the answer is given. Sealed adoption
//! records are not compared.

use std::collections::HashMap;
use std::ops::ControlFlow;

use axum::Json;
use axum::extract::State;
use journey_core::view::duplicates::{Candidate, Identity, bears_on_identity, candidates, identity};
use journey_core::{ChildId, RecordedEvent, Timestamp};
use serde::Serialize;
use utoipa::ToSchema;

use crate::AppState;
use crate::access::record_bulk_read;
use crate::auth::{Action, Auth};
use crate::error::ApiResult;
use crate::responses::{Forbidden, Unauthorized};

/// The purpose the comparison is access-logged with.
pub const DUPLICATE_SEARCH: &str = "search for duplicate records";

/// The candidate pairs, strong ones first.
#[derive(Debug, Serialize, ToSchema)]
pub struct Duplicates {
    /// How many children's records were compared.
    pub compared: usize,
    #[schema(value_type = Vec<Object>)]
    pub candidates: Vec<Candidate>,
}

/// Lists pairs of records that may be one child: the same NHS number or UPN (strong), or the same date of
/// birth (or expected date of birth) and names at least 88% alike (Jaro-Winkler). For a person to decide;
/// merging is never automatic. Every child compared is in the access log.
#[utoipa::path(
    get,
    path = "/v1/records/duplicates",
    tag = "records",
    responses(
        (status = 200, body = Duplicates),
        (status = 401, response = Unauthorized),
        (status = 403, response = Forbidden),
    ),
    security(("bearer" = []))
)]
pub async fn duplicates(State(state): State<AppState>, Auth(principal): Auth) -> ApiResult<Json<Duplicates>> {
    principal.require(Action::FindDuplicates)?;
    let known_at = state.clock.now();
    let (compared, identities): (Vec<ChildId>, Vec<Identity>) =
        identities(&state, known_at).await?.into_iter().unzip();
    let count = compared.len();
    record_bulk_read(
        &state,
        &principal,
        Some(DUPLICATE_SEARCH.to_owned()),
        "duplicates",
        compared,
        serde_json::json!({"known_at": known_at}),
    )
    .await?;
    Ok(Json(Duplicates {
        compared: count,
        candidates: candidates(&identities),
    }))
}

/// Every child's identity as known at `known_at` (sealed adoption records passed over), in the order the
/// children were first recorded: one pass over the log, keeping of each child only what bears on its
/// identity.
pub(crate) async fn identities(state: &AppState, known_at: Timestamp) -> ApiResult<Vec<(ChildId, Identity)>> {
    let mut kept: HashMap<ChildId, Vec<RecordedEvent>> = HashMap::new();
    let mut order: Vec<ChildId> = Vec::new();
    // Records already merged are one child, under the surviving record (`crate::merges`).
    let merged = state.merges.view(state.store.as_ref(), known_at).await?;
    crate::routes::each_logged(&merged, |event| {
        // Recorded time never decreases along the log: the rest came later.
        if event.envelope.recorded_at > known_at {
            return ControlFlow::Break(());
        }
        if bears_on_identity(&event.payload) {
            let child = event.envelope.child_id.clone();
            kept.entry(child.clone())
                .or_insert_with(|| {
                    order.push(child);
                    Vec::new()
                })
                .push(event);
        }
        ControlFlow::Continue(())
    })
    .await?;
    let mut out = Vec::with_capacity(order.len());
    for child in order {
        if state
            .sealed
            .sealed_since(state.store.as_ref(), &child)
            .await?
            .is_some()
        {
            continue;
        }
        let identity = identity(&kept[&child], known_at);
        out.push((child, identity));
    }
    Ok(out)
}
