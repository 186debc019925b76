//! `private_key_jwt` client assertions (RFC 7523 §3, draft-ietf-oauth-rfc7523bis; CA-01..CA-04):
//! a JWT the client signs with one of its registered keys, verified strictly. The `jti` replay
//! claim is the server's (it needs the store), made only after every check here passed.

use serde_json::Value;
use sha2::{Digest, Sha256};
use time::{Duration, OffsetDateTime};

use crate::client::{AuthFailure, Client};
use crate::config::{AssertionAudience, ServerConfig};
use crate::jose;
use crate::types::TokenHash;

/// How far in the future `iat` or `nbf` may be: a client clock a little ahead is accepted; more
/// is refused (CA-03).
const FUTURE_SKEW: Duration = Duration::seconds(10);

/// How long after `exp` an assertion is still refused as a replay: the window its claim lasts.
pub(crate) const REPLAY_LEEWAY: Duration = Duration::seconds(30);

/// The longest `jti` accepted, in bytes.
const MAX_JTI_BYTES: usize = 256;

/// A verified assertion: what the replay claim needs.
#[derive(Debug)]
pub(crate) struct VerifiedAssertion {
    /// The digest the assertion is claimed once under (client and `jti`).
    pub(crate) replay_key: TokenHash,
    /// Until when the claim must last.
    pub(crate) replay_until: OffsetDateTime,
}

/// Verifies `assertion` as `client`'s (CA-01..CA-03): signed by one of its registered keys
/// (the algorithm the key's, and the registration's when pinned), `typ` absent, `JWT` or
/// `client-authentication+jwt`, `iss` = `sub` = the client id, `aud` as the configuration
/// allows, `exp` required and not passed, `exp - iat` within the configured maximum, `iat` and
/// `nbf` at most 10 s ahead, `jti` present.
pub(crate) fn verify(
    assertion: &str,
    client: &Client,
    config: &ServerConfig,
    now: OffsetDateTime,
) -> Result<VerifiedAssertion, AuthFailure> {
    let invalid = AuthFailure::InvalidAssertion;
    let (keys, pinned) = client.assertion_keys().ok_or(AuthFailure::MethodNotAllowed)?;
    let verified =
        jose::verify_token(keys, assertion, now, jose::KidRule::OptionalForSingleKey).map_err(|_| invalid)?;
    if pinned.is_some_and(|alg| alg != verified.alg) {
        return Err(invalid);
    }
    // Another kind of JWT (an access token, a DPoP proof, an ID token) is not an assertion.
    // Media type names compare case-insensitively (RFC 7515 §4.1.9).
    let typ_allowed = |t: &str| ["JWT", "client-authentication+jwt"].iter().any(|a| a.eq_ignore_ascii_case(t));
    if !verified.typ.as_deref().is_none_or(typ_allowed) {
        return Err(invalid);
    }
    let claims = jose::strict_json(&verified.payload).map_err(|_| invalid)?;
    let claims = claims.as_object().ok_or(invalid)?;
    let text = |name: &str| claims.get(name).and_then(Value::as_str).filter(|s| !s.is_empty());
    let id = client.id().as_str();
    if text("iss") != Some(id) || text("sub") != Some(id) {
        return Err(invalid);
    }
    if !audience_allowed(claims.get("aud"), config) {
        return Err(invalid);
    }
    let date = |name: &str| match claims.get(name) {
        None => Ok(None),
        Some(Value::Number(n)) => {
            n.as_i64().and_then(|t| OffsetDateTime::from_unix_timestamp(t).ok()).map(Some).ok_or(invalid)
        }
        Some(_) => Err(invalid),
    };
    let exp = date("exp")?.ok_or(invalid)?;
    let iat = date("iat")?;
    let nbf = date("nbf")?;
    if now >= exp {
        return Err(invalid);
    }
    // Without `iat`, the assertion's life is counted from now: it may still not outlast the cap.
    if exp - iat.unwrap_or(now) > config.client_assertion_max_lifetime() {
        return Err(invalid);
    }
    if [iat, nbf].into_iter().flatten().any(|t| t - now > FUTURE_SKEW) {
        return Err(invalid);
    }
    let jti = text("jti").filter(|j| j.len() <= MAX_JTI_BYTES).ok_or(invalid)?;
    let mut hasher = Sha256::new();
    for part in ["client-assertion", id, jti] {
        hasher.update((part.len() as u64).to_be_bytes());
        hasher.update(part.as_bytes());
    }
    Ok(VerifiedAssertion {
        replay_key: TokenHash::from_bytes(hasher.finalize().into()),
        replay_until: exp.saturating_add(REPLAY_LEEWAY),
    })
}

/// CA-02: the issuer identifier as a single string; under the compatibility setting, also the
/// token endpoint URL, or a one-element array of either. Never anything else.
fn audience_allowed(aud: Option<&Value>, config: &ServerConfig) -> bool {
    let issuer = config.issuer().as_str();
    match (config.client_assertion_audience(), aud) {
        (_, Some(Value::String(aud))) if aud == issuer => true,
        (AssertionAudience::IssuerOrTokenEndpoint, Some(aud)) => {
            let token_endpoint = config.endpoint_url(&config.endpoint_paths().token);
            let allowed = |v: &Value| v.as_str().is_some_and(|a| a == issuer || a == token_endpoint);
            match aud {
                Value::Array(values) => values.len() == 1 && allowed(&values[0]),
                single => allowed(single),
            }
        }
        _ => false,
    }
}
