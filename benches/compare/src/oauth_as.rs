//! oauth-as 1.0.1 through its `http` feature: an `AuthorizationService` (built by
//! `ServiceBuilder`) over an `Arc<AuthorizationServer<MemoryStorage>>`, the in-memory store the
//! crate ships in its core (no extra feature), and its default `SystemClock`. Every HTTP-facing
//! operation builds an `http::Request` from the raw bytes (origin-form URI with the query,
//! `Authorization` and `Content-Type` headers, the form body lent as a borrowed `http_body::Body`)
//! and polls `AuthorizationService::handle` to its `http::Response`.
//!
//! What oauth-as does by default, as measured here:
//! - Randomness: 32 bytes from the OS (`getrandom`) per code and token, hex-encoded (64
//!   characters). `MemoryStorage` keys codes and tokens by their plain value (no hashing).
//! - Code flow: PKCE S256 required. The host's consent step is two closures on the
//!   `ServiceBuilder`: a subject resolver (always "alice") and an approval resolver (always
//!   `Approve`). The code is read from the `Location` of the 302; the token request is a public
//!   client's form with the verifier. A redeemed code is kept, marked consumed, until it expires.
//! - Refresh: rotates by default (`RefreshRotation::Rotate`): a new access and refresh token per
//!   request; the presented one is kept as a spent record for reuse detection.
//! - client_credentials: `svc` is registered as `ClientAuth::ConfidentialSecretHash` with
//!   `SecretHash::sha256` (the crate's built-in scheme: hex SHA-256 of the secret, compared in
//!   constant time through a second SHA-256 of both sides). No refresh token.
//! - Introspection: RFC 7662 at its `/introspect` route, called by the confidential client `rs`
//!   with Basic. oauth-as answers a resource server only about tokens whose RFC 8707 resource set
//!   names that server (`ServerConfig::resource_servers`), so `rs` is registered for
//!   `https://api.example` (also the one `allowed_resources` entry) and the introspected token
//!   comes from a grant that asked for it (`resource=` in the authorization request, setup only).
//!   The timed code flow asks for none.
//! - Bearer check: the `http` feature has no resource-server guard, so this is the closest
//!   lookup: `AuthorizationServer::introspect` (store read plus expiry) on the token taken from
//!   the `Authorization: Bearer` header, then the scope check for `read`.
//!
//! Its futures over `MemoryStorage` are always ready, so they are polled by the same `block_on`.

use std::convert::Infallible;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};

use http::header::{AUTHORIZATION, CONTENT_TYPE, LOCATION};
use http::{HeaderValue, Method, Request, StatusCode};
use oauth_as::http::Bytes;
use oauth_as::{
    ApprovalDecision, AuthorizationServer, AuthorizationService, Client, ClientAuth, ClientId, GrantType, IssuedToken,
    MemoryStorage, ResourceServerRegistration, Response, ScopeSet, SecretHash, ServerConfig, ServiceBuilder, Storage,
    SystemClock,
};

use crate::{REDIRECT, REDIRECT_ENCODED, SECRET, VERIFIER, authorize_query, basic, block_on, json_str};

/// The RFC 8707 resource the resource server `rs` answers for.
pub const RESOURCE: &str = "https://api.example";
const RESOURCE_ENCODED: &str = "https%3A%2F%2Fapi.example";
const FORM: HeaderValue = HeaderValue::from_static("application/x-www-form-urlencoded");

/// A request body lent from bytes the server already holds: one frame, exact length, no copy.
pub struct Lent<'a>(Option<&'a [u8]>, u64);

impl<'a> Lent<'a> {
    pub fn new(bytes: &'a [u8]) -> Self {
        Self(Some(bytes), bytes.len() as u64)
    }
}

impl<'a> http_body::Body for Lent<'a> {
    type Data = &'a [u8];
    type Error = Infallible;

    fn poll_frame(
        mut self: Pin<&mut Self>,
        _: &mut Context<'_>,
    ) -> Poll<Option<Result<http_body::Frame<Self::Data>, Self::Error>>> {
        Poll::Ready(self.0.take().map(|b| Ok(http_body::Frame::data(b))))
    }

    fn is_end_stream(&self) -> bool {
        self.0.is_none()
    }

    fn size_hint(&self) -> http_body::SizeHint {
        http_body::SizeHint::with_exact(self.1)
    }
}

/// The response body's bytes (a `Bytes` clone: a refcount bump, no copy).
pub fn body_bytes(response: &Response) -> Bytes {
    response.body().clone().into_bytes()
}

/// The response body as text (setup and assertion messages).
pub fn body_text(response: &Response) -> String {
    String::from_utf8(body_bytes(response).to_vec()).expect("UTF-8")
}

fn hashed(id: &str, grant_types: Vec<GrantType>, scope: &str) -> Client {
    Client {
        client_id: ClientId::new(id),
        auth: ClientAuth::ConfidentialSecretHash { hash: SecretHash::sha256(SECRET) },
        grant_types,
        redirect_uris: vec![],
        allowed_scopes: ScopeSet::parse(scope).expect("scope"),
        default_scopes: ScopeSet::parse(scope).expect("scope"),
        name: None,
        registration: None,
    }
}

/// One oauth-as deployment: the HTTP service and the server (and store) behind it.
pub struct OauthAs {
    pub server: Arc<AuthorizationServer<MemoryStorage>>,
    service: AuthorizationService<MemoryStorage, SystemClock>,
    authorize_uri: String,
    cc_authorization: String,
    rs_authorization: String,
}

impl Default for OauthAs {
    fn default() -> Self {
        Self::new()
    }
}

impl OauthAs {
    /// Clients: `app` (public, code + refresh, scope `read`), `svc` (confidential,
    /// client_credentials), `rs` (confidential resource server for [`RESOURCE`]).
    pub fn new() -> Self {
        let mut config = ServerConfig::new("https://as.example", "https://as.example/device");
        config.allowed_resources = Some(Box::new([Box::from(RESOURCE)]));
        config.resource_servers = Some(Box::new([ResourceServerRegistration::new(ClientId::new("rs"), [RESOURCE])]));
        let server = Arc::new(AuthorizationServer::new(config, MemoryStorage::new()));
        let app = Client {
            client_id: ClientId::new("app"),
            auth: ClientAuth::Public,
            grant_types: vec![GrantType::AuthorizationCode, GrantType::RefreshToken],
            redirect_uris: vec![REDIRECT.to_owned()],
            allowed_scopes: ScopeSet::parse("read").expect("scope"),
            default_scopes: ScopeSet::parse("read").expect("scope"),
            name: None,
            registration: None,
        };
        for client in [app, hashed("svc", vec![GrantType::ClientCredentials], "read"), hashed("rs", vec![], "")] {
            block_on(server.register_client(client)).expect("register");
        }
        let service = ServiceBuilder::new(server.clone())
            .with_subject_resolver(|_| Some("alice".to_owned()))
            .with_approval_resolver(|_| ApprovalDecision::Approve)
            .build()
            .expect("service");
        Self {
            server,
            service,
            authorize_uri: format!("/authorize?{}", authorize_query()),
            cc_authorization: basic("svc", SECRET),
            rs_authorization: basic("rs", SECRET),
        }
    }

    fn post(&self, path: &str, body: &[u8], authorization: Option<&str>) -> Response {
        let mut request = Request::builder().method(Method::POST).uri(path).header(CONTENT_TYPE, FORM);
        if let Some(authorization) = authorization {
            request = request.header(AUTHORIZATION, authorization);
        }
        let request = request.body(Lent::new(body)).expect("request");
        block_on(self.service.handle(request))
    }

    fn authorize(&self, uri: &str) -> String {
        let request = Request::builder().method(Method::GET).uri(uri).body(Lent::new(b"")).expect("request");
        let redirect = block_on(self.service.handle(request));
        assert_eq!(redirect.status(), StatusCode::FOUND, "{}", body_text(&redirect));
        let location = redirect.headers().get(LOCATION).expect("Location").to_str().expect("ASCII");
        location.split(['?', '&']).find_map(|p| p.strip_prefix("code=")).expect("code").to_owned()
    }

    fn redeem(&self, code: &str) -> Response {
        // The code is hex: nothing to percent-encode.
        let body = format!(
            "grant_type=authorization_code&client_id=app&code={code}&redirect_uri={REDIRECT_ENCODED}\
             &code_verifier={VERIFIER}"
        );
        let response = self.post("/token", body.as_bytes(), None);
        assert_eq!(response.status(), StatusCode::OK, "{}", body_text(&response));
        response
    }

    /// Op 1: GET /authorize (validated, approved by the host's resolvers, code minted), code read
    /// from the `Location`, POST /token with the PKCE verifier.
    #[inline(never)]
    pub fn code_flow(&self) -> Response {
        let code = self.authorize(&self.authorize_uri);
        self.redeem(&code)
    }

    fn tokens(response: &Response) -> (String, String) {
        let json = body_text(response);
        (
            json_str(&json, "access_token").expect("access").into(),
            json_str(&json, "refresh_token").expect("refresh").into(),
        )
    }

    /// A fresh grant's (access token, refresh token): setup for the other ops.
    pub fn grant(&self) -> (String, String) {
        Self::tokens(&self.code_flow())
    }

    /// A fresh grant addressed to [`RESOURCE`], so that `rs` may introspect its token (setup).
    pub fn grant_for_resource_server(&self) -> (String, String) {
        let code = self.authorize(&format!("{}&resource={RESOURCE_ENCODED}", self.authorize_uri));
        Self::tokens(&self.redeem(&code))
    }

    /// The token request body refreshing `refresh` (what the client sends; built in setup).
    pub fn refresh_body(refresh: &str) -> String {
        format!("grant_type=refresh_token&client_id=app&refresh_token={refresh}")
    }

    /// Op 2: one refresh (rotation: new access and refresh token).
    #[inline(never)]
    pub fn refresh(&self, body: &str) -> Response {
        let response = self.post("/token", body.as_bytes(), None);
        assert_eq!(response.status(), StatusCode::OK, "{}", body_text(&response));
        response
    }

    /// Op 3: client_credentials with client_secret_basic.
    #[inline(never)]
    pub fn client_credentials(&self) -> Response {
        let response = self.post("/token", b"grant_type=client_credentials&scope=read", Some(&self.cc_authorization));
        assert_eq!(response.status(), StatusCode::OK, "{}", body_text(&response));
        response
    }

    /// The introspection request body for `access` (built in setup).
    pub fn introspect_body(access: &str) -> String {
        format!("token={access}&token_type_hint=access_token")
    }

    /// Op 4: one RFC 7662 introspection by the resource server `rs` (client_secret_basic).
    #[inline(never)]
    pub fn introspect(&self, body: &str) -> Response {
        let response = self.post("/introspect", body.as_bytes(), Some(&self.rs_authorization));
        assert!(body_bytes(&response).starts_with(br#"{"active":true"#), "{}", body_text(&response));
        response
    }

    /// Op 5: one bearer check for scope `read`; `authorization` is `Bearer <token>`.
    #[inline(never)]
    pub fn bearer(&self, authorization: &str) -> Arc<IssuedToken> {
        let token = authorization
            .get(..7)
            .filter(|scheme| scheme.eq_ignore_ascii_case("bearer "))
            .map(|_| authorization[7..].trim())
            .expect("Bearer");
        let record = block_on(self.server.introspect(token)).expect("store").expect("active token");
        assert!(record.scope.contains("read"), "scope");
        record
    }

    /// `Storage::sweep_expired` as of `now` (oauth-as's `purge_expired`): how many records went.
    pub fn sweep_expired(&self, now: std::time::SystemTime) -> u64 {
        block_on(self.server.store().sweep_expired(now)).expect("sweep")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_operation_succeeds() {
        let o = OauthAs::new();
        let (access, refresh) = o.grant();
        assert_eq!(access.len(), 64);
        let rotated = OauthAs::tokens(&o.refresh(&OauthAs::refresh_body(&refresh)));
        assert_ne!(rotated.1, refresh, "refresh rotates");
        // The spent refresh token is refused (and its family revoked).
        let replay = o.post("/token", OauthAs::refresh_body(&refresh).as_bytes(), None);
        assert_eq!(replay.status(), StatusCode::BAD_REQUEST);
        let cc = body_text(&o.client_credentials());
        assert!(json_str(&cc, "refresh_token").is_none(), "{cc}");
        let (rs_access, _) = o.grant_for_resource_server();
        let answer = body_text(&o.introspect(&OauthAs::introspect_body(&rs_access)));
        assert!(answer.contains(r#""aud":["https://api.example"]"#), "{answer}");
        // A token that names no resource is inactive to the resource server.
        let fresh = o.grant().0;
        let inactive = o.post("/introspect", OauthAs::introspect_body(&fresh).as_bytes(), Some(&o.rs_authorization));
        assert_eq!(body_text(&inactive), r#"{"active":false}"#);
        assert_eq!(o.bearer(&format!("Bearer {fresh}")).subject.as_deref(), Some("alice"));
    }
}
