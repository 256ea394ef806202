//! The whole log: pages from a position, the live change feed (Server-Sent Events), verification.

use std::collections::BTreeSet;
use std::convert::Infallible;

use axum::Json;
use axum::extract::State;
use axum::http::HeaderMap;
use axum::response::sse::{Event, KeepAlive, Sse};
use futures::stream::{Stream, StreamExt};
use journey_core::error::FieldError;
use journey_core::journal::JournalVerification;
use journey_core::store::VerifyReport;
use journey_core::{ChildId, Position, RecordedEvent};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

use crate::AppState;
use crate::access::{Purpose, PurposeHeader, record_bulk_read};
use crate::auth::{Action, Auth};
use crate::error::{ApiError, ApiResult};
use crate::extract::QueryParams;
use crate::responses::{BadRequest, Forbidden, Unauthorized};
use crate::schemas;

#[derive(Debug, Deserialize, Serialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct LogQuery {
    /// The first position to return (default 1).
    #[param(minimum = 1)]
    pub from: Option<u64>,
    /// At most this many records (default and maximum: the server's page size, 1000).
    #[param(minimum = 1)]
    pub limit: Option<usize>,
}

/// A page of the global log.
#[derive(Debug, Serialize, ToSchema)]
pub struct LogPage {
    #[schema(value_type = Vec<schemas::RecordedEvent>)]
    pub events: Vec<RecordedEvent>,
    /// The `from` of the next page: the position after the last record returned (or `from` when empty).
    pub next_position: u64,
}

fn bad_param(field: &str, rule: &str) -> ApiError {
    ApiError::BadRequest {
        detail: format!("{field} {rule}"),
        errors: vec![FieldError::new(field, rule)],
    }
}

/// Reads the global log in position order (admins only: it holds every child's records). The children
/// returned are written to the access log before the page is answered.
#[utoipa::path(
    get,
    path = "/v1/log",
    tag = "log",
    params(LogQuery, PurposeHeader),
    responses(
        (status = 200, body = LogPage),
        (status = 400, response = BadRequest),
        (status = 401, response = Unauthorized),
        (status = 403, response = Forbidden),
    ),
    security(("bearer" = []))
)]
pub async fn read_log(
    State(state): State<AppState>,
    Auth(principal): Auth,
    purpose: Purpose,
    QueryParams(query): QueryParams<LogQuery>,
) -> ApiResult<Json<LogPage>> {
    principal.require(Action::ReadLog)?;
    let purpose = purpose.required_for(&principal)?;
    let from = match query.from {
        Some(0) => return Err(bad_param("from", "must be at least 1")),
        Some(n) => n,
        None => 1,
    };
    let limit = match query.limit {
        Some(0) => return Err(bad_param("limit", "must be at least 1")),
        Some(n) => n.min(state.config.max_page),
        None => state.config.max_page,
    };
    let events = state.store.read_all(Position(from), limit).await?;
    let next_position = events.last().map_or(from, |e| e.envelope.position.0 + 1);
    // Sealed adoption records are in no page of the log but the operator's own export (`crate::sealed`).
    let events = if principal.is_local_operator() {
        events
    } else {
        state.sealed.without_sealed(state.store.as_ref(), events).await?
    };
    let children: BTreeSet<ChildId> = events.iter().map(|e| e.envelope.child_id.clone()).collect();
    if !events.is_empty() {
        let parameters = serde_json::json!({ "from": from, "to": next_position - 1 });
        record_bulk_read(
            &state,
            &principal,
            purpose,
            "log",
            children.into_iter().collect(),
            parameters,
        )
        .await?;
    }
    Ok(Json(LogPage {
        events,
        next_position,
    }))
}

#[derive(Debug, Deserialize, Serialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct FeedQuery {
    /// The first position to send (default: after `Last-Event-ID`, or 1).
    #[param(minimum = 1)]
    pub from: Option<u64>,
}

/// The live change feed (Server-Sent Events): every record from a position on, then each new record as it
/// is appended. Each event's `id` is its position, so a client that reconnects with `Last-Event-ID`
/// resumes after the last record it saw, exactly once. Admins only; the subscription is written to the
/// access log.
#[utoipa::path(
    get,
    path = "/v1/feed",
    tag = "log",
    params(
        FeedQuery,
        PurposeHeader,
        ("Last-Event-ID" = Option<u64>, Header, description = "The last position seen: the feed resumes after it")
    ),
    responses(
        (status = 200, description = "An event stream; each event is `event: record`, `id: <position>`, `data: <the recorded event as JSON>`", content_type = "text/event-stream", body = String),
        (status = 400, response = BadRequest),
        (status = 401, response = Unauthorized),
        (status = 403, response = Forbidden),
    ),
    security(("bearer" = []))
)]
pub async fn feed(
    State(state): State<AppState>,
    Auth(principal): Auth,
    purpose: Purpose,
    headers: HeaderMap,
    QueryParams(query): QueryParams<FeedQuery>,
) -> ApiResult<Sse<impl Stream<Item = Result<Event, Infallible>>>> {
    principal.require(Action::ReadLog)?;
    let purpose = purpose.required_for(&principal)?;
    let last_seen = match headers.get("last-event-id") {
        None => None,
        Some(v) => Some(
            v.to_str()
                .ok()
                .and_then(|s| s.trim().parse::<u64>().ok())
                .ok_or_else(|| bad_param("Last-Event-ID", "must be a position (a whole number)"))?,
        ),
    };
    let from = match (query.from, last_seen) {
        (Some(0), _) => return Err(bad_param("from", "must be at least 1")),
        (Some(n), _) => n,
        (None, Some(seen)) => seen + 1,
        (None, None) => 1,
    };
    record_bulk_read(
        &state,
        &principal,
        purpose,
        "feed",
        Vec::new(),
        serde_json::json!({ "from": from }),
    )
    .await?;
    let mut shutdown = state.shutdown.subscribe();
    let stopped = async move {
        let _ = shutdown.wait_for(|stopping| *stopping).await;
    };
    // Sealed adoption records are passed over, from the record that seals them on (`crate::sealed`).
    let hide_sealed = !principal.is_local_operator();
    let (sealed, store) = (state.sealed.clone(), state.store.clone());
    let stream = journey_core::store::subscribe(state.store.clone(), Position(from))
        .take_until(stopped)
        .then(move |item| {
            let (sealed, store) = (sealed.clone(), store.clone());
            async move {
                let record = item.map_err(|e| e.to_string())?;
                let hidden = hide_sealed
                    && sealed
                        .sealed_since(store.as_ref(), &record.envelope.child_id)
                        .await
                        .map_err(|e| format!("sealed records: {e:?}"))?
                        .is_some();
                Ok::<_, String>((!hidden).then_some(record))
            }
        })
        // The subscription ends after its first error.
        .take_while(|item| {
            if let Err(e) = item {
                tracing::error!(error = %e, "change feed stopped");
            }
            std::future::ready(item.is_ok())
        })
        .filter_map(|item| async move {
            let record = item.ok().flatten()?;
            let data = serde_json::to_string(&record).expect("a recorded event serialises");
            Some(Ok::<_, std::convert::Infallible>(
                Event::default()
                    .event("record")
                    .id(record.envelope.position.0.to_string())
                    .data(data),
            ))
        });
    Ok(Sse::new(stream).keep_alive(KeepAlive::new().interval(state.config.feed_keep_alive)))
}

/// What verification found, for the log and the journal.
#[derive(Debug, Serialize, ToSchema)]
pub struct Verification {
    /// True when both the log and the journal verify.
    pub intact: bool,
    /// What was walked: `log`, `index` (when the store checked its index against every record), `journal`.
    pub walked: Vec<String>,
    #[schema(value_type = schemas::VerifyReport)]
    pub log: VerifyReport,
    #[schema(value_type = schemas::JournalVerification)]
    pub journal: JournalVerification,
}

/// Walks the whole log and the system journal, recomputing every hash link.
#[utoipa::path(
    get,
    path = "/v1/verify",
    tag = "log",
    responses(
        (status = 200, body = Verification),
        (status = 401, response = Unauthorized),
        (status = 403, response = Forbidden),
    ),
    security(("bearer" = []))
)]
pub async fn verify(State(state): State<AppState>, Auth(principal): Auth) -> ApiResult<Json<Verification>> {
    principal.require(Action::Verify)?;
    let log = state.store.verify().await?;
    let journal = state.journal.verify().await?;
    let mut walked = log.walked.clone();
    walked.push("journal".to_owned());
    Ok(Json(Verification {
        intact: log.is_intact() && journal.is_intact(),
        walked,
        log,
        journal,
    }))
}
