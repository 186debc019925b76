//! Signing: compact JWS with a local key, or through a [`JwtSigner`] that may be remote.

use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;

use super::key_set::{KeySet, SharedKeySet};
use super::keys::SigningKey;
use super::{Algorithm, JoseError, MAX_TOKEN_BYTES};

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

impl<T: JwtSigner + ?Sized> JwtSigner for Arc<T> {
    fn signing_key(&self) -> Option<SignerKey> {
        (**self).signing_key()
    }
    fn sign<'a>(&'a self, key: &'a SignerKey, message: &'a [u8]) -> SignFuture<'a> {
        (**self).sign(key, message)
    }
}

impl KeySet {
    fn sign_with(&self, key: &SignerKey, message: &[u8]) -> Result<Vec<u8>, JoseError> {
        self.private_key(&key.kid, key.alg).ok_or(JoseError::UnknownKid)?.sign(message)
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
