//! OpenAPI schemas for `journey-core`'s types. Core stays free of HTTP and OpenAPI concerns, so the API
//! describes what it sends and accepts here, as JSON Schema, next to the handlers that use them. Each is a
//! marker type implementing utoipa's `ToSchema`; a test decodes real values and checks them against the
//! required fields named here.

use utoipa::openapi::{RefOr, schema::Schema};

macro_rules! json_schema {
    ($(#[$meta:meta])* $name:ident, $schema:tt) => {
        $(#[$meta])*
        #[derive(Debug)]
        pub struct $name;

        impl utoipa::PartialSchema for $name {
            fn schema() -> RefOr<Schema> {
                let value = serde_json::json!($schema);
                RefOr::T(serde_json::from_value(value).expect("a valid schema literal"))
            }
        }

        impl utoipa::ToSchema for $name {
            fn name() -> std::borrow::Cow<'static, str> {
                std::borrow::Cow::Borrowed(stringify!($name))
            }
        }
    };
}

json_schema!(
    /// An event as a sender submits it.
    NewEvent,
    {
        "type": "object",
        "description": (format!(
            "An event as a sender submits it: the envelope fields, the payload's `type` (one of Journey's {} past-tense event types, such as `ChildRegistered`, `ContactReceived`, `PlacementChanged`) and its `data`. Unknown fields anywhere are refused.",
            journey_core::domain::EventKind::ALL.len()
        )),
        "required": ["event_id", "occurred_at", "source", "type"],
        "additionalProperties": false,
        "properties": {
            "event_id": {"type": "string", "minLength": 1, "maxLength": 128, "pattern": "^[A-Za-z0-9][A-Za-z0-9._:-]*$", "description": "Chosen by the sender; a retry with the same id and content is recognised and not stored twice."},
            "occurred_at": {"type": "string", "description": "When it happened (valid time) in England: a date `2024-03-01`, or a date and local time `2024-03-01T14:30`."},
            "source": {"$ref": "#/components/schemas/Source"},
            "correlation_id": {"type": "string", "minLength": 1, "maxLength": 128},
            "causation_id": {"type": "string", "minLength": 1, "maxLength": 128},
            "source_recorded_at": {"type": "string", "format": "date-time", "description": "For imported history: when the other system says it recorded the fact."},
            "type": {
                "type": "string",
                "description": "The event type, e.g. `ContactReceived`.",
                "enum": (journey_core::domain::EventKind::ALL.iter().map(|k| k.as_str()).collect::<Vec<_>>())
            },
            "data": {"type": "object", "description": "The event type's fields."}
        }
    }
);

json_schema!(
    /// The agency and system an event speaks for.
    Source,
    {
        "type": "object",
        "required": ["agency", "system"],
        "additionalProperties": false,
        "properties": {
            "agency": {"type": "string", "minLength": 1, "maxLength": 64, "pattern": "^[a-z0-9][a-z0-9._-]*$", "example": "la.coventry"},
            "system": {"type": "string", "minLength": 1, "maxLength": 64, "example": "mosaic"}
        }
    }
);

json_schema!(
    /// The expected version of an append.
    ExpectedVersion,
    {
        "description": "`any` (no check, the default), `no_stream` (the child must be new) or the exact version the stream must be at.",
        "oneOf": [
            {"type": "string", "enum": ["any", "no_stream"]},
            {"type": "integer", "minimum": 1}
        ]
    }
);

json_schema!(
    /// A recorded event.
    RecordedEvent,
    {
        "type": "object",
        "description": "An event as stored: the sender's fields, the store's (`child_id`, `version`, `position`, `recorded_at`, `recorded_by`, `schema_version`), the payload (`type`, `data`) and its hash links (`chain`).",
        "required": ["event_id", "child_id", "version", "position", "occurred_at", "recorded_at", "recorded_by", "source", "schema_version", "type", "chain"],
        "properties": {
            "event_id": {"type": "string"},
            "child_id": {"type": "string"},
            "version": {"type": "integer", "minimum": 1},
            "position": {"type": "integer", "minimum": 1},
            "occurred_at": {"type": "string"},
            "recorded_at": {"type": "string", "format": "date-time"},
            "recorded_by": {"type": "string"},
            "source": {"$ref": "#/components/schemas/Source"},
            "correlation_id": {"type": ["string", "null"]},
            "causation_id": {"type": ["string", "null"]},
            "source_recorded_at": {"type": ["string", "null"], "format": "date-time"},
            "schema_version": {"type": "integer"},
            "type": {"type": "string"},
            "data": {"type": "object"},
            "chain": {
                "type": "object",
                "required": ["stream_hash", "log_hash"],
                "properties": {
                    "stream_hash": {"type": "string", "pattern": "^[0-9a-f]{64}$"},
                    "log_hash": {"type": "string", "pattern": "^[0-9a-f]{64}$"}
                }
            }
        }
    }
);

json_schema!(
    /// The outcome of an append.
    AppendOutcome,
    {
        "type": "object",
        "required": ["child_id", "events", "already_recorded"],
        "properties": {
            "child_id": {"type": "string"},
            "already_recorded": {"type": "boolean", "description": "True when this was a retry of an append already stored: nothing new was written."},
            "events": {
                "type": "array",
                "items": {
                    "type": "object",
                    "required": ["event_id", "version", "position", "recorded_at"],
                    "properties": {
                        "event_id": {"type": "string"},
                        "version": {"type": "integer", "minimum": 1},
                        "position": {"type": "integer", "minimum": 1},
                        "recorded_at": {"type": "string", "format": "date-time"}
                    }
                }
            }
        }
    }
);

json_schema!(
    /// A child's state on a date as known at an instant.
    ChildSummary,
    {
        "type": "object",
        "description": "The child's state on `as_of.on` as the record stood at `as_of.known_at`: identity, open episodes, legal status, placement, plans, periods of care, looked-after days, care-leaver facts, and any inconsistencies the record cannot support.",
        "required": ["as_of"],
        "properties": {
            "as_of": {"$ref": "#/components/schemas/AsOf"}
        }
    }
);

json_schema!(
    /// A point on both time axes.
    AsOf,
    {
        "type": "object",
        "required": ["on", "known_at"],
        "properties": {
            "on": {"type": "string", "format": "date", "description": "Valid time: the date described."},
            "known_at": {"type": "string", "format": "date-time", "description": "Transaction time: what the record said at this instant."}
        }
    }
);

json_schema!(
    /// The investigator's timeline.
    Chronology,
    {
        "type": "object",
        "description": "The child's timeline in the order things happened, with occurred and recorded times, the lag between them, the late flag, and corrections and retractions shown on what they touch.",
        "required": ["as_of", "options", "entries"],
        "properties": {
            "child_id": {"type": ["string", "null"]},
            "as_of": {"$ref": "#/components/schemas/AsOf"},
            "options": {"type": "object"},
            "entries": {"type": "array", "items": {"type": "object"}}
        }
    }
);

json_schema!(
    /// One child's record with what is needed to verify it alone.
    StreamExport,
    {
        "type": "object",
        "description": "Format `journey-stream-export/v2`: each record's exact stored bytes (hex), its hash links and the previous log hash, the decoded event, and the log's head when taken; on a server that keeps a tree (ADR 10), each record's inclusion proof (`tlog_proof`, c2sp.org/tlog-proof@v1) and the checkpoints they are proven in (`tlog`). `journey_core::store::verify_export` (or any reimplementation of ADR 3) verifies the chains without the rest of the log; `journey_core::proof::bundle::verify_bundle` also the proofs, against a trust policy (c2sp.org/tlog-policy). Format v1 (the chains only) still verifies.",
        "required": ["format", "child_id", "records", "log_head"],
        "properties": {
            "format": {"type": "string", "enum": ["journey-stream-export/v2"]},
            "child_id": {"type": "string"},
            "records": {
                "type": "array",
                "items": {
                    "type": "object",
                    "required": ["position", "version", "body", "previous_log_hash", "chain", "event"],
                    "properties": {
                        "position": {"type": "integer"},
                        "version": {"type": "integer"},
                        "body": {"type": "string", "pattern": "^([0-9a-f]{2})*$"},
                        "previous_log_hash": {"type": "string"},
                        "chain": {"type": "object"},
                        "event": {"$ref": "#/components/schemas/RecordedEvent"},
                        "tlog_proof": {"type": "string", "description": "c2sp.org/tlog-proof@v1: the record's 64-byte entry (`extra`), its leaf index (position - 1), the inclusion proof's hashes, a blank line, and the checkpoint with its cosignatures. Absent when no checkpoint covers the record yet."}
                    }
                }
            },
            "tlog": {
                "type": "object",
                "description": "The checkpoints the records are proven in: hashes and signed notes only, nothing of other children. Absent from a server that keeps no tree.",
                "required": ["origin", "checkpoints", "summary"],
                "properties": {
                    "origin": {"type": "string", "description": "The log's origin, the first line of its checkpoints"},
                    "checkpoints": {"type": "array", "items": {"type": "string"}, "description": "The signed checkpoints (with cosignatures), smallest first: the latest witnessed and, when records are newer, the latest signed"},
                    "consistency": {"type": "array", "items": {"type": "string"}, "description": "With two checkpoints: the consistency proof from the first to the second, base64 hashes"},
                    "summary": {"type": "string", "description": "In words: which checkpoints, whether and by whom witnessed, and which records are not yet proven"}
                }
            },
            "log_head": {"$ref": "#/components/schemas/LogHead"}
        }
    }
);

json_schema!(
    /// The end of the log.
    LogHead,
    {
        "type": "object",
        "required": ["position", "log_hash"],
        "properties": {
            "position": {"type": ["integer", "null"], "description": "The last position; null for an empty log."},
            "log_hash": {"type": "string", "pattern": "^[0-9a-f]{64}$"}
        }
    }
);

json_schema!(
    /// What walking the log's chains found.
    VerifyReport,
    {
        "type": "object",
        "required": ["records", "streams", "head"],
        "properties": {
            "records": {"type": "integer"},
            "streams": {"type": "integer"},
            "head": {"$ref": "#/components/schemas/LogHead"},
            "first_broken": {
                "type": ["object", "null"],
                "properties": {"position": {"type": "integer"}, "reason": {"type": "string"}}
            },
            "walked": {
                "type": "array",
                "items": {"type": "string"},
                "description": "What the walk covered: log, and index when the store also checked its index against every record."
            }
        }
    }
);

json_schema!(
    /// What walking the journal's chain found.
    JournalVerification,
    {
        "type": "object",
        "required": ["records", "head"],
        "properties": {
            "records": {"type": "integer"},
            "head": {
                "type": "object",
                "properties": {"sequence": {"type": "integer"}, "hash": {"type": "string"}}
            },
            "first_broken": {"description": "[sequence, what is wrong], or null", "type": ["array", "null"]}
        }
    }
);
