//! The harness: a router on an in-memory store and journal, one key per role (and a revoked one), a
//! synthetic child, and a `send` helper.

use std::collections::HashMap;
use std::sync::Arc;

use axum::Router;
use axum::body::Body;
use axum::http::{HeaderMap, Method, Request, StatusCode};
use http_body_util::BodyExt;
use journey_api::{AppState, Config, NewKey, Role};
use journey_core::ExpectedVersion;
use journey_core::journal::{Journal, MemoryJournal};
use journey_core::store::{EventStore, InMemoryStore};
use journey_core::{ManualClock, PrincipalId, testkit};
use serde_json::Value;
use tower::ServiceExt;

pub const CHILD: &str = "child-1";
/// Where the origins of the test logs' checkpoints start (`Harness::with_proofs`).
pub const PROOF_ORIGIN_BASE: &str = "journey.test/log";

/// One policy host for the whole test binary, as a server has one: each component compiles once.
pub fn shared_host() -> Arc<journey_plugins::Host> {
    static HOST: std::sync::OnceLock<Arc<journey_plugins::Host>> = std::sync::OnceLock::new();
    HOST.get_or_init(|| Arc::new(journey_plugins::Host::new(journey_plugins::HostConfig::default()).unwrap()))
        .clone()
}

/// A reference policy's deployment request, as the HTTP API takes it.
pub fn deploy_body(dir: &str, activate: bool) -> Value {
    use base64::Engine as _;
    let policy = journey_plugins::guests::REFERENCE_POLICIES
        .iter()
        .find(|p| p.dir == dir)
        .unwrap_or_else(|| panic!("no reference policy {dir}"));
    let request = journey_plugins::reference::deploy_request(policy).unwrap();
    serde_json::json!({
        "component_base64": base64::engine::general_purpose::STANDARD.encode(&request.component),
        "parameters": request.parameters,
        "effective_from": request.effective_from,
        "author": request.author,
        "examples": request.examples,
        "activate": activate,
    })
}
/// The agency of `testkit::source()`, and of the integrator's key.
pub const AGENCY: &str = "la.testshire";

pub struct Harness {
    pub state: AppState,
    pub app: Router,
    pub store: Arc<InMemoryStore>,
    /// The clock the state reads, to move on.
    pub clock: Arc<ManualClock>,
    pub tokens: HashMap<Role, String>,
    pub revoked: String,
    /// A key id for the revoke route to revoke (again and again: revoking is idempotent).
    pub spare_key_id: String,
}

pub struct Reply {
    pub status: StatusCode,
    pub headers: HeaderMap,
    pub body: Value,
    pub text: String,
}

impl Reply {
    pub fn content_type(&self) -> &str {
        self.headers
            .get("content-type")
            .and_then(|v| v.to_str().ok())
            .unwrap_or("")
    }

    /// Asserts this is a problem document with `status`, and returns it.
    pub fn problem(&self, status: u16) -> &Value {
        assert_eq!(self.status.as_u16(), status, "{}", self.text);
        assert_eq!(self.content_type(), "application/problem+json", "{}", self.text);
        assert_eq!(self.body["status"], status, "{}", self.text);
        assert!(
            self.body["type"]
                .as_str()
                .unwrap()
                .starts_with("urn:journey:problem:")
        );
        assert!(self.body["title"].is_string());
        &self.body
    }

    /// The field paths a problem names.
    pub fn fields(&self) -> Vec<String> {
        self.body["errors"]
            .as_array()
            .map(|a| {
                a.iter()
                    .map(|e| e["field"].as_str().unwrap().to_owned())
                    .collect()
            })
            .unwrap_or_default()
    }
}

impl Harness {
    pub async fn new() -> Harness {
        Harness::with_config(Config::default()).await
    }

    pub async fn with_config(config: Config) -> Harness {
        let clock = testkit::clock();
        let store = Arc::new(InMemoryStore::new(clock.clone()));
        Harness::with_store(config, clock, store.clone(), store).await
    }

    /// A harness whose router serves `served` (a wrapper around `store`, for fault injection).
    pub async fn with_store(
        config: Config,
        clock: Arc<ManualClock>,
        store: Arc<InMemoryStore>,
        served: Arc<dyn EventStore>,
    ) -> Harness {
        let journal = Arc::new(MemoryJournal::new(clock.clone()));
        Harness::with_parts(config, clock, store, served, journal).await
    }

    /// A harness on a given journal (a wrapper, for fault injection).
    pub async fn with_parts(
        config: Config,
        clock: Arc<ManualClock>,
        store: Arc<InMemoryStore>,
        served: Arc<dyn EventStore>,
        journal: Arc<dyn Journal>,
    ) -> Harness {
        let state = AppState::new(served, journal.clone(), clock.clone(), config);
        let bootstrap = PrincipalId::parse("bootstrap").unwrap();
        let mut tokens = HashMap::new();
        for role in Role::ALL {
            let agency = (role == Role::Integrator).then(|| AGENCY.parse().unwrap());
            let created = state
                .keys
                .create(
                    journal.as_ref(),
                    bootstrap.clone(),
                    NewKey {
                        name: PrincipalId::parse(format!("the-{role}")).unwrap(),
                        role,
                        agency,
                        reviews_only: false,
                    },
                )
                .await
                .unwrap();
            tokens.insert(role, created.token);
        }
        let revoke = |name: &str| {
            let state = state.clone();
            let journal = journal.clone();
            let bootstrap = bootstrap.clone();
            let name = name.to_owned();
            async move {
                let created = state
                    .keys
                    .create(
                        journal.as_ref(),
                        bootstrap.clone(),
                        NewKey {
                            name: PrincipalId::parse(name).unwrap(),
                            role: Role::Admin,
                            agency: None,
                            reviews_only: false,
                        },
                    )
                    .await
                    .unwrap();
                state
                    .keys
                    .revoke(journal.as_ref(), bootstrap, &created.key.key_id, None)
                    .await
                    .unwrap();
                created
            }
        };
        let revoked = revoke("revoked-admin").await.token;
        let spare_key_id = revoke("spare").await.key.key_id;
        // A child with a registration and a contact, recorded a day apart.
        store
            .append(testkit::append(
                CHILD,
                ExpectedVersion::NoStream,
                vec![testkit::registered("e-reg", "2015-06-01")],
            ))
            .await
            .unwrap();
        clock.advance_micros(86_400_000_000);
        store
            .append(testkit::append(
                CHILD,
                ExpectedVersion::Exact(journey_core::Version(1)),
                vec![testkit::contact("e-contact", "2023-12-20")],
            ))
            .await
            .unwrap();
        clock.advance_micros(86_400_000_000);
        let app = journey_api::router(state.clone());
        Harness {
            state,
            app,
            store,
            clock,
            tokens,
            revoked,
            spare_key_id,
        }
    }

    /// The harness with a policy registry on the same journal: the reference policies deployed and active,
    /// and one decision recorded (number 1, statutory-timescales for [`CHILD`]).
    pub async fn with_policies() -> Harness {
        use journey_plugins::registry::{EvaluateRequest, VersionSelector};
        let h = Harness::new().await;
        let registry = h.reference_registry().await;
        let by = PrincipalId::parse("bootstrap").unwrap();
        let now = journey_core::Clock::now(h.state.clock.as_ref());
        let decision = registry
            .evaluate(
                h.state.store.as_ref(),
                &EvaluateRequest {
                    policy: "statutory-timescales".into(),
                    child_id: CHILD.parse().unwrap(),
                    as_of: journey_core::view::AsOf::new(now.england_date(), now),
                    version: VersionSelector::InForce,
                    record: true,
                },
                &by,
            )
            .await
            .unwrap();
        assert_eq!(decision.decision, Some(1));
        h.with_registry(Arc::new(registry))
    }

    /// A policy registry on this harness's journal with the reference policies deployed and active (not yet
    /// given to the router: see [`Harness::with_registry`]).
    pub async fn reference_registry(&self) -> journey_plugins::registry::Registry {
        let registry = journey_plugins::registry::Registry::open(
            self.state.journal.clone(),
            Arc::new(journey_core::blobs::MemoryBlobStore::default()),
            shared_host(),
            journey_plugins::Calendar::england_and_wales().clone(),
            2,
        )
        .await
        .unwrap();
        let by = PrincipalId::parse("bootstrap").unwrap();
        for (dir, outcome) in journey_plugins::reference::deploy_all(&registry, &by).await {
            outcome.unwrap_or_else(|e| panic!("{dir}: {e}"));
        }
        registry
    }

    /// This harness with the proof service over its store (ADR 10): checkpoints signed with a fixed test key
    /// under the origin `journey.test/log/<log id>`, and `witnesses` test witnesses configured (named `w0`,
    /// `w1`...), whose cosigners are returned.
    pub fn with_proofs(mut self, witnesses: usize) -> (Harness, Vec<journey_core::tlog::Cosigner>) {
        use journey_core::proof::{OriginBase, Proofs, Witness};
        use journey_core::store::TreeStore;
        use journey_core::tlog::note::KeyName;
        use journey_core::tlog::{Cosigner, NoteSigner};
        let base = OriginBase::parse(PROOF_ORIGIN_BASE).unwrap();
        let signer = NoteSigner::from_seed(base.origin(self.store.log_id()).key_name(), &[7; 32]);
        let cosigners: Vec<Cosigner> = (0..witnesses)
            .map(|i| {
                Cosigner::from_seed(
                    KeyName::parse(format!("w{i}.test/witness")).unwrap(),
                    &[20 + i as u8; 32],
                )
            })
            .collect();
        let configured = cosigners
            .iter()
            .enumerate()
            .map(|(i, c)| Witness::new(format!("w{i}"), &c.verifier_key().to_string()).unwrap())
            .collect();
        let proofs = Proofs::new(
            self.store.clone(),
            &base,
            signer,
            configured,
            self.state.clock.clone(),
        )
        .unwrap();
        self.state = self.state.clone().with_proofs(Arc::new(proofs));
        self.app = journey_api::router(self.state.clone());
        (self, cosigners)
    }

    /// This harness serving `registry`.
    pub fn with_registry(mut self, registry: Arc<journey_plugins::registry::Registry>) -> Harness {
        self.state = self.state.clone().with_registry(registry);
        self.app = journey_api::router(self.state.clone());
        self
    }

    pub fn token(&self, role: Role) -> &str {
        &self.tokens[&role]
    }

    pub async fn send(&self, request: Request<Body>) -> Reply {
        let response = self.app.clone().oneshot(request).await.unwrap();
        let status = response.status();
        let headers = response.headers().clone();
        // A live feed never ends: its body is not read here (see `feed.rs`).
        let streaming = headers
            .get("content-type")
            .is_some_and(|v| v.to_str().unwrap_or("").starts_with("text/event-stream"));
        let bytes = if streaming {
            Default::default()
        } else {
            response.into_body().collect().await.unwrap().to_bytes()
        };
        let text = String::from_utf8_lossy(&bytes).into_owned();
        let body = serde_json::from_slice(&bytes).unwrap_or(Value::Null);
        Reply {
            status,
            headers,
            body,
            text,
        }
    }

    /// A request with an optional bearer token and JSON body.
    pub async fn call(&self, method: Method, uri: &str, token: Option<&str>, body: Option<Value>) -> Reply {
        self.send(request(method, uri, token, &[], body)).await
    }
}

pub fn request(
    method: Method,
    uri: &str,
    token: Option<&str>,
    headers: &[(&str, &str)],
    body: Option<Value>,
) -> Request<Body> {
    let mut builder = Request::builder().method(method).uri(uri);
    if let Some(token) = token {
        builder = builder.header("authorization", format!("Bearer {token}"));
    }
    for (name, value) in headers {
        builder = builder.header(*name, *value);
    }
    match body {
        // A string is sent as it is, as text (a witness's cosignature delivery); anything else as JSON.
        Some(Value::String(text)) => builder
            .header("content-type", "text/plain")
            .body(Body::from(text))
            .unwrap(),
        Some(body) => builder
            .header("content-type", "application/json")
            .body(Body::from(serde_json::to_vec(&body).unwrap()))
            .unwrap(),
        None => builder.body(Body::empty()).unwrap(),
    }
}

/// An event as JSON, as an integrator sends it.
pub fn event_json(event: &journey_core::NewEvent) -> Value {
    serde_json::to_value(event).unwrap()
}

/// An append body of one new contact for `CHILD`.
pub fn contact_body(event_id: &str) -> Value {
    serde_json::json!({ "events": [event_json(&testkit::contact(event_id, "2023-12-21"))] })
}

/// Records `child`, looked after from 2021 and adopted on 6 December 2023 (a sealed adoption record), who
/// continues as `<child>-new`.
pub async fn add_adopted_child(h: &Harness, child: &str) {
    let event = |id: &str, on: &str, kind: &str, data: Value| -> journey_core::NewEvent {
        serde_json::from_value(serde_json::json!({
            "event_id": id,
            "occurred_at": on,
            "source": {"agency": AGENCY, "system": "cms"},
            "type": kind,
            "data": data,
        }))
        .unwrap()
    };
    let events = vec![
        testkit::registered("ad-1", "2019-05-01"),
        event(
            "ad-2",
            "2021-02-01",
            "BecameLookedAfter",
            serde_json::json!({"legal_status": "C2", "category_of_need": "N1",
                   "placement": {"place_type": "U4", "provider": "PR1"}}),
        ),
        event(
            "ad-3",
            "2023-12-06",
            "CourtOrderMade",
            serde_json::json!({"order": "adoption_order"}),
        ),
        event(
            "ad-4",
            "2023-12-06",
            "CeasedToBeLookedAfter",
            serde_json::json!({"reason": "E11"}),
        ),
        event(
            "ad-5",
            "2023-12-07",
            "ContinuedUnderNewIdentity",
            serde_json::json!({"new_child_id": format!("{child}-new")}),
        ),
    ];
    h.store
        .append(testkit::append(child, ExpectedVersion::NoStream, events))
        .await
        .unwrap();
}
