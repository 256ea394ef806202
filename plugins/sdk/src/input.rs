//! Reading the input: the policy's parameters, the events, and their JSON content.

use serde::de::DeserializeOwned;

use crate::{EvaluationInput, EventStatus, JourneyEvent, PolicyError};

impl EvaluationInput {
    /// The policy's parameters decoded into `T`. Empty parameters read as `{}`, so a `T` whose fields all
    /// have defaults (`#[serde(default)]`) accepts them. Use `#[serde(deny_unknown_fields)]` on `T` to
    /// refuse misspelt parameters.
    pub fn parameters<T: DeserializeOwned>(&self) -> Result<T, PolicyError> {
        let text = if self.parameters.trim().is_empty() {
            "{}"
        } else {
            self.parameters.as_str()
        };
        serde_json::from_str(text).map_err(|e| PolicyError::InvalidParameters(e.to_string()))
    }

    /// The event with this id (retracted or not).
    pub fn event(&self, event_id: &str) -> Option<&JourneyEvent> {
        self.events.iter().find(|e| e.event_id == event_id)
    }

    /// The events that are part of the child's state: every event but the retracted ones, in the order they
    /// occurred.
    pub fn in_force(&self) -> impl Iterator<Item = &JourneyEvent> {
        self.events.iter().filter(|e| !e.is_retracted())
    }

    /// The events in force of one kind ("ContactReceived"), in the order they occurred.
    pub fn of_kind<'a>(&'a self, kind: &'a str) -> impl Iterator<Item = &'a JourneyEvent> + 'a {
        self.in_force().filter(move |e| e.kind == kind)
    }
}

impl JourneyEvent {
    pub fn is_retracted(&self) -> bool {
        self.status == EventStatus::Retracted
    }

    /// The event's content decoded into `T`: declare only the fields you need (unknown fields are ignored
    /// unless `T` says otherwise). Field names and code strings are those of Journey's API.
    pub fn data<T: DeserializeOwned>(&self) -> Result<T, PolicyError> {
        serde_json::from_str(&self.content).map_err(|e| {
            PolicyError::Failed(format!(
                "cannot read the content of {} event {}: {e}",
                self.kind, self.event_id
            ))
        })
    }

    /// The event's content as a JSON value.
    pub fn json(&self) -> Result<serde_json::Value, PolicyError> {
        self.data()
    }
}
