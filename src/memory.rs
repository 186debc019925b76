//! [`MemoryStore`]: the embedded, thread-safe store for single-process servers, tests and
//! examples.
//!
//! Each operation takes one short lock (codes and grants have separate locks, clients a
//! read-write lock), so the atomicity the [`Store`] contract asks for holds and no lock is held
//! across a whole request. Nothing expires by itself: call [`MemoryStore::purge_expired`] now and
//! then to drop expired records.

use std::collections::HashMap;
use std::future::{Future, ready};
use std::sync::{Mutex, MutexGuard, PoisonError, RwLock};

use time::OffsetDateTime;

use crate::client::Client;
use crate::store::{
    AccessTokenRecord, CodeRecord, CodeTake, GrantTokens, InsertOutcome, RefreshTokenRecord, Store, StoreError,
};
use crate::types::{ClientId, GrantId, TokenHash};

#[derive(Debug)]
struct CodeEntry {
    record: CodeRecord,
    used: bool,
}

#[derive(Debug, Default)]
struct Grants {
    access: HashMap<TokenHash, AccessTokenRecord>,
    refresh: HashMap<TokenHash, RefreshTokenRecord>,
    /// Token digests per grant, for revocation.
    members: HashMap<GrantId, Vec<TokenHash>>,
    /// Revoked grants and until when to remember them.
    revoked: HashMap<GrantId, OffsetDateTime>,
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
    clients: RwLock<HashMap<ClientId, Client>>,
    codes: Mutex<HashMap<TokenHash, CodeEntry>>,
    grants: Mutex<Grants>,
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
        lock(&self.codes).retain(|_, e| e.record.expires_at > now);
        let mut g = lock(&self.grants);
        g.access.retain(|_, t| t.expires_at > now);
        g.refresh.retain(|_, t| t.expires_at > now);
        g.revoked.retain(|_, until| *until > now);
        let Grants { access, refresh, members, .. } = &mut *g;
        members.retain(|_, hashes| {
            hashes.retain(|h| access.contains_key(h) || refresh.contains_key(h));
            !hashes.is_empty()
        });
    }

    /// How many codes, access tokens and refresh tokens are held (used codes included).
    pub fn counts(&self) -> (usize, usize, usize) {
        let codes = lock(&self.codes).len();
        let g = lock(&self.grants);
        (codes, g.access.len(), g.refresh.len())
    }
}

impl Store for MemoryStore {
    fn client(&self, id: &ClientId) -> impl Future<Output = Result<Option<Client>, StoreError>> + Send {
        let clients = self.clients.read().unwrap_or_else(PoisonError::into_inner);
        ready(Ok(clients.get(id).cloned()))
    }

    fn insert_code(&self, code: CodeRecord) -> impl Future<Output = Result<(), StoreError>> + Send {
        let mut codes = lock(&self.codes);
        if codes.contains_key(&code.hash) {
            return ready(Err(StoreError::Backend("authorization code collision".into())));
        }
        codes.insert(code.hash, CodeEntry { record: code, used: false });
        ready(Ok(()))
    }

    fn take_code(&self, hash: &TokenHash) -> impl Future<Output = Result<CodeTake, StoreError>> + Send {
        let mut codes = lock(&self.codes);
        let take = match codes.get_mut(hash) {
            None => CodeTake::NotFound,
            Some(entry) if entry.used => CodeTake::AlreadyTaken(entry.record.clone()),
            Some(entry) => {
                entry.used = true;
                CodeTake::Taken(entry.record.clone())
            }
        };
        ready(Ok(take))
    }

    fn insert_grant(&self, tokens: GrantTokens) -> impl Future<Output = Result<InsertOutcome, StoreError>> + Send {
        let mut g = lock(&self.grants);
        if g.revoked.contains_key(&tokens.grant_id) {
            return ready(Ok(InsertOutcome::GrantRevoked));
        }
        let taken = g.access.contains_key(&tokens.access.hash)
            || tokens.refresh.as_ref().is_some_and(|r| g.refresh.contains_key(&r.hash));
        if taken {
            return ready(Err(StoreError::Backend("token collision".into())));
        }
        let members = g.members.entry(tokens.grant_id).or_default();
        members.push(tokens.access.hash);
        if let Some(r) = &tokens.refresh {
            members.push(r.hash);
        }
        g.access.insert(tokens.access.hash, tokens.access);
        if let Some(r) = tokens.refresh {
            g.refresh.insert(r.hash, r);
        }
        ready(Ok(InsertOutcome::Inserted))
    }

    fn revoke_grant(
        &self,
        id: &GrantId,
        remember_until: OffsetDateTime,
    ) -> impl Future<Output = Result<(), StoreError>> + Send {
        let mut g = lock(&self.grants);
        let until = g.revoked.get(id).map_or(remember_until, |t| (*t).max(remember_until));
        g.revoked.insert(id.clone(), until);
        for hash in g.members.remove(id).unwrap_or_default() {
            g.access.remove(&hash);
            g.refresh.remove(&hash);
        }
        ready(Ok(()))
    }

    fn access_token(
        &self,
        hash: &TokenHash,
    ) -> impl Future<Output = Result<Option<AccessTokenRecord>, StoreError>> + Send {
        ready(Ok(lock(&self.grants).access.get(hash).cloned()))
    }

    fn refresh_token(
        &self,
        hash: &TokenHash,
    ) -> impl Future<Output = Result<Option<RefreshTokenRecord>, StoreError>> + Send {
        ready(Ok(lock(&self.grants).refresh.get(hash).cloned()))
    }
}
