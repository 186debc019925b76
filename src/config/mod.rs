//! [`ServerConfig`]: the issuer, lifetimes and policy switches.
//!
//! Everything defaults to the strict, secure choice; each leniency is a named opt-in.

mod builder;

use serde::{Deserialize, Serialize};
use time::Duration;

use crate::dpop::{self, NonceKey};
use crate::types::{InvalidValue, Issuer};

/// How access tokens are made.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
#[non_exhaustive]
pub enum AccessTokenFormat {
    /// 256 random bits, meaningful only to the store: revocable at once, checked by a store
    /// lookup or introspection. The default.
    #[default]
    Opaque,
    /// A signed JWT (RFC 9068) that resource servers verify with the issuer's public keys,
    /// without calling back. Needs a signing key ([`Server::with_jwt_keys`](crate::Server::with_jwt_keys)) and an audience
    /// ([`ServerConfig::access_token_audience`]).
    Jwt,
}

/// Longest authorization-code lifetime the builder accepts (OAuth 2.1 §4.1.2: 10 minutes max).
pub const MAX_CODE_LIFETIME: Duration = Duration::minutes(10);

/// Why a configuration was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum ConfigError {
    /// The issuer is not a valid issuer identifier.
    #[error("invalid issuer: {0}")]
    Issuer(#[from] InvalidValue),
    /// The device flow's verification URI is not an https URL (http only on a loopback host)
    /// without query or fragment.
    #[error("the device verification URI must be an https URL (http only on loopback) without query or fragment")]
    VerificationUri,
    /// A lifetime is zero, negative or above its maximum.
    #[error("{0} is out of range")]
    Lifetime(&'static str),
    /// An endpoint path does not start with `/` or has a query, fragment or space.
    #[error("endpoint paths must start with '/' and hold no query, fragment or space")]
    EndpointPath,
    /// The access-token audience is empty or not visible ASCII.
    #[error("the access token audience must be 1 to 2048 visible ASCII characters")]
    Audience,
    /// JWT access tokens were chosen without an audience for their `aud` claim (JWT-03).
    #[error("JWT access tokens need an access token audience")]
    JwtNeedsAudience,
    /// A size limit is below what the specification requires servers to accept.
    #[error("max_request_bytes must be at least 8000 (OAuth 2.1 §1.7.1)")]
    RequestLimit,
    /// The DPoP window is zero, negative or above [`dpop::MAX_WINDOW`].
    #[error("the DPoP proof window must be above zero and at most 5 minutes")]
    DpopWindow,
    /// The DPoP nonce secret is shorter than 32 bytes.
    #[error("the DPoP nonce secret must be at least 32 bytes")]
    DpopNonceSecret,
    /// The FAPI 2.0 Security Profile is on and another setting contradicts it.
    #[error("the FAPI 2.0 Security Profile forbids this setting: {0}")]
    Fapi2(&'static str),
}

/// Which `aud` values a client assertion (`private_key_jwt`) may carry (CA-02).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
#[non_exhaustive]
pub enum AssertionAudience {
    /// The issuer identifier, as a single string, and nothing else (draft-ietf-oauth-rfc7523bis,
    /// FAPI 2.0): an assertion made for another server can never be replayed here. The default.
    #[default]
    IssuerOnly,
    /// Also the token endpoint URL, and a one-element array of either: for older clients. This
    /// reopens the audience-injection attack the strict rule closes; opt in only for clients
    /// that cannot be changed, and move them off it.
    IssuerOrTokenEndpoint,
}

/// How the server treats DPoP proofs (RFC 9449).
#[derive(Debug, Clone)]
struct DpopSettings {
    window: Duration,
    nonces: Option<NonceKey>,
}

/// The server's configuration. Build one with [`ServerConfig::builder`].
#[derive(Debug, Clone)]
pub struct ServerConfig {
    issuer: Issuer,
    code_lifetime: Duration,
    access_token_lifetime: Duration,
    refresh_token_lifetime: Duration,
    refresh_token_idle_timeout: Option<Duration>,
    rotate_confidential_refresh_tokens: bool,
    refresh_grace_period: Option<Duration>,
    max_request_bytes: usize,
    localhost_any_port: bool,
    access_token_audience: Option<String>,
    access_token_format: AccessTokenFormat,
    paths: EndpointPaths,
    dpop: Option<DpopSettings>,
    assertion_audience: AssertionAudience,
    assertion_max_lifetime: Duration,
    pushed_requests: Option<PushedRequests>,
    fapi2: bool,
    device: Option<DeviceFlow>,
}

/// The device authorization grant (RFC 8628), when on.
#[derive(Debug, Clone, PartialEq, Eq)]
struct DeviceFlow {
    verification_uri: String,
    lifetime: Duration,
    interval: Duration,
}

/// Pushed authorization requests (RFC 9126), when on.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct PushedRequests {
    lifetime: Duration,
    required: bool,
}

/// The longest a `request_uri` may live (PAR-07: always under 10 minutes).
pub const MAX_PUSHED_REQUEST_LIFETIME: Duration = Duration::seconds(599);

/// The paths of the endpoints under the issuer, for the metadata document (MD-03, MD-06). Each
/// starts with `/`; the endpoint's URL is the issuer followed by the path. Endpoints added later
/// get fields with defaults, so build one from the default with the `with_*` methods:
///
/// ```
/// use oauth21::EndpointPaths;
/// let paths = EndpointPaths::default().with_token("/oauth2/token").with_revocation("/oauth2/revoke");
/// assert_eq!(paths.token, "/oauth2/token");
/// assert_eq!(paths.authorization, "/authorize");
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct EndpointPaths {
    /// The authorization endpoint (default `/authorize`).
    pub authorization: String,
    /// The token endpoint (default `/token`).
    pub token: String,
    /// The revocation endpoint (default `/revoke`).
    pub revocation: String,
    /// The introspection endpoint (default `/introspect`).
    pub introspection: String,
    /// The JWKS document with the public keys of JWT access tokens (default `/jwks.json`),
    /// listed as `jwks_uri` when the server issues JWTs (MD-03).
    pub jwks: String,
    /// The pushed authorization request endpoint (default `/par`, RFC 9126).
    pub pushed_authorization_request: String,
    /// The device authorization endpoint (default `/device_authorization`, RFC 8628).
    pub device_authorization: String,
    /// The dynamic client registration endpoint (default `/register`, RFC 7591), listed as
    /// `registration_endpoint` when registration is enabled.
    pub registration: String,
}

impl EndpointPaths {
    /// With the authorization endpoint at `path`.
    pub fn with_authorization(mut self, path: impl Into<String>) -> Self {
        self.authorization = path.into();
        self
    }

    /// With the token endpoint at `path`.
    pub fn with_token(mut self, path: impl Into<String>) -> Self {
        self.token = path.into();
        self
    }

    /// With the revocation endpoint at `path`.
    pub fn with_revocation(mut self, path: impl Into<String>) -> Self {
        self.revocation = path.into();
        self
    }

    /// With the introspection endpoint at `path`.
    pub fn with_introspection(mut self, path: impl Into<String>) -> Self {
        self.introspection = path.into();
        self
    }

    /// With the JWKS document at `path`.
    pub fn with_jwks(mut self, path: impl Into<String>) -> Self {
        self.jwks = path.into();
        self
    }

    /// With the registration endpoint at `path`.
    pub fn with_registration(mut self, path: impl Into<String>) -> Self {
        self.registration = path.into();
        self
    }

    /// With the device authorization endpoint at `path`.
    pub fn with_device_authorization(mut self, path: impl Into<String>) -> Self {
        self.device_authorization = path.into();
        self
    }

    /// With the pushed authorization request endpoint at `path`.
    pub fn with_pushed_authorization_request(mut self, path: impl Into<String>) -> Self {
        self.pushed_authorization_request = path.into();
        self
    }
}

impl Default for EndpointPaths {
    fn default() -> Self {
        Self {
            authorization: "/authorize".into(),
            token: "/token".into(),
            revocation: "/revoke".into(),
            introspection: "/introspect".into(),
            jwks: "/jwks.json".into(),
            pushed_authorization_request: "/par".into(),
            registration: "/register".into(),
            device_authorization: "/device_authorization".into(),
        }
    }
}

/// Longest refresh grace period the builder accepts.
pub const MAX_REFRESH_GRACE_PERIOD: Duration = Duration::minutes(1);

impl ServerConfig {
    /// Starts a configuration for `issuer` with the defaults: codes live 60 s, access tokens
    /// 1 hour; a grant's refresh tokens live at most 30 days and die after 14 days unused;
    /// refresh tokens rotate on every use for every client, with no grace period; request
    /// parameters up to 16 KiB.
    pub fn builder(issuer: &str) -> ServerConfigBuilder {
        ServerConfigBuilder::new(
            issuer,
            ServerConfigValues {
                code_lifetime: Duration::seconds(60),
                access_token_lifetime: Duration::hours(1),
                refresh_token_lifetime: Duration::days(30),
                refresh_token_idle_timeout: Some(Duration::days(14)),
                rotate_confidential_refresh_tokens: true,
                refresh_grace_period: None,
                max_request_bytes: 16 * 1024,
                localhost_any_port: false,
                access_token_audience: None,
                access_token_format: AccessTokenFormat::Opaque,
                paths: EndpointPaths::default(),
                dpop: Some(DpopSettings { window: dpop::DEFAULT_WINDOW, nonces: None }),
                dpop_nonce_secret_too_short: false,
                assertion_audience: AssertionAudience::IssuerOnly,
                assertion_max_lifetime: Duration::minutes(5),
                pushed_requests: Some(PushedRequests { lifetime: Duration::seconds(60), required: false }),
                fapi2: false,
                device: None,
            },
        )
    }

    /// Which audiences client assertions may name.
    pub fn client_assertion_audience(&self) -> AssertionAudience {
        self.assertion_audience
    }

    /// The longest a client assertion may live.
    pub fn client_assertion_max_lifetime(&self) -> Duration {
        self.assertion_max_lifetime
    }

    /// Whether the FAPI 2.0 Security Profile is on ([`ServerConfigBuilder::fapi2_security_profile`]).
    pub fn fapi2_security_profile(&self) -> bool {
        self.fapi2
    }

    /// The device flow's verification URI (RFC 8628 `verification_uri`), or `None` when the
    /// device authorization grant is off ([`ServerConfigBuilder::device_flow`]).
    pub fn device_verification_uri(&self) -> Option<&str> {
        self.device.as_ref().map(|d| d.verification_uri.as_str())
    }

    /// How long a device code and its user code live (default 10 minutes), when the device flow
    /// is on.
    pub fn device_code_lifetime(&self) -> Option<Duration> {
        self.device.as_ref().map(|d| d.lifetime)
    }

    /// The polling interval a device starts with (default 5 s), when the device flow is on.
    pub fn device_poll_interval(&self) -> Option<Duration> {
        self.device.as_ref().map(|d| d.interval)
    }

    /// How long a `request_uri` lives, or `None` when pushed authorization requests are off
    /// ([`ServerConfigBuilder::without_pushed_requests`]).
    pub fn pushed_request_lifetime(&self) -> Option<Duration> {
        self.pushed_requests.map(|p| p.lifetime)
    }

    /// Whether every authorization request must be pushed first (RFC 9126 §5).
    pub fn requires_pushed_requests(&self) -> bool {
        self.pushed_requests.is_some_and(|p| p.required)
    }

    /// The DPoP proof window, or `None` when DPoP is off ([`ServerConfigBuilder::without_dpop`]).
    pub fn dpop_window(&self) -> Option<Duration> {
        self.dpop.as_ref().map(|d| d.window)
    }

    /// The DPoP nonce key, when nonces are required.
    pub fn dpop_nonces(&self) -> Option<&NonceKey> {
        self.dpop.as_ref().and_then(|d| d.nonces.as_ref())
    }

    /// The issuer identifier, sent as `iss` on every authorization response (AZ-13).
    pub fn issuer(&self) -> &Issuer {
        &self.issuer
    }

    /// How long an authorization code stays redeemable (AZ-15).
    pub fn code_lifetime(&self) -> Duration {
        self.code_lifetime
    }

    /// How long an access token stays valid.
    pub fn access_token_lifetime(&self) -> Duration {
        self.access_token_lifetime
    }

    /// The absolute lifetime of a grant's refresh tokens, counted from the authorization: no
    /// rotation extends it (RT-09).
    pub fn refresh_token_lifetime(&self) -> Duration {
        self.refresh_token_lifetime
    }

    /// How long a refresh token may go unused before it expires (RT-09); `None` for no idle
    /// limit.
    pub fn refresh_token_idle_timeout(&self) -> Option<Duration> {
        self.refresh_token_idle_timeout
    }

    /// Whether confidential clients get a new refresh token on every refresh. Public clients
    /// always do (RT-06).
    pub fn rotate_confidential_refresh_tokens(&self) -> bool {
        self.rotate_confidential_refresh_tokens
    }

    /// The grace period in which the refresh token rotated out last may be retried once; `None`
    /// (the default) for none. See [`ServerConfigBuilder::refresh_grace_period`].
    pub fn refresh_grace_period(&self) -> Option<Duration> {
        self.refresh_grace_period
    }

    /// Largest query string or form body read, in bytes (SEC-08).
    pub fn max_request_bytes(&self) -> usize {
        self.max_request_bytes
    }

    /// Whether `http://localhost` redirect URIs match any port, as loopback IP literals do.
    pub fn localhost_any_port(&self) -> bool {
        self.localhost_any_port
    }

    /// The audience (`aud`) recorded in every access token, naming the resource server it is
    /// for; `None` when the server issues tokens for any resource server.
    pub fn access_token_audience(&self) -> Option<&str> {
        self.access_token_audience.as_deref()
    }

    /// The server's access-token format; a client's registration may override it
    /// ([`ClientBuilder::access_token_format`](crate::ClientBuilder::access_token_format)).
    pub fn access_token_format(&self) -> AccessTokenFormat {
        self.access_token_format
    }

    /// The endpoints' paths under the issuer.
    pub fn endpoint_paths(&self) -> &EndpointPaths {
        &self.paths
    }

    /// The URL of an endpoint: the issuer followed by `path`.
    pub fn endpoint_url(&self, path: &str) -> String {
        format!("{}{path}", self.issuer.as_str())
    }

    /// The path at which to serve the metadata document (RFC 8414 §3.1, MD-01): the well-known
    /// name inserted between the issuer's host and its path, so
    /// `https://as.example/tenant` serves it at `/.well-known/oauth-authorization-server/tenant`.
    pub fn metadata_path(&self) -> String {
        let text = self.issuer.as_str();
        let after_scheme = text.split_once("://").map_or(text, |(_, rest)| rest);
        let path = after_scheme.find('/').map_or("", |i| &after_scheme[i..]);
        format!("/.well-known/oauth-authorization-server{path}")
    }

    /// How long a revoked grant must be remembered so that nothing issued for it later can be
    /// stored: the longest time anything of the grant can still be presented.
    pub(crate) fn grant_memory(&self) -> Duration {
        self.code_lifetime.max(self.access_token_lifetime).max(self.refresh_token_lifetime)
    }
}

#[derive(Debug, Clone)]
struct ServerConfigValues {
    code_lifetime: Duration,
    access_token_lifetime: Duration,
    refresh_token_lifetime: Duration,
    refresh_token_idle_timeout: Option<Duration>,
    rotate_confidential_refresh_tokens: bool,
    refresh_grace_period: Option<Duration>,
    max_request_bytes: usize,
    localhost_any_port: bool,
    access_token_audience: Option<String>,
    access_token_format: AccessTokenFormat,
    paths: EndpointPaths,
    dpop: Option<DpopSettings>,
    dpop_nonce_secret_too_short: bool,
    assertion_audience: AssertionAudience,
    assertion_max_lifetime: Duration,
    pushed_requests: Option<PushedRequests>,
    fapi2: bool,
    device: Option<DeviceFlow>,
}

pub use builder::ServerConfigBuilder;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn az15_code_lifetime_defaults_to_60s_and_is_capped_at_10_minutes() {
        let c = ServerConfig::builder("https://as.example").build().unwrap();
        assert_eq!(c.code_lifetime(), Duration::seconds(60));
        let too_long = ServerConfig::builder("https://as.example").code_lifetime(Duration::seconds(601));
        assert_eq!(too_long.build().unwrap_err(), ConfigError::Lifetime("code_lifetime"));
        let zero = ServerConfig::builder("https://as.example").code_lifetime(Duration::ZERO);
        assert!(zero.build().is_err());
    }

    #[test]
    fn rt09_idle_timeout_and_grace_period_are_bounded() {
        let b = || ServerConfig::builder("https://as.example");
        assert!(b().refresh_token_idle_timeout(Some(Duration::days(31))).build().is_err());
        assert!(b().refresh_token_idle_timeout(None).build().is_ok());
        assert!(b().refresh_grace_period(Duration::seconds(61)).build().is_err());
        assert!(b().refresh_grace_period(Duration::ZERO).build().is_err());
        let c = b().refresh_grace_period(Duration::seconds(10)).build().unwrap();
        assert_eq!(c.refresh_grace_period(), Some(Duration::seconds(10)));
        assert!(c.rotate_confidential_refresh_tokens());
    }

    #[test]
    fn md01_metadata_path_inserts_the_well_known_name_before_the_issuer_path() {
        let at = |issuer: &str| ServerConfig::builder(issuer).build().unwrap().metadata_path();
        assert_eq!(at("https://as.example"), "/.well-known/oauth-authorization-server");
        assert_eq!(at("https://as.example/tenant/1"), "/.well-known/oauth-authorization-server/tenant/1");
        assert_eq!(at("http://127.0.0.1:8080"), "/.well-known/oauth-authorization-server");
    }

    #[test]
    fn sec08_request_limit_cannot_go_below_8000() {
        assert!(ServerConfig::builder("https://as.example").max_request_bytes(7999).build().is_err());
        assert!(ServerConfig::builder("https://as.example").max_request_bytes(8000).build().is_ok());
    }

    #[test]
    fn sec01_http_issuer_refused_unless_loopback() {
        assert!(ServerConfig::builder("http://as.example").build().is_err());
        assert!(ServerConfig::builder("http://127.0.0.1:8080").build().is_ok());
    }
}
