//! Resource indicators (RFC 8707; RI-01..RI-03, JWT-03) and the bypasses of bad-input class 17:
//! `resource` at the authorization, pushed-request and token endpoints, the audience of every
//! access token, and the resource server's refusal of a token meant for another resource.

mod common;

use std::sync::Arc;

use common::{CHALLENGE, ISSUER, VERIFIER, block_on, json, query_param};
use oauth21::bearer::BearerChecker;
use oauth21::hooks::{HookFuture, Hooks};
use oauth21::jose::{Algorithm, KeySet, SharedKeySet, SigningKey};
use oauth21::jwt::JwtVerifier;
use oauth21::{
    AccessTokenFormat, Approval, ApprovalError, AuthorizeError, AuthorizeOutcome, Client, ClientSecret, GrantType,
    ManualClock, MemoryStore, Request, Resource, Response, Scope, Server, ServerConfig, Subject, SystemRandom,
};

const DEFAULT_AUDIENCE: &str = "https://api.example";
const A: &str = "https://a.example/api";
const B: &str = "https://b.example/api";
const C: &str = "https://c.example/api";
const POLICY_PREFIX: &str = "https://tenant.example/";

/// The host's policy: `svc` may ask for any resource under `POLICY_PREFIX`.
struct TenantPolicy;

impl Hooks for TenantPolicy {
    fn allow_resource<'a>(&'a self, client: &'a Client, resource: &'a Resource) -> HookFuture<'a, bool> {
        HookFuture::ready(client.id().as_str() == "svc" && resource.as_str().starts_with(POLICY_PREFIX))
    }
}

struct Setup {
    server: Server<Arc<MemoryStore>>,
    store: Arc<MemoryStore>,
    clock: Arc<ManualClock>,
    keys: SharedKeySet,
}

/// `app`: public, code + refresh, resources A and B registered. `svc`: client credentials.
fn setup(format: AccessTokenFormat) -> Setup {
    let store = Arc::new(MemoryStore::new());
    store.insert_client(
        Client::public("app")
            .redirect_uri("http://127.0.0.1/cb")
            .grant_types([GrantType::AuthorizationCode, GrantType::RefreshToken])
            .scope("read write")
            .resource(A)
            .resource(B)
            .build()
            .unwrap(),
    );
    store.insert_client(
        Client::confidential("svc", &ClientSecret::new("a long enough service secret"))
            .grant_types([GrantType::ClientCredentials])
            .scope("read")
            .build()
            .unwrap(),
    );
    let config = ServerConfig::builder(ISSUER)
        .access_token_format(format)
        .access_token_audience(DEFAULT_AUDIENCE)
        .build()
        .unwrap();
    let clock = Arc::new(ManualClock::at_unix(1_700_000_000));
    let keys = SharedKeySet::new(KeySet::with_active(SigningKey::generate(Algorithm::ES256, "k1").unwrap()));
    let server = Server::with_providers(config, store.clone(), clock.clone(), SystemRandom::new())
        .with_hooks(TenantPolicy)
        .with_jwt_keys(keys.clone());
    Setup { server, store, clock, keys }
}

fn query(resources: &[&str]) -> String {
    let mut query = format!(
        "response_type=code&client_id=app&redirect_uri=http%3A%2F%2F127.0.0.1%3A5000%2Fcb&state=st8&scope=read\
         &code_challenge={CHALLENGE}&code_challenge_method=S256"
    );
    for resource in resources {
        query.push_str(&format!("&resource={}", urlencode(resource)));
    }
    query
}

fn urlencode(text: &str) -> String {
    serde_urlencoded::to_string([("v", text)]).unwrap()[2..].to_owned()
}

impl Setup {
    fn authorize(&self, query: &str) -> AuthorizeOutcome {
        block_on(self.server.authorize(&Request::get(query)))
    }

    fn code_with(&self, query: &str, approval: Approval) -> String {
        let AuthorizeOutcome::Consent(consent) = self.authorize(query) else { panic!("consent expected") };
        let approved = block_on(self.server.approve(&consent, approval)).unwrap();
        query_param(approved.response().location().unwrap(), "code").unwrap()
    }

    fn code(&self, resources: &[&str]) -> String {
        self.code_with(&query(resources), Approval::new(Subject::new("alice").unwrap()))
    }

    fn token(&self, body: &str) -> Response {
        block_on(self.server.token(&Request::form_post(body.as_bytes())))
    }

    fn redeem(&self, code: &str, resource: Option<&str>) -> Response {
        let extra = resource.map(|r| format!("&resource={}", urlencode(r))).unwrap_or_default();
        self.token(&format!(
            "grant_type=authorization_code&client_id=app&code={code}\
             &redirect_uri=http%3A%2F%2F127.0.0.1%3A5000%2Fcb&code_verifier={VERIFIER}{extra}"
        ))
    }

    fn refresh(&self, refresh: &str, extra: &str) -> Response {
        self.token(&format!("grant_type=refresh_token&client_id=app&refresh_token={refresh}{extra}"))
    }

    /// The `aud` the store recorded for `token` (what introspection answers).
    fn audience(&self, token: &str) -> Option<String> {
        let checker = BearerChecker::new(self.store.clone(), self.clock.clone(), "api").unwrap();
        let header = format!("Bearer {token}");
        let record =
            block_on(checker.check(&Request::get("").with_authorization(header.as_bytes()), &Scope::default()))
                .unwrap();
        record.audience
    }
}

fn error_code(response: &Response) -> String {
    assert_eq!(response.status(), 400, "{:?}", String::from_utf8_lossy(response.body()));
    json(response)["error"].as_str().unwrap().to_owned()
}

#[test]
fn ri01_a_malformed_resource_is_invalid_target_redirected_with_state() {
    let s = setup(AccessTokenFormat::Opaque);
    for bad in ["api", "/relative/path", "https://a.example/api#section", "https://a.example/a b"] {
        let AuthorizeOutcome::Error { error, response } = s.authorize(&query(&[bad])) else { panic!("{bad}") };
        assert!(matches!(error, AuthorizeError::InvalidTarget(_)), "{bad}: {error:?}");
        let location = response.location().unwrap();
        assert_eq!(query_param(location, "error").as_deref(), Some("invalid_target"));
        assert_eq!(query_param(location, "state").as_deref(), Some("st8"));
        assert_eq!(query_param(location, "iss").as_deref(), Some(ISSUER));
    }
    let body = "grant_type=client_credentials&client_id=svc&client_secret=a+long+enough+service+secret&resource=api";
    assert_eq!(error_code(&s.token(body)), "invalid_target");
}

#[test]
fn ri01_only_registered_default_or_policy_approved_resources_may_be_asked_for() {
    let s = setup(AccessTokenFormat::Opaque);
    assert!(matches!(s.authorize(&query(&[A, B])), AuthorizeOutcome::Consent(_)));
    // The default audience needs no registration.
    assert!(matches!(s.authorize(&query(&[DEFAULT_AUDIENCE])), AuthorizeOutcome::Consent(_)));
    let AuthorizeOutcome::Error { error, response } = s.authorize(&query(&[A, C])) else { panic!() };
    assert!(matches!(error, AuthorizeError::InvalidTarget(_)));
    assert_eq!(query_param(response.location().unwrap(), "error").as_deref(), Some("invalid_target"));
    // The host's policy decides for svc; nothing else is allowed to it.
    let cc = |resource: &str| {
        s.token(&format!(
            "grant_type=client_credentials&client_id=svc&client_secret=a+long+enough+service+secret&scope=read&resource={}",
            urlencode(resource)
        ))
    };
    let allowed = cc("https://tenant.example/mcp");
    assert_eq!(allowed.status(), 200);
    assert_eq!(
        s.audience(json(&allowed)["access_token"].as_str().unwrap()).as_deref(),
        Some("https://tenant.example/mcp")
    );
    assert_eq!(error_code(&cc(A)), "invalid_target");
    assert_eq!(error_code(&cc("https://tenant.example.evil/mcp")), "invalid_target");
}

#[test]
fn ri02_granted_resources_are_recorded_and_each_token_names_one() {
    let s = setup(AccessTokenFormat::Opaque);
    let code = s.code(&[A, B]);
    // Two granted: the token request must say which (one audience per token).
    assert_eq!(error_code(&s.redeem(&code, None)), "invalid_target");
    let code = s.code(&[A, B]);
    let body = json(&s.redeem(&code, Some(A)));
    assert_eq!(s.audience(body["access_token"].as_str().unwrap()).as_deref(), Some(A));
    // A refresh may name the other granted resource, and nothing else.
    let refreshed = json(&s.refresh(body["refresh_token"].as_str().unwrap(), &format!("&resource={}", urlencode(B))));
    assert_eq!(s.audience(refreshed["access_token"].as_str().unwrap()).as_deref(), Some(B));
    let next = refreshed["refresh_token"].as_str().unwrap();
    assert_eq!(error_code(&s.refresh(next, &format!("&resource={}", urlencode(C)))), "invalid_target");
    // A failed narrowing consumed nothing: the same refresh token still works.
    assert_eq!(s.refresh(next, &format!("&resource={}", urlencode(A))).status(), 200);
}

#[test]
fn ri02_one_granted_resource_is_the_audience_and_none_means_the_default() {
    let s = setup(AccessTokenFormat::Opaque);
    let body = json(&s.redeem(&s.code(&[A]), None));
    assert_eq!(s.audience(body["access_token"].as_str().unwrap()).as_deref(), Some(A));
    let refreshed = json(&s.refresh(body["refresh_token"].as_str().unwrap(), ""));
    assert_eq!(s.audience(refreshed["access_token"].as_str().unwrap()).as_deref(), Some(A));
    let body = json(&s.redeem(&s.code(&[]), None));
    assert_eq!(s.audience(body["access_token"].as_str().unwrap()).as_deref(), Some(DEFAULT_AUDIENCE));
}

#[test]
fn ri02_the_approval_may_narrow_the_resources_never_widen_them() {
    let s = setup(AccessTokenFormat::Opaque);
    let alice = || Approval::new(Subject::new("alice").unwrap());
    let code = s.code_with(&query(&[A, B]), alice().with_resources([Resource::new(A).unwrap()]));
    assert_eq!(error_code(&s.redeem(&code, Some(B))), "invalid_target");
    let code = s.code_with(&query(&[A, B]), alice().with_resources([Resource::new(A).unwrap()]));
    assert_eq!(s.redeem(&code, None).status(), 200);
    let AuthorizeOutcome::Consent(consent) = s.authorize(&query(&[A])) else { panic!() };
    assert_eq!(consent.resources(), [Resource::new(A).unwrap()]);
    let wider = alice().with_resources([Resource::new(A).unwrap(), Resource::new(B).unwrap()]);
    assert_eq!(block_on(s.server.approve(&consent, wider)).unwrap_err(), ApprovalError::ResourceNotRequested);
    let none = alice().with_resources([]);
    assert_eq!(block_on(s.server.approve(&consent, none)).unwrap_err(), ApprovalError::NoResource);
}

#[test]
fn ri03_audience_parameter_and_repeated_or_ungranted_resource_never_widen_aud() {
    let s = setup(AccessTokenFormat::Opaque);
    // `audience` is not read at all: it neither adds to nor replaces the granted resource.
    let code = s.code(&[A]);
    let body = json(&s.redeem(&code, None).clone());
    let refresh = body["refresh_token"].as_str().unwrap();
    let with_audience = s.refresh(refresh, &format!("&audience={}", urlencode(C)));
    let refreshed = json(&with_audience);
    assert_eq!(s.audience(refreshed["access_token"].as_str().unwrap()).as_deref(), Some(A));
    // Two resources at the token endpoint: refused, not a token for both.
    let refresh = refreshed["refresh_token"].as_str().unwrap();
    let two = format!("&resource={}&resource={}", urlencode(A), urlencode(B));
    assert_eq!(error_code(&s.refresh(refresh, &two)), "invalid_target");
    // The default audience is not granted alongside named resources.
    assert_eq!(
        error_code(&s.refresh(refresh, &format!("&resource={}", urlencode(DEFAULT_AUDIENCE)))),
        "invalid_target"
    );
    // A code granted for the default audience cannot be redeemed for a registered resource.
    assert_eq!(error_code(&s.redeem(&s.code(&[]), Some(B))), "invalid_target");
    // `resource` in the query of a token request is refused, never merged.
    let body = format!("grant_type=refresh_token&client_id=app&refresh_token={refresh}");
    let request = Request::form_post(body.as_bytes()).with_query(b"resource=https%3A%2F%2Fc.example%2Fapi");
    assert_eq!(block_on(s.server.token(&request)).status(), 400);
}

#[test]
fn ri03_a_resource_server_refuses_a_token_meant_for_another_resource() {
    let s = setup(AccessTokenFormat::Opaque);
    let token = json(&s.redeem(&s.code(&[A]), None))["access_token"].as_str().unwrap().to_owned();
    let header = format!("Bearer {token}");
    let request = Request::get("").with_authorization(header.as_bytes());
    let at = |audience: &str| {
        let checker = BearerChecker::new(s.store.clone(), s.clock.clone(), "api").unwrap().require_audience(audience);
        block_on(checker.check(&request, &Scope::parse("read").unwrap()))
    };
    assert!(at(A).is_ok());
    assert!(at(B).is_err());
    assert!(at(DEFAULT_AUDIENCE).is_err());
}

#[test]
fn jwt03_a_jwt_names_the_requested_resource_as_its_single_aud() {
    let s = setup(AccessTokenFormat::Jwt);
    let now = time::OffsetDateTime::from_unix_timestamp(1_700_000_000).unwrap();
    let token = json(&s.redeem(&s.code(&[A, B]), Some(B)))["access_token"].as_str().unwrap().to_owned();
    let claims = JwtVerifier::new(s.keys.clone(), ISSUER, B).verify(&token, now).unwrap();
    assert_eq!(claims.audience, [B]);
    assert!(JwtVerifier::new(s.keys.clone(), ISSUER, A).verify(&token, now).is_err());
    let payload = token.split('.').nth(1).unwrap();
    let payload: serde_json::Value = serde_json::from_slice(
        &base64::Engine::decode(&base64::engine::general_purpose::URL_SAFE_NO_PAD, payload).unwrap(),
    )
    .unwrap();
    assert_eq!(payload["aud"], B, "a single string, not an array");
    // Without resource: the configured default audience.
    let token = json(&s.redeem(&s.code(&[]), None))["access_token"].as_str().unwrap().to_owned();
    assert!(JwtVerifier::new(s.keys.clone(), ISSUER, DEFAULT_AUDIENCE).verify(&token, now).is_ok());
}

#[test]
fn ri02_resources_survive_the_consent_form_and_pushed_requests() {
    let s = setup(AccessTokenFormat::Opaque);
    let AuthorizeOutcome::Consent(consent) = s.authorize(&query(&[A, B])) else { panic!() };
    let resources: Vec<&str> = consent.form_fields().filter(|(n, _)| *n == "resource").map(|(_, v)| v).collect();
    assert_eq!(resources, [A, B]);
    // The form's POST re-validates the same request.
    let form: Vec<(&str, &str)> = consent.form_fields().collect();
    let body = serde_urlencoded::to_string(&form).unwrap();
    let AuthorizeOutcome::Consent(again) = block_on(s.server.authorize(&Request::form_post(body.as_bytes()))) else {
        panic!()
    };
    assert_eq!(again.resources(), consent.resources());
    // Pushed: the same resources come back from the request_uri.
    let push = format!("{}&scope=read", query(&[A, B]).replace("&scope=read", ""));
    let pushed = block_on(s.server.pushed_authorization_request(&Request::form_post(push.as_bytes())));
    assert_eq!(pushed.status(), 201, "{}", String::from_utf8_lossy(pushed.body()));
    let request_uri = json(&pushed)["request_uri"].as_str().unwrap().to_owned();
    let load = format!("client_id=app&request_uri={}", urlencode(&request_uri));
    let AuthorizeOutcome::Consent(loaded) = s.authorize(&load) else { panic!() };
    assert_eq!(loaded.resources(), consent.resources());
    // A pushed request naming a resource the client may not have is refused at the push.
    let bad = query(&[C]);
    let refused = block_on(s.server.pushed_authorization_request(&Request::form_post(bad.as_bytes())));
    assert_eq!(error_code(&refused), "invalid_target");
}
