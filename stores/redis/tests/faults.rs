//! Redis going away under a `RedisStore`: every operation fails with
//! `StoreError::Unavailable` within a bounded time (never a panic, never a false success), and
//! the same store works again once Redis is back, with no restart of the application.

use std::time::{Duration, Instant};

use oauth21::store::{CodeTake, Store, StoreError};
use oauth21::{ClientId, GrantId, Subject, TokenHash};
use oauth21_redis::RedisStore;
use oauth21_redis::testing::RedisServer;
use time::OffsetDateTime;

const NOW: i64 = 1_700_000_000;

async fn store(redis: &RedisServer, response_timeout: Duration) -> RedisStore {
    RedisStore::builder(redis.url())
        .namespace("faults:")
        .response_timeout(response_timeout)
        .connect()
        .await
        .expect("the test redis-server answers")
}

fn code(n: u32) -> oauth21::store::CodeRecord {
    let json = format!(
        r#"{{"hash":"{}","grant_id":"grant-{n}","client_id":"app","redirect_uri":"http://127.0.0.1/cb",
        "code_challenge":"E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM","scope":"read","subject":"alice",
        "issued_at":{NOW},"expires_at":{}}}"#,
        TokenHash::of(&format!("fault code {n}")),
        NOW + 60,
    );
    serde_json::from_str(&json).unwrap()
}

/// Every operation of the trait, each must fail as `Unavailable`.
async fn every_operation_is_unavailable(store: &RedisStore) {
    let hash = TokenHash::of("x");
    let grant = GrantId::new("grant-x").unwrap();
    let later = OffsetDateTime::from_unix_timestamp(NOW + 3600).unwrap();
    let results: Vec<(&str, Result<(), StoreError>)> = vec![
        ("client", store.client(&ClientId::new("app").unwrap()).await.map(drop)),
        ("insert_code", store.insert_code(code(99)).await),
        ("take_code", store.take_code(&hash).await.map(drop)),
        ("revoke_grant", store.revoke_grant(&grant, OffsetDateTime::from_unix_timestamp(NOW).unwrap(), later).await),
        ("revoke_access_token", store.revoke_access_token(&hash).await),
        ("revoke_subject", store.revoke_subject(&Subject::new("alice").unwrap(), later, later).await),
        ("access_token", store.access_token(&hash).await.map(drop)),
        ("refresh_token", store.refresh_token(&hash).await.map(drop)),
    ];
    for (operation, result) in results {
        assert!(
            matches!(result, Err(ref e) if e.kind() == oauth21::StoreErrorKind::Unavailable),
            "{operation} with Redis down gave {result:?}"
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn tk11_redis_stopped_mid_run_fails_fast_as_unavailable_and_recovers_after_restart() {
    let name = "tk11_redis_stopped_mid_run_fails_fast_as_unavailable_and_recovers_after_restart";
    let Some(mut redis) = RedisServer::start_or_skip(name) else { return };
    let store = store(&redis, Duration::from_secs(2)).await;
    store.insert_code(code(1)).await.unwrap();

    redis.stop();
    for round in 0..3 {
        let started = Instant::now();
        every_operation_is_unavailable(&store).await;
        // Eight operations, each failing after at most a reconnect round (refused at once on
        // loopback, two retries with a short back-off), never hanging.
        assert!(started.elapsed() < Duration::from_secs(8), "round {round} took {:?}", started.elapsed());
    }

    // Back, empty (no persistence): the same store reconnects by itself and reloads its scripts.
    redis.restart().unwrap();
    let deadline = Instant::now() + Duration::from_secs(10);
    while store.ping().await.is_err() {
        assert!(Instant::now() < deadline, "the store did not reconnect");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let fresh = code(2);
    store.insert_code(fresh.clone()).await.unwrap();
    assert_eq!(store.take_code(&fresh.hash).await.unwrap(), CodeTake::Taken(fresh.clone()));
    assert_eq!(store.take_code(&fresh.hash).await.unwrap(), CodeTake::AlreadyTaken(fresh));
    // The data of before the crash is gone with it (this server keeps nothing on disk).
    assert_eq!(store.take_code(&code(1).hash).await.unwrap(), CodeTake::NotFound);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ac03_a_take_whose_reply_is_late_is_an_error_never_a_success() {
    let name = "ac03_a_take_whose_reply_is_late_is_an_error_never_a_success";
    let Some(redis) = RedisServer::start_or_skip(name) else { return };
    let store = store(&redis, Duration::from_millis(300)).await;
    let code = code(3);
    store.insert_code(code.clone()).await.unwrap();
    // Load the take script first, so the paused call below is one EVALSHA that runs as sent
    // (a script Redis does not know yet would only be refused with NOSCRIPT after the pause).
    assert_eq!(store.take_code(&TokenHash::of("warm-up")).await.unwrap(), CodeTake::NotFound);

    // Redis holds every client's commands for 1.5 s: the take is sent, its reply comes too late.
    assert_eq!(redis.command(&["CLIENT", "PAUSE", "1500", "ALL"]).unwrap(), "+OK");
    let late = store.take_code(&code.hash).await;
    assert!(
        matches!(late, Err(ref e) if e.kind() == oauth21::StoreErrorKind::Unavailable),
        "a timed-out take gave {late:?}"
    );

    // The take did run once Redis resumed: the code is used, so nobody can redeem it now. The
    // timed-out caller issued nothing, and a later caller sees a replay: unusable, never twice.
    let deadline = Instant::now() + Duration::from_secs(10);
    let after = loop {
        match store.take_code(&code.hash).await {
            Ok(take) => break take,
            Err(e) => {
                assert!(Instant::now() < deadline, "Redis did not come back: {e}");
                tokio::time::sleep(Duration::from_millis(100)).await;
            }
        }
    };
    assert_eq!(after, CodeTake::AlreadyTaken(code));
}

#[tokio::test]
async fn connecting_to_nothing_is_unavailable_and_a_bad_url_is_a_configuration_error() {
    // A port nothing listens on: bind one, note it, let it go.
    let port = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
    let started = Instant::now();
    let refused = RedisStore::builder(format!("redis://127.0.0.1:{port}")).connect().await;
    assert!(matches!(refused, Err(ref e) if e.kind() == oauth21::StoreErrorKind::Unavailable), "{refused:?}");
    assert!(started.elapsed() < Duration::from_secs(5));
    let bad = RedisStore::builder("http://example.invalid").connect().await;
    assert!(matches!(bad, Err(ref e) if e.kind() == oauth21::StoreErrorKind::Backend), "{bad:?}");
}
