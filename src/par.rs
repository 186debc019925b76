//! Pushed authorization requests (RFC 9126; PAR-01..PAR-07): the client posts its
//! authorization request over an authenticated back channel and gets a `request_uri`; the
//! browser then carries only `client_id` and that `request_uri`.
//!
//! The `request_uri` is `urn:ietf:params:oauth:request_uri:` followed by 256 random bits; the
//! store keeps only the SHA-256 digest of that random part, like every other secret value. The
//! first load at the authorization endpoint must come before `expires_in` runs out; completing
//! the authorization (approve or deny) consumes it, so a user who reloads the consent page or
//! signs in slowly is not refused, and a second completion is.

use sha2::{Digest, Sha256};
use time::Duration;

use crate::authorize;
use crate::config::ServerConfig;
use crate::error::{ErrorCode, error_body};
use crate::http::{Params, Request, Response};
use crate::token::{TokenError, read_form_post};
use crate::types::TokenHash;

/// The prefix of every `request_uri` this server issues (RFC 9126 §2.2).
pub(crate) const REQUEST_URI_PREFIX: &str = "urn:ietf:params:oauth:request_uri:";

/// How long after its `expires_in` a pushed request that was loaded in time may still be
/// completed: the sign-in and consent round-trip (PAR-06).
pub(crate) const COMPLETION_WINDOW: Duration = Duration::minutes(10);

/// The parameters a pushed request may carry once each: the authorization request's, the
/// client authentication's, and `request_uri` (refused, PAR-02).
const DEFINED: [&str; 12] = [
    authorize::DEFINED[0],
    authorize::DEFINED[1],
    authorize::DEFINED[2],
    authorize::DEFINED[3],
    authorize::DEFINED[4],
    authorize::DEFINED[5],
    authorize::DEFINED[6],
    authorize::DEFINED[7],
    "client_secret",
    "client_assertion",
    "client_assertion_type",
    "request_uri",
];

// The list above copies the authorization endpoint's by index: a parameter added there must be
// added here too, or a pushed request could repeat it unnoticed.
const _: () = assert!(authorize::DEFINED.len() == 8, "update par::DEFINED with the new parameter");

/// Reads a pushed request (PAR-01, PAR-02): a form POST, parameters in the body only, each
/// once, and no `request_uri` (a pushed request cannot point at another).
pub(crate) fn read<'a>(request: &Request<'a>, config: &ServerConfig) -> Result<Params<'a>, TokenError> {
    let params = read_form_post(request, config, &DEFINED, &authorize::REPEATABLE)?;
    if params.get("request_uri").ok().flatten().is_some() {
        return Err(TokenError::InvalidRequest("request_uri must not be sent in a pushed authorization request"));
    }
    Ok(params)
}

/// The digest a `request_uri` is stored under, or `None` for a value this server never
/// issues (wrong prefix, not 43 base64url characters).
pub(crate) fn digest(request_uri: &str) -> Option<TokenHash> {
    let random = request_uri.strip_prefix(REQUEST_URI_PREFIX)?;
    let well_formed = random.len() == 43 && crate::bytes::BASE64URL.contains_all(random.as_bytes());
    well_formed.then(|| TokenHash::of(random))
}

/// The single-use claim keys of one `request_uri`: `loaded` marks that it was loaded while
/// unexpired; `completed` that its authorization completed.
pub(crate) fn claim_key(digest: &TokenHash, what: &str) -> TokenHash {
    let mut hasher = Sha256::new();
    hasher.update(b"pushed-request\0");
    hasher.update(what.as_bytes());
    hasher.update([0]);
    hasher.update(digest.as_bytes());
    TokenHash::from_bytes(hasher.finalize().into())
}

/// PAR-03: `201 Created` with the `request_uri` and its `expires_in`.
pub(crate) fn created(request_uri: &str, lifetime: Duration) -> Response {
    let body = serde_json::json!({ "request_uri": request_uri, "expires_in": lifetime.whole_seconds() });
    Response::json(201, body.to_string().into_bytes())
}

/// A pushed request that fails the authorization endpoint's checks: the same error code, as
/// JSON (nothing is redirected from a back channel).
pub(crate) fn invalid(code: ErrorCode, description: &str) -> Response {
    Response::json(400, error_body(code, description))
}
