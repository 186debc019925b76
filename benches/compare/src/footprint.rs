//! Memory held per live grant, heap allocations per operation, and code-flow throughput from one
//! and two threads.
//!
//! Memory: [`CountingAlloc`] (the bench binary's global allocator) keeps a per-thread count of
//! live heap bytes, so counting costs one thread-local add per allocation and nothing is shared
//! between threads (the throughput figures are not disturbed by it). Bytes per grant = growth of
//! the live bytes over N code flows (with refresh token) on one thread, divided by N: records,
//! map entries and the maps' spare capacity, amortised.
//!
//! Allocations: the same allocator also counts this thread's allocation calls (`alloc`,
//! `alloc_zeroed` and `realloc`). Allocations per op = that count over N operations, divided by
//! N, with each op's inputs (fresh grants for refresh) made before counting starts.

use std::alloc::{GlobalAlloc, Layout, System};
use std::cell::Cell;
use std::hint::black_box;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use crate::floor::Floor;
use crate::oauth::Oauth21;
use crate::oauth_as::OauthAs;
use crate::oxide::{OxideAuth, SecretPolicy};
use crate::sysload::Sample;

thread_local! {
    static LIVE: Cell<isize> = const { Cell::new(0) };
    static BLOCKS: Cell<isize> = const { Cell::new(0) };
    static CALLS: Cell<usize> = const { Cell::new(0) };
}

fn add(delta: isize) {
    let _ = LIVE.try_with(|live| live.set(live.get() + delta));
}

fn blocks(delta: isize) {
    let _ = BLOCKS.try_with(|b| b.set(b.get() + delta));
}

fn call() {
    let _ = CALLS.try_with(|c| c.set(c.get() + 1));
}

/// The system allocator, counting this thread's live bytes.
pub struct CountingAlloc;

// SAFETY: every call is forwarded unchanged to `System`; the count is a side effect only.
unsafe impl GlobalAlloc for CountingAlloc {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        add(layout.size() as isize);
        blocks(1);
        call();
        unsafe { System.alloc(layout) }
    }

    unsafe fn alloc_zeroed(&self, layout: Layout) -> *mut u8 {
        add(layout.size() as isize);
        blocks(1);
        call();
        unsafe { System.alloc_zeroed(layout) }
    }

    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        add(-(layout.size() as isize));
        blocks(-1);
        unsafe { System.dealloc(ptr, layout) }
    }

    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        add(new_size as isize - layout.size() as isize);
        call();
        unsafe { System.realloc(ptr, layout, new_size) }
    }
}

/// Live heap bytes allocated (and not freed) by this thread so far.
pub fn live_bytes() -> isize {
    LIVE.try_with(Cell::get).unwrap_or(0)
}

/// Live heap blocks allocated (and not freed) by this thread so far.
pub fn live_blocks() -> isize {
    BLOCKS.try_with(Cell::get).unwrap_or(0)
}

/// Allocation calls (`alloc`, `alloc_zeroed`, `realloc`) made by this thread so far.
pub fn allocation_calls() -> usize {
    CALLS.try_with(Cell::get).unwrap_or(0)
}

/// Bytes held per grant.
#[derive(Debug, Clone, Copy)]
pub struct Memory {
    pub grants: usize,
    /// oauth21's MemoryStore right after the code flows: used codes are kept until they expire.
    pub oauth21: f64,
    /// The same store after `purge_expired` past the codes' 60 s lifetime (tokens still live).
    pub oauth21_purged: f64,
    /// oxide-auth's AuthMap + TokenMap after the same flows (it drops a code when redeemed).
    pub oxide: f64,
    /// oauth-as's MemoryStorage after the same flows (it keeps a redeemed code, marked consumed,
    /// until the code expires).
    pub oauth_as: f64,
    /// The same store after `Storage::sweep_expired` past the codes' 60 s lifetime.
    pub oauth_as_swept: f64,
    /// Heap blocks per grant, in the same five states.
    pub oauth21_blocks: f64,
    pub oauth21_purged_blocks: f64,
    pub oxide_blocks: f64,
    pub oauth_as_blocks: f64,
    pub oauth_as_swept_blocks: f64,
}

pub fn memory(grants: usize) -> Memory {
    let o = Oauth21::new();
    for _ in 0..100 {
        black_box(o.code_flow());
    }
    let (before, before_b) = (live_bytes(), live_blocks());
    for _ in 0..grants {
        black_box(o.code_flow());
    }
    let (after, after_b) = (live_bytes(), live_blocks());
    let (codes, access, refresh) = o.store.counts();
    assert_eq!((codes, access, refresh), (grants + 100, grants + 100, grants + 100));
    o.store.purge_expired(time::OffsetDateTime::now_utc() + time::Duration::seconds(61));
    assert_eq!(o.store.counts(), (0, grants + 100, grants + 100));
    let (purged, purged_b) = (live_bytes(), live_blocks());
    drop(o);

    let mut x = OxideAuth::new(SecretPolicy::Sha256);
    for _ in 0..100 {
        black_box(x.code_flow());
    }
    let (x_before, x_before_b) = (live_bytes(), live_blocks());
    for _ in 0..grants {
        black_box(x.code_flow());
    }
    let (x_after, x_after_b) = (live_bytes(), live_blocks());
    drop(x);

    let a = OauthAs::new();
    for _ in 0..100 {
        black_box(a.code_flow());
    }
    let (a_before, a_before_b) = (live_bytes(), live_blocks());
    for _ in 0..grants {
        black_box(a.code_flow());
    }
    let (a_after, a_after_b) = (live_bytes(), live_blocks());
    // Only the (used) codes have expired 61 s from now: one per grant.
    let swept = a.sweep_expired(std::time::SystemTime::now() + std::time::Duration::from_secs(61));
    assert_eq!(swept, (grants + 100) as u64);
    let (a_swept, a_swept_b) = (live_bytes(), live_blocks());
    drop(a);

    let per = |delta: isize| delta as f64 / grants as f64;
    Memory {
        grants,
        oauth21: per(after - before),
        oauth21_purged: per(purged - before),
        oxide: per(x_after - x_before),
        oauth_as: per(a_after - a_before),
        oauth_as_swept: per(a_swept - a_before),
        oauth21_blocks: per(after_b - before_b),
        oauth21_purged_blocks: per(purged_b - before_b),
        oxide_blocks: per(x_after_b - x_before_b),
        oauth_as_blocks: per(a_after_b - a_before_b),
        oauth_as_swept_blocks: per(a_swept_b - a_before_b),
    }
}

/// Allocation calls per operation for each implementation: `[oauth21, oxide-auth (SHA-256
/// secrets for client_credentials), oauth-as, floor]`, in the order of [`crate::measure::IDS`].
#[derive(Debug, Clone)]
pub struct Allocations {
    pub ops: usize,
    pub rows: Vec<(&'static str, [f64; 4])>,
}

/// Allocation calls per run of `run` over `inputs` (made before counting starts).
fn per_op<I>(inputs: Vec<I>, mut run: impl FnMut(I)) -> f64 {
    let n = inputs.len();
    let before = allocation_calls();
    for input in inputs {
        run(input);
    }
    (allocation_calls() - before) as f64 / n as f64
}

/// Counts `ops` runs of each operation (after 100 runs of warm-up), on this thread.
pub fn allocations(ops: usize) -> Allocations {
    let o = Oauth21::new();
    let mut x = OxideAuth::new(SecretPolicy::Sha256);
    let a = OauthAs::new();
    let floor = Floor::new();
    let units = |n: usize| vec![(); n];
    for _ in 0..100 {
        black_box((o.code_flow(), x.code_flow(), a.code_flow(), floor.code_flow()));
    }
    let mut rows = Vec::new();

    rows.push((
        "code_flow",
        [
            per_op(units(ops), |()| {
                black_box(o.code_flow());
            }),
            per_op(units(ops), |()| {
                black_box(x.code_flow());
            }),
            per_op(units(ops), |()| {
                black_box(a.code_flow());
            }),
            per_op(units(ops), |()| {
                black_box(floor.code_flow());
            }),
        ],
    ));

    let o_bodies: Vec<String> = (0..ops).map(|_| Oauth21::refresh_body(&o.grant().1)).collect();
    let x_bodies: Vec<String> = (0..ops).map(|_| OxideAuth::refresh_body(&x.grant().1)).collect();
    let a_bodies: Vec<String> = (0..ops).map(|_| OauthAs::refresh_body(&a.grant().1)).collect();
    let presented = o.grant().1;
    rows.push((
        "refresh",
        [
            per_op(o_bodies, |b| {
                black_box(o.refresh(&b));
            }),
            per_op(x_bodies, |b| {
                black_box(x.refresh(&b));
            }),
            per_op(a_bodies, |b| {
                black_box(a.refresh(&b));
            }),
            per_op(units(ops), |()| {
                black_box(floor.refresh(&presented));
            }),
        ],
    ));

    rows.push((
        "client_credentials",
        [
            per_op(units(ops), |()| {
                black_box(o.client_credentials());
            }),
            per_op(units(ops), |()| {
                black_box(x.client_credentials());
            }),
            per_op(units(ops), |()| {
                black_box(a.client_credentials());
            }),
            per_op(units(ops), |()| {
                black_box(floor.client_credentials());
            }),
        ],
    ));

    let o_access = o.grant().0;
    let o_body = Oauth21::introspect_body(&o_access);
    let x_header = format!("Bearer {}", x.grant().0);
    let a_body = OauthAs::introspect_body(&a.grant_for_resource_server().0);
    rows.push((
        "introspection",
        [
            per_op(units(ops), |()| {
                black_box(o.introspect(&o_body));
            }),
            per_op(units(ops), |()| {
                black_box(x.resource(&x_header));
            }),
            per_op(units(ops), |()| {
                black_box(a.introspect(&a_body));
            }),
            per_op(units(ops), |()| {
                black_box(floor.introspect(&o_access));
            }),
        ],
    ));

    let o_header = format!("Bearer {o_access}");
    let a_header = format!("Bearer {}", a.grant().0);
    rows.push((
        "bearer_check",
        [
            per_op(units(ops), |()| {
                black_box(o.bearer(&o_header));
            }),
            per_op(units(ops), |()| {
                black_box(x.resource(&x_header));
            }),
            per_op(units(ops), |()| {
                black_box(a.bearer(&a_header));
            }),
            per_op(units(ops), |()| {
                black_box(floor.bearer(&o_access));
            }),
        ],
    ));
    Allocations { ops, rows }
}

/// One throughput phase: `threads` threads run `op` for `time`, either all on one shared server
/// or each on its own.
#[derive(Debug, Clone, Copy)]
pub struct Phase {
    pub ops_per_sec: f64,
    /// Other work on the machine meanwhile, in cores (the fuzz campaign).
    pub other_load: f64,
}

/// What a throughput phase runs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Work {
    /// Whole code flows: every thread writes to the store (a code, a grant).
    CodeFlow,
    /// Bearer checks, each thread of its own token: the store is only read.
    BearerCheck,
}

pub fn phase(work: Work, threads: usize, shared: bool, time: Duration) -> Phase {
    let servers: Vec<Arc<Oauth21>> = if shared {
        let one = Arc::new(Oauth21::new());
        (0..threads).map(|_| one.clone()).collect()
    } else {
        (0..threads).map(|_| Arc::new(Oauth21::new())).collect()
    };
    let stop = AtomicBool::new(false);
    let barrier = std::sync::Barrier::new(threads + 1);
    let (ops, elapsed, load) = std::thread::scope(|s| {
        let handles: Vec<_> = servers
            .iter()
            .map(|server| {
                let (stop, barrier) = (&stop, &barrier);
                s.spawn(move || {
                    let header = format!("Bearer {}", server.grant().0);
                    barrier.wait();
                    let mut n = 0u64;
                    while !stop.load(Ordering::Relaxed) {
                        for _ in 0..32 {
                            match work {
                                Work::CodeFlow => drop(black_box(server.code_flow())),
                                Work::BearerCheck => drop(black_box(server.bearer(&header))),
                            }
                        }
                        n += 32;
                    }
                    n
                })
            })
            .collect();
        barrier.wait();
        let start = Instant::now();
        let sample = Sample::now();
        std::thread::sleep(time);
        stop.store(true, Ordering::Relaxed);
        let ops: u64 = handles.into_iter().map(|h| h.join().expect("worker")).sum();
        (ops, start.elapsed(), sample.cores_since().0)
    });
    // The servers (and their stores) are dropped here, outside the timed part.
    drop(servers);
    Phase { ops_per_sec: ops as f64 / elapsed.as_secs_f64(), other_load: load }
}

/// Throughput of `work` from 1 thread, 2 threads sharing one `Arc<Server>`, and, as a control,
/// 2 threads on 2 independent servers (no shared lock or cache line: what the machine itself
/// allows).
#[derive(Debug, Clone)]
pub struct Throughput {
    pub one: Vec<Phase>,
    pub two_shared: Vec<Phase>,
    pub two_separate: Vec<Phase>,
}

pub fn throughput(work: Work, rounds: usize, time: Duration) -> Throughput {
    let mut t = Throughput { one: vec![], two_shared: vec![], two_separate: vec![] };
    for _ in 0..rounds {
        t.one.push(phase(work, 1, true, time));
        t.two_shared.push(phase(work, 2, true, time));
        t.two_separate.push(phase(work, 2, false, time));
    }
    t
}

#[cfg(test)]
mod tests {
    use super::*;

    #[global_allocator]
    static ALLOC: CountingAlloc = CountingAlloc;

    /// Both measurements run (their assertions hold) and count something for every library.
    #[test]
    fn memory_and_allocations_count() {
        let m = memory(500);
        assert!(m.oauth21 > 0.0 && m.oxide > 0.0 && m.oauth_as > 0.0, "{m:?}");
        assert!(m.oauth_as_swept < m.oauth_as, "{m:?}");
        let a = allocations(50);
        assert_eq!(a.rows.iter().map(|r| r.0).collect::<Vec<_>>(), crate::measure::IDS);
        // Every op but the bearer check allocates (oauth21's and oauth-as's lookups may not).
        for (op, [o, x, s, _]) in a.rows.iter().filter(|r| r.0 != "bearer_check") {
            assert!(*o > 0.0 && *x > 0.0 && *s > 0.0, "{op}: {o} {x} {s}");
        }
    }
}
