//! A revocation after a detected replay must be remembered long enough (AC-04, RT-07): until
//! anything of the grant could still be presented, so that a token response racing the
//! revocation (a first redemption still in flight, say) can never be stored afterwards. A store
//! that recorded the revocation for a shorter time would purge it too early; these tests read
//! what the server asks the store to remember.
//!
//! The same recording store shows which kind of token a revocation looks up first (RV-03).

mod common;

use std::future::Future;
use std::sync::{Arc, Mutex};

use common::{ISSUER, VERIFIER, block_on, json, query_param};
use oauth21::store::{
    AccessTokenRecord, CodeRecord, CodeTake, InsertOutcome, NewGrant, RefreshTokenRecord, RotateOutcome, Rotation,
    Store, StoreError,
};
use oauth21::{
    Approval, AuthorizeOutcome, Client, ClientId, Clock, GrantId, GrantType, ManualClock, MemoryStore, Request, Server,
    ServerConfig, Subject, SystemRandom, TokenHash,
};
use time::OffsetDateTime;

/// `MemoryStore`, recording every `revoke_grant`'s `remember_until`.
#[derive(Default)]
struct Recording {
    inner: MemoryStore,
    revocations: Mutex<Vec<(GrantId, OffsetDateTime, OffsetDateTime)>>,
    /// Every token lookup, in order: "access" or "refresh".
    lookups: Mutex<Vec<&'static str>>,
}

impl Store for Recording {
    fn client(&self, id: &ClientId) -> impl Future<Output = Result<Option<Client>, StoreError>> + Send {
        self.inner.client(id)
    }
    fn insert_code(&self, code: CodeRecord) -> impl Future<Output = Result<(), StoreError>> + Send {
        self.inner.insert_code(code)
    }
    fn take_code(&self, hash: &TokenHash) -> impl Future<Output = Result<CodeTake, StoreError>> + Send {
        self.inner.take_code(hash)
    }
    fn insert_grant(&self, grant: NewGrant) -> impl Future<Output = Result<InsertOutcome, StoreError>> + Send {
        self.inner.insert_grant(grant)
    }
    fn rotate_refresh(&self, rotation: Rotation) -> impl Future<Output = Result<RotateOutcome, StoreError>> + Send {
        self.inner.rotate_refresh(rotation)
    }
    fn revoke_grant(
        &self,
        id: &GrantId,
        at: OffsetDateTime,
        remember_until: OffsetDateTime,
    ) -> impl Future<Output = Result<(), StoreError>> + Send {
        self.revocations.lock().unwrap().push((id.clone(), at, remember_until));
        self.inner.revoke_grant(id, at, remember_until)
    }
    fn revoke_access_token(&self, hash: &TokenHash) -> impl Future<Output = Result<(), StoreError>> + Send {
        self.inner.revoke_access_token(hash)
    }
    fn revoke_subject(
        &self,
        subject: &Subject,
        at: OffsetDateTime,
        remember_until: OffsetDateTime,
    ) -> impl Future<Output = Result<(), StoreError>> + Send {
        self.inner.revoke_subject(subject, at, remember_until)
    }
    fn access_token(
        &self,
        hash: &TokenHash,
    ) -> impl Future<Output = Result<Option<AccessTokenRecord>, StoreError>> + Send {
        self.lookups.lock().unwrap().push("access");
        self.inner.access_token(hash)
    }
    fn refresh_token(
        &self,
        hash: &TokenHash,
    ) -> impl Future<Output = Result<Option<RefreshTokenRecord>, StoreError>> + Send {
        self.lookups.lock().unwrap().push("refresh");
        self.inner.refresh_token(hash)
    }
}

fn setup() -> (Server<Arc<Recording>>, Arc<Recording>, Arc<ManualClock>) {
    let store = Arc::new(Recording::default());
    store.inner.insert_client(
        Client::public("app")
            .redirect_uri("http://127.0.0.1/cb")
            .grant_types([GrantType::AuthorizationCode, GrantType::RefreshToken])
            .scope("read")
            .build()
            .unwrap(),
    );
    // DPoP off: this store declares no single-use claims.
    let config = ServerConfig::builder(ISSUER).without_dpop().without_pushed_requests().build().unwrap();
    let clock = Arc::new(ManualClock::at_unix(1_700_000_000));
    let server = Server::with_providers(config, store.clone(), clock.clone(), SystemRandom::new());
    (server, store, clock)
}

fn code(server: &Server<Arc<Recording>>) -> String {
    let query = format!(
        "response_type=code&client_id=app&redirect_uri=http%3A%2F%2F127.0.0.1%3A5000%2Fcb&scope=read\
         &code_challenge={}&code_challenge_method=S256",
        common::CHALLENGE
    );
    let AuthorizeOutcome::Consent(consent) = block_on(server.authorize(&Request::get(&query))) else { panic!() };
    let approved = block_on(server.approve(&consent, Approval::new(Subject::new("alice").unwrap()))).unwrap();
    query_param(approved.response().location().unwrap(), "code").unwrap()
}

fn redeem(server: &Server<Arc<Recording>>, code: &str) -> oauth21::Response {
    let body = format!(
        "grant_type=authorization_code&client_id=app&code={code}\
         &redirect_uri=http%3A%2F%2F127.0.0.1%3A5000%2Fcb&code_verifier={VERIFIER}"
    );
    block_on(server.token(&Request::form_post(body.as_bytes())))
}

/// What a revocation must outlast: every lifetime of the grant's parts, from now.
fn assert_remembered_long_enough(server: &Server<Arc<Recording>>, store: &Recording, now: OffsetDateTime) {
    let revocations = store.revocations.lock().unwrap();
    let (_, at, until) = revocations.last().expect("the replay revoked the grant");
    assert_eq!(*at, now);
    let config = server.config();
    for lifetime in [config.code_lifetime(), config.access_token_lifetime(), config.refresh_token_lifetime()] {
        assert!(*until >= now + lifetime, "remembered until {until}, less than {lifetime} from {now}");
    }
}

#[test]
fn ac04_a_code_replay_revocation_is_remembered_for_the_grants_whole_life() {
    let (server, store, clock) = setup();
    let code = code(&server);
    assert_eq!(redeem(&server, &code).status(), 200);
    clock.advance(time::Duration::seconds(5));
    assert_eq!(json(&redeem(&server, &code))["error"], "invalid_grant");
    assert_remembered_long_enough(&server, &store, clock.now());
}

#[test]
fn rt07_a_refresh_replay_revocation_is_remembered_for_the_grants_whole_life() {
    let (server, store, clock) = setup();
    let tokens = json(&redeem(&server, &code(&server)));
    let first = tokens["refresh_token"].as_str().unwrap().to_owned();
    let refresh = |token: &str| {
        let body = format!("grant_type=refresh_token&client_id=app&refresh_token={token}");
        block_on(server.token(&Request::form_post(body.as_bytes())))
    };
    assert_eq!(refresh(&first).status(), 200);
    clock.advance(time::Duration::seconds(5));
    assert_eq!(json(&refresh(&first))["error"], "invalid_grant", "a replay");
    assert_remembered_long_enough(&server, &store, clock.now());
}

#[test]
fn rv03_a_refresh_token_hint_is_looked_up_first_and_no_hint_starts_with_access_tokens() {
    let (server, store, _) = setup();
    let tokens = json(&redeem(&server, &code(&server)));
    let refresh = tokens["refresh_token"].as_str().unwrap().to_owned();
    let revoke = |body: String| {
        store.lookups.lock().unwrap().clear();
        assert_eq!(block_on(server.revoke(&Request::form_post(body.as_bytes()))).status(), 200);
        store.lookups.lock().unwrap().clone()
    };
    // Without a hint: access tokens first, then refresh tokens (the unknown token is neither).
    assert_eq!(revoke("client_id=app&token=unknown".into()), ["access", "refresh"]);
    // The hint picks where to look first, and a hit there ends the search.
    assert_eq!(
        revoke(format!("client_id=app&token={refresh}&token_type_hint=refresh_token")),
        ["refresh"],
        "the refresh_token hint is used"
    );
    // An unknown hint is ignored: the default order.
    assert_eq!(revoke("client_id=app&token=unknown&token_type_hint=id_token".into()), ["access", "refresh"]);
}
