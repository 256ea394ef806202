//! Signing in and out with a browser (see `crate::session`): a form that takes an API key and the purpose
//! of the reads to come, and sets a session cookie that stands for the key on reads only.
//!
//! Login CSRF: another site's page could post this form with *its* key, signing a visitor's browser in as
//! that key, so that the visitor's reads go to the access log under the other key and purpose. A sign-in is
//! therefore taken only from Journey's own page: the browser must not say the request came from another
//! origin (`Sec-Fetch-Site`, `Origin`), and the form must carry the token that the page set in a cookie of
//! its own (`journey_login`, `HttpOnly`, `SameSite=Strict`, path `/login`), which no other site can read or
//! send.

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
use crate::session::{cookie_token, cookie_value, set_cookie};

/// The cookie holding the sign-in form's token.
pub const FORM_COOKIE: &str = "journey_login";

/// How long a sign-in page's token stays valid (the cookie's lifetime).
const FORM_TOKEN_TTL: std::time::Duration = std::time::Duration::from_secs(60 * 60);

/// A fresh form token.
fn new_form_token() -> String {
    hex::encode(rand::random::<[u8; 32]>())
}

/// The `Set-Cookie` value for the form token.
fn form_cookie(token: &str, secure: bool) -> String {
    format!(
        "{FORM_COOKIE}={token}; Path=/login; HttpOnly; SameSite=Strict; Max-Age={}{}",
        FORM_TOKEN_TTL.as_secs(),
        if secure { "; Secure" } else { "" }
    )
}

/// The form token in the request's cookie, if it looks like one of ours.
fn cookie_form_token(headers: &HeaderMap) -> Option<&str> {
    cookie_value(headers, FORM_COOKIE).filter(|t| t.len() == 64 && t.bytes().all(|b| b.is_ascii_hexdigit()))
}

/// Why a sign-in did not come from Journey's own page, if it did not: the browser says the request came
/// from another site (`Sec-Fetch-Site` other than `same-origin`), or from another origin (`Origin` naming
/// another host than the one asked, or `null`). A client that sends neither header is judged by the form
/// token alone.
fn cross_site(headers: &HeaderMap) -> Option<String> {
    let header = |name: header::HeaderName| headers.get(name).map(|v| v.to_str().unwrap_or("(not text)"));
    if let Some(site) = header(header::HeaderName::from_static("sec-fetch-site"))
        && site != "same-origin"
    {
        return Some(format!(
            "the browser says it was sent from {site} (Sec-Fetch-Site)"
        ));
    }
    let origin = header(header::ORIGIN)?;
    // The scheme is not compared: behind a proxy that ends TLS, the server sees plain HTTP.
    let origin_host = origin
        .split_once("://")
        .map(|(_, host)| host.trim_end_matches('/'));
    let host = header(header::HOST);
    match (origin_host, host) {
        (Some(o), Some(h)) if o.eq_ignore_ascii_case(h) => None,
        _ => Some(format!(
            "the browser says it was sent from {origin} (Origin), not from this server's page ({})",
            host.unwrap_or("no Host header")
        )),
    }
}

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
    /// The token the sign-in page put in the form (and in the `journey_login` cookie): proof that the form
    /// was sent from Journey's own page.
    #[serde(default)]
    pub form_token: Option<String>,
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

/// The sign-in form, with its token (the same as the `journey_login` cookie's).
fn form(next: Option<&str>, error: Option<&str>, purpose: &str, token: &str) -> Html<String> {
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
                input type="hidden" name="form_token" value=(token);
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
) -> Response {
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
        )
        .into_response(),
        None => {
            // Another tab's page may hold the token already: keep it, so that either form works.
            let token = cookie_form_token(&headers).map_or_else(new_form_token, str::to_owned);
            with_form_token(form(next.as_deref(), None, "", &token), &token, &state)
        }
    }
}

/// `page` with the cookie that holds the form's token.
fn with_form_token(page: impl IntoResponse, token: &str, state: &AppState) -> Response {
    (
        [(
            header::SET_COOKIE,
            form_cookie(token, state.config.secure_cookies),
        )],
        page,
    )
        .into_response()
}

/// Signs in: checks that the form came from Journey's own sign-in page (its token, and the browser's
/// `Sec-Fetch-Site` and `Origin`), then the key (an investigator's or an admin's) and the purpose; sets the
/// session cookie (`HttpOnly`, `SameSite=Strict`) and sends the browser on to `next`. A form from anywhere
/// else, a wrong key or a missing purpose shows the form again with what was wrong.
#[utoipa::path(
    post,
    path = "/login",
    tag = "browser",
    request_body(content = LoginForm, content_type = "application/x-www-form-urlencoded"),
    responses(
        (status = 303, description = "Signed in: the cookie is set and the browser sent on"),
        (status = 401, description = "The key is not a live key (the form again)", body = String, content_type = "text/html"),
        (status = 403, description = "The form was not sent from Journey's own sign-in page (no or a wrong form token, or another origin), or the key's role may not read children's records (the form again)", body = String, content_type = "text/html"),
        (status = 422, description = "No purpose given, or the form was not the sign-in form (the form again)", body = String, content_type = "text/html"),
        (status = 400, response = BadRequest),
        (status = 413, response = PayloadTooLarge),
        (status = 415, response = UnsupportedMediaType),
    )
)]
pub async fn login(
    State(state): State<AppState>,
    headers: HeaderMap,
    login: Result<Form<LoginForm>, FormRejection>,
) -> Response {
    // A fresh token for the form shown again, whatever went wrong.
    let token = new_form_token();
    let again = |status: StatusCode, next: Option<&str>, error: &str, purpose: &str| {
        (
            status,
            with_form_token(form(next, Some(error), purpose, &token), &token, &state),
        )
            .into_response()
    };
    if let Some(why) = cross_site(&headers) {
        tracing::warn!(why, "refused a sign-in sent from another site");
        return again(StatusCode::FORBIDDEN, None, &not_our_page(&why), "");
    }
    let login = match login {
        Ok(Form(login)) => login,
        // A browser posting something other than this form (a missing or unknown field) gets the form back
        // with what was wrong, as it would for a wrong key; a wrong content type or an unreadable body stays
        // a problem document.
        Err(FormRejection::FailedToDeserializeForm(_) | FormRejection::FailedToDeserializeFormBody(_)) => {
            return again(
                StatusCode::UNPROCESSABLE_ENTITY,
                None,
                "The form was not the sign-in form: it needs exactly an API key, a purpose, the form's token and, \
                 optionally, the page to go to next.",
                "",
            );
        }
        Err(other) => return other.into_response(),
    };
    let next = safe_next(login.next.as_deref());
    let purpose = login.purpose.trim();
    let refuse = |status: StatusCode, error: &str| again(status, next.as_deref(), error, purpose);
    // Checked before the key is even looked at: a form from elsewhere learns nothing about keys.
    let expected = cookie_form_token(&headers);
    let sent = login.form_token.as_deref().map(str::trim);
    let same = match (expected, sent) {
        (Some(expected), Some(sent)) => bool::from(subtle::ConstantTimeEq::ct_eq(
            expected.as_bytes(),
            sent.as_bytes(),
        )),
        _ => false,
    };
    if !same {
        let why = match (expected, sent) {
            (None, _) => "it carries no sign-in cookie from this server's page",
            (Some(_), None) => "the form carries no form token",
            (Some(_), Some(_)) => "its form token is not the one this server's page gave",
        };
        tracing::warn!(why, "refused a sign-in without the sign-in page's token");
        return refuse(StatusCode::FORBIDDEN, &not_our_page(why));
    }
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

fn not_our_page(why: &str) -> String {
    format!(
        "This sign-in was not sent from Journey's own sign-in page ({why}), so it was refused: someone else's \
         page may be trying to sign you in with their key. Sign in again on this page."
    )
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
