//! The REST API as every command that reads or appends a record speaks it: over the network to a server
//! (`--server`, `--key`), or in this process over a data directory (`--data`), through the same
//! `journey_api::router` with the operator as [`LocalOperator`] instead of a key. Either way every rule,
//! refusal and access-log record is the server's own; the commands hold no second copy of them. (Only the
//! imports into a data directory no server holds, `journey returns … import` and `journey log import`, open
//! the store themselves: they are not API operations.)

use std::sync::Arc;

use anyhow::{Context, anyhow, bail};
use axum::body::Body;
use axum::http::{Method, Request, header};
use journey_api::{AppState, Config, LocalOperator, Principal, Role};
use journey_core::SystemClock;
use serde::de::DeserializeOwned;
use serde_json::Value;
use tower::ServiceExt as _;

use crate::serve::{Backend, open_data_dir, policy_registry};
use crate::target::{Remote, TargetArgs, operator, problem_text};

pub enum ApiClient {
    Remote(Remote),
    Local(Local),
}

impl std::fmt::Debug for ApiClient {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            ApiClient::Remote(r) => write!(f, "ApiClient::Remote({})", r.base),
            ApiClient::Local(_) => f.write_str("ApiClient::Local"),
        }
    }
}

/// The API served in this process over a data directory.
pub struct Local {
    runtime: tokio::runtime::Runtime,
    router: axum::Router,
    backend: Backend,
    purpose: Option<String>,
    /// The role the operator at the machine acts in: an admin, but a records officer for subject access,
    /// which no admin handles.
    role: Role,
}

/// Whether a command over a data directory needs the policy registry (policies, measures) or not (records,
/// returns). Opening the registry deploys the reference policies into the data directory, which a read of
/// a child's timeline has no business doing.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Policies {
    Needed,
    NotNeeded,
}

impl ApiClient {
    /// The API for a command that reads or appends records (no policy registry over a data directory).
    pub fn open(args: &TargetArgs) -> anyhow::Result<ApiClient> {
        ApiClient::open_with(args, Policies::NotNeeded)
    }

    pub fn open_with(args: &TargetArgs, policies: Policies) -> anyhow::Result<ApiClient> {
        ApiClient::open_as(args, policies, Role::Admin)
    }

    /// The API over a data directory acting in `role` (a server's key has its own).
    pub fn open_as(args: &TargetArgs, policies: Policies, role: Role) -> anyhow::Result<ApiClient> {
        if let Some(remote) = args.remote()? {
            return Ok(ApiClient::Remote(remote));
        }
        let Some(data) = &args.data else {
            bail!("say where the record is: --data <dir> or --server <url> --key <key>");
        };
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .enable_all()
            .build()
            .context("starting the runtime")?;
        let backend = open_data_dir(data).with_context(|| {
            format!(
                "opening {} (if `journey serve` is using it, use --server instead)",
                data.display()
            )
        })?;
        let mut state = AppState::new(
            backend.store.clone(),
            backend.journal.clone(),
            Arc::new(SystemClock),
            Config::default(),
        );
        if policies == Policies::Needed {
            state = state.with_registry(runtime.block_on(policy_registry(
                backend.journal.clone(),
                backend.blobs.clone(),
                journey_plugins::HostConfig::default(),
                &operator(),
            ))?);
        }
        Ok(ApiClient::Local(Local {
            router: journey_api::router(state),
            runtime,
            backend,
            purpose: args.purpose.clone(),
            role,
        }))
    }

    /// One request; the answer's bytes, or the server's problem as an error naming each field at fault.
    fn request(&self, method: Method, path: &str, body: Option<&Value>) -> anyhow::Result<Vec<u8>> {
        match self {
            ApiClient::Remote(remote) => remote.request(method, path, body),
            ApiClient::Local(local) => local.request(method, path, body),
        }
    }

    /// A GET whose answer is text (CSV, HTML, XML), or the problem as an error.
    pub fn get_text(&self, path: &str) -> anyhow::Result<String> {
        let bytes = self.request(Method::GET, path, None)?;
        String::from_utf8(bytes).with_context(|| format!("the answer to GET {path} is not UTF-8 text"))
    }

    /// A GET whose answer is bytes (a workbook).
    pub fn get_bytes(&self, path: &str) -> anyhow::Result<Vec<u8>> {
        self.request(Method::GET, path, None)
    }

    /// One request; the JSON answer, or the problem as an error naming each field at fault.
    pub fn call(&self, method: Method, path: &str, body: Option<&Value>) -> anyhow::Result<Value> {
        let bytes = self.request(method, path, body)?;
        if bytes.iter().all(u8::is_ascii_whitespace) {
            return Ok(Value::Null);
        }
        serde_json::from_slice(&bytes).with_context(|| format!("the answer to {path} is not JSON"))
    }

    /// A GET whose JSON answer is read as `T`.
    pub fn get_json<T: DeserializeOwned>(&self, path: &str) -> anyhow::Result<T> {
        let bytes = self.request(Method::GET, path, None)?;
        serde_json::from_slice(&bytes)
            .with_context(|| format!("the answer to GET {path} is not what was expected"))
    }

    /// A POST of JSON whose JSON answer is read as `T`.
    pub fn post_json<T: DeserializeOwned>(&self, path: &str, body: &Value) -> anyhow::Result<T> {
        let bytes = self.request(Method::POST, path, Some(body))?;
        serde_json::from_slice(&bytes)
            .with_context(|| format!("the answer to POST {path} is not what was expected"))
    }

    pub fn close(self) -> anyhow::Result<()> {
        match self {
            ApiClient::Remote(_) => Ok(()),
            ApiClient::Local(local) => {
                let Local {
                    runtime,
                    router,
                    backend,
                    ..
                } = local;
                drop(router);
                drop(runtime);
                backend.close()
            }
        }
    }
}

impl Local {
    fn request(&self, method: Method, path: &str, body: Option<&Value>) -> anyhow::Result<Vec<u8>> {
        let mut builder = Request::builder().method(method.clone()).uri(path);
        if let Some(purpose) = &self.purpose {
            builder = builder.header("x-journey-purpose", purpose);
        }
        let request = match body {
            Some(body) => builder
                .header(header::CONTENT_TYPE, "application/json")
                .body(Body::from(serde_json::to_vec(body)?)),
            None => builder.body(Body::empty()),
        };
        let mut request = request.context("building the request")?;
        request.extensions_mut().insert(LocalOperator(Principal {
            key_id: journey_api::auth::LOCAL_OPERATOR_KEY_ID.into(),
            name: operator(),
            role: self.role,
            agency: None,
            reviews_only: false,
        }));
        let router = self.router.clone();
        let (status, bytes) = self.runtime.block_on(async move {
            let response = router.oneshot(request).await.map_err(|e| anyhow!("{e}"))?;
            let status = response.status();
            let bytes = axum::body::to_bytes(response.into_body(), usize::MAX)
                .await
                .context("reading the answer")?;
            anyhow::Ok((status, bytes))
        })?;
        if status.is_success() {
            Ok(bytes.to_vec())
        } else {
            Err(anyhow!(problem_text(
                status.as_u16(),
                &String::from_utf8_lossy(&bytes)
            )))
        }
    }
}
