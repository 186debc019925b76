//! The [`Store`] trait, the records it keeps, and the contract every implementation must honour.
//!
//! # The contract
//!
//! A store keeps client registrations, authorization codes, and the grants with their tokens.
//! Codes and tokens are only ever stored and looked up by their [`TokenHash`]; the plain values
//! never reach the store.
//!
//! Three operations carry the security of the protocol and must be **atomic**, also across
//! processes that share one store:
//!
//! 1. [`Store::take_code`] consumes a code. For one code it **must return
//!    [`CodeTake::Taken`] at most once, ever**, however many callers race, and
//!    [`CodeTake::AlreadyTaken`] with the same record to every later caller while the record is
//!    kept (AC-03). The record stays (marked used) until it expires, so that a replay can be
//!    recognised and the grant revoked (AC-04).
//! 2. [`Store::insert_grant`] stores the tokens issued for a grant. It **must refuse**
//!    (returning [`InsertOutcome::GrantRevoked`], storing nothing) when the grant was revoked by
//!    [`Store::revoke_grant`] before, so a token issued in a race with a detected replay never
//!    becomes usable.
//! 3. [`Store::revoke_grant`] deletes (or marks revoked) every token of the grant and remembers
//!    the revocation until `remember_until`.
//!
//! A store must never report success for a write it did not make: on any doubt it returns
//! [`StoreError`], and the server answers `server_error` without issuing anything.
//!
//! # Mapping onto Redis and SQL
//!
//! Each operation is one Redis command or Lua script, and one SQL statement or transaction.
//! Keys below use the base64url [`TokenHash`] text.
//!
//! | operation | Redis | SQL |
//! |---|---|---|
//! | `client` | `GET client:{id}` (JSON) | `SELECT data FROM clients WHERE id = $1` |
//! | `insert_code` | `SET code:{hash} {json} PXAT {expires_at} NX` | `INSERT INTO codes (hash, data, used, expires_at) VALUES (...)` |
//! | `take_code` | Lua: `HGET` the record; if `used` is set return it as taken; else `HSET used 1` and return it as fresh (one script, so no interleaving) | `UPDATE codes SET used = true WHERE hash = $1 RETURNING data, (SELECT used FROM codes WHERE hash = $1) AS was_used`, or in a transaction `SELECT ... FOR UPDATE` then `UPDATE` |
//! | `insert_grant` | Lua: if `EXISTS revoked:{grant}` return revoked; else `SET at:{hash}` and `SET rt:{hash}` with `PXAT`, `SADD grant:{grant} at:{hash} rt:{hash}` | transaction: `INSERT INTO tokens (...) SELECT ... WHERE NOT EXISTS (SELECT 1 FROM revoked_grants WHERE grant_id = $1)`; zero rows = revoked |
//! | `revoke_grant` | Lua: `SET revoked:{grant} 1 PXAT {remember_until}`, then `DEL` every member of `grant:{grant}` and the set itself | transaction: `INSERT INTO revoked_grants ... ON CONFLICT DO NOTHING; DELETE FROM tokens WHERE grant_id = $1` |
//! | `access_token`, `refresh_token` | `GET at:{hash}` / `GET rt:{hash}` | `SELECT data FROM tokens WHERE hash = $1 AND kind = $2` |
//!
//! Records expire: a store may drop a record once its `expires_at` has passed (Redis: `PXAT`;
//! SQL: a periodic `DELETE ... WHERE expires_at < now()`). The protocol layer checks expiry
//! itself, so a store that keeps expired records a while longer is still correct.
//!
//! Methods return `impl Future + Send` so that the server's futures are `Send` for
//! multi-threaded runtimes; an in-memory store returns ready futures.

use std::future::Future;

use serde::{Deserialize, Serialize};
use time::OffsetDateTime;

use crate::client::Client;
use crate::pkce::CodeChallenge;
use crate::types::{ClientId, GrantId, Scope, Subject, TokenHash};

/// A store operation failed. The server answers `server_error` (or 503) and stores nothing more.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum StoreError {
    /// The store cannot be reached now; the request may be retried.
    #[error("store unavailable: {0}")]
    Unavailable(String),
    /// The store failed or returned data it could not decode.
    #[error("store failure: {0}")]
    Backend(String),
}

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
    /// When the token was issued.
    #[serde(with = "time::serde::timestamp")]
    pub issued_at: OffsetDateTime,
    /// When the token expires.
    #[serde(with = "time::serde::timestamp")]
    pub expires_at: OffsetDateTime,
}

/// An issued refresh token, as stored.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct RefreshTokenRecord {
    /// Digest of the token.
    pub hash: TokenHash,
    /// The grant the token belongs to.
    pub grant_id: GrantId,
    /// The client the token was issued to.
    pub client_id: ClientId,
    /// The resource owner.
    pub subject: Subject,
    /// The grant's scope; a refreshed token never gets more.
    pub scope: Scope,
    /// When the token was issued.
    #[serde(with = "time::serde::timestamp")]
    pub issued_at: OffsetDateTime,
    /// When the token expires.
    #[serde(with = "time::serde::timestamp")]
    pub expires_at: OffsetDateTime,
}

/// The tokens issued in one token response, stored together by [`Store::insert_grant`].
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct GrantTokens {
    /// The grant they belong to.
    pub grant_id: GrantId,
    /// The access token.
    pub access: AccessTokenRecord,
    /// The refresh token, when one is issued.
    pub refresh: Option<RefreshTokenRecord>,
}

/// What [`Store::take_code`] found.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CodeTake {
    /// The code was unused and is now used: this caller, and only this caller, may redeem it.
    Taken(CodeRecord),
    /// The code was used before: a replay (AC-04).
    AlreadyTaken(CodeRecord),
    /// No such code (never issued, or dropped after expiry).
    NotFound,
}

/// What [`Store::insert_grant`] did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum InsertOutcome {
    /// Every record was stored.
    Inserted,
    /// The grant had been revoked; nothing was stored.
    GrantRevoked,
}

/// Storage for clients, codes and grants. See the [module docs](self) for the contract.
pub trait Store: Send + Sync {
    /// The registration of client `id`, if any.
    fn client(&self, id: &ClientId) -> impl Future<Output = Result<Option<Client>, StoreError>> + Send;

    /// Stores a newly issued code. Codes are 256-bit random values, so a collision is treated
    /// as a failure, never as an overwrite.
    fn insert_code(&self, code: CodeRecord) -> impl Future<Output = Result<(), StoreError>> + Send;

    /// Atomically marks the code with digest `hash` as used and returns its record.
    ///
    /// Must return [`CodeTake::Taken`] for a given code **at most once, ever**, even under
    /// concurrent calls from many processes; every other call gets
    /// [`CodeTake::AlreadyTaken`] (while the record is kept) or [`CodeTake::NotFound`].
    fn take_code(&self, hash: &TokenHash) -> impl Future<Output = Result<CodeTake, StoreError>> + Send;

    /// Atomically stores the tokens of one token response, unless their grant was revoked.
    ///
    /// Must store all records or none, and must return [`InsertOutcome::GrantRevoked`]
    /// (storing nothing) when [`Store::revoke_grant`] was called for the grant before.
    fn insert_grant(&self, tokens: GrantTokens) -> impl Future<Output = Result<InsertOutcome, StoreError>> + Send;

    /// Revokes grant `id`: every access and refresh token of the grant stops being returned by
    /// the lookups, and [`Store::insert_grant`] refuses the grant until at least
    /// `remember_until`. Revoking an unknown or already revoked grant succeeds.
    fn revoke_grant(
        &self,
        id: &GrantId,
        remember_until: OffsetDateTime,
    ) -> impl Future<Output = Result<(), StoreError>> + Send;

    /// The live (not revoked) access token with digest `hash`, expired or not.
    fn access_token(
        &self,
        hash: &TokenHash,
    ) -> impl Future<Output = Result<Option<AccessTokenRecord>, StoreError>> + Send;

    /// The live (not revoked) refresh token with digest `hash`, expired or not.
    fn refresh_token(
        &self,
        hash: &TokenHash,
    ) -> impl Future<Output = Result<Option<RefreshTokenRecord>, StoreError>> + Send;
}

impl<T: Store + ?Sized> Store for std::sync::Arc<T> {
    fn client(&self, id: &ClientId) -> impl Future<Output = Result<Option<Client>, StoreError>> + Send {
        (**self).client(id)
    }
    fn insert_code(&self, code: CodeRecord) -> impl Future<Output = Result<(), StoreError>> + Send {
        (**self).insert_code(code)
    }
    fn take_code(&self, hash: &TokenHash) -> impl Future<Output = Result<CodeTake, StoreError>> + Send {
        (**self).take_code(hash)
    }
    fn insert_grant(&self, tokens: GrantTokens) -> impl Future<Output = Result<InsertOutcome, StoreError>> + Send {
        (**self).insert_grant(tokens)
    }
    fn revoke_grant(
        &self,
        id: &GrantId,
        remember_until: OffsetDateTime,
    ) -> impl Future<Output = Result<(), StoreError>> + Send {
        (**self).revoke_grant(id, remember_until)
    }
    fn access_token(
        &self,
        hash: &TokenHash,
    ) -> impl Future<Output = Result<Option<AccessTokenRecord>, StoreError>> + Send {
        (**self).access_token(hash)
    }
    fn refresh_token(
        &self,
        hash: &TokenHash,
    ) -> impl Future<Output = Result<Option<RefreshTokenRecord>, StoreError>> + Send {
        (**self).refresh_token(hash)
    }
}
