//! PKCE with S256 only (RFC 7636; PK-01..PK-08).
//!
//! `plain` is not supported at all: OAuth 2.1 lets a server refuse it, and accepting it would let
//! anyone who sees the authorization request redeem the code.

use std::fmt;

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use crate::bytes::ByteSet;
use crate::provider::{Random, RandomError, random_32};
use crate::types::{constant_time_eq, encode_token};

/// Whether `text` is a verifier's 43 to 128 unreserved characters (RFC 7636 §4.1, PK-05).
pub(crate) fn is_well_formed_verifier(text: &str) -> bool {
    const UNRESERVED: ByteSet = ByteSet::alphanumeric_and(b"-._~");
    (43..=128).contains(&text.len()) && UNRESERVED.contains_all(text.as_bytes())
}

/// Why a PKCE parameter was refused. Every case is `invalid_request`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum PkceError {
    /// `code_challenge` is missing (PK-02).
    #[error("code_challenge is required")]
    MissingChallenge,
    /// `code_challenge_method` is missing (PK-03).
    #[error("code_challenge_method is required and must be S256")]
    MissingMethod,
    /// `code_challenge_method` is `plain` or unknown (PK-03).
    #[error("code_challenge_method must be S256")]
    UnsupportedMethod,
    /// `code_challenge` is not 43 base64url characters (PK-04).
    #[error("code_challenge must be 43 base64url characters")]
    MalformedChallenge,
    /// `code_verifier` is not 43-128 characters of `[A-Za-z0-9-._~]` (PK-05).
    #[error("code_verifier must be 43 to 128 characters of A-Z a-z 0-9 - . _ ~")]
    MalformedVerifier,
}

/// An S256 code challenge: `BASE64URL(SHA256(code_verifier))`, 43 characters.
///
/// It is stored with the code and never sent back to anyone (AZ-15).
#[derive(Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct CodeChallenge([u8; 32]);

impl CodeChallenge {
    /// Reads the `code_challenge` and `code_challenge_method` parameters of an authorization
    /// request (PK-02, PK-03, PK-04).
    pub fn from_request(challenge: Option<&str>, method: Option<&str>) -> Result<Self, PkceError> {
        let challenge = challenge.ok_or(PkceError::MissingChallenge)?;
        match method {
            None => return Err(PkceError::MissingMethod),
            Some("S256") => {}
            Some(_) => return Err(PkceError::UnsupportedMethod),
        }
        Self::parse(challenge)
    }

    /// Reads an S256 challenge: exactly 43 base64url characters that decode to 32 bytes with no
    /// stray trailing bits (PK-04).
    pub fn parse(text: &str) -> Result<Self, PkceError> {
        let mut out = [0u8; 32];
        if text.len() != 43 {
            return Err(PkceError::MalformedChallenge);
        }
        match URL_SAFE_NO_PAD.decode_slice(text.as_bytes(), &mut out) {
            Ok(32) => Ok(Self(out)),
            _ => Err(PkceError::MalformedChallenge),
        }
    }

    /// The challenge for `verifier`.
    pub fn s256(verifier: &CodeVerifier) -> Self {
        Self(Sha256::digest(verifier.0.as_bytes()).into())
    }

    /// Whether `verifier` hashes to this challenge, compared in constant time (PK-06).
    pub fn verify(&self, verifier: &CodeVerifier) -> bool {
        self.verifies(&verifier.0)
    }

    /// [`CodeChallenge::verify`] for a verifier still in the request, already checked with
    /// [`is_well_formed_verifier`].
    pub(crate) fn verifies(&self, verifier: &str) -> bool {
        constant_time_eq(&Sha256::digest(verifier.as_bytes()), &self.0)
    }
}

impl TryFrom<String> for CodeChallenge {
    type Error = PkceError;
    fn try_from(value: String) -> Result<Self, PkceError> {
        Self::parse(&value)
    }
}

impl From<CodeChallenge> for String {
    fn from(value: CodeChallenge) -> String {
        value.to_string()
    }
}

impl fmt::Display for CodeChallenge {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&URL_SAFE_NO_PAD.encode(self.0))
    }
}

impl fmt::Debug for CodeChallenge {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "CodeChallenge({self})")
    }
}

/// A PKCE code verifier: 43 to 128 characters of `[A-Za-z0-9-._~]` (PK-05). Redacted in `Debug`.
#[derive(Clone)]
pub struct CodeVerifier(String);

impl CodeVerifier {
    /// Checks the verifier's length and alphabet.
    pub fn new(text: impl Into<String>) -> Result<Self, PkceError> {
        let text = text.into();
        if is_well_formed_verifier(&text) { Ok(Self(text)) } else { Err(PkceError::MalformedVerifier) }
    }

    /// A fresh verifier of 256 random bits (43 characters), as a client makes one. For tests,
    /// examples and clients built on this crate.
    pub fn generate(random: &(impl Random + ?Sized)) -> Result<Self, RandomError> {
        Ok(Self(encode_token(&random_32(random)?)))
    }

    /// The verifier text.
    pub fn secret(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for CodeVerifier {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("CodeVerifier(<redacted>)")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sec10_a_verifier_is_redacted_in_debug_and_a_challenge_shows_its_public_value() {
        let verifier = CodeVerifier::new(VERIFIER_EXAMPLE).unwrap();
        assert_eq!(format!("{verifier:?}"), "CodeVerifier(<redacted>)");
        let challenge = CodeChallenge::s256(&verifier);
        assert_eq!(format!("{challenge:?}"), format!("CodeChallenge({CHALLENGE_EXAMPLE})"));
    }

    const VERIFIER_EXAMPLE: &str = "dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk";
    const CHALLENGE_EXAMPLE: &str = "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM";

    #[test]
    fn pk01_rfc7636_appendix_b_vector() {
        let v = CodeVerifier::new("dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk").unwrap();
        assert_eq!(CodeChallenge::s256(&v).to_string(), "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM");
        let c = CodeChallenge::parse("E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM").unwrap();
        assert!(c.verify(&v));
    }

    #[test]
    fn pk01_oauth21_section_4_1_1_vector() {
        let v = CodeVerifier::new("3641a2d12d66101249cdf7a79c000c1f8c05d2aafcf14bf146497bed").unwrap();
        assert_eq!(CodeChallenge::s256(&v).to_string(), "6fdkQaPm51l13DSukcAH3Mdx7_ntecHYd1vi3n0hMZY");
    }

    #[test]
    fn pk03_method_is_required_and_must_be_s256() {
        let c = Some("E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM");
        assert!(CodeChallenge::from_request(c, Some("S256")).is_ok());
        assert_eq!(CodeChallenge::from_request(c, None), Err(PkceError::MissingMethod));
        assert_eq!(CodeChallenge::from_request(c, Some("plain")), Err(PkceError::UnsupportedMethod));
        assert_eq!(CodeChallenge::from_request(c, Some("s256")), Err(PkceError::UnsupportedMethod));
        assert_eq!(CodeChallenge::from_request(None, Some("S256")), Err(PkceError::MissingChallenge));
    }

    #[test]
    fn pk04_challenge_must_be_43_canonical_base64url_chars() {
        for bad in [
            "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-c",
            "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cMM",
            "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw+cM",
            "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cN",
            "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-c=",
        ] {
            assert_eq!(CodeChallenge::parse(bad), Err(PkceError::MalformedChallenge), "{bad}");
        }
    }

    #[test]
    fn pk05_verifier_charset_and_length() {
        assert!(CodeVerifier::new("a".repeat(43)).is_ok());
        assert!(CodeVerifier::new("a".repeat(128)).is_ok());
        assert!(CodeVerifier::new("-._~AZaz09".repeat(5)).is_ok());
        for bad in ["a".repeat(42), "a".repeat(129), format!("{}+", "a".repeat(43)), format!("{} ", "a".repeat(43))] {
            assert_eq!(CodeVerifier::new(bad.clone()).unwrap_err(), PkceError::MalformedVerifier, "{bad}");
        }
    }

    #[test]
    fn generated_verifiers_are_valid_and_distinct() {
        let keys = crate::provider::SystemRandom::new();
        let (a, b) = (CodeVerifier::generate(&keys).unwrap(), CodeVerifier::generate(&keys).unwrap());
        assert!(CodeVerifier::new(a.secret()).is_ok());
        assert_ne!(a.secret(), b.secret());
    }

    #[test]
    fn pk06_wrong_verifier_does_not_verify() {
        let c = CodeChallenge::parse("E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM").unwrap();
        assert!(!c.verify(&CodeVerifier::new("x".repeat(43)).unwrap()));
    }
}
