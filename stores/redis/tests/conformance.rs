//! `RedisStore` against the reusable store conformance suite (`oauth21::testing`) on a real
//! redis-server, plus what only a Redis store has to show: keys expire with their records, only
//! digests are stored, namespaces keep deployments apart, clients are shared.
//!
//! Each test starts its own redis-server on a free loopback port and skips, saying so, when
//! none is installed (under CI a missing redis-server fails instead).

use std::sync::Arc;

use oauth21::store::{CodeTake, InsertOutcome, NewGrant, Store};
use oauth21::testing::check_store;
use oauth21::{Client, ClientId, ManualClock, TokenHash};
use oauth21_redis::RedisStore;
use oauth21_redis::testing::RedisServer;

/// The conformance suite's records are dated 2023-11-14T22:13:20Z; a store whose clock says
/// the same keeps them for their real lifetimes (60 s codes, 31-day revocation memory).
const SUITE_NOW: i64 = 1_700_000_000;

async fn store(redis: &RedisServer, namespace: &str) -> RedisStore {
    RedisStore::builder(redis.url()).namespace(namespace).connect().await.expect("the test redis-server answers")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ac03_rt06_redis_store_passes_the_conformance_suite() {
    let Some(redis) = RedisServer::start_or_skip("ac03_rt06_redis_store_passes_the_conformance_suite") else { return };
    let store = store(&redis, "suite:").await;
    // 64 contenders: the double-spend cases have 64 scripts in flight on one connection at once.
    assert_eq!(check_store(&store, 64).await.unwrap(), 19);
    // The suite uses fresh random ids, so it passes again on the same, now full, store.
    assert_eq!(check_store(&store, 8).await.unwrap(), 19);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ac03_rt06_redis_store_passes_the_suite_from_many_connections_at_once() {
    let Some(redis) =
        RedisServer::start_or_skip("ac03_rt06_redis_store_passes_the_suite_from_many_connections_at_once")
    else {
        return;
    };
    // Eight stores with a connection each, as eight server processes would have, run the whole
    // suite at the same moment on one namespace.
    let mut runs = Vec::new();
    for _ in 0..8 {
        let store = store(&redis, "shared:").await;
        runs.push(tokio::spawn(async move { check_store(&store, 16).await }));
    }
    for run in runs {
        assert_eq!(run.await.expect("no panic").unwrap(), 19);
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ac03_one_code_taken_from_many_connections_is_taken_once() {
    let Some(redis) = RedisServer::start_or_skip("ac03_one_code_taken_from_many_connections_is_taken_once") else {
        return;
    };
    let stores: Vec<RedisStore> = {
        let mut stores = Vec::new();
        for _ in 0..10 {
            stores.push(store(&redis, "race:").await);
        }
        stores
    };
    let clock = ManualClock::at_unix(SUITE_NOW);
    for round in 0..20 {
        let code = sample_code(&clock, round);
        stores[0].insert_code(code.clone()).await.unwrap();
        let barrier = Arc::new(tokio::sync::Barrier::new(50));
        let takes: Vec<_> = (0..50)
            .map(|i| {
                let (store, barrier, hash) = (stores[i % stores.len()].clone(), barrier.clone(), code.hash);
                tokio::spawn(async move {
                    barrier.wait().await;
                    store.take_code(&hash).await
                })
            })
            .collect();
        let mut taken = 0;
        for take in takes {
            match take.await.unwrap().unwrap() {
                CodeTake::Taken(record) => {
                    assert_eq!(record, code);
                    taken += 1;
                }
                CodeTake::AlreadyTaken(record) => assert_eq!(record, code),
                CodeTake::NotFound => panic!("a contender did not find the code"),
                _ => unreachable!("a variant this code does not know"),
            }
        }
        assert_eq!(taken, 1, "round {round}: {taken} contenders took the code");
    }
}

#[tokio::test]
async fn keys_expire_with_their_records_and_hold_only_digests() {
    let Some(redis) = RedisServer::start_or_skip("keys_expire_with_their_records_and_hold_only_digests") else {
        return;
    };
    let store = store(&redis, "ttl:").await;
    let clock = ManualClock::at_unix(SUITE_NOW);
    let code = sample_code(&clock, 0);
    store.insert_code(code.clone()).await.unwrap();
    let key = format!("ttl:code:{}", code.hash);
    let pttl: i64 = redis.command(&["PTTL", &key]).unwrap()[1..].parse().unwrap();
    // The code lives 60 s by the store's clock; allow for the time the test itself takes.
    assert!((55_000..=60_000).contains(&pttl), "code key expires in {pttl} ms");
    // The key names the digest (43 base64url characters), never the code.
    assert_eq!(code.hash.to_string().len(), 43);
    assert_eq!(redis.command(&["EXISTS", &key]).unwrap(), ":1");

    // Every key the suite leaves behind has an expiry: nothing is kept forever, except the
    // clients it registered, which are kept until the host removes them.
    check_store(&store, 4).await.unwrap();
    let keys = all_keys(&redis, "ttl:*");
    assert!(keys.len() > 20, "the suite stored {} keys", keys.len());
    for key in keys.into_iter().filter(|key| !key.starts_with("ttl:client:")) {
        let pttl: i64 = redis.command(&["PTTL", &key]).unwrap()[1..].parse().unwrap();
        assert!(pttl > 0, "{key} has no expiry ({pttl})");
    }
}

#[tokio::test]
async fn namespaces_keep_deployments_apart_and_clients_are_shared_within_one() {
    let Some(redis) = RedisServer::start_or_skip("namespaces_keep_deployments_apart_and_clients_are_shared_within_one")
    else {
        return;
    };
    let (a, a_again, b) = (store(&redis, "a:").await, store(&redis, "a:").await, store(&redis, "b:").await);
    let client = Client::public("app").redirect_uri("http://127.0.0.1/cb").build().unwrap();
    a.put_client(&client).await.unwrap();
    let id = ClientId::new("app").unwrap();
    assert_eq!(a_again.client(&id).await.unwrap(), Some(client));
    assert_eq!(b.client(&id).await.unwrap(), None);

    let code = sample_code(&ManualClock::at_unix(SUITE_NOW), 0);
    a.insert_code(code.clone()).await.unwrap();
    assert_eq!(b.take_code(&code.hash).await.unwrap(), CodeTake::NotFound);
    assert_eq!(a_again.take_code(&code.hash).await.unwrap(), CodeTake::Taken(code));

    assert!(a.remove_client(&id).await.unwrap());
    assert!(!a.remove_client(&id).await.unwrap());
    assert_eq!(a_again.client(&id).await.unwrap(), None);
}

#[tokio::test]
async fn a_damaged_record_is_a_backend_error_not_a_success() {
    let Some(redis) = RedisServer::start_or_skip("a_damaged_record_is_a_backend_error_not_a_success") else { return };
    let store = store(&redis, "bad:").await;
    let hash = TokenHash::of("some token");
    let key = format!("bad:at:{hash}");
    assert_eq!(redis.command(&["SET", &key, "{not json"]).unwrap(), "+OK");
    assert!(matches!(store.access_token(&hash).await, Err(ref e) if e.kind() == oauth21::StoreErrorKind::Backend));
    // A key of the wrong type (here a string where take_code expects a hash) is an error too.
    let code_key = format!("bad:code:{hash}");
    assert_eq!(redis.command(&["SET", &code_key, "x"]).unwrap(), "+OK");
    assert!(matches!(store.take_code(&hash).await, Err(ref e) if e.kind() == oauth21::StoreErrorKind::Backend));
}

#[tokio::test]
async fn a_grant_or_token_collision_is_an_error_and_overwrites_nothing() {
    let name = "a_grant_or_token_collision_is_an_error_and_overwrites_nothing";
    let Some(redis) = RedisServer::start_or_skip(name) else { return };
    let store = store(&redis, "collide:").await;
    let first = sample_grant("grant-1", "token-1", "alice");
    assert_eq!(store.insert_grant(first.clone()).await.unwrap(), InsertOutcome::Inserted);
    // The same grant id with another token, and another grant with the same token digest.
    for clash in [sample_grant("grant-1", "token-2", "alice"), sample_grant("grant-2", "token-1", "bob")] {
        let result = store.insert_grant(clash.clone()).await;
        assert!(matches!(result, Err(ref e) if e.kind() == oauth21::StoreErrorKind::Backend), "{result:?}");
    }
    assert_eq!(store.access_token(&first.access.hash).await.unwrap(), Some(first.access));
    assert_eq!(store.access_token(&TokenHash::of("token-2")).await.unwrap(), None);
}

fn sample_grant(grant: &str, token: &str, subject: &str) -> NewGrant {
    let (now, later) = (SUITE_NOW, SUITE_NOW + 3600);
    let json = format!(
        r#"{{"grant":{{"grant_id":"{grant}","client_id":"app","subject":"{subject}","scope":"read",
        "authorized_at":{now},"expires_at":{later}}},
        "access":{{"hash":"{}","grant_id":"{grant}","client_id":"app","subject":"{subject}","scope":"read",
        "issued_at":{now},"expires_at":{later}}},"refresh":null}}"#,
        TokenHash::of(token)
    );
    serde_json::from_str(&json).expect("a valid grant")
}

fn sample_code(clock: &ManualClock, round: u32) -> oauth21::store::CodeRecord {
    use oauth21::Clock as _;
    let template = format!(
        r#"{{"hash":"{}","grant_id":"grant-{round}-{}","client_id":"app","redirect_uri":"http://127.0.0.1/cb",
        "code_challenge":"E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM","scope":"read","subject":"alice",
        "issued_at":{now},"expires_at":{later}}}"#,
        TokenHash::of(&format!("code {round} {:?}", std::time::SystemTime::now())),
        std::process::id(),
        now = clock.now().unix_timestamp(),
        later = clock.now().unix_timestamp() + 60,
    );
    serde_json::from_str(&template).expect("a valid code record")
}

fn all_keys(redis: &RedisServer, pattern: &str) -> Vec<String> {
    // KEYS over the raw protocol: read the array reply line by line.
    use std::io::{BufRead, BufReader, Write};
    let mut stream = std::net::TcpStream::connect(("127.0.0.1", redis.port())).unwrap();
    let request = format!("*2\r\n$4\r\nKEYS\r\n${}\r\n{pattern}\r\n", pattern.len());
    stream.write_all(request.as_bytes()).unwrap();
    let mut reader = BufReader::new(stream);
    let mut line = String::new();
    reader.read_line(&mut line).unwrap();
    let count: usize = line.trim_end()[1..].parse().unwrap();
    let mut keys = Vec::with_capacity(count);
    for _ in 0..count {
        line.clear();
        reader.read_line(&mut line).unwrap();
        line.clear();
        reader.read_line(&mut line).unwrap();
        keys.push(line.trim_end().to_owned());
    }
    keys
}
