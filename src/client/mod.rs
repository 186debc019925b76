//! Client registrations ([`Client`], built by [`ClientBuilder`]), registered redirect URIs
//! ([`RedirectUri`], AZ-04/05/07) and client authentication at the token endpoint
//! (TK-04..TK-08).
//!
//! Secrets are kept only as digests ([`StoredSecret`]) and checked in constant time against every
//! active one, so a client can hold several secrets while one is rotated out.

use std::fmt;
use std::sync::Arc;

use serde::{Deserialize, Serialize};

use crate::config::AccessTokenFormat;
use crate::jose::{Algorithm, KeySet};
use crate::types::{ClientId, ClientSecret, InvalidValue, Resource, Scope, TokenHash};

pub(crate) mod assertion;
mod auth;
mod builder;
mod display;
mod keys;
mod record;
mod redirect;

pub use crate::http::{BasicAuthError, basic_auth_header, parse_basic_auth};
pub use auth::{AuthFailure, ClientAuthError};
pub(crate) use auth::{Credentials, Proof as AuthProof, precheck, read_credentials};
pub use builder::ClientBuilder;
pub use display::ClientDisplay;
pub use keys::ClientKeys;
use record::ClientRecord;
pub use redirect::{RedirectUri, RedirectUriError};

/// A grant type a client may use at the token endpoint (TK-03).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
#[non_exhaustive]
pub enum GrantType {
    /// `authorization_code`
    AuthorizationCode,
    /// `refresh_token`
    RefreshToken,
    /// `client_credentials`
    ClientCredentials,
    /// `urn:ietf:params:oauth:grant-type:device_code` (RFC 8628): a device that cannot show a
    /// browser polls for the tokens a user approves elsewhere.
    #[serde(rename = "urn:ietf:params:oauth:grant-type:device_code")]
    DeviceCode,
}

impl GrantType {
    /// The `grant_type` value.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::AuthorizationCode => "authorization_code",
            Self::RefreshToken => "refresh_token",
            Self::ClientCredentials => "client_credentials",
            Self::DeviceCode => "urn:ietf:params:oauth:grant-type:device_code",
        }
    }

    /// Reads a `grant_type` value; `None` for grant types this crate does not know.
    pub fn parse(text: &str) -> Option<Self> {
        match text {
            "authorization_code" => Some(Self::AuthorizationCode),
            "refresh_token" => Some(Self::RefreshToken),
            "client_credentials" => Some(Self::ClientCredentials),
            "urn:ietf:params:oauth:grant-type:device_code" => Some(Self::DeviceCode),
            _ => None,
        }
    }
}

/// How a client authenticates at the token endpoint (RFC 8414 names).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
#[non_exhaustive]
pub enum AuthMethod {
    /// `client_secret_basic`: HTTP Basic with the form-urlencoded id and secret.
    ClientSecretBasic,
    /// `client_secret_post`: `client_id` and `client_secret` in the form body.
    ClientSecretPost,
    /// `none`: a public client that sends only its `client_id`.
    None,
    /// `private_key_jwt` (RFC 7523 §2.2): a JWT the client signs with one of its registered
    /// keys ([`ClientKeys`]).
    PrivateKeyJwt,
}

impl AuthMethod {
    /// The RFC 8414 name.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::ClientSecretBasic => "client_secret_basic",
            Self::ClientSecretPost => "client_secret_post",
            Self::None => "none",
            Self::PrivateKeyJwt => "private_key_jwt",
        }
    }
}

/// How one client secret is stored: never in the clear.
#[derive(Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "alg", content = "value", rename_all = "snake_case")]
#[non_exhaustive]
pub enum StoredSecret {
    /// SHA-256 of a secret with at least 128 bits of entropy, such as one made by
    /// [`ClientSecret::generate`]. A fast digest is enough for such secrets: nobody can search
    /// a 256-bit space, however fast each guess is (see docs/security.md).
    Sha256(TokenHash),
    /// A hash the host computes and checks itself, for legacy human-chosen secrets that need a
    /// slow, salted hash (argon2, scrypt, bcrypt): the host's own text, e.g. a PHC string.
    /// Checked through [`Hooks::verify_external_secret`](crate::hooks::Hooks::verify_external_secret).
    External(String),
}

impl fmt::Debug for StoredSecret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Self::Sha256(_) => "Sha256(<redacted>)",
            Self::External(_) => "External(<redacted>)",
        })
    }
}

/// Whether a client can keep a secret (SEC-07).
#[derive(Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
#[non_exhaustive]
pub enum ClientKind {
    /// A public client (a browser or native app): no secret, authenticates with `none`.
    Public,
    /// A confidential client: secrets, kept only as digests, and/or public keys for
    /// `private_key_jwt`. Other credentials (certificates) will join them here.
    #[non_exhaustive]
    Confidential {
        /// Every active secret.
        secrets: Vec<StoredSecret>,
        /// The authentication methods it may use.
        auth_methods: Vec<AuthMethod>,
        /// The public keys its client assertions are signed with (RFC 7591 `jwks`).
        #[serde(default, skip_serializing_if = "Option::is_none")]
        keys: Option<ClientKeys>,
        /// The one algorithm its assertions may use (`token_endpoint_auth_signing_alg`);
        /// without it, each key's own algorithm.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        assertion_alg: Option<Algorithm>,
    },
}

impl fmt::Debug for ClientKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Public => f.write_str("Public"),
            Self::Confidential { secrets, auth_methods, keys, assertion_alg } => f
                .debug_struct("Confidential")
                .field("secrets", &secrets.len())
                .field("auth_methods", auth_methods)
                .field("keys", keys)
                .field("assertion_alg", assertion_alg)
                .finish(),
        }
    }
}

/// Why a client registration was refused. Each case names what to fix.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum RegistrationError {
    /// The client id is malformed.
    #[error("client_id: {0}")]
    ClientId(InvalidValue),
    /// A redirect URI is not acceptable (AZ-07).
    #[error("redirect URI {uri:?}: {reason}")]
    RedirectUri {
        /// The URI as given.
        uri: String,
        /// What is wrong with it.
        reason: RedirectUriError,
    },
    /// The allowed or default scope is malformed (AZ-10).
    #[error("{0} is not a valid scope")]
    Scope(&'static str),
    /// The default scope asks for tokens the client is not allowed.
    #[error("the default scope must be within the allowed scope")]
    DefaultScopeNotAllowed,
    /// A public client was given a secret (SEC-07).
    #[error("a public client cannot have a secret")]
    PublicClientWithSecret,
    /// A confidential client has no secret.
    #[error("a confidential client needs at least one secret")]
    ConfidentialClientWithoutSecret,
    /// The client may use the authorization code grant but has no redirect URI.
    #[error("the authorization_code grant needs at least one redirect URI")]
    MissingRedirectUri,
    /// A public client was allowed the client credentials grant (CC-01).
    #[error("client_credentials is only for confidential clients")]
    PublicClientCredentials,
    /// A public client cannot authenticate, so it cannot be a resource server (IN-02).
    #[error("only confidential clients may introspect other clients' tokens")]
    PublicClientIntrospection,
    /// A grant type name this crate does not know.
    #[error("unknown grant type {0:?}")]
    UnknownGrantType(String),
    /// An authentication method that does not fit the client's kind.
    #[error("{0} is not an authentication method for this kind of client")]
    AuthMethod(&'static str),
    /// An empty client secret, which would authenticate anyone who sends the client id
    /// (TK-06).
    #[error("a client secret must not be empty")]
    EmptySecret,
    /// A secret shorter than [`MIN_SECRET_BYTES`] under the fast SHA-256 digest: too easy to
    /// guess. Generate one ([`ClientSecret::generate`]), keep a legacy one under a slow hash
    /// ([`ClientBuilder::external_secret`]), or opt in with [`ClientBuilder::allow_short_secrets`].
    #[error("a client secret kept as a SHA-256 digest must be at least 16 bytes (or use an external slow hash)")]
    WeakSecret,
    /// A registered resource (RFC 8707) is not an absolute URI without a fragment.
    #[error("resource {0:?} must be an absolute URI without a fragment")]
    Resource(String),
    /// A display member (RFC 7591 `client_name`, `client_uri`, `logo_uri`, `tos_uri`,
    /// `policy_uri`, `contacts`) is too long, has control characters, or is not an https URL.
    #[error("{0} is not acceptable")]
    Display(&'static str),
    /// A persisted client record of a version this crate does not read.
    #[error("client record version {0} is not supported")]
    UnsupportedVersion(u32),
}

/// SHA-256 of the empty string: a stored digest equal to it is an empty secret.
const EMPTY_SECRET_DIGEST: TokenHash = TokenHash::from_bytes([
    0xe3, 0xb0, 0xc4, 0x42, 0x98, 0xfc, 0x1c, 0x14, 0x9a, 0xfb, 0xf4, 0xc8, 0x99, 0x6f, 0xb9, 0x24, 0x27, 0xae, 0x41,
    0xe4, 0x64, 0x9b, 0x93, 0x4c, 0xa4, 0x95, 0x99, 0x1b, 0x78, 0x52, 0xb8, 0x55,
]);

/// The shortest client secret [`ClientBuilder::secret`] accepts by default: 16 bytes. A secret
/// kept as a fast digest must be unguessable by itself; [`ClientSecret::generate`] makes 43.
pub const MIN_SECRET_BYTES: usize = 16;

/// A registered client. Made by [`Client::public`] or [`Client::confidential`] and
/// [`ClientBuilder::build`], which check every field.
///
/// ```
/// use oauth21::{Client, ClientSecret, GrantType};
/// let app = Client::public("my-app")
///     .redirect_uri("http://127.0.0.1/callback")
///     .grant_types([GrantType::AuthorizationCode, GrantType::RefreshToken])
///     .scope("read write")
///     .default_scope("read")
///     .build()?;
/// assert!(app.is_public());
///
/// let web = Client::confidential("my-web", &ClientSecret::new("a long random secret"))
///     .redirect_uri("https://web.example/cb")
///     .scope("read")
///     .build()?;
/// assert!(!web.is_public());
/// # Ok::<(), oauth21::RegistrationError>(())
/// ```
///
/// # Persisted form
///
/// Stores keep clients as JSON through `serde`: the shape is a wire format, versioned by its
/// `"version"` member (1 today; a record without one is read as version 1, an unknown version
/// is refused). Reading a client runs every check [`ClientBuilder::build`] runs, so a record
/// edited or corrupted in the store can never grant what a registration could not.
///
/// Cloning a `Client` shares it (a reference count): stores hand out clones per request.
#[derive(Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(try_from = "ClientRecord", into = "ClientRecord")]
pub struct Client(Arc<ClientData>);

/// A client's registration, immutable once built.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct ClientData {
    id: ClientId,
    kind: ClientKind,
    redirect_uris: Vec<RedirectUri>,
    grant_types: Vec<GrantType>,
    scope: Scope,
    default_scope: Option<Scope>,
    /// May introspect every token, not only its own (a resource server; IN-02).
    introspect_any: bool,
    /// Overrides the server's access-token format for this client.
    access_token_format: Option<AccessTokenFormat>,
    /// Every token of this client must be DPoP-bound (RFC 9449 §5.2, DP-06).
    dpop_bound_access_tokens: bool,
    /// Its authorization requests must be pushed first (RFC 9126 §6, PAR-05).
    require_pushed_requests: bool,
    /// The resources (RFC 8707) it may ask tokens for, besides the server's default audience
    /// and what the host's policy allows (RI-01).
    resources: Vec<Resource>,
    /// What it says about itself, for the consent page.
    display: ClientDisplay,
}

impl std::fmt::Debug for Client {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let d = &self.0;
        f.debug_struct("Client")
            .field("id", &d.id)
            .field("kind", &d.kind)
            .field("redirect_uris", &d.redirect_uris)
            .field("grant_types", &d.grant_types)
            .field("scope", &d.scope)
            .field("default_scope", &d.default_scope)
            .field("introspect_any", &d.introspect_any)
            .field("access_token_format", &d.access_token_format)
            .field("dpop_bound_access_tokens", &d.dpop_bound_access_tokens)
            .field("require_pushed_requests", &d.require_pushed_requests)
            .field("resources", &d.resources)
            .field("display", &d.display)
            .finish()
    }
}

impl Client {
    pub(crate) fn from_data(data: ClientData) -> Self {
        Self(Arc::new(data))
    }

    /// Starts a public client registration.
    pub fn public(id: impl Into<String>) -> ClientBuilder {
        ClientBuilder::new(id.into(), true)
    }

    /// Starts a confidential client registration with its first secret.
    pub fn confidential(id: impl Into<String>, secret: &ClientSecret) -> ClientBuilder {
        ClientBuilder::new(id.into(), false).secret(secret)
    }

    /// Starts a confidential client that authenticates with `private_key_jwt` only, its
    /// assertions signed by one of `keys` (RFC 7523; no secret).
    pub fn private_key_jwt(id: impl Into<String>, keys: ClientKeys) -> ClientBuilder {
        ClientBuilder::new(id.into(), false).keys(keys)
    }

    /// The client's registered assertion keys and pinned algorithm, if it uses
    /// `private_key_jwt`.
    pub(crate) fn assertion_keys(&self) -> Option<(&KeySet, Option<Algorithm>)> {
        match &self.0.kind {
            ClientKind::Confidential { keys: Some(keys), assertion_alg, .. } => Some((keys.key_set(), *assertion_alg)),
            _ => None,
        }
    }

    /// The client id.
    pub fn id(&self) -> &ClientId {
        &self.0.id
    }

    /// Public or confidential, with the secret digests.
    pub fn kind(&self) -> &ClientKind {
        &self.0.kind
    }

    /// Whether this is a public client.
    pub fn is_public(&self) -> bool {
        matches!(self.0.kind, ClientKind::Public)
    }

    /// The registered redirect URIs.
    pub fn redirect_uris(&self) -> &[RedirectUri] {
        &self.0.redirect_uris
    }

    /// The grant types the client may use.
    pub fn grant_types(&self) -> &[GrantType] {
        &self.0.grant_types
    }

    /// Whether the client may use `grant`.
    pub fn allows_grant(&self, grant: GrantType) -> bool {
        self.0.grant_types.contains(&grant)
    }

    /// The scope the client may ask for.
    pub fn scope(&self) -> &Scope {
        &self.0.scope
    }

    /// The scope used when a request omits `scope`; without one, such requests fail (AZ-10).
    pub fn default_scope(&self) -> Option<&Scope> {
        self.0.default_scope.as_ref()
    }

    /// Whether the client may introspect tokens issued to other clients (a resource server).
    pub fn may_introspect_any_token(&self) -> bool {
        self.0.introspect_any
    }

    /// The access-token format registered for this client, overriding the server's.
    pub fn access_token_format(&self) -> Option<AccessTokenFormat> {
        self.0.access_token_format
    }

    /// Whether every token of this client must be DPoP-bound (`dpop_bound_access_tokens`).
    pub fn dpop_bound_access_tokens(&self) -> bool {
        self.0.dpop_bound_access_tokens
    }

    /// Whether this client's authorization requests must be pushed first
    /// (`require_pushed_authorization_requests`, RFC 9126 §6).
    pub fn require_pushed_requests(&self) -> bool {
        self.0.require_pushed_requests
    }

    /// The resources (RFC 8707) registered for this client: it may ask tokens for each (RI-01),
    /// besides the server's default audience and what
    /// [`Hooks::allow_resource`](crate::hooks::Hooks::allow_resource) allows.
    pub fn resources(&self) -> &[Resource] {
        &self.0.resources
    }

    /// What the client says about itself (unverified).
    pub fn display(&self) -> &ClientDisplay {
        &self.0.display
    }

    /// Checks `secret` against every active [`StoredSecret::Sha256`] digest, in constant time
    /// per digest and without stopping at the first match. External secrets are checked by the
    /// server through its hooks.
    pub fn verify_secret(&self, secret: &ClientSecret) -> bool {
        let ClientKind::Confidential { secrets, .. } = &self.0.kind else { return false };
        let presented = secret.hash();
        secrets.iter().fold(false, |found, stored| {
            found | matches!(stored, StoredSecret::Sha256(digest) if digest.ct_eq(&presented))
        })
    }

    /// The rules that relate one field to another, run by [`ClientBuilder::build`] and by every
    /// read of a persisted client, so no path yields a client a registration would refuse.
    fn check(&self) -> Result<(), RegistrationError> {
        self.0.display.check()?;
        if self.0.resources.len() > crate::audience::MAX_RESOURCES * 4 {
            return Err(RegistrationError::Resource("(more than 64 resources)".into()));
        }
        if self.allows_grant(GrantType::AuthorizationCode) && self.0.redirect_uris.is_empty() {
            return Err(RegistrationError::MissingRedirectUri);
        }
        if self.0.default_scope.as_ref().is_some_and(|default| !default.is_subset_of(&self.0.scope)) {
            return Err(RegistrationError::DefaultScopeNotAllowed);
        }
        match &self.0.kind {
            ClientKind::Public => {
                if self.allows_grant(GrantType::ClientCredentials) {
                    return Err(RegistrationError::PublicClientCredentials);
                }
                if self.0.introspect_any {
                    return Err(RegistrationError::PublicClientIntrospection);
                }
            }
            ClientKind::Confidential { secrets, auth_methods, keys, assertion_alg } => {
                if secrets.is_empty() && keys.is_none() {
                    return Err(RegistrationError::ConfidentialClientWithoutSecret);
                }
                if let Some(m) = auth_methods.iter().find(|m| **m == AuthMethod::None) {
                    return Err(RegistrationError::AuthMethod(m.as_str()));
                }
                let secret_method =
                    |m: &&AuthMethod| matches!(m, AuthMethod::ClientSecretBasic | AuthMethod::ClientSecretPost);
                if secrets.is_empty() && auth_methods.iter().any(|m| secret_method(&m)) {
                    return Err(RegistrationError::AuthMethod("a secret method without a secret"));
                }
                if auth_methods.contains(&AuthMethod::PrivateKeyJwt) != keys.is_some() {
                    return Err(RegistrationError::AuthMethod(
                        "private_key_jwt goes with registered keys, and only with them",
                    ));
                }
                if let (Some(alg), Some(keys)) = (assertion_alg, keys) {
                    if !keys.key_set().states().any(|(kid, _)| {
                        keys.key_set()
                            .verification_key(kid, time::OffsetDateTime::UNIX_EPOCH)
                            .is_some_and(|k| k.algorithm() == *alg)
                    }) {
                        return Err(RegistrationError::AuthMethod(
                            "token_endpoint_auth_signing_alg matches no registered key",
                        ));
                    }
                }
                if auth_methods.is_empty() {
                    return Err(RegistrationError::AuthMethod("an empty list"));
                }
                if secrets.iter().any(|s| matches!(s, StoredSecret::Sha256(d) if d.ct_eq(&EMPTY_SECRET_DIGEST))) {
                    return Err(RegistrationError::EmptySecret);
                }
            }
        }
        Ok(())
    }

    /// The external secret hashes of a confidential client.
    pub(crate) fn external_secrets(&self) -> impl Iterator<Item = &str> {
        let secrets = match &self.0.kind {
            ClientKind::Confidential { secrets, .. } => secrets.as_slice(),
            ClientKind::Public => &[],
        };
        secrets.iter().filter_map(|s| match s {
            StoredSecret::External(text) => Some(text.as_str()),
            StoredSecret::Sha256(_) => None,
        })
    }
}

impl crate::config::ServerConfig {
    /// Whether `client` may be served under this configuration: under the FAPI 2.0 profile,
    /// only confidential clients that authenticate with `private_key_jwt` alone (FAPI-01).
    /// Registration code calls this to refuse such clients up front with the reason; the server
    /// refuses their requests anyway.
    pub fn check_client(&self, client: &Client) -> Result<(), crate::config::ConfigError> {
        if !self.fapi2_security_profile() {
            return Ok(());
        }
        match client.kind() {
            ClientKind::Confidential { auth_methods, .. } if auth_methods.as_slice() == [AuthMethod::PrivateKeyJwt] => {
                Ok(())
            }
            ClientKind::Confidential { .. } => {
                Err(crate::config::ConfigError::Fapi2("clients authenticate with private_key_jwt only"))
            }
            _ => Err(crate::config::ConfigError::Fapi2("public clients are not allowed")),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sec07_registration_rules_for_client_kinds() {
        let s = ClientSecret::new("secret");
        let e = Client::public("a").redirect_uri("https://a.example/cb").secret(&s).build();
        assert_eq!(e.unwrap_err(), RegistrationError::PublicClientWithSecret);
        let e = ClientBuilder::new("b".into(), false).redirect_uri("https://a.example/cb").build();
        assert_eq!(e.unwrap_err(), RegistrationError::ConfidentialClientWithoutSecret);
        let e = Client::public("c").build();
        assert_eq!(e.unwrap_err(), RegistrationError::MissingRedirectUri);
        let e = Client::public("d").grant_types([GrantType::ClientCredentials]).build();
        assert_eq!(e.unwrap_err(), RegistrationError::PublicClientCredentials);
        let e = Client::public("e").redirect_uri("https://a.example/cb").scope("read").default_scope("write").build();
        assert_eq!(e.unwrap_err(), RegistrationError::DefaultScopeNotAllowed);
        let e = Client::public("").redirect_uri("https://a.example/cb").build();
        assert!(matches!(e.unwrap_err(), RegistrationError::ClientId(_)));
        let e = Client::public("f")
            .redirect_uri("https://a.example/cb")
            .grant_type_names(["authorization_code", "password"]);
        assert_eq!(e.build().unwrap_err(), RegistrationError::UnknownGrantType("password".into()));
    }

    #[test]
    fn sec10_several_secrets_verify_and_debug_hides_digests() {
        let old = ClientSecret::new("old-secret");
        let new = ClientSecret::new("new-secret");
        let c = Client::confidential("svc", &old)
            .allow_short_secrets()
            .secret(&new)
            .grant_types([GrantType::ClientCredentials])
            .build()
            .unwrap();
        assert!(c.verify_secret(&old));
        assert!(c.verify_secret(&new));
        assert!(!c.verify_secret(&ClientSecret::new("other")));
        assert!(!format!("{c:?}").contains(&old.hash().to_string()));
    }
}
