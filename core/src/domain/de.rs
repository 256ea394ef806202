//! Reading payloads from JSON with errors that name the exact field.
//!
//! `EventPayload`'s `Deserialize` is written by hand rather than derived: serde's derive for an adjacently
//! tagged enum buffers `data` before it knows the type, which loses the path of any error inside it. Here,
//! when `type` comes before `data` (as integrators write it), `data` is streamed straight into its struct;
//! when it comes after (a `serde_json::Value`, whose keys are sorted), `data` is buffered first.
//! [`EventPayload::from_type_and_data`] takes the two apart and always reports the full path.

use std::fmt;

use serde::Deserialize;
use serde::de::{self, DeserializeSeed, Deserializer, MapAccess, Visitor};
use serde_json::Value;

use crate::error::FieldError;
use crate::ids::EventId;
use crate::time::OccurredAt;

use super::values::LongText;
use super::{EventCorrected, EventKind, EventPayload};

impl EventPayload {
    /// Decodes a payload from its JSON `type` and `data`, naming the exact field that is wrong: `type` for an
    /// unknown type, `data.placement.place_type` for a bad code, `data.replacement.data.seen` inside a
    /// correction, `data` for a missing field of `data` itself. An absent (`null`) `data` reads as `{}`.
    pub fn from_type_and_data(kind: &str, data: Value) -> Result<EventPayload, FieldError> {
        let kind = EventKind::parse(kind)?;
        from_data(kind, data, "data")
    }
}

fn from_data(kind: EventKind, data: Value, at: &str) -> Result<EventPayload, FieldError> {
    // Absent `data` is an empty object: events without content (`AssessmentStarted`) may leave it out.
    let data = if data.is_null() {
        Value::Object(serde_json::Map::new())
    } else {
        data
    };
    if kind == EventKind::EventCorrected {
        return correction_from_data(data, at);
    }
    let mut track = serde_path_to_error::Track::new();
    let result =
        EventPayload::deserialize_data(kind, serde_path_to_error::Deserializer::new(data, &mut track));
    result.map_err(|e| FieldError::new(under(at, &track.path().to_string()), e.to_string()))
}

/// A correction, with its replacement decoded separately so that the replacement's errors keep their path.
fn correction_from_data(data: Value, at: &str) -> Result<EventPayload, FieldError> {
    #[derive(Deserialize)]
    #[serde(deny_unknown_fields)]
    struct Wire {
        target_event_id: EventId,
        #[serde(default)]
        target_occurred_at: Option<OccurredAt>,
        replacement: Raw,
        reason: LongText,
    }
    #[derive(Deserialize)]
    #[serde(deny_unknown_fields)]
    struct Raw {
        #[serde(rename = "type")]
        kind: String,
        #[serde(default)]
        data: Value,
    }
    let wire: Wire = serde_path_to_error::deserialize(data)
        .map_err(|e| FieldError::new(under(at, &e.path().to_string()), e.inner().to_string()))?;
    let kind = EventKind::parse(&wire.replacement.kind).map_err(|e| e.under(&format!("{at}.replacement")))?;
    let replacement = from_data(kind, wire.replacement.data, &format!("{at}.replacement.data"))?;
    Ok(EventPayload::EventCorrected(EventCorrected {
        target_event_id: wire.target_event_id,
        target_occurred_at: wire.target_occurred_at,
        replacement: Box::new(replacement),
        reason: wire.reason,
    }))
}

fn under(at: &str, path: &str) -> String {
    if path.is_empty() || path == "." {
        at.to_owned()
    } else {
        format!("{at}.{path}")
    }
}

impl<'de> Deserialize<'de> for EventPayload {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<EventPayload, D::Error> {
        // `deserialize_struct` (not `_map`) so that, flattened into a record, only these keys are offered.
        d.deserialize_struct("EventPayload", &["type", "data"], PayloadVisitor)
    }
}

#[derive(Deserialize)]
#[serde(field_identifier, rename_all = "lowercase")]
enum Key {
    Type,
    Data,
}

struct DataSeed(EventKind);

impl<'de> DeserializeSeed<'de> for DataSeed {
    type Value = EventPayload;
    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<EventPayload, D::Error> {
        EventPayload::deserialize_data(self.0, d)
    }
}

struct PayloadVisitor;

impl<'de> Visitor<'de> for PayloadVisitor {
    type Value = EventPayload;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("an event payload {\"type\": \"...\", \"data\": {...}}")
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<EventPayload, A::Error> {
        let mut kind: Option<EventKind> = None;
        let mut payload: Option<EventPayload> = None;
        let mut buffered: Option<Value> = None;
        while let Some(key) = map.next_key::<Key>()? {
            match key {
                Key::Type => {
                    if kind.is_some() {
                        return Err(de::Error::duplicate_field("type"));
                    }
                    let name: std::borrow::Cow<'de, str> = map.next_value()?;
                    kind = Some(EventKind::parse(&name).map_err(|e| de::Error::custom(e.message))?);
                }
                Key::Data => {
                    if payload.is_some() || buffered.is_some() {
                        return Err(de::Error::duplicate_field("data"));
                    }
                    match kind {
                        Some(k) => payload = Some(map.next_value_seed(DataSeed(k))?),
                        None => buffered = Some(map.next_value()?),
                    }
                }
            }
        }
        let kind = kind.ok_or_else(|| de::Error::missing_field("type"))?;
        match (payload, buffered) {
            (Some(p), _) => Ok(p),
            (None, Some(v)) => EventPayload::deserialize_data(kind, v).map_err(de::Error::custom),
            (None, None) => Err(de::Error::missing_field("data")),
        }
    }
}
