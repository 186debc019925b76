//! oauth21 through its public API: `Server` over `MemoryStore` (shared through an `Arc` with a
//! `BearerChecker`), `SystemClock` and the default generator (`UserspaceRandom`).

use std::sync::Arc;

use oauth21::store::AccessTokenRecord;
use oauth21::{
    Approval, AuthorizeOutcome, BearerChecker, Client, ClientSecret, GrantType, MemoryStore, Request, Response, Scope,
    Server, ServerConfig, Subject, SystemClock,
};

use crate::{REDIRECT, REDIRECT_ENCODED, SECRET, VERIFIER, authorize_query, basic, block_on, json_str};

/// One oauth21 deployment: the authorization server and a resource server sharing its store.
pub struct Oauth21 {
    pub server: Server<Arc<MemoryStore>>,
    pub store: Arc<MemoryStore>,
    pub checker: BearerChecker<Arc<MemoryStore>, SystemClock>,
    subject: Subject,
    required: Scope,
    query: String,
    cc_authorization: String,
    rs_authorization: String,
}

impl Default for Oauth21 {
    fn default() -> Self {
        Self::new()
    }
}

impl Oauth21 {
    /// Clients: `app` (public, code + refresh, scope `read`), `svc` (confidential,
    /// client_credentials), `rs` (confidential resource server that may introspect any token).
    pub fn new() -> Self {
        let store = Arc::new(MemoryStore::new());
        let secret = ClientSecret::new(SECRET);
        store.insert_client(
            Client::public("app")
                .redirect_uri(REDIRECT)
                .grant_types([GrantType::AuthorizationCode, GrantType::RefreshToken])
                .scope("read")
                .build()
                .expect("app"),
        );
        store.insert_client(
            Client::confidential("svc", &secret)
                .grant_types([GrantType::ClientCredentials])
                .scope("read")
                .build()
                .expect("svc"),
        );
        store.insert_client(
            Client::confidential("rs", &secret)
                .grant_types([GrantType::ClientCredentials])
                .may_introspect_any_token()
                .build()
                .expect("rs"),
        );
        let config = ServerConfig::builder("https://as.example").build().expect("config");
        let server = Server::new(config, store.clone());
        let checker = BearerChecker::new(store.clone(), SystemClock, "api").expect("realm");
        Self {
            server,
            store,
            checker,
            subject: Subject::new("alice").expect("subject"),
            required: Scope::parse("read").expect("scope"),
            query: authorize_query(),
            cc_authorization: basic("svc", SECRET),
            rs_authorization: basic("rs", SECRET),
        }
    }

    /// Op 1: authorization request validated, approved, code redeemed with the PKCE verifier.
    #[inline(never)]
    pub fn code_flow(&self) -> Response {
        let consent = match block_on(self.server.authorize(&Request::get(&self.query))) {
            AuthorizeOutcome::Consent(consent) => consent,
            AuthorizeOutcome::Error { error, .. } => panic!("authorize: {error:?}"),
            _ => unreachable!("a variant this code does not know"),
        };
        let redirect = block_on(self.server.approve(&consent, Approval::new(self.subject.clone())))
            .expect("approve")
            .into_response();
        let location = redirect.location().expect("Location");
        let code = location.split(['?', '&']).find_map(|p| p.strip_prefix("code=")).expect("code");
        let body = format!(
            "grant_type=authorization_code&client_id=app&code={code}&redirect_uri={REDIRECT_ENCODED}\
             &code_verifier={VERIFIER}"
        );
        let response = block_on(self.server.token(&Request::form_post(body.as_bytes())));
        assert_eq!(response.status(), 200, "{}", String::from_utf8_lossy(response.body()));
        response
    }

    /// A fresh grant's (access token, refresh token): setup for the other ops.
    pub fn grant(&self) -> (String, String) {
        let response = self.code_flow();
        let json = std::str::from_utf8(response.body()).expect("UTF-8");
        (
            json_str(json, "access_token").expect("access").into(),
            json_str(json, "refresh_token").expect("refresh").into(),
        )
    }

    /// The token request body refreshing `refresh` (what the client sends; built in setup).
    pub fn refresh_body(refresh: &str) -> String {
        format!("grant_type=refresh_token&client_id=app&refresh_token={refresh}")
    }

    /// Op 2: one refresh with rotation.
    #[inline(never)]
    pub fn refresh(&self, body: &str) -> Response {
        let response = block_on(self.server.token(&Request::form_post(body.as_bytes())));
        assert_eq!(response.status(), 200, "{}", String::from_utf8_lossy(response.body()));
        response
    }

    /// Op 3: client_credentials with client_secret_basic.
    #[inline(never)]
    pub fn client_credentials(&self) -> Response {
        let request = Request::form_post(b"grant_type=client_credentials&scope=read")
            .with_authorization(self.cc_authorization.as_bytes());
        let response = block_on(self.server.token(&request));
        assert_eq!(response.status(), 200, "{}", String::from_utf8_lossy(response.body()));
        response
    }

    /// The introspection request body for `access` (built in setup).
    pub fn introspect_body(access: &str) -> String {
        format!("token={access}&token_type_hint=access_token")
    }

    /// Op 4: one introspection by the resource server `rs` (client_secret_basic).
    #[inline(never)]
    pub fn introspect(&self, body: &str) -> Response {
        let request = Request::form_post(body.as_bytes()).with_authorization(self.rs_authorization.as_bytes());
        let response = block_on(self.server.introspect(&request));
        assert!(response.body().starts_with(br#"{"active":true"#), "{}", String::from_utf8_lossy(response.body()));
        response
    }

    /// Op 5: one bearer check for scope `read`; `authorization` is `Bearer <token>`.
    #[inline(never)]
    pub fn bearer(&self, authorization: &str) -> AccessTokenRecord {
        let request = Request::get("").with_authorization(authorization.as_bytes());
        block_on(self.checker.check(&request, &self.required)).expect("bearer check")
    }
}
