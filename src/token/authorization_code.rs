//! The `authorization_code` grant (AC-01..AC-05, PK-05..PK-08).
//!
//! The code is consumed atomically through the store before anything else is decided (AC-03).
//! A replayed code that would otherwise have been valid revokes everything its first
//! redemption issued (AC-04); a replay that fails the code's bindings revokes nothing, so a
//! party without the client's credentials and PKCE verifier cannot revoke anyone's tokens.

use time::OffsetDateTime;

use super::{TokenError, Validity};
use crate::client::Client;
use crate::config::ServerConfig;
use crate::dpop::Proof;
use crate::http::Params;
use crate::pkce::is_well_formed_verifier;
use crate::store::CodeRecord;
use crate::types::TokenHash;

/// The answer for unknown, used and revoked codes alike.
pub(crate) const INVALID_CODE: &str = "the code is invalid, expired or already used";

/// The grant-specific parameters of a code redemption, lent by the request.
#[derive(Debug)]
pub(crate) struct Redemption<'a> {
    code: &'a str,
    verifier: &'a str,
    redirect_uri: Option<&'a str>,
}

impl Redemption<'_> {
    /// The digest under which the code is stored.
    pub(crate) fn code_hash(&self) -> TokenHash {
        TokenHash::of(self.code)
    }
}

/// Reads `code`, `code_verifier` and `redirect_uri` (AC-01, PK-05, PK-08).
///
/// Every code has a challenge (PK-02), so a request without a well-formed verifier can never
/// succeed: it is refused here, before the code is taken, and consumes nothing.
pub(crate) fn parse<'a>(params: &'a Params<'_>) -> Result<Redemption<'a>, TokenError> {
    let get = |name| params.get(name).ok().flatten();
    let code = get("code").ok_or(TokenError::InvalidRequest("code is required"))?;
    let verifier = get("code_verifier").ok_or(TokenError::InvalidRequest("code_verifier is required"))?;
    if !is_well_formed_verifier(verifier) {
        return Err(TokenError::InvalidRequest("code_verifier must be 43 to 128 characters of A-Z a-z 0-9 - . _ ~"));
    }
    Ok(Redemption { code, verifier, redirect_uri: get("redirect_uri") })
}

/// Checks the code's bindings: client (AC-02), redirect URI (AC-05) and PKCE (PK-06).
///
/// Expiry is checked apart ([`check_expiry`]), because a replay after expiry is still a
/// replay.
pub(crate) fn check_bindings(redemption: &Redemption, record: &CodeRecord, client: &Client) -> Result<(), TokenError> {
    if record.client_id != *client.id() {
        return Err(TokenError::InvalidGrant("the code was issued to another client"));
    }
    if redemption.redirect_uri.is_some_and(|uri| uri != record.redirect_uri) {
        return Err(TokenError::InvalidGrant("redirect_uri does not match the authorization request"));
    }
    // The record's challenge is not optional: no code is ever issued without one (PK-02), so a
    // verifier can never meet a code that had no challenge (PK-07).
    if !record.code_challenge.verifies(redemption.verifier) {
        return Err(TokenError::InvalidGrant("code_verifier does not match the code challenge"));
    }
    Ok(())
}

/// DP-06: a code whose authorization request named `dpop_jkt` redeems only with a proof of
/// that key.
pub(crate) fn check_dpop_binding(record: &CodeRecord, proof: Option<&Proof>) -> Result<(), TokenError> {
    match (&record.dpop_jkt, proof) {
        (None, _) => Ok(()),
        (Some(jkt), Some(proof)) if proof.jkt == *jkt => Ok(()),
        (Some(_), None) => Err(TokenError::InvalidDpopProof("the code is DPoP-bound: a DPoP proof is required")),
        (Some(_), Some(_)) => Err(TokenError::InvalidDpopProof("the code is bound to another DPoP key")),
    }
}

/// Refuses a code whose lifetime is over (AC-01, AZ-15).
pub(crate) fn check_expiry(record: &CodeRecord, now: OffsetDateTime) -> Result<(), TokenError> {
    if now >= record.expires_at { Err(TokenError::InvalidGrant(INVALID_CODE)) } else { Ok(()) }
}

/// When the redemption's access token is issued and ends: within the grant, which ends
/// `refresh_token_lifetime` from now when a refresh token is issued.
pub(crate) fn access_validity(config: &ServerConfig, now: OffsetDateTime, with_refresh: bool) -> Validity {
    Validity::access(config, now, with_refresh.then(|| now + config.refresh_token_lifetime()))
}

/// What the resource owner granted with the code: the grant a redemption creates.
pub(crate) fn authorization(record: &CodeRecord) -> super::Authorization<'_> {
    super::Authorization {
        grant_id: &record.grant_id,
        client_id: &record.client_id,
        subject: &record.subject,
        scope: &record.scope,
        resources: &record.resources,
        authorized_at: record.issued_at,
    }
}
