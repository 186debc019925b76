//! The pushed authorization request endpoint (RFC 9126) on arbitrary requests, and what a
//! pushed request then does at the authorization endpoint.
//!
//! Input (lines): `METHOD [flags]` (a `t` in the flags lets the request_uri expire before it
//! is loaded), `Authorization` (empty: absent), the `client_id` to load with (empty: the one
//! the body names), then the raw form body (the rest).
//!
//! Asserts: the endpoint answers 201 with a `request_uri` of the RFC 9126 form and
//! `expires_in` 60, or a JSON error from the known set with status 400/401/405, never a
//! redirect; every answer is `no-store`. A pushed request loads only for the client that
//! pushed it and only before it expired (anything else is an error page, never a redirect);
//! a loaded one redirects only to that client's registered URIs, issues a code on the first
//! approval and never on a second.
#![no_main]

use libfuzzer_sys::fuzz_target;
use oauth21::{Approval, AuthorizeOutcome, Request, ServerConfig, Subject};
use oauth21_fuzz::{
    ISSUER, block_on, fields, fixture, form_pairs, header, loopback_port_variant, method, registered_redirects, single,
};

const PREFIX: &str = "urn:ietf:params:oauth:request_uri:";
const ERRORS: [&str; 7] = [
    "invalid_target",
    "invalid_request",
    "invalid_client",
    "invalid_scope",
    "unauthorized_client",
    "unsupported_response_type",
    "server_error",
];

fuzz_target!(|data: &[u8]| {
    let f = fields(data, 4);
    let late = f[0].contains(&b't');
    let fx = fixture(ServerConfig::builder(ISSUER).build().unwrap());
    let mut request =
        Request::new(method(f[0])).with_body(f[3]).with_content_type(b"application/x-www-form-urlencoded");
    if let Some(authorization) = header(f[1]) {
        request = request.with_authorization(authorization);
    }
    let response = block_on(fx.server.pushed_authorization_request(&request));
    assert_eq!(response.header("Cache-Control"), Some("no-store"));
    assert!(response.location().is_none(), "the back channel never redirects");
    let json: serde_json::Value = serde_json::from_slice(response.body()).expect("a JSON answer");
    if response.status() != 201 {
        assert!([400, 401, 405].contains(&response.status()), "status {}", response.status());
        let code = json["error"].as_str().expect("an error code");
        assert!(ERRORS.contains(&code), "{code}");
        return;
    }
    assert_eq!(json["expires_in"], 60);
    let uri = json["request_uri"].as_str().expect("a request_uri");
    let random = uri.strip_prefix(PREFIX).expect("the RFC 9126 prefix");
    assert_eq!(random.len(), 43);

    // Who pushed it: the body's client_id or, failing that, the Basic credential's.
    let body = String::from_utf8_lossy(f[3]);
    // An empty value counts as omitted (AZ-02), as the server reads it.
    let mut pairs = form_pairs(&body);
    pairs.retain(|(name, value)| !name.is_empty() && !value.is_empty());
    let owner = single(&pairs, "client_id")
        .map(str::to_owned)
        .or_else(|| oauth21::client::parse_basic_auth(header(f[1])?).ok().map(|(id, _)| id));
    let owner = owner.expect("an accepted push names its client");
    let loader = match std::str::from_utf8(f[2]) {
        Ok("") | Err(_) => owner.clone(),
        Ok(other) => other.to_owned(),
    };
    if late {
        fx.clock.advance(time::Duration::seconds(60));
    }
    let query = serde_urlencoded::to_string([("client_id", loader.as_str()), ("request_uri", uri)]).unwrap();
    let consent = match block_on(fx.server.authorize(&Request::get(&query))) {
        AuthorizeOutcome::Consent(consent) => consent,
        AuthorizeOutcome::Error { response, .. } => {
            assert!(response.location().is_none() || (loader == owner && !late), "a bad load redirected");
            return;
        }
        _ => unreachable!("a variant this target does not know"),
    };
    assert_eq!(loader, owner, "another client loaded a pushed request");
    assert!(!late, "an expired request_uri loaded");
    assert_eq!(consent.client().id().as_str(), owner);
    let redirect = consent.redirect_uri().to_owned();
    assert!(
        registered_redirects(&owner).iter().any(|r| redirect == *r || loopback_port_variant(r, &redirect, false)),
        "{redirect} is not registered for {owner}"
    );
    let approve = || block_on(fx.server.approve(&consent, Approval::new(Subject::new("alice").unwrap()))).unwrap();
    let first = approve();
    let second = approve();
    assert!(first.grant_id().is_some(), "the first completion issued no code");
    assert!(second.grant_id().is_none(), "a second completion issued a code");
});
