//! Shared harness for the oauth21 fuzz targets: the fixture (a server over `MemoryStore` with a
//! manual clock and five registered clients), a `block_on` for the store's always-ready futures,
//! the raw input format of the byte-oriented targets, and independent oracles for the
//! invariants the targets assert (redirect targets, JSON error bodies).
//!
//! Nothing here decides anything the way the crate does: the oracles are written from the
//! specification text, not from the crate's code, so a disagreement is a finding.

use std::future::Future;
use std::sync::Arc;

use oauth21::{
    Approval, AuthorizeOutcome, Client, ClientSecret, GrantType, ManualClock, MemoryStore, Request, Response, Server,
    ServerConfig, Subject, SystemRandom,
};

/// RFC 7636 Appendix B verifier and its S256 challenge.
pub const VERIFIER: &str = "dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk";
pub const CHALLENGE: &str = "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM";
pub const ISSUER: &str = "https://as.example";
pub const WEB_SECRET: &str = "web-secret";
pub const SVC_SECRET: &str = "svc-secret";
pub const RS_SECRET: &str = "rs-secret";
/// The start of every test: 2023-11-14T22:13:20Z.
pub const START: i64 = 1_700_000_000;

/// Every error code the token, revocation and introspection endpoints may answer with.
pub const TOKEN_ERRORS: [&str; 15] = [
    "invalid_target",
    "authorization_pending",
    "slow_down",
    "expired_token",
    "access_denied",
    "invalid_dpop_proof",
    "use_dpop_nonce",
    "invalid_request",
    "invalid_client",
    "invalid_grant",
    "unauthorized_client",
    "unsupported_grant_type",
    "invalid_scope",
    "server_error",
    "temporarily_unavailable",
];

/// Every error code an authorization response may redirect with (OAuth 2.1 §4.1.2.1).
pub const AUTHORIZE_ERRORS: [&str; 8] = [
    "invalid_target",
    "invalid_request",
    "unauthorized_client",
    "access_denied",
    "unsupported_response_type",
    "invalid_scope",
    "server_error",
    "temporarily_unavailable",
];

/// The registered redirect URIs, per client id.
pub const APP_REDIRECTS: &[&str] = &["http://127.0.0.1/cb"];
pub const NATIVE_REDIRECTS: &[&str] =
    &["com.example.app:/oauth2redirect", "http://[::1]/cb", "http://localhost:3000/cb"];
pub const WEB_REDIRECTS: &[&str] = &["https://web.example/cb", "https://web.example/cb?tenant=1"];

/// The redirect URIs registered for `client_id` (empty for clients without any).
pub fn registered_redirects(client_id: &str) -> &'static [&'static str] {
    match client_id {
        "app" => APP_REDIRECTS,
        "native" => NATIVE_REDIRECTS,
        "web" => WEB_REDIRECTS,
        _ => &[],
    }
}

/// Every redirect URI registered by any client.
pub fn all_redirects() -> impl Iterator<Item = &'static str> {
    APP_REDIRECTS.iter().chain(NATIVE_REDIRECTS).chain(WEB_REDIRECTS).copied()
}

/// Whether `OAUTH21_FUZZ_TRACE` is set: the targets then print what they send and receive, for
/// reproducing a crash or checking what a seed reaches.
pub fn trace() -> bool {
    static TRACE: std::sync::OnceLock<bool> = std::sync::OnceLock::new();
    *TRACE.get_or_init(|| std::env::var_os("OAUTH21_FUZZ_TRACE").is_some())
}

/// Prints a response when tracing.
pub fn trace_response(label: &str, response: &Response) {
    if trace() {
        eprintln!(
            "{label}: {} {:?} {}",
            response.status(),
            response.location().unwrap_or(""),
            String::from_utf8_lossy(response.body())
        );
    }
}

/// Polls a future to completion on this thread. `MemoryStore`'s futures are always ready, so
/// every server future finishes on its first poll; a second poll would mean one is pending.
pub fn block_on<F: Future>(f: F) -> F::Output {
    let mut f = std::pin::pin!(f);
    let mut cx = std::task::Context::from_waker(std::task::Waker::noop());
    for _ in 0..1000 {
        if let std::task::Poll::Ready(v) = f.as_mut().poll(&mut cx) {
            return v;
        }
    }
    panic!("a server future over MemoryStore did not complete");
}

pub type FuzzServer = Server<Arc<MemoryStore>>;

pub struct Fixture {
    pub server: FuzzServer,
    pub store: Arc<MemoryStore>,
    pub clock: Arc<ManualClock>,
}

/// The five clients every target registers:
/// - `app`: public, `http://127.0.0.1/cb` (loopback, any port), code + refresh, scope
///   `read write`, default `read`;
/// - `native`: public, a private-use scheme, `http://[::1]/cb` and `http://localhost:3000/cb`,
///   code only, scope `read`;
/// - `web`: confidential (`web-secret`, basic and post), two https URIs, code + refresh,
///   scope `read write`, no default;
/// - `svc`: confidential (`svc-secret`), client credentials, scope `read`, default `read`;
/// - `rs`: confidential (`rs-secret`), client credentials, scope `read`, may introspect any token;
/// - `tv` and `tv2`: public, the device grant (and refresh for `tv`), scope `read write`,
///   default `read`.
pub fn clients() -> Vec<Client> {
    let mut native = Client::public("native");
    for uri in NATIVE_REDIRECTS {
        native = native.redirect_uri(*uri);
    }
    vec![
        Client::public("app")
            .redirect_uri(APP_REDIRECTS[0])
            .grant_types([GrantType::AuthorizationCode, GrantType::RefreshToken])
            .scope("read write")
            .default_scope("read")
            .build()
            .unwrap(),
        native.scope("read").build().unwrap(),
        Client::confidential("web", &ClientSecret::new(WEB_SECRET))
            .allow_short_secrets()
            .redirect_uri(WEB_REDIRECTS[0])
            .redirect_uri(WEB_REDIRECTS[1])
            .grant_types([GrantType::AuthorizationCode, GrantType::RefreshToken])
            .scope("read write")
            .build()
            .unwrap(),
        Client::confidential("svc", &ClientSecret::new(SVC_SECRET))
            .allow_short_secrets()
            .grant_types([GrantType::ClientCredentials])
            .scope("read")
            .default_scope("read")
            .build()
            .unwrap(),
        Client::public("tv")
            .grant_types([GrantType::DeviceCode, GrantType::RefreshToken])
            .scope("read write")
            .default_scope("read")
            .build()
            .unwrap(),
        Client::public("tv2").grant_types([GrantType::DeviceCode]).scope("read write").build().unwrap(),
        Client::confidential("rs", &ClientSecret::new(RS_SECRET))
            .allow_short_secrets()
            .grant_types([GrantType::ClientCredentials])
            .scope("read")
            .may_introspect_any_token()
            .build()
            .unwrap(),
    ]
}

/// A server over a fresh `MemoryStore` holding [`clients`], on a manual clock at [`START`].
pub fn fixture(config: ServerConfig) -> Fixture {
    let store = Arc::new(MemoryStore::new());
    for client in clients() {
        store.insert_client(client);
    }
    let clock = Arc::new(ManualClock::at_unix(START));
    let server = Server::with_providers(config, store.clone(), clock.clone(), SystemRandom::new());
    Fixture { server, store, clock }
}

/// Configuration switches picked by letters in a target's first input line.
#[derive(Debug, Default, Clone, Copy)]
pub struct Flags {
    /// `g`: a refresh grace period of 30 s.
    pub grace: bool,
    /// `k`: confidential clients keep their refresh token.
    pub keep_confidential: bool,
    /// `l`: `http://localhost` redirect URIs match any port.
    pub localhost_any_port: bool,
    /// `a`: access tokens carry the audience `api`.
    pub audience: bool,
    /// `t`: the clock jumps past the access-token lifetime before the request.
    pub late: bool,
}

impl Flags {
    pub fn parse(text: &[u8]) -> Self {
        Self {
            grace: text.contains(&b'g'),
            keep_confidential: text.contains(&b'k'),
            localhost_any_port: text.contains(&b'l'),
            audience: text.contains(&b'a'),
            late: text.contains(&b't'),
        }
    }

    pub fn config(self) -> ServerConfig {
        let mut b = ServerConfig::builder(ISSUER);
        if self.grace {
            b = b.refresh_grace_period(time::Duration::seconds(30));
        }
        if self.keep_confidential {
            b = b.keep_confidential_refresh_tokens();
        }
        if self.localhost_any_port {
            b = b.allow_localhost_any_port();
        }
        if self.audience {
            b = b.access_token_audience("api");
        }
        b.build().unwrap()
    }
}

/// Splits a raw input into `n` fields at the first `n - 1` newlines; the last field keeps any
/// further newlines. Missing fields are empty.
pub fn fields(data: &[u8], n: usize) -> Vec<&[u8]> {
    let mut out: Vec<&[u8]> = data.splitn(n, |&b| b == b'\n').collect();
    out.resize(n, b"");
    out
}

/// The method named by the first word of `line` (`GET`, `POST`, anything else).
pub fn method(line: &[u8]) -> oauth21::Method {
    let word = line.split(|&b| b == b' ').next().unwrap_or(b"");
    oauth21::Method::from_name(std::str::from_utf8(word).unwrap_or(""))
}

/// The flags after the method word of `line`.
pub fn flags_after_method(line: &[u8]) -> Flags {
    match line.iter().position(|&b| b == b' ') {
        Some(i) => Flags::parse(&line[i..]),
        None => Flags::default(),
    }
}

/// A header line: empty means the header is absent.
pub fn header(line: &[u8]) -> Option<&[u8]> {
    (!line.is_empty()).then_some(line)
}

/// Replaces every `$NAME` in `input` by its value; `values` is consulted lazily, so only the
/// placeholders that occur cost anything.
pub fn substitute(input: &[u8], names: &[&str], mut value: impl FnMut(&str) -> String) -> Vec<u8> {
    if !input.contains(&b'$') {
        return input.to_vec();
    }
    let mut out = input.to_vec();
    for name in names {
        let pattern = format!("${name}");
        if find(&out, pattern.as_bytes()).is_none() {
            continue;
        }
        let replacement = value(name);
        let mut next = Vec::with_capacity(out.len());
        let mut rest = &out[..];
        while let Some(i) = find(rest, pattern.as_bytes()) {
            next.extend_from_slice(&rest[..i]);
            next.extend_from_slice(replacement.as_bytes());
            rest = &rest[i + pattern.len()..];
        }
        next.extend_from_slice(rest);
        out = next;
    }
    out
}

pub fn find(haystack: &[u8], needle: &[u8]) -> Option<usize> {
    if needle.is_empty() || haystack.len() < needle.len() {
        return None;
    }
    haystack.windows(needle.len()).position(|w| w == needle)
}

/// Decodes a form-urlencoded query leniently (for reading the server's own answers).
pub fn form_pairs(query: &str) -> Vec<(String, String)> {
    serde_urlencoded::from_str(query).unwrap_or_default()
}

/// Whether `candidate` is `registered` with only its port changed or added, under RFC 8252
/// §7.3: `http`, a loopback IP literal (or `localhost` when `localhost_any_port`), the same
/// host, a port of 1 to 5 digits up to 65535 (or none), and everything after the port
/// identical. Written from the RFC, independently of `RedirectUri::matches`.
pub fn loopback_port_variant(registered: &str, candidate: &str, localhost_any_port: bool) -> bool {
    for host in ["127.0.0.1", "[::1]", "localhost"] {
        if host == "localhost" && !localhost_any_port {
            continue;
        }
        let prefix = format!("http://{host}");
        let (Some(reg_rest), Some(cand_rest)) = (registered.strip_prefix(&prefix), candidate.strip_prefix(&prefix))
        else {
            continue;
        };
        let reg_tail = strip_port(reg_rest);
        let cand_tail = strip_port(cand_rest);
        if let (Some(reg_tail), Some(cand_tail)) = (reg_tail, cand_tail) {
            // The host must end where the registered one ends: the next character starts the
            // port or the path, query or fragment.
            let ends_host = |t: &str| t.is_empty() || t.starts_with(['/', '?', '#']);
            if ends_host(reg_tail) && ends_host(cand_tail) && reg_tail == cand_tail {
                return true;
            }
        }
    }
    false
}

/// `":" 1*5DIGIT rest` (port at most 65535) → `rest`; anything not starting with `:` → itself.
fn strip_port(s: &str) -> Option<&str> {
    let Some(after) = s.strip_prefix(':') else { return Some(s) };
    let digits = after.bytes().take_while(u8::is_ascii_digit).count();
    if digits == 0 || digits > 5 || after[..digits].parse::<u32>().ok()? > 65535 {
        return None;
    }
    Some(&after[digits..])
}

/// Splits a `Location` into the redirect URI it goes to and the parameters the server appended,
/// if the URI is one of `registered` or a loopback-port variant of one. The appended parameters
/// follow `?`, or `&` when the URI already has a query.
pub fn split_redirect<'a>(
    location: &'a str,
    registered: &[&str],
    localhost_any_port: bool,
) -> Option<(&'a str, Vec<(String, String)>)> {
    for (i, c) in location.char_indices() {
        if c != '?' && c != '&' {
            continue;
        }
        let base = &location[..i];
        let separator_ok = if base.contains('?') { c == '&' } else { c == '?' };
        if separator_ok && registered.iter().any(|r| base == *r || loopback_port_variant(r, base, localhost_any_port)) {
            return Some((base, form_pairs(&location[i + 1..])));
        }
    }
    None
}

/// The single value of `name` among `pairs`; panics if it is repeated.
pub fn single<'a>(pairs: &'a [(String, String)], name: &str) -> Option<&'a str> {
    let mut found = pairs.iter().filter(|(k, _)| k == name).map(|(_, v)| v.as_str());
    let first = found.next();
    assert!(found.next().is_none(), "parameter {name} appears twice in a redirect");
    first
}

/// Checks an authorization-endpoint redirect: a 302/303 to a registered URI (or its loopback
/// port variant) of `client_id`, `Cache-Control: no-store`, visible ASCII only, `iss` equal to
/// the issuer exactly once, and either a `code` or an `error` from the known set. Returns the
/// appended parameters.
pub fn check_authorize_redirect(
    response: &Response,
    client_id: &str,
    localhost_any_port: bool,
) -> Vec<(String, String)> {
    assert!(matches!(response.status(), 302 | 303), "redirect status {}", response.status());
    let location = response.location().expect("a redirect has a Location");
    assert!(location.bytes().all(|b| b.is_ascii_graphic()), "Location has a non-visible byte: {location:?}");
    assert_eq!(response.header("Cache-Control"), Some("no-store"), "redirect without no-store");
    let registered = registered_redirects(client_id);
    let Some((_, params)) = split_redirect(location, registered, localhost_any_port) else {
        panic!("redirect to an unregistered URI: {location:?} (client {client_id})")
    };
    assert_eq!(single(&params, "iss"), Some(ISSUER), "redirect without the right iss: {location:?}");
    match (single(&params, "code"), single(&params, "error")) {
        (Some(code), None) => assert!(!code.is_empty(), "empty code"),
        (None, Some(error)) => assert!(AUTHORIZE_ERRORS.contains(&error), "unknown error {error:?}"),
        _ => panic!("a redirect needs exactly one of code and error: {location:?}"),
    }
    params
}

/// Checks an authorization-endpoint outcome: errors that may not be redirected are pages, not
/// redirects; redirects go to a registered URI; consent names a registered URI. Returns the
/// consent request, if any.
pub fn check_authorize_outcome(outcome: AuthorizeOutcome, localhost_any_port: bool) -> Option<oauth21::ConsentRequest> {
    match outcome {
        AuthorizeOutcome::Consent(consent) => {
            let id = consent.client().id().as_str().to_owned();
            let uri = consent.redirect_uri();
            let registered = registered_redirects(&id);
            assert!(
                registered.iter().any(|r| *r == uri || loopback_port_variant(r, uri, localhost_any_port)),
                "consent for an unregistered redirect URI {uri:?} (client {id})"
            );
            assert!(consent.scope().is_subset_of(consent.client().scope()), "consent scope beyond the client's");
            Some(consent)
        }
        AuthorizeOutcome::Error { error, response } => {
            if response.location().is_some() {
                assert!(error.is_redirectable(), "{error:?} was redirected");
                // The client is not named by the error; the redirect must be registered for
                // some client whose id the request named. Check against every client and make
                // sure it is an error.
                let location = response.location().unwrap();
                let owner = ["app", "native", "web"]
                    .into_iter()
                    .find(|id| split_redirect(location, registered_redirects(id), localhost_any_port).is_some());
                let Some(owner) = owner else { panic!("error redirect to an unregistered URI: {location:?}") };
                let params = check_authorize_redirect(&response, owner, localhost_any_port);
                let code = single(&params, "error");
                assert_eq!(code, Some(error.code().as_str()), "redirected error code differs from the error");
            } else {
                assert!(matches!(response.status(), 400 | 405 | 500 | 503), "error page status {}", response.status());
                assert_eq!(response.header("Cache-Control"), Some("no-store"));
                if response.status() == 405 {
                    assert!(response.header("Allow").is_some(), "405 without Allow");
                }
                if error.is_redirectable() {
                    // A redirectable error may only become a page when nothing can be
                    // redirected, i.e. never after the redirect URI was validated.
                    panic!("{error:?} is redirectable but was answered as a page");
                }
            }
            None
        }
        _ => unreachable!("a variant this code does not know"),
    }
}

/// Checks a token-endpoint style JSON answer (token, and the errors of revocation and
/// introspection): allowed status, `Cache-Control: no-store`, a JSON object, `access_token`
/// with 200 or an `error` from the known set otherwise, `WWW-Authenticate: Basic` with 401 and
/// `Allow: POST` with 405. Returns the JSON.
pub fn check_token_response(response: &Response) -> serde_json::Value {
    let status = response.status();
    assert!(matches!(status, 200 | 400 | 401 | 405 | 500 | 503), "token endpoint status {status}");
    assert_eq!(response.header("Cache-Control"), Some("no-store"), "token answer without Cache-Control: no-store");
    assert_eq!(response.header("Content-Type"), Some("application/json"));
    let json: serde_json::Value = match serde_json::from_slice(response.body()) {
        Ok(v) => v,
        Err(e) => panic!("token answer is not JSON ({e}): {:?}", String::from_utf8_lossy(response.body())),
    };
    let object = json.as_object().expect("token answer is a JSON object");
    if status == 200 {
        assert!(object.get("access_token").is_some_and(|v| v.as_str().is_some_and(|s| !s.is_empty())));
        let token_type = object.get("token_type").and_then(|v| v.as_str());
        assert!(matches!(token_type, Some("Bearer" | "DPoP")), "token_type {token_type:?}");
        assert!(object.get("expires_in").is_some_and(|v| v.as_i64().is_some_and(|n| n > 0)));
        assert!(object.get("error").is_none());
        for (k, v) in object {
            assert!(!v.is_null(), "member {k} is null");
        }
    } else {
        check_error_json(&json);
        if status == 401 {
            let challenge = response.header("WWW-Authenticate").expect("401 without WWW-Authenticate");
            assert!(challenge.starts_with("Basic "), "401 challenge {challenge:?}");
        }
        if status == 405 {
            assert_eq!(response.header("Allow"), Some("POST"));
        }
    }
    for (name, value) in response.headers() {
        assert!(value.bytes().all(|b| b == b' ' || b.is_ascii_graphic()), "header {name} has a control byte");
    }
    json
}

/// An error body: `error` from the known set, `error_description` (if any) within
/// `%x20-21 / %x23-5B / %x5D-7E`, nothing else.
pub fn check_error_json(json: &serde_json::Value) {
    let object = json.as_object().expect("error body is a JSON object");
    let error = object.get("error").and_then(|v| v.as_str()).expect("error body without error");
    assert!(TOKEN_ERRORS.contains(&error), "unknown error code {error:?}");
    if let Some(d) = object.get("error_description") {
        let d = d.as_str().expect("error_description is a string");
        assert!(d.bytes().all(|b| matches!(b, 0x20..=0x21 | 0x23..=0x5b | 0x5d..=0x7e)), "description {d:?}");
    }
    for key in object.keys() {
        assert!(matches!(key.as_str(), "error" | "error_description" | "error_uri"), "unexpected member {key}");
    }
}

/// The `Authorization: Basic` value for a client, built as RFC 6749 §2.3.1 says.
pub fn basic(id: &str, secret: &str) -> String {
    oauth21::client::basic_auth_header(id, secret)
}

/// The authorization query for `client_id` with the RFC 7636 challenge.
pub fn authorize_query(client_id: &str, redirect_uri: &str, scope: &str, state: &str) -> String {
    serde_urlencoded::to_string([
        ("response_type", "code"),
        ("client_id", client_id),
        ("redirect_uri", redirect_uri),
        ("scope", scope),
        ("state", state),
        ("code_challenge", CHALLENGE),
        ("code_challenge_method", "S256"),
    ])
    .unwrap()
}

/// Issues a code for `client_id` through `authorize` and `approve` (as alice).
pub fn issue_code(fx: &Fixture, client_id: &str, redirect_uri: &str, scope: &str) -> String {
    let query = authorize_query(client_id, redirect_uri, scope, "st8");
    let AuthorizeOutcome::Consent(consent) = block_on(fx.server.authorize(&Request::get(&query))) else {
        panic!("fixture authorization request refused")
    };
    let response =
        block_on(fx.server.approve(&consent, Approval::new(Subject::new("alice").unwrap()))).unwrap().into_response();
    let params = check_authorize_redirect(&response, client_id, false);
    single(&params, "code").unwrap().to_owned()
}

/// Redeems a fresh code for `client_id` and returns (access token, refresh token).
pub fn issue_tokens(fx: &Fixture, client_id: &str) -> (String, String) {
    let (redirect, scope) = match client_id {
        "app" => ("http://127.0.0.1:5000/cb", "read write"),
        _ => ("https://web.example/cb", "read"),
    };
    let code = issue_code(fx, client_id, redirect, scope);
    let mut pairs = vec![
        ("grant_type", "authorization_code"),
        ("code", code.as_str()),
        ("redirect_uri", redirect),
        ("code_verifier", VERIFIER),
        ("client_id", client_id),
    ];
    if client_id == "web" {
        pairs.push(("client_secret", WEB_SECRET));
    }
    let body = serde_urlencoded::to_string(&pairs).unwrap();
    let response = block_on(fx.server.token(&Request::form_post(body.as_bytes())));
    let json = check_token_response(&response);
    assert_eq!(response.status(), 200, "fixture redemption failed: {json}");
    (json["access_token"].as_str().unwrap().to_owned(), json["refresh_token"].as_str().unwrap().to_owned())
}

/// An access token for `client_id` by the client credentials grant.
pub fn issue_client_token(fx: &Fixture, client_id: &str, secret: &str) -> String {
    let body = "grant_type=client_credentials&scope=read";
    let request = Request::form_post(body.as_bytes());
    let auth = basic(client_id, secret);
    let response = block_on(fx.server.token(&request.with_authorization(auth.as_bytes())));
    let json = check_token_response(&response);
    assert_eq!(response.status(), 200, "fixture client credentials failed: {json}");
    json["access_token"].as_str().unwrap().to_owned()
}

/// The placeholders a token-style input may use, replaced by live values issued just before
/// the request: codes (`$CODE` for app to `http://127.0.0.1:5000/cb` scope `read write`,
/// `$WCODE` for web to `https://web.example/cb` scope `read`), tokens (`$AT`/`$RT` app's,
/// `$WAT`/`$WRT` web's, `$SAT` svc's, `$RSAT` rs's) and Basic credentials (`$WBASIC`,
/// `$SBASIC`, `$RBASIC`).
pub const PLACEHOLDERS: [&str; 11] =
    ["WCODE", "CODE", "WAT", "WRT", "SAT", "RSAT", "AT", "RT", "WBASIC", "SBASIC", "RBASIC"];

/// Lazily issued live values for [`PLACEHOLDERS`].
#[derive(Default)]
pub struct Live {
    pub values: std::collections::HashMap<&'static str, String>,
}

impl Live {
    pub fn get(&mut self, fx: &Fixture, name: &str) -> String {
        let name: &'static str = PLACEHOLDERS.iter().find(|p| **p == name).copied().expect("known placeholder");
        if let Some(v) = self.values.get(name) {
            return v.clone();
        }
        let value = match name {
            "CODE" => issue_code(fx, "app", "http://127.0.0.1:5000/cb", "read write"),
            "WCODE" => issue_code(fx, "web", "https://web.example/cb", "read"),
            "AT" | "RT" => {
                let (at, rt) = issue_tokens(fx, "app");
                self.values.insert("AT", at);
                self.values.insert("RT", rt);
                return self.values[name].clone();
            }
            "WAT" | "WRT" => {
                let (at, rt) = issue_tokens(fx, "web");
                self.values.insert("WAT", at);
                self.values.insert("WRT", rt);
                return self.values[name].clone();
            }
            "SAT" => issue_client_token(fx, "svc", SVC_SECRET),
            "RSAT" => issue_client_token(fx, "rs", RS_SECRET),
            "WBASIC" => basic("web", WEB_SECRET),
            "SBASIC" => basic("svc", SVC_SECRET),
            "RBASIC" => basic("rs", RS_SECRET),
            _ => unreachable!(),
        };
        self.values.insert(name, value.clone());
        value
    }

    /// Substitutes every placeholder in `input`.
    pub fn fill(&mut self, fx: &Fixture, input: &[u8]) -> Vec<u8> {
        substitute(input, &PLACEHOLDERS, |name| self.get(fx, name))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn loopback_variant_oracle() {
        assert!(loopback_port_variant("http://127.0.0.1/cb", "http://127.0.0.1:5000/cb", false));
        assert!(loopback_port_variant("http://[::1]/cb", "http://[::1]:1/cb", false));
        assert!(!loopback_port_variant("http://127.0.0.1/cb", "http://127.0.0.1:5000/cb2", false));
        assert!(!loopback_port_variant("http://127.0.0.1/cb", "http://127.0.0.10/cb", false));
        assert!(!loopback_port_variant("http://127.0.0.1/cb", "http://127.0.0.1:99999/cb", false));
        assert!(!loopback_port_variant("http://127.0.0.1/cb", "http://127.0.0.1:80@evil/cb", false));
        assert!(!loopback_port_variant("http://localhost:3000/cb", "http://localhost:1/cb", false));
        assert!(loopback_port_variant("http://localhost:3000/cb", "http://localhost:1/cb", true));
    }

    #[test]
    fn substitution() {
        let out = substitute(b"a=$CODE&b=$WCODE&c=$CODE", &PLACEHOLDERS, |n| n.to_lowercase());
        assert_eq!(out, b"a=code&b=wcode&c=code");
    }
}

/// Two client DPoP keys (EdDSA): proofs by either, for the token endpoint, at a given time.
pub fn dpop_proof(key: usize, iat: i64) -> String {
    use std::sync::OnceLock;
    use std::sync::atomic::{AtomicU64, Ordering};

    use base64::Engine as _;
    use base64::engine::general_purpose::URL_SAFE_NO_PAD;
    use oauth21::jose::{Algorithm, JwtSigner, KeySet, SignerKey, SigningKey};

    static KEYS: OnceLock<[KeySet; 2]> = OnceLock::new();
    static JTI: AtomicU64 = AtomicU64::new(0);
    let keys = KEYS.get_or_init(|| {
        [0, 1].map(|i| KeySet::with_active(SigningKey::generate(Algorithm::EdDSA, format!("client-{i}")).unwrap()))
    });
    let set = &keys[key % 2];
    let signing = set.signing_key().unwrap();
    let header = serde_json::json!({ "typ": "dpop+jwt", "alg": "EdDSA", "jwk": signing.public_key().to_jwk() });
    let jti = JTI.fetch_add(1, Ordering::Relaxed);
    let claims =
        serde_json::json!({ "jti": format!("j{jti}"), "htm": "POST", "htu": format!("{ISSUER}/token"), "iat": iat });
    let input =
        format!("{}.{}", URL_SAFE_NO_PAD.encode(header.to_string()), URL_SAFE_NO_PAD.encode(claims.to_string()));
    let signer = SignerKey::new(signing.kid(), Algorithm::EdDSA);
    let signature = block_on(set.sign(&signer, input.as_bytes())).unwrap();
    format!("{input}.{}", URL_SAFE_NO_PAD.encode(signature))
}

/// A genuine token with edits read from `data`, three bytes each: a little-endian position and
/// a byte that overwrites it (0 cuts the token there, 1 inserts a `.`; past the end, appends).
pub fn mutate(genuine: &str, data: &[u8]) -> Vec<u8> {
    let mut token = genuine.as_bytes().to_vec();
    for chunk in data.chunks_exact(3) {
        let position = usize::from(u16::from_le_bytes([chunk[0], chunk[1]])) % (token.len() + 1);
        match chunk[2] {
            0 => token.truncate(position),
            1 => token.insert(position, b'.'),
            byte if position < token.len() => token[position] = byte,
            byte => token.push(byte),
        }
    }
    token
}
