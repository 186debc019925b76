//! A PostgreSQL [`Store`] for the `oauth21` authorization-server core: grants that survive
//! restarts, shared by every server instance on one database, with single use held by the
//! database itself.
//!
//! ```no_run
//! # async fn run() -> Result<(), Box<dyn std::error::Error>> {
//! use oauth21::{Server, ServerConfig};
//! use oauth21_postgres::PostgresStore;
//!
//! // Connects, then creates or upgrades the schema (idempotent; see `migrate`).
//! let store = PostgresStore::connect("postgres://oauth@db.internal:5432/oauth").await?;
//! let server = Server::try_new(ServerConfig::builder("https://auth.example").build()?, store)?;
//! # Ok(()) }
//! ```
//!
//! # Driver and pool
//!
//! [`tokio_postgres`] (the asynchronous driver most Rust PostgreSQL code uses; no ORM, no
//! compile-time database) behind a [`deadpool_postgres`] pool (small, and built for it). Every
//! operation runs under a deadline ([`PostgresStoreBuilder::timeout`], 2 s by default):
//! a pool that cannot hand out a connection in time, a connection that fails, and a reply that
//! comes too late all answer [`StoreErrorKind::Unavailable`](oauth21::StoreErrorKind::Unavailable)
//! (the server's 503 / `temporarily_unavailable`), never a success. A write whose reply was lost
//! may still have happened; the server then issued nothing, which the contract allows.
//!
//! # How each operation holds the contract
//!
//! READ COMMITTED (PostgreSQL's default) throughout; where two transactions must not both
//! succeed, a row lock, a conditional `UPDATE`, an `ON CONFLICT` or an advisory lock decides.
//!
//! | operation | statement(s) | why it is atomic |
//! |---|---|---|
//! | `take_code` | `UPDATE oauth21_codes SET used = true WHERE hash = $1 AND NOT used RETURNING data`, else `SELECT data` | the `UPDATE` re-checks `NOT used` on the newest row version after a concurrent update commits: one session only gets the row |
//! | `insert_grant` | transaction: `pg_advisory_xact_lock_shared` on the subject, then `pg_advisory_xact_lock` on the grant; `revoked_grants` / `revoked_subjects` checked; `INSERT` grant and tokens | the revocations take the same locks (the subject's exclusively), so a grant revoked (or whose subject was) in a race is refused, never half-live; insertions of one subject (a busy machine client's tokens) do not wait for each other |
//! | `rotate_refresh` | transaction: `SELECT ... FROM oauth21_grants WHERE grant_id = $1 FOR UPDATE`; compare `active` / `previous` / `retried` / `revoked`; `UPDATE` the grant and the replaced token, `INSERT` the new ones | the row lock serialises rotations of one family and a revocation's `UPDATE` |
//! | `revoke_grant` | transaction: advisory lock on the grant; upsert `revoked_grants` (until never shortened); `UPDATE oauth21_grants SET revoked = true`; `DELETE FROM oauth21_tokens WHERE grant_id = $1` | waits for a rotation in flight (row lock), then deletes what it committed |
//! | `revoke_subject` | transaction: advisory lock on the subject; upsert `revoked_subjects`; every grant of the subject into `revoked_grants`, marked revoked, its tokens deleted | serialises with `insert_grant` on the subject lock |
//! | `claim_once` | `INSERT ... ON CONFLICT (hash) DO UPDATE SET until = EXCLUDED.until WHERE oauth21_claims.until <= $3 RETURNING 1` | the conflicting row is locked: one session inserts or takes over an ended claim |
//! | `register_client`, `insert_code`, `insert_pushed_request` | `INSERT ... ON CONFLICT DO NOTHING`; no row inserted is a failure | never an overwrite |
//! | `insert_device_request` | transaction: advisory lock on the user code; a live row with it means in use; `INSERT` | two requests drawing one user code serialise on the lock |
//! | `decide_device_request` | `UPDATE ... SET phase = $2 WHERE hash = $1 AND phase = 'pending' AND expires_at > $4` | the phase test and the write are one statement |
//! | `poll_device_request` | transaction: `SELECT ... FOR UPDATE` (the client checked), the poll decided in Rust as the contract says, one `UPDATE` | the row lock: of racing polls of an approved request one redeems |
//! | lookups | one `SELECT` each | |
//!
//! Only digests reach the database, as everywhere: codes, tokens, device and user codes,
//! `request_uri`s and client secrets are stored as their SHA-256.
//!
//! # Schema and upkeep
//!
//! [`PostgresStore::connect`] applies the embedded, numbered migrations (`src/schema.rs`) under
//! an advisory lock, so instances starting together do not race; [`PostgresStoreBuilder::migrate_on_connect`]
//! turns that off for deployments that migrate as a separate step ([`PostgresStore::migrate`]).
//! Expired rows are the host's to delete: call [`PostgresStore::purge_expired`] periodically (every
//! minute, say); it deletes at most a batch per table per call.

#![forbid(unsafe_code)]
#![deny(missing_docs)]

use std::future::Future;
use std::time::Duration;

use deadpool_postgres::{GenericClient, Manager, ManagerConfig, Pool, PoolError, RecyclingMethod, Runtime};
use oauth21::store::{
    AccessTokenRecord, Capabilities, ClaimOutcome, CodeRecord, CodeTake, DeviceDecided, DeviceInsert, DevicePoll,
    DeviceRequest, DeviceState, InsertOutcome, NewGrant, PushedRequest, RefreshTokenRecord, RotateOutcome, Rotation,
    Store, StoreError,
};
use oauth21::{Client, ClientId, GrantId, Subject, TokenHash};
use serde::Serialize;
use serde::de::DeserializeOwned;
use time::OffsetDateTime;
use tokio_postgres::NoTls;
use tokio_postgres::error::SqlState;

mod schema;
#[cfg(feature = "testing")]
pub mod testing;

pub use schema::SCHEMA_VERSION;

/// Builds a [`PostgresStore`].
#[derive(Debug, Clone)]
#[must_use]
pub struct PostgresStoreBuilder {
    url: String,
    pool_size: usize,
    timeout: Duration,
    migrate: bool,
}

impl PostgresStoreBuilder {
    /// How many connections the pool opens at most (default 16).
    pub fn pool_size(mut self, size: usize) -> Self {
        self.pool_size = size.max(1);
        self
    }

    /// The deadline of every operation, connecting and waiting for a pooled connection included
    /// (default 2 s).
    pub fn timeout(mut self, timeout: Duration) -> Self {
        self.timeout = timeout;
        self
    }

    /// Whether [`PostgresStoreBuilder::connect`] applies the migrations (default: yes).
    pub fn migrate_on_connect(mut self, migrate: bool) -> Self {
        self.migrate = migrate;
        self
    }

    /// Opens the pool, checks that a connection works, and migrates the schema (unless told
    /// not to). A URL without a password is fine (trust, peer or certificate authentication).
    pub async fn connect(self) -> Result<PostgresStore, StoreError> {
        let mut config: tokio_postgres::Config =
            self.url.parse().map_err(|e| StoreError::backend("the PostgreSQL URL is not valid").with_source(e))?;
        config.connect_timeout(self.timeout);
        let manager = Manager::from_config(config, NoTls, ManagerConfig { recycling_method: RecyclingMethod::Fast });
        let pool = Pool::builder(manager)
            .max_size(self.pool_size)
            .runtime(Runtime::Tokio1)
            .wait_timeout(Some(self.timeout))
            .create_timeout(Some(self.timeout))
            .recycle_timeout(Some(self.timeout))
            .build()
            .map_err(|e| StoreError::backend("the PostgreSQL pool could not be built").with_source(e))?;
        let store = PostgresStore { pool, timeout: self.timeout };
        store.ping().await?;
        if self.migrate {
            store.migrate().await?;
        }
        Ok(store)
    }
}

/// A [`Store`] on PostgreSQL. Cheap to clone: clones share the pool.
#[derive(Clone)]
pub struct PostgresStore {
    pool: Pool,
    timeout: Duration,
}

impl std::fmt::Debug for PostgresStore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let status = self.pool.status();
        f.debug_struct("PostgresStore")
            .field("pool_size", &status.max_size)
            .field("timeout", &self.timeout)
            .finish_non_exhaustive()
    }
}

/// A driver error as a store error: trouble reaching or being served by the database is
/// `Unavailable` (worth a retry, answered 503); everything else a backend failure.
fn db_error(error: tokio_postgres::Error) -> StoreError {
    let unavailable = error.is_closed()
        || match error.code() {
            None => true,
            Some(code) => {
                let class = &code.code()[..2];
                // 08: connection exception; 53: insufficient resources; 57: operator
                // intervention (shutdown, cannot connect now).
                matches!(class, "08" | "53" | "57") || *code == SqlState::T_R_SERIALIZATION_FAILURE
            }
        };
    if unavailable {
        StoreError::unavailable("postgres").with_source(error)
    } else {
        StoreError::backend("postgres").with_source(error)
    }
}

fn pool_error(error: PoolError) -> StoreError {
    match error {
        PoolError::Backend(e) => db_error(e),
        other => StoreError::unavailable("postgres: no connection").with_source(other),
    }
}

fn to_json<T: Serialize>(value: &T) -> Result<String, StoreError> {
    serde_json::to_string(value).map_err(|e| StoreError::backend("a record could not be serialised").with_source(e))
}

fn from_json<T: DeserializeOwned>(text: &str) -> Result<T, StoreError> {
    serde_json::from_str(text).map_err(|e| StoreError::backend("a stored record could not be read").with_source(e))
}

/// An exclusive transaction-scoped advisory lock on a text key (hashed to the bigint the lock
/// takes).
const LOCK: &str = "SELECT pg_advisory_xact_lock(hashtextextended($1, 0))";

/// The shared form of [`LOCK`]: grant insertions of one subject run side by side and wait only
/// for (and hold off) the subject's revocation, which takes the lock exclusively.
const SHARED_LOCK: &str = "SELECT pg_advisory_xact_lock_shared(hashtextextended($1, 0))";

impl PostgresStore {
    /// A builder for the database at `url` (`postgres://USER[:PASSWORD]@HOST:PORT/DB`).
    pub fn builder(url: impl Into<String>) -> PostgresStoreBuilder {
        PostgresStoreBuilder { url: url.into(), pool_size: 16, timeout: Duration::from_secs(2), migrate: true }
    }

    /// Connects to `url` with the defaults and migrates the schema.
    pub async fn connect(url: impl Into<String>) -> Result<Self, StoreError> {
        Self::builder(url).connect().await
    }

    /// Runs `operation` under the store's deadline: a late answer is an error.
    async fn deadline<T>(&self, operation: impl Future<Output = Result<T, StoreError>>) -> Result<T, StoreError> {
        match tokio::time::timeout(self.timeout, operation).await {
            Ok(result) => result,
            Err(_) => Err(StoreError::unavailable("postgres: no answer in time")),
        }
    }

    async fn connection(&self) -> Result<deadpool_postgres::Object, StoreError> {
        self.pool.get().await.map_err(pool_error)
    }

    /// Whether the database answers (`SELECT 1`).
    pub async fn ping(&self) -> Result<(), StoreError> {
        self.deadline(async {
            self.connection().await?.simple_query("SELECT 1").await.map_err(db_error)?;
            Ok(())
        })
        .await
    }

    /// Applies every migration not yet applied, in order, each in its own transaction, under an
    /// advisory lock so concurrent callers wait rather than race; returns the schema version.
    /// Idempotent. A database whose schema is newer than this crate knows is refused.
    pub async fn migrate(&self) -> Result<i32, StoreError> {
        let mut client = self.connection().await?;
        let transaction = client.transaction().await.map_err(db_error)?;
        // The lock first: instances starting together wait here, and the first creates the
        // bookkeeping table (two `CREATE TABLE IF NOT EXISTS` at once can collide).
        transaction.execute(LOCK, &[&"oauth21:migrate"]).await.map_err(db_error)?;
        transaction
            .batch_execute(
                "CREATE TABLE IF NOT EXISTS oauth21_migrations (
                     version integer PRIMARY KEY,
                     applied_at timestamptz NOT NULL DEFAULT now()
                 )",
            )
            .await
            .map_err(db_error)?;
        let newest: Option<i32> =
            transaction.query_one("SELECT max(version) FROM oauth21_migrations", &[]).await.map_err(db_error)?.get(0);
        let newest = newest.unwrap_or(0);
        if newest > SCHEMA_VERSION {
            return Err(StoreError::backend("the database schema is newer than this version of oauth21-postgres"));
        }
        for (version, sql) in schema::MIGRATIONS.iter().filter(|(version, _)| *version > newest) {
            transaction.batch_execute(sql).await.map_err(db_error)?;
            transaction
                .execute("INSERT INTO oauth21_migrations (version) VALUES ($1)", &[version])
                .await
                .map_err(db_error)?;
        }
        transaction.commit().await.map_err(db_error)?;
        Ok(SCHEMA_VERSION)
    }

    /// Deletes rows that ended before `now`, at most `batch` per table, and returns how many
    /// went. Call it periodically; a result of `batch` or more says there is more to delete.
    pub async fn purge_expired(&self, now: OffsetDateTime, batch: i64) -> Result<u64, StoreError> {
        self.deadline(async {
            let client = self.connection().await?;
            let mut deleted = 0;
            for (table, column) in schema::EXPIRING {
                let sql = format!(
                    "DELETE FROM {table} WHERE ctid IN (SELECT ctid FROM {table} WHERE {column} <= $1 LIMIT $2)"
                );
                deleted += client.execute(&sql, &[&now, &batch]).await.map_err(db_error)?;
            }
            Ok(deleted)
        })
        .await
    }

    /// Registers `client`, replacing any registration with the same id: for static clients a
    /// deployment loads at start-up (dynamic registration goes through [`Store::register_client`],
    /// which never replaces).
    pub async fn put_client(&self, client: &Client) -> Result<(), StoreError> {
        let data = to_json(client)?;
        self.deadline(async {
            self.connection()
                .await?
                .execute(
                    "INSERT INTO oauth21_clients (id, data) VALUES ($1, $2)
                     ON CONFLICT (id) DO UPDATE SET data = EXCLUDED.data",
                    &[&client.id().as_str(), &data],
                )
                .await
                .map_err(db_error)?;
            Ok(())
        })
        .await
    }

    /// Removes client `id`; returns whether it was registered.
    pub async fn remove_client(&self, id: &ClientId) -> Result<bool, StoreError> {
        self.deadline(async {
            let removed = self
                .connection()
                .await?
                .execute("DELETE FROM oauth21_clients WHERE id = $1", &[&id.as_str()])
                .await
                .map_err(db_error)?;
            Ok(removed == 1)
        })
        .await
    }

    /// One statement that returns at most one text column.
    async fn text(
        &self,
        sql: &str,
        params: &[&(dyn tokio_postgres::types::ToSql + Sync)],
    ) -> Result<Option<String>, StoreError> {
        self.deadline(async {
            let client = self.connection().await?;
            Ok(row(&client, sql, params).await?.map(|row| row.get(0)))
        })
        .await
    }

    /// One statement; the number of rows it touched.
    async fn execute(
        &self,
        sql: &str,
        params: &[&(dyn tokio_postgres::types::ToSql + Sync)],
    ) -> Result<u64, StoreError> {
        self.deadline(async {
            let client = self.connection().await?;
            exec(&client, sql, params).await
        })
        .await
    }
}

/// Runs `sql` as a statement prepared once per connection (the pool keeps it): one round trip
/// where an unprepared statement takes two, and no planning per request.
async fn exec<C: GenericClient + Sync>(
    client: &C,
    sql: &str,
    params: &[&(dyn tokio_postgres::types::ToSql + Sync)],
) -> Result<u64, StoreError> {
    let statement = client.prepare_cached(sql).await.map_err(db_error)?;
    client.execute(&statement, params).await.map_err(db_error)
}

/// [`exec`] for a statement that returns at most one row.
async fn row<C: GenericClient + Sync>(
    client: &C,
    sql: &str,
    params: &[&(dyn tokio_postgres::types::ToSql + Sync)],
) -> Result<Option<tokio_postgres::Row>, StoreError> {
    let statement = client.prepare_cached(sql).await.map_err(db_error)?;
    client.query_opt(&statement, params).await.map_err(db_error)
}

mod operations;
