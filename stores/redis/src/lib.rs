//! A Redis [`Store`] for the [`oauth21`] authorization-server core: several server instances
//! share one Redis, and the store contract (a code is taken once, a refresh token rotates once,
//! revocation reaches every token of a family) holds across all of them.
//!
//! Each [`Store`] operation is **one** Redis command or **one** Lua script, so it is atomic on
//! the Redis server whichever instance sends it; the mapping is written out in
//! [`oauth21::store`]'s module docs and in `docs/architecture.md` ("Scaling out"). The one
//! exception is `revoke_subject`, which revokes a subject's grants in bounded batches (see
//! [Revoking a subject](#revoking-a-subject)). Only digests ([`TokenHash`]) of codes and tokens
//! are stored, and every key expires with its record.
//!
//! ```no_run
//! use oauth21::{Server, ServerConfig};
//! use oauth21_redis::RedisStore;
//!
//! # async fn run() -> Result<(), Box<dyn std::error::Error>> {
//! let store = RedisStore::builder("redis://127.0.0.1:6379").namespace("auth:").connect().await?;
//! // Registrations live in Redis, so every instance sees the same clients.
//! store.put_client(&oauth21::Client::public("app").redirect_uri("http://127.0.0.1/cb").build()?).await?;
//! let server = Server::new(ServerConfig::builder("https://auth.example").build()?, store);
//! # let _ = server;
//! # Ok(())
//! # }
//! ```
//!
//! # Failures
//!
//! A connection that drops is re-established by the next request (the client's connection
//! manager reconnects in the background); until Redis answers again every operation returns
//! an [`Unavailable`](oauth21::store::StoreErrorKind::Unavailable) [`StoreError`], which the server turns into
//! `503 temporarily_unavailable`.
//! Each request waits at most about the configured response timeout plus a short reconnect
//! back-off, never indefinitely. A write whose reply is lost is reported as an error, never as
//! a success: the server then issues nothing (the write may still have happened, which only
//! makes a code or token unusable, never usable twice).
//!
//! # Time
//!
//! The store has no clock: every write carries the server's now (a code's `issued_at`, a new
//! grant's access token `issued_at`, a rotation's `at`, a revocation's `at`), and key lifetimes
//! are "milliseconds from that now until the record's `expires_at`", never read from the Redis
//! host's clock, so Redis drops a record when the server would consider it expired.
//!
//! # Revoking a subject
//!
//! `subject:{subject}` indexes a subject's grants for `revoke_subject`: a sorted set of grant
//! ids, each scored by its family's end (unix ms: the latest `expires_at` of the grant and its
//! tokens). `insert_grant` drops the grants that ended before the new access token's
//! `issued_at`, so a subject with a steady stream of short grants (a `client_credentials`
//! client is its own subject) keeps only its live ones; the key itself lives as long as its
//! longest-lived grant. An index still in the earlier plain-set layout is converted by the
//! first script that writes it, every member scored by the set's own end. Instances of a
//! version that kept the plain set fail (`WRONGTYPE`) on an index a newer one has converted, so
//! replace all instances of a deployment together rather than one at a time.
//!
//! `revoke_subject` runs a first script that sets the `revoked-sub:{subject}` marker and moves
//! the whole index into `subject-revoking:{subject}` (merged with whatever an interrupted
//! earlier call left there), then scripts of at most 256 grants each, until none is left. From
//! the first script on, `insert_grant` refuses every grant of the subject authorized at or
//! before the revocation, and a newer grant goes into a fresh index this revocation leaves
//! alone. Between the scripts Redis serves other commands, and until the call returns some of
//! the grants may still work. A failure in any step is an error, never a success; the
//! revoking set keeps the grants not yet revoked (for at least `remember_until`, and as long as
//! any of them could live), and the next `revoke_subject` of the subject finishes them.
//!
//! # Deployment notes
//!
//! One Redis server holds the state (the store connects to one URL; Sentinel discovery is not
//! built in). Keep Redis's `maxmemory-policy` at `noeviction` (the default): every key has an
//! expiry, so any other policy could evict a revocation marker before its time. Without
//! persistence (`appendonly yes`) a Redis restart forgets every code and token. Redis Cluster is
//! not supported: a family's scripts touch the keys of several tokens, which would have to
//! share one hash slot. Redis replication is asynchronous: after a failover a write the old
//! primary acknowledged can be lost, and with it a code's "used" mark; deployments that fail
//! over accept that window.

#![forbid(unsafe_code)]
#![deny(missing_docs)]

use std::fmt;
use std::future::Future;
use std::sync::{Arc, LazyLock};

use oauth21::store::{
    AccessTokenRecord, Capabilities, ClaimOutcome, CodeRecord, CodeTake, DeviceDecided, DeviceInsert, DevicePoll,
    DeviceRequest, DeviceState, InsertOutcome, NewGrant, PushedRequest, RefreshTokenRecord, RotateOutcome, Rotation,
    Store, StoreError,
};
use oauth21::{Client, ClientId, GrantId, Subject, TokenHash};
use redis::aio::{ConnectionManager, ConnectionManagerConfig};
use redis::{ErrorKind, RedisError, Script, ServerErrorKind};
use serde::Serialize;
use serde::de::DeserializeOwned;
use time::OffsetDateTime;

#[cfg(feature = "testing")]
pub mod testing;

/// The longest key lifetime the store sets (100 years), so that no far-future `expires_at`
/// overflows Redis's expiry arithmetic.
const MAX_TTL_MS: i64 = 100 * 365 * 24 * 60 * 60 * 1000;

macro_rules! script {
    ($name:ident, $file:literal) => {
        static $name: LazyLock<Script> = LazyLock::new(|| Script::new(include_str!($file)));
    };
    ($name:ident, common, $file:literal) => {
        static $name: LazyLock<Script> =
            LazyLock::new(|| Script::new(concat!(include_str!("lua/common.lua"), include_str!($file))));
    };
}

script!(INSERT_CODE, "lua/insert_code.lua");
script!(TAKE_CODE, "lua/take_code.lua");
script!(INSERT_GRANT, common, "lua/insert_grant.lua");
script!(ROTATE_REFRESH, common, "lua/rotate_refresh.lua");
script!(REVOKE_GRANT, common, "lua/revoke_grant.lua");
script!(REVOKE_SUBJECT, common, "lua/revoke_subject.lua");
script!(REVOKE_SUBJECT_BATCH, common, "lua/revoke_subject_batch.lua");
script!(INSERT_DEVICE, "lua/insert_device.lua");
script!(DECIDE_DEVICE, "lua/decide_device.lua");
script!(POLL_DEVICE, "lua/poll_device.lua");

/// The most grants one `revoke_subject` script revokes: Redis runs nothing else while a script
/// runs, so a subject with many grants is revoked in several short scripts, not one long one.
const REVOKE_SUBJECT_BATCH_SIZE: usize = 256;

/// Maps a client error onto the store contract: anything that says "Redis cannot be reached
/// or cannot serve now" is [`StoreErrorKind::Unavailable`](oauth21::store::StoreErrorKind::Unavailable) (answered with 503, worth a retry),
/// everything else [`StoreErrorKind::Backend`](oauth21::store::StoreErrorKind::Backend); the driver's error is kept as the source.
fn store_error(error: RedisError) -> StoreError {
    let transient = error.is_io_error()
        || error.is_connection_dropped()
        || error.is_connection_refusal()
        || error.is_timeout()
        || matches!(
            error.kind(),
            ErrorKind::Server(
                ServerErrorKind::BusyLoading
                    | ServerErrorKind::TryAgain
                    | ServerErrorKind::MasterDown
                    | ServerErrorKind::ReadOnly
                    | ServerErrorKind::ClusterDown
            )
        )
        || error.code() == Some("BUSY");
    if transient {
        StoreError::unavailable("redis").with_source(error)
    } else {
        StoreError::backend("redis").with_source(error)
    }
}

fn to_json<T: Serialize>(value: &T) -> Result<String, StoreError> {
    serde_json::to_string(value).map_err(|e| StoreError::backend("cannot encode a record").with_source(e))
}

fn from_json<T: DeserializeOwned>(text: &str) -> Result<T, StoreError> {
    serde_json::from_str(text).map_err(|e| StoreError::backend("cannot decode a stored record").with_source(e))
}

/// Milliseconds from `now` (the write's, the server's clock) until `until`, at least 1 (Redis
/// refuses 0) and at most [`MAX_TTL_MS`]. A record already past its end lives 1 ms, which the
/// contract allows: a store may drop expired records.
fn lifetime_ms(now: OffsetDateTime, until: OffsetDateTime) -> i64 {
    let left = (until - now).whole_milliseconds();
    i64::try_from(left.clamp(1, i128::from(MAX_TTL_MS))).unwrap_or(MAX_TTL_MS)
}

/// Milliseconds since the epoch, the unit of the subject index's scores (exact in a Lua number).
/// A refresh token's record is kept until the grant ends, also once rotated out, so that a
/// late replay is still recognised (RT-07).
fn refresh_ttl_ms(now: OffsetDateTime, refresh: &RefreshTokenRecord) -> i64 {
    lifetime_ms(now, refresh.expires_at.max(refresh.grant_expires_at))
}

/// The hash fields of `device:{hash}` a lookup reads: record, phase, approval, interval, polled.
type DeviceFields = (Option<String>, Option<String>, Option<String>, Option<i64>, Option<i64>);

/// A device request from its hash fields: the record as inserted, with the fields that change
/// (phase, approval, interval, last poll in unix ms) laid over it.
fn device_request(
    record: &str,
    phase: &str,
    approval: &str,
    interval: i64,
    polled_ms: Option<i64>,
) -> Result<DeviceRequest, StoreError> {
    let mut request: DeviceRequest = from_json(record)?;
    request.interval = interval;
    request.last_polled_at = match polled_ms {
        Some(ms) => Some(
            OffsetDateTime::from_unix_timestamp_nanos(i128::from(ms) * 1_000_000)
                .map_err(|_| StoreError::backend("a device poll time is out of range"))?,
        ),
        None => None,
    };
    request.state = match phase {
        "pending" => DeviceState::Pending,
        "approved" => from_json(approval)?,
        "denied" => DeviceState::Denied,
        "redeemed" => DeviceState::Redeemed,
        _ => return Err(StoreError::backend("a device request in an unknown phase")),
    };
    Ok(request)
}

fn unix_ms(at: OffsetDateTime) -> i64 {
    let ms = at.unix_timestamp_nanos().div_euclid(1_000_000);
    i64::try_from(ms).unwrap_or(if ms < 0 { i64::MIN } else { i64::MAX })
}

/// The subject index's score for a family ending at `end`, seen at `now`: `end` in unix ms, but
/// no later than the longest key lifetime ([`MAX_TTL_MS`]) from `now`, as the family's keys.
fn family_end_ms(now: OffsetDateTime, end: OffsetDateTime) -> i64 {
    unix_ms(end).min(unix_ms(now).saturating_add(MAX_TTL_MS))
}

/// Microseconds since the epoch: exact in a Lua number (a double), and the unit in which
/// revocation instants are compared. Truncation can only make an instant compare as "at or
/// before" a revocation, which refuses a grant rather than letting one through.
fn unix_micros(at: OffsetDateTime) -> String {
    (at.unix_timestamp_nanos().div_euclid(1000)).to_string()
}

/// Builds the key names under one namespace. Each kind has its own fixed infix and the
/// variable part comes last, so two different records never share a key.
#[derive(Debug, Clone)]
struct Keys {
    prefix: Arc<str>,
}

impl Keys {
    fn key(&self, kind: &str, id: impl fmt::Display) -> String {
        format!("{}{kind}:{id}", self.prefix)
    }
    fn client(&self, id: &ClientId) -> String {
        self.key("client", id.as_str())
    }
    fn code(&self, hash: &TokenHash) -> String {
        self.key("code", hash)
    }
    fn access(&self, hash: &TokenHash) -> String {
        self.key("at", hash)
    }
    fn refresh(&self, hash: &TokenHash) -> String {
        self.key("rt", hash)
    }
    fn family(&self, id: &GrantId) -> String {
        self.key("family", id.as_str())
    }
    fn members(&self, id: &GrantId) -> String {
        self.key("members", id.as_str())
    }
    fn revoked_grant(&self, id: &GrantId) -> String {
        self.key("revoked", id.as_str())
    }
    fn revoked_subject(&self, subject: &Subject) -> String {
        self.key("revoked-sub", subject.as_str())
    }
    fn subject_grants(&self, subject: &Subject) -> String {
        self.key("subject", subject.as_str())
    }
    fn claim(&self, hash: &TokenHash) -> String {
        self.key("claim", hash)
    }

    fn pushed(&self, hash: &TokenHash) -> String {
        self.key("pushed", hash)
    }

    fn device(&self, hash: &TokenHash) -> String {
        self.key("device", hash)
    }

    fn user_code(&self, digest: &TokenHash) -> String {
        self.key("user-code", digest)
    }

    fn subject_revoking(&self, subject: &Subject) -> String {
        self.key("subject-revoking", subject.as_str())
    }
}

/// Settings for [`RedisStore`]; start with [`RedisStore::builder`].
#[must_use]
pub struct RedisStoreBuilder {
    url: String,
    namespace: String,
    response_timeout: std::time::Duration,
    connection_timeout: std::time::Duration,
    reconnect_attempts: usize,
}

impl fmt::Debug for RedisStoreBuilder {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // The URL may carry a password.
        f.debug_struct("RedisStoreBuilder")
            .field("namespace", &self.namespace)
            .field("response_timeout", &self.response_timeout)
            .field("connection_timeout", &self.connection_timeout)
            .field("reconnect_attempts", &self.reconnect_attempts)
            .finish_non_exhaustive()
    }
}

impl RedisStoreBuilder {
    /// The prefix of every key (default `oauth21:`), so that several deployments or test runs
    /// share one Redis without seeing each other's records.
    pub fn namespace(mut self, prefix: impl Into<String>) -> Self {
        self.namespace = prefix.into();
        self
    }

    /// How long one command may wait for its reply before it fails with
    /// [`StoreErrorKind::Unavailable`](oauth21::store::StoreErrorKind::Unavailable) (default 2 s).
    pub fn response_timeout(mut self, timeout: std::time::Duration) -> Self {
        self.response_timeout = timeout;
        self
    }

    /// How long one connection attempt may take (default 1 s).
    pub fn connection_timeout(mut self, timeout: std::time::Duration) -> Self {
        self.connection_timeout = timeout;
        self
    }

    /// How many times a lost connection is retried, with a short exponential back-off, before
    /// the waiting requests fail (default 2; the next request starts a new round).
    pub fn reconnect_attempts(mut self, attempts: usize) -> Self {
        self.reconnect_attempts = attempts;
        self
    }

    /// Connects (must run inside a Tokio runtime). Fails with [`StoreErrorKind::Backend`](oauth21::store::StoreErrorKind::Backend) for an
    /// unusable URL and with [`StoreErrorKind::Unavailable`](oauth21::store::StoreErrorKind::Unavailable) when Redis does not answer.
    pub async fn connect(self) -> Result<RedisStore, StoreError> {
        let client = redis::Client::open(self.url.as_str())
            .map_err(|e| StoreError::backend("invalid redis URL").with_source(e))?;
        let config = ConnectionManagerConfig::new()
            .set_response_timeout(Some(self.response_timeout))
            .set_connection_timeout(Some(self.connection_timeout))
            .set_number_of_retries(self.reconnect_attempts)
            .set_min_delay(std::time::Duration::from_millis(20))
            .set_max_delay(std::time::Duration::from_millis(400));
        let connection = ConnectionManager::new_with_config(client, config).await.map_err(store_error)?;
        let store = RedisStore { connection, keys: Keys { prefix: self.namespace.into() } };
        store.ping().await?;
        Ok(store)
    }
}

/// A [`Store`] on Redis. Cheap to clone: clones share one multiplexed connection.
///
/// Clients are kept in Redis too ([`RedisStore::put_client`]), so a registration change
/// reaches every instance at once.
#[derive(Clone)]
pub struct RedisStore {
    connection: ConnectionManager,
    keys: Keys,
}

impl fmt::Debug for RedisStore {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("RedisStore").field("namespace", &self.keys.prefix).finish_non_exhaustive()
    }
}

impl RedisStore {
    /// Settings for a store on the Redis at `url` (`redis://[:password@]host:port[/db]`, or
    /// `redis+unix:///path`).
    pub fn builder(url: impl Into<String>) -> RedisStoreBuilder {
        RedisStoreBuilder {
            url: url.into(),
            namespace: "oauth21:".into(),
            response_timeout: std::time::Duration::from_secs(2),
            connection_timeout: std::time::Duration::from_secs(1),
            reconnect_attempts: 2,
        }
    }

    /// Connects to the Redis at `url` with the default settings.
    pub async fn connect(url: impl Into<String>) -> Result<Self, StoreError> {
        Self::builder(url).connect().await
    }

    /// The key prefix.
    pub fn namespace(&self) -> &str {
        &self.keys.prefix
    }

    /// Checks that Redis answers (for health checks).
    pub async fn ping(&self) -> Result<(), StoreError> {
        let reply: String = redis::cmd("PING").query_async(&mut self.connection.clone()).await.map_err(store_error)?;
        if reply == "PONG" { Ok(()) } else { Err(StoreError::backend(format!("unexpected PING reply {reply:?}"))) }
    }

    /// Registers `client` for every instance sharing this Redis, replacing any registration
    /// with the same id (`SET client:{id}`, JSON). Only secret digests are in a registration.
    pub async fn put_client(&self, client: &Client) -> Result<(), StoreError> {
        redis::cmd("SET")
            .arg(self.keys.client(client.id()))
            .arg(to_json(client)?)
            .query_async::<()>(&mut self.connection.clone())
            .await
            .map_err(store_error)
    }

    /// Removes client `id`; returns whether it was registered.
    pub async fn remove_client(&self, id: &ClientId) -> Result<bool, StoreError> {
        let removed: i64 = redis::cmd("DEL")
            .arg(self.keys.client(id))
            .query_async(&mut self.connection.clone())
            .await
            .map_err(store_error)?;
        Ok(removed == 1)
    }

    async fn get_json<T: DeserializeOwned>(&self, key: String) -> Result<Option<T>, StoreError> {
        let text: Option<String> =
            redis::cmd("GET").arg(key).query_async(&mut self.connection.clone()).await.map_err(store_error)?;
        text.as_deref().map(from_json).transpose()
    }

    async fn insert_code_inner(&self, code: CodeRecord) -> Result<(), StoreError> {
        let stored: i64 = INSERT_CODE
            .key(self.keys.code(&code.hash))
            .arg(to_json(&code)?)
            .arg(lifetime_ms(code.issued_at, code.expires_at))
            .invoke_async(&mut self.connection.clone())
            .await
            .map_err(store_error)?;
        match stored {
            1 => Ok(()),
            _ => Err(StoreError::backend("authorization code collision")),
        }
    }

    async fn take_code_inner(&self, hash: &TokenHash) -> Result<CodeTake, StoreError> {
        let found: Option<(i64, String)> = TAKE_CODE
            .key(self.keys.code(hash))
            .invoke_async(&mut self.connection.clone())
            .await
            .map_err(store_error)?;
        Ok(match found {
            None => CodeTake::NotFound,
            Some((1, record)) => CodeTake::Taken(from_json(&record)?),
            Some((_, record)) => CodeTake::AlreadyTaken(from_json(&record)?),
        })
    }

    async fn insert_grant_inner(&self, new: NewGrant) -> Result<InsertOutcome, StoreError> {
        let grant = &new.grant;
        // The access token's issued_at is the server's now at issue time: key lifetimes run
        // from it, and the subject index drops grants that ended before it.
        let now = new.access.issued_at;
        let keep_grant = lifetime_ms(now, grant.expires_at);
        let end = new
            .refresh
            .iter()
            .map(|refresh| refresh.expires_at.max(refresh.grant_expires_at))
            .fold(grant.expires_at.max(new.access.expires_at), OffsetDateTime::max);
        let mut invocation = INSERT_GRANT.prepare_invoke();
        invocation
            .key(self.keys.revoked_grant(&grant.grant_id))
            .key(self.keys.revoked_subject(&grant.subject))
            .key(self.keys.family(&grant.grant_id))
            .key(self.keys.members(&grant.grant_id))
            .key(self.keys.subject_grants(&grant.subject))
            .key(self.keys.access(&new.access.hash))
            .arg(grant.grant_id.as_str())
            .arg(unix_micros(grant.authorized_at))
            .arg(to_json(grant)?)
            .arg(keep_grant)
            .arg(grant.subject.as_str())
            .arg(to_json(&new.access)?)
            .arg(lifetime_ms(now, new.access.expires_at))
            .arg(format!("at:{}", new.access.hash))
            .arg(unix_ms(now))
            .arg(family_end_ms(now, end));
        if let Some(refresh) = &new.refresh {
            invocation
                .key(self.keys.refresh(&refresh.hash))
                .arg(refresh.hash.to_string())
                .arg(to_json(refresh)?)
                .arg(refresh_ttl_ms(now, refresh))
                .arg(format!("rt:{}", refresh.hash));
        }
        let outcome: i64 = invocation.invoke_async(&mut self.connection.clone()).await.map_err(store_error)?;
        match outcome {
            1 => Ok(InsertOutcome::Inserted),
            0 => Ok(InsertOutcome::GrantRevoked),
            _ => Err(StoreError::backend("grant or token collision")),
        }
    }

    async fn rotate_refresh_inner(&self, rotation: Rotation) -> Result<RotateOutcome, StoreError> {
        let grant_id = &rotation.refresh.grant_id;
        // The new access token may end after the grant; the family (and its place in the
        // subject index) is kept until its last token ends.
        let end = rotation.refresh.expires_at.max(rotation.refresh.grant_expires_at).max(rotation.access.expires_at);
        let rotated: i64 = ROTATE_REFRESH
            .key(self.keys.family(grant_id))
            .key(self.keys.members(grant_id))
            .key(self.keys.refresh(&rotation.refresh.hash))
            .key(self.keys.access(&rotation.access.hash))
            .arg(&*self.keys.prefix)
            .arg(rotation.from.to_string())
            .arg(if rotation.grace_retry { "1" } else { "0" })
            .arg(rotation.refresh.hash.to_string())
            .arg(to_json(&rotation.refresh)?)
            .arg(refresh_ttl_ms(rotation.at, &rotation.refresh))
            .arg(rotation.access.hash.to_string())
            .arg(to_json(&rotation.access)?)
            .arg(lifetime_ms(rotation.at, rotation.access.expires_at))
            .arg(rotation.at.unix_timestamp_nanos().to_string())
            .arg(unix_ms(rotation.at))
            .arg(family_end_ms(rotation.at, end))
            .arg(grant_id.as_str())
            .invoke_async(&mut self.connection.clone())
            .await
            .map_err(store_error)?;
        Ok(if rotated == 1 { RotateOutcome::Rotated } else { RotateOutcome::NotActive })
    }

    async fn revoke_grant_inner(
        &self,
        id: &GrantId,
        at: OffsetDateTime,
        remember_until: OffsetDateTime,
    ) -> Result<(), StoreError> {
        REVOKE_GRANT
            .arg(&*self.keys.prefix)
            .arg(id.as_str())
            .arg(lifetime_ms(at, remember_until))
            .invoke_async::<i64>(&mut self.connection.clone())
            .await
            .map(drop)
            .map_err(store_error)
    }

    async fn revoke_subject_inner(
        &self,
        subject: &Subject,
        at: OffsetDateTime,
        remember_until: OffsetDateTime,
    ) -> Result<(), StoreError> {
        let revoking = self.keys.subject_revoking(subject);
        let mut left: i64 = REVOKE_SUBJECT
            .key(self.keys.revoked_subject(subject))
            .key(self.keys.subject_grants(subject))
            .key(&revoking)
            .arg(unix_micros(at))
            .arg(lifetime_ms(at, remember_until))
            .invoke_async(&mut self.connection.clone())
            .await
            .map_err(store_error)?;
        // Ends: only a first step (this one, or a concurrent revoke_subject's) adds to the
        // revoking set, and each call below removes at least one grant or fails.
        while left > 0 {
            left = REVOKE_SUBJECT_BATCH
                .key(&revoking)
                .arg(&*self.keys.prefix)
                .arg(lifetime_ms(at, remember_until))
                .arg(REVOKE_SUBJECT_BATCH_SIZE)
                .invoke_async(&mut self.connection.clone())
                .await
                .map_err(store_error)?;
        }
        Ok(())
    }

    async fn claim_once_inner(
        &self,
        key: &TokenHash,
        at: OffsetDateTime,
        until: OffsetDateTime,
    ) -> Result<ClaimOutcome, StoreError> {
        // SET NX answers OK to exactly one caller while the key lives; it expires with its claim.
        let set: Option<String> = redis::cmd("SET")
            .arg(self.keys.claim(key))
            .arg("1")
            .arg("NX")
            .arg("PX")
            .arg(lifetime_ms(at, until))
            .query_async(&mut self.connection.clone())
            .await
            .map_err(store_error)?;
        Ok(if set.is_some() { ClaimOutcome::Claimed } else { ClaimOutcome::AlreadyClaimed })
    }

    async fn register_client_inner(&self, client: &Client) -> Result<(), StoreError> {
        // SET NX: a registration never replaces another client.
        let set: Option<String> = redis::cmd("SET")
            .arg(self.keys.client(client.id()))
            .arg(to_json(client)?)
            .arg("NX")
            .query_async(&mut self.connection.clone())
            .await
            .map_err(store_error)?;
        match set {
            Some(_) => Ok(()),
            None => Err(StoreError::backend("a client with this id exists")),
        }
    }

    async fn insert_device_request_inner(
        &self,
        hash: &TokenHash,
        request: DeviceRequest,
        at: OffsetDateTime,
    ) -> Result<DeviceInsert, StoreError> {
        let stored: i64 = INSERT_DEVICE
            .key(self.keys.device(hash))
            .key(self.keys.user_code(&request.user_code))
            .arg(to_json(&request)?)
            .arg(request.client_id.as_str())
            .arg(request.interval)
            .arg(unix_ms(request.expires_at))
            .arg(lifetime_ms(at, request.expires_at))
            .arg(hash.to_string())
            .invoke_async(&mut self.connection.clone())
            .await
            .map_err(store_error)?;
        match stored {
            1 => Ok(DeviceInsert::Inserted),
            0 => Ok(DeviceInsert::UserCodeInUse),
            _ => Err(StoreError::backend("device code collision")),
        }
    }

    async fn device_request_by_user_code_inner(
        &self,
        user_code: &TokenHash,
        at: OffsetDateTime,
    ) -> Result<Option<(TokenHash, DeviceRequest)>, StoreError> {
        let mut connection = self.connection.clone();
        let hash: Option<String> = redis::cmd("GET")
            .arg(self.keys.user_code(user_code))
            .query_async(&mut connection)
            .await
            .map_err(store_error)?;
        let Some(hash) = hash else { return Ok(None) };
        let hash = TokenHash::try_from(hash).map_err(|_| StoreError::backend("a user code names no device digest"))?;
        let fields: DeviceFields = redis::cmd("HMGET")
            .arg(self.keys.device(&hash))
            .arg(&["record", "phase", "approval", "interval", "polled"])
            .query_async(&mut connection)
            .await
            .map_err(store_error)?;
        let (Some(record), Some(phase), approval, Some(interval), polled) = fields else { return Ok(None) };
        let request = device_request(&record, &phase, approval.as_deref().unwrap_or(""), interval, polled)?;
        Ok((request.expires_at > at).then_some((hash, request)))
    }

    async fn decide_device_request_inner(
        &self,
        hash: &TokenHash,
        decision: DeviceState,
        at: OffsetDateTime,
    ) -> Result<DeviceDecided, StoreError> {
        let (phase, approval) = match &decision {
            DeviceState::Approved { .. } => ("approved", to_json(&decision)?),
            DeviceState::Denied => ("denied", String::new()),
            _ => return Err(StoreError::backend("a decision is an approval or a denial")),
        };
        let decided: i64 = DECIDE_DEVICE
            .key(self.keys.device(hash))
            .arg(phase)
            .arg(approval)
            .arg(unix_ms(at))
            .invoke_async(&mut self.connection.clone())
            .await
            .map_err(store_error)?;
        Ok(if decided == 1 { DeviceDecided::Decided } else { DeviceDecided::NotPending })
    }

    async fn poll_device_request_inner(
        &self,
        hash: &TokenHash,
        client_id: &ClientId,
        at: OffsetDateTime,
    ) -> Result<Option<DevicePoll>, StoreError> {
        let polled: Option<(String, String, String, String, i64)> = POLL_DEVICE
            .key(self.keys.device(hash))
            .arg(client_id.as_str())
            .arg(unix_ms(at))
            .invoke_async(&mut self.connection.clone())
            .await
            .map_err(store_error)?;
        let Some((outcome, record, phase, approval, interval)) = polled else { return Ok(None) };
        let request = device_request(&record, &phase, &approval, interval, Some(unix_ms(at)))?;
        Ok(Some(match outcome.as_str() {
            "slow_down" => DevicePoll::SlowDown(request),
            "redeemed" => DevicePoll::Redeemed(request),
            _ => DevicePoll::Current(request),
        }))
    }

    async fn insert_pushed_request_inner(
        &self,
        hash: &TokenHash,
        request: PushedRequest,
        at: OffsetDateTime,
        until: OffsetDateTime,
    ) -> Result<(), StoreError> {
        // SET NX: a second request under the same digest is a failure, never an overwrite.
        let set: Option<String> = redis::cmd("SET")
            .arg(self.keys.pushed(hash))
            .arg(to_json(&request)?)
            .arg("NX")
            .arg("PX")
            .arg(lifetime_ms(at, until))
            .query_async(&mut self.connection.clone())
            .await
            .map_err(store_error)?;
        set.map(drop).ok_or_else(|| StoreError::backend("a pushed request with this digest exists"))
    }

    async fn revoke_access_token_inner(&self, hash: &TokenHash) -> Result<(), StoreError> {
        redis::cmd("DEL")
            .arg(self.keys.access(hash))
            .query_async::<i64>(&mut self.connection.clone())
            .await
            .map(drop)
            .map_err(store_error)
    }

    async fn refresh_token_inner(&self, hash: &TokenHash) -> Result<Option<RefreshTokenRecord>, StoreError> {
        let (record, rotated_at): (Option<String>, Option<String>) = redis::cmd("HMGET")
            .arg(self.keys.refresh(hash))
            .arg("record")
            .arg("rotated_at")
            .query_async(&mut self.connection.clone())
            .await
            .map_err(store_error)?;
        let Some(record) = record else { return Ok(None) };
        let mut record: RefreshTokenRecord = from_json(&record)?;
        if let Some(nanos) = rotated_at {
            let at = nanos
                .parse::<i128>()
                .ok()
                .and_then(|n| OffsetDateTime::from_unix_timestamp_nanos(n).ok())
                .ok_or_else(|| StoreError::backend(format!("cannot decode rotated_at {nanos:?}")))?;
            record.rotated_at = Some(at);
        }
        Ok(Some(record))
    }
}

impl Store for RedisStore {
    fn capabilities(&self) -> Capabilities {
        Capabilities::SINGLE_USE_CLAIMS
            .union(Capabilities::PUSHED_REQUESTS)
            .union(Capabilities::CLIENT_REGISTRATION)
            .union(Capabilities::DEVICE_REQUESTS)
    }

    /// Lua: unless `user-code:{digest}` exists, `HSET device:{hash}` and `SET user-code:{digest}`,
    /// both living until the request expires.
    fn insert_device_request(
        &self,
        hash: &TokenHash,
        request: DeviceRequest,
        at: OffsetDateTime,
    ) -> impl Future<Output = Result<DeviceInsert, StoreError>> + Send {
        self.insert_device_request_inner(hash, request, at)
    }

    /// `GET user-code:{digest}`, then `HMGET device:{hash}`.
    fn device_request_by_user_code(
        &self,
        user_code: &TokenHash,
        at: OffsetDateTime,
    ) -> impl Future<Output = Result<Option<(TokenHash, DeviceRequest)>, StoreError>> + Send {
        self.device_request_by_user_code_inner(user_code, at)
    }

    /// Lua: the phase moves from `pending` only, before the request expires.
    fn decide_device_request(
        &self,
        hash: &TokenHash,
        decision: DeviceState,
        at: OffsetDateTime,
    ) -> impl Future<Output = Result<DeviceDecided, StoreError>> + Send {
        self.decide_device_request_inner(hash, decision, at)
    }

    /// Lua: the client check, `slow_down`, and the move from `approved` to `redeemed`, in one
    /// script.
    fn poll_device_request(
        &self,
        hash: &TokenHash,
        client_id: &ClientId,
        at: OffsetDateTime,
    ) -> impl Future<Output = Result<Option<DevicePoll>, StoreError>> + Send {
        self.poll_device_request_inner(hash, client_id, at)
    }

    /// `SET client:{id} {json} NX`: a registration never replaces another client.
    fn register_client(
        &self,
        client: &Client,
        at: OffsetDateTime,
    ) -> impl Future<Output = Result<(), StoreError>> + Send {
        let _ = at;
        self.register_client_inner(client)
    }

    fn claim_once(
        &self,
        key: &TokenHash,
        at: OffsetDateTime,
        until: OffsetDateTime,
    ) -> impl Future<Output = Result<ClaimOutcome, StoreError>> + Send {
        self.claim_once_inner(key, at, until)
    }

    /// `SET pushed:{hash} {json} NX PX`: gone when its time is up.
    fn insert_pushed_request(
        &self,
        hash: &TokenHash,
        request: PushedRequest,
        at: OffsetDateTime,
        until: OffsetDateTime,
    ) -> impl Future<Output = Result<(), StoreError>> + Send {
        self.insert_pushed_request_inner(hash, request, at, until)
    }

    /// `GET pushed:{hash}` (JSON); the key's expiry ends it.
    fn pushed_request(
        &self,
        hash: &TokenHash,
        at: OffsetDateTime,
    ) -> impl Future<Output = Result<Option<PushedRequest>, StoreError>> + Send {
        let _ = at;
        self.get_json(self.keys.pushed(hash))
    }

    /// `GET client:{id}` (JSON).
    fn client(&self, id: &ClientId) -> impl Future<Output = Result<Option<Client>, StoreError>> + Send {
        self.get_json(self.keys.client(id))
    }

    /// Lua: `HSET code:{hash} record {json}` with `PEXPIRE`, unless the key exists.
    fn insert_code(&self, code: CodeRecord) -> impl Future<Output = Result<(), StoreError>> + Send {
        self.insert_code_inner(code)
    }

    /// Lua: `HGET code:{hash} record`, then `HSETNX code:{hash} used 1` decides who took it.
    fn take_code(&self, hash: &TokenHash) -> impl Future<Output = Result<CodeTake, StoreError>> + Send {
        self.take_code_inner(hash)
    }

    /// Lua: the revocation checks, then the family, token and index keys, all or nothing; the
    /// subject index `subject:{subject}` (a sorted set) gets the grant scored by its family's
    /// end, and loses the grants that ended before the access token's `issued_at`.
    fn insert_grant(&self, grant: NewGrant) -> impl Future<Output = Result<InsertOutcome, StoreError>> + Send {
        self.insert_grant_inner(grant)
    }

    /// Lua: the compare-and-swap on `family:{grant}`'s `active` / `previous` / `retried`; the
    /// grant's score in `subject:{subject}` follows its family's (possibly later) end.
    fn rotate_refresh(&self, rotation: Rotation) -> impl Future<Output = Result<RotateOutcome, StoreError>> + Send {
        self.rotate_refresh_inner(rotation)
    }

    /// Lua: the `revoked:{grant}` marker, then `DEL` of every member and the family, and
    /// `ZREM subject:{subject} {grant}`.
    fn revoke_grant(
        &self,
        id: &GrantId,
        at: OffsetDateTime,
        remember_until: OffsetDateTime,
    ) -> impl Future<Output = Result<(), StoreError>> + Send {
        self.revoke_grant_inner(id, at, remember_until)
    }

    /// `DEL at:{hash}`.
    fn revoke_access_token(&self, hash: &TokenHash) -> impl Future<Output = Result<(), StoreError>> + Send {
        self.revoke_access_token_inner(hash)
    }

    /// Lua: the `revoked-sub:{subject}` marker and `subject:{subject}` moved into
    /// `subject-revoking:{subject}` in one script, then scripts revoking at most 256 of those
    /// grants each until none is left (see [Revoking a subject](crate#revoking-a-subject)).
    fn revoke_subject(
        &self,
        subject: &Subject,
        at: OffsetDateTime,
        remember_until: OffsetDateTime,
    ) -> impl Future<Output = Result<(), StoreError>> + Send {
        self.revoke_subject_inner(subject, at, remember_until)
    }

    /// `GET at:{hash}` (JSON).
    fn access_token(
        &self,
        hash: &TokenHash,
    ) -> impl Future<Output = Result<Option<AccessTokenRecord>, StoreError>> + Send {
        self.get_json(self.keys.access(hash))
    }

    /// `HMGET rt:{hash} record rotated_at`.
    fn refresh_token(
        &self,
        hash: &TokenHash,
    ) -> impl Future<Output = Result<Option<RefreshTokenRecord>, StoreError>> + Send {
        self.refresh_token_inner(hash)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use oauth21::store::StoreErrorKind;

    #[test]
    fn lifetimes_are_milliseconds_from_the_writes_now_and_never_zero_or_unbounded() {
        let now = OffsetDateTime::from_unix_timestamp(1_700_000_000).unwrap();
        assert_eq!(lifetime_ms(now, now + time::Duration::seconds(60)), 60_000);
        assert_eq!(lifetime_ms(now, now + time::Duration::milliseconds(1500)), 1500);
        // Already over: kept 1 ms (Redis refuses 0), which the contract allows.
        assert_eq!(lifetime_ms(now, now), 1);
        assert_eq!(lifetime_ms(now, now - time::Duration::days(3)), 1);
        assert_eq!(lifetime_ms(now, OffsetDateTime::new_utc(time::Date::MAX, time::Time::MIDNIGHT)), MAX_TTL_MS);
    }

    #[test]
    fn connection_trouble_is_unavailable_and_everything_else_a_backend_failure() {
        use std::io;
        for kind in [io::ErrorKind::ConnectionRefused, io::ErrorKind::ConnectionReset, io::ErrorKind::TimedOut] {
            let error = store_error(RedisError::from(io::Error::from(kind)));
            assert_eq!(error.kind(), StoreErrorKind::Unavailable, "{kind:?}: {error:?}");
            assert!(std::error::Error::source(&error).is_some(), "the driver's error is kept");
        }
        let error = store_error(RedisError::from((ErrorKind::UnexpectedReturnType, "a reply of the wrong type")));
        assert_eq!(error.kind(), StoreErrorKind::Backend, "{error:?}");
        assert!(matches!(from_json::<AccessTokenRecord>("{"), Err(e) if e.kind() == StoreErrorKind::Backend));
    }

    #[test]
    fn revocation_instants_are_whole_microseconds() {
        let at = OffsetDateTime::from_unix_timestamp_nanos(1_700_000_000_123_456_789).unwrap();
        assert_eq!(unix_micros(at), "1700000000123456");
        let before_epoch = OffsetDateTime::from_unix_timestamp_nanos(-1_500).unwrap();
        assert_eq!(unix_micros(before_epoch), "-2");
    }

    #[test]
    fn subject_index_scores_are_unix_milliseconds_capped_like_key_lifetimes() {
        let now = OffsetDateTime::from_unix_timestamp_nanos(1_700_000_000_123_456_789).unwrap();
        assert_eq!(unix_ms(now), 1_700_000_000_123);
        assert_eq!(unix_ms(OffsetDateTime::from_unix_timestamp_nanos(-1_500_000).unwrap()), -2);
        assert_eq!(family_end_ms(now, now + time::Duration::hours(1)), 1_700_003_600_123);
        let far = OffsetDateTime::new_utc(time::Date::MAX, time::Time::MIDNIGHT);
        assert_eq!(family_end_ms(now, far), 1_700_000_000_123 + MAX_TTL_MS);
        // Exact in a Lua number (a double), as Redis scores are.
        assert!(family_end_ms(now, far) < 1 << 53);
    }

    #[test]
    fn keys_keep_each_kind_apart() {
        let keys = Keys { prefix: "p:".into() };
        let hash = TokenHash::of("t");
        let id = GrantId::new("g").unwrap();
        let subject = Subject::new("g").unwrap();
        let names = [
            keys.code(&hash),
            keys.access(&hash),
            keys.refresh(&hash),
            keys.family(&id),
            keys.members(&id),
            keys.revoked_grant(&id),
            keys.revoked_subject(&subject),
            keys.subject_grants(&subject),
            keys.subject_revoking(&subject),
            keys.client(&ClientId::new("g").unwrap()),
            keys.device(&hash),
            keys.user_code(&hash),
        ];
        let distinct: std::collections::BTreeSet<&String> = names.iter().collect();
        assert_eq!(distinct.len(), names.len());
        assert_eq!(keys.access(&hash), format!("p:at:{hash}"));
        assert_eq!(keys.subject_grants(&subject), "p:subject:g");
        assert_eq!(keys.subject_revoking(&subject), "p:subject-revoking:g");
        assert!(names.iter().all(|k| k.starts_with("p:")));
    }
}
