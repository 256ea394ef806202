//! The input of an evaluation, built from one child's stream through the bitemporal view, and its canonical
//! encoding (whose SHA-256 is the evaluation's input hash).

use journey_core::domain::{EventKind, Stage};
use journey_core::view::{AsOf, ChildSummary, EffectiveRef, EventStatus, known_at_borrowed};
use journey_core::{ChildId, Date, EventId, OccurredAt, RecordedEvent, Timestamp};
use serde::{Deserialize, Serialize};

use crate::bindings::{wit1, wit2};
use crate::{Calendar, Digest, PluginError};

/// Everything a policy sees (the contract's `evaluation-input`), on the host side.
///
/// The canonical encoding ([`PolicyInput::canonical_bytes`]) is compact JSON of this struct, fields in
/// declaration order, event content and parameters included verbatim as strings. It is what the input hash
/// covers, and what a recorded decision stores to be replayed.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct PolicyInput {
    pub evaluation_date: Date,
    pub known_at: Timestamp,
    pub child: ChildFacts,
    pub events: Vec<PolicyEvent>,
    pub calendar: Calendar,
    /// The policy's parameters, JSON text.
    pub parameters: String,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ChildFacts {
    pub child_id: ChildId,
    pub date_of_birth: Option<Date>,
    pub expected_date_of_birth: Option<Date>,
    pub died_on: Option<Date>,
    pub age: Option<u32>,
    /// [`ChildSummary`] as JSON.
    pub summary: String,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum PolicyEventStatus {
    Current,
    Corrected,
    Retracted,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct PolicyEvent {
    pub event_id: EventId,
    pub version: u64,
    pub kind: EventKind,
    pub stage: Stage,
    pub occurred_at: OccurredAt,
    pub recorded_at: Timestamp,
    pub status: PolicyEventStatus,
    /// The `data` object of the content in force, JSON text.
    pub content: String,
    pub caused_by: Option<EventId>,
    pub amended_by: Vec<EventId>,
}

impl PolicyInput {
    /// The input for judging `as_of.on` as known at `as_of.known_at`, from one child's stream in version
    /// order (as `EventStore::read_stream` returns it): the view's effective events that occurred on or
    /// before the date, in the order they occurred (date, then version), and the child summary.
    pub fn from_stream(
        events: &[RecordedEvent],
        as_of: AsOf,
        calendar: &Calendar,
        parameters: impl Into<String>,
    ) -> Result<PolicyInput, PluginError> {
        let resolved = known_at_borrowed(events, as_of.known_at);
        let summary = ChildSummary::replay_resolved(events, &resolved, as_of);
        let child_id = summary
            .child_id
            .clone()
            .ok_or_else(|| PluginError::InvalidInput("the child's stream is empty".into()))?;
        // A restricted event (UK GDPR Art. 18) is not used: no policy sees it until the restriction is
        // lifted. Retracted ones are given, marked, as recorded decisions have always had them.
        let mut effective: Vec<EffectiveRef<'_>> = resolved
            .into_iter()
            .filter(|e| e.occurred_at.date() <= as_of.on && e.restriction.is_none())
            .collect();
        // The order of the valid-time fold: by date, then by the order recorded. A stable sort on the date
        // keeps version order among events of the same date.
        effective.sort_by_key(|e| e.occurred_at.date());
        let events = effective
            .iter()
            .map(policy_event)
            .collect::<Result<Vec<_>, _>>()?;
        let summary_json = serde_json::to_string(&summary)
            .map_err(|e| PluginError::InvalidInput(format!("child summary: {e}")))?;
        Ok(PolicyInput {
            evaluation_date: as_of.on,
            known_at: as_of.known_at,
            child: ChildFacts {
                child_id,
                date_of_birth: summary.date_of_birth,
                expected_date_of_birth: summary.expected_date_of_birth,
                died_on: summary.died_on,
                age: summary.age.and_then(|a| u32::try_from(a).ok()),
                summary: summary_json,
            },
            events,
            calendar: calendar.clone(),
            parameters: parameters.into(),
        })
    }

    /// The canonical encoding: compact JSON, fields in declaration order — byte for byte what
    /// `serde_json::to_vec(self)` writes (tests hold them equal), written faster.
    ///
    /// Why not `serde_json::to_vec`: most of an input is event contents, JSON text inside JSON strings, whose
    /// quotes all need escaping; serde_json escapes a byte at a time and writes each run between escapes
    /// separately, which made the encoding twice as slow as hashing it. The three large strings (contents,
    /// summary, parameters) are escaped with SIMD instead; everything else still goes through serde.
    pub fn canonical_bytes(&self) -> Vec<u8> {
        // Destructured exhaustively, so that a field added to the input fails to compile here until it is
        // written too.
        let PolicyInput {
            evaluation_date,
            known_at,
            child,
            events,
            calendar,
            parameters,
        } = self;
        let ChildFacts {
            child_id,
            date_of_birth,
            expected_date_of_birth,
            died_on,
            age,
            summary,
        } = child;
        let strings: usize =
            events.iter().map(|e| e.content.len()).sum::<usize>() + summary.len() + parameters.len();
        // Escaping adds a backslash per quote; 256 bytes an event covers the rest.
        let mut out = Vec::with_capacity(strings + strings / 4 + 256 * events.len() + 4096);
        let mut input = Members::open(&mut out);
        input.value("evaluation_date", evaluation_date);
        input.value("known_at", known_at);
        input.key("child");
        let mut facts = Members::open(input.out);
        facts.value("child_id", child_id);
        facts.value("date_of_birth", date_of_birth);
        facts.value("expected_date_of_birth", expected_date_of_birth);
        facts.value("died_on", died_on);
        facts.value("age", age);
        facts.text("summary", summary);
        facts.close();
        input.key("events");
        input.out.push(b'[');
        for (i, event) in events.iter().enumerate() {
            if i > 0 {
                input.out.push(b',');
            }
            event.write_canonical(input.out);
        }
        input.out.push(b']');
        input.value("calendar", calendar);
        input.text("parameters", parameters);
        input.close();
        out
    }

    /// SHA-256 of [`PolicyInput::canonical_bytes`].
    pub fn digest(&self) -> Digest {
        Digest::of(&self.canonical_bytes())
    }

    /// Every id a reason may cite: the events' own and those of their amendments.
    pub(crate) fn citable_ids(&self) -> std::collections::HashSet<&str> {
        self.events
            .iter()
            .flat_map(|e| std::iter::once(&e.event_id).chain(&e.amended_by))
            .map(EventId::as_str)
            .collect()
    }
}

impl PolicyEvent {
    /// This event's part of [`PolicyInput::canonical_bytes`]: what `serde_json` writes for it.
    fn write_canonical(&self, out: &mut Vec<u8>) {
        let PolicyEvent {
            event_id,
            version,
            kind,
            stage,
            occurred_at,
            recorded_at,
            status,
            content,
            caused_by,
            amended_by,
        } = self;
        let mut event = Members::open(out);
        event.value("event_id", event_id);
        event.value("version", version);
        event.value("kind", kind);
        event.value("stage", stage);
        event.value("occurred_at", occurred_at);
        event.value("recorded_at", recorded_at);
        event.value("status", status);
        event.text("content", content);
        event.value("caused_by", caused_by);
        event.value("amended_by", amended_by);
        event.close();
    }
}

fn policy_event(e: &EffectiveRef<'_>) -> Result<PolicyEvent, PluginError> {
    let kind = e.kind();
    Ok(PolicyEvent {
        event_id: e.event_id().clone(),
        version: e.version().0,
        kind,
        stage: kind.stage(),
        occurred_at: e.occurred_at,
        recorded_at: e.envelope.recorded_at,
        status: match e.status {
            EventStatus::Current => PolicyEventStatus::Current,
            EventStatus::Corrected { .. } => PolicyEventStatus::Corrected,
            EventStatus::Retracted { .. } => PolicyEventStatus::Retracted,
        },
        content: data_json(e)?,
        caused_by: e.envelope.causation_id.clone(),
        amended_by: e.amendments.iter().map(|a| a.event_id.clone()).collect(),
    })
}

/// The payload's `data` object as compact JSON. The payload serialises (adjacently tagged) as
/// `{"type":"<Kind>","data":<data>}`, written straight to a string; the data is that string less its known
/// prefix and final brace — without building a `serde_json::Value` tree for every event of every input.
fn data_json(e: &EffectiveRef<'_>) -> Result<String, PluginError> {
    let mut whole = serde_json::to_string(e.payload)
        .map_err(|err| PluginError::InvalidInput(format!("event {}: {err}", e.event_id())))?;
    let prefix = format!("{{\"type\":\"{}\",\"data\":", e.kind().as_str());
    if whole.starts_with(&prefix) && whole.ends_with('}') {
        // In place: the data is most of the string.
        whole.pop();
        whole.drain(..prefix.len());
        return Ok(whole);
    }
    // A payload without data serialises as {"type":"<Kind>"}.
    if whole == format!("{{\"type\":\"{}\"}}", e.kind().as_str()) {
        return Ok("{}".to_owned());
    }
    Err(PluginError::InvalidInput(format!(
        "event {}: unexpected payload encoding {whole:.80}",
        e.event_id()
    )))
}

/// A JSON object written member by member, as serde_json's compact encoding writes a struct: `{`, then
/// `"name":value` separated by commas, then `}`. Names are plain field names, which need no escaping.
struct Members<'a> {
    out: &'a mut Vec<u8>,
    empty: bool,
}

impl<'a> Members<'a> {
    fn open(out: &'a mut Vec<u8>) -> Members<'a> {
        out.push(b'{');
        Members { out, empty: true }
    }

    /// Starts a member; its value is written next, straight into `out`.
    fn key(&mut self, name: &str) {
        if !self.empty {
            self.out.push(b',');
        }
        self.empty = false;
        self.out.push(b'"');
        self.out.extend_from_slice(name.as_bytes());
        self.out.extend_from_slice(b"\":");
    }

    /// A member whose value serde_json writes.
    fn value<T: Serialize + ?Sized>(&mut self, name: &str, value: &T) {
        self.key(name);
        serde_json::to_writer(&mut *self.out, value).expect("the parts of a policy input always serialise");
    }

    /// A member whose value is a string, possibly a large one, escaped with SIMD.
    fn text(&mut self, name: &str, value: &str) {
        self.key(name);
        json_escape_simd::escape_into(value, self.out);
    }

    fn close(self) {
        self.out.push(b'}');
    }
}

/// The contracts' view of an input: each contract has its own generated types (of the same shape), so
/// the conversion is written once for both.
macro_rules! contract_input {
    ($wit:ident, $with:ident, $event:ident, $date:ident) => {
        impl PolicyInput {
            /// Calls `f` with this contract's view of this input, which borrows every string from it: what
            /// the call lowers into the guest's memory, without a deep copy made for the purpose.
            pub(crate) fn $with<R>(&self, f: impl FnOnce($wit::EvaluationInput<'_>) -> R) -> R {
                let amended_by: Vec<Vec<&str>> = self
                    .events
                    .iter()
                    .map(|e| e.amended_by.iter().map(EventId::as_str).collect())
                    .collect();
                let events: Vec<$wit::JourneyEvent<'_>> = self
                    .events
                    .iter()
                    .zip(&amended_by)
                    .map(|(e, amended_by)| $event(e, amended_by))
                    .collect();
                let bank_holidays: Vec<$wit::Date> = self
                    .calendar
                    .bank_holidays
                    .iter()
                    .copied()
                    .map($date)
                    .collect();
                f($wit::EvaluationInput {
                    evaluation_date: $date(self.evaluation_date),
                    known_at: self.known_at.as_micros(),
                    child: $wit::ChildFacts {
                        child_id: self.child.child_id.as_str(),
                        date_of_birth: self.child.date_of_birth.map($date),
                        expected_date_of_birth: self.child.expected_date_of_birth.map($date),
                        died_on: self.child.died_on.map($date),
                        age: self.child.age,
                        summary: &self.child.summary,
                    },
                    events: &events,
                    calendar: $wit::Calendar {
                        version: &self.calendar.version,
                        covers_from: $date(self.calendar.covers_from),
                        covers_to: $date(self.calendar.covers_to),
                        bank_holidays: &bank_holidays,
                    },
                    parameters: &self.parameters,
                })
            }
        }

        fn $event<'a>(e: &'a PolicyEvent, amended_by: &'a [&'a str]) -> $wit::JourneyEvent<'a> {
            $wit::JourneyEvent {
                event_id: e.event_id.as_str(),
                version: e.version,
                kind: e.kind.as_str(),
                stage: e.stage.as_str(),
                occurred_on: $date(e.occurred_at.date()),
                occurred_time: e.occurred_at.time().map(|t| $wit::TimeOfDay {
                    hour: u8::try_from(t.hour()).unwrap_or(0),
                    minute: u8::try_from(t.minute()).unwrap_or(0),
                    second: u8::try_from(t.second()).unwrap_or(0),
                }),
                recorded_at: e.recorded_at.as_micros(),
                status: match e.status {
                    PolicyEventStatus::Current => $wit::EventStatus::Current,
                    PolicyEventStatus::Corrected => $wit::EventStatus::Corrected,
                    PolicyEventStatus::Retracted => $wit::EventStatus::Retracted,
                },
                content: &e.content,
                caused_by: e.caused_by.as_ref().map(EventId::as_str),
                amended_by,
            }
        }

        fn $date(d: Date) -> $wit::Date {
            $wit::Date {
                year: i32::from(d.year()),
                month: u8::try_from(d.month()).expect("month 1..=12"),
                day: u8::try_from(d.day()).expect("day 1..=31"),
            }
        }
    };
}

contract_input!(wit1, with_wit1, wit1_event, wit1_date);
contract_input!(wit2, with_wit2, wit2_event, wit2_date);
