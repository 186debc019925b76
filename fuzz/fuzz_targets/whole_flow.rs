//! Whole flows: an arbitrary sequence of up to 64 operations (authorize, approve, deny, redeem a
//! code, refresh, revoke, introspect, check a bearer token, client credentials, the device flow's
//! start, verification and polls, move the clock)
//! driving one `Server` over `MemoryStore` with a `ManualClock`, checked against a reference
//! model of what each answer must be.
//!
//! Invariants: no panic; a code yields a 200 at most once, and only untampered, unexpired and
//! never presented before; a refresh token that was rotated out, revoked or refused never
//! yields a 200 later; no response redirects to an unregistered URI; every error body is JSON
//! with an `error` from the known set. The model also predicts successes (a fresh code, a live
//! refresh token, an active token at introspection) so a server that refuses too much fails too.
//! Redemptions and refreshes may carry a DPoP proof by one of two client keys: the grant is then
//! bound (`token_type` DPoP), a bound refresh needs a proof (of the same key for the public
//! client) and fails with `invalid_dpop_proof` otherwise without changing anything, and a bound
//! access token is refused as a bearer token.
//!
//! Set `OAUTH21_FUZZ_TRACE=1` to print the decoded operations and the answers (for reproducing).
#![no_main]

use arbitrary::Arbitrary;
use libfuzzer_sys::fuzz_target;
use oauth21::bearer::BearerChecker;
use oauth21::{Approval, ConsentRequest, Request, Response, Scope, ServerConfig, Subject};
use oauth21_fuzz::{
    CHALLENGE, ISSUER, RS_SECRET, SVC_SECRET, VERIFIER, WEB_SECRET, block_on, check_authorize_outcome,
    check_authorize_redirect, check_token_response, fixture, single,
};

#[derive(Arbitrary, Debug)]
struct Flow {
    /// bit 0: confidential clients keep their refresh token; bit 1: localhost any port;
    /// bit 2: access tokens carry an audience.
    flags: u8,
    ops: Vec<Op>,
}

#[derive(Arbitrary, Debug, Clone, Copy)]
enum Op {
    /// `client`: app, web or an unknown client; `redirect`, `scope`, `state`, `pkce` pick
    /// valid and invalid values (see `authorize`).
    Authorize {
        client: u8,
        redirect: u8,
        scope: u8,
        state: u8,
        pkce: u8,
        post: bool,
    },
    /// Approves a pending consent as alice, optionally with a narrower scope.
    Approve {
        which: u8,
        narrow: bool,
    },
    Deny {
        which: u8,
    },
    /// Redeems an issued code; `tamper` bits change the request (see `redeem`); `dpop` % 3:
    /// no proof, or a proof by client key 0 or 1.
    RedeemCode {
        which: u8,
        tamper: u8,
        dpop: u8,
    },
    /// Refreshes with a known refresh token; `scope` 0 none, 1 read, 2 write, 3 admin.
    Refresh {
        which: u8,
        dpop: u8,
        scope: u8,
        tamper: u8,
    },
    Revoke {
        which: u8,
        refresh: bool,
        caller: u8,
        hint: bool,
    },
    Introspect {
        which: u8,
        refresh: bool,
        caller: u8,
    },
    /// Moves the clock `secs % 121` seconds.
    AdvanceClock {
        secs: u8,
    },
    ClientCredentials {
        caller: u8,
        scope: u8,
    },
    /// Checks an access token with `BearerChecker`; `scope` 0 none, 1 read, 2 write.
    BearerCheck {
        which: u8,
        scope: u8,
    },
    /// `tv` asks for a device code; `scope` 0 none (default `read`), 1 read, 2 read write, 3
    /// admin.
    DeviceStart {
        scope: u8,
    },
    /// The verification step for a device request: `typo` bit 0 mistypes the code, bit 1 types
    /// it lower-case with spaces, bit 2 types from the second source; then approve (as alice,
    /// narrowed to `read` when `narrow`) or deny.
    DeviceDecide {
        which: u8,
        typo: u8,
        approve: bool,
        narrow: bool,
    },
    /// A poll of a device code, by `tv` or (when `other`) by `tv2`; `dpop` as for redemptions.
    DevicePoll {
        which: u8,
        other: bool,
        dpop: u8,
    },
}

const MAX_OPS: usize = 64;
const CODE_LIFETIME: i64 = 60;
const ACCESS_LIFETIME: i64 = 3600;

fn trace() -> bool {
    oauth21_fuzz::trace()
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum C {
    App,
    Web,
    Svc,
    Rs,
    Tv,
    Tv2,
}

impl C {
    fn id(self) -> &'static str {
        match self {
            C::App => "app",
            C::Web => "web",
            C::Svc => "svc",
            C::Rs => "rs",
            C::Tv => "tv",
            C::Tv2 => "tv2",
        }
    }
    fn secret(self) -> Option<&'static str> {
        match self {
            C::App | C::Tv | C::Tv2 => None,
            C::Web => Some(WEB_SECRET),
            C::Svc => Some(SVC_SECRET),
            C::Rs => Some(RS_SECRET),
        }
    }
    fn is_public(self) -> bool {
        self.secret().is_none()
    }
}

const DEVICE_LIFETIME: i64 = 600;
const DEVICE_GRANT: &str = "urn:ietf:params:oauth:grant-type:device_code";

#[derive(Debug, Clone, PartialEq, Eq)]
enum DeviceState {
    Pending,
    Approved(Scope),
    Denied,
    Redeemed,
}

struct DeviceInfo {
    device_code: String,
    user_code: String,
    scope: Scope,
    issued_at: i64,
    interval: i64,
    last_poll: Option<i64>,
    state: DeviceState,
}

struct Pending {
    consent: ConsentRequest,
    client: C,
    state: Option<String>,
    post: bool,
    /// Loaded from a pushed request; `completed` once approved or denied (then never again);
    /// completable until `until` (model seconds: pushed at plus 60 s plus the 10-minute window).
    pushed: bool,
    completed: bool,
    until: i64,
}

struct CodeInfo {
    code: String,
    client: C,
    redirect_uri: String,
    scope: Scope,
    issued_at: i64,
    /// A request reached `take_code` with it: it can never work again.
    consumed: bool,
    redeemed: bool,
    family: Option<usize>,
}

struct Family {
    client: C,
    subject: String,
    scope: Scope,
    revoked: bool,
    /// The DPoP key (0 or 1) the grant is bound to.
    jkt: Option<usize>,
}

struct AccessInfo {
    token: String,
    family: usize,
    scope: Scope,
    issued_at: i64,
    revoked: bool,
    /// DPoP-bound: worthless as a bearer token.
    bound: bool,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum RefreshState {
    Active,
    /// Rotated out at this time.
    Rotated(i64),
}

struct RefreshInfo {
    token: String,
    family: usize,
    state: RefreshState,
    /// Refused with `invalid_grant` when its owner presented it, or rotated out: never again.
    dead: bool,
}

struct Model {
    config_keep: bool,
    localhost_any: bool,
    now: i64,
    pending: Vec<Pending>,
    codes: Vec<CodeInfo>,
    families: Vec<Family>,
    access: Vec<AccessInfo>,
    refresh: Vec<RefreshInfo>,
    devices: Vec<DeviceInfo>,
    /// The user-code limiter per source ("a", "b"): window start and wrong entries.
    sources: [Option<(i64, u32)>; 2],
}

fn scope(text: &str) -> Scope {
    Scope::parse(text).unwrap()
}

fn form(pairs: &[(&str, &str)]) -> String {
    serde_urlencoded::to_string(pairs).unwrap()
}

/// The JSON error code of a token-style answer.
fn error_code(json: &serde_json::Value) -> &str {
    json["error"].as_str().unwrap_or("")
}

/// A token-endpoint request authenticated as `client` (post or Basic for confidential ones),
/// with `secret_override` replacing the right secret.
fn token_request(
    server: &oauth21_fuzz::FuzzServer,
    client: C,
    params: &[(&str, &str)],
    use_basic: bool,
    bad_auth: bool,
    proof: Option<&str>,
) -> Response {
    let mut pairs: Vec<(&str, &str)> = params.to_vec();
    let secret = match (client.secret(), bad_auth) {
        (Some(_), true) => Some("wrong-secret"),
        // A public client sending a secret is a failed authentication (class 12).
        (None, true) => Some("made-up"),
        (s, false) => s,
    };
    let header = match secret {
        Some(secret) if use_basic => Some(oauth21::client::basic_auth_header(client.id(), secret)),
        Some(secret) => {
            pairs.push(("client_id", client.id()));
            pairs.push(("client_secret", secret));
            None
        }
        None => {
            pairs.push(("client_id", client.id()));
            None
        }
    };
    let body = form(&pairs);
    let mut request = Request::form_post(body.as_bytes());
    if let Some(h) = &header {
        request = request.with_authorization(h.as_bytes());
    }
    if let Some(proof) = proof {
        request = request.with_dpop(proof.as_bytes());
    }
    block_on(server.token(&request))
}

/// The DPoP key of `dpop` (none, key 0, key 1) and a fresh proof by it for the token endpoint.
fn proof_of(fx: &oauth21_fuzz::Fixture, dpop: u8) -> (Option<usize>, Option<String>) {
    let key = match dpop % 3 {
        0 => return (None, None),
        n => usize::from(n - 1),
    };
    let now = oauth21::Clock::now(&*fx.clock).unix_timestamp();
    (Some(key), Some(oauth21_fuzz::dpop_proof(key, now)))
}

fn endpoint_request<'a>(body: &'a str, header: Option<&'a str>) -> Request<'a> {
    let request = Request::form_post(body.as_bytes());
    match header {
        Some(h) => request.with_authorization(h.as_bytes()),
        None => request,
    }
}

impl Model {
    fn authorize(&mut self, fx: &oauth21_fuzz::Fixture, op: (u8, u8, u8, u8, u8, bool)) {
        let (client_sel, redirect, scope_sel, state_sel, pkce, post) = op;
        let (client_id, client) = match client_sel % 3 {
            0 => ("app", Some(C::App)),
            1 => ("web", Some(C::Web)),
            _ => ("ghost", None),
        };
        // (value, valid for the client)
        let (redirect_uri, redirect_ok): (Option<&str>, bool) = match (client, redirect % 8) {
            (Some(C::App), 0) => (Some("http://127.0.0.1:5000/cb"), true),
            (Some(C::App), 1) => (Some("http://127.0.0.1/cb"), true),
            (Some(C::App), 2) => (None, true),
            (Some(C::App), 3) => (Some("http://127.0.0.1:5000/cb2"), false),
            (Some(C::App), 4) => (Some("http://localhost:5000/cb"), false),
            (Some(C::App), 5) => (Some("https://evil.example/cb"), false),
            (Some(C::App), 6) => (Some("http://127.0.0.1:5000@evil.example/cb"), false),
            (Some(C::App), _) => (Some("http://[::1]:5000/cb"), false),
            (_, 0) => (Some("https://web.example/cb"), true),
            (_, 1) => (Some("https://web.example/cb?tenant=1"), true),
            (_, 2) => (None, false),
            (_, 3) => (Some("https://web.example/cb?tenant=2"), false),
            (_, 4) => (Some("https://WEB.example/cb"), false),
            (_, 5) => (Some("https://evil.example/cb"), false),
            (_, 6) => (Some("https://web.example/cb#x"), false),
            (_, _) => (Some("https://web.example:443/cb"), false),
        };
        let redirect_ok = redirect_ok && client.is_some();
        let scope_text = match scope_sel % 6 {
            0 => None,
            1 => Some("read"),
            2 => Some("write"),
            3 => Some("read write"),
            4 => Some("admin"),
            _ => Some("read  write"),
        };
        let state = match state_sel % 4 {
            0 => None,
            1 => Some("xyz"),
            2 => Some("a b&c=d%"),
            _ => Some("\u{2713}\"<>"),
        };
        let (challenge, method) = match pkce % 5 {
            0 => (Some(CHALLENGE), Some("S256")),
            1 => (None, Some("S256")),
            2 => (Some(CHALLENGE), Some("plain")),
            3 => (Some(CHALLENGE), None),
            _ => (Some(&CHALLENGE[1..]), Some("S256")),
        };
        let mut pairs = vec![("response_type", "code"), ("client_id", client_id)];
        for (k, v) in [
            ("redirect_uri", redirect_uri),
            ("scope", scope_text),
            ("state", state),
            ("code_challenge", challenge),
            ("code_challenge_method", method),
        ] {
            if let Some(v) = v {
                pairs.push((k, v));
            }
        }
        // What the model expects.
        let pkce_ok = pkce % 5 == 0;
        let scope_expected: Option<Scope> = match (client, scope_text) {
            (Some(C::App), None) => Some(scope("read")),
            (Some(C::Web), None) => None,
            (_, Some(t)) => Scope::parse(t).ok().filter(|s| s.is_subset_of(&scope("read write"))),
            _ => None,
        };
        let expected_error = if !redirect_ok {
            None
        } else if !pkce_ok {
            Some("invalid_request")
        } else if scope_expected.is_none() {
            Some("invalid_scope")
        } else {
            None
        };

        // The high bit of `client` pushes the request first (RFC 9126): the same parameters go
        // to the PAR endpoint, and the browser then carries only client_id and request_uri.
        let pushed = client_sel >= 128;
        let encoded = form(&pairs);
        let pushed_query;
        let request = if pushed {
            let mut push = Request::form_post(encoded.as_bytes());
            let basic = oauth21::client::basic_auth_header("web", oauth21_fuzz::WEB_SECRET);
            if client == Some(C::Web) {
                push = push.with_authorization(basic.as_bytes());
            }
            let response = block_on(fx.server.pushed_authorization_request(&push));
            assert!(response.location().is_none(), "the PAR endpoint redirected");
            let body: serde_json::Value = serde_json::from_slice(response.body()).expect("PAR answers JSON");
            let valid = redirect_ok && expected_error.is_none();
            if response.status() != 201 {
                assert!(!valid, "a valid pushed request was refused: {body}");
                return;
            }
            assert!(valid, "an invalid pushed request was accepted");
            let uri = body["request_uri"].as_str().expect("request_uri").to_owned();
            pushed_query = form(&[("client_id", client_id), ("request_uri", uri.as_str())]);
            if post { Request::form_post(pushed_query.as_bytes()) } else { Request::get(&pushed_query) }
        } else if post {
            Request::form_post(encoded.as_bytes())
        } else {
            Request::get(&encoded)
        };
        let outcome = block_on(fx.server.authorize(&request));

        match &outcome {
            oauth21::AuthorizeOutcome::Error { response, error } => {
                if !redirect_ok {
                    assert!(response.location().is_none(), "redirected {error:?} to an unvalidated URI");
                } else {
                    assert!(response.location().is_some(), "{error:?} not redirected after the URI was validated");
                    assert_eq!(Some(error.code().as_str()), expected_error, "authorize error");
                    let params = check_authorize_redirect(response, client_id, self.localhost_any);
                    assert_eq!(single(&params, "state"), state, "state not echoed");
                    assert_eq!(response.status(), if post { 303 } else { 302 });
                    if let Some(uri) = redirect_uri {
                        assert!(response.location().unwrap().starts_with(uri));
                    }
                }
            }
            oauth21::AuthorizeOutcome::Consent(_) => {
                assert!(redirect_ok && expected_error.is_none(), "consent for an invalid request");
            }
            _ => unreachable!("a variant this code does not know"),
        }
        if let Some(consent) = check_authorize_outcome(outcome, self.localhost_any) {
            assert_eq!(Some(consent.scope()), scope_expected.as_ref());
            assert_eq!(consent.state(), state);
            let client = client.unwrap();
            self.pending.push(Pending {
                consent,
                client,
                state: state.map(str::to_owned),
                post,
                pushed,
                completed: false,
                until: self.now + 60 + 600,
            });
        }
    }

    fn approve(&mut self, fx: &oauth21_fuzz::Fixture, which: u8, narrow: bool) {
        if self.pending.is_empty() {
            return;
        }
        let index = which as usize % self.pending.len();
        let p = &self.pending[index];
        let mut approval = Approval::new(Subject::new("alice").unwrap());
        let mut granted = p.consent.scope().clone();
        if narrow {
            if let Some(first) = p.consent.scope().iter().next() {
                granted = scope(first);
                approval = approval.with_scope(granted.clone());
            }
        }
        let response =
            block_on(fx.server.approve(&p.consent, approval)).expect("approval within the request").into_response();
        assert_eq!(response.status(), if p.post { 303 } else { 302 });
        let params = check_authorize_redirect(&response, p.client.id(), self.localhost_any);
        assert_eq!(single(&params, "state"), p.state.as_deref(), "state not echoed");
        if p.pushed && (p.completed || self.now >= p.until) {
            assert_eq!(single(&params, "code"), None, "a pushed request completed twice or too late");
            assert_eq!(single(&params, "error"), Some("invalid_request"));
            return;
        }
        let code = single(&params, "code").expect("approval redirect without a code").to_owned();
        assert!(self.codes.iter().all(|c| c.code != code), "a code was issued twice");
        self.codes.push(CodeInfo {
            code,
            client: p.client,
            redirect_uri: p.consent.redirect_uri().to_owned(),
            scope: granted,
            issued_at: self.now,
            consumed: false,
            redeemed: false,
            family: None,
        });
        self.pending[index].completed = true;
    }

    fn deny(&mut self, fx: &oauth21_fuzz::Fixture, which: u8) {
        if self.pending.is_empty() {
            return;
        }
        let index = which as usize % self.pending.len();
        let p = &self.pending[index];
        let response = block_on(fx.server.deny(&p.consent));
        assert_eq!(response.status(), if p.post { 303 } else { 302 });
        let params = check_authorize_redirect(&response, p.client.id(), self.localhost_any);
        let ended = p.pushed && (p.completed || self.now >= p.until);
        let expected = if ended { "invalid_request" } else { "access_denied" };
        assert_eq!(single(&params, "error"), Some(expected));
        assert_eq!(single(&params, "state"), p.state.as_deref(), "state not echoed");
        self.pending[index].completed = true;
    }

    /// `tamper` bits: 0 a wrong (well-formed) verifier, 1 omit redirect_uri (harmless), 2 a
    /// wrong redirect_uri, 3 presented by the other client, 4 a corrupted code, 5 no verifier
    /// (unless bit 0), 6 failed client authentication, 7 Basic instead of post for web
    /// (harmless). Requests refused before the code is taken (bits 4, 5, 6) consume nothing.
    fn redeem(&mut self, fx: &oauth21_fuzz::Fixture, which: u8, tamper: u8, dpop: u8) {
        if self.codes.is_empty() {
            return;
        }
        let i = which as usize % self.codes.len();
        let bit = |n: u8| tamper & (1 << n) != 0;
        let info = &self.codes[i];
        let code = if bit(4) { format!("{}x", info.code) } else { info.code.clone() };
        let wrong_redirect = match info.client {
            C::App if info.redirect_uri == "http://127.0.0.1:6000/cb" => "http://127.0.0.1:6001/cb",
            C::App => "http://127.0.0.1:6000/cb",
            _ if info.redirect_uri == "https://web.example/cb" => "https://web.example/cb?tenant=1",
            _ => "https://web.example/cb",
        };
        let mut params = vec![("grant_type", "authorization_code"), ("code", code.as_str())];
        if bit(2) {
            params.push(("redirect_uri", wrong_redirect));
        } else if !bit(1) {
            params.push(("redirect_uri", info.redirect_uri.as_str()));
        }
        let wrong_verifier = "A".repeat(43);
        if bit(0) {
            params.push(("code_verifier", wrong_verifier.as_str()));
        } else if !bit(5) {
            params.push(("code_verifier", VERIFIER));
        }
        let client = match (info.client, bit(3)) {
            (C::App, false) | (C::Web, true) => C::App,
            _ => C::Web,
        };
        let (key, proof) = proof_of(fx, dpop);
        let response = token_request(&fx.server, client, &params, bit(7), bit(6), proof.as_deref());
        let json = check_token_response(&response);
        if trace() {
            eprintln!("  -> {} {json}", response.status());
        }
        if response.status() == 200 {
            assert_eq!(json["token_type"], if key.is_some() { "DPoP" } else { "Bearer" }, "DP-04 token_type");
        }

        let age = self.now - info.issued_at;
        // Checked in this order: client authentication, the request's parameters (a missing
        // verifier is refused here, before the code is taken, PK-08), the code itself, then
        // the bindings (client, redirect URI, verifier) and expiry.
        let missing_verifier = bit(5) && !bit(0);
        let reaches_take = !bit(6) && !missing_verifier && !bit(4);
        let passes_bindings = !bit(0) && !bit(2) && !bit(3);
        let untampered = reaches_take && passes_bindings;
        let info = &mut self.codes[i];
        if response.status() == 200 {
            assert!(!info.redeemed, "a code yielded a second 200");
            assert!(!info.consumed, "a consumed code yielded a 200");
            assert!(untampered, "a tampered redemption (bits {tamper:#010b}) yielded a 200");
            assert!(age < CODE_LIFETIME, "an expired code ({age} s) yielded a 200");
        } else if untampered && !info.consumed && age < CODE_LIFETIME {
            panic!("a fresh, untampered code was refused: {json}");
        }
        if !reaches_take {
            let expected = if bit(6) {
                "invalid_client"
            } else if missing_verifier {
                "invalid_request"
            } else {
                "invalid_grant"
            };
            assert_eq!(error_code(&json), expected, "redemption error (bits {tamper:#010b})");
            return;
        }
        if response.status() != 200 {
            assert_eq!(error_code(&json), "invalid_grant", "redemption error (bits {tamper:#010b})");
        }
        let replay = info.consumed;
        info.consumed = true;
        if response.status() == 200 {
            info.redeemed = true;
            let family = self.families.len();
            info.family = Some(family);
            let granted = info.scope.clone();
            self.families.push(Family {
                client: info.client,
                subject: "alice".into(),
                scope: granted.clone(),
                revoked: false,
                jkt: key,
            });
            let expected_scope = (!granted.is_empty()).then(|| granted.to_string());
            assert_eq!(json["scope"].as_str().map(str::to_owned), expected_scope, "token scope");
            self.access.push(AccessInfo {
                token: json["access_token"].as_str().unwrap().to_owned(),
                family,
                scope: granted,
                issued_at: self.now,
                revoked: false,
                bound: key.is_some(),
            });
            let refresh = json["refresh_token"].as_str().expect("app and web get refresh tokens");
            self.refresh.push(RefreshInfo {
                token: refresh.to_owned(),
                family,
                state: RefreshState::Active,
                dead: false,
            });
        } else if replay && passes_bindings {
            // AC-04: a replay that passes every binding revokes what the code issued.
            if let Some(f) = info.family {
                self.families[f].revoked = true;
            }
        }
    }

    /// `tamper` bits: 0 presented by the other client, 1 failed client authentication,
    /// 2 a corrupted token, 3 Basic instead of post for web (harmless).
    fn refresh(&mut self, fx: &oauth21_fuzz::Fixture, which: u8, dpop: u8, scope_sel: u8, tamper: u8) {
        if self.refresh.is_empty() {
            return;
        }
        let i = which as usize % self.refresh.len();
        let bit = |n: u8| tamper & (1 << n) != 0;
        let info = &self.refresh[i];
        let family = &self.families[info.family];
        let owner = family.client;
        let token = if bit(2) { format!("{}x", info.token) } else { info.token.clone() };
        let requested = match scope_sel % 4 {
            0 => None,
            1 => Some("read"),
            2 => Some("write"),
            _ => Some("admin"),
        };
        let mut params = vec![("grant_type", "refresh_token"), ("refresh_token", token.as_str())];
        if let Some(s) = requested {
            params.push(("scope", s));
        }
        // Bit 0 sends it as another client.
        let client = match (owner, bit(0)) {
            (owner, false) => owner,
            (C::App, true) => C::Web,
            (_, true) => C::App,
        };
        let (key, proof) = proof_of(fx, dpop);
        let response = token_request(&fx.server, client, &params, bit(3), bit(1), proof.as_deref());
        let json = check_token_response(&response);
        if trace() {
            eprintln!("  -> {} {json}", response.status());
        }
        let untampered = !bit(0) && !bit(1) && !bit(2);
        let scope_ok = requested.is_none_or(|s| scope(s).is_subset_of(&family.scope));
        let alive = info.state == RefreshState::Active && !family.revoked;
        // DP-05, DP-12: a bound grant needs a proof, of the same key for the public client.
        let binding_ok = match (family.jkt, key) {
            (None, _) => true,
            (Some(_), None) => false,
            (Some(bound), Some(key)) => !owner.is_public() || bound == key,
        };
        let status = response.status();
        if status == 200 {
            assert!(!info.dead, "a rotated-out or refused refresh token yielded a 200");
            assert!(untampered, "a tampered refresh (bits {tamper:#06b}) yielded a 200");
            assert!(alive, "a dead refresh token yielded a 200");
            assert!(scope_ok, "a refresh beyond the grant's scope yielded a 200");
            assert!(binding_ok, "a bound refresh token refreshed without its key");
            assert_eq!(json["token_type"], if key.is_some() { "DPoP" } else { "Bearer" }, "DP-04 token_type");
        } else if untampered && alive && scope_ok && binding_ok {
            panic!("a live refresh token was refused: {json}");
        }
        if untampered && alive && !binding_ok {
            // Refused before anything changes: the token stays live for its key.
            assert_eq!(error_code(&json), "invalid_dpop_proof", "a bound refresh without its key");
            return;
        }
        if bit(1) {
            assert_eq!(error_code(&json), "invalid_client");
        }
        if !untampered {
            return;
        }
        let fam = info.family;
        if status == 200 {
            let access_scope = requested.map(scope).unwrap_or_else(|| self.families[fam].scope.clone());
            self.access.push(AccessInfo {
                token: json["access_token"].as_str().unwrap().to_owned(),
                family: fam,
                scope: access_scope,
                issued_at: self.now,
                revoked: false,
                bound: key.is_some(),
            });
            // The grant follows this request's key (a confidential client may move to another).
            if key.is_some() {
                self.families[fam].jkt = key;
            }
            let rotates = owner.is_public() || !self.config_keep;
            match json["refresh_token"].as_str() {
                Some(new) => {
                    assert!(rotates, "a kept refresh token was rotated");
                    self.refresh[i].state = RefreshState::Rotated(self.now);
                    self.refresh[i].dead = true;
                    self.refresh.push(RefreshInfo {
                        token: new.to_owned(),
                        family: fam,
                        state: RefreshState::Active,
                        dead: false,
                    });
                }
                None => assert!(!rotates, "a rotating refresh did not return a new refresh token"),
            }
            return;
        }
        if error_code(&json) == "invalid_grant" {
            // RT-07: a token rotated out before this request began is a replay.
            if let RefreshState::Rotated(at) = self.refresh[i].state {
                if at < self.now && !self.families[fam].revoked {
                    self.families[fam].revoked = true;
                }
            }
            self.refresh[i].dead = true;
        } else {
            assert_eq!(error_code(&json), "invalid_scope", "refresh error");
            assert!(!scope_ok);
        }
    }

    /// A caller of revocation or introspection: `caller % 5` is app, web, svc, rs, or web with a
    /// wrong secret; bit 3 sends the secret in the body instead of Basic.
    fn caller(caller: u8) -> (C, bool, bool) {
        let c = match caller % 5 {
            0 => C::App,
            1 | 4 => C::Web,
            2 => C::Svc,
            _ => C::Rs,
        };
        (c, caller % 5 == 4, caller & 8 == 0)
    }

    fn endpoint(&self, token: &str, hint: Option<&str>, caller: u8) -> (String, Option<String>, C, bool) {
        let (client, bad, basic) = Self::caller(caller);
        let mut pairs = vec![("token", token)];
        if let Some(h) = hint {
            pairs.push(("token_type_hint", h));
        }
        let secret = if bad { Some("wrong-secret") } else { client.secret() };
        let header = match secret {
            Some(s) if basic => Some(oauth21::client::basic_auth_header(client.id(), s)),
            Some(s) => {
                pairs.push(("client_id", client.id()));
                pairs.push(("client_secret", s));
                None
            }
            None => {
                pairs.push(("client_id", client.id()));
                None
            }
        };
        (form(&pairs), header, client, bad)
    }

    fn token_of(&self, which: u8, refresh: bool) -> Option<(String, usize, Option<usize>)> {
        if refresh {
            let r = self.refresh.get(which as usize % self.refresh.len().max(1))?;
            Some((r.token.clone(), r.family, None))
        } else {
            let i = which as usize % self.access.len().max(1);
            let a = self.access.get(i)?;
            Some((a.token.clone(), a.family, Some(i)))
        }
    }

    fn revoke(&mut self, fx: &oauth21_fuzz::Fixture, which: u8, refresh: bool, caller: u8, hint: bool) {
        let Some((token, family, access_index)) = self.token_of(which, refresh) else { return };
        let hint = hint.then_some(if refresh { "access_token" } else { "refresh_token" });
        let (body, header, client, bad) = self.endpoint(&token, hint, caller);
        let response = block_on(fx.server.revoke(&endpoint_request(&body, header.as_deref())));
        if trace() {
            eprintln!("  -> {} {}", response.status(), String::from_utf8_lossy(response.body()));
        }
        if bad {
            let json = check_token_response(&response);
            assert_eq!(error_code(&json), "invalid_client");
            return;
        }
        assert_eq!(response.status(), 200, "revocation refused: {}", String::from_utf8_lossy(response.body()));
        assert!(response.body().is_empty());
        if client != self.families[family].client {
            return; // RV-05: another client's token is left alone.
        }
        match access_index {
            Some(i) => self.access[i].revoked = true,
            // RV-04: a refresh token takes its grant with it, rotated-out ones included.
            None => self.families[family].revoked = true,
        }
    }

    fn introspect(&mut self, fx: &oauth21_fuzz::Fixture, which: u8, refresh: bool, caller: u8) {
        let Some((token, family, access_index)) = self.token_of(which, refresh) else { return };
        let (body, header, client, bad) = self.endpoint(&token, None, caller);
        let response = block_on(fx.server.introspect(&endpoint_request(&body, header.as_deref())));
        if trace() {
            eprintln!("  -> {} {}", response.status(), String::from_utf8_lossy(response.body()));
        }
        if bad || client == C::App {
            let json = check_token_response(&response);
            assert_eq!(response.status(), 401, "introspection by a public or unauthenticated client");
            assert_eq!(error_code(&json), "invalid_client");
            return;
        }
        assert_eq!(response.status(), 200);
        let json: serde_json::Value = serde_json::from_slice(response.body()).unwrap();
        let active = json["active"].as_bool().expect("active");
        let fam = &self.families[family];
        let visible = client == C::Rs || client == fam.client;
        let (alive, expected_scope) = match access_index {
            Some(i) => {
                let a = &self.access[i];
                (!a.revoked && !fam.revoked && self.now < a.issued_at + ACCESS_LIFETIME, a.scope.clone())
            }
            None => {
                let r = self.refresh.iter().find(|r| r.token == token).unwrap();
                (r.state == RefreshState::Active && !fam.revoked, fam.scope.clone())
            }
        };
        assert_eq!(active, visible && alive, "introspection: visible {visible}, alive {alive}: {json}");
        if active {
            assert_eq!(json["client_id"], fam.client.id());
            assert_eq!(json["sub"], fam.subject.as_str());
            assert_eq!(json["iss"], ISSUER);
            let scope_text = (!expected_scope.is_empty()).then(|| expected_scope.to_string());
            assert_eq!(json["scope"].as_str().map(str::to_owned), scope_text);
            let access_type = |i: usize| if self.access[i].bound { "DPoP" } else { "Bearer" };
            assert_eq!(json["token_type"], access_index.map_or("refresh_token", access_type));
        } else {
            assert_eq!(response.body(), br#"{"active":false}"#);
        }
    }

    fn client_credentials(&mut self, fx: &oauth21_fuzz::Fixture, caller: u8, scope_sel: u8) {
        let client = match caller % 4 {
            0 => C::Svc,
            1 => C::Rs,
            2 => C::Web,
            _ => C::App,
        };
        let requested = match scope_sel % 4 {
            0 => None,
            1 => Some("read"),
            2 => Some("write"),
            _ => Some("read  write"),
        };
        let mut params = vec![("grant_type", "client_credentials")];
        if let Some(s) = requested {
            params.push(("scope", s));
        }
        let response = token_request(&fx.server, client, &params, caller & 4 != 0, false, None);
        let json = check_token_response(&response);
        if trace() {
            eprintln!("  -> {} {json}", response.status());
        }
        let expected: Result<Scope, &str> = match (client, requested) {
            (C::Web | C::App, _) => Err("unauthorized_client"),
            (C::Svc, None) | (_, Some("read")) => Ok(scope("read")),
            _ => Err("invalid_scope"),
        };
        match expected {
            Ok(granted) => {
                assert_eq!(response.status(), 200, "client credentials refused: {json}");
                assert!(json.get("refresh_token").is_none(), "CC-03: no refresh token");
                let family = self.families.len();
                self.families.push(Family {
                    client,
                    subject: client.id().to_owned(),
                    scope: granted.clone(),
                    revoked: false,
                    jkt: None,
                });
                self.access.push(AccessInfo {
                    token: json["access_token"].as_str().unwrap().to_owned(),
                    family,
                    scope: granted,
                    issued_at: self.now,
                    revoked: false,
                    bound: false,
                });
            }
            Err(code) => assert_eq!(error_code(&json), code, "client credentials error"),
        }
    }

    fn bearer(&mut self, fx: &oauth21_fuzz::Fixture, which: u8, scope_sel: u8) {
        let Some((token, family, Some(i))) = self.token_of(which, false) else { return };
        let required = match scope_sel % 3 {
            0 => Scope::default(),
            1 => scope("read"),
            _ => scope("write"),
        };
        let header = format!("Bearer {token}");
        let request = Request::get("").with_authorization(header.as_bytes());
        let checker = BearerChecker::new(fx.store.clone(), fx.clock.clone(), "api").unwrap();
        let result = block_on(checker.check(&request, &required));
        let a = &self.access[i];
        let alive = !a.revoked && !self.families[family].revoked && self.now < a.issued_at + ACCESS_LIFETIME;
        if a.bound {
            // DP-07: a bound token is no bearer token.
            let error = result.expect_err("BearerChecker accepted a DPoP-bound token as a bearer token");
            assert_eq!(checker.response(&error).status(), 401, "{error:?}");
            return;
        }
        match result {
            Ok(record) => {
                assert!(alive, "BearerChecker accepted a revoked or expired token");
                assert!(required.is_subset_of(&a.scope), "BearerChecker accepted a token without the scope");
                assert_eq!(record.scope, a.scope);
            }
            Err(error) => {
                let response = checker.response(&error);
                let expected = if !alive { 401 } else { 403 };
                assert!(!alive || !required.is_subset_of(&a.scope), "BearerChecker refused a live token: {error:?}");
                assert_eq!(response.status(), expected, "{error:?}");
                assert!(response.header("WWW-Authenticate").unwrap().starts_with("Bearer realm=\"api\""));
            }
        }
    }
}

impl Model {
    fn device_start(&mut self, fx: &oauth21_fuzz::Fixture, scope_sel: u8) {
        let requested = match scope_sel % 4 {
            0 => None,
            1 => Some("read"),
            2 => Some("read write"),
            _ => Some("admin"),
        };
        let mut body = String::from("client_id=tv");
        if let Some(s) = requested {
            body.push_str(&format!("&scope={}", s.replace(' ', "+")));
        }
        let response = block_on(fx.server.device_authorization(&Request::form_post(body.as_bytes())));
        // Errors are the token endpoint's; a success is the device authorization answer.
        let json = if response.status() == 200 {
            assert_eq!(response.header("Cache-Control"), Some("no-store"));
            serde_json::from_slice(response.body()).expect("a JSON answer")
        } else {
            check_token_response(&response)
        };
        if trace() {
            eprintln!("  -> {} {json}", response.status());
        }
        if requested == Some("admin") {
            assert_eq!(error_code(&json), "invalid_scope");
            return;
        }
        assert_eq!(response.status(), 200, "device authorization refused: {json}");
        let user_code = json["user_code"].as_str().unwrap().to_owned();
        assert!(oauth21::device::normalize_user_code(&user_code).is_some(), "a malformed user code {user_code}");
        assert_eq!(json["interval"], 5);
        self.devices.push(DeviceInfo {
            device_code: json["device_code"].as_str().unwrap().to_owned(),
            user_code: user_code.replace('-', ""),
            scope: scope(requested.unwrap_or("read")),
            issued_at: self.now,
            interval: 5,
            last_poll: None,
            state: DeviceState::Pending,
        });
    }

    fn device_decide(&mut self, fx: &oauth21_fuzz::Fixture, which: u8, typo: u8, approve: bool, narrow: bool) {
        if self.devices.is_empty() {
            return;
        }
        let d = which as usize % self.devices.len();
        let mut code = self.devices[d].user_code.clone();
        if typo & 1 != 0 {
            let last = if code.ends_with('B') { 'C' } else { 'B' };
            code.pop();
            code.push(last);
        }
        let typed = if typo & 2 != 0 { format!("{} {}", code[..4].to_lowercase(), &code[4..]) } else { code.clone() };
        let source = usize::from(typo & 4 != 0);
        let now = self.now;
        let allowed = match self.sources[source] {
            Some((start, failures)) if now < start + 15 * 60 => failures < oauth21::device::MAX_USER_CODE_FAILURES,
            _ => true,
        };
        let found = self.devices.iter().position(|i| {
            i.user_code == code && i.state == DeviceState::Pending && now < i.issued_at + DEVICE_LIFETIME
        });
        let outcome = block_on(fx.server.device_verification(&typed, ["a", "b"][source]));
        if trace() {
            eprintln!("  -> verification {:?}", outcome.as_ref().map(|c| c.user_code().to_owned()));
        }
        if !allowed {
            assert!(matches!(outcome, Err(oauth21::DeviceVerificationError::TooManyAttempts)), "{outcome:?}");
            return;
        }
        let Some(found) = found else {
            assert!(matches!(outcome, Err(oauth21::DeviceVerificationError::UnknownCode)), "{outcome:?}");
            self.sources[source] = match self.sources[source] {
                Some((start, failures)) if now < start + 15 * 60 => Some((start, failures + 1)),
                _ => Some((now, 1)),
            };
            return;
        };
        let consent = outcome.expect("a live pending code verifies");
        assert_eq!(consent.scope(), &self.devices[found].scope);
        if approve {
            let mut approval = Approval::new(Subject::new("alice").unwrap());
            let granted = if narrow { scope("read") } else { self.devices[found].scope.clone() };
            if narrow {
                approval = approval.with_scope(scope("read"));
            }
            block_on(fx.server.approve_device(&consent, approval)).expect("a pending request is approved");
            self.devices[found].state = DeviceState::Approved(granted);
        } else {
            block_on(fx.server.deny_device(&consent)).expect("a pending request is denied");
            self.devices[found].state = DeviceState::Denied;
        }
    }

    fn device_poll(&mut self, fx: &oauth21_fuzz::Fixture, which: u8, other: bool, dpop: u8) {
        if self.devices.is_empty() {
            return;
        }
        let d = which as usize % self.devices.len();
        let code = self.devices[d].device_code.clone();
        let (key, proof) = proof_of(fx, dpop);
        let params = [("grant_type", DEVICE_GRANT), ("device_code", code.as_str())];
        let client = if other { C::Tv2 } else { C::Tv };
        let response = token_request(&fx.server, client, &params, false, false, proof.as_deref());
        let json = check_token_response(&response);
        if trace() {
            eprintln!("  -> {} {json}", response.status());
        }
        if other {
            // DG-04: another client's poll finds nothing and changes nothing.
            assert_eq!(error_code(&json), "invalid_grant");
            return;
        }
        let now = self.now;
        let device = &mut self.devices[d];
        let too_soon = device.last_poll.is_some_and(|last| now < last + device.interval);
        device.last_poll = Some(now);
        let expected = if device.state == DeviceState::Pending && too_soon {
            device.interval += 5;
            "slow_down"
        } else if now >= device.issued_at + DEVICE_LIFETIME {
            "expired_token"
        } else {
            match &device.state {
                DeviceState::Pending => "authorization_pending",
                DeviceState::Denied => "access_denied",
                DeviceState::Redeemed => "invalid_grant",
                DeviceState::Approved(_) => "",
            }
        };
        if !expected.is_empty() {
            assert_eq!(error_code(&json), expected, "device poll");
            return;
        }
        let DeviceState::Approved(granted) = std::mem::replace(&mut device.state, DeviceState::Redeemed) else {
            unreachable!()
        };
        assert_eq!(response.status(), 200, "an approved device code was refused: {json}");
        let expected_scope = (!granted.is_empty()).then(|| granted.to_string());
        assert_eq!(json["scope"].as_str().map(str::to_owned), expected_scope, "device token scope");
        let family = self.families.len();
        self.families.push(Family {
            client: C::Tv,
            subject: "alice".into(),
            scope: granted.clone(),
            revoked: false,
            jkt: key,
        });
        self.access.push(AccessInfo {
            token: json["access_token"].as_str().unwrap().to_owned(),
            family,
            scope: granted,
            issued_at: now,
            revoked: false,
            bound: key.is_some(),
        });
        let refresh = json["refresh_token"].as_str().expect("tv gets refresh tokens");
        self.refresh.push(RefreshInfo { token: refresh.to_owned(), family, state: RefreshState::Active, dead: false });
    }
}

fuzz_target!(|flow: Flow| {
    let keep = flow.flags & 1 != 0;
    let any = flow.flags & 2 != 0;
    let mut builder = ServerConfig::builder(ISSUER).device_flow("https://as.example/device");
    if keep {
        builder = builder.keep_confidential_refresh_tokens();
    }
    if any {
        builder = builder.allow_localhost_any_port();
    }
    if flow.flags & 4 != 0 {
        builder = builder.access_token_audience("api");
    }
    let fx = fixture(builder.build().unwrap());
    let mut model = Model {
        config_keep: keep,
        localhost_any: any,
        now: 0,
        pending: Vec::new(),
        codes: Vec::new(),
        families: Vec::new(),
        access: Vec::new(),
        refresh: Vec::new(),
        devices: Vec::new(),
        sources: [None, None],
    };
    if trace() {
        eprintln!("flags {:#04x}", flow.flags);
    }
    for op in flow.ops.iter().take(MAX_OPS) {
        if trace() {
            eprintln!("t+{:>5} {op:?}", model.now);
        }
        match *op {
            Op::Authorize { client, redirect, scope, state, pkce, post } => {
                model.authorize(&fx, (client, redirect, scope, state, pkce, post))
            }
            Op::Approve { which, narrow } => model.approve(&fx, which, narrow),
            Op::Deny { which } => model.deny(&fx, which),
            Op::RedeemCode { which, tamper, dpop } => model.redeem(&fx, which, tamper, dpop),
            Op::Refresh { which, dpop, scope, tamper } => model.refresh(&fx, which, dpop, scope, tamper),
            Op::Revoke { which, refresh, caller, hint } => model.revoke(&fx, which, refresh, caller, hint),
            Op::Introspect { which, refresh, caller } => model.introspect(&fx, which, refresh, caller),
            Op::AdvanceClock { secs } => {
                let secs = i64::from(secs % 121);
                fx.clock.advance(time::Duration::seconds(secs));
                model.now += secs;
            }
            Op::ClientCredentials { caller, scope } => model.client_credentials(&fx, caller, scope),
            Op::BearerCheck { which, scope } => model.bearer(&fx, which, scope),
            Op::DeviceStart { scope } => model.device_start(&fx, scope),
            Op::DeviceDecide { which, typo, approve, narrow } => model.device_decide(&fx, which, typo, approve, narrow),
            Op::DevicePoll { which, other, dpop } => model.device_poll(&fx, which, other, dpop),
        }
    }
});
