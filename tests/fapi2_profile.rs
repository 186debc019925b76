//! The FAPI 2.0 Security Profile switch (FAPI-01, PAR-08): one call turns on every rule, each
//! pinned here by its own test, and settings that contradict the profile are refused.

mod common;

use common::*;
use oauth21::client::basic_auth_header;
use oauth21::{Approval, Client, Clock, ConfigError, GrantType, Request, Response, ServerConfig, Subject};
use serde_json::{Value, json};
use time::Duration;

const BANK_REDIRECT: &str = "https://bank.example/cb";
const TOKEN_URL: &str = "https://as.example/token";

fn profile() -> ServerConfig {
    ServerConfig::builder(ISSUER).fapi2_security_profile().build().unwrap()
}

/// A FAPI fixture with `bank`, a `private_key_jwt` client of the code and refresh grants.
fn fapi_fixture() -> Fixture {
    let fx = fixture_with(profile());
    fx.store.insert_client(
        Client::private_key_jwt("bank", client_keys(&[&jwt_client_key()]))
            .redirect_uri(BANK_REDIRECT)
            .grant_types([GrantType::AuthorizationCode, GrantType::RefreshToken])
            .scope("accounts")
            .build()
            .unwrap(),
    );
    fx
}

fn assertion(fx: &Fixture, client: &str) -> String {
    assertion_params(&sign_assertion(jwt_client_key(), &assertion_claims(client, fx.clock.now().unix_timestamp())))
}

fn bank_push_body(fx: &Fixture, redirect: bool) -> String {
    let redirect = if redirect { "&redirect_uri=https%3A%2F%2Fbank.example%2Fcb" } else { "" };
    format!(
        "response_type=code&scope=accounts&state=st&code_challenge={CHALLENGE}&code_challenge_method=S256{redirect}&{}",
        assertion(fx, "bank")
    )
}

fn push(fx: &Fixture, body: &str) -> Response {
    block_on(fx.server.pushed_authorization_request(&Request::form_post(body.as_bytes())))
}

fn error_of(response: &Response) -> String {
    serde_json::from_slice::<Value>(response.body())
        .ok()
        .and_then(|v| v["error"].as_str().map(str::to_owned))
        .unwrap_or_default()
}

/// Pushes, loads and approves `bank`'s request; returns the code.
fn bank_code(fx: &Fixture) -> String {
    let pushed = push(fx, &bank_push_body(fx, true));
    assert_eq!(pushed.status(), 201, "{}", String::from_utf8_lossy(pushed.body()));
    let uri = json(&pushed)["request_uri"].as_str().unwrap().to_owned();
    let query = serde_urlencoded::to_string([("client_id", "bank"), ("request_uri", uri.as_str())]).unwrap();
    let consent = fx.consent(&query);
    let approved = block_on(fx.server.approve(&consent, Approval::new(Subject::new("alice").unwrap()))).unwrap();
    query_param(approved.response().location().unwrap(), "code").unwrap()
}

fn redeem_body(fx: &Fixture, code: &str) -> String {
    format!(
        "grant_type=authorization_code&code={code}&redirect_uri=https%3A%2F%2Fbank.example%2Fcb\
         &code_verifier={VERIFIER}&{}",
        assertion(fx, "bank")
    )
}

#[test]
fn fapi01_the_whole_flow_works_under_the_profile_with_dpop_bound_tokens() {
    let fx = fapi_fixture();
    let key = DpopKey::new();
    let code = bank_code(&fx);
    let proof = key.proof("POST", TOKEN_URL, fx.clock.now().unix_timestamp(), json!({}));
    let response = fx.token_with_dpop_header(&redeem_body(&fx, &code), None, &proof);
    assert_eq!(response.status(), 200, "{}", String::from_utf8_lossy(response.body()));
    let body = json(&response);
    assert_eq!(body["token_type"], "DPoP");
    // Refresh (DPoP again): the confidential client's refresh token is not rotated.
    let refresh = body["refresh_token"].as_str().unwrap().to_owned();
    let proof = key.proof("POST", TOKEN_URL, fx.clock.now().unix_timestamp(), json!({}));
    let refreshed = fx.token_with_dpop_header(
        &format!("grant_type=refresh_token&refresh_token={refresh}&{}", assertion(&fx, "bank")),
        None,
        &proof,
    );
    assert_eq!(refreshed.status(), 200, "{}", String::from_utf8_lossy(refreshed.body()));
    assert!(json(&refreshed).get("refresh_token").is_none_or(|r| r == refresh.as_str()));
}

#[test]
fn fapi01_pushed_requests_are_required() {
    let fx = fapi_fixture();
    let plain = format!(
        "response_type=code&client_id=bank&scope=accounts&state=st&redirect_uri=https%3A%2F%2Fbank.example%2Fcb\
         &code_challenge={CHALLENGE}&code_challenge_method=S256"
    );
    let (_, response) = fx.authorize_error(&plain);
    assert_eq!(query_param(response.location().unwrap(), "error").as_deref(), Some("invalid_request"));
    assert_eq!(json(&fx.server.metadata())["require_pushed_authorization_requests"], true);
}

#[test]
fn par08_redirect_uri_is_required_in_a_pushed_request_under_the_profile() {
    let fx = fapi_fixture();
    let response = push(&fx, &bank_push_body(&fx, false));
    assert_eq!((response.status(), error_of(&response).as_str()), (400, "invalid_request"));
    assert_eq!(push(&fx, &bank_push_body(&fx, true)).status(), 201);
    // Without the profile, a client with one registered redirect URI may leave it out.
    let plain = fixture();
    let body = app_query("").replace("&redirect_uri=http%3A%2F%2F127.0.0.1%3A5000%2Fcb", "");
    let pushed = block_on(plain.server.pushed_authorization_request(&Request::form_post(body.as_bytes())));
    assert_eq!(pushed.status(), 201, "{}", String::from_utf8_lossy(pushed.body()));
}

#[test]
fn fapi01_clients_authenticate_with_private_key_jwt_only_everywhere() {
    let fx = fapi_fixture();
    // A secret client: refused at the token, PAR, revocation and introspection endpoints.
    let basic = basic_auth_header("svc", "svc-secret");
    let token = fx.token("grant_type=client_credentials&scope=read", Some(&basic));
    assert_eq!((token.status(), error_of(&token).as_str()), (401, "invalid_client"));
    let web = web_query("");
    let pushed = block_on(fx.server.pushed_authorization_request(
        &Request::form_post(web.as_bytes()).with_authorization(basic_auth_header("web", WEB_SECRET).as_bytes()),
    ));
    assert_eq!(error_of(&pushed), "invalid_client");
    let revoke = block_on(fx.server.revoke(&Request::form_post(b"token=t").with_authorization(basic.as_bytes())));
    assert_eq!(error_of(&revoke), "invalid_client");
    let introspect =
        block_on(fx.server.introspect(&Request::form_post(b"token=t").with_authorization(basic.as_bytes())));
    assert_eq!(error_of(&introspect), "invalid_client");
    // The metadata says so.
    let metadata = json(&fx.server.metadata());
    for member in [
        "token_endpoint_auth_methods_supported",
        "revocation_endpoint_auth_methods_supported",
        "introspection_endpoint_auth_methods_supported",
    ] {
        assert_eq!(metadata[member], json!(["private_key_jwt"]), "{member}");
    }
}

#[test]
fn fapi01_public_clients_are_not_served() {
    let fx = fapi_fixture();
    let pushed = block_on(fx.server.pushed_authorization_request(&Request::form_post(app_query("").as_bytes())));
    assert_eq!(error_of(&pushed), "invalid_client");
    assert_eq!(error_of(&fx.token(&app_redeem_body("whatever"), None)), "invalid_client");
    // Registration code can ask first, and learns why.
    let config = profile();
    let public = Client::public("spa").redirect_uri("https://spa.example/cb").build().unwrap();
    assert_eq!(config.check_client(&public), Err(ConfigError::Fapi2("public clients are not allowed")));
    let secret = Client::confidential("s", &oauth21::ClientSecret::new("a secret long enough to register"))
        .redirect_uri("https://s.example/cb")
        .build()
        .unwrap();
    assert!(config.check_client(&secret).is_err());
    let keyed = Client::private_key_jwt("k", client_keys(&[&jwt_client_key()]))
        .redirect_uri("https://k.example/cb")
        .build()
        .unwrap();
    assert_eq!(config.check_client(&keyed), Ok(()));
    // Without the profile, every valid client passes.
    assert_eq!(ServerConfig::builder(ISSUER).build().unwrap().check_client(&public), Ok(()));
}

#[test]
fn fapi01_tokens_are_dpop_bound_only() {
    let fx = fapi_fixture();
    let code = bank_code(&fx);
    let response = fx.token(&redeem_body(&fx, &code), None);
    assert_eq!((response.status(), error_of(&response).as_str()), (400, "invalid_dpop_proof"));
    // Refused before the code was taken: with a proof, it still redeems.
    let proof = DpopKey::new().proof("POST", TOKEN_URL, fx.clock.now().unix_timestamp(), json!({}));
    assert_eq!(fx.token_with_dpop_header(&redeem_body(&fx, &code), None, &proof).status(), 200);
}

#[test]
fn fapi01_codes_live_at_most_sixty_seconds() {
    assert_eq!(profile().code_lifetime(), Duration::seconds(60));
    let longer = ServerConfig::builder(ISSUER).code_lifetime(Duration::seconds(61)).fapi2_security_profile().build();
    assert_eq!(longer.unwrap_err(), ConfigError::Fapi2("codes live at most 60 seconds"));
    let shorter = ServerConfig::builder(ISSUER).code_lifetime(Duration::seconds(30)).fapi2_security_profile().build();
    assert_eq!(shorter.unwrap().code_lifetime(), Duration::seconds(30));
}

#[test]
fn fapi01_settings_that_contradict_the_profile_are_refused() {
    let no_dpop = ServerConfig::builder(ISSUER).without_dpop().fapi2_security_profile().build();
    assert_eq!(no_dpop.unwrap_err(), ConfigError::Fapi2("DPoP cannot be turned off"));
    let no_par = ServerConfig::builder(ISSUER).fapi2_security_profile().without_pushed_requests().build();
    assert_eq!(no_par.unwrap_err(), ConfigError::Fapi2("pushed authorization requests cannot be turned off"));
}

#[test]
fn fapi01_pkce_s256_iss_and_no_refresh_rotation_for_confidential_clients() {
    let config = profile();
    assert!(config.fapi2_security_profile());
    assert!(config.requires_pushed_requests());
    assert!(!config.rotate_confidential_refresh_tokens());
    let fx = fapi_fixture();
    let metadata = json(&fx.server.metadata());
    assert_eq!(metadata["code_challenge_methods_supported"], json!(["S256"]));
    assert_eq!(metadata["authorization_response_iss_parameter_supported"], true);
    // A pushed request without PKCE, or with plain, is refused.
    let body = bank_push_body(&fx, true).replace("&code_challenge_method=S256", "&code_challenge_method=plain");
    assert_eq!(error_of(&push(&fx, &body)), "invalid_request");
    // The authorization response carries iss.
    let pushed = push(&fx, &bank_push_body(&fx, true));
    let uri = json(&pushed)["request_uri"].as_str().unwrap().to_owned();
    let query = serde_urlencoded::to_string([("client_id", "bank"), ("request_uri", uri.as_str())]).unwrap();
    let consent = fx.consent(&query);
    let approved = block_on(fx.server.approve(&consent, Approval::new(Subject::new("alice").unwrap()))).unwrap();
    assert_eq!(query_param(approved.response().location().unwrap(), "iss").as_deref(), Some(ISSUER));
}
