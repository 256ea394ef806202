//! The REST API as the CLI's policy commands speak it: over the network to a server (`--server`, `--key`),
//! or in this process over a data directory (`--data`), through the same `journey_api::router` with the
//! operator as [`LocalOperator`] instead of a key. Either way every rule, refusal and access-log record is
//! the server's own; the commands hold no second copy of them.

use std::sync::Arc;

use anyhow::{Context, anyhow, bail};
use axum::body::Body;
use axum::http::{Method, Request, header};
use journey_api::{AppState, Config, LocalOperator, Principal, Role};
use journey_core::SystemClock;
use serde_json::Value;
use tower::ServiceExt as _;

use crate::serve::{Backend, open_data_dir, policy_registry};
use crate::target::{Remote, Target, TargetArgs, operator, problem_text};

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
}

impl ApiClient {
    pub fn open(args: &TargetArgs) -> anyhow::Result<ApiClient> {
        if args.server.is_some() {
            return match args.open()? {
                Target::Remote(remote) => Ok(ApiClient::Remote(remote)),
                Target::Direct(_) => unreachable!("--server opens a remote target"),
            };
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
        let registry = runtime.block_on(policy_registry(
            backend.journal.clone(),
            backend.blobs.clone(),
            journey_plugins::HostConfig::default(),
            &operator(),
        ))?;
        let state = AppState::new(
            backend.store.clone(),
            backend.journal.clone(),
            Arc::new(SystemClock),
            Config::default(),
        )
        .with_registry(registry);
        Ok(ApiClient::Local(Local {
            router: journey_api::router(state),
            runtime,
            backend,
            purpose: args.purpose.clone(),
        }))
    }

    /// A GET whose answer is text (CSV, HTML), or the problem as an error.
    pub fn get_text(&self, path: &str) -> anyhow::Result<String> {
        match self {
            ApiClient::Remote(remote) => remote.request(Method::GET, path, None),
            ApiClient::Local(local) => local.request(Method::GET, path, None),
        }
    }

    /// One request; the JSON answer, or the problem as an error naming each field at fault.
    pub fn call(&self, method: Method, path: &str, body: Option<&Value>) -> anyhow::Result<Value> {
        let text = match self {
            ApiClient::Remote(remote) => remote.request(method, path, body)?,
            ApiClient::Local(local) => local.request(method, path, body)?,
        };
        if text.trim().is_empty() {
            return Ok(Value::Null);
        }
        serde_json::from_str(&text).with_context(|| format!("the answer to {path} is not JSON"))
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
    fn request(&self, method: Method, path: &str, body: Option<&Value>) -> anyhow::Result<String> {
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
            key_id: "local".into(),
            name: operator(),
            role: Role::Admin,
            agency: None,
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
        let text = String::from_utf8_lossy(&bytes).into_owned();
        if status.is_success() {
            Ok(text)
        } else {
            Err(anyhow!(problem_text(status.as_u16(), &text)))
        }
    }
}
