//! The registration builder: collects a client's fields, then checks them all at once.

use crate::config::AccessTokenFormat;
use crate::jose::Algorithm;
use crate::types::{ClientId, ClientSecret, Resource, Scope, TokenHash};

use super::{
    AuthMethod, Client, ClientData, ClientDisplay, ClientKeys, ClientKind, GrantType, MIN_SECRET_BYTES, RedirectUri,
    RegistrationError, StoredSecret,
};

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
    empty_secret: bool,
    short_secret: bool,
    allow_short_secrets: bool,
    dpop_bound_access_tokens: bool,
    require_pushed_requests: bool,
    keys: Option<ClientKeys>,
    assertion_alg: Option<Algorithm>,
    resources: Vec<String>,
    display: ClientDisplay,
}

impl ClientBuilder {
    pub(super) fn new(id: String, public: bool) -> Self {
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
            empty_secret: false,
            short_secret: false,
            allow_short_secrets: false,
            dpop_bound_access_tokens: false,
            require_pushed_requests: false,
            keys: None,
            assertion_alg: None,
            resources: Vec::new(),
            display: ClientDisplay::default(),
        }
    }

    /// Adds an active secret (only its digest is kept). Several may be active at once.
    ///
    /// An empty secret always fails [`ClientBuilder::build`]; one shorter than
    /// [`MIN_SECRET_BYTES`] fails it unless [`ClientBuilder::allow_short_secrets`] was called.
    pub fn secret(mut self, secret: &ClientSecret) -> Self {
        let len = secret.secret().len();
        self.empty_secret |= len == 0;
        self.short_secret |= len < MIN_SECRET_BYTES;
        self.secret_hash(secret.hash())
    }

    /// Accepts secrets shorter than [`MIN_SECRET_BYTES`] under the fast digest: for fixtures and
    /// demos only. Human-chosen production secrets belong under a slow hash
    /// ([`ClientBuilder::external_secret`]). Empty secrets are refused even so.
    pub fn allow_short_secrets(mut self) -> Self {
        self.allow_short_secrets = true;
        self
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

    /// Registers the public keys this (confidential) client signs its `private_key_jwt`
    /// assertions with, and allows that method.
    pub fn keys(mut self, keys: ClientKeys) -> Self {
        self.keys = Some(keys);
        self
    }

    /// Pins the algorithm of this client's assertions (`token_endpoint_auth_signing_alg`); a
    /// key of that algorithm must be registered.
    pub fn assertion_alg(mut self, alg: Algorithm) -> Self {
        self.assertion_alg = Some(alg);
        self
    }

    /// Requires a DPoP proof with every token request of this client, so each of its tokens is
    /// bound to the client's key (`dpop_bound_access_tokens`, RFC 9449 §5.2; DP-06).
    pub fn dpop_bound_access_tokens(mut self) -> Self {
        self.dpop_bound_access_tokens = true;
        self
    }

    /// Requires this client's authorization requests to be pushed first
    /// (`require_pushed_authorization_requests`, RFC 9126 §6; PAR-05).
    pub fn require_pushed_requests(mut self) -> Self {
        self.require_pushed_requests = true;
        self
    }

    /// Registers a resource (RFC 8707) the client may ask tokens for (RI-01): an absolute URI
    /// without a fragment, compared exactly. The server's default audience needs no
    /// registration; a host that decides by rule (any `https` URI of its own domain, say)
    /// answers [`Hooks::allow_resource`](crate::hooks::Hooks::allow_resource) instead.
    pub fn resource(mut self, resource: impl Into<String>) -> Self {
        self.resources.push(resource.into());
        self
    }

    /// Sets what the client says about itself (RFC 7591 `client_name`, `client_uri`, ...).
    pub fn display(mut self, display: ClientDisplay) -> Self {
        self.display = display;
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
        let mut resources: Vec<Resource> = Vec::with_capacity(self.resources.len());
        for text in self.resources {
            let resource = Resource::new(text.clone()).map_err(|_| RegistrationError::Resource(text))?;
            if !resources.contains(&resource) {
                resources.push(resource);
            }
        }
        let scope = Scope::parse(&self.scope).map_err(|_| RegistrationError::Scope("scope"))?;
        let default_scope = match self.default_scope {
            Some(text) => Some(Scope::parse(&text).map_err(|_| RegistrationError::Scope("default_scope"))?),
            None => None,
        };
        let kind = if self.public {
            if !self.secrets.is_empty() {
                return Err(RegistrationError::PublicClientWithSecret);
            }
            if let Some(m) = self.auth_methods.iter().flatten().find(|m| **m != AuthMethod::None) {
                return Err(RegistrationError::AuthMethod(m.as_str()));
            }
            ClientKind::Public
        } else {
            if self.empty_secret {
                return Err(RegistrationError::EmptySecret);
            }
            if self.short_secret && !self.allow_short_secrets {
                return Err(RegistrationError::WeakSecret);
            }
            let auth_methods = self.auth_methods.unwrap_or_else(|| {
                let mut methods = Vec::new();
                if !self.secrets.is_empty() {
                    methods.extend([AuthMethod::ClientSecretBasic, AuthMethod::ClientSecretPost]);
                }
                if self.keys.is_some() {
                    methods.push(AuthMethod::PrivateKeyJwt);
                }
                methods
            });
            ClientKind::Confidential {
                secrets: self.secrets,
                auth_methods,
                keys: self.keys,
                assertion_alg: self.assertion_alg,
            }
        };
        let client = Client::from_data(ClientData {
            id,
            kind,
            redirect_uris,
            grant_types,
            scope,
            default_scope,
            introspect_any: self.introspect_any,
            access_token_format: self.access_token_format,
            dpop_bound_access_tokens: self.dpop_bound_access_tokens,
            require_pushed_requests: self.require_pushed_requests,
            resources,
            display: self.display,
        });
        client.check()?;
        Ok(client)
    }
}
