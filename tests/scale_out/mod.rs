//! What the scale-out tests share: example server processes on one store, a browser's sign-in,
//! and races of one code or refresh token across the instances.
#![allow(dead_code)]

use std::io::{BufRead, BufReader};
use std::process::{Child, Command, Stdio};
use std::sync::mpsc;
use std::time::Duration;

use reqwest::StatusCode;
use serde_json::Value;

use crate::common::example_binary;

/// RFC 7636 Appendix B: a verifier and its S256 challenge.
pub const VERIFIER: &str = "dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk";
pub const CHALLENGE: &str = "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM";
pub const REDIRECT: &str = "http://127.0.0.1:8765/callback";
pub const CONTENDERS: usize = 50;

/// One `examples/server` process, killed on drop.
pub struct Instance {
    child: Child,
    pub base: String,
}

impl Instance {
    /// An instance on the store at `store` (a `--store` value).
    pub fn start(store: &str) -> Self {
        Self::start_with(store, &[])
    }

    /// An instance with `extra` flags; its base URL is where it listens, whatever its issuer.
    pub fn start_with(store: &str, extra: &[&str]) -> Self {
        let binary = example_binary();
        let mut child = Command::new(&binary)
            .args(["--addr", "127.0.0.1:0", "--store", store])
            .args(extra)
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            // Its log lines (one per request) would drown the test output.
            .stderr(Stdio::null())
            .spawn()
            .unwrap_or_else(|e| panic!("cannot run {}: {e}", binary.display()));
        let stdout = child.stdout.take().expect("piped stdout");
        let (sender, receiver) = mpsc::channel();
        std::thread::spawn(move || {
            // Keep reading so the server never blocks on a full pipe; report where it listens.
            for line in BufReader::new(stdout).lines().map_while(Result::ok) {
                if let Some(address) = line.strip_prefix("listening: ") {
                    let _ = sender.send(address.to_owned());
                }
            }
        });
        let base = receiver.recv_timeout(Duration::from_secs(20)).expect("the example server printed its address");
        Self { child, base }
    }

    pub fn is_running(&mut self) -> bool {
        matches!(self.child.try_wait(), Ok(None))
    }
}

impl Drop for Instance {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

pub fn http() -> reqwest::Client {
    reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .timeout(Duration::from_secs(30))
        .build()
        .unwrap()
}

/// Signs in as alice on `instance`'s consent page, approves, and returns the code.
pub async fn authorize(instance: &Instance) -> String {
    authorize_across(instance, instance).await
}

/// Loads the consent page from `page_from` and posts the form to `post_to`, as a browser does
/// behind a load balancer without sticky sessions; returns the code.
pub async fn authorize_across(page_from: &Instance, post_to: &Instance) -> String {
    let instance = page_from;
    let http = http();
    let url = format!(
        "{}/authorize?response_type=code&client_id=demo-app&scope=read&state=s&redirect_uri={}\
         &code_challenge={CHALLENGE}&code_challenge_method=S256",
        instance.base, "http%3A%2F%2F127.0.0.1%3A8765%2Fcallback"
    );
    let page = http.get(&url).send().await.unwrap();
    assert_eq!(page.status(), StatusCode::OK);
    let cookie = page.headers()["set-cookie"].to_str().unwrap().split(';').next().unwrap().to_owned();
    let html = page.text().await.unwrap();
    let mut form: Vec<(String, String)> = html
        .split("<input type=\"hidden\" name=\"")
        .skip(1)
        .filter_map(|rest| {
            let (name, rest) = rest.split_once("\" value=\"")?;
            let (value, _) = rest.split_once('"')?;
            Some((name.to_owned(), value.replace("&amp;", "&")))
        })
        .collect();
    form.extend([("username".into(), "alice".into()), ("password".into(), "alice-password".into())]);
    form.push(("decision".into(), "approve".into()));
    let answer =
        http.post(format!("{}/authorize", post_to.base)).header("cookie", cookie).form(&form).send().await.unwrap();
    assert_eq!(answer.status(), StatusCode::SEE_OTHER);
    let location = answer.headers()["location"].to_str().unwrap().to_owned();
    let query = location.split_once('?').expect("a query").1;
    let pairs: Vec<(String, String)> = serde_urlencoded::from_str(query).unwrap();
    pairs.into_iter().find(|(k, _)| k == "code").expect("a code").1
}

pub fn redeem_form(code: &str) -> Vec<(&'static str, String)> {
    vec![
        ("grant_type", "authorization_code".into()),
        ("client_id", "demo-app".into()),
        ("redirect_uri", REDIRECT.into()),
        ("code_verifier", VERIFIER.into()),
        ("code", code.into()),
    ]
}

pub fn refresh_form(token: &str) -> Vec<(&'static str, String)> {
    vec![("grant_type", "refresh_token".into()), ("client_id", "demo-app".into()), ("refresh_token", token.into())]
}

/// Sends `form` to `/token` `CONTENDERS` times at once, alternating between the instances;
/// returns each answer's status and JSON body.
pub async fn race(instances: &[&Instance], form: Vec<(&'static str, String)>) -> Vec<(StatusCode, Value)> {
    // Connect every client before the race, so the requests leave together.
    let clients: Vec<(reqwest::Client, String)> =
        (0..CONTENDERS).map(|i| (http(), format!("{}/token", instances[i % instances.len()].base))).collect();
    for (client, url) in &clients {
        let metadata = url.replace("/token", "/.well-known/oauth-authorization-server");
        assert_eq!(client.get(metadata).send().await.unwrap().status(), StatusCode::OK);
    }
    let tasks: Vec<_> = clients
        .into_iter()
        .map(|(client, url)| {
            let form = form.clone();
            tokio::spawn(async move {
                let answer = client.post(url).form(&form).send().await.unwrap();
                let status = answer.status();
                (status, answer.json::<Value>().await.unwrap_or(Value::Null))
            })
        })
        .collect();
    let mut answers = Vec::new();
    for task in tasks {
        answers.push(task.await.expect("no panic"));
    }
    answers
}

/// The answers that are token responses; every other answer must be `invalid_grant`.
pub fn successes(answers: &[(StatusCode, Value)]) -> Vec<Value> {
    for (status, body) in answers.iter().filter(|(s, _)| *s != StatusCode::OK) {
        assert_eq!(*status, StatusCode::BAD_REQUEST, "{body}");
        assert_eq!(body["error"], "invalid_grant", "{body}");
    }
    answers.iter().filter(|(s, _)| *s == StatusCode::OK).map(|(_, b)| b.clone()).collect()
}

pub async fn api_me(instance: &Instance, token: &str) -> StatusCode {
    http().get(format!("{}/api/me", instance.base)).bearer_auth(token).send().await.unwrap().status()
}

/// Client credentials for `demo-service` at `instance`: status and body.
pub async fn client_credentials(instance: &Instance) -> (StatusCode, Value) {
    let answer = http()
        .post(format!("{}/token", instance.base))
        .basic_auth("demo-service", Some("demo-service-secret"))
        .form(&[("grant_type", "client_credentials"), ("scope", "read")])
        .send()
        .await
        .unwrap();
    let status = answer.status();
    (status, answer.json().await.unwrap_or(Value::Null))
}

/// Waits until `instance` issues client-credentials tokens again (after its store came back),
/// answering only 503 meanwhile.
pub async fn wait_until_serving(instance: &Instance, within: Duration) {
    let deadline = std::time::Instant::now() + within;
    loop {
        let (status, body) = client_credentials(instance).await;
        if status == StatusCode::OK {
            return;
        }
        assert_eq!(status, StatusCode::SERVICE_UNAVAILABLE, "{body}");
        assert!(std::time::Instant::now() < deadline, "{} did not recover", instance.base);
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}
