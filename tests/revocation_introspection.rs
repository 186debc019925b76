//! Revocation (RFC 7009; RV-01..RV-06) and introspection (RFC 7662; IN-01..IN-05).

mod common;

use common::*;
use oauth21::client::basic_auth_header;
use oauth21::{Client, ClientSecret, GrantType, Method, Request, Response};
use time::Duration;

const RS_SECRET: &str = "rs-secret";

fn with_resource_server(fx: &Fixture) {
    fx.store.insert_client(
        Client::confidential("rs", &ClientSecret::new(RS_SECRET))
            .allow_short_secrets()
            .grant_types([GrantType::ClientCredentials])
            .scope("read")
            .may_introspect_any_token()
            .build()
            .unwrap(),
    );
}

fn revoke(fx: &Fixture, body: &str, auth: Option<&str>) -> Response {
    let mut request = Request::form_post(body.as_bytes());
    if let Some(auth) = auth {
        request = request.with_authorization(auth.as_bytes());
    }
    block_on(fx.server.revoke(&request))
}

fn introspect(fx: &Fixture, token: &str, id: &str, secret: &str) -> Response {
    let body = format!("token={token}");
    let auth = basic_auth_header(id, secret);
    block_on(fx.server.introspect(&Request::form_post(body.as_bytes()).with_authorization(auth.as_bytes())))
}

fn rs_introspect(fx: &Fixture, token: &str) -> serde_json::Value {
    let r = introspect(fx, token, "rs", RS_SECRET);
    assert_eq!(r.status(), 200);
    assert_eq!(r.header("Cache-Control"), Some("no-store"));
    json(&r)
}

fn assert_inactive(response: &Response) {
    assert_eq!(response.status(), 200);
    assert_eq!(response.body(), br#"{"active":false}"#, "exactly inactive");
    assert_eq!(response.header("Cache-Control"), Some("no-store"));
}

fn svc_access(fx: &Fixture) -> String {
    let r = fx.token("grant_type=client_credentials&scope=read", Some(&basic_auth_header("svc", "svc-secret")));
    json(&r)["access_token"].as_str().unwrap().to_owned()
}

// ---- Revocation ----

#[test]
fn rv01_post_form_with_token_required() {
    let fx = fixture();
    let r = block_on(fx.server.revoke(&Request::get("token=abc&client_id=app")));
    assert_eq!(r.status(), 405);
    let r = revoke(&fx, "client_id=app", None);
    assert_eq!((r.status(), json(&r)["error"].as_str()), (400, Some("invalid_request")));
    let r = revoke(&fx, "token=a&token=b&client_id=app", None);
    assert_eq!((r.status(), json(&r)["error"].as_str()), (400, Some("invalid_request")));
    let r = block_on(fx.server.revoke(&Request::post(b"token=abc&client_id=app")));
    assert_eq!(r.status(), 400, "a form content type is required");
    let r = block_on(fx.server.revoke(&Request::new(Method::Other)));
    assert_eq!(r.status(), 405);
}

#[test]
fn rv02_confidential_clients_authenticate_public_clients_send_client_id() {
    let fx = fixture();
    let token = svc_access(&fx);
    let r = revoke(&fx, &format!("token={token}"), Some(&basic_auth_header("svc", "wrong")));
    assert_eq!((r.status(), json(&r)["error"].as_str()), (401, Some("invalid_client")));
    let r = revoke(&fx, &format!("token={token}&client_id=svc"), None);
    assert_eq!((r.status(), json(&r)["error"].as_str()), (400, Some("invalid_client")));
    let r = revoke(&fx, &format!("token={token}"), None);
    assert_eq!((r.status(), json(&r)["error"].as_str()), (401, Some("invalid_client")), "no client identification");
    assert!(r.header("WWW-Authenticate").is_some_and(|c| c.starts_with("Basic ")));
    // The token survived every refused attempt.
    with_resource_server(&fx);
    assert_eq!(rs_introspect(&fx, &token)["active"], true);

    let (access, _) = fx.app_tokens();
    assert_eq!(revoke(&fx, &format!("token={access}&client_id=app"), None).status(), 200);
    assert_eq!(rs_introspect(&fx, &access)["active"], false);
}

#[test]
fn rv03_a_wrong_or_unknown_hint_still_finds_the_token() {
    let fx = fixture();
    with_resource_server(&fx);
    let (_, refresh) = fx.app_tokens();
    let r = revoke(&fx, &format!("token={refresh}&token_type_hint=access_token&client_id=app"), None);
    assert_eq!(r.status(), 200);
    assert_eq!(rs_introspect(&fx, &refresh)["active"], false);

    let (access, _) = fx.app_tokens();
    let r = revoke(&fx, &format!("token={access}&token_type_hint=magic_token&client_id=app"), None);
    assert_eq!(r.status(), 200);
    assert_eq!(rs_introspect(&fx, &access)["active"], false);
}

#[test]
fn rv04_revoking_a_refresh_token_revokes_its_grants_access_tokens() {
    let fx = fixture();
    with_resource_server(&fx);
    let (first_access, refresh) = fx.app_tokens();
    let rotated = json(&fx.refresh(&refresh, ""));
    let (second_access, second_refresh) =
        (rotated["access_token"].as_str().unwrap(), rotated["refresh_token"].as_str().unwrap());
    let r = revoke(&fx, &format!("token={second_refresh}&token_type_hint=refresh_token&client_id=app"), None);
    assert_eq!(r.status(), 200);
    for token in [first_access.as_str(), second_access, second_refresh] {
        assert_eq!(rs_introspect(&fx, token)["active"], false, "{token}");
    }
    fx.clock.advance(Duration::seconds(1));
    assert_eq!(fx.refresh(second_refresh, "").status(), 400);
}

#[test]
fn rv04_revoking_an_access_token_leaves_the_refresh_token() {
    let fx = fixture();
    with_resource_server(&fx);
    let (access, refresh) = fx.app_tokens();
    assert_eq!(revoke(&fx, &format!("token={access}&client_id=app"), None).status(), 200);
    assert_eq!(rs_introspect(&fx, &access)["active"], false);
    assert_eq!(rs_introspect(&fx, &refresh)["active"], true);
    assert_eq!(fx.refresh(&refresh, "").status(), 200);
}

#[test]
fn rv05_another_clients_token_is_never_revoked() {
    let fx = fixture();
    with_resource_server(&fx);
    let (access, refresh) = fx.app_tokens();
    for token in [&access, &refresh] {
        let r = revoke(&fx, &format!("token={token}"), Some(&basic_auth_header("svc", "svc-secret")));
        assert_eq!(r.status(), 200, "same answer as success");
        assert_eq!(rs_introspect(&fx, token)["active"], true);
    }
}

#[test]
fn rv06_unknown_and_already_revoked_tokens_get_200() {
    let fx = fixture();
    let r = revoke(&fx, "token=never-issued&client_id=app", None);
    assert_eq!(r.status(), 200);
    assert!(r.body().is_empty());
    assert_eq!(r.header("Cache-Control"), Some("no-store"));
    let (access, _) = fx.app_tokens();
    for _ in 0..2 {
        assert_eq!(revoke(&fx, &format!("token={access}&client_id=app"), None).status(), 200);
    }
}

// ---- Introspection ----

#[test]
fn in01_post_form_with_token_required() {
    let fx = fixture();
    with_resource_server(&fx);
    let auth = basic_auth_header("rs", RS_SECRET);
    let r = block_on(fx.server.introspect(&Request::get("token=abc").with_authorization(auth.as_bytes())));
    assert_eq!(r.status(), 405);
    let r = block_on(
        fx.server.introspect(&Request::form_post(b"token_type_hint=access_token").with_authorization(auth.as_bytes())),
    );
    assert_eq!((r.status(), json(&r)["error"].as_str()), (400, Some("invalid_request")));
}

#[test]
fn in02_the_caller_must_authenticate_as_a_confidential_client() {
    let fx = fixture();
    with_resource_server(&fx);
    let (access, _) = fx.app_tokens();
    // No credentials, a wrong secret (header or body), and a public client are all 401.
    // RFC 6749 §5.2: "no client authentication included" is invalid_client, 401 here (IN-02).
    let r = block_on(fx.server.introspect(&Request::form_post(format!("token={access}").as_bytes())));
    assert_eq!((r.status(), json(&r)["error"].as_str()), (401, Some("invalid_client")));
    assert!(r.header("WWW-Authenticate").is_some_and(|c| c.starts_with("Basic ")));
    let r = introspect(&fx, &access, "rs", "wrong");
    assert_eq!((r.status(), json(&r)["error"].as_str()), (401, Some("invalid_client")));
    let body = format!("token={access}&client_id=rs&client_secret=wrong");
    let r = block_on(fx.server.introspect(&Request::form_post(body.as_bytes())));
    assert_eq!((r.status(), json(&r)["error"].as_str()), (401, Some("invalid_client")));
    assert!(r.header("WWW-Authenticate").is_some());
    let body = format!("token={access}&client_id=app");
    let r = block_on(fx.server.introspect(&Request::form_post(body.as_bytes())));
    assert_eq!((r.status(), json(&r)["error"].as_str()), (401, Some("invalid_client")));
}

#[test]
fn in02_a_client_sees_its_own_tokens_and_a_resource_server_sees_all() {
    let fx = fixture();
    with_resource_server(&fx);
    let svc_token = svc_access(&fx);
    let (app_token, _) = fx.app_tokens();
    assert_eq!(json(&introspect(&fx, &svc_token, "svc", "svc-secret"))["active"], true);
    // svc may not look at app's token: indistinguishable from an unknown one.
    assert_inactive(&introspect(&fx, &app_token, "svc", "svc-secret"));
    assert_eq!(rs_introspect(&fx, &app_token)["active"], true);
}

#[test]
fn in03_active_answer_carries_the_tokens_claims() {
    let fx = fixture();
    with_resource_server(&fx);
    let (access, refresh) = fx.app_tokens();
    let v = rs_introspect(&fx, &access);
    assert_eq!(v["active"], true);
    assert_eq!(v["scope"], "read write");
    assert_eq!(v["client_id"], "app");
    assert_eq!(v["token_type"], "Bearer");
    assert_eq!(v["sub"], "alice");
    assert_eq!(v["iss"], ISSUER);
    assert_eq!(v["iat"], 1_700_000_000);
    assert_eq!(v["exp"], 1_700_000_000 + 3600);
    assert!(v.get("aud").is_none(), "no audience configured");
    assert!(v.as_object().unwrap().values().all(|x| !x.is_null()));
    let v = rs_introspect(&fx, &refresh);
    assert_eq!((v["active"].as_bool(), v["token_type"].as_str()), (Some(true), Some("refresh_token")));
}

#[test]
fn in03_audience_appears_when_configured() {
    let config = oauth21::ServerConfig::builder(ISSUER).access_token_audience("https://api.example").build().unwrap();
    let fx = fixture_with(config);
    with_resource_server(&fx);
    let (access, _) = fx.app_tokens();
    assert_eq!(rs_introspect(&fx, &access)["aud"], "https://api.example");
}

#[test]
fn in04_every_inactive_case_is_exactly_active_false() {
    let fx = fixture();
    with_resource_server(&fx);
    let auth = basic_auth_header("rs", RS_SECRET);
    let check = |token: &str| {
        let body = format!("token={token}");
        assert_inactive(&block_on(
            fx.server.introspect(&Request::form_post(body.as_bytes()).with_authorization(auth.as_bytes())),
        ));
    };
    check("never-issued");
    let (revoked_access, _) = fx.app_tokens();
    revoke(&fx, &format!("token={revoked_access}&client_id=app"), None);
    check(&revoked_access);
    let (_, rotated_out) = fx.app_tokens();
    fx.refresh(&rotated_out, "");
    check(&rotated_out);
    let (expired, _) = fx.app_tokens();
    fx.clock.advance(Duration::seconds(3600));
    check(&expired);
}

#[test]
fn in05_revoke_then_introspect_and_family_revocation_are_inactive() {
    let fx = fixture();
    with_resource_server(&fx);
    let (access, first) = fx.app_tokens();
    let second = json(&fx.refresh(&first, ""))["refresh_token"].as_str().unwrap().to_owned();
    assert_eq!(rs_introspect(&fx, &second)["active"], true);
    // A replay of `first` revokes the family: everything goes inactive.
    fx.clock.advance(Duration::seconds(1));
    fx.refresh(&first, "");
    for token in [&access, &first, &second] {
        assert_eq!(rs_introspect(&fx, token)["active"], false);
    }
}

#[test]
fn in05_expired_refresh_token_is_inactive() {
    let fx = fixture();
    with_resource_server(&fx);
    let (_, refresh) = fx.app_tokens();
    fx.clock.advance(Duration::days(14));
    assert_eq!(rs_introspect(&fx, &refresh)["active"], false);
}
