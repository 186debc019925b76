//! A client's public keys for `private_key_jwt`, as registered (RFC 7591 `jwks`).

use std::fmt;

use serde::{Deserialize, Serialize};

use crate::jose::{JoseError, KeySet};

/// A client's public keys for `private_key_jwt` (RFC 7591 `jwks`): a JWK Set, read strictly
/// ([`KeySet::from_jwks`]: public keys only, each with a `kid`). Several keys make rotation
/// seamless: register the new key beside the old, let the client switch, then drop the old.
/// A host that fetches a client's `jwks_uri` does so itself, on its own schedule, and stores
/// the document here.
#[derive(Clone)]
pub struct ClientKeys {
    document: serde_json::Value,
    set: std::sync::Arc<KeySet>,
}

impl ClientKeys {
    /// The keys of a JWK Set document: at least one.
    pub fn from_jwks(json: &[u8]) -> Result<Self, JoseError> {
        let set = KeySet::from_jwks(json)?;
        if set.states().next().is_none() {
            return Err(JoseError::InvalidJwk("a client's key set holds at least one key"));
        }
        let document = serde_json::from_slice(json).map_err(|_| JoseError::InvalidJwk("not JSON"))?;
        Ok(Self { document, set: std::sync::Arc::new(set) })
    }

    /// The key set the assertions verify against.
    pub fn key_set(&self) -> &KeySet {
        &self.set
    }

    /// The JWK Set document as registered.
    pub fn document(&self) -> &serde_json::Value {
        &self.document
    }
}

impl PartialEq for ClientKeys {
    fn eq(&self, other: &Self) -> bool {
        self.document == other.document
    }
}

impl Eq for ClientKeys {}

impl fmt::Debug for ClientKeys {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let kids: Vec<&str> = self.set.states().map(|(kid, _)| kid).collect();
        f.debug_struct("ClientKeys").field("kids", &kids).finish()
    }
}

impl Serialize for ClientKeys {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        self.document.serialize(serializer)
    }
}

impl<'de> Deserialize<'de> for ClientKeys {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let document = serde_json::Value::deserialize(deserializer)?;
        let bytes = serde_json::to_vec(&document).map_err(serde::de::Error::custom)?;
        // The same strict reading as at registration: a stored key set is checked again.
        Self::from_jwks(&bytes).map_err(serde::de::Error::custom)
    }
}
