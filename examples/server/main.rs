//! A real OAuth 2.1 authorization server, over the in-memory store or Redis: the demo, and a
//! small reference deployment (several instances behind one public URL).
//!
//! ```text
//! cargo run --example server                         # listens on 127.0.0.1:8080
//! cargo run --example server -- --addr 127.0.0.1:9000
//! cargo run --example server -- --clients clients.json
//! cargo run --example server -- --access-tokens jwt   # RFC 9068 JWTs, keys at /jwks.json
//! cargo run --example server -- --store redis://127.0.0.1:6379   # instances share one state
//! cargo run --example server -- --store postgres://oauth@127.0.0.1:5432/oauth   # and keep it
//! cargo run --example server -- --issuer https://auth.example --addr 0.0.0.0:8080 \
//!     --store redis://10.0.0.5:6379 --access-tokens jwt --signing-key key.pem --log-format json
//! cargo run --example server -- --help
//! ```
//!
//! `app.rs` holds the router: the framework adapter and the login and consent page.

mod app;

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::sync::Arc;

use app::{APP_REDIRECT, ClientSpec};
use clap::{Parser, ValueEnum};
use oauth21::jose::{Algorithm, SigningKey};
use oauth21::{AccessTokenFormat, Client};

/// RFC 7636 Appendix B: a known verifier and its challenge, for the printed walk-through.
const DEMO_VERIFIER: &str = "dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk";
const DEMO_CHALLENGE: &str = "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM";

/// The oauth21 demo authorization server: authorization code + PKCE, refresh rotation, client
/// credentials, revocation, introspection, metadata, and a protected /api/me. Every flag can
/// also be set by the environment variable shown.
#[derive(Parser, Debug)]
#[command(name = "server", version, max_term_width = 100)]
struct Args {
    /// Address to listen on.
    #[arg(long, env = "OAUTH21_ADDR", value_name = "HOST:PORT", default_value = "127.0.0.1:8080")]
    addr: SocketAddr,
    /// The public issuer URL, as clients reach the server (behind a load balancer: the
    /// balancer's URL). Every published URL derives from it. Default: http:// + the address.
    #[arg(long, env = "OAUTH21_ISSUER", value_name = "URL")]
    issuer: Option<String>,
    /// Client registrations, a JSON array of {client_id, type: public|confidential, secret?,
    /// redirect_uris, grant_types, scope, default_scope?, introspection?}; replaces the demo
    /// clients.
    #[arg(long, env = "OAUTH21_CLIENTS", value_name = "FILE.json")]
    clients: Option<PathBuf>,
    /// Access-token format: opaque, or jwt (RFC 9068, keys at /jwks.json).
    #[arg(long, env = "OAUTH21_ACCESS_TOKENS", value_enum, default_value = "opaque")]
    access_tokens: TokenFormat,
    /// The key that signs JWT access tokens, PKCS#8 PEM (EdDSA, ES256 or RS256). Give every
    /// instance the same key; without it each process generates its own.
    #[arg(long, env = "OAUTH21_SIGNING_KEY", value_name = "FILE.pem")]
    signing_key: Option<PathBuf>,
    /// Where clients, codes and tokens live: memory (this process only), a Redis URL that every
    /// instance shares, or a PostgreSQL URL (shared and durable; the schema is created on first
    /// start).
    #[arg(
        long,
        env = "OAUTH21_STORE",
        value_name = "memory|redis://HOST:PORT|postgres://USER@HOST:PORT/DB",
        default_value = "memory"
    )]
    store: String,
    /// Require a server nonce in every DPoP proof (RFC 9449 §8), at /token and /api/me.
    #[arg(long, env = "OAUTH21_DPOP_NONCES")]
    dpop_nonces: bool,
    /// Turn on the FAPI 2.0 Security Profile: pushed requests with redirect_uri, private_key_jwt
    /// clients only, DPoP-bound tokens only. Every client (--clients) must fit it.
    #[arg(long, env = "OAUTH21_FAPI2")]
    fapi2: bool,
    /// How long a pushed request's request_uri lives, in seconds (1 to 599).
    #[arg(long, env = "OAUTH21_PAR_LIFETIME", value_name = "SECONDS", default_value_t = 60)]
    par_lifetime: i64,
    /// Log lines (security events, failures, requests) as text or JSON, on standard error.
    #[arg(long, env = "OAUTH21_LOG_FORMAT", value_enum, default_value = "text")]
    log_format: LogFormat,
}

#[derive(Clone, Copy, Debug, ValueEnum)]
enum TokenFormat {
    Opaque,
    Jwt,
}

#[derive(Clone, Copy, Debug, ValueEnum)]
enum LogFormat {
    Text,
    Json,
}

#[tokio::main]
async fn main() -> ExitCode {
    let args = Args::parse();
    match run(args).await {
        Ok(()) => ExitCode::SUCCESS,
        Err(message) => {
            eprintln!("error: {message}");
            ExitCode::FAILURE
        }
    }
}

/// Every start-up failure is one sentence naming the flag or file and the reason.
async fn run(args: Args) -> Result<(), String> {
    let clients = match &args.clients {
        Some(path) => load_clients(path)?,
        None => app::demo_clients().map_err(|e| format!("the demo clients: {e}"))?,
    };
    let access_tokens = match args.access_tokens {
        TokenFormat::Opaque => AccessTokenFormat::Opaque,
        TokenFormat::Jwt => AccessTokenFormat::Jwt,
    };
    let jwt_key = match (&args.signing_key, access_tokens) {
        (Some(path), AccessTokenFormat::Jwt) => Some(load_signing_key(path)?),
        (Some(_), _) => return Err("--signing-key needs --access-tokens jwt".into()),
        (None, _) => None,
    };
    let listener = tokio::net::TcpListener::bind(args.addr)
        .await
        .map_err(|e| format!("--addr {}: cannot listen there: {e}", args.addr))?;
    let local = listener.local_addr().map_err(|e| format!("--addr {}: {e}", args.addr))?;
    let issuer = args.issuer.clone().unwrap_or_else(|| format!("http://{local}"));
    oauth21::Issuer::new(issuer.as_str()).map_err(|e| format!("--issuer {issuer}: {e}"))?;
    if !(1..=599).contains(&args.par_lifetime) {
        return Err(format!("--par-lifetime {}: must be 1 to 599 seconds", args.par_lifetime));
    }
    if args.fapi2 {
        let profile = oauth21::ServerConfig::builder(issuer.as_str())
            .fapi2_security_profile()
            .build()
            .map_err(|e| format!("--fapi2: {e}"))?;
        for client in &clients {
            profile.check_client(client).map_err(|e| {
                let hint =
                    if args.clients.is_none() { " (the demo clients do not fit it: pass --clients)" } else { "" };
                format!("--fapi2: client {}: {e}{hint}", client.id())
            })?;
        }
    }
    let described: Vec<String> = clients.iter().map(describe).collect();
    let cors = app::CorsOrigins::of(&clients);
    let store = app::DemoStore::open(&args.store, clients)
        .await
        .map_err(|e| format!("--store {}: cannot use it: {e}", args.store))?;
    let form_key = store.form_key().await.map_err(|e| format!("--store {}: {e}", args.store))?;
    let log = Arc::new(app::log::Log::new(match args.log_format {
        LogFormat::Text => app::log::LogFormat::Text,
        LogFormat::Json => app::log::LogFormat::Json,
    }));
    let generated_key = access_tokens == AccessTokenFormat::Jwt && jwt_key.is_none();
    let options = app::Options {
        access_tokens,
        jwt_key,
        form_key,
        cors,
        log: Some(log),
        dpop_nonces: args.dpop_nonces,
        fapi2: args.fapi2,
        par_lifetime: Some(time::Duration::seconds(args.par_lifetime)),
    };
    let router = app::router_on(&issuer, store, options).map_err(|e| format!("the server: {e}"))?;
    if access_tokens == AccessTokenFormat::Jwt {
        println!("access tokens: JWT (RFC 9068); public keys at {issuer}/jwks.json");
        if generated_key {
            println!(
                "signing key: generated for this process; other instances will not accept its tokens (--signing-key)"
            );
        }
    }
    // Signals are heard from before the first line a supervisor may act on.
    let shutdown = shutdown_signal();
    println!("listening: http://{local}");
    print_walkthrough(&issuer, &described, args.clients.is_some());
    // The peer address reaches the device page's user-code limiter.
    axum::serve(listener, router.into_make_service_with_connect_info::<SocketAddr>())
        .with_graceful_shutdown(shutdown)
        .await
        .map_err(|e| format!("serving on {local}: {e}"))
}

/// Listens for Ctrl-C and SIGTERM from the moment it is called (a handler installed only when
/// the server first polls would miss a signal sent right after "listening"); the future resolves
/// on either, and in-flight requests then finish before the server returns.
fn shutdown_signal() -> impl std::future::Future<Output = ()> {
    #[cfg(unix)]
    let (interrupt, terminate) = {
        use tokio::signal::unix::{SignalKind, signal};
        (signal(SignalKind::interrupt()).ok(), signal(SignalKind::terminate()).ok())
    };
    async move {
        #[cfg(unix)]
        {
            async fn received(signal: Option<tokio::signal::unix::Signal>) {
                match signal {
                    Some(mut signal) => {
                        signal.recv().await;
                    }
                    None => std::future::pending::<()>().await,
                }
            }
            tokio::select! {
                () = received(interrupt) => {}
                () = received(terminate) => {}
            }
        }
        #[cfg(not(unix))]
        {
            let _ = tokio::signal::ctrl_c().await;
        }
        println!("\nshutting down");
    }
}

fn load_clients(path: &Path) -> Result<Vec<Client>, String> {
    let file = path.display();
    let text = std::fs::read_to_string(path).map_err(|e| format!("--clients {file}: cannot read it: {e}"))?;
    let specs: Vec<ClientSpec> =
        serde_json::from_str(&text).map_err(|e| format!("--clients {file}: not a JSON array of clients: {e}"))?;
    specs.iter().map(|spec| spec.build().map_err(|e| format!("--clients {file}: {e}"))).collect()
}

/// A PKCS#8 PEM key of one of the three algorithms; its `kid` is its RFC 7638 thumbprint, so
/// every instance that loads the same key publishes the same `kid`.
fn load_signing_key(path: &Path) -> Result<SigningKey, String> {
    let file = path.display();
    let pem = std::fs::read_to_string(path).map_err(|e| format!("--signing-key {file}: cannot read it: {e}"))?;
    for alg in [Algorithm::EdDSA, Algorithm::ES256, Algorithm::RS256] {
        if let Ok(probe) = SigningKey::from_pkcs8_pem(alg, "probe", &pem) {
            let kid = probe.public_key().thumbprint();
            return SigningKey::from_pkcs8_pem(alg, kid, &pem).map_err(|e| format!("--signing-key {file}: {e}"));
        }
    }
    Err(format!(
        "--signing-key {file}: not a PKCS#8 PEM private key of EdDSA (Ed25519), ES256 (P-256) or RS256 (2048 to 8192 bits)"
    ))
}

fn describe(c: &Client) -> String {
    let kind = if c.is_public() { "public" } else { "confidential" };
    let grants: Vec<&str> = c.grant_types().iter().map(|g| g.as_str()).collect();
    format!("  {:<14} {kind:<13} scope {:?}  grants {}", c.id().as_str(), c.scope().to_string(), grants.join(" "))
}

fn print_walkthrough(issuer: &str, clients: &[String], custom: bool) {
    println!("oauth21 demo authorization server");
    println!("issuer: {issuer}");
    println!("metadata: {issuer}/.well-known/oauth-authorization-server");
    println!("protected resource: {issuer}/api/me (metadata: {issuer}/.well-known/oauth-protected-resource/api/me)");
    println!("registration: {issuer}/register (RFC 7591, public clients)");
    println!("device verification: {issuer}/device (RFC 8628)\n");
    println!("clients:");
    for line in clients {
        println!("{line}");
    }
    println!("users: alice / alice-password\n");
    if custom {
        println!("Ctrl-C (or SIGTERM) stops the server.");
        return;
    }
    println!("secrets: demo-web / demo-web-secret, demo-service / demo-service-secret\n");
    println!("Machine to machine (client credentials), then the protected API:");
    println!(
        "   curl -s -u demo-service:demo-service-secret {issuer}/token -d grant_type=client_credentials -d scope=read"
    );
    println!("   curl -s {issuer}/api/me -H 'Authorization: Bearer PASTE_ACCESS_TOKEN'\n");
    println!("Authorization code flow with PKCE:");
    println!("1. Open this URL in a browser, sign in as alice and approve:");
    println!(
        "   {issuer}/authorize?response_type=code&client_id=demo-app&scope=read%20write&state=demo\
         &redirect_uri=http%3A%2F%2F127.0.0.1%3A8765%2Fcallback\
         &code_challenge={DEMO_CHALLENGE}&code_challenge_method=S256"
    );
    println!("2. The browser is sent to {APP_REDIRECT}?code=...; copy the code (nothing listens there).");
    println!("3. Redeem it within 60 seconds:");
    println!(
        "   curl -s {issuer}/token -d grant_type=authorization_code -d client_id=demo-app \\\n     \
         -d redirect_uri={APP_REDIRECT} -d code_verifier={DEMO_VERIFIER} -d code=PASTE_CODE"
    );
    println!("4. Refresh (each refresh token works once; reusing one revokes the whole grant):");
    println!(
        "   curl -s {issuer}/token -d grant_type=refresh_token -d client_id=demo-app -d refresh_token=PASTE_REFRESH_TOKEN"
    );
    println!("5. Tokens are for {issuer}/api/me unless the request names another resource (RFC 8707);");
    println!("   a confidential client may name any https resource, and /api/me refuses such a token:");
    println!(
        "   curl -s -u demo-service:demo-service-secret {issuer}/token -d grant_type=client_credentials \\\n     \
         -d resource=https://other.example/api"
    );
    println!("6. Introspect or revoke:");
    println!("   curl -s -u demo-service:demo-service-secret {issuer}/introspect -d token=PASTE_TOKEN");
    println!("   curl -s {issuer}/revoke -d client_id=demo-app -d token=PASTE_REFRESH_TOKEN");
    println!("\nDevice flow (RFC 8628), for a TV or a CLI:");
    println!("   curl -s {issuer}/device_authorization -d client_id=demo-tv");
    println!("   Open verification_uri_complete in a browser, sign in as alice and approve; meanwhile poll:");
    println!(
        "   curl -s {issuer}/token -d grant_type=urn:ietf:params:oauth:grant-type:device_code \\\n     \
         -d client_id=demo-tv -d device_code=PASTE_DEVICE_CODE"
    );
    println!("\nAn MCP-style client registers itself (RFC 7591), then runs step 1 with its client_id:");
    println!(
        "   curl -s {issuer}/register -H 'Content-Type: application/json' \\\n     \
         -d '{{\"redirect_uris\":[\"{APP_REDIRECT}\"],\"token_endpoint_auth_method\":\"none\",\"client_name\":\"My agent\"}}'"
    );
    println!("\nCtrl-C (or SIGTERM) stops the server.");
}
