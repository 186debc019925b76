//! A conformance suite for [`Store`] implementations (feature `testing`).
//!
//! Any store, in memory or over the network, runs the same checks of the contract written in
//! [`store`](crate::store): single-use codes, the refresh rotation compare-and-swap, grace
//! retries, kept tokens, revocation by grant, by subject and by access token, and the
//! concurrent double-spend cases. Every case uses fresh random identifiers, so one store (even a
//! shared, persistent one) can run the suite repeatedly.
//!
//! ```
//! # fn block_on<F: std::future::Future>(f: F) -> F::Output {
//! #     let mut f = std::pin::pin!(f);
//! #     let mut cx = std::task::Context::from_waker(std::task::Waker::noop());
//! #     loop { if let std::task::Poll::Ready(v) = f.as_mut().poll(&mut cx) { return v; } }
//! # }
//! let store = oauth21::MemoryStore::new();
//! let cases = block_on(oauth21::testing::check_store(&store, 16)).expect("MemoryStore conforms");
//! assert!(cases >= 19);
//! ```
//!
//! The concurrent cases start `contenders` operations on the same code or token together and
//! drive them as one joined future: with a networked store the requests are in flight at once.
//! They include grant insertions racing their grant's or their subject's revocation: a store
//! whose insertion checks for a revocation without serializing with it (write skew under SQL
//! READ COMMITTED or REPEATABLE READ) leaves a revoked grant's tokens live and fails there.
//! For parallelism across threads, call [`check_store`] from several threads on one shared store
//! (as `tests/store_conformance.rs` does); `tests/code_double_spend_attack.rs` and
//! `tests/refresh_rotation_race.rs` race many threads on one code or token through the server.

use std::future::Future;
use std::pin::Pin;
use std::task::{Context, Poll};

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use time::{Duration, OffsetDateTime};

use crate::pkce::{CodeChallenge, CodeVerifier};
use crate::provider::{Random, SystemRandom, random_32};
use crate::store::{
    AccessTokenRecord, Capabilities, ClaimOutcome, CodeRecord, CodeTake, DeviceDecided, DeviceInsert, DevicePoll,
    DeviceRequest, DeviceState, GrantRecord, InsertOutcome, NewGrant, PushedRequest, RefreshTokenRecord, RotateOutcome,
    Rotation, Store, StoreError,
};
use crate::types::{ClientId, GrantId, Resource, Scope, Subject, TokenHash};

/// A contract violation (or a store error) found by the suite.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("store contract case {case:?} failed: {reason}")]
#[non_exhaustive]
pub struct ContractViolation {
    /// The case that failed.
    pub case: &'static str,
    /// What was wrong.
    pub reason: String,
}

type CaseResult = Result<(), ContractViolation>;

fn fail(case: &'static str, reason: impl Into<String>) -> ContractViolation {
    ContractViolation { case, reason: reason.into() }
}

fn store_err(case: &'static str) -> impl Fn(StoreError) -> ContractViolation {
    move |e| fail(case, format!("store error: {e}"))
}

/// Fresh random records for one case.
struct Fixture {
    keys: SystemRandom,
    now: OffsetDateTime,
}

impl Fixture {
    fn hash(&self) -> TokenHash {
        TokenHash::from_bytes(random_32(&self.keys).expect("the system random generator works"))
    }

    fn name(&self, prefix: &str) -> String {
        let mut bytes = [0u8; 12];
        self.keys.fill_random(&mut bytes).expect("the system random generator works");
        format!("{prefix}-{}", URL_SAFE_NO_PAD.encode(bytes))
    }

    fn grant_id(&self) -> GrantId {
        GrantId::new(self.name("grant")).expect("random grant ids are valid")
    }

    fn subject(&self) -> Subject {
        Subject::new(self.name("user")).expect("random subjects are valid")
    }

    fn client(&self) -> ClientId {
        ClientId::new("conformance-client").expect("a valid client id")
    }

    fn code(&self) -> CodeRecord {
        let verifier = CodeVerifier::generate(&self.keys).expect("the system random generator works");
        CodeRecord {
            hash: self.hash(),
            grant_id: self.grant_id(),
            client_id: self.client(),
            redirect_uri: "https://client.example/cb".into(),
            code_challenge: CodeChallenge::s256(&verifier),
            scope: Scope::parse("read").unwrap_or_default(),
            subject: self.subject(),
            issued_at: self.now,
            expires_at: self.now + Duration::seconds(60),
            dpop_jkt: None,
            resources: vec![Resource::from_static("https://rs.example/api")],
        }
    }

    fn access(&self, grant: &GrantRecord) -> AccessTokenRecord {
        AccessTokenRecord {
            hash: self.hash(),
            grant_id: grant.grant_id.clone(),
            client_id: grant.client_id.clone(),
            subject: grant.subject.clone(),
            scope: grant.scope.clone(),
            audience: grant.resources.first().map(|r| r.as_str().to_owned()),
            issued_at: self.now,
            expires_at: self.now + Duration::hours(1),
            jkt: None,
        }
    }

    fn refresh(&self, grant: &GrantRecord) -> RefreshTokenRecord {
        RefreshTokenRecord {
            hash: self.hash(),
            grant_id: grant.grant_id.clone(),
            client_id: grant.client_id.clone(),
            subject: grant.subject.clone(),
            scope: grant.scope.clone(),
            issued_at: self.now,
            expires_at: self.now + Duration::days(14),
            grant_expires_at: grant.expires_at,
            rotated_at: None,
            jkt: None,
            resources: grant.resources.clone(),
        }
    }

    fn grant(&self, subject: Subject, authorized_at: OffsetDateTime) -> GrantRecord {
        GrantRecord {
            grant_id: self.grant_id(),
            client_id: self.client(),
            subject,
            scope: Scope::parse("read").unwrap_or_default(),
            authorized_at,
            expires_at: self.now + Duration::days(30),
            resources: vec![Resource::from_static("https://rs.example/api")],
        }
    }

    fn new_grant(&self) -> NewGrant {
        let grant = self.grant(self.subject(), self.now);
        NewGrant { access: self.access(&grant), refresh: Some(self.refresh(&grant)), grant }
    }

    fn rotation(&self, from: &RefreshTokenRecord, grace_retry: bool) -> Rotation {
        let grant = self.grant(from.subject.clone(), self.now);
        let mut refresh = self.refresh(&grant);
        refresh.grant_id = from.grant_id.clone();
        let mut access = self.access(&grant);
        access.grant_id = from.grant_id.clone();
        Rotation { from: from.hash, grace_retry, access, refresh, at: self.now }
    }
}

/// Drives several futures at once until all are done (a minimal `join_all`).
struct JoinAll<F: Future> {
    futures: Vec<Option<Pin<Box<F>>>>,
    outputs: Vec<Option<F::Output>>,
}

impl<F: Future> Future for JoinAll<F> {
    type Output = Vec<F::Output>;
    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        // JoinAll is Unpin: it holds only boxed (already pinned) futures and plain outputs.
        let this = Pin::into_inner(self);
        let mut pending = false;
        for (slot, out) in this.futures.iter_mut().zip(this.outputs.iter_mut()) {
            if let Some(future) = slot {
                match future.as_mut().poll(cx) {
                    Poll::Ready(value) => {
                        *out = Some(value);
                        *slot = None;
                    }
                    Poll::Pending => pending = true,
                }
            }
        }
        if pending { Poll::Pending } else { Poll::Ready(this.outputs.iter_mut().filter_map(Option::take).collect()) }
    }
}

impl<F: Future> Unpin for JoinAll<F> {}

fn join_all<F: Future>(futures: impl IntoIterator<Item = F>) -> JoinAll<F> {
    let futures: Vec<_> = futures.into_iter().map(|f| Some(Box::pin(f))).collect();
    let outputs = futures.iter().map(|_| None).collect();
    JoinAll { futures, outputs }
}

/// Runs every case against `store`; `contenders` (at least 2) is how many operations race in
/// the double-spend cases. Returns how many cases ran, or the first violation.
pub async fn check_store<S: Store>(store: &S, contenders: usize) -> Result<usize, ContractViolation> {
    let contenders = contenders.max(2);
    let fx = Fixture {
        keys: SystemRandom::new(),
        now: OffsetDateTime::from_unix_timestamp(1_700_000_000).unwrap_or(OffsetDateTime::UNIX_EPOCH),
    };
    code_is_taken_once(store, &fx).await?;
    code_collision_never_overwrites(store, &fx).await?;
    grant_lookups_and_revocation(store, &fx).await?;
    rotation_is_a_compare_and_swap(store, &fx).await?;
    grace_retry_works_once(store, &fx).await?;
    kept_refresh_token_is_replaced_in_place(store, &fx).await?;
    revoked_grant_refuses_inserts_and_rotations(store, &fx).await?;
    subject_revocation_reaches_older_grants_only(store, &fx).await?;
    access_token_revocation_is_one_token(store, &fx).await?;
    concurrent_takes_of_one_code(store, &fx, contenders).await?;
    concurrent_rotations_of_one_token(store, &fx, contenders).await?;
    concurrent_insert_and_revoke_grant(store, &fx, contenders).await?;
    concurrent_insert_and_revoke_subject(store, &fx, contenders).await?;
    let mut cases = 13;
    if store.capabilities().contains(Capabilities::SINGLE_USE_CLAIMS) {
        claims_are_single_use(store, &fx, contenders).await?;
        cases += 1;
    } else {
        undeclared_claims_fail_closed(store, &fx).await?;
    }
    if store.capabilities().contains(Capabilities::PUSHED_REQUESTS) {
        pushed_requests_are_kept_and_never_overwritten(store, &fx).await?;
        cases += 1;
    } else {
        undeclared_pushed_requests_fail_closed(store, &fx).await?;
    }
    if store.capabilities().contains(Capabilities::DEVICE_REQUESTS) {
        device_requests_poll_decide_and_redeem_once(store, &fx).await?;
        concurrent_redemptions_of_one_device_code(store, &fx, contenders).await?;
        concurrent_approvals_and_denials_of_one_device_request(store, &fx, contenders).await?;
        cases += 3;
    } else {
        undeclared_device_requests_fail_closed(store, &fx).await?;
    }
    if store.capabilities().contains(Capabilities::CLIENT_REGISTRATION) {
        registered_clients_are_kept_and_never_overwritten(store, &fx, contenders).await?;
        cases += 1;
    } else {
        undeclared_registration_fails_closed(store, &fx).await?;
    }
    Ok(cases)
}

/// A pending device request of a fresh client, living 10 minutes from the fixture's now.
fn device_request(fx: &Fixture) -> (TokenHash, DeviceRequest) {
    let client = ClientId::new(fx.name("tv")).unwrap_or_else(|_| ClientId::from_static("tv"));
    let request = DeviceRequest::new(
        client,
        fx.grant_id(),
        Scope::parse("read").unwrap_or_default(),
        vec![Resource::from_static("https://rs.example/api")],
        fx.hash(),
        fx.now,
        fx.now + Duration::minutes(10),
        5,
    );
    (fx.hash(), request)
}

fn approval(fx: &Fixture) -> DeviceState {
    DeviceState::Approved {
        subject: fx.subject(),
        scope: Scope::parse("read").unwrap_or_default(),
        resources: vec![Resource::from_static("https://rs.example/api")],
        approved_at: fx.now,
    }
}

async fn device_requests_poll_decide_and_redeem_once<S: Store>(store: &S, fx: &Fixture) -> CaseResult {
    const CASE: &str = "device requests: user-code lookup, slow_down, one decision, one redemption";
    let e = store_err(CASE);
    let (hash, request) = device_request(fx);
    let client = request.client_id.clone();
    let t = |s: i64| fx.now + Duration::seconds(s);
    if store.insert_device_request(&hash, request.clone(), t(0)).await.map_err(&e)? != DeviceInsert::Inserted {
        return Err(fail(CASE, "a fresh device request was not inserted"));
    }
    let (other_hash, mut twin) = device_request(fx);
    twin.user_code = request.user_code;
    if store.insert_device_request(&other_hash, twin, t(1)).await.map_err(&e)? != DeviceInsert::UserCodeInUse {
        return Err(fail(CASE, "a second live request took a user code in use"));
    }
    let mut same_digest = request.clone();
    same_digest.user_code = fx.hash();
    if store.insert_device_request(&hash, same_digest, t(1)).await.is_ok() {
        return Err(fail(CASE, "a second request under one device digest was accepted"));
    }
    match store.device_request_by_user_code(&request.user_code, t(1)).await.map_err(&e)? {
        Some((found, stored)) if found == hash && stored == request => {}
        other => return Err(fail(CASE, format!("the user code found {other:?}"))),
    }
    let other_client = ClientId::new(fx.name("intruder")).map_err(|_| fail(CASE, "fixture client id"))?;
    if store.poll_device_request(&hash, &other_client, t(2)).await.map_err(&e)?.is_some() {
        return Err(fail(CASE, "another client's poll found the request"));
    }
    match store.poll_device_request(&hash, &client, t(2)).await.map_err(&e)? {
        Some(DevicePoll::Current(r)) if r.state == DeviceState::Pending && r.last_polled_at == Some(t(2)) => {}
        other => return Err(fail(CASE, format!("a first poll gave {other:?}"))),
    }
    match store.poll_device_request(&hash, &client, t(4)).await.map_err(&e)? {
        Some(DevicePoll::SlowDown(r)) if r.interval == 10 => {}
        other => return Err(fail(CASE, format!("a poll 2 s after the last gave {other:?}, not slow_down with 10 s"))),
    }
    match store.poll_device_request(&hash, &client, t(10)).await.map_err(&e)? {
        Some(DevicePoll::SlowDown(r)) if r.interval == 15 => {}
        other => return Err(fail(CASE, format!("a poll 6 s after the last (interval 10) gave {other:?}"))),
    }
    match store.poll_device_request(&hash, &client, t(25)).await.map_err(&e)? {
        Some(DevicePoll::Current(r)) if r.state == DeviceState::Pending && r.interval == 15 => {}
        other => return Err(fail(CASE, format!("a poll after the interval gave {other:?}"))),
    }
    let approved = approval(fx);
    if store.decide_device_request(&hash, approved.clone(), t(26)).await.map_err(&e)? != DeviceDecided::Decided {
        return Err(fail(CASE, "a pending request was not approved"));
    }
    if store.decide_device_request(&hash, DeviceState::Denied, t(27)).await.map_err(&e)? != DeviceDecided::NotPending {
        return Err(fail(CASE, "a decided request took a second decision"));
    }
    match store.poll_device_request(&hash, &client, t(28)).await.map_err(&e)? {
        Some(DevicePoll::Redeemed(r)) if r.state == approved => {}
        other => return Err(fail(CASE, format!("polling the approved request gave {other:?}"))),
    }
    match store.poll_device_request(&hash, &client, t(60)).await.map_err(&e)? {
        Some(DevicePoll::Current(r)) if r.state == DeviceState::Redeemed => {}
        other => return Err(fail(CASE, format!("polling a redeemed request gave {other:?}"))),
    }
    // Expired: not found by its user code, and no decision takes.
    let (late_hash, late) = device_request(fx);
    let expiry = late.expires_at;
    store.insert_device_request(&late_hash, late.clone(), t(0)).await.map_err(&e)?;
    if store.device_request_by_user_code(&late.user_code, expiry).await.map_err(&e)?.is_some() {
        return Err(fail(CASE, "an expired request was found by its user code"));
    }
    if store.decide_device_request(&late_hash, approval(fx), expiry).await.map_err(&e)? != DeviceDecided::NotPending {
        return Err(fail(CASE, "an expired request took a decision"));
    }
    Ok(())
}

async fn concurrent_redemptions_of_one_device_code<S: Store>(store: &S, fx: &Fixture, contenders: usize) -> CaseResult {
    const CASE: &str = "concurrent polls of one approved device code redeem it once";
    let e = store_err(CASE);
    let (hash, request) = device_request(fx);
    let client = request.client_id.clone();
    store.insert_device_request(&hash, request, fx.now).await.map_err(&e)?;
    store.decide_device_request(&hash, approval(fx), fx.now).await.map_err(&e)?;
    let at = fx.now + Duration::seconds(30);
    let polls = join_all((0..contenders).map(|_| store.poll_device_request(&hash, &client, at))).await;
    let mut redeemed = 0;
    for poll in polls {
        if let Some(DevicePoll::Redeemed(_)) = poll.map_err(&e)? {
            redeemed += 1;
        }
    }
    if redeemed != 1 {
        return Err(fail(CASE, format!("{redeemed} of {contenders} racing polls redeemed one approval")));
    }
    Ok(())
}

async fn concurrent_approvals_and_denials_of_one_device_request<S: Store>(
    store: &S,
    fx: &Fixture,
    contenders: usize,
) -> CaseResult {
    const CASE: &str = "concurrent approvals and denials of one device request: one decision";
    let e = store_err(CASE);
    let (hash, request) = device_request(fx);
    let client = request.client_id.clone();
    store.insert_device_request(&hash, request, fx.now).await.map_err(&e)?;
    let decisions: Vec<DeviceState> =
        (0..contenders).map(|i| if i % 2 == 0 { approval(fx) } else { DeviceState::Denied }).collect();
    let outcomes =
        join_all(decisions.iter().map(|decision| store.decide_device_request(&hash, decision.clone(), fx.now))).await;
    let winners: Vec<usize> = outcomes
        .into_iter()
        .enumerate()
        .filter_map(|(i, outcome)| matches!(outcome, Ok(DeviceDecided::Decided)).then_some(i))
        .collect();
    let [winner] = winners.as_slice() else {
        return Err(fail(CASE, format!("{} of {contenders} racing decisions were recorded", winners.len())));
    };
    let polled = store.poll_device_request(&hash, &client, fx.now + Duration::seconds(1)).await.map_err(&e)?;
    let consistent = match (&decisions[*winner], polled) {
        (DeviceState::Denied, Some(DevicePoll::Current(r))) => r.state == DeviceState::Denied,
        (approved, Some(DevicePoll::Redeemed(r))) => r.state == *approved,
        _ => false,
    };
    if !consistent {
        return Err(fail(CASE, "the request does not carry the one decision that was recorded"));
    }
    Ok(())
}

/// A store that does not declare device requests must refuse them.
async fn undeclared_device_requests_fail_closed<S: Store>(store: &S, fx: &Fixture) -> CaseResult {
    const CASE: &str = "undeclared device requests fail closed";
    let (hash, request) = device_request(fx);
    match store.insert_device_request(&hash, request, fx.now).await {
        Err(e) if e.kind() == crate::store::StoreErrorKind::Unsupported => Ok(()),
        other => Err(fail(CASE, format!("gave {other:?} without declaring DEVICE_REQUESTS"))),
    }
}

/// A client as dynamic registration makes one, under a fresh id.
fn registered_client(fx: &Fixture, redirect: &str) -> Result<crate::client::Client, crate::client::RegistrationError> {
    let display = crate::client::ClientDisplay { client_name: Some("Conformance client".into()), ..Default::default() };
    crate::client::Client::public(fx.name("registered"))
        .redirect_uri(redirect)
        .scope("read")
        .resource("https://rs.example/api")
        .display(display)
        .build()
}

async fn registered_clients_are_kept_and_never_overwritten<S: Store>(
    store: &S,
    fx: &Fixture,
    contenders: usize,
) -> CaseResult {
    const CASE: &str = "registered clients: kept as registered, never overwritten";
    let e = store_err(CASE);
    let client = registered_client(fx, "https://client.example/cb").map_err(|_| fail(CASE, "fixture client"))?;
    store.register_client(&client, fx.now).await.map_err(&e)?;
    if store.client(client.id()).await.map_err(&e)?.as_ref() != Some(&client) {
        return Err(fail(CASE, "a registered client did not read back as registered"));
    }
    // Registrations racing under one id (the same random id drawn twice): one wins, and the
    // stored client is the winner's, whole.
    let contender = registered_client(fx, "https://client.example/cb").map_err(|_| fail(CASE, "fixture client"))?;
    let rivals: Vec<crate::client::Client> = (0..contenders)
        .map(|i| {
            crate::client::Client::public(contender.id().as_str())
                .redirect_uri(format!("https://client{i}.example/cb"))
                .build()
        })
        .collect::<Result<_, _>>()
        .map_err(|_| fail(CASE, "fixture client"))?;
    let results = join_all(rivals.iter().map(|rival| store.register_client(rival, fx.now))).await;
    let winners: Vec<usize> = results.iter().enumerate().filter(|(_, r)| r.is_ok()).map(|(i, _)| i).collect();
    let [winner] = winners.as_slice() else {
        return Err(fail(CASE, format!("{} of {contenders} racing registrations of one id succeeded", winners.len())));
    };
    if store.client(contender.id()).await.map_err(&e)?.as_ref() != Some(&rivals[*winner]) {
        return Err(fail(CASE, "the stored client is not the one registration that succeeded"));
    }
    if store.register_client(&contender, fx.now).await.is_ok() {
        return Err(fail(CASE, "a registration replaced an existing client"));
    }
    if store.client(client.id()).await.map_err(&e)?.as_ref() != Some(&client) {
        return Err(fail(CASE, "a refused registration changed another client"));
    }
    Ok(())
}

/// A store that does not declare registration must refuse it, not pretend to keep the client.
async fn undeclared_registration_fails_closed<S: Store>(store: &S, fx: &Fixture) -> CaseResult {
    const CASE: &str = "undeclared client registration fails closed";
    let client = registered_client(fx, "https://client.example/cb").map_err(|_| fail(CASE, "fixture client"))?;
    match store.register_client(&client, fx.now).await {
        Err(e) if e.kind() == crate::store::StoreErrorKind::Unsupported => Ok(()),
        other => Err(fail(CASE, format!("gave {other:?} without declaring CLIENT_REGISTRATION"))),
    }
}

async fn code_is_taken_once<S: Store>(store: &S, fx: &Fixture) -> CaseResult {
    const CASE: &str = "a code is taken once, then reported as already taken";
    let e = store_err(CASE);
    let code = fx.code();
    store.insert_code(code.clone()).await.map_err(&e)?;
    match store.take_code(&code.hash).await.map_err(&e)? {
        CodeTake::Taken(record) if record == code => {}
        other => return Err(fail(CASE, format!("first take gave {other:?}"))),
    }
    for _ in 0..2 {
        match store.take_code(&code.hash).await.map_err(&e)? {
            CodeTake::AlreadyTaken(record) if record == code => {}
            other => return Err(fail(CASE, format!("a later take gave {other:?}"))),
        }
    }
    match store.take_code(&fx.hash()).await.map_err(&e)? {
        CodeTake::NotFound => Ok(()),
        other => Err(fail(CASE, format!("an unknown code gave {other:?}"))),
    }
}

async fn code_collision_never_overwrites<S: Store>(store: &S, fx: &Fixture) -> CaseResult {
    const CASE: &str = "inserting a code under an existing digest fails and keeps the first";
    let e = store_err(CASE);
    let first = fx.code();
    store.insert_code(first.clone()).await.map_err(&e)?;
    let mut second = fx.code();
    second.hash = first.hash;
    if store.insert_code(second).await.is_ok() {
        return Err(fail(CASE, "the colliding insert reported success"));
    }
    match store.take_code(&first.hash).await.map_err(&e)? {
        CodeTake::Taken(record) if record == first => Ok(()),
        other => Err(fail(CASE, format!("the first record was changed: {other:?}"))),
    }
}

async fn grant_lookups_and_revocation<S: Store>(store: &S, fx: &Fixture) -> CaseResult {
    const CASE: &str = "a grant's tokens are found until the grant is revoked";
    let e = store_err(CASE);
    let new = fx.new_grant();
    let refresh = new.refresh.clone().unwrap_or_else(|| fx.refresh(&new.grant));
    if store.insert_grant(new.clone()).await.map_err(&e)? != InsertOutcome::Inserted {
        return Err(fail(CASE, "a fresh grant was not inserted"));
    }
    if store.access_token(&new.access.hash).await.map_err(&e)?.as_ref() != Some(&new.access) {
        return Err(fail(CASE, "the access token was not found as stored"));
    }
    if store.refresh_token(&refresh.hash).await.map_err(&e)?.as_ref() != Some(&refresh) {
        return Err(fail(CASE, "the refresh token was not found as stored"));
    }
    store.revoke_grant(&new.grant.grant_id, fx.now, fx.now + Duration::days(31)).await.map_err(&e)?;
    store.revoke_grant(&new.grant.grant_id, fx.now, fx.now + Duration::days(31)).await.map_err(&e)?;
    if store.access_token(&new.access.hash).await.map_err(&e)?.is_some()
        || store.refresh_token(&refresh.hash).await.map_err(&e)?.is_some()
    {
        return Err(fail(CASE, "a token of a revoked grant is still found"));
    }
    Ok(())
}

async fn rotation_is_a_compare_and_swap<S: Store>(store: &S, fx: &Fixture) -> CaseResult {
    const CASE: &str = "rotation succeeds only from the active refresh token";
    let e = store_err(CASE);
    let new = fx.new_grant();
    let first = new.refresh.clone().unwrap_or_else(|| fx.refresh(&new.grant));
    store.insert_grant(new).await.map_err(&e)?;
    let rotation = fx.rotation(&first, false);
    let second = rotation.refresh.clone();
    if store.rotate_refresh(rotation).await.map_err(&e)? != RotateOutcome::Rotated {
        return Err(fail(CASE, "rotating the active token failed"));
    }
    let old = store.refresh_token(&first.hash).await.map_err(&e)?;
    if old.as_ref().and_then(|r| r.rotated_at) != Some(fx.now) {
        return Err(fail(CASE, format!("the replaced token is not kept with rotated_at: {old:?}")));
    }
    if store.rotate_refresh(fx.rotation(&first, false)).await.map_err(&e)? != RotateOutcome::NotActive {
        return Err(fail(CASE, "a rotated-out token rotated again"));
    }
    if store.rotate_refresh(fx.rotation(&second, false)).await.map_err(&e)? != RotateOutcome::Rotated {
        return Err(fail(CASE, "the new active token could not rotate"));
    }
    Ok(())
}

async fn grace_retry_works_once<S: Store>(store: &S, fx: &Fixture) -> CaseResult {
    const CASE: &str = "a grace retry from the previous token works once and rotates out the active one";
    let e = store_err(CASE);
    let new = fx.new_grant();
    let first = new.refresh.clone().unwrap_or_else(|| fx.refresh(&new.grant));
    store.insert_grant(new).await.map_err(&e)?;
    let rotation = fx.rotation(&first, false);
    let lost = rotation.refresh.clone();
    store.rotate_refresh(rotation).await.map_err(&e)?;
    let retry = fx.rotation(&first, true);
    let retried = retry.refresh.clone();
    if store.rotate_refresh(retry).await.map_err(&e)? != RotateOutcome::Rotated {
        return Err(fail(CASE, "the first grace retry failed"));
    }
    if store.refresh_token(&lost.hash).await.map_err(&e)?.and_then(|r| r.rotated_at).is_none() {
        return Err(fail(CASE, "the token the retry replaced is not marked rotated out"));
    }
    if store.rotate_refresh(fx.rotation(&first, true)).await.map_err(&e)? != RotateOutcome::NotActive {
        return Err(fail(CASE, "a second grace retry succeeded"));
    }
    if store.refresh_token(&retried.hash).await.map_err(&e)?.and_then(|r| r.rotated_at).is_some() {
        return Err(fail(CASE, "the retried token is not active"));
    }
    Ok(())
}

async fn kept_refresh_token_is_replaced_in_place<S: Store>(store: &S, fx: &Fixture) -> CaseResult {
    const CASE: &str = "a kept refresh token (no rotation) is replaced in place and stays active";
    let e = store_err(CASE);
    let new = fx.new_grant();
    let token = new.refresh.clone().unwrap_or_else(|| fx.refresh(&new.grant));
    store.insert_grant(new).await.map_err(&e)?;
    for extra_days in [1, 2] {
        let mut rotation = fx.rotation(&token, false);
        rotation.refresh = RefreshTokenRecord { expires_at: fx.now + Duration::days(14 + extra_days), ..token.clone() };
        if store.rotate_refresh(rotation).await.map_err(&e)? != RotateOutcome::Rotated {
            return Err(fail(CASE, "keeping the token failed"));
        }
        let stored = store.refresh_token(&token.hash).await.map_err(&e)?;
        match stored {
            Some(r) if r.rotated_at.is_none() && r.expires_at == fx.now + Duration::days(14 + extra_days) => {}
            other => return Err(fail(CASE, format!("the kept token is {other:?}"))),
        }
    }
    Ok(())
}

async fn revoked_grant_refuses_inserts_and_rotations<S: Store>(store: &S, fx: &Fixture) -> CaseResult {
    const CASE: &str = "a revoked grant refuses later inserts and rotations";
    let e = store_err(CASE);
    let new = fx.new_grant();
    let token = new.refresh.clone().unwrap_or_else(|| fx.refresh(&new.grant));
    store.insert_grant(new.clone()).await.map_err(&e)?;
    store.revoke_grant(&new.grant.grant_id, fx.now, fx.now + Duration::days(31)).await.map_err(&e)?;
    if store.rotate_refresh(fx.rotation(&token, false)).await.map_err(&e)? != RotateOutcome::NotActive {
        return Err(fail(CASE, "a revoked family rotated"));
    }
    // A grant revoked before it was ever inserted (a replay detected mid-redemption).
    let late = fx.new_grant();
    store.revoke_grant(&late.grant.grant_id, fx.now, fx.now + Duration::days(31)).await.map_err(&e)?;
    let access = late.access.hash;
    if store.insert_grant(late).await.map_err(&e)? != InsertOutcome::GrantRevoked {
        return Err(fail(CASE, "a grant revoked beforehand was inserted"));
    }
    if store.access_token(&access).await.map_err(&e)?.is_some() {
        return Err(fail(CASE, "a refused insert left a token behind"));
    }
    Ok(())
}

async fn subject_revocation_reaches_older_grants_only<S: Store>(store: &S, fx: &Fixture) -> CaseResult {
    const CASE: &str = "revoking a subject ends its grants and refuses grants authorized before";
    let e = store_err(CASE);
    let subject = fx.subject();
    let grant = fx.grant(subject.clone(), fx.now);
    let live = NewGrant { access: fx.access(&grant), refresh: None, grant };
    store.insert_grant(live.clone()).await.map_err(&e)?;
    store.revoke_subject(&subject, fx.now, fx.now + Duration::days(31)).await.map_err(&e)?;
    if store.access_token(&live.access.hash).await.map_err(&e)?.is_some() {
        return Err(fail(CASE, "a token of the revoked subject is still found"));
    }
    let before = fx.grant(subject.clone(), fx.now);
    let pending = NewGrant { access: fx.access(&before), refresh: None, grant: before };
    if store.insert_grant(pending).await.map_err(&e)? != InsertOutcome::GrantRevoked {
        return Err(fail(CASE, "a grant authorized at the revocation instant was inserted"));
    }
    let after = fx.grant(subject, fx.now + Duration::seconds(1));
    let fresh = NewGrant { access: fx.access(&after), refresh: None, grant: after };
    if store.insert_grant(fresh).await.map_err(&e)? != InsertOutcome::Inserted {
        return Err(fail(CASE, "a grant authorized after the revocation was refused"));
    }
    Ok(())
}

async fn access_token_revocation_is_one_token<S: Store>(store: &S, fx: &Fixture) -> CaseResult {
    const CASE: &str = "revoking an access token removes that token only";
    let e = store_err(CASE);
    let new = fx.new_grant();
    let token = new.refresh.clone().unwrap_or_else(|| fx.refresh(&new.grant));
    store.insert_grant(new.clone()).await.map_err(&e)?;
    store.revoke_access_token(&new.access.hash).await.map_err(&e)?;
    store.revoke_access_token(&fx.hash()).await.map_err(&e)?;
    if store.access_token(&new.access.hash).await.map_err(&e)?.is_some() {
        return Err(fail(CASE, "the revoked access token is still found"));
    }
    if store.rotate_refresh(fx.rotation(&token, false)).await.map_err(&e)? != RotateOutcome::Rotated {
        return Err(fail(CASE, "the grant's refresh token stopped working"));
    }
    Ok(())
}

async fn concurrent_takes_of_one_code<S: Store>(store: &S, fx: &Fixture, contenders: usize) -> CaseResult {
    const CASE: &str = "concurrent takes of one code: exactly one is Taken";
    let e = store_err(CASE);
    let code = fx.code();
    store.insert_code(code.clone()).await.map_err(&e)?;
    let takes = join_all((0..contenders).map(|_| store.take_code(&code.hash))).await;
    let mut taken = 0;
    for take in takes {
        match take.map_err(&e)? {
            CodeTake::Taken(_) => taken += 1,
            CodeTake::AlreadyTaken(_) => {}
            CodeTake::NotFound => return Err(fail(CASE, "a contender did not find the code")),
        }
    }
    if taken == 1 { Ok(()) } else { Err(fail(CASE, format!("{taken} contenders took the code"))) }
}

async fn concurrent_rotations_of_one_token<S: Store>(store: &S, fx: &Fixture, contenders: usize) -> CaseResult {
    const CASE: &str = "concurrent rotations of one token: exactly one succeeds, one token stays active";
    let e = store_err(CASE);
    let new = fx.new_grant();
    let token = new.refresh.clone().unwrap_or_else(|| fx.refresh(&new.grant));
    store.insert_grant(new).await.map_err(&e)?;
    let rotations: Vec<Rotation> = (0..contenders).map(|_| fx.rotation(&token, false)).collect();
    let hashes: Vec<TokenHash> = rotations.iter().map(|r| r.refresh.hash).collect();
    let outcomes = join_all(rotations.into_iter().map(|r| store.rotate_refresh(r))).await;
    let mut rotated = 0;
    for outcome in outcomes {
        if outcome.map_err(&e)? == RotateOutcome::Rotated {
            rotated += 1;
        }
    }
    if rotated != 1 {
        return Err(fail(CASE, format!("{rotated} rotations succeeded")));
    }
    let mut active = 0;
    for hash in hashes {
        if store.refresh_token(&hash).await.map_err(&e)?.is_some_and(|r| r.rotated_at.is_none()) {
            active += 1;
        }
    }
    if active == 1 { Ok(()) } else { Err(fail(CASE, format!("{active} new tokens are active"))) }
}

/// A boxed store future, so that different operations can race in one [`join_all`].
type Op<'s> = Pin<Box<dyn Future<Output = Result<(), StoreError>> + Send + 's>>;

/// `contenders` grants each inserted while its own revocation runs: whichever lands first, no
/// token of a revoked grant may be live afterwards. A store whose insert checks for a
/// revocation without serializing with it (write skew) leaves tokens behind here.
async fn concurrent_insert_and_revoke_grant<S: Store>(store: &S, fx: &Fixture, contenders: usize) -> CaseResult {
    const CASE: &str = "insert_grant racing revoke_grant: no token of the revoked grant stays live";
    let e = store_err(CASE);
    let grants: Vec<NewGrant> = (0..contenders).map(|_| fx.new_grant()).collect();
    let mut ops: Vec<Op<'_>> = Vec::new();
    for (i, new) in grants.iter().enumerate() {
        let insert: Op<'_> = Box::pin(async move { store.insert_grant(new.clone()).await.map(|_| ()) });
        let revoke: Op<'_> = Box::pin(store.revoke_grant(&new.grant.grant_id, fx.now, fx.now + Duration::days(31)));
        // Alternate which one starts first.
        if i % 2 == 0 {
            ops.extend([insert, revoke]);
        } else {
            ops.extend([revoke, insert]);
        }
    }
    for outcome in join_all(ops).await {
        outcome.map_err(&e)?;
    }
    for new in &grants {
        let refresh = new.refresh.as_ref().map(|r| r.hash);
        if store.access_token(&new.access.hash).await.map_err(&e)?.is_some() {
            return Err(fail(CASE, "an access token of a revoked grant is live"));
        }
        if let Some(hash) = refresh {
            if store.refresh_token(&hash).await.map_err(&e)?.is_some() {
                return Err(fail(CASE, "a refresh token of a revoked grant is live"));
            }
        }
    }
    Ok(())
}

/// Grants of one subject, authorized before the revocation instant, inserted while the subject
/// is revoked: none of their tokens may be live afterwards.
async fn concurrent_insert_and_revoke_subject<S: Store>(store: &S, fx: &Fixture, contenders: usize) -> CaseResult {
    const CASE: &str = "insert_grant racing revoke_subject: no token of a grant authorized before stays live";
    let e = store_err(CASE);
    let subject = fx.subject();
    let grants: Vec<NewGrant> = (0..contenders)
        .map(|_| {
            let grant = fx.grant(subject.clone(), fx.now);
            NewGrant { access: fx.access(&grant), refresh: Some(fx.refresh(&grant)), grant }
        })
        .collect();
    let half = grants.len() / 2;
    let mut ops: Vec<Op<'_>> = Vec::new();
    for new in &grants[..half] {
        ops.push(Box::pin(async move { store.insert_grant(new.clone()).await.map(|_| ()) }));
    }
    ops.push(Box::pin(store.revoke_subject(&subject, fx.now, fx.now + Duration::days(31))));
    for new in &grants[half..] {
        ops.push(Box::pin(async move { store.insert_grant(new.clone()).await.map(|_| ()) }));
    }
    for outcome in join_all(ops).await {
        outcome.map_err(&e)?;
    }
    for new in &grants {
        if store.access_token(&new.access.hash).await.map_err(&e)?.is_some() {
            return Err(fail(CASE, "an access token of the revoked subject is live"));
        }
        if let Some(refresh) = &new.refresh {
            if store.refresh_token(&refresh.hash).await.map_err(&e)?.is_some() {
                return Err(fail(CASE, "a refresh token of the revoked subject is live"));
            }
        }
    }
    Ok(())
}

/// A declared [`Store::claim_once`]: one claim per key while it lasts, however many race; an
/// ended claim can be taken again; different keys are independent.
async fn claims_are_single_use<S: Store>(store: &S, fx: &Fixture, contenders: usize) -> CaseResult {
    const CASE: &str = "claim_once: one claim per key while it lasts";
    let e = store_err(CASE);
    let key = fx.hash();
    let until = fx.now + Duration::seconds(60);
    let outcomes = join_all((0..contenders).map(|_| store.claim_once(&key, fx.now, until))).await;
    let mut claimed = 0;
    for outcome in outcomes {
        if outcome.map_err(&e)? == ClaimOutcome::Claimed {
            claimed += 1;
        }
    }
    if claimed != 1 {
        return Err(fail(CASE, format!("{claimed} contenders claimed one key")));
    }
    if store.claim_once(&key, fx.now + Duration::seconds(59), until).await.map_err(&e)? != ClaimOutcome::AlreadyClaimed
    {
        return Err(fail(CASE, "a key was claimed twice while its claim lasted"));
    }
    if store.claim_once(&fx.hash(), fx.now, until).await.map_err(&e)? != ClaimOutcome::Claimed {
        return Err(fail(CASE, "another key was refused"));
    }
    Ok(())
}

/// Declared pushed requests: read back as stored, more than once, and each under its own
/// digest; a second insert under a digest in use fails and leaves the first intact.
async fn pushed_requests_are_kept_and_never_overwritten<S: Store>(store: &S, fx: &Fixture) -> CaseResult {
    const CASE: &str = "pushed requests: kept as stored, never overwritten";
    let e = store_err(CASE);
    let (hash, other) = (fx.hash(), fx.hash());
    let client = ClientId::new(fx.name("par-client")).map_err(|_| fail(CASE, "fixture client id"))?;
    let params = vec![("response_type".to_owned(), "code".to_owned()), ("state".to_owned(), fx.name("s"))];
    let request = PushedRequest::new(client, params, fx.now + Duration::seconds(60));
    let until = fx.now + Duration::seconds(600);
    store.insert_pushed_request(&hash, request.clone(), fx.now, until).await.map_err(&e)?;
    for _ in 0..2 {
        if store.pushed_request(&hash, fx.now + Duration::seconds(1)).await.map_err(&e)?.as_ref() != Some(&request) {
            return Err(fail(CASE, "a stored pushed request did not read back as stored"));
        }
    }
    let mut intruder = request.clone();
    intruder.params.push(("scope".to_owned(), "admin".to_owned()));
    if store.insert_pushed_request(&hash, intruder, fx.now, until).await.is_ok() {
        return Err(fail(CASE, "a second pushed request under one digest was accepted"));
    }
    if store.pushed_request(&hash, fx.now).await.map_err(&e)?.as_ref() != Some(&request) {
        return Err(fail(CASE, "a refused insert changed the stored pushed request"));
    }
    if store.pushed_request(&other, fx.now).await.map_err(&e)?.is_some() {
        return Err(fail(CASE, "a digest never stored found a pushed request"));
    }
    Ok(())
}

/// A store that does not declare pushed requests must refuse them, not pretend to keep them.
async fn undeclared_pushed_requests_fail_closed<S: Store>(store: &S, fx: &Fixture) -> CaseResult {
    const CASE: &str = "undeclared pushed requests fail closed";
    let client = ClientId::new(fx.name("par-client")).map_err(|_| fail(CASE, "fixture client id"))?;
    let request = PushedRequest::new(client, Vec::new(), fx.now + Duration::seconds(60));
    match store.insert_pushed_request(&fx.hash(), request, fx.now, fx.now + Duration::seconds(60)).await {
        Err(e) if e.kind() == crate::store::StoreErrorKind::Unsupported => Ok(()),
        other => Err(fail(CASE, format!("gave {other:?} without declaring PUSHED_REQUESTS"))),
    }
}

/// A store that does not declare claims must refuse them, never report a claim it did not make.
async fn undeclared_claims_fail_closed<S: Store>(store: &S, fx: &Fixture) -> CaseResult {
    const CASE: &str = "an undeclared claim_once fails closed";
    match store.claim_once(&fx.hash(), fx.now, fx.now + Duration::seconds(60)).await {
        Err(e) if e.kind() == crate::store::StoreErrorKind::Unsupported => Ok(()),
        other => Err(fail(CASE, format!("gave {other:?} without declaring SINGLE_USE_CLAIMS"))),
    }
}
