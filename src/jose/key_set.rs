//! Key sets: rotation states, the JWKS document, and the shared handle a server and its
//! verifiers read.

use std::sync::{Arc, RwLock};

use serde_json::Value;
use time::OffsetDateTime;

use super::keys::{PublicKey, SigningKey};
use super::strict_json::parse_strict_json;
use super::{Algorithm, JoseError};

/// Where a key stands in its rotation.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum KeyState {
    /// Published in the JWKS and accepted by verifiers, not signing yet: the first step of a
    /// rotation, so caches of the JWKS learn the key before tokens signed with it appear.
    Published,
    /// Signs new tokens (at most one key at a time) and verifies.
    Active,
    /// Signs no more; still published and verifying until `until` (the expiry of the last
    /// token it signed), then gone.
    Retired {
        /// When the key stops verifying.
        until: OffsetDateTime,
    },
}

#[derive(Debug, Clone)]
struct KeyEntry {
    public: PublicKey,
    private: Option<Arc<SigningKey>>,
    state: KeyState,
}

/// The keys of one issuer at one moment: at most one active signing key, plus keys published
/// ahead of use and retired keys that still verify.
///
/// Rotation, with `L` the access-token lifetime:
/// 1. [`KeySet::publish`] the new key; wait for JWKS caches to refresh.
/// 2. [`KeySet::activate`] it, retiring the old key until `now + L`: tokens it signed verify
///    to the end of their life.
/// 3. [`KeySet::remove_expired`] drops the old key after that.
///
/// A `KeySet` is a value; [`SharedKeySet`] is the handle a running server and its verifiers
/// share so a rotation reaches both.
#[derive(Debug, Clone, Default)]
pub struct KeySet {
    entries: Vec<KeyEntry>,
}

impl KeySet {
    /// An empty set: signs nothing, verifies nothing.
    pub fn new() -> Self {
        Self::default()
    }

    /// A set whose only key is `key`, active.
    pub fn with_active(key: SigningKey) -> Self {
        let public = key.public_key().clone();
        Self { entries: vec![KeyEntry { public, private: Some(Arc::new(key)), state: KeyState::Active }] }
    }

    /// The public keys of a JWKS document (strict, see [`PublicKey::from_jwk`]), each
    /// [`KeyState::Published`]: what a resource server verifies with.
    pub fn from_jwks(json: &[u8]) -> Result<Self, JoseError> {
        let document = parse_strict_json(json).map_err(|_| JoseError::InvalidJwk("the JWKS is not strict JSON"))?;
        let keys = document.get("keys").and_then(Value::as_array).ok_or(JoseError::InvalidJwk("keys is required"))?;
        let mut set = Self::new();
        for jwk in keys {
            set.publish_public(PublicKey::from_jwk(jwk)?)?;
        }
        Ok(set)
    }

    /// Adds `key`, published but not signing yet (step 1 of a rotation).
    pub fn publish(&mut self, key: SigningKey) -> Result<(), JoseError> {
        self.check_new_kid(key.kid())?;
        let public = key.public_key().clone();
        self.entries.push(KeyEntry { public, private: Some(Arc::new(key)), state: KeyState::Published });
        Ok(())
    }

    /// Adds a public key only (its private half is elsewhere): it verifies, never signs.
    pub fn publish_public(&mut self, key: PublicKey) -> Result<(), JoseError> {
        self.check_new_kid(key.kid())?;
        self.entries.push(KeyEntry { public: key, private: None, state: KeyState::Published });
        Ok(())
    }

    /// Makes key `kid` the signing key (step 2 of a rotation); the key active until now is
    /// retired until `retire_previous_until`.
    pub fn activate(&mut self, kid: &str, retire_previous_until: OffsetDateTime) -> Result<(), JoseError> {
        let index = self.entries.iter().position(|e| e.public.kid() == kid && e.private.is_some());
        let index = index.ok_or(JoseError::UnknownKey)?;
        for entry in &mut self.entries {
            if entry.state == KeyState::Active {
                entry.state = KeyState::Retired { until: retire_previous_until };
            }
        }
        self.entries[index].state = KeyState::Active;
        Ok(())
    }

    /// Retires key `kid` until `until`: it signs no more and verifies until then.
    pub fn retire(&mut self, kid: &str, until: OffsetDateTime) -> Result<(), JoseError> {
        let entry = self.entries.iter_mut().find(|e| e.public.kid() == kid).ok_or(JoseError::UnknownKey)?;
        entry.state = KeyState::Retired { until };
        Ok(())
    }

    /// Drops retired keys whose time has passed (step 3 of a rotation).
    pub fn remove_expired(&mut self, now: OffsetDateTime) {
        self.entries.retain(|e| !matches!(e.state, KeyState::Retired { until } if until <= now));
    }

    /// The key that signs new tokens, if any.
    pub fn signing_key(&self) -> Option<&SigningKey> {
        self.entries.iter().find(|e| e.state == KeyState::Active).and_then(|e| e.private.as_deref())
    }

    /// The key with id `kid`, if it verifies at `now`.
    pub fn verification_key(&self, kid: &str, now: OffsetDateTime) -> Option<&PublicKey> {
        self.entries.iter().find(|e| e.public.kid() == kid && verifies_at(e.state, now)).map(|e| &e.public)
    }

    /// Every key's id and state.
    pub fn states(&self) -> impl Iterator<Item = (&str, KeyState)> {
        self.entries.iter().map(|e| (e.public.kid(), e.state))
    }

    /// The JWKS document (RFC 7517 §5) of the keys that verify at `now`: the active key,
    /// keys published ahead of use, and retired keys still in their window.
    pub fn jwks(&self, now: OffsetDateTime) -> String {
        let keys: Vec<Value> =
            self.entries.iter().filter(|e| verifies_at(e.state, now)).map(|e| e.public.to_jwk()).collect();
        serde_json::json!({ "keys": keys }).to_string()
    }

    /// The one key that verifies at `now`, when the set holds exactly one: what a header
    /// without `kid` may use under [`KidRule::OptionalForSingleKey`](super::KidRule).
    pub(super) fn only_verification_key(&self, now: OffsetDateTime) -> Option<&PublicKey> {
        let mut usable = self.entries.iter().filter(|e| verifies_at(e.state, now));
        match (usable.next(), usable.next()) {
            (Some(only), None) => Some(&only.public),
            _ => None,
        }
    }

    /// The private key named `kid` of algorithm `alg`, both matching, whatever its state.
    pub(super) fn private_key(&self, kid: &str, alg: Algorithm) -> Option<&SigningKey> {
        self.entries.iter().filter_map(|e| e.private.as_deref()).find(|k| k.kid() == kid && k.algorithm() == alg)
    }

    fn check_new_kid(&self, kid: &str) -> Result<(), JoseError> {
        if self.entries.iter().any(|e| e.public.kid() == kid) { Err(JoseError::InvalidKeyId) } else { Ok(()) }
    }
}

fn verifies_at(state: KeyState, now: OffsetDateTime) -> bool {
    match state {
        KeyState::Published | KeyState::Active => true,
        KeyState::Retired { until } => now < until,
    }
}

/// A [`KeySet`] shared between a server, its verifiers and the code that rotates keys: cheap
/// to clone, and each reader gets a consistent snapshot.
#[derive(Debug, Clone, Default)]
pub struct SharedKeySet {
    current: Arc<RwLock<Arc<KeySet>>>,
}

impl SharedKeySet {
    /// A handle on `set`.
    pub fn new(set: KeySet) -> Self {
        Self { current: Arc::new(RwLock::new(Arc::new(set))) }
    }

    /// The set as it is now; later changes do not affect it.
    pub fn snapshot(&self) -> Arc<KeySet> {
        match self.current.read() {
            Ok(guard) => guard.clone(),
            Err(poisoned) => poisoned.into_inner().clone(),
        }
    }

    /// Changes the set (publish, activate, retire, remove): `change` works on a copy that
    /// replaces the set only when it returns `Ok`.
    pub fn update<T>(&self, change: impl FnOnce(&mut KeySet) -> Result<T, JoseError>) -> Result<T, JoseError> {
        let mut guard = match self.current.write() {
            Ok(guard) => guard,
            Err(poisoned) => poisoned.into_inner(),
        };
        let mut next = KeySet::clone(&guard);
        let out = change(&mut next)?;
        *guard = Arc::new(next);
        Ok(out)
    }
}

/// The public keys that verify JWTs, as they are now: a server's own (for introspection,
/// revocation and its JWKS) or a resource server's copy of an issuer's JWKS. Needs no random
/// source. Called once per verification: return a shared snapshot, not a copy.
pub trait VerificationKeys: Send + Sync {
    /// The key set, or `None` when there is none.
    fn verification_keys(&self) -> Option<Arc<KeySet>>;
}

impl<T: VerificationKeys + ?Sized> VerificationKeys for Arc<T> {
    fn verification_keys(&self) -> Option<Arc<KeySet>> {
        (**self).verification_keys()
    }
}

impl VerificationKeys for SharedKeySet {
    fn verification_keys(&self) -> Option<Arc<KeySet>> {
        Some(self.snapshot())
    }
}

impl VerificationKeys for Arc<KeySet> {
    fn verification_keys(&self) -> Option<Arc<KeySet>> {
        Some(self.clone())
    }
}
