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

mod key_set;
mod keys;
mod sign;
mod strict_json;
mod verify;

use std::fmt;

pub use key_set::{KeySet, KeyState, SharedKeySet, VerificationKeys};
pub use keys::{PublicKey, SigningKey};
pub use sign::{JwtSigner, SignFuture, SignerKey, sign, sign_with};
pub(crate) use strict_json::{parse_strict_json, strict_json};
pub(crate) use verify::{KidRule, verify_token};
pub use verify::{Verified, verify, verify_embedded};

/// The longest compact JWS the verifier reads: a JWT access token with an RSA-8192 signature
/// and a generous claim set fits; anything longer is refused before decoding.
pub const MAX_TOKEN_BYTES: usize = 8 * 1024;

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
