//! Refresh cost against the number of earlier rotations of the same grant: the mean time of
//! refreshes 1 to 1,000 of a fresh grant next to refreshes 5,001 to 6,000 of another, in
//! interleaved rounds, on `MemoryStore`. A store that scans a family's history on every
//! rotation shows a ratio well above 1. The same for oauth-as (which rotates by default) on its
//! `MemoryStorage`, through its `http` service (`oauth21_compare::oauth_as`).
//!
//! `cd benches/compare && cargo bench --bench refresh_chain`; results in docs/benchmarks.md.

use std::time::Instant;

use oauth21::{Approval, AuthorizeOutcome, Client, GrantType, MemoryStore, Request, Server, ServerConfig, Subject};
use oauth21_compare::oauth_as::{OauthAs, body_bytes};
use oauth21_compare::{REDIRECT, REDIRECT_ENCODED, VERIFIER, authorize_query, block_on, json_str};

const MEASURED: usize = 1_000;
const EARLIER: usize = 5_000;
const ROUNDS: usize = 7;

fn server() -> Server<MemoryStore> {
    let store = MemoryStore::new();
    store.insert_client(
        Client::public("app")
            .redirect_uri(REDIRECT)
            .grant_types([GrantType::AuthorizationCode, GrantType::RefreshToken])
            .scope("read write")
            .default_scope("read")
            .build()
            .unwrap(),
    );
    Server::new(ServerConfig::builder("https://as.example").build().unwrap(), store)
}

/// A new grant's first refresh token.
fn grant(server: &Server<MemoryStore>) -> String {
    let AuthorizeOutcome::Consent(consent) = block_on(server.authorize(&Request::get(&authorize_query()))) else {
        panic!("consent")
    };
    let approved = block_on(server.approve(&consent, Approval::new(Subject::new("alice").unwrap()))).unwrap();
    let location = approved.into_response().location().unwrap().to_owned();
    let code = location.split(['?', '&']).find_map(|p| p.strip_prefix("code=")).unwrap().to_owned();
    let body = format!(
        "grant_type=authorization_code&client_id=app&code={code}&redirect_uri={REDIRECT_ENCODED}&code_verifier={VERIFIER}"
    );
    let response = block_on(server.token(&Request::form_post(body.as_bytes())));
    json_str(std::str::from_utf8(response.body()).unwrap(), "refresh_token").unwrap().to_owned()
}

/// Refreshes `n` times from `token`; returns the last token and the nanoseconds taken.
fn refreshes(server: &Server<MemoryStore>, mut token: String, n: usize) -> (String, u128) {
    let started = Instant::now();
    for _ in 0..n {
        let body = format!("grant_type=refresh_token&client_id=app&refresh_token={token}");
        let response = block_on(server.token(&Request::form_post(body.as_bytes())));
        token = json_str(std::str::from_utf8(response.body()).unwrap(), "refresh_token").unwrap().to_owned();
    }
    (token, started.elapsed().as_nanos())
}

/// oauth-as: refreshes `n` times from `token`; returns the last token and the nanoseconds taken.
fn as_refreshes(server: &OauthAs, mut token: String, n: usize) -> (String, u128) {
    let started = Instant::now();
    for _ in 0..n {
        let response = server.refresh(&OauthAs::refresh_body(&token));
        let body = body_bytes(&response);
        token = json_str(std::str::from_utf8(&body).unwrap(), "refresh_token").unwrap().to_owned();
    }
    (token, started.elapsed().as_nanos())
}

fn median(mut values: Vec<f64>) -> f64 {
    values.sort_by(f64::total_cmp);
    values[values.len() / 2]
}

fn main() {
    let (mut first, mut later) = (Vec::new(), Vec::new());
    let (mut as_first, mut as_later) = (Vec::new(), Vec::new());
    for _ in 0..ROUNDS {
        // Each round on a server of its own, so earlier rounds' records do not weigh on it.
        let server = server();
        let fresh = grant(&server);
        let (_, ns) = refreshes(&server, fresh, MEASURED);
        first.push(ns as f64 / MEASURED as f64);
        let long = grant(&server);
        let (long, _) = refreshes(&server, long, EARLIER);
        let (_, ns) = refreshes(&server, long, MEASURED);
        later.push(ns as f64 / MEASURED as f64);
        drop(server);

        let peer = OauthAs::new();
        let (_, fresh) = peer.grant();
        let (_, ns) = as_refreshes(&peer, fresh, MEASURED);
        as_first.push(ns as f64 / MEASURED as f64);
        let (_, long) = peer.grant();
        let (long, _) = as_refreshes(&peer, long, EARLIER);
        let (_, ns) = as_refreshes(&peer, long, MEASURED);
        as_later.push(ns as f64 / MEASURED as f64);
    }
    let (a, b) = (median(first), median(later));
    println!("refresh 1..{MEASURED} of a fresh grant: {:.2} µs (median of {ROUNDS} rounds)", a / 1e3);
    println!("refresh {}..{} of a grant: {:.2} µs", EARLIER + 1, EARLIER + MEASURED, b / 1e3);
    println!("ratio: {:.2} (target: at most 1.2)", b / a);
    let (a, b) = (median(as_first), median(as_later));
    println!("oauth-as refresh 1..{MEASURED} of a fresh grant: {:.2} µs (median of {ROUNDS} rounds)", a / 1e3);
    println!("oauth-as refresh {}..{} of a grant: {:.2} µs", EARLIER + 1, EARLIER + MEASURED, b / 1e3);
    println!("oauth-as ratio: {:.2}", b / a);
}
