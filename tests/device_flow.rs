//! The device authorization grant (RFC 8628; DG-01..DG-04) and bad-input class 16: user codes
//! guessed without a throttle, `slow_down` never raised, failure counters reset by a success.

mod common;

use std::sync::{Arc, Mutex};

use common::{ISSUER, block_on, json};
use oauth21::device::{MAX_USER_CODE_FAILURES, USER_CODE_ALPHABET, normalize_user_code};
use oauth21::hooks::{HookFuture, Hooks, SecurityEvent};
use oauth21::{
    Approval, Client, ClientSecret, DeviceDecisionError, DeviceVerificationError, GrantType, ManualClock, MemoryStore,
    Request, Response, Scope, Server, ServerConfig, Subject, SystemRandom,
};
use time::Duration;

const DEVICE_GRANT: &str = "urn:ietf:params:oauth:grant-type:device_code";

/// Counts wrong entries per source, as a host's shared limiter would; never resets on success.
#[derive(Default, Clone)]
struct SharedLimiter(Arc<Mutex<Vec<String>>>);

impl Hooks for SharedLimiter {
    fn report(&self, event: &SecurityEvent) {
        if let SecurityEvent::UserCodeMiss { source } = event {
            self.0.lock().unwrap().push(source.clone());
        }
    }
    fn allow_user_code_attempt(&self, source: &str) -> HookFuture<'_, bool> {
        HookFuture::ready(source != "blocked-by-host")
    }
}

struct Setup {
    server: Server<Arc<MemoryStore>>,
    store: Arc<MemoryStore>,
    clock: Arc<ManualClock>,
    misses: SharedLimiter,
}

fn setup() -> Setup {
    let store = Arc::new(MemoryStore::new());
    store.insert_client(
        Client::public("tv")
            .grant_types([GrantType::DeviceCode, GrantType::RefreshToken])
            .scope("read write")
            .default_scope("read")
            .build()
            .unwrap(),
    );
    store.insert_client(
        Client::confidential("console", &ClientSecret::new("a long enough console secret"))
            .grant_types([GrantType::DeviceCode])
            .scope("read")
            .build()
            .unwrap(),
    );
    store.insert_client(Client::public("app").redirect_uri("http://127.0.0.1/cb").scope("read").build().unwrap());
    let config = ServerConfig::builder(ISSUER).device_flow("https://as.example/device").build().unwrap();
    let clock = Arc::new(ManualClock::at_unix(1_700_000_000));
    let misses = SharedLimiter::default();
    let server = Server::try_new(config, store.clone())
        .unwrap()
        .with_clock(clock.clone())
        .with_random(SystemRandom::new())
        .with_hooks(misses.clone());
    Setup { server, store, clock, misses }
}

impl Setup {
    fn authorize_device(&self, body: &str) -> Response {
        block_on(self.server.device_authorization(&Request::form_post(body.as_bytes())))
    }

    /// A device request of `tv`: (device_code, user_code).
    fn start(&self, extra: &str) -> (String, String) {
        let response = self.authorize_device(&format!("client_id=tv{extra}"));
        assert_eq!(response.status(), 200, "{}", String::from_utf8_lossy(response.body()));
        let body = json(&response);
        (body["device_code"].as_str().unwrap().to_owned(), body["user_code"].as_str().unwrap().to_owned())
    }

    fn poll(&self, client: &str, device_code: &str) -> Response {
        let body = format!("grant_type={DEVICE_GRANT}&client_id={client}&device_code={device_code}");
        block_on(self.server.token(&Request::form_post(body.as_bytes())))
    }

    fn poll_error(&self, device_code: &str) -> String {
        let response = self.poll("tv", device_code);
        assert_eq!(response.status(), 400, "{}", String::from_utf8_lossy(response.body()));
        json(&response)["error"].as_str().unwrap().to_owned()
    }

    fn advance(&self, seconds: i64) {
        self.clock.advance(Duration::seconds(seconds));
    }

    fn approve(&self, user_code: &str) {
        let consent = block_on(self.server.device_verification(user_code, "browser-1")).unwrap();
        block_on(self.server.approve_device(&consent, Approval::new(Subject::new("alice").unwrap()))).unwrap();
    }
}

#[test]
fn dg01_the_device_gets_a_256_bit_code_and_a_short_user_code_to_type() {
    let s = setup();
    let response = s.authorize_device("client_id=tv&scope=read+write");
    assert_eq!(response.status(), 200);
    assert_eq!(response.header("Cache-Control"), Some("no-store"));
    let body = json(&response);
    assert_eq!(body["device_code"].as_str().unwrap().len(), 43, "256 bits, base64url");
    let user_code = body["user_code"].as_str().unwrap();
    assert_eq!(user_code.len(), 9);
    assert_eq!(&user_code[4..5], "-");
    assert!(user_code.bytes().filter(|b| *b != b'-').all(|b| USER_CODE_ALPHABET.contains(&b)));
    assert_eq!(body["verification_uri"], "https://as.example/device");
    assert_eq!(body["verification_uri_complete"], format!("https://as.example/device?user_code={user_code}"));
    assert_eq!(body["expires_in"], 600);
    assert_eq!(body["interval"], 5);
    let metadata = json(&s.server.metadata());
    assert_eq!(metadata["device_authorization_endpoint"], "https://as.example/device_authorization");
    assert!(metadata["grant_types_supported"].as_array().unwrap().iter().any(|g| g == DEVICE_GRANT));
}

#[test]
fn dg01_client_authentication_grant_and_scope_are_checked_as_at_the_token_endpoint() {
    let s = setup();
    let error = |body: &str| {
        let response = s.authorize_device(body);
        (response.status(), json(&response)["error"].as_str().unwrap().to_owned())
    };
    assert_eq!(error("client_id=app"), (400, "unauthorized_client".into()));
    assert_eq!(error("client_id=tv&scope=admin"), (400, "invalid_scope".into()));
    assert_eq!(error("client_id=nobody"), (400, "invalid_client".into()));
    assert_eq!(error("client_id=console"), (400, "invalid_client".into()), "a confidential client authenticates");
    assert_eq!(error("client_id=tv&scope=read&scope=write"), (400, "invalid_request".into()));
    assert_eq!(error("client_id=tv&resource=not-a-uri"), (400, "invalid_target".into()));
    let confidential = s.authorize_device("client_id=console&client_secret=a+long+enough+console+secret&scope=read");
    assert_eq!(confidential.status(), 200);
    let get = block_on(s.server.device_authorization(&Request::get("client_id=tv")));
    assert_eq!(get.status(), 405);
    // Off unless configured: no endpoint, no grant.
    let plain = Server::new(ServerConfig::builder(ISSUER).build().unwrap(), MemoryStore::new());
    assert_eq!(block_on(plain.device_authorization(&Request::form_post(b"client_id=tv"))).status(), 404);
    assert!(json(&plain.metadata()).get("device_authorization_endpoint").is_none());
}

#[test]
fn dg02_polling_pending_slow_down_grows_the_interval_then_tokens_once() {
    let s = setup();
    let (device_code, user_code) = s.start("&scope=read+write");
    assert_eq!(s.poll_error(&device_code), "authorization_pending");
    s.advance(2);
    assert_eq!(s.poll_error(&device_code), "slow_down", "polled 2 s after the last, interval 5 s");
    s.advance(6);
    assert_eq!(s.poll_error(&device_code), "slow_down", "the interval is now 10 s");
    s.advance(15);
    assert_eq!(s.poll_error(&device_code), "authorization_pending", "15 s later is slow enough");
    s.approve(&user_code);
    s.advance(15);
    let tokens = s.poll("tv", &device_code);
    assert_eq!(tokens.status(), 200);
    let body = json(&tokens);
    assert_eq!(body["scope"], "read write");
    assert!(body["refresh_token"].is_string(), "the device grant behaves like any other: refresh tokens");
    s.advance(15);
    assert_eq!(s.poll_error(&device_code), "invalid_grant", "the device code redeems once");
    // The refresh token rotates like any other.
    let refresh =
        format!("grant_type=refresh_token&client_id=tv&refresh_token={}", body["refresh_token"].as_str().unwrap());
    assert_eq!(block_on(s.server.token(&Request::form_post(refresh.as_bytes()))).status(), 200);
}

#[test]
fn dg02_denied_expired_unknown_and_another_clients_device_code() {
    let s = setup();
    let (denied, user_code) = s.start("");
    let consent = block_on(s.server.device_verification(&user_code, "browser-1")).unwrap();
    block_on(s.server.deny_device(&consent)).unwrap();
    assert_eq!(s.poll_error(&denied), "access_denied");
    let (expired, user_code) = s.start("");
    s.advance(600);
    assert_eq!(s.poll_error(&expired), "expired_token");
    assert!(matches!(
        block_on(s.server.device_verification(&user_code, "browser-1")),
        Err(DeviceVerificationError::UnknownCode)
    ));
    assert_eq!(s.poll_error("an-unknown-device-code-of-forty-three-chars"), "invalid_grant");
    // DG-04: the device code is bound to its client.
    let (device_code, user_code) = s.start("");
    s.approve(&user_code);
    let body = format!(
        "grant_type={DEVICE_GRANT}&client_id=console&client_secret=a+long+enough+console+secret&device_code={device_code}"
    );
    let stolen = block_on(s.server.token(&Request::form_post(body.as_bytes())));
    assert_eq!(json(&stolen)["error"], "invalid_grant");
    assert_eq!(s.poll("tv", &device_code).status(), 200, "the other client's attempt consumed nothing");
}

#[test]
fn dg03_user_code_entry_ignores_case_dashes_and_spaces() {
    let s = setup();
    let (_, user_code) = s.start("");
    let typed = format!(" {} {} ", user_code[..4].to_lowercase(), &user_code[5..]);
    let consent = block_on(s.server.device_verification(&typed, "browser-1")).unwrap();
    assert_eq!(consent.user_code(), user_code);
    assert_eq!(consent.client().id().as_str(), "tv");
    assert_eq!(consent.scope(), &Scope::parse("read").unwrap(), "the default scope");
    assert_eq!(normalize_user_code(&typed).unwrap(), user_code.replace('-', ""));
}

#[test]
fn dg03_wrong_entries_are_throttled_per_source_and_a_success_resets_nothing() {
    let s = setup();
    let (_, user_code) = s.start("");
    let attempt = |code: &str, source: &str| block_on(s.server.device_verification(code, source));
    for i in 0..MAX_USER_CODE_FAILURES {
        assert!(matches!(attempt("BCDF-GHJK", "guesser"), Err(DeviceVerificationError::UnknownCode)), "attempt {i}");
        // Another user's success in between resets nothing.
        assert!(attempt(&user_code, "honest-user").is_ok());
    }
    assert!(
        matches!(attempt(&user_code, "guesser"), Err(DeviceVerificationError::TooManyAttempts)),
        "even the right code"
    );
    assert!(attempt(&user_code, "honest-user").is_ok(), "other sources are not punished");
    assert_eq!(s.misses.0.lock().unwrap().len(), MAX_USER_CODE_FAILURES as usize, "every miss is reported");
    // The host's own limiter is asked too.
    assert!(matches!(attempt(&user_code, "blocked-by-host"), Err(DeviceVerificationError::TooManyAttempts)));
    // The window passes.
    s.advance(15 * 60);
    let (_, fresh) = s.start("");
    assert!(attempt(&fresh, "guesser").is_ok());
}

#[test]
fn dg04_the_approval_binds_the_subject_and_may_narrow_the_scope() {
    let s = setup();
    let (device_code, user_code) = s.start("&scope=read+write");
    let consent = block_on(s.server.device_verification(&user_code, "browser-1")).unwrap();
    let wider = Approval::new(Subject::new("alice").unwrap()).with_scope(Scope::parse("read write admin").unwrap());
    assert!(matches!(block_on(s.server.approve_device(&consent, wider)), Err(DeviceDecisionError::Approval(_))));
    let as_client = Approval::new(Subject::new("tv").unwrap());
    assert!(matches!(block_on(s.server.approve_device(&consent, as_client)), Err(DeviceDecisionError::Approval(_))));
    let narrower = Approval::new(Subject::new("alice").unwrap()).with_scope(Scope::parse("read").unwrap());
    block_on(s.server.approve_device(&consent, narrower)).unwrap();
    // A second decision (a second tab, a denial racing the approval) is refused.
    assert!(matches!(block_on(s.server.deny_device(&consent)), Err(DeviceDecisionError::NotPending)));
    // Decided: the code no longer verifies.
    assert!(block_on(s.server.device_verification(&user_code, "browser-1")).is_err());
    let tokens = json(&s.poll("tv", &device_code));
    assert_eq!(tokens["scope"], "read");
    let checker = oauth21::BearerChecker::new(s.store.clone(), s.clock.clone(), "api").unwrap();
    let header = format!("Bearer {}", tokens["access_token"].as_str().unwrap());
    let record =
        block_on(checker.check(&Request::get("").with_authorization(header.as_bytes()), &Scope::default())).unwrap();
    assert_eq!(record.subject.as_str(), "alice");
    assert_eq!(record.client_id.as_str(), "tv");
}
