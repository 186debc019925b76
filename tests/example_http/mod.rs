//! What the HTTP tests of the example server share: its router on an ephemeral loopback port,
//! a client that does not follow redirects, and a browser's walk through the consent page.
#![allow(dead_code)]

#[path = "../../examples/server/app.rs"]
#[allow(dead_code, unused_imports)]
pub mod app;

use reqwest::StatusCode;

/// Serves the demo router on 127.0.0.1 with an OS-chosen port; returns its base URL.
pub async fn start() -> String {
    start_with(oauth21::AccessTokenFormat::Opaque).await
}

/// Serves the demo router issuing access tokens in `format`.
pub async fn start_with(format: oauth21::AccessTokenFormat) -> String {
    start_serving(app::demo_clients().unwrap(), format).await
}

/// Serves the demo router with `clients`, issuing access tokens in `format`.
pub async fn start_serving(clients: Vec<oauth21::Client>, format: oauth21::AccessTokenFormat) -> String {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let base = format!("http://{}", listener.local_addr().unwrap());
    let router = app::router(&base, clients, format).unwrap();
    let service = router.into_make_service_with_connect_info::<std::net::SocketAddr>();
    tokio::spawn(async move { axum::serve(listener, service).await.unwrap() });
    base
}

/// An HTTP client that never follows redirects: the OAuth redirects are the answers under test.
pub fn http() -> reqwest::Client {
    reqwest::Client::builder().redirect(reqwest::redirect::Policy::none()).build().unwrap()
}

pub fn html_unescape(text: &str) -> String {
    text.replace("&quot;", "\"").replace("&#39;", "'").replace("&lt;", "<").replace("&gt;", ">").replace("&amp;", "&")
}

/// The consent form's hidden inputs.
pub fn hidden_inputs(html: &str) -> Vec<(String, String)> {
    html.split("<input type=\"hidden\" name=\"")
        .skip(1)
        .filter_map(|rest| {
            let (name, rest) = rest.split_once("\" value=\"")?;
            let (value, _) = rest.split_once('"')?;
            Some((html_unescape(name), html_unescape(value)))
        })
        .collect()
}

/// Opens `url` like a browser, signs in as alice with `password`, and presses `decision`.
/// Returns the response to the form POST.
pub async fn sign_in_and_decide(base: &str, url: &str, password: &str, decision: &str) -> reqwest::Response {
    let http = http();
    let page = http.get(url).send().await.unwrap();
    assert_eq!(page.status(), StatusCode::OK);
    let headers = page.headers().clone();
    assert!(headers["content-security-policy"].to_str().unwrap().contains("frame-ancestors 'none'"));
    assert_eq!(headers["x-frame-options"], "DENY");
    let cookie = headers["set-cookie"].to_str().unwrap().split(';').next().unwrap().to_owned();
    let html = page.text().await.unwrap();
    assert_eq!(html.matches("<form method=\"post\"").count(), 1, "one form");
    for needle in [
        "name=\"username\"",
        "name=\"password\"",
        "name=\"decision\" value=\"approve\"",
        "name=\"decision\" value=\"deny\"",
    ] {
        assert!(html.contains(needle), "{needle}");
    }
    let mut form = hidden_inputs(&html);
    form.extend([
        ("username".into(), "alice".into()),
        ("password".into(), password.into()),
        ("decision".into(), decision.into()),
    ]);
    http.post(format!("{base}/authorize")).header("cookie", cookie).form(&form).send().await.unwrap()
}

pub fn query_param(url: &str, name: &str) -> Option<String> {
    let query = url.split_once('?')?.1;
    let pairs: Vec<(String, String)> = serde_urlencoded::from_str(query).ok()?;
    pairs.into_iter().find(|(k, _)| k == name).map(|(_, v)| v)
}
