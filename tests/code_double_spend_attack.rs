//! Bad-input class 4: two (or many) concurrent redemptions of one code. AC-03 says exactly one
//! may win, and AC-04 says the losers' replays revoke what the winner got.

mod common;

use std::sync::{Arc, Barrier};
use std::thread;

use common::*;
use oauth21::store::{CodeTake, Store};
use oauth21::{AccessToken, AuthorizationCode};

const THREADS: usize = 16;
const ROUNDS: usize = 25;

#[test]
fn ac03_many_threads_take_one_code_and_exactly_one_wins() {
    let fx = Arc::new(fixture());
    for _ in 0..ROUNDS {
        let code = AuthorizationCode::new(fx.code(&app_query("")));
        let barrier = Arc::new(Barrier::new(THREADS));
        let handles: Vec<_> = (0..THREADS)
            .map(|_| {
                let (fx, barrier, hash) = (fx.clone(), barrier.clone(), code.hash());
                thread::spawn(move || {
                    barrier.wait();
                    block_on(fx.store.take_code(&hash)).unwrap()
                })
            })
            .collect();
        let takes: Vec<CodeTake> = handles.into_iter().map(|h| h.join().expect("no panic")).collect();
        assert_eq!(takes.iter().filter(|t| matches!(t, CodeTake::Taken(_))).count(), 1);
        assert_eq!(takes.iter().filter(|t| matches!(t, CodeTake::AlreadyTaken(_))).count(), THREADS - 1);
    }
}

#[test]
fn ac04_concurrent_redemptions_never_both_succeed_and_leave_no_live_token() {
    let fx = Arc::new(fixture());
    for _ in 0..ROUNDS {
        let code = fx.code(&app_query(""));
        let barrier = Arc::new(Barrier::new(THREADS));
        let handles: Vec<_> = (0..THREADS)
            .map(|_| {
                let (fx, barrier, body) = (fx.clone(), barrier.clone(), app_redeem_body(&code));
                thread::spawn(move || {
                    barrier.wait();
                    fx.token(&body, None)
                })
            })
            .collect();
        let responses: Vec<_> = handles.into_iter().map(|h| h.join().expect("no panic")).collect();
        let winners: Vec<_> = responses.iter().filter(|r| r.status() == 200).collect();
        // One thread takes the code; the others are valid replays that revoke its grant. If
        // the revocation lands before the winner stores its tokens, the store refuses them and
        // nobody wins; otherwise the winner's tokens are revoked after the fact.
        assert!(winners.len() <= 1, "a code never yields two token responses");
        for loser in responses.iter().filter(|r| r.status() != 200) {
            assert_eq!(loser.status(), 400);
            assert_eq!(json(loser)["error"], "invalid_grant");
        }
        for winner in winners {
            let access = AccessToken::new(json(winner)["access_token"].as_str().unwrap());
            assert!(block_on(fx.store.access_token(&access.hash())).unwrap().is_none());
        }
        assert_eq!(fx.store.counts().1, 0, "no access token of a double-spent code survives");
    }
}

#[test]
fn ac03_distinct_codes_redeemed_in_parallel_all_succeed() {
    let fx = Arc::new(fixture());
    let codes: Vec<String> = (0..THREADS * 4).map(|_| fx.code(&app_query(""))).collect();
    let barrier = Arc::new(Barrier::new(THREADS));
    let handles: Vec<_> = codes
        .chunks(4)
        .map(|chunk| {
            let (fx, barrier, chunk) = (fx.clone(), barrier.clone(), chunk.to_vec());
            thread::spawn(move || {
                barrier.wait();
                chunk.iter().map(|code| fx.token(&app_redeem_body(code), None).status()).collect::<Vec<_>>()
            })
        })
        .collect();
    for h in handles {
        assert!(h.join().unwrap().iter().all(|s| *s == 200));
    }
    assert_eq!(fx.store.counts().1, THREADS * 4);
}
