//! The store contract on a real PostgreSQL: the conformance suite over one connection and over
//! a pool, several suites at once, migrations, purging, restarts and an unreachable database.

use std::time::{Duration, Instant};

use oauth21::store::{Store, StoreErrorKind};
use oauth21::testing::check_store;
use oauth21::{Client, ClientId, TokenHash};
use oauth21_postgres::testing::PostgresServer;
use oauth21_postgres::{PostgresStore, SCHEMA_VERSION};
use time::OffsetDateTime;

async fn store(pg: &PostgresServer, pool: usize) -> PostgresStore {
    PostgresStore::builder(pg.url()).pool_size(pool).connect().await.expect("connects and migrates")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ac03_rt06_postgres_store_passes_the_conformance_suite_on_one_connection_and_on_a_pool() {
    let Some(pg) = PostgresServer::start_or_skip("ac03_rt06_postgres_store_passes_the_conformance_suite") else {
        return;
    };
    let single = store(&pg, 1).await;
    assert_eq!(check_store(&single, 8).await.unwrap(), 19);
    let pooled = store(&pg, 16).await;
    assert_eq!(check_store(&pooled, 32).await.unwrap(), 19);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ac03_rt06_postgres_store_passes_the_suite_from_many_tasks_at_once() {
    let Some(pg) = PostgresServer::start_or_skip("ac03_rt06_postgres_store_passes_the_suite_from_many_tasks_at_once")
    else {
        return;
    };
    let shared = store(&pg, 16).await;
    let runs: Vec<_> = (0..4)
        .map(|_| {
            let store = shared.clone();
            tokio::spawn(async move { check_store(&store, 16).await })
        })
        .collect();
    for run in runs {
        assert_eq!(run.await.expect("no panic").unwrap(), 19);
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn migrations_are_versioned_idempotent_and_safe_to_run_concurrently() {
    let Some(pg) = PostgresServer::start_or_skip("migrations_are_versioned_idempotent_and_safe_to_run_concurrently")
    else {
        return;
    };
    // Several instances starting at once all migrate; one applies, the others find it done.
    let starts: Vec<_> = (0..4).map(|_| tokio::spawn(PostgresStore::connect(pg.url()))).collect();
    for start in starts {
        start.await.expect("no panic").expect("connects and migrates");
    }
    let store = store(&pg, 2).await;
    assert_eq!(store.migrate().await.unwrap(), SCHEMA_VERSION);
    assert_eq!(store.migrate().await.unwrap(), SCHEMA_VERSION);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn records_survive_a_database_restart_and_an_outage_is_a_fast_unavailable() {
    let Some(mut pg) = PostgresServer::start_or_skip("records_survive_a_database_restart") else { return };
    let store = PostgresStore::builder(pg.url()).timeout(Duration::from_millis(500)).connect().await.unwrap();
    let client = Client::public("survivor").redirect_uri("http://127.0.0.1/cb").scope("read").build().unwrap();
    store.put_client(&client).await.unwrap();
    let id = ClientId::new("survivor").unwrap();
    pg.stop();
    let started = Instant::now();
    let error = store.client(&id).await.unwrap_err();
    assert_eq!(error.kind(), StoreErrorKind::Unavailable, "{error}");
    assert!(started.elapsed() < Duration::from_secs(3), "an outage answers within the deadline");
    pg.restart().unwrap();
    // The pool drops broken connections and opens new ones.
    let mut found = None;
    for _ in 0..20 {
        match store.client(&id).await {
            Ok(client) => {
                found = client;
                break;
            }
            Err(e) => assert_eq!(e.kind(), StoreErrorKind::Unavailable, "{e}"),
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert_eq!(found, Some(client), "the registration survived the restart");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn purge_deletes_what_ended_in_bounded_batches() {
    let Some(pg) = PostgresServer::start_or_skip("purge_deletes_what_ended_in_bounded_batches") else { return };
    let store = store(&pg, 4).await;
    // The suite leaves records behind, all ending within 100 days of its fixed now (2023).
    check_store(&store, 4).await.unwrap();
    let now = OffsetDateTime::now_utc();
    let mut total = 0;
    loop {
        let deleted = store.purge_expired(now, 5).await.unwrap();
        assert!(deleted <= 5 * 8, "at most a batch per table per call");
        total += deleted;
        if deleted == 0 {
            break;
        }
    }
    assert!(total > 20, "the suite's records were purged ({total})");
    // What has not ended stays.
    let key = TokenHash::of("a claim that lasts");
    store.claim_once(&key, now, now + time::Duration::hours(1)).await.unwrap();
    assert_eq!(store.purge_expired(now, 100).await.unwrap(), 0);
    assert_eq!(
        store.claim_once(&key, now, now + time::Duration::hours(1)).await.unwrap(),
        oauth21::store::ClaimOutcome::AlreadyClaimed
    );
}
