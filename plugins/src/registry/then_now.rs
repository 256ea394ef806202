//! What the policies said at a decision, then and now (issue #21): for each decision point, every policy in
//! force on the decision's date (the version then in force), evaluated on the child's record as known at the
//! instant the decision was recorded, beside the same version evaluated on the record as known now.
//!
//! Each child's stream is read once by the caller and shared; each point's two inputs (then, now) are built
//! once and given to every policy with its own parameters swapped in, as a dry run does; the evaluations run
//! concurrently behind the registry's semaphore, as the measures' do. Retention policies are left out: they
//! say when a record may be destroyed, not anything a decision about a child turned on.

use std::collections::BTreeMap;
use std::sync::Arc;

use futures::stream::{self, StreamExt};
use journey_core::view::AsOf;
use journey_core::{Date, RecordedEvent, Timestamp};
use serde::Serialize;

use super::decisions::{answers, failure_kind};
use super::{Registry, canonical_json};
use crate::host::{LoadedPolicy, PolicyKind};
use crate::{Decisions, PluginError, PolicyInput};

/// One decision point to judge: the decision child's whole stream (version order), the decision's date and
/// the instant it was recorded.
#[derive(Clone, Debug)]
pub struct AtDecision {
    pub events: Arc<Vec<RecordedEvent>>,
    pub on: Date,
    pub decided_at: Timestamp,
}

/// What one policy version answered, or why it could not.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Answered {
    /// The instant whose knowledge the policy judged.
    pub known_at: Timestamp,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub decisions: Option<Decisions>,
    /// The kind of failure (`refused`, `out_of_fuel`...) and what it said, when it failed.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub failure: Option<String>,
}

/// One policy at one decision point: the version in force on the decision's date, then and now.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct PolicyThenNow {
    pub policy: String,
    pub version: String,
    /// On the record as known at the decision's instant.
    pub then: Answered,
    /// On the record as known now.
    pub now: Answered,
    /// The answers differ (a level, a step, a deadline's dates, status or lateness, an entitlement, an
    /// alert), reasons aside; or one side failed and the other did not.
    pub differs: bool,
    /// The answers are the same but their reasons are not (a reason citing an event recorded later).
    pub reasons_differ: bool,
}

/// A version chosen for a date, compiled, with its parameters as the policy receives them.
struct Chosen {
    name: String,
    version: String,
    policy: Arc<LoadedPolicy>,
    parameters: String,
}

impl Registry {
    /// For each point (in the order given), every non-retention policy in force on its date, evaluated as
    /// known at the point's instant and as known at `now` (both on the decision's date), by policy name.
    pub async fn then_and_now(
        &self,
        points: &[AtDecision],
        now: Timestamp,
    ) -> Result<Vec<Vec<PolicyThenNow>>, PluginError> {
        let names: Vec<String> = {
            let mut names: Vec<String> = self.list().await?.into_iter().map(|v| v.deployed.name).collect();
            names.dedup();
            names
        };
        // The versions in force on each distinct date, compiled once.
        let mut by_date: BTreeMap<Date, Arc<Vec<Chosen>>> = BTreeMap::new();
        for point in points {
            if by_date.contains_key(&point.on) {
                continue;
            }
            let mut chosen = Vec::new();
            for name in &names {
                let Some(version) = self.in_force(name, point.on).await? else {
                    continue;
                };
                let policy = self.loaded(&version).await?;
                if policy.info().kind == PolicyKind::Retention {
                    continue;
                }
                chosen.push(Chosen {
                    name: version.deployed.name.clone(),
                    version: version.deployed.version.clone(),
                    policy,
                    parameters: canonical_json(&version.deployed.parameters),
                });
            }
            by_date.insert(point.on, Arc::new(chosen));
        }
        let calendar = self.calendar().clone();
        // One task per point and side: the input built once, every policy answered on it in turn.
        let tasks: Vec<_> = points
            .iter()
            .enumerate()
            .flat_map(|(i, point)| [(i, point, point.decided_at, false), (i, point, now, true)])
            .map(|(i, point, known_at, is_now)| {
                let chosen = Arc::clone(&by_date[&point.on]);
                let events = Arc::clone(&point.events);
                let calendar = calendar.clone();
                let as_of = AsOf::new(point.on, known_at);
                async move {
                    let answers = self
                        .run_blocking(move |host| {
                            let Some(first) = chosen.first() else {
                                return Vec::new();
                            };
                            match PolicyInput::from_stream(
                                &events,
                                as_of,
                                &calendar,
                                first.parameters.clone(),
                            ) {
                                Err(e) => chosen.iter().map(|_| Err(e.to_string())).collect(),
                                Ok(mut input) => chosen
                                    .iter()
                                    .map(|c| {
                                        input.parameters.clone_from(&c.parameters);
                                        host.answer(&c.policy, &input)
                                            .map(|a| (a.decisions, a.output))
                                            .map_err(|e| format!("{}: {e}", failure_kind(&e)))
                                    })
                                    .collect(),
                            }
                        })
                        .await?;
                    Ok::<_, PluginError>((i, is_now, answers))
                }
            })
            .collect();
        type Side = Vec<Result<(Decisions, Vec<u8>), String>>;
        let mut sides: Vec<(Option<Side>, Option<Side>)> = vec![(None, None); points.len()];
        let mut results = stream::iter(tasks).buffer_unordered(self.children_in_flight());
        while let Some(result) = results.next().await {
            let (i, is_now, answers) = result?;
            if is_now {
                sides[i].1 = Some(answers);
            } else {
                sides[i].0 = Some(answers);
            }
        }
        Ok(points
            .iter()
            .zip(sides)
            .map(|(point, (then, now_side))| {
                let chosen = &by_date[&point.on];
                let then = then.unwrap_or_default();
                let now_side = now_side.unwrap_or_default();
                chosen
                    .iter()
                    .zip(then.into_iter().zip(now_side))
                    .map(|(c, (t, n))| {
                        let (differs, reasons_differ) = match (&t, &n) {
                            (Ok((a, a_out)), Ok((b, b_out))) => {
                                let differs = answers(a) != answers(b);
                                (differs, !differs && a_out != b_out)
                            }
                            (Err(_), Err(_)) => (false, false),
                            _ => (true, false),
                        };
                        let side = |known_at, r: Result<(Decisions, Vec<u8>), String>| match r {
                            Ok((decisions, _)) => Answered {
                                known_at,
                                decisions: Some(decisions),
                                failure: None,
                            },
                            Err(failure) => Answered {
                                known_at,
                                decisions: None,
                                failure: Some(failure),
                            },
                        };
                        PolicyThenNow {
                            policy: c.name.clone(),
                            version: c.version.clone(),
                            then: side(point.decided_at, t),
                            now: side(now, n),
                            differs,
                            reasons_differ,
                        }
                    })
                    .collect()
            })
            .collect())
    }
}
