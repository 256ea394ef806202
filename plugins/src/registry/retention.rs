//! Retention across the authority: the retention policy in force, evaluated for every child, as the records
//! officer's review (`journey records due`, `GET /v1/records/due`) and destruction need it. Like the
//! measures' deadlines, the answers are plain data ([`Retention`] per child) for the API to list; this
//! module knows nothing of holds, which the API keeps.

use std::collections::BTreeMap;
use std::sync::Arc;

use futures::stream::{self, StreamExt};
use journey_core::store::EventStore;
use journey_core::view::AsOf;
use journey_core::{ChildId, Version};
use serde::Serialize;

use super::decisions::failure_kind;
use super::{PolicyVersion, Registry, canonical_json};
use crate::PluginError;
use crate::input::PolicyInput;
use crate::output::Retention;

/// The policy whose answer says until when a child's record is kept: the reference policy's name, under which
/// an authority deploys its own versions (its local periods are parameters).
pub const RETENTION_POLICY: &str = "retention";

/// Every child's retention under one version, and what could not be evaluated.
#[derive(Clone, Debug, Serialize)]
pub struct RetentionRun {
    /// The policy's name and version used.
    pub policy: String,
    pub version: String,
    pub as_of: AsOf,
    pub children: usize,
    pub evaluated: usize,
    /// Children the policy could not judge, by kind of failure (`refused`, `out_of_fuel`...).
    pub failures: BTreeMap<String, usize>,
    /// Each child evaluated, in the order of `children` given, with its retention.
    #[serde(skip)]
    pub retentions: Vec<(ChildId, Retention)>,
    /// The children the policy could not judge, with the kind of failure.
    #[serde(skip)]
    pub failed: Vec<(ChildId, String)>,
}

impl Registry {
    /// The version of [`RETENTION_POLICY`] in force on `on`, or [`PluginError::NotInForce`].
    pub async fn retention_in_force(&self, on: journey_core::Date) -> Result<PolicyVersion, PluginError> {
        self.in_force(RETENTION_POLICY, on)
            .await?
            .ok_or_else(|| PluginError::NotInForce {
                policy: RETENTION_POLICY.into(),
                on,
            })
    }

    /// Each child's retention under `version`, judged on `as_of.on` as known at `as_of.known_at`, reading
    /// each child's stream from `store` only when its turn comes (as the dry run does). A child with no
    /// stream counts as a failure (`unknown_child`).
    pub async fn retention_of(
        &self,
        store: &dyn EventStore,
        version: &PolicyVersion,
        children: &[ChildId],
        as_of: AsOf,
    ) -> Result<RetentionRun, PluginError> {
        let policy = self.loaded(version).await?;
        let parameters = canonical_json(&version.deployed.parameters);
        let calendar = self.calendar();
        let evaluations: Vec<_> = children
            .iter()
            .enumerate()
            .map(|(i, child)| {
                let policy = Arc::clone(&policy);
                let parameters = parameters.clone();
                async move {
                    let result = async {
                        let events = store
                            .read_stream(child.clone(), Version::FIRST, usize::MAX)
                            .await?;
                        if events.is_empty() {
                            return Err(PluginError::UnknownChild(child.to_string()));
                        }
                        let input = PolicyInput::from_stream(&events, as_of, calendar, parameters)?;
                        let evaluation = self
                            .run_blocking(move |host| host.answer(&policy, &input))
                            .await??;
                        Ok(evaluation.decisions.retention)
                    }
                    .await;
                    (i, result)
                }
            })
            .collect();
        let mut run = RetentionRun {
            policy: version.deployed.name.clone(),
            version: version.deployed.version.clone(),
            as_of,
            children: children.len(),
            evaluated: 0,
            failures: BTreeMap::new(),
            retentions: Vec::new(),
            failed: Vec::new(),
        };
        let mut answers: Vec<(usize, Result<Option<Retention>, PluginError>)> = stream::iter(evaluations)
            .buffer_unordered(self.children_in_flight())
            .collect()
            .await;
        // In the order the children were given, whatever order the evaluations finished in.
        answers.sort_by_key(|(i, _)| *i);
        for (i, answer) in answers {
            let child = children[i].clone();
            let kind = match answer {
                Ok(Some(retention)) => {
                    run.evaluated += 1;
                    run.retentions.push((child, retention));
                    continue;
                }
                // A version of the retention policy that answers no retention is not one.
                Ok(None) => "no_retention",
                Err(PluginError::UnknownChild(_)) => "unknown_child",
                Err(other) => failure_kind(&other),
            };
            *run.failures.entry(kind.into()).or_default() += 1;
            run.failed.push((child, kind.into()));
        }
        Ok(run)
    }
}
