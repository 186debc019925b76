//! The example server's command line, as a deployment meets it: every start-up error is one
//! sentence on standard error naming the flag or file and the reason, with a non-zero exit
//! status and no Rust debug output; `--help` documents every flag with its environment variable.

mod common;

use std::process::{Command, Output, Stdio};

use common::example_binary;

fn run(args: &[&str], env: &[(&str, &str)]) -> Output {
    Command::new(example_binary())
        .args(args)
        .envs(env.iter().copied())
        .stdin(Stdio::null())
        .output()
        .expect("the example server runs")
}

/// Refused at start-up: a failure status, and exactly one `error: ...` line naming `needle`.
fn refused(args: &[&str], env: &[(&str, &str)], needle: &str) -> String {
    let output = run(args, env);
    assert!(!output.status.success(), "{args:?} started");
    let stderr = String::from_utf8(output.stderr).unwrap();
    let lines: Vec<&str> = stderr.lines().filter(|l| !l.trim().is_empty()).collect();
    assert!(lines[0].starts_with("error: "), "{stderr}");
    assert!(lines[0].contains(needle), "{needle} not named in {stderr}");
    assert!(!stderr.contains("Error {") && !stderr.contains("Os {") && !stderr.contains("(Socket)"), "{stderr}");
    stderr
}

#[test]
fn a_bad_address_is_named_with_the_reason() {
    refused(&["--addr", "not-an-address"], &[], "--addr");
    // Already taken: the second server cannot listen there.
    let taken = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = taken.local_addr().unwrap().to_string();
    let stderr = refused(&["--addr", &addr], &[], "cannot listen");
    assert!(stderr.contains(&addr), "{stderr}");
}

#[test]
fn an_unreadable_or_malformed_clients_file_is_named_with_the_reason() {
    let dir = std::env::temp_dir().join(format!("oauth21-cli-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let missing = dir.join("missing.json");
    refused(&["--addr", "127.0.0.1:0", "--clients", missing.to_str().unwrap()], &[], "cannot read it");
    let broken = dir.join("broken.json");
    std::fs::write(&broken, r#"[{"client_id": "x""#).unwrap();
    let stderr = refused(&["--addr", "127.0.0.1:0", "--clients", broken.to_str().unwrap()], &[], "not a JSON array");
    assert!(stderr.contains("broken.json"), "{stderr}");
    let invalid = dir.join("invalid.json");
    std::fs::write(
        &invalid,
        r#"[{"client_id": "svc", "type": "confidential", "secret": "", "grant_types": ["client_credentials"]}]"#,
    )
    .unwrap();
    let stderr = refused(&["--addr", "127.0.0.1:0", "--clients", invalid.to_str().unwrap()], &[], "svc");
    assert!(stderr.contains("empty"), "{stderr}");
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn an_unsupported_or_unusable_signing_key_is_named_with_the_reason() {
    let dir = std::env::temp_dir().join(format!("oauth21-cli-key-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let junk = dir.join("junk.pem");
    std::fs::write(&junk, "-----BEGIN PRIVATE KEY-----\nAAAA\n-----END PRIVATE KEY-----\n").unwrap();
    let path = junk.to_str().unwrap();
    refused(&["--addr", "127.0.0.1:0", "--access-tokens", "jwt", "--signing-key", path], &[], "--signing-key");
    refused(&["--addr", "127.0.0.1:0", "--signing-key", path], &[], "needs --access-tokens jwt");
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn a_pushed_request_lifetime_out_of_range_is_refused() {
    refused(&["--addr", "127.0.0.1:0", "--par-lifetime", "600"], &[], "--par-lifetime 600");
    refused(&["--addr", "127.0.0.1:0"], &[("OAUTH21_PAR_LIFETIME", "0")], "--par-lifetime 0");
}

#[test]
fn a_bad_issuer_is_refused_and_the_environment_sets_flags() {
    refused(&["--addr", "127.0.0.1:0", "--issuer", "http://auth.example"], &[], "--issuer");
    refused(&["--addr", "127.0.0.1:0"], &[("OAUTH21_ISSUER", "https://auth.example/")], "--issuer");
    refused(&[], &[("OAUTH21_ADDR", "nonsense")], "--addr");
}

#[test]
fn help_documents_every_flag_and_its_environment_variable() {
    let output = run(&["--help"], &[]);
    assert!(output.status.success());
    let help = String::from_utf8(output.stdout).unwrap();
    for (flag, env) in [
        ("--addr", "OAUTH21_ADDR"),
        ("--issuer", "OAUTH21_ISSUER"),
        ("--clients", "OAUTH21_CLIENTS"),
        ("--access-tokens", "OAUTH21_ACCESS_TOKENS"),
        ("--signing-key", "OAUTH21_SIGNING_KEY"),
        ("--store", "OAUTH21_STORE"),
        ("--log-format", "OAUTH21_LOG_FORMAT"),
        ("--dpop-nonces", "OAUTH21_DPOP_NONCES"),
        ("--fapi2", "OAUTH21_FAPI2"),
        ("--par-lifetime", "OAUTH21_PAR_LIFETIME"),
    ] {
        assert!(help.contains(flag) && help.contains(env), "{flag} / {env} missing from --help");
    }
}

/// SIGTERM (what a deployment's supervisor sends) stops the server cleanly, as Ctrl-C does.
#[cfg(unix)]
#[test]
fn sigterm_stops_the_server_cleanly() {
    use std::io::{BufRead, BufReader};
    let mut child = Command::new(example_binary())
        .args(["--addr", "127.0.0.1:0"])
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let mut lines = BufReader::new(child.stdout.take().unwrap()).lines().map_while(Result::ok);
    assert!(lines.by_ref().any(|l| l.starts_with("listening: ")), "the server started");
    let pid = child.id().to_string();
    assert!(Command::new("kill").args(["-TERM", &pid]).status().unwrap().success());
    let rest: Vec<String> = lines.collect();
    let status = child.wait().unwrap();
    assert!(status.success(), "{status:?}");
    assert!(rest.iter().any(|l| l.contains("shutting down")), "{rest:?}");
}

/// `--fapi2` refuses clients the profile forbids, naming them; with fitting clients it serves
/// the profile (metadata: pushed requests required, `private_key_jwt` only).
#[cfg(unix)]
#[test]
fn fapi2_checks_the_clients_and_serves_the_profile() {
    use std::io::{BufRead, BufReader, Read, Write};
    let stderr = refused(&["--addr", "127.0.0.1:0", "--fapi2"], &[], "--fapi2: client demo-");
    assert!(stderr.contains("--clients"), "{stderr}");
    let dir = std::env::temp_dir().join(format!("oauth21-cli-fapi-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let jwk = common::jwt_client_key().public_key().to_jwk();
    let clients = serde_json::json!([{
        "client_id": "bank", "redirect_uris": ["https://bank.example/cb"], "scope": "accounts",
        "grant_types": ["authorization_code", "refresh_token"],
        "token_endpoint_auth_method": "private_key_jwt", "jwks": { "keys": [jwk] },
    }]);
    let file = dir.join("clients.json");
    std::fs::write(&file, clients.to_string()).unwrap();
    let mut child = Command::new(example_binary())
        .args(["--addr", "127.0.0.1:0", "--fapi2", "--clients", file.to_str().unwrap()])
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let mut lines = BufReader::new(child.stdout.take().unwrap()).lines().map_while(Result::ok);
    let listening = lines.by_ref().find_map(|l| l.strip_prefix("listening: ").map(str::to_owned)).expect("started");
    let addr = listening.trim_start_matches("http://").trim_end_matches('/').to_owned();
    let mut stream = std::net::TcpStream::connect(&addr).unwrap();
    write!(stream, "GET /.well-known/oauth-authorization-server HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\n\r\n")
        .unwrap();
    let mut answer = String::new();
    stream.read_to_string(&mut answer).unwrap();
    let _ = child.kill();
    let _ = child.wait();
    let _ = std::fs::remove_dir_all(&dir);
    let body = answer.split("\r\n\r\n").nth(1).expect("a body");
    let metadata: serde_json::Value = serde_json::from_str(body).expect("metadata JSON");
    assert_eq!(metadata["require_pushed_authorization_requests"], true);
    assert_eq!(metadata["token_endpoint_auth_methods_supported"], serde_json::json!(["private_key_jwt"]));
}
