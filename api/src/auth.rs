//! Principals, roles and API keys.
//!
//! A key is `jny_<key id>_<secret>`: the id (16 hex digits) names the key's record, the secret (64 hex digits,
//! 256 bits from the operating system's CSPRNG) is shown once at creation and never stored. The journal's
//! `keys` stream holds `ApiKeyCreated` records with the secret's SHA-256 and `ApiKeyRevoked` records; the
//! [`KeyRing`] is the in-memory view of that stream, caught up before every authentication, and compares
//! hashes in constant time.

use std::collections::BTreeMap;
use std::fmt;
use std::str::FromStr;
use std::sync::RwLock;

use axum::extract::FromRequestParts;
use axum::http::header;
use axum::http::request::Parts;
use journey_core::ExpectedVersion;
use journey_core::journal::{Journal, JournalRecord, NewRecord, SystemStream};
use journey_core::{AgencyId, FieldError, PrincipalId, Problems, Timestamp};
use rand::RngCore;
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use subtle::ConstantTimeEq;
use utoipa::ToSchema;

use crate::AppState;
use crate::error::ApiError;
use crate::session::{SessionEnded, SessionRead};

/// The journal stream of API keys.
pub const KEYS_STREAM: &str = "keys";
pub const KEY_CREATED: &str = "ApiKeyCreated";
pub const KEY_REVOKED: &str = "ApiKeyRevoked";
const TOKEN_PREFIX: &str = "jny_";

pub fn keys_stream() -> SystemStream {
    SystemStream::parse(KEYS_STREAM).expect("valid stream name")
}

/// What a key may do.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "kebab-case")]
pub enum Role {
    /// Appends events for the agency named on its key; reads nothing.
    Integrator,
    /// Works with policies only; no access to children's records.
    PolicyAuthor,
    /// Reads children's records (timelines, summaries, exports) with a stated purpose; places and lifts
    /// holds on destruction.
    Investigator,
    /// Keeps records for as long as the law says: lists the records due for destruction (naming each child
    /// by id with the rule, never the record's content) and places and lifts holds. Answers subject access
    /// requests: the only role that reads a child's record for a redacted bundle, each read access-logged
    /// with the request as its purpose; reads no record otherwise.
    RecordsOfficer,
    /// Everything, including keys and the access log, but opening sealed adoption records.
    Admin,
    /// Opens sealed adoption records, each time with a stated legal basis (`X-Journey-Legal-Basis`) and a
    /// purpose, both written to the access log; reads other children's records as an investigator does.
    /// The only role to which a sealed record exists (`crate::sealed`).
    SealedRecords,
}

impl Role {
    pub const ALL: [Role; 6] = [
        Role::Integrator,
        Role::PolicyAuthor,
        Role::Investigator,
        Role::RecordsOfficer,
        Role::Admin,
        Role::SealedRecords,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Role::Integrator => "integrator",
            Role::PolicyAuthor => "policy-author",
            Role::Investigator => "investigator",
            Role::RecordsOfficer => "records-officer",
            Role::Admin => "admin",
            Role::SealedRecords => "sealed-records",
        }
    }
}

impl fmt::Display for Role {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for Role {
    type Err = FieldError;
    fn from_str(s: &str) -> Result<Role, FieldError> {
        Role::ALL.into_iter().find(|r| r.as_str() == s).ok_or_else(|| {
            let roles: Vec<&str> = Role::ALL.iter().map(|r| r.as_str()).collect();
            FieldError::new("role", format!("must be one of {} (got {s:?})", roles.join(", ")))
        })
    }
}

/// Something a request does, checked against the principal's role.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Action {
    /// Append events to a child's stream.
    AppendEvents,
    /// Read one child's record (events, summary, chronology, export, timeline).
    ReadChild,
    /// Read the whole log or follow it.
    ReadLog,
    /// Verify the log's integrity (no child's data in the answer).
    Verify,
    /// Create, list and revoke keys.
    ManageKeys,
    /// Query the access log.
    ReadAccessLog,
    /// Deploy, test and manage policies.
    ManagePolicies,
    /// Evaluate a policy for one child (reads the child's record).
    EvaluatePolicy,
    /// Produce a statutory return (SSDA903, CIN census, Annex A): child-level data about every child, for
    /// the authority's data team.
    ProduceReturns,
    /// Read the timeliness measures: counts by month and team, naming no child.
    ReadMeasures,
    /// Have a checkpoint of the log signed now (`POST /v1/checkpoints`).
    SignCheckpoint,
    /// Place, lift and list holds on the destruction of a child's record (no content of the record).
    ManageHolds,
    /// List the records due for destruction under the retention policy in force: each child's id, the
    /// rule and its dates, never the record's content.
    ReviewRetention,
    /// Authorise the destruction of records due under the retention policy in force, and list the
    /// destruction certificates (never the records' content).
    AuthoriseDestruction,
    /// Open a sealed adoption record, with a legal basis (`crate::sealed`).
    OpenSealedRecords,
    /// Create child safeguarding practice reviews (`crate::reviews`): admins.
    ManageReviews,
    /// Read the reviews that name one's key, and their family chronology: investigators (and admins, all).
    ReadReviews,
    /// Add and remove the decision points of the reviews that name one's key: investigators (and admins, of
    /// every review).
    WorkOnReviews,
    /// Record subject access requests and their decisions, make the redacted bundle and release it
    /// (`crate::subject_access`): every child's record it covers is read, access-logged with the request as
    /// the purpose.
    HandleSubjectAccess,
    /// List candidate duplicate records (children's ids and why they may be one child): admins, who merge.
    FindDuplicates,
    /// Merge two records found to be one child, undo a merge, list merges (`crate::merges`): admins.
    MergeRecords,
}

impl Role {
    pub fn may(self, action: Action) -> bool {
        use Action::*;
        match self {
            // Sealed adoption records are opened by named officers only, never by an administrator; subject
            // access bundles are prepared and released by records officers alone.
            Role::Admin => !matches!(action, OpenSealedRecords | HandleSubjectAccess),
            Role::Integrator => matches!(action, AppendEvents),
            Role::PolicyAuthor => matches!(action, ManagePolicies),
            Role::Investigator => {
                matches!(
                    action,
                    ReadChild
                        | Verify
                        | EvaluatePolicy
                        | ReadMeasures
                        | ManageHolds
                        | ReadReviews
                        | WorkOnReviews
                )
            }
            Role::RecordsOfficer => matches!(
                action,
                ManageHolds | ReviewRetention | AuthoriseDestruction | HandleSubjectAccess
            ),
            Role::SealedRecords => matches!(action, ReadChild | OpenSealedRecords),
        }
    }
}

/// An authenticated caller.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Principal {
    pub key_id: String,
    /// The key's name: what `recorded_by` and the access log show.
    pub name: PrincipalId,
    pub role: Role,
    /// The agency an integrator's key writes for.
    pub agency: Option<AgencyId>,
    /// An investigator's key scoped to reviews: it reads only the children of the reviews that name it
    /// (`crate::reviews`) and is refused everywhere else.
    pub reviews_only: bool,
}

impl Principal {
    /// The operator at the machine, holding the data directory and its key-encryption key: the one caller
    /// to whom the whole log is shown, sealed adoption records included (a log export must be complete).
    pub fn is_local_operator(&self) -> bool {
        self.key_id == LOCAL_OPERATOR_KEY_ID
    }

    /// Refuses (403) unless the role allows `action`.
    pub fn require(&self, action: Action) -> Result<(), ApiError> {
        if self.reviews_only
            && !matches!(
                action,
                Action::ReadChild | Action::ReadReviews | Action::WorkOnReviews
            )
        {
            return Err(ApiError::forbidden(
                "a key scoped to reviews reads the children of its reviews, works on its reviews, and nothing else",
            ));
        }
        if self.role.may(action) {
            Ok(())
        } else {
            Err(ApiError::forbidden(format!(
                "a key with role {} may not do this",
                self.role
            )))
        }
    }
}

/// The body of an `ApiKeyCreated` record. The secret itself is never stored.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct KeyCreated {
    pub key_id: String,
    pub name: PrincipalId,
    pub role: Role,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub agency: Option<AgencyId>,
    /// SHA-256 of the secret, hex.
    pub secret_sha256: String,
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub reviews_only: bool,
}

/// The body of an `ApiKeyRevoked` record.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct KeyRevoked {
    pub key_id: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
}

/// What anyone may see about a key: never its secret or hash.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct KeyInfo {
    pub key_id: String,
    #[schema(value_type = String)]
    pub name: PrincipalId,
    pub role: Role,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schema(value_type = Option<String>)]
    pub agency: Option<AgencyId>,
    #[schema(value_type = String, format = DateTime)]
    pub created_at: Timestamp,
    #[schema(value_type = String)]
    pub created_by: PrincipalId,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schema(value_type = Option<String>, format = DateTime)]
    pub revoked_at: Option<Timestamp>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schema(value_type = Option<String>)]
    pub revoked_by: Option<PrincipalId>,
    /// Scoped to reviews: reads only the children of the reviews that name it.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub reviews_only: bool,
}

impl KeyInfo {
    pub fn is_active(&self) -> bool {
        self.revoked_at.is_none()
    }

    fn principal(&self) -> Principal {
        Principal {
            key_id: self.key_id.clone(),
            name: self.name.clone(),
            role: self.role,
            agency: self.agency.clone(),
            reviews_only: self.reviews_only,
        }
    }
}

/// A new key: its description and the token, shown this once.
#[derive(Clone, Debug, Serialize, Deserialize, ToSchema)]
pub struct CreatedKey {
    pub key: KeyInfo,
    /// The bearer token. It is not stored anywhere: keep it now.
    pub token: String,
}

/// A request for a new key.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewKey {
    /// Who or what the key is for; becomes `recorded_by` on what it writes.
    #[schema(value_type = String, example = "mosaic-coventry")]
    pub name: PrincipalId,
    pub role: Role,
    /// Required for integrators (the agency the key writes for); refused for other roles.
    #[serde(default)]
    #[schema(value_type = Option<String>, example = "la.coventry")]
    pub agency: Option<AgencyId>,
    /// For an investigator's key only: scope it to reviews, so that it reads only the children of the reviews
    /// that name it and is refused everywhere else.
    #[serde(default)]
    pub reviews_only: bool,
}

#[derive(Debug)]
struct Entry {
    info: KeyInfo,
    hash: [u8; 32],
}

#[derive(Debug, Default)]
struct RingState {
    /// The `keys` stream version this view has caught up to.
    version: u64,
    keys: BTreeMap<String, Entry>,
}

/// The keys as the journal's `keys` stream says they are.
#[derive(Debug, Default)]
pub struct KeyRing {
    state: RwLock<RingState>,
}

fn secret_hash(secret: &str) -> [u8; 32] {
    let mut h = Sha256::new();
    h.update(b"journey/api-key/v1\0");
    h.update(secret.as_bytes());
    h.finalize().into()
}

/// Why a well-formed token was refused when its key id is not known (also: a wrong secret, which is not told
/// apart, so that ids cannot be probed).
pub(crate) const UNKNOWN_KEY: &str = "unknown API key";

/// Splits a token into key id and secret, if it has the right shape.
fn parse_token(token: &str) -> Option<(&str, &str)> {
    let rest = token.strip_prefix(TOKEN_PREFIX)?;
    let (id, secret) = rest.split_once('_')?;
    let hex = |s: &str, n: usize| s.len() == n && s.bytes().all(|b| b.is_ascii_hexdigit());
    (hex(id, 16) && hex(secret, 64)).then_some((id, secret))
}

impl KeyRing {
    pub fn new() -> KeyRing {
        KeyRing::default()
    }

    fn read(&self) -> std::sync::RwLockReadGuard<'_, RingState> {
        self.state
            .read()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    fn write(&self) -> std::sync::RwLockWriteGuard<'_, RingState> {
        self.state
            .write()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    /// Reads the records of the `keys` stream this view has not seen yet.
    pub async fn refresh(&self, journal: &dyn Journal) -> Result<(), ApiError> {
        self.catch_up(journal, false).await
    }

    /// Reads the journal itself for keys this server has not seen (another server may have just created one).
    pub(crate) async fn catch_up_now(&self, journal: &dyn Journal) -> Result<(), ApiError> {
        self.catch_up(journal, true).await
    }

    /// `journal.stream_version` is a cheap check, but on a journal shared by several servers it may lag a
    /// record another server has just written; `ask_journal` reads the journal itself regardless.
    async fn catch_up(&self, journal: &dyn Journal, mut ask_journal: bool) -> Result<(), ApiError> {
        let stream = keys_stream();
        loop {
            let seen = self.read().version;
            if !std::mem::take(&mut ask_journal) && journal.stream_version(&stream) <= seen {
                return Ok(());
            }
            let records = journal.read_stream(&stream, seen + 1, 1024).await?;
            if records.is_empty() {
                return Ok(());
            }
            let mut state = self.write();
            for record in records {
                if record.version != state.version + 1 {
                    continue; // Another task applied it meanwhile.
                }
                apply(&mut state, &record)?;
                state.version = record.version;
            }
        }
    }

    /// The principal holding `token`, if it is a live key.
    pub fn authenticate(&self, token: &str) -> Result<Principal, ApiError> {
        let Some((key_id, secret)) = parse_token(token) else {
            return Err(ApiError::Unauthenticated(
                "the bearer token is not a Journey API key",
            ));
        };
        let state = self.read();
        let presented = secret_hash(secret);
        // Compare against a dummy hash when the id is unknown, so timing does not tell ids apart.
        let (stored, entry) = match state.keys.get(key_id) {
            Some(entry) => (entry.hash, Some(entry)),
            None => ([0u8; 32], None),
        };
        let matches: bool = presented.ct_eq(&stored).into();
        match entry {
            Some(entry) if matches => {
                if !entry.info.is_active() {
                    return Err(ApiError::Unauthenticated("this API key has been revoked"));
                }
                Ok(entry.info.principal())
            }
            _ => Err(ApiError::Unauthenticated(UNKNOWN_KEY)),
        }
    }

    /// Every key, oldest first.
    pub fn list(&self) -> Vec<KeyInfo> {
        let mut keys: Vec<KeyInfo> = self.read().keys.values().map(|e| e.info.clone()).collect();
        keys.sort_by(|a, b| a.created_at.cmp(&b.created_at).then(a.key_id.cmp(&b.key_id)));
        keys
    }

    /// The principal of a live key, by id (for a browser session, which holds the key's id, not its secret).
    pub fn principal(&self, key_id: &str) -> Result<Principal, ApiError> {
        match self.read().keys.get(key_id) {
            Some(entry) if entry.info.is_active() => Ok(entry.info.principal()),
            Some(_) => Err(ApiError::Unauthenticated(
                "the API key this session signed in with has been revoked",
            )),
            None => Err(ApiError::Unauthenticated(UNKNOWN_KEY)),
        }
    }

    pub fn get(&self, key_id: &str) -> Option<KeyInfo> {
        self.read().keys.get(key_id).map(|e| e.info.clone())
    }

    /// Creates a key: records its hash in the journal (only if nobody changed the keys meanwhile) and returns
    /// the token, which exists nowhere else.
    pub async fn create(
        &self,
        journal: &dyn Journal,
        by: PrincipalId,
        request: NewKey,
    ) -> Result<CreatedKey, ApiError> {
        let mut problems = Problems::new();
        match (request.role, &request.agency) {
            (Role::Integrator, None) => problems.push("agency", "an integrator's key must name its agency"),
            (Role::Integrator, Some(_)) | (_, None) => {}
            (_, Some(_)) => problems.push("agency", "only an integrator's key names an agency"),
        }
        if request.reviews_only && request.role != Role::Investigator {
            problems.push("reviews_only", "only an investigator's key is scoped to reviews");
        }
        problems.into_result()?;
        self.refresh(journal).await?;
        let version = {
            let state = self.read();
            if state
                .keys
                .values()
                .any(|e| e.info.is_active() && e.info.name == request.name)
            {
                return Err(ApiError::ConflictDetail(format!(
                    "an active key is already named {}",
                    request.name
                )));
            }
            state.version
        };
        let mut id = [0u8; 8];
        let mut secret = [0u8; 32];
        {
            // ThreadRng is not Send: fill and drop it before any await.
            let mut rng = rand::rng();
            rng.fill_bytes(&mut id);
            rng.fill_bytes(&mut secret);
        }
        let (key_id, secret) = (hex::encode(id), hex::encode(secret));
        let body = KeyCreated {
            key_id: key_id.clone(),
            name: request.name,
            role: request.role,
            agency: request.agency,
            secret_sha256: hex::encode(secret_hash(&secret)),
            reviews_only: request.reviews_only,
        };
        let expected = if version == 0 {
            ExpectedVersion::NoStream
        } else {
            ExpectedVersion::Exact(journey_core::Version(version))
        };
        journal
            .append(
                &keys_stream(),
                expected,
                vec![NewRecord::new(KEY_CREATED, by, &body)],
            )
            .await?;
        self.refresh(journal).await?;
        let key = self
            .get(&key_id)
            .ok_or_else(|| ApiError::Internal(format!("key {key_id} missing after creation")))?;
        Ok(CreatedKey {
            key,
            token: format!("{TOKEN_PREFIX}{key_id}_{secret}"),
        })
    }

    /// Revokes a key. Revoking a key already revoked changes nothing and answers as before.
    pub async fn revoke(
        &self,
        journal: &dyn Journal,
        by: PrincipalId,
        key_id: &str,
        reason: Option<String>,
    ) -> Result<KeyInfo, ApiError> {
        self.refresh(journal).await?;
        let (info, version) = {
            let state = self.read();
            let info = state
                .keys
                .get(key_id)
                .map(|e| e.info.clone())
                .ok_or_else(|| ApiError::NotFound(format!("no API key {key_id}")))?;
            (info, state.version)
        };
        if !info.is_active() {
            return Ok(info);
        }
        let body = KeyRevoked {
            key_id: key_id.to_owned(),
            reason,
        };
        journal
            .append(
                &keys_stream(),
                ExpectedVersion::Exact(journey_core::Version(version)),
                vec![NewRecord::new(KEY_REVOKED, by, &body)],
            )
            .await?;
        self.refresh(journal).await?;
        self.get(key_id)
            .ok_or_else(|| ApiError::Internal(format!("key {key_id} missing after revocation")))
    }
}

fn apply(state: &mut RingState, record: &JournalRecord) -> Result<(), ApiError> {
    match record.kind.as_str() {
        KEY_CREATED => {
            let body: KeyCreated = record.body_as()?;
            let mut hash = [0u8; 32];
            hex::decode_to_slice(&body.secret_sha256, &mut hash).map_err(|e| {
                ApiError::Internal(format!("key record {}: bad secret_sha256: {e}", record.sequence))
            })?;
            state.keys.insert(
                body.key_id.clone(),
                Entry {
                    info: KeyInfo {
                        key_id: body.key_id,
                        name: body.name,
                        role: body.role,
                        agency: body.agency,
                        created_at: record.recorded_at,
                        created_by: record.recorded_by.clone(),
                        revoked_at: None,
                        revoked_by: None,
                        reviews_only: body.reviews_only,
                    },
                    hash,
                },
            );
        }
        KEY_REVOKED => {
            let body: KeyRevoked = record.body_as()?;
            if let Some(entry) = state.keys.get_mut(&body.key_id)
                && entry.info.revoked_at.is_none()
            {
                entry.info.revoked_at = Some(record.recorded_at);
                entry.info.revoked_by = Some(record.recorded_by.clone());
            }
        }
        other => tracing::warn!(kind = other, "unknown record kind in the keys stream"),
    }
    Ok(())
}

/// The authenticated principal of a request: `Authorization: Bearer <key>`, checked against the key ring
/// (caught up with the journal first, so a key revoked a moment ago is refused).
#[derive(Clone, Debug)]
pub struct Auth(pub Principal);

/// The operator at the machine, for a router driven in the same process (`journey` on a data directory):
/// the request carries this principal as an extension instead of a key. Only code in the process can put
/// a Rust value into a request's extensions, so nothing that arrives over the network can claim it.
#[derive(Clone, Debug)]
pub struct LocalOperator(pub Principal);

/// The key id of the operator at the machine ([`LocalOperator`]): no API key has it (theirs are random hex).
pub const LOCAL_OPERATOR_KEY_ID: &str = "local";

impl FromRequestParts<AppState> for Auth {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Auth, ApiError> {
        if let Some(LocalOperator(operator)) = parts.extensions.get::<LocalOperator>() {
            return Ok(Auth(operator.clone()));
        }
        let Some(value) = parts.headers.get(header::AUTHORIZATION) else {
            // A browser signed in at /login: a read stands for the session's key while it is live.
            if let Some(session) = parts.extensions.get::<SessionRead>() {
                state.keys.refresh(state.journal.as_ref()).await?;
                return state.keys.principal(&session.key_id).map(Auth);
            }
            if parts.extensions.get::<SessionEnded>().is_some() {
                return Err(ApiError::Unauthenticated(
                    "your session has ended: sign in again at /login",
                ));
            }
            return Err(ApiError::Unauthenticated(
                "send an API key: Authorization: Bearer <key>",
            ));
        };
        let token = value
            .to_str()
            .ok()
            .and_then(|v| {
                let (scheme, token) = v.split_once(' ')?;
                scheme.eq_ignore_ascii_case("bearer").then(|| token.trim())
            })
            .ok_or(ApiError::Unauthenticated(
                "the Authorization header must be: Bearer <key>",
            ))?;
        state.keys.refresh(state.journal.as_ref()).await?;
        match state.keys.authenticate(token) {
            // A key this server has not seen may have just been created through another server sharing the
            // journal (issue #6): read the journal itself once before refusing it.
            Err(ApiError::Unauthenticated(UNKNOWN_KEY)) => {
                state.keys.catch_up(state.journal.as_ref(), true).await?;
                state.keys.authenticate(token).map(Auth)
            }
            outcome => outcome.map(Auth),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tokens_have_one_shape() {
        let id = "0123456789abcdef";
        let secret = "a".repeat(64);
        assert_eq!(
            parse_token(&format!("jny_{id}_{secret}")),
            Some((id, secret.as_str()))
        );
        assert_eq!(parse_token(&format!("jny_{id}_{}", "a".repeat(63))), None);
        assert_eq!(parse_token(&format!("xyz_{id}_{secret}")), None);
        assert_eq!(parse_token(""), None);
    }

    #[test]
    fn roles_parse_and_print_alike() {
        for role in Role::ALL {
            assert_eq!(role.as_str().parse::<Role>().unwrap(), role);
            assert_eq!(serde_json::to_value(role).unwrap(), role.as_str());
        }
        assert!("root".parse::<Role>().is_err());
    }
}
