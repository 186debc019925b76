//! The `refresh_token` grant (RT-01..RT-09): rotation with reuse detection.
//!
//! Every refresh token belongs to a family (its grant). A refresh is one compare-and-swap on the
//! family in the store ([`Store::rotate_refresh`](crate::store::Store::rotate_refresh)): it
//! succeeds only while the presented token is the family's active one, so two refreshes of one
//! token never both succeed. A token that was rotated out stays known until the grant ends, and
//! presenting it again revokes the whole family (RT-07).
//!
//! One distinction keeps concurrency from looking like theft: a refresh that loses a race to a
//! rotation which happened *after it began* (the rotation's time is not before the request's
//! `now`) is refused without revoking, since the client could not have known. The same token
//! presented later is a replay. Either way the losing token never works again.

use time::OffsetDateTime;

use super::{NewAccess, TokenError, Validity};
use crate::client::Client;
use crate::config::ServerConfig;
use crate::dpop::Proof;
use crate::http::{Params, Response};
use crate::store::{RefreshTokenRecord, Rotation};
use crate::types::{Minted, Scope, TokenHash};

/// The answer for unknown, revoked, rotated-out and expired refresh tokens alike.
pub(crate) const INVALID_REFRESH_TOKEN: &str = "the refresh token is invalid, expired or revoked";

/// The grant-specific parameters of a refresh.
#[derive(Debug)]
pub(crate) struct RefreshRequest<'a> {
    /// The presented token, lent by the request: only its digest is ever needed.
    token: &'a str,
    scope: Option<Scope>,
}

impl RefreshRequest<'_> {
    /// The digest under which the presented token is stored.
    pub(crate) fn token_hash(&self) -> TokenHash {
        TokenHash::of(self.token)
    }
}

/// Reads `refresh_token` (RT-01) and `scope`.
pub(crate) fn parse<'a>(params: &'a Params<'_>) -> Result<RefreshRequest<'a>, TokenError> {
    let get = |name| params.get(name).ok().flatten();
    let token = get("refresh_token").ok_or(TokenError::InvalidRequest("refresh_token is required"))?;
    let scope =
        get("scope").map(Scope::parse).transpose().map_err(|_| TokenError::InvalidScope("scope is malformed"))?;
    Ok(RefreshRequest { token, scope })
}

/// What presenting a stored refresh token amounts to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Presentation {
    /// The family's active token: rotate it.
    Active,
    /// The token rotated out last, inside the grace period: it may be retried once.
    GraceRetry,
    /// Rotated out after this request began: a lost race, refused without revoking.
    LostRace,
    /// Rotated out before this request began: a replay, which revokes the family (RT-07).
    Replay,
}

/// Checks the token's client binding (RT-02). A token of another client proves nothing about
/// theft of this family, so it is refused without revoking anything.
pub(crate) fn check_client(record: &RefreshTokenRecord, client: &Client) -> Result<(), TokenError> {
    if record.client_id == *client.id() {
        Ok(())
    } else {
        Err(TokenError::InvalidGrant("the refresh token was issued to another client"))
    }
}

/// Classifies the presentation of `record` by a request that began at `now`.
pub(crate) fn classify(record: &RefreshTokenRecord, now: OffsetDateTime, config: &ServerConfig) -> Presentation {
    match record.rotated_at {
        None => Presentation::Active,
        Some(at) if config.refresh_grace_period().is_some_and(|period| now < at + period) => Presentation::GraceRetry,
        Some(at) if at >= now => Presentation::LostRace,
        Some(_) => Presentation::Replay,
    }
}

/// Refuses a token past its idle timeout or its grant's absolute end (RT-03, RT-09).
pub(crate) fn check_expiry(record: &RefreshTokenRecord, now: OffsetDateTime) -> Result<(), TokenError> {
    if now >= record.expires_at || now >= record.grant_expires_at {
        Err(TokenError::InvalidGrant(INVALID_REFRESH_TOKEN))
    } else {
        Ok(())
    }
}

/// The access token's scope: the requested one, which must lie within the grant's (RT-04), or
/// the grant's when none is requested.
pub(crate) fn access_scope(request: &RefreshRequest, record: &RefreshTokenRecord) -> Result<Scope, TokenError> {
    match &request.scope {
        None => Ok(record.scope.clone()),
        Some(scope) if scope.is_subset_of(&record.scope) => Ok(scope.clone()),
        Some(_) => Err(TokenError::InvalidScope("the requested scope exceeds the grant")),
    }
}

/// Whether this client's refresh tokens rotate: always for public clients (RT-06).
pub(crate) fn rotates(client: &Client, config: &ServerConfig) -> bool {
    client.is_public() || config.rotate_confidential_refresh_tokens()
}

/// DP-05, DP-12: a bound grant refreshes only with a proof, of the same key for a public client
/// (whose refresh token the key protects); a confidential client may move to a new key, which
/// then binds the grant. A bound grant never goes back to bearer.
pub(crate) fn check_binding(
    record: &RefreshTokenRecord,
    client: &Client,
    proof: Option<&Proof>,
) -> Result<(), TokenError> {
    match (&record.jkt, proof) {
        (None, _) => Ok(()),
        (Some(_), None) => {
            Err(TokenError::InvalidDpopProof("the refresh token is DPoP-bound: a DPoP proof is required"))
        }
        (Some(jkt), Some(proof)) if client.is_public() && proof.jkt != *jkt => {
            Err(TokenError::InvalidDpopProof("the refresh token is bound to another DPoP key"))
        }
        (Some(_), Some(_)) => Ok(()),
    }
}

/// When a refreshed access token is issued and ends: never after the grant (RT-09).
pub(crate) fn access_validity(record: &RefreshTokenRecord, config: &ServerConfig, now: OffsetDateTime) -> Validity {
    Validity::access(config, now, Some(record.grant_expires_at))
}

/// The rotation to store and the answer to send. `new_refresh` is `None` when the presented
/// token is kept (a confidential client without rotation); the answer then omits
/// `refresh_token` and the kept token's idle expiry slides forward.
pub(crate) fn issue(
    record: &RefreshTokenRecord,
    presentation: Presentation,
    scope: Scope,
    config: &ServerConfig,
    validity: Validity,
    access: NewAccess,
    new_refresh: Option<&Minted>,
) -> (Rotation, Response) {
    let now = validity.issued_at;
    let (token_type, jkt) = (access.token_type(), access.jkt.clone());
    let idle_end = config.refresh_token_idle_timeout().map_or(record.grant_expires_at, |idle| now + idle);
    let refresh_record = RefreshTokenRecord {
        hash: new_refresh.map_or(record.hash, Minted::hash),
        grant_id: record.grant_id.clone(),
        client_id: record.client_id.clone(),
        subject: record.subject.clone(),
        // RT-05: the refresh token keeps the whole grant, whatever this access token narrowed.
        scope: record.scope.clone(),
        issued_at: if new_refresh.is_some() { now } else { record.issued_at },
        expires_at: idle_end.min(record.grant_expires_at),
        grant_expires_at: record.grant_expires_at,
        rotated_at: None,
        // A bound grant stays bound: the new refresh token is bound to this request's key.
        jkt,
        // RI-02: the grant's resources, whichever one this access token names.
        resources: record.resources.clone(),
    };
    let (access, access_record) =
        super::mint_access(access, &record.grant_id, &record.client_id, &record.subject, &scope, validity);
    let expires_in = access_record.expires_at - now;
    let rotation = Rotation {
        from: record.hash,
        grace_retry: presentation == Presentation::GraceRetry,
        access: access_record,
        refresh: refresh_record,
        at: now,
    };
    (rotation, super::success(&access, token_type, expires_in, new_refresh, &scope))
}
