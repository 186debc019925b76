//! oauth21 vs oxide-auth vs oauth-as vs the floor, one criterion group per operation; then, in the
//! same process, an interleaved re-timing of every operation for the summary table, the memory
//! held per grant, heap allocations per operation, code-flow and bearer-check throughput from 1
//! and 2 threads, and the targets of issue 19.
//!
//! `cd benches/compare && cargo bench` runs everything. Environment knobs:
//! - `COMPARE_CRITERION=0`: skip the criterion groups (summary, memory and throughput only).
//! - `COMPARE_SUMMARY=0`: criterion groups only.
//! - `COMPARE_FOOTPRINT=N`: print the memory per grant over N code flows and the allocations per
//!   operation over N runs of each, then exit (a few seconds).
//! - `COMPARE_PROFILE=op:variant:iters` (e.g. `code_flow:oauth21:20000`): run just that many
//!   operations of one variant and exit, for callgrind or perf. `COMPARE_PROFILE=stages:oauth21:N`
//!   prints where N oauth21 code flows and refreshes spend their time (stages, store calls,
//!   primitives); `COMPARE_PROFILE=tail:all:N` the latency quantiles of N code flows into a
//!   store that starts empty, for each implementation; `COMPARE_PROFILE=shared:oauth21:S` code
//!   flows from one thread, two threads on one server and two on two servers, S seconds each
//!   (`shared:bearer:S` the same for bearer checks).

use std::time::{Duration, Instant};

use criterion::{Criterion, SamplingMode};
use oauth21_compare::footprint::{self, CountingAlloc, Phase};
use oauth21_compare::measure::{self, FLOOR, OAUTH_AS, OAUTH21, OXIDE, OXIDE_SHA, Op};
use oauth21_compare::sysload::{self, Sample};

#[global_allocator]
static ALLOC: CountingAlloc = CountingAlloc;

fn env_off(name: &str) -> bool {
    std::env::var(name).is_ok_and(|v| v == "0")
}

fn main() {
    let args: Vec<String> = std::env::args().collect();
    if args.iter().any(|a| a == "--list") {
        return;
    }
    if let Ok(spec) = std::env::var("COMPARE_PROFILE") {
        profile(&spec);
        return;
    }
    if let Ok(n) = std::env::var("COMPARE_FOOTPRINT") {
        let n = n.parse().expect("COMPARE_FOOTPRINT=N");
        print_memory(&footprint::memory(n));
        print_allocations(&footprint::allocations(n));
        return;
    }
    let test_mode = args.iter().any(|a| a == "--test");
    let run_start = Sample::now();
    let wall = Instant::now();
    let mut ops = measure::ops();

    if !env_off("COMPARE_CRITERION") {
        let mut criterion = Criterion::default()
            .sample_size(10)
            .warm_up_time(Duration::from_secs(1))
            .measurement_time(Duration::from_secs(3))
            .configure_from_args();
        for op in &mut ops {
            let mut group = criterion.benchmark_group(op.id);
            if op.id == "client_credentials" {
                // oxide-auth's default Argon2 check takes tens of milliseconds per request.
                group.sampling_mode(SamplingMode::Flat);
            }
            for variant in &mut op.variants {
                group.bench_function(variant.name, |b| b.iter_custom(|iters| (variant.batch)(iters)));
            }
            group.finish();
        }
        criterion.final_summary();
    }
    if test_mode || env_off("COMPARE_SUMMARY") {
        return;
    }
    summary(&mut ops, run_start, wall);
}

fn profile(spec: &str) {
    let mut parts = spec.split(':');
    let (Some(op), Some(variant), Some(iters)) = (parts.next(), parts.next(), parts.next()) else {
        panic!("COMPARE_PROFILE=op:variant:iters");
    };
    let iters: u64 = iters.parse().expect("iters");
    if op == "stages" {
        oauth21_compare::stages::run(iters);
        return;
    }
    if op == "shared" {
        // One thread, then two on one server, then two on two servers, `iters` seconds each;
        // code flows, or with the variant `bearer`, bearer checks.
        let time = Duration::from_secs(iters);
        let (work, name) = match variant {
            "bearer" => (footprint::Work::BearerCheck, "bearer checks"),
            _ => (footprint::Work::CodeFlow, "code flows"),
        };
        let [one, shared, separate] = [(1, true), (2, true), (2, false)]
            .map(|(threads, shared)| footprint::phase(work, threads, shared, time).ops_per_sec);
        println!(
            "{name}/s: 1 thread {one:.0}, 2 threads on one server {shared:.0} ({:.2}x), \
             2 on two servers {separate:.0} ({:.2}x)",
            shared / one,
            separate / one
        );
        return;
    }
    if op == "tail" {
        oauth21_compare::tail::run(iters);
        return;
    }
    let mut op = measure::op(op);
    let v = op.variants.iter_mut().find(|v| v.name == variant).expect("no such variant");
    let t = (v.batch)(iters);
    println!("{} {}: {} ops in {:?} ({})", op.id, v.name, iters, t, fmt_ns(t.as_nanos() as f64 / iters as f64));
}

fn fmt_ns(ns: f64) -> String {
    if ns >= 1e6 {
        format!("{:.1} ms", ns / 1e6)
    } else if ns >= 1e3 {
        format!("{:.2} µs", ns / 1e3)
    } else {
        format!("{ns:.0} ns")
    }
}

fn verdict(ok: bool) -> &'static str {
    if ok { "met" } else { "MISSED" }
}

struct Row {
    op: &'static str,
    oauth21: f64,
    oxide: Option<(&'static str, f64)>,
    oauth_as: Option<f64>,
    floor: f64,
}

fn print_memory(memory: &footprint::Memory) {
    println!("\nmemory per live grant (code flow with refresh token, {} grants):", memory.grants);
    println!(
        "  oauth21 MemoryStore: {:.0} B in {:.1} heap blocks (used code kept until expiry); {:.0} B in {:.1} blocks after purge_expired drops the codes",
        memory.oauth21, memory.oauth21_blocks, memory.oauth21_purged, memory.oauth21_purged_blocks
    );
    println!("  oxide-auth AuthMap+TokenMap: {:.0} B in {:.1} heap blocks", memory.oxide, memory.oxide_blocks);
    println!(
        "  oauth-as MemoryStorage: {:.0} B in {:.1} heap blocks (used code kept until expiry); {:.0} B in {:.1} blocks after sweep_expired drops the codes",
        memory.oauth_as, memory.oauth_as_blocks, memory.oauth_as_swept, memory.oauth_as_swept_blocks
    );
    println!("  (requested bytes, map spare capacity included; malloc adds ~8-16 B per block on top)");
}

fn print_allocations(allocs: &footprint::Allocations) {
    println!("\nheap allocations per operation (alloc + realloc calls, mean over {} runs each):", allocs.ops);
    println!("| op | oauth21 | oxide-auth | oauth-as | floor |\n|---|---:|---:|---:|---:|");
    for (op, [o, x, a, f]) in &allocs.rows {
        println!("| {op} | {o:.1} | {x:.1} | {a:.1} | {f:.1} |");
    }
    println!(
        "(oxide-auth: SHA-256 secrets for client_credentials, its resource flow for introspection and bearer check;"
    );
    println!(" oauth-as: its AuthorizationServer::introspect lookup for the bearer check)");
}

fn summary(ops: &mut [Op], run_start: Sample, wall: Instant) {
    println!("\n=== summary (interleaved re-timing: 11 rounds of ~20 ms batches per variant, median) ===");
    let mut rows = Vec::new();
    for op in ops.iter_mut() {
        let load = Sample::now();
        let times = measure::interleaved(op, 11, Duration::from_millis(20));
        let (other, _) = load.cores_since();
        let get = |name| op.variants.iter().position(|v| v.name == name).map(|i| times[i]);
        let oauth21 = get(OAUTH21).expect("oauth21");
        let floor = get(FLOOR).expect("floor");
        let oauth_as = get(OAUTH_AS);
        rows.push(Row { op: op.id, oauth21, oxide: get(OXIDE).map(|t| (OXIDE, t)), oauth_as, floor });
        if let Some(t) = get(OXIDE_SHA) {
            rows.push(Row { op: op.id, oauth21, oxide: Some((OXIDE_SHA, t)), oauth_as, floor });
        }
        eprintln!("  {} timed (other load meanwhile {other:.2} cores)", op.id);
    }

    let memory = footprint::memory(50_000);
    let allocs = footprint::allocations(10_000);
    let throughput = [footprint::Work::CodeFlow, footprint::Work::BearerCheck]
        .map(|work| footprint::throughput(work, 3, Duration::from_secs(1)));
    let (run_other, run_own) = run_start.cores_since();

    println!();
    println!(
        "| op | oauth21 | oxide-auth | oxide-auth / oauth21 | oauth-as | oauth-as / oauth21 | floor | oauth21 / floor |\n\
         |---|---:|---:|---:|---:|---:|---:|---:|"
    );
    for r in &rows {
        let (oxide, ratio) = match r.oxide {
            Some((name, t)) => {
                let label =
                    if name == OXIDE_SHA { format!("{} ({})", fmt_ns(t), "SHA-256 secrets") } else { fmt_ns(t) };
                (label, format!("{:.1}x", t / r.oauth21))
            }
            None => ("-".into(), "-".into()),
        };
        let (oauth_as, as_ratio) = match r.oauth_as {
            Some(t) => (fmt_ns(t), format!("{:.1}x", t / r.oauth21)),
            None => ("-".into(), "-".into()),
        };
        println!(
            "| {} | {} | {} | {} | {} | {} | {} | {:.2}x |",
            r.op,
            fmt_ns(r.oauth21),
            oxide,
            ratio,
            oauth_as,
            as_ratio,
            fmt_ns(r.floor),
            r.oauth21 / r.floor
        );
    }
    println!(
        "(oxide-auth has no introspection endpoint: its resource flow stands in for introspection and bearer check;"
    );
    println!(
        " its client_credentials row is with its default Argon2 secrets, then with a SHA-256 PasswordPolicy like oauth21's;"
    );
    println!(
        " oauth-as: its http service, SHA-256 secret hashes by default, RFC 7662 for a resource server the token names,"
    );
    println!(" and AuthorizationServer::introspect (store lookup and expiry) plus a scope check as the bearer check.)");

    print_memory(&memory);
    print_allocations(&allocs);

    let med = |v: &[Phase]| measure::median(v.iter().map(|p| p.ops_per_sec).collect());
    let load = |v: &[Phase]| measure::median(v.iter().map(|p| p.other_load).collect());
    for (name, t) in ["code-flow", "bearer-check"].into_iter().zip(&throughput) {
        let (one, shared, separate) = (med(&t.one), med(&t.two_shared), med(&t.two_separate));
        println!("\n{name} throughput (3 rounds of 1 s, median; other load on the machine in cores):");
        println!("  1 thread:                    {:>9.0} ops/s  (other load {:.2})", one, load(&t.one));
        println!(
            "  2 threads, one Arc<Server>:  {:>9.0} ops/s  (other load {:.2})  {:.2}x",
            shared,
            load(&t.two_shared),
            shared / one
        );
        println!(
            "  2 threads, two servers:      {:>9.0} ops/s  (other load {:.2})  {:.2}x  (control: no shared state)",
            separate,
            load(&t.two_separate),
            separate / one
        );
    }

    // Issue 19's targets.
    println!("\ntargets:");
    for op in ["code_flow", "refresh", "client_credentials", "introspection"] {
        let of_op: Vec<&Row> = rows.iter().filter(|r| r.op == op).collect();
        let Some(ours) = of_op.first().map(|r| r.oauth21) else { continue };
        // The fastest peer doing the same operation: oxide-auth has no introspection endpoint,
        // and its Argon2 row is no like-for-like client_credentials.
        let like_for_like = |name: &str| op != "introspection" && !(op == "client_credentials" && name == OXIDE);
        let oxide = of_op.iter().filter_map(|r| r.oxide).filter(|(name, _)| like_for_like(name)).map(|(_, t)| t);
        let fastest = oxide.chain(of_op.iter().filter_map(|r| r.oauth_as)).fold(f64::INFINITY, f64::min);
        println!(
            "  {op} >= 2x faster than the fastest peer: {:.2}x  {}",
            fastest / ours,
            verdict(fastest / ours >= 2.0)
        );
    }
    if let Some(r) = rows.iter().find(|r| r.op == "bearer_check") {
        let peer = r.oauth_as.unwrap_or(f64::INFINITY);
        println!(
            "  bearer_check at least as fast as oauth-as's lookup: {} vs {}  {}",
            fmt_ns(r.oauth21),
            fmt_ns(peer),
            verdict(r.oauth21 <= peer)
        );
    }
    println!(
        "  live heap per grant after the purge <= 700 B: {:.0} B  {}",
        memory.oauth21_purged,
        verdict(memory.oauth21_purged <= 700.0)
    );
    if let Some((_, counts)) = allocs.rows.iter().find(|(op, _)| *op == "code_flow") {
        println!("  allocations per code flow <= 30: {:.0}  {}", counts[0], verdict(counts[0] <= 30.0));
    }
    println!("  (refresh cost against earlier rotations: cargo bench --bench refresh_chain)");
    println!(
        "\nmachine: {} CPUs; whole run {:.0} s, this process {:.2} cores, other work {:.2} cores on average",
        sysload::cpus(),
        wall.elapsed().as_secs_f64(),
        run_own,
        run_other
    );
}
