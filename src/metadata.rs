//! Authorization server metadata (RFC 8414; MD-01..MD-06), built from the [`ServerConfig`].
//!
//! Only what the server really supports is listed, and empty lists are left out.

use serde::Serialize;

use crate::config::AccessTokenFormat;
use crate::config::ServerConfig;
use crate::http::Response;

/// The algorithms client assertions are verified with.
const ASSERTION_ALGS: [&str; 3] = ["EdDSA", "ES256", "RS256"];

/// Members the configuration owns even when this document omits them (an absent `jwks_uri`
/// must not be filled in by hand).
const RESERVED: [&str; 6] = [
    "issuer",
    "jwks_uri",
    "scopes_supported",
    "pushed_authorization_request_endpoint",
    "registration_endpoint",
    "device_authorization_endpoint",
];

/// The metadata document. Serialise it, or use [`Server::metadata`](crate::Server::metadata)
/// for the ready HTTP answer.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[non_exhaustive]
pub struct Metadata {
    /// The issuer, identical to `iss` in authorization responses (MD-02).
    pub issuer: String,
    /// The authorization endpoint URL.
    pub authorization_endpoint: String,
    /// The token endpoint URL.
    pub token_endpoint: String,
    /// `["code"]`.
    pub response_types_supported: Vec<&'static str>,
    /// `["query"]`: responses are always in the query (AZ-14).
    pub response_modes_supported: Vec<&'static str>,
    /// The grant types the token endpoint serves.
    pub grant_types_supported: Vec<&'static str>,
    /// How clients authenticate at the token endpoint.
    pub token_endpoint_auth_methods_supported: Vec<&'static str>,
    /// The algorithms `private_key_jwt` assertions may use at the token endpoint.
    pub token_endpoint_auth_signing_alg_values_supported: Vec<&'static str>,
    /// `["S256"]` (MD-04).
    pub code_challenge_methods_supported: Vec<&'static str>,
    /// `true`: `iss` is in every authorization response (MD-05).
    pub authorization_response_iss_parameter_supported: bool,
    /// The revocation endpoint URL.
    pub revocation_endpoint: String,
    /// How clients authenticate at the revocation endpoint.
    pub revocation_endpoint_auth_methods_supported: Vec<&'static str>,
    /// The algorithms `private_key_jwt` assertions may use at the revocation endpoint.
    pub revocation_endpoint_auth_signing_alg_values_supported: Vec<&'static str>,
    /// The introspection endpoint URL.
    pub introspection_endpoint: String,
    /// How callers authenticate at the introspection endpoint (confidential clients only).
    pub introspection_endpoint_auth_methods_supported: Vec<&'static str>,
    /// The algorithms `private_key_jwt` assertions may use at the introspection endpoint.
    pub introspection_endpoint_auth_signing_alg_values_supported: Vec<&'static str>,
    /// The JWKS URL, present when the server issues JWT access tokens (MD-03).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub jwks_uri: Option<String>,
    /// The algorithms DPoP proofs may use (RFC 9449 §5.1), when DPoP is on.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub dpop_signing_alg_values_supported: Vec<&'static str>,
    /// The pushed authorization request endpoint (RFC 9126 §5), when pushed requests are on.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub pushed_authorization_request_endpoint: Option<String>,
    /// Whether every authorization request must be pushed first (RFC 9126 §5; PAR-05).
    pub require_pushed_authorization_requests: bool,
    /// The device authorization endpoint (RFC 8628 §4), when the device flow is on.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub device_authorization_endpoint: Option<String>,
    /// The dynamic client registration endpoint (RFC 7591), when registration is enabled.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub registration_endpoint: Option<String>,
    /// The scopes the host chooses to advertise (RFC 8414 RECOMMENDED); omitted when empty.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub scopes_supported: Vec<String>,
    /// Further members the host publishes (a `service_documentation` URL, say), after the
    /// standard ones; set through [`Metadata::with_member`], which refuses the names above.
    #[serde(flatten)]
    extra: std::collections::BTreeMap<String, serde_json::Value>,
}

/// A member name [`Metadata::with_member`] refuses: the crate sets it from the configuration.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("metadata member {0:?} is set by the server's configuration")]
pub struct ReservedMember(pub String);

impl Metadata {
    /// The document for `config`; `jwks_uri` is listed when the server's access-token format
    /// is JWT. A server that issues JWTs only to some clients lists it with
    /// [`Metadata::with_jwks_uri`] ([`Server::metadata`](crate::Server::metadata) does so
    /// whenever it has JWT keys).
    pub fn new(config: &ServerConfig) -> Self {
        let paths = config.endpoint_paths();
        Self {
            issuer: config.issuer().as_str().to_owned(),
            authorization_endpoint: config.endpoint_url(&paths.authorization),
            token_endpoint: config.endpoint_url(&paths.token),
            response_types_supported: vec!["code"],
            response_modes_supported: vec!["query"],
            grant_types_supported: {
                let mut grants = vec!["authorization_code", "refresh_token", "client_credentials"];
                if config.device_verification_uri().is_some() {
                    grants.push(crate::client::GrantType::DeviceCode.as_str());
                }
                grants
            },
            token_endpoint_auth_methods_supported: auth_methods(config, true),
            token_endpoint_auth_signing_alg_values_supported: ASSERTION_ALGS.to_vec(),
            code_challenge_methods_supported: vec!["S256"],
            authorization_response_iss_parameter_supported: true,
            revocation_endpoint: config.endpoint_url(&paths.revocation),
            revocation_endpoint_auth_methods_supported: auth_methods(config, true),
            revocation_endpoint_auth_signing_alg_values_supported: ASSERTION_ALGS.to_vec(),
            introspection_endpoint: config.endpoint_url(&paths.introspection),
            introspection_endpoint_auth_methods_supported: auth_methods(config, false),
            introspection_endpoint_auth_signing_alg_values_supported: ASSERTION_ALGS.to_vec(),
            jwks_uri: (config.access_token_format() == AccessTokenFormat::Jwt)
                .then(|| config.endpoint_url(&paths.jwks)),
            dpop_signing_alg_values_supported: match config.dpop_window() {
                Some(_) => crate::dpop::ALGORITHMS.iter().map(|a| a.name()).collect(),
                None => Vec::new(),
            },
            pushed_authorization_request_endpoint: config
                .pushed_request_lifetime()
                .map(|_| config.endpoint_url(&paths.pushed_authorization_request)),
            require_pushed_authorization_requests: config.requires_pushed_requests(),
            registration_endpoint: None,
            device_authorization_endpoint: config
                .device_verification_uri()
                .map(|_| config.endpoint_url(&paths.device_authorization)),
            scopes_supported: Vec::new(),
            extra: std::collections::BTreeMap::new(),
        }
    }

    /// Advertises `scopes` as `scopes_supported`.
    pub fn with_scopes_supported<S: Into<String>>(mut self, scopes: impl IntoIterator<Item = S>) -> Self {
        self.scopes_supported = scopes.into_iter().map(Into::into).collect();
        self
    }

    /// Adds the member `name` with `value` (RFC 8414 §2 lets a server publish more): a name the
    /// crate sets itself is refused, so the document never carries two values for one name.
    ///
    /// ```
    /// # use oauth21::{Metadata, ServerConfig};
    /// let config = ServerConfig::builder("https://as.example").build()?;
    /// let metadata = Metadata::new(&config)
    ///     .with_scopes_supported(["read", "write"])
    ///     .with_member("service_documentation", "https://as.example/docs".into())?;
    /// let json: serde_json::Value = serde_json::from_slice(metadata.response().body())?;
    /// assert_eq!(json["scopes_supported"][1], "write");
    /// assert_eq!(json["service_documentation"], "https://as.example/docs");
    /// assert!(Metadata::new(&config).with_member("issuer", "https://evil.example".into()).is_err());
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn with_member(mut self, name: impl Into<String>, value: serde_json::Value) -> Result<Self, ReservedMember> {
        let name = name.into();
        let standard = serde_json::to_value(Metadata { extra: Default::default(), ..self.clone() })
            .ok()
            .and_then(|v| v.as_object().map(|o| o.contains_key(&name)))
            .unwrap_or(true);
        if standard || RESERVED.contains(&name.as_str()) {
            return Err(ReservedMember(name));
        }
        self.extra.insert(name, value);
        Ok(self)
    }

    /// Lists `registration_endpoint` at the configured path
    /// ([`Server::metadata`](crate::Server::metadata) does so when registration is enabled).
    pub fn with_registration_endpoint(mut self, config: &ServerConfig) -> Self {
        self.registration_endpoint = Some(config.endpoint_url(&config.endpoint_paths().registration));
        self
    }

    /// Lists `jwks_uri` at the configured JWKS path.
    pub fn with_jwks_uri(mut self, config: &ServerConfig) -> Self {
        self.jwks_uri = Some(config.endpoint_url(&config.endpoint_paths().jwks));
        self
    }

    /// The HTTP answer: 200, JSON, cacheable for an hour (MD-01).
    pub fn response(&self) -> Response {
        Response::public_document(self)
    }
}

/// The client authentication methods an endpoint accepts: `private_key_jwt` alone under the
/// FAPI 2.0 profile (FAPI-01); otherwise the secret methods, `private_key_jwt`, and `none` where
/// public clients are served.
fn auth_methods(config: &ServerConfig, public_clients: bool) -> Vec<&'static str> {
    if config.fapi2_security_profile() {
        return vec!["private_key_jwt"];
    }
    let mut methods = vec!["client_secret_basic", "client_secret_post", "private_key_jwt"];
    if public_clients {
        methods.push("none");
    }
    methods
}
