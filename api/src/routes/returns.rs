//! Statutory returns produced from the log as it stood at an instant: the SSDA903 tables of a collection
//! year and Ofsted's Annex A lists for a window. They hold children's data, so only admins (the
//! authority's data team) may produce them, and every child in a return is written to the access log before
//! it is answered.

use axum::Json;
use axum::extract::{Path, State};
use axum::http::header;
use axum::response::{IntoResponse, Response};
use journey_core::codes::CollectionYear;
use journey_core::error::FieldError;
use journey_core::{ChildId, Date, Timestamp};
use journey_returns::annex_a::{self, AnnexA, AnnexAWindow, ListKind};
use journey_returns::cin::{self, CinOptions};
use journey_returns::ssda903::{self, TableKind, Tables};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

use crate::AppState;
use crate::access::{Purpose, PurposeHeader, record_bulk_read};
use crate::auth::{Action, Auth, Principal};
use crate::error::{ApiError, ApiResult};
use crate::extract::{AcceptedDate, AcceptedInstant, QueryParams};
use crate::responses::{BadRequest, Forbidden, NotFound, Unauthorized};

#[derive(Debug, Deserialize, Serialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct KnownAtQuery {
    /// The record as it stood at this instant (RFC 3339). Default: now.
    #[param(value_type = Option<String>, format = DateTime)]
    pub known_at: Option<AcceptedInstant>,
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
    // A merged child is counted once, under the surviving record, as the merges stood at `known_at`
    // (`crate::merges`); a sealed adoption record under its pseudonym (`crate::sealed`).
    let merged = state.merges.view(state.store.as_ref(), known_at).await?;
    let counted = state
        .sealed
        .for_counting(state.store.as_ref(), &merged, state.journal.as_ref())
        .await?;
    let tables = ssda903::export(&counted, year, known_at).await?;
    let children: Vec<ChildId> = tables
        .table(TableKind::Header)
        .iter()
        .filter_map(|row| row.first())
        .filter_map(|id| ChildId::parse(id).ok())
        .collect();
    record_bulk_read(
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
        (status = 400, response = BadRequest),
        (status = 401, response = Unauthorized),
        (status = 403, response = Forbidden),
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
    let (tables, known_at) = produce(
        &state,
        &principal,
        &purpose,
        year,
        query.known_at.map(AcceptedInstant::get),
        "ssda903",
    )
    .await?;
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
        (status = 400, response = BadRequest),
        (status = 401, response = Unauthorized),
        (status = 403, response = Forbidden),
        (status = 404, response = NotFound),
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
    let (tables, _) = produce(
        &state,
        &principal,
        &purpose,
        year,
        query.known_at.map(AcceptedInstant::get),
        "ssda903",
    )
    .await?;
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

#[derive(Debug, Deserialize, Serialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct AnnexAQuery {
    /// The first day the lists cover (Ofsted asks for the 6 or 12 months before the inspection).
    #[param(value_type = String, format = Date)]
    pub start: AcceptedDate,
    /// The last day they cover (included).
    #[param(value_type = String, format = Date)]
    pub end: AcceptedDate,
    /// The record as it stood at this instant (RFC 3339). Default: now.
    #[param(value_type = Option<String>, format = DateTime)]
    pub known_at: Option<AcceptedInstant>,
}

/// One Annex A list.
#[derive(Debug, Serialize, ToSchema)]
pub struct AnnexAList {
    /// 1 to 11.
    pub number: u8,
    /// "List 1 - Contacts".
    pub name: String,
    /// The columns as Ofsted names them.
    pub headings: Vec<String>,
    /// Cells in heading order; dates dd/mm/yyyy; DfE codes as they are.
    pub rows: Vec<Vec<String>>,
}

/// Ofsted's Annex A lists for a window.
#[derive(Debug, Serialize, ToSchema)]
pub struct AnnexAReturn {
    #[schema(value_type = String, format = Date)]
    pub start: Date,
    #[schema(value_type = String, format = Date)]
    pub end: Date,
    #[schema(value_type = String, format = DateTime)]
    pub known_at: Timestamp,
    pub lists: Vec<AnnexAList>,
}

async fn produce_annex_a(
    state: &AppState,
    principal: &Principal,
    purpose: &Purpose,
    query: &AnnexAQuery,
) -> ApiResult<(AnnexA, Timestamp)> {
    principal.require(Action::ProduceReturns)?;
    let purpose = purpose.required_for(principal)?;
    if query.start > query.end {
        return Err(ApiError::BadRequest {
            detail: "start must be on or before end".into(),
            errors: vec![FieldError::new("start", "must be on or before end")],
        });
    }
    let known_at = query
        .known_at
        .map_or_else(|| state.clock.now(), AcceptedInstant::get);
    let window = AnnexAWindow {
        start: query.start.get(),
        end: query.end.get(),
    };
    // A merged child is counted once, under the surviving record, as the merges stood at `known_at`
    // (`crate::merges`); a sealed adoption record under its pseudonym (`crate::sealed`).
    let merged = state.merges.view(state.store.as_ref(), known_at).await?;
    let counted = state
        .sealed
        .for_counting(state.store.as_ref(), &merged, state.journal.as_ref())
        .await?;
    let lists = annex_a::export(&counted, window, known_at).await?;
    record_bulk_read(
        state,
        principal,
        purpose,
        "annex-a",
        lists.children(),
        serde_json::json!({ "start": query.start, "end": query.end, "known_at": known_at }),
    )
    .await?;
    Ok((lists, known_at))
}

/// Ofsted's Annex A lists 1 to 11 for a window, as the record stood at `known_at`.
#[utoipa::path(
    get,
    path = "/v1/returns/annex-a",
    tag = "returns",
    params(AnnexAQuery, PurposeHeader),
    responses(
        (status = 200, body = AnnexAReturn),
        (status = 400, response = BadRequest),
        (status = 401, response = Unauthorized),
        (status = 403, response = Forbidden),
    ),
    security(("bearer" = []))
)]
pub async fn annex_a_lists(
    State(state): State<AppState>,
    Auth(principal): Auth,
    purpose: Purpose,
    QueryParams(query): QueryParams<AnnexAQuery>,
) -> ApiResult<Json<AnnexAReturn>> {
    let (lists, known_at) = produce_annex_a(&state, &principal, &purpose, &query).await?;
    Ok(Json(AnnexAReturn {
        start: query.start.get(),
        end: query.end.get(),
        known_at,
        lists: lists
            .lists
            .into_iter()
            .map(|l| AnnexAList {
                number: l.kind.number(),
                name: l.name,
                headings: l.headings,
                rows: l.rows,
            })
            .collect(),
    }))
}

/// The Annex A workbook: one sheet per list, headings in bold on a frozen row, dates as Excel dates.
#[utoipa::path(
    get,
    path = "/v1/returns/annex-a/workbook",
    tag = "returns",
    params(AnnexAQuery, PurposeHeader),
    responses(
        (status = 200, description = "The workbook", body = Vec<u8>,
            content_type = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"),
        (status = 400, response = BadRequest),
        (status = 401, response = Unauthorized),
        (status = 403, response = Forbidden),
    ),
    security(("bearer" = []))
)]
pub async fn annex_a_workbook(
    State(state): State<AppState>,
    Auth(principal): Auth,
    purpose: Purpose,
    QueryParams(query): QueryParams<AnnexAQuery>,
) -> ApiResult<Response> {
    let (lists, _) = produce_annex_a(&state, &principal, &purpose, &query).await?;
    let bytes = lists.to_xlsx()?;
    Ok((
        [
            (header::CONTENT_TYPE, XLSX.to_owned()),
            (
                header::CONTENT_DISPOSITION,
                format!(
                    "attachment; filename=\"annex-a-{}-to-{}.xlsx\"",
                    query.start.get(),
                    query.end.get()
                ),
            ),
        ],
        bytes,
    )
        .into_response())
}

const XLSX: &str = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet";

/// One Annex A list as CSV (headings first).
#[utoipa::path(
    get,
    path = "/v1/returns/annex-a/lists/{number}",
    tag = "returns",
    params(("number" = u8, Path, description = "The list, 1 to 11"), AnnexAQuery, PurposeHeader),
    responses(
        (status = 200, description = "The list", body = String, content_type = "text/csv"),
        (status = 400, response = BadRequest),
        (status = 401, response = Unauthorized),
        (status = 403, response = Forbidden),
        (status = 404, response = NotFound),
    ),
    security(("bearer" = []))
)]
pub async fn annex_a_list(
    State(state): State<AppState>,
    Auth(principal): Auth,
    purpose: Purpose,
    Path(number): Path<String>,
    QueryParams(query): QueryParams<AnnexAQuery>,
) -> ApiResult<Response> {
    let kind = number
        .parse::<u8>()
        .ok()
        .and_then(|n| ListKind::ALL.into_iter().find(|k| k.number() == n))
        .ok_or_else(|| ApiError::NotFound(format!("Annex A has lists 1 to 11, not {number}")))?;
    let (lists, _) = produce_annex_a(&state, &principal, &purpose, &query).await?;
    let list = lists
        .list(kind)
        .ok_or_else(|| ApiError::Internal(format!("the export has no {}", kind.name())))?;
    Ok((
        [
            (header::CONTENT_TYPE, "text/csv; charset=utf-8".to_owned()),
            (
                header::CONTENT_DISPOSITION,
                format!("attachment; filename=\"{}\"", kind.file_name()),
            ),
        ],
        list.csv()?,
    )
        .into_response())
}

#[derive(Debug, Deserialize, Serialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct CinQuery {
    /// The authority's three-digit LA code (the census's `LEA`), e.g. `878`.
    pub la_code: String,
    /// The record as it stood at this instant (RFC 3339). Default: now.
    #[param(value_type = Option<String>, format = DateTime)]
    pub known_at: Option<AcceptedInstant>,
}

/// The Children in Need census for a collection year, as the DfE's XML, as the record stood at `known_at`.
#[utoipa::path(
    get,
    path = "/v1/returns/cin/{year}",
    tag = "returns",
    params(
        ("year" = String, Path, description = "The collection year, `2024-25`"),
        CinQuery,
        PurposeHeader
    ),
    responses(
        (status = 200, description = "The census", body = String, content_type = "application/xml"),
        (status = 400, response = BadRequest),
        (status = 401, response = Unauthorized),
        (status = 403, response = Forbidden),
    ),
    security(("bearer" = []))
)]
pub async fn cin_census(
    State(state): State<AppState>,
    Auth(principal): Auth,
    purpose: Purpose,
    Path(year): Path<String>,
    QueryParams(query): QueryParams<CinQuery>,
) -> ApiResult<Response> {
    principal.require(Action::ProduceReturns)?;
    let purpose = purpose.required_for(&principal)?;
    let year = parse_year(&year)?;
    if !(query.la_code.len() == 3 && query.la_code.bytes().all(|b| b.is_ascii_digit())) {
        return Err(ApiError::BadRequest {
            detail: "la_code must be the authority's three-digit LA code".into(),
            errors: vec![FieldError::new("la_code", "must be three digits, e.g. 878")],
        });
    }
    let now = state.clock.now();
    let known_at = query.known_at.map_or(now, AcceptedInstant::get);
    // A merged child is counted once, under the surviving record, as the merges stood at `known_at`
    // (`crate::merges`); a sealed adoption record under its pseudonym (`crate::sealed`).
    let merged = state.merges.view(state.store.as_ref(), known_at).await?;
    let counted = state
        .sealed
        .for_counting(state.store.as_ref(), &merged, state.journal.as_ref())
        .await?;
    let census = cin::export(
        &counted,
        &CinOptions {
            year,
            known_at,
            la_code: query.la_code.clone(),
            produced_at: now,
            bank_holidays: &journey_plugins::Calendar::england_and_wales().bank_holidays,
        },
    )
    .await?;
    record_bulk_read(
        &state,
        &principal,
        purpose,
        "cin-census",
        census
            .children
            .iter()
            .filter_map(|c| c.child_id.clone())
            .collect(),
        serde_json::json!({ "year": year, "known_at": known_at }),
    )
    .await?;
    Ok((
        [
            (header::CONTENT_TYPE, "application/xml; charset=utf-8".to_owned()),
            (
                header::CONTENT_DISPOSITION,
                format!(
                    "attachment; filename=\"cin-census-{}.xml\"",
                    year.to_string().replace('/', "-")
                ),
            ),
        ],
        census.to_xml(),
    )
        .into_response())
}
