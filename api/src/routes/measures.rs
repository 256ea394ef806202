//! The timeliness measures (`journey_returns::timeliness`), with deadlines judged by the
//! statutory-timescales policy in force on the last day measured: as JSON, as CSV by section, and as an HTML
//! report with charts. They name no child, so investigators may read them as well as admins; computing them
//! reads every child's record, so the access log records that read (like a policy dry run's) with the
//! purpose.

use axum::Json;
use axum::extract::{Path, State};
use axum::http::header;
use axum::response::{Html, IntoResponse, Response};
use journey_core::ChildId;
use journey_core::error::FieldError;
use journey_core::view::AsOf;
use journey_plugins::{Deadline, DeadlineStatus};
use journey_returns::ssda903::streams_known_at;
use journey_returns::timeliness::{
    self, MeasuresOptions, MeasuresReport, Section, TimescaleOutcome, TimescaleStatus,
};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

use crate::AppState;
use crate::access::{Purpose, PurposeHeader, record_bulk_read};
use crate::auth::{Action, Auth, Principal};
use crate::error::{ApiError, ApiResult};
use crate::extract::{AcceptedDate, AcceptedInstant, QueryParams};
use crate::measures_report::{MeasuresPage, render};
use crate::responses::{BadRequest, Forbidden, NotFound, Unauthorized};

#[derive(Debug, Deserialize, Serialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct MeasuresQuery {
    /// The first day measured (its month is the first month).
    #[param(value_type = String, format = Date)]
    pub from: AcceptedDate,
    /// The last day measured; deadlines are judged as on this day.
    #[param(value_type = String, format = Date)]
    pub to: AcceptedDate,
    /// The record as it stood at this instant (RFC 3339). Default: now.
    #[param(value_type = Option<String>, format = DateTime)]
    pub known_at: Option<AcceptedInstant>,
}

/// The measures, and how the deadlines were judged.
#[derive(Debug, Serialize, ToSchema)]
pub struct Measures {
    /// The statutory-timescales version that judged the deadlines (absent when none could).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub policy: Option<String>,
    /// Why no deadlines were judged, when none were.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub deadlines_unavailable: Option<String>,
    /// Children the policy could not judge, by kind of failure (their deadlines are not counted).
    #[schema(value_type = Object)]
    pub failures: std::collections::BTreeMap<String, usize>,
    #[schema(value_type = Object)]
    pub report: MeasuresReport,
}

async fn produce(
    state: &AppState,
    principal: &Principal,
    purpose: &Purpose,
    query: &MeasuresQuery,
) -> ApiResult<Measures> {
    principal.require(Action::ReadMeasures)?;
    let purpose = purpose.required_for(principal)?;
    if query.from > query.to {
        return Err(ApiError::BadRequest {
            detail: "from must be on or before to".into(),
            errors: vec![FieldError::new("from", "must be on or before to")],
        });
    }
    let known_at = query
        .known_at
        .map_or_else(|| state.clock.now(), AcceptedInstant::get);
    // A merged child is counted once, under the surviving record, as the merges stood at `known_at`
    // (`crate::merges`); a sealed adoption record under its pseudonym (`crate::sealed`).
    let merged = state.merges.view(state.store.as_ref(), known_at).await?;
    let counted = state
        .sealed
        .for_counting(state.store.as_ref(), &merged, state.journal.as_ref())
        .await?;
    let streams = streams_known_at(&counted, known_at).await?;
    record_bulk_read(
        state,
        principal,
        Some(purpose.unwrap_or_else(|| "timeliness measures (aggregates only)".into())),
        "measures",
        streams.keys().cloned().collect(),
        serde_json::json!({ "from": query.from, "to": query.to, "known_at": known_at }),
    )
    .await?;
    let (outcomes, policy, unavailable, failures) = match &state.registry {
        None => (
            Vec::new(),
            None,
            Some("this server runs without a policy host".to_owned()),
            Default::default(),
        ),
        Some(registry) => match registry
            .timescale_outcomes(&streams, AsOf::new(query.to.get(), known_at))
            .await
        {
            Ok(run) => (
                run.deadlines.into_iter().map(timescale_outcome).collect(),
                Some(run.policy),
                None,
                run.failures,
            ),
            Err(e) => (Vec::new(), None, Some(e.to_string()), Default::default()),
        },
    };
    let options = MeasuresOptions {
        from: query.from.get(),
        to: query.to.get(),
        known_at,
    };
    let report = tokio::task::spawn_blocking(move || timeliness::measure(&streams, &outcomes, &options))
        .await
        .map_err(|e| ApiError::Internal(format!("computing the measures: {e}")))?;
    Ok(Measures {
        policy,
        deadlines_unavailable: unavailable,
        failures,
        report,
    })
}

/// One of the policy's deadlines as the measures count it.
pub fn timescale_outcome((child_id, deadline): (ChildId, Deadline)) -> TimescaleOutcome {
    TimescaleOutcome {
        child_id,
        name: deadline.name,
        starts_on: deadline.starts_on,
        due_on: deadline.due_on,
        status: match deadline.status {
            DeadlineStatus::Met => TimescaleStatus::Met,
            DeadlineStatus::Missed => TimescaleStatus::Missed,
            DeadlineStatus::Open => TimescaleStatus::Open,
            DeadlineStatus::NotApplicable => TimescaleStatus::NotApplicable,
        },
        completed_on: deadline.completed_on,
    }
}

/// Timeliness measures per month and team, re-referrals, recording lag and the adoption scorecard.
#[utoipa::path(
    get,
    path = "/v1/measures",
    tag = "returns",
    params(MeasuresQuery, PurposeHeader),
    responses(
        (status = 200, body = Measures),
        (status = 400, response = BadRequest),
        (status = 401, response = Unauthorized),
        (status = 403, response = Forbidden),
    ),
    security(("bearer" = []))
)]
pub async fn measures(
    State(state): State<AppState>,
    Auth(principal): Auth,
    purpose: Purpose,
    QueryParams(query): QueryParams<MeasuresQuery>,
) -> ApiResult<Json<Measures>> {
    Ok(Json(produce(&state, &principal, &purpose, &query).await?))
}

/// One section of the measures as CSV: `timeliness`, `re-referrals`, `recording-lag` or `adoption`.
#[utoipa::path(
    get,
    path = "/v1/measures/sections/{section}",
    tag = "returns",
    params(("section" = String, Path), MeasuresQuery, PurposeHeader),
    responses(
        (status = 200, description = "The section", body = String, content_type = "text/csv"),
        (status = 400, response = BadRequest),
        (status = 401, response = Unauthorized),
        (status = 403, response = Forbidden),
        (status = 404, response = NotFound),
    ),
    security(("bearer" = []))
)]
pub async fn section(
    State(state): State<AppState>,
    Auth(principal): Auth,
    purpose: Purpose,
    Path(section): Path<String>,
    QueryParams(query): QueryParams<MeasuresQuery>,
) -> ApiResult<Response> {
    let name = section.trim_end_matches(".csv");
    let section = Section::ALL
        .into_iter()
        .find(|s| s.name() == name)
        .ok_or_else(|| {
            ApiError::NotFound(format!(
                "no section {name}: timeliness, re-referrals, recording-lag or adoption"
            ))
        })?;
    let measures = produce(&state, &principal, &purpose, &query).await?;
    Ok((
        [
            (header::CONTENT_TYPE, "text/csv; charset=utf-8".to_owned()),
            (
                header::CONTENT_DISPOSITION,
                format!("attachment; filename=\"{}.csv\"", section.name()),
            ),
        ],
        measures.report.csv(section),
    )
        .into_response())
}

/// The measures as a report to open in a browser: a chart per measure, the tables behind them.
#[utoipa::path(
    get,
    path = "/v1/measures/report",
    tag = "returns",
    params(MeasuresQuery, PurposeHeader),
    responses(
        (status = 200, description = "The report", body = String, content_type = "text/html"),
        (status = 400, response = BadRequest),
        (status = 401, response = Unauthorized),
        (status = 403, response = Forbidden),
    ),
    security(("bearer" = []))
)]
pub async fn report(
    State(state): State<AppState>,
    Auth(principal): Auth,
    purpose: Purpose,
    QueryParams(query): QueryParams<MeasuresQuery>,
) -> ApiResult<Html<String>> {
    let measures = produce(&state, &principal, &purpose, &query).await?;
    let failures = measures.failures.values().sum();
    let page_query = serde_urlencoded::to_string(&MeasuresQuery {
        known_at: Some(AcceptedInstant(measures.report.known_at)),
        ..query
    })
    .unwrap_or_default();
    Ok(Html(render(&MeasuresPage {
        report: &measures.report,
        policy: measures
            .policy
            .clone()
            .ok_or_else(|| measures.deadlines_unavailable.clone().unwrap_or_default()),
        failures,
        query: page_query,
        // No national percentage target is published for these measures (the statutory timescale is
        // the requirement; the DfE's national figures are averages); local targets need a source first.
        targets: &[],
    })))
}
