//! Pushed authorization requests (RFC 9126; PAR-01..PAR-07): the endpoint, loading a pushed
//! request at the authorization endpoint, consuming it when the authorization completes, and
//! requiring it per server and per client.

mod common;

use std::sync::Barrier;

use common::*;
use oauth21::client::basic_auth_header;
use oauth21::{
    Approval, AuthorizeError, AuthorizeOutcome, Client, ConfigError, GrantType, Request, Response, ServerConfig,
    Subject, TokenHash,
};
use serde_json::Value;
use time::Duration;

const PREFIX: &str = "urn:ietf:params:oauth:request_uri:";

/// `app`'s authorization parameters, as pushed (the same as [`app_query`]).
fn app_push_body(extra: &str) -> String {
    app_query(extra)
}

fn push(fx: &Fixture, body: &str, authorization: Option<&str>) -> Response {
    let mut request = Request::form_post(body.as_bytes());
    if let Some(a) = authorization {
        request = request.with_authorization(a.as_bytes());
    }
    block_on(fx.server.pushed_authorization_request(&request))
}

/// Pushes `app`'s request with `extra` and returns the `request_uri`.
fn pushed_uri(fx: &Fixture, extra: &str) -> String {
    let response = push(fx, &app_push_body(extra), None);
    assert_eq!(response.status(), 201, "{}", String::from_utf8_lossy(response.body()));
    json(&response)["request_uri"].as_str().unwrap().to_owned()
}

fn encode(value: &str) -> String {
    serde_urlencoded::to_string([("v", value)]).unwrap()[2..].to_owned()
}

/// The front-channel query that loads `request_uri` for `client_id`.
fn load_query(client_id: &str, request_uri: &str) -> String {
    format!("client_id={client_id}&request_uri={}", encode(request_uri))
}

fn error_of(response: &Response) -> String {
    serde_json::from_slice::<Value>(response.body())
        .ok()
        .and_then(|v| v["error"].as_str().map(str::to_owned))
        .unwrap_or_default()
}

fn approve(fx: &Fixture, query: &str) -> Response {
    let consent = fx.consent(query);
    block_on(fx.server.approve(&consent, Approval::new(Subject::new("alice").unwrap()))).unwrap().into_response()
}

/// The page answer (never a redirect) for a front-channel request that must fail.
#[track_caller]
fn assert_error_page(fx: &Fixture, query: &str) {
    let (error, response) = fx.authorize_error(query);
    assert_eq!(response.status(), 400, "{error:?}");
    assert_eq!(response.location(), None);
}

// ---- PAR-01: POST only, client authentication as at the token endpoint ----

#[test]
fn par01_only_post() {
    let fx = fixture();
    let query = app_push_body("");
    let request = Request::get(&query);
    let response = block_on(fx.server.pushed_authorization_request(&request));
    assert_eq!(response.status(), 405);
    assert_eq!(response.header("Allow"), Some("POST"));
}

#[test]
fn par01_clients_authenticate_as_at_the_token_endpoint() {
    let fx = fixture();
    // A public client identifies with client_id.
    assert_eq!(push(&fx, &app_push_body(""), None).status(), 201);
    // A confidential client authenticates: Basic or the body, the right secret only.
    let web = web_query("");
    assert_eq!(push(&fx, &web, Some(&basic_auth_header("web", WEB_SECRET))).status(), 201);
    assert_eq!(push(&fx, &format!("{web}&client_secret={WEB_SECRET}"), None).status(), 201);
    let wrong = push(&fx, &web, Some(&basic_auth_header("web", "wrong")));
    assert_eq!((wrong.status(), error_of(&wrong).as_str()), (401, "invalid_client"));
    assert!(wrong.header("WWW-Authenticate").is_some());
    let missing = push(&fx, &web, None);
    assert_eq!(error_of(&missing), "invalid_client");
    // Basic and a body secret together: one method per request.
    let both = push(&fx, &format!("{web}&client_secret={WEB_SECRET}"), Some(&basic_auth_header("web", WEB_SECRET)));
    assert_eq!(error_of(&both), "invalid_request");
    // No client at all.
    let anonymous = push(&fx, &app_push_body("").replace("client_id=app&", ""), None);
    assert_eq!(anonymous.status(), 400);
    // Credentials in the query are refused.
    let query = format!("client_secret={WEB_SECRET}");
    let request = Request::form_post(web.as_bytes()).with_query(query.as_bytes());
    let in_query = block_on(fx.server.pushed_authorization_request(&request));
    assert_eq!(in_query.status(), 400);
}

// ---- PAR-02: no request_uri inside; validated like an authorization request ----

#[test]
fn par02_a_request_uri_inside_a_pushed_request_is_refused() {
    let fx = fixture();
    let earlier = pushed_uri(&fx, "");
    let response = push(&fx, &app_push_body(&format!("&request_uri={}", encode(&earlier))), None);
    assert_eq!((response.status(), error_of(&response).as_str()), (400, "invalid_request"));
}

#[test]
fn par02_the_parameters_are_validated_like_an_authorization_request() {
    let fx = fixture();
    let cases: [(String, &str); 8] = [
        (app_push_body("").replace("127.0.0.1%3A5000%2Fcb", "evil.example%2Fcb"), "invalid_request"),
        (app_push_body("").replace("&code_challenge_method=S256", ""), "invalid_request"),
        (app_push_body("").replace("code_challenge=", "code_challenge=short&x="), "invalid_request"),
        (app_push_body("&scope=admin"), "invalid_scope"),
        (app_push_body("").replace("response_type=code", "response_type=token"), "unsupported_response_type"),
        (app_push_body("&dpop_jkt=not-a-thumbprint"), "invalid_request"),
        (app_push_body("&state=again"), "invalid_request"),
        (format!("{}&redirect_uri=http%3A%2F%2F127.0.0.1%2Fcb", app_push_body("")), "invalid_request"),
    ];
    for (body, code) in cases {
        let response = push(&fx, &body, None);
        assert_eq!(response.status(), 400, "{body}");
        assert_eq!(error_of(&response), code, "{body}");
        // A back channel never redirects.
        assert_eq!(response.location(), None);
    }
    // The client must be allowed the code grant.
    let svc = "response_type=code&scope=read&code_challenge=E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM\
               &code_challenge_method=S256&redirect_uri=https%3A%2F%2Fsvc.example%2Fcb";
    let response = push(&fx, svc, Some(&basic_auth_header("svc", "svc-secret")));
    assert_eq!(response.status(), 400);
}

// ---- PAR-03: 201, random request_uri, expires_in; only a digest is stored ----

#[test]
fn par03_created_with_a_random_request_uri_and_expires_in() {
    let fx = fixture();
    let response = push(&fx, &app_push_body(""), None);
    assert_eq!(response.status(), 201);
    assert_eq!(response.header("Cache-Control"), Some("no-store"));
    assert_eq!(response.header("Content-Type"), Some("application/json"));
    let body = json(&response);
    assert_eq!(body["expires_in"], 60);
    let uri = body["request_uri"].as_str().unwrap();
    let random = uri.strip_prefix(PREFIX).expect("the RFC 9126 prefix");
    assert_eq!(random.len(), 43);
    assert!(random.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_'));
    let others: Vec<String> = (0..20).map(|_| pushed_uri(&fx, "")).collect();
    assert!(!others.iter().any(|o| o == uri));
    // The store knows the digest of the random part, and nothing under the value itself.
    let now = oauth21::Clock::now(&*fx.clock);
    use oauth21::Store as _;
    assert!(block_on(fx.store.pushed_request(&TokenHash::of(random), now)).unwrap().is_some());
    assert!(block_on(fx.store.pushed_request(&TokenHash::of(uri), now)).unwrap().is_none());
}

// ---- PAR-04: at /authorize, this client's, unexpired, the pushed parameters ----

#[test]
fn par04_the_pushed_request_is_what_the_user_consents_to_and_the_flow_completes() {
    let fx = fixture();
    let uri = pushed_uri(&fx, "&scope=read%20write");
    // Parameters the browser adds are ignored: the pushed ones are the request.
    let query =
        format!("{}&scope=read&state=forged&redirect_uri=http%3A%2F%2F127.0.0.1%3A9%2Fcb", load_query("app", &uri));
    let consent = fx.consent(&query);
    assert_eq!(consent.scope().to_string(), "read write");
    assert_eq!(consent.state(), Some("st8"));
    assert_eq!(consent.redirect_uri(), "http://127.0.0.1:5000/cb");
    // The consent form re-posts client_id and request_uri only.
    let fields: Vec<(String, String)> = consent.form_fields().map(|(k, v)| (k.to_owned(), v.to_owned())).collect();
    assert_eq!(fields, [("client_id".to_owned(), "app".to_owned()), ("request_uri".to_owned(), uri.clone())]);
    let response = block_on(fx.server.approve(&consent, Approval::new(Subject::new("alice").unwrap()))).unwrap();
    let location = response.response().location().unwrap().to_owned();
    assert!(location.starts_with("http://127.0.0.1:5000/cb?"), "{location}");
    assert_eq!(query_param(&location, "state").as_deref(), Some("st8"));
    let code = query_param(&location, "code").unwrap();
    let tokens = fx.token(&app_redeem_body(&code), None);
    assert_eq!(tokens.status(), 200, "{}", String::from_utf8_lossy(tokens.body()));
    assert_eq!(json(&tokens)["scope"], "read write");
}

#[test]
fn par04_a_posted_consent_form_loads_the_same_request() {
    let fx = fixture();
    let uri = pushed_uri(&fx, "");
    let body = load_query("app", &uri);
    let outcome = block_on(fx.server.authorize(&Request::form_post(body.as_bytes())));
    let AuthorizeOutcome::Consent(consent) = outcome else { panic!("a consent request") };
    let response = block_on(fx.server.approve(&consent, Approval::new(Subject::new("alice").unwrap()))).unwrap();
    assert_eq!(response.response().status(), 303);
}

#[test]
fn par04_unknown_malformed_and_foreign_request_uris_are_error_pages() {
    let fx = fixture();
    let web_uri = {
        let response = push(&fx, &web_query(""), Some(&basic_auth_header("web", WEB_SECRET)));
        json(&response)["request_uri"].as_str().unwrap().to_owned()
    };
    // Another client's request_uri (PAR-07), never redirected.
    assert_error_page(&fx, &load_query("app", &web_uri));
    // Unknown, malformed, or with another prefix.
    let unknown = format!("{PREFIX}{}", "A".repeat(43));
    assert_error_page(&fx, &load_query("app", &unknown));
    assert_error_page(&fx, &load_query("app", "urn:ietf:params:oauth:request_uri:short"));
    assert_error_page(&fx, &load_query("app", &web_uri.replace(PREFIX, "https://as.example/r/")));
    // A value this server could not have issued is told apart from one it no longer knows, and
    // is never looked up: 43 characters outside base64url, or base64url of another length.
    let not_issued = AuthorizeError::InvalidRequest("request_uri was not issued by this server");
    for malformed in [format!("{PREFIX}{}", ".".repeat(43)), format!("{PREFIX}{}", "A".repeat(44))] {
        assert_eq!(fx.authorize_error(&load_query("app", &malformed)).0, not_issued, "{malformed}");
    }
    let unknown_error = AuthorizeError::InvalidRequest("request_uri is unknown or has expired");
    assert_eq!(fx.authorize_error(&load_query("app", &unknown)).0, unknown_error);
    // Twice in one request.
    let uri = pushed_uri(&fx, "");
    assert_error_page(&fx, &format!("{}&request_uri={}", load_query("app", &uri), encode(&uri)));
    // The rightful client still can.
    assert_eq!(approve(&fx, &load_query("web", &web_uri)).status(), 302);
}

// ---- PAR-06: consumed when the authorization completes, not when the page loads ----

#[test]
fn par06_reloading_the_consent_page_is_fine_and_completing_consumes_the_request_uri() {
    let fx = fixture();
    let uri = pushed_uri(&fx, "");
    let query = load_query("app", &uri);
    for _ in 0..3 {
        let _reload = fx.consent(&query);
    }
    let first = approve(&fx, &query);
    assert!(query_param(first.location().unwrap(), "code").is_some());
    // The same request_uri again: loading is still allowed, completing is not, and no code.
    let second = approve(&fx, &query);
    let location = second.location().unwrap();
    assert_eq!(query_param(location, "code"), None);
    assert_eq!(query_param(location, "error").as_deref(), Some("invalid_request"));
    let denied = block_on(fx.server.deny(&fx.consent(&query)));
    assert_eq!(query_param(denied.location().unwrap(), "error").as_deref(), Some("invalid_request"));
}

/// Each `request_uri` has its own load and completion claims: completing one leaves every other
/// usable, and loading one in time does not count as loading another (which would let a
/// `request_uri` first loaded after its expiry through).
#[test]
fn par06_each_request_uri_has_its_own_load_and_completion_claims() {
    let fx = fixture();
    let (first, second, third) = (pushed_uri(&fx, ""), pushed_uri(&fx, ""), pushed_uri(&fx, ""));
    let done = approve(&fx, &load_query("app", &first));
    assert!(query_param(done.location().unwrap(), "code").is_some());
    let other = approve(&fx, &load_query("app", &second));
    assert!(query_param(other.location().unwrap(), "code").is_some(), "{:?}", other.location());
    fx.clock.advance(Duration::seconds(60));
    assert_error_page(&fx, &load_query("app", &third));
}

#[test]
fn par06_a_denial_consumes_it_too() {
    let fx = fixture();
    let uri = pushed_uri(&fx, "");
    let query = load_query("app", &uri);
    let denied = block_on(fx.server.deny(&fx.consent(&query)));
    assert_eq!(query_param(denied.location().unwrap(), "error").as_deref(), Some("access_denied"));
    let after = approve(&fx, &query);
    assert_eq!(query_param(after.location().unwrap(), "code"), None);
}

#[test]
fn par06_expiry_is_not_checked_again_after_the_sign_in_round_trip() {
    let fx = fixture();
    let uri = pushed_uri(&fx, "");
    let query = load_query("app", &uri);
    fx.clock.advance(Duration::seconds(50));
    let _shown = fx.consent(&query);
    // The user takes five minutes to sign in; the consent form posts back.
    fx.clock.advance(Duration::minutes(5));
    let response = approve(&fx, &query);
    assert!(query_param(response.location().unwrap(), "code").is_some(), "{:?}", response.location());
}

#[test]
fn par06_two_concurrent_completions_issue_one_code() {
    for _ in 0..10 {
        let fx = fixture();
        let uri = pushed_uri(&fx, "");
        let consent = fx.consent(&load_query("app", &uri));
        let barrier = Barrier::new(2);
        let codes: usize = std::thread::scope(|scope| {
            let handles: Vec<_> = (0..2)
                .map(|_| {
                    scope.spawn(|| {
                        barrier.wait();
                        let approval = Approval::new(Subject::new("alice").unwrap());
                        let approved = block_on(fx.server.approve(&consent, approval)).unwrap();
                        usize::from(approved.grant_id().is_some())
                    })
                })
                .collect();
            handles.into_iter().map(|h| h.join().unwrap()).sum()
        });
        assert_eq!(codes, 1);
    }
}

// ---- PAR-07: lifetime default 60 s, always under 10 minutes; expired before first load ----

#[test]
fn par07_a_request_uri_not_loaded_before_it_expired_is_refused() {
    let fx = fixture();
    let uri = pushed_uri(&fx, "");
    fx.clock.advance(Duration::seconds(60));
    assert_error_page(&fx, &load_query("app", &uri));
    // And long after, it is gone altogether.
    fx.clock.advance(Duration::minutes(20));
    assert_error_page(&fx, &load_query("app", &uri));
}

#[test]
fn par07_the_lifetime_is_configurable_below_ten_minutes() {
    let fx =
        fixture_with(ServerConfig::builder(ISSUER).pushed_request_lifetime(Duration::seconds(30)).build().unwrap());
    assert_eq!(json(&push(&fx, &app_push_body(""), None))["expires_in"], 30);
    for bad in [Duration::ZERO, Duration::seconds(600), Duration::hours(1)] {
        let refused = ServerConfig::builder(ISSUER).pushed_request_lifetime(bad).build().unwrap_err();
        assert_eq!(refused, ConfigError::Lifetime("pushed_request_lifetime"));
    }
    assert!(ServerConfig::builder(ISSUER).pushed_request_lifetime(Duration::seconds(599)).build().is_ok());
}

// ---- PAR-05: required per server and per client; metadata ----

#[test]
fn par05_a_server_that_requires_pushed_requests_refuses_plain_ones() {
    let fx = fixture_with(ServerConfig::builder(ISSUER).require_pushed_requests().build().unwrap());
    let (error, response) = fx.authorize_error(&app_query(""));
    assert!(error.is_redirectable());
    let location = response.location().unwrap();
    assert!(location.starts_with("http://127.0.0.1:5000/cb?"), "{location}");
    assert_eq!(query_param(location, "error").as_deref(), Some("invalid_request"));
    assert_eq!(query_param(location, "state").as_deref(), Some("st8"));
    // An unknown client or redirect URI is still an error page, never a redirect.
    assert_error_page(&fx, &app_query("").replace("127.0.0.1%3A5000%2Fcb", "evil.example%2Fcb"));
    // Pushed, it works.
    let uri = pushed_uri(&fx, "");
    assert!(query_param(approve(&fx, &load_query("app", &uri)).location().unwrap(), "code").is_some());
    let metadata = json(&fx.server.metadata());
    assert_eq!(metadata["require_pushed_authorization_requests"], true);
}

#[test]
fn par05_a_client_that_requires_pushed_requests_gets_none_of_the_plain_kind() {
    let fx = fixture();
    fx.store.insert_client(
        Client::public("strict")
            .redirect_uri("http://127.0.0.1/cb")
            .grant_types([GrantType::AuthorizationCode])
            .scope("read")
            .require_pushed_requests()
            .build()
            .unwrap(),
    );
    let plain = app_query("&scope=read").replace("client_id=app", "client_id=strict");
    let (_, response) = fx.authorize_error(&plain);
    assert_eq!(query_param(response.location().unwrap(), "error").as_deref(), Some("invalid_request"));
    let pushed = push(&fx, &plain, None);
    assert_eq!(pushed.status(), 201);
    let uri = json(&pushed)["request_uri"].as_str().unwrap().to_owned();
    assert!(query_param(approve(&fx, &load_query("strict", &uri)).location().unwrap(), "code").is_some());
    // Other clients are not affected.
    assert!(matches!(fx.authorize(&app_query("")), AuthorizeOutcome::Consent(_)));
    // The requirement survives the stored form.
    let stored = serde_json::to_string(
        &block_on(oauth21::Store::client(&*fx.store, &oauth21::ClientId::new("strict").unwrap())).unwrap().unwrap(),
    )
    .unwrap();
    assert!(stored.contains(r#""require_pushed_requests":true"#), "{stored}");
}

#[test]
fn par05_metadata_lists_the_endpoint_and_the_requirement() {
    let fx = fixture();
    let metadata = json(&fx.server.metadata());
    assert_eq!(metadata["pushed_authorization_request_endpoint"], "https://as.example/par");
    assert_eq!(metadata["require_pushed_authorization_requests"], false);
    let off = fixture_with(ServerConfig::builder(ISSUER).without_pushed_requests().build().unwrap());
    let metadata = json(&off.server.metadata());
    assert!(metadata.get("pushed_authorization_request_endpoint").is_none());
    assert_eq!(metadata["require_pushed_authorization_requests"], false);
    assert_eq!(push(&off, &app_push_body(""), None).status(), 404);
}

#[test]
fn ca05_a_private_key_jwt_client_pushes_with_an_assertion_once() {
    let fx = fixture();
    fx.store.insert_client(
        Client::private_key_jwt("keyed-web", client_keys(&[&jwt_client_key()]))
            .redirect_uri("https://keyed.example/cb")
            .scope("read")
            .build()
            .unwrap(),
    );
    let now = oauth21::Clock::now(&*fx.clock).unix_timestamp();
    let assertion = sign_assertion(jwt_client_key(), &assertion_claims("keyed-web", now));
    let body = format!(
        "response_type=code&scope=read&state=s&code_challenge={CHALLENGE}&code_challenge_method=S256&{}",
        assertion_params(&assertion)
    );
    let response = push(&fx, &body, None);
    assert_eq!(response.status(), 201, "{}", String::from_utf8_lossy(response.body()));
    // The same assertion again is a replay; with a secret beside it, two methods.
    assert_eq!(error_of(&push(&fx, &body, None)), "invalid_client");
    let fresh = sign_assertion(jwt_client_key(), &assertion_claims("keyed-web", now));
    let both = format!("{}&client_secret=whatever-it-may-be", body.replace(&assertion, &fresh));
    assert_eq!(error_of(&push(&fx, &both, None)), "invalid_request");
    // A malformed assertion is refused, and reported as at the token endpoint.
    fx.events.take();
    let garbage = format!("response_type=code&{}", assertion_params("not-a-jwt"));
    assert_eq!(error_of(&push(&fx, &garbage, None)), "invalid_client");
    let events = fx.events.take();
    assert!(
        events.iter().any(|e| matches!(
            e,
            oauth21::hooks::SecurityEvent::ClientAuthenticationFailed {
                reason: oauth21::client::AuthFailure::InvalidAssertion,
                ..
            }
        )),
        "{events:?}"
    );
}

#[test]
fn par06_a_consent_held_past_the_completion_window_cannot_complete() {
    let fx = fixture();
    let uri = pushed_uri(&fx, "");
    let consent = fx.consent(&load_query("app", &uri));
    // Held in memory by the host past expires_in plus the 10-minute window: its claims would
    // have ended, so completing is refused outright, approve and deny alike.
    fx.clock.advance(Duration::seconds(60) + Duration::minutes(10));
    let approved = block_on(fx.server.approve(&consent, Approval::new(Subject::new("alice").unwrap()))).unwrap();
    assert!(approved.grant_id().is_none());
    assert_eq!(query_param(approved.response().location().unwrap(), "error").as_deref(), Some("invalid_request"));
    let denied = block_on(fx.server.deny(&consent));
    assert_eq!(query_param(denied.location().unwrap(), "error").as_deref(), Some("invalid_request"));
}
