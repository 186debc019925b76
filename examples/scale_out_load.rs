//! Token requests per second against 1 and 2 example server processes sharing one redis-server,
//! then one PostgreSQL (and, for reference, one process over the in-memory store).
//!
//! ```text
//! cargo build --release --example server
//! cargo run --release --example scale_out_load -- \
//!     --server target/release/examples/server --seconds 10 --connections 32
//! ```
//!
//! It starts its own redis-server and PostgreSQL cluster on free loopback ports and the server
//! processes with `--addr 127.0.0.1:0 --store redis://...` (then `postgres://...`), then sends
//! `client_credentials` token requests (client `demo-service`, secret in the body) over
//! keep-alive HTTP/1.1 connections spread evenly over the instances, for a fixed time. Each
//! request is one client lookup and one grant insert: a `GET` and a Lua script in Redis; a
//! `SELECT` and a transaction (two advisory locks, the revocation check, three inserts) in
//! PostgreSQL. Traffic goes to 127.0.0.1 only. A row is skipped when its server is not installed.

use std::io::{BufRead, BufReader};
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant};

use oauth21_postgres::testing::PostgresServer;
use oauth21_redis::testing::RedisServer;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

const BODY: &str = "grant_type=client_credentials&client_id=demo-service&client_secret=demo-service-secret&scope=read";

struct Options {
    server: PathBuf,
    seconds: u64,
    connections: usize,
}

fn options() -> Result<Options, String> {
    let mut out = Options { server: PathBuf::from("target/release/examples/server"), seconds: 10, connections: 32 };
    let mut args = std::env::args().skip(1);
    while let Some(arg) = args.next() {
        let mut value = || args.next().ok_or(format!("{arg} needs a value"));
        match arg.as_str() {
            "--server" => out.server = value()?.into(),
            "--seconds" => out.seconds = value()?.parse().map_err(|e| format!("--seconds: {e}"))?,
            "--connections" => out.connections = value()?.parse().map_err(|e| format!("--connections: {e}"))?,
            other => return Err(format!("unknown argument {other:?} (--server PATH --seconds N --connections N)")),
        }
    }
    if !out.server.is_file() {
        return Err(format!("{} not found: cargo build --release --example server", out.server.display()));
    }
    Ok(out)
}

/// One example server process, killed on drop.
struct Instance {
    child: Child,
    addr: String,
}

impl Instance {
    fn start(binary: &PathBuf, store: &str) -> Self {
        let mut child = Command::new(binary)
            .args(["--addr", "127.0.0.1:0", "--store", store])
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .expect("the example server starts");
        let stdout = child.stdout.take().expect("piped stdout");
        let (sender, receiver) = mpsc::channel();
        std::thread::spawn(move || {
            for line in BufReader::new(stdout).lines().map_while(Result::ok) {
                if let Some(issuer) = line.strip_prefix("issuer: http://") {
                    let _ = sender.send(issuer.to_owned());
                }
            }
        });
        let addr = receiver.recv_timeout(Duration::from_secs(20)).expect("the server printed its issuer");
        Self { child, addr }
    }
}

impl Drop for Instance {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// One keep-alive connection sending token requests until `until`; returns the latencies of
/// the 200 answers (µs) and the number of other answers.
async fn connection(addr: String, until: Instant) -> std::io::Result<(Vec<u32>, u64)> {
    let mut stream = TcpStream::connect(&addr).await?;
    stream.set_nodelay(true)?;
    let request = format!(
        "POST /token HTTP/1.1\r\nHost: {addr}\r\nContent-Type: application/x-www-form-urlencoded\r\n\
         Content-Length: {}\r\n\r\n{BODY}",
        BODY.len()
    );
    let (mut latencies, mut failures) = (Vec::new(), 0);
    let mut buffer = Vec::with_capacity(4096);
    while Instant::now() < until {
        let sent = Instant::now();
        stream.write_all(request.as_bytes()).await?;
        let status = read_response(&mut stream, &mut buffer).await?;
        if status == 200 {
            latencies.push(u32::try_from(sent.elapsed().as_micros()).unwrap_or(u32::MAX));
        } else {
            failures += 1;
        }
    }
    Ok((latencies, failures))
}

/// Reads one HTTP/1.1 response with a Content-Length body; returns its status.
async fn read_response(stream: &mut TcpStream, buffer: &mut Vec<u8>) -> std::io::Result<u16> {
    buffer.clear();
    let mut chunk = [0u8; 4096];
    loop {
        if let Some(end) = buffer.windows(4).position(|w| w == b"\r\n\r\n") {
            let head = String::from_utf8_lossy(&buffer[..end]).to_ascii_lowercase();
            let status = head.get(9..12).and_then(|s| s.parse().ok()).unwrap_or(0);
            let length: usize = head
                .lines()
                .find_map(|l| l.strip_prefix("content-length:"))
                .and_then(|v| v.trim().parse().ok())
                .unwrap_or(0);
            while buffer.len() < end + 4 + length {
                let n = stream.read(&mut chunk).await?;
                if n == 0 {
                    return Err(std::io::ErrorKind::UnexpectedEof.into());
                }
                buffer.extend_from_slice(&chunk[..n]);
            }
            return Ok(status);
        }
        let n = stream.read(&mut chunk).await?;
        if n == 0 {
            return Err(std::io::ErrorKind::UnexpectedEof.into());
        }
        buffer.extend_from_slice(&chunk[..n]);
    }
}

/// Runs the load against `instances` and prints one result line.
async fn measure(label: &str, instances: &[Instance], options: &Options) {
    // A short warm-up, so connection set-up and first script loads are not measured.
    run(instances, options.connections, Duration::from_secs(1)).await;
    let elapsed = Duration::from_secs(options.seconds);
    let (mut latencies, failures) = run(instances, options.connections, elapsed).await;
    latencies.sort_unstable();
    let percentile = |p: usize| latencies.get(latencies.len().saturating_sub(1) * p / 100).copied().unwrap_or(0);
    #[allow(clippy::cast_precision_loss)] // a count of requests, far below 2^52
    let per_second = latencies.len() as f64 / elapsed.as_secs_f64();
    println!(
        "| {label} | {per_second:.0} | {:.1} | {:.1} | {failures} |",
        f64::from(percentile(50)) / 1000.0,
        f64::from(percentile(99)) / 1000.0
    );
}

async fn run(instances: &[Instance], connections: usize, length: Duration) -> (Vec<u32>, u64) {
    let until = Instant::now() + length;
    let tasks: Vec<_> = (0..connections)
        .map(|i| tokio::spawn(connection(instances[i % instances.len()].addr.clone(), until)))
        .collect();
    let (mut latencies, mut failures) = (Vec::new(), 0);
    for task in tasks {
        let (l, f) = task.await.expect("no panic").expect("the connection worked");
        latencies.extend(l);
        failures += f;
    }
    (latencies, failures)
}

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let options = options()?;
    let cores = std::thread::available_parallelism().map_or(0, |n| n.get());
    println!(
        "client_credentials token requests, {} keep-alive connections, {} s per row, {cores} cores shared by \
         the load generator, the servers and the store's server\n",
        options.connections, options.seconds
    );
    println!("| setup | requests/s | p50 ms | p99 ms | non-200 |");
    println!("|---|---|---|---|---|");
    {
        let memory = [Instance::start(&options.server, "memory")];
        measure("1 instance, in-memory store", &memory, &options).await;
    }
    if let Some(redis) = RedisServer::start()? {
        let one = [Instance::start(&options.server, &redis.url())];
        measure("1 instance, Redis", &one, &options).await;
        drop(one);
        let two = [Instance::start(&options.server, &redis.url()), Instance::start(&options.server, &redis.url())];
        measure("2 instances, one Redis", &two, &options).await;
        drop(two);
        redis_statistics(&redis)?;
    }
    if let Some(pg) = PostgresServer::start()? {
        let one = [Instance::start(&options.server, &pg.url())];
        measure("1 instance, PostgreSQL", &one, &options).await;
        drop(one);
        let two = [Instance::start(&options.server, &pg.url()), Instance::start(&options.server, &pg.url())];
        measure("2 instances, one PostgreSQL", &two, &options).await;
    }
    Ok(())
}

/// What redis-server itself spent per command over the runs (its single-core ceiling), and the
/// memory the tokens it holds take.
fn redis_statistics(redis: &RedisServer) -> Result<(), Box<dyn std::error::Error>> {
    let mut connection = redis::Client::open(redis.url())?.get_connection()?;
    let stats: String = redis::cmd("INFO").arg("commandstats").query(&mut connection)?;
    println!();
    for line in stats.lines().filter(|l| l.starts_with("cmdstat_evalsha:") || l.starts_with("cmdstat_get:")) {
        println!("{line}");
    }
    // Every token issued is still held (they live an hour): the memory one token costs.
    let memory: String = redis::cmd("INFO").arg("memory").query(&mut connection)?;
    let keys: u64 = redis::cmd("DBSIZE").query(&mut connection)?;
    let used = memory.lines().find_map(|l| l.strip_prefix("used_memory:")).unwrap_or("?");
    println!("keys: {keys}, used_memory: {used} bytes\n");
    Ok(())
}
