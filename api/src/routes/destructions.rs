//! Destruction is a procedure, not a call (issue #19): a records officer authorises the destruction of
//! listed children's records; Journey checks each against the retention policy in force and the holds,
//! destroys their content keys (`EventStore::destroy_content`, all or nothing), and writes a destruction
//! certificate.
//!
//! The journal's `destructions` stream holds, in order: `DestructionRefused` (what was asked and why each
//! child was refused: not due, undetermined, or held), `DestructionAuthorised` (before any key is
//! destroyed: who, why, each child's rule and what of the log its record was) and `DestructionCertified`
//! (after: when). A crash between the last two leaves an authorisation without a certificate, which a retry
//! completes (the store reports those children as already destroyed, and when).
//!
//! A certificate holds no personal data: each child's id (the file reference), the rule and source it was
//! destroyed under, the year it became due (not the day, which a birthday would give away), the policy version, and the positions, count and last stream
//! hash of its records. That is what the law lets an authority keep about what it destroyed, and enough to
//! check the certificate against the log: the records are still there, hashed and proven, and unreadable.

use std::collections::BTreeSet;

use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use journey_core::journal::{NewRecord, SystemStream};
use journey_core::store::Destruction;
use journey_core::{ChildId, Date, ExpectedVersion, PrincipalId, Problems, Timestamp, Version};
use journey_plugins::RetentionStatus;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use super::records::{ChildRetention, review};
use crate::access::record_bulk_read;
use crate::auth::{Action, Auth};
use crate::error::{ApiError, ApiResult};
use crate::extract::JsonBody;
use crate::responses::{
    BadRequest, Conflict, Forbidden, NotFound, PayloadTooLarge, Unauthorized, Unavailable, Unprocessable,
    UnsupportedMediaType,
};
use crate::routes::policies::registry;
use crate::{AppState, holds};

pub const DESTRUCTIONS_STREAM: &str = "destructions";
pub const DESTRUCTION_REFUSED: &str = "DestructionRefused";
pub const DESTRUCTION_AUTHORISED: &str = "DestructionAuthorised";
pub const DESTRUCTION_CERTIFIED: &str = "DestructionCertified";
/// The purpose every read a destruction makes is access-logged with.
pub const DESTRUCTION_PURPOSE: &str = "destruction under the retention schedule";
/// The most children one authorisation names.
pub const MAX_CHILDREN: usize = 10_000;

pub fn destructions_stream() -> SystemStream {
    SystemStream::parse(DESTRUCTIONS_STREAM).expect("valid stream name")
}

/// A records officer's authorisation to destroy these children's records.
#[derive(Clone, Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct AuthoriseDestruction {
    /// The children whose records are to be destroyed (each due under the retention policy in force, none
    /// held), as `GET /v1/records/due` lists them.
    #[schema(value_type = Vec<String>)]
    pub children: Vec<ChildId>,
    /// Why, in words: the retention review or schedule run this belongs to (1 to 1000 characters; no
    /// personal data).
    pub reason: String,
}

/// What a certificate says of one child's destroyed record: no content.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct DestroyedRecord {
    #[schema(value_type = String)]
    pub child_id: ChildId,
    /// The rule the record was kept under, and where it comes from.
    pub rule: String,
    pub source: String,
    /// The year from which it could be destroyed. Only the year: the day, counted from a birthday or a death,
    /// would tell the child's date of birth or death, which the certificate must not keep.
    pub destroy_from_year: i16,
    /// How many records it had, their first and last positions in the log, and the last one's stream hash
    /// (hex): the records stay in the log, hashed and proven, their content unreadable.
    pub records: u64,
    pub first_position: u64,
    pub last_position: u64,
    pub stream_head: String,
}

/// The journal body of `DestructionAuthorised` and `DestructionCertified`, and what the API answers.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct DestructionCertificate {
    /// `destruction-<n>`: the authorisation's place in the `destructions` stream.
    pub destruction_id: String,
    #[schema(value_type = String)]
    pub authorised_by: PrincipalId,
    #[schema(value_type = String)]
    pub authorised_at: Timestamp,
    pub reason: String,
    /// The retention policy and version each child was judged by.
    pub policy: String,
    pub version: String,
    pub children: Vec<DestroyedRecord>,
    /// When the keys were destroyed; absent on the authorisation, written once they are.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schema(value_type = Option<String>)]
    pub destroyed_at: Option<Timestamp>,
}

/// The body of `DestructionRefused`: who asked, and each child refused with why.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct DestructionRefused {
    pub reason: String,
    pub refused: Vec<RefusedChild>,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct RefusedChild {
    pub child_id: ChildId,
    /// Why, without the record's dates or the policy's reasons (the officer was told those): this record
    /// outlives the child's, and the day a record becomes due would give away a birthday. "not due before
    /// 2036", "kept indefinitely", "undetermined", "held", or several of them.
    pub grounds: String,
    /// The holds that caused the refusal, if any.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub holds: Vec<String>,
}

/// Why a child's record may not be destroyed today, if it may not.
fn refusal(child: &ChildRetention, today: Date) -> Option<String> {
    let r = &child.retention;
    let why = match r.status {
        RetentionStatus::Until => match r.destroy_from {
            Some(from) if from <= today => {
                if child.is_held() {
                    format!(
                        "a hold is in force ({}): nothing is destroyed under a hold",
                        child.holds.join(", ")
                    )
                } else {
                    return None;
                }
            }
            Some(from) => format!("not due: kept until {from} under {} ({})", r.rule, r.source),
            None => format!("not due: the policy gave no date under {}", r.rule),
        },
        RetentionStatus::Indefinitely => format!("kept indefinitely under {} ({})", r.rule, r.source),
        RetentionStatus::Undetermined => {
            let reasons: Vec<&str> = r.reasons.iter().map(|x| x.text.as_str()).collect();
            format!(
                "its retention date cannot be determined yet: {}",
                reasons.join("; ")
            )
        }
        RetentionStatus::Held => format!("held under {}", r.rule),
    };
    // Both reasons when both hold: the officer sees what stands in the way on either count.
    if child.is_held() && !why.starts_with("a hold") {
        return Some(format!(
            "{why}; and a hold is in force ({})",
            child.holds.join(", ")
        ));
    }
    Some(why)
}

/// What a refusal records of why: the kind of obstacle and at most a year (see [`RefusedChild::grounds`]).
fn grounds(child: &ChildRetention, today: Date) -> String {
    let r = &child.retention;
    let mut grounds = match (r.status, r.destroy_from) {
        (RetentionStatus::Until, Some(from)) if from <= today => Vec::new(),
        (RetentionStatus::Until, Some(from)) => vec![format!("not due before {}", from.year())],
        (RetentionStatus::Until, None) => vec!["not due".to_owned()],
        (RetentionStatus::Indefinitely, _) => vec!["kept indefinitely".to_owned()],
        (RetentionStatus::Undetermined, _) => vec!["undetermined".to_owned()],
        (RetentionStatus::Held, _) => vec!["held under the policy".to_owned()],
    };
    if child.is_held() {
        grounds.push("held".to_owned());
    }
    grounds.join("; ")
}

/// Checks the request, naming each field at fault.
fn check(request: &AuthoriseDestruction) -> Result<(), ApiError> {
    let mut problems = Problems::new();
    let reason = request.reason.trim();
    if reason.is_empty() || reason.chars().count() > holds::REASON_MAX_CHARS {
        problems.push(
            "reason",
            format!(
                "must be 1 to {} characters: the review or schedule run this belongs to",
                holds::REASON_MAX_CHARS
            ),
        );
    }
    if request.children.is_empty() || request.children.len() > MAX_CHILDREN {
        problems.push("children", format!("must name 1 to {MAX_CHILDREN} children"));
    }
    let mut seen = BTreeSet::new();
    for (i, child) in request.children.iter().enumerate() {
        if !seen.insert(child) {
            problems.push(format!("children[{i}]"), format!("{child} is named twice"));
        }
    }
    problems.into_result().map_err(ApiError::from)
}

/// Authorises the destruction of the listed children's records. Each must be due under the retention policy
/// in force (`destroy_from` on or before today) and held by no hold; otherwise nothing is destroyed and the
/// answer names each child refused with why (its retention date, or the holds), and the refusal is recorded.
/// Then the children's content keys are destroyed (all or nothing) and a destruction certificate is
/// recorded and answered: who, when, why, under which rule and policy version, and what of the log each
/// record was, with no personal data. Records officers and admins only. Every read it makes is access-logged
/// with the destruction as its purpose.
#[utoipa::path(
    post,
    path = "/v1/records/destructions",
    tag = "records",
    request_body(content = AuthoriseDestruction, content_type = "application/json"),
    responses(
        (status = 201, body = DestructionCertificate),
        (status = 400, response = BadRequest),
        (status = 401, response = Unauthorized),
        (status = 403, response = Forbidden),
        (status = 404, response = NotFound),
        (status = 409, response = Conflict),
        (status = 413, response = PayloadTooLarge),
        (status = 415, response = UnsupportedMediaType),
        (status = 422, response = Unprocessable),
        (status = 503, response = Unavailable),
    ),
    security(("bearer" = []))
)]
pub async fn authorise(
    State(state): State<AppState>,
    Auth(principal): Auth,
    JsonBody(request): JsonBody<AuthoriseDestruction>,
) -> ApiResult<(StatusCode, Json<DestructionCertificate>)> {
    principal.require(Action::AuthoriseDestruction)?;
    registry(&state)?;
    check(&request)?;
    if !state.store.content_sealed() {
        return Err(journey_core::Error::Key(journey_core::content_keys::KeyError::NotSealed).into());
    }
    let reason = request.reason.trim().to_owned();
    let now = state.clock.now();
    let today = now.england_date();
    let mut problems = Problems::new();
    // A sealed adoption record is answered as if it did not exist (`crate::sealed`).
    let sealed = state.sealed.snapshot(state.store.as_ref()).await?;
    for (i, child) in request.children.iter().enumerate() {
        if sealed.contains_key(child) || state.store.stream_version(child.clone()).await?.is_none() {
            problems.push(format!("children[{i}]"), format!("no child {child} has a record"));
        }
    }
    std::mem::take(&mut problems).into_result()?;
    record_bulk_read(
        &state,
        &principal,
        Some(DESTRUCTION_PURPOSE.to_owned()),
        "destruction",
        request.children.clone(),
        serde_json::json!({ "reason": reason }),
    )
    .await?;

    // A retry after a crash between the destruction and its certificate: those children are destroyed
    // already, so the policy cannot read them; the open authorisation is completed instead.
    if let Some(certificate) = complete_unfinished(&state, &request.children).await? {
        return Ok((StatusCode::CREATED, Json(certificate)));
    }

    let review = review(&state, &request.children, today).await?;
    let by_child: std::collections::HashMap<&ChildId, &ChildRetention> =
        review.children.iter().map(|c| (&c.child_id, c)).collect();
    let mut refused = Vec::new();
    for (i, child_id) in request.children.iter().enumerate() {
        let refused_why = match by_child.get(child_id) {
            Some(child) => refusal(child, today).map(|why| (why, grounds(child, today), child.holds.clone())),
            None => Some((
                "the retention policy could not judge this record".to_owned(),
                "not judged".to_owned(),
                Vec::new(),
            )),
        };
        if let Some((why, grounds, holds)) = refused_why {
            problems.push(format!("children[{i}]"), format!("{child_id}: {why}"));
            refused.push(RefusedChild {
                child_id: child_id.clone(),
                grounds,
                holds,
            });
        }
    }
    if !refused.is_empty() {
        let body = DestructionRefused {
            reason: reason.clone(),
            refused,
        };
        state
            .journal
            .append(
                &destructions_stream(),
                ExpectedVersion::Any,
                vec![NewRecord::new(DESTRUCTION_REFUSED, principal.name.clone(), &body)],
            )
            .await?;
        return Err(problems.into());
    }

    let mut children = Vec::with_capacity(request.children.len());
    for child_id in &request.children {
        let child = by_child[child_id];
        let events = state
            .store
            .read_stream(child_id.clone(), Version::FIRST, usize::MAX)
            .await?;
        let (first, last) = match (events.first(), events.last()) {
            (Some(first), Some(last)) => (first, last),
            _ => return Err(ApiError::NotFound(format!("no child {child_id} has a record"))),
        };
        children.push(DestroyedRecord {
            child_id: child_id.clone(),
            rule: child.retention.rule.clone(),
            source: child.retention.source.clone(),
            destroy_from_year: child
                .retention
                .destroy_from
                .expect("due records have a date")
                .year(),
            records: events.len() as u64,
            first_position: first.envelope.position.0,
            last_position: last.envelope.position.0,
            stream_head: hex::encode(last.chain.stream_hash),
        });
    }
    let mut certificate = DestructionCertificate {
        destruction_id: String::new(),
        authorised_by: principal.name.clone(),
        authorised_at: now,
        reason,
        policy: review.policy.clone(),
        version: review.version.clone(),
        children,
        destroyed_at: None,
    };
    let stored = state
        .journal
        .append(
            &destructions_stream(),
            ExpectedVersion::Any,
            vec![NewRecord::new(
                DESTRUCTION_AUTHORISED,
                principal.name.clone(),
                &certificate,
            )],
        )
        .await?;
    certificate.destruction_id = format!("destruction-{}", stored[0].version);
    let destruction = state
        .store
        .destroy_content(request.children.clone(), state.clock.now())
        .await?;
    certify(&state, certificate, &destruction)
        .await
        .map(|c| (StatusCode::CREATED, Json(c)))
}

/// Records the certificate once the keys are destroyed.
async fn certify(
    state: &AppState,
    mut certificate: DestructionCertificate,
    destruction: &Destruction,
) -> ApiResult<DestructionCertificate> {
    certificate.destroyed_at = Some(if destruction.destroyed.is_empty() {
        // Completing an authorisation a crash left uncertified: the keys went when the store says they did.
        destruction
            .already_destroyed
            .iter()
            .map(|(_, at)| *at)
            .min()
            .unwrap_or(destruction.destroyed_at)
    } else {
        destruction.destroyed_at
    });
    state
        .journal
        .append(
            &destructions_stream(),
            ExpectedVersion::Any,
            vec![NewRecord::new(
                DESTRUCTION_CERTIFIED,
                certificate.authorised_by.clone(),
                &certificate,
            )],
        )
        .await?;
    tracing::info!(
        destruction = %certificate.destruction_id,
        children = certificate.children.len(),
        "records destroyed under the retention schedule; certificate recorded"
    );
    Ok(certificate)
}

/// Every authorisation and certificate, in order: `(authorised, certified)`.
async fn load(state: &AppState) -> ApiResult<Vec<(DestructionCertificate, Option<DestructionCertificate>)>> {
    let records = state
        .journal
        .read_stream(&destructions_stream(), 1, usize::MAX)
        .await?;
    let mut out: Vec<(DestructionCertificate, Option<DestructionCertificate>)> = Vec::new();
    for record in records {
        match record.kind.as_str() {
            DESTRUCTION_AUTHORISED => {
                let mut authorised: DestructionCertificate = record.body_as()?;
                authorised.destruction_id = format!("destruction-{}", record.version);
                out.push((authorised, None));
            }
            DESTRUCTION_CERTIFIED => {
                let certified: DestructionCertificate = record.body_as()?;
                if let Some(entry) = out
                    .iter_mut()
                    .find(|(a, _)| a.destruction_id == certified.destruction_id)
                {
                    entry.1 = Some(certified);
                }
            }
            _ => {}
        }
    }
    Ok(out)
}

/// An authorisation of exactly these children whose certificate was never written (a crash after the keys
/// were destroyed, or before): destroys what is left and certifies it.
async fn complete_unfinished(
    state: &AppState,
    children: &[ChildId],
) -> ApiResult<Option<DestructionCertificate>> {
    let asked: BTreeSet<&ChildId> = children.iter().collect();
    for (authorised, certified) in load(state).await? {
        let named: BTreeSet<&ChildId> = authorised.children.iter().map(|c| &c.child_id).collect();
        if certified.is_none() && named == asked {
            let destruction = state
                .store
                .destroy_content(children.to_vec(), state.clock.now())
                .await?;
            return certify(state, authorised, &destruction).await.map(Some);
        }
    }
    Ok(None)
}

/// Every destruction certificate, and any authorisation not yet certified (`destroyed_at` absent), oldest
/// first. No personal data: children's ids, rules, dates and what of the log each record was. Records
/// officers and admins.
#[utoipa::path(
    get,
    path = "/v1/records/destructions",
    tag = "records",
    responses(
        (status = 200, body = Vec<DestructionCertificate>),
        (status = 401, response = Unauthorized),
        (status = 403, response = Forbidden),
        (status = 503, response = Unavailable),
    ),
    security(("bearer" = []))
)]
pub async fn list(
    State(state): State<AppState>,
    Auth(principal): Auth,
) -> ApiResult<Json<Vec<DestructionCertificate>>> {
    principal.require(Action::AuthoriseDestruction)?;
    Ok(Json(
        load(&state)
            .await?
            .into_iter()
            .map(|(authorised, certified)| certified.unwrap_or(authorised))
            .collect(),
    ))
}
