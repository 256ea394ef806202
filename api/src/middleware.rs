//! The layers around every route: request logs and metrics, panics as a generic 500, bodiless refusals
//! (405 from the router, anything else without a body) turned into problem details, and the request
//! timeout.

use std::any::Any;
use std::time::Instant;

use axum::body::Body;
use axum::extract::{MatchedPath, Request, State};
use axum::http::{HeaderValue, StatusCode, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use http_body_util::BodyExt;

use crate::AppState;
use crate::error::{ApiError, MergedRedirect, PROBLEM_JSON, problem_for_status, problem_response};

/// Logs each request and counts it by route template (never by the raw path, which carries child ids).
pub async fn observe(State(state): State<AppState>, req: Request, next: Next) -> Response {
    let started = Instant::now();
    let route = req
        .extensions()
        .get::<MatchedPath>()
        .map_or("unmatched", |m| m.as_str())
        .to_owned();
    let method = req.method().to_string();
    let response = next.run(req).await;
    let elapsed = started.elapsed();
    let status = response.status().as_u16();
    state.metrics.record_request(&route, &method, status, elapsed);
    tracing::info!(
        target: "journey_api::request",
        method,
        route,
        status,
        micros = elapsed.as_micros() as u64,
        "request"
    );
    response
}

/// Any refusal that is not already a problem document becomes one, keeping a short plain-text reason as its
/// detail (4xx only: a 5xx's detail is logged, not sent). The one exception is a page written for a person:
/// the sign-in form shown again with what was wrong (`text/html`, a 4xx).
pub async fn problem_details(req: Request, next: Next) -> Response {
    let response = next.run(req).await;
    let status = response.status();
    if !(status.is_client_error() || status.is_server_error()) {
        return response;
    }
    let content_type = response
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("");
    if content_type.starts_with(PROBLEM_JSON)
        || (status.is_client_error() && content_type.starts_with("text/html"))
    {
        return response;
    }
    let (parts, body) = response.into_parts();
    let is_text = parts
        .headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.starts_with("text/plain"));
    let detail = if is_text {
        match http_body_util::Limited::new(body, 4096).collect().await {
            Ok(c) => Some(String::from_utf8_lossy(&c.to_bytes()).trim().to_owned()).filter(|s| !s.is_empty()),
            Err(_) => None,
        }
    } else {
        None
    };
    if status.is_server_error()
        && let Some(detail) = &detail
    {
        tracing::error!(status = status.as_u16(), detail, "server error");
    }
    let detail = detail.or_else(|| {
        (status == StatusCode::METHOD_NOT_ALLOWED).then(|| {
            let allow = parts
                .headers
                .get(header::ALLOW)
                .and_then(|v| v.to_str().ok())
                .unwrap_or("");
            let methods: Vec<&str> = allow
                .split(',')
                .map(str::trim)
                .filter(|m| !m.is_empty())
                .collect();
            format!("this route accepts: {}", methods.join(", "))
        })
    });
    let mut out = problem_response(&problem_for_status(status, detail));
    if let Some(allow) = parts.headers.get(header::ALLOW) {
        out.headers_mut().insert(header::ALLOW, allow.clone());
    }
    out
}

/// Bounds the time to a response's head. A streamed body (the change feed) is not bounded.
pub async fn timeout(State(state): State<AppState>, req: Request, next: Next) -> Response {
    let limit = state.config.request_timeout;
    match tokio::time::timeout(limit, next.run(req)).await {
        Ok(response) => response,
        Err(_) => {
            tracing::warn!(millis = limit.as_millis() as u64, "request timed out");
            ApiError::Timeout(limit.as_millis() as u64).into_response()
        }
    }
}

/// A panic in a handler: a generic 500, with what panicked in the log only.
pub fn panic_response(panic: Box<dyn Any + Send + 'static>) -> Response<Body> {
    let what = panic
        .downcast_ref::<String>()
        .cloned()
        .or_else(|| panic.downcast_ref::<&str>().map(|s| (*s).to_owned()))
        .unwrap_or_else(|| "a panic".to_owned());
    let mut response = ApiError::Internal(format!("handler panicked: {what}")).into_response();
    response
        .headers_mut()
        .insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    response
}

/// A read of a record merged into another answers 307 with `Location` the same URL, its path segment naming
/// the merged child replaced by the surviving one (`crate::merges`), query kept.
pub async fn merged_location(req: Request, next: Next) -> Response {
    let uri = req.uri().clone();
    let mut response = next.run(req).await;
    let Some(redirect) = response.extensions_mut().remove::<MergedRedirect>() else {
        return response;
    };
    let path: Vec<&str> = uri
        .path()
        .split('/')
        .map(|segment| {
            if segment == redirect.child_id.as_str() {
                redirect.into.as_str()
            } else {
                segment
            }
        })
        .collect();
    let mut location = path.join("/");
    if let Some(query) = uri.query() {
        location.push('?');
        location.push_str(query);
    }
    if let Ok(value) = HeaderValue::from_str(&location) {
        response.headers_mut().insert(header::LOCATION, value);
    }
    response
}
