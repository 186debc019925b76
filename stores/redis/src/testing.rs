//! A throwaway `redis-server` process for tests (feature `testing`).
//!
//! [`RedisServer::start`] runs the `redis-server` found on `PATH` on a free loopback port, in a
//! data directory of its own with automatic persistence off, and kills it (and removes the
//! directory) when dropped. A test that wants data to survive a restart sends `SAVE` first
//! ([`RedisServer::command`]); [`RedisServer::restart`] then loads it. Tests skip (with a message saying why) when no
//! `redis-server` is installed, except under CI (`CI` set), where a missing server is a failure.
//!
//! ```no_run
//! use oauth21_redis::testing::RedisServer;
//! let Some(redis) = RedisServer::start_or_skip("my_test") else { return };
//! println!("{}", redis.url());
//! ```

use std::io::{self, Read, Write};
use std::net::{Ipv4Addr, SocketAddr, TcpListener, TcpStream};
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// How long a started server has to answer PING.
const STARTUP: Duration = Duration::from_secs(10);

/// A `redis-server` child process on 127.0.0.1, killed on drop.
#[derive(Debug)]
pub struct RedisServer {
    port: u16,
    dir: PathBuf,
    child: Option<Child>,
}

impl RedisServer {
    /// Whether a `redis-server` binary is on `PATH`.
    pub fn installed() -> bool {
        binary().is_some()
    }

    /// Starts a server on a free port; `Ok(None)` when no `redis-server` is installed.
    pub fn start() -> io::Result<Option<Self>> {
        if binary().is_none() {
            return Ok(None);
        }
        let mut last = io::Error::other("no attempt made");
        // The port is free when picked but another process may take it before redis binds it.
        for _ in 0..5 {
            let port = free_port()?;
            let dir = std::env::temp_dir().join(format!("oauth21-redis-{}-{port}", std::process::id()));
            std::fs::create_dir_all(&dir)?;
            let mut server = Self { port, dir, child: None };
            match server.restart() {
                Ok(()) => return Ok(Some(server)),
                Err(e) => last = e,
            }
        }
        Err(last)
    }

    /// [`RedisServer::start`] for a test: prints why the test is skipped and returns `None`
    /// when no `redis-server` is installed; panics when it is missing under CI (`CI` set) or
    /// fails to start.
    pub fn start_or_skip(test: &str) -> Option<Self> {
        match Self::start() {
            Ok(Some(server)) => Some(server),
            Ok(None) if std::env::var_os("CI").is_some() => {
                panic!("{test}: no redis-server on PATH, and CI must run the Redis tests (install redis-server)")
            }
            Ok(None) => {
                // Straight to stderr: the test harness captures `eprintln!` of passing tests,
                // and a skip must be seen.
                let _ = writeln!(
                    io::stderr(),
                    "{test}: SKIPPED: no redis-server on PATH (install the redis-server package to run it)"
                );
                None
            }
            Err(e) => panic!("{test}: redis-server did not start: {e}"),
        }
    }

    /// The loopback port.
    pub fn port(&self) -> u16 {
        self.port
    }

    /// `redis://127.0.0.1:{port}`.
    pub fn url(&self) -> String {
        format!("redis://127.0.0.1:{}", self.port)
    }

    /// Whether the process is running.
    pub fn is_running(&mut self) -> bool {
        self.child.as_mut().is_some_and(|c| matches!(c.try_wait(), Ok(None)))
    }

    /// Kills the server (as a crash would: SIGKILL, nothing saved) and waits for it to exit.
    pub fn stop(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }

    /// Starts the server again on the same port and waits until it answers PING. It starts
    /// empty, or with what the last `SAVE` wrote.
    pub fn restart(&mut self) -> io::Result<()> {
        self.stop();
        let binary = binary().ok_or_else(|| io::Error::new(io::ErrorKind::NotFound, "no redis-server on PATH"))?;
        let child = Command::new(binary)
            .args(["--port", &self.port.to_string(), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no"])
            .args(["--dir", &self.dir.to_string_lossy(), "--dbfilename", "dump.rdb", "--loglevel", "warning"])
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()?;
        self.child = Some(child);
        let deadline = Instant::now() + STARTUP;
        loop {
            if let Ok(reply) = self.command(&["PING"]) {
                if reply == "+PONG" {
                    return Ok(());
                }
            }
            if !self.is_running() {
                self.stop();
                return Err(io::Error::other(format!("redis-server on port {} exited at startup", self.port)));
            }
            if Instant::now() > deadline {
                self.stop();
                return Err(io::Error::new(io::ErrorKind::TimedOut, "redis-server did not answer PING"));
            }
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    /// Sends one command over a fresh connection and returns the first line of the reply
    /// (e.g. `+OK`, `:3`, `-ERR ...`). For test set-up, such as `CLIENT PAUSE` or `DBSIZE`.
    pub fn command(&self, args: &[&str]) -> io::Result<String> {
        let mut stream = TcpStream::connect_timeout(&SocketAddr::from((Ipv4Addr::LOCALHOST, self.port)), STARTUP)?;
        stream.set_read_timeout(Some(Duration::from_secs(5)))?;
        let mut request = format!("*{}\r\n", args.len());
        for arg in args {
            request.push_str(&format!("${}\r\n{arg}\r\n", arg.len()));
        }
        stream.write_all(request.as_bytes())?;
        let mut reply = Vec::new();
        let mut byte = [0u8; 1];
        while !reply.ends_with(b"\r\n") {
            if stream.read(&mut byte)? == 0 {
                return Err(io::Error::new(io::ErrorKind::UnexpectedEof, "connection closed"));
            }
            reply.push(byte[0]);
        }
        reply.truncate(reply.len() - 2);
        Ok(String::from_utf8_lossy(&reply).into_owned())
    }
}

impl Drop for RedisServer {
    fn drop(&mut self) {
        self.stop();
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

fn binary() -> Option<PathBuf> {
    let path = std::env::var_os("PATH")?;
    std::env::split_paths(&path).map(|dir| dir.join("redis-server")).find(|candidate| candidate.is_file())
}

fn free_port() -> io::Result<u16> {
    Ok(TcpListener::bind((Ipv4Addr::LOCALHOST, 0))?.local_addr()?.port())
}
