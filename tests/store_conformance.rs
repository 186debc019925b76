//! `MemoryStore` against the reusable store conformance suite (`oauth21::testing`), in one task
//! and from many threads at once (bad-input classes 4 and 5: double spends across threads).

mod common;

use std::sync::{Arc, Barrier};
use std::thread;

use common::block_on;
use oauth21::MemoryStore;
use oauth21::testing::check_store;

#[test]
fn ac03_rt06_memory_store_passes_the_conformance_suite() {
    let store = MemoryStore::new();
    let cases = block_on(check_store(&store, 32)).unwrap();
    assert_eq!(cases, 13);
}

#[test]
fn ac03_rt06_memory_store_passes_the_suite_from_many_threads_at_once() {
    // Every thread runs the whole suite on the one shared store at the same moment: its fresh
    // random ids keep the cases apart, while the store's locks are contended throughout.
    let store = Arc::new(MemoryStore::new());
    let barrier = Arc::new(Barrier::new(8));
    let handles: Vec<_> = (0..8)
        .map(|_| {
            let (store, barrier) = (store.clone(), barrier.clone());
            thread::spawn(move || {
                barrier.wait();
                block_on(check_store(&*store, 8))
            })
        })
        .collect();
    for handle in handles {
        assert_eq!(handle.join().expect("no panic").unwrap(), 13);
    }
}

#[test]
fn rt09_purge_drops_expired_records_but_keeps_rotated_out_tokens_until_the_grant_ends() {
    use common::{app_query, fixture, json};
    use oauth21::hooks::SecurityEvent;
    use time::Duration;

    let fx = fixture();
    let unused_code = fx.code(&app_query(""));
    let (_, first) = fx.app_tokens();
    let second = json(&fx.refresh(&first, ""))["refresh_token"].as_str().unwrap().to_owned();
    assert_eq!(fx.store.counts(), (2, 2, 2));

    // After two hours: codes and access tokens are gone, refresh tokens stay.
    fx.clock.advance(Duration::hours(2));
    fx.store.purge_expired(oauth21::Clock::now(&*fx.clock));
    assert_eq!(fx.store.counts(), (0, 0, 2));
    assert_eq!(fx.token(&common::app_redeem_body(&unused_code), None).status(), 400);

    // After 20 days: the active token died of idleness and is purged; the rotated-out one is kept
    // until the grant's end, so presenting it is still recognised as a replay.
    fx.clock.advance(Duration::days(20));
    fx.store.purge_expired(oauth21::Clock::now(&*fx.clock));
    assert_eq!(fx.store.counts(), (0, 0, 1));
    assert_eq!(fx.refresh(&second, "").status(), 400);
    assert_eq!(fx.refresh(&first, "").status(), 400);
    assert!(matches!(fx.events.take()[..], [SecurityEvent::RefreshTokenReplay { .. }]));

    // After the grant's end everything is gone.
    fx.clock.advance(Duration::days(11));
    fx.store.purge_expired(oauth21::Clock::now(&*fx.clock));
    assert_eq!(fx.store.counts(), (0, 0, 0));
}
