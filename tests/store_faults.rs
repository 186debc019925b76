//! A store that fails: every endpoint answers with a clean OAuth error (AZ-11, TK-11), never a
//! panic and never a false success, and nothing half-written is left behind.

mod common;

use std::future::Future;
use std::sync::Arc;
use std::sync::atomic::{AtomicU8, Ordering};

use common::*;
use oauth21::store::{
    AccessTokenRecord, CodeRecord, CodeTake, InsertOutcome, NewGrant, RefreshTokenRecord, RotateOutcome, Rotation,
    Store, StoreError,
};
use oauth21::{
    Approval, AuthorizeError, AuthorizeOutcome, Client, ClientId, GrantId, ManualClock, MemoryStore, Request, Server,
    ServerConfig, Subject, SystemRandom, TokenHash,
};
use time::OffsetDateTime;

/// Which operation fails, and how.
#[derive(Clone, Copy, PartialEq, Eq)]
#[repr(u8)]
enum Fault {
    None,
    ClientUnavailable,
    ClientBroken,
    InsertCodeBroken,
    InsertCodeUnavailable,
    TakeCodeUnavailable,
    InsertGrantBroken,
    LookupBroken,
}

struct FlakyStore {
    inner: MemoryStore,
    fault: AtomicU8,
}

impl FlakyStore {
    fn fails(&self, fault: Fault) -> bool {
        self.fault.load(Ordering::SeqCst) == fault as u8
    }
    fn set(&self, fault: Fault) {
        self.fault.store(fault as u8, Ordering::SeqCst);
    }
}

fn down() -> StoreError {
    StoreError::unavailable("connection refused")
}

impl Store for FlakyStore {
    fn client(&self, id: &ClientId) -> impl Future<Output = Result<Option<Client>, StoreError>> + Send {
        let result = if self.fails(Fault::ClientUnavailable) {
            Err(down())
        } else if self.fails(Fault::ClientBroken) {
            Err(StoreError::backend("corrupt client record"))
        } else {
            Ok(block_on(self.inner.client(id)).unwrap())
        };
        std::future::ready(result)
    }
    fn insert_code(&self, code: CodeRecord) -> impl Future<Output = Result<(), StoreError>> + Send {
        let result = if self.fails(Fault::InsertCodeBroken) {
            Err(StoreError::backend("disk full"))
        } else if self.fails(Fault::InsertCodeUnavailable) {
            Err(down())
        } else {
            block_on(self.inner.insert_code(code))
        };
        std::future::ready(result)
    }
    fn take_code(&self, hash: &TokenHash) -> impl Future<Output = Result<CodeTake, StoreError>> + Send {
        let result =
            if self.fails(Fault::TakeCodeUnavailable) { Err(down()) } else { block_on(self.inner.take_code(hash)) };
        std::future::ready(result)
    }
    fn rotate_refresh(&self, rotation: Rotation) -> impl Future<Output = Result<RotateOutcome, StoreError>> + Send {
        self.inner.rotate_refresh(rotation)
    }
    fn revoke_subject(
        &self,
        subject: &Subject,
        at: OffsetDateTime,
        until: OffsetDateTime,
    ) -> impl Future<Output = Result<(), StoreError>> + Send {
        self.inner.revoke_subject(subject, at, until)
    }
    fn insert_grant(&self, tokens: NewGrant) -> impl Future<Output = Result<InsertOutcome, StoreError>> + Send {
        let result = if self.fails(Fault::InsertGrantBroken) {
            Err(StoreError::backend("write failed"))
        } else {
            block_on(self.inner.insert_grant(tokens))
        };
        std::future::ready(result)
    }
    fn revoke_grant(
        &self,
        id: &GrantId,
        at: OffsetDateTime,
        until: OffsetDateTime,
    ) -> impl Future<Output = Result<(), StoreError>> + Send {
        self.inner.revoke_grant(id, at, until)
    }
    fn access_token(
        &self,
        hash: &TokenHash,
    ) -> impl Future<Output = Result<Option<AccessTokenRecord>, StoreError>> + Send {
        let result = if self.fails(Fault::LookupBroken) {
            Err(StoreError::backend("read failed"))
        } else {
            block_on(self.inner.access_token(hash))
        };
        std::future::ready(result)
    }
    fn revoke_access_token(&self, hash: &TokenHash) -> impl Future<Output = Result<(), StoreError>> + Send {
        self.inner.revoke_access_token(hash)
    }
    fn refresh_token(
        &self,
        hash: &TokenHash,
    ) -> impl Future<Output = Result<Option<RefreshTokenRecord>, StoreError>> + Send {
        self.inner.refresh_token(hash)
    }
}

fn flaky() -> (Server<Arc<FlakyStore>>, Arc<FlakyStore>) {
    let inner = MemoryStore::new();
    inner.insert_client(
        Client::public("app").redirect_uri("http://127.0.0.1/cb").scope("read").default_scope("read").build().unwrap(),
    );
    let store = Arc::new(FlakyStore { inner, fault: AtomicU8::new(Fault::None as u8) });
    let config = ServerConfig::builder(ISSUER).build().unwrap();
    let server = Server::with_providers(
        config,
        store.clone(),
        Arc::new(ManualClock::at_unix(1_700_000_000)),
        SystemRandom::new(),
    );
    (server, store)
}

fn consent(server: &Server<Arc<FlakyStore>>) -> oauth21::ConsentRequest {
    match block_on(server.authorize(&Request::get(&app_query("")))) {
        AuthorizeOutcome::Consent(c) => c,
        AuthorizeOutcome::Error { error, .. } => panic!("{error:?}"),
        _ => unreachable!("a variant this code does not know"),
    }
}

#[test]
fn az11_client_lookup_failure_is_an_error_page_not_a_redirect() {
    let (server, store) = flaky();
    store.set(Fault::ClientUnavailable);
    let AuthorizeOutcome::Error { error, response } = block_on(server.authorize(&Request::get(&app_query("")))) else {
        panic!("must fail")
    };
    assert_eq!(error, AuthorizeError::TemporarilyUnavailable);
    assert_eq!(response.status(), 503);
    assert!(response.location().is_none(), "the redirect URI was never validated");
}

#[test]
fn az11_a_broken_client_lookup_is_a_500_error_page_not_a_redirect() {
    let (server, store) = flaky();
    store.set(Fault::ClientBroken);
    let AuthorizeOutcome::Error { error, response } = block_on(server.authorize(&Request::get(&app_query("")))) else {
        panic!("must fail")
    };
    assert_eq!(error, AuthorizeError::ServerError);
    assert_eq!(error.code().as_str(), "server_error");
    assert_eq!(response.status(), 500);
    assert!(response.location().is_none(), "the redirect URI was never validated");
}

#[test]
fn az11_a_code_store_outage_redirects_temporarily_unavailable() {
    let (server, store) = flaky();
    let consent = consent(&server);
    store.set(Fault::InsertCodeUnavailable);
    let response =
        block_on(server.approve(&consent, Approval::new(Subject::new("alice").unwrap()))).unwrap().into_response();
    let location = response.location().unwrap();
    assert_eq!(query_param(location, "error").as_deref(), Some("temporarily_unavailable"));
    assert!(query_param(location, "code").is_none());
    assert_eq!(store.inner.counts().0, 0);
}

#[test]
fn az11_code_store_failure_redirects_server_error() {
    let (server, store) = flaky();
    let consent = consent(&server);
    store.set(Fault::InsertCodeBroken);
    let response =
        block_on(server.approve(&consent, Approval::new(Subject::new("alice").unwrap()))).unwrap().into_response();
    let location = response.location().unwrap();
    assert_eq!(query_param(location, "error").as_deref(), Some("server_error"));
    assert_eq!(query_param(location, "state").as_deref(), Some("st8"));
    assert_eq!(query_param(location, "iss").as_deref(), Some(ISSUER));
    assert!(query_param(location, "code").is_none());
    assert_eq!(store.inner.counts().0, 0);
}

#[test]
fn tk11_take_code_failure_is_503_and_the_code_survives() {
    let (server, store) = flaky();
    let consent = consent(&server);
    let response =
        block_on(server.approve(&consent, Approval::new(Subject::new("alice").unwrap()))).unwrap().into_response();
    let code = query_param(response.location().unwrap(), "code").unwrap();
    store.set(Fault::TakeCodeUnavailable);
    let body = app_redeem_body(&code);
    let r = block_on(server.token(&Request::form_post(body.as_bytes())));
    assert_eq!(r.status(), 503);
    assert_eq!(json(&r)["error"], "temporarily_unavailable");
    assert_eq!(r.header("Cache-Control"), Some("no-store"));
    // The store never consumed the code, so the client's retry works.
    store.set(Fault::None);
    assert_eq!(block_on(server.token(&Request::form_post(body.as_bytes()))).status(), 200);
}

#[test]
fn tk11_token_write_failure_is_500_and_no_token_is_handed_out() {
    let (server, store) = flaky();
    let consent = consent(&server);
    let response =
        block_on(server.approve(&consent, Approval::new(Subject::new("alice").unwrap()))).unwrap().into_response();
    let code = query_param(response.location().unwrap(), "code").unwrap();
    store.set(Fault::InsertGrantBroken);
    let r = block_on(server.token(&Request::form_post(app_redeem_body(&code).as_bytes())));
    assert_eq!(r.status(), 500);
    assert_eq!(json(&r)["error"], "server_error");
    assert!(json(&r).get("access_token").is_none());
    assert_eq!(store.inner.counts().1, 0);
}

#[test]
fn rv06_store_failure_is_503_never_a_false_200() {
    let (server, store) = flaky();
    store.set(Fault::LookupBroken);
    let r = block_on(server.revoke(&Request::form_post(b"token=abc&client_id=app")));
    assert_eq!(r.status(), 503);
    assert_eq!(json(&r)["error"], "temporarily_unavailable");
    assert_eq!(r.header("Cache-Control"), Some("no-store"));
}

/// What the hooks heard about internal failures: operation, kind and message, cause.
#[derive(Default)]
struct FailureLog(std::sync::Mutex<Vec<String>>);

impl oauth21::hooks::Hooks for FailureLog {
    fn failure(&self, failure: &oauth21::hooks::Failure<'_>) {
        let line = match failure {
            oauth21::hooks::Failure::Store { operation, error } => {
                let cause = std::error::Error::source(*error).map(|c| c.to_string()).unwrap_or_default();
                format!("store {operation}: {error} (cause: {cause})")
            }
            other => format!("{other:?}"),
        };
        self.0.lock().unwrap().push(line);
    }
}

/// A cause the store keeps for the operator.
#[derive(Debug)]
struct DiskFull;

impl std::fmt::Display for DiskFull {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("no space left on device")
    }
}

impl std::error::Error for DiskFull {}

/// Store, randomness and signing failures reach the host with their cause, while the client
/// sees only `server_error` / `temporarily_unavailable`; a failed approval names no grant, a
/// successful one names the grant its tokens will join.
#[test]
fn internal_failures_reach_the_hooks_with_their_cause() {
    let log = Arc::new(FailureLog::default());
    let (server, store) = flaky();
    let server = server.with_hooks(log.clone());
    let pending = consent(&server);
    store.set(Fault::InsertCodeBroken);
    let failed = block_on(server.approve(&pending, Approval::new(Subject::new("alice").unwrap()))).unwrap();
    assert!(failed.grant_id().is_none());
    assert!(failed.response().location().unwrap().contains("error=server_error"));
    store.set(Fault::None);
    let approved = block_on(server.approve(&pending, Approval::new(Subject::new("alice").unwrap()))).unwrap();
    let grant = approved.grant_id().cloned().expect("a code was issued");
    let code = query_param(approved.response().location().unwrap(), "code").unwrap();
    let tokens = json(&block_on(server.token(&Request::form_post(app_redeem_body(&code).as_bytes()))));
    let access = oauth21::AccessToken::new(tokens["access_token"].as_str().unwrap());
    let record = block_on(store.inner.access_token(&access.hash())).unwrap().unwrap();
    assert_eq!(record.grant_id, grant, "the approval named the grant the tokens joined");

    store.set(Fault::LookupBroken);
    let r = block_on(server.revoke(&Request::form_post(b"token=abc&client_id=app")));
    assert_eq!(r.status(), 503);
    let heard = log.0.lock().unwrap().clone();
    assert!(heard.iter().any(|l| l.starts_with("store insert_code: store failure: ")), "{heard:?}");
    assert!(heard.iter().any(|l| l.starts_with("store access_token: ")), "{heard:?}");
    assert!(heard.iter().all(|l| !l.contains(&code)), "no code in a failure report");

    // The cause a store attaches is kept for the host.
    let error = StoreError::backend("insert failed").with_source(DiskFull);
    assert_eq!(std::error::Error::source(&error).unwrap().to_string(), "no space left on device");

    // A random source that fails: nothing issued, the host hears of it.
    struct Broken;
    impl oauth21::Random for Broken {
        fn fill_random(&self, _: &mut [u8]) -> Result<(), oauth21::provider::RandomError> {
            Err(oauth21::provider::RandomError)
        }
    }
    let log = Arc::new(FailureLog::default());
    let (server, _) = flaky();
    let server = server.with_random(Broken).with_hooks(log.clone());
    let pending = consent(&server);
    let failed = block_on(server.approve(&pending, Approval::new(Subject::new("alice").unwrap()))).unwrap();
    assert!(failed.grant_id().is_none());
    assert_eq!(log.0.lock().unwrap().as_slice(), ["Random"]);

    // JWT access tokens without a signer: server_error, and the host learns why.
    let log = Arc::new(FailureLog::default());
    let inner = MemoryStore::new();
    inner.insert_client(
        Client::public("app").redirect_uri("http://127.0.0.1/cb").scope("read").default_scope("read").build().unwrap(),
    );
    let config = ServerConfig::builder(ISSUER)
        .access_token_format(oauth21::AccessTokenFormat::Jwt)
        .access_token_audience("https://api.example")
        .build()
        .unwrap();
    let server = Server::new(config, inner).with_hooks(log.clone());
    let AuthorizeOutcome::Consent(pending) = block_on(server.authorize(&Request::get(&app_query("")))) else {
        panic!("consent")
    };
    let approved = block_on(server.approve(&pending, Approval::new(Subject::new("alice").unwrap()))).unwrap();
    let code = query_param(approved.response().location().unwrap(), "code").unwrap();
    let r = block_on(server.token(&Request::form_post(app_redeem_body(&code).as_bytes())));
    assert_eq!(r.status(), 500);
    assert_eq!(log.0.lock().unwrap().as_slice(), ["NoSigner"]);
}
