//! The example server as an MCP client meets it: discovery from the protected resource
//! (RFC 9728), self-registration (RFC 7591), a token for that one resource (RFC 8707) through
//! the `oauth2` client crate, and the bypasses a resource server must refuse (bad-input class
//! 17). Discovery and registration are plain HTTP, as that crate has no call for them.

mod example_http;

use example_http::{app, http, query_param, sign_in_and_decide, start};
use oauth2::basic::BasicClient;
use oauth2::{
    AuthUrl, AuthorizationCode, ClientId, CsrfToken, PkceCodeChallenge, RedirectUrl, Scope, TokenResponse, TokenUrl,
};
use reqwest::StatusCode;
use serde_json::{Value, json};

/// The `resource_metadata` URL of a `WWW-Authenticate` challenge.
fn resource_metadata(challenge: &str) -> String {
    let start = challenge.find("resource_metadata=\"").expect("resource_metadata") + "resource_metadata=\"".len();
    challenge[start..].split('"').next().unwrap().to_owned()
}

async fn get_json(url: &str) -> Value {
    let response = http().get(url).send().await.unwrap();
    assert_eq!(response.status(), StatusCode::OK, "{url}");
    response.json().await.unwrap()
}

async fn register(endpoint: &str, metadata: Value) -> (StatusCode, Value) {
    let response = http().post(endpoint).json(&metadata).send().await.unwrap();
    (response.status(), response.json().await.unwrap())
}

async fn api_me(base: &str, token: &str) -> reqwest::Response {
    http().get(format!("{base}/api/me")).bearer_auth(token).send().await.unwrap()
}

#[tokio::test]
async fn ri02_an_mcp_client_discovers_registers_and_gets_a_token_for_the_resource() {
    let base = start().await;
    // 1. The resource's first answer says where its metadata is.
    let first = http().get(format!("{base}/api/me")).send().await.unwrap();
    assert_eq!(first.status(), StatusCode::UNAUTHORIZED);
    let metadata_url = resource_metadata(first.headers()["www-authenticate"].to_str().unwrap());
    assert_eq!(metadata_url, format!("{base}/.well-known/oauth-protected-resource/api/me"));
    let resource_doc = get_json(&metadata_url).await;
    let resource = resource_doc["resource"].as_str().unwrap().to_owned();
    assert_eq!(resource, format!("{base}/api/me"));
    let issuer = resource_doc["authorization_servers"][0].as_str().unwrap().to_owned();
    // 2. The authorization server's metadata names its endpoints, registration included.
    let server_doc = get_json(&format!("{issuer}/.well-known/oauth-authorization-server")).await;
    assert_eq!(server_doc["issuer"], issuer.as_str());
    let registration = server_doc["registration_endpoint"].as_str().unwrap().to_owned();
    // 3. The client registers itself.
    let (status, registered) = register(
        &registration,
        json!({
            "redirect_uris": [app::APP_REDIRECT],
            "token_endpoint_auth_method": "none",
            "grant_types": ["authorization_code", "refresh_token"],
            "client_name": "Example MCP client",
        }),
    )
    .await;
    assert_eq!(status, StatusCode::CREATED, "{registered}");
    assert!(registered.get("client_secret").is_none());
    assert_eq!(registered["scope"], "read write", "the policy gives all it allows when none is asked");
    let client_id = registered["client_id"].as_str().unwrap().to_owned();
    // 4. Code flow with PKCE, for that resource, through an independent client library.
    let oauth = BasicClient::new(ClientId::new(client_id.clone()))
        .set_auth_uri(AuthUrl::new(server_doc["authorization_endpoint"].as_str().unwrap().to_owned()).unwrap())
        .set_token_uri(TokenUrl::new(server_doc["token_endpoint"].as_str().unwrap().to_owned()).unwrap())
        .set_redirect_uri(RedirectUrl::new(app::APP_REDIRECT.to_owned()).unwrap());
    let (challenge, verifier) = PkceCodeChallenge::new_random_sha256();
    let (url, _) = oauth
        .authorize_url(CsrfToken::new_random)
        .add_scope(Scope::new("read".into()))
        .add_extra_param("resource", resource.clone())
        .set_pkce_challenge(challenge)
        .url();
    let page = http().get(url.as_str()).send().await.unwrap().text().await.unwrap();
    assert!(page.contains("Example MCP client") && page.contains("not verified"), "the consent page names it");
    assert!(page.contains(&resource), "and the resource");
    let answer = sign_in_and_decide(&base, url.as_str(), "alice-password", "approve").await;
    let location = answer.headers()["location"].to_str().unwrap().to_owned();
    let code = query_param(&location, "code").unwrap();
    let http_client = http();
    let tokens = oauth
        .exchange_code(AuthorizationCode::new(code))
        .set_pkce_verifier(verifier)
        .add_extra_param("resource", resource.clone())
        .request_async(&http_client)
        .await
        .unwrap();
    // 5. The token works at the resource, and names the client.
    let me = api_me(&base, tokens.access_token().secret()).await;
    assert_eq!(me.status(), StatusCode::OK);
    let me: Value = me.json().await.unwrap();
    assert_eq!(me["client_id"], client_id.as_str());
    // 6. Refresh, still for that resource.
    let refreshed = oauth
        .exchange_refresh_token(tokens.refresh_token().unwrap())
        .add_extra_param("resource", resource.clone())
        .request_async(&http_client)
        .await
        .unwrap();
    assert_eq!(api_me(&base, refreshed.access_token().secret()).await.status(), StatusCode::OK);
}

#[tokio::test]
async fn ri03_tokens_for_another_resource_and_widening_attempts_are_refused() {
    let base = start().await;
    let token = |form: Vec<(&'static str, String)>| {
        let base = base.clone();
        async move {
            let response = http()
                .post(format!("{base}/token"))
                .basic_auth("demo-service", Some("demo-service-secret"))
                .form(&form)
                .send()
                .await
                .unwrap();
            (response.status(), response.json::<Value>().await.unwrap())
        }
    };
    let grant = || vec![("grant_type", "client_credentials".to_owned()), ("scope", "read".to_owned())];
    // A confidential client may name another https resource; /api/me refuses that token.
    let mut other = grant();
    other.push(("resource", "https://other.example/api".into()));
    let (status, body) = token(other).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let me = api_me(&base, body["access_token"].as_str().unwrap()).await;
    assert_eq!(me.status(), StatusCode::UNAUTHORIZED);
    assert!(me.headers()["www-authenticate"].to_str().unwrap().contains("invalid_token"));
    // Without resource, or naming /api/me: the default audience, accepted there.
    for form in [grant(), {
        let mut named = grant();
        named.push(("resource", format!("{base}/api/me")));
        named
    }] {
        let (status, body) = token(form).await;
        assert_eq!(status, StatusCode::OK);
        assert_eq!(api_me(&base, body["access_token"].as_str().unwrap()).await.status(), StatusCode::OK);
    }
    // Not a URI, two at once, a plain http resource off loopback: invalid_target.
    for resources in [vec!["api"], vec!["https://a.example/x", "https://b.example/x"], vec!["http://other.example/api"]]
    {
        let mut form = grant();
        form.extend(resources.iter().map(|r| ("resource", (*r).to_owned())));
        let (status, body) = token(form).await;
        assert_eq!(
            (status, body["error"].as_str()),
            (StatusCode::BAD_REQUEST, Some("invalid_target")),
            "{resources:?}"
        );
    }
    // `audience` is never read: it cannot make a token for another resource.
    let mut form = grant();
    form.push(("audience", "https://other.example/api".into()));
    let (_, body) = token(form).await;
    assert_eq!(api_me(&base, body["access_token"].as_str().unwrap()).await.status(), StatusCode::OK);
    // A public client may not ask for a resource that is not its own.
    let url = format!(
        "{base}/authorize?response_type=code&client_id=demo-app&redirect_uri={}&code_challenge=\
         E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM&code_challenge_method=S256&resource=https%3A%2F%2Fother.example%2Fapi",
        urlencode(app::APP_REDIRECT)
    );
    let refused = http().get(url).send().await.unwrap();
    assert_eq!(refused.status(), StatusCode::FOUND);
    let location = refused.headers()["location"].to_str().unwrap().to_owned();
    assert_eq!(query_param(&location, "error").as_deref(), Some("invalid_target"));
}

fn urlencode(text: &str) -> String {
    serde_urlencoded::to_string([("v", text)]).unwrap()[2..].to_owned()
}

#[tokio::test]
async fn reg02_open_registration_takes_public_loopback_or_https_clients_only() {
    let base = start().await;
    let endpoint = format!("{base}/register");
    let public = |extra: Value| {
        let mut metadata =
            json!({ "redirect_uris": ["https://agent.example/cb"], "token_endpoint_auth_method": "none" });
        metadata.as_object_mut().unwrap().extend(extra.as_object().unwrap().clone());
        metadata
    };
    let cases = [
        (json!({ "redirect_uris": ["https://agent.example/cb"] }), "invalid_client_metadata"),
        (public(json!({ "redirect_uris": ["http://agent.example/cb"] })), "invalid_redirect_uri"),
        (public(json!({ "redirect_uris": ["com.example.agent:/cb"] })), "invalid_redirect_uri"),
        (public(json!({ "grant_types": ["client_credentials"] })), "invalid_client_metadata"),
        (public(json!({ "scope": "read admin" })), "invalid_client_metadata"),
        (public(json!({ "response_types": ["token"] })), "invalid_client_metadata"),
    ];
    for (metadata, error) in cases {
        let (status, body) = register(&endpoint, metadata.clone()).await;
        assert_eq!((status, body["error"].as_str()), (StatusCode::BAD_REQUEST, Some(error)), "{metadata}");
    }
    let (status, body) = register(&endpoint, public(json!({ "scope": "read" }))).await;
    assert_eq!(status, StatusCode::CREATED);
    assert_eq!(body["scope"], "read");
    // Not JSON: refused the same way.
    let form = http().post(&endpoint).form(&[("redirect_uris", "https://agent.example/cb")]).send().await.unwrap();
    assert_eq!(form.status(), StatusCode::BAD_REQUEST);
}
