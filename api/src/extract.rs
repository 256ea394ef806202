//! Extractors whose refusals are problem details naming the field: a strict JSON body (content type, size
//! limit, syntax, unknown fields, every rule with its path), query parameters, and the child id in the path.

use axum::body::{Body, Bytes};
use axum::extract::{FromRequest, FromRequestParts, Request};
use axum::http::header;
use axum::http::request::Parts;
use http_body_util::BodyExt;
use journey_core::error::FieldError;
use journey_core::{ChildId, Date, Problems, Timestamp};
use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};

use crate::AppState;
use crate::error::ApiError;

/// A JSON request body, decoded strictly. Refusals: 415 for a content type other than JSON, 413 above the
/// configured limit (`body_limit`), 400 for malformed JSON, 422 for JSON that breaks a rule (unknown field,
/// wrong type, invalid value), naming the exact field.
#[derive(Debug)]
pub struct JsonBody<T>(pub T);

impl<T: DeserializeOwned> FromRequest<AppState> for JsonBody<T> {
    type Rejection = ApiError;

    async fn from_request(req: Request, state: &AppState) -> Result<Self, ApiError> {
        let bytes = read_json_body(req, state.config.body_limit, "body_limit").await?;
        decode_json(&bytes).map(JsonBody)
    }
}

/// A policy upload's JSON body: as [`JsonBody`], held to the server's `policy_upload_limit` instead (a
/// component is far larger than any event).
#[derive(Debug)]
pub struct PolicyUploadBody<T>(pub T);

impl<T: DeserializeOwned> FromRequest<AppState> for PolicyUploadBody<T> {
    type Rejection = ApiError;

    async fn from_request(req: Request, state: &AppState) -> Result<Self, ApiError> {
        let bytes = read_json_body(req, state.config.policy_upload_limit, "policy_upload_limit").await?;
        decode_json(&bytes).map(PolicyUploadBody)
    }
}

/// How much of a body over its limit is still read (and thrown away) before the 413 is sent. A client that
/// sends its whole body before reading the answer (most do, without `Expect: 100-continue`) otherwise finds
/// the connection closed under it ("broken pipe") and never sees the problem that says which limit to
/// raise. Beyond this the connection is closed instead: reading more would let anyone make the server read
/// without end.
const DRAINED_OVER_LIMIT: usize = 256 * 1024 * 1024;

/// The body's bytes, if it is JSON and at most `limit` bytes; `setting` names the limit in the refusal.
async fn read_json_body(req: Request, limit: usize, setting: &'static str) -> Result<Bytes, ApiError> {
    let content_type = req
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("");
    if !is_json(content_type) {
        return Err(ApiError::UnsupportedMediaType(if content_type.is_empty() {
            "the body must be JSON: send Content-Type: application/json".to_owned()
        } else {
            format!("the body must be JSON (application/json), not {content_type}")
        }));
    }
    let too_large = ApiError::PayloadTooLarge { limit, setting };
    let declared = req
        .headers()
        .get(header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<u64>().ok());
    if declared.is_some_and(|n| n > limit as u64) {
        if declared.is_some_and(|n| n <= (limit + DRAINED_OVER_LIMIT) as u64) {
            drain(req.into_body(), limit + DRAINED_OVER_LIMIT).await;
        }
        return Err(too_large);
    }
    let mut body = req.into_body();
    let mut bytes = Vec::new();
    while let Some(frame) = body.frame().await {
        let frame = frame.map_err(|e| ApiError::bad_request(format!("could not read the body: {e}")))?;
        if let Ok(data) = frame.into_data() {
            if bytes.len() + data.len() > limit {
                drain(body, DRAINED_OVER_LIMIT).await;
                return Err(too_large);
            }
            bytes.extend_from_slice(&data);
        }
    }
    Ok(Bytes::from(bytes))
}

/// Reads and discards what is left of `body`, up to `at_most` bytes.
async fn drain(mut body: Body, at_most: usize) {
    let mut read = 0usize;
    while read <= at_most
        && let Some(Ok(frame)) = body.frame().await
    {
        if let Some(data) = frame.data_ref() {
            read += data.len();
        }
    }
}

fn is_json(content_type: &str) -> bool {
    let essence = content_type
        .split(';')
        .next()
        .unwrap_or("")
        .trim()
        .to_ascii_lowercase();
    essence == "application/json" || (essence.starts_with("application/") && essence.ends_with("+json"))
}

/// Decodes JSON, telling malformed JSON (400) from JSON that breaks a rule (422, with the field's path).
pub fn decode_json<T: DeserializeOwned>(bytes: &[u8]) -> Result<T, ApiError> {
    let mut de = serde_json::Deserializer::from_slice(bytes);
    let result = serde_path_to_error::deserialize(&mut de);
    if result.is_ok()
        && let Err(e) = de.end()
    {
        return Err(ApiError::bad_request(format!("malformed JSON: {e}")));
    }
    result.map_err(|e| {
        let path = e.path().to_string();
        let inner = e.into_inner();
        match inner.classify() {
            serde_json::error::Category::Data => {
                ApiError::Invalid(field_error(&path, &inner.to_string()).into())
            }
            _ => ApiError::bad_request(format!("malformed JSON: {inner}")),
        }
    })
}

/// Turns a serde error at `path` into a field error. Journey's validated types put their own field path in
/// front of the rule (`source.agency: must be ...`, or `data.placement.place_type: ...` for an event's
/// payload decoded inside the event); that path is joined to where serde found the value, once.
pub(crate) fn field_error(path: &str, message: &str) -> FieldError {
    let path = if path == "." { "" } else { path };
    // serde_json appends " at line L column C" to data errors; the path says where.
    let message = match message.rfind(" at line ") {
        Some(i) if message[i..].contains(" column ") => &message[..i],
        _ => message,
    };
    if let Some((prefix, rule)) = message.split_once(": ")
        && !prefix.is_empty()
        && prefix
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '_' | '.' | '[' | ']' | '='))
    {
        let field = if path.is_empty() {
            prefix.to_owned()
        } else if path == prefix || path.ends_with(&format!(".{prefix}")) {
            path.to_owned()
        } else {
            format!("{path}.{prefix}")
        };
        return FieldError::new(field, rule);
    }
    FieldError::new(path, message)
}

/// Query parameters, decoded strictly: an unknown or malformed parameter is a 400 naming it.
#[derive(Debug)]
pub struct QueryParams<T>(pub T);

impl<T: DeserializeOwned, S: Send + Sync> FromRequestParts<S> for QueryParams<T> {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, _: &S) -> Result<Self, ApiError> {
        let query = parts.uri.query().unwrap_or("");
        let de = serde_urlencoded::Deserializer::new(form_urlencoded::parse(query.as_bytes()));
        serde_path_to_error::deserialize(de)
            .map(QueryParams)
            .map_err(|e| {
                let path = e.path().to_string();
                let error = field_error(&path, &e.into_inner().to_string());
                ApiError::BadRequest {
                    detail: format!("query parameter {}: {}", error.field, error.message),
                    errors: vec![error],
                }
            })
    }
}

/// The child id from the path, validated.
pub fn child_id(raw: &str) -> Result<ChildId, ApiError> {
    ChildId::parse(raw).map_err(|e| ApiError::BadRequest {
        detail: e.to_string(),
        errors: vec![e],
    })
}

/// A date as a request gives it (a query parameter, a field of a body that is not an event): `YYYY-MM-DD`,
/// within the range Journey accepts ([`Date::check_accepted`]: 1900-01-01 to 2200-12-31). Outside it, the
/// parameter is refused naming it (a query parameter with 400, a body field with 422), before anything
/// computes with it.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(transparent)]
pub struct AcceptedDate(pub Date);

impl AcceptedDate {
    pub fn get(self) -> Date {
        self.0
    }
}

impl<'de> Deserialize<'de> for AcceptedDate {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<AcceptedDate, D::Error> {
        let date = Date::deserialize(d)?;
        date.check_accepted("")
            .map(AcceptedDate)
            .map_err(|e| serde::de::Error::custom(e.message))
    }
}

/// An instant as a request gives it (`known_at`): RFC 3339, within the range Journey accepts
/// ([`Timestamp::check_accepted`]), refused naming the parameter otherwise.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(transparent)]
pub struct AcceptedInstant(pub Timestamp);

impl AcceptedInstant {
    pub fn get(self) -> Timestamp {
        self.0
    }
}

impl<'de> Deserialize<'de> for AcceptedInstant {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<AcceptedInstant, D::Error> {
        let text = <std::borrow::Cow<'de, str>>::deserialize(d)?;
        let refuse = |message: String| serde::de::Error::custom(message);
        match Timestamp::parse_field("", &text) {
            Ok(instant) => instant
                .check_accepted("")
                .map(AcceptedInstant)
                .map_err(|e| refuse(e.message)),
            // An instant at the very end of the calendar cannot even be represented: say which range is
            // accepted rather than that the text is malformed.
            Err(e) => {
                let far_out = text
                    .get(..10)
                    .and_then(|day| day.parse::<Date>().ok())
                    .is_some_and(|day| day.check_accepted("").is_err());
                Err(refuse(if far_out { instant_rule(&text) } else { e.message }))
            }
        }
    }
}

/// The rule for an instant outside the accepted range, for one too far out to be read at all.
fn instant_rule(text: &str) -> String {
    format!(
        "must be an instant from {} to {} (got {text})",
        Timestamp::EARLIEST_ACCEPTED,
        Timestamp::LATEST_ACCEPTED
    )
}

/// Checks a free-text field of a request body: required, at most `max` characters, and no control characters
/// but new lines; each problem names the field. `purpose`, when given, says in the "required" message what the
/// field is for ("say why (the inquiry, ...)").
pub(crate) fn check_text(
    field: &str,
    text: &str,
    max: usize,
    purpose: Option<&str>,
    problems: &mut Problems,
) {
    let chars = text.chars().count();
    if text.trim().is_empty() {
        problems.push(
            field,
            match purpose {
                Some(purpose) => format!("is required: {purpose}, in 1 to {max} characters"),
                None => format!("is required: 1 to {max} characters"),
            },
        );
    } else if chars > max {
        problems.push(field, format!("must be at most {max} characters (got {chars})"));
    } else if text.chars().any(|c| c.is_control() && c != '\n') {
        problems.push(field, "must not contain control characters other than new lines");
    }
}
