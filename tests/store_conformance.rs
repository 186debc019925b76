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
    assert_eq!(cases, 11);
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
        assert_eq!(handle.join().expect("no panic").unwrap(), 11);
    }
}
