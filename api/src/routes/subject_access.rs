//! Subject access requests over HTTP (`crate::subject_access`): records officers record a request, extend
//! it, record consents and serious-harm decisions, read the draft bundle and its schedule, and release it.
//! No other role touches them (`Action::HandleSubjectAccess`), an administrator included.
//!
//! Every making of a bundle reads children's records: each read is written to the access log, durably,
//! before anything is read, with the request as its purpose (`subject access request sar-3`). A sealed
//! adoption record is answered as if it did not exist, as on every other route: an adopted adult's access
//! goes through the adoption disclosure procedure and the `sealed-records` role.

use std::ops::ControlFlow;

use axum::Json;
use axum::extract::{Path, State};
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use journey_core::view::AsOf;
use journey_core::view::subject_access::{AccessSubject, Bundle, ChildRecords, bundle};
use journey_core::{ChildId, Date, RecordedEvent};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use utoipa::{IntoParams, ToSchema};

use crate::AppState;
use crate::access::{Purpose, record_read};
use crate::auth::{Action, Auth, Principal};
use crate::error::{ApiError, ApiResult};
use crate::extract::{JsonBody, QueryParams};
use crate::responses::{
    BadRequest, Conflict, Forbidden, NotFound, PayloadTooLarge, Unauthorized, Unprocessable,
    UnsupportedMediaType,
};
use crate::routes::children::whole_stream;
use crate::subject_access::{
    DisclosureBody, EntryDecisionBody, MadeFrom, NewRequest, Reason, Recorder, Released, Requests,
    SubjectAccessRequest, open, request_id,
};

fn bank_holidays() -> &'static [Date] {
    &journey_plugins::Calendar::england_and_wales().bank_holidays
}

fn recorder<'a>(state: &'a AppState, principal: &'a Principal) -> Recorder<'a> {
    Recorder {
        journal: state.journal.as_ref(),
        by: &principal.name,
        today: state.clock.now().england_date(),
        bank_holidays: bank_holidays(),
    }
}

async fn load(state: &AppState) -> ApiResult<Requests> {
    Requests::load(
        state.journal.as_ref(),
        state.clock.now().england_date(),
        bank_holidays(),
    )
    .await
}

/// Every request, open and released.
#[derive(Debug, Serialize, ToSchema)]
pub struct RequestList {
    /// In the order received.
    pub requests: Vec<SubjectAccessRequest>,
    /// The open requests' ids, the soonest due first.
    pub open: Vec<String>,
    /// The open requests past their last day.
    pub overdue: Vec<String>,
}

/// Records a subject access request received: whose data, who asked on what authority, the day it was
/// received (the one-month clock starts then) and what may be disclosed. Journal-recorded; never an event
/// in a child's record.
#[utoipa::path(
    post,
    path = "/v1/subject-access",
    tag = "subject access",
    request_body(content = NewRequest, content_type = "application/json"),
    responses(
        (status = 201, body = SubjectAccessRequest),
        (status = 400, response = BadRequest),
        (status = 401, response = Unauthorized),
        (status = 403, response = Forbidden),
        (status = 404, response = NotFound),
        (status = 413, response = PayloadTooLarge),
        (status = 415, response = UnsupportedMediaType),
        (status = 422, response = Unprocessable),
    ),
    security(("bearer" = []))
)]
pub async fn create(
    State(state): State<AppState>,
    Auth(principal): Auth,
    JsonBody(body): JsonBody<NewRequest>,
) -> ApiResult<(StatusCode, Json<SubjectAccessRequest>)> {
    principal.require(Action::HandleSubjectAccess)?;
    // A request about a child names a record that must exist (to this role: a sealed one does not).
    if let Some(child_id) = &body.child_id {
        crate::routes::children::require_child(&state, &principal, child_id, state.clock.now()).await?;
    }
    let request = recorder(&state, &principal).request(&body).await?;
    Ok((StatusCode::CREATED, Json(request)))
}

/// Every subject access request, with its deadline, and which are open and overdue.
#[utoipa::path(
    get,
    path = "/v1/subject-access",
    tag = "subject access",
    responses(
        (status = 200, body = RequestList),
        (status = 401, response = Unauthorized),
        (status = 403, response = Forbidden),
    ),
    security(("bearer" = []))
)]
pub async fn list(State(state): State<AppState>, Auth(principal): Auth) -> ApiResult<Json<RequestList>> {
    principal.require(Action::HandleSubjectAccess)?;
    let requests = load(&state).await?;
    let mut open: Vec<&SubjectAccessRequest> =
        requests.all().iter().filter(|r| r.released.is_none()).collect();
    open.sort_by_key(|r| (r.due_on, r.recorded_at));
    Ok(Json(RequestList {
        overdue: open
            .iter()
            .filter(|r| r.late)
            .map(|r| r.request_id.clone())
            .collect(),
        open: open.iter().map(|r| r.request_id.clone()).collect(),
        requests: requests.all().to_vec(),
    }))
}

/// One request, with its deadline and decisions.
#[utoipa::path(
    get,
    path = "/v1/subject-access/{request_id}",
    tag = "subject access",
    params(("request_id" = String, Path, description = "sar-<n>")),
    responses(
        (status = 200, body = SubjectAccessRequest),
        (status = 400, response = BadRequest),
        (status = 401, response = Unauthorized),
        (status = 403, response = Forbidden),
        (status = 404, response = NotFound),
    ),
    security(("bearer" = []))
)]
pub async fn get(
    State(state): State<AppState>,
    Auth(principal): Auth,
    Path(raw): Path<String>,
) -> ApiResult<Json<SubjectAccessRequest>> {
    principal.require(Action::HandleSubjectAccess)?;
    let id = request_id(&raw)?;
    Ok(Json(load(&state).await?.get(id)?.clone()))
}

/// Extends the deadline by two further months (three from receipt), for a complex request, with the
/// reason (UK GDPR Art. 12(3)). Once only; not after release.
#[utoipa::path(
    post,
    path = "/v1/subject-access/{request_id}/extension",
    tag = "subject access",
    params(("request_id" = String, Path)),
    request_body(content = Reason, content_type = "application/json"),
    responses(
        (status = 200, body = SubjectAccessRequest),
        (status = 400, response = BadRequest),
        (status = 401, response = Unauthorized),
        (status = 403, response = Forbidden),
        (status = 404, response = NotFound),
        (status = 409, response = Conflict),
        (status = 413, response = PayloadTooLarge),
        (status = 415, response = UnsupportedMediaType),
        (status = 422, response = Unprocessable),
    ),
    security(("bearer" = []))
)]
pub async fn extend(
    State(state): State<AppState>,
    Auth(principal): Auth,
    Path(raw): Path<String>,
    JsonBody(body): JsonBody<Reason>,
) -> ApiResult<Json<SubjectAccessRequest>> {
    principal.require(Action::HandleSubjectAccess)?;
    let id = request_id(&raw)?;
    Ok(Json(recorder(&state, &principal).extend(id, &body.reason).await?))
}

/// Changes what may be disclosed beyond the subject's own data (a third party consented, or the officer
/// judged disclosure reasonable), with the reason. Not after release.
#[utoipa::path(
    post,
    path = "/v1/subject-access/{request_id}/disclosure",
    tag = "subject access",
    params(("request_id" = String, Path)),
    request_body(content = DisclosureBody, content_type = "application/json"),
    responses(
        (status = 200, body = SubjectAccessRequest),
        (status = 400, response = BadRequest),
        (status = 401, response = Unauthorized),
        (status = 403, response = Forbidden),
        (status = 404, response = NotFound),
        (status = 409, response = Conflict),
        (status = 413, response = PayloadTooLarge),
        (status = 415, response = UnsupportedMediaType),
        (status = 422, response = Unprocessable),
    ),
    security(("bearer" = []))
)]
pub async fn disclosure(
    State(state): State<AppState>,
    Auth(principal): Auth,
    Path(raw): Path<String>,
    JsonBody(body): JsonBody<DisclosureBody>,
) -> ApiResult<Json<SubjectAccessRequest>> {
    principal.require(Action::HandleSubjectAccess)?;
    let id = request_id(&raw)?;
    Ok(Json(recorder(&state, &principal).disclose(id, &body).await?))
}

/// Withholds one entry for serious harm (DPA 2018 Sch. 3 Pt 3): a reviewer's decision, with the reason,
/// which the schedule keeps for the data protection officer and the released bundle does not show.
#[utoipa::path(
    post,
    path = "/v1/subject-access/{request_id}/withholdings",
    tag = "subject access",
    params(("request_id" = String, Path)),
    request_body(content = EntryDecisionBody, content_type = "application/json"),
    responses(
        (status = 200, body = SubjectAccessRequest),
        (status = 400, response = BadRequest),
        (status = 401, response = Unauthorized),
        (status = 403, response = Forbidden),
        (status = 404, response = NotFound),
        (status = 409, response = Conflict),
        (status = 413, response = PayloadTooLarge),
        (status = 415, response = UnsupportedMediaType),
        (status = 422, response = Unprocessable),
    ),
    security(("bearer" = []))
)]
pub async fn withhold(
    State(state): State<AppState>,
    Auth(principal): Auth,
    Path(raw): Path<String>,
    JsonBody(body): JsonBody<EntryDecisionBody>,
) -> ApiResult<Json<SubjectAccessRequest>> {
    decide(state, principal, raw, body, true).await
}

/// Reinstates an entry withheld for serious harm, with the reason. Not after release.
#[utoipa::path(
    post,
    path = "/v1/subject-access/{request_id}/reinstatements",
    tag = "subject access",
    params(("request_id" = String, Path)),
    request_body(content = EntryDecisionBody, content_type = "application/json"),
    responses(
        (status = 200, body = SubjectAccessRequest),
        (status = 400, response = BadRequest),
        (status = 401, response = Unauthorized),
        (status = 403, response = Forbidden),
        (status = 404, response = NotFound),
        (status = 409, response = Conflict),
        (status = 413, response = PayloadTooLarge),
        (status = 415, response = UnsupportedMediaType),
        (status = 422, response = Unprocessable),
    ),
    security(("bearer" = []))
)]
pub async fn reinstate(
    State(state): State<AppState>,
    Auth(principal): Auth,
    Path(raw): Path<String>,
    JsonBody(body): JsonBody<EntryDecisionBody>,
) -> ApiResult<Json<SubjectAccessRequest>> {
    decide(state, principal, raw, body, false).await
}

async fn decide(
    state: AppState,
    principal: Principal,
    raw: String,
    body: EntryDecisionBody,
    withhold: bool,
) -> ApiResult<Json<SubjectAccessRequest>> {
    principal.require(Action::HandleSubjectAccess)?;
    let id = request_id(&raw)?;
    let requests = load(&state).await?;
    let request = requests.get(id)?;
    // The entry must be one of the bundle's: made as known now (and access-logged as a read for it).
    let made = make(&state, &principal, request).await?;
    let exists = made.bundle.entries.iter().any(|e| e.event_id == body.event_id);
    let decided = recorder(&state, &principal)
        .decide_entry(id, &body, withhold, exists)
        .await?;
    Ok(Json(decided))
}

/// A bundle with its request and provenance.
#[derive(Clone, Debug, Serialize, ToSchema)]
pub struct SubjectAccessBundle {
    pub request_id: String,
    #[schema(value_type = Object)]
    pub subject: AccessSubject,
    #[schema(value_type = String, format = Date)]
    pub received_on: Date,
    #[schema(value_type = String, format = Date)]
    pub due_on: Date,
    /// `draft` (as known now) or `released` (as known at its release, byte for byte what was released).
    pub status: &'static str,
    pub made_from: MadeFrom,
    #[serde(flatten)]
    #[schema(value_type = Object)]
    pub bundle: Bundle,
}

/// One bundle made, and what from.
struct Made {
    bundle: Bundle,
    made_from: MadeFrom,
}

/// Makes the bundle for `request`: once released, exactly as released (as known at the release, named as
/// made from what the release recorded); before, as the record stands now. Every child's record it covers
/// is read (and access-logged) first.
async fn make(state: &AppState, principal: &Principal, request: &SubjectAccessRequest) -> ApiResult<Made> {
    let recorded = request.released.as_ref().map(|r| &r.made_from);
    // The log's head is read first and the records cut there: a record committed in the same microsecond
    // as the bundle's instant, but after it was made, stays out when it is made again.
    let (known_at, log_size, log_hash) = match recorded {
        Some(r) => (r.known_at, r.log_size, r.log_hash.clone()),
        None => {
            let head = state.store.head().await?;
            let known_at = state.clock.now();
            (
                known_at,
                head.position.map_or(0, |p| p.0),
                hex::encode(head.log_hash),
            )
        }
    };
    let children = match &request.subject {
        AccessSubject::Child { child_id } => vec![child_id.clone()],
        AccessSubject::Person { person_id } if request.children.is_empty() => {
            children_carrying(state, person_id, log_size).await?
        }
        AccessSubject::Person { .. } => request.children.clone(),
    };
    let purpose = Purpose::stated(Some(request.purpose()));
    let mut streams: Vec<(ChildId, Vec<RecordedEvent>)> = Vec::with_capacity(children.len());
    for child_id in children {
        record_read(
            state,
            principal,
            &purpose,
            &child_id,
            "subject-access",
            serde_json::json!({"request_id": request.request_id, "known_at": known_at}),
        )
        .await?;
        let mut events = whole_stream(state, &child_id, known_at).await?;
        events.retain(|e| e.envelope.position.0 <= log_size);
        streams.push((child_id, events));
    }
    let records: Vec<ChildRecords<'_>> = streams
        .iter()
        .map(|(child_id, events)| ChildRecords { child_id, events })
        .collect();
    let as_of = AsOf::new(known_at.england_date(), known_at);
    let bundle = bundle(
        &request.subject,
        &request.disclosure,
        &request.withholdings(),
        &records,
        as_of,
    );
    if let Some(recorded) = recorded {
        return Ok(Made {
            bundle,
            made_from: recorded.clone(),
        });
    }
    let last_position = streams
        .iter()
        .flat_map(|(_, events)| events.iter().map(|e| e.envelope.position.0))
        .max();
    let checkpoint_size = match (&state.proofs, last_position) {
        (Some(proofs), Some(position)) => proofs.proven_against(position).await?.map(|c| c.size),
        _ => None,
    };
    Ok(Made {
        bundle,
        made_from: MadeFrom {
            known_at,
            log_size,
            log_hash,
            checkpoint_size,
            policy_versions: policy_versions(state, known_at.england_date()).await?,
            made_by: format!("journey {}", env!("CARGO_PKG_VERSION")),
        },
    })
}

/// The children whose records, up to the log's position `last`, carry the person's data: the log read
/// through once. Sealed adoption records are passed over.
async fn children_carrying(state: &AppState, person_id: &str, last: u64) -> ApiResult<Vec<ChildId>> {
    let mut found: Vec<ChildId> = Vec::new();
    crate::routes::each_logged(state.store.as_ref(), |event| {
        if event.envelope.position.0 > last {
            return ControlFlow::Break(());
        }
        if !found.contains(&event.envelope.child_id)
            && event
                .payload
                .data_subjects()
                .iter()
                .any(|p| p.person_id.as_deref() == Some(person_id))
        {
            found.push(event.envelope.child_id);
        }
        ControlFlow::Continue(())
    })
    .await?;
    finish(state, found).await
}

async fn finish(state: &AppState, found: Vec<ChildId>) -> ApiResult<Vec<ChildId>> {
    let mut open = Vec::with_capacity(found.len());
    for child_id in found {
        if state
            .sealed
            .sealed_since(state.store.as_ref(), &child_id)
            .await?
            .is_none()
        {
            open.push(child_id);
        }
    }
    Ok(open)
}

/// `name version` of each policy in force on `on`, by name.
async fn policy_versions(state: &AppState, on: Date) -> ApiResult<Vec<String>> {
    let Some(registry) = &state.registry else {
        return Ok(Vec::new());
    };
    let mut names: Vec<String> = registry
        .list()
        .await
        .map_err(crate::routes::policies::plugin_error)?
        .into_iter()
        .map(|v| v.deployed.name)
        .collect();
    names.sort();
    names.dedup();
    let mut versions = Vec::new();
    for name in names {
        if let Some(v) = registry
            .in_force(&name, on)
            .await
            .map_err(crate::routes::policies::plugin_error)?
        {
            versions.push(format!("{} {}", v.deployed.name, v.deployed.version));
        }
    }
    Ok(versions)
}

#[derive(Debug, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct BundleQuery {
    /// `json` (default) or `html` (a print-ready document).
    pub format: Option<String>,
}

/// The bundle as the subject receives it: their story in the order it happened, in plain words, each entry
/// with who recorded it and when, redacted by rule, with the list of redactions (rule and provision, never
/// whose data). Before release a draft as known now; after release, made again as known at the release and
/// identical to what was released (its SHA-256 is the one recorded). Every read for it is access-logged.
#[utoipa::path(
    get,
    path = "/v1/subject-access/{request_id}/bundle",
    tag = "subject access",
    params(("request_id" = String, Path), BundleQuery),
    responses(
        (status = 200, body = SubjectAccessBundle, description = "JSON, or with `format=html` the print-ready document"),
        (status = 400, response = BadRequest),
        (status = 401, response = Unauthorized),
        (status = 403, response = Forbidden),
        (status = 404, response = NotFound),
    ),
    security(("bearer" = []))
)]
pub async fn read_bundle(
    State(state): State<AppState>,
    Auth(principal): Auth,
    Path(raw): Path<String>,
    QueryParams(query): QueryParams<BundleQuery>,
) -> ApiResult<Response> {
    principal.require(Action::HandleSubjectAccess)?;
    let id = request_id(&raw)?;
    let html = match query.format.as_deref() {
        None | Some("json") => false,
        Some("html") => true,
        Some(other) => {
            return Err(ApiError::BadRequest {
                detail: format!("format {other:?} is not json or html"),
                errors: vec![journey_core::FieldError::new("format", "must be json or html")],
            });
        }
    };
    let requests = load(&state).await?;
    let request = requests.get(id)?;
    let made = make(&state, &principal, request).await?;
    let document = document(request, made);
    if html {
        let page = crate::subject_access_page::render(&document);
        return Ok(([(header::CONTENT_TYPE, "text/html; charset=utf-8")], page).into_response());
    }
    Ok((
        [(header::CONTENT_TYPE, "application/json")],
        canonical_json(&document)?,
    )
        .into_response())
}

/// The schedule of redactions for the data protection officer: each with its rule and provision, whose data
/// it was (person id and relationship) and, for a serious-harm withholding, the reviewer's reason. Never
/// released to the subject.
#[utoipa::path(
    get,
    path = "/v1/subject-access/{request_id}/schedule",
    tag = "subject access",
    params(("request_id" = String, Path)),
    responses(
        (status = 200, body = Object, description = "The redactions, with the officer's notes"),
        (status = 400, response = BadRequest),
        (status = 401, response = Unauthorized),
        (status = 403, response = Forbidden),
        (status = 404, response = NotFound),
    ),
    security(("bearer" = []))
)]
pub async fn schedule(
    State(state): State<AppState>,
    Auth(principal): Auth,
    Path(raw): Path<String>,
) -> ApiResult<Json<serde_json::Value>> {
    principal.require(Action::HandleSubjectAccess)?;
    let id = request_id(&raw)?;
    let requests = load(&state).await?;
    let request = requests.get(id)?;
    let made = make(&state, &principal, request).await?;
    Ok(Json(serde_json::json!({
        "request_id": request.request_id,
        "made_from": made.made_from,
        "redactions": made.bundle.redactions,
    })))
}

/// Releases the bundle: made as known now, with the decisions recorded so far, its SHA-256 and the log's
/// size and head hash recorded. The request is then complete (on time or late) and changes no more.
#[utoipa::path(
    post,
    path = "/v1/subject-access/{request_id}/release",
    tag = "subject access",
    params(("request_id" = String, Path)),
    responses(
        (status = 200, body = SubjectAccessRequest),
        (status = 400, response = BadRequest),
        (status = 401, response = Unauthorized),
        (status = 403, response = Forbidden),
        (status = 404, response = NotFound),
        (status = 409, response = Conflict),
    ),
    security(("bearer" = []))
)]
pub async fn release(
    State(state): State<AppState>,
    Auth(principal): Auth,
    Path(raw): Path<String>,
) -> ApiResult<Json<SubjectAccessRequest>> {
    principal.require(Action::HandleSubjectAccess)?;
    let id = request_id(&raw)?;
    let requests = load(&state).await?;
    let request = requests.get(id)?;
    // Refused with the release named before any record is read.
    open(&requests, id)?;
    let made = make(&state, &principal, request).await?;
    let made_from = made.made_from.clone();
    let mut as_released = request.clone();
    as_released.status = "released";
    let sha256 = hex::encode(Sha256::digest(canonical_json(&document(&as_released, made))?));
    let released = Released {
        request_id: id.to_owned(),
        made_from,
        sha256,
    };
    let released = recorder(&state, &principal)
        .release(requests.version(), released)
        .await?;
    Ok(Json(released))
}

fn document(request: &SubjectAccessRequest, made: Made) -> SubjectAccessBundle {
    SubjectAccessBundle {
        request_id: request.request_id.clone(),
        subject: request.subject.clone(),
        received_on: request.received_on,
        due_on: request.due_on,
        status: if request.status == "released" {
            "released"
        } else {
            "draft"
        },
        made_from: made.made_from,
        bundle: made.bundle.for_release(),
    }
}

/// The bundle's JSON bytes: what the release's SHA-256 covers.
fn canonical_json(document: &SubjectAccessBundle) -> ApiResult<Vec<u8>> {
    serde_json::to_vec(document).map_err(|e| ApiError::Internal(format!("writing the bundle: {e}")))
}
