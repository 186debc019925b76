//! Secrets and their digests: the redacted secret newtypes, [`TokenHash`], and the
//! constant-time comparison every check of a secret goes through.

use std::fmt;

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use super::InvalidValue;

/// Compares two byte strings in time that depends only on their lengths.
///
/// Used for every comparison of a secret or of a digest derived from one (SEC-10, PK-06).
pub(crate) fn constant_time_eq(a: &[u8], b: &[u8]) -> bool {
    if a.len() != b.len() {
        return false;
    }
    let diff = a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y));
    // black_box keeps the optimiser from turning the fold into an early-exit compare.
    std::hint::black_box(diff) == 0
}

/// The SHA-256 digest of a code, token or secret: the only form in which they are stored (SEC-10).
///
/// Serialised as 43 base64url characters, which makes a good store key.
#[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct TokenHash([u8; 32]);

impl TokenHash {
    /// The digest of `secret`'s bytes.
    pub fn of(secret: &str) -> Self {
        Self::of_bytes(secret.as_bytes())
    }

    /// The digest of `secret`, for a secret still in the bytes it arrived in.
    pub(crate) fn of_bytes(secret: &[u8]) -> Self {
        Self(Sha256::digest(secret).into())
    }

    /// The digest under which a JWT access token's record is stored: SHA-256 of `jti:` and the
    /// token's `jti`. The prefix keeps these keys apart from opaque tokens' digests, and an
    /// opaque token (base64url only) can never contain the `:`, so presenting a JWT's `jti` as
    /// an opaque token finds nothing.
    pub fn of_jwt_id(jti: &str) -> Self {
        let mut hasher = Sha256::new();
        hasher.update(b"jti:");
        hasher.update(jti.as_bytes());
        Self(hasher.finalize().into())
    }

    /// Wraps raw digest bytes.
    pub const fn from_bytes(bytes: [u8; 32]) -> Self {
        Self(bytes)
    }

    /// The raw digest bytes.
    pub fn as_bytes(&self) -> &[u8; 32] {
        &self.0
    }

    /// Constant-time equality, for when the digest stands for a secret being checked.
    pub fn ct_eq(&self, other: &TokenHash) -> bool {
        constant_time_eq(&self.0, &other.0)
    }
}

impl TryFrom<String> for TokenHash {
    type Error = InvalidValue;
    fn try_from(value: String) -> Result<Self, InvalidValue> {
        let mut out = [0u8; 32];
        match URL_SAFE_NO_PAD.decode_slice(value.as_bytes(), &mut out) {
            Ok(32) if value.len() == 43 => Ok(Self(out)),
            _ => Err(InvalidValue::TokenHash),
        }
    }
}

impl From<TokenHash> for String {
    fn from(value: TokenHash) -> String {
        URL_SAFE_NO_PAD.encode(value.0)
    }
}

impl fmt::Display for TokenHash {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&URL_SAFE_NO_PAD.encode(self.0))
    }
}

impl fmt::Debug for TokenHash {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "TokenHash({self})")
    }
}

macro_rules! secret_newtype {
    ($(#[$meta:meta])* $name:ident) => {
        $(#[$meta])*
        ///
        /// `Debug` prints `<redacted>`; equality is constant-time.
        #[derive(Clone)]
        pub struct $name(String);

        impl $name {
            /// Wraps a secret value.
            pub fn new(value: impl Into<String>) -> Self {
                Self(value.into())
            }

            /// The secret text. Every call site is a place where the secret leaves the type:
            /// send it to its owner, never to a log.
            pub fn secret(&self) -> &str {
                &self.0
            }

            /// The SHA-256 digest under which the secret is stored.
            pub fn hash(&self) -> TokenHash {
                TokenHash::of(&self.0)
            }
        }

        impl PartialEq for $name {
            fn eq(&self, other: &Self) -> bool {
                constant_time_eq(self.0.as_bytes(), other.0.as_bytes())
            }
        }

        impl Eq for $name {}

        impl fmt::Debug for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(concat!(stringify!($name), "(<redacted>)"))
            }
        }
    };
}

secret_newtype!(
    /// An authorization code as handed to the client (AZ-15).
    AuthorizationCode
);
secret_newtype!(
    /// An opaque access token as handed to the client.
    AccessToken
);
secret_newtype!(
    /// An opaque refresh token as handed to the client.
    RefreshToken
);
secret_newtype!(
    /// A client secret, as registered or as presented at the token endpoint.
    ClientSecret
);

impl ClientSecret {
    /// A new secret of 256 random bits, base64url (43 characters): the kind of secret a SHA-256
    /// digest protects fully (SEC-04). Hand it to the client once; store only
    /// [`ClientSecret::hash`].
    pub fn generate(random: &(impl crate::provider::Random + ?Sized)) -> Result<Self, crate::provider::RandomError> {
        Ok(Self(encode_token(&crate::provider::random_32(random)?)))
    }
}

/// Encodes 32 random bytes as the 43-character base64url text of a code or token.
pub(crate) fn encode_token(bytes: &[u8]) -> String {
    URL_SAFE_NO_PAD.encode(bytes)
}

/// A token the server has just minted from 256 random bits: its 43 base64url characters, kept
/// inline until they are written into the answer, so minting allocates nothing.
#[derive(Clone, Copy)]
pub(crate) struct Minted([u8; 43]);

impl Minted {
    /// The encoding of `random`.
    pub(crate) fn from_random(random: &[u8; 32]) -> Self {
        let mut text = [0; 43];
        // 32 bytes always encode to exactly 43 characters.
        let written = URL_SAFE_NO_PAD.encode_slice(random, &mut text).unwrap_or_default();
        debug_assert_eq!(written, 43);
        Self(text)
    }

    /// The token's text.
    pub(crate) fn as_str(&self) -> &str {
        // Only base64url characters were written.
        std::str::from_utf8(&self.0).unwrap_or_default()
    }

    /// The token's characters, all base64url: what the answer and the digest are made of,
    /// without the UTF-8 check [`Minted::as_str`] costs.
    pub(crate) fn as_bytes(&self) -> &[u8; 43] {
        &self.0
    }

    /// The digest under which the token is stored.
    pub(crate) fn hash(&self) -> TokenHash {
        TokenHash::of_bytes(&self.0)
    }
}

impl fmt::Debug for Minted {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Minted(<redacted>)")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sec10_secrets_are_redacted_in_debug() {
        let s = ClientSecret::new("hunter2");
        assert_eq!(format!("{s:?}"), "ClientSecret(<redacted>)");
        let minted = Minted::from_random(&[7; 32]);
        assert_eq!(format!("{minted:?}"), "Minted(<redacted>)");
        assert!(!format!("{:?}", AccessToken::new("tok")).contains("tok"));
    }
    #[test]
    fn constant_time_eq_compares_contents() {
        assert!(constant_time_eq(b"abc", b"abc"));
        assert!(!constant_time_eq(b"abc", b"abd"));
        assert!(!constant_time_eq(b"abc", b"ab"));
        // Differences that cancel under a running XOR (0x61^0x62 twice) must still differ.
        assert!(!constant_time_eq(b"ab", b"ba"));
    }
    #[test]
    fn a_minted_token_is_the_base64url_of_its_random_bytes_and_hashes_as_its_text() {
        let random: [u8; 32] = std::array::from_fn(|i| (i * 37 + 11) as u8);
        let minted = Minted::from_random(&random);
        assert_eq!(minted.as_str(), URL_SAFE_NO_PAD.encode(random));
        assert_eq!(minted.as_str(), encode_token(&random));
        assert_eq!(minted.hash(), TokenHash::of(&encode_token(&random)));
    }

    /// A digest's text form (records, logs, the stores' keys) is 43 unpadded base64url
    /// characters, and `Debug` shows it under the type's name.
    #[test]
    fn token_hashes_print_and_parse_as_43_base64url_characters() {
        let hash = TokenHash::from_bytes([0xfb; 32]);
        let text = String::from(hash);
        assert_eq!(text, format!("{}-_s", "-_v7".repeat(10)));
        assert_eq!(hash.to_string(), text);
        assert_eq!(format!("{hash:?}"), format!("TokenHash({text})"));
        assert_eq!(TokenHash::try_from(text.clone()), Ok(hash));
        for bad in [format!("{text}="), text[..42].to_owned(), text.replace('-', "+")] {
            assert_eq!(TokenHash::try_from(bad), Err(InvalidValue::TokenHash));
        }
        let digest = TokenHash::of("abc");
        assert_eq!(TokenHash::try_from(String::from(digest)).unwrap(), digest);
        assert!(TokenHash::try_from("short".to_owned()).is_err());
    }
}
