//! The policy registry: which versions of which policies exist, which are active, and which one is in force on
//! a given date; and the evaluations that use them, recorded as evidence and replayable.
//!
//! Everything the registry knows is in the system journal's `policies` stream (`journey_core::journal`), and
//! the bytes it refers to are in the content-addressed blob store:
//!
//! * [`PolicyDeployed`]: a version uploaded — name, kind and semantic version (from the component's own
//!   `about`), the SHA-256 of its bytes, author, parameters, effective-from and optional effective-to dates,
//!   and the hash of the example cases shipped with it. Versions are immutable: deploying the same name and
//!   version again with the same bytes, parameters, dates and examples is a harmless retry; with anything
//!   different it is refused ([`PluginError::VersionConflict`]).
//! * [`PolicyActivated`]: the version instantiated, matched the contract and passed every example case under
//!   this engine; only then may it be in force.
//! * [`PolicyRetired`]: no longer in force (its record and bytes stay, so old decisions stay replayable).
//!
//! The registry's in-memory state is a projection of that stream, caught up before every decision that
//! depends on it, so several API nodes sharing one journal agree (issue #6). Appends use the stream's expected
//! version: two deployers racing on one version cannot both win.
//!
//! **Which version judges a date.** Of the active versions of a policy whose effective period
//! (`effective_from ..= effective_to`, both civil dates, `effective_to` open when absent) contains the date
//! being judged, the one with the latest `effective_from`, then the highest version. A caller may pin a
//! version instead, active or not (an investigator asking what a retired version would have said).

use std::collections::BTreeMap;
use std::fmt;
use std::sync::{Arc, Mutex, PoisonError};

use journey_core::ExpectedVersion;
use journey_core::blobs::BlobStore;
use journey_core::journal::{Journal, JournalRecord, NewRecord, SystemStream};
use journey_core::{Date, PrincipalId, Timestamp, Version};
use serde::{Deserialize, Serialize};

use crate::host::{Host, LoadedPolicy, PolicyKind};
use crate::{Calendar, Digest, PluginError};

mod decisions;
mod examples;
mod measures;
mod retention;
mod then_now;

pub use decisions::{
    DecisionRecorded, DryRunReport, EvaluateRequest, EvaluationOutcome, Field, ReplayReport, VersionSelector,
};
pub use examples::{ExampleCase, ExampleFailure, ExampleOutcome, run_example};
pub use measures::{TIMESCALES_POLICY, TimescalesRun};
pub use retention::{RETENTION_POLICY, RetentionRun};
pub use then_now::{Answered, AtDecision, PolicyThenNow};

/// The journal stream of deployments, activations and retirements.
pub const POLICIES_STREAM: &str = "policies";
/// The journal stream of recorded decisions.
pub const DECISIONS_STREAM: &str = "decisions";

pub(crate) fn stream(name: &str) -> SystemStream {
    SystemStream::parse(name).expect("registry stream names are valid")
}

/// What a policy author sends to deploy a version.
#[derive(Clone, Debug, PartialEq)]
pub struct DeployRequest {
    /// The component's bytes (`wasm32-wasip2`, exporting `journey:policy/policy@2.0.0`, or `@1.0.0`).
    pub component: Vec<u8>,
    /// The policy's parameters, a JSON object, exactly as it will receive them.
    pub parameters: serde_json::Value,
    /// The first date (valid time) the version may judge.
    pub effective_from: Date,
    /// The last date it may judge, if it has one.
    pub effective_to: Option<Date>,
    /// Who wrote the version, in words ("Exampleshire children's services policy team").
    pub author: String,
    /// The worked cases shipped with the version, run before it can be activated.
    pub examples: Vec<ExampleCase>,
}

/// Journal record: a version was deployed.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct PolicyDeployed {
    pub name: String,
    pub kind: PolicyKind,
    pub version: String,
    pub summary: String,
    pub contract_version: String,
    pub content_hash: Digest,
    pub author: String,
    pub parameters: serde_json::Value,
    pub effective_from: Date,
    pub effective_to: Option<Date>,
    /// SHA-256 of the example cases' canonical JSON (stored as a blob).
    pub examples_hash: Digest,
    pub examples: usize,
}

/// Journal record: a version passed its checks and may be in force.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct PolicyActivated {
    pub name: String,
    pub version: String,
    pub examples_passed: usize,
    /// The engine the examples passed under.
    pub engine_config_hash: Digest,
}

/// Journal record: a version is no longer in force.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct PolicyRetired {
    pub name: String,
    pub version: String,
    pub reason: String,
}

/// Where a version stands.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum VersionStatus {
    Deployed,
    Active,
    Retired,
}

/// One version of a policy, as the registry knows it.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct PolicyVersion {
    #[serde(flatten)]
    pub deployed: PolicyDeployed,
    pub status: VersionStatus,
    pub deployed_at: Timestamp,
    pub deployed_by: PrincipalId,
    pub activated_at: Option<Timestamp>,
    pub retired_at: Option<Timestamp>,
    pub retired_reason: Option<String>,
}

impl PolicyVersion {
    fn semver(&self) -> semver::Version {
        semver::Version::parse(&self.deployed.version).expect("deployed versions are semantic")
    }

    /// Whether the version's effective period contains `on`.
    pub fn covers(&self, on: Date) -> bool {
        self.deployed.effective_from <= on && self.deployed.effective_to.is_none_or(|to| on <= to)
    }
}

/// The projection of the `policies` stream.
#[derive(Debug, Default)]
struct State {
    /// The journal version of the `policies` stream this state reflects.
    version: u64,
    /// name → version string → version.
    policies: BTreeMap<String, BTreeMap<String, PolicyVersion>>,
}

impl State {
    fn apply(&mut self, record: &JournalRecord) -> Result<(), PluginError> {
        match record.kind.as_str() {
            "PolicyDeployed" => {
                let deployed: PolicyDeployed = record.body_as()?;
                self.policies.entry(deployed.name.clone()).or_default().insert(
                    deployed.version.clone(),
                    PolicyVersion {
                        deployed,
                        status: VersionStatus::Deployed,
                        deployed_at: record.recorded_at,
                        deployed_by: record.recorded_by.clone(),
                        activated_at: None,
                        retired_at: None,
                        retired_reason: None,
                    },
                );
            }
            "PolicyActivated" => {
                let activated: PolicyActivated = record.body_as()?;
                let version = self.version_mut(&activated.name, &activated.version, record)?;
                version.status = VersionStatus::Active;
                version.activated_at = Some(record.recorded_at);
            }
            "PolicyRetired" => {
                let retired: PolicyRetired = record.body_as()?;
                let version = self.version_mut(&retired.name, &retired.version, record)?;
                version.status = VersionStatus::Retired;
                version.retired_at = Some(record.recorded_at);
                version.retired_reason = Some(retired.reason);
            }
            other => {
                return Err(PluginError::Store(journey_core::Error::Decode(format!(
                    "policies stream version {}: unknown record kind {other}",
                    record.version
                ))));
            }
        }
        self.version = record.version;
        Ok(())
    }

    fn version_mut(
        &mut self,
        name: &str,
        version: &str,
        record: &JournalRecord,
    ) -> Result<&mut PolicyVersion, PluginError> {
        self.policies
            .get_mut(name)
            .and_then(|versions| versions.get_mut(version))
            .ok_or_else(|| {
                PluginError::Store(journey_core::Error::Decode(format!(
                    "policies stream version {}: {} names {name} {version}, which was never deployed",
                    record.version, record.kind
                )))
            })
    }

    fn get(&self, name: &str, version: &str) -> Result<&PolicyVersion, PluginError> {
        self.policies
            .get(name)
            .and_then(|versions| versions.get(version))
            .ok_or_else(|| PluginError::UnknownPolicy(format!("{name} {version}")))
    }
}

/// The registry. One per process; cheap to share behind an `Arc`.
pub struct Registry {
    journal: Arc<dyn Journal>,
    blobs: Arc<dyn BlobStore>,
    host: Arc<Host>,
    calendar: Calendar,
    state: Mutex<State>,
    /// Evaluations are CPU-bound: at most `concurrency` run at once, each on a blocking thread.
    evaluations: tokio::sync::Semaphore,
    concurrency: usize,
}

impl fmt::Debug for Registry {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Registry")
            .field("journal", &self.journal)
            .field("host", &self.host)
            .finish_non_exhaustive()
    }
}

impl Registry {
    /// A registry over `journal` and `blobs`, evaluating with `host` and `calendar`, running at most
    /// `concurrency` evaluations at once.
    pub async fn open(
        journal: Arc<dyn Journal>,
        blobs: Arc<dyn BlobStore>,
        host: Arc<Host>,
        calendar: Calendar,
        concurrency: usize,
    ) -> Result<Registry, PluginError> {
        let registry = Registry {
            journal,
            blobs,
            host,
            calendar,
            state: Mutex::default(),
            evaluations: tokio::sync::Semaphore::new(concurrency.max(1)),
            concurrency: concurrency.max(1),
        };
        registry.catch_up().await?;
        Ok(registry)
    }

    pub fn host(&self) -> &Host {
        &self.host
    }

    pub fn calendar(&self) -> &Calendar {
        &self.calendar
    }

    pub(crate) fn journal(&self) -> &dyn Journal {
        &*self.journal
    }

    fn state(&self) -> std::sync::MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Applies whatever the `policies` stream has gained since the state was last brought up to date (by
    /// this process or another sharing the journal).
    pub async fn catch_up(&self) -> Result<(), PluginError> {
        let policies = stream(POLICIES_STREAM);
        loop {
            let from = self.state().version + 1;
            let records = self.journal.read_stream(&policies, from, 1024).await?;
            if records.is_empty() {
                return Ok(());
            }
            let mut state = self.state();
            for record in &records {
                // Another task may have applied some of them meanwhile.
                if record.version == state.version + 1 {
                    state.apply(record)?;
                }
            }
        }
    }

    /// Every version of every policy, by name then version.
    pub async fn list(&self) -> Result<Vec<PolicyVersion>, PluginError> {
        self.catch_up().await?;
        let state = self.state();
        let mut out: Vec<PolicyVersion> = state
            .policies
            .values()
            .flat_map(|v| v.values().cloned())
            .collect();
        out.sort_by(|a, b| {
            a.deployed
                .name
                .cmp(&b.deployed.name)
                .then(a.semver().cmp(&b.semver()))
        });
        Ok(out)
    }

    /// One version.
    pub async fn get(&self, name: &str, version: &str) -> Result<PolicyVersion, PluginError> {
        self.catch_up().await?;
        self.state().get(name, version).cloned()
    }

    /// The active version of `name` in force on `on`, if any.
    pub async fn in_force(&self, name: &str, on: Date) -> Result<Option<PolicyVersion>, PluginError> {
        self.catch_up().await?;
        let state = self.state();
        Ok(state
            .policies
            .get(name)
            .and_then(|versions| choose_in_force(versions.values(), on))
            .cloned())
    }

    /// Deploys a version: checks that the bytes are a policy of this contract (compiles, type-checks,
    /// instantiates and describes itself), that the request is well formed, and that the version is new or an
    /// exact retry; stores the bytes and the examples; records [`PolicyDeployed`]. Does not activate.
    pub async fn deploy(
        &self,
        request: DeployRequest,
        by: &PrincipalId,
    ) -> Result<PolicyVersion, PluginError> {
        check_deploy_request(&request)?;
        let policy = self.load_blocking(request.component.clone()).await?;
        let info = policy.info().clone();
        semver::Version::parse(&info.version).map_err(|e| {
            PluginError::BadPolicyInfo(format!(
                "version {:?} is not a semantic version: {e}",
                info.version
            ))
        })?;
        let examples_json = examples::canonical_json(&request.examples);
        let content_hash = Digest(self.blobs.put(&request.component).await?);
        let examples_hash = Digest(self.blobs.put(&examples_json).await?);
        let deployed = PolicyDeployed {
            name: info.name.clone(),
            kind: info.kind,
            version: info.version.clone(),
            summary: info.summary.clone(),
            contract_version: info.contract_version.clone(),
            content_hash,
            author: request.author.clone(),
            parameters: request.parameters.clone(),
            effective_from: request.effective_from,
            effective_to: request.effective_to,
            examples_hash,
            examples: request.examples.len(),
        };
        loop {
            self.catch_up().await?;
            let expected = {
                let state = self.state();
                if let Ok(existing) = state.get(&info.name, &info.version) {
                    return if existing.deployed == deployed {
                        Ok(existing.clone())
                    } else {
                        Err(PluginError::VersionConflict {
                            name: info.name.clone(),
                            version: info.version.clone(),
                            detail: describe_difference(&existing.deployed, &deployed),
                        })
                    };
                }
                expected_version(state.version)
            };
            let record = NewRecord::new("PolicyDeployed", by.clone(), &deployed);
            match self.append_policies(expected, record).await {
                Ok(()) => return self.get(&info.name, &info.version).await,
                Err(RetryOr::Retry) => continue,
                Err(RetryOr::Failed(e)) => return Err(e),
            }
        }
    }

    /// Activates a deployed version after running its example cases under this engine. A failing example
    /// refuses the activation with every failure listed ([`PluginError::ExamplesFailed`]); an active version
    /// is left as it is.
    pub async fn activate(
        &self,
        name: &str,
        version: &str,
        by: &PrincipalId,
    ) -> Result<(PolicyVersion, Vec<ExampleOutcome>), PluginError> {
        self.catch_up().await?;
        let current = self.state().get(name, version)?.clone();
        match current.status {
            VersionStatus::Active => return Ok((current, Vec::new())),
            VersionStatus::Retired => {
                return Err(PluginError::InvalidState(format!(
                    "{name} {version} was retired and cannot be activated again; deploy a new version"
                )));
            }
            VersionStatus::Deployed => {}
        }
        // "Activated only after its example cases pass" means nothing for a version that ships none: a
        // component that loops forever, or answers anything, would pass vacuously.
        if current.deployed.examples == 0 {
            return Err(PluginError::BadRequest {
                field: "examples".into(),
                rule: format!(
                    "{name} {version} ships no example cases, and a version is activated only after its example \
                     cases pass: deploy a new version with at least one (see docs/policy-authoring.md)"
                ),
            });
        }
        let contract = self.loaded(&current).await?.contract();
        let outcomes = self.check_examples(&current).await?;
        let failures: Vec<ExampleFailure> = outcomes.iter().filter_map(|o| o.failure.clone()).collect();
        if !failures.is_empty() {
            return Err(PluginError::ExamplesFailed {
                name: name.into(),
                version: version.into(),
                failures,
            });
        }
        let body = PolicyActivated {
            name: name.into(),
            version: version.into(),
            examples_passed: outcomes.len(),
            engine_config_hash: self.host.engine_config_hash(contract),
        };
        self.record_transition(
            name,
            version,
            VersionStatus::Deployed,
            "PolicyActivated",
            &body,
            by,
        )
        .await?;
        Ok((self.get(name, version).await?, outcomes))
    }

    /// Retires a version: it is no longer in force for any date.
    pub async fn retire(
        &self,
        name: &str,
        version: &str,
        reason: &str,
        by: &PrincipalId,
    ) -> Result<PolicyVersion, PluginError> {
        if reason.trim().is_empty() {
            return Err(PluginError::BadRequest {
                field: "reason".into(),
                rule: "a retirement needs a reason".into(),
            });
        }
        self.catch_up().await?;
        let current = self.state().get(name, version)?.clone();
        if current.status == VersionStatus::Retired {
            return Ok(current);
        }
        let body = PolicyRetired {
            name: name.into(),
            version: version.into(),
            reason: reason.into(),
        };
        self.record_transition(name, version, current.status, "PolicyRetired", &body, by)
            .await?;
        self.get(name, version).await
    }

    /// The example cases shipped with a version, from the blob store.
    pub async fn examples(&self, version: &PolicyVersion) -> Result<Vec<ExampleCase>, PluginError> {
        let bytes = self.blobs.get(&version.deployed.examples_hash.0).await?;
        serde_json::from_slice(&bytes).map_err(|e| {
            PluginError::Store(journey_core::Error::Decode(format!(
                "the examples of {} {}: {e}",
                version.deployed.name, version.deployed.version
            )))
        })
    }

    /// Runs a version's example cases (without activating it).
    pub async fn check_examples(&self, version: &PolicyVersion) -> Result<Vec<ExampleOutcome>, PluginError> {
        let policy = self.loaded(version).await?;
        let cases = self.examples(version).await?;
        let mut outcomes = Vec::with_capacity(cases.len());
        for case in cases {
            let _permit = self
                .evaluations
                .acquire()
                .await
                .expect("the semaphore is never closed");
            let host = Arc::clone(&self.host);
            let policy = Arc::clone(&policy);
            let calendar = self.calendar.clone();
            let parameters = version.deployed.parameters.clone();
            let outcome = tokio::task::spawn_blocking(move || {
                examples::run_example(&host, &policy, &calendar, &parameters, &case)
            })
            .await
            .map_err(|e| PluginError::Host(format!("an example case's thread failed: {e}")))?;
            outcomes.push(outcome);
        }
        Ok(outcomes)
    }

    /// The compiled policy of a deployed version (compiled once per process, by content hash). The host's
    /// cache is asked by the hash the registry holds first: an evaluation of a policy already compiled
    /// neither reads its blob nor hashes its bytes (megabytes for a component in another language).
    pub(crate) async fn loaded(&self, version: &PolicyVersion) -> Result<Arc<LoadedPolicy>, PluginError> {
        if let Some(policy) = self.host.cached(&version.deployed.content_hash) {
            return Ok(policy);
        }
        let bytes = self.blobs.get(&version.deployed.content_hash.0).await?;
        self.load_blocking(bytes).await
    }

    async fn load_blocking(&self, bytes: Vec<u8>) -> Result<Arc<LoadedPolicy>, PluginError> {
        let host = Arc::clone(&self.host);
        tokio::task::spawn_blocking(move || host.load(&bytes))
            .await
            .map_err(|e| PluginError::Host(format!("the compiling thread failed: {e}")))?
    }

    /// How many children a run over a cohort (measures, dry runs) has in flight: twice the evaluations that
    /// may run at once, so that one child's read and input building overlap another's evaluation, and no
    /// more, so that memory holds only those children's inputs.
    pub(crate) fn children_in_flight(&self) -> usize {
        self.concurrency * 2
    }

    pub(crate) async fn run_blocking<T: Send + 'static>(
        &self,
        work: impl FnOnce(&Host) -> T + Send + 'static,
    ) -> Result<T, PluginError> {
        let _permit = self
            .evaluations
            .acquire()
            .await
            .expect("the semaphore is never closed");
        let host = Arc::clone(&self.host);
        tokio::task::spawn_blocking(move || work(&host))
            .await
            .map_err(|e| PluginError::Host(format!("an evaluation's thread failed: {e}")))
    }

    async fn record_transition(
        &self,
        name: &str,
        version: &str,
        from: VersionStatus,
        kind: &str,
        body: &impl Serialize,
        by: &PrincipalId,
    ) -> Result<(), PluginError> {
        loop {
            self.catch_up().await?;
            let expected = {
                let state = self.state();
                let status = state.get(name, version)?.status;
                if status != from {
                    return Err(PluginError::InvalidState(format!(
                        "{name} {version} changed to {status:?} while this request ran; try again"
                    )));
                }
                expected_version(state.version)
            };
            match self
                .append_policies(expected, NewRecord::new(kind, by.clone(), body))
                .await
            {
                Ok(()) => return Ok(()),
                Err(RetryOr::Retry) => continue,
                Err(RetryOr::Failed(e)) => return Err(e),
            }
        }
    }

    /// Appends to the `policies` stream; `Err(Retry)` when another writer got there first (the caller
    /// re-reads and re-decides).
    async fn append_policies(&self, expected: ExpectedVersion, record: NewRecord) -> Result<(), RetryOr> {
        match self
            .journal
            .append(&stream(POLICIES_STREAM), expected, vec![record])
            .await
        {
            Ok(_) => {
                self.catch_up().await.map_err(RetryOr::Failed)?;
                Ok(())
            }
            Err(journey_core::Error::Conflict(journey_core::Conflict::WrongJournalVersion { .. })) => {
                Err(RetryOr::Retry)
            }
            Err(e) => Err(RetryOr::Failed(e.into())),
        }
    }
}

/// The outcome of an optimistic append: retry after re-reading, or a real failure.
#[derive(Debug)]
enum RetryOr {
    Retry,
    Failed(PluginError),
}

/// Of the active versions whose effective period contains `on`, the one with the latest `effective_from`, then
/// the highest version.
fn choose_in_force<'a>(
    versions: impl Iterator<Item = &'a PolicyVersion>,
    on: Date,
) -> Option<&'a PolicyVersion> {
    versions
        .filter(|v| v.status == VersionStatus::Active && v.covers(on))
        .max_by(|a, b| {
            a.deployed
                .effective_from
                .cmp(&b.deployed.effective_from)
                .then(a.semver().cmp(&b.semver()))
        })
}

/// Parameters as the policy receives them: compact JSON with every object's keys sorted, whatever order they
/// were sent in and whichever `serde_json` map the build uses (its `preserve_order` feature is switched on by
/// other crates of the workspace). The input hash covers this text, so it must not depend on either.
pub(crate) fn canonical_json(value: &serde_json::Value) -> String {
    fn sorted(value: &serde_json::Value) -> serde_json::Value {
        match value {
            serde_json::Value::Object(map) => {
                let mut entries: Vec<(&String, &serde_json::Value)> = map.iter().collect();
                entries.sort_by(|a, b| a.0.cmp(b.0));
                serde_json::Value::Object(entries.into_iter().map(|(k, v)| (k.clone(), sorted(v))).collect())
            }
            serde_json::Value::Array(items) => serde_json::Value::Array(items.iter().map(sorted).collect()),
            other => other.clone(),
        }
    }
    sorted(value).to_string()
}

fn expected_version(version: u64) -> ExpectedVersion {
    if version == 0 {
        ExpectedVersion::NoStream
    } else {
        ExpectedVersion::Exact(Version(version))
    }
}

fn check_deploy_request(request: &DeployRequest) -> Result<(), PluginError> {
    let bad = |field: &str, rule: &str| {
        Err(PluginError::BadRequest {
            field: field.into(),
            rule: rule.into(),
        })
    };
    if !request.parameters.is_object() {
        return bad("parameters", "must be a JSON object");
    }
    if request.author.trim().is_empty() {
        return bad("author", "must name who wrote the version");
    }
    if let Some(to) = request.effective_to
        && to < request.effective_from
    {
        return bad("effective_to", "must be on or after effective_from");
    }
    if request.component.is_empty() {
        return bad("component", "must be the bytes of a WebAssembly component");
    }
    Ok(())
}

fn describe_difference(existing: &PolicyDeployed, new: &PolicyDeployed) -> String {
    let mut differences = Vec::new();
    if existing.content_hash != new.content_hash {
        differences.push(format!(
            "the bytes differ (stored sha256 {}, sent {})",
            existing.content_hash, new.content_hash
        ));
    }
    if existing.parameters != new.parameters {
        differences.push("the parameters differ".to_string());
    }
    if (existing.effective_from, existing.effective_to) != (new.effective_from, new.effective_to) {
        differences.push("the effective dates differ".to_string());
    }
    if existing.examples_hash != new.examples_hash {
        differences.push("the example cases differ".to_string());
    }
    if existing.author != new.author {
        differences.push("the author differs".to_string());
    }
    differences.join("; ")
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::PolicyKind;

    fn version(v: &str, status: VersionStatus, from: &str, to: Option<&str>) -> PolicyVersion {
        let date = |s: &str| Date::parse_field("date", s).unwrap();
        PolicyVersion {
            deployed: PolicyDeployed {
                name: "thresholds".into(),
                kind: PolicyKind::LevelOfNeed,
                version: v.into(),
                summary: String::new(),
                contract_version: "1.0.0".into(),
                content_hash: Digest::of(v.as_bytes()),
                author: "team".into(),
                parameters: serde_json::json!({}),
                effective_from: date(from),
                effective_to: to.map(date),
                examples_hash: Digest::of(b"[]"),
                examples: 0,
            },
            status,
            deployed_at: Timestamp::UNIX_EPOCH,
            deployed_by: PrincipalId::parse("team").unwrap(),
            activated_at: None,
            retired_at: None,
            retired_reason: None,
        }
    }

    #[test]
    fn parameters_are_canonical_whatever_the_order_they_came_in() {
        let a: serde_json::Value =
            serde_json::from_str(r#"{"b": 1, "a": {"d": [1, {"z": 0, "y": 1}], "c": 2}}"#).unwrap();
        assert_eq!(canonical_json(&a), r#"{"a":{"c":2,"d":[1,{"y":1,"z":0}]},"b":1}"#);
    }

    #[test]
    fn the_version_in_force_is_the_latest_effective_active_one_covering_the_date() {
        use VersionStatus::*;
        let versions = [
            version("1.0.0", Active, "2012-04-01", Some("2016-03-31")),
            version("1.1.0", Active, "2012-04-01", Some("2016-03-31")),
            version("2.0.0", Active, "2016-04-01", None),
            version("2.1.0", Retired, "2016-04-01", None),
            version("3.0.0", Deployed, "2020-04-01", None),
            version("2.2.0", Active, "2021-09-01", Some("2021-12-31")),
        ];
        let chosen = |on: &str| {
            choose_in_force(versions.iter(), Date::parse_field("on", on).unwrap())
                .map(|v| v.deployed.version.as_str())
        };
        assert_eq!(chosen("2012-03-31"), None, "before any version");
        assert_eq!(
            chosen("2014-01-15"),
            Some("1.1.0"),
            "same start: the higher version"
        );
        assert_eq!(
            chosen("2016-03-31"),
            Some("1.1.0"),
            "effective_to is the last day in force"
        );
        assert_eq!(
            chosen("2016-04-01"),
            Some("2.0.0"),
            "retired versions are never in force"
        );
        assert_eq!(
            chosen("2021-10-01"),
            Some("2.2.0"),
            "a later start wins while it lasts"
        );
        assert_eq!(
            chosen("2022-01-01"),
            Some("2.0.0"),
            "deployed but not active does not count"
        );
    }
}
