//! The revocation and introspection endpoints on arbitrary requests.
//!
//! Input (lines): `METHOD [flags]`, `Content-Type` (empty: absent), `Authorization` (empty:
//! absent), the raw query, then the raw body (the rest), with the same placeholders as
//! `token_request` (`$AT`, `$RT`, `$WAT`, `$SAT`, `$RBASIC`, ...). Each request goes to
//! introspection, revocation, then introspection again.
//!
//! Asserts: introspection answers 200 JSON with a boolean `active` (exactly `{"active":false}`
//! when inactive; the RFC 7662 members when active) or a JSON error from the known set;
//! revocation answers 200 with no body or a JSON error; every answer is `no-store`. A token
//! that introspection showed inactive never becomes active, and a token revoked by a 200 is
//! not active afterwards when the caller was its owner.
#![no_main]

use libfuzzer_sys::fuzz_target;
use oauth21::{Request, Response};
use oauth21_fuzz::{
    ISSUER, Live, block_on, check_error_json, check_token_response, fields, fixture, flags_after_method, header,
    method, trace_response,
};

/// Returns `Some(active)` for a 200, `None` for an error.
fn check_introspection(response: &Response) -> Option<serde_json::Value> {
    if response.status() != 200 {
        check_token_response(response);
        return None;
    }
    assert_eq!(response.header("Cache-Control"), Some("no-store"));
    assert_eq!(response.header("Content-Type"), Some("application/json"));
    let json: serde_json::Value = serde_json::from_slice(response.body()).expect("introspection answer is JSON");
    let active = json.get("active").and_then(|v| v.as_bool()).expect("introspection answer without boolean active");
    if !active {
        assert_eq!(response.body(), br#"{"active":false}"#, "an inactive answer must say nothing else");
    } else {
        assert_eq!(json["iss"], ISSUER);
        for member in ["client_id", "token_type", "sub"] {
            assert!(json[member].is_string(), "active answer without {member}");
        }
        assert!(json["exp"].as_i64().unwrap() > json["iat"].as_i64().unwrap());
    }
    Some(json)
}

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

    let first = block_on(fx.server.introspect(&request));
    trace_response("introspect", &first);
    let before = check_introspection(&first);

    let revoked = block_on(fx.server.revoke(&request));
    trace_response("revoke", &revoked);
    if revoked.status() == 200 {
        assert!(revoked.body().is_empty(), "revocation answers with an empty body");
        assert_eq!(revoked.header("Cache-Control"), Some("no-store"));
    } else {
        assert!(matches!(revoked.status(), 400 | 401 | 405 | 503), "revocation status {}", revoked.status());
        let json = check_token_response(&revoked);
        check_error_json(&json);
    }

    let second = block_on(fx.server.introspect(&request));
    trace_response("introspect again", &second);
    let after = check_introspection(&second);
    match (&before, &after) {
        (Some(b), Some(a)) => {
            let was = b["active"].as_bool().unwrap();
            let is = a["active"].as_bool().unwrap();
            assert!(was || !is, "an inactive token became active");
            // Still active after an accepted revocation: allowed only when the caller is not the
            // owner (the resource server sees every token but may not revoke others' tokens).
            if was && is && revoked.status() == 200 {
                let owner = b["client_id"].as_str().unwrap();
                assert!(owner_differs_from_caller(&request, owner), "revoked by its owner but still active");
            }
        }
        (None, None) => {}
        // Introspection is read-only: the same request is either well-formed and authenticated
        // or not, before and after.
        _ => panic!("introspection accepted the request once and refused it once"),
    }
});

/// Whether the request's client (from Basic or the body's `client_id`) differs from `owner`.
fn owner_differs_from_caller(request: &Request<'_>, owner: &str) -> bool {
    if let Some(a) = request.authorization() {
        return oauth21::client::parse_basic_auth(a).map(|(id, _)| id != owner).unwrap_or(true);
    }
    let pairs = oauth21_fuzz::form_pairs(std::str::from_utf8(request.body()).unwrap_or(""));
    pairs.iter().filter(|(k, _)| k == "client_id").all(|(_, v)| v != owner)
}
