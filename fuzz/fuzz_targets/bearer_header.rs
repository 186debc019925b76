//! `BearerChecker::check` on arbitrary `Authorization` headers and bodies.
//!
//! Input (lines): `[flags]`, the required scope, `Content-Type` (empty: absent),
//! `Authorization` (empty: absent), then the raw body (the rest). Placeholders `$AT` (app,
//! `read write`), `$WAT` (web, `read`), `$SAT` (svc, `read`), `$RSAT` (rs, `read`) and `$RT`
//! (a refresh token, never a bearer credential) are replaced by live tokens. Flags: `a` tokens carry audience `api`
//! and a second checker requires it; `t` the clock jumps past the access-token lifetime.
//!
//! Asserts: an accepted token is one the server issued, unexpired, with every required scope
//! (and the audience when required); every refusal answers 400/401/403/503, and 400/401/403
//! carry `WWW-Authenticate: Bearer realm="api"` with visible ASCII only.
#![no_main]

use libfuzzer_sys::fuzz_target;
use oauth21::bearer::BearerChecker;
use oauth21::{BearerError, Request, Scope, TokenHash};
use oauth21_fuzz::{Live, block_on, fields, fixture, flags_after_method, header};

fuzz_target!(|data: &[u8]| {
    let f = fields(data, 5);
    // The first line holds only flags; reuse the "method word, then flags" reader.
    let flags = flags_after_method(&[b"- ", f[0]].concat());
    let required = std::str::from_utf8(f[1]).ok().and_then(|s| Scope::parse(s).ok()).unwrap_or_default();
    let fx = fixture(flags.config());
    let mut live = Live::default();
    let authorization = header(f[3]).map(|a| live.fill(&fx, a));
    let body = live.fill(&fx, f[4]);
    if flags.late {
        fx.clock.advance(time::Duration::minutes(61));
    }
    let mut request = Request::post(&body);
    if let Some(ct) = header(f[2]) {
        request = request.with_content_type(ct);
    }
    if let Some(a) = &authorization {
        request = request.with_authorization(a);
    }
    let issued: Vec<TokenHash> =
        ["AT", "WAT", "SAT", "RSAT"].iter().filter_map(|n| live.values.get(n)).map(|t| TokenHash::of(t)).collect();

    let mut checkers = vec![(BearerChecker::new(fx.store.clone(), fx.clock.clone(), "api").unwrap(), false)];
    if flags.audience {
        let c = BearerChecker::new(fx.store.clone(), fx.clock.clone(), "api").unwrap().require_audience("api");
        checkers.push((c, true));
    }
    for (checker, needs_audience) in &checkers {
        let result = block_on(checker.check(&request, &required));
        if oauth21_fuzz::trace() {
            eprintln!("bearer (audience {needs_audience}): {:?}", result.as_ref().map(|r| &r.scope));
        }
        match result {
            Ok(record) => {
                assert!(issued.contains(&record.hash), "accepted a token the server never issued as an access token");
                assert!(required.is_subset_of(&record.scope), "accepted without the required scope");
                assert!(oauth21::Clock::now(&*fx.clock) < record.expires_at, "accepted an expired token");
                if *needs_audience {
                    assert_eq!(record.audience.as_deref(), Some("api"));
                }
                assert!(!flags.late, "every token expired, yet one was accepted");
            }
            Err(error) => {
                let response = checker.response(&error);
                let status = response.status();
                assert!(matches!(status, 400 | 401 | 403 | 503), "bearer status {status}");
                match &error {
                    BearerError::NoCredentials => assert_eq!(status, 401),
                    BearerError::InvalidRequest(_) => assert_eq!(status, 400),
                    BearerError::InvalidToken(_) => assert_eq!(status, 401),
                    BearerError::InsufficientScope(_) => assert_eq!(status, 403),
                    BearerError::Unavailable => panic!("MemoryStore never fails"),
                    _ => {}
                }
                if status != 503 {
                    let challenge = response.header("WWW-Authenticate").expect("bearer refusal without a challenge");
                    assert!(challenge.starts_with("Bearer realm=\"api\""), "challenge {challenge:?}");
                    assert!(challenge.bytes().all(|b| b == b' ' || b.is_ascii_graphic()), "challenge {challenge:?}");
                    if status == 401 && matches!(error, BearerError::NoCredentials) {
                        assert!(!challenge.contains("error="), "no error code without credentials (RS-03)");
                    }
                }
            }
        }
    }
});
