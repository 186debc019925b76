//! The authorization endpoint on arbitrary requests.
//!
//! Input (lines): `METHOD [flags]`, `Content-Type` (empty: absent), the raw query, then the raw
//! body (the rest, newlines included). Flag `l` turns on `allow_localhost_any_port`.
//!
//! Asserts: no panic; every redirect goes to a registered URI of the client (or its loopback
//! port variant), carries `iss` and a known `error` (or a `code` after approval) and is 302 for
//! GET, 303 for POST; errors that must not be redirected are error pages; a valid request's
//! approval and denial redirect the same way, echoing `state`.
#![no_main]

use libfuzzer_sys::fuzz_target;
use oauth21::{Approval, Method, Request, Subject};
use oauth21_fuzz::{
    block_on, check_authorize_outcome, check_authorize_redirect, fields, fixture, flags_after_method, header, method,
    single, trace_response,
};

fuzz_target!(|data: &[u8]| {
    let f = fields(data, 4);
    let method = method(f[0]);
    let flags = flags_after_method(f[0]);
    let mut request = Request::new(method).with_query(f[2]).with_body(f[3]);
    if let Some(ct) = header(f[1]) {
        request = request.with_content_type(ct);
    }
    let fx = fixture(flags.config());
    let any = flags.localhost_any_port;

    let outcome = block_on(fx.server.authorize(&request));
    if let oauth21::AuthorizeOutcome::Error { error, response } = &outcome {
        if oauth21_fuzz::trace() {
            eprintln!("authorize: {error:?}");
        }
        trace_response("authorize", response);
    }
    let Some(consent) = check_authorize_outcome(outcome, any) else { return };

    // A valid request: approve it and deny it; both answers must go to the same place.
    let expected_status = if method == Method::Post { 303 } else { 302 };
    let client = consent.client().id().as_str().to_owned();
    let approved =
        block_on(fx.server.approve(&consent, Approval::new(Subject::new("alice").unwrap()))).unwrap().into_response();
    trace_response("approve", &approved);
    assert_eq!(approved.status(), expected_status);
    let params = check_authorize_redirect(&approved, &client, any);
    assert!(single(&params, "code").is_some(), "approval without a code");
    assert_eq!(single(&params, "state"), consent.state(), "state not echoed");
    assert!(approved.location().unwrap().starts_with(consent.redirect_uri()));

    let denied = block_on(fx.server.deny(&consent));
    assert_eq!(denied.status(), expected_status);
    let params = check_authorize_redirect(&denied, &client, any);
    assert_eq!(single(&params, "error"), Some("access_denied"));
    assert_eq!(single(&params, "state"), consent.state(), "state not echoed");

    // The same parameters again give the same decision (the consent step is stateless).
    let again = block_on(fx.server.authorize(&request));
    let again = check_authorize_outcome(again, any).expect("a valid request stays valid");
    assert_eq!(again.redirect_uri(), consent.redirect_uri());
    assert_eq!(again.scope(), consent.scope());
});
