//! The access log: every read of a child's record is written to the journal's `access` stream, durably,
//! *before* the data is returned. Append-only and hash-chained with the rest of the journal.
//!
//! The helpers every reading route uses live here: [`authorize_read`] (check the role, log, then read),
//! [`logged_read`] (log while the answer is built, return it once the log is durable), [`record_read`]
//! and [`record_bulk_read`] (log a read whose role was already checked), the stated [`Purpose`] and its
//! OpenAPI description [`PurposeHeader`].

use axum::extract::FromRequestParts;
use axum::http::request::Parts;
use journey_core::ExpectedVersion;
use journey_core::journal::{Journal, JournalRecord, NewRecord, SystemStream};
use journey_core::{ChildId, FieldError, Timestamp};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

use crate::AppState;
use crate::auth::{Action, Principal, Role};
use crate::error::{ApiError, ApiResult};

pub const ACCESS_STREAM: &str = "access";
pub const RECORD_READ: &str = "RecordRead";
/// The header in which a reader states why they are reading.
pub const PURPOSE_HEADER: &str = "x-journey-purpose";
const PURPOSE_MAX: usize = 500;

pub fn access_stream() -> SystemStream {
    SystemStream::parse(ACCESS_STREAM).expect("valid stream name")
}

/// The body of a `RecordRead` record. Who and when are the record's `recorded_by` and `recorded_at`.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RecordRead {
    pub key_id: String,
    pub role: Role,
    /// The child whose record was read; absent for reads of the whole log, which list `children`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub child_id: Option<ChildId>,
    /// The children whose records a read of the whole log returned.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub children: Vec<ChildId>,
    /// `events`, `summary`, `chronology`, `export`, `log`, `feed`, `timeline`...
    pub view: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub purpose: Option<String>,
    /// The legal basis stated for opening a sealed adoption record ([`crate::sealed`]).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub legal_basis: Option<String>,
    /// The parameters of the read (`on`, `known_at`, `from`...).
    #[serde(default, skip_serializing_if = "serde_json::Value::is_null")]
    pub parameters: serde_json::Value,
}

/// The stated purpose of a read, from the `X-Journey-Purpose` header, and the legal basis for opening a
/// sealed adoption record, from `X-Journey-Legal-Basis` ([`crate::sealed`]).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Purpose {
    pub text: Option<String>,
    pub legal_basis: Option<String>,
}

impl Purpose {
    pub fn stated(text: Option<String>) -> Purpose {
        Purpose {
            text,
            legal_basis: None,
        }
    }
}

impl<S: Send + Sync> FromRequestParts<S> for Purpose {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, _: &S) -> Result<Purpose, ApiError> {
        let legal_basis = crate::sealed::legal_basis(&parts.headers)?;
        let Some(value) = parts.headers.get(PURPOSE_HEADER) else {
            // A browser session carries the purpose stated when signing in.
            let session = parts.extensions.get::<crate::session::SessionRead>();
            return Ok(Purpose {
                text: session.map(|s| s.purpose.clone()),
                legal_basis,
            });
        };
        let bad = |rule: &str| ApiError::BadRequest {
            detail: format!("X-Journey-Purpose {rule}"),
            errors: vec![FieldError::new("X-Journey-Purpose", rule)],
        };
        let text = value
            .to_str()
            .map_err(|_| bad("must be visible ASCII text"))?
            .trim();
        if text.is_empty() {
            return Ok(Purpose {
                text: None,
                legal_basis,
            });
        }
        if text.len() > PURPOSE_MAX {
            return Err(bad("must be at most 500 characters"));
        }
        Ok(Purpose {
            text: Some(text.to_owned()),
            legal_basis,
        })
    }
}

impl Purpose {
    /// The purpose, which an investigator must state (400 naming the header otherwise), unless its key is
    /// scoped to reviews: its reads are made within a review, which is their purpose.
    pub fn required_for(&self, principal: &Principal) -> Result<Option<String>, ApiError> {
        match (&self.text, principal.role) {
            // A key scoped to reviews reads within a review, which is the purpose (`record_read`).
            (None, role @ (Role::Investigator | Role::SealedRecords)) if !principal.reviews_only => {
                Err(ApiError::BadRequest {
                    detail: format!(
                        "a key with role {role} must state the purpose of every read in the X-Journey-Purpose header"
                    ),
                    errors: vec![FieldError::new(
                        "X-Journey-Purpose",
                        "required: the purpose of this read (for example a case reference)",
                    )],
                })
            }
            (purpose, _) => Ok(purpose.clone()),
        }
    }
}

/// One read about to happen.
#[derive(Debug)]
pub struct Access<'a> {
    pub principal: &'a Principal,
    pub child_id: Option<&'a ChildId>,
    pub children: Vec<ChildId>,
    pub view: &'a str,
    pub purpose: Option<String>,
    pub legal_basis: Option<String>,
    pub parameters: serde_json::Value,
}

/// Writes the access record and waits until it is durable.
pub async fn record(journal: &dyn Journal, access: Access<'_>) -> Result<JournalRecord, ApiError> {
    let body = RecordRead {
        key_id: access.principal.key_id.clone(),
        role: access.principal.role,
        child_id: access.child_id.cloned(),
        children: access.children,
        view: access.view.to_owned(),
        purpose: access.purpose,
        legal_basis: access.legal_basis,
        parameters: access.parameters,
    };
    let record = NewRecord::new(RECORD_READ, access.principal.name.clone(), &body);
    let mut stored = journal
        .append(&access_stream(), ExpectedVersion::Any, vec![record])
        .await?;
    stored
        .pop()
        .ok_or_else(|| ApiError::Internal("the journal stored no access record".into()))
}

/// Authorises a read of one child's record and writes it to the access log, durably, before any data is
/// read or returned.
pub async fn authorize_read(
    state: &AppState,
    principal: &Principal,
    purpose: &Purpose,
    child_id: &ChildId,
    view: &str,
    parameters: serde_json::Value,
) -> ApiResult<()> {
    principal.require(Action::ReadChild)?;
    record_read(state, principal, purpose, child_id, view, parameters).await
}

/// Reads a child's record for `view` while the read is written to the access log: `read` builds the answer
/// meanwhile (in memory; nothing leaves the server), and it is returned only once the access record is
/// durable. A failed log write returns nothing. The role and the purpose are checked before anything is
/// read. For a long view (a chronology) this takes the access log's `fdatasync` off the answer's latency.
pub async fn logged_read<T>(
    state: &AppState,
    principal: &Principal,
    purpose: &Purpose,
    child_id: &ChildId,
    view: &str,
    parameters: serde_json::Value,
    read: impl std::future::Future<Output = ApiResult<T>>,
) -> ApiResult<T> {
    principal.require(Action::ReadChild)?;
    purpose.required_for(principal)?;
    let (logged, answer) = tokio::join!(
        record_read(state, principal, purpose, child_id, view, parameters),
        read
    );
    logged?;
    answer
}

/// Writes one read of a child's record to the access log, durably, with the purpose (required of
/// investigators), for a caller whose role was already checked (reads made by evaluating a policy, too).
///
/// A sealed adoption record ([`crate::sealed`]) is opened only by the `sealed-records` role with a legal
/// basis (400 naming the header without one), which the access record names. Any other role is answered
/// as if the child did not exist: the same access record, then the same 404.
pub async fn record_read(
    state: &AppState,
    principal: &Principal,
    purpose: &Purpose,
    child_id: &ChildId,
    view: &str,
    parameters: serde_json::Value,
) -> ApiResult<()> {
    let mut text = purpose.required_for(principal)?;
    // A key scoped to reviews reads only its reviews' children, each read made within a review and logged
    // with it as its purpose.
    if principal.reviews_only {
        let reviews = crate::reviews::Reviews::load(state.journal.as_ref()).await?;
        let Some(review) = reviews.covering(principal, child_id) else {
            return Err(ApiError::forbidden(format!(
                "a key scoped to reviews reads only the children of the reviews that name it, and {child_id} is not one"
            )));
        };
        let within = review.purpose();
        text = Some(match text {
            Some(stated) if stated != within => format!("{within} ({stated})"),
            _ => within,
        });
    }
    let sealed = state
        .sealed
        .sealed_since(state.store.as_ref(), child_id)
        .await?
        .is_some();
    let opens = sealed && principal.role.may(Action::OpenSealedRecords);
    if opens && purpose.legal_basis.is_none() {
        return Err(crate::sealed::legal_basis_required(child_id));
    }
    record_access(
        state,
        Access {
            principal,
            child_id: Some(child_id),
            children: Vec::new(),
            view,
            purpose: text,
            legal_basis: opens.then(|| purpose.legal_basis.clone()).flatten(),
            parameters,
        },
    )
    .await?;
    if sealed && !opens {
        return Err(crate::routes::children::unknown_child(child_id, None));
    }
    Ok(())
}

/// Writes one read of many children's records (a page of the log, a return, a cohort) to the access log,
/// durably, for a caller whose role was already checked.
pub async fn record_bulk_read(
    state: &AppState,
    principal: &Principal,
    purpose: Option<String>,
    view: &str,
    children: Vec<ChildId>,
    parameters: serde_json::Value,
) -> ApiResult<()> {
    record_access(
        state,
        Access {
            principal,
            child_id: None,
            children,
            view,
            purpose,
            legal_basis: None,
            parameters,
        },
    )
    .await
}

/// Writes `access` to the access log, durably, and counts it.
async fn record_access(state: &AppState, access: Access<'_>) -> ApiResult<()> {
    record(state.journal.as_ref(), access).await?;
    state.metrics.record_access();
    Ok(())
}

/// The `X-Journey-Purpose` header, for the OpenAPI document.
#[derive(Debug, IntoParams)]
#[into_params(parameter_in = Header)]
#[allow(dead_code)]
pub struct PurposeHeader {
    /// Why the record is read (a case reference, an inquiry). Required for investigators; written to the
    /// access log.
    #[param(rename = "X-Journey-Purpose")]
    x_journey_purpose: Option<String>,
}

/// One entry of the access log as the API shows it.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct AccessEntry {
    /// The record's place in the `access` stream.
    pub version: u64,
    /// Its place in the whole journal (and hash chain).
    pub sequence: u64,
    #[schema(value_type = String, format = DateTime)]
    pub recorded_at: Timestamp,
    /// Who read (the key's name).
    #[schema(value_type = String)]
    pub principal: journey_core::PrincipalId,
    pub key_id: String,
    pub role: Role,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schema(value_type = Option<String>)]
    pub child_id: Option<ChildId>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    #[schema(value_type = Vec<String>)]
    pub children: Vec<ChildId>,
    pub view: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub purpose: Option<String>,
    /// The legal basis stated for opening a sealed adoption record.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub legal_basis: Option<String>,
    #[serde(default, skip_serializing_if = "serde_json::Value::is_null")]
    #[schema(value_type = Object)]
    pub parameters: serde_json::Value,
}

impl AccessEntry {
    pub fn from_record(record: &JournalRecord) -> Result<AccessEntry, ApiError> {
        let body: RecordRead = record.body_as()?;
        Ok(AccessEntry {
            version: record.version,
            sequence: record.sequence,
            recorded_at: record.recorded_at,
            principal: record.recorded_by.clone(),
            key_id: body.key_id,
            role: body.role,
            child_id: body.child_id,
            children: body.children,
            view: body.view,
            purpose: body.purpose,
            legal_basis: body.legal_basis,
            parameters: body.parameters,
        })
    }

    fn concerns(&self, child: &ChildId) -> bool {
        self.child_id.as_ref() == Some(child) || self.children.contains(child)
    }
}

/// A filter over the access log.
#[derive(Clone, Debug, Default)]
pub struct AccessQuery {
    pub child_id: Option<ChildId>,
    pub principal: Option<String>,
    /// The first `access` stream version to look at (1 is the first).
    pub from: u64,
    pub limit: usize,
}

/// Up to `limit` matching entries from version `from` on, and where to continue (`None` at the end).
pub async fn query(
    journal: &dyn Journal,
    q: &AccessQuery,
) -> Result<(Vec<AccessEntry>, Option<u64>), ApiError> {
    const PAGE: usize = 1024;
    let stream = access_stream();
    let mut from = q.from.max(1);
    let mut out = Vec::new();
    loop {
        let page = journal.read_stream(&stream, from, PAGE).await?;
        let done = page.len() < PAGE;
        for record in &page {
            from = record.version + 1;
            let entry = AccessEntry::from_record(record)?;
            let child_ok = q.child_id.as_ref().is_none_or(|c| entry.concerns(c));
            let principal_ok = q
                .principal
                .as_ref()
                .is_none_or(|p| entry.principal.as_str() == p || &entry.key_id == p);
            if child_ok && principal_ok {
                out.push(entry);
                if out.len() == q.limit {
                    let more = journal.stream_version(&stream) >= from;
                    return Ok((out, more.then_some(from)));
                }
            }
        }
        if done {
            return Ok((out, None));
        }
    }
}
