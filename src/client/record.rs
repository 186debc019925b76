//! The persisted form of a client registration: versioned, strict, and checked again on every
//! read, so a stored record can never yield a client a registration would refuse.

use super::*;

/// The persisted form of a [`Client`], version 1.
#[derive(Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct ClientRecord {
    #[serde(default = "ClientRecord::version_1")]
    version: u32,
    id: ClientId,
    kind: ClientKind,
    redirect_uris: Vec<RedirectUri>,
    grant_types: Vec<GrantType>,
    scope: Scope,
    default_scope: Option<Scope>,
    #[serde(default)]
    introspect_any: bool,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    access_token_format: Option<AccessTokenFormat>,
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    dpop_bound_access_tokens: bool,
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    require_pushed_requests: bool,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    resources: Vec<Resource>,
    #[serde(default, skip_serializing_if = "ClientDisplay::is_empty")]
    display: ClientDisplay,
}

impl ClientRecord {
    const VERSION: u32 = 1;

    fn version_1() -> u32 {
        1
    }
}

impl TryFrom<ClientRecord> for Client {
    type Error = RegistrationError;
    fn try_from(r: ClientRecord) -> Result<Self, RegistrationError> {
        if r.version != ClientRecord::VERSION {
            return Err(RegistrationError::UnsupportedVersion(r.version));
        }
        let client = Client::from_data(ClientData {
            id: r.id,
            kind: r.kind,
            redirect_uris: r.redirect_uris,
            grant_types: r.grant_types,
            scope: r.scope,
            default_scope: r.default_scope,
            introspect_any: r.introspect_any,
            access_token_format: r.access_token_format,
            dpop_bound_access_tokens: r.dpop_bound_access_tokens,
            require_pushed_requests: r.require_pushed_requests,
            resources: r.resources,
            display: r.display,
        });
        client.check()?;
        Ok(client)
    }
}

impl From<Client> for ClientRecord {
    fn from(c: Client) -> Self {
        let c = Arc::unwrap_or_clone(c.0);
        ClientRecord {
            version: ClientRecord::VERSION,
            id: c.id,
            kind: c.kind,
            redirect_uris: c.redirect_uris,
            grant_types: c.grant_types,
            scope: c.scope,
            default_scope: c.default_scope,
            introspect_any: c.introspect_any,
            access_token_format: c.access_token_format,
            dpop_bound_access_tokens: c.dpop_bound_access_tokens,
            require_pushed_requests: c.require_pushed_requests,
            resources: c.resources,
            display: c.display,
        }
    }
}
