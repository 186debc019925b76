//! The resource-server side (RS-01..RS-05): reading `Authorization: Bearer`, refusing every other
//! way of sending the token, and the exact 400 / 401 / 403 answers with their
//! `WWW-Authenticate: Bearer` challenges.

mod common;

use std::sync::Arc;

use common::*;
use oauth21::bearer::InvalidRealm;
use oauth21::client::basic_auth_header;
use oauth21::store::AccessTokenRecord;
use oauth21::{BearerChecker, BearerError, ManualClock, MemoryStore, Request, Scope, ServerConfig};
use proptest::prelude::*;
use time::Duration;

type Checker = BearerChecker<Arc<MemoryStore>, Arc<ManualClock>>;

const BARE: &str = r#"Bearer realm="api""#;
const MALFORMED_TOKEN: &str =
    r#"Bearer realm="api", error="invalid_request", error_description="malformed bearer token""#;
const MALFORMED_HEADER: &str =
    r#"Bearer realm="api", error="invalid_request", error_description="malformed Authorization header""#;
const TWO_METHODS: &str = r#"Bearer realm="api", error="invalid_request", error_description="the access token was sent by more than one method""#;
const UNKNOWN: &str = r#"Bearer realm="api", error="invalid_token", error_description="the access token is invalid""#;
const EXPIRED: &str = r#"Bearer realm="api", error="invalid_token", error_description="the access token expired""#;
const OTHER_AUDIENCE: &str =
    r#"Bearer realm="api", error="invalid_token", error_description="the access token is meant for another resource""#;

fn insufficient(scope: &str) -> String {
    format!(
        r#"Bearer realm="api", error="insufficient_scope", error_description="the access token lacks the required scope", scope="{scope}""#
    )
}

fn checker(fx: &Fixture) -> Checker {
    BearerChecker::new(fx.store.clone(), fx.clock.clone(), "api").unwrap()
}

fn scope(text: &str) -> Scope {
    Scope::parse(text).unwrap()
}

/// A request carrying `Authorization: <header>`.
fn with_header(header: &str) -> Request<'_> {
    Request::get("").with_authorization(header.as_bytes())
}

fn accept(checker: &Checker, request: &Request<'_>, required: &str) -> AccessTokenRecord {
    match block_on(checker.check(request, &scope(required))) {
        Ok(record) => record,
        Err(e) => panic!("expected the token to be accepted, got {e:?}"),
    }
}

/// The status and exact `WWW-Authenticate` value of a refused request; every refusal is also
/// `Cache-Control: no-store`.
fn refuse(checker: &Checker, request: &Request<'_>, required: &str) -> (u16, String) {
    let error = match block_on(checker.check(request, &scope(required))) {
        Ok(record) => panic!("expected a refusal, the token of {} was accepted", record.client_id.as_str()),
        Err(e) => e,
    };
    let response = checker.response(&error);
    assert_eq!(response.header("Cache-Control"), Some("no-store"));
    (response.status(), response.header("WWW-Authenticate").expect("a challenge").to_owned())
}

fn svc_token(fx: &Fixture) -> String {
    let response = fx.token("grant_type=client_credentials&scope=read", Some(&basic_auth_header("svc", "svc-secret")));
    assert_eq!(response.status(), 200, "{}", String::from_utf8_lossy(response.body()));
    json(&response)["access_token"].as_str().unwrap().to_owned()
}

fn audience_fixture() -> Fixture {
    fixture_with(ServerConfig::builder(ISSUER).access_token_audience("https://api.example").build().unwrap())
}

// ---- RS-01: Authorization: Bearer <token68>, scheme case-insensitive ----

#[test]
fn rs01_bearer_header_is_accepted_and_returns_the_token_record() {
    let fx = fixture();
    let (access, _) = fx.app_tokens();
    let header = format!("Bearer {access}");
    let record = accept(&checker(&fx), &with_header(&header), "read");
    assert_eq!(record.subject.as_str(), "alice");
    assert_eq!(record.client_id.as_str(), "app");
    assert_eq!(record.scope.to_string(), "read write");
    assert_eq!(record.audience, None);
}

#[test]
fn rs01_client_credentials_token_names_the_client_as_subject() {
    let fx = fixture();
    let header = format!("Bearer {}", svc_token(&fx));
    let record = accept(&checker(&fx), &with_header(&header), "read");
    assert_eq!(record.subject.as_str(), "svc");
    assert_eq!(record.client_id.as_str(), "svc");
    assert_eq!(record.scope.to_string(), "read");
}

#[test]
fn rs01_scheme_compares_case_insensitively() {
    let fx = fixture();
    let (access, _) = fx.app_tokens();
    let checker = checker(&fx);
    for scheme in ["Bearer", "bearer", "BEARER", "bEaReR"] {
        let header = format!("{scheme} {access}");
        let record = accept(&checker, &with_header(&header), "read write");
        assert_eq!(record.subject.as_str(), "alice", "scheme {scheme}");
    }
}

#[test]
fn rs01_empty_required_scope_accepts_any_valid_token() {
    let fx = fixture();
    let header = format!("Bearer {}", svc_token(&fx));
    accept(&checker(&fx), &with_header(&header), "");
}

#[test]
fn rs01_token68_padding_is_valid_syntax() {
    // `abc==` is a well-formed token68: it reaches the store (unknown, 401), not a 400.
    let fx = fixture();
    assert_eq!(refuse(&checker(&fx), &with_header("Bearer abc=="), "read"), (401, UNKNOWN.to_owned()));
    let all_chars = "Bearer AZaz09-._~+/=";
    assert_eq!(refuse(&checker(&fx), &with_header(all_chars), "read"), (401, UNKNOWN.to_owned()));
}

// ---- RS-02: tokens in the query ignored; more than one method rejected; token68 syntax ----

#[test]
fn rs02_token_in_uri_query_is_ignored() {
    let fx = fixture();
    let (access, _) = fx.app_tokens();
    let query = format!("access_token={access}");
    assert_eq!(refuse(&checker(&fx), &Request::get(&query), "read"), (401, BARE.to_owned()));
}

#[test]
fn rs02_query_token_next_to_a_header_is_ignored_not_used() {
    // The query parameter is not a way of sending a token at all, so the header alone counts.
    let fx = fixture();
    let (access, _) = fx.app_tokens();
    let svc = svc_token(&fx);
    let query = format!("access_token={svc}");
    let header = format!("Bearer {access}");
    let request = Request::get(&query).with_authorization(header.as_bytes());
    assert_eq!(accept(&checker(&fx), &request, "read").client_id.as_str(), "app");
}

#[test]
fn rs02_header_and_form_body_token_is_invalid_request() {
    let fx = fixture();
    let (access, _) = fx.app_tokens();
    let header = format!("Bearer {access}");
    let body = format!("access_token={access}");
    let request = Request::form_post(body.as_bytes()).with_authorization(header.as_bytes());
    assert_eq!(refuse(&checker(&fx), &request, "read"), (400, TWO_METHODS.to_owned()));

    // Content-Type parameters and case do not hide the form body.
    let request = Request::post(body.as_bytes())
        .with_content_type(b"Application/X-WWW-Form-Urlencoded; charset=UTF-8")
        .with_authorization(header.as_bytes());
    assert_eq!(refuse(&checker(&fx), &request, "read"), (400, TWO_METHODS.to_owned()));

    // Nor does percent-encoding the name, or other parameters around it.
    let body = format!("a=1&access%5Ftoken={access}&b=2");
    let request = Request::form_post(body.as_bytes()).with_authorization(header.as_bytes());
    assert_eq!(refuse(&checker(&fx), &request, "read"), (400, TWO_METHODS.to_owned()));
}

/// A form body is a second method only when it carries `access_token`: other parameters next
/// to the header are fine, and a body that is not a form is never read for one.
#[test]
fn rs02_a_form_body_without_access_token_or_a_non_form_body_is_no_second_method() {
    let fx = fixture();
    let (access, _) = fx.app_tokens();
    let header = format!("Bearer {access}");
    let request = Request::form_post(b"a=1&b=2").with_authorization(header.as_bytes());
    accept(&checker(&fx), &request, "read");
    let body = format!("access_token={access}");
    let request = Request::post(body.as_bytes()).with_content_type(b"text/plain").with_authorization(header.as_bytes());
    accept(&checker(&fx), &request, "read");
}

/// Two `Authorization` headers: refused, whichever holds the valid token, also when they come
/// through the `http` conversion.
#[test]
fn rs02_two_authorization_headers_are_invalid_request() {
    let fx = fixture();
    let (access, _) = fx.app_tokens();
    let header = format!("Bearer {access}");
    const REPEATED: &str =
        r#"Bearer realm="api", error="invalid_request", error_description="a header was sent more than once""#;
    for (first, second) in [(header.as_str(), "Bearer other"), ("Bearer other", header.as_str())] {
        let request = with_header(first).with_authorization(second.as_bytes());
        assert_eq!(refuse(&checker(&fx), &request, "read"), (400, REPEATED.to_owned()));
        let http_request =
            http::Request::get("/api").header("authorization", first).header("authorization", second).body(()).unwrap();
        let body: &[u8] = b"";
        let (parts, ()) = http_request.into_parts();
        assert_eq!(refuse(&checker(&fx), &Request::from_parts(&parts, body), "read"), (400, REPEATED.to_owned()));
    }
}

/// The header-only entry point, for middleware and extractors: the same answers as `check`
/// from the header values alone.
#[test]
fn rs02_check_authorization_reads_every_header_value_and_nothing_else() {
    let fx = fixture();
    let (access, _) = fx.app_tokens();
    let header = format!("Bearer {access}");
    let checker = checker(&fx);
    let read = scope("read");
    let record = block_on(checker.check_authorization([header.as_bytes()], &read)).unwrap();
    assert_eq!(record.subject.as_str(), "alice");
    let none: [&[u8]; 0] = [];
    assert_eq!(block_on(checker.check_authorization(none, &read)), Err(BearerError::NoCredentials));
    assert_eq!(block_on(checker.check_authorization([&b""[..]], &read)), Err(BearerError::NoCredentials));
    let twice = block_on(checker.check_authorization([header.as_bytes(), header.as_bytes()], &read));
    assert_eq!(twice, Err(BearerError::InvalidRequest("a header was sent more than once")));
    let wider = block_on(checker.check_authorization([header.as_bytes()], &scope("admin")));
    assert_eq!(wider, Err(BearerError::InsufficientScope(scope("admin"))));
}

/// An empty `Authorization` header is no header: the bare challenge, as without one.
#[test]
fn rs03_an_empty_authorization_header_counts_as_absent() {
    let fx = fixture();
    assert_eq!(refuse(&checker(&fx), &with_header(""), "read"), (401, BARE.to_owned()));
    assert_eq!(refuse(&checker(&fx), &with_header("  "), "read"), (401, BARE.to_owned()));
    // Next to a real header it is not a repeat either.
    let (access, _) = fx.app_tokens();
    let header = format!("Bearer {access}");
    accept(&checker(&fx), &with_header("").with_authorization(header.as_bytes()), "read");
}

#[test]
fn rs02_form_body_token_alone_is_not_a_credential() {
    // The checker supports the header method only: a body token is no bearer credential.
    let fx = fixture();
    let (access, _) = fx.app_tokens();
    let body = format!("access_token={access}");
    assert_eq!(refuse(&checker(&fx), &Request::form_post(body.as_bytes()), "read"), (401, BARE.to_owned()));
}

#[test]
fn rs02_malformed_token68_is_invalid_request() {
    let fx = fixture();
    let checker = checker(&fx);
    for header in [
        "Bearer abc def",  // space inside
        "Bearer abc,def",  // comma
        "Bearer abc\"def", // quote
        "Bearer \"abc\"",  // quoted-string instead of token68
        "Bearer abc;def",
        "Bearer a=b",      // `=` only as trailing padding
        "Bearer =",        // padding only
        "Bearer ===",      // padding only
        "Bearer ",         // empty token
        "Bearer abc\tdef", // tab
        "Bearer é",        // non-ASCII
        "Bearer abc!",     // the last character, before any padding, is checked too
        "Bearer abc!==",
    ] {
        assert_eq!(refuse(&checker, &with_header(header), "read"), (400, MALFORMED_TOKEN.to_owned()), "{header:?}");
    }
}

#[test]
fn rs02_overlong_token_is_invalid_request() {
    let fx = fixture();
    // The limit is oauth21::jose::MAX_TOKEN_BYTES (8 KiB), room for an RS256 JWT access token.
    let header = format!("Bearer {}", "a".repeat(8193));
    assert_eq!(refuse(&checker(&fx), &with_header(&header), "read"), (400, MALFORMED_TOKEN.to_owned()));
    let header = format!("Bearer {}", "a".repeat(8192));
    assert_eq!(refuse(&checker(&fx), &with_header(&header), "read"), (401, UNKNOWN.to_owned()));
}

#[test]
fn rs02_bearer_without_separator_is_invalid_request() {
    let fx = fixture();
    for header in ["Bearer", "bearer", "Bearer\tabc"] {
        assert_eq!(
            refuse(&checker(&fx), &with_header(header), "read"),
            (400, MALFORMED_HEADER.to_owned()),
            "{header:?}"
        );
    }
}

#[test]

fn rs01_several_spaces_after_the_scheme_are_allowed() {
    let fx = fixture();
    let (access, _) = fx.app_tokens();
    let header = format!("Bearer   {access}");
    assert_eq!(accept(&checker(&fx), &with_header(&header), "read").subject.as_str(), "alice");
}

#[test]

fn rs02_header_and_form_token_in_an_unparsable_body_is_invalid_request() {
    let fx = fixture();
    let (access, _) = fx.app_tokens();
    let header = format!("Bearer {access}");
    let body = format!("access_token={access}&junk=%zz");
    let request = Request::form_post(body.as_bytes()).with_authorization(header.as_bytes());
    assert_eq!(refuse(&checker(&fx), &request, "read").0, 400);
}

#[test]
fn rs02_non_utf8_header_is_invalid_request() {
    let fx = fixture();
    let request = Request::get("").with_authorization(b"Bearer \xff\xfe");
    assert_eq!(refuse(&checker(&fx), &request, "read"), (400, MALFORMED_TOKEN.to_owned()));
}

// ---- RS-03: 401 with a bare challenge when no bearer credentials were sent ----

#[test]
fn rs03_no_credentials_gets_a_bare_bearer_challenge() {
    let fx = fixture();
    let checker = checker(&fx);
    let error = block_on(checker.check(&Request::get(""), &scope("read"))).unwrap_err();
    assert_eq!(error, BearerError::NoCredentials);
    let response = checker.response(&error);
    assert_eq!(response.status(), 401);
    assert_eq!(response.header("WWW-Authenticate"), Some(BARE));
    assert!(!response.header("WWW-Authenticate").unwrap().contains("error"));
}

#[test]
fn rs03_other_schemes_are_no_bearer_credentials() {
    let fx = fixture();
    let (access, _) = fx.app_tokens();
    let checker = checker(&fx);
    let basic = basic_auth_header("svc", "svc-secret");
    let dpop = format!("DPoP {access}");
    let token = format!("Token {access}");
    for header in [basic.as_str(), &dpop, &token, &access, "", "Basic", "Digest username=\"x\""] {
        assert_eq!(refuse(&checker, &with_header(header), "read"), (401, BARE.to_owned()), "{header:?}");
    }
}

#[test]

fn rs03_scheme_that_only_starts_with_bearer_is_no_bearer_credential() {
    let fx = fixture();
    for header in ["BearerX abc", "Bearer-DPoP abc", "Bearerabc"] {
        assert_eq!(refuse(&checker(&fx), &with_header(header), "read"), (401, BARE.to_owned()), "{header:?}");
    }
}

#[test]
fn rs03_realm_is_the_configured_one() {
    let fx = fixture();
    let checker = BearerChecker::new(fx.store.clone(), fx.clock.clone(), "photos at example.com").unwrap();
    let response = checker.response(&BearerError::NoCredentials);
    assert_eq!(response.header("WWW-Authenticate"), Some(r#"Bearer realm="photos at example.com""#));
}

#[test]
fn rs03_realm_with_quote_backslash_control_or_nothing_is_refused() {
    let fx = fixture();
    let new = |realm: &str| BearerChecker::new(fx.store.clone(), fx.clock.clone(), realm).map(|_| ());
    assert_eq!(new(""), Err(InvalidRealm));
    assert_eq!(new("a\"b"), Err(InvalidRealm));
    assert_eq!(new("a\\b"), Err(InvalidRealm));
    assert_eq!(new("\""), Err(InvalidRealm));
    assert_eq!(new("a\nb"), Err(InvalidRealm));
    assert_eq!(new("a\rb"), Err(InvalidRealm));
    assert_eq!(new("é"), Err(InvalidRealm));
    assert_eq!(new(&"r".repeat(257)), Err(InvalidRealm));
    assert_eq!(new(&"r".repeat(256)), Ok(()));
    assert_eq!(new("api"), Ok(()));
}

// ---- RS-04: invalid_token 401, insufficient_scope 403 ----

#[test]
fn rs04_unknown_token_is_invalid_token() {
    let fx = fixture();
    assert_eq!(refuse(&checker(&fx), &with_header("Bearer not-a-token"), "read"), (401, UNKNOWN.to_owned()));
}

#[test]
fn rs04_expired_token_is_invalid_token() {
    let fx = fixture();
    let (access, _) = fx.app_tokens();
    let header = format!("Bearer {access}");
    let checker = checker(&fx);
    fx.clock.advance(Duration::seconds(3599));
    accept(&checker, &with_header(&header), "read");
    fx.clock.advance(Duration::seconds(1));
    assert_eq!(refuse(&checker, &with_header(&header), "read"), (401, EXPIRED.to_owned()), "at exactly 3600 s");
    fx.clock.advance(Duration::seconds(1));
    assert_eq!(refuse(&checker, &with_header(&header), "read"), (401, EXPIRED.to_owned()), "past 3600 s");
}

#[test]
fn rs04_token_of_a_revoked_grant_is_invalid_token() {
    let fx = fixture();
    let (access, _) = fx.app_tokens();
    let header = format!("Bearer {access}");
    let checker = checker(&fx);
    let record = accept(&checker, &with_header(&header), "read");
    block_on(fx.server.revoke_grant(&record.grant_id)).unwrap();
    assert_eq!(refuse(&checker, &with_header(&header), "read"), (401, UNKNOWN.to_owned()));
}

#[test]
fn rs04_token_revoked_at_the_revocation_endpoint_is_invalid_token() {
    let fx = fixture();
    let (access, refresh) = fx.app_tokens();
    let header = format!("Bearer {access}");
    let checker = checker(&fx);
    accept(&checker, &with_header(&header), "read");
    // Revoking the refresh token takes the grant, and so the access token, with it (RV-04).
    let body = format!("token={refresh}&token_type_hint=refresh_token&client_id=app");
    assert_eq!(block_on(fx.server.revoke(&Request::form_post(body.as_bytes()))).status(), 200);
    assert_eq!(refuse(&checker, &with_header(&header), "read"), (401, UNKNOWN.to_owned()));

    let svc = svc_token(&fx);
    let header = format!("Bearer {svc}");
    accept(&checker, &with_header(&header), "read");
    let body = format!("token={svc}");
    let request = Request::form_post(body.as_bytes());
    let authorization = basic_auth_header("svc", "svc-secret");
    let request = request.with_authorization(authorization.as_bytes());
    assert_eq!(block_on(fx.server.revoke(&request)).status(), 200);
    assert_eq!(refuse(&checker, &with_header(&header), "read"), (401, UNKNOWN.to_owned()));
}

#[test]
fn rs04_missing_scope_is_403_naming_the_required_scope() {
    let fx = fixture();
    let checker = checker(&fx);
    let (access, _) = fx.app_tokens();
    let user = format!("Bearer {access}");
    assert_eq!(refuse(&checker, &with_header(&user), "admin"), (403, insufficient("admin")));
    assert_eq!(refuse(&checker, &with_header(&user), "read admin"), (403, insufficient("read admin")));

    let svc = format!("Bearer {}", svc_token(&fx));
    assert_eq!(refuse(&checker, &with_header(&svc), "read write"), (403, insufficient("read write")));
    assert_eq!(refuse(&checker, &with_header(&svc), "write"), (403, insufficient("write")));
    // Scope tokens compare case-sensitively.
    assert_eq!(refuse(&checker, &with_header(&svc), "READ"), (403, insufficient("READ")));
}

#[test]
fn rs04_error_variants_map_to_their_status_codes() {
    let fx = fixture();
    let checker = checker(&fx);
    let status = |e: BearerError| checker.response(&e).status();
    assert_eq!(status(BearerError::NoCredentials), 401);
    assert_eq!(status(BearerError::InvalidRequest("x")), 400);
    assert_eq!(status(BearerError::InvalidToken("x")), 401);
    assert_eq!(status(BearerError::InsufficientScope(scope("read"))), 403);
    let unavailable = checker.response(&BearerError::Unavailable);
    assert_eq!(unavailable.status(), 503);
    assert_eq!(unavailable.header("WWW-Authenticate"), None, "a store failure blames no token");
}

// ---- RS-05: expiry, scope, audience ----

#[test]
fn rs05_token_with_the_required_audience_is_accepted() {
    let fx = audience_fixture();
    let header = format!("Bearer {}", svc_token(&fx));
    let checker = checker(&fx).require_audience("https://api.example");
    let record = accept(&checker, &with_header(&header), "read");
    assert_eq!(record.audience.as_deref(), Some("https://api.example"));
    assert_eq!(record.client_id.as_str(), "svc");
}

#[test]
fn rs05_audience_is_recorded_on_code_and_refresh_tokens_too() {
    let fx = audience_fixture();
    let (access, refresh) = fx.app_tokens();
    let checker = checker(&fx).require_audience("https://api.example");
    let header = format!("Bearer {access}");
    assert_eq!(accept(&checker, &with_header(&header), "read").subject.as_str(), "alice");
    let refreshed = fx.refresh(&refresh, "");
    assert_eq!(refreshed.status(), 200);
    let header = format!("Bearer {}", json(&refreshed)["access_token"].as_str().unwrap());
    assert_eq!(accept(&checker, &with_header(&header), "read write").subject.as_str(), "alice");
}

#[test]
fn rs05_token_for_another_audience_is_invalid_token() {
    let fx = audience_fixture();
    let header = format!("Bearer {}", svc_token(&fx));
    let other = checker(&fx).require_audience("https://other.example");
    assert_eq!(refuse(&other, &with_header(&header), "read"), (401, OTHER_AUDIENCE.to_owned()));
    // Exact comparison: no prefix, case or trailing-slash leniency.
    for audience in ["https://api.example/", "https://API.example", "https://api.example/x", "https://api"] {
        let near = checker(&fx).require_audience(audience);
        assert_eq!(refuse(&near, &with_header(&header), "read"), (401, OTHER_AUDIENCE.to_owned()), "{audience}");
    }
    // Audience is checked before scope: a foreign token tells nothing about its scope.
    assert_eq!(refuse(&other, &with_header(&header), "admin"), (401, OTHER_AUDIENCE.to_owned()));
}

#[test]
fn rs05_token_without_audience_is_refused_when_one_is_required() {
    let fx = fixture();
    let header = format!("Bearer {}", svc_token(&fx));
    let checker = checker(&fx).require_audience("https://api.example");
    assert_eq!(refuse(&checker, &with_header(&header), "read"), (401, OTHER_AUDIENCE.to_owned()));
}

#[test]
fn rs05_without_require_audience_the_audience_is_not_checked() {
    let fx = audience_fixture();
    let header = format!("Bearer {}", svc_token(&fx));
    accept(&checker(&fx), &with_header(&header), "read");
}

#[test]
fn rs05_expiry_and_scope_are_checked_with_the_audience() {
    let fx = audience_fixture();
    let header = format!("Bearer {}", svc_token(&fx));
    let checker = checker(&fx).require_audience("https://api.example");
    assert_eq!(refuse(&checker, &with_header(&header), "read write"), (403, insufficient("read write")));
    fx.clock.advance(Duration::seconds(3600));
    assert_eq!(refuse(&checker, &with_header(&header), "read"), (401, EXPIRED.to_owned()));
}

#[test]
fn rs05_access_token_lifetime_follows_the_configuration() {
    let config = ServerConfig::builder(ISSUER).access_token_lifetime(Duration::seconds(60)).build().unwrap();
    let fx = fixture_with(config);
    let header = format!("Bearer {}", svc_token(&fx));
    let checker = checker(&fx);
    fx.clock.advance(Duration::seconds(59));
    accept(&checker, &with_header(&header), "read");
    fx.clock.advance(Duration::seconds(1));
    assert_eq!(refuse(&checker, &with_header(&header), "read"), (401, EXPIRED.to_owned()));
}

// ---- Robustness: arbitrary headers never panic and are always 400 or 401 ----

fn header_bytes() -> impl Strategy<Value = Vec<u8>> {
    let bytes = proptest::collection::vec(any::<u8>(), 0..96);
    let tokenish = proptest::collection::vec(
        prop_oneof![
            Just(b'a'),
            Just(b'Z'),
            Just(b'0'),
            Just(b'-'),
            Just(b'.'),
            Just(b'_'),
            Just(b'~'),
            Just(b'+'),
            Just(b'/'),
            Just(b'='),
            Just(b' '),
            Just(b','),
            Just(b'"'),
            Just(b'\\'),
            any::<u8>(),
        ],
        0..64,
    );
    let scheme = prop_oneof![Just("Bearer "), Just("bearer "), Just("BEARER"), Just("Basic "), Just("DPoP "), Just("")];
    prop_oneof![
        bytes,
        (scheme, tokenish).prop_map(|(scheme, rest)| {
            let mut header = scheme.as_bytes().to_vec();
            header.extend(rest);
            header
        }),
    ]
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]

    /// RS-02, RS-03, RS-04: no header, however malformed, panics or gets anything but 400 / 401.
    #[test]
    fn rs02_arbitrary_authorization_headers_are_400_or_401(
        header in header_bytes(),
        body in proptest::collection::vec(any::<u8>(), 0..32),
        form in any::<bool>(),
    ) {
        let fx = fixture();
        let checker = checker(&fx);
        let mut request = Request::post(&body).with_authorization(&header);
        if form {
            request = request.with_content_type(b"application/x-www-form-urlencoded");
        }
        let error = block_on(checker.check(&request, &scope("read"))).unwrap_err();
        let response = checker.response(&error);
        prop_assert!(matches!(response.status(), 400 | 401), "status {} for {:?}", response.status(), header);
        let challenge = response.header("WWW-Authenticate").unwrap();
        prop_assert!(challenge.starts_with(BARE), "{}", challenge);
        prop_assert_eq!(response.status() == 401 && challenge != BARE, challenge.contains(r#"error="invalid_token""#));
    }
}
