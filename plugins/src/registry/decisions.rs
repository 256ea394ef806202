//! Evaluations through the registry: choosing the version, building the input from the child's stream,
//! running it in the sandbox (on a blocking thread, behind the registry's semaphore), recording the decision
//! as evidence, replaying a recorded decision, and dry-running a version over a cohort.
//!
//! A recorded decision ([`DecisionRecorded`], journal stream `decisions`) stores the hashes of the policy, the
//! engine configuration and the input, the calendar version, the parameters, both time axes, the output and
//! the fuel used. It does not copy the child's events: the log is append-only and the input is the
//! bitemporal view as known at `known_at`, so a replay rebuilds exactly the same input from the store — and
//! the input hash proves it did (or shows that it could not).

use std::collections::{BTreeMap, BTreeSet};
use std::sync::Arc;

use futures::{StreamExt as _, stream};

use journey_core::ExpectedVersion;
use journey_core::journal::NewRecord;
use journey_core::store::EventStore;
use journey_core::view::AsOf;
use journey_core::{ChildId, Date, PrincipalId, Timestamp, Version};
use serde::{Deserialize, Serialize};

use super::{DECISIONS_STREAM, PolicyVersion, Registry, canonical_json, stream};
use crate::host::Evaluation;
use crate::{Deadline, Decisions, Digest, PluginError, PolicyInput};

/// Which version judges.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum VersionSelector {
    /// The active version in force on the date being judged.
    InForce,
    /// This version, whatever its status.
    Pinned(String),
}

/// One evaluation for one child.
#[derive(Clone, Debug, PartialEq)]
pub struct EvaluateRequest {
    pub policy: String,
    pub child_id: ChildId,
    pub as_of: AsOf,
    pub version: VersionSelector,
    /// Record the decision as evidence (journal stream `decisions`).
    pub record: bool,
}

/// What an evaluation produced, and which version produced it.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct EvaluationOutcome {
    pub policy: String,
    pub version: String,
    pub evaluation_date: Date,
    pub known_at: Timestamp,
    pub calendar_version: String,
    #[serde(flatten)]
    pub evaluation: Evaluation,
    /// The decision's number in the `decisions` stream, when it was recorded.
    pub decision: Option<u64>,
}

/// Journal record: a decision kept as evidence.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct DecisionRecorded {
    pub child_id: ChildId,
    pub policy: String,
    pub version: String,
    pub policy_hash: Digest,
    pub engine_config_hash: Digest,
    pub calendar_version: String,
    pub parameters: serde_json::Value,
    pub evaluation_date: Date,
    pub known_at: Timestamp,
    pub input_hash: Digest,
    pub output_hash: Digest,
    pub decisions: Decisions,
    pub fuel_used: u64,
}

/// Where a recorded decision's output, which can quote the child's dates and facts, is kept sealed under the
/// child's content key (issue #19): `sealed_decisions` (base64) instead of `decisions`, so that destroying the
/// child's key erases it from the journal too. The associated data binds it to the decision's hashes.
const SEALED_DECISIONS: &str = "sealed_decisions";

fn decisions_aad(child_id: &ChildId, policy: &str, version: &str, output_hash: &Digest) -> Vec<u8> {
    format!("journey/decision/v1\0{child_id}\0{policy}\0{version}\0{output_hash}").into_bytes()
}

/// The journal body of a decision: its output sealed when the store seals the child's content.
fn seal_decisions(store: &dyn EventStore, body: &DecisionRecorded) -> Result<serde_json::Value, PluginError> {
    use base64::Engine as _;
    let mut value = serde_json::to_value(body).expect("a decision serialises");
    let output = serde_json::to_vec(&body.decisions).expect("decisions serialise");
    let aad = decisions_aad(&body.child_id, &body.policy, &body.version, &body.output_hash);
    if let Some(sealed) = store.seal_for_child(&body.child_id, &aad, &output)? {
        let map = value.as_object_mut().expect("a decision is an object");
        map.remove("decisions");
        map.insert(
            SEALED_DECISIONS.into(),
            base64::engine::general_purpose::STANDARD.encode(sealed).into(),
        );
    }
    Ok(value)
}

/// A decision from its journal body, its sealed output opened.
fn open_decisions(
    store: &dyn EventStore,
    mut body: serde_json::Value,
) -> Result<DecisionRecorded, PluginError> {
    use base64::Engine as _;
    let bad = |why: String| PluginError::Store(journey_core::Error::Decode(why));
    if let Some(map) = body.as_object_mut()
        && let Some(sealed) = map.remove(SEALED_DECISIONS)
    {
        let field = |name: &str| {
            map.get(name)
                .and_then(|v| v.as_str())
                .unwrap_or_default()
                .to_owned()
        };
        let child_id = ChildId::parse(field("child_id")).map_err(|e| bad(e.to_string()))?;
        let output_hash: Digest = serde_json::from_value(map.get("output_hash").cloned().unwrap_or_default())
            .map_err(|e| bad(e.to_string()))?;
        let aad = decisions_aad(&child_id, &field("policy"), &field("version"), &output_hash);
        let sealed = base64::engine::general_purpose::STANDARD
            .decode(sealed.as_str().unwrap_or_default())
            .map_err(|e| bad(format!("a sealed decision is not base64: {e}")))?;
        let output = store.open_for_child(&child_id, &aad, &sealed)?;
        let decisions: serde_json::Value = serde_json::from_slice(&output).map_err(|e| bad(e.to_string()))?;
        map.insert("decisions".into(), decisions);
    }
    serde_json::from_value(body).map_err(|e| bad(format!("a recorded decision does not decode: {e}")))
}

/// One difference between a recorded and a replayed output.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Field {
    pub path: String,
    pub recorded: Option<serde_json::Value>,
    pub replayed: Option<serde_json::Value>,
}

/// What a replay found.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct ReplayReport {
    pub decision: u64,
    pub recorded: DecisionRecorded,
    /// True when the output is byte-identical to the recorded one.
    pub identical: bool,
    pub input_identical: bool,
    pub engine_identical: bool,
    pub calendar_identical: bool,
    pub replayed_output_hash: Digest,
    pub replayed_input_hash: Digest,
    /// Where the replayed decisions differ from the recorded ones (empty when identical).
    pub differences: Vec<Field>,
}

/// A dry run's aggregate result. It names no child: a policy author sees how a version would decide across a
/// cohort without seeing any child's record.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct DryRunReport {
    pub policy: String,
    pub version: String,
    pub evaluation_date: Date,
    pub known_at: Timestamp,
    pub children: usize,
    pub evaluated: usize,
    /// Failed evaluations by kind of failure (`refused`, `out_of_fuel`, ...).
    pub failures: BTreeMap<String, usize>,
    /// Children by level of need.
    pub levels: BTreeMap<u8, usize>,
    /// Step recommendations by `current -> recommended`.
    pub steps: BTreeMap<String, usize>,
    /// Deadlines by name, then by status.
    pub deadlines: BTreeMap<String, BTreeMap<String, usize>>,
    /// Entitlements by name.
    pub entitlements: BTreeMap<String, usize>,
    /// Alerts by code.
    pub alerts: BTreeMap<String, usize>,
    /// Retention answers by status (`until`, `indefinitely`, `undetermined`, `held`).
    pub retention: BTreeMap<String, usize>,
    /// The version in force on the evaluation date, when there is one other than the dry-run version.
    pub compared_with: Option<String>,
    /// Children whose answers under the dry-run version differ from those of `compared_with`: a level, a
    /// step, a deadline, an entitlement, an alert or a retention that is not the same in any field but its
    /// reasons. Reasons are left out of the comparison, or a version that only words them differently (or
    /// names a changed threshold in them) would count every child; so is the order answers are listed in.
    /// A deadline is compared by its dates, status and lateness (a 1.0 version's days late as calendar days,
    /// so that a 2.0 version late by the same days is not a change), not by how it says it counted.
    pub differing_from_in_force: usize,
    /// Children whose answers are the same under both versions but whose reasons differ.
    pub differing_only_in_reasons: usize,
    /// Children for whom the version in force failed, by kind of failure: they are in none of the comparison's
    /// counts, whatever the dry-run version answered.
    pub in_force_failures: BTreeMap<String, usize>,
    /// Of the children whose answers differ, how many by what differs: `level 3 -> 2`, `step child-in-need ->
    /// early-help` (the recommendation), `deadline assessment changed` (its due date, status or lateness),
    /// `entitlement staying-put added`, `alert re-referral removed`, and `other` for anything else (a
    /// level's label, a step's current service or direction). A child counts once under each key that
    /// applies to it.
    pub changes: BTreeMap<String, usize>,
    pub fuel_total: u64,
    pub fuel_max: u64,
}

impl Registry {
    /// Chooses the version for `selector` on `on`.
    pub async fn select(
        &self,
        policy: &str,
        selector: &VersionSelector,
        on: Date,
    ) -> Result<PolicyVersion, PluginError> {
        match selector {
            VersionSelector::Pinned(version) => self.get(policy, version).await,
            VersionSelector::InForce => {
                self.in_force(policy, on)
                    .await?
                    .ok_or_else(|| PluginError::NotInForce {
                        policy: policy.to_string(),
                        on,
                    })
            }
        }
    }

    /// Evaluates one child: the version chosen by the request, the child's stream as the view shows it on the
    /// date as known at the instant, in the sandbox. Records the decision when asked.
    pub async fn evaluate(
        &self,
        store: &dyn EventStore,
        request: &EvaluateRequest,
        by: &PrincipalId,
    ) -> Result<EvaluationOutcome, PluginError> {
        let version = self
            .select(&request.policy, &request.version, request.as_of.on)
            .await?;
        let events = store
            .read_stream(request.child_id.clone(), Version::FIRST, usize::MAX)
            .await?;
        if events.is_empty() {
            return Err(PluginError::UnknownChild(request.child_id.to_string()));
        }
        let input = PolicyInput::from_stream(
            &events,
            request.as_of,
            self.calendar(),
            canonical_json(&version.deployed.parameters),
        )?;
        let evaluation = self.evaluate_input(&version, input).await?;
        let mut outcome = EvaluationOutcome {
            policy: version.deployed.name.clone(),
            version: version.deployed.version.clone(),
            evaluation_date: request.as_of.on,
            known_at: request.as_of.known_at,
            calendar_version: self.calendar().version.clone(),
            evaluation,
            decision: None,
        };
        if request.record {
            let body = DecisionRecorded {
                child_id: request.child_id.clone(),
                policy: outcome.policy.clone(),
                version: outcome.version.clone(),
                policy_hash: outcome.evaluation.policy_hash,
                engine_config_hash: outcome.evaluation.engine_config_hash,
                calendar_version: outcome.calendar_version.clone(),
                parameters: version.deployed.parameters.clone(),
                evaluation_date: request.as_of.on,
                known_at: request.as_of.known_at,
                input_hash: outcome.evaluation.input_hash,
                output_hash: outcome.evaluation.output_hash,
                decisions: outcome.evaluation.decisions.clone(),
                fuel_used: outcome.evaluation.fuel_used,
            };
            let body = seal_decisions(store, &body)?;
            let stored = self
                .journal()
                .append(
                    &stream(DECISIONS_STREAM),
                    ExpectedVersion::Any,
                    vec![NewRecord::new("DecisionRecorded", by.clone(), &body)],
                )
                .await?;
            outcome.decision = Some(stored[0].version);
        }
        Ok(outcome)
    }

    async fn evaluate_input(
        &self,
        version: &PolicyVersion,
        input: PolicyInput,
    ) -> Result<Evaluation, PluginError> {
        let policy = self.loaded(version).await?;
        self.run_blocking(move |host| host.evaluate(&policy, &input))
            .await?
    }

    /// A recorded decision, its output opened with the child's key where the store sealed it (a destroyed
    /// child's decision answers that its record was destroyed).
    pub async fn decision(
        &self,
        store: &dyn EventStore,
        decision: u64,
    ) -> Result<DecisionRecorded, PluginError> {
        let records = self
            .journal()
            .read_stream(&stream(DECISIONS_STREAM), decision, 1)
            .await?;
        match records.first() {
            Some(record) if record.version == decision => open_decisions(store, record.body.clone()),
            _ => Err(PluginError::UnknownDecision(decision)),
        }
    }

    /// Re-runs a recorded decision: the same version's bytes, the input rebuilt from the store as known at the
    /// recorded instant, the recorded parameters; and compares.
    pub async fn replay(&self, store: &dyn EventStore, decision: u64) -> Result<ReplayReport, PluginError> {
        let recorded = self.decision(store, decision).await?;
        let version = self.get(&recorded.policy, &recorded.version).await?;
        if version.deployed.content_hash != recorded.policy_hash {
            return Err(PluginError::Store(journey_core::Error::Decode(format!(
                "decision {decision} was made by {} {} with bytes {}, but the registry holds {} for it",
                recorded.policy, recorded.version, recorded.policy_hash, version.deployed.content_hash
            ))));
        }
        let events = store
            .read_stream(recorded.child_id.clone(), Version::FIRST, usize::MAX)
            .await?;
        let as_of = AsOf {
            on: recorded.evaluation_date,
            known_at: recorded.known_at,
        };
        let input = PolicyInput::from_stream(
            &events,
            as_of,
            self.calendar(),
            canonical_json(&recorded.parameters),
        )?;
        let replayed_input_hash = input.digest();
        let evaluation = self.evaluate_input(&version, input).await?;
        let recorded_json = serde_json::to_value(&recorded.decisions).expect("decisions serialise");
        let replayed_json = serde_json::to_value(&evaluation.decisions).expect("decisions serialise");
        let mut differences = Vec::new();
        diff(&recorded_json, &replayed_json, String::new(), &mut differences);
        Ok(ReplayReport {
            decision,
            identical: evaluation.output_hash == recorded.output_hash,
            input_identical: replayed_input_hash == recorded.input_hash,
            engine_identical: evaluation.engine_config_hash == recorded.engine_config_hash,
            calendar_identical: self.calendar().version == recorded.calendar_version,
            replayed_output_hash: evaluation.output_hash,
            replayed_input_hash,
            differences,
            recorded,
        })
    }

    /// Evaluates a version (active or not) for every child of `cohort` and reports aggregates only; compares
    /// with the version in force on the date, if that is another version.
    pub async fn dry_run(
        &self,
        store: &dyn EventStore,
        policy: &str,
        version: &str,
        cohort: &[ChildId],
        as_of: AsOf,
    ) -> Result<DryRunReport, PluginError> {
        let candidate = self.get(policy, version).await?;
        let in_force = self
            .in_force(policy, as_of.on)
            .await?
            .filter(|v| v.deployed.version != candidate.deployed.version);
        let candidate_policy = self.loaded(&candidate).await?;
        let in_force_policy = match &in_force {
            Some(v) => Some(self.loaded(v).await?),
            None => None,
        };
        let mut report = DryRunReport {
            policy: policy.into(),
            version: version.into(),
            evaluation_date: as_of.on,
            known_at: as_of.known_at,
            children: cohort.len(),
            evaluated: 0,
            failures: BTreeMap::new(),
            levels: BTreeMap::new(),
            steps: BTreeMap::new(),
            deadlines: BTreeMap::new(),
            entitlements: BTreeMap::new(),
            alerts: BTreeMap::new(),
            retention: BTreeMap::new(),
            compared_with: in_force.as_ref().map(|v| v.deployed.version.clone()),
            differing_from_in_force: 0,
            differing_only_in_reasons: 0,
            in_force_failures: BTreeMap::new(),
            changes: BTreeMap::new(),
            fuel_total: 0,
            fuel_max: 0,
        };
        // Children in flight as for the measures, each read and built only when its turn comes; the report
        // is counts and maxima, so the order answers come back in does not change it.
        let parallel = self.children_in_flight();
        let calendar = self.calendar();
        let evaluations: Vec<_> = cohort
            .iter()
            .map(|child| {
                let candidate_policy = Arc::clone(&candidate_policy);
                let in_force_policy = in_force_policy.clone();
                let (candidate, in_force) = (&candidate, &in_force);
                async move {
                    let events = store
                        .read_stream(child.clone(), Version::FIRST, usize::MAX)
                        .await?;
                    if events.is_empty() {
                        return Ok(None);
                    }
                    // One view of the child for both versions, evaluated one after the other, each with its
                    // own parameters (swapped in, rather than the whole input copied for the second).
                    let mut input = PolicyInput::from_stream(
                        &events,
                        as_of,
                        calendar,
                        canonical_json(&candidate.deployed.parameters),
                    )?;
                    let in_force_parameters =
                        in_force.as_ref().map(|v| canonical_json(&v.deployed.parameters));
                    let outcomes = self
                        .run_blocking(move |host| {
                            let result = host.answer(&candidate_policy, &input);
                            let baseline =
                                in_force_policy
                                    .zip(in_force_parameters)
                                    .map(|(policy, parameters)| {
                                        input.parameters = parameters;
                                        host.answer(&policy, &input)
                                    });
                            (result, baseline)
                        })
                        .await?;
                    Ok::<_, PluginError>(Some(outcomes))
                }
            })
            .collect();
        let mut outcomes = stream::iter(evaluations).buffer_unordered(parallel);
        while let Some(outcome) = outcomes.next().await {
            let Some((result, baseline)) = outcome? else {
                *report.failures.entry("unknown_child".into()).or_default() += 1;
                continue;
            };
            if let Some(Err(e)) = &baseline {
                *report
                    .in_force_failures
                    .entry(failure_kind(e).into())
                    .or_default() += 1;
            }
            match result {
                Ok(evaluation) => {
                    report.evaluated += 1;
                    report.fuel_total += evaluation.fuel_used;
                    report.fuel_max = report.fuel_max.max(evaluation.fuel_used);
                    tally(&mut report, &evaluation.decisions);
                    if let Some(Ok(baseline)) = &baseline
                        && baseline.output != evaluation.output
                    {
                        if answers(&baseline.decisions) != answers(&evaluation.decisions) {
                            report.differing_from_in_force += 1;
                            for change in changes(&baseline.decisions, &evaluation.decisions) {
                                *report.changes.entry(change).or_default() += 1;
                            }
                        } else {
                            report.differing_only_in_reasons += 1;
                        }
                    }
                }
                Err(e) => *report.failures.entry(failure_kind(&e).into()).or_default() += 1,
            }
        }
        Ok(report)
    }
}

fn tally(report: &mut DryRunReport, decisions: &Decisions) {
    if let Some(level) = &decisions.level_of_need {
        *report.levels.entry(level.level).or_default() += 1;
    }
    if let Some(step) = &decisions.step {
        let key = format!("{} -> {}", json_name(&step.current), json_name(&step.recommended));
        *report.steps.entry(key).or_default() += 1;
    }
    for deadline in &decisions.deadlines {
        *report
            .deadlines
            .entry(deadline.name.clone())
            .or_default()
            .entry(json_name(&deadline.status))
            .or_default() += 1;
    }
    for entitlement in &decisions.entitlements {
        *report.entitlements.entry(entitlement.name.clone()).or_default() += 1;
    }
    for alert in &decisions.alerts {
        *report.alerts.entry(alert.code.clone()).or_default() += 1;
    }
    if let Some(retention) = &decisions.retention {
        *report.retention.entry(json_name(&retention.status)).or_default() += 1;
    }
}

/// A child's answers as a dry run compares them between two versions: without reasons, and with the
/// deadlines, entitlements and alerts in a canonical order, so that a version that only words its reasons
/// differently or lists its answers in another order does not count as changing them.
pub(super) fn answers(decisions: &Decisions) -> serde_json::Value {
    let mut value = without_reasons(decisions);
    value["deadlines"] = decisions.deadlines.iter().map(deadline_answer).collect();
    for list in ["deadlines", "entitlements", "alerts"] {
        if let Some(serde_json::Value::Array(items)) = value.get_mut(list) {
            items.sort_by_cached_key(|item| item.to_string());
        }
    }
    value
}

/// A deadline's answer as a dry run compares it, whichever contract gave it: the dates, the status and the
/// lateness in its unit (1.0's days late as calendar days); not the reasons, nor how the due date was
/// counted or when in the day it was done (2.0 says, 1.0 does not), which only explain the answer.
fn deadline_answer(d: &Deadline) -> serde_json::Value {
    serde_json::json!({
        "name": d.name,
        "starts_on": d.starts_on,
        "due_on": d.due_on,
        "due_at": d.due_at,
        "status": d.status,
        "completed_on": d.completed_on,
        "late": d.lateness(),
    })
}

/// An answer without its reasons, as JSON.
fn without_reasons(answer: &impl Serialize) -> serde_json::Value {
    fn strip(value: &mut serde_json::Value) {
        match value {
            serde_json::Value::Object(fields) => {
                fields.remove("reasons");
                fields.values_mut().for_each(strip);
            }
            serde_json::Value::Array(items) => items.iter_mut().for_each(strip),
            _ => {}
        }
    }
    let mut value = serde_json::to_value(answer).expect("decisions serialise");
    strip(&mut value);
    value
}

/// What differs between two versions' answers for one child, as keys that name no child (see
/// [`DryRunReport::changes`]).
fn changes(in_force: &Decisions, candidate: &Decisions) -> BTreeSet<String> {
    let mut keys = BTreeSet::new();
    let level = |d: &Decisions| {
        d.level_of_need
            .as_ref()
            .map_or_else(|| "none".to_owned(), |l| l.level.to_string())
    };
    if level(in_force) != level(candidate) {
        keys.insert(format!("level {} -> {}", level(in_force), level(candidate)));
    }
    let step = |d: &Decisions| {
        d.step
            .as_ref()
            .map_or_else(|| "none".to_owned(), |s| json_name(&s.recommended))
    };
    if step(in_force) != step(candidate) {
        keys.insert(format!("step {} -> {}", step(in_force), step(candidate)));
    }
    named_changes(
        "deadline",
        &in_force.deadlines,
        &candidate.deadlines,
        |d| &d.name,
        deadline_answer,
        &mut keys,
    );
    named_changes(
        "entitlement",
        &in_force.entitlements,
        &candidate.entitlements,
        |e| &e.name,
        without_reasons,
        &mut keys,
    );
    named_changes(
        "alert",
        &in_force.alerts,
        &candidate.alerts,
        |a| &a.code,
        without_reasons,
        &mut keys,
    );
    let retention = |d: &Decisions| {
        d.retention
            .as_ref()
            .map_or_else(|| "none".to_owned(), |r| json_name(&r.status))
    };
    if retention(in_force) != retention(candidate) {
        keys.insert(format!(
            "retention {} -> {}",
            retention(in_force),
            retention(candidate)
        ));
    } else if without_reasons(&in_force.retention) != without_reasons(&candidate.retention) {
        keys.insert("retention changed".to_owned());
    }
    if keys.is_empty() {
        keys.insert("other".to_owned());
    }
    keys
}

/// Items grouped by name (a deadline may recur: every visit is one), each name's answers (`answer`)
/// compared as a list.
fn named_changes<T>(
    what: &str,
    in_force: &[T],
    candidate: &[T],
    name: impl Fn(&T) -> &String,
    answer: impl Fn(&T) -> serde_json::Value,
    keys: &mut BTreeSet<String>,
) {
    fn group<'a, T>(
        items: &'a [T],
        name: &impl Fn(&T) -> &String,
        answer: &impl Fn(&T) -> serde_json::Value,
    ) -> BTreeMap<&'a String, Vec<serde_json::Value>> {
        let mut by_name: BTreeMap<&String, Vec<serde_json::Value>> = BTreeMap::new();
        for item in items {
            by_name.entry(name(item)).or_default().push(answer(item));
        }
        for answers in by_name.values_mut() {
            answers.sort_by_cached_key(|answer| answer.to_string());
        }
        by_name
    }
    let (before, after) = (group(in_force, &name, &answer), group(candidate, &name, &answer));
    for item in before.keys().chain(after.keys()).collect::<BTreeSet<_>>() {
        let change = match (before.get(item), after.get(item)) {
            (None, Some(_)) => "added",
            (Some(_), None) => "removed",
            (Some(b), Some(a)) if b != a => "changed",
            _ => continue,
        };
        keys.insert(format!("{what} {item} {change}"));
    }
}

/// The JSON name of a unit enum variant (`"child-in-need"`).
fn json_name(value: &impl Serialize) -> String {
    match serde_json::to_value(value) {
        Ok(serde_json::Value::String(s)) => s,
        other => format!("{other:?}"),
    }
}

/// A stable, child-free name for a failure, for aggregates.
pub(crate) fn failure_kind(error: &PluginError) -> &'static str {
    match error {
        PluginError::OutOfFuel { .. } => "out_of_fuel",
        PluginError::DeadlineExceeded { .. } => "deadline_exceeded",
        PluginError::MemoryLimit { .. } => "memory_limit",
        PluginError::Panic { .. } => "panic",
        PluginError::Trap { .. } => "trap",
        PluginError::Refused { .. } => "refused",
        PluginError::MalformedOutput { .. } => "malformed_output",
        PluginError::OutputTooLarge { .. } => "output_too_large",
        PluginError::InvalidInput(_) => "invalid_input",
        _ => "other",
    }
}

/// Every path where `recorded` and `replayed` differ, descending into objects and into arrays of equal
/// length.
fn diff(recorded: &serde_json::Value, replayed: &serde_json::Value, path: String, out: &mut Vec<Field>) {
    use serde_json::Value;
    let join = |key: &str| {
        if path.is_empty() {
            key.to_string()
        } else {
            format!("{path}.{key}")
        }
    };
    match (recorded, replayed) {
        (Value::Object(a), Value::Object(b)) => {
            for (key, left) in a {
                match b.get(key) {
                    Some(right) => diff(left, right, join(key), out),
                    None => out.push(Field {
                        path: join(key),
                        recorded: Some(left.clone()),
                        replayed: None,
                    }),
                }
            }
            for (key, right) in b {
                if !a.contains_key(key) {
                    out.push(Field {
                        path: join(key),
                        recorded: None,
                        replayed: Some(right.clone()),
                    });
                }
            }
        }
        (Value::Array(a), Value::Array(b)) if a.len() == b.len() => {
            for (i, (left, right)) in a.iter().zip(b).enumerate() {
                diff(left, right, format!("{path}[{i}]"), out);
            }
        }
        _ if recorded == replayed => {}
        _ => out.push(Field {
            path,
            recorded: Some(recorded.clone()),
            replayed: Some(replayed.clone()),
        }),
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    fn decisions(value: serde_json::Value) -> Decisions {
        serde_json::from_value(value).expect("decisions")
    }

    fn deadline(name: &str, status: &str, reason: &str) -> serde_json::Value {
        json!({"name": name, "rule": "r", "source": "s", "starts_on": "2024-04-01", "due_on": "2024-04-02",
               "due_at": null, "status": status, "completed_on": null, "days_late": null,
               "reasons": [{"text": reason, "event_ids": []}]})
    }

    fn with(level: u8, label: &str, deadlines: Vec<serde_json::Value>, alerts: &[&str]) -> Decisions {
        decisions(json!({
            "level_of_need": {"level": level, "label": label, "reasons": []},
            "step": null,
            "entitlements": [],
            "deadlines": deadlines,
            "alerts": alerts.iter().map(|code| json!({"code": code, "severity": "info", "message": "m", "reasons": []})).collect::<Vec<_>>(),
        }))
    }

    fn keys(in_force: &Decisions, candidate: &Decisions) -> Vec<String> {
        changes(in_force, candidate).into_iter().collect()
    }

    /// A 2.0 version late by the same calendar days as a 1.0 version's `days_late` gives the same answer;
    /// one late by working days, or saying how it counted, is compared by its lateness only.
    #[test]
    fn deadlines_of_both_contracts_compare_by_their_lateness() {
        let v1 = with(
            3,
            "Targeted",
            vec![
                json!({"name": "visit", "rule": "r", "source": "s", "starts_on": "2024-04-01",
                        "due_on": "2024-04-02", "due_at": null, "status": "missed", "completed_on": "2024-04-05",
                        "days_late": 3, "reasons": []}),
            ],
            &[],
        );
        let v2 = |late: serde_json::Value| {
            with(
                3,
                "Targeted",
                vec![
                    json!({"name": "visit", "rule": "r", "source": "s", "starts_on": "2024-04-01",
                            "due_on": "2024-04-02", "due_at": null, "counting": "exclusive",
                            "status": "missed", "completed_on": "2024-04-05", "late_by": late,
                            "reasons": []}),
                ],
                &[],
            )
        };
        let same = v2(json!({"amount": 3, "unit": "calendar-days"}));
        assert_eq!(answers(&v1), answers(&same));
        let working = v2(json!({"amount": 3, "unit": "working-days"}));
        assert_ne!(answers(&v1), answers(&working));
        assert_eq!(keys(&v1, &working), ["deadline visit changed"]);
    }

    #[test]
    fn changes_name_what_differs_and_never_the_reasons() {
        let visits =
            |second: &str, why: &str| vec![deadline("visit", "met", why), deadline("visit", second, why)];
        let before = with(3, "Targeted", visits("met", "because"), &["re-referral"]);
        assert_eq!(
            keys(
                &before,
                &with(2, "Early help", visits("missed", "because"), &["missing"])
            ),
            [
                "alert missing added",
                "alert re-referral removed",
                "deadline visit changed",
                "level 3 -> 2"
            ]
        );
        // Listing the same answers in another order is not a change.
        let reordered = with(
            3,
            "Targeted",
            visits("met", "because").into_iter().rev().collect(),
            &["re-referral"],
        );
        assert_eq!(answers(&before), answers(&reordered));
        // Reasons alone are not a change; a label alone is, under `other`.
        let reworded = with(3, "Targeted", visits("met", "worded otherwise"), &["re-referral"]);
        assert_eq!(answers(&before), answers(&reworded));
        assert_eq!(
            keys(
                &before,
                &with(3, "Level 3", visits("met", "because"), &["re-referral"])
            ),
            ["other"]
        );
    }
}
