//! The one error type of `journey-api`, [`ApiError`], and its one rendering: RFC 9457 problem details
//! (`application/problem+json`). Every refusal the API gives, including the ones axum itself produces
//! (unknown routes, wrong methods) and timeouts, goes out in this shape; see `crate::middleware`.

use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use journey_core::ChildId;
use journey_core::content_keys::KeyError;
use journey_core::error::{Conflict, Error as CoreError, FieldError, Problems};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

pub const PROBLEM_JSON: &str = "application/problem+json";

/// An RFC 9457 problem detail.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct Problem {
    /// A URI naming the kind of problem: `urn:journey:problem:<slug>`.
    #[serde(rename = "type")]
    pub kind: String,
    /// A short summary of the kind of problem, the same for every occurrence.
    pub title: String,
    /// The HTTP status code.
    pub status: u16,
    /// What went wrong this time, for a person.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub detail: Option<String>,
    /// Every field at fault, with the rule it broke (path such as `events[0].data.placement.place_type`).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    #[schema(value_type = Vec<FieldProblem>)]
    pub errors: Vec<FieldError>,
}

/// One field at fault and the rule it broke.
#[derive(Debug, ToSchema)]
#[allow(dead_code)] // Describes `journey_core::FieldError` in the OpenAPI document.
pub struct FieldProblem {
    /// The path of the field: `events[2].data.legal_status`, `source.agency`, `X-Journey-Purpose`.
    field: String,
    /// The rule, in words.
    message: String,
}

/// Everything the API refuses or fails with.
#[derive(Debug, thiserror::Error)]
pub enum ApiError {
    /// No credentials, or credentials that are not a live key (401).
    #[error("unauthenticated: {0}")]
    Unauthenticated(&'static str),
    /// Authenticated, but the key's role or scope does not allow this (403).
    #[error("forbidden: {detail}")]
    Forbidden {
        detail: String,
        field: Option<FieldError>,
    },
    /// A request that cannot be understood: malformed JSON, a bad query parameter, a missing header (400).
    #[error("bad request: {detail}")]
    BadRequest { detail: String, errors: Vec<FieldError> },
    /// Well-formed, but breaks rules (422), with every field at fault.
    #[error("invalid: {0}")]
    Invalid(Problems),
    #[error("unsupported media type: {0}")]
    UnsupportedMediaType(String),
    /// A body over one of the server's limits: `setting` is the config file's key (and, with dashes, the
    /// `journey serve` flag) that raises it.
    #[error(
        "the request body is larger than this server's limit of {limit} bytes ({setting}: raise it with `{setting} = ...` in the server's config file or `journey serve --{flag}`)",
        flag = setting.replace('_', "-")
    )]
    PayloadTooLarge { limit: usize, setting: &'static str },
    #[error("not found: {0}")]
    NotFound(String),
    /// The child's record was merged into another (issue #20): read it there (307, with `Location` the same
    /// URL naming the surviving record; `crate::merges`).
    #[error("the record of child {child_id} was merged into {into}'s: read {into} (the merge may be undone)")]
    MergedInto { child_id: ChildId, into: ChildId },
    /// The child's record was destroyed under its retention rule: its content key no longer exists (410).
    #[error("{0}")]
    Gone(String),
    #[error(transparent)]
    Conflict(#[from] Conflict),
    /// A conflict that is not one of the store's (a key name in use, a key already revoked).
    #[error("conflict: {0}")]
    ConflictDetail(String),
    #[error("the request took longer than {0} ms")]
    Timeout(u64),
    /// The server cannot serve now (store closed, shutting down) (503).
    #[error("unavailable: {0}")]
    Unavailable(String),
    /// Anything else: the detail goes to the log, the client gets a generic 500.
    #[error("internal error: {0}")]
    Internal(String),
}

pub type ApiResult<T> = Result<T, ApiError>;

impl From<CoreError> for ApiError {
    fn from(e: CoreError) -> ApiError {
        match e {
            CoreError::Invalid(p) => ApiError::Invalid(p),
            CoreError::Conflict(c) => ApiError::Conflict(c),
            CoreError::NotFound(what) => ApiError::NotFound(what),
            CoreError::Closed(why) => ApiError::Unavailable(why),
            CoreError::Unavailable(why) => ApiError::Unavailable(why),
            CoreError::Key(destroyed @ KeyError::Destroyed { .. }) => ApiError::Gone(destroyed.to_string()),
            CoreError::Key(not_sealed @ KeyError::NotSealed) => {
                ApiError::ConflictDetail(not_sealed.to_string())
            }
            other => ApiError::Internal(other.to_string()),
        }
    }
}

impl From<Problems> for ApiError {
    fn from(p: Problems) -> ApiError {
        ApiError::Invalid(p)
    }
}

impl From<FieldError> for ApiError {
    fn from(e: FieldError) -> ApiError {
        ApiError::Invalid(e.into())
    }
}

impl ApiError {
    pub fn forbidden(detail: impl Into<String>) -> ApiError {
        ApiError::Forbidden {
            detail: detail.into(),
            field: None,
        }
    }

    pub fn bad_request(detail: impl Into<String>) -> ApiError {
        ApiError::BadRequest {
            detail: detail.into(),
            errors: Vec::new(),
        }
    }

    pub fn status(&self) -> StatusCode {
        match self {
            ApiError::Unauthenticated(_) => StatusCode::UNAUTHORIZED,
            ApiError::Forbidden { .. } => StatusCode::FORBIDDEN,
            ApiError::BadRequest { .. } => StatusCode::BAD_REQUEST,
            ApiError::Invalid(_) => StatusCode::UNPROCESSABLE_ENTITY,
            ApiError::UnsupportedMediaType(_) => StatusCode::UNSUPPORTED_MEDIA_TYPE,
            ApiError::PayloadTooLarge { .. } => StatusCode::PAYLOAD_TOO_LARGE,
            ApiError::NotFound(_) => StatusCode::NOT_FOUND,
            ApiError::MergedInto { .. } => StatusCode::TEMPORARY_REDIRECT,
            ApiError::Gone(_) => StatusCode::GONE,
            ApiError::Conflict(_) | ApiError::ConflictDetail(_) => StatusCode::CONFLICT,
            ApiError::Timeout(_) | ApiError::Unavailable(_) => StatusCode::SERVICE_UNAVAILABLE,
            ApiError::Internal(_) => StatusCode::INTERNAL_SERVER_ERROR,
        }
    }

    /// The problem document for this error. An internal error's detail is not in it.
    pub fn to_problem(&self) -> Problem {
        let status = self.status();
        let (slug, title) = match self {
            ApiError::Unauthenticated(_) => ("unauthenticated", "Authentication required"),
            ApiError::Forbidden { .. } => ("forbidden", "Not allowed for this key"),
            ApiError::BadRequest { .. } => ("bad-request", "The request cannot be understood"),
            ApiError::Invalid(_) => ("validation", "The request breaks one or more rules"),
            ApiError::UnsupportedMediaType(_) => ("unsupported-media-type", "Unsupported media type"),
            ApiError::PayloadTooLarge { .. } => ("payload-too-large", "Request body too large"),
            ApiError::NotFound(_) => ("not-found", "Not found"),
            ApiError::MergedInto { .. } => ("record-merged", "The child's record was merged into another"),
            ApiError::Gone(_) => ("record-destroyed", "The record was destroyed"),
            ApiError::Conflict(Conflict::WrongExpectedVersion { .. }) => (
                "wrong-expected-version",
                "The stream is not at the expected version",
            ),
            ApiError::Conflict(Conflict::EventIdReused { .. }) => (
                "event-id-reused",
                "An event id was already used for other content",
            ),
            ApiError::Conflict(Conflict::DuplicateInBatch { .. }) => {
                ("duplicate-in-batch", "An event id appears twice in one append")
            }
            ApiError::Conflict(_) | ApiError::ConflictDetail(_) => ("conflict", "Conflict"),
            ApiError::Timeout(_) => ("timeout", "The request timed out"),
            ApiError::Unavailable(_) => ("unavailable", "Service unavailable"),
            ApiError::Internal(_) => ("internal", "Internal server error"),
        };
        let (detail, errors) = match self {
            ApiError::Unauthenticated(why) => (Some((*why).to_owned()), Vec::new()),
            ApiError::Forbidden { detail, field } => (Some(detail.clone()), field.iter().cloned().collect()),
            ApiError::BadRequest { detail, errors } => (Some(detail.clone()), errors.clone()),
            ApiError::Invalid(problems) => (
                Some(format!("{} problem(s): {problems}", problems.0.len())),
                problems.0.clone(),
            ),
            ApiError::Internal(_) => (
                Some("something went wrong on the server; it has been logged".to_owned()),
                Vec::new(),
            ),
            other => (Some(other.to_string()), Vec::new()),
        };
        Problem {
            kind: format!("urn:journey:problem:{slug}"),
            title: title.to_owned(),
            status: status.as_u16(),
            detail,
            errors,
        }
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        if let ApiError::Internal(detail) = &self {
            tracing::error!(error = %detail, "internal error");
        }
        let mut response = problem_response(&self.to_problem());
        match self {
            ApiError::Unauthenticated(_) => {
                response.headers_mut().insert(
                    header::WWW_AUTHENTICATE,
                    HeaderValue::from_static("Bearer realm=\"journey\""),
                );
            }
            ApiError::Timeout(_) | ApiError::Unavailable(_) => {
                response
                    .headers_mut()
                    .insert(header::RETRY_AFTER, HeaderValue::from_static("1"));
            }
            ApiError::MergedInto { child_id, into } => {
                // The route's URL is known only outside the handler: `middleware::merged_location` writes
                // the `Location` from it.
                response
                    .extensions_mut()
                    .insert(MergedRedirect { child_id, into });
            }
            _ => {}
        }
        response
    }
}

/// What a redirect to a surviving record replaces in the request's URL (`middleware::merged_location`).
#[derive(Clone, Debug)]
pub struct MergedRedirect {
    pub child_id: ChildId,
    pub into: ChildId,
}

/// A problem as a response, with its status and media type.
pub fn problem_response(problem: &Problem) -> Response {
    let status = StatusCode::from_u16(problem.status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
    let body = serde_json::to_vec(problem).expect("a problem serialises");
    (
        status,
        [(header::CONTENT_TYPE, HeaderValue::from_static(PROBLEM_JSON))],
        body,
    )
        .into_response()
}

/// A problem for a status that some layer produced without a body (405 from the router, for example).
pub fn problem_for_status(status: StatusCode, detail: Option<String>) -> Problem {
    let slug = match status {
        StatusCode::NOT_FOUND => "not-found",
        StatusCode::METHOD_NOT_ALLOWED => "method-not-allowed",
        StatusCode::PAYLOAD_TOO_LARGE => "payload-too-large",
        StatusCode::UNSUPPORTED_MEDIA_TYPE => "unsupported-media-type",
        s if s.is_server_error() => "internal",
        _ => "http",
    };
    let detail = if status.is_server_error() { None } else { detail };
    Problem {
        kind: format!("urn:journey:problem:{slug}"),
        title: status.canonical_reason().unwrap_or("Error").to_owned(),
        status: status.as_u16(),
        detail,
        errors: Vec::new(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A destroyed record is gone (410, naming when), never an internal error and never its ciphertext; a
    /// missing or wrong key store is an internal error whose detail stays in the server's log.
    #[test]
    fn a_destroyed_record_is_gone_and_a_missing_key_is_internal() {
        let child = journey_core::ChildId::parse("c-1").unwrap();
        let gone = ApiError::from(CoreError::Key(KeyError::Destroyed {
            child_id: child.clone(),
            destroyed_at: journey_core::Timestamp::UNIX_EPOCH,
        }));
        assert_eq!(gone.status(), StatusCode::GONE);
        let problem = gone.to_problem();
        assert_eq!(problem.kind, "urn:journey:problem:record-destroyed");
        assert!(problem.detail.unwrap().contains("destroyed at 1970-01-01"));
        let missing = ApiError::from(CoreError::Key(KeyError::Missing { child_id: child }));
        assert_eq!(missing.status(), StatusCode::INTERNAL_SERVER_ERROR);
        assert!(!missing.to_problem().detail.unwrap().contains("c-1"));
    }

    /// "Not now" from the core (the tree over the log being rebuilt) is a 503 that says to come back, not
    /// an internal error.
    #[test]
    fn unavailable_for_now_is_a_503() {
        let error = ApiError::from(CoreError::Unavailable("the tree is being rebuilt".into()));
        assert_eq!(error.status(), StatusCode::SERVICE_UNAVAILABLE);
        let response = error.into_response();
        assert!(response.headers().contains_key(header::RETRY_AFTER));
    }
}
