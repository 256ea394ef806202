//! One child's record: append, and the reads (events, summary, chronology, export), each written to the
//! access log before it is answered.

use axum::Json;
use axum::extract::{Path, State};
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use journey_core::ExpectedVersion;
use journey_core::envelope::NewEvent;
use journey_core::error::FieldError;
use journey_core::store::{AppendOutcome, AppendRequest, StreamExport};
use journey_core::view::merge::MergedStream;
use journey_core::view::{AsOf, ChildSummary, Chronology, ChronologyOptions};
use journey_core::{ChildId, RecordedEvent, Timestamp, Version};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

use crate::AppState;
use crate::access::{Purpose, PurposeHeader, authorize_read, logged_read};
use crate::auth::{Action, Auth, Principal, Role};
use crate::error::{ApiError, ApiResult, Problem};
use crate::extract::{AcceptedDate, AcceptedInstant, JsonBody, QueryParams, child_id};
use crate::responses::{
    BadRequest, Forbidden, NotFound, PayloadTooLarge, Unauthorized, UnsupportedMediaType,
};
use crate::schemas;

/// One atomic append of one or more events to a child's stream.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(example = append_example)]
pub struct AppendBody {
    /// The events, in order; all are stored or none.
    #[schema(value_type = Vec<schemas::NewEvent>, min_items = 1)]
    pub events: Vec<NewEvent>,
    /// The version the stream must be at for the append to go ahead (default `any`).
    #[serde(default)]
    #[schema(value_type = Option<schemas::ExpectedVersion>)]
    pub expected_version: Option<ExpectedVersion>,
}

/// The documented example of an append: the first events of the synthetic Child A (`journey_core::examples`),
/// so that the example is always a request the rules accept.
fn append_example() -> serde_json::Value {
    let (_, events) = journey_core::examples::example_streams()
        .into_iter()
        .next()
        .expect("the examples have a first child");
    serde_json::json!({ "events": &events[..3], "expected_version": "no_stream" })
}

/// Appends events to a child's stream.
///
/// All or nothing. Retrying the same request is safe: when every event id is already stored with the same
/// content, the original outcome is returned with `already_recorded: true` (200) and nothing is written.
/// An integrator's key may only send events whose `source.agency` is the agency on the key.
#[utoipa::path(
    post,
    path = "/v1/children/{child_id}/events",
    tag = "children",
    params(("child_id" = String, Path, description = "The local authority's identifier for the child")),
    request_body(content = AppendBody, content_type = "application/json"),
    responses(
        (status = 201, description = "Stored", body = schemas::AppendOutcome),
        (status = 200, description = "A retry of an append already stored; nothing new was written", body = schemas::AppendOutcome),
        (status = 400, response = BadRequest),
        (status = 401, response = Unauthorized),
        (status = 403, response = Forbidden),
        (status = 409, description = "Wrong expected version, or an event id reused for other content", body = Problem, content_type = "application/problem+json"),
        (status = 413, response = PayloadTooLarge),
        (status = 415, response = UnsupportedMediaType),
        (status = 422, description = "Broken rules, each with its field path", body = Problem, content_type = "application/problem+json"),
    ),
    security(("bearer" = []))
)]
pub async fn append_events(
    State(state): State<AppState>,
    Auth(principal): Auth,
    Path(raw_child): Path<String>,
    JsonBody(body): JsonBody<AppendBody>,
) -> ApiResult<(StatusCode, Json<AppendOutcome>)> {
    principal.require(Action::AppendEvents)?;
    let child_id = child_id(&raw_child)?;
    if principal.role == Role::Integrator {
        check_agency(&principal, &body.events)?;
    }
    let events = body.events.len() as u64;
    let request = AppendRequest {
        child_id,
        expected: body.expected_version.unwrap_or_default(),
        recorded_by: principal.name.clone(),
        events: body.events,
    };
    let result = state.store.append(request).await;
    let outcome = match &result {
        Ok(o) if o.already_recorded => "already_recorded",
        Ok(_) => "written",
        Err(journey_core::Error::Conflict(_)) => "conflict",
        Err(journey_core::Error::Invalid(_)) => "invalid",
        Err(_) => "error",
    };
    state.metrics.record_append(outcome, events);
    let outcome = result?;
    let status = if outcome.already_recorded {
        StatusCode::OK
    } else {
        StatusCode::CREATED
    };
    Ok((status, Json(outcome)))
}

/// An integrator writes only for the agency on its key.
fn check_agency(principal: &Principal, events: &[NewEvent]) -> ApiResult<()> {
    let Some(agency) = &principal.agency else {
        return Err(ApiError::forbidden("this integrator key names no agency"));
    };
    for (i, event) in events.iter().enumerate() {
        if &event.source.agency != agency {
            let field = FieldError::new(
                format!("events[{i}].source.agency"),
                format!(
                    "this key writes for agency {agency} only (got {})",
                    event.source.agency
                ),
            );
            return Err(ApiError::Forbidden {
                detail: field.to_string(),
                field: Some(field),
            });
        }
    }
    Ok(())
}

#[derive(Debug, Deserialize, Serialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct EventsQuery {
    /// The first version to return (default 1).
    #[param(minimum = 1)]
    pub from: Option<u64>,
    /// At most this many events (default and maximum: the server's page size, 1000).
    #[param(minimum = 1)]
    pub limit: Option<usize>,
    /// Only the records known at this instant (`recorded_at <= known_at`).
    #[param(value_type = Option<String>, format = DateTime)]
    #[serde(skip_serializing_if = "Option::is_none")]
    pub known_at: Option<AcceptedInstant>,
}

/// A page of one child's events.
#[derive(Debug, Serialize, ToSchema)]
pub struct EventsPage {
    #[schema(value_type = String)]
    pub child_id: ChildId,
    #[schema(value_type = Vec<schemas::RecordedEvent>)]
    pub events: Vec<RecordedEvent>,
    /// The `from` of the next page, when there may be more.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub next_version: Option<u64>,
}

fn page_limit(state: &AppState, limit: Option<usize>) -> ApiResult<usize> {
    match limit {
        Some(0) => Err(ApiError::BadRequest {
            detail: "limit must be at least 1".into(),
            errors: vec![FieldError::new("limit", "must be at least 1")],
        }),
        Some(n) => Ok(n.min(state.config.max_page)),
        None => Ok(state.config.max_page),
    }
}

fn from_at_least_one(from: Option<u64>) -> ApiResult<u64> {
    match from {
        Some(0) => Err(ApiError::BadRequest {
            detail: "from must be at least 1".into(),
            errors: vec![FieldError::new("from", "must be at least 1")],
        }),
        Some(n) => Ok(n),
        None => Ok(1),
    }
}

/// Reads a child's events in version order.
#[utoipa::path(
    get,
    path = "/v1/children/{child_id}/events",
    tag = "children",
    params(("child_id" = String, Path), EventsQuery, PurposeHeader),
    responses(
        (status = 200, body = EventsPage),
        (status = 400, response = BadRequest),
        (status = 401, response = Unauthorized),
        (status = 403, response = Forbidden),
        (status = 404, response = NotFound),
    ),
    security(("bearer" = []))
)]
pub async fn read_events(
    State(state): State<AppState>,
    Auth(principal): Auth,
    Path(raw_child): Path<String>,
    purpose: Purpose,
    QueryParams(query): QueryParams<EventsQuery>,
) -> ApiResult<Json<EventsPage>> {
    principal.require(Action::ReadChild)?;
    let child_id = child_id(&raw_child)?;
    let limit = page_limit(&state, query.limit)?;
    let from = from_at_least_one(query.from)?;
    let parameters = serde_json::to_value(&query).expect("query serialises");
    authorize_read(&state, &principal, &purpose, &child_id, "events", parameters).await?;
    let known_at = query
        .known_at
        .map_or_else(|| state.clock.now(), AcceptedInstant::get);
    require_child(&state, &principal, &child_id, known_at).await?;
    let view = state.merges.view(state.store.as_ref(), known_at).await?;
    let mut events = if view.merged_into(&child_id).is_empty() {
        state
            .store
            .read_stream(child_id.clone(), Version(from), limit)
            .await?
    } else {
        // A merged record: every record of the union as stored (each with its own record's id, version and
        // hashes), in log order; `from` and `next_version` count places in the union.
        let skip = usize::try_from(from - 1).unwrap_or(usize::MAX);
        view.stored_records(&child_id)
            .await?
            .into_iter()
            .skip(skip)
            .take(limit)
            .collect()
    };
    let full = events.len() == limit;
    let mut truncated = false;
    if let Some(AcceptedInstant(known_at)) = query.known_at {
        let before = events.len();
        events.retain(|e| e.envelope.recorded_at <= known_at);
        truncated = events.len() < before;
    }
    let next_version = (full && !truncated)
        .then(|| (!events.is_empty()).then_some(from + events.len() as u64))
        .flatten();
    Ok(Json(EventsPage {
        child_id,
        events,
        next_version,
    }))
}

/// The two time axes of a read or a judgement: the date (default today in England as at `known_at`) and the
/// instant whose knowledge is used (default now).
pub fn as_of(state: &AppState, on: Option<AcceptedDate>, known_at: Option<AcceptedInstant>) -> AsOf {
    let known_at = known_at.map_or_else(|| state.clock.now(), AcceptedInstant::get);
    AsOf::new(
        on.map_or_else(|| known_at.england_date(), AcceptedDate::get),
        known_at,
    )
}

#[derive(Debug, Deserialize, Serialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct AsOfQuery {
    /// The date described (valid time), e.g. `2024-03-01`. Default: today in England as at `known_at`.
    #[param(value_type = Option<String>, format = Date)]
    #[serde(skip_serializing_if = "Option::is_none")]
    pub on: Option<AcceptedDate>,
    /// The instant whose knowledge is shown (transaction time). Default: now.
    #[param(value_type = Option<String>, format = DateTime)]
    #[serde(skip_serializing_if = "Option::is_none")]
    pub known_at: Option<AcceptedInstant>,
}

impl AsOfQuery {
    pub fn as_of(&self, state: &AppState) -> AsOf {
        as_of(state, self.on, self.known_at)
    }
}

/// The one answer for "no such child (as known then)", on every route that reads a child's record: 404,
/// naming the child and, when the child's first record came later, the instant asked about.
pub fn unknown_child(child_id: &ChildId, known_at: Option<Timestamp>) -> ApiError {
    match known_at {
        Some(known_at) => ApiError::NotFound(format!(
            "nothing was recorded for child {child_id} as known at {known_at}"
        )),
        None => ApiError::NotFound(format!(
            "no child {child_id} is recorded (child ids are case-sensitive)"
        )),
    }
}

/// Ok when the child has a record known at `known_at` (`recorded_at <= known_at`) that `principal` may
/// know of; [`unknown_child`] otherwise: a sealed adoption record exists only to the `sealed-records` role
/// (`crate::sealed`). A stream's first record is its earliest recorded, so one record decides. A record
/// merged into another by then answers [`ApiError::MergedInto`], a redirect to the surviving record.
pub async fn require_child(
    state: &AppState,
    principal: &Principal,
    child_id: &ChildId,
    known_at: Timestamp,
) -> ApiResult<()> {
    if !principal.role.may(Action::OpenSealedRecords)
        && state
            .sealed
            .sealed_since(state.store.as_ref(), child_id)
            .await?
            .is_some()
    {
        return Err(unknown_child(child_id, None));
    }
    let view = state.merges.view(state.store.as_ref(), known_at).await?;
    if let Some(into) = view.survivor_of(child_id) {
        return Err(ApiError::MergedInto {
            child_id: child_id.clone(),
            into: into.clone(),
        });
    }
    let first = state
        .store
        .read_stream(child_id.clone(), Version::FIRST, 1)
        .await?;
    known(child_id, first.first(), known_at)
}

fn known(child_id: &ChildId, first: Option<&RecordedEvent>, known_at: Timestamp) -> ApiResult<()> {
    match first {
        None => Err(unknown_child(child_id, None)),
        Some(e) if e.envelope.recorded_at > known_at => Err(unknown_child(child_id, Some(known_at))),
        Some(_) => Ok(()),
    }
}

/// The whole stream as readers see it as known at `known_at` (see [`whole_record`]), or 404 when nothing is
/// recorded for the child then.
pub async fn whole_stream(
    state: &AppState,
    child_id: &ChildId,
    known_at: Timestamp,
) -> ApiResult<Vec<RecordedEvent>> {
    Ok(whole_record(state, child_id, known_at).await?.events)
}

/// The child's whole record as known at `known_at`: its stream, or, when other records were merged into it
/// by then, the union of them as one stream with where each event was recorded (`crate::merges`). A record
/// merged into another by then answers a redirect to it; 404 when nothing is recorded for the child then.
pub async fn whole_record(
    state: &AppState,
    child_id: &ChildId,
    known_at: Timestamp,
) -> ApiResult<MergedStream> {
    let view = state.merges.view(state.store.as_ref(), known_at).await?;
    if let Some(into) = view.survivor_of(child_id) {
        return Err(ApiError::MergedInto {
            child_id: child_id.clone(),
            into: into.clone(),
        });
    }
    let record = view.record(child_id).await?;
    known(child_id, record.events.first(), known_at)?;
    Ok(record)
}

/// The child's state on a date as known at an instant.
#[utoipa::path(
    get,
    path = "/v1/children/{child_id}/summary",
    tag = "children",
    params(("child_id" = String, Path), AsOfQuery, PurposeHeader),
    responses(
        (status = 200, body = schemas::ChildSummary),
        (status = 400, response = BadRequest),
        (status = 401, response = Unauthorized),
        (status = 403, response = Forbidden),
        (status = 404, response = NotFound),
    ),
    security(("bearer" = []))
)]
pub async fn summary(
    State(state): State<AppState>,
    Auth(principal): Auth,
    Path(raw_child): Path<String>,
    purpose: Purpose,
    QueryParams(query): QueryParams<AsOfQuery>,
) -> ApiResult<Json<ChildSummary>> {
    principal.require(Action::ReadChild)?;
    let child_id = child_id(&raw_child)?;
    let as_of = query.as_of(&state);
    let parameters = serde_json::to_value(as_of).expect("as_of serialises");
    let read = async {
        let events = whole_stream(&state, &child_id, as_of.known_at).await?;
        Ok(Json(ChildSummary::replay(&events, as_of)))
    };
    logged_read(
        &state, &principal, &purpose, &child_id, "summary", parameters, read,
    )
    .await
}

/// The child's timeline on a date as known at an instant.
#[utoipa::path(
    get,
    path = "/v1/children/{child_id}/chronology",
    tag = "children",
    params(("child_id" = String, Path), AsOfQuery, PurposeHeader),
    responses(
        (status = 200, body = schemas::Chronology),
        (status = 400, response = BadRequest),
        (status = 401, response = Unauthorized),
        (status = 403, response = Forbidden),
        (status = 404, response = NotFound),
    ),
    security(("bearer" = []))
)]
pub async fn chronology(
    State(state): State<AppState>,
    Auth(principal): Auth,
    Path(raw_child): Path<String>,
    purpose: Purpose,
    QueryParams(query): QueryParams<AsOfQuery>,
) -> ApiResult<Response> {
    principal.require(Action::ReadChild)?;
    let child_id = child_id(&raw_child)?;
    let as_of = query.as_of(&state);
    let parameters = serde_json::to_value(as_of).expect("as_of serialises");
    // Built and serialised while the access is logged.
    let read = async {
        let record = whole_record(&state, &child_id, as_of.known_at).await?;
        let mut chronology = Chronology::build(&record.events, as_of, ChronologyOptions::default());
        chronology.mark_recorded_under(&record.recorded_under);
        serde_json::to_vec(&chronology)
            .map_err(|e| ApiError::Internal(format!("serialising a chronology: {e}")))
    };
    let body = logged_read(
        &state,
        &principal,
        &purpose,
        &child_id,
        "chronology",
        parameters,
        read,
    )
    .await?;
    Ok(([(header::CONTENT_TYPE, "application/json")], body).into_response())
}

/// One child's record with everything needed to verify it without the rest of the log. On a server that
/// keeps a tree (ADR 10) this is the child's proof bundle: each record carries its inclusion proof
/// (c2sp.org/tlog-proof) against the latest checkpoint witnesses cosigned that covers it, or the latest
/// signed one (said so in `tlog.summary`), checkable offline with `journey verify-export`. Hashes only of
/// other children's records.
#[utoipa::path(
    get,
    path = "/v1/children/{child_id}/export",
    tag = "children",
    params(("child_id" = String, Path), PurposeHeader),
    responses(
        (status = 200, body = schemas::StreamExport),
        (status = 400, response = BadRequest),
        (status = 401, response = Unauthorized),
        (status = 403, response = Forbidden),
        (status = 404, response = NotFound),
    ),
    security(("bearer" = []))
)]
pub async fn export(
    State(state): State<AppState>,
    Auth(principal): Auth,
    Path(raw_child): Path<String>,
    purpose: Purpose,
) -> ApiResult<Json<StreamExport>> {
    principal.require(Action::ReadChild)?;
    let child_id = child_id(&raw_child)?;
    authorize_read(
        &state,
        &principal,
        &purpose,
        &child_id,
        "export",
        serde_json::Value::Null,
    )
    .await?;
    let mut export = state.store.export_stream(child_id.clone()).await?;
    if export.records.is_empty() {
        return Err(unknown_child(&child_id, None));
    }
    if let Some(proofs) = &state.proofs {
        proofs.attach(&mut export).await?;
    }
    Ok(Json(export))
}

/// The links between a child's identities across an adoption (`crate::sealed`): the sealed pre-adoption
/// record a child continues, or the identities a sealed record's child continued under. Only the
/// `sealed-records` role may ask, always with a legal basis (`X-Journey-Legal-Basis`) and a purpose, both
/// written to the access log: the link is what adoption keeps confidential. A child with no such link
/// answers with empty lists, whether or not it exists.
#[utoipa::path(
    get,
    path = "/v1/children/{child_id}/identities",
    tag = "children",
    params(("child_id" = String, Path), PurposeHeader, LegalBasisHeader),
    responses(
        (status = 200, body = crate::sealed::Identities),
        (status = 400, response = BadRequest),
        (status = 401, response = Unauthorized),
        (status = 403, response = Forbidden),
    ),
    security(("bearer" = []))
)]
pub async fn identities(
    State(state): State<AppState>,
    Auth(principal): Auth,
    Path(raw_child): Path<String>,
    purpose: Purpose,
) -> ApiResult<Json<crate::sealed::Identities>> {
    principal.require(Action::OpenSealedRecords)?;
    let child_id = child_id(&raw_child)?;
    let text = purpose.required_for(&principal)?;
    let Some(basis) = purpose.legal_basis.clone() else {
        return Err(crate::sealed::legal_basis_required(&child_id));
    };
    crate::access::record(
        state.journal.as_ref(),
        crate::access::Access {
            principal: &principal,
            child_id: Some(&child_id),
            children: Vec::new(),
            view: "identities",
            purpose: text,
            legal_basis: Some(basis),
            parameters: serde_json::Value::Null,
        },
    )
    .await?;
    Ok(Json(
        state.sealed.identities(state.store.as_ref(), &child_id).await?,
    ))
}

/// The `X-Journey-Legal-Basis` header, for the OpenAPI document.
#[derive(Debug, IntoParams)]
#[into_params(parameter_in = Header)]
#[allow(dead_code)]
pub struct LegalBasisHeader {
    /// The legal basis for opening a sealed adoption record (a section of the Adoption and Children Act
    /// 2002, a court order): required of the `sealed-records` role to open one; written to the access log.
    #[param(rename = "X-Journey-Legal-Basis")]
    x_journey_legal_basis: Option<String>,
}
