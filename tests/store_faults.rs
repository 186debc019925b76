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
    InsertCodeBroken,
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
    StoreError::Unavailable("connection refused".into())
}

impl Store for FlakyStore {
    fn client(&self, id: &ClientId) -> impl Future<Output = Result<Option<Client>, StoreError>> + Send {
        let result = if self.fails(Fault::ClientUnavailable) {
            Err(down())
        } else {
            Ok(block_on(self.inner.client(id)).unwrap())
        };
        std::future::ready(result)
    }
    fn insert_code(&self, code: CodeRecord) -> impl Future<Output = Result<(), StoreError>> + Send {
        let result = if self.fails(Fault::InsertCodeBroken) {
            Err(StoreError::Backend("disk full".into()))
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
            Err(StoreError::Backend("write failed".into()))
        } else {
            block_on(self.inner.insert_grant(tokens))
        };
        std::future::ready(result)
    }
    fn revoke_grant(&self, id: &GrantId, until: OffsetDateTime) -> impl Future<Output = Result<(), StoreError>> + Send {
        self.inner.revoke_grant(id, until)
    }
    fn access_token(
        &self,
        hash: &TokenHash,
    ) -> impl Future<Output = Result<Option<AccessTokenRecord>, StoreError>> + Send {
        let result = if self.fails(Fault::LookupBroken) {
            Err(StoreError::Backend("read failed".into()))
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
fn az11_code_store_failure_redirects_server_error() {
    let (server, store) = flaky();
    let consent = consent(&server);
    store.set(Fault::InsertCodeBroken);
    let response = block_on(server.approve(&consent, Approval::new(Subject::new("alice").unwrap()))).unwrap();
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
    let response = block_on(server.approve(&consent, Approval::new(Subject::new("alice").unwrap()))).unwrap();
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
    let response = block_on(server.approve(&consent, Approval::new(Subject::new("alice").unwrap()))).unwrap();
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
