//! Policies: deploy a version, list, activate after its example cases pass, retire, test, dry-run over a cohort
//! (aggregates only), evaluate for one child (optionally recording the decision), and replay a recorded
//! decision. The registry is `journey_plugins::registry`; this module is its HTTP face.
//!
//! Who may do what: policy authors and admins manage policies (deploy, activate, retire, test, dry-run) and
//! never see a child's record; investigators and admins evaluate for a child and replay decisions, which are
//! reads of that child's record and are written to the access log first; recording a decision is a write of
//! evidence, for admins only.

use axum::Json;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use base64::Engine as _;
use journey_core::error::{FieldError, Problems};
use journey_core::store::EventStore;
use journey_core::{ChildId, Version};
use journey_plugins::PluginError;
use journey_plugins::registry::{
    DeployRequest, DryRunReport, EvaluateRequest, EvaluationOutcome, ExampleCase, ExampleOutcome,
    PolicyVersion, Registry, ReplayReport, VersionSelector,
};
use serde::{Deserialize, Serialize};
use std::sync::Arc;
use utoipa::{IntoParams, ToSchema};

use crate::AppState;
use crate::access::{self, Access, Purpose, record_read};
use crate::auth::{Action, Auth, Principal, Role};
use crate::error::{ApiError, ApiResult, Problem};
use crate::extract::{AcceptedDate, AcceptedInstant, JsonBody, PolicyUploadBody, QueryParams, child_id};
use crate::responses::{
    BadRequest, Forbidden, NotFound, PayloadTooLarge, Unauthorized, Unavailable, Unprocessable,
    UnsupportedMediaType,
};
use crate::routes::children::{as_of, require_child};

/// The registry, or 503 when this server runs without a policy host.
pub(crate) fn registry(state: &AppState) -> ApiResult<&Arc<Registry>> {
    state
        .registry
        .as_ref()
        .ok_or_else(|| ApiError::Unavailable("this server has no policy host".into()))
}

/// The one mapping from the registry's errors to HTTP.
pub(crate) fn plugin_error(e: PluginError) -> ApiError {
    let field = |field: &str, rule: String| ApiError::Invalid(Problems::from(FieldError::new(field, rule)));
    match e {
        PluginError::BadRequest { field: f, rule } => field(&f, rule),
        PluginError::UnknownPolicy(_)
        | PluginError::NotInForce { .. }
        | PluginError::UnknownChild(_)
        | PluginError::UnknownDecision(_) => ApiError::NotFound(e.to_string()),
        PluginError::VersionConflict { .. } | PluginError::InvalidState(_) => {
            ApiError::ConflictDetail(e.to_string())
        }
        PluginError::ExamplesFailed { ref failures, .. } => {
            let mut problems = Problems::new();
            for f in failures {
                problems.push(
                    format!("examples[{}].expect.{}", f.case, f.path),
                    f.problem.clone(),
                );
            }
            ApiError::Invalid(problems)
        }
        PluginError::Compile(_)
        | PluginError::WrongInterface { .. }
        | PluginError::WrongContract { .. }
        | PluginError::Link(_)
        | PluginError::BadPolicyInfo(_) => field("component", e.to_string()),
        PluginError::OutOfFuel { .. }
        | PluginError::DeadlineExceeded { .. }
        | PluginError::MemoryLimit { .. }
        | PluginError::Panic { .. }
        | PluginError::Trap { .. }
        | PluginError::Refused { .. }
        | PluginError::MalformedOutput { .. }
        | PluginError::OutputTooLarge { .. }
        | PluginError::InvalidInput(_) => field("policy", format!("the policy could not decide: {e}")),
        PluginError::Store(core) => core.into(),
        PluginError::Host(detail) => ApiError::Internal(detail),
    }
}

fn may_read_policies(principal: &Principal) -> ApiResult<()> {
    if principal.role.may(Action::ManagePolicies) || principal.role.may(Action::EvaluatePolicy) {
        Ok(())
    } else {
        principal.require(Action::ManagePolicies)
    }
}

/// A version to deploy.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct DeployBody {
    /// The component's bytes (`wasm32-wasip2`, exporting `journey:policy/policy@1.0.0`), base64.
    pub component_base64: String,
    /// The policy's parameters (an object), exactly as it will receive them.
    #[schema(value_type = Object)]
    pub parameters: serde_json::Value,
    /// The first date the version may judge.
    #[schema(value_type = String, format = Date)]
    pub effective_from: AcceptedDate,
    /// The last date it may judge, if any.
    #[serde(default)]
    #[schema(value_type = Option<String>, format = Date)]
    pub effective_to: Option<AcceptedDate>,
    /// Who wrote it ("Exampleshire policy team").
    pub author: String,
    /// The worked cases shipped with the version: run before it can be activated.
    #[serde(default)]
    #[schema(value_type = Vec<Object>)]
    pub examples: Vec<ExampleCase>,
    /// Activate at once if every example passes (default false).
    #[serde(default)]
    pub activate: bool,
}

/// A version as the registry holds it, with the outcome of its examples when they were run.
#[derive(Debug, Serialize, ToSchema)]
pub struct VersionResponse {
    #[schema(value_type = Object)]
    pub version: PolicyVersion,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    #[schema(value_type = Vec<Object>)]
    pub examples: Vec<ExampleOutcome>,
}

/// Deploys a policy version (and activates it, if asked and its examples pass).
///
/// Versions are immutable: the same name and version with the same bytes, parameters, dates and examples is a
/// harmless retry (200); with anything different it is refused (409). The body is held to the server's
/// `policy_upload_limit` (64 MiB by default), not to the smaller `body_limit` of other requests.
#[utoipa::path(
    post,
    path = "/v1/policies",
    tag = "policies",
    request_body(content = DeployBody, content_type = "application/json"),
    responses(
        (status = 201, description = "Deployed", body = VersionResponse),
        (status = 200, description = "Already deployed exactly so", body = VersionResponse),
        (status = 400, response = BadRequest),
        (status = 401, response = Unauthorized),
        (status = 403, response = Forbidden),
        (status = 409, description = "The version exists with other content", body = Problem, content_type = "application/problem+json"),
        (status = 413, response = PayloadTooLarge),
        (status = 415, response = UnsupportedMediaType),
        (status = 422, description = "Not a policy of this contract, bad parameters or dates, or failing examples", body = Problem, content_type = "application/problem+json"),
        (status = 503, response = Unavailable),
    ),
    security(("bearer" = []))
)]
pub async fn deploy(
    State(state): State<AppState>,
    Auth(principal): Auth,
    PolicyUploadBody(body): PolicyUploadBody<DeployBody>,
) -> ApiResult<(StatusCode, Json<VersionResponse>)> {
    principal.require(Action::ManagePolicies)?;
    let registry = registry(&state)?;
    let component = base64::engine::general_purpose::STANDARD
        .decode(body.component_base64.trim())
        .map_err(|e| {
            ApiError::Invalid(Problems::from(FieldError::new(
                "component_base64",
                format!("must be base64 (standard alphabet): {e}"),
            )))
        })?;
    let before = registry.list().await.map_err(plugin_error)?.len();
    let deployed = registry
        .deploy(
            DeployRequest {
                component,
                parameters: body.parameters,
                effective_from: body.effective_from.get(),
                effective_to: body.effective_to.map(AcceptedDate::get),
                author: body.author,
                examples: body.examples,
            },
            &principal.name,
        )
        .await
        .map_err(plugin_error)?;
    let created = registry.list().await.map_err(plugin_error)?.len() > before;
    let (version, examples) = if body.activate {
        registry
            .activate(
                &deployed.deployed.name,
                &deployed.deployed.version,
                &principal.name,
            )
            .await
            .map_err(plugin_error)?
    } else {
        (deployed, Vec::new())
    };
    let status = if created {
        StatusCode::CREATED
    } else {
        StatusCode::OK
    };
    Ok((status, Json(VersionResponse { version, examples })))
}

#[derive(Debug, Serialize, ToSchema)]
pub struct PolicyList {
    #[schema(value_type = Vec<Object>)]
    pub versions: Vec<PolicyVersion>,
}

/// Lists every version of every policy, with its status and effective dates.
#[utoipa::path(
    get,
    path = "/v1/policies",
    tag = "policies",
    responses(
        (status = 200, body = PolicyList),
        (status = 401, response = Unauthorized),
        (status = 403, response = Forbidden),
        (status = 503, response = Unavailable),
    ),
    security(("bearer" = []))
)]
pub async fn list(State(state): State<AppState>, Auth(principal): Auth) -> ApiResult<Json<PolicyList>> {
    may_read_policies(&principal)?;
    let versions = registry(&state)?.list().await.map_err(plugin_error)?;
    Ok(Json(PolicyList { versions }))
}

/// One version.
#[utoipa::path(
    get,
    path = "/v1/policies/{name}/versions/{version}",
    tag = "policies",
    params(("name" = String, Path), ("version" = String, Path)),
    responses(
        (status = 200, body = VersionResponse),
        (status = 401, response = Unauthorized),
        (status = 403, response = Forbidden),
        (status = 404, response = NotFound),
        (status = 503, response = Unavailable),
    ),
    security(("bearer" = []))
)]
pub async fn get_version(
    State(state): State<AppState>,
    Auth(principal): Auth,
    Path((name, version)): Path<(String, String)>,
) -> ApiResult<Json<VersionResponse>> {
    may_read_policies(&principal)?;
    let version = registry(&state)?
        .get(&name, &version)
        .await
        .map_err(plugin_error)?;
    Ok(Json(VersionResponse {
        version,
        examples: Vec::new(),
    }))
}

/// Activates a deployed version after its example cases pass under this engine (422 listing every failure
/// otherwise). Activating an active version changes nothing.
#[utoipa::path(
    post,
    path = "/v1/policies/{name}/versions/{version}/activate",
    tag = "policies",
    params(("name" = String, Path), ("version" = String, Path)),
    responses(
        (status = 200, body = VersionResponse),
        (status = 401, response = Unauthorized),
        (status = 403, response = Forbidden),
        (status = 404, response = NotFound),
        (status = 409, description = "Retired versions cannot be activated", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "An example case failed", body = Problem, content_type = "application/problem+json"),
        (status = 503, response = Unavailable),
    ),
    security(("bearer" = []))
)]
pub async fn activate(
    State(state): State<AppState>,
    Auth(principal): Auth,
    Path((name, version)): Path<(String, String)>,
) -> ApiResult<Json<VersionResponse>> {
    principal.require(Action::ManagePolicies)?;
    let (version, examples) = registry(&state)?
        .activate(&name, &version, &principal.name)
        .await
        .map_err(plugin_error)?;
    Ok(Json(VersionResponse { version, examples }))
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct RetireBody {
    /// Why it is no longer in force.
    pub reason: String,
}

/// Retires a version: it is in force for no date. Its record and bytes stay, so its decisions stay
/// replayable.
#[utoipa::path(
    post,
    path = "/v1/policies/{name}/versions/{version}/retire",
    tag = "policies",
    params(("name" = String, Path), ("version" = String, Path)),
    request_body(content = RetireBody, content_type = "application/json"),
    responses(
        (status = 200, body = VersionResponse),
        (status = 401, response = Unauthorized),
        (status = 403, response = Forbidden),
        (status = 404, response = NotFound),
        (status = 415, response = UnsupportedMediaType),
        (status = 422, response = Unprocessable),
        (status = 503, response = Unavailable),
    ),
    security(("bearer" = []))
)]
pub async fn retire(
    State(state): State<AppState>,
    Auth(principal): Auth,
    Path((name, version)): Path<(String, String)>,
    JsonBody(body): JsonBody<RetireBody>,
) -> ApiResult<Json<VersionResponse>> {
    principal.require(Action::ManagePolicies)?;
    let version = registry(&state)?
        .retire(&name, &version, &body.reason, &principal.name)
        .await
        .map_err(plugin_error)?;
    Ok(Json(VersionResponse {
        version,
        examples: Vec::new(),
    }))
}

#[derive(Debug, Serialize, ToSchema)]
pub struct TestReport {
    pub passed: usize,
    pub failed: usize,
    #[schema(value_type = Vec<Object>)]
    pub examples: Vec<ExampleOutcome>,
}

/// Runs a version's example cases without changing anything.
#[utoipa::path(
    post,
    path = "/v1/policies/{name}/versions/{version}/test",
    tag = "policies",
    params(("name" = String, Path), ("version" = String, Path)),
    responses(
        (status = 200, body = TestReport),
        (status = 401, response = Unauthorized),
        (status = 403, response = Forbidden),
        (status = 404, response = NotFound),
        (status = 503, response = Unavailable),
    ),
    security(("bearer" = []))
)]
pub async fn test(
    State(state): State<AppState>,
    Auth(principal): Auth,
    Path((name, version)): Path<(String, String)>,
) -> ApiResult<Json<TestReport>> {
    principal.require(Action::ManagePolicies)?;
    let registry = registry(&state)?;
    let version = registry.get(&name, &version).await.map_err(plugin_error)?;
    let examples = registry.check_examples(&version).await.map_err(plugin_error)?;
    let passed = examples.iter().filter(|e| e.passed).count();
    Ok(Json(TestReport {
        passed,
        failed: examples.len() - passed,
        examples,
    }))
}

/// The two time axes of a judgement.
#[derive(Debug, Deserialize, IntoParams, ToSchema)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct JudgementQuery {
    /// The date judged (valid time); default today in England.
    #[param(value_type = Option<String>, format = Date)]
    #[schema(value_type = Option<String>, format = Date)]
    pub on: Option<AcceptedDate>,
    /// What was known at this instant (transaction time); default now.
    #[param(value_type = Option<String>, format = DateTime)]
    #[schema(value_type = Option<String>, format = DateTime)]
    pub known_at: Option<AcceptedInstant>,
    /// A version to use instead of the one in force on the date.
    pub version: Option<String>,
    /// Record the decision as evidence (admins only; default false).
    pub record: Option<bool>,
}

/// Evaluates a policy for one child: the version in force on the date (or the one named), over the child's
/// record as known at the instant. A read of the child's record: written to the access log first.
///
/// The decisions are written as the policy's contract gives them. A deadline from a policy built against
/// contract 2.0 says how late it is in the rule's own unit (`late_by`: `amount`, and `unit` one of `hours`,
/// `calendar-days`, `working-days`), how its due date was counted from its start (`counting`: `inclusive`,
/// the start day is day 1, or `exclusive`, the day after is) and when it was done as an instant
/// (`completed_at`), each only when known; one from a policy of contract 1.0 gives `days_late`, calendar
/// days, instead. A retention policy answers `retention` (`status` `until`, `indefinitely`, `undetermined`
/// or `held`; `destroy_from`, `runs_from`, `rule`, `source`, `reasons`).
#[utoipa::path(
    post,
    path = "/v1/children/{child_id}/policies/{name}/evaluate",
    tag = "policies",
    params(("child_id" = String, Path), ("name" = String, Path), JudgementQuery,
        ("X-Journey-Purpose" = Option<String>, Header, description = "Required for investigators")),
    responses(
        (status = 200, description = "The decisions and their evidence", body = Object),
        (status = 400, response = BadRequest),
        (status = 401, response = Unauthorized),
        (status = 403, response = Forbidden),
        (status = 404, description = "No such child, policy, or version in force", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "The policy could not decide", body = Problem, content_type = "application/problem+json"),
        (status = 503, response = Unavailable),
    ),
    security(("bearer" = []))
)]
pub async fn evaluate(
    State(state): State<AppState>,
    Auth(principal): Auth,
    purpose: Purpose,
    Path((raw_child, name)): Path<(String, String)>,
    QueryParams(query): QueryParams<JudgementQuery>,
) -> ApiResult<Json<EvaluationOutcome>> {
    principal.require(Action::EvaluatePolicy)?;
    let record = query.record.unwrap_or(false);
    if record && principal.role != Role::Admin {
        return Err(ApiError::forbidden(
            "recording a decision writes evidence: only an admin key may (leave `record` out to evaluate)",
        ));
    }
    let child = child_id(&raw_child)?;
    let registry = registry(&state)?;
    let as_of = as_of(&state, query.on, query.known_at);
    record_read(
        &state,
        &principal,
        &purpose,
        &child,
        &format!("policy:{name}"),
        serde_json::json!({"on": as_of.on, "known_at": as_of.known_at, "version": query.version, "record": record}),
    )
    .await?;
    require_child(&state, &principal, &child, as_of.known_at).await?;
    let request = EvaluateRequest {
        policy: name,
        child_id: child,
        as_of,
        version: query
            .version
            .map_or(VersionSelector::InForce, VersionSelector::Pinned),
        record,
    };
    // A merged child's input is the union of its records (`crate::merges`).
    let view = state.merges.view(state.store.as_ref(), as_of.known_at).await?;
    let outcome = registry
        .evaluate(&view, &request, &principal.name)
        .await
        .map_err(plugin_error)?;
    state
        .metrics
        .record_policy_evaluation(&outcome.policy, "ok", outcome.evaluation.fuel_used);
    Ok(Json(outcome))
}

/// Re-runs a recorded decision: the same version's bytes, the input rebuilt from the log as known at the
/// recorded instant, the recorded parameters; reports whether the output is byte-identical and, if not,
/// where it differs. A read of the child's record: written to the access log first.
#[utoipa::path(
    post,
    path = "/v1/decisions/{decision}/replay",
    tag = "policies",
    params(("decision" = u64, Path, description = "The decision's number"),
        ("X-Journey-Purpose" = Option<String>, Header, description = "Required for investigators")),
    responses(
        (status = 200, body = Object),
        (status = 400, response = BadRequest),
        (status = 401, response = Unauthorized),
        (status = 403, response = Forbidden),
        (status = 404, response = NotFound),
        (status = 503, response = Unavailable),
    ),
    security(("bearer" = []))
)]
pub async fn replay(
    State(state): State<AppState>,
    Auth(principal): Auth,
    purpose: Purpose,
    Path(decision): Path<u64>,
) -> ApiResult<Json<ReplayReport>> {
    principal.require(Action::EvaluatePolicy)?;
    let registry = registry(&state)?;
    let recorded = registry
        .decision(state.store.as_ref(), decision)
        .await
        .map_err(plugin_error)?;
    record_read(
        &state,
        &principal,
        &purpose,
        &recorded.child_id,
        "decision-replay",
        serde_json::json!({"decision": decision}),
    )
    .await?;
    // The record as readers saw it when the decision was made: the merges in force then.
    let view = state.merges.view(state.store.as_ref(), recorded.known_at).await?;
    let report = registry.replay(&view, decision).await.map_err(plugin_error)?;
    Ok(Json(report))
}

/// Which children a dry run covers.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct DryRunBody {
    /// The date judged; default today in England.
    #[serde(default)]
    #[schema(value_type = Option<String>, format = Date)]
    pub on: Option<AcceptedDate>,
    /// What was known at this instant; default now.
    #[serde(default)]
    #[schema(value_type = Option<String>, format = DateTime)]
    pub known_at: Option<AcceptedInstant>,
    /// At most this many children, the first registered (default 1,000; at most 100,000).
    #[serde(default)]
    pub limit: Option<usize>,
}

/// Evaluates a version (active or not) over a cohort of children and reports aggregates only: no child's
/// identity or record is in the answer. Compares with the version in force on the date.
#[utoipa::path(
    post,
    path = "/v1/policies/{name}/versions/{version}/dry-run",
    tag = "policies",
    params(("name" = String, Path), ("version" = String, Path)),
    request_body(content = DryRunBody, content_type = "application/json"),
    responses(
        (status = 200, body = Object),
        (status = 401, response = Unauthorized),
        (status = 403, response = Forbidden),
        (status = 404, response = NotFound),
        (status = 415, response = UnsupportedMediaType),
        (status = 422, response = Unprocessable),
        (status = 503, response = Unavailable),
    ),
    security(("bearer" = []))
)]
pub async fn dry_run(
    State(state): State<AppState>,
    Auth(principal): Auth,
    Path((name, version)): Path<(String, String)>,
    JsonBody(body): JsonBody<DryRunBody>,
) -> ApiResult<Json<DryRunReport>> {
    principal.require(Action::ManagePolicies)?;
    let limit = body.limit.unwrap_or(1_000);
    if !(1..=100_000).contains(&limit) {
        return Err(ApiError::Invalid(Problems::from(FieldError::new(
            "limit",
            "must be between 1 and 100000",
        ))));
    }
    let registry = registry(&state)?;
    let as_of = as_of(&state, body.on, body.known_at);
    // Sealed adoption records are in no dry run (`crate::sealed`).
    let sealed = state.sealed.snapshot(state.store.as_ref()).await?;
    // A merged child is one child, under the surviving record (`crate::merges`).
    let view = state.merges.view(state.store.as_ref(), as_of.known_at).await?;
    let cohort = first_children(&view, limit, &sealed).await?;
    // The children are read to evaluate them, though nobody sees their records: the access log says so.
    access::record(
        state.journal.as_ref(),
        Access {
            principal: &principal,
            child_id: None,
            children: cohort.clone(),
            view: &format!("policy-dry-run:{name}@{version}"),
            purpose: Some("policy dry run (aggregates only)".into()),
            legal_basis: None,
            parameters: serde_json::json!({"on": as_of.on, "known_at": as_of.known_at, "limit": limit}),
        },
    )
    .await?;
    let report = registry
        .dry_run(&view, &name, &version, &cohort, as_of)
        .await
        .map_err(plugin_error)?;
    Ok(Json(report))
}

/// The first `limit` children registered, in log order, but those in `skip`.
pub(crate) async fn first_children<V>(
    store: &dyn EventStore,
    limit: usize,
    skip: &std::collections::HashMap<ChildId, V>,
) -> ApiResult<Vec<ChildId>> {
    let mut children = Vec::new();
    let mut seen = std::collections::HashSet::new();
    crate::routes::each_logged(store, |event| {
        if event.envelope.version == Version::FIRST
            && !skip.contains_key(&event.envelope.child_id)
            && seen.insert(event.envelope.child_id.clone())
        {
            children.push(event.envelope.child_id);
            if children.len() == limit {
                return std::ops::ControlFlow::Break(());
            }
        }
        std::ops::ControlFlow::Continue(())
    })
    .await?;
    Ok(children)
}
