//! The whole authorization-code flow in one process, without HTTP: what a framework adapter does
//! for each request, step by step.
//!
//! Run with `cargo run --example minimal`.

use std::future::Future;

use oauth21::client::basic_auth_header;
use oauth21::{
    Approval, AuthorizeOutcome, Client, ClientSecret, CodeChallenge, CodeVerifier, GrantType, MemoryStore, Request,
    Server, ServerConfig, Subject, SystemRandom,
};

/// The in-memory store never waits, so polling to completion on this thread is enough here.
/// A real server awaits these futures in its runtime instead.
fn block_on<F: Future>(f: F) -> F::Output {
    let mut f = std::pin::pin!(f);
    let mut cx = std::task::Context::from_waker(std::task::Waker::noop());
    loop {
        if let std::task::Poll::Ready(v) = f.as_mut().poll(&mut cx) {
            return v;
        }
    }
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    // The host's side: configuration and one registered confidential client.
    let config = ServerConfig::builder("https://as.example").build()?;
    let store = MemoryStore::new();
    let secret = ClientSecret::new("demo-web-secret");
    store.insert_client(
        Client::confidential("demo-web", &secret)
            .redirect_uri("https://web.example/callback")
            .grant_types([GrantType::AuthorizationCode, GrantType::RefreshToken])
            .scope("read write")
            .build()?,
    );
    let server = Server::new(config, store);
    println!("issuer: {}", server.config().issuer());

    // The client's side: a fresh PKCE verifier and its S256 challenge.
    let verifier = CodeVerifier::generate(&SystemRandom::new())?;
    let challenge = CodeChallenge::s256(&verifier);
    let query = format!(
        "response_type=code&client_id=demo-web&redirect_uri=https%3A%2F%2Fweb.example%2Fcallback\
         &scope=read%20write&state=af0ifjsldkj&code_challenge={challenge}&code_challenge_method=S256"
    );
    println!("\n1. GET /authorize?{query}");

    let consent = match block_on(server.authorize(&Request::get(&query))) {
        AuthorizeOutcome::Consent(consent) => consent,
        AuthorizeOutcome::Error { error, response } => {
            println!("   refused: {error} ({})", response.status());
            return Ok(());
        }
        _ => return Err("an authorization outcome this example does not handle".into()),
    };
    println!("   valid: {} asks for scope {:?}", consent.client().id(), consent.scope().to_string());

    // The host signs the user in and shows a consent page; the user grants only `read`.
    println!("\n2. alice signs in and approves scope \"read\"");
    let approval = Approval::new(Subject::new("alice")?).with_scope("read".parse()?);
    let redirect = block_on(server.approve(&consent, approval))?.into_response();
    let location = redirect.location().ok_or("no redirect")?;
    println!("   {} Location: {location}", redirect.status());

    let code = location.split(['?', '&']).find_map(|p| p.strip_prefix("code=")).ok_or("no code")?;

    // The client redeems the code with Basic authentication and its verifier.
    let body = format!(
        "grant_type=authorization_code&code={code}&redirect_uri=https%3A%2F%2Fweb.example%2Fcallback\
         &code_verifier={}",
        verifier.secret()
    );
    let authorization = basic_auth_header("demo-web", secret.secret());
    println!("\n3. POST /token (client_secret_basic, code_verifier)");
    let request = Request::form_post(body.as_bytes()).with_authorization(authorization.as_bytes());
    let response = block_on(server.token(&request));
    println!("   {} {}", response.status(), String::from_utf8_lossy(response.body()));

    // The same code again: refused, and what it issued is revoked.
    println!("\n4. POST /token with the same code again");
    let response = block_on(server.token(&request));
    println!("   {} {}", response.status(), String::from_utf8_lossy(response.body()));
    Ok(())
}
