//! The subject index (`subject:{subject}`) and `revoke_subject` on a real redis-server (SEC-08):
//! the index drops grants that have ended, so a client asking for token after token does not
//! grow it without bound; `revoke_subject` revokes in bounded batches, finishes what an
//! interrupted call left, leaves newer logins alone, and an index in the older plain-set layout
//! is converted.
//!
//! Each test starts its own redis-server on a free loopback port and skips, saying so, when
//! none is installed (under CI a missing redis-server fails instead).

use std::sync::Arc;

use oauth21::store::{InsertOutcome, NewGrant, RotateOutcome, Rotation, Store};
use oauth21::{GrantId, Subject, TokenHash};
use oauth21_redis::RedisStore;
use oauth21_redis::testing::RedisServer;
use redis::AsyncCommands;
use redis::aio::MultiplexedConnection;
use time::{Duration, OffsetDateTime};

const NOW: i64 = 1_700_000_000;

/// How many grants one batch script revokes (`REVOKE_SUBJECT_BATCH_SIZE` in the crate).
const BATCH: usize = 256;

fn now() -> OffsetDateTime {
    OffsetDateTime::from_unix_timestamp(NOW).unwrap()
}

async fn store(redis: &RedisServer, namespace: &str) -> RedisStore {
    RedisStore::builder(redis.url()).namespace(namespace).connect().await.expect("the test redis-server answers")
}

/// A plain connection for looking at (and tampering with) the keys directly.
async fn raw(redis: &RedisServer) -> MultiplexedConnection {
    redis::Client::open(redis.url()).unwrap().get_multiplexed_async_connection().await.unwrap()
}

/// A grant of `subject` authorized (and its access token issued) at `at`: the grant ends after
/// `grant_for`, the access token after `access_for`; with a refresh token when `refresh`.
fn grant(
    id: &str,
    subject: &str,
    at: OffsetDateTime,
    grant_for: Duration,
    access_for: Duration,
    refresh: bool,
) -> NewGrant {
    let refresh_json = if refresh {
        format!(
            r#"{{"hash":"{}","grant_id":"{id}","client_id":"app","subject":"{subject}","scope":"read",
            "issued_at":0,"expires_at":0,"grant_expires_at":0,"rotated_at":null}}"#,
            TokenHash::of(&format!("rt {id}"))
        )
    } else {
        "null".into()
    };
    let json = format!(
        r#"{{"grant":{{"grant_id":"{id}","client_id":"app","subject":"{subject}","scope":"read",
        "authorized_at":0,"expires_at":0}},
        "access":{{"hash":"{}","grant_id":"{id}","client_id":"app","subject":"{subject}","scope":"read",
        "issued_at":0,"expires_at":0}},"refresh":{refresh_json}}}"#,
        TokenHash::of(&format!("at {id}"))
    );
    let mut new: NewGrant = serde_json::from_str(&json).expect("a valid grant");
    new.grant.authorized_at = at;
    new.grant.expires_at = at + grant_for;
    new.access.issued_at = at;
    new.access.expires_at = at + access_for;
    if let Some(refresh) = &mut new.refresh {
        refresh.issued_at = at;
        refresh.expires_at = at + grant_for;
        refresh.grant_expires_at = at + grant_for;
    }
    new
}

/// A client_credentials grant: the client is the subject, the grant ends with its one token.
fn machine_grant(id: &str, client: &str, at: OffsetDateTime, lifetime: Duration) -> NewGrant {
    grant(id, client, at, lifetime, lifetime, false)
}

/// A user's login: an hour's access token and a refresh token for 30 days.
fn login(id: &str, user: &str, at: OffsetDateTime) -> NewGrant {
    grant(id, user, at, Duration::days(30), Duration::hours(1), true)
}

async fn insert(store: &RedisStore, new: &NewGrant) {
    assert_eq!(store.insert_grant(new.clone()).await.unwrap(), InsertOutcome::Inserted, "{}", new.grant.grant_id);
}

/// Whether every token of the grant is still found.
async fn live(store: &RedisStore, new: &NewGrant) -> bool {
    let access = store.access_token(&new.access.hash).await.unwrap().is_some();
    let refresh = match &new.refresh {
        Some(refresh) => store.refresh_token(&refresh.hash).await.unwrap().is_some(),
        None => access,
    };
    assert_eq!(access, refresh, "{}: one token live, the other not", new.grant.grant_id);
    access
}

async fn key_type(conn: &mut MultiplexedConnection, key: &str) -> String {
    redis::cmd("TYPE").arg(key).query_async(conn).await.unwrap()
}

async fn pttl(conn: &mut MultiplexedConnection, key: &str) -> i64 {
    redis::cmd("PTTL").arg(key).query_async(conn).await.unwrap()
}

/// How many times Redis ran `command`, scripts included (`INFO commandstats`).
async fn calls(conn: &mut MultiplexedConnection, command: &str) -> u64 {
    let info: String = redis::cmd("INFO").arg("commandstats").query_async(conn).await.unwrap();
    let prefix = format!("cmdstat_{command}:calls=");
    info.lines()
        .find_map(|line| line.strip_prefix(&prefix))
        .map_or(0, |rest| rest.split(',').next().unwrap().parse().unwrap())
}

fn ms(at: OffsetDateTime) -> i64 {
    i64::try_from(at.unix_timestamp_nanos() / 1_000_000).unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sec08_redis_subject_index_drops_expired_grants() {
    let Some(redis) = RedisServer::start_or_skip("sec08_redis_subject_index_drops_expired_grants") else { return };
    let store = store(&redis, "grow:").await;
    let mut conn = raw(&redis).await;
    let index = "grow:subject:machine";

    // The client also has a long-lived grant (as a user with a refresh token would): it stays.
    let long = login("long", "machine", now());
    insert(&store, &long).await;
    // One client_credentials token a second, each living a minute: the index holds about the
    // last minute's worth, never all of them.
    let mut grants = Vec::new();
    for i in 0..600 {
        let new = machine_grant(&format!("cc-{i}"), "machine", now() + Duration::seconds(i), Duration::seconds(60));
        insert(&store, &new).await;
        let size: usize = conn.zcard(index).await.unwrap();
        assert!(size <= 62, "after {} grants the index holds {size}", i + 1);
        grants.push(new);
    }
    assert_eq!(key_type(&mut conn, index).await, "zset");
    // Each grant is scored by its end (unix ms).
    let score: Option<f64> = conn.zscore(index, "cc-599").await.unwrap();
    assert_eq!(score, Some(ms(now() + Duration::seconds(599 + 60)) as f64));

    // An hour later, one more token: every earlier short grant has ended and is dropped.
    let later = machine_grant("cc-late", "machine", now() + Duration::hours(1), Duration::seconds(60));
    insert(&store, &later).await;
    let members: Vec<String> = conn.zrange(index, 0, -1).await.unwrap();
    assert_eq!(members, ["cc-late", "long"]);
    // The key lives as long as its longest-lived grant (30 days from the store's now).
    let left = pttl(&mut conn, index).await;
    assert!(left > Duration::days(30).whole_milliseconds() as i64 - 60_000, "index expires in {left} ms");

    // The live grants are still reached by revoke_subject, the dropped ones only ended.
    store
        .revoke_subject(&Subject::new("machine").unwrap(), now() + Duration::hours(2), now() + Duration::days(31))
        .await
        .unwrap();
    assert!(!live(&store, &long).await);
    assert!(!live(&store, &later).await);
    assert!(!conn.exists::<_, bool>(index).await.unwrap());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sec08_redis_rotation_keeps_the_grant_indexed_until_its_last_token_ends() {
    let name = "sec08_redis_rotation_keeps_the_grant_indexed_until_its_last_token_ends";
    let Some(redis) = RedisServer::start_or_skip(name) else { return };
    let store = store(&redis, "rot:").await;
    let mut conn = raw(&redis).await;
    let index = "rot:subject:alice";

    // A grant ending after 10 minutes, refreshed a minute before its end: the new access token
    // lives an hour, well past the grant's end.
    let first = grant("g", "alice", now(), Duration::minutes(10), Duration::minutes(5), true);
    insert(&store, &first).await;
    let at = now() + Duration::minutes(9);
    let old = first.refresh.clone().unwrap();
    let mut rotation: Rotation = serde_json::from_value(serde_json::json!({
        "from": old.hash, "grace_retry": false, "at": 0,
        "access": first.access, "refresh": old,
    }))
    .unwrap();
    rotation.at = at;
    rotation.access.hash = TokenHash::of("at g 2");
    rotation.access.issued_at = at;
    rotation.access.expires_at = at + Duration::hours(1);
    rotation.refresh.hash = TokenHash::of("rt g 2");
    rotation.refresh.issued_at = at;
    assert_eq!(store.rotate_refresh(rotation.clone()).await.unwrap(), RotateOutcome::Rotated);
    let score: Option<f64> = conn.zscore(index, "g").await.unwrap();
    assert_eq!(score, Some(ms(at + Duration::hours(1)) as f64));

    // After the grant's end, but before the new access token's: another login does not drop it,
    // and revoke_subject still reaches the token.
    let second = login("g2", "alice", now() + Duration::minutes(30));
    insert(&store, &second).await;
    let members: Vec<String> = conn.zrange(index, 0, -1).await.unwrap();
    assert_eq!(members, ["g", "g2"]);
    store
        .revoke_subject(&Subject::new("alice").unwrap(), now() + Duration::minutes(31), now() + Duration::days(31))
        .await
        .unwrap();
    assert_eq!(store.access_token(&rotation.access.hash).await.unwrap(), None);
    assert!(!live(&store, &second).await);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sec08_redis_revoke_subject_runs_in_bounded_batches() {
    let Some(redis) = RedisServer::start_or_skip("sec08_redis_revoke_subject_runs_in_bounded_batches") else {
        return;
    };
    let store = store(&redis, "batch:").await;
    let mut conn = raw(&redis).await;
    let grants: Vec<NewGrant> = (0..1000).map(|i| login(&format!("g-{i:04}"), "bob", now())).collect();
    for new in &grants {
        insert(&store, new).await;
    }
    let other = login("other", "carol", now());
    insert(&store, &other).await;
    assert_eq!(conn.zcard::<_, usize>("batch:subject:bob").await.unwrap(), 1000);

    // ZRANGE runs only in the batch script, once per batch.
    let before = calls(&mut conn, "zrange").await;
    let at = now() + Duration::seconds(1);
    store.revoke_subject(&Subject::new("bob").unwrap(), at, at + Duration::days(31)).await.unwrap();
    let batches = calls(&mut conn, "zrange").await - before;
    assert_eq!(batches, 1000_u64.div_ceil(BATCH as u64), "1000 grants revoked in {batches} scripts");

    for new in &grants {
        assert!(!live(&store, new).await, "{} survived", new.grant.grant_id);
        let family = format!("batch:family:{}", new.grant.grant_id);
        assert!(!conn.exists::<_, bool>(&family).await.unwrap());
        let marker = format!("batch:revoked:{}", new.grant.grant_id);
        assert!(conn.exists::<_, bool>(&marker).await.unwrap());
    }
    assert!(live(&store, &other).await, "another subject's grant was touched");
    for key in ["batch:subject:bob", "batch:subject-revoking:bob"] {
        assert!(!conn.exists::<_, bool>(key).await.unwrap(), "{key} is left");
    }
    // A grant authorized at the revocation instant is refused.
    let pending = login("pending", "bob", at);
    assert_eq!(store.insert_grant(pending).await.unwrap(), InsertOutcome::GrantRevoked);
}

/// The crate's scripts, run one step at a time to stop a revocation between its steps.
fn first_step() -> redis::Script {
    redis::Script::new(concat!(include_str!("../src/lua/common.lua"), include_str!("../src/lua/revoke_subject.lua")))
}

fn batch_step() -> redis::Script {
    redis::Script::new(concat!(
        include_str!("../src/lua/common.lua"),
        include_str!("../src/lua/revoke_subject_batch.lua")
    ))
}

/// The first step of `revoke_subject` (marker, index moved to the revoking set); returns how
/// many grants are left.
async fn start_revocation(conn: &mut MultiplexedConnection, ns: &str, subject: &str, at: OffsetDateTime) -> i64 {
    let micros = (at.unix_timestamp_nanos() / 1000).to_string();
    first_step()
        .key(format!("{ns}revoked-sub:{subject}"))
        .key(format!("{ns}subject:{subject}"))
        .key(format!("{ns}subject-revoking:{subject}"))
        .arg(micros)
        .arg(Duration::days(31).whole_milliseconds() as i64)
        .invoke_async(conn)
        .await
        .unwrap()
}

/// One batch step; returns how many grants are left.
async fn revoke_batch(conn: &mut MultiplexedConnection, ns: &str, subject: &str) -> i64 {
    batch_step()
        .key(format!("{ns}subject-revoking:{subject}"))
        .arg(ns)
        .arg(Duration::days(31).whole_milliseconds() as i64)
        .arg(BATCH)
        .invoke_async(conn)
        .await
        .unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sec08_redis_grant_authorized_after_the_revocation_survives_it() {
    let name = "sec08_redis_grant_authorized_after_the_revocation_survives_it";
    let Some(redis) = RedisServer::start_or_skip(name) else { return };
    let store = store(&redis, "newer:").await;
    let mut conn = raw(&redis).await;
    let old: Vec<NewGrant> = (0..600).map(|i| login(&format!("old-{i}"), "dave", now())).collect();
    for new in &old {
        insert(&store, new).await;
    }

    // The revocation has set its marker and revoked a first batch when dave logs in again (on
    // another instance): a code issued before the revocation is refused, a newer login is
    // stored, in a fresh index.
    let at = now() + Duration::seconds(10);
    assert_eq!(start_revocation(&mut conn, "newer:", "dave", at).await, 600);
    assert_eq!(revoke_batch(&mut conn, "newer:", "dave").await, 600 - BATCH as i64);
    let stale = login("stale", "dave", at);
    assert_eq!(store.insert_grant(stale.clone()).await.unwrap(), InsertOutcome::GrantRevoked);
    let fresh = login("fresh", "dave", at + Duration::seconds(1));
    insert(&store, &fresh).await;
    let members: Vec<String> = conn.zrange("newer:subject:dave", 0, -1).await.unwrap();
    assert_eq!(members, ["fresh"]);

    // The revocation finishes: every older grant is gone, the newer login works.
    while revoke_batch(&mut conn, "newer:", "dave").await > 0 {}
    for new in &old {
        assert!(!live(&store, new).await, "{} survived", new.grant.grant_id);
    }
    assert!(!live(&store, &stale).await);
    assert!(live(&store, &fresh).await, "the login after the revocation was revoked");
    let members: Vec<String> = conn.zrange("newer:subject:dave", 0, -1).await.unwrap();
    assert_eq!(members, ["fresh"]);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sec08_redis_revoke_subject_races_logins_from_another_instance() {
    let name = "sec08_redis_revoke_subject_races_logins_from_another_instance";
    let Some(redis) = RedisServer::start_or_skip(name) else { return };
    let (revoker, other) = (store(&redis, "race:").await, store(&redis, "race:").await);
    let old: Vec<NewGrant> = (0..2000).map(|i| login(&format!("old-{i}"), "erin", now())).collect();
    for new in &old {
        insert(&revoker, new).await;
    }
    let at = now() + Duration::seconds(10);

    // Another instance keeps redeeming codes while the revocation runs: some issued before the
    // revocation (they must end up revoked or refused), and, once it has begun (its marker is
    // set), logins authorized after it (they must survive, also those stored while older grants
    // are still being revoked; sec08_redis_grant_authorized_after_the_revocation_survives_it
    // stops a revocation there to show that case every time).
    let done = Arc::new(std::sync::atomic::AtomicBool::new(false));
    let (started_tx, started_rx) = tokio::sync::oneshot::channel();
    let mut conn = raw(&redis).await;
    let logins = tokio::spawn({
        let done = done.clone();
        async move {
            let (mut before, mut after) = (Vec::new(), Vec::new());
            let mut started = Some(started_tx);
            let mut i = 0;
            loop {
                // Read before the inserts: the round that sees the revocation over still runs,
                // so at least one early login comes after it.
                let over = done.load(std::sync::atomic::Ordering::SeqCst);
                let early = login(&format!("early-{i}"), "erin", at - Duration::seconds(1));
                let outcome = other.insert_grant(early.clone()).await.unwrap();
                before.push((early, outcome));
                if conn.exists::<_, bool>("race:revoked-sub:erin").await.unwrap() {
                    let late = login(&format!("late-{i}"), "erin", at + Duration::seconds(1));
                    assert_eq!(other.insert_grant(late.clone()).await.unwrap(), InsertOutcome::Inserted);
                    after.push(late);
                }
                if let Some(tx) = started.take() {
                    let _ = tx.send(());
                }
                i += 1;
                if over && i >= 4 {
                    break;
                }
            }
            (before, after)
        }
    });
    started_rx.await.unwrap();
    revoker.revoke_subject(&Subject::new("erin").unwrap(), at, at + Duration::days(31)).await.unwrap();
    done.store(true, std::sync::atomic::Ordering::SeqCst);
    let (before, after) = logins.await.unwrap();

    for new in old.iter().chain(before.iter().map(|(new, _)| new)) {
        assert!(!live(&revoker, new).await, "{} survived the revocation", new.grant.grant_id);
    }
    // Once revoke_subject has returned, an older grant is refused.
    let refused = before.iter().filter(|(_, outcome)| *outcome == InsertOutcome::GrantRevoked).count();
    assert!(refused >= 1, "no early login was refused");
    assert!(!after.is_empty());
    for new in &after {
        assert!(live(&revoker, new).await, "{} (authorized after the revocation) was revoked", new.grant.grant_id);
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sec08_redis_interrupted_revocation_is_finished_by_the_next_call() {
    let name = "sec08_redis_interrupted_revocation_is_finished_by_the_next_call";
    let Some(redis) = RedisServer::start_or_skip(name) else { return };
    let store = store(&redis, "resume:").await;
    let mut conn = raw(&redis).await;
    let subject = Subject::new("frank").unwrap();
    let grants: Vec<NewGrant> = (0..700).map(|i| login(&format!("g-{i:03}"), "frank", now())).collect();
    for new in &grants {
        insert(&store, new).await;
    }

    // A revocation stopped after its first batch (the instance died): the rest is left in the
    // revoking set, which keeps at least the revocation's memory.
    let at = now() + Duration::seconds(10);
    start_revocation(&mut conn, "resume:", "frank", at).await;
    assert_eq!(revoke_batch(&mut conn, "resume:", "frank").await, 700 - BATCH as i64);
    assert!(pttl(&mut conn, "resume:subject-revoking:frank").await > Duration::days(30).whole_milliseconds() as i64);

    // A revocation failing in a batch (here a family key of the wrong type) is an error, never
    // a success; what it did not revoke stays in the revoking set.
    let bad = "resume:family:g-600";
    let _: () = conn.del(bad).await.unwrap();
    let _: () = conn.set(bad, "damaged").await.unwrap();
    let failed = store.revoke_subject(&subject, at, at + Duration::days(31)).await;
    assert!(matches!(failed, Err(ref e) if e.kind() == oauth21::StoreErrorKind::Backend), "{failed:?}");
    let left: Vec<String> = conn.zrange("resume:subject-revoking:frank", 0, -1).await.unwrap();
    assert!(left.first().is_some_and(|id| id == "g-600"), "left: {:?}", left.first());
    assert_eq!(left.len(), 100);
    for new in &grants[601..] {
        assert!(live(&store, new).await, "{} was dropped unrevoked", new.grant.grant_id);
    }

    // Repaired, the next call finishes the work: every grant is revoked, nothing is left.
    let _: () = conn.del(bad).await.unwrap();
    store.revoke_subject(&subject, at, at + Duration::days(31)).await.unwrap();
    for new in &grants {
        assert!(!live(&store, new).await, "{} survived", new.grant.grant_id);
    }
    for key in ["resume:subject:frank", "resume:subject-revoking:frank"] {
        assert!(!conn.exists::<_, bool>(key).await.unwrap(), "{key} is left");
    }
}

/// Turns the subject index back into the plain set older versions wrote, keeping its expiry.
async fn to_old_layout(conn: &mut MultiplexedConnection, index: &str) {
    let members: Vec<String> = conn.zrange(index, 0, -1).await.unwrap();
    let ttl = pttl(conn, index).await;
    let _: () = conn.del(index).await.unwrap();
    let _: () = conn.sadd(index, &members).await.unwrap();
    let _: () = conn.pexpire(index, ttl).await.unwrap();
    assert_eq!(key_type(conn, index).await, "set");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sec08_redis_old_plain_set_index_is_converted() {
    let Some(redis) = RedisServer::start_or_skip("sec08_redis_old_plain_set_index_is_converted") else { return };
    let store = store(&redis, "old:").await;
    let mut conn = raw(&redis).await;

    // insert_grant on an old index: converted, every old grant kept (scored by the set's end,
    // which is at or after each grant's), the expiry kept, the new grant added.
    let index = "old:subject:gina";
    let olds: Vec<NewGrant> = (0..3).map(|i| login(&format!("old-{i}"), "gina", now())).collect();
    for new in &olds {
        insert(&store, new).await;
    }
    to_old_layout(&mut conn, index).await;
    let ttl = pttl(&mut conn, index).await;
    let next = machine_grant("next", "gina", now() + Duration::days(2), Duration::hours(1));
    insert(&store, &next).await;
    assert_eq!(key_type(&mut conn, index).await, "zset");
    let mut scored: Vec<(String, f64)> = conn.zrange_withscores(index, 0, -1).await.unwrap();
    scored.sort_by(|a, b| a.0.cmp(&b.0));
    assert_eq!(scored.iter().map(|(id, _)| id.as_str()).collect::<Vec<_>>(), ["next", "old-0", "old-1", "old-2"]);
    for (id, score) in &scored[1..] {
        // now (the new token's issued_at) + the old set's PTTL, give or take the test's own time.
        let expected = (ms(next.access.issued_at) + ttl) as f64;
        assert!((expected - 5_000.0..=expected).contains(score), "{id}: {score} vs {expected}");
    }
    assert!(pttl(&mut conn, index).await > ttl - 5_000);

    // revoke_grant on an old index removes the grant from it.
    to_old_layout(&mut conn, index).await;
    store.revoke_grant(&GrantId::new("old-0").unwrap(), now(), now() + Duration::days(31)).await.unwrap();
    let members: Vec<String> = conn.smembers(index).await.unwrap();
    assert_eq!(members.len(), 3);
    assert!(!members.contains(&"old-0".to_owned()));

    // rotate_refresh on an old index converts it too.
    let old = olds[1].refresh.clone().unwrap();
    let mut rotation: Rotation = serde_json::from_value(serde_json::json!({
        "from": old.hash, "grace_retry": false, "at": 0, "access": olds[1].access, "refresh": old,
    }))
    .unwrap();
    rotation.at = now() + Duration::minutes(1);
    rotation.access.hash = TokenHash::of("at old-1 2");
    rotation.refresh.hash = TokenHash::of("rt old-1 2");
    assert_eq!(store.rotate_refresh(rotation.clone()).await.unwrap(), RotateOutcome::Rotated);
    assert_eq!(key_type(&mut conn, index).await, "zset");
    assert_eq!(conn.zcard::<_, usize>(index).await.unwrap(), 3);

    // revoke_subject on an old index revokes every grant in it.
    to_old_layout(&mut conn, index).await;
    let subject = Subject::new("gina").unwrap();
    store.revoke_subject(&subject, now() + Duration::days(3), now() + Duration::days(40)).await.unwrap();
    for new in olds.iter().chain([&next]) {
        assert!(!live(&store, new).await, "{} survived", new.grant.grant_id);
    }
    assert_eq!(store.access_token(&rotation.access.hash).await.unwrap(), None);
    assert_eq!(store.refresh_token(&rotation.refresh.hash).await.unwrap(), None);
    for key in [index, "old:subject-revoking:gina"] {
        assert!(!conn.exists::<_, bool>(key).await.unwrap(), "{key} is left");
    }
}
