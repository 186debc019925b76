//! The token endpoint on arbitrary requests, every grant.
//!
//! Input (lines): `METHOD [flags]`, `Content-Type` (empty: absent), `Authorization` (empty:
//! absent), the raw query, then the raw body (the rest). Placeholders such as `$CODE`, `$RT`
//! or `$WBASIC` in the last three are replaced by live codes, tokens and credentials issued
//! just before the request (see `oauth21_fuzz::PLACEHOLDERS`), so the fuzzer reaches the
//! success paths. Flags: `g` grace period, `k` keep confidential refresh tokens, `a` audience,
//! `t` the clock jumps 61 minutes before the request (codes and access tokens expire).
//!
//! Asserts: the status is 200/400/401/405/500/503; the body is JSON with `access_token` (200)
//! or an `error` from the known set; `Cache-Control: no-store`; 401 carries
//! `WWW-Authenticate: Basic`, 405 `Allow: POST`. A request answered 200 with a
//! `refresh_token` (a code redemption or a rotating refresh) is replayed twice: without a grace
//! period neither replay may succeed, with one at most one may.
#![no_main]

use libfuzzer_sys::fuzz_target;
use oauth21::Request;
use oauth21_fuzz::{
    Live, block_on, check_token_response, fields, fixture, flags_after_method, header, method, trace_response,
};

fuzz_target!(|data: &[u8]| {
    let f = fields(data, 5);
    let flags = flags_after_method(f[0]);
    let fx = fixture(flags.config());
    let mut live = Live::default();
    let authorization = header(f[2]).map(|a| live.fill(&fx, a));
    let query = live.fill(&fx, f[3]);
    let body = live.fill(&fx, f[4]);
    if flags.late {
        fx.clock.advance(time::Duration::minutes(61));
    }

    let mut request = Request::new(method(f[0])).with_query(&query).with_body(&body);
    if let Some(ct) = header(f[1]) {
        request = request.with_content_type(ct);
    }
    if let Some(a) = &authorization {
        request = request.with_authorization(a);
    }

    let response = block_on(fx.server.token(&request));
    trace_response("token", &response);
    let json = check_token_response(&response);
    if response.status() != 200 {
        return;
    }
    // Anything that handed out a refresh token consumed what it was given: a code, or (when
    // rotating) the refresh token. The same request must not work again.
    let Some(issued) = json.get("refresh_token").and_then(|v| v.as_str()) else { return };
    assert!(!issued.is_empty());
    let presented_refresh = live.values.values().any(|v| v == issued);
    assert!(!presented_refresh, "the server handed back a refresh token it had already issued");
    let replays: Vec<u16> = (0..2)
        .map(|_| {
            let r = block_on(fx.server.token(&request));
            check_token_response(&r);
            r.status()
        })
        .collect();
    let successes = replays.iter().filter(|s| **s == 200).count();
    let allowed = if flags.grace { 1 } else { 0 };
    assert!(successes <= allowed, "a consumed code or rotated refresh token worked again: {replays:?}");
});
