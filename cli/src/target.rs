//! How a command reaches the record ([`TargetArgs`]): a data directory, opened in this process, or a
//! Journey server over HTTP with an API key ([`Remote`]). Either way the command speaks the REST API
//! (`crate::api_client::ApiClient`); the two differ only in how a request travels.
//!
//! Over a data directory the operator at the machine acts as the `cli` principal with every right (no
//! server may hold the directory), and every read of a child's record is written to the data directory's
//! access log by the API's own code, as the server would write it. Over a server, whatever the key's role
//! allows, and the server logs the reads.

use std::path::PathBuf;
use std::time::Duration;

use anyhow::{Context, anyhow, bail};
use clap::Args;
use journey_core::{PrincipalId, RecordedEvent, Timestamp};
use serde::Deserialize;
use serde_json::Value;

/// How a command reaches the record: `--data` (direct) or `--server` with `--key` (remote).
#[derive(Clone, Debug, Args)]
pub struct TargetArgs {
    /// A data directory to open directly (no server may be using it).
    #[arg(long, env = "JOURNEY_DATA", conflicts_with = "server")]
    pub data: Option<PathBuf>,
    /// A Journey server to talk to instead, e.g. http://127.0.0.1:8080 (with --key).
    #[arg(long, env = "JOURNEY_SERVER")]
    pub server: Option<String>,
    /// The API key for --server.
    #[arg(long, env = "JOURNEY_KEY", hide_env_values = true)]
    pub key: Option<String>,
    /// Why the record is being read: written to the access log (investigators' keys must give one).
    #[arg(long, env = "JOURNEY_PURPOSE")]
    pub purpose: Option<String>,
}

/// A Journey server, over HTTP with an API key.
pub struct Remote {
    pub base: String,
    agent: ureq::Agent,
    authorization: String,
    purpose: Option<String>,
}

/// The principal the operator at the machine acts as over a data directory.
pub fn operator() -> PrincipalId {
    PrincipalId::parse("cli").expect("valid principal")
}

impl TargetArgs {
    /// The server named by `--server` (with `--key`), if any; `None` means the data directory (`--data`).
    pub fn remote(&self) -> anyhow::Result<Option<Remote>> {
        let Some(server) = &self.server else {
            return Ok(None);
        };
        let key = self
            .key
            .clone()
            .ok_or_else(|| anyhow!("--server needs an API key: --key or JOURNEY_KEY"))?;
        Ok(Some(Remote {
            base: server.trim_end_matches('/').to_owned(),
            agent: ureq::Agent::config_builder()
                .http_status_as_error(false)
                .timeout_global(Some(Duration::from_secs(300)))
                .build()
                .into(),
            authorization: format!("Bearer {key}"),
            purpose: self.purpose.clone(),
        }))
    }
}

/// A page of the global log, as `GET /v1/log` gives it.
#[derive(Deserialize)]
pub struct LogPage {
    pub events: Vec<RecordedEvent>,
    pub next_position: u64,
}

impl Remote {
    fn url(&self, path: &str) -> String {
        format!("{}{path}", self.base)
    }

    fn with_headers<B>(&self, request: ureq::RequestBuilder<B>) -> ureq::RequestBuilder<B> {
        let request = request.header("Authorization", &self.authorization);
        match &self.purpose {
            Some(purpose) => request.header("X-Journey-Purpose", purpose),
            None => request,
        }
    }

    /// Any request the CLI makes; the answer's bytes, or the server's problem as an error.
    pub fn request(
        &self,
        method: axum::http::Method,
        path: &str,
        body: Option<&Value>,
    ) -> anyhow::Result<Vec<u8>> {
        let url = self.url(path);
        let response = match (method.as_str(), body) {
            ("GET", _) => self.with_headers(self.agent.get(&url)).call(),
            ("POST", Some(body)) => self.with_headers(self.agent.post(&url)).send_json(body),
            ("POST", None) => self.with_headers(self.agent.post(&url)).send_empty(),
            (other, _) => bail!("{other} is not used by the CLI"),
        };
        let response = match response {
            Ok(response) => response,
            Err(e) => {
                let cut_off = matches!(&e, ureq::Error::Io(io) if matches!(
                    io.kind(),
                    std::io::ErrorKind::BrokenPipe | std::io::ErrorKind::ConnectionReset
                ));
                let error = anyhow::Error::new(e).context(format!("{method} {url}"));
                return Err(match body {
                    Some(body) if cut_off => error.context(cut_off_while_sending(path, body)),
                    _ => error,
                });
            }
        };
        let status = response.status();
        let bytes = response
            .into_body()
            .with_config()
            .limit(u64::MAX)
            .read_to_vec()
            .with_context(|| format!("reading the answer to {method} {url}"))?;
        if status.is_success() {
            return Ok(bytes);
        }
        Err(anyhow!(problem_text(
            status.as_u16(),
            &String::from_utf8_lossy(&bytes)
        )))
    }
}

/// What a connection closed while a body was being sent most likely means: the body is over one of the
/// server's limits, and the server (which does not read a body far over its limit) closed the connection
/// before its 413 could be read.
fn cut_off_while_sending(path: &str, body: &Value) -> String {
    let bytes = serde_json::to_vec(body).map_or(0, |b| b.len());
    let setting = if path.starts_with("/v1/policies") && !path.contains("/versions/") {
        "policy_upload_limit (64 MiB by default; `journey serve --policy-upload-limit`)"
    } else {
        "body_limit (4 MiB by default; `journey serve --body-limit`)"
    };
    format!(
        "the server closed the connection while the request ({:.1} MiB) was being sent: it is most likely \
         over the server's {setting}; ask its operator to raise the limit in its config file \
         (docs/deployment.md) or send less",
        bytes as f64 / (1024.0 * 1024.0)
    )
}

/// An RFC 9457 problem as one readable message: title, detail, and each field with its rule.
pub fn problem_text(status: u16, body: &str) -> String {
    let Ok(problem) = serde_json::from_str::<Value>(body) else {
        return format!("{status}: {body}");
    };
    let mut out = format!(
        "{status} {}: {}",
        problem["title"].as_str().unwrap_or(""),
        problem["detail"].as_str().unwrap_or("")
    );
    if let Some(errors) = problem["errors"].as_array() {
        for e in errors {
            out.push_str(&format!(
                "\n  {}: {}",
                e["field"].as_str().unwrap_or(""),
                e["message"].as_str().unwrap_or("")
            ));
        }
    }
    out
}

/// Query parameters for both time axes.
pub fn as_of_query(on: Option<journey_core::Date>, known_at: Option<Timestamp>) -> String {
    let mut params = Vec::new();
    if let Some(on) = on {
        params.push(format!("on={on}"));
    }
    if let Some(known_at) = known_at {
        params.push(format!("known_at={}", encode(&known_at.to_string())));
    }
    if params.is_empty() {
        String::new()
    } else {
        format!("?{}", params.join("&"))
    }
}

/// Percent-encodes a query value (a timestamp's `+` and `:`).
pub fn encode(value: &str) -> String {
    value
        .bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => (b as char).to_string(),
            _ => format!("%{b:02X}"),
        })
        .collect()
}
