//! A throwaway PostgreSQL cluster for tests (feature `testing`).
//!
//! [`PostgresServer::start`] runs `initdb` (from `PATH`, or the newest
//! `/usr/lib/postgresql/*/bin`) in a temporary directory and `postgres` on a free loopback port,
//! with trust authentication on loopback only, and stops it (removing the directory) when
//! dropped. PostgreSQL refuses to run as root, so under root both run as the unprivileged
//! `nobody`, through `runuser`. Tests skip (with a message saying why) when no PostgreSQL is
//! installed, except under CI (`CI` set), where a missing server is a failure.

use std::io;
use std::net::{Ipv4Addr, TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// How long a started cluster has to accept connections.
const STARTUP: Duration = Duration::from_secs(30);

/// The OS user the cluster runs as when the tests run as root.
const UNPRIVILEGED: &str = "nobody";

/// A PostgreSQL server process on 127.0.0.1, stopped on drop.
#[derive(Debug)]
pub struct PostgresServer {
    port: u16,
    dir: PathBuf,
    bin: PathBuf,
    user: String,
    child: Option<Child>,
}

fn bin_dir() -> Option<PathBuf> {
    if let Some(path) = std::env::var_os("PATH") {
        for dir in std::env::split_paths(&path) {
            if dir.join("initdb").is_file() && dir.join("postgres").is_file() {
                return Some(std::fs::canonicalize(dir.join("initdb")).ok()?.parent()?.to_path_buf());
            }
        }
    }
    let mut versions: Vec<PathBuf> = std::fs::read_dir("/usr/lib/postgresql")
        .ok()?
        .flatten()
        .map(|entry| entry.path().join("bin"))
        .filter(|bin| bin.join("initdb").is_file())
        .collect();
    versions.sort();
    versions.pop()
}

fn running_as_root() -> bool {
    Command::new("id").arg("-u").output().is_ok_and(|out| out.stdout.trim_ascii() == b"0")
}

fn free_port() -> io::Result<u16> {
    Ok(TcpListener::bind((Ipv4Addr::LOCALHOST, 0))?.local_addr()?.port())
}

impl PostgresServer {
    /// Whether PostgreSQL's binaries are installed.
    pub fn installed() -> bool {
        bin_dir().is_some()
    }

    /// Creates a cluster and starts it; `Ok(None)` when PostgreSQL is not installed.
    pub fn start() -> io::Result<Option<Self>> {
        let Some(bin) = bin_dir() else { return Ok(None) };
        let root = running_as_root();
        let user =
            if root { UNPRIVILEGED.to_owned() } else { std::env::var("USER").unwrap_or_else(|_| "postgres".into()) };
        let dir = std::env::temp_dir().join(format!("oauth21-pg-{}-{}", std::process::id(), free_port()?));
        std::fs::create_dir_all(&dir)?;
        if root {
            // The cluster's files belong to the user it runs as.
            let status = Command::new("chown").arg(UNPRIVILEGED).arg(&dir).status()?;
            if !status.success() {
                return Err(io::Error::other("chown of the cluster directory failed"));
            }
        }
        let mut server = Self { port: 0, dir, bin, user, child: None };
        let data = server.dir.join("data");
        let initdb = server
            .command("initdb")
            .arg("-D")
            .arg(&data)
            .args(["--auth=trust", "--encoding=UTF8", "--no-sync", "-U"])
            .arg(&server.user)
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .output()?;
        if !initdb.status.success() {
            return Err(io::Error::other(format!("initdb failed: {}", String::from_utf8_lossy(&initdb.stderr))));
        }
        let mut last = io::Error::other("no attempt made");
        // The port is free when picked but another process may take it first.
        for _ in 0..5 {
            server.port = free_port()?;
            match server.restart() {
                Ok(()) => return Ok(Some(server)),
                Err(e) => last = e,
            }
        }
        Err(last)
    }

    /// [`PostgresServer::start`] for a test: prints why the test is skipped and returns `None`
    /// when PostgreSQL is not installed; panics when it is missing under CI (`CI` set) or fails
    /// to start.
    pub fn start_or_skip(test: &str) -> Option<Self> {
        match Self::start() {
            Ok(Some(server)) => Some(server),
            Ok(None) if std::env::var_os("CI").is_some() => {
                panic!("{test}: PostgreSQL (initdb, postgres) is not installed, and CI requires it")
            }
            Ok(None) => {
                eprintln!("{test}: skipped: PostgreSQL (initdb, postgres) is not installed");
                None
            }
            Err(e) => panic!("{test}: PostgreSQL did not start: {e}"),
        }
    }

    fn command(&self, program: &str) -> Command {
        let path = self.bin.join(program);
        if running_as_root() {
            let mut command = Command::new("runuser");
            command.args(["-u", UNPRIVILEGED, "--"]).arg(path);
            command
        } else {
            Command::new(path)
        }
    }

    /// `postgres://USER@127.0.0.1:PORT/postgres`.
    pub fn url(&self) -> String {
        format!("postgres://{}@127.0.0.1:{}/postgres", self.user, self.port)
    }

    /// The port it listens on.
    pub fn port(&self) -> u16 {
        self.port
    }

    /// Stops the server (fast shutdown: connections are cut), keeping its data.
    pub fn stop(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = self
                .command("pg_ctl")
                .arg("-D")
                .arg(self.dir.join("data"))
                .args(["stop", "-m", "fast", "-w"])
                .stdout(Stdio::null())
                .stderr(Stdio::null())
                .status();
            let _ = child.kill();
            let _ = child.wait();
        }
    }

    /// Starts (again) on the same port and data, and waits until it accepts connections.
    pub fn restart(&mut self) -> io::Result<()> {
        self.stop();
        let log = std::fs::File::create(self.dir.join("postgres.log"))?;
        let child = self
            .command("postgres")
            .arg("-D")
            .arg(self.dir.join("data"))
            .args(["-h", "127.0.0.1", "-p"])
            .arg(self.port.to_string())
            .arg("-k")
            .arg(&self.dir)
            .args(["-c", "fsync=off", "-c", "max_connections=200"])
            .stdout(Stdio::null())
            .stderr(log)
            .spawn()?;
        self.child = Some(child);
        let deadline = Instant::now() + STARTUP;
        while Instant::now() < deadline {
            if accepts(self.port, &self.dir) {
                return Ok(());
            }
            if let Some(Ok(Some(status))) = self.child.as_mut().map(Child::try_wait) {
                self.child = None;
                let log = std::fs::read_to_string(self.dir.join("postgres.log")).unwrap_or_default();
                return Err(io::Error::other(format!("postgres exited ({status}): {log}")));
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        Err(io::Error::other("postgres did not accept connections in time"))
    }
}

/// Whether the server is past start-up: its port answers and it wrote its pid file's ready line.
fn accepts(port: u16, dir: &Path) -> bool {
    let ready = std::fs::read_to_string(dir.join("data").join("postmaster.pid"))
        .is_ok_and(|pid| pid.lines().any(|line| line.trim() == "ready"));
    ready && TcpStream::connect((Ipv4Addr::LOCALHOST, port)).is_ok()
}

impl Drop for PostgresServer {
    fn drop(&mut self) {
        self.stop();
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}
