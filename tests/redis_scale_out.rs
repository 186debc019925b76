//! Scaling out: two example server processes (`--store redis://...`) on one redis-server, driven
//! over real HTTP. Single use holds across processes: 50 concurrent presentations of one code,
//! split across both, are taken exactly once (and never give two token responses); 50 of one
//! refresh token give exactly one refresh. Redis going away gives clean 503 answers from both,
//! which answer correctly again once it is back.
//!
//! Uses the example binary `cargo test` builds (`target/debug/examples/server`), and a
//! redis-server of its own on a free loopback port; skips, saying so, when none is installed
//! (under CI a missing redis-server fails instead).

use std::io::{BufRead, BufReader};
use std::time::{Duration, Instant};

mod common;
mod scale_out;

use oauth21_redis::testing::RedisServer;
use reqwest::StatusCode;
use scale_out::*;
use serde_json::Value;

fn start(redis: &RedisServer) -> Instance {
    Instance::start(&redis.url())
}

/// Redis's MONITOR feed (every command Redis runs, with the commands scripts run inside), read
/// on a thread of its own.
struct Monitor {
    stream: std::net::TcpStream,
    lines: std::sync::Arc<std::sync::Mutex<Vec<String>>>,
}

impl Monitor {
    fn start(redis: &RedisServer) -> Self {
        use std::io::Write;
        let mut stream = std::net::TcpStream::connect(("127.0.0.1", redis.port())).unwrap();
        stream.write_all(b"MONITOR\r\n").unwrap();
        let mut reader = BufReader::new(stream.try_clone().unwrap());
        let mut ok = String::new();
        reader.read_line(&mut ok).unwrap();
        assert_eq!(ok.trim_end(), "+OK");
        let lines = std::sync::Arc::new(std::sync::Mutex::new(Vec::new()));
        let sink = lines.clone();
        std::thread::spawn(move || {
            for line in reader.lines().map_while(Result::ok) {
                sink.lock().unwrap().push(line);
            }
        });
        Self { stream, lines }
    }

    /// Everything seen until a marker command sent now comes through the feed.
    fn finish(self, redis: &RedisServer) -> Vec<String> {
        let marker = format!("end-of-race-{}", std::process::id());
        redis.command(&["ECHO", &marker]).unwrap();
        let deadline = Instant::now() + Duration::from_secs(20);
        loop {
            if self.lines.lock().unwrap().iter().any(|l| l.contains(&marker)) {
                let _ = self.stream.shutdown(std::net::Shutdown::Both);
                return std::mem::take(&mut *self.lines.lock().unwrap());
            }
            assert!(Instant::now() < deadline, "the MONITOR feed stalled");
            std::thread::sleep(Duration::from_millis(20));
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ac03_one_code_redeemed_50_times_across_two_server_processes_is_taken_once() {
    let name = "ac03_one_code_redeemed_50_times_across_two_server_processes_is_taken_once";
    let Some(redis) = RedisServer::start_or_skip(name) else { return };
    let (a, b) = (start(&redis), start(&redis));

    // One at a time: a code issued by A is redeemed once at B, and a second redemption at A is
    // refused and revokes what the first one got (AC-04), across processes.
    let code = authorize(&a).await;
    let first = http().post(format!("{}/token", b.base)).form(&redeem_form(&code)).send().await.unwrap();
    assert_eq!(first.status(), StatusCode::OK);
    let tokens: Value = first.json().await.unwrap();
    let access = tokens["access_token"].as_str().unwrap().to_owned();
    assert_eq!(api_me(&a, &access).await, StatusCode::OK, "a token from B is honoured by A");
    let again = http().post(format!("{}/token", a.base)).form(&redeem_form(&code)).send().await.unwrap();
    assert_eq!(again.status(), StatusCode::BAD_REQUEST);
    assert_eq!(api_me(&b, &access).await, StatusCode::UNAUTHORIZED, "the replay at A revoked B's token");

    // All at once: 50 redemptions, half to the instance that never saw the code issued. The
    // store lets exactly one of them take the code; the other 49 are valid replays, which
    // revoke the grant (AC-04). So at most one token response comes back (none when a replay's
    // revocation lands before the winner stores its tokens), and no token of the code survives.
    //
    // Which contender took the code is not visible over HTTP (a taker whose grant a replay
    // revoked first gets the same `invalid_grant` as a replay), so Redis's MONITOR feed counts
    // it: every contender runs take_code's `HSETNX` on the code, and each one that found the
    // code already taken (a valid replay) runs revoke_grant, whose first step reads the
    // revocation marker's `PTTL`, which no other script does. 49 revocations: one taker.
    let mut won = 0;
    for round in 0..4 {
        let code = authorize(if round % 2 == 0 { &a } else { &b }).await;
        let monitor = Monitor::start(&redis);
        let answers = race(&[&a, &b], redeem_form(&code)).await;
        let feed = monitor.finish(&redis);
        let code_key = format!("\"oauth21:code:{}\"", oauth21::TokenHash::of(&code));
        let takes = feed.iter().filter(|l| l.contains("\"HSETNX\"") && l.contains(&code_key)).count();
        let replays = feed.iter().filter(|l| l.contains("\"PTTL\" \"oauth21:revoked:")).count();
        assert_eq!(takes, CONTENDERS, "round {round}: every contender reached the code");
        assert_eq!(replays, CONTENDERS - 1, "round {round}: exactly one contender took the code");
        let winners = successes(&answers);
        assert!(winners.len() <= 1, "round {round}: {} token responses for one code", winners.len());
        for winner in &winners {
            won += 1;
            let access = winner["access_token"].as_str().unwrap();
            assert_eq!(api_me(&a, access).await, StatusCode::UNAUTHORIZED, "round {round}: a token survived");
            assert_eq!(api_me(&b, access).await, StatusCode::UNAUTHORIZED, "round {round}: a token survived");
            let refresh = winner["refresh_token"].as_str().unwrap();
            let answer = http().post(format!("{}/token", b.base)).form(&refresh_form(refresh)).send().await.unwrap();
            assert_eq!(answer.status(), StatusCode::BAD_REQUEST, "round {round}: a refresh token survived");
        }
    }
    eprintln!("{name}: the code's one taker got its token response in {won} of 4 rounds");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn rt07_one_refresh_token_presented_50_times_across_two_server_processes_rotates_once() {
    let name = "rt07_one_refresh_token_presented_50_times_across_two_server_processes_rotates_once";
    let Some(redis) = RedisServer::start_or_skip(name) else { return };
    let (a, b) = (start(&redis), start(&redis));
    for round in 0..3 {
        let code = authorize(&a).await;
        let answer = http().post(format!("{}/token", b.base)).form(&redeem_form(&code)).send().await.unwrap();
        assert_eq!(answer.status(), StatusCode::OK);
        let first: Value = answer.json().await.unwrap();
        let refresh = first["refresh_token"].as_str().expect("a refresh token").to_owned();
        // Half the presentations go to the instance that did not issue the token. The rotation
        // is one compare-and-swap in Redis: exactly one wins, the others lost the race.
        let answers = race(&[&a, &b], refresh_form(&refresh)).await;
        let winners = successes(&answers);
        assert_eq!(winners.len(), 1, "round {round}: {} refreshes of one token succeeded", winners.len());
        let new_refresh = winners[0]["refresh_token"].as_str().expect("a new refresh token");
        assert_ne!(new_refresh, refresh, "round {round}: rotated");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn tk11_redis_stopped_under_two_server_processes_gives_503_then_correct_answers_after_restart() {
    let name = "tk11_redis_stopped_under_two_server_processes_gives_503_then_correct_answers_after_restart";
    let Some(mut redis) = RedisServer::start_or_skip(name) else { return };
    let (mut a, mut b) = (start(&redis), start(&redis));
    let (status, before) = client_credentials(&a).await;
    assert_eq!(status, StatusCode::OK, "{before}");
    let token = before["access_token"].as_str().unwrap().to_owned();
    assert_eq!(api_me(&b, &token).await, StatusCode::OK);

    // Redis writes its data to disk, then dies mid-run.
    assert_eq!(redis.command(&["SAVE"]).unwrap(), "+OK");
    redis.stop();
    for instance in [&a, &b] {
        for _ in 0..3 {
            let started = Instant::now();
            let (status, body) = client_credentials(instance).await;
            assert_eq!(status, StatusCode::SERVICE_UNAVAILABLE, "{body}");
            assert_eq!(body["error"], "temporarily_unavailable", "{body}");
            assert_eq!(api_me(instance, &token).await, StatusCode::SERVICE_UNAVAILABLE);
            let code = http().post(format!("{}/token", instance.base)).form(&redeem_form("nope")).send().await;
            assert_eq!(code.unwrap().status(), StatusCode::SERVICE_UNAVAILABLE);
            assert!(started.elapsed() < Duration::from_secs(10), "answers took {:?}", started.elapsed());
        }
    }
    assert!(a.is_running() && b.is_running(), "an instance died while Redis was down");

    // Redis comes back with its data: both instances answer correctly again, by themselves.
    redis.restart().unwrap();
    for instance in [&a, &b] {
        wait_until_serving(instance, Duration::from_secs(15)).await;
        assert_eq!(api_me(instance, &token).await, StatusCode::OK, "a token issued before the outage");
        let (status, body) = {
            let answer =
                http().post(format!("{}/token", instance.base)).form(&redeem_form("unknown")).send().await.unwrap();
            let status = answer.status();
            (status, answer.json::<Value>().await.unwrap())
        };
        assert_eq!((status, &body["error"]), (StatusCode::BAD_REQUEST, &Value::from("invalid_grant")), "{body}");
    }
    assert!(a.is_running() && b.is_running());
}

/// The consent form's CSRF token is signed with a key every instance on one Redis shares: the
/// page from one instance is accepted by the other, and a token no instance signed by neither.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_consent_page_from_one_instance_is_accepted_by_the_other() {
    let name = "a_consent_page_from_one_instance_is_accepted_by_the_other";
    let Some(redis) = RedisServer::start_or_skip(name) else { return };
    let (a, b) = (start(&redis), start(&redis));
    let code = authorize_across(&a, &b).await;
    let answer = http().post(format!("{}/token", a.base)).form(&redeem_form(&code)).send().await.unwrap();
    assert_eq!(answer.status(), StatusCode::OK);
    let code = authorize_across(&b, &a).await;
    assert!(!code.is_empty());
}

/// The reference deployment's contract: two instances started with the same `--issuer`,
/// `--signing-key` and `--store` on different addresses behave as one server. A JWT access token
/// issued by one is accepted at the other's `/api/me`, both publish the same JWKS and the same
/// issuer, and `/healthz` follows the store: 503 while Redis is down, 200 once it is back.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_instances_behind_one_issuer_behave_as_one_server() {
    let name = "two_instances_behind_one_issuer_behave_as_one_server";
    let Some(mut redis) = RedisServer::start_or_skip(name) else { return };
    let key = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/keys/rsa2048.pem");
    // The public URL of the balancer in front: nothing listens there in this test.
    let issuer = "http://127.0.0.1:9";
    let flags = ["--issuer", issuer, "--access-tokens", "jwt", "--signing-key", key];
    let (a, b) = (Instance::start_with(&redis.url(), &flags), Instance::start_with(&redis.url(), &flags));
    assert_ne!(a.base, b.base);

    for instance in [&a, &b] {
        let metadata: Value = http()
            .get(format!("{}/.well-known/oauth-authorization-server", instance.base))
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        assert_eq!(metadata["issuer"], issuer);
        assert_eq!(metadata["token_endpoint"], format!("{issuer}/token"));
    }
    let jwks = |base: String| async move {
        http().get(format!("{base}/jwks.json")).send().await.unwrap().text().await.unwrap()
    };
    assert_eq!(jwks(a.base.clone()).await, jwks(b.base.clone()).await, "one key set");

    let (status, tokens) = client_credentials(&a).await;
    assert_eq!(status, StatusCode::OK, "{tokens}");
    let token = tokens["access_token"].as_str().unwrap().to_owned();
    assert_eq!(token.split('.').count(), 3, "a JWT");
    assert_eq!(api_me(&b, &token).await, StatusCode::OK, "B accepts A's JWT");
    assert_eq!(api_me(&a, &token).await, StatusCode::OK);

    // A DPoP proof used at one instance is a replay at the other: the claim lives in Redis. The
    // proof names the public URL (the issuer), not the instance's own address.
    let key = common::DpopKey::new();
    let now = || time::OffsetDateTime::now_utc().unix_timestamp();
    let proof = key.proof("POST", &format!("{issuer}/token"), now(), serde_json::json!({}));
    let answer = http()
        .post(format!("{}/token", a.base))
        .basic_auth("demo-service", Some("demo-service-secret"))
        .header("DPoP", proof)
        .form(&[("grant_type", "client_credentials"), ("scope", "read")])
        .send()
        .await
        .unwrap();
    assert_eq!(answer.status(), StatusCode::OK);
    let bound: Value = answer.json().await.unwrap();
    assert_eq!(bound["token_type"], "DPoP");
    let bound = bound["access_token"].as_str().unwrap().to_owned();
    let ath = serde_json::json!({ "ath": oauth21::dpop::access_token_hash(&bound) });
    let proof = key.proof("GET", &format!("{issuer}/api/me"), now(), ath);
    let me = |base: String, proof: String, token: String| async move {
        http()
            .get(format!("{base}/api/me"))
            .header("authorization", format!("DPoP {token}"))
            .header("DPoP", proof)
            .send()
            .await
            .unwrap()
            .status()
    };
    assert_eq!(me(a.base.clone(), proof.clone(), bound.clone()).await, StatusCode::OK);
    assert_eq!(me(b.base.clone(), proof, bound).await, StatusCode::UNAUTHORIZED, "replayed at the other instance");

    let health = |base: String| async move { http().get(format!("{base}/healthz")).send().await.unwrap().status() };
    assert_eq!(health(a.base.clone()).await, StatusCode::OK);
    assert_eq!(health(b.base.clone()).await, StatusCode::OK);
    redis.stop();
    assert_eq!(health(a.base.clone()).await, StatusCode::SERVICE_UNAVAILABLE);
    assert_eq!(health(b.base.clone()).await, StatusCode::SERVICE_UNAVAILABLE);
    redis.restart().unwrap();
    for base in [a.base.clone(), b.base.clone()] {
        let deadline = Instant::now() + Duration::from_secs(15);
        while health(base.clone()).await != StatusCode::OK {
            assert!(Instant::now() < deadline, "{base} stayed unhealthy after Redis came back");
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }
}
