//! The problem responses of the OpenAPI document, described once and referenced from every route
//! (`#/components/responses/...`): `(status = 404, response = NotFound)` in a handler's `#[utoipa::path]`.
//! A route whose refusal means something of its own (a 409 on append is a wrong expected version) keeps an
//! inline response with its own description.

use utoipa::ToResponse;

use crate::error::Problem;

/// The request cannot be understood: a malformed query parameter, header, path segment or JSON body.
/// The problem names the field and the rule.
#[derive(Debug, ToResponse)]
#[response(content_type = "application/problem+json")]
#[allow(dead_code)] // Describes a response in the OpenAPI document.
pub struct BadRequest(Problem);

/// No valid API key (none, malformed, unknown or revoked).
#[derive(Debug, ToResponse)]
#[response(content_type = "application/problem+json")]
#[allow(dead_code)]
pub struct Unauthorized(Problem);

/// The key's role (or agency) does not allow this.
#[derive(Debug, ToResponse)]
#[response(content_type = "application/problem+json")]
#[allow(dead_code)]
pub struct Forbidden(Problem);

/// Nothing is there: no such child (as known at the instant asked about), policy, version, decision, key,
/// table or list.
#[derive(Debug, ToResponse)]
#[response(content_type = "application/problem+json")]
#[allow(dead_code)]
pub struct NotFound(Problem);

/// The request conflicts with the state of things: a store that keeps content in the clear asked to erase.
#[derive(Debug, ToResponse)]
#[response(content_type = "application/problem+json")]
#[allow(dead_code)]
pub struct Conflict(Problem);

/// The body is larger than the configured limit.
#[derive(Debug, ToResponse)]
#[response(content_type = "application/problem+json")]
#[allow(dead_code)]
pub struct PayloadTooLarge(Problem);

/// The body is not JSON (send `Content-Type: application/json`).
#[derive(Debug, ToResponse)]
#[response(content_type = "application/problem+json")]
#[allow(dead_code)]
pub struct UnsupportedMediaType(Problem);

/// Well-formed, but breaks one or more rules, each with its field path.
#[derive(Debug, ToResponse)]
#[response(content_type = "application/problem+json")]
#[allow(dead_code)]
pub struct Unprocessable(Problem);

/// The server cannot serve this now (no policy host, the store failed and must be reopened, shutting
/// down); `Retry-After` says when to try again.
#[derive(Debug, ToResponse)]
#[response(content_type = "application/problem+json")]
#[allow(dead_code)]
pub struct Unavailable(Problem);

/// The proof routes' refusal without a key: only where the operator set `[checkpoint] public = false`.
#[derive(Debug, ToResponse)]
#[response(
    description = "Only with `[checkpoint] public = false` and no valid key",
    content_type = "application/problem+json"
)]
#[allow(dead_code)]
pub struct UnauthorizedWhenPrivate(Problem);

/// A proof route on a server that keeps no tree (`Retry-After`).
#[derive(Debug, ToResponse)]
#[response(
    description = "This server keeps no tree (`Retry-After`)",
    content_type = "application/problem+json"
)]
#[allow(dead_code)]
pub struct NoTree(Problem);

/// A proof route while the tree is rebuilt from the log, or on a server that keeps none (`Retry-After`).
#[derive(Debug, ToResponse)]
#[response(
    description = "The tree is being rebuilt from the log, or this server keeps none (`Retry-After`)",
    content_type = "application/problem+json"
)]
#[allow(dead_code)]
pub struct TreeUnavailable(Problem);
