//! Signing in with a browser: the investigator's timeline page is for people, and a browser cannot send an
//! `Authorization` header. `POST /login` takes an API key and the purpose of the reads to come, and sets a
//! session cookie; the session then stands for that key on **reads only** (GET and HEAD), with that purpose
//! in the access log.
//!
//! * The cookie holds a random token; the server keeps only its SHA-256, like an API key's.
//! * `HttpOnly` (no script can read it), `SameSite=Strict` (no other site's page can send it), `Path=/`,
//!   `Secure` when the server is configured for HTTPS. Sessions end after [`Config::session_ttl`] or at
//!   `POST /logout`, and a session whose key has been revoked stops working at once (the key is checked on
//!   every request).
//! * A cookie never authorises a write: appends, deployments and key management need the key itself, so a
//!   forged cross-site form can do nothing even if a browser sent the cookie.
//! * Sessions live in the memory of the server that signed the person in: several servers behind a load
//!   balancer need sticky sessions for the page (`docs/deployment.md`); API clients are unaffected.
//!
//! [`Config::session_ttl`]: crate::Config::session_ttl

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::Duration;

use axum::extract::{Request, State};
use axum::http::{HeaderMap, Method, header};
use axum::middleware::Next;
use axum::response::Response;
use journey_core::Timestamp;
use sha2::{Digest as _, Sha256};

use crate::AppState;

/// The cookie's name.
pub const SESSION_COOKIE: &str = "journey_session";

/// The signed-in sessions of this server.
#[derive(Debug, Default)]
pub struct Sessions {
    by_hash: Mutex<HashMap<[u8; 32], Session>>,
}

#[derive(Clone, Debug)]
struct Session {
    key_id: String,
    purpose: String,
    expires_at: Timestamp,
}

/// What the session layer found on a read: the key it stands for and the purpose stated at sign-in. Put in
/// the request's extensions for [`crate::auth::Auth`] and [`crate::access::Purpose`].
#[derive(Clone, Debug)]
pub struct SessionRead {
    pub key_id: String,
    pub purpose: String,
}

/// A cookie that names no live session: the reader is told to sign in again.
#[derive(Clone, Copy, Debug)]
pub struct SessionEnded;

fn hash(token: &str) -> [u8; 32] {
    Sha256::digest(token.as_bytes()).into()
}

impl Sessions {
    /// Starts a session for `key_id`; returns the cookie's token (held nowhere else).
    pub fn start(&self, key_id: String, purpose: String, now: Timestamp, ttl: Duration) -> String {
        let token = hex::encode(rand::random::<[u8; 32]>());
        let expires_at =
            Timestamp::from_micros(now.as_micros().saturating_add(ttl.as_micros() as i64)).unwrap_or(now);
        let mut sessions = self.by_hash.lock().unwrap_or_else(|p| p.into_inner());
        // Forget the ended ones as new ones start, so the map stays as small as the live sessions.
        sessions.retain(|_, s| s.expires_at > now);
        sessions.insert(
            hash(&token),
            Session {
                key_id,
                purpose,
                expires_at,
            },
        );
        token
    }

    /// The live session named by `token`.
    pub fn find(&self, token: &str, now: Timestamp) -> Option<SessionRead> {
        let sessions = self.by_hash.lock().unwrap_or_else(|p| p.into_inner());
        sessions
            .get(&hash(token))
            .filter(|s| s.expires_at > now)
            .map(|s| SessionRead {
                key_id: s.key_id.clone(),
                purpose: s.purpose.clone(),
            })
    }

    pub fn end(&self, token: &str) {
        let mut sessions = self.by_hash.lock().unwrap_or_else(|p| p.into_inner());
        sessions.remove(&hash(token));
    }
}

/// The session token in a request's cookies, if any.
pub fn cookie_token(headers: &HeaderMap) -> Option<&str> {
    cookie_value(headers, SESSION_COOKIE)
}

/// The value of the cookie `name` in a request's cookies, if any.
pub fn cookie_value<'h>(headers: &'h HeaderMap, name: &str) -> Option<&'h str> {
    headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|pair| pair.trim().split_once('='))
        .find(|(n, _)| *n == name)
        .map(|(_, value)| value.trim())
}

/// The `Set-Cookie` value that starts (or, with an empty token and no lifetime, ends) a session.
pub fn set_cookie(token: &str, max_age: Duration, secure: bool) -> String {
    format!(
        "{SESSION_COOKIE}={token}; Path=/; HttpOnly; SameSite=Strict; Max-Age={}{}",
        max_age.as_secs(),
        if secure { "; Secure" } else { "" }
    )
}

/// For a read that carries no key but a session cookie, records what the session stands for; a cookie
/// that names no live session is marked, so the refusal can say to sign in again. Writes are left alone:
/// they need a key.
pub async fn layer(State(state): State<AppState>, mut req: Request, next: Next) -> Response {
    let read = matches!(*req.method(), Method::GET | Method::HEAD);
    if read
        && !req.headers().contains_key(header::AUTHORIZATION)
        && let Some(token) = cookie_token(req.headers())
    {
        match state.sessions.find(token, state.clock.now()) {
            Some(session) => {
                req.extensions_mut().insert(session);
            }
            None => {
                req.extensions_mut().insert(SessionEnded);
            }
        }
    }
    next.run(req).await
}
