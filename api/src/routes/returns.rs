//! Statutory returns produced from the log as it stood at an instant: the SSDA903 tables of a collection
//! year. They hold every looked-after child's data, so only admins (the authority's data team) may produce
//! them, and every child in a return is written to the access log before it is answered.

use axum::Json;
use axum::extract::{Path, State};
use axum::http::header;
use axum::response::{IntoResponse, Response};
use journey_core::codes::CollectionYear;
use journey_core::error::FieldError;
use journey_core::returns::ssda903::{self, TableKind, Tables};
use journey_core::{ChildId, Timestamp};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

use crate::AppState;
use crate::access::Purpose;
use crate::auth::{Action, Auth, Principal};
use crate::error::{ApiError, ApiResult, Problem};
use crate::extract::QueryParams;
use crate::routes::children::PurposeHeader;

#[derive(Debug, Deserialize, Serialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct KnownAtQuery {
    /// The record as it stood at this instant (RFC 3339). Default: now.
    #[param(value_type = Option<String>, format = DateTime)]
    pub known_at: Option<Timestamp>,
}

/// One SSDA903 table.
#[derive(Debug, Serialize, ToSchema)]
pub struct ReturnTable {
    /// The table, e.g. `Episodes`.
    pub table: String,
    /// The file the DfE expects it in, e.g. `episodes.csv`.
    pub file: String,
    pub columns: Vec<String>,
    /// The rows, cells in column order; an empty cell is an empty string; dates as dd/mm/yyyy.
    pub rows: Vec<Vec<String>>,
}

/// A collection year's SSDA903 return.
#[derive(Debug, Serialize, ToSchema)]
pub struct Ssda903Return {
    /// The collection year, e.g. `2024/25`.
    pub year: String,
    #[schema(value_type = String, format = DateTime)]
    pub known_at: Timestamp,
    pub tables: Vec<ReturnTable>,
}

fn parse_year(year: &str) -> ApiResult<CollectionYear> {
    CollectionYear::parse(year).map_err(|e| ApiError::BadRequest {
        detail: format!("year {}", e.message),
        errors: vec![FieldError::new("year", e.message)],
    })
}

/// Produces the return and writes its children to the access log.
async fn produce(
    state: &AppState,
    principal: &Principal,
    purpose: &Purpose,
    year: CollectionYear,
    known_at: Option<Timestamp>,
    view: &str,
) -> ApiResult<(Tables, Timestamp)> {
    principal.require(Action::ProduceReturns)?;
    let purpose = purpose.required_for(principal)?;
    let known_at = known_at.unwrap_or_else(|| state.clock.now());
    let tables = ssda903::export(state.store.as_ref(), year, known_at).await?;
    let children: Vec<ChildId> = tables
        .table(TableKind::Header)
        .iter()
        .filter_map(|row| row.first())
        .filter_map(|id| ChildId::parse(id).ok())
        .collect();
    crate::routes::log::log_access(
        state,
        principal,
        purpose,
        view,
        children,
        serde_json::json!({ "year": year, "known_at": known_at }),
    )
    .await?;
    Ok((tables, known_at))
}

/// The SSDA903 return (children looked after) for a collection year, as the record stood at `known_at`:
/// every table of that year, in that year's columns and codes.
#[utoipa::path(
    get,
    path = "/v1/returns/ssda903/{year}",
    tag = "returns",
    params(
        ("year" = String, Path, description = "The collection year, `2024-25` (1 April 2024 to 31 March 2025)"),
        KnownAtQuery,
        PurposeHeader
    ),
    responses(
        (status = 200, body = Ssda903Return),
        (status = 400, body = Problem, content_type = "application/problem+json"),
        (status = 401, body = Problem, content_type = "application/problem+json"),
        (status = 403, body = Problem, content_type = "application/problem+json"),
    ),
    security(("bearer" = []))
)]
pub async fn ssda903_return(
    State(state): State<AppState>,
    Auth(principal): Auth,
    purpose: Purpose,
    Path(year): Path<String>,
    QueryParams(query): QueryParams<KnownAtQuery>,
) -> ApiResult<Json<Ssda903Return>> {
    let year = parse_year(&year)?;
    let (tables, known_at) = produce(&state, &principal, &purpose, year, query.known_at, "ssda903").await?;
    Ok(Json(Ssda903Return {
        year: year.to_string(),
        known_at,
        tables: tables
            .tables
            .into_iter()
            .map(|(kind, table)| ReturnTable {
                table: kind.name().to_owned(),
                file: kind.file_name().to_owned(),
                columns: kind.columns().iter().map(|c| (*c).to_owned()).collect(),
                rows: table.rows,
            })
            .collect(),
    }))
}

/// One SSDA903 table as the CSV file the DfE takes (header row first).
#[utoipa::path(
    get,
    path = "/v1/returns/ssda903/{year}/tables/{table}",
    tag = "returns",
    params(
        ("year" = String, Path, description = "The collection year, `2024-25`"),
        ("table" = String, Path, description = "The table's file name (`episodes.csv`) or name (`Episodes`)"),
        KnownAtQuery,
        PurposeHeader
    ),
    responses(
        (status = 200, description = "The table", body = String, content_type = "text/csv"),
        (status = 400, body = Problem, content_type = "application/problem+json"),
        (status = 401, body = Problem, content_type = "application/problem+json"),
        (status = 403, body = Problem, content_type = "application/problem+json"),
        (status = 404, body = Problem, content_type = "application/problem+json"),
    ),
    security(("bearer" = []))
)]
pub async fn ssda903_table(
    State(state): State<AppState>,
    Auth(principal): Auth,
    purpose: Purpose,
    Path((year, table)): Path<(String, String)>,
    QueryParams(query): QueryParams<KnownAtQuery>,
) -> ApiResult<Response> {
    let year = parse_year(&year)?;
    let kind = TableKind::ALL
        .into_iter()
        .find(|k| k.file_name().eq_ignore_ascii_case(&table) || k.name().eq_ignore_ascii_case(&table))
        .filter(|k| k.in_year(year))
        .ok_or_else(|| ApiError::NotFound(format!("the {year} SSDA903 return has no table {table}")))?;
    let (tables, _) = produce(&state, &principal, &purpose, year, query.known_at, "ssda903").await?;
    let csv = tables
        .csv(kind)
        .map_err(|e| ApiError::Internal(format!("writing the table: {e}")))?;
    Ok((
        [
            (header::CONTENT_TYPE, "text/csv; charset=utf-8".to_owned()),
            (
                header::CONTENT_DISPOSITION,
                format!("attachment; filename=\"{}\"", kind.file_name()),
            ),
        ],
        csv,
    )
        .into_response())
}
