//! The server's client registrations: the `--clients FILE.json` format (RFC 7591 metadata names),
//! the demo clients, and the browser origins they allow to call `/token` and `/revoke` (CORS).

use oauth21::{Client, ClientSecret, GrantType};
use serde::Deserialize;

use super::APP_REDIRECT;

/// One client registration as written in a `--clients` JSON file.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ClientSpec {
    /// The client id.
    pub client_id: String,
    /// `"public"` or `"confidential"`.
    #[serde(rename = "type")]
    pub kind: String,
    /// The secret of a confidential client.
    #[serde(default)]
    pub secret: Option<String>,
    /// Registered redirect URIs.
    #[serde(default)]
    pub redirect_uris: Vec<String>,
    /// Grant type names.
    #[serde(default)]
    pub grant_types: Vec<String>,
    /// Allowed scope, space-separated.
    #[serde(default)]
    pub scope: String,
    /// Default scope, space-separated.
    #[serde(default)]
    pub default_scope: Option<String>,
    /// Whether it may introspect every token (a resource server).
    #[serde(default)]
    pub introspection: bool,
}

impl ClientSpec {
    /// Builds the registration, with the crate's validation.
    pub fn build(&self) -> Result<Client, Box<dyn std::error::Error>> {
        let mut builder = match (self.kind.as_str(), &self.secret) {
            ("public", None) => Client::public(&self.client_id),
            ("confidential", Some(secret)) => {
                // A file of demo clients may carry short secrets; the core refuses them unless
                // told, and an empty one always (it would authenticate anyone).
                if !secret.is_empty() && secret.len() < oauth21::client::MIN_SECRET_BYTES {
                    eprintln!(
                        "warning: {}: secret shorter than {} bytes, accepted for this demo server only",
                        self.client_id,
                        oauth21::client::MIN_SECRET_BYTES
                    );
                }
                Client::confidential(&self.client_id, &ClientSecret::new(secret)).allow_short_secrets()
            }
            ("public", Some(_)) => return Err(format!("{}: a public client has no secret", self.client_id).into()),
            ("confidential", None) => {
                return Err(format!("{}: a confidential client needs a secret", self.client_id).into());
            }
            (other, _) => {
                return Err(format!("{}: type must be public or confidential, not {other:?}", self.client_id).into());
            }
        };
        for uri in &self.redirect_uris {
            builder = builder.redirect_uri(uri);
        }
        if !self.grant_types.is_empty() {
            builder = builder.grant_type_names(self.grant_types.iter().map(String::as_str));
        }
        builder = builder.scope(&self.scope);
        if let Some(default) = &self.default_scope {
            builder = builder.default_scope(default);
        }
        if self.introspection {
            builder = builder.may_introspect_any_token();
        }
        builder.build().map_err(|e| format!("{}: {e}", self.client_id).into())
    }
}

/// The demo registrations: `demo-app` (public), `demo-web` and `demo-service` (confidential).
pub fn demo_clients() -> Result<Vec<Client>, Box<dyn std::error::Error>> {
    let code_grants = [GrantType::AuthorizationCode, GrantType::RefreshToken];
    Ok(vec![
        Client::public("demo-app")
            .redirect_uri(APP_REDIRECT)
            .grant_types(code_grants)
            .scope("read write")
            .default_scope("read")
            .build()?,
        Client::confidential("demo-web", &ClientSecret::new("demo-web-secret"))
            .allow_short_secrets()
            .redirect_uri(APP_REDIRECT)
            .grant_types(code_grants)
            .scope("read write")
            .default_scope("read")
            .build()?,
        Client::confidential("demo-service", &ClientSecret::new("demo-service-secret"))
            .grant_types([GrantType::ClientCredentials])
            .scope("read write")
            .default_scope("read write")
            .may_introspect_any_token()
            .build()?,
    ])
}

/// The browser origins that may call `/token` and `/revoke` (CORS): those of the registered
/// clients' http(s) redirect URIs, loopback ones on any port (as RFC 8252 matches them). Never
/// `*`, and never for `/authorize`, which browsers reach by navigation only.
#[derive(Clone, Debug, Default)]
pub struct CorsOrigins(Vec<(String, Option<String>)>);

impl CorsOrigins {
    /// The origins of `clients`' redirect URIs.
    pub fn of(clients: &[Client]) -> Self {
        let mut origins = Vec::new();
        for uri in clients.iter().flat_map(|c| c.redirect_uris()) {
            let Some((scheme, host, port)) = split_origin(uri.as_str()) else { continue };
            let loopback = scheme == "http" && matches!(host, "127.0.0.1" | "[::1]");
            let origin = (format!("{scheme}://{host}"), if loopback { None } else { Some(port.to_owned()) });
            if !origins.contains(&origin) {
                origins.push(origin);
            }
        }
        Self(origins)
    }

    /// Whether a request's `Origin` header names an allowed origin.
    pub fn allows(&self, origin: &str) -> bool {
        let Some((scheme, host, port)) = split_origin(origin) else { return false };
        // An Origin is exactly scheme://host[:port]: nothing may follow.
        if origin.len() != scheme.len() + 3 + host.len() + if port.is_empty() { 0 } else { port.len() + 1 } {
            return false;
        }
        let base = format!("{scheme}://{host}");
        self.0.iter().any(|(b, p)| *b == base && p.as_deref().is_none_or(|p| p == port))
    }
}

/// `scheme`, `host` and `port` ("" when absent) of an http(s) URI.
fn split_origin(uri: &str) -> Option<(&str, &str, &str)> {
    let (scheme, rest) = uri.split_once("://")?;
    if scheme != "http" && scheme != "https" {
        return None;
    }
    let authority = &rest[..rest.find(['/', '?', '#']).unwrap_or(rest.len())];
    let (host, port) = match authority.rfind(':') {
        Some(i) if !authority[i..].contains(']') => (&authority[..i], &authority[i + 1..]),
        _ => (authority, ""),
    };
    (!host.is_empty()).then_some((scheme, host, port))
}
