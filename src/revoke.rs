//! The revocation endpoint (RFC 7009; RV-01..RV-06).
//!
//! A client revokes one of its own tokens. Revoking a refresh token revokes its whole grant,
//! access tokens included (RV-04); revoking an access token revokes just that token. Another
//! client's token and unknown tokens are answered 200 with nothing revoked (RV-05, RV-06), so the
//! endpoint cannot be used to learn which tokens exist. A store failure is a 503, never a false
//! 200 (RV-06).

use crate::client::{AuthFailure, ClientAuthError, Credentials, read_credentials};
use crate::config::ServerConfig;
use crate::http::{Request, Response};
use crate::token::{TokenError, read_form_post};
use crate::types::AccessToken;

/// The parameters RFC 7009 and RFC 7662 define; each may appear at most once.
const DEFINED: [&str; 6] =
    ["token", "token_type_hint", "client_id", "client_secret", "client_assertion", "client_assertion_type"];

/// Which kind of token to look for first.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum TokenKind {
    /// An access token.
    Access,
    /// A refresh token.
    Refresh,
}

/// A request naming one token: revocation (RFC 7009 §2.1) and introspection (RFC 7662 §2.1)
/// share this shape.
#[derive(Debug)]
pub(crate) struct TokenReference {
    /// The presented token (redacted in `Debug`): an access token's storage key depends on
    /// whether it is a JWT, which only the server can tell.
    pub(crate) token: AccessToken,
    /// The kinds to search, hinted one first (RV-03): a hint never limits the search.
    pub(crate) search: [TokenKind; 2],
    pub(crate) credentials: Credentials,
}

/// Reads `token`, `token_type_hint` and the client's credentials (RV-01, RV-02, IN-01).
pub(crate) fn parse(request: &Request<'_>, config: &ServerConfig) -> Result<TokenReference, TokenError> {
    let params = read_form_post(request, config, &DEFINED, &[])?;
    let get = |name| params.get(name).ok().flatten();
    let token = get("token").ok_or(TokenError::InvalidRequest("token is required"))?;
    // An unknown hint is ignored (RV-03).
    let search = match get("token_type_hint") {
        Some("refresh_token") => [TokenKind::Refresh, TokenKind::Access],
        _ => [TokenKind::Access, TokenKind::Refresh],
    };
    // RFC 6749 §5.2 names "no client authentication included" as `invalid_client`: at these
    // endpoints every caller identifies itself, so nothing at all is a 401 that names Basic,
    // where the token endpoint asks a public client for its `client_id` (AC-02).
    let credentials = read_credentials(request, &params).map_err(|e| match e {
        ClientAuthError::MissingClientId => {
            ClientAuthError::Failed { reason: AuthFailure::NoCredentials, header: true }
        }
        e => e,
    })?;
    Ok(TokenReference { token: AccessToken::new(token.to_owned()), search, credentials })
}

/// The answer to every revocation that got this far: 200, nothing to read, not cached.
pub(crate) fn revoked() -> Response {
    Response::new(200).with_header("Cache-Control", "no-store").with_header("Pragma", "no-cache")
}
