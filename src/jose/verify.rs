//! The strict verifier: compact parsing, header rules, key choice by `kid`, and keys embedded
//! in DPoP proofs.

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use serde_json::Value;
use time::OffsetDateTime;

use super::key_set::KeySet;
use super::keys::PublicKey;
use super::strict_json::parse_strict_json;
use super::{Algorithm, JoseError, MAX_TOKEN_BYTES};

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

/// Verifies a compact JWS against `keys` at `now` (strict; see the [module docs](super)). The `typ`
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
        None if rule == KidRule::OptionalForSingleKey => keys.only_verification_key(now),
        None => return Err(JoseError::HeaderRefused("kid is required")),
    };
    let key = key.ok_or(JoseError::UnknownKid)?;
    // The key decides the algorithm; the header only has to agree with it.
    if header.alg != key.algorithm().name() {
        return Err(JoseError::HeaderRefused("alg is not the key's algorithm"));
    }
    let payload = jws.verified_payload(key)?;
    Ok(Verified { kid: key.kid().to_owned(), alg: key.algorithm(), typ: header.typ.map(str::to_owned), payload })
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
    if key.algorithm() != alg {
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
