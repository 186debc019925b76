//! Scenario tests for the authorization endpoint: AZ-01..AZ-15, PK-02..PK-04, SEC-05, SEC-08,
//! and the bad-input classes 1 (redirect URI bypasses), 2 (open redirect), 3 (parser crashes),
//! 6 (PKCE downgrade) and 13 (duplicates, query + body, empty values).
//!
//! Everything goes through `Server::authorize` (then `approve`, `deny` or the token endpoint
//! where the flow needs them) on the shared fixture: `app` is public with the single loopback
//! redirect URI `http://127.0.0.1/cb`; `web` is confidential with `https://web.example/cb` and
//! `https://web.example/cb?tenant=1` and no default scope.
//!
//! Two shapes of failure are asserted throughout:
//! - an error page: not redirectable, status 400 (405 for a wrong method), no `Location`;
//! - an error redirect: 302 (303 after a POST) to the validated redirect URI with `error`,
//!   `iss`, the echoed `state`, an `error_description` in the allowed charset, no fragment.

mod common;
use common::*;

use oauth21::ParamError;
use oauth21::error::is_valid_description;
use oauth21::pkce::PkceError;
use oauth21::{
    Approval, ApprovalError, AuthorizeError, AuthorizeOutcome, Client, ClientSecret, ConsentRequest, GrantType, Method,
    Request, Response, Scope, Subject,
};
use proptest::prelude::*;
use time::Duration;

// ---------------------------------------------------------------------------------------------
// Helpers
// ---------------------------------------------------------------------------------------------

/// An authorization query as named, decoded parameters, so a test can replace, drop or repeat
/// one; `encode` form-encodes it. `Query::app()` / `Query::web()` are the same requests as
/// `app_query("")` / `web_query("")`.
#[derive(Clone, Debug)]
struct Query(Vec<(&'static str, String)>);

impl Query {
    fn app() -> Self {
        Self::of(&[
            ("response_type", "code"),
            ("client_id", "app"),
            ("redirect_uri", "http://127.0.0.1:5000/cb"),
            ("state", "st8"),
            ("code_challenge", CHALLENGE),
            ("code_challenge_method", "S256"),
        ])
    }

    fn web() -> Self {
        Self::of(&[
            ("response_type", "code"),
            ("client_id", "web"),
            ("redirect_uri", "https://web.example/cb"),
            ("state", "st8"),
            ("scope", "read"),
            ("code_challenge", CHALLENGE),
            ("code_challenge_method", "S256"),
        ])
    }

    fn of(pairs: &[(&'static str, &str)]) -> Self {
        Self(pairs.iter().map(|(n, v)| (*n, (*v).to_owned())).collect())
    }

    /// Replaces the first `name` (or adds it).
    fn set(mut self, name: &'static str, value: &str) -> Self {
        match self.0.iter_mut().find(|(n, _)| *n == name) {
            Some(pair) => pair.1 = value.to_owned(),
            None => self.0.push((name, value.to_owned())),
        }
        self
    }

    /// Drops every `name`.
    fn without(mut self, name: &'static str) -> Self {
        self.0.retain(|(n, _)| *n != name);
        self
    }

    /// Adds another `name`, keeping any already there (for repeats).
    fn also(mut self, name: &'static str, value: &str) -> Self {
        self.0.push((name, value.to_owned()));
        self
    }

    fn encode(&self) -> String {
        serde_urlencoded::to_string(&self.0).expect("form-encodable")
    }
}

fn run(fx: &Fixture, request: &Request<'_>) -> AuthorizeOutcome {
    block_on(fx.server.authorize(request))
}

/// The outcome of POSTing `body` as a form to the authorization endpoint.
fn post(fx: &Fixture, body: &str) -> AuthorizeOutcome {
    run(fx, &Request::form_post(body.as_bytes()))
}

fn consent_of(outcome: AuthorizeOutcome) -> ConsentRequest {
    match outcome {
        AuthorizeOutcome::Consent(c) => c,
        AuthorizeOutcome::Error { error, .. } => panic!("expected consent, got {error:?}"),
        _ => unreachable!("a variant this code does not know"),
    }
}

fn error_of(outcome: AuthorizeOutcome) -> (AuthorizeError, Response) {
    match outcome {
        AuthorizeOutcome::Error { error, response } => (error, response),
        AuthorizeOutcome::Consent(c) => panic!("expected an error, got consent for {}", c.redirect_uri()),
        _ => unreachable!("a variant this code does not know"),
    }
}

fn alice() -> Subject {
    Subject::new("alice").unwrap()
}

/// Approves everything `consent` asks for, as alice.
fn approve(fx: &Fixture, consent: &ConsentRequest) -> Response {
    block_on(fx.server.approve(consent, Approval::new(alice()))).expect("approval within the request").into_response()
}

/// Every decoded query parameter of `url`, in order.
fn all_params(url: &str) -> Vec<(String, String)> {
    let query = url.split_once('?').map_or("", |(_, q)| q);
    serde_urlencoded::from_str(query).expect("a form-encoded query")
}

fn count_param(url: &str, name: &str) -> usize {
    all_params(url).iter().filter(|(n, _)| n == name).count()
}

/// Asserts a non-redirected error page with `status` (400 except for a wrong method).
#[track_caller]
fn assert_page(error: AuthorizeError, response: &Response, status: u16) {
    assert!(!error.is_redirectable(), "{error:?} must not be redirectable");
    assert_eq!(response.status(), status, "{error:?}");
    assert_eq!(response.location(), None, "{error:?} must have no Location");
    assert!(!response.is_redirect(), "{error:?}");
}

/// GETs `query`, asserts a 400 error page and returns the error.
#[track_caller]
fn page(fx: &Fixture, query: &str) -> AuthorizeError {
    let (error, response) = fx.authorize_error(query);
    assert_page(error, &response, 400);
    error
}

/// Asserts an error redirect with `status` carrying `code` and `iss`, no fragment, and a
/// description (if any) in the allowed charset; returns the Location.
#[track_caller]
fn assert_error_redirect(error: AuthorizeError, response: &Response, status: u16, code: &str) -> String {
    assert!(error.is_redirectable(), "{error:?} must be redirectable");
    assert_eq!(error.code().as_str(), code, "{error:?}");
    assert_eq!(response.status(), status, "{error:?}");
    let location = response.location().expect("an error redirect has a Location").to_owned();
    assert_eq!(query_param(&location, "error").as_deref(), Some(code), "{location}");
    assert_eq!(query_param(&location, "iss").as_deref(), Some(ISSUER), "{location}");
    assert_eq!(query_param(&location, "code"), None, "no code with an error: {location}");
    assert!(!location.contains('#'), "{location}");
    if let Some(description) = query_param(&location, "error_description") {
        assert!(is_valid_description(&description), "{description:?}");
    }
    location
}

/// GETs `query`, asserts a 302 error redirect carrying `code`; returns the error and Location.
#[track_caller]
fn redirected(fx: &Fixture, query: &str, code: &str) -> (AuthorizeError, String) {
    let (error, response) = fx.authorize_error(query);
    let location = assert_error_redirect(error, &response, 302, code);
    (error, location)
}

/// Whether `uri` is `http://127.0.0.1/cb` or `http://127.0.0.1:{port}/cb` with a valid port:
/// the only targets `app` may ever be redirected to.
fn is_app_target(uri: &str) -> bool {
    let Some(middle) = uri.strip_prefix("http://127.0.0.1").and_then(|r| r.strip_suffix("/cb")) else {
        return false;
    };
    match middle.strip_prefix(':') {
        None => middle.is_empty(),
        Some(port) => {
            (1..=5).contains(&port.len())
                && port.bytes().all(|b| b.is_ascii_digit())
                && port.parse::<u32>().is_ok_and(|p| p <= 65535)
        }
    }
}

// ---------------------------------------------------------------------------------------------
// AZ-01: methods, unknown parameters, POST bodies
// ---------------------------------------------------------------------------------------------

#[test]
fn az01_get_leads_to_consent_and_approval_answers_302_with_code() {
    let fx = fixture();
    let consent = fx.consent(&app_query(""));
    assert_eq!(consent.client().id().as_str(), "app");
    assert_eq!(consent.redirect_uri(), "http://127.0.0.1:5000/cb");
    assert_eq!(consent.state(), Some("st8"));
    assert_eq!(consent.scope().to_string(), "read");

    let response = approve(&fx, &consent);
    assert_eq!(response.status(), 302);
    let location = response.location().unwrap();
    assert!(location.starts_with("http://127.0.0.1:5000/cb?code="), "{location}");
    assert_eq!(query_param(location, "state").as_deref(), Some("st8"));
    assert_eq!(query_param(location, "iss").as_deref(), Some(ISSUER));
}

#[test]
fn az01_post_form_body_works_and_approval_answers_303() {
    let fx = fixture();
    let body = app_query("");
    let consent = consent_of(post(&fx, &body));
    assert_eq!(consent.redirect_uri(), "http://127.0.0.1:5000/cb");
    assert_eq!(consent.state(), Some("st8"));

    let response = approve(&fx, &consent);
    assert_eq!(response.status(), 303, "303 See Other after a POST (SEC-05)");
    let code = query_param(response.location().unwrap(), "code").unwrap();
    // The code from a POSTed request is as good as one from a GET.
    let token = fx.token(&app_redeem_body(&code), None);
    assert_eq!(token.status(), 200, "{}", String::from_utf8_lossy(token.body()));
}

#[test]
fn az01_post_content_type_with_charset_is_a_form() {
    let fx = fixture();
    let body = app_query("");
    let request = Request::post(body.as_bytes()).with_content_type(b"Application/X-WWW-Form-Urlencoded; charset=UTF-8");
    consent_of(run(&fx, &request));
}

#[test]
fn az01_other_methods_get_405_error_page() {
    let fx = fixture();
    let query = app_query("");
    // `Method::from_name` is case-sensitive, so "get" is not GET.
    for name in ["PUT", "DELETE", "PATCH", "HEAD", "OPTIONS", "get", "post"] {
        let method = Method::from_name(name);
        assert_eq!(method, Method::Other, "{name}");
        let request = Request::new(method).with_query(query.as_bytes()).with_body(query.as_bytes());
        let (error, response) = error_of(run(&fx, &request));
        assert_eq!(error, AuthorizeError::MethodNotAllowed, "{name}");
        assert_page(error, &response, 405);
        let allow = response.header("Allow").expect("405 carries Allow");
        assert!(allow.contains("GET") && allow.contains("POST"), "{allow}");
    }
}

#[test]
fn az01_unknown_parameters_are_ignored() {
    let fx = fixture();
    // Unknown names may even repeat: only defined parameters must be unique (AZ-02).
    let query = app_query("&foo=bar&prompt=login&nonce=n-0S6&foo=again&%E2%82%AC=%E2%82%AC&empty=");
    let consent = fx.consent(&query);
    let location = approve(&fx, &consent).location().unwrap().to_owned();
    let names: Vec<String> = all_params(&location).into_iter().map(|(n, _)| n).collect();
    assert_eq!(names, ["code", "state", "iss"], "unknown parameters are not reflected: {location}");
}

#[test]
fn az01_post_without_form_content_type_gets_error_page() {
    let fx = fixture();
    let body = app_query("");
    let missing = Request::post(body.as_bytes());
    let json = Request::post(body.as_bytes()).with_content_type(b"application/json");
    let multipart = Request::post(body.as_bytes()).with_content_type(b"multipart/form-data; boundary=x");
    let text = Request::post(body.as_bytes()).with_content_type(b"text/plain");
    for request in [missing, json, multipart, text] {
        let (error, response) = error_of(run(&fx, &request));
        assert_eq!(error, AuthorizeError::UnsupportedContentType, "{request:?}");
        assert_page(error, &response, 400);
    }
}

/// Class 13: parameters in both query and body.
#[test]
fn az01_post_with_defined_parameters_also_in_the_query_gets_error_page() {
    let fx = fixture();
    let body = app_query("");
    for query in [
        &b"state=other"[..],
        b"client_id=app",
        b"redirect_uri=https%3A%2F%2Fattacker.test%2Fcb",
        b"response_type=token",
        b"scope=write",
        b"code_challenge_method=plain",
        // The same value in both places is still two sources for one parameter.
        b"code_challenge=E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM",
    ] {
        let request = Request::form_post(body.as_bytes()).with_query(query);
        let (error, response) = error_of(run(&fx, &request));
        assert_eq!(error, AuthorizeError::ParametersInQueryAndBody, "{}", String::from_utf8_lossy(query));
        assert_page(error, &response, 400);
    }
    // Unknown parameters in the query of a POST are ignored like any other unknown parameter.
    let request = Request::form_post(body.as_bytes()).with_query(b"foo=bar");
    consent_of(run(&fx, &request));
}

// ---------------------------------------------------------------------------------------------
// AZ-02: repeated parameters, empty values (class 13)
// ---------------------------------------------------------------------------------------------

#[test]
fn az02_repeated_client_id_gets_error_page() {
    let fx = fixture();
    // Same value or different value: either way the client is ambiguous.
    for extra in ["&client_id=app", "&client_id=web"] {
        assert_eq!(page(&fx, &app_query(extra)), AuthorizeError::RepeatedClientId, "{extra}");
    }
}

#[test]
fn az02_repeated_redirect_uri_gets_error_page() {
    let fx = fixture();
    let repeats =
        ["&redirect_uri=http%3A%2F%2F127.0.0.1%3A5000%2Fcb", "&redirect_uri=https%3A%2F%2Fattacker.test%2Fcb"];
    for extra in repeats {
        assert_eq!(page(&fx, &app_query(extra)), AuthorizeError::RepeatedRedirectUri, "{extra}");
    }
    let web = Query::web().also("redirect_uri", "https://web.example/cb?tenant=1").encode();
    assert_eq!(page(&fx, &web), AuthorizeError::RepeatedRedirectUri);
}

#[test]
fn az02_other_repeated_parameters_get_invalid_request_redirect() {
    let fx = fixture();
    let parameters = [
        ("response_type", "code"),
        ("scope", "read"),
        ("code_challenge", CHALLENGE),
        ("code_challenge_method", "S256"),
    ];
    for (name, value) in parameters {
        // Repeat with the same value: a repeat is refused even when it is harmless.
        let query = Query::app().set(name, value).also(name, value).encode();
        let (error, location) = redirected(&fx, &query, "invalid_request");
        assert!(matches!(error, AuthorizeError::InvalidRequest(_)), "{name}: {error:?}");
        assert!(location.starts_with("http://127.0.0.1:5000/cb?"), "{location}");
        assert_eq!(query_param(&location, "state").as_deref(), Some("st8"), "{name}");
    }
    assert_eq!(fx.store.counts().0, 0);
}

#[test]
fn az02_repeated_state_is_refused_and_not_echoed() {
    let fx = fixture();
    for second in ["st8", "other"] {
        let query = Query::app().also("state", second).encode();
        let (error, location) = redirected(&fx, &query, "invalid_request");
        assert!(matches!(error, AuthorizeError::InvalidRequest(_)), "{error:?}");
        assert_eq!(count_param(&location, "state"), 0, "an ambiguous state is not echoed: {location}");
    }
}

#[test]
fn az02_empty_state_counts_as_omitted() {
    let fx = fixture();
    let consent = fx.consent(&Query::app().set("state", "").encode());
    assert_eq!(consent.state(), None);
    let location = approve(&fx, &consent).location().unwrap().to_owned();
    assert_eq!(count_param(&location, "state"), 0, "{location}");
    assert!(!location.contains("state"), "{location}");
}

#[test]
fn az02_empty_scope_counts_as_omitted() {
    let fx = fixture();
    // `app` has a default scope: an empty scope gets it.
    let consent = fx.consent(&app_query("&scope="));
    assert_eq!(consent.scope().to_string(), "read");
    // `web` has none: an empty scope is a missing scope.
    let query = Query::web().set("scope", "").encode();
    let (error, _) = redirected(&fx, &query, "invalid_scope");
    assert!(matches!(error, AuthorizeError::InvalidScope(_)), "{error:?}");
}

#[test]
fn az02_empty_client_id_counts_as_omitted() {
    let fx = fixture();
    let query = Query::app().set("client_id", "").encode();
    assert_eq!(page(&fx, &query), AuthorizeError::MissingClientId);
}

#[test]
fn az02_empty_redirect_uri_counts_as_omitted() {
    let fx = fixture();
    // One registered URI: omitted is fine and means that URI.
    let consent = fx.consent(&Query::app().set("redirect_uri", "").encode());
    assert_eq!(consent.redirect_uri(), "http://127.0.0.1/cb");
    // Two registered URIs: omitted is an error page.
    let query = Query::web().set("redirect_uri", "").encode();
    assert_eq!(page(&fx, &query), AuthorizeError::RedirectUriRequired);
}

#[test]
fn az02_empty_response_type_and_method_count_as_omitted() {
    let fx = fixture();
    let (error, _) = redirected(&fx, &Query::app().set("response_type", "").encode(), "invalid_request");
    assert_eq!(error, AuthorizeError::InvalidRequest("response_type is required"));
    let (error, _) = redirected(&fx, &Query::app().set("code_challenge_method", "").encode(), "invalid_request");
    assert_eq!(error, AuthorizeError::Pkce(PkceError::MissingMethod));
    let (error, _) = redirected(&fx, &Query::app().set("code_challenge", "").encode(), "invalid_request");
    assert_eq!(error, AuthorizeError::Pkce(PkceError::MissingChallenge));
}

/// An empty copy is an omitted parameter, so it does not make the other copy a repeat.
#[test]
fn az02_an_empty_copy_of_a_parameter_is_not_a_repeat() {
    let fx = fixture();
    let consent = fx.consent(&Query::app().set("state", "").also("state", "kept").encode());
    assert_eq!(consent.state(), Some("kept"));
}

// ---------------------------------------------------------------------------------------------
// AZ-03: client_id required and registered
// ---------------------------------------------------------------------------------------------

#[test]
fn az03_missing_client_id_gets_error_page() {
    let fx = fixture();
    assert_eq!(page(&fx, &Query::app().without("client_id").encode()), AuthorizeError::MissingClientId);
    // Even with a redirect URI that another client registered.
    let query = Query::web().without("client_id").encode();
    assert_eq!(page(&fx, &query), AuthorizeError::MissingClientId);
}

#[test]
fn az03_unknown_client_gets_error_page_even_with_a_registered_redirect_uri() {
    let fx = fixture();
    for (client, uri) in [
        ("evil", "https://web.example/cb"),
        ("evil", "http://127.0.0.1:5000/cb"),
        ("evil", "https://attacker.test/cb"),
        // Client ids are case-sensitive: `APP` is not `app`.
        ("APP", "http://127.0.0.1:5000/cb"),
        ("app ", "http://127.0.0.1:5000/cb"),
    ] {
        let query = Query::app().set("client_id", client).set("redirect_uri", uri).encode();
        assert_eq!(page(&fx, &query), AuthorizeError::UnknownClient, "{client:?} {uri}");
    }
    assert_eq!(fx.store.counts().0, 0);
}

#[test]
fn az03_malformed_client_id_gets_error_page() {
    let fx = fixture();
    let long = "a".repeat(256);
    for client in ["\u{1}", "app\u{1}", "\u{7f}", "caf\u{e9}", "app\n", long.as_str()] {
        let query = Query::web().set("client_id", client).encode();
        assert_eq!(page(&fx, &query), AuthorizeError::MissingClientId, "{client:?}");
    }
    // The raw percent escape from the brief, to be sure it goes through decoding.
    let query = "response_type=code&client_id=%01&redirect_uri=https%3A%2F%2Fweb.example%2Fcb&state=st8";
    assert_eq!(page(&fx, query), AuthorizeError::MissingClientId);
}

// ---------------------------------------------------------------------------------------------
// AZ-04 / AZ-05: exact redirect URI matching, loopback ports (class 1)
// ---------------------------------------------------------------------------------------------

/// Class 1 against `app` (registered `http://127.0.0.1/cb`, loopback any port): every change
/// other than the port is refused, with an error page and no Location.
#[test]
fn az04_redirect_uri_tricks_against_loopback_client_get_error_page() {
    let fx = fixture();
    for uri in [
        // case
        "http://127.0.0.1:5000/CB",
        "HTTP://127.0.0.1:5000/cb",
        "Http://127.0.0.1/cb",
        // path
        "http://127.0.0.1:5000/cb/",
        "http://127.0.0.1/cb/",
        "http://127.0.0.1:5000/cb2",
        "http://127.0.0.1:5000/c",
        "http://127.0.0.1:5000/",
        "http://127.0.0.1:5000",
        "http://127.0.0.1:5000//cb",
        "http://127.0.0.1:5000/./cb",
        "http://127.0.0.1:5000/cb/../cb",
        "http://127.0.0.1:5000/cb;x",
        // query and fragment
        "http://127.0.0.1:5000/cb?x=1",
        "http://127.0.0.1:5000/cb?",
        "http://127.0.0.1/cb?x=1",
        "http://127.0.0.1:5000/cb#x",
        "http://127.0.0.1:5000/cb#",
        "http://127.0.0.1/cb#x",
        // percent-encoding
        "http://127.0.0.1:5000/%63b",
        "http://127.0.0.1/%63b",
        "http://127.0.0.1:5000/c%62",
        "http://127.0.0.1:5000/cb%2F",
        "http://127.0.0.1:5000/cb%00",
        "http://%31%32%37.0.0.1:5000/cb",
        // userinfo
        "http://127.0.0.1:80@attacker.test/cb",
        "http://127.0.0.1@attacker.test/cb",
        "http://attacker.test@127.0.0.1:5000/cb",
        "http://user:pw@127.0.0.1/cb",
        "http://127.0.0.1:5000\\@attacker.test/cb",
        // host
        "http://localhost:5000/cb",
        "http://localhost/cb",
        "http://[::1]:5000/cb",
        "http://[::1]/cb",
        "http://127.0.0.2:5000/cb",
        "http://127.1:5000/cb",
        "http://2130706433:5000/cb",
        "http://0x7f.0.0.1:5000/cb",
        "http://127.0.0.1.:5000/cb",
        "http://127.0.0.1.attacker.test/cb",
        "http://127.0.0.1\\.attacker.test/cb",
        // scheme
        "https://127.0.0.1:5000/cb",
        "https://127.0.0.1/cb",
        "//127.0.0.1:5000/cb",
        "127.0.0.1:5000/cb",
        // whitespace and controls
        " http://127.0.0.1:5000/cb",
        "http://127.0.0.1:5000/cb ",
        "http://127.0.0.1:5000/cb\n",
        "http://127.0.0.1:5000/c\tb",
        "http://127.0.0.1:5000/cb\u{0}",
        // somewhere else altogether
        "https://attacker.test/cb",
        "https://web.example/cb",
    ] {
        let query = Query::app().set("redirect_uri", uri).encode();
        assert_eq!(page(&fx, &query), AuthorizeError::UnregisteredRedirectUri, "{uri:?}");
    }
    assert_eq!(fx.store.counts().0, 0);
}

/// Class 1 against `web` (two https URIs, one with a query): exact string comparison only.
#[test]
fn az04_redirect_uri_tricks_against_https_client_get_error_page() {
    let fx = fixture();
    for uri in [
        // case
        "https://WEB.example/cb",
        "https://web.EXAMPLE/cb",
        "https://web.example/CB",
        "HTTPS://web.example/cb",
        // path
        "https://web.example/cb/",
        "https://web.example/c",
        "https://web.example/cbx",
        "https://web.example/",
        "https://web.example",
        "https://web.example/cb/../cb",
        "https://web.example//cb",
        // query and fragment
        "https://web.example/cb?x=1",
        "https://web.example/cb?",
        "https://web.example/cb?tenant=2",
        "https://web.example/cb?TENANT=1",
        "https://web.example/cb?tenant=1&x=1",
        "https://web.example/cb?x=1&tenant=1",
        "https://web.example/cb?tenant=%31",
        "https://web.example/cb?tenant=1#x",
        "https://web.example/cb#x",
        "https://web.example/cb#",
        // percent-encoding
        "https://web.example/%63b",
        "https://web.example/c%62",
        "https://web.%65xample/cb",
        // port: https with its default port is still a different string
        "https://web.example:443/cb",
        "https://web.example:8443/cb",
        // host
        "https://web.example./cb",
        "https://web.example.attacker.test/cb",
        "https://attacker.test/web.example/cb",
        "https://web.example@attacker.test/cb",
        "https://attacker.test@web.example/cb",
        "https://web.example%40attacker.test/cb",
        // scheme downgrade
        "http://web.example/cb",
        "//web.example/cb",
        // whitespace
        "https://web.example/cb ",
        " https://web.example/cb",
    ] {
        let query = Query::web().set("redirect_uri", uri).encode();
        assert_eq!(page(&fx, &query), AuthorizeError::UnregisteredRedirectUri, "{uri:?}");
    }
    assert_eq!(fx.store.counts().0, 0);
}

#[test]
fn az04_each_registered_uri_matches_exactly() {
    let fx = fixture();
    for uri in ["https://web.example/cb", "https://web.example/cb?tenant=1"] {
        let consent = fx.consent(&Query::web().set("redirect_uri", uri).encode());
        assert_eq!(consent.redirect_uri(), uri);
    }
}

#[test]
fn az05_loopback_matches_any_port_and_the_code_goes_to_that_port() {
    let fx = fixture();
    let uris =
        ["http://127.0.0.1:5000/cb", "http://127.0.0.1:1/cb", "http://127.0.0.1:65535/cb", "http://127.0.0.1/cb"];
    for uri in uris {
        let consent = fx.consent(&Query::app().set("redirect_uri", uri).encode());
        assert_eq!(consent.redirect_uri(), uri);
        let location = approve(&fx, &consent).location().unwrap().to_owned();
        assert!(location.starts_with(&format!("{uri}?code=")), "{uri} -> {location}");
    }
}

#[test]
fn az05_loopback_port_must_be_a_valid_port() {
    let fx = fixture();
    for port in [":", ":65536", ":99999", ":123456", ":-1", ":+5000", ":5000a", ":0x1388", ": 5000", "::5000"] {
        let uri = format!("http://127.0.0.1{port}/cb");
        let query = Query::app().set("redirect_uri", &uri).encode();
        assert_eq!(page(&fx, &query), AuthorizeError::UnregisteredRedirectUri, "{uri:?}");
    }
}

/// The any-port rule covers the port only: `localhost` and `[::1]` do not stand in for a
/// registered `127.0.0.1` (RFC 8252 §7.3), and `localhost` is never any-port by default.
#[test]
fn az05_other_loopback_hosts_do_not_stand_in_for_127_0_0_1() {
    let fx = fixture();
    for uri in ["http://localhost:5000/cb", "http://localhost/cb", "http://[::1]:5000/cb", "http://[::1]/cb"] {
        let query = Query::app().set("redirect_uri", uri).encode();
        assert_eq!(page(&fx, &query), AuthorizeError::UnregisteredRedirectUri, "{uri}");
    }
}

// ---------------------------------------------------------------------------------------------
// AZ-06: redirect_uri required only when several are registered
// ---------------------------------------------------------------------------------------------

#[test]
fn az06_omitted_redirect_uri_with_several_registered_gets_error_page() {
    let fx = fixture();
    let query = Query::web().without("redirect_uri").encode();
    assert_eq!(page(&fx, &query), AuthorizeError::RedirectUriRequired);
    // Still an error page when the rest of the request is broken too.
    let query = Query::web().without("redirect_uri").set("response_type", "token").encode();
    assert_eq!(page(&fx, &query), AuthorizeError::RedirectUriRequired);
}

#[test]
fn az06_omitted_redirect_uri_with_one_registered_uses_it() {
    let fx = fixture();
    let consent = fx.consent(&Query::app().without("redirect_uri").encode());
    assert_eq!(consent.redirect_uri(), "http://127.0.0.1/cb");
    let location = approve(&fx, &consent).location().unwrap().to_owned();
    assert!(location.starts_with("http://127.0.0.1/cb?code="), "{location}");
}

// ---------------------------------------------------------------------------------------------
// AZ-08: nothing is redirected before client and redirect URI are validated (class 2)
// ---------------------------------------------------------------------------------------------

/// Class 2: requests that are wrong in several ways fail on the client or the redirect URI
/// first, so the user sees a page and the attacker's URI gets nothing.
#[test]
fn az08_errors_before_redirect_uri_validation_are_error_pages() {
    let fx = fixture();
    let attacker = "https://attacker.test/cb";
    let cases = [
        (
            Query::app().set("response_type", "token").set("redirect_uri", attacker),
            AuthorizeError::UnregisteredRedirectUri,
        ),
        (Query::app().without("response_type").set("redirect_uri", attacker), AuthorizeError::UnregisteredRedirectUri),
        (Query::app().without("code_challenge").set("redirect_uri", attacker), AuthorizeError::UnregisteredRedirectUri),
        (
            Query::app().set("code_challenge_method", "plain").set("redirect_uri", attacker),
            AuthorizeError::UnregisteredRedirectUri,
        ),
        (Query::app().set("scope", "admin").set("redirect_uri", attacker), AuthorizeError::UnregisteredRedirectUri),
        (Query::app().also("state", "x").set("redirect_uri", attacker), AuthorizeError::UnregisteredRedirectUri),
        (Query::web().set("response_type", "token").without("redirect_uri"), AuthorizeError::RedirectUriRequired),
        (Query::app().set("response_type", "token").without("client_id"), AuthorizeError::MissingClientId),
        (Query::app().set("response_type", "token").set("client_id", "evil"), AuthorizeError::UnknownClient),
        (Query::app().also("response_type", "token").also("client_id", "app"), AuthorizeError::RepeatedClientId),
        (
            Query::app().also("response_type", "token").also("redirect_uri", "http://127.0.0.1/cb"),
            AuthorizeError::RepeatedRedirectUri,
        ),
    ];
    for (query, expected) in cases {
        assert_eq!(page(&fx, &query.encode()), expected, "{query:?}");
    }
}

/// AZ-08: an unknown client can never have an error sent to the redirect URI it names.
#[test]
fn open_redirect_unknown_client_never_redirects() {
    let fx = fixture();
    let query = Query::of(&[
        ("response_type", "token"),
        ("client_id", "evil"),
        ("redirect_uri", "https://attacker.test/cb"),
        ("state", "x"),
    ])
    .encode();
    assert_eq!(page(&fx, &query), AuthorizeError::UnknownClient);
}

/// AZ-08 / SEC-08: a request that cannot be read is an error page, even when it holds a valid
/// client and redirect URI: nothing of it can be trusted.
#[test]
fn open_redirect_unreadable_requests_never_redirect() {
    let fx = fixture();
    let limit = fx.server.config().max_request_bytes();
    let valid = app_query("");
    let oversized = format!("{valid}&pad={}", "x".repeat(limit));
    let cases: Vec<(Vec<u8>, ParamError)> = vec![
        (oversized.into_bytes(), ParamError::TooLarge),
        ([valid.as_bytes(), "&x=\u{e9}&y=".as_bytes(), b"\xff"].concat(), ParamError::InvalidUtf8),
        ([valid.as_bytes(), b"&foo=\xff\xfe"].concat(), ParamError::InvalidUtf8),
        ([valid.as_bytes(), b"&\xc3=1"].concat(), ParamError::InvalidUtf8),
        (format!("{valid}&foo=%ff").into_bytes(), ParamError::InvalidUtf8),
        (format!("{valid}&foo=%C3%28").into_bytes(), ParamError::InvalidUtf8),
        (format!("{valid}&foo=%zz").into_bytes(), ParamError::BadEscape),
        (format!("{valid}&foo=%4").into_bytes(), ParamError::BadEscape),
        (format!("{valid}&foo=%").into_bytes(), ParamError::BadEscape),
        (format!("%{valid}").into_bytes(), ParamError::BadEscape),
        (format!("{valid}&state=100%").into_bytes(), ParamError::BadEscape),
    ];
    for (query, expected) in cases {
        let request = Request::new(Method::Get).with_query(&query);
        let (error, response) = error_of(run(&fx, &request));
        assert_eq!(error, AuthorizeError::Unreadable(expected), "{}", String::from_utf8_lossy(&query));
        assert_page(error, &response, 400);
        // The same bytes as a POST body fail the same way.
        let (error, response) = error_of(run(&fx, &Request::form_post(&query)));
        assert_eq!(error, AuthorizeError::Unreadable(expected));
        assert_page(error, &response, 400);
    }
}

// ---------------------------------------------------------------------------------------------
// AZ-09: response_type
// ---------------------------------------------------------------------------------------------

#[test]
fn az09_missing_response_type_is_invalid_request_redirect() {
    let fx = fixture();
    let (error, location) = redirected(&fx, &Query::app().without("response_type").encode(), "invalid_request");
    assert_eq!(error, AuthorizeError::InvalidRequest("response_type is required"));
    assert!(location.starts_with("http://127.0.0.1:5000/cb?"), "{location}");
    assert_eq!(query_param(&location, "state").as_deref(), Some("st8"));
}

#[test]
fn az09_response_type_other_than_code_is_unsupported_response_type() {
    let fx = fixture();
    let response_types = ["token", "id_token", "code token", "code id_token", "CODE", "Code", "code ", " code", "none"];
    for response_type in response_types {
        let query = Query::app().set("response_type", response_type).encode();
        let (error, location) = redirected(&fx, &query, "unsupported_response_type");
        assert_eq!(error, AuthorizeError::UnsupportedResponseType, "{response_type:?}");
        assert_eq!(query_param(&location, "state").as_deref(), Some("st8"));
    }
    // For a confidential client as well.
    let (error, _) = redirected(&fx, &Query::web().set("response_type", "token").encode(), "unsupported_response_type");
    assert_eq!(error, AuthorizeError::UnsupportedResponseType);
}

#[test]
fn az09_client_without_authorization_code_grant_is_unauthorized_client() {
    let fx = fixture();
    fx.store.insert_client(
        Client::public("legacy")
            .redirect_uri("https://legacy.example/cb")
            .grant_types([GrantType::RefreshToken])
            .scope("read")
            .default_scope("read")
            .build()
            .expect("a public client without the code grant may register a redirect URI"),
    );
    fx.store.insert_client(
        Client::confidential("batch", &ClientSecret::new("batch-secret"))
            .allow_short_secrets()
            .redirect_uri("https://batch.example/cb")
            .grant_types([GrantType::ClientCredentials])
            .scope("read")
            .default_scope("read")
            .build()
            .expect("a client_credentials client may register a redirect URI"),
    );
    for (client, uri) in [("legacy", "https://legacy.example/cb"), ("batch", "https://batch.example/cb")] {
        let query = Query::app().set("client_id", client).set("redirect_uri", uri).encode();
        let (error, location) = redirected(&fx, &query, "unauthorized_client");
        assert_eq!(error, AuthorizeError::UnauthorizedClient, "{client}");
        assert!(location.starts_with(&format!("{uri}?")), "{location}");
        assert_eq!(query_param(&location, "state").as_deref(), Some("st8"));
    }
    assert_eq!(fx.store.counts().0, 0);
}

// ---------------------------------------------------------------------------------------------
// AZ-10: scope
// ---------------------------------------------------------------------------------------------

#[test]
fn az10_scope_outside_the_clients_allowed_is_invalid_scope() {
    let fx = fixture();
    for scope in ["admin", "read admin", "read write admin", "readwrite", "read:all"] {
        let (error, location) = redirected(&fx, &Query::app().set("scope", scope).encode(), "invalid_scope");
        assert!(matches!(error, AuthorizeError::InvalidScope(_)), "{scope:?}: {error:?}");
        assert_eq!(query_param(&location, "state").as_deref(), Some("st8"));
    }
}

#[test]
fn az10_malformed_scope_is_invalid_scope() {
    let fx = fixture();
    for scope in [
        "read  write",
        " read",
        "read ",
        " ",
        "read\"",
        "\"read\"",
        "re\\ad",
        "read\twrite",
        "read\nwrite",
        "r\u{e9}ad",
        "read\u{1}",
    ] {
        let (error, _) = redirected(&fx, &Query::app().set("scope", scope).encode(), "invalid_scope");
        assert_eq!(error, AuthorizeError::InvalidScope("scope is malformed"), "{scope:?}");
    }
}

#[test]
fn az10_omitted_scope_gets_the_default() {
    let fx = fixture();
    let consent = fx.consent(&app_query(""));
    assert_eq!(consent.scope().to_string(), "read");
}

#[test]
fn az10_omitted_scope_without_default_is_invalid_scope() {
    let fx = fixture();
    let (error, location) = redirected(&fx, &Query::web().without("scope").encode(), "invalid_scope");
    assert_eq!(error, AuthorizeError::InvalidScope("scope is required for this client"));
    assert!(location.starts_with("https://web.example/cb?"), "{location}");
}

#[test]
fn az10_scope_is_case_sensitive() {
    let fx = fixture();
    for scope in ["READ", "Read", "read WRITE"] {
        let (error, _) = redirected(&fx, &Query::app().set("scope", scope).encode(), "invalid_scope");
        assert!(matches!(error, AuthorizeError::InvalidScope(_)), "{scope}: {error:?}");
        let (error, _) = redirected(&fx, &Query::web().set("scope", scope).encode(), "invalid_scope");
        assert!(matches!(error, AuthorizeError::InvalidScope(_)), "{scope}: {error:?}");
    }
}

#[test]
fn az10_allowed_scope_is_asked_for_as_requested() {
    let fx = fixture();
    let consent = fx.consent(&Query::app().set("scope", "write read").encode());
    assert_eq!(consent.scope().to_string(), "write read");
    let consent = fx.consent(&Query::web().set("scope", "write").encode());
    assert_eq!(consent.scope().to_string(), "write");
}

// ---------------------------------------------------------------------------------------------
// AZ-11: consent, denial, approval
// ---------------------------------------------------------------------------------------------

#[test]
fn az11_no_code_exists_before_approval() {
    let fx = fixture();
    let consent = fx.consent(&app_query(""));
    assert_eq!(fx.store.counts().0, 0, "authorize alone issues nothing");
    approve(&fx, &consent);
    assert_eq!(fx.store.counts().0, 1);
}

#[test]
fn az11_denial_redirects_access_denied_with_state_and_iss() {
    let fx = fixture();
    let consent = fx.consent(&app_query(""));
    let response = block_on(fx.server.deny(&consent));
    let location = assert_error_redirect(AuthorizeError::AccessDenied, &response, 302, "access_denied");
    assert!(location.starts_with("http://127.0.0.1:5000/cb?"), "{location}");
    assert_eq!(query_param(&location, "state").as_deref(), Some("st8"));
    assert_eq!(fx.store.counts().0, 0, "a denial stores no code");
}

#[test]
fn az11_approval_with_narrower_scope_is_what_the_token_carries() {
    let fx = fixture();
    let consent = fx.consent(&Query::app().set("scope", "read write").encode());
    assert_eq!(consent.scope().to_string(), "read write");
    let approval = Approval::new(alice()).with_scope(Scope::parse("read").unwrap());
    let response = block_on(fx.server.approve(&consent, approval)).unwrap().into_response();
    let code = query_param(response.location().unwrap(), "code").unwrap();

    let token = fx.token(&app_redeem_body(&code), None);
    assert_eq!(token.status(), 200);
    assert_eq!(json(&token)["scope"], "read");
}

#[test]
fn az11_approval_with_wider_scope_is_refused() {
    let fx = fixture();
    let consent = fx.consent(&app_query(""));
    assert_eq!(consent.scope().to_string(), "read");
    // Wider than asked, though allowed for the client; and not allowed at all.
    for scope in ["read write", "write", "admin"] {
        let approval = Approval::new(alice()).with_scope(Scope::parse(scope).unwrap());
        let result = block_on(fx.server.approve(&consent, approval));
        assert_eq!(result.unwrap_err(), ApprovalError::ScopeNotRequested, "{scope}");
    }
    assert_eq!(fx.store.counts().0, 0, "a refused approval stores no code");
}

// ---------------------------------------------------------------------------------------------
// AZ-12: state echoed exactly
// ---------------------------------------------------------------------------------------------

/// States that need encoding on the way back: space, `&`, `=`, `/`, `+`, `%`, `#`, non-ASCII,
/// and surrounding spaces that must not be trimmed.
const TRICKY_STATES: [&str; 5] = ["a b&c=d/\u{e9}", "x+y%20z", " padded ", "#frag?q=1", "\u{20ac}\u{1f600}"];

#[test]
fn az12_state_is_echoed_exactly_in_the_success_redirect() {
    let fx = fixture();
    for state in TRICKY_STATES {
        let consent = fx.consent(&Query::app().set("state", state).encode());
        assert_eq!(consent.state(), Some(state));
        let location = approve(&fx, &consent).location().unwrap().to_owned();
        assert_eq!(query_param(&location, "state").as_deref(), Some(state), "{location}");
        assert_eq!(count_param(&location, "state"), 1, "{location}");
        // Nothing of the state leaks out as parameters or a fragment of its own.
        assert_eq!(query_param(&location, "c"), None, "{location}");
        assert!(!location.contains('#'), "{location}");
    }
}

#[test]
fn az12_state_is_echoed_exactly_in_error_redirects() {
    let fx = fixture();
    for state in TRICKY_STATES {
        let errors = [
            (Query::app().set("state", state).set("response_type", "token"), "unsupported_response_type"),
            (Query::app().set("state", state).without("code_challenge"), "invalid_request"),
            (Query::app().set("state", state).set("scope", "admin"), "invalid_scope"),
            (Query::web().set("state", state).without("scope"), "invalid_scope"),
        ];
        for (query, code) in errors {
            let (_, location) = redirected(&fx, &query.encode(), code);
            assert_eq!(query_param(&location, "state").as_deref(), Some(state), "{location}");
            assert_eq!(count_param(&location, "state"), 1, "{location}");
        }
        let consent = fx.consent(&Query::app().set("state", state).encode());
        let location = block_on(fx.server.deny(&consent)).location().unwrap().to_owned();
        assert_eq!(query_param(&location, "state").as_deref(), Some(state), "{location}");
    }
}

/// A state with line breaks cannot split the Location header.
#[test]
fn az12_state_with_line_breaks_cannot_inject_headers() {
    let fx = fixture();
    let state = "x\r\nSet-Cookie: a=b";
    let consent = fx.consent(&Query::app().set("state", state).encode());
    let location = approve(&fx, &consent).location().unwrap().to_owned();
    assert!(!location.contains(['\r', '\n', ' ']), "{location:?}");
    assert_eq!(query_param(&location, "state").as_deref(), Some(state));
}

#[test]
fn az12_no_state_sent_means_none_returned() {
    let fx = fixture();
    let consent = fx.consent(&Query::app().without("state").encode());
    let location = approve(&fx, &consent).location().unwrap().to_owned();
    assert_eq!(count_param(&location, "state"), 0, "{location}");
    let (_, location) =
        redirected(&fx, &Query::app().without("state").without("response_type").encode(), "invalid_request");
    assert_eq!(count_param(&location, "state"), 0, "{location}");
}

// ---------------------------------------------------------------------------------------------
// AZ-13: iss on every authorization response
// ---------------------------------------------------------------------------------------------

#[test]
fn az13_iss_is_the_issuer_in_the_success_redirect() {
    let fx = fixture();
    let tenant = Query::web().set("redirect_uri", "https://web.example/cb?tenant=1").encode();
    for query in [app_query(""), web_query(""), tenant] {
        let location = approve(&fx, &fx.consent(&query)).location().unwrap().to_owned();
        assert_eq!(query_param(&location, "iss").as_deref(), Some(ISSUER), "{location}");
        assert_eq!(count_param(&location, "iss"), 1, "{location}");
    }
}

#[test]
fn az13_iss_is_the_issuer_in_every_error_redirect() {
    let fx = fixture();
    let cases = [
        (Query::app().without("response_type"), "invalid_request"),
        (Query::app().also("scope", "read").also("scope", "read"), "invalid_request"),
        (Query::app().without("code_challenge"), "invalid_request"),
        (Query::app().set("code_challenge_method", "plain"), "invalid_request"),
        (Query::app().set("code_challenge", "short"), "invalid_request"),
        (Query::app().set("response_type", "token"), "unsupported_response_type"),
        (Query::app().set("scope", "admin"), "invalid_scope"),
        (Query::web().without("scope"), "invalid_scope"),
        (Query::web().set("redirect_uri", "https://web.example/cb?tenant=1").set("scope", "x\"y"), "invalid_scope"),
    ];
    for (query, code) in cases {
        let (_, location) = redirected(&fx, &query.encode(), code);
        assert_eq!(count_param(&location, "iss"), 1, "{location}");
    }
    // The same over POST (303), and for a denial.
    let (error, response) = error_of(post(&fx, &Query::app().set("response_type", "token").encode()));
    assert_error_redirect(error, &response, 303, "unsupported_response_type");
    let response = block_on(fx.server.deny(&fx.consent(&web_query(""))));
    assert_error_redirect(AuthorizeError::AccessDenied, &response, 302, "access_denied");
}

// ---------------------------------------------------------------------------------------------
// AZ-14: response parameters in the query, keeping the registered query; description charset
// ---------------------------------------------------------------------------------------------

#[test]
fn az14_response_parameters_are_in_the_query_never_the_fragment() {
    let fx = fixture();
    let location = approve(&fx, &fx.consent(&app_query(""))).location().unwrap().to_owned();
    assert!(!location.contains('#'), "{location}");
    let names: Vec<String> = all_params(&location).into_iter().map(|(n, _)| n).collect();
    assert_eq!(names, ["code", "state", "iss"], "{location}");

    let (_, location) =
        redirected(&fx, &Query::app().set("response_type", "token").encode(), "unsupported_response_type");
    assert!(location.starts_with("http://127.0.0.1:5000/cb?error="), "{location}");
    let names: Vec<String> = all_params(&location).into_iter().map(|(n, _)| n).collect();
    assert_eq!(names, ["error", "error_description", "state", "iss"], "{location}");
}

#[test]
fn az14_registered_query_is_kept_and_parameters_appended_with_ampersand() {
    let fx = fixture();
    let query = Query::web().set("redirect_uri", "https://web.example/cb?tenant=1").encode();
    let location = approve(&fx, &fx.consent(&query)).location().unwrap().to_owned();
    assert!(location.starts_with("https://web.example/cb?tenant=1&code="), "{location}");
    assert_eq!(query_param(&location, "tenant").as_deref(), Some("1"));
    assert_eq!(location.matches('?').count(), 1, "{location}");

    let errored = Query::web().set("redirect_uri", "https://web.example/cb?tenant=1").set("response_type", "token");
    let (_, location) = redirected(&fx, &errored.encode(), "unsupported_response_type");
    assert!(location.starts_with("https://web.example/cb?tenant=1&error="), "{location}");
    assert_eq!(location.matches('?').count(), 1, "{location}");
}

#[test]
fn az14_error_descriptions_use_only_the_allowed_characters() {
    let fx = fixture();
    let queries = [
        Query::app().without("response_type"),
        Query::app().also("state", "x"),
        Query::app().set("response_type", "token"),
        Query::app().without("code_challenge"),
        Query::app().without("code_challenge_method"),
        Query::app().set("code_challenge_method", "plain"),
        Query::app().set("code_challenge", "a\"b\\c"),
        Query::app().set("scope", "a\"b"),
        Query::app().set("scope", "admin"),
        Query::web().without("scope"),
    ];
    for query in queries {
        let (error, response) = fx.authorize_error(&query.encode());
        let location = response.location().expect("a redirect");
        let description = query_param(location, "error_description").expect("a description");
        // The queries carry `"` and `\`, which a description echoing input would leak.
        assert!(is_valid_description(&description), "{error:?}: {description:?}");
    }
    let description =
        query_param(block_on(fx.server.deny(&fx.consent(&app_query("")))).location().unwrap(), "error_description");
    assert!(is_valid_description(&description.unwrap()));
}

// ---------------------------------------------------------------------------------------------
// AZ-15: codes
// ---------------------------------------------------------------------------------------------

#[test]
fn az15_codes_are_43_base64url_characters_and_distinct() {
    let fx = fixture();
    let first = fx.code(&app_query(""));
    let second = fx.code(&app_query(""));
    for code in [&first, &second] {
        assert_eq!(code.len(), 43, "{code}");
        assert!(code.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_'), "{code}");
    }
    assert_ne!(first, second);
    assert_eq!(fx.store.counts().0, 2);
}

#[test]
fn az15_code_expires_after_60_seconds() {
    let fx = fixture();
    let early = fx.code(&app_query(""));
    let late = fx.code(&app_query(""));
    // Just inside the lifetime the code still works, so expiry is what refuses the other one.
    fx.clock.advance(Duration::seconds(59));
    assert_eq!(fx.token(&app_redeem_body(&early), None).status(), 200);
    fx.clock.advance(Duration::seconds(2));
    let response = fx.token(&app_redeem_body(&late), None);
    assert_eq!(response.status(), 400);
    assert_eq!(json(&response)["error"], "invalid_grant");
}

#[test]
fn az15_code_is_bound_to_the_exact_loopback_port_requested() {
    let fx = fixture();
    let code = fx.code(&app_query(""));
    let other_port = app_redeem_body(&code).replace("%3A5000", "%3A5001");
    let response = fx.token(&other_port, None);
    assert_eq!(response.status(), 400);
    assert_eq!(json(&response)["error"], "invalid_grant");
}

#[test]
fn az15_challenge_is_not_sent_back() {
    let fx = fixture();
    let location = approve(&fx, &fx.consent(&app_query(""))).location().unwrap().to_owned();
    assert!(!location.contains(CHALLENGE), "{location}");
    assert_eq!(query_param(&location, "code_challenge"), None);
}

// ---------------------------------------------------------------------------------------------
// PK-02..PK-04: PKCE on every client, S256 only (class 6)
// ---------------------------------------------------------------------------------------------

/// Asserts `query` is an `invalid_request` redirect for `expected`, with state, and no code.
#[track_caller]
fn assert_pkce_refused(fx: &Fixture, query: Query, expected: PkceError) {
    let (error, location) = redirected(fx, &query.encode(), "invalid_request");
    assert_eq!(error, AuthorizeError::Pkce(expected), "{query:?}");
    assert_eq!(query_param(&location, "state").as_deref(), Some("st8"));
    assert_eq!(fx.store.counts().0, 0);
}

#[test]
fn pk02_missing_code_challenge_is_refused_for_public_and_confidential_clients() {
    let fx = fixture();
    for client in [Query::app(), Query::web()] {
        assert_pkce_refused(&fx, client.clone().without("code_challenge"), PkceError::MissingChallenge);
        // Without both PKCE parameters: the plain OAuth 2.0 request.
        let bare = client.without("code_challenge").without("code_challenge_method");
        assert_pkce_refused(&fx, bare, PkceError::MissingChallenge);
    }
}

#[test]
fn pk03_missing_method_is_refused_not_treated_as_plain() {
    let fx = fixture();
    for client in [Query::app(), Query::web()] {
        assert_pkce_refused(&fx, client.clone().without("code_challenge_method"), PkceError::MissingMethod);
        // The class 6 downgrade: a 43-character challenge that is really a plain verifier.
        let plain_verifier = client.without("code_challenge_method").set("code_challenge", VERIFIER);
        assert_pkce_refused(&fx, plain_verifier, PkceError::MissingMethod);
    }
}

#[test]
fn pk03_plain_and_unknown_methods_are_refused() {
    let fx = fixture();
    for client in [Query::app(), Query::web()] {
        for method in ["plain", "PLAIN", "s256", "S256 ", " S256", "S-256", "S384", "S512", "sha256"] {
            let query = client.clone().set("code_challenge_method", method);
            assert_pkce_refused(&fx, query, PkceError::UnsupportedMethod);
        }
        let plain_verifier = client.set("code_challenge_method", "plain").set("code_challenge", VERIFIER);
        assert_pkce_refused(&fx, plain_verifier, PkceError::UnsupportedMethod);
    }
}

#[test]
fn pk04_malformed_challenge_is_refused() {
    let fx = fixture();
    let short = &CHALLENGE[..42];
    let long = format!("{CHALLENGE}M");
    let plus = CHALLENGE.replace('-', "+");
    let padded = format!("{short}=");
    let slash = CHALLENGE.replace('-', "/");
    let dotted = CHALLENGE.replace('-', ".");
    // Same length, but the last character has stray low bits: not a canonical 32-byte value.
    let non_canonical = format!("{short}N");
    let hex = "a".repeat(64);
    let spaced = format!("{short} ");
    for client in [Query::app(), Query::web()] {
        for challenge in [short, &long, &plus, &padded, &slash, &dotted, &non_canonical, &hex, &spaced] {
            let query = client.clone().set("code_challenge", challenge);
            assert_pkce_refused(&fx, query, PkceError::MalformedChallenge);
        }
    }
}

#[test]
fn pk04_challenge_with_a_raw_plus_or_equals_on_the_wire_is_refused() {
    // Written by hand: a raw `+` decodes to a space and `=` stays in the value.
    let fx = fixture();
    let short = &CHALLENGE[..42];
    for wire in [format!("{short}+"), format!("{short}="), format!("{short}%2B"), format!("{short}%3D")] {
        let query = format!(
            "response_type=code&client_id=app&redirect_uri=http%3A%2F%2F127.0.0.1%3A5000%2Fcb&state=st8\
             &code_challenge={wire}&code_challenge_method=S256"
        );
        let (error, _) = redirected(&fx, &query, "invalid_request");
        assert_eq!(error, AuthorizeError::Pkce(PkceError::MalformedChallenge), "{wire}");
    }
}

// ---------------------------------------------------------------------------------------------
// SEC-05: 303 after POST, never 307; no CORS
// ---------------------------------------------------------------------------------------------

#[test]
fn sec05_post_flow_answers_303_for_code_denial_and_errors() {
    let fx = fixture();
    let body = app_query("");
    let consent = consent_of(post(&fx, &body));
    assert_eq!(approve(&fx, &consent).status(), 303);
    assert_eq!(block_on(fx.server.deny(&consent)).status(), 303);
    for (query, code) in [
        (Query::app().set("response_type", "token"), "unsupported_response_type"),
        (Query::app().without("code_challenge"), "invalid_request"),
        (Query::web().without("scope"), "invalid_scope"),
    ] {
        let (error, response) = error_of(post(&fx, &query.encode()));
        assert_error_redirect(error, &response, 303, code);
    }
}

#[test]
fn sec05_no_response_is_a_307_or_carries_cors_headers() {
    let fx = fixture();
    let mut responses = Vec::new();
    for query in [app_query(""), web_query("")] {
        let consent = fx.consent(&query);
        responses.push(approve(&fx, &consent));
        responses.push(block_on(fx.server.deny(&consent)));
        let consent = consent_of(post(&fx, &query));
        responses.push(approve(&fx, &consent));
        responses.push(block_on(fx.server.deny(&consent)));
    }
    for query in [
        Query::app().set("response_type", "token").encode(),
        Query::app().set("client_id", "evil").encode(),
        Query::app().set("redirect_uri", "https://attacker.test/cb").encode(),
    ] {
        responses.push(fx.authorize_error(&query).1);
        responses.push(error_of(post(&fx, &query)).1);
    }
    responses.push(error_of(run(&fx, &Request::new(Method::Other))).1);
    for response in &responses {
        assert!(![307, 308].contains(&response.status()), "{response:?}");
        assert!([302, 303, 400, 405].contains(&response.status()), "{response:?}");
        assert!(
            response.headers().iter().all(|(name, _)| !name.to_ascii_lowercase().starts_with("access-control-")),
            "{response:?}"
        );
    }
    assert_eq!(responses.len(), 15);
}

// ---------------------------------------------------------------------------------------------
// SEC-08: sizes, malformed input, no panics (class 3)
// ---------------------------------------------------------------------------------------------

#[test]
fn sec08_query_of_8000_bytes_is_accepted() {
    let fx = fixture();
    let base = app_query("&pad=");
    let query = format!("{base}{}", "x".repeat(8000 - base.len()));
    assert_eq!(query.len(), 8000);
    let consent = fx.consent(&query);
    assert_eq!(consent.state(), Some("st8"));
    // A POST body of the same size too.
    consent_of(post(&fx, &query));
}

#[test]
fn sec08_query_over_the_limit_is_an_error_page() {
    let fx = fixture();
    let limit = fx.server.config().max_request_bytes();
    assert_eq!(limit, 16 * 1024, "the documented default");
    let base = app_query("&pad=");
    let at_limit = format!("{base}{}", "x".repeat(limit - base.len()));
    assert_eq!(at_limit.len(), limit);
    fx.consent(&at_limit);

    let over = format!("{at_limit}x");
    assert_eq!(page(&fx, &over), AuthorizeError::Unreadable(ParamError::TooLarge));
    let (error, response) = error_of(post(&fx, &over));
    assert_eq!(error, AuthorizeError::Unreadable(ParamError::TooLarge));
    assert_page(error, &response, 400);
    let huge = format!("{base}{}", "x".repeat(1 << 20));
    assert_eq!(page(&fx, &huge), AuthorizeError::Unreadable(ParamError::TooLarge));
}

#[test]
fn sec08_broken_ipv6_redirect_uri_is_an_error_page() {
    let fx = fixture();
    for uri in [
        "http://[::1/cb",
        "http://[::1",
        "http://[/cb",
        "http://[]/cb",
        "http://[]:5000/cb",
        "http://[::1]]:5000/cb",
        "http://[[::1]]:5000/cb",
        "http://[::1]x/cb",
        "http://[::1]:/cb",
        "http://[::1]:99999/cb",
        "http://]::1[/cb",
        "http://[\u{e9}]:5000/cb",
        "http://[\u{e9}/cb",
    ] {
        let query = Query::app().set("redirect_uri", uri).encode();
        assert_eq!(page(&fx, &query), AuthorizeError::UnregisteredRedirectUri, "{uri:?}");
    }
}

/// Class 3: odd inputs end as an error page or a redirect to a registered URI; none panics.
#[test]
fn sec08_garbage_inputs_never_panic() {
    let fx = fixture();
    let inputs: [&[u8]; 20] = [
        b"",
        b"&",
        b"&&&&",
        b"=",
        b"==",
        b"=&=&=",
        b"%",
        b"%%",
        b"%%%%%%",
        b"+",
        b"client_id",
        b"client_id&client_id",
        b"client_id=app&redirect_uri=http://[",
        b"client_id=app&redirect_uri=http://",
        b"client_id=app&redirect_uri=http://127.0.0.1:",
        b"client_id=app&redirect_uri=http://127.0.0.1:99999999999999999999/cb",
        b"client_id=app&redirect_uri=http://\xc3\xa9:5000/cb",
        b"client_id=app&redirect_uri=http://%5B%C3%A9/cb",
        b"\x00\x01\x02",
        b"\xff\xfe\xfd",
    ];
    for input in inputs {
        for request in [Request::new(Method::Get).with_query(input), Request::form_post(input)] {
            match run(&fx, &request) {
                AuthorizeOutcome::Consent(c) => panic!("garbage gave consent for {}", c.redirect_uri()),
                AuthorizeOutcome::Error { error, response } => {
                    assert_page(error, &response, 400);
                }
                _ => unreachable!("a variant this code does not know"),
            }
        }
    }
}

proptest! {
    /// SEC-08 / class 3: arbitrary bytes after a valid request never panic, and whatever comes
    /// back redirects (if at all) only to the requested, registered URI.
    #[test]
    fn sec08_arbitrary_bytes_after_a_valid_request_never_panic_or_redirect_elsewhere(
        tail in proptest::collection::vec(
            prop_oneof![any::<u8>(), proptest::sample::select(b"&=%+_abcdefinorstu0123456789:/[]?#@".to_vec())],
            0..200,
        )
    ) {
        let fx = fixture();
        let query = [app_query("&").as_bytes(), &tail].concat();
        for request in [Request::new(Method::Get).with_query(&query), Request::form_post(&query)] {
            match run(&fx, &request) {
                AuthorizeOutcome::Consent(c) => prop_assert_eq!(c.redirect_uri(), "http://127.0.0.1:5000/cb"),
                AuthorizeOutcome::Error { error, response } => match response.location() {
                    Some(location) => {
                        prop_assert!(error.is_redirectable());
                        prop_assert!(location.starts_with("http://127.0.0.1:5000/cb?"), "{}", location);
                    }
                    None => prop_assert!(!error.is_redirectable()),
                },
                _ => unreachable!("a variant this code does not know"),
            }
        }
    }

    /// AZ-04 / AZ-05 / class 1: whatever redirect URI is asked for, `app` is only ever sent to
    /// `http://127.0.0.1[:port]/cb`, and exactly to the URI asked for.
    #[test]
    fn az05_loopback_client_is_only_ever_redirected_to_its_registered_uri(
        // Half near-misses of the registered URI, half the URI with a random (maybe bad) port.
        uri in prop_oneof![
            "(http|https|HTTP)://(127\\.0\\.0\\.1|localhost|\\[::1\\]|127\\.0\\.0\\.1@evil|evil@127\\.0\\.0\\.1)\
             (:[0-9]{0,6})?(/cb|/cb/|/CB|/%63b|/cb\\?x|/cb#f|/c|)[ -~]{0,3}",
            "http://127\\.0\\.0\\.1(:[0-9]{0,6})?/cb",
        ],
        broken in any::<bool>(),
    ) {
        let fx = fixture();
        let mut query = Query::app().set("redirect_uri", &uri);
        if broken {
            // A second error after the redirect URI: it may be redirected only to a good URI.
            query = query.set("response_type", "token");
        }
        match fx.authorize(&query.encode()) {
            AuthorizeOutcome::Consent(c) => {
                prop_assert!(is_app_target(c.redirect_uri()), "{}", c.redirect_uri());
                prop_assert_eq!(c.redirect_uri(), uri.as_str());
            }
            AuthorizeOutcome::Error { error, response } => match response.location() {
                Some(location) => {
                    prop_assert!(is_app_target(&uri), "{} -> {}", uri, location);
                    prop_assert!(location.starts_with(&format!("{uri}?")), "{} -> {}", uri, location);
                    prop_assert_eq!(error, AuthorizeError::UnsupportedResponseType);
                }
                None => {
                    prop_assert!(!is_app_target(&uri), "{} refused", uri);
                    prop_assert_eq!(error, AuthorizeError::UnregisteredRedirectUri);
                }
            },
            _ => unreachable!("a variant this code does not know"),
        }
    }
}
