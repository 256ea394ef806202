//! PLACEHOLDER — being replaced by the full domain model. Contract the store relies on:
//!   `EventPayload` (serde: adjacently tagged `{"type": ..., "data": {...}}`, bincode Encode/Decode),
//!   `EventPayload::kind() -> &'static str`, `EventPayload::validate() -> Problems` (stateless rules),
//!   `StreamState` (Default + Clone): `check(&self, &NewEvent, today: Date) -> Problems` (rules needing the
//!   stream's history) and `apply(&mut self, &EventId, OccurredAt, &EventPayload)`.

use serde::{Deserialize, Serialize};

use crate::envelope::NewEvent;
use crate::error::Problems;
use crate::ids::EventId;
use crate::time::{Date, OccurredAt};

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, bincode::Encode, bincode::Decode)]
#[serde(tag = "type", content = "data", deny_unknown_fields)]
pub enum EventPayload {
    ChildRegistered { date_of_birth: Date },
    ContactReceived { summary: String },
}

impl EventPayload {
    pub fn kind(&self) -> &'static str {
        match self {
            EventPayload::ChildRegistered { .. } => "ChildRegistered",
            EventPayload::ContactReceived { .. } => "ContactReceived",
        }
    }

    pub fn validate(&self) -> Problems {
        Problems::new()
    }
}

#[derive(Clone, Debug, Default)]
pub struct StreamState {
    date_of_birth: Option<Date>,
}

impl StreamState {
    pub fn check(&self, event: &NewEvent, today: Date) -> Problems {
        let mut p = Problems::new();
        if event.occurred_at.date() > today {
            p.push("occurred_at", "must not be in the future");
        }
        match (&event.payload, self.date_of_birth) {
            (EventPayload::ChildRegistered { .. }, Some(_)) => p.push("type", "the child is already registered"),
            (EventPayload::ChildRegistered { .. }, None) => {}
            (_, None) => p.push("child_id", "the child must be registered (ChildRegistered) before other events"),
            _ => {}
        }
        p
    }

    pub fn apply(&mut self, _event_id: &EventId, _occurred_at: OccurredAt, payload: &EventPayload) {
        if let EventPayload::ChildRegistered { date_of_birth } = payload {
            self.date_of_birth = Some(*date_of_birth);
        }
    }
}
