//! The timeliness measures' deadlines: the statutory-timescales policy in force on the last day measured,
//! evaluated for every child. The API hands its deadlines to `journey-returns`' measures as plain data, so
//! that the measures and the investigator's timeline judge every deadline with the same policy (the policy
//! host itself knows nothing of the returns).

use std::collections::BTreeMap;
use std::sync::Arc;

use futures::stream::{self, StreamExt};
use journey_core::view::AsOf;
use journey_core::{ChildId, RecordedEvent};
use serde::Serialize;

use super::decisions::failure_kind;
use super::{Registry, canonical_json};
use crate::PluginError;
use crate::input::PolicyInput;
use crate::output::Deadline;

/// The policy whose deadlines the measures count.
pub const TIMESCALES_POLICY: &str = "statutory-timescales";

/// Every child's deadlines, and what could not be evaluated.
#[derive(Clone, Debug, Default, Serialize)]
pub struct TimescalesRun {
    /// The version used (`statutory-timescales 1.0.0`).
    pub policy: String,
    pub children: usize,
    pub evaluated: usize,
    /// Children the policy could not judge, by kind of failure (their deadlines are not counted).
    pub failures: BTreeMap<String, usize>,
    /// Every child's deadlines, by child, then due date, then name.
    #[serde(skip)]
    pub deadlines: Vec<(ChildId, Deadline)>,
}

impl Registry {
    /// The deadlines of every child in `streams` (each child's records in version order) under the
    /// statutory-timescales version in force on `as_of.on`, judged on that date as known at `as_of.known_at`.
    pub async fn timescale_outcomes(
        &self,
        streams: &BTreeMap<ChildId, Vec<RecordedEvent>>,
        as_of: AsOf,
    ) -> Result<TimescalesRun, PluginError> {
        let version =
            self.in_force(TIMESCALES_POLICY, as_of.on)
                .await?
                .ok_or_else(|| PluginError::NotInForce {
                    policy: TIMESCALES_POLICY.into(),
                    on: as_of.on,
                })?;
        let policy = self.loaded(&version).await?;
        let parameters = canonical_json(&version.deployed.parameters);
        let mut run = TimescalesRun {
            policy: format!("{} {}", version.deployed.name, version.deployed.version),
            children: streams.len(),
            ..TimescalesRun::default()
        };
        let parallel = self.children_in_flight();
        // The futures are lazy: each builds its child's input only when it runs, so memory holds only the
        // inputs in flight. (Collected first: a `map` closure over borrowed streams would not be `Send` for
        // every lifetime, which a server's handler needs.)
        let calendar = self.calendar();
        let evaluations: Vec<_> = streams
            .iter()
            .map(|(child, events)| {
                let policy = Arc::clone(&policy);
                let parameters = parameters.clone();
                async move {
                    let input = PolicyInput::from_stream(events, as_of, calendar, parameters)?;
                    let evaluation = self
                        .run_blocking(move |host| host.answer(&policy, &input))
                        .await??;
                    Ok::<_, PluginError>((child.clone(), evaluation.decisions.deadlines))
                }
            })
            .collect();
        let mut results = stream::iter(evaluations).buffer_unordered(parallel);
        while let Some(result) = results.next().await {
            match result {
                Ok((child, deadlines)) => {
                    run.evaluated += 1;
                    run.deadlines
                        .extend(deadlines.into_iter().map(|d| (child.clone(), d)));
                }
                Err(e) => *run.failures.entry(failure_kind(&e).into()).or_default() += 1,
            }
        }
        // Children in a stable order, whatever order the evaluations finished in.
        run.deadlines
            .sort_by(|(a, x), (b, y)| (a, x.due_on, &x.name).cmp(&(b, y.due_on, &y.name)));
        Ok(run)
    }
}
