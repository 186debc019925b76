//! The example server's router on an ephemeral loopback port, driven over real HTTP by an
//! independent OAuth client (the `oauth2` crate) and by plain `reqwest` where that crate has no
//! call for it (the login and consent page, `/api/me`, metadata).

mod example_http;

use example_http::{app, hidden_inputs, http, query_param, sign_in_and_decide, start, start_serving, start_with};
use oauth2::basic::BasicClient;
use oauth2::{
    AuthType, AuthUrl, AuthorizationCode, ClientId, ClientSecret, CsrfToken, IntrospectionUrl, PkceCodeChallenge,
    RedirectUrl, RevocationUrl, Scope, StandardRevocableToken, TokenIntrospectionResponse, TokenResponse, TokenUrl,
};
use reqwest::StatusCode;

fn client(base: &str, id: &str) -> ReadyClient {
    BasicClient::new(ClientId::new(id.to_owned()))
        .set_auth_uri(AuthUrl::new(format!("{base}/authorize")).unwrap())
        .set_token_uri(TokenUrl::new(format!("{base}/token")).unwrap())
        .set_redirect_uri(RedirectUrl::new(app::APP_REDIRECT.to_owned()).unwrap())
        .set_revocation_url(RevocationUrl::new(format!("{base}/revoke")).unwrap())
        .set_introspection_url(IntrospectionUrl::new(format!("{base}/introspect")).unwrap())
}

/// Runs the code flow with PKCE for `oauth` and returns its token response.
async fn code_flow(base: &str, oauth: &ReadyClient) -> oauth2::basic::BasicTokenResponse {
    let (challenge, verifier) = PkceCodeChallenge::new_random_sha256();
    let (url, state) = oauth
        .authorize_url(CsrfToken::new_random)
        .add_scope(Scope::new("read".into()))
        .add_scope(Scope::new("write".into()))
        .set_pkce_challenge(challenge)
        .url();
    let answer = sign_in_and_decide(base, url.as_str(), "alice-password", "approve").await;
    assert_eq!(answer.status(), StatusCode::SEE_OTHER, "303 after the form POST");
    let location = answer.headers()["location"].to_str().unwrap().to_owned();
    assert!(location.starts_with(app::APP_REDIRECT));
    assert_eq!(query_param(&location, "state").as_deref(), Some(state.secret().as_str()));
    assert_eq!(query_param(&location, "iss").as_deref(), Some(base));
    let code = query_param(&location, "code").unwrap();
    oauth.exchange_code(AuthorizationCode::new(code)).set_pkce_verifier(verifier).request_async(&http()).await.unwrap()
}

type ReadyClient = oauth2::Client<
    oauth2::basic::BasicErrorResponse,
    oauth2::basic::BasicTokenResponse,
    oauth2::basic::BasicTokenIntrospectionResponse,
    StandardRevocableToken,
    oauth2::basic::BasicRevocationErrorResponse,
    oauth2::EndpointSet,
    oauth2::EndpointNotSet,
    oauth2::EndpointSet,
    oauth2::EndpointSet,
    oauth2::EndpointSet,
>;

async fn api_me(base: &str, token: Option<&str>) -> reqwest::Response {
    let mut request = http().get(format!("{base}/api/me"));
    if let Some(token) = token {
        request = request.bearer_auth(token);
    }
    request.send().await.unwrap()
}

#[tokio::test]
async fn public_client_code_flow_with_pkce_then_refresh_rotation_and_replay() {
    let base = start().await;
    let oauth = client(&base, "demo-app");
    let tokens = code_flow(&base, &oauth).await;
    assert_eq!(tokens.scopes().map(|s| s.len()), Some(2));
    let first_refresh = tokens.refresh_token().unwrap().clone();

    let me = api_me(&base, Some(tokens.access_token().secret())).await;
    assert_eq!(me.status(), StatusCode::OK);
    let me: serde_json::Value = me.json().await.unwrap();
    assert_eq!(me, serde_json::json!({"sub": "alice", "client_id": "demo-app", "scope": "read write"}));

    let rotated = oauth.exchange_refresh_token(&first_refresh).request_async(&http()).await.unwrap();
    let second_refresh = rotated.refresh_token().unwrap().clone();
    assert_ne!(second_refresh.secret(), first_refresh.secret());
    // Give the rotation a moment so the replay below is a replay, not a concurrent race.
    tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    let replay = oauth.exchange_refresh_token(&first_refresh).request_async(&http()).await;
    assert!(replay.is_err(), "a rotated-out refresh token is refused");
    // The replay revoked the whole grant: the newest tokens are dead too.
    assert!(oauth.exchange_refresh_token(&second_refresh).request_async(&http()).await.is_err());
    assert_eq!(api_me(&base, Some(rotated.access_token().secret())).await.status(), StatusCode::UNAUTHORIZED);
}

#[tokio::test]
async fn confidential_client_code_flow_with_basic_and_with_post() {
    let base = start().await;
    for auth in [AuthType::BasicAuth, AuthType::RequestBody] {
        let oauth = client(&base, "demo-web")
            .set_client_secret(ClientSecret::new("demo-web-secret".into()))
            .set_auth_type(auth.clone());
        let tokens = code_flow(&base, &oauth).await;
        assert!(tokens.refresh_token().is_some(), "{auth:?}");
    }
    let wrong = client(&base, "demo-web").set_client_secret(ClientSecret::new("wrong".into()));
    assert!(wrong.exchange_client_credentials().request_async(&http()).await.is_err());
}

#[tokio::test]
async fn client_credentials_with_basic_and_with_post() {
    let base = start().await;
    for auth in [AuthType::BasicAuth, AuthType::RequestBody] {
        let oauth = client(&base, "demo-service")
            .set_client_secret(ClientSecret::new("demo-service-secret".into()))
            .set_auth_type(auth);
        let tokens = oauth
            .exchange_client_credentials()
            .add_scope(Scope::new("read".into()))
            .request_async(&http())
            .await
            .unwrap();
        assert!(tokens.refresh_token().is_none());
        let me: serde_json::Value = api_me(&base, Some(tokens.access_token().secret())).await.json().await.unwrap();
        assert_eq!(me["sub"], "demo-service");
    }
}

#[tokio::test]
async fn revocation_and_introspection_through_the_client_library() {
    let base = start().await;
    let tokens = code_flow(&base, &client(&base, "demo-app")).await;
    let service = client(&base, "demo-service").set_client_secret(ClientSecret::new("demo-service-secret".into()));

    let info = service.introspect(tokens.access_token()).request_async(&http()).await.unwrap();
    assert!(info.active());
    assert_eq!(info.client_id().map(|c| c.as_str()), Some("demo-app"));
    assert_eq!(info.sub(), Some("alice"));

    // The oauth2 crate refuses revocation over plain http (even on loopback), so this request is
    // sent by hand, as a public client: client_id in the body.
    let refresh = tokens.refresh_token().unwrap().secret().clone();
    let form = [("token", refresh.as_str()), ("token_type_hint", "refresh_token"), ("client_id", "demo-app")];
    let revoked = http().post(format!("{base}/revoke")).form(&form).send().await.unwrap();
    assert_eq!(revoked.status(), StatusCode::OK);
    let info = service.introspect(tokens.access_token()).request_async(&http()).await.unwrap();
    assert!(!info.active(), "revoking the refresh token revoked the grant's access token");
    let me = api_me(&base, Some(tokens.access_token().secret())).await;
    assert_eq!(me.status(), StatusCode::UNAUTHORIZED);
    assert!(me.headers()["www-authenticate"].to_str().unwrap().contains("error=\"invalid_token\""));
}

#[tokio::test]
async fn jwt_mode_issues_rfc9068_tokens_that_verify_with_the_served_jwks_and_revoke() {
    use oauth21::jose::{KeySet, SharedKeySet};
    use oauth21::jwt::JwtVerifier;

    let base = start_with(oauth21::AccessTokenFormat::Jwt).await;
    let doc: serde_json::Value = http()
        .get(format!("{base}/.well-known/oauth-authorization-server"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(doc["jwks_uri"], format!("{base}/jwks.json"));
    let jwks = http().get(format!("{base}/jwks.json")).send().await.unwrap();
    assert_eq!(jwks.status(), StatusCode::OK);
    let keys = SharedKeySet::new(KeySet::from_jwks(&jwks.bytes().await.unwrap()).unwrap());

    // The code flow through the oauth2 crate: the access token is a JWT the resource server
    // verifies offline with the published keys alone.
    let tokens = code_flow(&base, &client(&base, "demo-app")).await;
    let jwt = tokens.access_token().secret().clone();
    let verifier = JwtVerifier::new(keys, base.as_str(), format!("{base}/api/me"));
    let claims = verifier.verify(&jwt, time::OffsetDateTime::now_utc()).unwrap();
    assert_eq!(claims.subject.as_str(), "alice");
    assert_eq!(claims.client_id.as_str(), "demo-app");
    let me: serde_json::Value = api_me(&base, Some(&jwt)).await.json().await.unwrap();
    assert_eq!(me["sub"], "alice");

    // Refresh tokens stay opaque; revoking one revokes the grant's JWT for the server's API.
    let refresh = tokens.refresh_token().unwrap().secret().clone();
    assert!(!refresh.contains('.'));
    let form = [("token", refresh.as_str()), ("client_id", "demo-app")];
    assert_eq!(http().post(format!("{base}/revoke")).form(&form).send().await.unwrap().status(), StatusCode::OK);
    assert_eq!(api_me(&base, Some(&jwt)).await.status(), StatusCode::UNAUTHORIZED);
}

#[tokio::test]
async fn opaque_mode_serves_no_jwks() {
    let base = start().await;
    assert_eq!(http().get(format!("{base}/jwks.json")).send().await.unwrap().status(), StatusCode::NOT_FOUND);
}

#[tokio::test]
async fn api_me_without_a_token_gets_a_bare_challenge() {
    let base = start().await;
    let me = api_me(&base, None).await;
    assert_eq!(me.status(), StatusCode::UNAUTHORIZED);
    // No error code (RS-03); the pointer to the resource's metadata (PRM-01).
    let expected =
        format!("Bearer realm=\"demo-api\", resource_metadata=\"{base}/.well-known/oauth-protected-resource/api/me\"");
    assert_eq!(me.headers()["www-authenticate"], expected.as_str());
}

#[tokio::test]
async fn metadata_describes_the_server() {
    let base = start().await;
    let response = http().get(format!("{base}/.well-known/oauth-authorization-server")).send().await.unwrap();
    assert_eq!(response.status(), StatusCode::OK);
    assert_eq!(response.headers()["content-type"], "application/json");
    let doc: serde_json::Value = response.json().await.unwrap();
    assert_eq!(doc["issuer"], base.as_str());
    assert_eq!(doc["token_endpoint"], format!("{base}/token"));
    assert_eq!(doc["code_challenge_methods_supported"], serde_json::json!(["S256"]));
    assert_eq!(doc["authorization_response_iss_parameter_supported"], true);
}

#[tokio::test]
async fn deny_button_sends_access_denied_back() {
    let base = start().await;
    let oauth = client(&base, "demo-app");
    let (challenge, _) = PkceCodeChallenge::new_random_sha256();
    let (url, state) = oauth.authorize_url(CsrfToken::new_random).set_pkce_challenge(challenge).url();
    let answer = sign_in_and_decide(&base, url.as_str(), "", "deny").await;
    assert_eq!(answer.status(), StatusCode::SEE_OTHER);
    let location = answer.headers()["location"].to_str().unwrap().to_owned();
    assert_eq!(query_param(&location, "error").as_deref(), Some("access_denied"));
    assert_eq!(query_param(&location, "state").as_deref(), Some(state.secret().as_str()));
    assert_eq!(query_param(&location, "iss").as_deref(), Some(base.as_str()));
    assert!(query_param(&location, "code").is_none());
}

#[tokio::test]
async fn wrong_password_shows_the_form_again() {
    let base = start().await;
    let oauth = client(&base, "demo-app");
    let (challenge, _) = PkceCodeChallenge::new_random_sha256();
    let (url, _) = oauth.authorize_url(CsrfToken::new_random).set_pkce_challenge(challenge).url();
    let answer = sign_in_and_decide(&base, url.as_str(), "guess", "approve").await;
    assert_eq!(answer.status(), StatusCode::OK);
    let html = answer.text().await.unwrap();
    assert!(html.contains("Wrong username or password."));
    assert!(html.contains("<form method=\"post\""));
}

#[tokio::test]
async fn forged_consent_post_without_the_csrf_cookie_is_refused() {
    let base = start().await;
    let oauth = client(&base, "demo-app");
    let (challenge, _) = PkceCodeChallenge::new_random_sha256();
    let (url, _) = oauth.authorize_url(CsrfToken::new_random).set_pkce_challenge(challenge).url();
    let html = http().get(url.as_str()).send().await.unwrap().text().await.unwrap();
    let mut form = hidden_inputs(&html);
    form.extend([
        ("username".into(), "alice".into()),
        ("password".into(), "alice-password".into()),
        ("decision".into(), "approve".into()),
    ]);
    let answer = http().post(format!("{base}/authorize")).form(&form).send().await.unwrap();
    assert_eq!(answer.status(), StatusCode::FORBIDDEN);
    assert!(answer.headers().get("location").is_none());
}

#[tokio::test]
async fn invalid_redirect_uri_gets_an_error_page_never_a_redirect() {
    let base = start().await;
    let url = format!(
        "{base}/authorize?response_type=code&client_id=demo-app&redirect_uri=https%3A%2F%2Fattacker.test%2Fcb\
         &code_challenge=E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM&code_challenge_method=S256"
    );
    let answer = http().get(&url).send().await.unwrap();
    assert_eq!(answer.status(), StatusCode::BAD_REQUEST);
    assert!(answer.headers().get("location").is_none());
    assert!(answer.headers()["content-type"].to_str().unwrap().starts_with("text/html"));
    let html = answer.text().await.unwrap();
    assert!(html.contains("cannot be completed") && !html.contains("attacker.test"));
    let unknown = http().get(format!("{base}/authorize?response_type=code&client_id=nobody")).send().await.unwrap();
    assert_eq!(unknown.status(), StatusCode::BAD_REQUEST);
}

#[tokio::test]
async fn clients_file_registrations_go_through_the_crates_validation() {
    let json = r#"[
        {"client_id": "spa", "type": "public", "redirect_uris": ["http://127.0.0.1/cb"],
         "grant_types": ["authorization_code", "refresh_token"], "scope": "read", "default_scope": "read"},
        {"client_id": "rs", "type": "confidential", "secret": "s3cret", "grant_types": ["client_credentials"],
         "scope": "read", "introspection": true}
    ]"#;
    let specs: Vec<app::ClientSpec> = serde_json::from_str(json).unwrap();
    let clients: Vec<_> = specs.iter().map(|s| s.build().unwrap()).collect();
    assert!(clients[0].is_public() && clients[1].may_introspect_any_token());

    for bad in [
        r#"[{"client_id": "x", "type": "public", "secret": "s", "redirect_uris": ["https://a.example/cb"]}]"#,
        r#"[{"client_id": "x", "type": "confidential", "grant_types": ["client_credentials"]}]"#,
        r#"[{"client_id": "x", "type": "public", "redirect_uris": ["http://evil.example/cb"]}]"#,
        r#"[{"client_id": "x", "type": "public", "redirect_uris": ["https://a.example/cb"], "grant_types": ["password"]}]"#,
        r#"[{"client_id": "x", "type": "robot"}]"#,
        r#"[{"client_id": "x", "type": "confidential", "secret": "", "grant_types": ["client_credentials"]}]"#,
    ] {
        let specs: Vec<app::ClientSpec> = serde_json::from_str(bad).unwrap();
        assert!(specs[0].build().is_err(), "{bad}");
    }
    assert!(
        serde_json::from_str::<Vec<app::ClientSpec>>(r#"[{"client_id": "x", "type": "public", "typo": 1}]"#).is_err()
    );

    // A server started with such clients serves them.
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let base = format!("http://{}", listener.local_addr().unwrap());
    let router = app::router(&base, clients, oauth21::AccessTokenFormat::Opaque).unwrap();
    tokio::spawn(async move { axum::serve(listener, router).await.unwrap() });
    let oauth = client(&base, "rs").set_client_secret(ClientSecret::new("s3cret".into()));
    let tokens = oauth.exchange_client_credentials().request_async(&http()).await;
    assert!(tokens.is_err(), "rs has no default scope, so a request without scope is invalid_scope");
    let tokens = oauth.exchange_client_credentials().add_scope(Scope::new("read".into())).request_async(&http()).await;
    assert!(tokens.is_ok());
}

#[test]
fn tk06_clients_file_refuses_an_empty_secret_at_start_up() {
    let json = r#"[{"client_id": "svc", "type": "confidential", "secret": "", "grant_types": ["client_credentials"],
                    "scope": "read"}]"#;
    let specs: Vec<app::ClientSpec> = serde_json::from_str(json).unwrap();
    let error = specs[0].build().unwrap_err().to_string();
    assert!(error.contains("svc") && error.contains("empty"), "{error}");
}

/// A CSRF cookie the server did not issue (planted by a sibling site, say) is worth nothing,
/// even when the form carries the same value.
#[tokio::test]
async fn a_csrf_cookie_the_server_did_not_issue_is_refused() {
    let base = start().await;
    let oauth = client(&base, "demo-app");
    let (challenge, _) = PkceCodeChallenge::new_random_sha256();
    let (url, _) = oauth.authorize_url(CsrfToken::new_random).set_pkce_challenge(challenge).url();
    let html = http().get(url.as_str()).send().await.unwrap().text().await.unwrap();
    for planted in ["a".repeat(64), "0".repeat(96), format!("{}{}", "1".repeat(32), "f".repeat(64))] {
        let mut form: Vec<(String, String)> =
            hidden_inputs(&html).into_iter().filter(|(name, _)| name != "csrf").collect();
        form.extend([
            ("csrf".into(), planted.clone()),
            ("username".into(), "alice".into()),
            ("password".into(), "alice-password".into()),
            ("decision".into(), "approve".into()),
        ]);
        let answer = http()
            .post(format!("{base}/authorize"))
            .header("cookie", format!("oauth21_csrf={planted}"))
            .form(&form)
            .send()
            .await
            .unwrap();
        assert_eq!(answer.status(), StatusCode::FORBIDDEN, "{planted}");
    }
}

/// Over https the CSRF cookie is `__Host-` and `Secure`; the plain-named cookie is ignored.
#[tokio::test]
async fn over_https_the_csrf_cookie_is_host_prefixed_and_secure() {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let base = format!("http://{}", listener.local_addr().unwrap());
    // The public issuer is https (TLS ends at a proxy in front); the test talks to the router.
    let router =
        app::router("https://as.example", app::demo_clients().unwrap(), oauth21::AccessTokenFormat::Opaque).unwrap();
    tokio::spawn(async move { axum::serve(listener, router).await.unwrap() });
    let url = format!(
        "{base}/authorize?response_type=code&client_id=demo-app&scope=read&redirect_uri={}\
         &code_challenge=E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM&code_challenge_method=S256",
        "http%3A%2F%2F127.0.0.1%3A8765%2Fcallback"
    );
    let page = http().get(&url).send().await.unwrap();
    let cookie = page.headers()["set-cookie"].to_str().unwrap().to_owned();
    assert!(cookie.starts_with("__Host-oauth21_csrf="), "{cookie}");
    assert!(cookie.contains("; Secure") && cookie.contains("; Path=/;") && !cookie.contains("Domain"), "{cookie}");
    let value = cookie.split(';').next().unwrap().split_once('=').unwrap().1.to_owned();
    let html = page.text().await.unwrap();
    let mut form = hidden_inputs(&html);
    form.extend([
        ("username".into(), "alice".into()),
        ("password".into(), "alice-password".into()),
        ("decision".into(), "approve".into()),
    ]);
    // The same token under the plain name is not the cookie this server reads over https.
    let answer = http()
        .post(format!("{base}/authorize"))
        .header("cookie", format!("oauth21_csrf={value}"))
        .form(&form)
        .send()
        .await
        .unwrap();
    assert_eq!(answer.status(), StatusCode::FORBIDDEN);
    let answer = http()
        .post(format!("{base}/authorize"))
        .header("cookie", format!("__Host-oauth21_csrf={value}"))
        .form(&form)
        .send()
        .await
        .unwrap();
    assert_eq!(answer.status(), StatusCode::SEE_OTHER);
}

/// A browser-based public client calls `/token` and `/revoke` cross-origin: preflights from the
/// origins of registered redirect URIs are answered (loopback on any port), others refused,
/// and `/authorize` gets no CORS at all.
#[tokio::test]
async fn cors_preflights_are_answered_for_registered_origins_only() {
    let base = start().await;
    let preflight = |path: &'static str, origin: &'static str| {
        let base = base.clone();
        async move {
            http()
                .request(reqwest::Method::OPTIONS, format!("{base}{path}"))
                .header("origin", origin)
                .header("access-control-request-method", "POST")
                .header("access-control-request-headers", "content-type")
                .send()
                .await
                .unwrap()
        }
    };
    for path in ["/token", "/revoke"] {
        // demo-app's redirect URI is http://127.0.0.1:8765/callback: any loopback port.
        for origin in ["http://127.0.0.1:8765", "http://127.0.0.1:3000"] {
            let answer = preflight(path, origin).await;
            assert_eq!(answer.status(), StatusCode::NO_CONTENT, "{path} {origin}");
            assert_eq!(answer.headers()["access-control-allow-origin"], origin);
            assert!(answer.headers()["access-control-allow-methods"].to_str().unwrap().contains("POST"));
            assert!(answer.headers().get("access-control-allow-credentials").is_none());
        }
        for origin in ["https://evil.example", "http://127.0.0.2:8765", "null", "http://127.0.0.1:8765/x"] {
            let answer = preflight(path, origin).await;
            assert_eq!(answer.status(), StatusCode::FORBIDDEN, "{path} {origin}");
            assert!(answer.headers().get("access-control-allow-origin").is_none());
        }
    }
    // The actual POST from an allowed origin may read the answer; another origin may not.
    let token = http()
        .post(format!("{base}/token"))
        .header("origin", "http://127.0.0.1:5173")
        .form(&[("grant_type", "client_credentials")])
        .send()
        .await
        .unwrap();
    assert_eq!(token.headers()["access-control-allow-origin"], "http://127.0.0.1:5173");
    let token = http()
        .post(format!("{base}/token"))
        .header("origin", "https://evil.example")
        .form(&[("grant_type", "client_credentials")])
        .send()
        .await
        .unwrap();
    assert!(token.headers().get("access-control-allow-origin").is_none());
    // Never on /authorize (SEC-05).
    let answer = preflight("/authorize", "http://127.0.0.1:8765").await;
    assert!(answer.headers().get("access-control-allow-origin").is_none());
}

/// Log lines: one per event, identifiers only, in either format; a value cannot forge another
/// field of a text line.
#[test]
fn log_lines_carry_identifiers_only_and_cannot_be_forged() {
    use app::log::{Log, LogFormat, event_fields};
    use oauth21::hooks::SecurityEvent;
    let event = SecurityEvent::RefreshTokenReplay {
        client_id: oauth21::ClientId::new("demo app\" kind=fake").unwrap(),
        grant_id: oauth21::GrantId::new("g-1").unwrap(),
        subject: oauth21::Subject::new("alice").unwrap(),
    };
    let (kind, fields) = event_fields(&event);
    let json: serde_json::Value = serde_json::from_str(&Log::new(LogFormat::Json).line(kind, fields.clone())).unwrap();
    assert_eq!(json["kind"], "refresh_token_replay");
    assert_eq!(json["client_id"], "demo app\" kind=fake");
    assert_eq!(json["grant_id"], "g-1");
    let text = Log::new(LogFormat::Text).line(kind, fields);
    assert_eq!(text.lines().count(), 1);
    assert!(text.contains(r#"client_id="demo app\" kind=fake""#), "{text}");
    // Read as logfmt (quoted values may hold spaces and escaped quotes): the keys are exactly these.
    let mut keys = Vec::new();
    let (mut in_quotes, mut escaped, mut at_key) = (false, false, true);
    let mut key = String::new();
    for c in text.chars() {
        match (in_quotes, escaped, c) {
            (true, true, _) => escaped = false,
            (true, false, '\\') => escaped = true,
            (_, false, '"') => in_quotes = !in_quotes,
            (false, _, ' ') => at_key = true,
            (false, _, '=') if at_key => {
                keys.push(std::mem::take(&mut key));
                at_key = false;
            }
            (false, _, c) if at_key => key.push(c),
            _ => {}
        }
    }
    assert_eq!(keys, ["ts", "kind", "client_id", "grant_id", "subject"], "{text}");
}

mod common;

/// A code for `demo-app` through the consent page (PKCE with the RFC 7636 verifier).
async fn demo_app_code(base: &str) -> String {
    let url = format!(
        "{base}/authorize?response_type=code&client_id=demo-app&scope=read&state=s\
         &redirect_uri=http%3A%2F%2F127.0.0.1%3A8765%2Fcallback\
         &code_challenge={}&code_challenge_method=S256",
        common::CHALLENGE
    );
    let answer = sign_in_and_decide(base, &url, "alice-password", "approve").await;
    let location = answer.headers()["location"].to_str().unwrap().to_owned();
    query_param(&location, "code").unwrap()
}

async fn token_with_dpop(base: &str, form: &[(&str, &str)], proof: Option<&str>) -> (StatusCode, serde_json::Value) {
    let mut request = http().post(format!("{base}/token")).form(form);
    if let Some(proof) = proof {
        request = request.header("DPoP", proof);
    }
    let answer = request.send().await.unwrap();
    (answer.status(), answer.json().await.unwrap_or_default())
}

async fn api_me_dpop(base: &str, scheme: &str, token: &str, proof: Option<&str>) -> reqwest::Response {
    let mut request = http().get(format!("{base}/api/me")).header("authorization", format!("{scheme} {token}"));
    if let Some(proof) = proof {
        request = request.header("DPoP", proof);
    }
    request.send().await.unwrap()
}

fn now() -> i64 {
    time::OffsetDateTime::now_utc().unix_timestamp()
}

/// The example server end to end with DPoP (DP-04, DP-05, DP-07, DP-10, DP-12): a public
/// client's code flow bound to its key, `/api/me` with a proof, the bound refresh, and the
/// refusals a client without the key meets.
#[tokio::test]
async fn dpop_code_flow_refresh_and_api_for_a_public_client() {
    use oauth21::dpop::access_token_hash;
    use serde_json::json;
    let base = start().await;
    let key = common::DpopKey::new();
    let code = demo_app_code(&base).await;
    let redeem = [
        ("grant_type", "authorization_code"),
        ("client_id", "demo-app"),
        ("code", code.as_str()),
        ("redirect_uri", app::APP_REDIRECT),
        ("code_verifier", common::VERIFIER),
    ];
    let token_url = format!("{base}/token");
    let proof = key.proof("POST", &token_url, now(), json!({}));
    let (status, tokens) = token_with_dpop(&base, &redeem, Some(&proof)).await;
    assert_eq!(status, StatusCode::OK, "{tokens}");
    assert_eq!(tokens["token_type"], "DPoP");
    let access = tokens["access_token"].as_str().unwrap().to_owned();
    let refresh = tokens["refresh_token"].as_str().unwrap().to_owned();

    let me_url = format!("{base}/api/me");
    let ath = json!({ "ath": access_token_hash(&access) });
    let proof = key.proof("GET", &me_url, now(), ath.clone());
    let me = api_me_dpop(&base, "DPoP", &access, Some(&proof)).await;
    assert_eq!(me.status(), StatusCode::OK);
    // The same proof again: a replay.
    let again = api_me_dpop(&base, "DPoP", &access, Some(&proof)).await;
    assert_eq!(again.status(), StatusCode::UNAUTHORIZED);
    assert!(again.headers()["www-authenticate"].to_str().unwrap().starts_with("DPoP "));
    // The bound token as a bearer token, and with a thief's key: refused.
    assert_eq!(api_me_dpop(&base, "Bearer", &access, None).await.status(), StatusCode::UNAUTHORIZED);
    let thief = common::DpopKey::new().proof("GET", &me_url, now(), ath.clone());
    assert_eq!(api_me_dpop(&base, "DPoP", &access, Some(&thief)).await.status(), StatusCode::UNAUTHORIZED);

    // The refresh token is bound too: no proof, or another key, refreshes nothing.
    let form = [("grant_type", "refresh_token"), ("client_id", "demo-app"), ("refresh_token", refresh.as_str())];
    let (status, body) = token_with_dpop(&base, &form, None).await;
    assert_eq!((status, body["error"].as_str()), (StatusCode::BAD_REQUEST, Some("invalid_dpop_proof")));
    let other = common::DpopKey::new().proof("POST", &token_url, now(), json!({}));
    let (status, _) = token_with_dpop(&base, &form, Some(&other)).await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    let (status, body) = token_with_dpop(&base, &form, Some(&key.proof("POST", &token_url, now(), json!({})))).await;
    assert_eq!((status, body["token_type"].as_str()), (StatusCode::OK, Some("DPoP")));
}

/// A confidential client's DPoP flow (client credentials with Basic), and the metadata.
#[tokio::test]
async fn dpop_for_a_confidential_client_and_in_the_metadata() {
    use serde_json::json;
    let base = start().await;
    let metadata: serde_json::Value = http()
        .get(format!("{base}/.well-known/oauth-authorization-server"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(metadata["dpop_signing_alg_values_supported"], json!(["EdDSA", "ES256", "RS256"]));
    let key = common::DpopKey::new();
    let proof = key.proof("POST", &format!("{base}/token"), now(), json!({}));
    let answer = http()
        .post(format!("{base}/token"))
        .basic_auth("demo-service", Some("demo-service-secret"))
        .header("DPoP", proof)
        .form(&[("grant_type", "client_credentials"), ("scope", "read")])
        .send()
        .await
        .unwrap();
    assert_eq!(answer.status(), StatusCode::OK);
    let body: serde_json::Value = answer.json().await.unwrap();
    assert_eq!(body["token_type"], "DPoP");
    let access = body["access_token"].as_str().unwrap();
    let proof =
        key.proof("GET", &format!("{base}/api/me"), now(), json!({ "ath": oauth21::dpop::access_token_hash(access) }));
    assert_eq!(api_me_dpop(&base, "DPoP", access, Some(&proof)).await.status(), StatusCode::OK);
}

/// `--clients` takes the RFC 7591 / RFC 9449 names it supports and refuses, clearly, what it
/// does not support or what contradicts itself.
#[test]
fn clients_file_takes_dpop_bound_access_tokens_and_refuses_unsupported_metadata() {
    let json = r#"[{"client_id": "cli", "type": "public", "redirect_uris": ["http://127.0.0.1/cb"], "scope": "read",
                    "token_endpoint_auth_method": "none", "dpop_bound_access_tokens": true,
                    "require_pushed_authorization_requests": false}]"#;
    let specs: Vec<app::ClientSpec> = serde_json::from_str(json).unwrap();
    assert!(specs[0].build().unwrap().dpop_bound_access_tokens());
    let pushed_only = r#"{"client_id": "p", "redirect_uris": ["http://127.0.0.1/cb"], "scope": "read",
                          "require_pushed_authorization_requests": true}"#;
    let spec: app::ClientSpec = serde_json::from_str(pushed_only).unwrap();
    assert!(spec.build().unwrap().require_pushed_requests());
    for (bad, needle) in [
        (
            r#"{"client_id": "x", "type": "confidential", "secret": "a secret long enough!", "grant_types": ["client_credentials"], "jwks": {"keys": []}}"#,
            "jwks",
        ),
        (
            r#"{"client_id": "x", "type": "confidential", "secret": "a secret long enough!", "grant_types": ["client_credentials"], "token_endpoint_auth_method": "private_key_jwt"}"#,
            "private_key_jwt",
        ),
        (
            r#"{"client_id": "x", "type": "confidential", "secret": "a secret long enough!", "grant_types": ["client_credentials"], "token_endpoint_auth_signing_alg": "ES256"}"#,
            "token_endpoint_auth_signing_alg",
        ),
        (
            r#"{"client_id": "x", "type": "public", "redirect_uris": ["http://127.0.0.1/cb"], "token_endpoint_auth_method": "client_secret_basic"}"#,
            "no secret",
        ),
        (
            r#"{"client_id": "x", "type": "confidential", "secret": "a secret long enough!", "grant_types": ["client_credentials"], "token_endpoint_auth_method": "none"}"#,
            "none",
        ),
    ] {
        let spec: app::ClientSpec = serde_json::from_str(bad).unwrap();
        let error = spec.build().unwrap_err().to_string();
        assert!(error.contains(needle) && error.starts_with("x: "), "{bad}: {error}");
    }
    for (bad, needle) in [
        (
            r#"{"client_id": "x", "grant_types": ["client_credentials"], "token_endpoint_auth_method": "private_key_jwt", "jwks": {"keys": [{"kty": "OKP", "crv": "Ed25519", "x": "11qYAYKxCrfVS_7TyWQHOg7hcvPapiMlrwIaaPcHURo", "d": "nWGxne_9WmC6hEr0kuwsxERJxWl7MmkZcDusAxyuf2A", "kid": "k"}]}}"#,
            "private",
        ),
        (
            r#"{"client_id": "x", "grant_types": ["client_credentials"], "token_endpoint_auth_method": "private_key_jwt", "jwks": {"keys": [{"kty": "OKP", "crv": "Ed25519", "x": "11qYAYKxCrfVS_7TyWQHOg7hcvPapiMlrwIaaPcHURo", "kid": "k"}]}, "token_endpoint_auth_signing_alg": "HS256"}"#,
            "HS256",
        ),
        (
            r#"{"client_id": "x", "grant_types": ["client_credentials"], "token_endpoint_auth_method": "private_key_jwt", "jwks": {"keys": [{"kty": "OKP", "crv": "Ed25519", "x": "11qYAYKxCrfVS_7TyWQHOg7hcvPapiMlrwIaaPcHURo", "kid": "k"}]}, "token_endpoint_auth_signing_alg": "ES256"}"#,
            "x: ",
        ),
        (r#"{"client_id": "x", "type": "confidential", "grant_types": ["client_credentials"]}"#, "secret or jwks"),
    ] {
        let spec: app::ClientSpec = serde_json::from_str(bad).unwrap();
        let error = spec.build().unwrap_err().to_string();
        assert!(error.contains(needle) && error.starts_with("x: "), "{bad}: {error}");
    }
    let basic_only = r#"{"client_id": "b", "type": "confidential", "secret": "a secret long enough!", "grant_types": ["client_credentials"], "token_endpoint_auth_method": "client_secret_basic"}"#;
    let client = serde_json::from_str::<app::ClientSpec>(basic_only).unwrap().build().unwrap();
    assert!(
        format!("{:?}", client.kind()).contains("ClientSecretBasic")
            && !format!("{:?}", client.kind()).contains("Post")
    );
}

/// A `private_key_jwt` client from a `--clients` entry (RFC 7591 `jwks`, no `secret`, no
/// `type`): its assertion, audience the issuer, gets a token over HTTP; a replay, an assertion
/// for the token endpoint URL and a Basic secret beside an assertion do not.
#[tokio::test]
async fn clients_file_private_key_jwt_client_authenticates_over_http() {
    let key = common::jwt_client_key();
    let entry = serde_json::json!({
        "client_id": "keyed", "grant_types": ["client_credentials"], "scope": "read",
        "token_endpoint_auth_method": "private_key_jwt", "token_endpoint_auth_signing_alg": "EdDSA",
        "jwks": { "keys": [key.public_key().to_jwk()] },
    });
    let spec: app::ClientSpec = serde_json::from_value(entry).unwrap();
    let mut clients = app::demo_clients().unwrap();
    clients.push(spec.build().unwrap());
    let base = start_serving(clients, oauth21::AccessTokenFormat::Opaque).await;

    let metadata: serde_json::Value = http()
        .get(format!("{base}/.well-known/oauth-authorization-server"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert!(metadata["token_endpoint_auth_methods_supported"].as_array().unwrap().contains(&"private_key_jwt".into()));
    let assertion_for = |aud: &str| {
        let mut claims = common::assertion_claims("keyed", now());
        claims["aud"] = aud.into();
        common::sign_assertion(common::jwt_client_key(), &claims)
    };
    let post = |assertion: String, basic: bool| {
        let mut request = http().post(format!("{base}/token")).form(&[
            ("grant_type", "client_credentials"),
            ("scope", "read"),
            ("client_assertion_type", common::JWT_BEARER),
            ("client_assertion", assertion.as_str()),
        ]);
        if basic {
            request = request.basic_auth("keyed", Some("a secret it does not have"));
        }
        async move {
            let answer = request.send().await.unwrap();
            (answer.status(), answer.json::<serde_json::Value>().await.unwrap())
        }
    };
    let assertion = assertion_for(&base);
    let (status, body) = post(assertion.clone(), false).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(body["token_type"], "Bearer");
    let (status, body) = post(assertion, false).await;
    assert_eq!((status, body["error"].as_str()), (StatusCode::BAD_REQUEST, Some("invalid_client")));
    let (_, body) = post(assertion_for(&format!("{base}/token")), false).await;
    assert_eq!(body["error"], "invalid_client");
    let (status, _) = post(assertion_for(&base), true).await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
}

/// Pushes `demo-app`'s authorization request to `/par`; the 201 answer's body.
async fn push_demo_app_answer(base: &str) -> serde_json::Value {
    let answer = http()
        .post(format!("{base}/par"))
        .form(&[
            ("client_id", "demo-app"),
            ("response_type", "code"),
            ("scope", "read"),
            ("state", "pushed-state"),
            ("redirect_uri", app::APP_REDIRECT),
            ("code_challenge", common::CHALLENGE),
            ("code_challenge_method", "S256"),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(answer.status(), StatusCode::CREATED);
    answer.json().await.unwrap()
}

/// Pushes `demo-app`'s authorization request and returns the `request_uri` (60 s default).
async fn push_demo_app(base: &str) -> String {
    let body = push_demo_app_answer(base).await;
    assert_eq!(body["expires_in"], 60);
    body["request_uri"].as_str().unwrap().to_owned()
}

/// RFC 9126 over HTTP: push, open the consent page (and reload it), approve, redeem; the same
/// `request_uri` cannot complete twice, nor be used by another client.
#[tokio::test]
async fn pushed_authorization_request_through_the_consent_page() {
    let base = start().await;
    let metadata: serde_json::Value = http()
        .get(format!("{base}/.well-known/oauth-authorization-server"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(metadata["pushed_authorization_request_endpoint"], format!("{base}/par"));
    assert_eq!(metadata["require_pushed_authorization_requests"], false);

    let request_uri = push_demo_app(&base).await;
    let encoded = serde_urlencoded::to_string([("request_uri", request_uri.as_str())]).unwrap();
    let url = format!("{base}/authorize?client_id=demo-app&{encoded}");
    // Reload before approving: the page shows each time.
    for _ in 0..2 {
        assert_eq!(http().get(&url).send().await.unwrap().status(), StatusCode::OK);
    }
    let answer = sign_in_and_decide(&base, &url, "alice-password", "approve").await;
    let location = answer.headers()["location"].to_str().unwrap().to_owned();
    assert!(location.starts_with(app::APP_REDIRECT), "{location}");
    assert_eq!(query_param(&location, "state").as_deref(), Some("pushed-state"));
    let code = query_param(&location, "code").unwrap();
    let (status, body) = token_with_dpop(
        &base,
        &[
            ("grant_type", "authorization_code"),
            ("client_id", "demo-app"),
            ("code", &code),
            ("redirect_uri", app::APP_REDIRECT),
            ("code_verifier", common::VERIFIER),
        ],
        None,
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{body}");

    // Used once: the page still loads, but approving again issues no code.
    let again = sign_in_and_decide(&base, &url, "alice-password", "approve").await;
    let location = again.headers()["location"].to_str().unwrap().to_owned();
    assert_eq!(query_param(&location, "code"), None);
    assert_eq!(query_param(&location, "error").as_deref(), Some("invalid_request"));

    // Another client's request_uri is an error page, never a redirect.
    let fresh = push_demo_app(&base).await;
    let encoded = serde_urlencoded::to_string([("request_uri", fresh.as_str())]).unwrap();
    let foreign = http().get(format!("{base}/authorize?client_id=demo-web&{encoded}")).send().await.unwrap();
    assert_eq!(foreign.status(), StatusCode::BAD_REQUEST);
    assert!(foreign.headers().get("location").is_none());
    // A made-up request_uri too.
    let made_up =
        format!("{base}/authorize?client_id=demo-app&request_uri=urn%3Aietf%3Aparams%3Aoauth%3Arequest_uri%3Ax");
    assert_eq!(http().get(made_up).send().await.unwrap().status(), StatusCode::BAD_REQUEST);
}

/// An expired `request_uri` over HTTP: the server runs with a one-second lifetime
/// (`--par-lifetime 1`); loaded after it, the consent page is an error page.
#[tokio::test]
async fn an_expired_pushed_request_is_an_error_page() {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let base = format!("http://{}", listener.local_addr().unwrap());
    let clients = app::demo_clients().unwrap();
    let options = app::Options {
        access_tokens: oauth21::AccessTokenFormat::Opaque,
        jwt_key: None,
        form_key: [7; 32],
        cors: app::CorsOrigins::of(&clients),
        log: None,
        dpop_nonces: false,
        fapi2: false,
        par_lifetime: Some(time::Duration::seconds(1)),
    };
    let router = app::router_on(&base, app::DemoStore::memory(clients), options).unwrap();
    tokio::spawn(async move { axum::serve(listener, router).await.unwrap() });
    let body = push_demo_app_answer(&base).await;
    assert_eq!(body["expires_in"], 1);
    let encoded = serde_urlencoded::to_string([("request_uri", body["request_uri"].as_str().unwrap())]).unwrap();
    std::thread::sleep(std::time::Duration::from_millis(1100));
    let page = http().get(format!("{base}/authorize?client_id=demo-app&{encoded}")).send().await.unwrap();
    assert_eq!(page.status(), StatusCode::BAD_REQUEST);
    assert!(page.headers().get("location").is_none());
}
