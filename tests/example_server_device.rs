//! The example server's device flow over HTTP (RFC 8628): a TV asks for a code, polls (too
//! fast, and is told to slow down), a person approves or denies at the verification page, the
//! device gets its tokens once; and a guesser at that page is stopped (bad-input class 16).

mod example_http;

use example_http::{hidden_inputs, http, start};
use reqwest::StatusCode;
use serde_json::Value;

const DEVICE_GRANT: &str = "urn:ietf:params:oauth:grant-type:device_code";

async fn device_authorization(base: &str) -> Value {
    let response =
        http().post(format!("{base}/device_authorization")).form(&[("client_id", "demo-tv")]).send().await.unwrap();
    assert_eq!(response.status(), StatusCode::OK);
    response.json().await.unwrap()
}

async fn poll(base: &str, device_code: &str) -> (StatusCode, Value) {
    let form = [("grant_type", DEVICE_GRANT), ("client_id", "demo-tv"), ("device_code", device_code)];
    let response = http().post(format!("{base}/token")).form(&form).send().await.unwrap();
    (response.status(), response.json().await.unwrap())
}

/// A browser at the verification page: loads it from `url`, then posts the form with
/// `user_code` typed over the pre-filled one (when given), alice's password, and `decision`.
struct Browser {
    cookie: String,
    csrf: String,
    prefilled: String,
}

impl Browser {
    async fn open(url: &str) -> Self {
        let page = http().get(url).send().await.unwrap();
        assert_eq!(page.status(), StatusCode::OK);
        let cookie = page.headers()["set-cookie"].to_str().unwrap().split(';').next().unwrap().to_owned();
        let html = page.text().await.unwrap();
        assert_eq!(html.matches("<form method=\"post\"").count(), 1, "one form");
        for needle in
            ["name=\"user_code\"", "name=\"username\"", "name=\"password\"", "value=\"approve\"", "value=\"deny\""]
        {
            assert!(html.contains(needle), "{needle}");
        }
        let csrf = hidden_inputs(&html).into_iter().find(|(k, _)| k == "csrf").unwrap().1;
        let prefilled = html
            .split("name=\"user_code\" value=\"")
            .nth(1)
            .and_then(|rest| rest.split('"').next())
            .unwrap_or("")
            .to_owned();
        Self { cookie, csrf, prefilled }
    }

    async fn submit(&self, base: &str, user_code: Option<&str>, decision: &str) -> (StatusCode, String) {
        let code = user_code.unwrap_or(&self.prefilled);
        let form = [
            ("csrf", self.csrf.as_str()),
            ("user_code", code),
            ("username", "alice"),
            ("password", "alice-password"),
            ("decision", decision),
        ];
        let response =
            http().post(format!("{base}/device")).header("cookie", &self.cookie).form(&form).send().await.unwrap();
        (response.status(), response.text().await.unwrap())
    }
}

#[tokio::test]
async fn dg02_a_tv_polls_is_slowed_down_and_gets_its_tokens_once_after_approval() {
    let base = start().await;
    let started = device_authorization(&base).await;
    assert_eq!(started["verification_uri"], format!("{base}/device"));
    assert_eq!(started["interval"], 5);
    let device_code = started["device_code"].as_str().unwrap();
    let (status, body) = poll(&base, device_code).await;
    assert_eq!((status, body["error"].as_str()), (StatusCode::BAD_REQUEST, Some("authorization_pending")));
    let (_, body) = poll(&base, device_code).await;
    assert_eq!(body["error"], "slow_down", "polled again at once");
    // verification_uri_complete fills the code in; the person approves.
    let browser = Browser::open(started["verification_uri_complete"].as_str().unwrap()).await;
    assert_eq!(browser.prefilled, started["user_code"].as_str().unwrap());
    let (status, page) = browser.submit(&base, None, "approve").await;
    assert_eq!(status, StatusCode::OK);
    assert!(page.contains("Approved"), "{page}");
    let (status, tokens) = poll(&base, device_code).await;
    assert_eq!(status, StatusCode::OK, "{tokens}");
    assert_eq!(tokens["scope"], "read write");
    let (_, again) = poll(&base, device_code).await;
    assert_eq!(again["error"], "invalid_grant", "a device code redeems once");
    let me = http()
        .get(format!("{base}/api/me"))
        .bearer_auth(tokens["access_token"].as_str().unwrap())
        .send()
        .await
        .unwrap();
    assert_eq!(me.status(), StatusCode::OK);
    let me: Value = me.json().await.unwrap();
    assert_eq!((me["sub"].as_str(), me["client_id"].as_str()), (Some("alice"), Some("demo-tv")));
    // The grant refreshes like any other.
    let refresh = [
        ("grant_type", "refresh_token"),
        ("client_id", "demo-tv"),
        ("refresh_token", tokens["refresh_token"].as_str().unwrap()),
    ];
    assert_eq!(http().post(format!("{base}/token")).form(&refresh).send().await.unwrap().status(), StatusCode::OK);
    // The page after the decision: the code is spent.
    let (status, _) = browser.submit(&base, None, "approve").await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
}

#[tokio::test]
async fn dg04_a_denial_reaches_the_device_and_a_lowercase_spaced_code_is_accepted() {
    let base = start().await;
    let started = device_authorization(&base).await;
    let browser = Browser::open(&format!("{base}/device")).await;
    assert_eq!(browser.prefilled, "");
    let typed = started["user_code"].as_str().unwrap().to_lowercase().replace('-', " ");
    let (status, page) = browser.submit(&base, Some(&typed), "deny").await;
    assert_eq!(status, StatusCode::OK);
    assert!(page.contains("Denied"), "{page}");
    let (_, body) = poll(&base, started["device_code"].as_str().unwrap()).await;
    assert_eq!(body["error"], "access_denied");
}

#[tokio::test]
async fn dg03_guessing_user_codes_is_stopped_after_ten_wrong_entries() {
    let base = start().await;
    let started = device_authorization(&base).await;
    let browser = Browser::open(&format!("{base}/device")).await;
    if started["user_code"] == "BCDF-GHJK" {
        return; // one chance in 25 billion: the guess would be right
    }
    for guess in 0..10 {
        let (status, page) = browser.submit(&base, Some("BCDF-GHJK"), "approve").await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "guess {guess}");
        assert!(page.contains("not valid"));
    }
    // Now even the right code is refused from this address, for a while.
    let (status, page) = browser.submit(&base, Some(started["user_code"].as_str().unwrap()), "approve").await;
    assert_eq!(status, StatusCode::TOO_MANY_REQUESTS);
    assert!(page.contains("Too many attempts"));
    let (_, body) = poll(&base, started["device_code"].as_str().unwrap()).await;
    assert_eq!(body["error"], "authorization_pending", "nothing was approved");
    // A forged form (no cookie) is refused before any lookup.
    let forged = http()
        .post(format!("{base}/device"))
        .form(&[("csrf", browser.csrf.as_str()), ("user_code", "BCDF-GHJK"), ("decision", "approve")])
        .send()
        .await
        .unwrap();
    assert_eq!(forged.status(), StatusCode::FORBIDDEN);
}
