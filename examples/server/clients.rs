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
    /// `"public"` or `"confidential"`; without it, what `token_endpoint_auth_method` implies
    /// (`none` is public, every other method confidential), else confidential when a `secret`
    /// or `jwks` is given and public otherwise.
    #[serde(rename = "type", default)]
    pub kind: Option<String>,
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
    /// RFC 7591 `token_endpoint_auth_method`: `none` (public), `client_secret_basic` or
    /// `client_secret_post` (confidential; default both), or `private_key_jwt` (confidential,
    /// with `jwks` and no `secret`).
    #[serde(default)]
    pub token_endpoint_auth_method: Option<String>,
    /// RFC 7591 `jwks`: the public keys (each with a `kid`) a `private_key_jwt` client signs
    /// its assertions with.
    #[serde(default)]
    pub jwks: Option<serde_json::Value>,
    /// RFC 7591 `token_endpoint_auth_signing_alg`: the one algorithm (`EdDSA`, `ES256` or
    /// `RS256`) a `private_key_jwt` client's assertions may use.
    #[serde(default)]
    pub token_endpoint_auth_signing_alg: Option<String>,
    /// RFC 9449 `dpop_bound_access_tokens`: every token of the client is DPoP-bound.
    #[serde(default)]
    pub dpop_bound_access_tokens: bool,
    /// RFC 9126 `require_pushed_authorization_requests`: the client's authorization requests
    /// must be pushed to `/par` first.
    #[serde(default)]
    pub require_pushed_authorization_requests: bool,
}

impl ClientSpec {
    /// Builds the registration, with the crate's validation.
    pub fn build(&self) -> Result<Client, Box<dyn std::error::Error>> {
        let id = &self.client_id;
        let method = self.token_endpoint_auth_method.as_deref();
        let kind = match (self.kind.as_deref(), method) {
            (Some(kind), _) => kind,
            (None, Some("none")) => "public",
            (None, Some(_)) => "confidential",
            (None, None) if self.secret.is_some() || self.jwks.is_some() => "confidential",
            (None, None) => "public",
        };
        let keyed = method == Some("private_key_jwt");
        if self.jwks.is_some() != keyed {
            return Err(
                format!("{id}: jwks goes with token_endpoint_auth_method private_key_jwt, and only with it").into()
            );
        }
        if self.token_endpoint_auth_signing_alg.is_some() && !keyed {
            return Err(format!("{id}: token_endpoint_auth_signing_alg applies to private_key_jwt only").into());
        }
        let mut builder = match (kind, &self.secret, &self.jwks) {
            ("confidential", None, Some(jwks)) => {
                let keys = oauth21::ClientKeys::from_jwks(jwks.to_string().as_bytes())
                    .map_err(|e| format!("{id}: jwks: {e}"))?;
                let mut builder = Client::private_key_jwt(&self.client_id, keys);
                if let Some(alg) = &self.token_endpoint_auth_signing_alg {
                    let alg = match alg.as_str() {
                        "EdDSA" => oauth21::jose::Algorithm::EdDSA,
                        "ES256" => oauth21::jose::Algorithm::ES256,
                        "RS256" => oauth21::jose::Algorithm::RS256,
                        other => {
                            return Err(
                                format!("{id}: token_endpoint_auth_signing_alg {other:?} is not supported").into()
                            );
                        }
                    };
                    builder = builder.assertion_alg(alg);
                }
                builder
            }
            ("confidential", Some(_), Some(_)) => {
                return Err(format!("{id}: a private_key_jwt client has no secret").into());
            }
            (_, _, Some(_)) => return Err(format!("{id}: a public client has no keys to authenticate with").into()),
            ("public", None, None) => Client::public(&self.client_id),
            ("confidential", Some(secret), None) => {
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
            ("public", Some(_), None) => {
                return Err(format!("{}: a public client has no secret", self.client_id).into());
            }
            ("confidential", None, None) => {
                return Err(format!("{}: a confidential client needs a secret or jwks", self.client_id).into());
            }
            (other, _, _) => {
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
        if self.dpop_bound_access_tokens {
            builder = builder.dpop_bound_access_tokens();
        }
        if self.require_pushed_authorization_requests {
            builder = builder.require_pushed_requests();
        }
        match method {
            None | Some("private_key_jwt") => {}
            Some("none") if kind == "public" => {}
            Some("none") => {
                return Err(format!("{id}: a confidential client cannot use token_endpoint_auth_method none").into());
            }
            Some(method @ ("client_secret_basic" | "client_secret_post")) if kind == "confidential" => {
                let method = if method == "client_secret_basic" {
                    oauth21::AuthMethod::ClientSecretBasic
                } else {
                    oauth21::AuthMethod::ClientSecretPost
                };
                builder = builder.auth_methods([method]);
            }
            Some("client_secret_basic" | "client_secret_post") => {
                return Err(format!("{id}: a public client has no secret to authenticate with").into());
            }
            Some(other) => return Err(format!("{id}: unknown token_endpoint_auth_method {other:?}").into()),
        }
        builder.build().map_err(|e| format!("{id}: {e}").into())
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
        // A TV or a CLI: the device flow (RFC 8628), then refresh.
        Client::public("demo-tv")
            .grant_types([GrantType::DeviceCode, GrantType::RefreshToken])
            .scope("read write")
            .default_scope("read write")
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
