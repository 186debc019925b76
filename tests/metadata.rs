//! Authorization server metadata (RFC 8414; MD-01..MD-06, SEC-02): where it is served, what
//! it lists, and that everything it lists is something the server really does.

mod common;

use common::*;
use oauth21::client::basic_auth_header;
use oauth21::{Approval, ConfigError, EndpointPaths, Metadata, Request, Response, ServerConfig, Subject};
use serde_json::{Value, json};

const TENANT: &str = "https://as.example/tenant/a";

/// The metadata document served by `fx`.
fn document(fx: &Fixture) -> Value {
    let response = fx.server.metadata();
    assert_eq!(response.status(), 200);
    json(&response)
}

fn strings(value: &Value) -> Vec<&str> {
    value.as_array().unwrap_or_else(|| panic!("not an array: {value}")).iter().map(|v| v.as_str().unwrap()).collect()
}

fn tenant_fixture() -> Fixture {
    fixture_with(ServerConfig::builder(TENANT).build().unwrap())
}

/// The `iss` of an authorization response approved as alice.
fn iss_of_authorization_response(fx: &Fixture) -> String {
    let consent = fx.consent(&app_query(""));
    let response =
        block_on(fx.server.approve(&consent, Approval::new(Subject::new("alice").unwrap()))).unwrap().into_response();
    query_param(response.location().unwrap(), "iss").expect("iss in the authorization response")
}

fn error_code(response: &Response) -> Option<String> {
    serde_json::from_slice::<Value>(response.body()).ok()?["error"].as_str().map(str::to_owned)
}

/// Every object member and array element, recursively, with its path.
fn walk<'a>(path: String, value: &'a Value, out: &mut Vec<(String, &'a Value)>) {
    out.push((path.clone(), value));
    match value {
        Value::Object(map) => map.iter().for_each(|(k, v)| walk(format!("{path}.{k}"), v, out)),
        Value::Array(items) => items.iter().enumerate().for_each(|(i, v)| walk(format!("{path}[{i}]"), v, out)),
        _ => {}
    }
}

// ---- MD-01: served at the well-known path, 200 application/json ----

#[test]
fn md01_metadata_is_200_json() {
    let fx = fixture();
    let response = fx.server.metadata();
    assert_eq!(response.status(), 200);
    assert_eq!(response.header("Content-Type"), Some("application/json"));
    assert!(json(&response).is_object());
}

#[test]
fn md01_metadata_path_without_issuer_path_is_the_well_known_name() {
    let fx = fixture();
    assert_eq!(fx.server.config().metadata_path(), "/.well-known/oauth-authorization-server");
}

#[test]
fn md01_issuer_path_goes_after_the_well_known_name() {
    let fx = tenant_fixture();
    assert_eq!(fx.server.config().metadata_path(), "/.well-known/oauth-authorization-server/tenant/a");
    let doc = document(&fx);
    assert_eq!(doc["issuer"], TENANT);
    assert_eq!(doc["authorization_endpoint"], "https://as.example/tenant/a/authorize");
    assert_eq!(doc["token_endpoint"], "https://as.example/tenant/a/token");
    assert_eq!(doc["revocation_endpoint"], "https://as.example/tenant/a/revoke");
    assert_eq!(doc["introspection_endpoint"], "https://as.example/tenant/a/introspect");
}

#[test]
fn md01_metadata_path_keeps_the_port_out_and_the_path_in() {
    let config = ServerConfig::builder("https://as.example:8443/t1").build().unwrap();
    assert_eq!(config.metadata_path(), "/.well-known/oauth-authorization-server/t1");
    assert_eq!(Metadata::new(&config).token_endpoint, "https://as.example:8443/t1/token");
}

#[test]
fn md01_response_equals_the_serialised_document() {
    let fx = fixture();
    let expected = serde_json::to_value(Metadata::new(fx.server.config())).unwrap();
    assert_eq!(document(&fx), expected);
}

// ---- MD-02 / SEC-02: issuer identical to the iss parameter ----

#[test]
fn md02_issuer_equals_the_configured_issuer_and_the_iss_parameter() {
    let fx = fixture();
    let doc = document(&fx);
    assert_eq!(doc["issuer"], fx.server.config().issuer().as_str());
    assert_eq!(doc["issuer"], ISSUER);
    assert_eq!(iss_of_authorization_response(&fx), ISSUER);
}

#[test]
fn md02_error_responses_carry_the_same_iss() {
    let fx = fixture();
    let consent = fx.consent(&app_query(""));
    let denied = block_on(fx.server.deny(&consent));
    assert_eq!(query_param(denied.location().unwrap(), "error").as_deref(), Some("access_denied"));
    assert_eq!(query_param(denied.location().unwrap(), "iss").as_deref(), Some(ISSUER));
}

/// SEC-02 (mix-up defence): each tenant's `iss` equals its own metadata issuer, and differs from
/// every other tenant's.
#[test]
fn sec02_iss_equals_metadata_issuer_and_is_unique_per_tenant() {
    let root = fixture();
    let tenant = tenant_fixture();
    let other = fixture_with(ServerConfig::builder("https://as.example/tenant/b").build().unwrap());
    let mut seen = Vec::new();
    for fx in [&root, &tenant, &other] {
        let issuer = document(fx)["issuer"].as_str().unwrap().to_owned();
        assert_eq!(issuer, fx.server.config().issuer().as_str());
        assert_eq!(iss_of_authorization_response(fx), issuer);
        assert!(!seen.contains(&issuer), "issuer {issuer} shared by two tenants");
        seen.push(issuer);
    }
}

// ---- MD-03: required members; no jwks_uri while no JWTs are issued ----

#[test]
fn md03_required_members_are_present() {
    let fx = fixture();
    let doc = document(&fx);
    assert_eq!(doc["issuer"], "https://as.example");
    assert_eq!(doc["authorization_endpoint"], "https://as.example/authorize");
    assert_eq!(doc["token_endpoint"], "https://as.example/token");
    assert_eq!(doc["response_types_supported"], json!(["code"]));
    assert_eq!(doc["response_modes_supported"], json!(["query"]));
}

#[test]
fn md03_no_jwks_uri_because_no_jwts_are_issued() {
    let fx = fixture();
    let doc = document(&fx);
    assert!(doc.get("jwks_uri").is_none());
    // Tokens are opaque, not JWTs: nothing a jwks_uri would be needed for.
    let (access, _) = fx.app_tokens();
    assert_ne!(access.matches('.').count(), 2, "access token looks like a JWT: {access}");
}

// ---- MD-04: S256 only ----

#[test]
fn md04_code_challenge_methods_are_exactly_s256() {
    let fx = fixture();
    assert_eq!(document(&fx)["code_challenge_methods_supported"], json!(["S256"]));
}

// ---- MD-05: iss parameter supported ----

#[test]
fn md05_authorization_response_iss_parameter_supported_is_true() {
    let fx = fixture();
    assert_eq!(document(&fx)["authorization_response_iss_parameter_supported"], json!(true));
}

// ---- MD-06: grants, auth methods, revocation and introspection; no empty arrays or nulls ----

#[test]
fn md06_grant_types_are_exactly_the_three_served() {
    let fx = fixture();
    let mut grants =
        strings(&document(&fx)["grant_types_supported"]).into_iter().map(str::to_owned).collect::<Vec<_>>();
    grants.sort();
    assert_eq!(grants, ["authorization_code", "client_credentials", "refresh_token"]);
}

#[test]
fn md06_token_endpoint_auth_methods_are_listed() {
    let fx = fixture();
    let doc = document(&fx);
    assert_eq!(
        doc["token_endpoint_auth_methods_supported"],
        json!(["client_secret_basic", "client_secret_post", "private_key_jwt", "none"])
    );
    // The algorithms assertions may be signed with: asymmetric only, never `none` or HS*.
    assert_eq!(doc["token_endpoint_auth_signing_alg_values_supported"], json!(["EdDSA", "ES256", "RS256"]));
}

#[test]
fn md06_revocation_and_introspection_endpoints_are_listed_with_their_auth_methods() {
    let fx = fixture();
    let doc = document(&fx);
    assert_eq!(doc["revocation_endpoint"], "https://as.example/revoke");
    assert_eq!(
        doc["revocation_endpoint_auth_methods_supported"],
        json!(["client_secret_basic", "client_secret_post", "private_key_jwt", "none"])
    );
    assert_eq!(doc["introspection_endpoint"], "https://as.example/introspect");
    let introspection = strings(&doc["introspection_endpoint_auth_methods_supported"]);
    assert_eq!(introspection, ["client_secret_basic", "client_secret_post", "private_key_jwt"]);
    assert!(!introspection.contains(&"none"), "introspection needs an authenticated caller");
}

#[test]
fn md06_no_empty_arrays_no_nulls_no_empty_strings() {
    for fx in [fixture(), tenant_fixture()] {
        let doc = document(&fx);
        let mut all = Vec::new();
        walk("$".into(), &doc, &mut all);
        for (path, value) in all {
            match value {
                Value::Null => panic!("{path} is null"),
                Value::Array(items) => assert!(!items.is_empty(), "{path} is an empty array"),
                Value::Object(map) => assert!(!map.is_empty(), "{path} is an empty object"),
                Value::String(s) => assert!(!s.is_empty(), "{path} is an empty string"),
                _ => {}
            }
        }
    }
}

#[test]
fn md06_arrays_hold_no_duplicates() {
    let fx = fixture();
    let doc = document(&fx);
    for (name, value) in doc.as_object().unwrap() {
        if let Value::Array(_) = value {
            let items = strings(value);
            let mut unique = items.clone();
            unique.sort();
            unique.dedup();
            assert_eq!(unique.len(), items.len(), "{name} repeats a value");
        }
    }
}

#[test]
fn md06_custom_endpoint_paths_are_reflected() {
    let paths = EndpointPaths::default()
        .with_authorization("/oauth2/v1/authz")
        .with_token("/oauth2/v1/token")
        .with_revocation("/oauth2/v1/token/revoke")
        .with_introspection("/oauth2/v1/token/introspect")
        .with_jwks("/oauth2/v1/keys");
    let fx = fixture_with(ServerConfig::builder(TENANT).endpoint_paths(paths.clone()).build().unwrap());
    assert_eq!(fx.server.config().endpoint_paths(), &paths);
    let doc = document(&fx);
    assert_eq!(doc["issuer"], TENANT);
    assert_eq!(doc["authorization_endpoint"], "https://as.example/tenant/a/oauth2/v1/authz");
    assert_eq!(doc["token_endpoint"], "https://as.example/tenant/a/oauth2/v1/token");
    assert_eq!(doc["revocation_endpoint"], "https://as.example/tenant/a/oauth2/v1/token/revoke");
    assert_eq!(doc["introspection_endpoint"], "https://as.example/tenant/a/oauth2/v1/token/introspect");
    // The metadata location depends on the issuer only.
    assert_eq!(fx.server.config().metadata_path(), "/.well-known/oauth-authorization-server/tenant/a");
}

#[test]
fn md06_endpoint_paths_that_are_not_plain_paths_are_refused() {
    for bad in ["token", "", "/token?x=1", "/token#f", "/to ken", "https://evil.example/token"] {
        let paths = EndpointPaths::default().with_token(bad);
        let result = ServerConfig::builder(ISSUER).endpoint_paths(paths).build();
        assert_eq!(result.unwrap_err(), ConfigError::EndpointPath, "{bad:?}");
    }
}

// ---- Everything listed is something the server really accepts ----

#[test]
fn md06_every_listed_grant_type_is_served_by_the_token_endpoint() {
    let fx = fixture();
    let doc = document(&fx);
    let svc = basic_auth_header("svc", "svc-secret");
    for grant in strings(&doc["grant_types_supported"]) {
        for authorization in [None, Some(svc.as_str())] {
            let response = fx.token(&format!("grant_type={grant}&client_id=app"), authorization);
            assert_ne!(error_code(&response).as_deref(), Some("unsupported_grant_type"), "{grant}");
        }
    }
    // The check above can fail: an unlisted grant type is refused as unsupported.
    for grant in ["password", "implicit", "urn:ietf:params:oauth:grant-type:device_code"] {
        let response = fx.token(&format!("grant_type={grant}&client_id=app"), None);
        assert_eq!(error_code(&response).as_deref(), Some("unsupported_grant_type"), "{grant}");
    }
}

#[test]
fn md06_every_listed_grant_type_issues_tokens() {
    let fx = fixture();
    let grants = strings(&document(&fx)["grant_types_supported"]).into_iter().map(str::to_owned).collect::<Vec<_>>();
    for grant in grants {
        let response = match grant.as_str() {
            "authorization_code" => fx.token(&app_redeem_body(&fx.code(&app_query(""))), None),
            "refresh_token" => {
                let (_, refresh) = fx.app_tokens();
                fx.refresh(&refresh, "")
            }
            "client_credentials" => {
                fx.token("grant_type=client_credentials&scope=read", Some(&basic_auth_header("svc", "svc-secret")))
            }
            other => panic!("metadata lists {other}, which this test does not know how to use"),
        };
        assert_eq!(response.status(), 200, "{grant}: {}", String::from_utf8_lossy(response.body()));
        assert!(json(&response)["access_token"].is_string(), "{grant}");
    }
}

#[test]
fn md06_every_listed_token_endpoint_auth_method_works() {
    let fx = fixture();
    let methods = strings(&document(&fx)["token_endpoint_auth_methods_supported"])
        .into_iter()
        .map(str::to_owned)
        .collect::<Vec<_>>();
    for method in methods {
        let response = match method.as_str() {
            "client_secret_basic" => {
                fx.token("grant_type=client_credentials&scope=read", Some(&basic_auth_header("svc", "svc-secret")))
            }
            "client_secret_post" => {
                fx.token("grant_type=client_credentials&scope=read&client_id=svc&client_secret=svc-secret", None)
            }
            "private_key_jwt" => {
                let body = format!(
                    "grant_type=client_credentials&scope=read&{}",
                    assertion_params(&fx.jwt_client_assertion())
                );
                fx.token(&body, None)
            }
            // A public client sends only its client_id.
            "none" => fx.token(&app_redeem_body(&fx.code(&app_query(""))), None),
            other => panic!("metadata lists {other}, which this test does not know how to use"),
        };
        assert_eq!(response.status(), 200, "{method}: {}", String::from_utf8_lossy(response.body()));
    }
}

#[test]
fn md06_every_listed_revocation_auth_method_works() {
    let fx = fixture();
    let methods = strings(&document(&fx)["revocation_endpoint_auth_methods_supported"])
        .into_iter()
        .map(str::to_owned)
        .collect::<Vec<_>>();
    let svc_token = || {
        let response =
            fx.token("grant_type=client_credentials&scope=read", Some(&basic_auth_header("svc", "svc-secret")));
        json(&response)["access_token"].as_str().unwrap().to_owned()
    };
    for method in methods {
        let response = match method.as_str() {
            "client_secret_basic" => {
                let body = format!("token={}", svc_token());
                let authorization = basic_auth_header("svc", "svc-secret");
                let request = Request::form_post(body.as_bytes()).with_authorization(authorization.as_bytes());
                block_on(fx.server.revoke(&request))
            }
            "client_secret_post" => {
                let body = format!("token={}&client_id=svc&client_secret=svc-secret", svc_token());
                block_on(fx.server.revoke(&Request::form_post(body.as_bytes())))
            }
            "private_key_jwt" => {
                let body = format!("token={}&{}", svc_token(), assertion_params(&fx.jwt_client_assertion()));
                block_on(fx.server.revoke(&Request::form_post(body.as_bytes())))
            }
            "none" => {
                let (_, refresh) = fx.app_tokens();
                let body = format!("token={refresh}&client_id=app");
                block_on(fx.server.revoke(&Request::form_post(body.as_bytes())))
            }
            other => panic!("metadata lists {other}, which this test does not know how to use"),
        };
        assert_eq!(response.status(), 200, "{method}: {}", String::from_utf8_lossy(response.body()));
    }
    // And a wrong secret is not silently accepted: the listed methods are really checked.
    let authorization = basic_auth_header("svc", "wrong");
    let request = Request::form_post(b"token=x").with_authorization(authorization.as_bytes());
    assert_eq!(error_code(&block_on(fx.server.revoke(&request))).as_deref(), Some("invalid_client"));
}

#[test]
fn md06_every_listed_introspection_auth_method_works_and_none_does_not() {
    let fx = fixture();
    let response = fx.token("grant_type=client_credentials&scope=read", Some(&basic_auth_header("svc", "svc-secret")));
    let token = json(&response)["access_token"].as_str().unwrap().to_owned();
    let methods = strings(&document(&fx)["introspection_endpoint_auth_methods_supported"])
        .into_iter()
        .map(str::to_owned)
        .collect::<Vec<_>>();
    for method in methods {
        let response = match method.as_str() {
            "client_secret_basic" => {
                let body = format!("token={token}");
                let authorization = basic_auth_header("svc", "svc-secret");
                let request = Request::form_post(body.as_bytes()).with_authorization(authorization.as_bytes());
                block_on(fx.server.introspect(&request))
            }
            "client_secret_post" => {
                let body = format!("token={token}&client_id=svc&client_secret=svc-secret");
                block_on(fx.server.introspect(&Request::form_post(body.as_bytes())))
            }
            "private_key_jwt" => {
                // A client introspects its own tokens.
                let body = format!(
                    "grant_type=client_credentials&scope=read&{}",
                    assertion_params(&fx.jwt_client_assertion())
                );
                let own = json(&fx.token(&body, None))["access_token"].as_str().unwrap().to_owned();
                let body = format!("token={own}&{}", assertion_params(&fx.jwt_client_assertion()));
                block_on(fx.server.introspect(&Request::form_post(body.as_bytes())))
            }
            other => panic!("metadata lists {other}, which this test does not know how to use"),
        };
        assert_eq!(response.status(), 200, "{method}: {}", String::from_utf8_lossy(response.body()));
        assert_eq!(json(&response)["active"], true, "{method}");
    }
    // `none` is not listed, and indeed a public client cannot introspect, even its own token.
    let (access, _) = fx.app_tokens();
    let body = format!("token={access}&client_id=app");
    let response = block_on(fx.server.introspect(&Request::form_post(body.as_bytes())));
    assert_eq!(response.status(), 401);
    assert_eq!(error_code(&response).as_deref(), Some("invalid_client"));
}

#[test]
fn md03_listed_response_type_and_mode_are_the_ones_served() {
    let fx = fixture();
    let doc = document(&fx);
    assert_eq!(strings(&doc["response_types_supported"]), ["code"]);
    // `code` works, and the answer comes in the query (the one listed response mode).
    let consent = fx.consent(&app_query(""));
    let response =
        block_on(fx.server.approve(&consent, Approval::new(Subject::new("alice").unwrap()))).unwrap().into_response();
    let location = response.location().unwrap();
    assert!(!location.contains('#'), "{location}");
    assert!(query_param(location, "code").is_some(), "{location}");
    // Any other response type is refused.
    for other in ["token", "id_token", "code%20token"] {
        let query = app_query("").replace("response_type=code", &format!("response_type={other}"));
        let (_, response) = fx.authorize_error(&query);
        assert_eq!(
            query_param(response.location().unwrap(), "error").as_deref(),
            Some("unsupported_response_type"),
            "{other}"
        );
    }
}

#[test]
fn md04_listed_challenge_method_is_the_only_one_accepted() {
    let fx = fixture();
    assert_eq!(strings(&document(&fx)["code_challenge_methods_supported"]), ["S256"]);
    fx.consent(&app_query(""));
    for other in ["plain", "s256", "S512"] {
        let query = app_query("").replace("code_challenge_method=S256", &format!("code_challenge_method={other}"));
        let (_, response) = fx.authorize_error(&query);
        assert_eq!(query_param(response.location().unwrap(), "error").as_deref(), Some("invalid_request"), "{other}");
    }
}

#[test]
fn md05_every_authorization_response_carries_iss() {
    let fx = fixture();
    assert_eq!(document(&fx)["authorization_response_iss_parameter_supported"], true);
    // Success, denial and a redirected error all carry iss.
    let consent = fx.consent(&app_query(""));
    let success =
        block_on(fx.server.approve(&consent, Approval::new(Subject::new("alice").unwrap()))).unwrap().into_response();
    let denied = block_on(fx.server.deny(&fx.consent(&app_query(""))));
    let (_, error) = fx.authorize_error(&app_query("").replace("response_type=code", "response_type=token"));
    for response in [success, denied, error] {
        assert_eq!(query_param(response.location().unwrap(), "iss").as_deref(), Some(ISSUER));
    }
}
