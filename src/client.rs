//! Client registrations ([`Client`], built by [`ClientBuilder`]), registered redirect URIs
//! ([`RedirectUri`], AZ-04/05/07) and client authentication at the token endpoint
//! (TK-04..TK-08).
//!
//! Secrets are kept only as digests ([`StoredSecret`]) and checked in constant time against every
//! active one, so a client can hold several secrets while one is rotated out.

use std::fmt;

use serde::{Deserialize, Serialize};

use crate::http::{Params, Request, parse_basic_auth};
use crate::jwt::AccessTokenFormat;
use crate::types::{ClientId, ClientSecret, InvalidValue, Scope, TokenHash, split_port};

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
}

impl GrantType {
    /// The `grant_type` value.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::AuthorizationCode => "authorization_code",
            Self::RefreshToken => "refresh_token",
            Self::ClientCredentials => "client_credentials",
        }
    }

    /// Reads a `grant_type` value; `None` for grant types this crate does not know.
    pub fn parse(text: &str) -> Option<Self> {
        match text {
            "authorization_code" => Some(Self::AuthorizationCode),
            "refresh_token" => Some(Self::RefreshToken),
            "client_credentials" => Some(Self::ClientCredentials),
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
}

impl AuthMethod {
    /// The RFC 8414 name.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::ClientSecretBasic => "client_secret_basic",
            Self::ClientSecretPost => "client_secret_post",
            Self::None => "none",
        }
    }
}

/// How one client secret is stored: never in the clear.
#[derive(Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "alg", content = "value", rename_all = "snake_case")]
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
pub enum ClientKind {
    /// A public client (a browser or native app): no secret, authenticates with `none`.
    Public,
    /// A confidential client: one or more secrets, kept only as digests.
    Confidential {
        /// Every active secret.
        secrets: Vec<StoredSecret>,
        /// The authentication methods it may use (a subset of basic and post).
        auth_methods: Vec<AuthMethod>,
    },
}

impl fmt::Debug for ClientKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Public => f.write_str("Public"),
            Self::Confidential { secrets, auth_methods } => f
                .debug_struct("Confidential")
                .field("secrets", &secrets.len())
                .field("auth_methods", auth_methods)
                .finish(),
        }
    }
}

/// Why a redirect URI cannot be registered (AZ-07).
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum RedirectUriError {
    /// Not an absolute URI with a scheme.
    #[error("must be an absolute URI")]
    NotAbsolute,
    /// The scheme has characters outside `[a-z0-9+.-]` or upper case.
    #[error("the scheme must be lower case letters, digits, '+', '-' or '.'")]
    BadScheme,
    /// Has a fragment.
    #[error("must not contain a fragment")]
    Fragment,
    /// Has userinfo (`user@host`).
    #[error("must not contain userinfo")]
    Userinfo,
    /// `http` on a host other than a loopback one.
    #[error("http is allowed only for loopback hosts (127.0.0.1, [::1], localhost)")]
    InsecureHttp,
    /// The host or port is missing or malformed.
    #[error("the host or port is malformed")]
    BadAuthority,
    /// A private-use scheme that is not in reverse domain name form.
    #[error("a private-use scheme must be a reverse domain name (contain a '.')")]
    PrivateSchemeWithoutDot,
    /// The query already holds a parameter the authorization response adds (`code`, `state`,
    /// `iss`, `error`, ...), which would make the response ambiguous.
    #[error("the query must not contain code, state, iss, error, error_description or error_uri")]
    ReservedQueryParameter,
    /// Whitespace, control or non-ASCII characters, or longer than 2048 bytes.
    #[error("must be at most 2048 visible ASCII characters (percent-encode the rest)")]
    BadCharacters,
}

/// A registered redirect URI, validated (AZ-07) and kept as the exact text registered.
///
/// Matching is exact string comparison (AZ-04), except that for `http` on a loopback IP literal
/// the port is ignored (AZ-05, RFC 8252 §7.3).
#[derive(Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct RedirectUri(String);

/// `http://` URI split around its port: (host, port, path-query-fragment).
fn split_http_uri(uri: &str) -> Option<(&str, Option<&str>, &str)> {
    let rest = uri.strip_prefix("http://")?;
    let end = rest.find(['/', '?', '#']).unwrap_or(rest.len());
    let (authority, tail) = rest.split_at(end);
    if authority.contains('@') {
        return None;
    }
    let (host, port) = split_port(authority)?;
    Some((host, port, tail))
}

impl RedirectUri {
    /// Validates `uri` for registration (AZ-07).
    pub fn new(uri: impl Into<String>) -> Result<Self, RedirectUriError> {
        let uri = uri.into();
        if uri.is_empty() || uri.len() > 2048 || !uri.bytes().all(|b| b.is_ascii_graphic()) {
            return Err(RedirectUriError::BadCharacters);
        }
        let (scheme, rest) = uri.split_once(':').ok_or(RedirectUriError::NotAbsolute)?;
        let scheme_ok = scheme.as_bytes().first().is_some_and(u8::is_ascii_lowercase)
            && scheme.bytes().all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || matches!(b, b'+' | b'-' | b'.'));
        if !scheme_ok {
            return Err(if scheme.is_empty() { RedirectUriError::NotAbsolute } else { RedirectUriError::BadScheme });
        }
        if rest.is_empty() {
            return Err(RedirectUriError::NotAbsolute);
        }
        if uri.contains('#') {
            return Err(RedirectUriError::Fragment);
        }
        let authority = rest.strip_prefix("//").map(|r| &r[..r.find(['/', '?']).unwrap_or(r.len())]);
        if authority.is_some_and(|a| a.contains('@')) {
            return Err(RedirectUriError::Userinfo);
        }
        match scheme {
            "https" | "http" => {
                let authority = authority.ok_or(RedirectUriError::NotAbsolute)?;
                let (host, _) = split_port(authority).ok_or(RedirectUriError::BadAuthority)?;
                if host.starts_with('[') && !host.ends_with(']') {
                    return Err(RedirectUriError::BadAuthority);
                }
                if scheme == "http" && !matches!(host, "127.0.0.1" | "[::1]" | "localhost") {
                    return Err(RedirectUriError::InsecureHttp);
                }
            }
            _ if !scheme.contains('.') => return Err(RedirectUriError::PrivateSchemeWithoutDot),
            _ => {}
        }
        if let Some((_, query)) = uri.split_once('?') {
            const RESERVED: [&str; 6] = ["code", "state", "iss", "error", "error_description", "error_uri"];
            let names = query.split('&').map(|pair| pair.split('=').next().unwrap_or(""));
            if names.into_iter().any(|name| RESERVED.contains(&name)) {
                return Err(RedirectUriError::ReservedQueryParameter);
            }
        }
        Ok(Self(uri))
    }

    /// The URI exactly as registered.
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// Whether `requested` (a `redirect_uri` parameter) matches this registration.
    ///
    /// Exact, case-sensitive string comparison (AZ-04). For `http://127.0.0.1` and
    /// `http://[::1]` (and `http://localhost` when `localhost_any_port`), any port matches
    /// while the host and everything after the port must still be identical (AZ-05).
    pub fn matches(&self, requested: &str, localhost_any_port: bool) -> bool {
        if self.0 == requested {
            return true;
        }
        let (Some((host, _, tail)), Some((req_host, _, req_tail))) =
            (split_http_uri(&self.0), split_http_uri(requested))
        else {
            return false;
        };
        let loopback = matches!(host, "127.0.0.1" | "[::1]") || (localhost_any_port && host == "localhost");
        loopback && host == req_host && tail == req_tail
    }
}

impl TryFrom<String> for RedirectUri {
    type Error = RedirectUriError;
    fn try_from(value: String) -> Result<Self, RedirectUriError> {
        Self::new(value)
    }
}

impl From<RedirectUri> for String {
    fn from(value: RedirectUri) -> String {
        value.0
    }
}

impl fmt::Debug for RedirectUri {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "RedirectUri({:?})", self.0)
    }
}

impl fmt::Display for RedirectUri {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
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
}

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
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Client {
    id: ClientId,
    kind: ClientKind,
    redirect_uris: Vec<RedirectUri>,
    grant_types: Vec<GrantType>,
    scope: Scope,
    default_scope: Option<Scope>,
    /// May introspect every token, not only its own (a resource server; IN-02).
    #[serde(default)]
    introspect_any: bool,
    /// Overrides the server's access-token format for this client.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    access_token_format: Option<AccessTokenFormat>,
}

impl Client {
    /// Starts a public client registration.
    pub fn public(id: impl Into<String>) -> ClientBuilder {
        ClientBuilder::new(id.into(), true)
    }

    /// Starts a confidential client registration with its first secret.
    pub fn confidential(id: impl Into<String>, secret: &ClientSecret) -> ClientBuilder {
        ClientBuilder::new(id.into(), false).secret(secret)
    }

    /// The client id.
    pub fn id(&self) -> &ClientId {
        &self.id
    }

    /// Public or confidential, with the secret digests.
    pub fn kind(&self) -> &ClientKind {
        &self.kind
    }

    /// Whether this is a public client.
    pub fn is_public(&self) -> bool {
        matches!(self.kind, ClientKind::Public)
    }

    /// The registered redirect URIs.
    pub fn redirect_uris(&self) -> &[RedirectUri] {
        &self.redirect_uris
    }

    /// The grant types the client may use.
    pub fn grant_types(&self) -> &[GrantType] {
        &self.grant_types
    }

    /// Whether the client may use `grant`.
    pub fn allows_grant(&self, grant: GrantType) -> bool {
        self.grant_types.contains(&grant)
    }

    /// The scope the client may ask for.
    pub fn scope(&self) -> &Scope {
        &self.scope
    }

    /// The scope used when a request omits `scope`; without one, such requests fail (AZ-10).
    pub fn default_scope(&self) -> Option<&Scope> {
        self.default_scope.as_ref()
    }

    /// Whether the client may introspect tokens issued to other clients (a resource server).
    pub fn may_introspect_any_token(&self) -> bool {
        self.introspect_any
    }

    /// The access-token format registered for this client, overriding the server's.
    pub fn access_token_format(&self) -> Option<AccessTokenFormat> {
        self.access_token_format
    }

    /// Checks `secret` against every active [`StoredSecret::Sha256`] digest, in constant time
    /// per digest and without stopping at the first match. External secrets are checked by the
    /// server through its hooks.
    pub fn verify_secret(&self, secret: &ClientSecret) -> bool {
        let ClientKind::Confidential { secrets, .. } = &self.kind else { return false };
        let presented = secret.hash();
        secrets.iter().fold(false, |found, stored| {
            found | matches!(stored, StoredSecret::Sha256(digest) if digest.ct_eq(&presented))
        })
    }

    /// The external secret hashes of a confidential client.
    pub(crate) fn external_secrets(&self) -> impl Iterator<Item = &str> {
        let secrets = match &self.kind {
            ClientKind::Confidential { secrets, .. } => secrets.as_slice(),
            ClientKind::Public => &[],
        };
        secrets.iter().filter_map(|s| match s {
            StoredSecret::External(text) => Some(text.as_str()),
            StoredSecret::Sha256(_) => None,
        })
    }
}

/// Builds a [`Client`]; nothing is checked until [`ClientBuilder::build`].
#[derive(Debug, Clone)]
#[must_use]
pub struct ClientBuilder {
    id: String,
    public: bool,
    secrets: Vec<StoredSecret>,
    auth_methods: Option<Vec<AuthMethod>>,
    redirect_uris: Vec<String>,
    grant_types: Vec<GrantType>,
    unknown_grant_type: Option<String>,
    scope: String,
    default_scope: Option<String>,
    introspect_any: bool,
    access_token_format: Option<AccessTokenFormat>,
}

impl ClientBuilder {
    fn new(id: String, public: bool) -> Self {
        Self {
            id,
            public,
            secrets: Vec::new(),
            auth_methods: None,
            redirect_uris: Vec::new(),
            grant_types: Vec::new(),
            unknown_grant_type: None,
            scope: String::new(),
            default_scope: None,
            introspect_any: false,
            access_token_format: None,
        }
    }

    /// Adds an active secret (only its digest is kept). Several may be active at once.
    pub fn secret(self, secret: &ClientSecret) -> Self {
        self.secret_hash(secret.hash())
    }

    /// Adds an active secret by its SHA-256 digest, for registrations loaded from storage.
    pub fn secret_hash(mut self, digest: TokenHash) -> Self {
        self.secrets.push(StoredSecret::Sha256(digest));
        self
    }

    /// Adds an active secret stored under the host's own (slow) hash, checked through
    /// [`Hooks::verify_external_secret`](crate::hooks::Hooks::verify_external_secret).
    pub fn external_secret(mut self, stored: impl Into<String>) -> Self {
        self.secrets.push(StoredSecret::External(stored.into()));
        self
    }

    /// Adds a redirect URI.
    pub fn redirect_uri(mut self, uri: impl Into<String>) -> Self {
        self.redirect_uris.push(uri.into());
        self
    }

    /// Sets the grant types (default: `authorization_code` only).
    pub fn grant_types(mut self, grants: impl IntoIterator<Item = GrantType>) -> Self {
        self.grant_types = grants.into_iter().collect();
        self
    }

    /// Sets the grant types by name, as they come from configuration files; an unknown name
    /// fails [`ClientBuilder::build`].
    pub fn grant_type_names<'a>(mut self, names: impl IntoIterator<Item = &'a str>) -> Self {
        self.grant_types.clear();
        for name in names {
            match GrantType::parse(name) {
                Some(grant) => self.grant_types.push(grant),
                None => self.unknown_grant_type = self.unknown_grant_type.or_else(|| Some(name.to_owned())),
            }
        }
        self
    }

    /// Sets the scope the client may ask for (space-separated tokens).
    pub fn scope(mut self, scope: impl Into<String>) -> Self {
        self.scope = scope.into();
        self
    }

    /// Sets the scope granted when a request omits `scope`.
    pub fn default_scope(mut self, scope: impl Into<String>) -> Self {
        self.default_scope = Some(scope.into());
        self
    }

    /// Lets this (confidential) client introspect every token, as a resource server does
    /// (IN-02). Without it a client may introspect only tokens issued to itself.
    pub fn may_introspect_any_token(mut self) -> Self {
        self.introspect_any = true;
        self
    }

    /// Issues this client's access tokens in `format`, whatever the server's default: JWTs
    /// for a client whose APIs verify tokens offline, say.
    pub fn access_token_format(mut self, format: AccessTokenFormat) -> Self {
        self.access_token_format = Some(format);
        self
    }

    /// Restricts the token-endpoint authentication methods of a confidential client
    /// (default: `client_secret_basic` and `client_secret_post`).
    pub fn auth_methods(mut self, methods: impl IntoIterator<Item = AuthMethod>) -> Self {
        self.auth_methods = Some(methods.into_iter().collect());
        self
    }

    /// Checks every field and returns the registration.
    pub fn build(self) -> Result<Client, RegistrationError> {
        let id = ClientId::new(self.id).map_err(RegistrationError::ClientId)?;
        let redirect_uris = self
            .redirect_uris
            .into_iter()
            .map(|uri| RedirectUri::new(uri.clone()).map_err(|reason| RegistrationError::RedirectUri { uri, reason }))
            .collect::<Result<Vec<_>, _>>()?;
        if let Some(name) = self.unknown_grant_type {
            return Err(RegistrationError::UnknownGrantType(name));
        }
        let mut grant_types = self.grant_types;
        if grant_types.is_empty() {
            grant_types.push(GrantType::AuthorizationCode);
        }
        grant_types.dedup();
        if grant_types.contains(&GrantType::AuthorizationCode) && redirect_uris.is_empty() {
            return Err(RegistrationError::MissingRedirectUri);
        }
        let scope = Scope::parse(&self.scope).map_err(|_| RegistrationError::Scope("scope"))?;
        let default_scope = match self.default_scope {
            Some(text) => {
                let default = Scope::parse(&text).map_err(|_| RegistrationError::Scope("default_scope"))?;
                if !default.is_subset_of(&scope) {
                    return Err(RegistrationError::DefaultScopeNotAllowed);
                }
                Some(default)
            }
            None => None,
        };
        let kind = if self.public {
            if !self.secrets.is_empty() {
                return Err(RegistrationError::PublicClientWithSecret);
            }
            if grant_types.contains(&GrantType::ClientCredentials) {
                return Err(RegistrationError::PublicClientCredentials);
            }
            if let Some(m) = self.auth_methods.iter().flatten().find(|m| **m != AuthMethod::None) {
                return Err(RegistrationError::AuthMethod(m.as_str()));
            }
            ClientKind::Public
        } else {
            if self.secrets.is_empty() {
                return Err(RegistrationError::ConfidentialClientWithoutSecret);
            }
            let auth_methods =
                self.auth_methods.unwrap_or_else(|| vec![AuthMethod::ClientSecretBasic, AuthMethod::ClientSecretPost]);
            if let Some(m) = auth_methods.iter().find(|m| **m == AuthMethod::None) {
                return Err(RegistrationError::AuthMethod(m.as_str()));
            }
            if auth_methods.is_empty() {
                return Err(RegistrationError::AuthMethod("an empty list"));
            }
            ClientKind::Confidential { secrets: self.secrets, auth_methods }
        };
        if self.introspect_any && self.public {
            return Err(RegistrationError::PublicClientIntrospection);
        }
        Ok(Client {
            id,
            kind,
            redirect_uris,
            grant_types,
            scope,
            default_scope,
            introspect_any: self.introspect_any,
            access_token_format: self.access_token_format,
        })
    }
}

/// Which part of client authentication failed. Reported to the host (for its logs and
/// brute-force limits), never to the client, which only learns `invalid_client`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum AuthFailure {
    /// The `Authorization` header is not a well-formed Basic credential (TK-05).
    MalformedHeader,
    /// No client is registered under the id.
    UnknownClient,
    /// A confidential client sent no secret (TK-06).
    SecretRequired,
    /// A public client sent a secret (class 12: a made-up secret is not authentication).
    PublicClientWithSecret,
    /// The client is not registered for the method it used.
    MethodNotAllowed,
    /// The secret matches none of the client's active secrets.
    WrongSecret,
    /// The host's limiter refused to check a secret for this client now (SEC-06).
    RateLimited,
}

/// A failed client authentication at the token endpoint (TK-04..TK-08).
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum ClientAuthError {
    /// `client_secret` (or another defined parameter) was sent in the URI query (TK-04).
    #[error("client credentials must not be sent in the URI query")]
    CredentialsInQuery,
    /// Basic and `client_secret` in the body were both used (TK-07).
    #[error("only one client authentication method may be used")]
    MultipleMethods,
    /// The body's `client_id` differs from the Basic credential's.
    #[error("client_id does not match the authenticated client")]
    ClientIdMismatch,
    /// The client neither authenticated nor sent `client_id` (AC-02).
    #[error("client_id is required")]
    MissingClientId,
    /// `client_secret` was sent without `client_id`.
    #[error("client_secret requires client_id")]
    SecretWithoutClientId,
    /// Authentication failed: `invalid_client` (TK-08).
    #[error("client authentication failed")]
    Failed {
        /// What failed.
        reason: AuthFailure,
        /// Whether the `Authorization` header was used, which makes the answer a 401 with
        /// `WWW-Authenticate: Basic`.
        header: bool,
    },
}

/// The client's claimed identity and credentials, read from one token-endpoint request.
#[derive(Debug)]
pub(crate) struct Credentials {
    pub(crate) client_id: ClientId,
    pub(crate) method: AuthMethod,
    pub(crate) secret: Option<ClientSecret>,
    pub(crate) header: bool,
}

/// Reads the client's credentials from the `Authorization` header and the body (TK-05, TK-07).
///
/// Any `Authorization` header counts as an authentication attempt: one that is not Basic fails
/// as `invalid_client` rather than being ignored.
pub(crate) fn read_credentials(request: &Request<'_>, body: &Params<'_>) -> Result<Credentials, ClientAuthError> {
    let failed = |reason, header| ClientAuthError::Failed { reason, header };
    let body_id = body.get("client_id").map_err(|_| ClientAuthError::MultipleMethods)?;
    let body_secret = body.get("client_secret").map_err(|_| ClientAuthError::MultipleMethods)?;
    if let Some(header) = request.authorization() {
        if body_secret.is_some() {
            return Err(ClientAuthError::MultipleMethods);
        }
        let (id, secret) = parse_basic_auth(header).map_err(|_| failed(AuthFailure::MalformedHeader, true))?;
        let client_id = ClientId::new(id).map_err(|_| failed(AuthFailure::UnknownClient, true))?;
        if body_id.is_some_and(|b| b != client_id.as_str()) {
            return Err(ClientAuthError::ClientIdMismatch);
        }
        return Ok(Credentials {
            client_id,
            method: AuthMethod::ClientSecretBasic,
            secret: Some(ClientSecret::new(secret)),
            header: true,
        });
    }
    let Some(id) = body_id else {
        return Err(if body_secret.is_some() {
            ClientAuthError::SecretWithoutClientId
        } else {
            ClientAuthError::MissingClientId
        });
    };
    let client_id = ClientId::new(id).map_err(|_| failed(AuthFailure::UnknownClient, false))?;
    Ok(match body_secret {
        Some(secret) => Credentials {
            client_id,
            method: AuthMethod::ClientSecretPost,
            secret: Some(ClientSecret::new(secret)),
            header: false,
        },
        None => Credentials { client_id, method: AuthMethod::None, secret: None, header: false },
    })
}

/// Checks `credentials` against the registration found for their client id, up to the secret
/// itself (TK-06): a public client must send none, a confidential one must send one by a method
/// it is registered for. Returns the client, and whether a secret remains to be verified.
pub(crate) fn precheck(client: Option<Client>, credentials: &Credentials) -> Result<(Client, bool), ClientAuthError> {
    let failed = |reason| ClientAuthError::Failed { reason, header: credentials.header };
    let client = client.ok_or(failed(AuthFailure::UnknownClient))?;
    match (&client.kind, &credentials.secret) {
        (ClientKind::Public, None) => Ok((client, false)),
        (ClientKind::Public, Some(_)) => Err(failed(AuthFailure::PublicClientWithSecret)),
        (ClientKind::Confidential { .. }, None) => Err(failed(AuthFailure::SecretRequired)),
        (ClientKind::Confidential { auth_methods, .. }, Some(_)) if !auth_methods.contains(&credentials.method) => {
            Err(failed(AuthFailure::MethodNotAllowed))
        }
        (ClientKind::Confidential { .. }, Some(_)) => Ok((client, true)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn az07_registration_refuses_bad_redirect_uris() {
        let cases = [
            ("/relative/cb", RedirectUriError::NotAbsolute),
            ("https://app.example/cb#frag", RedirectUriError::Fragment),
            ("https://user:pw@app.example/cb", RedirectUriError::Userinfo),
            ("http://localhost:80@attacker.test/cb", RedirectUriError::Userinfo),
            ("http://app.example/cb", RedirectUriError::InsecureHttp),
            ("http://127.0.0.1.attacker.test/cb", RedirectUriError::InsecureHttp),
            ("myapp:/cb", RedirectUriError::PrivateSchemeWithoutDot),
            ("javascript:alert(1)", RedirectUriError::PrivateSchemeWithoutDot),
            ("HTTPS://app.example/cb", RedirectUriError::BadScheme),
            ("https://app.example/c b", RedirectUriError::BadCharacters),
            ("https://app.example/caf\u{e9}", RedirectUriError::BadCharacters),
            ("https:", RedirectUriError::NotAbsolute),
            ("https:///cb", RedirectUriError::BadAuthority),
            ("https://app.example:99999/cb", RedirectUriError::BadAuthority),
            ("http://[::1/cb", RedirectUriError::BadAuthority),
            ("https://app.example/cb?code=1", RedirectUriError::ReservedQueryParameter),
            ("https://app.example/cb?a=1&state", RedirectUriError::ReservedQueryParameter),
            ("https://app.example/cb?iss=x", RedirectUriError::ReservedQueryParameter),
        ];
        for (uri, reason) in cases {
            assert_eq!(RedirectUri::new(uri), Err(reason), "{uri}");
        }
        for good in [
            "https://app.example/cb",
            "https://app.example/cb?tenant=1",
            "http://127.0.0.1/cb",
            "http://[::1]:8080/cb",
            "http://localhost:3000/cb",
            "com.example.app:/oauth2redirect",
        ] {
            assert!(RedirectUri::new(good).is_ok(), "{good}");
        }
    }

    #[test]
    fn az04_redirect_uri_is_compared_as_exact_string() {
        let r = RedirectUri::new("https://app.example/cb").unwrap();
        assert!(r.matches("https://app.example/cb", false));
        for other in [
            "https://APP.example/cb",
            "https://app.example/CB",
            "https://app.example/cb/",
            "https://app.example/cb?x=1",
            "https://app.example/cb#x",
            "https://app.example/%63b",
            "https://app.example:443/cb",
            "https://app.example/cb/../cb",
            "https://app.example.attacker.test/cb",
        ] {
            assert!(!r.matches(other, false), "{other}");
        }
    }

    #[test]
    fn az05_loopback_ip_matches_any_port_but_nothing_else() {
        let r = RedirectUri::new("http://127.0.0.1/cb").unwrap();
        assert!(r.matches("http://127.0.0.1:51234/cb", false));
        assert!(r.matches("http://127.0.0.1/cb", false));
        for other in [
            "http://127.0.0.1:51234/cb2",
            "http://127.0.0.1:51234/cb?x=1",
            "http://127.0.0.2:51234/cb",
            "http://[::1]:51234/cb",
            "http://127.0.0.1:80@attacker.test/cb",
            "http://127.0.0.1:99999/cb",
            "http://127.0.0.1:/cb",
            "https://127.0.0.1:443/cb",
        ] {
            assert!(!r.matches(other, false), "{other}");
        }
        let v6 = RedirectUri::new("http://[::1]:9000/cb").unwrap();
        assert!(v6.matches("http://[::1]:1234/cb", false));
        assert!(!v6.matches("http://[::1/cb", false));
    }

    #[test]
    fn az05_localhost_matches_any_port_only_when_opted_in() {
        let r = RedirectUri::new("http://localhost:3000/cb").unwrap();
        assert!(!r.matches("http://localhost:4000/cb", false));
        assert!(r.matches("http://localhost:4000/cb", true));
        assert!(r.matches("http://localhost:3000/cb", false));
    }

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
        let c =
            Client::confidential("svc", &old).secret(&new).grant_types([GrantType::ClientCredentials]).build().unwrap();
        assert!(c.verify_secret(&old));
        assert!(c.verify_secret(&new));
        assert!(!c.verify_secret(&ClientSecret::new("other")));
        assert!(!format!("{c:?}").contains(&old.hash().to_string()));
    }
}
