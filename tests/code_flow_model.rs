//! Model-based tests of authorization codes (AC-01, AC-03, AC-04, AZ-15): random sequences of
//! code issues (with narrower scopes and random loopback ports), redemptions (correct, or with
//! exactly one thing wrong), unknown codes and clock moves, run against the server and, step by
//! step, against a small reference model of each code.
//!
//! The model follows what the server does (src/server.rs `redeem_code`,
//! src/token/authorization_code.rs):
//!
//! - A malformed `code_verifier` (PK-05) is refused while the request is read, before the store
//!   is touched: the code stays redeemable.
//! - Every other presentation of a known code takes it from the store first (AC-03), whatever
//!   happens next: wrong client, wrong redirect URI, wrong verifier, or expiry all consume the
//!   code. (A missing or malformed verifier is `invalid_request`, PK-05/PK-08, refused before the
//!   code is taken, so it consumes nothing.)
//! - The first presentation is then checked: bindings (client, redirect URI, verifier) first,
//!   then expiry (60 s, AZ-15); 200 only when all pass.
//! - A later presentation is always refused: `invalid_request` without a verifier, otherwise
//!   `invalid_grant`. When it passes every binding (a valid replay, expired or not) the code's
//!   grant is revoked, with every token the code issued, and a `CodeReplay` event is reported
//!   (AC-04); one that fails a binding revokes nothing and reports nothing.
//!
//! After every step the response must be what the model predicts, the events exactly the
//! predicted replay, and the store must hold exactly every code issued and the tokens of the
//! codes whose grant is live.

mod common;

use std::collections::HashSet;

use common::*;
use oauth21::client::basic_auth_header;
use oauth21::store::Store;
use oauth21::{
    AccessToken, Approval, CodeChallenge, CodeVerifier, GrantId, RefreshToken, Response, Scope, SecurityEvent, Subject,
};
use proptest::prelude::*;
use proptest::sample::Index;
use proptest::test_runner::TestCaseError;
use time::Duration;

/// The default code lifetime (AZ-15).
const CODE_LIFETIME: i64 = 60;
/// Codes a sequence may issue in all.
const MAX_CODES: usize = 8;
/// The `scope` an authorization request sends (`None`: omitted, so app's default `read`).
const SCOPES: [Option<&str>; 5] = [None, Some("read"), Some("write"), Some("read write"), Some("write read")];

/// How a redemption is made.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Variant {
    /// `client_id=app`, the authorization request's `redirect_uri`, the code's verifier.
    Correct,
    /// Correct but without `redirect_uri`, which is optional (AC-05 applies when present).
    NoRedirect,
    /// A well-formed verifier that is not the code's (PK-06).
    WrongVerifier,
    /// The verifier of another code, when there is one (PK-06, AZ-15: bound to its challenge).
    OtherCodesVerifier,
    /// A verifier that is not 43-128 unreserved characters (PK-05).
    MalformedVerifier,
    /// No `code_verifier` at all (PK-08).
    NoVerifier,
    /// `web`, authenticated with Basic and its right secret, presenting app's code (AC-02).
    WrongClient,
    /// The authorization request's redirect URI with another port (AC-05).
    WrongRedirectPort,
}

#[derive(Debug, Clone)]
enum Op {
    /// Authorizes `app` for `SCOPES[scope]` to `http://127.0.0.1:{port}/cb` with the
    /// challenge of `verifier`, and approves, narrowed to the requested tokens picked by the
    /// bit mask `narrow` when given. Ignored once `MAX_CODES` codes exist.
    Authorize { scope: usize, narrow: Option<u8>, port: u16, verifier: String },
    /// Redeems an issued code (an unknown one while none is issued).
    Redeem { code: Index, variant: Variant },
    /// Redeems a code the server never issued (AC-01).
    RedeemUnknown(String),
    /// Moves the clock forward this many seconds.
    Advance(i64),
}

/// One issued code as the model sees it. Times are seconds since the fixture's start.
#[derive(Debug)]
struct Code {
    code: String,
    verifier: String,
    port: u16,
    /// The scope the resource owner granted.
    scope: Scope,
    issued_at: i64,
    /// Taken from the store by a presentation that got past request parsing (AC-03).
    used: bool,
    /// The tokens of the code's one successful redemption, and their grant.
    tokens: Option<(String, String, GrantId)>,
    /// The grant was revoked by a valid replay (AC-04).
    revoked: bool,
}

/// What the model says a redemption does.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Expect {
    /// 200 with tokens.
    Issued,
    /// 400 with this error; nothing is revoked.
    Refused(&'static str),
    /// 400 invalid_grant; the grant is revoked and a `CodeReplay` reported (AC-04).
    Replay,
}

/// The model's prediction for presenting `code` in `variant` at `now`, and whether the
/// presentation takes the code from the store.
fn expect(code: &Code, variant: Variant, now: i64) -> (Expect, bool) {
    use Variant::*;
    // PK-05, PK-08: a malformed or missing verifier is refused while the request is read,
    // before the store is asked for the code (neither can ever succeed).
    if variant == MalformedVerifier || variant == NoVerifier {
        return (Expect::Refused("invalid_request"), false);
    }
    // The bindings, in the server's order: client, redirect URI, verifier present, verifier.
    let bindings = match variant {
        WrongClient | WrongRedirectPort => Err("invalid_grant"),
        WrongVerifier | OtherCodesVerifier => Err("invalid_grant"),
        Correct | NoRedirect | MalformedVerifier | NoVerifier => Ok(()),
    };
    if code.used {
        // AC-03: never twice. AC-04: a replay passing every binding, expired or not, revokes.
        let outcome = match bindings {
            Err(error) => Expect::Refused(error),
            Ok(()) => Expect::Replay,
        };
        return (outcome, false);
    }
    let outcome = match bindings {
        Err(error) => Expect::Refused(error),
        // AC-01, AZ-15: expired from `issued_at + 60 s` on.
        Ok(()) if now - code.issued_at >= CODE_LIFETIME => Expect::Refused("invalid_grant"),
        Ok(()) => Expect::Issued,
    };
    (outcome, true)
}

fn alice() -> Subject {
    Subject::new("alice").unwrap()
}

fn check_error(response: &Response, error: &str) -> Result<(), TestCaseError> {
    prop_assert_eq!(response.status(), 400, "{}", String::from_utf8_lossy(response.body()));
    let body = json(response);
    prop_assert_eq!(body["error"].as_str(), Some(error), "{}", body);
    prop_assert_eq!(response.header("Cache-Control"), Some("no-store"));
    Ok(())
}

fn redirect_param(port: u16) -> String {
    format!("&redirect_uri=http%3A%2F%2F127.0.0.1%3A{port}%2Fcb")
}

struct Run {
    fx: Fixture,
    now: i64,
    codes: Vec<Code>,
    /// Every code ever answered with tokens, observed (not predicted): never again (AC-03).
    redeemed: HashSet<String>,
}

impl Run {
    fn new() -> Self {
        Self { fx: fixture(), now: 0, codes: Vec::new(), redeemed: HashSet::new() }
    }

    fn step(&mut self, op: &Op) -> Result<(), TestCaseError> {
        let mut replayed = None;
        match op {
            Op::Advance(seconds) => {
                self.fx.clock.advance(Duration::seconds(*seconds));
                self.now += seconds;
            }
            Op::Authorize { scope, narrow, port, verifier } if self.codes.len() < MAX_CODES => {
                self.authorize(*scope, *narrow, *port, verifier)?;
            }
            Op::Authorize { .. } => {}
            Op::Redeem { code, variant } if !self.codes.is_empty() => {
                replayed = self.redeem(code.index(self.codes.len()), *variant)?;
            }
            Op::Redeem { .. } => self.redeem_unknown("never-issued")?,
            Op::RedeemUnknown(code) => self.redeem_unknown(code)?,
        }
        self.check_after(replayed)
    }

    fn authorize(&mut self, scope: usize, narrow: Option<u8>, port: u16, verifier: &str) -> Result<(), TestCaseError> {
        let requested = SCOPES[scope % SCOPES.len()];
        let challenge = CodeChallenge::s256(&CodeVerifier::new(verifier).unwrap()).to_string();
        let n = self.codes.len();
        let mut query = format!(
            "response_type=code&client_id=app{}&state=s{n}&code_challenge={challenge}&code_challenge_method=S256",
            redirect_param(port)
        );
        if let Some(text) = requested {
            query.push_str(&format!("&scope={}", text.replace(' ', "%20")));
        }
        let consent = self.fx.consent(&query);
        prop_assert_eq!(consent.scope().to_string(), requested.unwrap_or("read"));
        let granted = match narrow {
            Some(mask) => {
                let tokens: Vec<&str> =
                    consent.scope().iter().enumerate().filter(|(i, _)| mask & (1 << i) != 0).map(|(_, t)| t).collect();
                Scope::parse(&tokens.join(" ")).unwrap()
            }
            None => consent.scope().clone(),
        };
        let approval = match narrow {
            Some(_) => Approval::new(alice()).with_scope(granted.clone()),
            None => Approval::new(alice()),
        };
        let response = block_on(self.fx.server.approve(&consent, approval)).unwrap().into_response();
        prop_assert_eq!(response.status(), 302);
        let location = response.location().unwrap_or_default().to_owned();
        let target = format!("http://127.0.0.1:{port}/cb?");
        prop_assert!(location.starts_with(&target), "{}", location);
        prop_assert_eq!(query_param(&location, "state"), Some(format!("s{n}")));
        prop_assert_eq!(query_param(&location, "iss"), Some(ISSUER.to_owned()));
        // AZ-15: the challenge never leaves the server.
        prop_assert!(!location.contains(&challenge), "the code challenge was sent back");
        let code = query_param(&location, "code").ok_or_else(|| TestCaseError::fail("no code in the redirect"))?;
        // AZ-15, SEC-04: 256 random bits, base64url; never the same twice.
        prop_assert_eq!(code.len(), 43);
        prop_assert!(!self.codes.iter().any(|c| c.code == code), "a code was issued twice");
        self.codes.push(Code {
            code,
            verifier: verifier.to_owned(),
            port,
            scope: granted,
            issued_at: self.now,
            used: false,
            tokens: None,
            revoked: false,
        });
        Ok(())
    }

    /// The token request presenting code `i` in `variant`, and its Authorization header.
    fn request(&self, i: usize, variant: Variant) -> (String, Option<String>) {
        let c = &self.codes[i];
        // Differs from the code's verifier in its first character.
        let wrong = if c.verifier.starts_with('W') { "X".repeat(43) } else { "W".repeat(43) };
        let other =
            self.codes.iter().map(|o| &o.verifier).find(|v| **v != c.verifier).cloned().unwrap_or(wrong.clone());
        let verifier = |v: &str| format!("&code_verifier={v}");
        let other_port = if c.port == u16::MAX { 1024 } else { c.port + 1 };
        let (client, redirect, verifier, authorization) = match variant {
            Variant::Correct => ("&client_id=app", redirect_param(c.port), verifier(&c.verifier), None),
            Variant::NoRedirect => ("&client_id=app", String::new(), verifier(&c.verifier), None),
            Variant::WrongVerifier => ("&client_id=app", redirect_param(c.port), verifier(&wrong), None),
            Variant::OtherCodesVerifier => ("&client_id=app", redirect_param(c.port), verifier(&other), None),
            Variant::MalformedVerifier => ("&client_id=app", redirect_param(c.port), verifier("short"), None),
            Variant::NoVerifier => ("&client_id=app", redirect_param(c.port), String::new(), None),
            Variant::WrongClient => {
                ("", redirect_param(c.port), verifier(&c.verifier), Some(basic_auth_header("web", WEB_SECRET)))
            }
            Variant::WrongRedirectPort => ("&client_id=app", redirect_param(other_port), verifier(&c.verifier), None),
        };
        (format!("grant_type=authorization_code{client}&code={}{redirect}{verifier}", c.code), authorization)
    }

    /// Presents code `i`; returns `Some(grant)` when the model predicts a valid replay (the
    /// grant being known when the code had issued tokens).
    fn redeem(&mut self, i: usize, variant: Variant) -> Result<Option<Option<GrantId>>, TestCaseError> {
        let (expected, takes) = expect(&self.codes[i], variant, self.now);
        let (body, authorization) = self.request(i, variant);
        let response = self.fx.token(&body, authorization.as_deref());
        if response.status() == 200 {
            let code = self.codes[i].code.clone();
            prop_assert!(self.redeemed.insert(code), "a code was answered with tokens twice");
        }
        if takes {
            self.codes[i].used = true;
        }
        match expected {
            Expect::Refused(error) => {
                check_error(&response, error)?;
                Ok(None)
            }
            Expect::Replay => {
                check_error(&response, "invalid_grant")?;
                self.codes[i].revoked = true;
                Ok(Some(self.codes[i].tokens.as_ref().map(|(_, _, grant)| grant.clone())))
            }
            Expect::Issued => {
                prop_assert_eq!(response.status(), 200, "{}", String::from_utf8_lossy(response.body()));
                let body = json(&response);
                let field = |name: &str| body[name].as_str().map(str::to_owned);
                let (Some(access), Some(refresh)) = (field("access_token"), field("refresh_token")) else {
                    return Err(TestCaseError::fail(format!("missing tokens in {body}")));
                };
                prop_assert_eq!(&body["token_type"], "Bearer");
                prop_assert_eq!(body["expires_in"].as_i64(), Some(3600));
                // TK-09: the granted scope, omitted (never null or empty) when empty.
                let scope = &self.codes[i].scope;
                prop_assert_eq!(field("scope"), (!scope.is_empty()).then(|| scope.to_string()));
                prop_assert_eq!(body.get("scope").is_some(), !scope.is_empty());
                let record = block_on(self.fx.store.access_token(&AccessToken::new(&access).hash())).unwrap();
                let record = record.ok_or_else(|| TestCaseError::fail("the access token was not stored"))?;
                prop_assert_eq!(record.client_id.as_str(), "app");
                prop_assert_eq!(&record.subject, &alice());
                prop_assert_eq!(&record.scope, scope);
                self.codes[i].tokens = Some((access, refresh, record.grant_id));
                Ok(None)
            }
        }
    }

    fn redeem_unknown(&mut self, code: &str) -> Result<(), TestCaseError> {
        let body = format!(
            "grant_type=authorization_code&client_id=app&code={code}{}&code_verifier={VERIFIER}",
            redirect_param(5000)
        );
        check_error(&self.fx.token(&body, None), "invalid_grant")
    }

    fn check_after(&self, replayed: Option<Option<GrantId>>) -> Result<(), TestCaseError> {
        // Exactly one replay event per predicted valid replay, naming the code's grant; no
        // event for anything else.
        let events = self.fx.events.take();
        match replayed {
            None => prop_assert!(events.is_empty(), "unexpected events {:?}", events),
            Some(grant) => prop_assert!(
                matches!(
                    &events[..],
                    [SecurityEvent::CodeReplay { client_id, grant_id, subject, .. }]
                        if client_id.as_str() == "app"
                            && *subject == alice()
                            && grant.as_ref().is_none_or(|g| g == grant_id)
                ),
                "expected one code replay event for {:?}, got {:?}",
                grant,
                events
            ),
        }
        // The store holds every code issued (used ones are kept to recognise replays) and
        // exactly the tokens of live grants.
        let store = &self.fx.store;
        let live = self.codes.iter().filter(|c| !c.revoked && c.tokens.is_some()).count();
        prop_assert_eq!(store.counts(), (self.codes.len(), live, live));
        for c in &self.codes {
            if let Some((access, refresh, _)) = &c.tokens {
                let access = block_on(store.access_token(&AccessToken::new(access).hash())).unwrap();
                let refresh = block_on(store.refresh_token(&RefreshToken::new(refresh).hash())).unwrap();
                prop_assert_eq!(access.is_some(), !c.revoked, "access token of a code (revoked: {})", c.revoked);
                prop_assert_eq!(refresh.is_some(), !c.revoked, "refresh token of a code (revoked: {})", c.revoked);
            }
        }
        Ok(())
    }

    /// Presents every code once more, correctly: each is refused, and each replay of a code
    /// whose grant is live revokes it.
    fn sweep(&mut self) -> Result<(), TestCaseError> {
        for i in 0..self.codes.len() {
            let replayed = self.redeem(i, Variant::Correct)?;
            self.check_after(replayed)?;
        }
        Ok(())
    }
}

fn variant(correct: u32) -> impl Strategy<Value = Variant> {
    prop_oneof![
        correct => Just(Variant::Correct),
        1 => Just(Variant::NoRedirect),
        1 => Just(Variant::WrongVerifier),
        1 => Just(Variant::OtherCodesVerifier),
        1 => Just(Variant::MalformedVerifier),
        1 => Just(Variant::NoVerifier),
        1 => Just(Variant::WrongClient),
        1 => Just(Variant::WrongRedirectPort),
    ]
}

fn authorize_op() -> impl Strategy<Value = Op> {
    (0..SCOPES.len(), proptest::option::weighted(0.3, 0u8..4), 1024u16..=u16::MAX, "[A-Za-z0-9._~-]{43,64}")
        .prop_map(|(scope, narrow, port, verifier)| Op::Authorize { scope, narrow, port, verifier })
}

/// One operation: `weights` are (authorize, redeem, unknown code, advance); `correct` is the
/// weight of correct redemptions against 1 for each faulty kind.
fn op(weights: (u32, u32, u32, u32), correct: u32, advance: impl Strategy<Value = i64>) -> impl Strategy<Value = Op> {
    prop_oneof![
        weights.0 => authorize_op(),
        weights.1 => (any::<Index>(), variant(correct)).prop_map(|(code, variant)| Op::Redeem { code, variant }),
        weights.2 => "[A-Za-z0-9_-]{43}".prop_map(Op::RedeemUnknown),
        weights.3 => advance.prop_map(Op::Advance),
    ]
}

fn run(ops: &[Op]) -> Result<Run, TestCaseError> {
    let mut run = Run::new();
    for op in ops {
        run.step(op)?;
    }
    Ok(run)
}

fn config() -> ProptestConfig {
    // No regression files: this suite may not write into tests/.
    ProptestConfig { cases: 256, failure_persistence: None, ..ProptestConfig::default() }
}

proptest! {
    #![proptest_config(config())]

    /// AC-03 (with AC-01, AC-02, AC-05, PK-05..PK-08): random issues, redemptions with one
    /// fault or none, unknown codes and clock moves of up to 90 s: every answer is what the code
    /// model predicts, a code yields tokens at most once, and the store holds exactly the live
    /// grants' tokens. A final sweep presents every code again.
    #[test]
    fn ac03_model_every_code_is_redeemed_at_most_once_as_the_model_predicts(
        ops in proptest::collection::vec(op((3, 6, 1, 2), 4, 0..=90i64), 1..=30),
    ) {
        let mut run = run(&ops)?;
        run.sweep()?;
        prop_assert!(run.codes.iter().all(|c| c.used), "the sweep left a code unused");
    }

    /// AC-04: with few codes, mostly correct presentations and a clock that rarely reaches
    /// the code lifetime, most codes are redeemed and then replayed: a valid replay (right
    /// client, verifier and redirect URI, with or without redirect_uri) revokes every token the
    /// code issued and reports one `CodeReplay`; an invalid replay revokes and reports nothing.
    #[test]
    fn ac04_model_valid_replays_revoke_what_the_code_issued_and_invalid_ones_nothing(
        ops in proptest::collection::vec(op((2, 10, 0, 1), 6, 0..=20i64), 1..=30),
    ) {
        run(&ops)?;
    }

    /// AZ-15 (with AC-01): codes are redeemable for 60 s and no longer: clock moves land on and
    /// around the boundary (59, 60, 61 s after an issue), and an expired first presentation
    /// consumes the code without issuing anything, so a later correct one is a replay.
    #[test]
    fn az15_model_codes_expire_sixty_seconds_after_issue(
        ops in proptest::collection::vec(
            op((2, 4, 0, 3), 8, prop_oneof![Just(0i64), Just(1), Just(29), Just(30), Just(58), Just(59), Just(60), Just(61), 0..=90i64]),
            1..=30,
        ),
    ) {
        run(&ops)?;
    }
}
