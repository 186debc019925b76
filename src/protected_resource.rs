//! Protected-resource metadata (RFC 9728; PRM-01): the document a resource server publishes so
//! that a client which only knows the resource's URL (an MCP client given a server URL, say)
//! finds the authorization server to get a token from, and what to ask for.
//!
//! The resource serves the document at its well-known URL
//! ([`ProtectedResourceMetadata::well_known_url`]) and names that URL in the
//! `resource_metadata` parameter of every `WWW-Authenticate` challenge
//! ([`BearerChecker::protected_resource`](crate::bearer::BearerChecker::protected_resource)),
//! so a client's first, tokenless request tells it where to look. The client then reads the
//! authorization server's own metadata (RFC 8414), registers if it must (RFC 7591), and asks for
//! a token with `resource` set to this resource (RFC 8707), whose `aud` the checker requires.
//!
//! ```
//! use oauth21::protected_resource::ProtectedResourceMetadata;
//! let metadata = ProtectedResourceMetadata::new("https://mcp.example/api")?
//!     .authorization_server("https://auth.example")
//!     .scopes_supported(["read", "write"]);
//! assert_eq!(metadata.well_known_url(), "https://mcp.example/.well-known/oauth-protected-resource/api");
//! assert_eq!(metadata.well_known_path(), "/.well-known/oauth-protected-resource/api");
//! let json: serde_json::Value = serde_json::from_slice(metadata.response().body())?;
//! assert_eq!(json["resource"], "https://mcp.example/api");
//! assert_eq!(json["authorization_servers"][0], "https://auth.example");
//! assert_eq!(json["bearer_methods_supported"][0], "header");
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```

use serde::Serialize;

use crate::http::Response;
use crate::types::Issuer;

/// The well-known path segment of RFC 9728 §3.
pub const WELL_KNOWN_SEGMENT: &str = "/.well-known/oauth-protected-resource";

/// A resource identifier that is not an `https` URL (or `http` on a loopback host) without
/// query, fragment or userinfo.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("a protected resource is an https URL (http only on a loopback host) without query, fragment or userinfo")]
pub struct InvalidResource;

/// The metadata document of one protected resource (RFC 9728 §2).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[non_exhaustive]
pub struct ProtectedResourceMetadata {
    /// `resource`: the resource identifier, exactly as tokens name it in `aud`.
    pub resource: String,
    /// `authorization_servers`: the issuers whose tokens the resource accepts.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub authorization_servers: Vec<String>,
    /// `scopes_supported`: the scopes the resource understands; omitted when empty.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub scopes_supported: Vec<String>,
    /// `bearer_methods_supported`: `["header"]`, the only method this crate reads (RS-02).
    pub bearer_methods_supported: Vec<&'static str>,
    /// `resource_name`: a human-readable name.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub resource_name: Option<String>,
    /// `dpop_signing_alg_values_supported`: listed when the resource accepts DPoP.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub dpop_signing_alg_values_supported: Vec<&'static str>,
    /// `dpop_bound_access_tokens_required`: whether every token must be DPoP-bound.
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    pub dpop_bound_access_tokens_required: bool,
}

impl ProtectedResourceMetadata {
    /// The document of the resource `resource`: an `https` URL (`http` on a loopback host, for
    /// development) without query, fragment or userinfo, kept exactly as given.
    pub fn new(resource: impl Into<String>) -> Result<Self, InvalidResource> {
        let resource = resource.into();
        // The issuer's rules, but a trailing slash is the resource's own business.
        let without_slash = resource.strip_suffix('/').unwrap_or(&resource);
        if Issuer::new(without_slash).is_err() || without_slash.ends_with('/') {
            return Err(InvalidResource);
        }
        Ok(Self {
            resource,
            authorization_servers: Vec::new(),
            scopes_supported: Vec::new(),
            bearer_methods_supported: vec!["header"],
            resource_name: None,
            dpop_signing_alg_values_supported: Vec::new(),
            dpop_bound_access_tokens_required: false,
        })
    }

    /// Adds an authorization server by its issuer identifier.
    pub fn authorization_server(mut self, issuer: impl Into<String>) -> Self {
        self.authorization_servers.push(issuer.into());
        self
    }

    /// Advertises `scopes` as `scopes_supported`.
    pub fn scopes_supported<S: Into<String>>(mut self, scopes: impl IntoIterator<Item = S>) -> Self {
        self.scopes_supported = scopes.into_iter().map(Into::into).collect();
        self
    }

    /// Sets `resource_name`.
    pub fn resource_name(mut self, name: impl Into<String>) -> Self {
        self.resource_name = Some(name.into());
        self
    }

    /// Lists the DPoP algorithms the checker accepts, and whether every token must be bound.
    pub fn dpop(mut self, bound_tokens_required: bool) -> Self {
        self.dpop_signing_alg_values_supported = crate::dpop::ALGORITHMS.iter().map(|a| a.name()).collect();
        self.dpop_bound_access_tokens_required = bound_tokens_required;
        self
    }

    /// Where the document is served (RFC 9728 §3.1): the well-known segment inserted between
    /// the host and the resource's path, a terminating slash removed.
    pub fn well_known_url(&self) -> String {
        let (origin, path) = self.split();
        format!("{origin}{WELL_KNOWN_SEGMENT}{path}")
    }

    /// The path of [`ProtectedResourceMetadata::well_known_url`], for the host's router.
    pub fn well_known_path(&self) -> String {
        let (_, path) = self.split();
        format!("{WELL_KNOWN_SEGMENT}{path}")
    }

    /// The origin (`scheme://authority`) and the path without a terminating slash.
    fn split(&self) -> (&str, &str) {
        let after_scheme = self.resource.find("://").map_or(0, |i| i + 3);
        let path_start = self.resource[after_scheme..].find('/').map_or(self.resource.len(), |i| after_scheme + i);
        let (origin, path) = self.resource.split_at(path_start);
        (origin, path.strip_suffix('/').unwrap_or(path))
    }

    /// The HTTP answer: 200, JSON, cacheable for an hour.
    pub fn response(&self) -> Response {
        Response::public_document(self)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn prm01_well_known_path_rule() {
        let cases = [
            ("https://r.example", "https://r.example/.well-known/oauth-protected-resource"),
            ("https://r.example/", "https://r.example/.well-known/oauth-protected-resource"),
            ("https://r.example/api/me", "https://r.example/.well-known/oauth-protected-resource/api/me"),
            ("https://r.example/api/", "https://r.example/.well-known/oauth-protected-resource/api"),
            ("http://127.0.0.1:8080/mcp", "http://127.0.0.1:8080/.well-known/oauth-protected-resource/mcp"),
        ];
        for (resource, url) in cases {
            assert_eq!(ProtectedResourceMetadata::new(resource).unwrap().well_known_url(), url, "{resource}");
        }
        for bad in [
            "http://r.example/api",
            "https://r.example/api?x=1",
            "https://r.example/#f",
            "https://u@r.example",
            "urn:x",
        ] {
            assert_eq!(ProtectedResourceMetadata::new(bad), Err(InvalidResource), "{bad}");
        }
    }
}
