//! JWT access tokens (RFC 9068; JWT-01..JWT-05): the claims the server signs, and
//! [`JwtVerifier`], the check a resource server runs without calling back.
//!
//! A JWT access token has the header `{"alg", "typ": "at+jwt", "kid"}` and the claims `iss`,
//! `sub` (the user, or the client itself for `client_credentials`), `aud`, `client_id`, `iat`,
//! `exp`, `jti` and, when not empty, `scope`. The server still stores a record for every token,
//! keyed by a digest of its `jti` ([`TokenHash::of_jwt_id`](crate::TokenHash::of_jwt_id)), so that revocation and
//! introspection work for JWTs as for opaque tokens, and a resource server that shares the store
//! can ask whether a token was revoked ([`BearerChecker::accept_jwt`](crate::bearer::BearerChecker::accept_jwt)).
//!
//! ```
//! use oauth21::jose::{Algorithm, KeySet, SharedKeySet, SigningKey};
//! use oauth21::jwt::JwtVerifier;
//! use oauth21::{AccessTokenFormat, Client, ClientSecret, GrantType, MemoryStore, Request, Server};
//! use oauth21::{Clock, ManualClock, ServerConfig};
//! # fn block_on<F: std::future::Future>(f: F) -> F::Output {
//! #     let mut f = std::pin::pin!(f);
//! #     let mut cx = std::task::Context::from_waker(std::task::Waker::noop());
//! #     loop { if let std::task::Poll::Ready(v) = f.as_mut().poll(&mut cx) { return v; } }
//! # }
//! let keys = SharedKeySet::new(KeySet::with_active(SigningKey::generate(Algorithm::ES256, "k1")?));
//! let config = ServerConfig::builder("https://as.example")
//!     .access_token_format(AccessTokenFormat::Jwt)
//!     .access_token_audience("https://api.example")
//!     .build()?;
//! let store = MemoryStore::new();
//! let secret = ClientSecret::new("a long random secret, generated");
//! store.insert_client(
//!     Client::confidential("reporting", &secret)
//!         .grant_types([GrantType::ClientCredentials])
//!         .scope("reports:read")
//!         .build()?,
//! );
//! let clock = std::sync::Arc::new(ManualClock::at_unix(1_700_000_000));
//! let server = Server::new(config, store).with_clock(clock.clone()).with_jwt_keys(keys.clone());
//!
//! let body = "grant_type=client_credentials&client_id=reporting\
//!             &client_secret=a+long+random+secret%2C+generated&scope=reports%3Aread";
//! let response = block_on(server.token(&Request::form_post(body.as_bytes())));
//! assert_eq!(response.status(), 200);
//! let json: serde_json::Value = serde_json::from_slice(response.body())?;
//! let token = json["access_token"].as_str().unwrap();
//!
//! // The resource server: the issuer's keys (here shared in process; elsewhere from its JWKS).
//! let verifier = JwtVerifier::new(keys, "https://as.example", "https://api.example");
//! let claims = verifier.verify(token, clock.now())?;
//! assert_eq!(claims.client_id.as_str(), "reporting");
//! assert_eq!(claims.subject.as_str(), "reporting");
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```

use std::sync::Arc;

use serde::Serialize;
use serde_json::Value;
use time::{Duration, OffsetDateTime};

pub use crate::config::AccessTokenFormat;
use crate::jose::VerificationKeys;
use crate::jose::{self, JoseError, KeySet};
use crate::types::{ClientId, Scope, Subject};

/// The longest leeway a verifier accepts for clock skew: anything longer would quietly extend
/// every token's life.
pub const MAX_LEEWAY: Duration = Duration::minutes(5);

/// The claims the server signs (JWT-02).
#[derive(Serialize)]
pub(crate) struct IssuedClaims<'a> {
    pub(crate) iss: &'a str,
    pub(crate) sub: &'a str,
    pub(crate) aud: &'a str,
    pub(crate) client_id: &'a str,
    pub(crate) iat: i64,
    pub(crate) exp: i64,
    pub(crate) jti: &'a str,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(crate) scope: Option<String>,
    /// The DPoP key the token is bound to (RFC 9449 §6.1, DP-04).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(crate) cnf: Option<Confirmation<'a>>,
}

/// `cnf` (RFC 7800): the key a token is bound to, by its JWK thumbprint.
#[derive(Serialize)]
pub(crate) struct Confirmation<'a> {
    pub(crate) jkt: &'a str,
}

/// The verified claims of a JWT access token.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct AccessTokenClaims {
    /// `iss`: equal to the verifier's issuer.
    pub issuer: String,
    /// `sub`: the resource owner, or the client itself for `client_credentials`.
    pub subject: Subject,
    /// `aud`, as one or more values; the verifier's audience is among them.
    pub audience: Vec<String>,
    /// `client_id`: the client the token was issued to.
    pub client_id: ClientId,
    /// `iat`.
    pub issued_at: OffsetDateTime,
    /// `exp`.
    pub expires_at: OffsetDateTime,
    /// `nbf`, when present.
    pub not_before: Option<OffsetDateTime>,
    /// `jti`: the token's id, the key of its record in the store.
    pub jwt_id: String,
    /// `scope` (empty when absent).
    pub scope: Scope,
    /// The id of the key that verified the signature.
    pub kid: String,
    /// `cnf.jkt`: the DPoP key the token is bound to (RFC 9449 §6.1), if it is bound.
    pub jkt: Option<String>,
}

/// Why a JWT access token was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum JwtError {
    /// The JWS itself failed: malformed, bad signature, unknown or retired key, refused header.
    #[error(transparent)]
    Jose(#[from] JoseError),
    /// `typ` is not `at+jwt` (an ID token or another JWT presented as an access token).
    #[error("the token is not a JWT access token (typ)")]
    WrongType,
    /// `iss` is not this verifier's issuer.
    #[error("the token is from another issuer")]
    WrongIssuer,
    /// This verifier's audience is not in `aud`.
    #[error("the token is meant for another resource")]
    WrongAudience,
    /// `exp` has passed (beyond the leeway).
    #[error("the token expired")]
    Expired,
    /// `nbf` or `iat` is in the future (beyond the leeway).
    #[error("the token is not valid yet")]
    NotYetValid,
    /// A required claim is missing or malformed.
    #[error("claim {0} is missing or malformed")]
    InvalidClaim(&'static str),
    /// The verifier has no keys (its [`VerificationKeys::verification_keys`] is `None`).
    #[error("no verification keys are configured")]
    NoKeys,
}

/// Verifies JWT access tokens for one resource (JWT-05): signature with the issuer's key named
/// by `kid` (the algorithm is the key's), `typ` `at+jwt`, `iss`, `aud`, `exp`, `nbf` and `iat`
/// with a small leeway, and the required claims.
#[derive(Clone)]
pub struct JwtVerifier {
    keys: Arc<dyn VerificationKeys>,
    issuer: String,
    audience: String,
    leeway: Duration,
}

impl std::fmt::Debug for JwtVerifier {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("JwtVerifier")
            .field("issuer", &self.issuer)
            .field("audience", &self.audience)
            .field("leeway", &self.leeway)
            .finish_non_exhaustive()
    }
}

impl JwtVerifier {
    /// A verifier of tokens from `issuer` for `audience`, with the keys of `keys`
    /// ([`VerificationKeys::verification_keys`], read at every verification so rotations apply
    /// at once; no random source needed) and a leeway
    /// of 30 seconds.
    pub fn new(keys: impl VerificationKeys + 'static, issuer: impl Into<String>, audience: impl Into<String>) -> Self {
        Self { keys: Arc::new(keys), issuer: issuer.into(), audience: audience.into(), leeway: Duration::seconds(30) }
    }

    /// Sets the clock-skew leeway for `exp`, `nbf` and `iat`; capped at [`MAX_LEEWAY`],
    /// negative taken as zero.
    pub fn leeway(mut self, leeway: Duration) -> Self {
        self.leeway = leeway.clamp(Duration::ZERO, MAX_LEEWAY);
        self
    }

    /// The issuer this verifier accepts.
    pub fn issuer(&self) -> &str {
        &self.issuer
    }

    /// Verifies `token` at `now`.
    pub fn verify(&self, token: &str, now: OffsetDateTime) -> Result<AccessTokenClaims, JwtError> {
        let keys = self.keys.verification_keys().ok_or(JwtError::NoKeys)?;
        verify_with(&keys, token, now, &self.issuer, Some(&self.audience), self.leeway)
    }
}

/// The whole check, for the verifier and for the server's own tokens (introspection and
/// revocation pass `audience: None`: the server's tokens all carry its configured audience, and
/// the store record decides the rest).
pub(crate) fn verify_with(
    keys: &KeySet,
    token: &str,
    now: OffsetDateTime,
    issuer: &str,
    audience: Option<&str>,
    leeway: Duration,
) -> Result<AccessTokenClaims, JwtError> {
    let verified = jose::verify(keys, token, now)?;
    // RFC 9068 §4: `at+jwt`, or its full media type; media types compare case-insensitively.
    let typ = verified.typ.as_deref().unwrap_or("");
    if !typ.eq_ignore_ascii_case("at+jwt") && !typ.eq_ignore_ascii_case("application/at+jwt") {
        return Err(JwtError::WrongType);
    }
    let claims = jose::parse_strict_json(&verified.payload).map_err(|_| JwtError::InvalidClaim("payload"))?;
    let claims = claims.as_object().ok_or(JwtError::InvalidClaim("payload"))?;
    let text = |name: &'static str| match claims.get(name) {
        Some(Value::String(s)) => Ok(s.as_str()),
        _ => Err(JwtError::InvalidClaim(name)),
    };
    let date = |name: &'static str| match claims.get(name) {
        None => Ok(None),
        Some(value) => value
            .as_i64()
            .and_then(|secs| OffsetDateTime::from_unix_timestamp(secs).ok())
            .map(Some)
            .ok_or(JwtError::InvalidClaim(name)),
    };
    if text("iss")? != issuer {
        return Err(JwtError::WrongIssuer);
    }
    let audiences: Vec<String> = match claims.get("aud") {
        Some(Value::String(one)) => vec![one.clone()],
        Some(Value::Array(many)) if !many.is_empty() => many
            .iter()
            .map(|v| v.as_str().map(str::to_owned).ok_or(JwtError::InvalidClaim("aud")))
            .collect::<Result<_, _>>()?,
        _ => return Err(JwtError::InvalidClaim("aud")),
    };
    if let Some(audience) = audience {
        if !audiences.iter().any(|a| a == audience) {
            return Err(JwtError::WrongAudience);
        }
    }
    let expires_at = date("exp")?.ok_or(JwtError::InvalidClaim("exp"))?;
    let issued_at = date("iat")?.ok_or(JwtError::InvalidClaim("iat"))?;
    let not_before = date("nbf")?;
    // The leeway is subtracted, checked, rather than added: `exp` may be the largest date `time`
    // represents, and a trusted signer's odd claim must be judged, never panic. Each comparison
    // is exact; a subtraction only underflows where its comparison is false anyway.
    if now.checked_sub(leeway).is_some_and(|skewed| skewed >= expires_at) {
        return Err(JwtError::Expired);
    }
    let in_future = |at: OffsetDateTime| at.checked_sub(leeway).is_some_and(|skewed| skewed > now);
    if in_future(issued_at) || not_before.is_some_and(in_future) {
        return Err(JwtError::NotYetValid);
    }
    let scope = match claims.get("scope") {
        None => Scope::default(),
        Some(Value::String(s)) => Scope::parse(s).map_err(|_| JwtError::InvalidClaim("scope"))?,
        Some(_) => return Err(JwtError::InvalidClaim("scope")),
    };
    let jkt = match claims.get("cnf") {
        None => None,
        Some(Value::Object(cnf)) => match cnf.get("jkt") {
            Some(Value::String(jkt)) if !jkt.is_empty() => Some(jkt.clone()),
            // A confirmation this verifier cannot check (x5t#S256, jwk): refused, never ignored.
            _ => return Err(JwtError::InvalidClaim("cnf")),
        },
        Some(_) => return Err(JwtError::InvalidClaim("cnf")),
    };
    Ok(AccessTokenClaims {
        issuer: issuer.to_owned(),
        subject: Subject::new(text("sub")?).map_err(|_| JwtError::InvalidClaim("sub"))?,
        audience: audiences,
        client_id: ClientId::new(text("client_id")?).map_err(|_| JwtError::InvalidClaim("client_id"))?,
        issued_at,
        expires_at,
        not_before,
        jwt_id: text("jti")?.to_owned(),
        scope,
        kid: verified.kid,
        jkt,
    })
}
