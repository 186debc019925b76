//! Bad-input class 5: many concurrent refreshes of one refresh token. The rotation is one
//! compare-and-swap on the family, so exactly one succeeds; the others lost a race that began
//! before the winning rotation, so they are refused without revoking (RT-06, RT-07).

mod common;

use std::sync::{Arc, Barrier};
use std::thread;

use common::*;
use oauth21::store::Store;
use oauth21::{AccessToken, RefreshToken};

const THREADS: usize = 16;
const ROUNDS: usize = 20;

#[test]
fn rt07_many_threads_refresh_one_token_and_exactly_one_new_pair_exists() {
    let fx = Arc::new(fixture());
    for _ in 0..ROUNDS {
        let (first_access, refresh) = fx.app_tokens();
        let grant = block_on(fx.store.refresh_token(&RefreshToken::new(&refresh).hash())).unwrap().unwrap().grant_id;
        let (_, access_before, _) = fx.store.counts();
        let barrier = Arc::new(Barrier::new(THREADS));
        let handles: Vec<_> = (0..THREADS)
            .map(|_| {
                let (fx, barrier, refresh) = (fx.clone(), barrier.clone(), refresh.clone());
                thread::spawn(move || {
                    barrier.wait();
                    fx.refresh(&refresh, "")
                })
            })
            .collect();
        let responses: Vec<_> = handles.into_iter().map(|h| h.join().expect("no panic")).collect();
        let winners: Vec<_> = responses.iter().filter(|r| r.status() == 200).collect();
        assert_eq!(winners.len(), 1, "exactly one refresh wins");
        for loser in responses.iter().filter(|r| r.status() != 200) {
            assert_eq!(loser.status(), 400);
            assert_eq!(json(loser)["error"], "invalid_grant");
        }
        // Exactly one new pair: one more access token, one active refresh token, and it is
        // the winner's.
        let winner = json(winners[0]);
        let new_refresh = winner["refresh_token"].as_str().unwrap();
        assert_eq!(fx.store.counts().1, access_before + 1);
        assert_eq!(fx.store.active_refresh_tokens(&grant), vec![RefreshToken::new(new_refresh).hash()]);
        assert!(block_on(fx.store.access_token(&AccessToken::new(&first_access).hash())).unwrap().is_some());
        // The race was not mistaken for theft: the family lives and rotates on.
        fx.clock.advance(time::Duration::seconds(1));
        assert_eq!(fx.refresh(new_refresh, "").status(), 200);
        // But the raced token is dead; presenting it again now is a replay.
        fx.clock.advance(time::Duration::seconds(1));
        assert_eq!(fx.refresh(&refresh, "").status(), 400);
        assert!(fx.store.active_refresh_tokens(&grant).is_empty());
    }
}

#[test]
fn rt06_raced_token_is_marked_rotated_out_and_one_active_token_remains() {
    // What the race leaves in the store: the presented token kept as rotated out (so a later
    // replay is recognised), and exactly one active token in the family.
    let fx = Arc::new(fixture());
    let (_, refresh) = fx.app_tokens();
    let record = block_on(fx.store.refresh_token(&RefreshToken::new(&refresh).hash())).unwrap().unwrap();
    let barrier = Arc::new(Barrier::new(THREADS));
    let handles: Vec<_> = (0..THREADS)
        .map(|_| {
            let (fx, barrier, refresh) = (fx.clone(), barrier.clone(), refresh.clone());
            thread::spawn(move || {
                barrier.wait();
                fx.refresh(&refresh, "").status()
            })
        })
        .collect();
    let statuses: Vec<u16> = handles.into_iter().map(|h| h.join().unwrap()).collect();
    assert_eq!(statuses.iter().filter(|s| **s == 200).count(), 1);
    let after = block_on(fx.store.refresh_token(&record.hash)).unwrap().unwrap();
    assert!(after.rotated_at.is_some());
    assert_eq!(fx.store.active_refresh_tokens(&record.grant_id).len(), 1);
}
