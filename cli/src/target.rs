//! Where a command reads and writes a record: a data directory, opened directly, or a Journey server, over
//! HTTP with an API key. The commands are written once against [`Target`]; the two kinds differ only here.
//!
//! Direct access is for the operator at the machine (no server may hold the data directory): it acts as
//! the `cli` principal with every right, and every read of a child's record is still written to the data
//! directory's access log, as the server would write it. Remote access is whatever the key's role allows,
//! and the server logs the reads.

use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use anyhow::{Context, anyhow, bail};
use clap::Args;
use futures::executor::block_on;
use journey_api::access::{self, Access};
use journey_api::{Principal, Role};
use journey_core::ExpectedVersion;
use journey_core::store::{AppendOutcome, AppendRequest, EventStore};
use journey_core::view::{AsOf, ChildSummary, Chronology, ChronologyOptions};
use journey_core::{
    ChildId, NewEvent, Position, PrincipalId, RecordedEvent, SystemClock, Timestamp, Version,
};
use journey_embedded::EmbeddedStore;
use journey_embedded::FileJournal;
use serde::Deserialize;
use serde::de::DeserializeOwned;
use serde_json::{Value, json};

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

/// An opened target.
pub enum Target {
    Direct(Direct),
    Remote(Remote),
}

impl std::fmt::Debug for Target {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Target::Direct(d) => write!(f, "Target::Direct({})", d.data.display()),
            Target::Remote(r) => write!(f, "Target::Remote({})", r.base),
        }
    }
}

pub struct Direct {
    pub data: PathBuf,
    pub store: Arc<EmbeddedStore>,
    journal: FileJournal,
    principal: Principal,
    purpose: Option<String>,
}

pub struct Remote {
    pub base: String,
    agent: ureq::Agent,
    authorization: String,
    purpose: Option<String>,
}

/// The principal direct access acts as: the operator at the machine.
pub fn operator() -> PrincipalId {
    PrincipalId::parse("cli").expect("valid principal")
}

impl TargetArgs {
    pub fn open(&self) -> anyhow::Result<Target> {
        match (&self.data, &self.server) {
            (_, Some(server)) => {
                let key = self
                    .key
                    .clone()
                    .ok_or_else(|| anyhow!("--server needs an API key: --key or JOURNEY_KEY"))?;
                Ok(Target::Remote(Remote {
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
            (Some(data), None) => Ok(Target::Direct(Direct::open(data.clone(), self.purpose.clone())?)),
            (None, None) => bail!("say where the record is: --data <dir> or --server <url> --key <key>"),
        }
    }
}

impl Direct {
    pub fn open(data: PathBuf, purpose: Option<String>) -> anyhow::Result<Direct> {
        let store = EmbeddedStore::open(&data, Arc::new(SystemClock)).with_context(|| {
            format!(
                "opening {} (if `journey serve` is using it, use --server instead)",
                data.display()
            )
        })?;
        let journal = FileJournal::open(crate::keys::journal_dir(&data), Arc::new(SystemClock))
            .with_context(|| format!("opening the journal in {}", data.display()))?;
        Ok(Direct {
            data,
            store: Arc::new(store),
            journal,
            principal: Principal {
                key_id: "local".into(),
                name: operator(),
                role: Role::Admin,
                agency: None,
            },
            purpose,
        })
    }

    /// Writes a read to the access log, durably, before anything is shown.
    pub fn log_read(
        &self,
        child: Option<&ChildId>,
        children: Vec<ChildId>,
        view: &str,
        parameters: Value,
    ) -> anyhow::Result<()> {
        block_on(access::record(
            &self.journal,
            Access {
                principal: &self.principal,
                child_id: child,
                children,
                view,
                purpose: self.purpose.clone(),
                parameters,
            },
        ))
        .map_err(|e| anyhow!("writing the access log: {e}"))?;
        Ok(())
    }

    /// Closes the store and the journal (final checkpoint; everything acknowledged is already synced).
    pub fn close(self) -> anyhow::Result<()> {
        let Direct { store, journal, .. } = self;
        if let Ok(store) = Arc::try_unwrap(store) {
            store.close().context("closing the store")?;
        }
        journal.close().context("closing the journal")?;
        Ok(())
    }
}

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

    /// GET `path`; the body as text, or the server's problem as an error.
    pub fn get_text(&self, path: &str) -> anyhow::Result<String> {
        let response = self
            .with_headers(self.agent.get(self.url(path)))
            .call()
            .with_context(|| format!("GET {}", self.url(path)))?;
        answer(response, "GET", &self.url(path))
    }

    /// Any request; the body as text, or the server's problem as an error.
    pub fn request(
        &self,
        method: axum::http::Method,
        path: &str,
        body: Option<&Value>,
    ) -> anyhow::Result<String> {
        let url = self.url(path);
        let response = match (method.as_str(), body) {
            ("GET", _) => self.with_headers(self.agent.get(&url)).call(),
            ("POST", Some(body)) => self.with_headers(self.agent.post(&url)).send_json(body),
            ("POST", None) => self.with_headers(self.agent.post(&url)).send_empty(),
            (other, _) => bail!("{other} is not used by the CLI"),
        }
        .with_context(|| format!("{method} {url}"))?;
        answer(response, method.as_str(), &url)
    }

    /// GET `path`; the body's bytes (a workbook), or the server's problem as an error.
    pub fn get_bytes(&self, path: &str) -> anyhow::Result<Vec<u8>> {
        let url = self.url(path);
        let response = self
            .with_headers(self.agent.get(&url))
            .call()
            .with_context(|| format!("GET {url}"))?;
        if !response.status().is_success() {
            return answer(response, "GET", &url).map(String::into_bytes);
        }
        response
            .into_body()
            .with_config()
            .limit(u64::MAX)
            .read_to_vec()
            .with_context(|| format!("reading {url}"))
    }

    pub fn get_json<T: DeserializeOwned>(&self, path: &str) -> anyhow::Result<T> {
        let text = self.get_text(path)?;
        serde_json::from_str(&text)
            .with_context(|| format!("the answer to GET {path} is not what was expected"))
    }

    pub fn post_json<T: DeserializeOwned>(&self, path: &str, body: &Value) -> anyhow::Result<T> {
        let url = self.url(path);
        let response = self
            .with_headers(self.agent.post(&url))
            .send_json(body)
            .with_context(|| format!("POST {url}"))?;
        let text = answer(response, "POST", &url)?;
        serde_json::from_str(&text)
            .with_context(|| format!("the answer to POST {path} is not what was expected"))
    }
}

/// A success's body, or the server's problem details as an error naming each field at fault.
fn answer(response: ureq::http::Response<ureq::Body>, method: &str, url: &str) -> anyhow::Result<String> {
    let status = response.status();
    let text = response
        .into_body()
        .with_config()
        .limit(u64::MAX)
        .read_to_string()
        .with_context(|| format!("reading the answer to {method} {url}"))?;
    if status.is_success() {
        return Ok(text);
    }
    Err(anyhow!(problem_text(status.as_u16(), &text)))
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

impl Target {
    /// Appends events to one child's stream (all or none).
    pub fn append(
        &self,
        child: &ChildId,
        events: Vec<NewEvent>,
        expected: Option<ExpectedVersion>,
    ) -> anyhow::Result<AppendOutcome> {
        match self {
            Target::Direct(d) => Ok(block_on(d.store.append(AppendRequest {
                child_id: child.clone(),
                expected: expected.unwrap_or(ExpectedVersion::Any),
                recorded_by: operator(),
                events,
            }))?),
            Target::Remote(r) => {
                let mut body = json!({ "events": events });
                if let Some(expected) = expected {
                    body["expected_version"] = serde_json::to_value(expected)?;
                }
                r.post_json(&format!("/v1/children/{}/events", encode(child.as_str())), &body)
            }
        }
    }

    /// The child's summary on a date as known at an instant.
    pub fn summary(&self, child: &ChildId, as_of: AsOf) -> anyhow::Result<ChildSummary> {
        match self {
            Target::Direct(d) => {
                let events = self.read_child(d, child, "summary", as_of)?;
                Ok(ChildSummary::replay(&events, as_of))
            }
            Target::Remote(r) => r.get_json(&format!(
                "/v1/children/{}/summary{}",
                encode(child.as_str()),
                as_of_query(Some(as_of.on), Some(as_of.known_at))
            )),
        }
    }

    /// The child's chronology as known at an instant.
    pub fn chronology(&self, child: &ChildId, as_of: AsOf) -> anyhow::Result<Chronology<'static>> {
        match self {
            Target::Direct(d) => {
                let events = self.read_child(d, child, "chronology", as_of)?;
                Ok(Chronology::build(&events, as_of, ChronologyOptions::default()).into_owned())
            }
            Target::Remote(r) => r.get_json(&format!(
                "/v1/children/{}/chronology{}",
                encode(child.as_str()),
                as_of_query(Some(as_of.on), Some(as_of.known_at))
            )),
        }
    }

    fn read_child(
        &self,
        d: &Direct,
        child: &ChildId,
        view: &str,
        as_of: AsOf,
    ) -> anyhow::Result<Vec<RecordedEvent>> {
        d.log_read(
            Some(child),
            Vec::new(),
            view,
            json!({ "on": as_of.on, "known_at": as_of.known_at }),
        )?;
        let events = block_on(d.store.read_stream(child.clone(), Version::FIRST, usize::MAX))?;
        if events.is_empty() {
            bail!("there is no child {child} in {}", d.data.display());
        }
        Ok(events)
    }

    /// A page of the global log from `from`, its read logged.
    pub fn log_page(&self, from: Position, limit: usize) -> anyhow::Result<LogPage> {
        match self {
            Target::Direct(d) => {
                let events = block_on(d.store.read_all(from, limit))?;
                let children = distinct_children(&events);
                d.log_read(None, children, "log", json!({ "from": from.0, "limit": limit }))?;
                let next_position = events.last().map_or(from.0, |e| e.envelope.position.0 + 1);
                Ok(LogPage {
                    events,
                    next_position,
                })
            }
            Target::Remote(r) => r.get_json(&format!("/v1/log?from={}&limit={limit}", from.0)),
        }
    }

    /// Closes a direct target's store and journal.
    pub fn close(self) -> anyhow::Result<()> {
        match self {
            Target::Direct(d) => d.close(),
            Target::Remote(_) => Ok(()),
        }
    }
}

fn distinct_children(events: &[RecordedEvent]) -> Vec<ChildId> {
    let mut children: Vec<ChildId> = events.iter().map(|e| e.envelope.child_id.clone()).collect();
    children.sort();
    children.dedup();
    children
}
