//! [`MemoryStore`]: the embedded, thread-safe store for single-process servers, tests and
//! examples.
//!
//! Each operation takes one short lock (codes and grants have separate locks, clients a
//! read-write lock), so the atomicity the [`Store`] contract asks for holds and no lock is held
//! across a whole request. Nothing expires by itself: call [`MemoryStore::purge_expired`] now and
//! then to drop expired records (and the tokens of revoked grants).
//!
//! Grants are laid out for size: a grant's shared data is written once and its tokens' entries
//! hold only their own (see `grants.rs`), about 520 bytes of heap per grant with a refresh token
//! (docs/benchmarks.md). The code and token tables are each split into 64 small tables (see
//! `sharded.rs`), so a table that doubles as the store grows holds its lock for a 64th of the
//! copy: under a millisecond at 400,000 grants, where one table took tens of milliseconds.

use std::collections::HashMap;
use std::future::{Future, ready};
use std::hash::{BuildHasherDefault, Hasher};
use std::sync::{Mutex, MutexGuard, PoisonError, RwLock};

use time::{Duration, OffsetDateTime};

use crate::client::Client;
use crate::store::{
    AccessTokenRecord, Capabilities, ClaimOutcome, CodeRecord, CodeTake, DeviceDecided, DeviceInsert, DevicePoll,
    DeviceRequest, DeviceState, InsertOutcome, NewGrant, PushedRequest, RefreshTokenRecord, RotateOutcome, Rotation,
    Store, StoreError,
};
use crate::types::{ClientId, GrantId, Subject, TokenHash};

/// Hashes a [`TokenHash`] key by taking 8 of its bytes.
///
/// The keys are SHA-256 digests of codes and tokens the server generated from 256 random bits,
/// so they are already uniform, and no client chooses a stored key: a presented value that
/// collides in these bits only probes the entries that are there. SipHash would add work and
/// no protection.
#[derive(Debug, Default, Clone, Copy)]
struct DigestHasher(u64);

impl Hasher for DigestHasher {
    fn finish(&self) -> u64 {
        self.0
    }

    fn write(&mut self, bytes: &[u8]) {
        // A digest arrives as one 32-byte write (after its length); keep its first 8 bytes.
        if let Some(first) = bytes.first_chunk::<8>() {
            self.0 = u64::from_le_bytes(*first);
        } else {
            for &b in bytes {
                self.0 = self.0.rotate_left(8) ^ u64::from(b);
            }
        }
    }
}

type DigestMap<V> = HashMap<TokenHash, V, BuildHasherDefault<DigestHasher>>;

/// Hashes a [`GrantId`](crate::types::GrantId) or a [`ClientId`]: a multiply-and-rotate over
/// 8-byte words and a final avalanche.
///
/// Grant ids are made by the server from 128 random bits, and client ids by the server
/// (dynamic registration) or the host; no client or user chooses a stored key, so SipHash's
/// protection against chosen keys buys nothing here (a presented id that is no key only probes
/// the entries that are there), and these ids are hashed on every grant and every client
/// lookup (three per code flow). Ids a host makes itself (`g1`, `g2`, `app`, ...) still spread
/// well: every byte takes part.
#[derive(Debug, Default, Clone, Copy)]
struct IdHasher(u64);

impl IdHasher {
    fn mix(&mut self, word: u64) {
        self.0 = (self.0 ^ word).wrapping_mul(0x9e37_79b9_7f4a_7c15).rotate_left(26);
    }
}

impl Hasher for IdHasher {
    fn finish(&self) -> u64 {
        // murmur3's 64-bit finaliser: the table uses both the low bits and the top seven.
        let mut h = self.0;
        h ^= h >> 33;
        h = h.wrapping_mul(0xff51_afd7_ed55_8ccd);
        h ^= h >> 33;
        h = h.wrapping_mul(0xc4ce_b9fe_1a85_ec53);
        h ^ (h >> 33)
    }

    fn write(&mut self, bytes: &[u8]) {
        for word in crate::bytes::whole_words(bytes) {
            self.mix(word);
        }
        // The length keeps "ab" and "ab\0" apart.
        self.mix(crate::bytes::tail_word(bytes, 0) ^ ((bytes.len() % 8) as u64) << 59);
    }
}

type IdMap<V> = HashMap<crate::types::GrantId, V, BuildHasherDefault<IdHasher>>;

/// The grants' token tables, split so that no insert rehashes a whole table (the code table
/// is split too, with a lock per shard: `codes`).
type ShardedDigestMap<V> = sharded::Sharded<TokenHash, V, BuildHasherDefault<DigestHasher>>;
/// The grants by id, split likewise.
type ShardedIdMap<V> = sharded::Sharded<crate::types::GrantId, V, BuildHasherDefault<IdHasher>>;

mod grants;
mod sharded;
use grants::Grants;
use sharded::shrink_if_sparse;

/// The shard of the code table that holds the code with digest `hash`.
fn code_shard(hash: &TokenHash) -> usize {
    sharded::shard_of::<TokenHash, BuildHasherDefault<DigestHasher>>(hash)
}

#[derive(Debug)]
struct CodeEntry {
    /// Boxed: codes come and go quickly, and a small slot makes the table cheap to grow.
    record: Box<CodeRecord>,
    used: bool,
}

/// An in-memory [`Store`].
///
/// ```
/// use oauth21::{Client, MemoryStore};
/// let store = MemoryStore::new();
/// store.insert_client(Client::public("app").redirect_uri("http://127.0.0.1/cb").build()?);
/// assert_eq!(store.client_count(), 1);
/// # Ok::<(), oauth21::RegistrationError>(())
/// ```
#[derive(Debug, Default)]
pub struct MemoryStore {
    clients: RwLock<HashMap<ClientId, Client, BuildHasherDefault<IdHasher>>>,
    codes: sharded::Striped<DigestMap<CodeEntry>>,
    grants: Mutex<Grants>,
    /// Single-use claims and when each ends.
    claims: Mutex<DigestMap<OffsetDateTime>>,
    /// Pushed authorization requests and when each must be gone.
    pushed: Mutex<DigestMap<(PushedRequest, OffsetDateTime)>>,
    /// Device requests (RFC 8628), one lock for both maps so each operation is atomic.
    devices: Mutex<Devices>,
}

/// Device requests by device-code digest, and the user-code index into them.
#[derive(Debug, Default)]
struct Devices {
    requests: DigestMap<DeviceRequest>,
    user_codes: DigestMap<TokenHash>,
}

/// A poisoned lock only means another thread panicked mid-operation; every operation here
/// leaves the maps consistent before it can panic, so the data is still good to use.
fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(PoisonError::into_inner)
}

impl MemoryStore {
    /// An empty store.
    pub fn new() -> Self {
        Self::default()
    }

    /// An empty store with room for about `grants` live grants (with their codes and one
    /// access and one refresh token each) before its tables first grow. Growth is spread over
    /// many small tables, so it never stalls a request for long; sizing the store up front
    /// avoids even that, and the first touch of the memory, while requests wait.
    ///
    /// ```
    /// use oauth21::MemoryStore;
    /// let store = MemoryStore::with_capacity(100_000);
    /// assert_eq!(store.counts(), (0, 0, 0));
    /// ```
    pub fn with_capacity(grants: usize) -> Self {
        Self {
            codes: sharded::Striped::new(|| {
                DigestMap::with_capacity_and_hasher(sharded::share(grants), BuildHasherDefault::default())
            }),
            grants: Mutex::new(Grants::with_capacity(grants)),
            ..Self::default()
        }
    }

    /// Registers `client`, replacing any registration with the same id.
    pub fn insert_client(&self, client: Client) {
        let mut clients = self.clients.write().unwrap_or_else(PoisonError::into_inner);
        clients.insert(client.id().clone(), client);
    }

    /// Removes client `id`; returns whether it was registered.
    pub fn remove_client(&self, id: &ClientId) -> bool {
        self.clients.write().unwrap_or_else(PoisonError::into_inner).remove(id).is_some()
    }

    /// How many clients are registered.
    pub fn client_count(&self) -> usize {
        self.clients.read().unwrap_or_else(PoisonError::into_inner).len()
    }

    /// Drops every code, token and revocation memory whose time has passed at `now`.
    pub fn purge_expired(&self, now: OffsetDateTime) {
        lock(&self.claims).retain(|_, until| *until > now);
        lock(&self.pushed).retain(|_, (_, until)| *until > now);
        let mut devices = lock(&self.devices);
        devices.requests.retain(|_, request| request.expires_at > now);
        let Devices { requests, user_codes } = &mut *devices;
        user_codes.retain(|_, hash| requests.contains_key(hash));
        drop(devices);
        for mut codes in self.codes.each() {
            codes.retain(|_, e| e.record.expires_at > now);
            shrink_if_sparse(&mut codes);
        }
        lock(&self.grants).purge(now);
    }

    /// How many codes, access tokens and refresh tokens are held (used codes and rotated-out
    /// refresh tokens included).
    pub fn counts(&self) -> (usize, usize, usize) {
        let codes = self.codes.each().map(|codes| codes.len()).sum();
        let (access, refresh) = lock(&self.grants).counts();
        (codes, access, refresh)
    }

    /// The active (not rotated out) refresh tokens of grant `id`: at most one, by the store
    /// contract. For tests and diagnostics.
    pub fn active_refresh_tokens(&self, id: &GrantId) -> Vec<TokenHash> {
        lock(&self.grants).active_refresh_tokens(id)
    }
}

impl Store for MemoryStore {
    fn capabilities(&self) -> Capabilities {
        Capabilities::SINGLE_USE_CLAIMS
            .union(Capabilities::PUSHED_REQUESTS)
            .union(Capabilities::CLIENT_REGISTRATION)
            .union(Capabilities::DEVICE_REQUESTS)
    }

    fn insert_device_request(
        &self,
        hash: &TokenHash,
        request: DeviceRequest,
        at: OffsetDateTime,
    ) -> impl Future<Output = Result<DeviceInsert, StoreError>> + Send {
        let mut devices = lock(&self.devices);
        let Devices { requests, user_codes } = &mut *devices;
        let in_use =
            user_codes.get(&request.user_code).and_then(|h| requests.get(h)).is_some_and(|r| r.expires_at > at);
        let result = if in_use {
            Ok(DeviceInsert::UserCodeInUse)
        } else if requests.contains_key(hash) {
            Err(StoreError::backend("a device request with this digest exists"))
        } else {
            user_codes.insert(request.user_code, *hash);
            requests.insert(*hash, request);
            Ok(DeviceInsert::Inserted)
        };
        ready(result)
    }

    fn device_request_by_user_code(
        &self,
        user_code: &TokenHash,
        at: OffsetDateTime,
    ) -> impl Future<Output = Result<Option<(TokenHash, DeviceRequest)>, StoreError>> + Send {
        let devices = lock(&self.devices);
        let found = devices
            .user_codes
            .get(user_code)
            .and_then(|hash| devices.requests.get(hash).map(|request| (*hash, request)))
            .filter(|(_, request)| request.expires_at > at)
            .map(|(hash, request)| (hash, request.clone()));
        ready(Ok(found))
    }

    fn decide_device_request(
        &self,
        hash: &TokenHash,
        decision: DeviceState,
        at: OffsetDateTime,
    ) -> impl Future<Output = Result<DeviceDecided, StoreError>> + Send {
        let mut devices = lock(&self.devices);
        let outcome = match devices.requests.get_mut(hash) {
            Some(request) if request.state == DeviceState::Pending && request.expires_at > at => {
                request.state = decision;
                DeviceDecided::Decided
            }
            _ => DeviceDecided::NotPending,
        };
        ready(Ok(outcome))
    }

    fn poll_device_request(
        &self,
        hash: &TokenHash,
        client_id: &ClientId,
        at: OffsetDateTime,
    ) -> impl Future<Output = Result<Option<DevicePoll>, StoreError>> + Send {
        let mut devices = lock(&self.devices);
        let poll = match devices.requests.get_mut(hash) {
            Some(request) if request.client_id == *client_id => {
                let too_soon =
                    request.last_polled_at.is_some_and(|last| at < last + Duration::seconds(request.interval));
                request.last_polled_at = Some(at);
                if request.state == DeviceState::Pending && too_soon {
                    request.interval += 5;
                    Some(DevicePoll::SlowDown(request.clone()))
                } else if matches!(request.state, DeviceState::Approved { .. }) && request.expires_at > at {
                    let approved = request.clone();
                    request.state = DeviceState::Redeemed;
                    Some(DevicePoll::Redeemed(approved))
                } else {
                    Some(DevicePoll::Current(request.clone()))
                }
            }
            _ => None,
        };
        ready(Ok(poll))
    }

    fn register_client(
        &self,
        client: &Client,
        at: OffsetDateTime,
    ) -> impl Future<Output = Result<(), StoreError>> + Send {
        let _ = at;
        let mut clients = self.clients.write().unwrap_or_else(PoisonError::into_inner);
        let result = match clients.entry(client.id().clone()) {
            std::collections::hash_map::Entry::Occupied(_) => Err(StoreError::backend("a client with this id exists")),
            std::collections::hash_map::Entry::Vacant(slot) => {
                slot.insert(client.clone());
                Ok(())
            }
        };
        ready(result)
    }

    fn insert_pushed_request(
        &self,
        hash: &TokenHash,
        request: PushedRequest,
        at: OffsetDateTime,
        until: OffsetDateTime,
    ) -> impl Future<Output = Result<(), StoreError>> + Send {
        let mut pushed = lock(&self.pushed);
        // Now and then drop what has ended, so the map stays as large as the live requests.
        if pushed.len() % 1024 == 1023 {
            pushed.retain(|_, (_, ends)| *ends > at);
        }
        let result = if pushed.contains_key(hash) {
            Err(StoreError::backend("a pushed request with this digest exists"))
        } else {
            pushed.insert(*hash, (request, until));
            Ok(())
        };
        ready(result)
    }

    fn pushed_request(
        &self,
        hash: &TokenHash,
        at: OffsetDateTime,
    ) -> impl Future<Output = Result<Option<PushedRequest>, StoreError>> + Send {
        let mut pushed = lock(&self.pushed);
        let found = match pushed.get(hash) {
            Some((request, until)) if *until > at => Some(request.clone()),
            Some(_) => {
                pushed.remove(hash);
                None
            }
            None => None,
        };
        ready(Ok(found))
    }

    fn claim_once(
        &self,
        key: &TokenHash,
        at: OffsetDateTime,
        until: OffsetDateTime,
    ) -> impl Future<Output = Result<ClaimOutcome, StoreError>> + Send {
        let mut claims = lock(&self.claims);
        let outcome = match claims.get(key) {
            Some(held) if *held > at => ClaimOutcome::AlreadyClaimed,
            _ => {
                claims.insert(*key, until);
                ClaimOutcome::Claimed
            }
        };
        ready(Ok(outcome))
    }

    fn client(&self, id: &ClientId) -> impl Future<Output = Result<Option<Client>, StoreError>> + Send {
        let clients = self.clients.read().unwrap_or_else(PoisonError::into_inner);
        ready(Ok(clients.get(id).cloned()))
    }

    fn insert_code(&self, code: CodeRecord) -> impl Future<Output = Result<(), StoreError>> + Send {
        let mut codes = self.codes.lock(code_shard(&code.hash));
        match codes.entry(code.hash) {
            std::collections::hash_map::Entry::Occupied(_) => {
                ready(Err(StoreError::backend("authorization code collision")))
            }
            std::collections::hash_map::Entry::Vacant(slot) => {
                slot.insert(CodeEntry { record: Box::new(code), used: false });
                ready(Ok(()))
            }
        }
    }

    fn take_code(&self, hash: &TokenHash) -> impl Future<Output = Result<CodeTake, StoreError>> + Send {
        let mut codes = self.codes.lock(code_shard(hash));
        let take = match codes.get_mut(hash) {
            None => CodeTake::NotFound,
            Some(entry) if entry.used => CodeTake::AlreadyTaken((*entry.record).clone()),
            Some(entry) => {
                entry.used = true;
                CodeTake::Taken((*entry.record).clone())
            }
        };
        ready(Ok(take))
    }

    fn insert_grant(&self, new: NewGrant) -> impl Future<Output = Result<InsertOutcome, StoreError>> + Send {
        ready(Grants::prepare(new).and_then(|prepared| lock(&self.grants).insert(prepared)))
    }

    fn rotate_refresh(&self, rotation: Rotation) -> impl Future<Output = Result<RotateOutcome, StoreError>> + Send {
        ready(lock(&self.grants).rotate(rotation))
    }

    fn revoke_grant(
        &self,
        id: &GrantId,
        _at: OffsetDateTime,
        remember_until: OffsetDateTime,
    ) -> impl Future<Output = Result<(), StoreError>> + Send {
        lock(&self.grants).revoke(id, remember_until);
        ready(Ok(()))
    }

    fn revoke_subject(
        &self,
        subject: &Subject,
        at: OffsetDateTime,
        remember_until: OffsetDateTime,
    ) -> impl Future<Output = Result<(), StoreError>> + Send {
        lock(&self.grants).revoke_subject(subject, at, remember_until);
        ready(Ok(()))
    }

    fn revoke_access_token(&self, hash: &TokenHash) -> impl Future<Output = Result<(), StoreError>> + Send {
        lock(&self.grants).revoke_access(hash);
        ready(Ok(()))
    }

    fn access_token(
        &self,
        hash: &TokenHash,
    ) -> impl Future<Output = Result<Option<AccessTokenRecord>, StoreError>> + Send {
        ready(Ok(lock(&self.grants).access(hash)))
    }

    fn refresh_token(
        &self,
        hash: &TokenHash,
    ) -> impl Future<Output = Result<Option<RefreshTokenRecord>, StoreError>> + Send {
        ready(Ok(lock(&self.grants).refresh(hash)))
    }
}

#[cfg(test)]
mod tests {
    use std::hash::BuildHasher;

    use super::*;
    use crate::pkce::CodeChallenge;
    use crate::test_support::{at, block_on};
    use crate::types::Scope;

    fn code(secret: &str, expires_at: OffsetDateTime) -> CodeRecord {
        CodeRecord {
            hash: TokenHash::of(secret),
            grant_id: GrantId::new(format!("g-{secret}")).unwrap(),
            client_id: ClientId::from_static("app"),
            redirect_uri: "https://app.example/cb".into(),
            code_challenge: CodeChallenge::from_request(
                Some("E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM"),
                Some("S256"),
            )
            .unwrap(),
            scope: Scope::from_static("read"),
            subject: Subject::from_static("alice"),
            issued_at: at(0),
            expires_at,
            dpop_jkt: None,
            resources: Vec::new(),
        }
    }

    #[test]
    fn codes_spread_over_the_shards_and_a_sized_store_has_room_for_them_in_every_shard() {
        let store = MemoryStore::with_capacity(4096);
        assert!(store.codes.each().all(|codes| codes.capacity() >= sharded::share(4096)));
        for capacity in lock(&store.grants).min_capacities() {
            assert!(capacity >= sharded::share(4096), "every grant table is sized too");
        }
        for i in 0..512 {
            block_on(store.insert_code(code(&format!("c{i}"), at(600)))).unwrap();
        }
        let used = store.codes.each().filter(|codes| !codes.is_empty()).count();
        assert!(used > sharded::SHARDS / 2, "512 codes landed in only {used} shards");
        assert_eq!(store.counts().0, 512);
    }

    #[test]
    fn the_purge_keeps_a_code_until_it_expires_and_drops_it_then() {
        let store = MemoryStore::new();
        block_on(store.insert_code(code("c", at(600)))).unwrap();
        store.purge_expired(at(599));
        assert!(matches!(block_on(store.take_code(&TokenHash::of("c"))), Ok(CodeTake::Taken(_))));
        store.purge_expired(at(600));
        assert!(matches!(block_on(store.take_code(&TokenHash::of("c"))), Ok(CodeTake::NotFound)));
        assert_eq!(store.counts(), (0, 0, 0));
    }

    /// Ids a host numbers itself spread over a table's buckets as evenly as random ones, in the
    /// low bits (the bucket) and the top seven (the tag a probe compares first).
    #[test]
    fn sequential_grant_ids_spread_over_buckets_and_tags() {
        let build = BuildHasherDefault::<IdHasher>::default();
        let n = 1 << 16;
        let mut buckets = vec![0u32; 1 << 12];
        let mut tags = [0u32; 128];
        let mut seen = std::collections::HashSet::new();
        for i in 0..n {
            let h = build.hash_one(GrantId::new(format!("grant-{i:08}")).unwrap());
            buckets[(h & 0xfff) as usize] += 1;
            tags[(h >> 57) as usize] += 1;
            seen.insert(h);
        }
        assert_eq!(seen.len(), n, "no two of these ids share a hash");
        // 16 per bucket and 512 per tag on average; uniform hashing stays well inside 2x.
        assert!(buckets.iter().all(|&c| c < 40), "max {}", buckets.iter().max().unwrap());
        assert!(tags.iter().all(|&c| (384..640).contains(&c)), "{tags:?}");
    }
}
