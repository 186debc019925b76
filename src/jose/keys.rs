//! Signing keys and public keys: generation, PKCS#8 and JWK reading, thumbprints.

use std::fmt;

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use ring::rand::SystemRandom;
use ring::signature::{self, EcdsaKeyPair, Ed25519KeyPair, KeyPair as _, RsaKeyPair, UnparsedPublicKey};
use serde_json::{Map, Value};
use sha2::Digest as _;

use super::{Algorithm, JoseError};

/// The longest `kid` a key (private, or read from a JWK) may have.
const MAX_KID_BYTES: usize = 128;

fn checked_kid(kid: String) -> Result<String, JoseError> {
    if kid.is_empty() || kid.len() > MAX_KID_BYTES || kid.chars().any(char::is_control) {
        Err(JoseError::InvalidKeyId)
    } else {
        Ok(kid)
    }
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
    pub(super) fn sign(&self, message: &[u8]) -> Result<Vec<u8>, JoseError> {
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

/// The base64 body of the first PEM block labelled `label`, decoded.
fn pem_body(pem: &str, label: &str) -> Option<Vec<u8>> {
    let begin = format!("-----BEGIN {label}-----");
    let end = format!("-----END {label}-----");
    let start = pem.find(&begin)? + begin.len();
    let stop = start + pem[start..].find(&end)?;
    let body: String = pem[start..stop].chars().filter(|c| !c.is_ascii_whitespace()).collect();
    base64::engine::general_purpose::STANDARD.decode(body).ok()
}

#[cfg(test)]
mod tests {
    use super::*;

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
