//! Signing in and out with a browser (see `crate::session`): a form that takes an API key and the purpose
//! of the reads to come, and sets a session cookie that stands for the key on reads only.

use axum::Form;
use axum::extract::State;
use axum::extract::rejection::FormRejection;
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{Html, IntoResponse, Redirect, Response};
use maud::{DOCTYPE, Markup, html};
use serde::Deserialize;
use utoipa::{IntoParams, ToSchema};

use crate::AppState;
use crate::auth::{Action, Principal, UNKNOWN_KEY};
use crate::error::ApiError;
use crate::extract::QueryParams;
use crate::responses::{BadRequest, PayloadTooLarge, UnsupportedMediaType};
use crate::session::{cookie_token, set_cookie};

/// Where a sign-in may send the browser: only Journey's own child pages, so the form cannot be used to
/// redirect anyone elsewhere.
fn safe_next(next: Option<&str>) -> Option<String> {
    let next = next?.trim();
    let ok = next.starts_with("/v1/children/")
        && !next.contains("//")
        && !next.contains('\\')
        && !next
            .split(['/', '?'])
            .any(|segment| segment == ".." || segment == ".")
        && next.chars().all(|c| c.is_ascii_graphic());
    ok.then(|| next.to_owned())
}

#[derive(Debug, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct LoginQuery {
    /// The page to go to once signed in (a `/v1/children/...` path).
    pub next: Option<String>,
}

/// The sign-in form.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct LoginForm {
    /// An investigator's (or admin's) API key.
    pub key: String,
    /// Why the records are being read (a case reference, an inquiry): written to the access log with every
    /// read of this session.
    pub purpose: String,
    /// The page to go to once signed in.
    #[serde(default)]
    pub next: Option<String>,
}

const STYLE: &str = "body{font:16px/1.5 system-ui,sans-serif;max-width:34rem;margin:3rem auto;padding:0 1rem;\
color:#1b1b1b}label{display:block;margin-top:1rem;font-weight:600}input{width:100%;padding:.5rem;\
font:inherit;box-sizing:border-box}button{margin-top:1.25rem;padding:.5rem 1.25rem;font:inherit}\
.error{background:#fde8e8;border-left:4px solid #b3261e;padding:.5rem .75rem}.note{color:#555;\
font-size:.9rem}";

fn page(title: &str, body: Markup) -> Html<String> {
    Html(
        html! {
            (DOCTYPE)
            html lang="en-GB" {
                head {
                    meta charset="utf-8";
                    meta name="viewport" content="width=device-width, initial-scale=1";
                    title { (title) " · Journey" }
                    style { (maud::PreEscaped(STYLE)) }
                }
                body { (body) }
            }
        }
        .into_string(),
    )
}

fn form(next: Option<&str>, error: Option<&str>, purpose: &str) -> Html<String> {
    page(
        "Sign in",
        html! {
            h1 { "Sign in to read children's records" }
            @if let Some(error) = error {
                p.error role="alert" data-testid="login-error" { (error) }
            }
            form method="post" action="/login" data-testid="login-form" {
                label for="key" { "API key" }
                input #key name="key" type="password" autocomplete="off" required;
                label for="purpose" { "Purpose of these reads" }
                input #purpose name="purpose" type="text" maxlength="500" required
                    placeholder="e.g. serious case review SCR-2026-014" value=(purpose);
                @if let Some(next) = next {
                    input type="hidden" name="next" value=(next);
                }
                button type="submit" { "Sign in" }
            }
            p.note {
                "Every record you open is written to the access log with your name and this purpose. "
                "The session ends after a while, or when you sign out."
            }
        },
    )
}

/// The sign-in page (HTML). Signed in already, it says as whom and offers to sign out.
#[utoipa::path(
    get,
    path = "/login",
    tag = "browser",
    params(LoginQuery),
    responses(
        (status = 200, description = "The form", body = String, content_type = "text/html"),
        (status = 400, response = BadRequest),
    )
)]
pub async fn login_page(
    State(state): State<AppState>,
    headers: HeaderMap,
    QueryParams(query): QueryParams<LoginQuery>,
) -> Html<String> {
    let next = safe_next(query.next.as_deref());
    let signed_in = cookie_token(&headers)
        .and_then(|token| state.sessions.find(token, state.clock.now()))
        .and_then(|session| {
            state
                .keys
                .principal(&session.key_id)
                .ok()
                .map(|p| (p, session.purpose))
        });
    match signed_in {
        Some((principal, purpose)) => page(
            "Signed in",
            html! {
                h1 { "Signed in" }
                p data-testid="signed-in-as" {
                    "As " strong { (principal.name) } " (" (principal.role) "), reading for: " em { (purpose) }
                }
                p.note { "A child's timeline is at /v1/children/<child id>/timeline." }
                form method="post" action="/logout" { button type="submit" data-testid="sign-out" { "Sign out" } }
            },
        ),
        None => form(next.as_deref(), None, ""),
    }
}

/// Signs in: checks the key (an investigator's or an admin's) and the purpose, sets the session cookie
/// (`HttpOnly`, `SameSite=Strict`) and sends the browser on to `next`. A wrong key or a missing purpose
/// shows the form again with what was wrong.
#[utoipa::path(
    post,
    path = "/login",
    tag = "browser",
    request_body(content = LoginForm, content_type = "application/x-www-form-urlencoded"),
    responses(
        (status = 303, description = "Signed in: the cookie is set and the browser sent on"),
        (status = 401, description = "The key is not a live key (the form again)", body = String, content_type = "text/html"),
        (status = 403, description = "The key's role may not read children's records (the form again)", body = String, content_type = "text/html"),
        (status = 422, description = "No purpose given, or the form was not the sign-in form (the form again)", body = String, content_type = "text/html"),
        (status = 400, response = BadRequest),
        (status = 413, response = PayloadTooLarge),
        (status = 415, response = UnsupportedMediaType),
    )
)]
pub async fn login(State(state): State<AppState>, login: Result<Form<LoginForm>, FormRejection>) -> Response {
    let login = match login {
        Ok(Form(login)) => login,
        // A browser posting something other than this form (a missing or unknown field) gets the form back
        // with what was wrong, as it would for a wrong key; a wrong content type or an unreadable body stays
        // a problem document.
        Err(FormRejection::FailedToDeserializeForm(_) | FormRejection::FailedToDeserializeFormBody(_)) => {
            return (
                StatusCode::UNPROCESSABLE_ENTITY,
                form(
                    None,
                    Some("The form was not the sign-in form: it needs exactly an API key, a purpose and, optionally, the page to go to next."),
                    "",
                ),
            )
                .into_response();
        }
        Err(other) => return other.into_response(),
    };
    let next = safe_next(login.next.as_deref());
    let purpose = login.purpose.trim();
    let refuse = |status: StatusCode, error: &str| {
        (status, form(next.as_deref(), Some(error), purpose)).into_response()
    };
    if purpose.is_empty() || purpose.len() > 500 || !purpose.chars().all(|c| c == ' ' || c.is_ascii_graphic())
    {
        return refuse(
            StatusCode::UNPROCESSABLE_ENTITY,
            "State the purpose of these reads: 1 to 500 visible ASCII characters.",
        );
    }
    let principal = match authenticate(&state, login.key.trim()).await {
        Ok(principal) => principal,
        Err(ApiError::Unauthenticated(reason)) => {
            return refuse(
                StatusCode::UNAUTHORIZED,
                &format!("That key cannot sign in: {reason}."),
            );
        }
        Err(other) => return other.into_response(),
    };
    if !principal.role.may(Action::ReadChild) {
        return refuse(
            StatusCode::FORBIDDEN,
            &format!(
                "A key with role {} may not read children's records; sign in with an investigator's key.",
                principal.role
            ),
        );
    }
    let token = state.sessions.start(
        principal.key_id.clone(),
        purpose.to_owned(),
        state.clock.now(),
        state.config.session_ttl,
    );
    tracing::info!(key_id = %principal.key_id, "signed in with a browser session");
    let cookie = set_cookie(&token, state.config.session_ttl, state.config.secure_cookies);
    let to = next.unwrap_or_else(|| "/login".to_owned());
    ([(header::SET_COOKIE, cookie)], Redirect::to(&to)).into_response()
}

async fn authenticate(state: &AppState, key: &str) -> Result<Principal, ApiError> {
    state.keys.refresh(state.journal.as_ref()).await?;
    match state.keys.authenticate(key) {
        // Created through another server sharing the journal a moment ago: read the journal once.
        Err(ApiError::Unauthenticated(UNKNOWN_KEY)) => {
            state.keys.catch_up_now(state.journal.as_ref()).await?;
            state.keys.authenticate(key)
        }
        outcome => outcome,
    }
}

/// Signs out: the session ends on the server and the cookie is cleared.
#[utoipa::path(
    post,
    path = "/logout",
    tag = "browser",
    responses((status = 303, description = "Signed out; sent to the sign-in page"))
)]
pub async fn logout(State(state): State<AppState>, headers: HeaderMap) -> Response {
    if let Some(token) = cookie_token(&headers) {
        state.sessions.end(token);
    }
    let cookie = set_cookie("", std::time::Duration::ZERO, state.config.secure_cookies);
    ([(header::SET_COOKIE, cookie)], Redirect::to("/login")).into_response()
}
