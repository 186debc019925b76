//! Token endpoint and authorization_code grant: TK-01..TK-11, AC-01..AC-05, PK-05..PK-08.

mod common;

use common::*;
use oauth21::client::basic_auth_header;
use oauth21::store::Store;
use oauth21::{AccessToken, Client, ClientSecret, GrantType, Method, RefreshToken, Request, Response};
use time::Duration;

fn assert_error(response: &Response, status: u16, error: &str) {
    assert_eq!(response.status(), status, "status for {error}");
    assert_eq!(json(response)["error"], error);
    // TK-10: errors are not cached either.
    assert_eq!(response.header("Cache-Control"), Some("no-store"));
    assert_eq!(response.header("Content-Type"), Some("application/json"));
    if let Some(description) = json(response)["error_description"].as_str() {
        assert!(oauth21::error::is_valid_description(description), "{description}");
    }
}

fn web_basic() -> String {
    basic_auth_header("web", WEB_SECRET)
}

fn web_code(fx: &Fixture) -> String {
    fx.code(&web_query(""))
}

fn web_redeem_body(code: &str) -> String {
    format!(
        "grant_type=authorization_code&code={code}&redirect_uri=https%3A%2F%2Fweb.example%2Fcb&code_verifier={VERIFIER}"
    )
}

// ---- TK-01: POST, form body, UTF-8 ----

#[test]
fn tk01_get_is_refused_with_405_and_allow_post() {
    let fx = fixture();
    let r = block_on(fx.server.token(&Request::get("grant_type=authorization_code")));
    assert_error(&r, 405, "invalid_request");
    assert_eq!(r.header("Allow"), Some("POST"));
    let r = block_on(fx.server.token(&Request::new(Method::Other)));
    assert_error(&r, 405, "invalid_request");
}

#[test]
fn tk01_body_must_be_declared_form_urlencoded() {
    let fx = fixture();
    let body = app_redeem_body("abc");
    let r = block_on(fx.server.token(&Request::post(body.as_bytes())));
    assert_error(&r, 400, "invalid_request");
    let r = block_on(fx.server.token(&Request::post(body.as_bytes()).with_content_type(b"application/json")));
    assert_error(&r, 400, "invalid_request");
}

#[test]
fn tk01_invalid_utf8_and_bad_escapes_are_invalid_request() {
    let fx = fixture();
    for body in
        [&b"grant_type=authorization_code&code=\xff"[..], b"grant_type=authorization_code&code=%C3%28", b"code=%G1"]
    {
        let r = block_on(fx.server.token(&Request::form_post(body)));
        assert_error(&r, 400, "invalid_request");
    }
}

#[test]
fn sec08_oversized_token_body_is_refused_before_parsing() {
    let fx = fixture();
    let body = format!("{}&pad={}", app_redeem_body("abc"), "a".repeat(17 * 1024));
    assert_error(&fx.token(&body, None), 400, "invalid_request");
}

// ---- TK-02: unknown ignored, empty omitted, repeats refused ----

#[test]
fn tk02_repeated_parameters_are_refused() {
    let fx = fixture();
    let code = fx.code(&app_query(""));
    for extra in ["&code=x", "&grant_type=authorization_code", "&client_id=app", "&code_verifier=x"] {
        let r = fx.token(&format!("{}{extra}", app_redeem_body(&code)), None);
        assert_error(&r, 400, "invalid_request");
    }
    // The refused requests did not consume the code.
    assert_eq!(fx.token(&app_redeem_body(&code), None).status(), 200);
}

#[test]
fn tk02_unknown_parameters_are_ignored_and_empty_values_omitted() {
    let fx = fixture();
    let code = fx.code(&app_query(""));
    let body = format!("{}&foo=bar&client_secret=&resource_hint=x", app_redeem_body(&code));
    assert_eq!(fx.token(&body, None).status(), 200);
}

// ---- TK-03: grant_type ----

#[test]
fn tk03_grant_type_missing_unknown_and_not_allowed() {
    let fx = fixture();
    assert_error(&fx.token("client_id=app&code=x", None), 400, "invalid_request");
    assert_error(&fx.token("grant_type=password&client_id=app", None), 400, "unsupported_grant_type");
    assert_error(&fx.token("grant_type=implicit&client_id=app", None), 400, "unsupported_grant_type");
    // svc is registered for client_credentials only.
    let r = fx.token("grant_type=authorization_code&code=x", Some(&basic_auth_header("svc", "svc-secret")));
    assert_error(&r, 400, "unauthorized_client");
}

// ---- TK-04: client_secret_post, never credentials in the query ----

#[test]
fn tk04_client_secret_post_authenticates() {
    let fx = fixture();
    let code = web_code(&fx);
    let body = format!("{}&client_id=web&client_secret={WEB_SECRET}", web_redeem_body(&code));
    assert_eq!(fx.token(&body, None).status(), 200);
}

#[test]
fn tk04_credentials_in_the_query_are_refused() {
    let fx = fixture();
    let code = web_code(&fx);
    let body = web_redeem_body(&code);
    let auth = web_basic();
    for query in ["client_secret=web-secret", "client_id=web", "code=abc"] {
        let request =
            Request::form_post(body.as_bytes()).with_query(query.as_bytes()).with_authorization(auth.as_bytes());
        let r = block_on(fx.server.token(&request));
        assert_error(&r, 400, "invalid_request");
    }
    // Unrelated query parameters are ignored.
    let request = Request::form_post(body.as_bytes()).with_query(b"trace=1").with_authorization(auth.as_bytes());
    assert_eq!(block_on(fx.server.token(&request)).status(), 200);
}

// ---- TK-05: client_secret_basic with form-urlencoding ----

#[test]
fn tk05_basic_credentials_are_form_urldecoded_after_splitting_at_the_first_colon() {
    let fx = fixture();
    fx.store.insert_client(
        Client::confidential("client:id", &ClientSecret::new("s3cr+t/ =%"))
            .allow_short_secrets()
            .redirect_uri("https://web.example/cb")
            .scope("read")
            .build()
            .unwrap(),
    );
    let query = web_query("").replace("client_id=web", "client_id=client%3Aid");
    let code = fx.code(&query);
    let header = "Basic Y2xpZW50JTNBaWQ6czNjciUyQnQlMkYrJTNEJTI1";
    assert_eq!(basic_auth_header("client:id", "s3cr+t/ =%"), header);
    assert_eq!(fx.token(&web_redeem_body(&code), Some(header)).status(), 200);
}

#[test]
fn tk05_rfc6749_basic_vector_authenticates() {
    let fx = fixture();
    fx.store.insert_client(
        Client::confidential("s6BhdRkqt3", &ClientSecret::new("7Fjfp0ZBr1KtDRbnfVdmIw"))
            .allow_short_secrets()
            .redirect_uri("https://web.example/cb")
            .scope("read")
            .build()
            .unwrap(),
    );
    let code = fx.code(&web_query("").replace("client_id=web", "client_id=s6BhdRkqt3"));
    let header = "Basic czZCaGRSa3F0Mzo3RmpmcDBaQnIxS3REUmJuZlZkbUl3";
    assert_eq!(fx.token(&web_redeem_body(&code), Some(header)).status(), 200);
}

#[test]
fn tk05_malformed_basic_header_is_invalid_client_401() {
    let fx = fixture();
    let body = web_redeem_body("x");
    for header in ["Basic !!!", "Basic d2Vi", "Basic", "Bearer abc", "Basic d2ViOiVHRw=="] {
        let r = fx.token(&body, Some(header));
        assert_error(&r, 401, "invalid_client");
        assert!(r.header("WWW-Authenticate").unwrap().starts_with("Basic "), "{header}");
    }
}

// ---- TK-06: confidential clients always authenticate ----

#[test]
fn tk06_client_id_alone_does_not_authenticate_a_confidential_client() {
    let fx = fixture();
    let code = web_code(&fx);
    let r = fx.token(&format!("{}&client_id=web", web_redeem_body(&code)), None);
    assert_error(&r, 400, "invalid_client");
    // The failed attempt did not consume the code.
    assert_eq!(fx.token(&web_redeem_body(&code), Some(&web_basic())).status(), 200);
}

#[test]
fn tk06_wrong_secret_is_invalid_client() {
    let fx = fixture();
    let code = web_code(&fx);
    let r = fx.token(&web_redeem_body(&code), Some(&basic_auth_header("web", "wrong")));
    assert_error(&r, 401, "invalid_client");
    let r = fx.token(&format!("{}&client_id=web&client_secret=wrong", web_redeem_body(&code)), None);
    assert_error(&r, 400, "invalid_client");
}

#[test]
fn tk06_public_client_with_made_up_secret_is_refused() {
    let fx = fixture();
    let code = fx.code(&app_query(""));
    let r = fx.token(&format!("{}&client_secret=anything", app_redeem_body(&code)), None);
    assert_error(&r, 400, "invalid_client");
    let body = app_redeem_body(&code).replace("client_id=app&", "");
    let r = fx.token(&body, Some(&basic_auth_header("app", "anything")));
    assert_error(&r, 401, "invalid_client");
}

#[test]
fn tk06_unknown_client_is_invalid_client() {
    let fx = fixture();
    assert_error(&fx.token("grant_type=authorization_code&client_id=nobody&code=x", None), 400, "invalid_client");
    assert_error(
        &fx.token("grant_type=authorization_code&code=x", Some(&basic_auth_header("nobody", "x"))),
        401,
        "invalid_client",
    );
}

// ---- TK-07: one authentication method ----

#[test]
fn tk07_basic_and_client_secret_post_together_are_refused() {
    let fx = fixture();
    let code = web_code(&fx);
    let body = format!("{}&client_id=web&client_secret={WEB_SECRET}", web_redeem_body(&code));
    assert_error(&fx.token(&body, Some(&web_basic())), 400, "invalid_request");
}

/// Two `Authorization` headers are two credentials: refused with 400, never resolved by
/// taking the first, also through the `http` conversion.
#[test]
fn tk07_two_authorization_headers_are_refused() {
    let fx = fixture();
    let code = web_code(&fx);
    let body = web_redeem_body(&code);
    let wrong = basic_auth_header("web", "wrong");
    for (first, second) in [(web_basic(), wrong.clone()), (wrong.clone(), web_basic())] {
        let request = Request::form_post(body.as_bytes())
            .with_authorization(first.as_bytes())
            .with_authorization(second.as_bytes());
        assert_error(&block_on(fx.server.token(&request)), 400, "invalid_request");
        let http_request = http::Request::post("/token")
            .header("content-type", "application/x-www-form-urlencoded")
            .header("authorization", &first)
            .header("authorization", &second)
            .body(body.clone().into_bytes())
            .unwrap();
        assert_error(&block_on(fx.server.token(&Request::from(&http_request))), 400, "invalid_request");
        for endpoint in ["revoke", "introspect"] {
            let token = format!("token={code}");
            let request = Request::form_post(token.as_bytes())
                .with_authorization(first.as_bytes())
                .with_authorization(second.as_bytes());
            let response = match endpoint {
                "revoke" => block_on(fx.server.revoke(&request)),
                _ => block_on(fx.server.introspect(&request)),
            };
            assert_error(&response, 400, "invalid_request");
        }
    }
    // Nothing was consumed: the code still redeems once.
    assert_eq!(fx.token(&body, Some(&web_basic())).status(), 200);
}

/// An empty `Authorization` header (what an adapter writing `unwrap_or_default()` sends when
/// there is none) is no header: a public client's request still works.
#[test]
fn tk06_an_empty_authorization_header_counts_as_absent() {
    let fx = fixture();
    let code = fx.code(&app_query(""));
    let body = app_redeem_body(&code);
    let request = Request::form_post(body.as_bytes()).with_authorization(b"");
    assert_eq!(block_on(fx.server.token(&request)).status(), 200);
}

#[test]
fn tk07_client_id_in_body_must_match_basic() {
    let fx = fixture();
    let code = web_code(&fx);
    assert_error(
        &fx.token(&format!("{}&client_id=app", web_redeem_body(&code)), Some(&web_basic())),
        400,
        "invalid_request",
    );
    // The same id in both places is not two methods.
    assert_eq!(fx.token(&format!("{}&client_id=web", web_redeem_body(&code)), Some(&web_basic())).status(), 200);
}

#[test]
fn tk07_client_secret_without_client_id_is_invalid_request() {
    let fx = fixture();
    assert_error(&fx.token("grant_type=authorization_code&code=x&client_secret=s", None), 400, "invalid_request");
}

// ---- TK-08: 401 + WWW-Authenticate only when the header was used ----

#[test]
fn tk08_header_failures_are_401_with_basic_challenge_body_failures_400_without() {
    let fx = fixture();
    let r = fx.token(&web_redeem_body("x"), Some(&basic_auth_header("web", "bad")));
    assert_error(&r, 401, "invalid_client");
    assert!(r.header("WWW-Authenticate").unwrap().starts_with("Basic realm="));
    let r = fx.token(&format!("{}&client_id=web&client_secret=bad", web_redeem_body("x")), None);
    assert_error(&r, 400, "invalid_client");
    assert_eq!(r.header("WWW-Authenticate"), None);
}

#[test]
fn tk08_client_auth_method_not_registered_is_invalid_client() {
    let fx = fixture();
    fx.store.insert_client(
        Client::confidential("basic-only", &ClientSecret::new("s"))
            .allow_short_secrets()
            .auth_methods([oauth21::AuthMethod::ClientSecretBasic])
            .redirect_uri("https://web.example/cb")
            .scope("read")
            .build()
            .unwrap(),
    );
    let code = fx.code(&web_query("").replace("client_id=web", "client_id=basic-only"));
    let r = fx.token(&format!("{}&client_id=basic-only&client_secret=s", web_redeem_body(&code)), None);
    assert_error(&r, 400, "invalid_client");
    assert_eq!(fx.token(&web_redeem_body(&code), Some(&basic_auth_header("basic-only", "s"))).status(), 200);
}

// ---- TK-09 / TK-10: the success answer ----

#[test]
fn tk09_success_has_the_required_members_and_no_nulls() {
    let fx = fixture();
    let code = fx.code(&app_query("&scope=read%20write"));
    let r = fx.token(&app_redeem_body(&code), None);
    assert_eq!(r.status(), 200);
    let body = json(&r);
    let object = body.as_object().unwrap();
    assert_eq!(body["token_type"], "Bearer");
    assert_eq!(body["expires_in"], 3600);
    assert_eq!(body["scope"], "read write");
    assert_eq!(body["access_token"].as_str().unwrap().len(), 43);
    assert_eq!(body["refresh_token"].as_str().unwrap().len(), 43);
    assert!(object.values().all(|v| !v.is_null()));

    // web has no refresh_token grant: the member is absent, not null.
    let code = web_code(&fx);
    let body = json(&fx.token(&web_redeem_body(&code), Some(&web_basic())));
    assert!(body.get("refresh_token").is_none());
    assert!(body.as_object().unwrap().values().all(|v| !v.is_null()));
}

#[test]
fn tk10_success_is_never_cached() {
    let fx = fixture();
    let code = fx.code(&app_query(""));
    let r = fx.token(&app_redeem_body(&code), None);
    assert_eq!(r.header("Cache-Control"), Some("no-store"));
    assert_eq!(r.header("Pragma"), Some("no-cache"));
    assert_eq!(r.header("Content-Type"), Some("application/json"));
}

#[test]
fn tk11_error_bodies_carry_only_error_and_description() {
    let fx = fixture();
    let r = fx.token(&format!("grant_type=authorization_code&client_id=app&code=nope&code_verifier={VERIFIER}"), None);
    assert_error(&r, 400, "invalid_grant");
    let body = json(&r);
    for key in body.as_object().unwrap().keys() {
        assert!(["error", "error_description", "error_uri"].contains(&key.as_str()), "{key}");
    }
}

#[test]
fn sec10_tokens_are_stored_only_as_digests() {
    let fx = fixture();
    let code = fx.code(&app_query(""));
    let body = json(&fx.token(&app_redeem_body(&code), None));
    let access = AccessToken::new(body["access_token"].as_str().unwrap());
    let refresh = RefreshToken::new(body["refresh_token"].as_str().unwrap());
    let record = block_on(fx.store.access_token(&access.hash())).unwrap().unwrap();
    let text = serde_json::to_string(&record).unwrap();
    assert!(!text.contains(access.secret()));
    assert_eq!(record.subject.as_str(), "alice");
    assert_eq!(record.expires_at.unix_timestamp(), 1_700_000_000 + 3600);
    assert!(block_on(fx.store.refresh_token(&refresh.hash())).unwrap().is_some());
}

// ---- AC-01..AC-05 ----

#[test]
fn ac01_code_is_required() {
    let fx = fixture();
    assert_error(
        &fx.token(&format!("grant_type=authorization_code&client_id=app&code_verifier={VERIFIER}"), None),
        400,
        "invalid_request",
    );
}

#[test]
fn ac01_unknown_code_is_invalid_grant() {
    let fx = fixture();
    assert_error(&fx.token(&app_redeem_body("not-a-code"), None), 400, "invalid_grant");
}

#[test]
fn ac01_expired_code_is_invalid_grant() {
    let fx = fixture();
    let code = fx.code(&app_query(""));
    fx.clock.advance(Duration::seconds(60));
    assert_error(&fx.token(&app_redeem_body(&code), None), 400, "invalid_grant");
}

#[test]
fn ac01_code_just_inside_its_lifetime_works() {
    let fx = fixture();
    let code = fx.code(&app_query(""));
    fx.clock.advance(Duration::seconds(59));
    assert_eq!(fx.token(&app_redeem_body(&code), None).status(), 200);
}

#[test]
fn ac02_code_issued_to_another_client_is_invalid_grant() {
    let fx = fixture();
    let code = fx.code(&app_query(""));
    // web authenticates correctly but the code is app's.
    let body = app_redeem_body(&code).replace("client_id=app&", "");
    assert_error(&fx.token(&body, Some(&web_basic())), 400, "invalid_grant");
}

#[test]
fn ac02_client_id_is_required_when_not_authenticating() {
    let fx = fixture();
    let code = fx.code(&app_query(""));
    let body = app_redeem_body(&code).replace("client_id=app&", "");
    assert_error(&fx.token(&body, None), 400, "invalid_request");
}

#[test]
fn ac03_a_code_is_redeemed_once() {
    let fx = fixture();
    let code = fx.code(&app_query(""));
    assert_eq!(fx.token(&app_redeem_body(&code), None).status(), 200);
    assert_error(&fx.token(&app_redeem_body(&code), None), 400, "invalid_grant");
}

#[test]
fn ac04_valid_replay_revokes_every_token_the_code_issued() {
    let fx = fixture();
    let code = fx.code(&app_query(""));
    let body = json(&fx.token(&app_redeem_body(&code), None));
    let access = AccessToken::new(body["access_token"].as_str().unwrap());
    let refresh = RefreshToken::new(body["refresh_token"].as_str().unwrap());
    assert!(block_on(fx.store.access_token(&access.hash())).unwrap().is_some());

    assert_error(&fx.token(&app_redeem_body(&code), None), 400, "invalid_grant");
    assert!(block_on(fx.store.access_token(&access.hash())).unwrap().is_none());
    assert!(block_on(fx.store.refresh_token(&refresh.hash())).unwrap().is_none());
}

#[test]
fn ac04_valid_replay_revokes_the_access_token_of_a_client_that_may_not_refresh() {
    // `web` has only the code grant: its grant is one access token, not indexed by grant id.
    let fx = fixture();
    let code = fx.code(&web_query(""));
    let body = json(&fx.token(&web_redeem_body(&code), Some(&web_basic())));
    assert!(body.get("refresh_token").is_none(), "{body}");
    let access = AccessToken::new(body["access_token"].as_str().unwrap());
    assert!(block_on(fx.store.access_token(&access.hash())).unwrap().is_some());

    assert_error(&fx.token(&web_redeem_body(&code), Some(&web_basic())), 400, "invalid_grant");
    assert!(block_on(fx.store.access_token(&access.hash())).unwrap().is_none());
    // A purge while the revocation is remembered does not bring the token back.
    fx.store.purge_expired(oauth21::Clock::now(&*fx.clock) + Duration::minutes(5));
    assert!(block_on(fx.store.access_token(&access.hash())).unwrap().is_none());
}

#[test]
fn ac04_replay_after_expiry_still_revokes() {
    let fx = fixture();
    let code = fx.code(&app_query(""));
    let body = json(&fx.token(&app_redeem_body(&code), None));
    let access = AccessToken::new(body["access_token"].as_str().unwrap());
    fx.clock.advance(Duration::minutes(5));
    assert_error(&fx.token(&app_redeem_body(&code), None), 400, "invalid_grant");
    assert!(block_on(fx.store.access_token(&access.hash())).unwrap().is_none());
}

#[test]
fn ac04_invalid_replay_revokes_nothing() {
    let fx = fixture();
    let code = fx.code(&app_query(""));
    let body = json(&fx.token(&app_redeem_body(&code), None));
    let access = AccessToken::new(body["access_token"].as_str().unwrap());

    // A replay without the right verifier, or by another client, proves nothing: no revocation.
    let wrong_verifier = app_redeem_body(&code).replace(VERIFIER, &"x".repeat(43));
    assert_error(&fx.token(&wrong_verifier, None), 400, "invalid_grant");
    let other_client = app_redeem_body(&code).replace("client_id=app&", "");
    assert_error(&fx.token(&other_client, Some(&web_basic())), 400, "invalid_grant");
    let no_verifier = app_redeem_body(&code).replace(&format!("&code_verifier={VERIFIER}"), "");
    assert_error(&fx.token(&no_verifier, None), 400, "invalid_request");
    assert!(block_on(fx.store.access_token(&access.hash())).unwrap().is_some());
}

#[test]
fn ac05_redirect_uri_must_equal_the_authorization_requests() {
    let fx = fixture();
    let code = fx.code(&app_query(""));
    // Same loopback URI with another port: not identical to what the code was issued for.
    let body = app_redeem_body(&code).replace("%3A5000", "%3A5001");
    assert_error(&fx.token(&body, None), 400, "invalid_grant");
}

#[test]
fn ac05_redirect_uri_may_be_omitted() {
    let fx = fixture();
    let code = fx.code(&app_query(""));
    let body = app_redeem_body(&code).replace("&redirect_uri=http%3A%2F%2F127.0.0.1%3A5000%2Fcb", "");
    assert_eq!(fx.token(&body, None).status(), 200);
}

#[test]
fn ac05_omitted_in_authorization_then_registered_uri_matches() {
    let fx = fixture();
    let query = app_query("").replace("&redirect_uri=http%3A%2F%2F127.0.0.1%3A5000%2Fcb", "");
    let code = fx.code(&query);
    let body = app_redeem_body(&code).replace("%3A5000", "");
    assert_eq!(fx.token(&body, None).status(), 200);
}

// ---- PK-05..PK-08 ----

#[test]
fn pk05_malformed_verifier_is_invalid_request() {
    let fx = fixture();
    let code = fx.code(&app_query(""));
    for bad in ["short", &"a".repeat(129), &format!("{}%20", "a".repeat(43)), &format!("{}%2B", "a".repeat(43))] {
        let body = app_redeem_body(&code).replace(VERIFIER, bad);
        assert_error(&fx.token(&body, None), 400, "invalid_request");
    }
    // Malformed verifiers are refused before the code is consumed.
    assert_eq!(fx.token(&app_redeem_body(&code), None).status(), 200);
}

#[test]
fn pk06_wrong_verifier_is_invalid_grant() {
    let fx = fixture();
    let code = fx.code(&app_query(""));
    let body = app_redeem_body(&code).replace(VERIFIER, &"A".repeat(43));
    assert_error(&fx.token(&body, None), 400, "invalid_grant");
}

#[test]
fn pk06_oauth21_vector_flows_end_to_end() {
    let fx = fixture();
    let verifier = "3641a2d12d66101249cdf7a79c000c1f8c05d2aafcf14bf146497bed";
    let query = app_query("").replace(CHALLENGE, "6fdkQaPm51l13DSukcAH3Mdx7_ntecHYd1vi3n0hMZY");
    let code = fx.code(&query);
    let body = app_redeem_body(&code).replace(VERIFIER, verifier);
    assert_eq!(fx.token(&body, None).status(), 200);
}

#[test]
fn pk07_no_code_is_ever_issued_without_a_challenge() {
    // The downgrade (a verifier meeting a code that had no challenge) cannot happen: a request
    // without code_challenge never reaches consent, so no such code exists.
    let fx = fixture();
    let query = app_query("").replace(&format!("&code_challenge={CHALLENGE}"), "");
    let (error, response) = fx.authorize_error(&query);
    assert_eq!(error.code(), oauth21::ErrorCode::InvalidRequest);
    assert_eq!(query_param(response.location().unwrap(), "error").as_deref(), Some("invalid_request"));
    assert_eq!(fx.store.counts().0, 0);
}

#[test]
fn pk08_missing_verifier_is_invalid_request() {
    let fx = fixture();
    let code = fx.code(&app_query(""));
    let body = app_redeem_body(&code).replace(&format!("&code_verifier={VERIFIER}"), "");
    assert_error(&fx.token(&body, None), 400, "invalid_request");
    let body = app_redeem_body(&code).replace(VERIFIER, "");
    assert_error(&fx.token(&body, None), 400, "invalid_request");
    // It can never succeed, so it is refused before the code is taken: the code still works.
    assert_eq!(fx.token(&app_redeem_body(&code), None).status(), 200);
    assert!(fx.events.take().is_empty());
}

#[test]
fn refresh_token_is_issued_only_to_clients_with_the_refresh_grant() {
    let fx = fixture();
    fx.store.insert_client(
        Client::public("app")
            .redirect_uri("http://127.0.0.1/cb")
            .grant_types([GrantType::AuthorizationCode])
            .scope("read write")
            .default_scope("read")
            .build()
            .unwrap(),
    );
    let code = fx.code(&app_query(""));
    assert!(json(&fx.token(&app_redeem_body(&code), None)).get("refresh_token").is_none());
}

#[test]
fn tk06_an_empty_or_short_secret_cannot_be_registered() {
    use oauth21::RegistrationError;
    let build = |secret: &str| {
        Client::confidential("x", &ClientSecret::new(secret)).grant_types([GrantType::ClientCredentials]).build()
    };
    assert_eq!(build("").unwrap_err(), RegistrationError::EmptySecret);
    assert_eq!(build("fifteen-bytes!!").unwrap_err(), RegistrationError::WeakSecret);
    assert!(build("sixteen-bytes!!!").is_ok());
    // The opt-in admits short secrets, never an empty one.
    let short = |secret: &str| {
        Client::confidential("x", &ClientSecret::new(secret))
            .allow_short_secrets()
            .grant_types([GrantType::ClientCredentials])
            .build()
    };
    assert!(short("s3cret").is_ok());
    assert_eq!(short("").unwrap_err(), RegistrationError::EmptySecret);
    // An empty secret among several is refused as well.
    let several = Client::confidential("x", &ClientSecret::new("a long enough secret"))
        .secret(&ClientSecret::new(""))
        .grant_types([GrantType::ClientCredentials])
        .build();
    assert_eq!(several.unwrap_err(), RegistrationError::EmptySecret);
}

#[test]
fn tk06_an_empty_basic_password_is_no_secret() {
    let fx = fixture();
    let code = web_code(&fx);
    // `web:` over Basic: a confidential client that sent no secret, never a secret to compare.
    let r = fx.token(&web_redeem_body(&code), Some(&basic_auth_header("web", "")));
    assert_error(&r, 401, "invalid_client");
    let failures: Vec<_> = fx.events.take();
    assert!(
        failures.iter().any(|e| format!("{e:?}").contains("SecretRequired")),
        "reported as a missing secret: {failures:?}"
    );
    // The code was not consumed by the failed attempt.
    assert_eq!(fx.token(&web_redeem_body(&code), Some(&web_basic())).status(), 200);
}
