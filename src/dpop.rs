//! DPoP proofs (RFC 9449): verifying the `DPoP` header of one request (DP-01, DP-02, DP-08,
//! DP-09), the replay key a store claims once (DP-10), the access-token hash a resource server
//! checks (DP-11), and stateless server nonces (DP-03, DP-13).
//!
//! A proof is a JWS the client signs with a key of its own, carried in the proof's `jwk`
//! header: it shows that the sender holds that key, for one request (`htm`, `htu`), at one time
//! (`iat`), once (`jti`). The JWS rules are [`jose::verify_embedded`]'s: `typ` `dpop+jwt`, an
//! asymmetric `alg` on [`ALGORITHMS`] that is the key's own, no private key members.
//!
//! ```
//! use oauth21::dpop::{self, ProofTarget};
//! use oauth21::time::{Duration, OffsetDateTime};
//! // RFC 9449 figure 3, verified at its own `iat`.
//! let proof = "eyJ0eXAiOiJkcG9wK2p3dCIsImFsZyI6IkVTMjU2IiwiandrIjp7Imt0eSI6IkVDIiwieCI6Imw4dEZyaHgtMzR0VjNoUklDUkRZOXpDa0RscEJoRjQyVVFVZldWQVdCRnMiLCJ5IjoiOVZFNGpmX09rX282NHpiVFRsY3VOSmFqSG10NnY5VERWclUwQ2R2R1JEQSIsImNydiI6IlAtMjU2In19.eyJqdGkiOiItQndDM0VTYzZhY2MybFRjIiwiaHRtIjoiUE9TVCIsImh0dSI6Imh0dHBzOi8vc2VydmVyLmV4YW1wbGUuY29tL3Rva2VuIiwiaWF0IjoxNTYyMjYyNjE2fQ.2-GxA6T8lP4vfrg8v-FdWP0A0zdrj8igiMLvqRMUvwnQg4PtFLbdLXiOSsX0x7NVY-FNyJK70nfbV37xRZT3Lg";
//! let now = OffsetDateTime::from_unix_timestamp(1_562_262_616)?;
//! let target = ProofTarget::new("POST", "https://server.example.com/token");
//! let verified = dpop::verify(proof.as_bytes(), &target, now, Duration::seconds(60))?;
//! assert_eq!(verified.jkt, "0ZcOCORZNYy-DWpqq30jZyJGHTN0d2HglBV3uiguA4I");
//! // A minute and a second later the proof is stale.
//! let later = now + Duration::seconds(61);
//! assert!(dpop::verify(proof.as_bytes(), &target, later, Duration::seconds(60)).is_err());
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use serde_json::Value;
use sha2::{Digest, Sha256};
use time::{Duration, OffsetDateTime};

use crate::jose::{self, Algorithm, JoseError};
use crate::types::{TokenHash, constant_time_eq};

/// The `typ` of a DPoP proof.
pub const PROOF_TYPE: &str = "dpop+jwt";

/// The algorithms a proof may use (DP-08): asymmetric only; `none` and HMAC never.
pub const ALGORITHMS: [Algorithm; 3] = [Algorithm::EdDSA, Algorithm::ES256, Algorithm::RS256];

/// How far a proof's `iat` may be from the server's now, by default (DP-02).
pub const DEFAULT_WINDOW: Duration = Duration::seconds(60);

/// The longest window a configuration may set: a longer one would let a captured proof be
/// replayed for longer than the replay cache needs to remember it.
pub const MAX_WINDOW: Duration = Duration::minutes(5);

/// The longest `jti` accepted, in bytes.
const MAX_JTI_BYTES: usize = 256;

/// The request a proof must be for: its method and its URL, as the server publishes it (the
/// authorization server's endpoint URLs come from its issuer and paths; a resource server's
/// from the host's configuration plus the request path).
#[derive(Debug, Clone, Copy)]
pub struct ProofTarget<'a> {
    method: &'a str,
    url: &'a str,
}

impl<'a> ProofTarget<'a> {
    /// A request with `method` (case-sensitive, as HTTP methods are) to `url`.
    pub fn new(method: &'a str, url: &'a str) -> Self {
        Self { method, url }
    }
}

/// A verified proof.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct Proof {
    /// The proof key's JWK SHA-256 thumbprint (RFC 7638): what a token is bound to.
    pub jkt: String,
    /// The proof's unique identifier.
    pub jti: String,
    /// The method the proof names.
    pub htm: String,
    /// The URL the proof names, normalised ([`normalize_htu`]).
    pub htu: String,
    /// When the client made the proof.
    pub iat: OffsetDateTime,
    /// The hash of the access token the proof is sent with, if it names one.
    pub ath: Option<String>,
    /// The server nonce the proof carries, if any.
    pub nonce: Option<String>,
}

impl Proof {
    /// The key under which the proof is claimed once (DP-10): its key's thumbprint, its `jti`,
    /// and the normalised method and URL, so one client's `jti` never collides with another's
    /// and a proof differing only in how its URL is spelled is still the same proof.
    pub fn replay_key(&self) -> TokenHash {
        let mut hasher = Sha256::new();
        for part in ["dpop", &self.jkt, &self.jti, &self.htm, &self.htu] {
            hasher.update((part.len() as u64).to_be_bytes());
            hasher.update(part.as_bytes());
        }
        TokenHash::from_bytes(hasher.finalize().into())
    }

    /// Until when the claim must last: after it, `iat` is outside the window anyway.
    pub fn replay_until(&self, window: Duration) -> OffsetDateTime {
        self.iat.saturating_add(window).saturating_add(Duration::seconds(1))
    }
}

/// Why a proof was refused. At the token endpoint every case is `invalid_dpop_proof` (400); at
/// a resource server, `invalid_dpop_proof` or `invalid_token` with a `DPoP` challenge.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum DpopError {
    /// More than one `DPoP` header (DP-01).
    #[error("more than one DPoP header")]
    Repeated,
    /// The proof is not a well-formed, correctly signed `dpop+jwt` (DP-01, DP-08).
    #[error("the DPoP proof is invalid: {0}")]
    Jose(JoseError),
    /// A claim is missing or of the wrong type (DP-01).
    #[error("the DPoP proof is malformed: {0}")]
    Malformed(&'static str),
    /// `htm` is not the request's method (DP-02).
    #[error("the DPoP proof is for another method")]
    WrongMethod,
    /// `htu` is not the request's URL (DP-02, DP-09).
    #[error("the DPoP proof is for another URL")]
    WrongUrl,
    /// `iat` is outside the window (DP-02).
    #[error("the DPoP proof is too old or from the future")]
    NotFresh,
    /// `ath` is missing or is not the hash of the access token sent (DP-11).
    #[error("the DPoP proof does not name this access token")]
    AccessTokenHash,
    /// The proof was used before (DP-02, DP-10).
    #[error("the DPoP proof was used before")]
    Replayed,
    /// The server requires a nonce and the proof carries none, or a stale one (DP-03).
    #[error("a fresh DPoP nonce is required")]
    UseNonce,
}

/// Verifies the `DPoP` header value `proof` for `target` at `now`, with `iat` at most `window`
/// away (capped at [`MAX_WINDOW`]). The replay check is the caller's: claim
/// [`Proof::replay_key`] once in the store.
pub fn verify(
    proof: &[u8],
    target: &ProofTarget<'_>,
    now: OffsetDateTime,
    window: Duration,
) -> Result<Proof, DpopError> {
    let proof = std::str::from_utf8(proof).map_err(|_| DpopError::Jose(JoseError::Malformed("not UTF-8")))?;
    let (key, payload) = jose::verify_embedded(proof, PROOF_TYPE, &ALGORITHMS).map_err(DpopError::Jose)?;
    let claims = jose::strict_json(&payload).map_err(DpopError::Jose)?;
    let claims = claims.as_object().ok_or(DpopError::Malformed("the claims are not a JSON object"))?;
    let text = |name: &str, missing: &'static str| match claims.get(name) {
        Some(Value::String(s)) if !s.is_empty() => Ok(Some(s.as_str())),
        None => Ok(None),
        Some(_) => Err(DpopError::Malformed(missing)),
    };
    let jti = text("jti", "jti must be a non-empty string")?.ok_or(DpopError::Malformed("jti is required"))?;
    if jti.len() > MAX_JTI_BYTES {
        return Err(DpopError::Malformed("jti is too long"));
    }
    let htm = text("htm", "htm must be a string")?.ok_or(DpopError::Malformed("htm is required"))?;
    let htu = text("htu", "htu must be a string")?.ok_or(DpopError::Malformed("htu is required"))?;
    let iat = match claims.get("iat") {
        Some(Value::Number(n)) => n.as_i64().ok_or(DpopError::Malformed("iat must be an integer"))?,
        Some(_) => return Err(DpopError::Malformed("iat must be an integer")),
        None => return Err(DpopError::Malformed("iat is required")),
    };
    let ath = text("ath", "ath must be a string")?;
    let nonce = text("nonce", "nonce must be a string")?;
    if htm != target.method {
        return Err(DpopError::WrongMethod);
    }
    let (Some(htu), Some(expected)) = (normalize_htu(htu), normalize_htu(target.url)) else {
        return Err(DpopError::WrongUrl);
    };
    if htu != expected {
        return Err(DpopError::WrongUrl);
    }
    let iat = OffsetDateTime::from_unix_timestamp(iat).map_err(|_| DpopError::NotFresh)?;
    let window = window.clamp(Duration::ZERO, MAX_WINDOW);
    if (iat - now).abs() > window {
        return Err(DpopError::NotFresh);
    }
    Ok(Proof {
        jkt: key.thumbprint(),
        jti: jti.to_owned(),
        htm: htm.to_owned(),
        htu,
        iat,
        ath: ath.map(str::to_owned),
        nonce: nonce.map(str::to_owned),
    })
}

/// Checks that `proof` names `access_token` in `ath` (DP-11), in constant time.
pub fn check_access_token_hash(proof: &Proof, access_token: &str) -> Result<(), DpopError> {
    let expected = access_token_hash(access_token);
    match &proof.ath {
        Some(ath) if constant_time_eq(ath.as_bytes(), expected.as_bytes()) => Ok(()),
        _ => Err(DpopError::AccessTokenHash),
    }
}

/// `BASE64URL(SHA-256(access_token))`: a proof's `ath` (RFC 9449 §4.2).
pub fn access_token_hash(access_token: &str) -> String {
    URL_SAFE_NO_PAD.encode(Sha256::digest(access_token.as_bytes()))
}

/// An http(s) URL as a proof's `htu` is compared (DP-09): scheme and host lower-cased, the
/// default port (443, 80) dropped, the path kept byte for byte (an empty path is `/`; a trailing
/// slash is never added or removed), query and fragment dropped. `None` for anything that is
/// not an absolute http(s) URL with a host.
pub fn normalize_htu(url: &str) -> Option<String> {
    let url = &url[..url.find(['?', '#']).unwrap_or(url.len())];
    let (scheme, rest) = url.split_once("://")?;
    let scheme = scheme.to_ascii_lowercase();
    let default_port = match scheme.as_str() {
        "https" => "443",
        "http" => "80",
        _ => return None,
    };
    let (authority, path) = rest.split_at(rest.find('/').unwrap_or(rest.len()));
    if authority.is_empty() || authority.contains('@') || !authority.bytes().all(|b| b.is_ascii_graphic()) {
        return None;
    }
    let (host, port) = match authority.rfind(':') {
        Some(i) if !authority[i..].contains(']') => (&authority[..i], Some(&authority[i + 1..])),
        _ => (authority, None),
    };
    if host.is_empty() || port.is_some_and(|p| p.is_empty() || !p.bytes().all(|b| b.is_ascii_digit())) {
        return None;
    }
    let port = port.map(|p| p.trim_start_matches('0')).filter(|p| *p != default_port);
    let path = if path.is_empty() { "/" } else { path };
    Some(match port {
        Some(port) => format!("{scheme}://{}:{port}{path}", host.to_ascii_lowercase()),
        None => format!("{scheme}://{}{path}", host.to_ascii_lowercase()),
    })
}

/// Stateless server nonces (DP-03, DP-13): a nonce is a time step and its HMAC under a secret
/// every instance shares, so any instance accepts any instance's nonce and none keeps state.
/// A nonce is good in the step it was made and the next one.
#[derive(Clone)]
pub struct NonceKey {
    key: ring::hmac::Key,
    step: Duration,
}

impl std::fmt::Debug for NonceKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("NonceKey").field("step", &self.step).finish_non_exhaustive()
    }
}

impl NonceKey {
    /// Nonces under `secret` (at least 32 random bytes, the same on every instance), each step
    /// `step` long (clamped to 10 s .. 10 min).
    pub fn new(secret: &[u8], step: Duration) -> Self {
        Self {
            key: ring::hmac::Key::new(ring::hmac::HMAC_SHA256, secret),
            step: step.clamp(Duration::seconds(10), Duration::minutes(10)),
        }
    }

    fn step_of(&self, now: OffsetDateTime) -> i64 {
        now.unix_timestamp().div_euclid(self.step.whole_seconds().max(1))
    }

    fn nonce_for(&self, step: i64) -> String {
        let counter = step.to_be_bytes();
        let tag = ring::hmac::sign(&self.key, &counter);
        let mut bytes = counter.to_vec();
        bytes.extend_from_slice(&tag.as_ref()[..16]);
        URL_SAFE_NO_PAD.encode(bytes)
    }

    /// The nonce to hand out at `now`.
    pub fn issue(&self, now: OffsetDateTime) -> String {
        self.nonce_for(self.step_of(now))
    }

    /// Whether `nonce` is one of ours from this step or the previous one, compared in constant
    /// time.
    pub fn accepts(&self, nonce: &str, now: OffsetDateTime) -> bool {
        let step = self.step_of(now);
        [step, step - 1]
            .iter()
            .fold(false, |ok, s| ok | constant_time_eq(nonce.as_bytes(), self.nonce_for(*s).as_bytes()))
    }
}
