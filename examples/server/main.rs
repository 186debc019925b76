//! A real OAuth 2.1 authorization server on loopback, over the in-memory store or Redis.
//!
//! ```text
//! cargo run --example server                         # listens on 127.0.0.1:8080
//! cargo run --example server -- --addr 127.0.0.1:9000
//! cargo run --example server -- --clients clients.json
//! cargo run --example server -- --access-tokens jwt   # RFC 9068 JWTs, keys at /jwks.json
//! cargo run --example server -- --store redis://127.0.0.1:6379   # instances share one state
//! ```
//!
//! `app.rs` holds the router: the framework adapter and the login and consent page.

mod app;

use std::net::SocketAddr;

use app::{APP_REDIRECT, ClientSpec};
use oauth21::AccessTokenFormat;

/// RFC 7636 Appendix B: a known verifier and its challenge, for the printed walk-through.
const DEMO_VERIFIER: &str = "dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk";
const DEMO_CHALLENGE: &str = "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM";

struct Args {
    addr: SocketAddr,
    clients: Option<String>,
    access_tokens: AccessTokenFormat,
    store: String,
}

fn parse_args() -> Result<Args, Box<dyn std::error::Error>> {
    let mut args = std::env::args().skip(1);
    let mut out = Args {
        addr: "127.0.0.1:8080".parse()?,
        clients: None,
        access_tokens: AccessTokenFormat::Opaque,
        store: "memory".into(),
    };
    while let Some(arg) = args.next() {
        match arg.as_str() {
            "--addr" => out.addr = args.next().ok_or("--addr needs HOST:PORT")?.parse()?,
            "--clients" => out.clients = Some(args.next().ok_or("--clients needs a JSON file")?),
            "--access-tokens" => {
                out.access_tokens = match args.next().as_deref() {
                    Some("opaque") => AccessTokenFormat::Opaque,
                    Some("jwt") => AccessTokenFormat::Jwt,
                    _ => return Err("--access-tokens needs opaque or jwt".into()),
                }
            }
            "--store" => out.store = args.next().ok_or("--store needs memory or redis://HOST:PORT")?,
            "--help" | "-h" => {
                println!(
                    "usage: server [--addr HOST:PORT] [--clients FILE.json] [--access-tokens opaque|jwt] [--store memory|redis://HOST:PORT]"
                );
                println!("FILE.json: an array of {{client_id, type: public|confidential, secret?, redirect_uris,");
                println!("           grant_types, scope, default_scope?, introspection?}}; replaces the demo clients");
                println!("--store redis://HOST:PORT: keep clients, codes and tokens in Redis, shared by every");
                println!("           instance started with the same URL (default: memory, this process only)");
                std::process::exit(0);
            }
            other => return Err(format!("unknown argument {other:?} (try --help)").into()),
        }
    }
    Ok(out)
}

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let args = parse_args()?;
    let clients = match &args.clients {
        Some(path) => {
            let specs: Vec<ClientSpec> = serde_json::from_str(&std::fs::read_to_string(path)?)?;
            specs.iter().map(ClientSpec::build).collect::<Result<Vec<_>, _>>()?
        }
        None => app::demo_clients()?,
    };
    let listener = tokio::net::TcpListener::bind(args.addr).await?;
    let issuer = format!("http://{}", listener.local_addr()?);
    let described: Vec<String> = clients
        .iter()
        .map(|c| {
            let kind = if c.is_public() { "public" } else { "confidential" };
            let grants: Vec<&str> = c.grant_types().iter().map(|g| g.as_str()).collect();
            format!(
                "  {:<14} {kind:<13} scope {:?}  grants {}",
                c.id().as_str(),
                c.scope().to_string(),
                grants.join(" ")
            )
        })
        .collect();
    let cors = app::CorsOrigins::of(&clients);
    let store = app::DemoStore::open(&args.store, clients).await?;
    let form_key = store.form_key().await?;
    let router = app::router_on(&issuer, store, app::Options { access_tokens: args.access_tokens, form_key, cors })?;
    if args.access_tokens == AccessTokenFormat::Jwt {
        println!("access tokens: JWT (RFC 9068, ES256); public keys at {issuer}/jwks.json");
    }
    print_walkthrough(&issuer, &described, args.clients.is_some());
    axum::serve(listener, router)
        .with_graceful_shutdown(async {
            let _ = tokio::signal::ctrl_c().await;
            println!("\nshutting down");
        })
        .await?;
    Ok(())
}

fn print_walkthrough(issuer: &str, clients: &[String], custom: bool) {
    println!("oauth21 demo authorization server");
    println!("issuer: {issuer}");
    println!("metadata: {issuer}/.well-known/oauth-authorization-server\n");
    println!("clients:");
    for line in clients {
        println!("{line}");
    }
    println!("users: alice / alice-password\n");
    if custom {
        println!("Ctrl-C stops the server.");
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
    println!("5. Introspect or revoke:");
    println!("   curl -s -u demo-service:demo-service-secret {issuer}/introspect -d token=PASTE_TOKEN");
    println!("   curl -s {issuer}/revoke -d client_id=demo-app -d token=PASTE_REFRESH_TOKEN");
    println!("\nCtrl-C stops the server.");
}
