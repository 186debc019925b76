//! Authorization server metadata (RFC 8414; MD-01..MD-06), built from the [`ServerConfig`].
//!
//! Only what the server really supports is listed, and empty lists are left out.

use serde::Serialize;

use crate::config::AccessTokenFormat;
use crate::config::ServerConfig;
use crate::http::Response;

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
    /// `["S256"]` (MD-04).
    pub code_challenge_methods_supported: Vec<&'static str>,
    /// `true`: `iss` is in every authorization response (MD-05).
    pub authorization_response_iss_parameter_supported: bool,
    /// The revocation endpoint URL.
    pub revocation_endpoint: String,
    /// How clients authenticate at the revocation endpoint.
    pub revocation_endpoint_auth_methods_supported: Vec<&'static str>,
    /// The introspection endpoint URL.
    pub introspection_endpoint: String,
    /// How callers authenticate at the introspection endpoint (confidential clients only).
    pub introspection_endpoint_auth_methods_supported: Vec<&'static str>,
    /// The JWKS URL, present when the server issues JWT access tokens (MD-03).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub jwks_uri: Option<String>,
}

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
            grant_types_supported: vec!["authorization_code", "refresh_token", "client_credentials"],
            token_endpoint_auth_methods_supported: vec!["client_secret_basic", "client_secret_post", "none"],
            code_challenge_methods_supported: vec!["S256"],
            authorization_response_iss_parameter_supported: true,
            revocation_endpoint: config.endpoint_url(&paths.revocation),
            revocation_endpoint_auth_methods_supported: vec!["client_secret_basic", "client_secret_post", "none"],
            introspection_endpoint: config.endpoint_url(&paths.introspection),
            introspection_endpoint_auth_methods_supported: vec!["client_secret_basic", "client_secret_post"],
            jwks_uri: (config.access_token_format() == AccessTokenFormat::Jwt)
                .then(|| config.endpoint_url(&paths.jwks)),
        }
    }

    /// Lists `jwks_uri` at the configured JWKS path.
    pub fn with_jwks_uri(mut self, config: &ServerConfig) -> Self {
        self.jwks_uri = Some(config.endpoint_url(&config.endpoint_paths().jwks));
        self
    }

    /// The HTTP answer: 200, JSON, cacheable for an hour (MD-01).
    pub fn response(&self) -> Response {
        match serde_json::to_vec(self) {
            Ok(body) => Response::new(200)
                .with_header("Content-Type", "application/json")
                .with_header("Cache-Control", "public, max-age=3600")
                .with_body(body),
            Err(_) => Response::new(500),
        }
    }
}
