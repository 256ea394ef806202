//! Validated identifiers. Every identifier that crosses the boundary of the system is parsed once, here,
//! and carried as a type that cannot hold an invalid value.

use std::fmt;

use serde::{Deserialize, Serialize};

/// Defines a string newtype whose constructor enforces `$rule` (a human-readable description of the rule)
/// with the predicate `$valid`. The field is private: the only ways in are `parse`, `FromStr` and serde,
/// which all run the same check.
macro_rules! validated_string {
    ($(#[$meta:meta])* $name:ident, field = $field:literal, max = $max:literal, rule = $rule:literal, valid = $valid:expr) => {
        $(#[$meta])*
        #[derive(Clone, PartialEq, Eq, PartialOrd, Ord, Hash, ::serde::Serialize, ::serde::Deserialize)]
        #[serde(try_from = "String", into = "String")]
        pub struct $name(String);

        impl $name {
            /// The field name used in error messages about this identifier.
            pub const FIELD: &'static str = $field;
            /// The rule this identifier must satisfy, in words.
            pub const RULE: &'static str = $rule;

            /// Parses `value`, naming the field and the rule on failure.
            pub fn parse(value: impl Into<String>) -> ::std::result::Result<Self, $crate::error::FieldError> {
                let value: String = value.into();
                let valid: fn(&str) -> bool = $valid;
                if value.is_empty() || value.len() > $max || !valid(&value) {
                    return Err($crate::error::FieldError::new($field, format!("{} (got {:?})", $rule, $crate::ids::truncate(&value))));
                }
                Ok(Self(value))
            }

            pub fn as_str(&self) -> &str {
                &self.0
            }
        }

        impl ::std::fmt::Display for $name {
            fn fmt(&self, f: &mut ::std::fmt::Formatter<'_>) -> ::std::fmt::Result {
                f.write_str(&self.0)
            }
        }

        impl ::std::fmt::Debug for $name {
            fn fmt(&self, f: &mut ::std::fmt::Formatter<'_>) -> ::std::fmt::Result {
                write!(f, "{}({:?})", stringify!($name), self.0)
            }
        }

        impl std::str::FromStr for $name {
            type Err = $crate::error::FieldError;
            fn from_str(s: &str) -> ::std::result::Result<Self, Self::Err> {
                Self::parse(s)
            }
        }

        impl TryFrom<String> for $name {
            type Error = $crate::error::FieldError;
            fn try_from(s: String) -> ::std::result::Result<Self, Self::Error> {
                Self::parse(s)
            }
        }

        impl From<$name> for String {
            fn from(id: $name) -> String {
                id.0
            }
        }

        impl AsRef<str> for $name {
            fn as_ref(&self) -> &str {
                &self.0
            }
        }

        impl ::bincode::Encode for $name {
            fn encode<E: ::bincode::enc::Encoder>(&self, encoder: &mut E) -> ::std::result::Result<(), ::bincode::error::EncodeError> {
                ::bincode::Encode::encode(&self.0, encoder)
            }
        }

        impl<C> ::bincode::Decode<C> for $name {
            fn decode<D: ::bincode::de::Decoder<Context = C>>(decoder: &mut D) -> ::std::result::Result<Self, ::bincode::error::DecodeError> {
                $crate::wire::decode_str_with(decoder, |s| {
                    Self::parse(s).map_err(|e| ::bincode::error::DecodeError::OtherString(e.to_string()))
                })
            }
        }

        impl<'de, C> ::bincode::BorrowDecode<'de, C> for $name {
            fn borrow_decode<D: ::bincode::de::BorrowDecoder<'de, Context = C>>(
                decoder: &mut D,
            ) -> ::std::result::Result<Self, ::bincode::error::DecodeError> {
                <Self as ::bincode::Decode<C>>::decode(decoder)
            }
        }
    };
}
pub(crate) use validated_string;

#[doc(hidden)]
pub fn truncate(s: &str) -> String {
    s.chars().take(80).collect()
}

fn is_token_byte(b: u8) -> bool {
    b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.' | b':')
}

/// A token: ASCII letters, digits and `- _ . :`, starting with a letter or digit. (Checked byte by byte:
/// every allowed character is ASCII, and no byte of a multi-byte character is.)
fn is_token(s: &str) -> bool {
    s.as_bytes().first().is_some_and(u8::is_ascii_alphanumeric) && s.bytes().all(is_token_byte)
}

validated_string!(
    /// The local authority's identifier for a child (the CIN census `LAchildID`, the SSDA903 `CHILD`). One
    /// stream per child. Deliberately not a name, UPN or NHS number: those are personal data carried in events.
    ChildId,
    field = "child_id",
    max = 64,
    rule = "must be 1 to 64 characters: ASCII letters, digits, '-', '_', '.', ':' and start with a letter or digit",
    valid = is_token
);

validated_string!(
    /// Chosen by the sender for every event, so that a retried request is recognised (idempotency).
    /// A UUID is typical but any stable token up to 128 characters will do.
    EventId,
    field = "event_id",
    max = 128,
    rule = "must be 1 to 128 characters: ASCII letters, digits, '-', '_', '.', ':' and start with a letter or digit",
    valid = is_token
);

validated_string!(
    /// Links events that belong to one piece of work (a meeting, a decision) across streams.
    CorrelationId,
    field = "correlation_id",
    max = 128,
    rule = "must be 1 to 128 characters: ASCII letters, digits, '-', '_', '.', ':' and start with a letter or digit",
    valid = is_token
);

validated_string!(
    /// The agency an event speaks for: `la.coventry`, `police.west-midlands`, `nhs.uhcw`, `school.100012`.
    /// An integrator's key is scoped to one agency and cannot write as another.
    AgencyId,
    field = "source.agency",
    max = 64,
    rule = "must be 1 to 64 characters: lower-case ASCII letters, digits, '-', '_', '.', and start with a letter or digit",
    valid = |s| s.starts_with(|c: char| c.is_ascii_lowercase() || c.is_ascii_digit())
        && s.chars().all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || matches!(c, '-' | '_' | '.'))
);

validated_string!(
    /// The system within the agency that sent the event: `mosaic`, `liquidlogic-lcs`, `ssda903-import`.
    SystemId,
    field = "source.system",
    max = 64,
    rule = "must be 1 to 64 characters: ASCII letters, digits, '-', '_', '.', ':' and start with a letter or digit",
    valid = is_token
);

validated_string!(
    /// The authenticated principal that recorded an event (an API key's name, a user, an importer).
    /// Set by the server from the credentials, never by the sender's payload.
    PrincipalId,
    field = "recorded_by",
    max = 128,
    rule = "must be 1 to 128 characters: ASCII letters, digits, '-', '_', '.', ':' and start with a letter or digit",
    valid = is_token
);

/// Where an event came from: the agency it speaks for and the system that sent it.
#[derive(Clone, Debug, PartialEq, Eq, Hash, Serialize, Deserialize, bincode::Encode, bincode::Decode)]
#[serde(deny_unknown_fields)]
pub struct Source {
    pub agency: AgencyId,
    pub system: SystemId,
}

/// A child's stream version: the first event of a stream is version 1.
#[derive(
    Clone,
    Copy,
    Debug,
    PartialEq,
    Eq,
    PartialOrd,
    Ord,
    Hash,
    Serialize,
    Deserialize,
    bincode::Encode,
    bincode::Decode,
)]
#[serde(transparent)]
pub struct Version(pub u64);

impl Version {
    pub const FIRST: Version = Version(1);
    pub fn next(self) -> Version {
        Version(self.0 + 1)
    }
}

impl fmt::Display for Version {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.0.fmt(f)
    }
}

/// A record's place in the global log: the first record is position 1, and positions have no gaps.
#[derive(
    Clone,
    Copy,
    Debug,
    PartialEq,
    Eq,
    PartialOrd,
    Ord,
    Hash,
    Serialize,
    Deserialize,
    bincode::Encode,
    bincode::Decode,
)]
#[serde(transparent)]
pub struct Position(pub u64);

impl Position {
    pub const FIRST: Position = Position(1);
    pub fn next(self) -> Position {
        Position(self.0 + 1)
    }
}

impl fmt::Display for Position {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.0.fmt(f)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn child_id_rejects_bad_input_naming_field_and_rule() {
        let err = ChildId::parse("has space").unwrap_err();
        assert_eq!(err.field, "child_id");
        assert!(err.message.contains("1 to 64 characters"), "{err}");
        assert!(ChildId::parse("").is_err());
        assert!(ChildId::parse("-leading").is_err());
        assert!(ChildId::parse("x".repeat(65)).is_err());
        assert_eq!(ChildId::parse("LA123.child-9").unwrap().as_str(), "LA123.child-9");
    }

    #[test]
    fn serde_runs_the_same_validation() {
        let ok: ChildId = serde_json::from_str("\"C001\"").unwrap();
        assert_eq!(ok.as_str(), "C001");
        let err = serde_json::from_str::<ChildId>("\"C 001\"").unwrap_err();
        assert!(err.to_string().contains("child_id"), "{err}");
        assert!(serde_json::from_str::<AgencyId>("\"Police\"").is_err());
    }

    #[test]
    fn bincode_round_trips_and_rejects_invalid_bytes() {
        let config = bincode::config::standard();
        let id = EventId::parse("evt-1").unwrap();
        let bytes = bincode::encode_to_vec(&id, config).unwrap();
        let (back, _): (EventId, _) = bincode::decode_from_slice(&bytes, config).unwrap();
        assert_eq!(back, id);
        let bad = bincode::encode_to_vec("bad id", config).unwrap();
        assert!(bincode::decode_from_slice::<EventId, _>(&bad, config).is_err());
    }
}

/// What the appender believes the stream's version to be.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
pub enum ExpectedVersion {
    /// No check.
    #[default]
    Any,
    /// The stream must not exist yet (the child is new).
    NoStream,
    /// The stream's last event must have exactly this version.
    Exact(Version),
}

impl ExpectedVersion {
    pub fn admits(self, actual: Option<Version>) -> bool {
        match self {
            ExpectedVersion::Any => true,
            ExpectedVersion::NoStream => actual.is_none(),
            ExpectedVersion::Exact(v) => actual == Some(v),
        }
    }
}

impl fmt::Display for ExpectedVersion {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ExpectedVersion::Any => f.write_str("any"),
            ExpectedVersion::NoStream => f.write_str("no stream"),
            ExpectedVersion::Exact(v) => v.fmt(f),
        }
    }
}

/// JSON: `"any"`, `"no_stream"` or a version number.
impl Serialize for ExpectedVersion {
    fn serialize<S: serde::Serializer>(&self, s: S) -> std::result::Result<S::Ok, S::Error> {
        match self {
            ExpectedVersion::Any => s.serialize_str("any"),
            ExpectedVersion::NoStream => s.serialize_str("no_stream"),
            ExpectedVersion::Exact(v) => s.serialize_u64(v.0),
        }
    }
}

impl<'de> Deserialize<'de> for ExpectedVersion {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> std::result::Result<Self, D::Error> {
        #[derive(Deserialize)]
        #[serde(untagged)]
        enum Wire {
            Number(u64),
            Word(String),
        }
        const RULE: &str =
            "expected_version must be \"any\", \"no_stream\" or a version number of at least 1";
        match Wire::deserialize(d).map_err(|_| serde::de::Error::custom(RULE))? {
            Wire::Number(0) => Err(serde::de::Error::custom(RULE)),
            Wire::Number(n) => Ok(ExpectedVersion::Exact(Version(n))),
            Wire::Word(w) if w == "any" => Ok(ExpectedVersion::Any),
            Wire::Word(w) if w == "no_stream" => Ok(ExpectedVersion::NoStream),
            Wire::Word(_) => Err(serde::de::Error::custom(RULE)),
        }
    }
}
