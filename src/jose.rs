//! JSON Web Signatures on `ring`: signing keys, public keys, key sets with rotation, JWKS, and a
//! strict compact-serialization verifier (RFC 7515, RFC 7517, RFC 7518; JWT-01, JWT-05).
//!
//! Three algorithms, each tied to its key type: `EdDSA` (Ed25519), `ES256` (P-256 with SHA-256)
//! and `RS256` (RSA PKCS#1 v1.5 with SHA-256, 2048 to 8192 bits). The verifier is strict by
//! construction:
//!
//! - the algorithm is the **key's**, found by the header's `kid`; the header's `alg` must name
//!   it exactly, so `none`, `HS256` with a public key as the secret, or any other algorithm
//!   switch is refused before a signature is looked at;
//! - a header carrying its own key or a pointer to one (`jwk`, `jku`, `x5u`, `x5c`) is
//!   refused, as is any `crit` (no extension is understood) and compression (`zip`);
//! - duplicate JSON member names, at any depth, are refused (RFC 7515 §5.2 allows a parser to
//!   take the last one, which lets two parsers read one token differently);
//! - base64url must be canonical and unpadded, and a token longer than [`MAX_TOKEN_BYTES`] is
//!   refused before it is decoded.
//!
//! ```
//! use oauth21::jose::{Algorithm, KeySet, SigningKey};
//! use time::OffsetDateTime;
//!
//! let key = SigningKey::generate(Algorithm::EdDSA, "2026-11")?;
//! let keys = KeySet::with_active(key);
//! let token = oauth21::jose::sign(keys.signing_key().unwrap(), "at+jwt", br#"{"sub":"alice"}"#)?;
//! // Time is a parameter: the key set decides which keys verify at `now`.
//! let now = OffsetDateTime::from_unix_timestamp(1_700_000_000)?;
//! let verified = oauth21::jose::verify(&keys, &token, now)?;
//! assert_eq!(verified.payload, br#"{"sub":"alice"}"#);
//! assert_eq!(verified.kid, "2026-11");
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```

use std::collections::BTreeSet;
use std::fmt;
use std::future::Future;
use std::pin::Pin;
use std::sync::{Arc, RwLock};

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use ring::rand::SystemRandom;
use ring::signature::{self, EcdsaKeyPair, Ed25519KeyPair, KeyPair as _, RsaKeyPair, UnparsedPublicKey};
use serde::de::{self, Deserializer, MapAccess, SeqAccess, Visitor};
use serde_json::{Map, Value};
use sha2::Digest as _;
use time::OffsetDateTime;

/// The longest compact JWS the verifier reads: a JWT access token with an RSA-8192 signature
/// and a generous claim set fits; anything longer is refused before decoding.
pub const MAX_TOKEN_BYTES: usize = 8 * 1024;

/// The longest `kid` accepted, in a key or a token header.
const MAX_KID_BYTES: usize = 128;

/// A JWS signature algorithm this crate signs and verifies with.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
#[non_exhaustive]
pub enum Algorithm {
    /// Ed25519 (RFC 8037).
    EdDSA,
    /// ECDSA on P-256 with SHA-256, fixed-length `r || s` signatures.
    ES256,
    /// RSASSA-PKCS1-v1_5 with SHA-256, moduli of 2048 to 8192 bits.
    RS256,
}

impl Algorithm {
    /// The `alg` name (RFC 7518 §3.1, RFC 8037 §3.1).
    pub fn name(self) -> &'static str {
        match self {
            Self::EdDSA => "EdDSA",
            Self::ES256 => "ES256",
            Self::RS256 => "RS256",
        }
    }

    /// The algorithm named `name`, exactly (names are case-sensitive).
    pub fn from_name(name: &str) -> Option<Self> {
        match name {
            "EdDSA" => Some(Self::EdDSA),
            "ES256" => Some(Self::ES256),
            "RS256" => Some(Self::RS256),
            _ => None,
        }
    }
}

impl fmt::Display for Algorithm {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// Why a key, a key set or a token was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum JoseError {
    /// The private key could not be read for the algorithm (wrong type, malformed PKCS#8, an
    /// RSA modulus below 2048 bits, ...).
    #[error("the key was rejected: {0}")]
    KeyRejected(String),
    /// A key id is empty, too long, or already in the set.
    #[error("invalid or duplicate key id")]
    InvalidKeyId,
    /// No key with that id, or it cannot sign.
    #[error("no such key")]
    UnknownKey,
    /// A JWK or JWKS document is malformed, carries private members, or describes an
    /// unsupported key.
    #[error("invalid JWK: {0}")]
    InvalidJwk(&'static str),
    /// Signing failed (the random generator used for ECDSA nonces or RSA blinding failed).
    #[error("signing failed")]
    SigningFailed,
    /// The token is not a well-formed compact JWS within the size limit.
    #[error("malformed token: {0}")]
    Malformed(&'static str),
    /// The header is refused: wrong `typ`, `alg` other than the key's, `crit`, an embedded key
    /// or key URL, or compression.
    #[error("token header refused: {0}")]
    HeaderRefused(&'static str),
    /// The header's `kid` names no key that verifies now (unknown or rotated out).
    #[error("the token's key is unknown or retired")]
    UnknownKid,
    /// The signature does not verify.
    #[error("bad signature")]
    BadSignature,
}

enum PrivateKey {
    Ed25519(Ed25519KeyPair),
    Ecdsa(EcdsaKeyPair),
    Rsa(RsaKeyPair),
}

/// A private signing key with its key id and algorithm. Its `Debug` shows only the id and
/// algorithm.
pub struct SigningKey {
    private: PrivateKey,
    public: PublicKey,
}

impl fmt::Debug for SigningKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SigningKey")
            .field("kid", &self.public.kid)
            .field("alg", &self.public.alg)
            .finish_non_exhaustive()
    }
}

impl SigningKey {
    /// A new random key, for tests, examples and deployments that keep keys only in memory.
    /// `RS256` keys cannot be generated (`ring` does not generate RSA keys): load them with
    /// [`SigningKey::from_pkcs8_der`].
    ///
    /// Reads the operating system's random generator through `ring`.
    pub fn generate(alg: Algorithm, kid: impl Into<String>) -> Result<Self, JoseError> {
        let rng = SystemRandom::new();
        let pkcs8 = match alg {
            Algorithm::EdDSA => Ed25519KeyPair::generate_pkcs8(&rng),
            Algorithm::ES256 => EcdsaKeyPair::generate_pkcs8(&signature::ECDSA_P256_SHA256_FIXED_SIGNING, &rng),
            Algorithm::RS256 => return Err(JoseError::KeyRejected("RSA keys cannot be generated; load one".into())),
        }
        .map_err(|_| JoseError::SigningFailed)?;
        Self::from_pkcs8_der(alg, kid, pkcs8.as_ref())
    }

    /// The key in PKCS#8 DER, used with `alg`. Ed25519 accepts PKCS#8 v1 and v2. A P-256 key
    /// must carry its public key, as `ring` requires: `openssl ecparam -genkey -name
    /// prime256v1 -noout | openssl pkcs8 -topk8 -nocrypt -outform DER` writes one that does
    /// (some `openssl genpkey` versions leave it out).
    pub fn from_pkcs8_der(alg: Algorithm, kid: impl Into<String>, der: &[u8]) -> Result<Self, JoseError> {
        let kid = checked_kid(kid.into())?;
        let rejected = |e: ring::error::KeyRejected| JoseError::KeyRejected(e.to_string());
        let (private, material) = match alg {
            Algorithm::EdDSA => {
                let pair = Ed25519KeyPair::from_pkcs8_maybe_unchecked(der).map_err(rejected)?;
                let x = pair.public_key().as_ref().to_vec();
                (PrivateKey::Ed25519(pair), PublicMaterial::Ed25519(x))
            }
            Algorithm::ES256 => {
                let pair =
                    EcdsaKeyPair::from_pkcs8(&signature::ECDSA_P256_SHA256_FIXED_SIGNING, der, &SystemRandom::new())
                        .map_err(rejected)?;
                let point = pair.public_key().as_ref().to_vec();
                (PrivateKey::Ecdsa(pair), PublicMaterial::P256(point))
            }
            Algorithm::RS256 => {
                let pair = RsaKeyPair::from_pkcs8(der).map_err(rejected)?;
                let parts = signature::RsaPublicKeyComponents::<Vec<u8>>::from(pair.public());
                (PrivateKey::Rsa(pair), PublicMaterial::Rsa { n: parts.n, e: parts.e })
            }
        };
        Ok(Self { private, public: PublicKey { kid, alg, material } })
    }

    /// The key from a PEM `PRIVATE KEY` block (PKCS#8), used with `alg`.
    pub fn from_pkcs8_pem(alg: Algorithm, kid: impl Into<String>, pem: &str) -> Result<Self, JoseError> {
        let der = pem_body(pem, "PRIVATE KEY").ok_or(JoseError::KeyRejected("not a PEM PRIVATE KEY block".into()))?;
        Self::from_pkcs8_der(alg, kid, &der)
    }

    /// The key id.
    pub fn kid(&self) -> &str {
        &self.public.kid
    }

    /// The algorithm.
    pub fn algorithm(&self) -> Algorithm {
        self.public.alg
    }

    /// The public half.
    pub fn public_key(&self) -> &PublicKey {
        &self.public
    }

    /// Signs `message`.
    fn sign(&self, message: &[u8]) -> Result<Vec<u8>, JoseError> {
        match &self.private {
            PrivateKey::Ed25519(pair) => Ok(pair.sign(message).as_ref().to_vec()),
            // ring draws the ECDSA nonce and the RSA blinding from its own system generator:
            // its random trait is sealed, so the caller's `Random` cannot supply them.
            PrivateKey::Ecdsa(pair) => pair
                .sign(&SystemRandom::new(), message)
                .map(|sig| sig.as_ref().to_vec())
                .map_err(|_| JoseError::SigningFailed),
            PrivateKey::Rsa(pair) => {
                let mut sig = vec![0; pair.public().modulus_len()];
                pair.sign(&signature::RSA_PKCS1_SHA256, &SystemRandom::new(), message, &mut sig)
                    .map_err(|_| JoseError::SigningFailed)?;
                Ok(sig)
            }
        }
    }
}

#[derive(Clone, PartialEq, Eq)]
enum PublicMaterial {
    /// The 32-byte Ed25519 public key.
    Ed25519(Vec<u8>),
    /// The uncompressed P-256 point `04 || x || y`.
    P256(Vec<u8>),
    /// Big-endian modulus and exponent, without leading zeros.
    Rsa { n: Vec<u8>, e: Vec<u8> },
}

/// A public verification key with its key id and algorithm.
#[derive(Clone, PartialEq, Eq)]
pub struct PublicKey {
    kid: String,
    alg: Algorithm,
    material: PublicMaterial,
}

impl fmt::Debug for PublicKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("PublicKey").field("kid", &self.kid).field("alg", &self.alg).finish_non_exhaustive()
    }
}

impl PublicKey {
    /// The key id.
    pub fn kid(&self) -> &str {
        &self.kid
    }

    /// The algorithm: the only one this key verifies.
    pub fn algorithm(&self) -> Algorithm {
        self.alg
    }

    /// Whether `signature` is this key's signature of `message` under its algorithm.
    pub fn verify(&self, message: &[u8], signature: &[u8]) -> bool {
        match &self.material {
            PublicMaterial::Ed25519(x) => UnparsedPublicKey::new(&signature::ED25519, x).verify(message, signature),
            PublicMaterial::P256(point) => {
                UnparsedPublicKey::new(&signature::ECDSA_P256_SHA256_FIXED, point).verify(message, signature)
            }
            PublicMaterial::Rsa { n, e } => signature::RsaPublicKeyComponents { n, e }.verify(
                &signature::RSA_PKCS1_2048_8192_SHA256,
                message,
                signature,
            ),
        }
        .is_ok()
    }

    /// The JWK SHA-256 thumbprint (RFC 7638), base64url: the hash of the key's required
    /// members in canonical form, independent of `kid` and `alg`. The same key gives the same
    /// thumbprint wherever it is loaded, so it makes a stable `kid`, and it names a DPoP key.
    pub fn thumbprint(&self) -> String {
        let b64 = |bytes: &[u8]| URL_SAFE_NO_PAD.encode(bytes);
        // Members in lexicographic order, no whitespace (RFC 7638 §3.2).
        let canonical = match &self.material {
            PublicMaterial::Ed25519(x) => format!(r#"{{"crv":"Ed25519","kty":"OKP","x":"{}"}}"#, b64(x)),
            PublicMaterial::P256(point) => {
                format!(r#"{{"crv":"P-256","kty":"EC","x":"{}","y":"{}"}}"#, b64(&point[1..33]), b64(&point[33..65]))
            }
            PublicMaterial::Rsa { n, e } => format!(r#"{{"e":"{}","kty":"RSA","n":"{}"}}"#, b64(e), b64(n)),
        };
        b64(&sha2::Sha256::digest(canonical.as_bytes()))
    }

    /// The key as a JWK (RFC 7517) with `kid`, `alg` and `use: sig`, public members only.
    pub fn to_jwk(&self) -> Value {
        let b64 = |bytes: &[u8]| Value::String(URL_SAFE_NO_PAD.encode(bytes));
        let mut jwk = Map::new();
        match &self.material {
            PublicMaterial::Ed25519(x) => {
                jwk.insert("kty".into(), "OKP".into());
                jwk.insert("crv".into(), "Ed25519".into());
                jwk.insert("x".into(), b64(x));
            }
            PublicMaterial::P256(point) => {
                jwk.insert("kty".into(), "EC".into());
                jwk.insert("crv".into(), "P-256".into());
                jwk.insert("x".into(), b64(&point[1..33]));
                jwk.insert("y".into(), b64(&point[33..65]));
            }
            PublicMaterial::Rsa { n, e } => {
                jwk.insert("kty".into(), "RSA".into());
                jwk.insert("n".into(), b64(n));
                jwk.insert("e".into(), b64(e));
            }
        }
        jwk.insert("kid".into(), self.kid.clone().into());
        jwk.insert("alg".into(), self.alg.name().into());
        jwk.insert("use".into(), "sig".into());
        Value::Object(jwk)
    }

    /// A public key from one JWK (strict): `kty`/`crv` of a supported algorithm, `kid`
    /// required, `alg` (if present) matching the key type, `use` (if present) `sig`, no private
    /// members, exact coordinate lengths, RSA moduli of 2048 to 8192 bits.
    pub fn from_jwk(jwk: &Value) -> Result<Self, JoseError> {
        Self::read_jwk(jwk, true)
    }

    /// The public key a DPoP proof carries in its `jwk` header (strict as
    /// [`PublicKey::from_jwk`], private members refused), where `kid` is optional: the key is
    /// named by its thumbprint ([`PublicKey::thumbprint`]) when it has none.
    pub fn from_embedded_jwk(jwk: &Value) -> Result<Self, JoseError> {
        Self::read_jwk(jwk, false)
    }

    fn read_jwk(jwk: &Value, kid_required: bool) -> Result<Self, JoseError> {
        let jwk = jwk.as_object().ok_or(JoseError::InvalidJwk("a JWK must be an object"))?;
        let text = |name: &str| match jwk.get(name) {
            None => Ok(None),
            Some(Value::String(s)) => Ok(Some(s.as_str())),
            Some(_) => Err(JoseError::InvalidJwk("a JWK member has the wrong type")),
        };
        let bytes = |name: &'static str| -> Result<Vec<u8>, JoseError> {
            let value = text(name)?.ok_or(JoseError::InvalidJwk("a required key member is missing"))?;
            URL_SAFE_NO_PAD.decode(value).map_err(|_| JoseError::InvalidJwk("a key member is not base64url"))
        };
        if ["d", "p", "q", "dp", "dq", "qi", "oth", "k"].iter().any(|m| jwk.contains_key(*m)) {
            return Err(JoseError::InvalidJwk("a public JWK must not carry private members"));
        }
        if text("use")?.is_some_and(|u| u != "sig") {
            return Err(JoseError::InvalidJwk("the key is not for signatures"));
        }
        let kid = match text("kid")? {
            Some(kid) => {
                Some(checked_kid(kid.to_owned()).map_err(|_| JoseError::InvalidJwk("kid is empty or too long"))?)
            }
            None if kid_required => return Err(JoseError::InvalidJwk("kid is required")),
            None => None,
        };
        let (alg, material) = match (text("kty")?, text("crv")?) {
            (Some("OKP"), Some("Ed25519")) => {
                let x = bytes("x")?;
                if x.len() != 32 {
                    return Err(JoseError::InvalidJwk("an Ed25519 key is 32 bytes"));
                }
                (Algorithm::EdDSA, PublicMaterial::Ed25519(x))
            }
            (Some("EC"), Some("P-256")) => {
                let (x, y) = (bytes("x")?, bytes("y")?);
                if x.len() != 32 || y.len() != 32 {
                    return Err(JoseError::InvalidJwk("P-256 coordinates are 32 bytes each"));
                }
                let mut point = Vec::with_capacity(65);
                point.push(4);
                point.extend_from_slice(&x);
                point.extend_from_slice(&y);
                (Algorithm::ES256, PublicMaterial::P256(point))
            }
            (Some("RSA"), None) => {
                let (n, e) = (bytes("n")?, bytes("e")?);
                let canonical = |v: &[u8]| v.first().is_some_and(|&b| b != 0);
                if !canonical(&n) || !canonical(&e) || n.len() < 256 || n.len() > 1024 || e.len() > 8 {
                    return Err(JoseError::InvalidJwk("the RSA key is malformed or outside 2048 to 8192 bits"));
                }
                (Algorithm::RS256, PublicMaterial::Rsa { n, e })
            }
            _ => return Err(JoseError::InvalidJwk("unsupported key type or curve")),
        };
        if text("alg")?.is_some_and(|a| a != alg.name()) {
            return Err(JoseError::InvalidJwk("alg does not match the key type"));
        }
        let mut key = Self { kid: kid.unwrap_or_default(), alg, material };
        if key.kid.is_empty() {
            key.kid = key.thumbprint();
        }
        Ok(key)
    }
}

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
        let public = key.public.clone();
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
        let public = key.public.clone();
        self.entries.push(KeyEntry { public, private: Some(Arc::new(key)), state: KeyState::Published });
        Ok(())
    }

    /// Adds a public key only (its private half is elsewhere): it verifies, never signs.
    pub fn publish_public(&mut self, key: PublicKey) -> Result<(), JoseError> {
        self.check_new_kid(&key.kid)?;
        self.entries.push(KeyEntry { public: key, private: None, state: KeyState::Published });
        Ok(())
    }

    /// Makes key `kid` the signing key (step 2 of a rotation); the key active until now is
    /// retired until `retire_previous_until`.
    pub fn activate(&mut self, kid: &str, retire_previous_until: OffsetDateTime) -> Result<(), JoseError> {
        let index = self.entries.iter().position(|e| e.public.kid == kid && e.private.is_some());
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
        let entry = self.entries.iter_mut().find(|e| e.public.kid == kid).ok_or(JoseError::UnknownKey)?;
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
        self.entries.iter().find(|e| e.public.kid == kid && verifies_at(e.state, now)).map(|e| &e.public)
    }

    /// Every key's id and state.
    pub fn states(&self) -> impl Iterator<Item = (&str, KeyState)> {
        self.entries.iter().map(|e| (e.public.kid.as_str(), e.state))
    }

    /// The JWKS document (RFC 7517 §5) of the keys that verify at `now`: the active key,
    /// keys published ahead of use, and retired keys still in their window.
    pub fn jwks(&self, now: OffsetDateTime) -> String {
        let keys: Vec<Value> =
            self.entries.iter().filter(|e| verifies_at(e.state, now)).map(|e| e.public.to_jwk()).collect();
        serde_json::json!({ "keys": keys }).to_string()
    }

    fn check_new_kid(&self, kid: &str) -> Result<(), JoseError> {
        if self.entries.iter().any(|e| e.public.kid == kid) { Err(JoseError::InvalidKeyId) } else { Ok(()) }
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

/// A verified compact JWS.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct Verified {
    /// The id of the key that verified it.
    pub kid: String,
    /// Its algorithm (the key's).
    pub alg: Algorithm,
    /// The header's `typ`.
    pub typ: Option<String>,
    /// The decoded payload bytes.
    pub payload: Vec<u8>,
}

/// Signs `payload` with `key` as a compact JWS whose header is `alg`, `typ` and `kid`.
pub fn sign(key: &SigningKey, typ: &str, payload: &[u8]) -> Result<String, JoseError> {
    let mut token = signing_input(key.kid(), key.algorithm(), typ, payload);
    let signature = key.sign(token.as_bytes())?;
    token.push('.');
    URL_SAFE_NO_PAD.encode_string(signature, &mut token);
    Ok(token)
}

/// The key a [`JwtSigner`] signs with next: its id and algorithm, which go into the header.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct SignerKey {
    /// The key id (`kid`).
    pub kid: String,
    /// The algorithm (`alg`).
    pub alg: Algorithm,
}

impl SignerKey {
    /// The key `kid` of algorithm `alg`.
    pub fn new(kid: impl Into<String>, alg: Algorithm) -> Self {
        Self { kid: kid.into(), alg }
    }
}

/// The future of one signature: boxed, so that a signer can wait on a KMS or an HSM.
pub type SignFuture<'a> = Pin<Box<dyn Future<Output = Result<Vec<u8>, JoseError>> + Send + 'a>>;

/// The seam that signs JWT access tokens: in memory ([`KeySet`], [`SharedKeySet`]) or remote (a
/// KMS or an HSM, which is why signing is asynchronous). The server builds the header and the
/// signing input; the signer only signs bytes.
///
/// A remote signer returns the JWS encoding of the signature: for ES256 the 64 bytes `r || s`
/// (not DER), for RS256 the PKCS #1 v1.5 signature, for EdDSA the 64-byte Ed25519 signature.
pub trait JwtSigner: Send + Sync {
    /// The key that signs now, or `None` when there is none (the server then answers
    /// `server_error` and issues nothing).
    fn signing_key(&self) -> Option<SignerKey>;

    /// Signs `message` (the JWS signing input) with `key`, as returned by
    /// [`JwtSigner::signing_key`].
    fn sign<'a>(&'a self, key: &'a SignerKey, message: &'a [u8]) -> SignFuture<'a>;
}

/// The public keys that verify JWTs, as they are now: a server's own (for introspection,
/// revocation and its JWKS) or a resource server's copy of an issuer's JWKS. Needs no random
/// source. Called once per verification: return a shared snapshot, not a copy.
pub trait VerificationKeys: Send + Sync {
    /// The key set, or `None` when there is none.
    fn verification_keys(&self) -> Option<Arc<KeySet>>;
}

impl<T: JwtSigner + ?Sized> JwtSigner for Arc<T> {
    fn signing_key(&self) -> Option<SignerKey> {
        (**self).signing_key()
    }
    fn sign<'a>(&'a self, key: &'a SignerKey, message: &'a [u8]) -> SignFuture<'a> {
        (**self).sign(key, message)
    }
}

impl<T: VerificationKeys + ?Sized> VerificationKeys for Arc<T> {
    fn verification_keys(&self) -> Option<Arc<KeySet>> {
        (**self).verification_keys()
    }
}

impl KeySet {
    fn sign_with(&self, key: &SignerKey, message: &[u8]) -> Result<Vec<u8>, JoseError> {
        let signer = self
            .entries
            .iter()
            .filter_map(|e| e.private.as_deref())
            .find(|k| k.kid() == key.kid && k.algorithm() == key.alg)
            .ok_or(JoseError::UnknownKid)?;
        signer.sign(message)
    }
}

impl JwtSigner for KeySet {
    fn signing_key(&self) -> Option<SignerKey> {
        KeySet::signing_key(self).map(|k| SignerKey::new(k.kid(), k.algorithm()))
    }
    fn sign<'a>(&'a self, key: &'a SignerKey, message: &'a [u8]) -> SignFuture<'a> {
        Box::pin(std::future::ready(self.sign_with(key, message)))
    }
}

impl JwtSigner for SharedKeySet {
    fn signing_key(&self) -> Option<SignerKey> {
        JwtSigner::signing_key(&*self.snapshot())
    }
    fn sign<'a>(&'a self, key: &'a SignerKey, message: &'a [u8]) -> SignFuture<'a> {
        // A rotation between `signing_key` and here keeps the key in the set (retired keys
        // stay until their tokens expire), so the key named is still found.
        Box::pin(std::future::ready(self.snapshot().sign_with(key, message)))
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

/// Signs `payload` as a compact JWS with header `{alg, typ, kid}` through `signer`.
pub async fn sign_with(signer: &dyn JwtSigner, typ: &str, payload: &[u8]) -> Result<String, JoseError> {
    let key = signer.signing_key().ok_or(JoseError::UnknownKid)?;
    let mut token = signing_input(&key.kid, key.alg, typ, payload);
    let signature = signer.sign(&key, token.as_bytes()).await?;
    token.push('.');
    URL_SAFE_NO_PAD.encode_string(signature, &mut token);
    Ok(token)
}

/// `BASE64URL(header) "." BASE64URL(payload)`.
fn signing_input(kid: &str, alg: Algorithm, typ: &str, payload: &[u8]) -> String {
    let header = serde_json::json!({ "alg": alg.name(), "typ": typ, "kid": kid }).to_string();
    let mut token = String::with_capacity(MAX_TOKEN_BYTES / 4);
    URL_SAFE_NO_PAD.encode_string(header, &mut token);
    token.push('.');
    URL_SAFE_NO_PAD.encode_string(payload, &mut token);
    token
}

/// Verifies a compact JWS against `keys` at `now` (strict; see the module docs). The `typ`
/// is returned, not judged: the caller knows which types it accepts.
pub fn verify(keys: &KeySet, token: &str, now: OffsetDateTime) -> Result<Verified, JoseError> {
    verify_token(keys, token, now, KidRule::Required)
}

/// Whether a JWS header must name its key.
#[derive(Clone, Copy, PartialEq, Eq)]
pub(crate) enum KidRule {
    /// `kid` is required: the server's own tokens always carry one.
    Required,
    /// Without `kid`, a set holding exactly one key that verifies now uses that key: many
    /// clients sign their assertions without one. With several keys, `kid` is still required.
    OptionalForSingleKey,
}

pub(crate) fn verify_token(
    keys: &KeySet,
    token: &str,
    now: OffsetDateTime,
    rule: KidRule,
) -> Result<Verified, JoseError> {
    let jws = Compact::parse(token)?;
    let header = Header::read(&jws.header)?;
    let key = match header.kid {
        Some(kid) => keys.verification_key(kid, now),
        None if rule == KidRule::OptionalForSingleKey => {
            let mut usable = keys.entries.iter().filter(|e| verifies_at(e.state, now));
            match (usable.next(), usable.next()) {
                (Some(only), None) => Some(&only.public),
                _ => None,
            }
        }
        None => return Err(JoseError::HeaderRefused("kid is required")),
    };
    let key = key.ok_or(JoseError::UnknownKid)?;
    // The key decides the algorithm; the header only has to agree with it.
    if header.alg != key.alg.name() {
        return Err(JoseError::HeaderRefused("alg is not the key's algorithm"));
    }
    let payload = jws.verified_payload(key)?;
    Ok(Verified { kid: key.kid.clone(), alg: key.alg, typ: header.typ.map(str::to_owned), payload })
}

/// A compact JWS whose key is in its own `jwk` header: a DPoP proof (RFC 9449 §4.2), which a
/// client signs with a key the server has never seen, and which proves possession of that key.
/// Verified strictly (the same size, part and encoding rules as [`verify`]): `typ` must be
/// `typ`; `alg` must be one of `allowed` and the embedded key's own algorithm (`none` and
/// symmetric algorithms are never allowed); the `jwk` must be a public key (no `d`, `p`, `q`,
/// `dp`, `dq`, `qi`, `oth` or `k`); `jku`, `x5u`, `x5c`, `crit`, `zip` and `b64` are refused.
/// Returns the key and the payload.
pub fn verify_embedded(token: &str, typ: &str, allowed: &[Algorithm]) -> Result<(PublicKey, Vec<u8>), JoseError> {
    let jws = Compact::parse(token)?;
    let object = jws.header.as_object().ok_or(JoseError::Malformed("the header is not a JSON object"))?;
    for refused in ["jku", "x5u", "x5c"] {
        if object.contains_key(refused) {
            return Err(JoseError::HeaderRefused("key URLs and certificates in the header are never followed"));
        }
    }
    refuse_unsupported_members(object)?;
    if object.get("typ").and_then(Value::as_str) != Some(typ) {
        return Err(JoseError::HeaderRefused("typ is not the expected type"));
    }
    let alg = object.get("alg").and_then(Value::as_str).ok_or(JoseError::HeaderRefused("alg is required"))?;
    let alg = Algorithm::from_name(alg)
        .filter(|a| allowed.contains(a))
        .ok_or(JoseError::HeaderRefused("alg is not an allowed asymmetric algorithm"))?;
    let jwk = object.get("jwk").ok_or(JoseError::HeaderRefused("jwk is required"))?;
    let key = PublicKey::from_embedded_jwk(jwk)?;
    if key.alg != alg {
        return Err(JoseError::HeaderRefused("alg is not the key's algorithm"));
    }
    let payload = jws.verified_payload(&key)?;
    Ok((key, payload))
}

/// A compact JWS split into its three parts (RFC 7515 §7.1), with its header read as strict
/// JSON; nothing is verified yet. The size, part-count and base64url rules every verifier here
/// applies.
struct Compact<'t> {
    header: Value,
    /// `BASE64URL(header) "." BASE64URL(payload)`, what the signature covers.
    signing_input: &'t str,
    payload_b64: &'t str,
    signature_b64: &'t str,
}

impl<'t> Compact<'t> {
    fn parse(token: &'t str) -> Result<Self, JoseError> {
        if token.len() > MAX_TOKEN_BYTES {
            return Err(JoseError::Malformed("the token is too long"));
        }
        let mut parts = token.split('.');
        let (Some(header_b64), Some(payload_b64), Some(signature_b64), None) =
            (parts.next(), parts.next(), parts.next(), parts.next())
        else {
            return Err(JoseError::Malformed("a compact JWS has exactly three parts"));
        };
        let header = parse_strict_json(&decode_part(header_b64)?)
            .map_err(|_| JoseError::Malformed("the header is not strict JSON"))?;
        let signing_input = &token[..header_b64.len() + 1 + payload_b64.len()];
        Ok(Self { header, signing_input, payload_b64, signature_b64 })
    }

    /// The payload, once `key` verified the signature.
    fn verified_payload(&self, key: &PublicKey) -> Result<Vec<u8>, JoseError> {
        let signature = decode_part(self.signature_b64)?;
        if !key.verify(self.signing_input.as_bytes(), &signature) {
            return Err(JoseError::BadSignature);
        }
        decode_part(self.payload_b64)
    }
}

fn decode_part(part: &str) -> Result<Vec<u8>, JoseError> {
    URL_SAFE_NO_PAD.decode(part).map_err(|_| JoseError::Malformed("invalid base64url"))
}

/// `crit`, `zip` and `b64` change how a JWS is processed; no verifier here understands them.
fn refuse_unsupported_members(header: &serde_json::Map<String, Value>) -> Result<(), JoseError> {
    for (member, reason) in [
        ("crit", "no critical header extension is understood"),
        ("zip", "compressed payloads are refused"),
        ("b64", "unencoded payloads are refused"),
    ] {
        if header.contains_key(member) {
            return Err(JoseError::HeaderRefused(reason));
        }
    }
    Ok(())
}

/// Parses `bytes` as strict JSON (no duplicate member at any depth, nothing after the value).
pub(crate) fn strict_json(bytes: &[u8]) -> Result<Value, JoseError> {
    parse_strict_json(bytes).map_err(|_| JoseError::Malformed("the payload is not strict JSON"))
}

/// The header members this verifier reads; every other member is refused or ignored as listed
/// in [`Header::read`].
struct Header<'a> {
    alg: &'a str,
    kid: Option<&'a str>,
    typ: Option<&'a str>,
}

impl<'a> Header<'a> {
    fn read(header: &'a Value) -> Result<Self, JoseError> {
        let header = header.as_object().ok_or(JoseError::Malformed("the header is not a JSON object"))?;
        for refused in ["jwk", "jku", "x5u", "x5c"] {
            if header.contains_key(refused) {
                return Err(JoseError::HeaderRefused("keys named or embedded in the header are never trusted"));
            }
        }
        refuse_unsupported_members(header)?;
        let text = |name, missing| match header.get(name) {
            Some(Value::String(s)) => Ok(Some(s.as_str())),
            None => Ok(None),
            Some(_) => Err(JoseError::HeaderRefused(missing)),
        };
        let alg = text("alg", "alg must be a string")?.ok_or(JoseError::HeaderRefused("alg is required"))?;
        let kid = text("kid", "kid must be a string")?;
        let typ = text("typ", "typ must be a string")?;
        Ok(Self { alg, kid, typ })
    }
}

fn checked_kid(kid: String) -> Result<String, JoseError> {
    if kid.is_empty() || kid.len() > MAX_KID_BYTES || kid.chars().any(char::is_control) {
        Err(JoseError::InvalidKeyId)
    } else {
        Ok(kid)
    }
}

/// The base64 body of the first PEM block labelled `label`, decoded.
fn pem_body(pem: &str, label: &str) -> Option<Vec<u8>> {
    let begin = format!("-----BEGIN {label}-----");
    let end = format!("-----END {label}-----");
    let start = pem.find(&begin)? + begin.len();
    let stop = start + pem[start..].find(&end)?;
    let body: String = pem[start..stop].chars().filter(|c| !c.is_ascii_whitespace()).collect();
    base64::engine::general_purpose::STANDARD.decode(body).ok()
}

/// Parses JSON, refusing duplicate member names at any depth and any trailing data.
pub(crate) fn parse_strict_json(bytes: &[u8]) -> Result<Value, serde_json::Error> {
    let mut deserializer = serde_json::Deserializer::from_slice(bytes);
    let value = deserializer.deserialize_any(StrictVisitor)?;
    deserializer.end()?;
    Ok(value)
}

struct Strict(Value);

impl<'de> de::Deserialize<'de> for Strict {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        deserializer.deserialize_any(StrictVisitor).map(Strict)
    }
}

struct StrictVisitor;

impl<'de> Visitor<'de> for StrictVisitor {
    type Value = Value;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("JSON without duplicate member names")
    }

    fn visit_bool<E>(self, v: bool) -> Result<Value, E> {
        Ok(Value::Bool(v))
    }

    fn visit_i64<E>(self, v: i64) -> Result<Value, E> {
        Ok(Value::from(v))
    }

    fn visit_u64<E>(self, v: u64) -> Result<Value, E> {
        Ok(Value::from(v))
    }

    fn visit_f64<E>(self, v: f64) -> Result<Value, E> {
        Ok(serde_json::Number::from_f64(v).map_or(Value::Null, Value::Number))
    }

    fn visit_str<E>(self, v: &str) -> Result<Value, E> {
        Ok(Value::String(v.to_owned()))
    }

    fn visit_string<E>(self, v: String) -> Result<Value, E> {
        Ok(Value::String(v))
    }

    fn visit_unit<E>(self) -> Result<Value, E> {
        Ok(Value::Null)
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Value, A::Error> {
        let mut items = Vec::new();
        while let Some(Strict(item)) = seq.next_element()? {
            items.push(item);
        }
        Ok(Value::Array(items))
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Value, A::Error> {
        let mut seen = BTreeSet::new();
        let mut object = Map::new();
        while let Some(name) = map.next_key::<String>()? {
            if !seen.insert(name.clone()) {
                return Err(de::Error::custom("duplicate member name"));
            }
            let Strict(value) = map.next_value()?;
            object.insert(name, value);
        }
        Ok(Value::Object(object))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn strict_json_refuses_duplicates_at_any_depth() {
        assert!(parse_strict_json(br#"{"a":1,"b":{"c":2}}"#).is_ok());
        assert!(parse_strict_json(br#"{"a":1,"a":2}"#).is_err());
        assert!(parse_strict_json(br#"{"a":[{"c":1,"c":1}]}"#).is_err());
        assert!(parse_strict_json(br#"{"a":1} x"#).is_err());
    }

    #[test]
    fn pem_bodies_are_read_between_their_markers() {
        let pem = "junk\n-----BEGIN PRIVATE KEY-----\nAAEC\nAw==\n-----END PRIVATE KEY-----\n";
        assert_eq!(pem_body(pem, "PRIVATE KEY"), Some(vec![0, 1, 2, 3]));
        assert_eq!(pem_body(pem, "PUBLIC KEY"), None);
    }

    /// RFC 7638 §3.1: the example RSA key's thumbprint; `kid`, `alg` and `use` do not enter it.
    #[test]
    fn jwk_thumbprint_matches_the_rfc_7638_example() {
        let n = "0vx7agoebGcQSuuPiLJXZptN9nndrQmbXEps2aiAFbWhM78LhWx4cbbfAAtVT86zwu1RK7aPFFxuhDR1L6tSoc_BJECPebWKRXjBZCiFV4n3oknjhMstn64tZ_2W-5JsGY4Hc5n9yBXArwl93lqt7_RN5w6Cf0h4QyQ5v-65YGjQR0_FDW2QvzqY368QQMicAtaSqzs8KJZgnYb9c7d0zgdAZHzu6qMQvRL5hajrn1n91CbOpbISD08qNLyrdkt-bFTWhAI4vMQFh6WeZu0fM4lFd2NcRwr3XPksINHaQ-G_xBniIqbw0Ls1jF44-csFCur-kEgU8awapJzKnqDKgw";
        let jwk = serde_json::json!({ "kty": "RSA", "n": n, "e": "AQAB", "alg": "RS256", "kid": "2011-04-29" });
        let key = PublicKey::from_jwk(&jwk).unwrap();
        assert_eq!(key.thumbprint(), "NzbLsXh8uDCcd-6MNwXF4W_7noWXFZAfHkxZsRGC9Xs");
        let other_kid = serde_json::json!({ "kty": "RSA", "n": n, "e": "AQAB", "kid": "another" });
        assert_eq!(PublicKey::from_jwk(&other_kid).unwrap().thumbprint(), key.thumbprint());
    }
}
