//! The records a [`Store`](super::Store) keeps and the outcomes of its atomic operations.

use serde::{Deserialize, Serialize};
use time::OffsetDateTime;

use crate::pkce::CodeChallenge;
use crate::types::{ClientId, GrantId, Resource, Scope, Subject, TokenHash};

/// An issued authorization code, as stored: bound to its client, redirect URI and PKCE
/// challenge (AZ-15).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct CodeRecord {
    /// Digest of the code.
    pub hash: TokenHash,
    /// The grant every token issued from this code will belong to.
    pub grant_id: GrantId,
    /// The client the code was issued to.
    pub client_id: ClientId,
    /// The redirect URI the code was sent to, exactly as in the authorization request (or the
    /// single registered one when the request omitted it).
    pub redirect_uri: String,
    /// The S256 challenge the token request's verifier must match.
    pub code_challenge: CodeChallenge,
    /// The scope the resource owner granted.
    pub scope: Scope,
    /// The resource owner who approved.
    pub subject: Subject,
    /// When the code was issued.
    #[serde(with = "time::serde::timestamp")]
    pub issued_at: OffsetDateTime,
    /// When the code stops being redeemable.
    #[serde(with = "time::serde::timestamp")]
    pub expires_at: OffsetDateTime,
    /// The DPoP key thumbprint the authorization request named (`dpop_jkt`, RFC 9449 §10): the
    /// redemption must come with a proof of that key (DP-06).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub dpop_jkt: Option<String>,
    /// The resources (RFC 8707) the resource owner granted: the audiences the code's tokens may
    /// name (RI-02). Empty: the server's default audience only.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub resources: Vec<Resource>,
}

/// A pushed authorization request (RFC 9126), as stored under the digest of its
/// `request_uri`'s random part: whose it is, its parameters as pushed (already validated), and
/// when the `request_uri` stops being usable for a first load.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct PushedRequest {
    /// The client that pushed it; only that client may use the `request_uri` (PAR-07).
    pub client_id: ClientId,
    /// The authorization request's parameters, as pushed, values decoded.
    pub params: Vec<(String, String)>,
    /// When the `request_uri` expires (`expires_in` after it was pushed).
    #[serde(with = "time::serde::timestamp")]
    pub expires_at: OffsetDateTime,
}

impl PushedRequest {
    /// A pushed request of `client_id`.
    pub fn new(client_id: ClientId, params: Vec<(String, String)>, expires_at: OffsetDateTime) -> Self {
        Self { client_id, params, expires_at }
    }
}

/// An issued access token, as stored.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct AccessTokenRecord {
    /// Digest of the token.
    pub hash: TokenHash,
    /// The grant the token belongs to.
    pub grant_id: GrantId,
    /// The client the token was issued to.
    pub client_id: ClientId,
    /// The resource owner.
    pub subject: Subject,
    /// The token's scope.
    pub scope: Scope,
    /// The resource server the token is meant for (`aud`): the resource the token request named
    /// (RFC 8707), else the server's default audience, when it has one (RS-05, RI-02). One
    /// audience per token, so a token for one resource is never accepted at another.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub audience: Option<String>,
    /// When the token was issued.
    #[serde(with = "time::serde::timestamp")]
    pub issued_at: OffsetDateTime,
    /// When the token expires.
    #[serde(with = "time::serde::timestamp")]
    pub expires_at: OffsetDateTime,
    /// The DPoP key thumbprint the token is bound to (DP-04): a resource server accepts it only
    /// with a proof of that key, never as a bearer token.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub jkt: Option<String>,
}

/// An issued refresh token, as stored.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct RefreshTokenRecord {
    /// Digest of the token.
    pub hash: TokenHash,
    /// The grant (family) the token belongs to.
    pub grant_id: GrantId,
    /// The client the token was issued to.
    pub client_id: ClientId,
    /// The resource owner.
    pub subject: Subject,
    /// The grant's scope; a refreshed token never gets more, and every new refresh token gets
    /// all of it back (RT-05).
    pub scope: Scope,
    /// When the token was issued.
    #[serde(with = "time::serde::timestamp")]
    pub issued_at: OffsetDateTime,
    /// When the token expires: its idle timeout or the grant's end, whichever comes first.
    #[serde(with = "time::serde::timestamp")]
    pub expires_at: OffsetDateTime,
    /// The grant's absolute end, which no rotation extends; the record is kept until then.
    #[serde(with = "time::serde::timestamp")]
    pub grant_expires_at: OffsetDateTime,
    /// When the token was rotated out, if it was; such a token is refused, and presenting it
    /// again is a replay (RT-07).
    #[serde(with = "time::serde::timestamp::option")]
    pub rotated_at: Option<OffsetDateTime>,
    /// The DPoP key thumbprint of the grant's last token request (DP-05, DP-12): a bound grant
    /// refreshes only with a proof (of this key, for a public client) and never goes back to
    /// bearer.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub jkt: Option<String>,
    /// The grant's resources (RFC 8707): a refreshed access token names one of them, never
    /// another (RI-02). Empty: the server's default audience only.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub resources: Vec<Resource>,
}

/// A grant: one resource owner's authorization of one client, shared by every token issued
/// from it (its family).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct GrantRecord {
    /// The grant id.
    pub grant_id: GrantId,
    /// The client.
    pub client_id: ClientId,
    /// The resource owner.
    pub subject: Subject,
    /// The granted scope.
    pub scope: Scope,
    /// When the resource owner authorized it (when the code was issued).
    #[serde(with = "time::serde::timestamp")]
    pub authorized_at: OffsetDateTime,
    /// When the grant ends: no token of it is valid after this.
    #[serde(with = "time::serde::timestamp")]
    pub expires_at: OffsetDateTime,
    /// The granted resources (RFC 8707; RI-02). Empty: the server's default audience only.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub resources: Vec<Resource>,
}

/// A new grant and the tokens of its first token response, stored together by
/// [`Store::insert_grant`](super::Store::insert_grant).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct NewGrant {
    /// The grant.
    pub grant: GrantRecord,
    /// The access token.
    pub access: AccessTokenRecord,
    /// The refresh token, when one is issued; it becomes the family's active refresh token.
    pub refresh: Option<RefreshTokenRecord>,
}

/// One refresh: the compare-and-swap [`Store::rotate_refresh`](super::Store::rotate_refresh) performs on a family.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct Rotation {
    /// Digest of the refresh token presented.
    pub from: TokenHash,
    /// `false`: `from` must be the family's active refresh token. `true` (a grace retry):
    /// `from` must be the family's previous refresh token, not retried before; the active one
    /// is rotated out in its place.
    pub grace_retry: bool,
    /// The new access token.
    pub access: AccessTokenRecord,
    /// The family's new active refresh token. When its hash equals `from` the token is kept
    /// (no rotation) and this record replaces the old one, sliding its idle expiry.
    pub refresh: RefreshTokenRecord,
    /// When the rotation happens: the old token's `rotated_at`.
    #[serde(with = "time::serde::timestamp")]
    pub at: OffsetDateTime,
}

/// What [`Store::take_code`](super::Store::take_code) found.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum CodeTake {
    /// The code was unused and is now used: this caller, and only this caller, may redeem it.
    Taken(CodeRecord),
    /// The code was used before: a replay (AC-04).
    AlreadyTaken(CodeRecord),
    /// No such code (never issued, or dropped after expiry).
    NotFound,
}

/// What [`Store::insert_grant`](super::Store::insert_grant) did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum InsertOutcome {
    /// Every record was stored.
    Inserted,
    /// The grant, or its subject, had been revoked; nothing was stored.
    GrantRevoked,
}

/// What [`Store::rotate_refresh`](super::Store::rotate_refresh) did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum RotateOutcome {
    /// The family now has the new tokens.
    Rotated,
    /// The presented token was no longer the one the rotation expected (another refresh won,
    /// or the grant was revoked); nothing was stored.
    NotActive,
}

/// A device authorization request (RFC 8628), as stored under the digest of its
/// `device_code`. What the device asked for never changes; `interval`, `last_polled_at` and
/// `state` change only through [`Store::poll_device_request`](super::Store::poll_device_request) and
/// [`Store::decide_device_request`](super::Store::decide_device_request).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct DeviceRequest {
    /// The client (the device) that asked; only it may poll (DG-04).
    pub client_id: ClientId,
    /// The grant the tokens will belong to.
    pub grant_id: GrantId,
    /// The scope asked for.
    pub scope: Scope,
    /// The resources asked for (RFC 8707).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub resources: Vec<Resource>,
    /// Digest of the normalised user code, under which the verification step finds it.
    pub user_code: TokenHash,
    /// When the device asked.
    #[serde(with = "time::serde::timestamp")]
    pub issued_at: OffsetDateTime,
    /// When the `device_code` and the user code stop working.
    #[serde(with = "time::serde::timestamp")]
    pub expires_at: OffsetDateTime,
    /// The polling interval now, in seconds: it grows by 5 with every `slow_down` (DG-02).
    pub interval: i64,
    /// When the device last polled.
    #[serde(default, with = "time::serde::timestamp::option")]
    pub last_polled_at: Option<OffsetDateTime>,
    /// Where the request stands.
    pub state: DeviceState,
}

impl DeviceRequest {
    /// A new, pending request.
    #[allow(clippy::too_many_arguments)]
    pub fn new(
        client_id: ClientId,
        grant_id: GrantId,
        scope: Scope,
        resources: Vec<Resource>,
        user_code: TokenHash,
        issued_at: OffsetDateTime,
        expires_at: OffsetDateTime,
        interval: i64,
    ) -> Self {
        Self {
            client_id,
            grant_id,
            scope,
            resources,
            user_code,
            issued_at,
            expires_at,
            interval,
            last_polled_at: None,
            state: DeviceState::Pending,
        }
    }
}

/// Where a device request stands: pending, then approved or denied by the user, then (when
/// approved) redeemed by the device, once.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "state", rename_all = "snake_case")]
#[non_exhaustive]
pub enum DeviceState {
    /// Waiting for the user.
    Pending,
    /// The user approved: who, and what they granted.
    Approved {
        /// The resource owner.
        subject: Subject,
        /// The granted scope (within what was asked).
        scope: Scope,
        /// The granted resources (within what was asked).
        #[serde(default, skip_serializing_if = "Vec::is_empty")]
        resources: Vec<Resource>,
        /// When the user approved: the grant's `authorized_at`.
        #[serde(with = "time::serde::timestamp")]
        approved_at: OffsetDateTime,
    },
    /// The user denied.
    Denied,
    /// The device redeemed the approval for tokens.
    Redeemed,
}

/// What [`Store::insert_device_request`](super::Store::insert_device_request) did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum DeviceInsert {
    /// Stored.
    Inserted,
    /// A live request already has this user code: nothing was stored; the server draws another.
    UserCodeInUse,
}

/// What [`Store::decide_device_request`](super::Store::decide_device_request) did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum DeviceDecided {
    /// The request was pending and now carries the decision.
    Decided,
    /// Unknown, expired, or decided before: nothing changed.
    NotPending,
}

/// What [`Store::poll_device_request`](super::Store::poll_device_request) found and did.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum DevicePoll {
    /// Pending, and polled sooner than `interval` after the last poll: the interval grew by 5 s
    /// (the record as updated).
    SlowDown(DeviceRequest),
    /// The request as it stands after this poll (pending, denied, redeemed before, or
    /// expired), with `last_polled_at` set.
    Current(DeviceRequest),
    /// It was approved and this poll redeemed it: the only caller that ever gets this, with
    /// the approval in `state`.
    Redeemed(DeviceRequest),
}

/// What [`Store::claim_once`](super::Store::claim_once) did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum ClaimOutcome {
    /// The key was free (never claimed, or its claim ended): this caller, only, holds it now.
    Claimed,
    /// The key is claimed until a later time: a replay.
    AlreadyClaimed,
}
