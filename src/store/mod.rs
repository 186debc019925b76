//! The [`Store`] trait, the records it keeps, and the contract every implementation must honour.
//!
//! # The contract
//!
//! A store keeps client registrations, authorization codes, and the grants with their tokens.
//! Codes and tokens are only ever stored and looked up by their [`TokenHash`]; the plain values
//! never reach the store.
//!
//! Four operations carry the security of the protocol and must be **atomic**, also across
//! processes that share one store:
//!
//! 1. [`Store::take_code`] consumes a code. For one code it **must return
//!    [`CodeTake::Taken`] at most once, ever**, however many callers race, and
//!    [`CodeTake::AlreadyTaken`] with the same record to every later caller while the record is
//!    kept (AC-03). The record stays (marked used) until it expires, so that a replay can be
//!    recognised and the grant revoked (AC-04).
//! 2. [`Store::insert_grant`] creates a grant (a *family*: the code's grant id, with every
//!    access and refresh token issued from it) with its first tokens. It **must refuse**
//!    (returning [`InsertOutcome::GrantRevoked`], storing nothing) when the grant was revoked by
//!    [`Store::revoke_grant`], or its subject by [`Store::revoke_subject`] at or after the
//!    grant's `authorized_at`, so a token issued in a race with a detected replay or a logout
//!    never becomes usable.
//! 3. [`Store::rotate_refresh`] is a compare-and-swap on the family: it succeeds only if the
//!    presented refresh token is still the family's active one (or, for a grace retry, its
//!    previous one, not yet retried). For one token it **must succeed at most once**, however
//!    many callers race (RT-06, RT-07). The rotated-out token is kept, marked with
//!    `rotated_at`, until the grant expires, so that presenting it again is recognised as a
//!    replay.
//! 4. [`Store::revoke_grant`] and [`Store::revoke_subject`] delete (or mark revoked) every token
//!    of the grant(s) and remember the revocation until `remember_until`.
//!
//! A store must never report success for a write it did not make: on any doubt it returns
//! [`StoreError`], and the server answers `server_error` without issuing anything.
//!
//! # The persisted form
//!
//! Records ([`CodeRecord`], [`AccessTokenRecord`], [`RefreshTokenRecord`], [`GrantRecord`]) and
//! [`Client`] are stored by every real store, so their serde (JSON) shape is a wire format,
//! pinned by golden fixtures in the crate's tests; members are only ever added, with defaults,
//! and [`Client`] carries a `version` and is validated on every read like a registration. A
//! SQL store keeps each record as its JSON in one column, beside the index columns it needs
//! (the digest, grant id, subject, client id, `expires_at`), read from the record's public
//! fields; it reads the record back from that JSON. Records have no column-by-column
//! constructors: that keeps them free to grow (`#[non_exhaustive]`) without breaking stores.
//!
//! # Optional operations
//!
//! Operations added after a store was written are provided methods that fail closed
//! ([`StoreErrorKind::Unsupported`]) until the store overrides them and declares them in
//! [`Store::capabilities`]. [`Store::claim_once`] is the first.
//!
//! # Time
//!
//! Every write carries the server's `now`, so no store needs a clock of its own (and a store's
//! key lifetimes follow the server's clock, never the database host's): a code's `issued_at`,
//! a new grant's access token `issued_at`, a rotation's `at`, a revocation's `at`.
//!
//! # Mapping onto Redis and SQL
//!
//! Each operation is one Redis command or Lua script (except `revoke_subject`, a bounded series
//! of scripts, so no single script walks an unbounded set), and one SQL statement or short
//! transaction at READ COMMITTED (PostgreSQL's default). Keys below use the base64url
//! [`TokenHash`] text, under a namespace prefix. The Redis column is what the `oauth21-redis`
//! crate (`stores/redis`, scripts in `stores/redis/src/lua/`) does; the `oauth21-postgres` crate
//! (`stores/postgres`) holds the SQL column's guarantees, with its own statements mapped in its
//! crate docs.
//!
//! Grant insertion and the two revocations **must serialize** on something they all write: in
//! SQL, a transaction-scoped advisory lock per grant and per subject (or SERIALIZABLE with a
//! retry on serialization failure). `insert_grant` takes the subject's lock, then the grant's;
//! each revocation takes one of them, so no lock order can deadlock. A `NOT EXISTS` check alone
//! is write skew: each transaction misses the other's uncommitted row and both commit.
//!
//! | operation | Redis | SQL |
//! |---|---|---|
//! | `client` | `GET client:{id}` (JSON) | `SELECT data FROM clients WHERE id = $1` |
//! | `insert_code` | Lua: unless `EXISTS code:{hash}`, `HSET code:{hash} record {json}` and `PEXPIRE` it; an existing key is a collision | `INSERT INTO codes (hash, data, used, expires_at) VALUES (...)` |
//! | `take_code` | Lua: `HGET code:{hash} record`; if found, `HSETNX code:{hash} used 1` answers 1 to exactly one caller (taken) and 0 to every later one (already taken) | compare-and-swap: `UPDATE codes SET used = true WHERE hash = $1 AND NOT used RETURNING data` (a row: taken; PostgreSQL re-checks `NOT used` on the newest row version after a concurrent update commits, so one session only gets it); zero rows: `SELECT data FROM codes WHERE hash = $1` (a row: already taken; none: not found). READ COMMITTED suffices |
//! | `insert_grant` | Lua: if `EXISTS revoked:{grant}`, or `GET revoked-sub:{subject}` is at or after `authorized_at`, return revoked; if `family:{grant}`, `at:{hash}` or `rt:{hash}` exists, a collision; else `HSET family:{grant}` (record, subject, `active`), `SET at:{hash} {json} PX`, `HSET rt:{hash} record {json}` + `PEXPIRE`, `SADD members:{grant} ...`; then the subject index, a sorted set scored by each grant's end (unix ms): `ZREMRANGEBYSCORE subject:{subject} -inf ({now}` drops ended grants, `ZADD subject:{subject} {family end} {grant}`, `PEXPIRE` never shortened | one transaction that serializes with the revocations on common locks: `SELECT pg_advisory_xact_lock(hashtext('subject:' \|\| $subject))`, then `pg_advisory_xact_lock(hashtext('grant:' \|\| $grant))`; then `SELECT 1 FROM revoked_grants WHERE grant_id = $1` and `SELECT 1 FROM revoked_subjects WHERE subject = $2 AND revoked_at >= $3` (either: revoked, roll back); else `INSERT INTO grants` and `INSERT INTO tokens`. Without the locks this is write skew at any isolation below SERIALIZABLE: neither side sees the other's uncommitted row, both commit, and a token of a revoked grant stays live |
//! | `rotate_refresh` | Lua: `HMGET family:{grant} active previous retried`: `active` must equal `from` (grace: `previous` equals `from` and `retried` unset), else return not-active; `HSET rt:{active} rotated_at {at}`, `HSET family:{grant} active {new} previous {from} retried {grace}`, the new `rt:` and `at:` records, `SADD members:{grant}`, and the grant's score in `subject:{subject}` raised to the family's new end | `UPDATE grants SET active = $new, previous = $from WHERE grant_id = $g AND active = $from AND NOT revoked RETURNING 1` (the compare-and-swap, holding the grant row's lock; zero rows = not active), then in the same transaction `UPDATE tokens SET rotated_at = $at WHERE hash = $from` and `INSERT INTO tokens` the new pair. READ COMMITTED suffices: a revocation waits on the row lock |
//! | `revoke_grant` | Lua: `SET revoked:{grant} 1 PX {until remember_until}` (never shortening), then `DEL` every member of `members:{grant}`, `ZREM subject:{subject} {grant}`, `DEL family:{grant} members:{grant}` | transaction: `pg_advisory_xact_lock(hashtext('grant:' \|\| $1))`; `INSERT INTO revoked_grants ... ON CONFLICT DO UPDATE SET until = greatest(...)`; `UPDATE grants SET revoked = true WHERE grant_id = $1` (first, so a rotation in flight finishes before) then `DELETE FROM tokens WHERE grant_id = $1`, which at READ COMMITTED sees what that rotation committed |
//! | `revoke_subject` | Lua, in bounded steps: one script `SET revoked-sub:{subject} {latest at} PX {until remember_until}` and moves `subject:{subject}` into `subject-revoking:{subject}` (merged with what an interrupted call left); then scripts each revoking at most 256 of its grants as above until it is empty; a failed step is an error, and the next call finishes the rest | transaction: `pg_advisory_xact_lock(hashtext('subject:' \|\| $1))`; `INSERT INTO revoked_subjects ... ON CONFLICT DO UPDATE SET revoked_at = greatest(...)`; then `UPDATE grants SET revoked = true WHERE subject = $1` and `DELETE FROM tokens WHERE subject = $1` |
//! | `register_client` | `SET client:{id} {json} NX`: nil (the id exists) is a failure | `INSERT INTO clients (id, data) VALUES ($1, $2) ON CONFLICT (id) DO NOTHING RETURNING 1` (no row: a failure) |
//! | `insert_device_request` | Lua: if `EXISTS user-code:{digest}`, in use; if `EXISTS device:{hash}`, a collision; else `HSET device:{hash}` (record, client, phase `pending`, interval, expires) with `PEXPIRE`, and `SET user-code:{digest} {hash} PX` | transaction: `SELECT 1 FROM device_requests WHERE user_code = $1 AND expires_at > $now FOR UPDATE` (a row: in use), else `INSERT` (a unique index on the device digest turns a collision into an error) |
//! | `device_request_by_user_code` | `GET user-code:{digest}`, then `HGETALL device:{hash}` | `SELECT hash, data FROM device_requests WHERE user_code = $1 AND expires_at > $2` |
//! | `decide_device_request` | Lua: `HMGET device:{hash} phase expires`; only `pending` and unexpired: `HSET phase {decision} approval {json}` | `UPDATE device_requests SET state = $2 WHERE hash = $1 AND state = 'pending' AND expires_at > $3 RETURNING 1` |
//! | `poll_device_request` | Lua over `device:{hash}`: client check; too soon while `pending`: `HINCRBY interval 5`; `HSET polled {at}`; `approved` and unexpired: `HSET phase redeemed` and return the approval (once) | `UPDATE device_requests SET ... WHERE hash = $1 AND client_id = $2 RETURNING` the row as it was (`FOR UPDATE` in a CTE), the phase change from `approved` to `redeemed` being the compare-and-swap |
//! | `claim_once` | `SET claim:{hash} 1 NX PX {until - at}`: `OK` to exactly one caller while the key lives | `INSERT INTO claims (hash, until) VALUES ($1, $2) ON CONFLICT (hash) DO UPDATE SET until = EXCLUDED.until WHERE claims.until <= $3 RETURNING 1` (a row: claimed; the conflicting row is locked, so one session only inserts or takes over an ended claim) |
//! | `revoke_access_token` | `DEL at:{hash}` | `DELETE FROM tokens WHERE hash = $1 AND kind = 'access'` |
//! | `access_token`, `refresh_token` | `GET at:{hash}` / `HMGET rt:{hash} record rotated_at` | `SELECT data FROM tokens WHERE hash = $1 AND kind = $2` |
//!
//! Records expire: a store may drop a record once its `expires_at` has passed (Redis: each key
//! gets a `PX` / `PEXPIRE` lifetime up to its record's end, a refresh token's up to its grant's
//! end; SQL: a periodic `DELETE ... WHERE expires_at < now()`). The protocol layer checks expiry
//! itself, so a store that keeps expired records a while longer is still correct.
//!
//! Methods return `impl Future + Send` so that the server's futures are `Send` for
//! multi-threaded runtimes; an in-memory store returns ready futures.

mod forward;
mod records;

use std::future::Future;

use time::OffsetDateTime;

use crate::client::Client;
use crate::types::{ClientId, GrantId, Subject, TokenHash};

pub use records::{
    AccessTokenRecord, ClaimOutcome, CodeRecord, CodeTake, DeviceDecided, DeviceInsert, DevicePoll, DeviceRequest,
    DeviceState, GrantRecord, InsertOutcome, NewGrant, PushedRequest, RefreshTokenRecord, RotateOutcome, Rotation,
};

/// A store operation failed. The server answers `server_error` (or 503 for
/// [`StoreErrorKind::Unavailable`]) and stores nothing more; the error, with its cause, reaches
/// the host through [`Hooks::failure`](crate::hooks::Hooks::failure) so an operator can learn why.
///
/// ```
/// use oauth21::store::{StoreError, StoreErrorKind};
/// let io = std::io::Error::new(std::io::ErrorKind::ConnectionRefused, "connection refused");
/// let error = StoreError::unavailable("redis").with_source(io);
/// assert_eq!(error.kind(), StoreErrorKind::Unavailable);
/// assert_eq!(error.to_string(), "store unavailable: redis");
/// assert!(std::error::Error::source(&error).unwrap().to_string().contains("refused"));
/// ```
#[derive(Clone)]
pub struct StoreError(Box<StoreErrorInner>);

/// Boxed so that every store answer's `Result` stays small: errors are rare, answers are
/// moved through every future on every request, and a small one comes back in registers.
#[derive(Debug, Clone)]
struct StoreErrorInner {
    kind: StoreErrorKind,
    message: std::borrow::Cow<'static, str>,
    source: Option<std::sync::Arc<dyn std::error::Error + Send + Sync>>,
}

/// What kind of failure a [`StoreError`] is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum StoreErrorKind {
    /// The store cannot be reached now; the request may be retried (503).
    Unavailable,
    /// The store failed, or returned data it could not decode.
    Backend,
    /// The store does not implement the operation (see [`Capabilities`]).
    Unsupported,
}

impl StoreError {
    fn new(kind: StoreErrorKind, message: std::borrow::Cow<'static, str>) -> Self {
        Self(Box::new(StoreErrorInner { kind, message, source: None }))
    }

    /// The store cannot be reached now; `message` says which or how (no secrets).
    pub fn unavailable(message: impl Into<std::borrow::Cow<'static, str>>) -> Self {
        Self::new(StoreErrorKind::Unavailable, message.into())
    }

    /// The store failed or returned data it could not decode.
    pub fn backend(message: impl Into<std::borrow::Cow<'static, str>>) -> Self {
        Self::new(StoreErrorKind::Backend, message.into())
    }

    /// The store does not implement `operation`: what a provided [`Store`] method answers until
    /// the store overrides it, so that nothing is ever silently skipped.
    pub fn unsupported(operation: &'static str) -> Self {
        Self::new(StoreErrorKind::Unsupported, operation.into())
    }

    /// The same error, caused by `source` (the driver's error), which
    /// [`std::error::Error::source`] returns.
    pub fn with_source(mut self, source: impl std::error::Error + Send + Sync + 'static) -> Self {
        self.0.source = Some(std::sync::Arc::new(source));
        self
    }

    /// The kind of failure.
    pub fn kind(&self) -> StoreErrorKind {
        self.0.kind
    }

    /// The store's description of what failed.
    pub fn message(&self) -> &str {
        &self.0.message
    }
}

impl std::fmt::Debug for StoreError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let StoreErrorInner { kind, message, source } = &*self.0;
        f.debug_struct("StoreError").field("kind", kind).field("message", message).field("source", source).finish()
    }
}

impl std::fmt::Display for StoreError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let message = &self.0.message;
        match self.0.kind {
            StoreErrorKind::Unavailable => write!(f, "store unavailable: {message}"),
            StoreErrorKind::Backend => write!(f, "store failure: {message}"),
            StoreErrorKind::Unsupported => write!(f, "store does not support {message}"),
        }
    }
}

impl std::error::Error for StoreError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        self.0.source.as_deref().map(|e| e as &(dyn std::error::Error + 'static))
    }
}

/// The optional operations a store implements: a set of flags. The required operations every
/// store has; operations added later are provided methods that fail closed (they answer
/// [`StoreErrorKind::Unsupported`], never a silent success) until a store overrides them and
/// declares them here. A feature that needs one checks the store's declaration when the server
/// is built, so the server refuses to start rather than fail on the first request; the
/// conformance suite runs the cases of every declared capability.
///
/// ```
/// use oauth21::store::Capabilities;
/// let store_has = Capabilities::SINGLE_USE_CLAIMS;
/// assert!(store_has.contains(Capabilities::SINGLE_USE_CLAIMS));
/// assert_eq!(store_has.missing(Capabilities::NONE), Capabilities::NONE);
/// ```
#[derive(Clone, Copy, PartialEq, Eq, Hash, Default)]
pub struct Capabilities(u32);

impl Capabilities {
    /// No optional operation.
    pub const NONE: Self = Self(0);
    /// [`Store::claim_once`]: single-use claims (DPoP proof `jti`s, client assertion `jti`s).
    pub const SINGLE_USE_CLAIMS: Self = Self(1);
    /// [`Store::insert_pushed_request`] and [`Store::pushed_request`]: pushed authorization
    /// requests (RFC 9126).
    pub const PUSHED_REQUESTS: Self = Self(2);

    /// [`Store::register_client`]: clients registered at run time (RFC 7591), seen by every
    /// instance that shares the store.
    pub const CLIENT_REGISTRATION: Self = Self(4);
    /// [`Store::insert_device_request`], [`Store::device_request_by_user_code`],
    /// [`Store::decide_device_request`] and [`Store::poll_device_request`]: the device
    /// authorization grant (RFC 8628).
    pub const DEVICE_REQUESTS: Self = Self(8);

    const NAMES: [(Self, &'static str); 4] = [
        (Self::SINGLE_USE_CLAIMS, "single-use claims"),
        (Self::PUSHED_REQUESTS, "pushed requests"),
        (Self::CLIENT_REGISTRATION, "client registration"),
        (Self::DEVICE_REQUESTS, "device requests"),
    ];

    /// Both sets.
    pub const fn union(self, other: Self) -> Self {
        Self(self.0 | other.0)
    }

    /// Whether every capability of `other` is in this set.
    pub const fn contains(self, other: Self) -> bool {
        self.0 & other.0 == other.0
    }

    /// The capabilities of `required` this set lacks.
    pub const fn missing(self, required: Self) -> Self {
        Self(required.0 & !self.0)
    }

    /// Whether the set is empty.
    pub const fn is_empty(self) -> bool {
        self.0 == 0
    }
}

impl std::fmt::Debug for Capabilities {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_set().entries(Self::NAMES.iter().filter(|(c, _)| self.contains(*c)).map(|(_, name)| name)).finish()
    }
}

impl std::fmt::Display for Capabilities {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let names: Vec<&str> = Self::NAMES.iter().filter(|(c, _)| self.contains(*c)).map(|(_, name)| *name).collect();
        f.write_str(&names.join(", "))
    }
}

/// Storage for clients, codes and grants. See the [module docs](self) for the contract.
pub trait Store: Send + Sync {
    /// The optional operations this store implements (default: none). Declare only what the
    /// store overrides; the conformance suite checks each declared one.
    fn capabilities(&self) -> Capabilities {
        Capabilities::NONE
    }

    /// Claims `key` once until `until`, atomically (optional: [`Capabilities::SINGLE_USE_CLAIMS`]).
    ///
    /// Must return [`ClaimOutcome::Claimed`] **at most once** for a key while its claim lasts,
    /// however many callers race, also across processes; a key whose claim ended (`until` at or
    /// before `at`, the server's now) may be claimed again. The key is a digest the server
    /// makes (of a DPoP proof's key and `jti`, say), never a secret. Default: unsupported.
    fn claim_once(
        &self,
        key: &TokenHash,
        at: OffsetDateTime,
        until: OffsetDateTime,
    ) -> impl Future<Output = Result<ClaimOutcome, StoreError>> + Send {
        let _ = (key, at, until);
        std::future::ready(Err(StoreError::unsupported("claim_once")))
    }

    /// Stores a pushed authorization request under `hash` (the digest of its `request_uri`'s
    /// random part) at `at` (the server's now) until `until`, after which it must be gone (optional:
    /// [`Capabilities::PUSHED_REQUESTS`]). The random part has 256 bits, so a collision is a
    /// failure, never an overwrite. Default: unsupported.
    fn insert_pushed_request(
        &self,
        hash: &TokenHash,
        request: PushedRequest,
        at: OffsetDateTime,
        until: OffsetDateTime,
    ) -> impl Future<Output = Result<(), StoreError>> + Send {
        let _ = (hash, request, at, until);
        std::future::ready(Err(StoreError::unsupported("insert_pushed_request")))
    }

    /// The pushed request stored under `hash`, unless its `until` is at or before `at` (optional:
    /// [`Capabilities::PUSHED_REQUESTS`]). Reading does not consume it: the server makes a
    /// `request_uri` single-use with [`Store::claim_once`] when the authorization completes.
    /// Default: unsupported.
    fn pushed_request(
        &self,
        hash: &TokenHash,
        at: OffsetDateTime,
    ) -> impl Future<Output = Result<Option<PushedRequest>, StoreError>> + Send {
        let _ = (hash, at);
        std::future::ready(Err(StoreError::unsupported("pushed_request")))
    }

    /// Stores a device request under `hash` (the digest of its `device_code`) until its
    /// `expires_at`, unless a live request (one whose `expires_at` is after `at`) has the same
    /// `user_code` digest: then nothing is stored and the answer is
    /// [`DeviceInsert::UserCodeInUse`] (optional: [`Capabilities::DEVICE_REQUESTS`]). The device
    /// code has 256 bits, so a request already under `hash` is a failure, never an overwrite.
    fn insert_device_request(
        &self,
        hash: &TokenHash,
        request: DeviceRequest,
        at: OffsetDateTime,
    ) -> impl Future<Output = Result<DeviceInsert, StoreError>> + Send {
        let _ = (hash, request, at);
        std::future::ready(Err(StoreError::unsupported("insert_device_request")))
    }

    /// The live request (its `expires_at` after `at`) whose user code has the digest
    /// `user_code`, with its device-code digest (optional: [`Capabilities::DEVICE_REQUESTS`]).
    fn device_request_by_user_code(
        &self,
        user_code: &TokenHash,
        at: OffsetDateTime,
    ) -> impl Future<Output = Result<Option<(TokenHash, DeviceRequest)>, StoreError>> + Send {
        let _ = (user_code, at);
        std::future::ready(Err(StoreError::unsupported("device_request_by_user_code")))
    }

    /// Records the user's decision (`decision` is [`DeviceState::Approved`] or
    /// [`DeviceState::Denied`]) on the request under `hash`, **atomically and only while it is
    /// pending and live** (`expires_at` after `at`): of concurrent decisions, at most one ever
    /// gets [`DeviceDecided::Decided`] (optional: [`Capabilities::DEVICE_REQUESTS`]).
    fn decide_device_request(
        &self,
        hash: &TokenHash,
        decision: DeviceState,
        at: OffsetDateTime,
    ) -> impl Future<Output = Result<DeviceDecided, StoreError>> + Send {
        let _ = (hash, decision, at);
        std::future::ready(Err(StoreError::unsupported("decide_device_request")))
    }

    /// One poll by `client_id` of the request under `hash`, at `at`, **atomically** (optional:
    /// [`Capabilities::DEVICE_REQUESTS`]):
    ///
    /// - `None` when there is no such request, or it is another client's (DG-04);
    /// - pending, and `at` is less than `interval` seconds after `last_polled_at`: the interval
    ///   grows by 5 s, `last_polled_at` becomes `at`, [`DevicePoll::SlowDown`] (DG-02);
    /// - approved and live (`expires_at` after `at`): the state becomes
    ///   [`DeviceState::Redeemed`] and [`DevicePoll::Redeemed`] returns the approval. **At most
    ///   one caller ever gets it**, however many race, also across processes;
    /// - otherwise `last_polled_at` becomes `at` and [`DevicePoll::Current`] returns the record.
    fn poll_device_request(
        &self,
        hash: &TokenHash,
        client_id: &ClientId,
        at: OffsetDateTime,
    ) -> impl Future<Output = Result<Option<DevicePoll>, StoreError>> + Send {
        let _ = (hash, client_id, at);
        std::future::ready(Err(StoreError::unsupported("poll_device_request")))
    }

    /// Stores a client registered at `at` (the server's now) through dynamic registration
    /// (optional: [`Capabilities::CLIENT_REGISTRATION`]). The id is 128 random bits the server
    /// made, so an existing client under it is a failure, **never an overwrite**: a store must
    /// not let a registration replace another client. Default: unsupported.
    fn register_client(
        &self,
        client: &Client,
        at: OffsetDateTime,
    ) -> impl Future<Output = Result<(), StoreError>> + Send {
        let _ = (client, at);
        std::future::ready(Err(StoreError::unsupported("register_client")))
    }

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

    /// Atomically creates a grant with its first tokens, unless it was revoked.
    ///
    /// Must store all records or none, and must return [`InsertOutcome::GrantRevoked`]
    /// (storing nothing) when [`Store::revoke_grant`] was called for the grant, or
    /// [`Store::revoke_subject`] for its subject at or after `grant.authorized_at`.
    fn insert_grant(&self, grant: NewGrant) -> impl Future<Output = Result<InsertOutcome, StoreError>> + Send;

    /// Atomically rotates a family's refresh token: the compare-and-swap of the contract.
    ///
    /// Succeeds, storing the new records and marking the replaced refresh token with
    /// `rotated_at = rotation.at`, only while the family is not revoked and `rotation.from` is
    /// its active refresh token (or, with `grace_retry`, its previous one, not retried before).
    /// For a given `from` it must return [`RotateOutcome::Rotated`] **at most once**, except
    /// when `from` is kept (`rotation.refresh.hash == from`).
    fn rotate_refresh(&self, rotation: Rotation) -> impl Future<Output = Result<RotateOutcome, StoreError>> + Send;

    /// Revokes grant `id` at `at` (the server's now): every access and refresh token of the
    /// grant stops being returned by the lookups, and [`Store::insert_grant`] and
    /// [`Store::rotate_refresh`] refuse the grant until at least `remember_until`. Revoking an
    /// unknown or already revoked grant succeeds.
    fn revoke_grant(
        &self,
        id: &GrantId,
        at: OffsetDateTime,
        remember_until: OffsetDateTime,
    ) -> impl Future<Output = Result<(), StoreError>> + Send;

    /// Revokes one access token (RV-04): it stops being returned by
    /// [`Store::access_token`]. Revoking an unknown token succeeds.
    fn revoke_access_token(&self, hash: &TokenHash) -> impl Future<Output = Result<(), StoreError>> + Send;

    /// Revokes every grant of `subject` (logout everywhere, password change), and makes
    /// [`Store::insert_grant`] refuse any grant of the subject authorized at or before `at`
    /// (codes already issued) until at least `remember_until`.
    fn revoke_subject(
        &self,
        subject: &Subject,
        at: OffsetDateTime,
        remember_until: OffsetDateTime,
    ) -> impl Future<Output = Result<(), StoreError>> + Send;

    /// The live (not revoked) access token with digest `hash`, expired or not.
    fn access_token(
        &self,
        hash: &TokenHash,
    ) -> impl Future<Output = Result<Option<AccessTokenRecord>, StoreError>> + Send;

    /// The refresh token with digest `hash`, unless its grant was revoked: active or rotated out
    /// (`rotated_at` set), expired or not.
    fn refresh_token(
        &self,
        hash: &TokenHash,
    ) -> impl Future<Output = Result<Option<RefreshTokenRecord>, StoreError>> + Send;
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Boxing the error's parts changed nothing a host sees: kind, message, text, source and
    /// the `Debug` shape a log line shows.
    #[test]
    fn a_store_error_reads_the_same_however_it_is_laid_out() {
        let refused = std::io::Error::new(std::io::ErrorKind::ConnectionRefused, "refused");
        let error = StoreError::unavailable("redis").with_source(refused);
        assert_eq!(error.kind(), StoreErrorKind::Unavailable);
        assert_eq!(error.message(), "redis");
        assert_eq!(error.to_string(), "store unavailable: redis");
        assert_eq!(std::error::Error::source(&error).map(ToString::to_string).as_deref(), Some("refused"));
        assert_eq!(
            format!("{error:?}"),
            r#"StoreError { kind: Unavailable, message: "redis", source: Some(Custom { kind: ConnectionRefused, error: "refused" }) }"#
        );
        assert_eq!(StoreError::backend("decode").to_string(), "store failure: decode");
        assert_eq!(StoreError::unsupported("claim_once").to_string(), "store does not support claim_once");
        assert!(std::error::Error::source(&StoreError::backend("decode")).is_none());
        // Small enough to come back in registers with any answer.
        assert_eq!(std::mem::size_of::<StoreError>(), std::mem::size_of::<usize>());
    }
}
