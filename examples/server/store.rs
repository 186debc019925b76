//! The demo server's store, chosen with `--store`: the in-memory store (one process), Redis
//! (`--store redis://HOST:PORT`) or PostgreSQL (`--store postgres://USER@HOST:PORT/DB`), which
//! several server processes share; PostgreSQL also keeps everything across restarts.

use std::sync::Arc;

use oauth21::provider::Random as _;
use oauth21::store::{
    AccessTokenRecord, Capabilities, ClaimOutcome, CodeRecord, CodeTake, DeviceDecided, DeviceInsert, DevicePoll,
    DeviceRequest, DeviceState, InsertOutcome, NewGrant, PushedRequest, RefreshTokenRecord, RotateOutcome, Rotation,
    Store, StoreError,
};
use oauth21::{Client, ClientId, GrantId, MemoryStore, Subject, TokenHash};
use oauth21_postgres::PostgresStore;
use oauth21_redis::RedisStore;
use time::OffsetDateTime;

/// One of the two stores; every call goes to the one chosen.
#[derive(Clone, Debug)]
pub enum DemoStore {
    /// This process only.
    Memory(Arc<MemoryStore>),
    /// Shared by every server process on the same Redis.
    Redis(RedisStore, String),
    /// Shared by every server process on the same database, and durable.
    Postgres(PostgresStore, String),
}

impl DemoStore {
    /// A memory store with `clients` registered.
    pub fn memory(clients: Vec<Client>) -> Self {
        let store = Arc::new(MemoryStore::new());
        for client in clients {
            store.insert_client(client);
        }
        Self::Memory(store)
    }

    /// The store `spec` names (`memory`, or a `redis://` URL), with `clients` registered. On
    /// Redis the registrations are written for every instance; the last instance started wins.
    pub async fn open(spec: &str, clients: Vec<Client>) -> Result<Self, Box<dyn std::error::Error>> {
        if spec == "memory" {
            return Ok(Self::memory(clients));
        }
        if spec.starts_with("postgres://") || spec.starts_with("postgresql://") {
            // Connects and creates (or upgrades) the schema on first start.
            let store = PostgresStore::connect(spec).await?;
            for client in &clients {
                store.put_client(client).await?;
            }
            return Ok(Self::Postgres(store, spec.to_owned()));
        }
        if !spec.starts_with("redis://") {
            return Err(format!(
                "--store must be memory, redis://HOST:PORT or postgres://USER@HOST:PORT/DB, not {spec:?}"
            )
            .into());
        }
        let store = RedisStore::connect(spec).await?;
        for client in &clients {
            store.put_client(client).await?;
        }
        Ok(Self::Redis(store, spec.to_owned()))
    }

    /// Whether the store answers now: a `PING` on Redis; memory always does.
    pub async fn probe(&self) -> Result<(), StoreError> {
        match self {
            Self::Memory(_) => Ok(()),
            Self::Redis(store, _) => store.ping().await,
            Self::Postgres(store, _) => store.ping().await,
        }
    }

    /// The key that signs the consent form's CSRF tokens. In memory it is this process's own;
    /// on Redis every instance shares one, created by whichever starts first (`SET NX`), so the
    /// GET and the POST of one authorization may reach different instances.
    pub async fn form_key(&self) -> Result<[u8; 32], Box<dyn std::error::Error>> {
        let mut fresh = [0u8; 32];
        oauth21::SystemRandom::new().fill_random(&mut fresh)?;
        if let Self::Postgres(_, url) = self {
            return shared_postgres_key(url, &fresh).await;
        }
        let Self::Redis(_, url) = self else { return Ok(fresh) };
        let mut connection = redis::Client::open(url.as_str())?.get_multiplexed_async_connection().await?;
        let name = "oauth21:example:form-key";
        let fresh_hex: String = fresh.iter().map(|b| format!("{b:02x}")).collect();
        let _: Option<String> =
            redis::cmd("SET").arg(name).arg(&fresh_hex).arg("NX").query_async(&mut connection).await?;
        let shared: String = redis::cmd("GET").arg(name).query_async(&mut connection).await?;
        let mut key = [0u8; 32];
        if shared.len() != 64 {
            return Err(format!("{name} in Redis is not a 64-digit hex key").into());
        }
        for (i, byte) in key.iter_mut().enumerate() {
            *byte = u8::from_str_radix(&shared[2 * i..2 * i + 2], 16)
                .map_err(|_| format!("{name} in Redis is not a 64-digit hex key"))?;
        }
        Ok(key)
    }
}

/// The consent-form key every instance on one database shares: the first to start stores its
/// own (`ON CONFLICT DO NOTHING`), every instance reads the one stored.
async fn shared_postgres_key(url: &str, fresh: &[u8; 32]) -> Result<[u8; 32], Box<dyn std::error::Error>> {
    let (client, connection) = tokio_postgres::connect(url, tokio_postgres::NoTls).await?;
    let connection = tokio::spawn(connection);
    client
        .batch_execute(
            "CREATE TABLE IF NOT EXISTS oauth21_example_settings (name text PRIMARY KEY, value bytea NOT NULL)",
        )
        .await?;
    client
        .execute(
            "INSERT INTO oauth21_example_settings (name, value) VALUES ('form-key', $1) ON CONFLICT DO NOTHING",
            &[&fresh.as_slice()],
        )
        .await?;
    let row = client.query_one("SELECT value FROM oauth21_example_settings WHERE name = 'form-key'", &[]).await?;
    let key: Vec<u8> = row.get(0);
    drop(client);
    let _ = connection.await;
    key.try_into().map_err(|_| "oauth21_example_settings form-key is not 32 bytes".into())
}

macro_rules! dispatch {
    ($self:ident, $store:ident => $call:expr) => {
        match $self {
            DemoStore::Memory($store) => $call.await,
            DemoStore::Redis($store, _) => $call.await,
            DemoStore::Postgres($store, _) => $call.await,
        }
    };
}

impl Store for DemoStore {
    fn capabilities(&self) -> Capabilities {
        match self {
            DemoStore::Memory(s) => s.capabilities(),
            DemoStore::Redis(s, _) => s.capabilities(),
            DemoStore::Postgres(s, _) => s.capabilities(),
        }
    }
    async fn claim_once(
        &self,
        key: &TokenHash,
        at: OffsetDateTime,
        until: OffsetDateTime,
    ) -> Result<ClaimOutcome, StoreError> {
        dispatch!(self, s => s.claim_once(key, at, until))
    }
    async fn insert_pushed_request(
        &self,
        hash: &TokenHash,
        request: PushedRequest,
        at: OffsetDateTime,
        until: OffsetDateTime,
    ) -> Result<(), StoreError> {
        dispatch!(self, s => s.insert_pushed_request(hash, request, at, until))
    }
    async fn pushed_request(&self, hash: &TokenHash, at: OffsetDateTime) -> Result<Option<PushedRequest>, StoreError> {
        dispatch!(self, s => s.pushed_request(hash, at))
    }
    async fn insert_device_request(
        &self,
        hash: &TokenHash,
        request: DeviceRequest,
        at: OffsetDateTime,
    ) -> Result<DeviceInsert, StoreError> {
        dispatch!(self, s => s.insert_device_request(hash, request, at))
    }
    async fn device_request_by_user_code(
        &self,
        user_code: &TokenHash,
        at: OffsetDateTime,
    ) -> Result<Option<(TokenHash, DeviceRequest)>, StoreError> {
        dispatch!(self, s => s.device_request_by_user_code(user_code, at))
    }
    async fn decide_device_request(
        &self,
        hash: &TokenHash,
        decision: DeviceState,
        at: OffsetDateTime,
    ) -> Result<DeviceDecided, StoreError> {
        dispatch!(self, s => s.decide_device_request(hash, decision, at))
    }
    async fn poll_device_request(
        &self,
        hash: &TokenHash,
        client_id: &ClientId,
        at: OffsetDateTime,
    ) -> Result<Option<DevicePoll>, StoreError> {
        dispatch!(self, s => s.poll_device_request(hash, client_id, at))
    }
    async fn register_client(&self, client: &Client, at: OffsetDateTime) -> Result<(), StoreError> {
        dispatch!(self, s => s.register_client(client, at))
    }
    async fn client(&self, id: &ClientId) -> Result<Option<Client>, StoreError> {
        dispatch!(self, s => s.client(id))
    }
    async fn insert_code(&self, code: CodeRecord) -> Result<(), StoreError> {
        dispatch!(self, s => s.insert_code(code))
    }
    async fn take_code(&self, hash: &TokenHash) -> Result<CodeTake, StoreError> {
        dispatch!(self, s => s.take_code(hash))
    }
    async fn insert_grant(&self, grant: NewGrant) -> Result<InsertOutcome, StoreError> {
        dispatch!(self, s => s.insert_grant(grant))
    }
    async fn rotate_refresh(&self, rotation: Rotation) -> Result<RotateOutcome, StoreError> {
        dispatch!(self, s => s.rotate_refresh(rotation))
    }
    async fn revoke_grant(
        &self,
        id: &GrantId,
        at: OffsetDateTime,
        remember_until: OffsetDateTime,
    ) -> Result<(), StoreError> {
        dispatch!(self, s => s.revoke_grant(id, at, remember_until))
    }
    async fn revoke_access_token(&self, hash: &TokenHash) -> Result<(), StoreError> {
        dispatch!(self, s => s.revoke_access_token(hash))
    }
    async fn revoke_subject(
        &self,
        subject: &Subject,
        at: OffsetDateTime,
        remember_until: OffsetDateTime,
    ) -> Result<(), StoreError> {
        dispatch!(self, s => s.revoke_subject(subject, at, remember_until))
    }
    async fn access_token(&self, hash: &TokenHash) -> Result<Option<AccessTokenRecord>, StoreError> {
        dispatch!(self, s => s.access_token(hash))
    }
    async fn refresh_token(&self, hash: &TokenHash) -> Result<Option<RefreshTokenRecord>, StoreError> {
        dispatch!(self, s => s.refresh_token(hash))
    }
}
