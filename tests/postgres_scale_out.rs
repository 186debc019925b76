//! Scaling out and surviving restarts on PostgreSQL: two example server processes
//! (`--store postgres://...`) on one database, driven over real HTTP. 50 concurrent
//! presentations of one code, split across both, never give two token responses and leave no
//! token alive; 50 of one refresh token give exactly one refresh; the database going away gives
//! fast 503s and correct answers once it is back; and after every server process is replaced,
//! tokens issued before still refresh and introspect.
//!
//! Uses the example binary `cargo test` builds and a PostgreSQL cluster of its own; skips,
//! saying so, when PostgreSQL is not installed (under CI that fails instead).

use std::time::{Duration, Instant};

mod common;
mod scale_out;

use oauth21_postgres::testing::PostgresServer;
use reqwest::StatusCode;
use scale_out::*;
use serde_json::Value;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ac03_one_code_redeemed_50_times_across_two_processes_on_postgres_issues_at_most_once() {
    let name = "ac03_one_code_redeemed_50_times_across_two_processes_on_postgres_issues_at_most_once";
    let Some(pg) = PostgresServer::start_or_skip(name) else { return };
    let (a, b) = (Instance::start(&pg.url()), Instance::start(&pg.url()));
    // One at a time: issued at A, redeemed at B, replayed at A (AC-04 revokes across processes).
    let code = authorize(&a).await;
    let first = http().post(format!("{}/token", b.base)).form(&redeem_form(&code)).send().await.unwrap();
    assert_eq!(first.status(), StatusCode::OK);
    let tokens: Value = first.json().await.unwrap();
    let access = tokens["access_token"].as_str().unwrap().to_owned();
    assert_eq!(api_me(&a, &access).await, StatusCode::OK, "a token from B is honoured by A");
    let again = http().post(format!("{}/token", a.base)).form(&redeem_form(&code)).send().await.unwrap();
    assert_eq!(again.status(), StatusCode::BAD_REQUEST);
    assert_eq!(api_me(&b, &access).await, StatusCode::UNAUTHORIZED, "the replay at A revoked B's token");
    // All at once: one contender takes the code, the others are valid replays that revoke the
    // grant; at most one token response, and no token of the code survives.
    for round in 0..3 {
        let code = authorize(if round % 2 == 0 { &a } else { &b }).await;
        let answers = race(&[&a, &b], redeem_form(&code)).await;
        let winners = successes(&answers);
        assert!(winners.len() <= 1, "round {round}: {} token responses for one code", winners.len());
        for winner in &winners {
            let access = winner["access_token"].as_str().unwrap();
            assert_eq!(api_me(&a, access).await, StatusCode::UNAUTHORIZED, "round {round}: a token survived");
            let refresh = winner["refresh_token"].as_str().unwrap();
            let answer = http().post(format!("{}/token", b.base)).form(&refresh_form(refresh)).send().await.unwrap();
            assert_eq!(answer.status(), StatusCode::BAD_REQUEST, "round {round}: a refresh token survived");
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn rt07_one_refresh_token_presented_50_times_across_two_processes_on_postgres_rotates_once() {
    let name = "rt07_one_refresh_token_presented_50_times_across_two_processes_on_postgres_rotates_once";
    let Some(pg) = PostgresServer::start_or_skip(name) else { return };
    let (a, b) = (Instance::start(&pg.url()), Instance::start(&pg.url()));
    for round in 0..3 {
        let code = authorize(&a).await;
        let answer = http().post(format!("{}/token", b.base)).form(&redeem_form(&code)).send().await.unwrap();
        assert_eq!(answer.status(), StatusCode::OK);
        let first: Value = answer.json().await.unwrap();
        let refresh = first["refresh_token"].as_str().expect("a refresh token").to_owned();
        let answers = race(&[&a, &b], refresh_form(&refresh)).await;
        let winners = successes(&answers);
        assert_eq!(winners.len(), 1, "round {round}: {} refreshes of one token succeeded", winners.len());
        assert_ne!(winners[0]["refresh_token"].as_str().unwrap(), refresh, "round {round}: rotated");
    }
}

/// Introspects `token` at `instance` as demo-service (which may introspect every token).
async fn introspect(instance: &Instance, token: &str) -> Value {
    let answer = http()
        .post(format!("{}/introspect", instance.base))
        .basic_auth("demo-service", Some("demo-service-secret"))
        .form(&[("token", token)])
        .send()
        .await
        .unwrap();
    assert_eq!(answer.status(), StatusCode::OK);
    answer.json().await.unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_server_process_restarted_tokens_issued_before_still_refresh_and_introspect() {
    let name = "every_server_process_restarted_tokens_issued_before_still_refresh_and_introspect";
    let Some(pg) = PostgresServer::start_or_skip(name) else { return };
    let (a, b) = (Instance::start(&pg.url()), Instance::start(&pg.url()));
    let code = authorize(&a).await;
    let answer = http().post(format!("{}/token", b.base)).form(&redeem_form(&code)).send().await.unwrap();
    let tokens: Value = answer.json().await.unwrap();
    let (status, service) = client_credentials(&a).await;
    assert_eq!(status, StatusCode::OK);
    drop((a, b));
    // New processes on the same database: nothing of the old ones' memory remains.
    let (c, d) = (Instance::start(&pg.url()), Instance::start(&pg.url()));
    let access = tokens["access_token"].as_str().unwrap();
    assert_eq!(introspect(&c, access).await["active"], true);
    assert_eq!(introspect(&d, service["access_token"].as_str().unwrap()).await["active"], true);
    assert_eq!(api_me(&d, access).await, StatusCode::OK);
    let refresh = tokens["refresh_token"].as_str().unwrap();
    let answer = http().post(format!("{}/token", c.base)).form(&refresh_form(refresh)).send().await.unwrap();
    assert_eq!(answer.status(), StatusCode::OK, "a refresh token issued before the restart rotates");
    // And the rotated-out one is still recognised as a replay, which revokes the family.
    let replay = http().post(format!("{}/token", d.base)).form(&refresh_form(refresh)).send().await.unwrap();
    assert_eq!(replay.status(), StatusCode::BAD_REQUEST);
    // The consent form's key is shared through the database too: a page from one new process is
    // accepted by the other.
    let code = authorize_across(&c, &d).await;
    assert!(!code.is_empty());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn tk11_postgres_stopped_under_two_processes_gives_fast_503s_then_correct_answers() {
    let name = "tk11_postgres_stopped_under_two_processes_gives_fast_503s_then_correct_answers";
    let Some(mut pg) = PostgresServer::start_or_skip(name) else { return };
    let (mut a, mut b) = (Instance::start(&pg.url()), Instance::start(&pg.url()));
    let (status, before) = client_credentials(&a).await;
    assert_eq!(status, StatusCode::OK, "{before}");
    let token = before["access_token"].as_str().unwrap().to_owned();
    pg.stop();
    for instance in [&a, &b] {
        for _ in 0..3 {
            let started = Instant::now();
            let (status, body) = client_credentials(instance).await;
            assert_eq!(status, StatusCode::SERVICE_UNAVAILABLE, "{body}");
            assert_eq!(body["error"], "temporarily_unavailable", "{body}");
            assert_eq!(api_me(instance, &token).await, StatusCode::SERVICE_UNAVAILABLE);
            assert!(started.elapsed() < Duration::from_secs(10), "answers took {:?}", started.elapsed());
        }
    }
    assert!(a.is_running() && b.is_running(), "an instance died while PostgreSQL was down");
    pg.restart().unwrap();
    for instance in [&a, &b] {
        wait_until_serving(instance, Duration::from_secs(20)).await;
        assert_eq!(api_me(instance, &token).await, StatusCode::OK, "a token issued before the outage");
    }
}

/// `--store postgres://...` combines with `--access-tokens jwt` and `--clients`: two instances with
/// one signing key and one clients file issue JWTs each other accepts, and the clients file's
/// registrations are what the database holds.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn postgres_store_combines_with_jwt_access_tokens_and_a_clients_file() {
    let name = "postgres_store_combines_with_jwt_access_tokens_and_a_clients_file";
    let Some(pg) = PostgresServer::start_or_skip(name) else { return };
    let dir = std::env::temp_dir().join(format!("oauth21-pg-clients-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let clients = dir.join("clients.json");
    let file = serde_json::json!([{
        "client_id": "reporting", "secret": "a long reporting secret", "grant_types": ["client_credentials"],
        "scope": "read"
    }]);
    std::fs::write(&clients, file.to_string()).unwrap();
    let key = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/keys/rsa2048.pem");
    let issuer = "http://127.0.0.1:9";
    let flags =
        ["--issuer", issuer, "--access-tokens", "jwt", "--signing-key", key, "--clients", clients.to_str().unwrap()];
    let (a, b) = (Instance::start_with(&pg.url(), &flags), Instance::start_with(&pg.url(), &flags));
    let answer = http()
        .post(format!("{}/token", a.base))
        .basic_auth("reporting", Some("a long reporting secret"))
        .form(&[("grant_type", "client_credentials"), ("scope", "read")])
        .send()
        .await
        .unwrap();
    assert_eq!(answer.status(), StatusCode::OK);
    let token: Value = answer.json().await.unwrap();
    let token = token["access_token"].as_str().unwrap();
    assert_eq!(token.split('.').count(), 3, "a JWT");
    assert_eq!(api_me(&b, token).await, StatusCode::OK, "B accepts A's JWT, and finds its record in the database");
    let (status, _) = client_credentials(&a).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED, "the clients file replaced the demo clients");
    let _ = std::fs::remove_dir_all(&dir);
}
