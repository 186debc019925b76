//! Dynamic client registration (RFC 7591; REG-01..REG-03): what is answered, what is refused
//! and why, and that the host's policy has the last word.

mod common;

use std::sync::Arc;

use common::{CHALLENGE, ISSUER, VERIFIER, block_on, json, query_param};
use oauth21::registration::{RegistrationDecision, RegistrationRefusal, RegistrationRequest};
use oauth21::{
    Approval, AuthorizeOutcome, ClientId, ClientSecret, ManualClock, MemoryStore, Request, Response, Scope, Server,
    ServerConfig, Subject, SystemRandom,
};

fn open_policy(_: &RegistrationRequest<'_>) -> RegistrationDecision {
    RegistrationDecision::Accept
}

fn server_with(
    config: ServerConfig,
    policy: impl oauth21::registration::RegistrationPolicy + 'static,
) -> (Server<Arc<MemoryStore>>, Arc<MemoryStore>) {
    let store = Arc::new(MemoryStore::new());
    let clock = ManualClock::at_unix(1_700_000_000);
    let server = Server::with_providers(config, store.clone(), clock, SystemRandom::new())
        .with_registration(policy)
        .expect("MemoryStore keeps registrations");
    (server, store)
}

fn server(
    policy: impl oauth21::registration::RegistrationPolicy + 'static,
) -> (Server<Arc<MemoryStore>>, Arc<MemoryStore>) {
    server_with(ServerConfig::builder(ISSUER).build().unwrap(), policy)
}

fn register(server: &Server<Arc<MemoryStore>>, body: &str) -> Response {
    block_on(server.register(&Request::post(body.as_bytes()).with_content_type(b"application/json")))
}

const PUBLIC: &str = r#"{"redirect_uris":["http://127.0.0.1/callback"],"token_endpoint_auth_method":"none",
    "grant_types":["authorization_code","refresh_token"],"scope":"read write","client_name":"MCP Inspector",
    "client_uri":"https://inspector.example","contacts":["ops@inspector.example"],"software_id":"ignored"}"#;

#[test]
fn reg01_a_public_client_gets_an_id_and_no_secret_and_its_metadata_back() {
    let (server, store) = server(open_policy);
    let response = register(&server, PUBLIC);
    assert_eq!(response.status(), 201, "{}", String::from_utf8_lossy(response.body()));
    assert_eq!(response.header("Cache-Control"), Some("no-store"));
    let body = json(&response);
    let id = body["client_id"].as_str().unwrap();
    assert!(id.len() >= 22, "128 random bits");
    assert_eq!(body["client_id_issued_at"], 1_700_000_000);
    assert!(body.get("client_secret").is_none());
    assert_eq!(body["token_endpoint_auth_method"], "none");
    assert_eq!(body["grant_types"], serde_json::json!(["authorization_code", "refresh_token"]));
    assert_eq!(body["response_types"], serde_json::json!(["code"]));
    assert_eq!(body["redirect_uris"][0], "http://127.0.0.1/callback");
    assert_eq!(body["scope"], "read write");
    assert_eq!(body["client_name"], "MCP Inspector");
    assert_eq!(body["contacts"][0], "ops@inspector.example");
    assert!(body.get("software_id").is_none(), "members the server does not understand are not echoed");
    let stored = block_on(oauth21::Store::client(&store, &ClientId::new(id).unwrap())).unwrap().unwrap();
    assert!(stored.is_public());
    assert_eq!(stored.display().client_name.as_deref(), Some("MCP Inspector"));

    // The new client runs the code flow at once (every instance on this store sees it).
    let query = format!(
        "response_type=code&client_id={id}&redirect_uri=http%3A%2F%2F127.0.0.1%3A4000%2Fcallback\
         &code_challenge={CHALLENGE}&code_challenge_method=S256"
    );
    let AuthorizeOutcome::Consent(consent) = block_on(server.authorize(&Request::get(&query))) else { panic!() };
    assert_eq!(consent.scope(), &Scope::parse("read write").unwrap(), "the registered scope is the default");
    let approved = block_on(server.approve(&consent, Approval::new(Subject::new("alice").unwrap()))).unwrap();
    let code = query_param(approved.response().location().unwrap(), "code").unwrap();
    let redeem = format!(
        "grant_type=authorization_code&client_id={id}&code={code}&code_verifier={VERIFIER}\
         &redirect_uri=http%3A%2F%2F127.0.0.1%3A4000%2Fcallback"
    );
    let tokens = block_on(server.token(&Request::form_post(redeem.as_bytes())));
    assert_eq!(tokens.status(), 200);
    assert!(json(&tokens)["refresh_token"].is_string());
}

#[test]
fn reg01_a_confidential_client_gets_its_secret_once_and_only_its_digest_is_kept() {
    let (server, store) = server(open_policy);
    let body = r#"{"grant_types":["client_credentials"],"scope":"read"}"#;
    let response = register(&server, body);
    assert_eq!(response.status(), 201);
    let body = json(&response);
    assert_eq!(body["token_endpoint_auth_method"], "client_secret_basic", "RFC 7591's default");
    assert_eq!(body["client_secret_expires_at"], 0);
    assert_eq!(body["response_types"], serde_json::json!([]));
    let (id, secret) = (body["client_id"].as_str().unwrap(), body["client_secret"].as_str().unwrap());
    assert_eq!(secret.len(), 43, "256 random bits");
    let stored = block_on(oauth21::Store::client(&store, &ClientId::new(id).unwrap())).unwrap().unwrap();
    let persisted = serde_json::to_string(&stored).unwrap();
    assert!(!persisted.contains(secret), "only the digest is stored");
    assert!(stored.verify_secret(&ClientSecret::new(secret)));
    let basic = oauth21::client::basic_auth_header(id, secret);
    let request = Request::form_post(b"grant_type=client_credentials&scope=read").with_authorization(basic.as_bytes());
    assert_eq!(block_on(server.token(&request)).status(), 200);
    // client_secret_basic only, as registered: the same secret in the body is refused.
    let post = format!("grant_type=client_credentials&scope=read&client_id={id}&client_secret={secret}");
    let refused = block_on(server.token(&Request::form_post(post.as_bytes())));
    assert_eq!(json(&refused)["error"], "invalid_client");
}

#[test]
fn reg02_registrations_pass_the_checks_of_a_static_one() {
    let (server, _) = server(open_policy);
    let refused = |body: &str| {
        let response = register(&server, body);
        assert_eq!(response.status(), 400, "{body}");
        json(&response)["error"].as_str().unwrap().to_owned()
    };
    for body in [
        r#"{"redirect_uris":["https://app.example/cb#frag"],"token_endpoint_auth_method":"none"}"#,
        r#"{"redirect_uris":["http://app.example/cb"],"token_endpoint_auth_method":"none"}"#,
        r#"{"redirect_uris":["http://localhost:80@attacker.test/cb"],"token_endpoint_auth_method":"none"}"#,
        r#"{"token_endpoint_auth_method":"none"}"#,
    ] {
        assert_eq!(refused(body), "invalid_redirect_uri", "{body}");
    }
    for body in [
        r#"{"redirect_uris":["https://app.example/cb"],"grant_types":["password"]}"#,
        r#"{"grant_types":["urn:ietf:params:oauth:grant-type:device_code"],"token_endpoint_auth_method":"none"}"#,
        r#"{"redirect_uris":["https://app.example/cb"],"response_types":["token"]}"#,
        r#"{"grant_types":["client_credentials"],"token_endpoint_auth_method":"none"}"#,
        r#"{"redirect_uris":["https://app.example/cb"],"token_endpoint_auth_method":"client_secret_jwt"}"#,
        r#"{"redirect_uris":["https://app.example/cb"],"token_endpoint_auth_method":"private_key_jwt"}"#,
        r#"{"redirect_uris":["https://app.example/cb"],"jwks_uri":"https://app.example/jwks"}"#,
        r#"{"redirect_uris":["https://app.example/cb"],"scope":"read  write"}"#,
        r#"{"redirect_uris":"https://app.example/cb"}"#,
        r#"{"redirect_uris":["https://app.example/cb"],"client_name":"x\u0007"}"#,
        r#"{"redirect_uris":["https://app.example/cb"],"logo_uri":"javascript:alert(1)"}"#,
        r#"{"redirect_uris":["https://app.example/cb"],"dpop_bound_access_tokens":"yes"}"#,
        r#"{"redirect_uris":["https://a.example/cb"],"redirect_uris":["https://b.example/cb"]}"#,
        r#"["https://app.example/cb"]"#,
        "not json",
    ] {
        assert_eq!(refused(body), "invalid_client_metadata", "{body}");
    }
    // The server's profile applies too: under FAPI 2.0, no public clients.
    let fapi = ServerConfig::builder(ISSUER).fapi2_security_profile().build().unwrap();
    let (fapi_server, _) = server_with(fapi, open_policy);
    let response = register(&fapi_server, PUBLIC);
    assert_eq!(json(&response)["error"], "invalid_client_metadata");
    // Not JSON, not POST.
    let form = block_on(server.register(&Request::form_post(b"redirect_uris=https%3A%2F%2Fa.example%2Fcb")));
    assert_eq!(json(&form)["error"], "invalid_client_metadata");
    let get = block_on(server.register(&Request::get("")));
    assert_eq!(get.status(), 405);
}

#[test]
fn reg03_registration_is_off_unless_a_policy_enables_it() {
    let store = Arc::new(MemoryStore::new());
    let plain = Server::new(ServerConfig::builder(ISSUER).build().unwrap(), store);
    assert_eq!(register(&plain, PUBLIC).status(), 404);
    assert!(json(&plain.metadata()).get("registration_endpoint").is_none());
    let (enabled, _) = server(open_policy);
    assert_eq!(json(&enabled.metadata())["registration_endpoint"], "https://as.example/register");
}

#[test]
fn reg03_the_policy_sees_the_initial_access_token_and_may_refuse_narrow_or_limit() {
    let policy = |request: &RegistrationRequest<'_>| {
        if request.initial_access_token() != Some("initial-token-1") {
            return RegistrationDecision::Refuse(RegistrationRefusal::unauthorized(
                "an initial access token is required",
            ));
        }
        if request.metadata().display.client_name.as_deref() == Some("flood") {
            return RegistrationDecision::Refuse(RegistrationRefusal::rate_limited(30));
        }
        let mut narrowed = request.metadata().clone();
        narrowed.scope = narrowed.scope.intersection(&Scope::parse("read").unwrap());
        RegistrationDecision::Narrow(narrowed)
    };
    let (server, _) = server(policy);
    let without = register(&server, PUBLIC);
    assert_eq!(without.status(), 401);
    assert_eq!(json(&without)["error"], "invalid_token");
    assert!(without.header("WWW-Authenticate").unwrap().starts_with("Bearer"));
    let with_token = |body: &str| {
        let request = Request::post(body.as_bytes())
            .with_content_type(b"application/json")
            .with_authorization(b"Bearer initial-token-1");
        block_on(server.register(&request))
    };
    let narrowed = with_token(PUBLIC);
    assert_eq!(narrowed.status(), 201);
    assert_eq!(json(&narrowed)["scope"], "read");
    let flood = with_token(
        r#"{"redirect_uris":["https://a.example/cb"],"token_endpoint_auth_method":"none","client_name":"flood"}"#,
    );
    assert_eq!(flood.status(), 429);
    assert_eq!(flood.header("Retry-After"), Some("30"));
    // A policy that widens past the checks is still held to them.
    let widening = |request: &RegistrationRequest<'_>| {
        let mut wider = request.metadata().clone();
        wider.redirect_uris.push("http://attacker.example/cb".into());
        RegistrationDecision::Narrow(wider)
    };
    let (widened, _) = self::server(widening);
    assert_eq!(json(&register(&widened, PUBLIC))["error"], "invalid_redirect_uri");
}
