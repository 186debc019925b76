//! The client_credentials grant (CC-01..CC-03), client secrets (generation, rotation, external
//! hashes), the brute-force hook (SEC-06), and client registration rules (AZ-07, AZ-10, SEC-07).

mod common;

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

use common::*;
use oauth21::client::basic_auth_header;
use oauth21::client::{AuthFailure, RedirectUriError};
use oauth21::hooks::{HookFuture, Hooks, SecurityEvent};
use oauth21::store::Store;
use oauth21::{
    AccessToken, Client, ClientId, ClientSecret, GrantType, ManualClock, MemoryStore, RegistrationError, Request,
    Response, Server, ServerConfig, SystemRandom,
};

const SVC: &str = "svc-secret";

fn assert_error(response: &Response, status: u16, error: &str) {
    assert_eq!(response.status(), status, "{}", String::from_utf8_lossy(response.body()));
    assert_eq!(json(response)["error"], error);
    assert_eq!(response.header("Cache-Control"), Some("no-store"));
}

fn svc_token(fx: &Fixture, extra: &str) -> Response {
    fx.token(&format!("grant_type=client_credentials{extra}"), Some(&basic_auth_header("svc", SVC)))
}

// ---- CC-01: confidential clients only, authenticated ----

#[test]
fn cc01_authenticated_confidential_client_gets_a_token_for_itself() {
    let fx = fixture();
    let r = svc_token(&fx, "&scope=read");
    assert_eq!(r.status(), 200);
    let body = json(&r);
    assert_eq!(body["token_type"], "Bearer");
    assert_eq!(body["scope"], "read");
    let record = block_on(fx.store.access_token(&AccessToken::new(body["access_token"].as_str().unwrap()).hash()))
        .unwrap()
        .unwrap();
    assert_eq!(record.subject.as_str(), "svc", "the client is the subject");
    assert_eq!(record.client_id.as_str(), "svc");
}

#[test]
fn cc01_client_secret_post_works_too() {
    let fx = fixture();
    let r = fx.token(&format!("grant_type=client_credentials&scope=read&client_id=svc&client_secret={SVC}"), None);
    assert_eq!(r.status(), 200);
}

#[test]
fn cc01_unauthenticated_or_wrong_secret_is_invalid_client() {
    let fx = fixture();
    assert_error(&fx.token("grant_type=client_credentials&scope=read&client_id=svc", None), 400, "invalid_client");
    let r = fx.token("grant_type=client_credentials&scope=read", Some(&basic_auth_header("svc", "nope")));
    assert_error(&r, 401, "invalid_client");
    assert!(r.header("WWW-Authenticate").is_some());
    assert_error(&fx.token("grant_type=client_credentials&scope=read", None), 400, "invalid_request");
}

#[test]
fn cc01_public_client_cannot_use_client_credentials() {
    let fx = fixture();
    // No public client can be registered for it ...
    let e = Client::public("p").grant_types([GrantType::ClientCredentials]).build().unwrap_err();
    assert_eq!(e, RegistrationError::PublicClientCredentials);
    // ... and one that asks anyway is not authorized.
    assert_error(&fx.token("grant_type=client_credentials&client_id=app", None), 400, "unauthorized_client");
}

#[test]
fn cc01_confidential_client_without_the_grant_is_unauthorized_client() {
    let fx = fixture();
    let r = fx.token("grant_type=client_credentials&scope=read", Some(&basic_auth_header("web", WEB_SECRET)));
    assert_error(&r, 400, "unauthorized_client");
}

// ---- CC-02: scope ----

#[test]
fn cc02_scope_outside_the_clients_allowed_is_invalid_scope() {
    let fx = fixture();
    assert_error(&svc_token(&fx, "&scope=write"), 400, "invalid_scope");
    assert_error(&svc_token(&fx, "&scope=read%20write"), 400, "invalid_scope");
    assert_error(&svc_token(&fx, "&scope=read%20%20"), 400, "invalid_scope");
}

#[test]
fn cc02_omitted_scope_uses_the_default_or_fails() {
    let fx = fixture();
    // svc has no default scope.
    assert_error(&svc_token(&fx, ""), 400, "invalid_scope");
    fx.store.insert_client(
        Client::confidential("svc", &ClientSecret::new(SVC))
            .allow_short_secrets()
            .grant_types([GrantType::ClientCredentials])
            .scope("read write")
            .default_scope("read")
            .build()
            .unwrap(),
    );
    let r = svc_token(&fx, "");
    assert_eq!(r.status(), 200);
    assert_eq!(json(&r)["scope"], "read");
}

// ---- CC-03: no refresh token ----

#[test]
fn cc03_no_refresh_token_even_for_a_client_allowed_to_refresh() {
    let fx = fixture();
    fx.store.insert_client(
        Client::confidential("svc", &ClientSecret::new(SVC))
            .allow_short_secrets()
            .grant_types([GrantType::ClientCredentials, GrantType::RefreshToken])
            .scope("read")
            .build()
            .unwrap(),
    );
    let body = json(&svc_token(&fx, "&scope=read"));
    assert!(body.get("refresh_token").is_none());
    assert_eq!(fx.store.counts().2, 0);
}

// ---- Secrets: generated, rotated, external ----

#[test]
fn sec04_generated_secrets_are_256_bit_and_authenticate() {
    let keys = SystemRandom::new();
    let (a, b) = (ClientSecret::generate(&keys).unwrap(), ClientSecret::generate(&keys).unwrap());
    assert_eq!(a.secret().len(), 43);
    assert_ne!(a, b);
    let fx = fixture();
    fx.store.insert_client(
        Client::confidential("gen", &a)
            .allow_short_secrets()
            .grant_types([GrantType::ClientCredentials])
            .scope("read")
            .build()
            .unwrap(),
    );
    let r = fx.token("grant_type=client_credentials&scope=read", Some(&basic_auth_header("gen", a.secret())));
    assert_eq!(r.status(), 200);
}

#[test]
fn tk06_secrets_rotate_without_downtime() {
    let fx = fixture();
    let (old, new) = (ClientSecret::new("old-secret"), ClientSecret::new("new-secret"));
    let register = |secrets: &[&ClientSecret]| {
        let mut b = Client::confidential("rot", secrets[0])
            .allow_short_secrets()
            .grant_types([GrantType::ClientCredentials])
            .scope("read");
        for s in &secrets[1..] {
            b = b.secret(s);
        }
        fx.store.insert_client(b.build().unwrap());
    };
    let try_with = |s: &ClientSecret| {
        fx.token("grant_type=client_credentials&scope=read", Some(&basic_auth_header("rot", s.secret()))).status()
    };
    register(&[&old]);
    assert_eq!(try_with(&old), 200);
    // Both active while clients move over.
    register(&[&old, &new]);
    assert_eq!((try_with(&old), try_with(&new)), (200, 200));
    // The old one retired.
    register(&[&new]);
    assert_eq!((try_with(&old), try_with(&new)), (401, 200));
}

/// Hooks standing in for a host: a limiter that can be closed, a fake slow hash
/// (`reversed:<secret reversed>`), and counters.
#[derive(Default)]
struct HostHooks {
    closed: std::sync::atomic::AtomicBool,
    external_checks: AtomicUsize,
    failures: std::sync::Mutex<Vec<AuthFailure>>,
}

impl HostHooks {
    fn failures(&self) -> Vec<AuthFailure> {
        self.failures.lock().unwrap().clone()
    }
}

impl Hooks for HostHooks {
    fn report(&self, event: &SecurityEvent) {
        if let SecurityEvent::ClientAuthenticationFailed { reason, .. } = event {
            self.failures.lock().unwrap().push(*reason);
        }
    }
    fn allow_secret_check(&self, _: &ClientId) -> HookFuture<'_, bool> {
        HookFuture::ready(!self.closed.load(Ordering::SeqCst))
    }
    fn verify_external_secret<'a>(
        &'a self,
        _: &'a ClientId,
        stored: &'a str,
        presented: &'a ClientSecret,
    ) -> HookFuture<'a, bool> {
        // A slow hash runs off the executor in a real host: a boxed future stands for it.
        HookFuture::boxed(async move {
            self.external_checks.fetch_add(1, Ordering::SeqCst);
            let expected: String = presented.secret().chars().rev().collect();
            stored.strip_prefix("reversed:") == Some(expected.as_str())
        })
    }
}

fn hooked_server(hooks: Arc<HostHooks>) -> Server<Arc<MemoryStore>> {
    let store = Arc::new(MemoryStore::new());
    store.insert_client(
        Client::confidential("svc", &ClientSecret::new(SVC))
            .allow_short_secrets()
            .grant_types([GrantType::ClientCredentials])
            .scope("read")
            .build()
            .unwrap(),
    );
    store.insert_client(
        Client::confidential("legacy", &ClientSecret::new("unused-fast-secret"))
            .allow_short_secrets()
            .external_secret("reversed:drowssap-namuh")
            .grant_types([GrantType::ClientCredentials])
            .scope("read")
            .build()
            .unwrap(),
    );
    let config = ServerConfig::builder(ISSUER).build().unwrap();
    Server::with_providers(config, store, ManualClock::at_unix(1_700_000_000), SystemRandom::new()).with_hooks(hooks)
}

fn cc_request(server: &Server<Arc<MemoryStore>>, id: &str, secret: &str) -> Response {
    let auth = basic_auth_header(id, secret);
    block_on(
        server.token(
            &Request::form_post(b"grant_type=client_credentials&scope=read").with_authorization(auth.as_bytes()),
        ),
    )
}

#[test]
fn sec06_limiter_is_asked_before_the_secret_is_checked() {
    let hooks = Arc::new(HostHooks::default());
    let server = hooked_server(hooks.clone());
    assert_eq!(cc_request(&server, "svc", SVC).status(), 200);
    hooks.closed.store(true, Ordering::SeqCst);
    // Even the right secret is refused while the limiter says no, as invalid_client.
    let r = cc_request(&server, "svc", SVC);
    assert_error(&r, 401, "invalid_client");
    assert_eq!(hooks.failures(), [AuthFailure::RateLimited], "the refusal is reported, as rate limited");
    hooks.closed.store(false, Ordering::SeqCst);
    assert_eq!(cc_request(&server, "svc", SVC).status(), 200);
}

#[test]
fn sec06_failures_are_reported_to_the_hooks() {
    let hooks = Arc::new(HostHooks::default());
    let server = hooked_server(hooks.clone());
    for guess in ["a", "b", "c"] {
        assert_eq!(cc_request(&server, "svc", guess).status(), 401);
    }
    assert_eq!(hooks.failures(), [AuthFailure::WrongSecret; 3]);
}

#[test]
fn tk06_external_secret_hash_is_checked_through_the_hooks() {
    let hooks = Arc::new(HostHooks::default());
    let server = hooked_server(hooks.clone());
    assert_eq!(cc_request(&server, "legacy", "human-password").status(), 200);
    assert_eq!(cc_request(&server, "legacy", "human-passwore").status(), 401);
    // Its fast secret still works, without a slow check.
    let before = hooks.external_checks.load(Ordering::SeqCst);
    assert_eq!(cc_request(&server, "legacy", "unused-fast-secret").status(), 200);
    assert_eq!(hooks.external_checks.load(Ordering::SeqCst), before);
    // A client without external secrets never reaches the hook.
    assert_eq!(cc_request(&server, "svc", "wrong").status(), 401);
    assert_eq!(hooks.external_checks.load(Ordering::SeqCst), before);
}

#[test]
fn sec10_stored_secrets_are_redacted_in_debug() {
    let c = Client::confidential("x", &ClientSecret::new("s3cret"))
        .allow_short_secrets()
        .external_secret("$argon2id$v=19$m=65536,t=3,p=4$c2FsdA$aGFzaA")
        .grant_types([GrantType::ClientCredentials])
        .build()
        .unwrap();
    let text = format!("{c:?}");
    assert!(!text.contains("argon2") && !text.contains("s3cret"), "{text}");
}

// ---- Registration (AZ-07, AZ-10, SEC-07) ----

#[test]
fn az07_each_bad_redirect_uri_is_refused_with_its_reason() {
    let cases = [
        ("cb", RedirectUriError::NotAbsolute),
        ("https://app.example/cb#top", RedirectUriError::Fragment),
        ("https://me@app.example/cb", RedirectUriError::Userinfo),
        ("http://app.example/cb", RedirectUriError::InsecureHttp),
        ("myapp://cb", RedirectUriError::PrivateSchemeWithoutDot),
        ("https://app.example/cb?state=x", RedirectUriError::ReservedQueryParameter),
    ];
    for (uri, reason) in cases {
        let e = Client::public("a").redirect_uri(uri).build().unwrap_err();
        assert_eq!(e, RegistrationError::RedirectUri { uri: uri.to_owned(), reason }, "{uri}");
        assert!(!e.to_string().is_empty());
    }
}

#[test]
fn az10_scope_tokens_outside_nqchar_are_refused_at_registration() {
    for bad in ["read \"write\"", "a\\b", "read  write", " read"] {
        let e = Client::public("a").redirect_uri("https://a.example/cb").scope(bad).build().unwrap_err();
        assert_eq!(e, RegistrationError::Scope("scope"), "{bad}");
    }
    let e = Client::public("a").redirect_uri("https://a.example/cb").scope("read").default_scope("re\"ad").build();
    assert_eq!(e.unwrap_err(), RegistrationError::Scope("default_scope"));
}

#[test]
fn sec07_client_kind_rules_at_registration() {
    let secret = ClientSecret::new("s");
    let public_with_secret = Client::public("a").redirect_uri("https://a.example/cb").secret(&secret).build();
    assert_eq!(public_with_secret.unwrap_err(), RegistrationError::PublicClientWithSecret);
    let unknown_grant = Client::confidential("b", &secret)
        .allow_short_secrets()
        .grant_type_names(["client_credentials", "password"])
        .build();
    assert_eq!(unknown_grant.unwrap_err(), RegistrationError::UnknownGrantType("password".into()));
    let none_method = Client::confidential("c", &secret)
        .allow_short_secrets()
        .grant_types([GrantType::ClientCredentials])
        .auth_methods([oauth21::AuthMethod::None])
        .build();
    assert_eq!(none_method.unwrap_err(), RegistrationError::AuthMethod("none"));
    let public_basic = Client::public("d")
        .redirect_uri("https://a.example/cb")
        .auth_methods([oauth21::AuthMethod::ClientSecretBasic])
        .build();
    assert_eq!(public_basic.unwrap_err(), RegistrationError::AuthMethod("client_secret_basic"));
}

/// Secrets rotate by adding the new one beside the old. Every active secret authenticates, one
/// added twice (a rotation replayed) included.
#[test]
fn tk06_every_active_secret_authenticates_even_one_added_twice() {
    let old = ClientSecret::new("old-secret-0123456789");
    let new = ClientSecret::new("new-secret-0123456789");
    let client = Client::confidential("svc", &old)
        .secret(&new)
        .secret(&old)
        .grant_types([GrantType::ClientCredentials])
        .build()
        .unwrap();
    assert!(client.verify_secret(&old));
    assert!(client.verify_secret(&new));
    assert!(!client.verify_secret(&ClientSecret::new("other-secret-0123456789")));
}

/// A stored secret's `Debug` names its kind and never its digest or the host's hash text.
#[test]
fn sec10_a_stored_secret_prints_its_kind_never_its_value() {
    let digest = oauth21::client::StoredSecret::Sha256(ClientSecret::new("old-secret-0123456789").hash());
    assert_eq!(format!("{digest:?}"), "Sha256(<redacted>)");
    let external = oauth21::client::StoredSecret::External("$argon2id$v=19$m=65536,t=3,p=4$c2FsdA$aGFzaA".into());
    assert_eq!(format!("{external:?}"), "External(<redacted>)");
}
