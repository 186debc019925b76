//! [`MemoryStore`](super::MemoryStore)'s grants and their tokens, laid out for size.
//!
//! What every token of a grant has in common (grant id, client, subject, the grant's own
//! scope, times and resources) is written once, in an `Arc`ed [`Core`]; a token's entry keeps
//! only what is its own: its times and, boxed because most tokens have none of it, a scope
//! other than the grant's, an audience or a DPoP binding. A record handed out is rebuilt from
//! the two: short text copied, long text shared.
//!
//! Revoking a grant marks its core: its tokens are never returned again, and the next purge
//! drops them, so revocation costs the same however many tokens the grant issued, and no
//! grant keeps a list of its tokens.
//!
//! The core also holds the grant's rotation state, so a rotation reaches it from the refresh
//! token it presents (an entry just read) instead of a second lookup by grant id.
//!
//! Only grants with a refresh token are indexed by id (`families`): a grant of one access token
//! (client_credentials, or a code flow without refresh) is revoked by id through the memory of
//! revoked ids, which its token's lookups consult while it is not empty, and by subject by
//! marking its core. That saves every such grant a write to a third table, its costliest step.

use std::collections::HashMap;
use std::collections::hash_map::Entry;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};

use time::OffsetDateTime;

use super::{IdMap, ShardedDigestMap, ShardedIdMap};
use crate::store::{
    AccessTokenRecord, GrantRecord, InsertOutcome, NewGrant, RefreshTokenRecord, RotateOutcome, Rotation, StoreError,
};
use crate::types::{GrantId, Resource, Scope, Subject, TokenHash};

/// What a grant's tokens share.
#[derive(Debug)]
struct Core {
    grant: GrantRecord,
    /// Set when the grant is revoked. Only written under the grants lock; atomic only so the
    /// table stays `Sync`.
    revoked: AtomicBool,
    /// Which refresh token a rotation must present. Only touched under the grants lock (so
    /// never contended); a mutex only so the table stays `Sync`.
    rotation: Mutex<Family>,
    /// Whether the grant is in `families`: it has a refresh token. Otherwise a revocation by id
    /// cannot reach this core, and the memory of revoked ids (`Grants::revoked`) must be consulted.
    indexed: bool,
}

impl Core {
    fn new(grant: GrantRecord, active: Option<TokenHash>) -> Self {
        Self {
            grant,
            revoked: AtomicBool::new(false),
            indexed: active.is_some(),
            rotation: Mutex::new(Family { active, previous: None }),
        }
    }

    fn is_revoked(&self) -> bool {
        self.revoked.load(Ordering::Relaxed)
    }

    /// Whether the grant was revoked: its core marked, or, for a grant not indexed by id, its
    /// id remembered in `revoked_ids`.
    fn is_revoked_given(&self, revoked_ids: &IdMap<OffsetDateTime>) -> bool {
        self.is_revoked()
            || (!self.indexed && !revoked_ids.is_empty() && revoked_ids.contains_key(&self.grant.grant_id))
    }

    fn rotation(&self) -> MutexGuard<'_, Family> {
        self.rotation.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Whether `record` belongs to this grant as its record says: a token's grant id, client and
    /// subject are the grant's, or the store would hand back something it was not given.
    fn owns(&self, grant_id: &GrantId, client_id: &crate::types::ClientId, subject: &Subject) -> bool {
        self.grant.grant_id == *grant_id && self.grant.client_id == *client_id && self.grant.subject == *subject
    }
}

#[derive(Debug)]
struct AccessEntry {
    core: Arc<Core>,
    issued_at: OffsetDateTime,
    expires_at: OffsetDateTime,
    /// A scope narrower than the grant's, an audience or a DPoP binding: absent from most
    /// tokens, so boxed, which keeps the table's slots small.
    extra: Option<Box<AccessExtra>>,
}

#[derive(Debug)]
struct AccessExtra {
    /// `None`: the grant's scope.
    scope: Option<Scope>,
    audience: Option<String>,
    jkt: Option<String>,
}

#[derive(Debug)]
struct RefreshEntry {
    core: Arc<Core>,
    issued_at: OffsetDateTime,
    expires_at: OffsetDateTime,
    rotated_at: Option<OffsetDateTime>,
    /// Whatever differs from the grant (a DPoP binding, another scope, other resources, another
    /// end): boxed, as most tokens have none of it.
    extra: Option<Box<RefreshExtra>>,
}

#[derive(Debug)]
struct RefreshExtra {
    scope: Scope,
    jkt: Option<String>,
    grant_expires_at: OffsetDateTime,
    resources: Vec<Resource>,
}

impl AccessEntry {
    fn new(core: Arc<Core>, record: AccessTokenRecord) -> Result<Self, StoreError> {
        if !core.owns(&record.grant_id, &record.client_id, &record.subject) {
            return Err(StoreError::backend("an access token's grant, client or subject differs from its grant's"));
        }
        let scope = (record.scope != core.grant.scope).then_some(record.scope);
        let extra = (scope.is_some() || record.audience.is_some() || record.jkt.is_some())
            .then(|| Box::new(AccessExtra { scope, audience: record.audience, jkt: record.jkt }));
        Ok(Self { core, issued_at: record.issued_at, expires_at: record.expires_at, extra })
    }

    fn record(&self, hash: TokenHash) -> AccessTokenRecord {
        let grant = &self.core.grant;
        AccessTokenRecord {
            hash,
            grant_id: grant.grant_id.clone(),
            client_id: grant.client_id.clone(),
            subject: grant.subject.clone(),
            scope: self.extra.as_ref().and_then(|e| e.scope.clone()).unwrap_or_else(|| grant.scope.clone()),
            audience: self.extra.as_ref().and_then(|e| e.audience.clone()),
            issued_at: self.issued_at,
            expires_at: self.expires_at,
            jkt: self.extra.as_ref().and_then(|e| e.jkt.clone()),
        }
    }
}

impl RefreshEntry {
    fn new(core: Arc<Core>, record: RefreshTokenRecord) -> Result<Self, StoreError> {
        if !core.owns(&record.grant_id, &record.client_id, &record.subject) {
            return Err(StoreError::backend("a refresh token's grant, client or subject differs from its grant's"));
        }
        let grant = &core.grant;
        let usual = record.jkt.is_none()
            && record.scope == grant.scope
            && record.grant_expires_at == grant.expires_at
            && record.resources == grant.resources;
        let extra = (!usual).then(|| {
            Box::new(RefreshExtra {
                scope: record.scope,
                jkt: record.jkt,
                grant_expires_at: record.grant_expires_at,
                resources: record.resources,
            })
        });
        Ok(Self {
            core,
            issued_at: record.issued_at,
            expires_at: record.expires_at,
            rotated_at: record.rotated_at,
            extra,
        })
    }

    fn grant_expires_at(&self) -> OffsetDateTime {
        self.extra.as_ref().map_or(self.core.grant.expires_at, |e| e.grant_expires_at)
    }

    fn record(&self, hash: TokenHash) -> RefreshTokenRecord {
        let grant = &self.core.grant;
        RefreshTokenRecord {
            hash,
            grant_id: grant.grant_id.clone(),
            client_id: grant.client_id.clone(),
            subject: grant.subject.clone(),
            scope: self.extra.as_ref().map_or_else(|| grant.scope.clone(), |e| e.scope.clone()),
            issued_at: self.issued_at,
            expires_at: self.expires_at,
            grant_expires_at: self.grant_expires_at(),
            rotated_at: self.rotated_at,
            jkt: self.extra.as_ref().and_then(|e| e.jkt.clone()),
            resources: match &self.extra {
                Some(extra) => extra.resources.clone(),
                None => grant.resources.clone(),
            },
        }
    }
}

/// A grant ready to store: see [`Grants::prepare`].
#[derive(Debug)]
pub(super) struct PreparedGrant {
    /// The core for `families`, when the grant is indexed by id.
    index: Option<Arc<Core>>,
    access: (TokenHash, AccessEntry),
    refresh: Option<(TokenHash, RefreshEntry)>,
}

impl PreparedGrant {
    fn core(&self) -> &Core {
        &self.access.1.core
    }
}

/// One grant's rotation state.
#[derive(Debug)]
struct Family {
    /// The refresh token a rotation must present.
    active: Option<TokenHash>,
    /// The refresh token rotated out last, and whether its one grace retry was used.
    previous: Option<(TokenHash, bool)>,
}

/// The grants, their tokens, and what revocation must remember.
#[derive(Debug, Default)]
pub(super) struct Grants {
    access: ShardedDigestMap<AccessEntry>,
    refresh: ShardedDigestMap<RefreshEntry>,
    /// Live grants with a refresh token, by id: for revocation by id, and so an id is never
    /// reused.
    families: ShardedIdMap<Arc<Core>>,
    /// Revoked grants and until when to remember them; for a grant of one access token, what
    /// keeps its token from being returned (until the purge that drops both).
    revoked: IdMap<OffsetDateTime>,
    /// Revoked subjects: (revoked at, remember until).
    revoked_subjects: HashMap<Subject, (OffsetDateTime, OffsetDateTime)>,
}

impl Grants {
    /// Tables with room for about `grants` grants with one access and one refresh token each.
    pub(super) fn with_capacity(grants: usize) -> Self {
        Self {
            access: ShardedDigestMap::with_capacity(grants),
            refresh: ShardedDigestMap::with_capacity(grants),
            families: ShardedIdMap::with_capacity(grants),
            ..Self::default()
        }
    }

    /// Builds a grant's shared core and its tokens' entries: the allocation and checks that
    /// need no table, done before the store's lock is taken so the lock is held only for the
    /// tables themselves.
    pub(super) fn prepare(new: NewGrant) -> Result<PreparedGrant, StoreError> {
        let NewGrant { grant, access, refresh } = new;
        let core = Arc::new(Core::new(grant, refresh.as_ref().map(|r| r.hash)));
        let refresh =
            refresh.map(|r| Ok::<_, StoreError>((r.hash, RefreshEntry::new(core.clone(), r)?))).transpose()?;
        // A grant not indexed by id gives its core to its one token: no reference count is
        // raised and dropped again (a locked instruction that waits for the table writes).
        let index = core.indexed.then(|| core.clone());
        let access = (access.hash, AccessEntry::new(core, access)?);
        Ok(PreparedGrant { index, access, refresh })
    }

    /// Stores a prepared grant, unless it or its subject was revoked.
    pub(super) fn insert(&mut self, prepared: PreparedGrant) -> Result<InsertOutcome, StoreError> {
        let grant = &prepared.core().grant;
        let subject_revoked =
            self.revoked_subjects.get(&grant.subject).is_some_and(|(at, _)| grant.authorized_at <= *at);
        if self.revoked.contains_key(&grant.grant_id) || subject_revoked {
            return Ok(InsertOutcome::GrantRevoked);
        }
        // One probe per table: each vacant slot is found once and filled last, once every
        // check has passed, so a refused grant writes nothing.
        let family = match prepared.index.as_ref().map(|_| self.families.entry(grant.grant_id.clone())) {
            Some(Entry::Occupied(_)) => return Err(StoreError::backend("grant collision")),
            Some(Entry::Vacant(slot)) => Some(slot),
            None => None,
        };
        let collision = || StoreError::backend("token collision");
        let Entry::Vacant(access_slot) = self.access.entry(prepared.access.0) else { return Err(collision()) };
        let refresh_slot = match prepared.refresh.as_ref().map(|(hash, _)| self.refresh.entry(*hash)) {
            Some(Entry::Occupied(_)) => return Err(collision()),
            Some(Entry::Vacant(slot)) => Some(slot),
            None => None,
        };
        let PreparedGrant { index, access, refresh } = prepared;
        access_slot.insert(access.1);
        if let (Some(slot), Some((_, entry))) = (refresh_slot, refresh) {
            slot.insert(entry);
        }
        if let (Some(family), Some(core)) = (family, index) {
            family.insert(core);
        }
        Ok(InsertOutcome::Inserted)
    }

    /// [`Grants::prepare`] and [`Grants::insert`] in one.
    #[cfg(test)]
    fn insert_new(&mut self, new: NewGrant) -> Result<InsertOutcome, StoreError> {
        Self::prepare(new).and_then(|prepared| self.insert(prepared))
    }

    /// The live core of grant `id`: found from the presented refresh token's entry when that
    /// token is the grant's, by id otherwise.
    fn live_core(&self, id: &GrantId, presented: &TokenHash) -> Option<Arc<Core>> {
        match self.refresh.get(presented) {
            Some(entry) if entry.core.grant.grant_id == *id => Some(entry.core.clone()),
            _ => self.families.get(id).cloned(),
        }
        .filter(|core| !core.is_revoked())
    }

    pub(super) fn rotate(&mut self, rotation: Rotation) -> Result<RotateOutcome, StoreError> {
        let Some(core) = self.live_core(&rotation.refresh.grant_id, &rotation.from) else {
            return Ok(RotateOutcome::NotActive);
        };
        let mut family = core.rotation();
        // The compare: which token this rotation replaces, if the family still expects it.
        let replaced = match (rotation.grace_retry, family.active, family.previous) {
            (false, Some(active), _) if active == rotation.from => active,
            (true, Some(active), Some((previous, false))) if previous == rotation.from => active,
            _ => return Ok(RotateOutcome::NotActive),
        };
        let (access_hash, refresh_hash) = (rotation.access.hash, rotation.refresh.hash);
        let access = AccessEntry::new(core.clone(), rotation.access)?;
        let refresh = RefreshEntry::new(core.clone(), rotation.refresh)?;
        if refresh_hash != replaced {
            family.active = Some(refresh_hash);
            family.previous = Some((rotation.from, rotation.grace_retry));
            if let Some(old) = self.refresh.get_mut(&replaced) {
                old.rotated_at = Some(rotation.at);
            }
        }
        self.access.insert(access_hash, access);
        self.refresh.insert(refresh_hash, refresh);
        Ok(RotateOutcome::Rotated)
    }

    pub(super) fn revoke(&mut self, id: &GrantId, remember_until: OffsetDateTime) {
        let until = self.revoked.get(id).map_or(remember_until, |t| (*t).max(remember_until));
        self.revoked.insert(id.clone(), until);
        if let Some(core) = self.families.remove(id) {
            core.revoked.store(true, Ordering::Relaxed);
        }
    }

    pub(super) fn revoke_subject(&mut self, subject: &Subject, at: OffsetDateTime, remember_until: OffsetDateTime) {
        let entry = self.revoked_subjects.entry(subject.clone()).or_insert((at, remember_until));
        *entry = (entry.0.max(at), entry.1.max(remember_until));
        let ids: Vec<GrantId> =
            self.families.iter().filter(|(_, core)| core.grant.subject == *subject).map(|(id, _)| id.clone()).collect();
        for id in ids {
            self.revoke(&id, remember_until);
        }
        // Grants not indexed by id are found through their one token.
        for token in self.access.values() {
            if !token.core.indexed && token.core.grant.subject == *subject {
                token.core.revoked.store(true, Ordering::Relaxed);
            }
        }
    }

    pub(super) fn revoke_access(&mut self, hash: &TokenHash) {
        self.access.remove(hash);
    }

    pub(super) fn access(&self, hash: &TokenHash) -> Option<AccessTokenRecord> {
        self.access.get(hash).filter(|e| !e.core.is_revoked_given(&self.revoked)).map(|e| e.record(*hash))
    }

    pub(super) fn refresh(&self, hash: &TokenHash) -> Option<RefreshTokenRecord> {
        self.refresh.get(hash).filter(|e| !e.core.is_revoked()).map(|e| e.record(*hash))
    }

    /// Drops what has ended at `now`, and the tokens of revoked grants; gives back the spare
    /// room of tables that shrank a lot.
    pub(super) fn purge(&mut self, now: OffsetDateTime) {
        // Before the memory of revoked ids is trimmed: it is what marks some of these tokens.
        let revoked = &self.revoked;
        self.access.retain(|_, t| t.expires_at > now && !t.core.is_revoked_given(revoked));
        // Rotated-out refresh tokens stay until the grant ends, so a late replay is recognised.
        self.refresh.retain(|_, t| {
            !t.core.is_revoked() && t.grant_expires_at() > now && (t.rotated_at.is_some() || t.expires_at > now)
        });
        self.revoked.retain(|_, until| *until > now);
        self.revoked_subjects.retain(|_, (_, until)| *until > now);
        self.families.retain(|_, core| {
            let live = core.grant.expires_at > now;
            if !live {
                // Its tokens may outlive it in the tables; none of them rotates again.
                *core.rotation() = Family { active: None, previous: None };
            }
            live
        });
        self.access.shrink_if_sparse();
        self.refresh.shrink_if_sparse();
        self.families.shrink_if_sparse();
    }

    /// Live (unrevoked) access and refresh tokens, rotated-out ones included.
    pub(super) fn counts(&self) -> (usize, usize) {
        let access = self.access.values().filter(|t| !t.core.is_revoked_given(&self.revoked)).count();
        let refresh = self.refresh.values().filter(|t| !t.core.is_revoked()).count();
        (access, refresh)
    }

    /// The room of the smallest shard of each table: access, refresh, grants.
    #[cfg(test)]
    pub(super) fn min_capacities(&self) -> [usize; 3] {
        [self.access.min_capacity(), self.refresh.min_capacity(), self.families.min_capacity()]
    }

    pub(super) fn active_refresh_tokens(&self, id: &GrantId) -> Vec<TokenHash> {
        let mine = |t: &RefreshEntry| !t.core.is_revoked() && t.core.grant.grant_id == *id && t.rotated_at.is_none();
        self.refresh.iter().filter(|(_, t)| mine(t)).map(|(hash, _)| *hash).collect()
    }
}

#[cfg(test)]
mod tests;
