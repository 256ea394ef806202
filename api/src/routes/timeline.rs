//! The investigator's timeline page (HTML and SVG): see `crate::timeline` for what it shows. A read of the
//! child's record like any other: an investigator's (or admin's) key, a stated purpose (the
//! `X-Journey-Purpose` header, or the `purpose` parameter that the page's own links and form carry), and an
//! access-log record written before anything is read.

use axum::extract::{OriginalUri, Path, State};
use axum::http::{HeaderMap, header};
use axum::response::{Html, IntoResponse, Redirect, Response};
use journey_core::Timestamp;
use journey_core::proof::Proofs;
use journey_core::view::{ChildSummary, Chronology, ChronologyOptions};
use journey_plugins::registry::{EvaluateRequest, VersionSelector};
use serde::Deserialize;
use utoipa::IntoParams;

use crate::AppState;
use crate::access::{Purpose, authorize_read};
use crate::auth::Auth;
use crate::error::{ApiError, ApiResult};
use crate::extract::{AcceptedDate, AcceptedInstant, QueryParams, child_id};
use crate::responses::{BadRequest, Forbidden, NotFound, Unauthorized};
use crate::routes::children::{as_of, whole_stream};
use crate::timeline::{ProofView, ProvenRecords, TimelinePage, render};

/// The statutory-timescales policy whose deadlines the page shows.
const TIMESCALES_POLICY: &str = "statutory-timescales";

/// The most known-at choices the page offers (the latest ones).
const MAX_INSTANTS: usize = 500;

#[derive(Debug, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct TimelineQuery {
    /// The date judged (valid time). Default: today in England as at `known_at`.
    #[param(value_type = Option<String>, format = Date)]
    pub on: Option<AcceptedDate>,
    /// The instant whose knowledge is shown (transaction time). Default: now.
    #[param(value_type = Option<String>, format = DateTime)]
    pub known_at: Option<AcceptedInstant>,
    /// The purpose of the read, when the `X-Journey-Purpose` header is not sent (the page's links carry it).
    pub purpose: Option<String>,
}

/// A browser asking for a page (rather than a program asking for data).
fn wants_html(headers: &HeaderMap) -> bool {
    headers
        .get(header::ACCEPT)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.contains("text/html"))
}

/// The investigator's timeline page for one child: lanes by stage, late records, corrections and
/// retractions, statutory deadlines, a control to move the known-at instant, and a link to the verifiable
/// export.
#[utoipa::path(
    get,
    path = "/v1/children/{child_id}/timeline",
    tag = "children",
    params(("child_id" = String, Path), TimelineQuery,
        ("X-Journey-Purpose" = Option<String>, Header, description = "Required for investigators (or `purpose`)")),
    responses(
        (status = 200, description = "The page", body = String, content_type = "text/html"),
        (status = 400, response = BadRequest),
        (status = 303, description = "A browser with no key or session: sent to the sign-in form"),
        (status = 401, response = Unauthorized),
        (status = 403, response = Forbidden),
        (status = 404, response = NotFound),
    ),
    security(("bearer" = []))
)]
pub async fn timeline(
    State(state): State<AppState>,
    auth: Result<Auth, ApiError>,
    header_purpose: Purpose,
    headers: HeaderMap,
    OriginalUri(uri): OriginalUri,
    Path(raw_child): Path<String>,
    QueryParams(query): QueryParams<TimelineQuery>,
) -> ApiResult<Response> {
    let principal = match auth {
        Ok(Auth(principal)) => principal,
        // A person with a browser and no key: to the sign-in form, and back here afterwards.
        Err(ApiError::Unauthenticated(_)) if wants_html(&headers) => {
            let next = uri.path_and_query().map_or(uri.path(), |pq| pq.as_str());
            let next: String = form_urlencoded::byte_serialize(next.as_bytes()).collect();
            let to = format!("/login?next={next}");
            return Ok(Redirect::to(&to).into_response());
        }
        Err(e) => return Err(e),
    };
    let child = child_id(&raw_child)?;
    let as_of = as_of(&state, query.on, query.known_at);
    let purpose = match header_purpose.text {
        Some(_) => header_purpose,
        None => Purpose {
            text: query
                .purpose
                .map(|p| p.trim().to_owned())
                .filter(|p| !p.is_empty()),
            ..header_purpose
        },
    };
    authorize_read(
        &state,
        &principal,
        &purpose,
        &child,
        "timeline",
        serde_json::json!({"on": as_of.on, "known_at": as_of.known_at}),
    )
    .await?;
    let events = whole_stream(&state, &child, as_of.known_at).await?;
    let chronology = Chronology::build(&events, as_of, ChronologyOptions::default());
    let summary = ChildSummary::replay(&events, as_of);
    let deadlines = match &state.registry {
        None => Err("This server runs without a policy host, so no deadlines are shown.".to_owned()),
        Some(registry) => {
            let request = EvaluateRequest {
                policy: TIMESCALES_POLICY.into(),
                child_id: child.clone(),
                as_of,
                version: VersionSelector::InForce,
                record: false,
            };
            let view = state.merges.view(state.store.as_ref(), as_of.known_at).await?;
            match registry.evaluate(&view, &request, &principal.name).await {
                Ok(outcome) => {
                    state.metrics.record_policy_evaluation(
                        &outcome.policy,
                        "ok",
                        outcome.evaluation.fuel_used,
                    );
                    Ok((
                        format!("{} {}", outcome.policy, outcome.version),
                        outcome.evaluation.decisions.deadlines,
                    ))
                }
                Err(e) => Err(format!("No deadlines: {e}.")),
            }
        }
    };
    let mut instants: Vec<Timestamp> = events.iter().map(|e| e.envelope.recorded_at).collect();
    instants.dedup();
    if instants.len() > MAX_INSTANTS {
        instants.drain(..instants.len() - MAX_INSTANTS);
    }
    let proof = match &state.proofs {
        None => None,
        Some(proofs) => Some(proven_records(proofs, &chronology).await?),
    };
    let purpose_text = purpose.text.unwrap_or_default();
    let page = TimelinePage {
        chronology: &chronology,
        summary: &summary,
        deadlines,
        recorded_instants: instants,
        purpose: &purpose_text,
        page_path: format!("/v1/children/{child}/timeline"),
        export_path: format!("/v1/children/{child}/export"),
        proof,
    };
    Ok(Html(render(&page)).into_response())
}

/// Which checkpoint each record shown is proven against ([`Proofs::proven_against`], as its inclusion proof
/// in the export), grouped. A checkpoint proves every record up to its size, so one question per group
/// answers for all of its records: at most three (the latest cosigned checkpoint, the latest signed one,
/// none yet), however many records are shown.
async fn proven_records(proofs: &Proofs, chronology: &Chronology<'_>) -> ApiResult<ProofView> {
    let mut positions: Vec<u64> = chronology.entries.iter().map(|e| e.position.0).collect();
    positions.sort_unstable();
    positions.dedup();
    let mut groups = Vec::new();
    let mut rest = positions.as_slice();
    while let Some(&first) = rest.first() {
        let Some(checkpoint) = proofs.proven_against(first).await? else {
            groups.push(ProvenRecords {
                checkpoint: None,
                positions: rest.to_vec(),
            });
            break;
        };
        // It covers `first` at least, so every turn takes one record or more.
        let covered = rest.partition_point(|&p| p <= checkpoint.size).max(1);
        groups.push(ProvenRecords {
            checkpoint: Some(proofs.provenance(&checkpoint).await?),
            positions: rest[..covered].to_vec(),
        });
        rest = &rest[covered..];
    }
    Ok(ProofView {
        origin: proofs.origin().to_string(),
        groups,
    })
}
