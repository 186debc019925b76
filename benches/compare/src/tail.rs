//! `COMPARE_PROFILE=tail:all:N`: the latency of each of N code flows into one store that starts
//! empty, for each implementation: the median and the slowest ones. A store whose table
//! doubles in one piece makes one request wait for the whole copy; the mean hides it, the
//! maximum does not.

use std::hint::black_box;
use std::time::Instant;

use crate::oauth::Oauth21;
use crate::oauth_as::OauthAs;
use crate::oxide::{OxideAuth, SecretPolicy};

/// The latencies of `n` runs of `op`, in nanoseconds, sorted.
fn latencies(n: u64, mut op: impl FnMut()) -> Vec<u64> {
    let mut times: Vec<u64> = Vec::with_capacity(n as usize);
    for _ in 0..n {
        let start = Instant::now();
        op();
        times.push(start.elapsed().as_nanos() as u64);
    }
    times.sort_unstable();
    times
}

fn report(name: &str, times: &[u64]) {
    let at = |q: f64| times[((times.len() - 1) as f64 * q) as usize];
    let ms_over = times.iter().filter(|&&t| t >= 1_000_000).count();
    println!(
        "| {name} | {} | {} | {} | {} | {:.2} ms | {ms_over} |",
        at(0.5),
        at(0.99),
        at(0.999),
        at(0.9999),
        times.last().copied().unwrap_or(0) as f64 / 1e6,
    );
}

/// Runs `n` code flows per implementation and prints a table of latency quantiles (ns).
pub fn run(n: u64) {
    println!("code-flow latency, {n} flows into a store that starts empty (ns):");
    println!("| implementation | p50 | p99 | p99.9 | p99.99 | max | flows of 1 ms or more |");
    println!("|---|---:|---:|---:|---:|---:|---:|");
    let oauth21 = Oauth21::new();
    report("oauth21", &latencies(n, || drop(black_box(oauth21.code_flow()))));
    drop(oauth21);
    let mut oxide = OxideAuth::new(SecretPolicy::Sha256);
    report("oxide-auth", &latencies(n, || drop(black_box(oxide.code_flow()))));
    drop(oxide);
    let oauth_as = OauthAs::new();
    report("oauth-as", &latencies(n, || drop(black_box(oauth_as.code_flow()))));
}
