//! Dynamic client registration (RFC 7591; REG-01..REG-03): a client posts its metadata as JSON
//! and gets a `client_id` (and, if it is confidential, a secret, shown once).
//!
//! Registration is off until the host enables it with a [`RegistrationPolicy`]
//! ([`Server::with_registration`](crate::Server::with_registration)): the policy sees every
//! request (its metadata, already validated, and its initial access token) and accepts it,
//! narrows it, or refuses it. An open endpoint that creates records is a resource anyone can
//! spend, so the policy is also where the host limits the rate (REG-03).
//!
//! A registration passes exactly the checks a static one does ([`ClientBuilder::build`]), and
//! the server's own ([`ServerConfig::check_client`](crate::ServerConfig::check_client): the
//! FAPI 2.0 profile), so nothing registers here that could not be registered by hand (REG-02).
//! RFC 7592 management (reading, updating and deleting a registration with a registration
//! access token) is not offered: a client that needs new metadata registers again, and the host
//! removes stale registrations from its store.
//!
//! ```
//! use oauth21::registration::{RegistrationDecision, RegistrationRequest};
//! use oauth21::{MemoryStore, Request, Server, ServerConfig};
//! # fn block_on<F: std::future::Future>(f: F) -> F::Output {
//! #     let mut f = std::pin::pin!(f);
//! #     let mut cx = std::task::Context::from_waker(std::task::Waker::noop());
//! #     loop { if let std::task::Poll::Ready(v) = f.as_mut().poll(&mut cx) { return v; } }
//! # }
//! // Open registration, for public clients only.
//! let policy = |request: &RegistrationRequest<'_>| match request.metadata().is_public() {
//!     true => RegistrationDecision::Accept,
//!     false => RegistrationDecision::refuse_metadata("only public clients may register"),
//! };
//! let config = ServerConfig::builder("https://as.example").build()?;
//! let server = Server::new(config, MemoryStore::new()).with_registration(policy)?;
//! let body = br#"{"redirect_uris":["http://127.0.0.1/cb"],"token_endpoint_auth_method":"none",
//!     "grant_types":["authorization_code","refresh_token"],"scope":"read","client_name":"My CLI"}"#;
//! let response = block_on(server.register(&Request::post(body).with_content_type(b"application/json")));
//! assert_eq!(response.status(), 201);
//! let client: serde_json::Value = serde_json::from_slice(response.body())?;
//! assert!(client["client_id"].is_string());
//! assert!(client.get("client_secret").is_none());
//! assert_eq!(client["client_name"], "My CLI");
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```

use std::borrow::Cow;

use serde_json::{Map, Value};

use crate::client::{AuthMethod, Client, ClientBuilder, ClientDisplay, ClientKeys, GrantType, RegistrationError};
use crate::error::{ErrorCode, error_body, is_valid_description};
use crate::hooks::HookFuture;
use crate::http::Response;
use crate::jose::Algorithm;
use crate::types::{ClientSecret, Scope};

/// The client metadata of a registration request (RFC 7591 §2), read strictly: each member of
/// the right JSON type, grant types and methods this crate knows. Members it does not
/// understand are ignored, as RFC 7591 §2 requires (and not echoed back). A policy narrows a
/// request by changing a copy (fewer `grant_types`, a smaller `scope`) and answering
/// [`RegistrationDecision::Narrow`].
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct ClientMetadata {
    /// `redirect_uris`.
    pub redirect_uris: Vec<String>,
    /// `token_endpoint_auth_method`; RFC 7591's default is `client_secret_basic`.
    pub token_endpoint_auth_method: AuthMethod,
    /// `grant_types`; default `authorization_code`.
    pub grant_types: Vec<GrantType>,
    /// `response_types`: `["code"]` with the authorization code grant, else empty.
    pub response_types: Vec<String>,
    /// `scope`: what the client may ask for; without it, nothing.
    pub scope: Scope,
    /// `jwks`: the keys of a `private_key_jwt` client.
    pub jwks: Option<Value>,
    /// `token_endpoint_auth_signing_alg`.
    pub token_endpoint_auth_signing_alg: Option<Algorithm>,
    /// `client_name`, `client_uri`, `logo_uri`, `tos_uri`, `policy_uri`, `contacts`.
    pub display: ClientDisplay,
    /// `dpop_bound_access_tokens` (RFC 9449 §5.2).
    pub dpop_bound_access_tokens: bool,
    /// `require_pushed_authorization_requests` (RFC 9126 §6).
    pub require_pushed_authorization_requests: bool,
}

impl ClientMetadata {
    /// Reads a registration request's JSON body: an object, no member twice.
    pub fn from_json(json: &[u8]) -> Result<Self, RegistrationRefusal> {
        let value = crate::jose::parse_strict_json(json)
            .map_err(|_| RegistrationRefusal::metadata("the body is not a JSON object without repeated members"))?;
        let Value::Object(members) = value else {
            return Err(RegistrationRefusal::metadata("the body is not a JSON object"));
        };
        let m = Members(&members);
        let grant_types = match m.strings("grant_types")? {
            None => vec![GrantType::AuthorizationCode],
            Some(names) if names.is_empty() => {
                return Err(RegistrationRefusal::metadata("grant_types must name at least one grant type"));
            }
            Some(names) => {
                let mut grants = Vec::new();
                for name in names {
                    let grant = GrantType::parse(name).ok_or(RegistrationRefusal::metadata(
                        "grant_types names a grant type this server does not offer",
                    ))?;
                    if !grants.contains(&grant) {
                        grants.push(grant);
                    }
                }
                grants
            }
        };
        let code_flow = grant_types.contains(&GrantType::AuthorizationCode);
        let response_types = match m.strings("response_types")? {
            None if code_flow => vec!["code".to_owned()],
            None => Vec::new(),
            Some(types) => types.into_iter().map(str::to_owned).collect(),
        };
        // RFC 7591 §2.1: the authorization_code grant goes with the `code` response type.
        let expected: &[&str] = if code_flow { &["code"] } else { &[] };
        if response_types.iter().map(String::as_str).ne(expected.iter().copied()) {
            return Err(RegistrationRefusal::metadata(
                "response_types must be [\"code\"] with the authorization_code grant and empty without it",
            ));
        }
        let method = match m.string("token_endpoint_auth_method")? {
            None | Some("client_secret_basic") => AuthMethod::ClientSecretBasic,
            Some("client_secret_post") => AuthMethod::ClientSecretPost,
            Some("none") => AuthMethod::None,
            Some("private_key_jwt") => AuthMethod::PrivateKeyJwt,
            Some(_) => return Err(RegistrationRefusal::metadata("token_endpoint_auth_method is not supported")),
        };
        if members.contains_key("jwks_uri") {
            return Err(RegistrationRefusal::metadata("jwks_uri is not supported: register the keys as jwks"));
        }
        let scope = match m.string("scope")? {
            None => Scope::default(),
            Some(text) => Scope::parse(text).map_err(|_| RegistrationRefusal::metadata("scope is malformed"))?,
        };
        let alg = match m.string("token_endpoint_auth_signing_alg")? {
            None => None,
            Some("EdDSA") => Some(Algorithm::EdDSA),
            Some("ES256") => Some(Algorithm::ES256),
            Some("RS256") => Some(Algorithm::RS256),
            Some(_) => return Err(RegistrationRefusal::metadata("token_endpoint_auth_signing_alg is not supported")),
        };
        let display = ClientDisplay {
            client_name: m.string("client_name")?.map(str::to_owned),
            client_uri: m.string("client_uri")?.map(str::to_owned),
            logo_uri: m.string("logo_uri")?.map(str::to_owned),
            tos_uri: m.string("tos_uri")?.map(str::to_owned),
            policy_uri: m.string("policy_uri")?.map(str::to_owned),
            contacts: m.strings("contacts")?.unwrap_or_default().into_iter().map(str::to_owned).collect(),
        };
        Ok(Self {
            redirect_uris: m.strings("redirect_uris")?.unwrap_or_default().into_iter().map(str::to_owned).collect(),
            token_endpoint_auth_method: method,
            grant_types,
            response_types,
            scope,
            jwks: members.get("jwks").cloned(),
            token_endpoint_auth_signing_alg: alg,
            display,
            dpop_bound_access_tokens: m.flag("dpop_bound_access_tokens")?,
            require_pushed_authorization_requests: m.flag("require_pushed_authorization_requests")?,
        })
    }

    /// Whether the client registers as public (`token_endpoint_auth_method` `none`).
    pub fn is_public(&self) -> bool {
        self.token_endpoint_auth_method == AuthMethod::None
    }

    /// The client this metadata registers as `id`, with `secret` for a client that
    /// authenticates with one; every check of a static registration runs (REG-02).
    pub(crate) fn build(&self, id: String, secret: Option<&ClientSecret>) -> Result<Client, RegistrationRefusal> {
        let method = self.token_endpoint_auth_method;
        let builder = match (method, secret, &self.jwks) {
            (AuthMethod::None, _, None) => Client::public(id),
            (AuthMethod::PrivateKeyJwt, _, Some(jwks)) => {
                let keys = ClientKeys::from_jwks(jwks.to_string().as_bytes())
                    .map_err(|_| RegistrationRefusal::metadata("jwks is not a set of public keys, each with a kid"))?;
                let builder = Client::private_key_jwt(id, keys).auth_methods([method]);
                match self.token_endpoint_auth_signing_alg {
                    Some(alg) => builder.assertion_alg(alg),
                    None => builder,
                }
            }
            (AuthMethod::PrivateKeyJwt, _, None) => {
                return Err(RegistrationRefusal::metadata("private_key_jwt needs jwks"));
            }
            (_, _, Some(_)) => return Err(RegistrationRefusal::metadata("jwks goes with private_key_jwt only")),
            (_, Some(secret), None) => Client::confidential(id, secret).auth_methods([method]),
            (_, None, None) => return Err(RegistrationRefusal::metadata("no secret for a secret method")),
        };
        if self.token_endpoint_auth_signing_alg.is_some() && method != AuthMethod::PrivateKeyJwt {
            return Err(RegistrationRefusal::metadata("token_endpoint_auth_signing_alg applies to private_key_jwt"));
        }
        let mut builder: ClientBuilder =
            builder.grant_types(self.grant_types.iter().copied()).display(self.display.clone());
        for uri in &self.redirect_uris {
            builder = builder.redirect_uri(uri);
        }
        let scope = self.scope.to_string();
        builder = builder.scope(&scope);
        if !self.scope.is_empty() {
            // A request without `scope` gets everything registered, as a registered client
            // expects of its own registration.
            builder = builder.default_scope(&scope);
        }
        if self.dpop_bound_access_tokens {
            builder = builder.dpop_bound_access_tokens();
        }
        if self.require_pushed_authorization_requests {
            builder = builder.require_pushed_requests();
        }
        builder.build().map_err(|error| match error {
            RegistrationError::RedirectUri { reason, .. } => RegistrationRefusal::redirect_uri(reason.to_string()),
            RegistrationError::MissingRedirectUri => {
                RegistrationRefusal::redirect_uri("the authorization_code grant needs at least one redirect URI")
            }
            other => RegistrationRefusal::metadata(other.to_string()),
        })
    }
}

/// Typed access to the members of the request object.
struct Members<'a>(&'a Map<String, Value>);

impl<'a> Members<'a> {
    fn string(&self, name: &'static str) -> Result<Option<&'a str>, RegistrationRefusal> {
        match self.0.get(name) {
            None | Some(Value::Null) => Ok(None),
            Some(Value::String(text)) => Ok(Some(text)),
            Some(_) => Err(RegistrationRefusal::metadata(format!("{name} must be a string"))),
        }
    }

    fn strings(&self, name: &'static str) -> Result<Option<Vec<&'a str>>, RegistrationRefusal> {
        let wrong = || RegistrationRefusal::metadata(format!("{name} must be an array of at most 64 strings"));
        match self.0.get(name) {
            None | Some(Value::Null) => Ok(None),
            Some(Value::Array(items)) if items.len() <= 64 => {
                items.iter().map(|item| item.as_str().ok_or_else(wrong)).collect::<Result<_, _>>().map(Some)
            }
            Some(_) => Err(wrong()),
        }
    }

    fn flag(&self, name: &'static str) -> Result<bool, RegistrationRefusal> {
        match self.0.get(name) {
            None | Some(Value::Null) => Ok(false),
            Some(Value::Bool(flag)) => Ok(*flag),
            Some(_) => Err(RegistrationRefusal::metadata(format!("{name} must be true or false"))),
        }
    }
}

/// A registration request as the policy sees it.
#[derive(Debug)]
pub struct RegistrationRequest<'a> {
    pub(crate) metadata: &'a ClientMetadata,
    pub(crate) initial_access_token: Option<&'a str>,
}

impl<'a> RegistrationRequest<'a> {
    /// The metadata, read and checked.
    pub fn metadata(&self) -> &'a ClientMetadata {
        self.metadata
    }

    /// The initial access token (RFC 7591 §3), from `Authorization: Bearer`, if one was sent.
    /// Compare it in constant time with what the host issued.
    pub fn initial_access_token(&self) -> Option<&'a str> {
        self.initial_access_token
    }
}

/// The policy's answer to one registration request.
#[derive(Debug, Clone)]
#[non_exhaustive]
// One decision per registration: the size of `Narrow` costs nothing worth a box in the API.
#[allow(clippy::large_enum_variant)]
pub enum RegistrationDecision {
    /// Register the client as requested.
    Accept,
    /// Register this metadata instead (a copy of the request's, narrowed). It is checked again
    /// like any registration.
    Narrow(ClientMetadata),
    /// Refuse, with this answer.
    Refuse(RegistrationRefusal),
}

impl RegistrationDecision {
    /// Refuses with `invalid_client_metadata` and `description`.
    pub fn refuse_metadata(description: impl Into<Cow<'static, str>>) -> Self {
        Self::Refuse(RegistrationRefusal::metadata(description))
    }
}

/// A refused registration: the RFC 7591 error (400 `invalid_client_metadata` or
/// `invalid_redirect_uri`), 401 `invalid_token` for a missing or wrong initial access token, or
/// 429 for a host's rate limit.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RegistrationRefusal {
    code: ErrorCode,
    status: u16,
    description: Cow<'static, str>,
    retry_after: Option<u32>,
}

impl RegistrationRefusal {
    /// `invalid_client_metadata` (400).
    pub fn metadata(description: impl Into<Cow<'static, str>>) -> Self {
        Self::new(ErrorCode::InvalidClientMetadata, 400, description)
    }

    /// `invalid_redirect_uri` (400).
    pub fn redirect_uri(description: impl Into<Cow<'static, str>>) -> Self {
        Self::new(ErrorCode::InvalidRedirectUri, 400, description)
    }

    /// 401 `invalid_token`, with a `Bearer` challenge: the initial access token is missing or
    /// not valid (RFC 7591 §3; RFC 6750 §3.1).
    pub fn unauthorized(description: impl Into<Cow<'static, str>>) -> Self {
        // ErrorCode has no `invalid_token` (a resource-server code); the body names it.
        Self::new(ErrorCode::InvalidRequest, 401, description)
    }

    /// 429 with `Retry-After: seconds`: the host's rate limit.
    pub fn rate_limited(retry_after_seconds: u32) -> Self {
        let mut refusal = Self::new(ErrorCode::TemporarilyUnavailable, 429, "too many registrations; retry later");
        refusal.retry_after = Some(retry_after_seconds);
        refusal
    }

    pub(crate) fn new_server_error() -> Self {
        Self::new(ErrorCode::ServerError, 500, "the authorization server failed to complete the request")
    }

    pub(crate) fn unavailable() -> Self {
        Self::new(ErrorCode::TemporarilyUnavailable, 503, "the authorization server is temporarily unavailable")
    }

    fn new(code: ErrorCode, status: u16, description: impl Into<Cow<'static, str>>) -> Self {
        let description = description.into();
        // Descriptions may carry the host's text or a URI: keep only what the field allows.
        let description = if is_valid_description(&description) {
            description
        } else {
            Cow::Owned(
                description
                    .chars()
                    .filter(|c| c.is_ascii() && is_valid_description(c.encode_utf8(&mut [0; 4])))
                    .collect(),
            )
        };
        Self { code, status, description, retry_after: None }
    }

    /// The HTTP status.
    pub fn status(&self) -> u16 {
        self.status
    }

    /// The error code on the wire (`invalid_token` for [`RegistrationRefusal::unauthorized`]).
    pub fn error(&self) -> &'static str {
        if self.status == 401 { "invalid_token" } else { self.code.as_str() }
    }

    /// The `error_description`.
    pub fn description(&self) -> &str {
        &self.description
    }

    /// The JSON answer, `no-store`.
    pub fn response(&self) -> Response {
        let body = if self.status == 401 {
            serde_json::json!({ "error": "invalid_token", "error_description": self.description })
                .to_string()
                .into_bytes()
        } else {
            error_body(self.code, &self.description)
        };
        let mut response = Response::json(self.status, body);
        if self.status == 401 {
            response = response.with_header("WWW-Authenticate", r#"Bearer error="invalid_token""#);
        }
        if let Some(seconds) = self.retry_after {
            response = response.with_header("Retry-After", seconds.to_string());
        }
        response
    }
}

/// The host's say over registrations (REG-03): who may register what, with which initial
/// access token, how often. Any `Fn(&RegistrationRequest) -> RegistrationDecision` closure is
/// a policy; a policy that waits (a database of initial access tokens, a shared rate limiter)
/// implements the trait and boxes its future ([`HookFuture::boxed`]).
pub trait RegistrationPolicy: Send + Sync {
    /// Decides on one request, after its metadata passed every check.
    fn review<'a>(&'a self, request: &'a RegistrationRequest<'a>) -> HookFuture<'a, RegistrationDecision>;
}

impl<F: Fn(&RegistrationRequest<'_>) -> RegistrationDecision + Send + Sync> RegistrationPolicy for F {
    fn review<'a>(&'a self, request: &'a RegistrationRequest<'a>) -> HookFuture<'a, RegistrationDecision> {
        HookFuture::ready(self(request))
    }
}

/// The `201 Created` answer (REG-01): the client's id, when it was issued, its secret (shown
/// this once; only its digest is kept) and the metadata as registered.
pub(crate) fn created(
    client: &Client,
    metadata: &ClientMetadata,
    secret: Option<&ClientSecret>,
    issued_at: i64,
) -> Response {
    let mut body = Map::new();
    body.insert("client_id".into(), client.id().as_str().into());
    body.insert("client_id_issued_at".into(), issued_at.into());
    if let Some(secret) = secret {
        body.insert("client_secret".into(), secret.secret().into());
        body.insert("client_secret_expires_at".into(), 0.into());
    }
    let strings = |items: Vec<&str>| Value::Array(items.into_iter().map(Value::from).collect());
    body.insert("redirect_uris".into(), strings(client.redirect_uris().iter().map(|u| u.as_str()).collect()));
    body.insert("token_endpoint_auth_method".into(), metadata.token_endpoint_auth_method.as_str().into());
    body.insert("grant_types".into(), strings(client.grant_types().iter().map(|g| g.as_str()).collect()));
    body.insert("response_types".into(), strings(metadata.response_types.iter().map(String::as_str).collect()));
    if !client.scope().is_empty() {
        body.insert("scope".into(), client.scope().to_string().into());
    }
    if let Some(jwks) = &metadata.jwks {
        body.insert("jwks".into(), jwks.clone());
    }
    if let Some(alg) = metadata.token_endpoint_auth_signing_alg {
        body.insert("token_endpoint_auth_signing_alg".into(), alg.name().into());
    }
    if let Ok(Value::Object(display)) = serde_json::to_value(client.display()) {
        body.extend(display);
    }
    if client.dpop_bound_access_tokens() {
        body.insert("dpop_bound_access_tokens".into(), true.into());
    }
    if client.require_pushed_requests() {
        body.insert("require_pushed_authorization_requests".into(), true.into());
    }
    Response::json(201, Value::Object(body).to_string().into_bytes())
}
