//! Where an oauth21 code flow and refresh spend their time, natively (no profiler): each stage
//! timed on its own, every store call timed through a wrapping [`Store`], and the primitives
//! alone. MemoryStore does its work (lock, map operation, clone) inside the call and returns a
//! ready future, so a store call's time is the time its lock is held, plus taking it.
//!
//! Run with `COMPARE_PROFILE=stages:oauth21:N` (see benches/compare.rs).

use std::future::Future;
use std::hint::black_box;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Instant;

use oauth21::store::{
    AccessTokenRecord, CodeRecord, CodeTake, InsertOutcome, NewGrant, RefreshTokenRecord, RotateOutcome, Rotation,
    StoreError,
};
use oauth21::{
    Approval, AuthorizeOutcome, Client, ClientId, Clock, GrantId, GrantType, MemoryStore, Random, Request, Server,
    ServerConfig, Store, Subject, SystemClock, SystemRandom, TokenHash,
};
use time::OffsetDateTime;

use crate::{REDIRECT, REDIRECT_ENCODED, VERIFIER, authorize_query, block_on, json_str};

const METHODS: [&str; 8] =
    ["client", "insert_code", "take_code", "insert_grant", "rotate_refresh", "access_token", "refresh_token", "other"];

/// A store that times every call of the store it wraps.
pub struct TimedStore {
    inner: Arc<MemoryStore>,
    nanos: [AtomicU64; 8],
    calls: [AtomicU64; 8],
}

impl TimedStore {
    fn new(inner: Arc<MemoryStore>) -> Self {
        Self { inner, nanos: Default::default(), calls: Default::default() }
    }

    fn timed<T>(&self, i: usize, f: impl FnOnce() -> T) -> T {
        let start = Instant::now();
        let out = f();
        self.nanos[i].fetch_add(start.elapsed().as_nanos() as u64, Ordering::Relaxed);
        self.calls[i].fetch_add(1, Ordering::Relaxed);
        out
    }

    fn reset(&self) {
        for i in 0..METHODS.len() {
            self.nanos[i].store(0, Ordering::Relaxed);
            self.calls[i].store(0, Ordering::Relaxed);
        }
    }

    /// (method, calls per op, ns per op) for the methods that were called.
    fn report(&self, ops: u64) -> Vec<(&'static str, f64, f64)> {
        (0..METHODS.len())
            .filter(|&i| self.calls[i].load(Ordering::Relaxed) > 0)
            .map(|i| {
                let per = |a: &AtomicU64| a.load(Ordering::Relaxed) as f64 / ops as f64;
                (METHODS[i], per(&self.calls[i]), per(&self.nanos[i]))
            })
            .collect()
    }
}

impl Store for TimedStore {
    fn client(&self, id: &ClientId) -> impl Future<Output = Result<Option<Client>, StoreError>> + Send {
        self.timed(0, || self.inner.client(id))
    }
    fn insert_code(&self, code: CodeRecord) -> impl Future<Output = Result<(), StoreError>> + Send {
        self.timed(1, || self.inner.insert_code(code))
    }
    fn take_code(&self, hash: &TokenHash) -> impl Future<Output = Result<CodeTake, StoreError>> + Send {
        self.timed(2, || self.inner.take_code(hash))
    }
    fn insert_grant(&self, grant: NewGrant) -> impl Future<Output = Result<InsertOutcome, StoreError>> + Send {
        self.timed(3, || self.inner.insert_grant(grant))
    }
    fn rotate_refresh(&self, rotation: Rotation) -> impl Future<Output = Result<RotateOutcome, StoreError>> + Send {
        self.timed(4, || self.inner.rotate_refresh(rotation))
    }
    fn revoke_grant(
        &self,
        id: &GrantId,
        at: OffsetDateTime,
        remember_until: OffsetDateTime,
    ) -> impl Future<Output = Result<(), StoreError>> + Send {
        self.timed(7, || self.inner.revoke_grant(id, at, remember_until))
    }
    fn revoke_access_token(&self, hash: &TokenHash) -> impl Future<Output = Result<(), StoreError>> + Send {
        self.timed(7, || self.inner.revoke_access_token(hash))
    }
    fn revoke_subject(
        &self,
        subject: &Subject,
        at: OffsetDateTime,
        remember_until: OffsetDateTime,
    ) -> impl Future<Output = Result<(), StoreError>> + Send {
        self.timed(7, || self.inner.revoke_subject(subject, at, remember_until))
    }
    fn access_token(
        &self,
        hash: &TokenHash,
    ) -> impl Future<Output = Result<Option<AccessTokenRecord>, StoreError>> + Send {
        self.timed(5, || self.inner.access_token(hash))
    }
    fn refresh_token(
        &self,
        hash: &TokenHash,
    ) -> impl Future<Output = Result<Option<RefreshTokenRecord>, StoreError>> + Send {
        self.timed(6, || self.inner.refresh_token(hash))
    }
}

/// Minor page faults of this process so far.
fn minor_faults() -> u64 {
    let stat = std::fs::read_to_string("/proc/self/stat").unwrap_or_default();
    let rest = stat.rsplit_once(')').map_or("", |(_, r)| r);
    rest.split_whitespace().nth(7).and_then(|f| f.parse().ok()).unwrap_or(0)
}

fn code_flows(
    server: &Server<Arc<TimedStore>>,
    store: &TimedStore,
    subject: &Subject,
    query: &str,
    n: u64,
    label: &str,
) -> Vec<String> {
    let faults = minor_faults();
    store.reset();
    let (mut t_authorize, mut t_approve, mut t_glue, mut t_token) = (0u128, 0u128, 0u128, 0u128);
    let mut refresh_bodies = Vec::with_capacity(n as usize);
    for _ in 0..n {
        let t0 = Instant::now();
        let consent = match block_on(server.authorize(&Request::get(query))) {
            AuthorizeOutcome::Consent(c) => c,
            AuthorizeOutcome::Error { error, .. } => panic!("{error:?}"),
            _ => unreachable!("a variant this code does not know"),
        };
        let t1 = Instant::now();
        let redirect =
            block_on(server.approve(&consent, Approval::new(subject.clone()))).expect("approve").into_response();
        let t2 = Instant::now();
        let code = redirect.location().expect("Location").split(['?', '&']).find_map(|p| p.strip_prefix("code="));
        let body = format!(
            "grant_type=authorization_code&client_id=app&code={}&redirect_uri={REDIRECT_ENCODED}&code_verifier={VERIFIER}",
            code.expect("code")
        );
        let t3 = Instant::now();
        let response = block_on(server.token(&Request::form_post(body.as_bytes())));
        let t4 = Instant::now();
        assert_eq!(response.status(), 200);
        t_authorize += (t1 - t0).as_nanos();
        t_approve += (t2 - t1).as_nanos();
        t_glue += (t3 - t2).as_nanos();
        t_token += (t4 - t3).as_nanos();
        let json = std::str::from_utf8(response.body()).expect("utf-8");
        refresh_bodies.push(format!(
            "grant_type=refresh_token&client_id=app&refresh_token={}",
            json_str(json, "refresh_token").expect("rt")
        ));
    }
    let per = |t: u128| t as f64 / n as f64;
    let total = per(t_authorize + t_approve + t_glue + t_token);
    println!(
        "oauth21 code flow, {n} flows {label}: {total:.0} ns per flow, {:.2} page faults per flow",
        (minor_faults() - faults) as f64 / n as f64
    );
    println!("  authorize (parse + validate, client lookup) {:>6.0} ns", per(t_authorize));
    println!("  approve (code + grant id, insert_code)      {:>6.0} ns", per(t_approve));
    println!("  client glue (read code, build body)         {:>6.0} ns", per(t_glue));
    println!("  token (redeem, issue, insert_grant, JSON)   {:>6.0} ns", per(t_token));
    let mut locked = 0.0;
    for (method, calls, ns) in store.report(n) {
        println!("  store {method:<14} {calls:.1} calls  {ns:>6.0} ns per flow (lock held)");
        locked += ns;
    }
    println!("  store total {locked:.0} ns = {:.0}% of the flow", 100.0 * locked / total);

    refresh_bodies
}

fn ns_per(start: Instant, n: u64) -> f64 {
    start.elapsed().as_nanos() as f64 / n as f64
}

/// Prints the breakdown for `n` code flows and `n` refreshes.
pub fn run(n: u64) {
    let memory = Arc::new(MemoryStore::new());
    memory.insert_client(
        Client::public("app")
            .redirect_uri(REDIRECT)
            .grant_types([GrantType::AuthorizationCode, GrantType::RefreshToken])
            .scope("read")
            .build()
            .expect("app"),
    );
    let store = Arc::new(TimedStore::new(memory));
    let config = ServerConfig::builder("https://as.example").build().expect("config");
    let server = Server::new(config, store.clone());
    let subject = Subject::new("alice").expect("subject");
    let query = authorize_query();

    // Warm up, then time each stage of the code flow.
    let mut warm = Vec::new();
    for _ in 0..1000 {
        let consent = match block_on(server.authorize(&Request::get(&query))) {
            AuthorizeOutcome::Consent(c) => c,
            AuthorizeOutcome::Error { error, .. } => panic!("{error:?}"),
            _ => unreachable!("a variant this code does not know"),
        };
        warm.push(block_on(server.approve(&consent, Approval::new(subject.clone()))).expect("approve").into_response());
    }
    drop(warm);
    code_flows(&server, &store, &subject, &query, n, "into an empty store");
    // Every record dropped: the maps keep their capacity and malloc reuses the freed memory, as
    // in a store that has reached its steady size.
    store.inner.purge_expired(OffsetDateTime::now_utc() + time::Duration::days(366));
    let refresh_bodies = code_flows(
        &server,
        &store,
        &subject,
        &query,
        n,
        "after purge_expired emptied it (maps at capacity, memory reused)",
    );
    store.reset();
    let start = Instant::now();
    for body in &refresh_bodies {
        let response = block_on(server.token(&Request::form_post(body.as_bytes())));
        assert_eq!(response.status(), 200);
    }
    let refresh = ns_per(start, n);
    println!("oauth21 refresh, {n} refreshes: {refresh:.0} ns per refresh");
    let mut locked = 0.0;
    for (method, calls, ns) in store.report(n) {
        println!("  store {method:<14} {calls:.1} calls  {ns:>6.0} ns per refresh (lock held)");
        locked += ns;
    }
    println!("  store total {locked:.0} ns = {:.0}% of the refresh", 100.0 * locked / refresh);

    // The primitives on their own.
    let keys = SystemRandom::new();
    let mut buf = [0u8; 32];
    let start = Instant::now();
    for _ in 0..n {
        keys.fill_random(&mut buf).expect("random");
        black_box(&buf);
    }
    let random32 = ns_per(start, n);
    let mut big = [0u8; 112];
    let start = Instant::now();
    for _ in 0..n {
        keys.fill_random(&mut big).expect("random");
        black_box(&big);
    }
    let random112 = ns_per(start, n);
    let start = Instant::now();
    for _ in 0..n {
        black_box(SystemClock.now());
    }
    let clock = ns_per(start, n);
    let start = Instant::now();
    for _ in 0..n {
        black_box(TokenHash::of(black_box(VERIFIER)));
    }
    let digest = ns_per(start, n);
    println!(
        "primitives: SystemRandom 32 bytes {random32:.0} ns, 112 bytes in one call {random112:.0} ns; SystemClock::now {clock:.0} ns; SHA-256 of 43 bytes {digest:.0} ns"
    );
}
