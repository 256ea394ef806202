//! The handlers, grouped by what they serve, and the OpenAPI document's frame.

use utoipa::openapi::security::{HttpAuthScheme, HttpBuilder, SecurityScheme};
use utoipa::{Modify, OpenApi};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::AppState;

pub mod admin;
pub mod children;
pub mod destructions;
pub mod duplicates;
pub mod log;
pub mod login;
pub mod measures;
pub mod merges;
pub mod ops;
pub mod policies;
pub mod proof;
pub mod records;
pub mod returns;
pub mod review_decisions;
pub mod reviews;
pub mod subject_access;
pub mod timeline;

/// Walks the whole log in position order, a page at a time, handing each record to `visit` until it breaks:
/// what every route that looks through all the children's records (a dry run's children, the duplicate
/// search, a subject access request about a person) reads it with.
pub(crate) async fn each_logged(
    store: &dyn journey_core::store::EventStore,
    visit: impl FnMut(journey_core::RecordedEvent) -> std::ops::ControlFlow<()>,
) -> crate::error::ApiResult<()> {
    each_logged_from(store, journey_core::Position::FIRST, visit).await?;
    Ok(())
}

/// [`each_logged`] from position `from` on; the position after the last record handed to `visit`
/// (`from` when there was none). What the indexes caught up from the log (sealed records, merges) read
/// each new part of it with.
pub(crate) async fn each_logged_from(
    store: &dyn journey_core::store::EventStore,
    mut from: journey_core::Position,
    mut visit: impl FnMut(journey_core::RecordedEvent) -> std::ops::ControlFlow<()>,
) -> crate::error::ApiResult<journey_core::Position> {
    const PAGE: usize = 4096;
    loop {
        let page = store.read_all(from, PAGE).await?;
        // A short page is the end of the log (`read_all` counts only the records it returns).
        let last_page = page.len() < PAGE;
        for event in page {
            from = event.envelope.position.next();
            if visit(event).is_break() {
                return Ok(from);
            }
        }
        if last_page {
            return Ok(from);
        }
    }
}

#[derive(OpenApi)]
#[openapi(
    info(
        title = "Journey",
        description = "A durable, bitemporal, tamper-evident record of each child's journey through children's \
            social care. Every refusal is an RFC 9457 problem (`application/problem+json`). Authenticate with \
            `Authorization: Bearer <API key>`; investigators state the purpose of every read in \
            `X-Journey-Purpose`, and every read of a child's record is written to the access log before it \
            is answered.",
        license(name = "Apache-2.0", identifier = "Apache-2.0")
    ),
    modifiers(&BearerAuth),
    // The tile route is a wildcard (`tile/{L}/{N}[.p/{W}]`), registered by hand in `all()`.
    paths(proof::tile),
    // Referenced only from inside the hand-written schemas of `crate::schemas`.
    components(
        schemas(crate::schemas::Source, crate::schemas::AsOf, crate::schemas::LogHead),
        // The problem responses every route refers to (`crate::responses`).
        responses(
            crate::responses::BadRequest,
            crate::responses::Unauthorized,
            crate::responses::Forbidden,
            crate::responses::NotFound,
            crate::responses::Conflict,
            crate::responses::PayloadTooLarge,
            crate::responses::UnsupportedMediaType,
            crate::responses::Unprocessable,
            crate::responses::Unavailable,
            crate::responses::UnauthorizedWhenPrivate,
            crate::responses::NoTree,
            crate::responses::TreeUnavailable
        )
    ),
    tags(
        (name = "children", description = "Appending to and reading one child's record"),
        (name = "log", description = "The whole log: pages, the live feed, verification"),
        (name = "policies", description = "Policy versions: deploy, activate, retire, test, dry-run, evaluate and replay"),
        (name = "admin", description = "API keys and the access log"),
        (name = "records", description = "Records management: holds on destruction, and the records due for destruction under the retention policy in force"),
        (name = "reviews", description = "Child safeguarding practice reviews: the subject children, the investigators, the family chronology, and what was known at each decision"),
        (name = "subject access", description = "Subject access requests (UK GDPR Art. 15): the request, its deadline, reviewers' decisions, the redacted bundle and its release; records officers only"),
        (name = "returns", description = "Statutory returns and timeliness measures, from the record as it stood at an instant"),
        (name = "browser", description = "Signing in and out with a browser, for the timeline page"),
        (name = "proof", description = "Proof an outsider can check: signed checkpoints, witnesses' cosignatures, tiles of the Merkle tree, inclusion and consistency proofs (C2SP formats)"),
        (name = "operations", description = "Health, readiness and metrics")
    )
)]
struct ApiDoc;

struct BearerAuth;

impl Modify for BearerAuth {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        let components = openapi.components.get_or_insert_with(Default::default);
        components.add_security_scheme(
            "bearer",
            SecurityScheme::Http(
                HttpBuilder::new()
                    .scheme(HttpAuthScheme::Bearer)
                    .description(Some("A Journey API key: jny_<key id>_<secret>"))
                    .build(),
            ),
        );
    }
}

/// Every route with its description. The policy routes (and the timeline page) join here, e.g.
/// `.merge(crate::policies::routes())`; a handler reading a child's record calls
/// [`crate::access::authorize_read`] before reading.
pub fn all() -> OpenApiRouter<AppState> {
    OpenApiRouter::with_openapi(ApiDoc::openapi())
        .routes(routes!(children::append_events, children::read_events))
        .routes(routes!(children::summary))
        .routes(routes!(children::chronology))
        .routes(routes!(children::export))
        .routes(routes!(children::identities))
        .routes(routes!(timeline::timeline))
        .routes(routes!(login::login_page, login::login))
        .routes(routes!(login::logout))
        .routes(routes!(policies::deploy, policies::list))
        .routes(routes!(policies::get_version))
        .routes(routes!(policies::activate))
        .routes(routes!(policies::retire))
        .routes(routes!(policies::test))
        .routes(routes!(policies::dry_run))
        .routes(routes!(policies::evaluate))
        .routes(routes!(policies::replay))
        .routes(routes!(log::read_log))
        .routes(routes!(log::feed))
        .routes(routes!(log::verify))
        .routes(routes!(returns::ssda903_return))
        .routes(routes!(returns::ssda903_table))
        .routes(routes!(returns::cin_census))
        .routes(routes!(returns::annex_a_lists))
        .routes(routes!(returns::annex_a_workbook))
        .routes(routes!(returns::annex_a_list))
        .routes(routes!(measures::measures))
        .routes(routes!(measures::section))
        .routes(routes!(measures::report))
        .routes(routes!(admin::create_key, admin::list_keys))
        .routes(routes!(admin::revoke_key))
        .routes(routes!(admin::access_log))
        .routes(routes!(records::place_hold, records::list_holds))
        .routes(routes!(records::lift_hold))
        .routes(routes!(records::due))
        .routes(routes!(duplicates::duplicates))
        .routes(routes!(merges::merge))
        .routes(routes!(merges::unmerge))
        .routes(routes!(merges::list))
        .routes(routes!(destructions::authorise, destructions::list))
        .routes(routes!(reviews::create, reviews::list))
        .routes(routes!(reviews::get))
        .routes(routes!(reviews::chronology))
        .routes(routes!(review_decisions::list, review_decisions::add))
        .routes(routes!(review_decisions::get))
        .routes(routes!(review_decisions::remove))
        .routes(routes!(subject_access::create, subject_access::list))
        .routes(routes!(subject_access::get))
        .routes(routes!(subject_access::extend))
        .routes(routes!(subject_access::disclosure))
        .routes(routes!(subject_access::withhold))
        .routes(routes!(subject_access::reinstate))
        .routes(routes!(subject_access::read_bundle))
        .routes(routes!(subject_access::schedule))
        .routes(routes!(subject_access::release))
        .routes(routes!(proof::latest))
        .routes(routes!(proof::vkey))
        .routes(routes!(proof::at_size))
        .routes(routes!(proof::consistency))
        .routes(routes!(proof::inclusion))
        .routes(routes!(proof::cosignatures))
        .routes(routes!(proof::sign))
        .route("/tile/{*path}", axum::routing::get(proof::tile))
        .routes(routes!(ops::healthz))
        .routes(routes!(ops::readyz))
        .routes(routes!(ops::metrics))
}
