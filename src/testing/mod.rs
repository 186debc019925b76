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

mod capabilities;
mod grants;

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

use capabilities::*;
use grants::*;

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
