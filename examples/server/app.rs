//! A real OAuth 2.1 authorization server on loopback, over the in-memory store.
//!
//! ```text
//! cargo run --example server                       # listens on 127.0.0.1:8080
//! cargo run --example server -- --addr 127.0.0.1:9000
//! ```
//!
//! It shows how a framework adapter wraps the core: each handler copies the method, raw query,
//! raw body and the `Authorization` / `Content-Type` headers into an [`oauth21::Request`], awaits
//! the matching [`oauth21::Server`] call, and copies the [`oauth21::Response`] back. The only
//! logic of its own is the login and consent page.

use std::net::SocketAddr;
use std::sync::Arc;

use axum::Router;
use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, HeaderValue, Method as HttpMethod, StatusCode, Uri, header};
use axum::response::{IntoResponse, Response as HttpResponse};
use axum::routing::{any, get};
use oauth21::provider::Keys as _;
use oauth21::{
    Approval, AuthorizeOutcome, BearerChecker, Client, ClientSecret, ConsentRequest, GrantType, MemoryStore, Method,
    Request, Response, Scope, Server, ServerConfig, Subject, SystemClock, SystemKeys,
};

const APP_REDIRECT: &str = "http://127.0.0.1:8765/callback";
/// RFC 7636 Appendix B: a known verifier and its challenge, for the printed walk-through.
const DEMO_VERIFIER: &str = "dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk";
const DEMO_CHALLENGE: &str = "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM";
/// The parameters of an authorization request that the consent form carries back.
const AUTHORIZE_PARAMS: [&str; 7] =
    ["response_type", "client_id", "redirect_uri", "scope", "state", "code_challenge", "code_challenge_method"];

struct Demo {
    server: Server<Arc<MemoryStore>>,
    /// The protected resource's view: the same store, no authorization server needed.
    api: BearerChecker<Arc<MemoryStore>, SystemClock>,
    users: Vec<(&'static str, &'static str)>,
    keys: SystemKeys,
}

type AppState = Arc<Demo>;

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let addr = parse_addr()?;
    let listener = tokio::net::TcpListener::bind(addr).await?;
    let bound = listener.local_addr()?;
    let issuer = format!("http://{bound}");

    let store = Arc::new(MemoryStore::new());
    store.insert_client(
        Client::public("demo-app")
            .redirect_uri(APP_REDIRECT)
            .grant_types([GrantType::AuthorizationCode, GrantType::RefreshToken])
            .scope("read write")
            .default_scope("read")
            .build()?,
    );
    store.insert_client(
        Client::confidential("demo-web", &ClientSecret::new("demo-web-secret"))
            .redirect_uri(APP_REDIRECT)
            .grant_types([GrantType::AuthorizationCode, GrantType::RefreshToken])
            .scope("read write")
            .default_scope("read")
            .build()?,
    );
    store.insert_client(
        Client::confidential("demo-service", &ClientSecret::new("demo-service-secret"))
            .grant_types([GrantType::ClientCredentials])
            .scope("read write")
            .default_scope("read write")
            .may_introspect_any_token()
            .build()?,
    );
    let config = ServerConfig::builder(&issuer).build()?;
    let metadata_path = config.metadata_path();
    let state = Arc::new(Demo {
        api: BearerChecker::new(store.clone(), SystemClock, "demo-api")?,
        server: Server::new(config, store),
        users: vec![("alice", "alice-password")],
        keys: SystemKeys::new(),
    });

    let app = Router::new()
        .route("/authorize", get(authorize).post(authorize))
        .route("/token", any(token))
        .route("/revoke", any(revoke))
        .route("/introspect", any(introspect))
        .route(&metadata_path, get(metadata))
        .route("/api/me", get(api_me))
        .with_state(state);

    print_walkthrough(&issuer);
    axum::serve(listener, app)
        .with_graceful_shutdown(async {
            let _ = tokio::signal::ctrl_c().await;
            println!("\nshutting down");
        })
        .await?;
    Ok(())
}

fn parse_addr() -> Result<SocketAddr, Box<dyn std::error::Error>> {
    let mut args = std::env::args().skip(1);
    let mut addr: SocketAddr = "127.0.0.1:8080".parse()?;
    while let Some(arg) = args.next() {
        match arg.as_str() {
            "--addr" => addr = args.next().ok_or("--addr needs HOST:PORT")?.parse()?,
            "--help" | "-h" => {
                println!("usage: server [--addr HOST:PORT]");
                std::process::exit(0);
            }
            other => return Err(format!("unknown argument {other:?} (try --help)").into()),
        }
    }
    Ok(addr)
}

fn print_walkthrough(issuer: &str) {
    println!("oauth21 demo authorization server");
    println!("issuer: {issuer}\n");
    println!("clients:");
    println!("  demo-app      public        redirect {APP_REDIRECT}  scopes: read write");
    println!("  demo-web      confidential  secret demo-web-secret      scopes: read write");
    println!("  demo-service  confidential  secret demo-service-secret  client_credentials, scopes: read write");
    println!("user: alice / alice-password\n");
    println!("metadata: {issuer}/.well-known/oauth-authorization-server\n");
    println!("Machine to machine (client credentials), then the protected API:");
    println!(
        "   curl -s -u demo-service:demo-service-secret {issuer}/token -d grant_type=client_credentials -d scope=read\n"
    );
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

/// Copies the parts of an HTTP request the core reads.
fn core_request<'a>(method: &HttpMethod, uri: &'a Uri, headers: &'a HeaderMap, body: &'a [u8]) -> Request<'a> {
    let mut request = Request::new(Method::from_name(method.as_str()))
        .with_query(uri.query().unwrap_or("").as_bytes())
        .with_body(body);
    if let Some(value) = headers.get(header::AUTHORIZATION) {
        request = request.with_authorization(value.as_bytes());
    }
    if let Some(value) = headers.get(header::CONTENT_TYPE) {
        request = request.with_content_type(value.as_bytes());
    }
    request
}

/// Copies the core's answer into an HTTP response.
fn http_response(response: Response) -> HttpResponse {
    let (status, headers, body) = response.into_parts();
    let mut out = (StatusCode::from_u16(status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR), body).into_response();
    for (name, value) in headers {
        if let Ok(value) = HeaderValue::from_str(&value) {
            out.headers_mut().append(name, value);
        }
    }
    out
}

async fn token(
    State(demo): State<AppState>,
    method: HttpMethod,
    uri: Uri,
    headers: HeaderMap,
    body: Bytes,
) -> HttpResponse {
    let request = core_request(&method, &uri, &headers, &body);
    http_response(demo.server.token(&request).await)
}

async fn revoke(
    State(demo): State<AppState>,
    method: HttpMethod,
    uri: Uri,
    headers: HeaderMap,
    body: Bytes,
) -> HttpResponse {
    let request = core_request(&method, &uri, &headers, &body);
    http_response(demo.server.revoke(&request).await)
}

async fn introspect(
    State(demo): State<AppState>,
    method: HttpMethod,
    uri: Uri,
    headers: HeaderMap,
    body: Bytes,
) -> HttpResponse {
    let request = core_request(&method, &uri, &headers, &body);
    http_response(demo.server.introspect(&request).await)
}

async fn metadata(State(demo): State<AppState>) -> HttpResponse {
    http_response(demo.server.metadata())
}

/// A protected resource: needs a bearer token with scope `read`; answers who it belongs to.
async fn api_me(
    State(demo): State<AppState>,
    method: HttpMethod,
    uri: Uri,
    headers: HeaderMap,
    body: Bytes,
) -> HttpResponse {
    let request = core_request(&method, &uri, &headers, &body);
    let Ok(read) = Scope::parse("read") else { return StatusCode::INTERNAL_SERVER_ERROR.into_response() };
    match demo.api.check(&request, &read).await {
        Ok(token) => {
            let body = serde_json::json!({
                "sub": token.subject.as_str(),
                "client_id": token.client_id.as_str(),
                "scope": token.scope.to_string(),
            });
            let mut response = (StatusCode::OK, body.to_string()).into_response();
            response.headers_mut().insert(header::CONTENT_TYPE, HeaderValue::from_static("application/json"));
            response
        }
        Err(error) => http_response(demo.api.response(&error)),
    }
}

/// GET shows the login and consent form; POST (the form) re-validates the request through the
/// core, checks the CSRF token and the password, and approves or denies.
async fn authorize(
    State(demo): State<AppState>,
    method: HttpMethod,
    uri: Uri,
    headers: HeaderMap,
    body: Bytes,
) -> HttpResponse {
    let request = core_request(&method, &uri, &headers, &body);
    let consent = match demo.server.authorize(&request).await {
        AuthorizeOutcome::Consent(consent) => consent,
        AuthorizeOutcome::Error { response, .. } => return http_response(response),
    };
    let source = if method == HttpMethod::POST { body.as_ref() } else { uri.query().unwrap_or("").as_bytes() };
    let fields: Vec<(String, String)> = serde_urlencoded::from_bytes(source).unwrap_or_default();
    let field = |name: &str| fields.iter().find(|(k, _)| k == name).map(|(_, v)| v.as_str());
    let oauth_params: Vec<(&str, &str)> =
        AUTHORIZE_PARAMS.iter().filter_map(|name| field(name).map(|value| (*name, value))).collect();

    let cookie = csrf_cookie(&headers);
    let page = |message| consent_page(&demo, &consent, &oauth_params, cookie.as_deref(), message);
    if method != HttpMethod::POST {
        return page(None);
    }
    // Double-submit CSRF check: the form field must equal the SameSite=Strict cookie set with
    // the page, which a cross-site form post cannot read or send.
    let csrf_ok = matches!((cookie.as_deref(), field("csrf")), (Some(c), Some(f)) if constant_time_eq(c, f));
    if !csrf_ok {
        return (StatusCode::FORBIDDEN, "the form expired or was not sent from this server; start again\n")
            .into_response();
    }
    match field("decision") {
        Some("deny") => http_response(demo.server.deny(&consent)),
        Some("approve") => {
            let user = field("username").unwrap_or("");
            let password = field("password").unwrap_or("");
            let known = demo.users.iter().any(|(u, p)| constant_time_eq(u, user) & constant_time_eq(p, password));
            if !known {
                return page(Some("Wrong username or password."));
            }
            let Ok(subject) = Subject::new(user) else { return page(Some("Wrong username or password.")) };
            match demo.server.approve(&consent, Approval::new(subject)).await {
                Ok(response) => http_response(response),
                Err(e) => (StatusCode::INTERNAL_SERVER_ERROR, e.to_string()).into_response(),
            }
        }
        _ => page(Some("Choose approve or deny.")),
    }
}

fn csrf_cookie(headers: &HeaderMap) -> Option<String> {
    headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .find_map(|c| c.trim().strip_prefix("oauth21_csrf=").map(str::to_owned))
        .filter(|c| c.len() == 64 && c.bytes().all(|b| b.is_ascii_hexdigit()))
}

fn constant_time_eq(a: &str, b: &str) -> bool {
    a.len() == b.len() && a.bytes().zip(b.bytes()).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

fn consent_page(
    demo: &Demo,
    consent: &ConsentRequest,
    params: &[(&str, &str)],
    existing_csrf: Option<&str>,
    message: Option<&str>,
) -> HttpResponse {
    // Keep the browser's token if it has one, so a re-rendered form or a second tab stays valid.
    let csrf = match existing_csrf {
        Some(token) => token.to_owned(),
        None => {
            let mut bytes = [0u8; 32];
            if demo.keys.fill_random(&mut bytes).is_err() {
                return (StatusCode::INTERNAL_SERVER_ERROR, "random generator failed\n").into_response();
            }
            bytes.iter().map(|b| format!("{b:02x}")).collect()
        }
    };
    let hidden: String = params
        .iter()
        .map(|(k, v)| format!("<input type=\"hidden\" name=\"{}\" value=\"{}\">\n", escape(k), escape(v)))
        .collect();
    let scopes: String = consent.scope().iter().map(|s| format!("<li><code>{}</code></li>", escape(s))).collect();
    let message = message.map(|m| format!("<p class=\"error\" role=\"alert\">{}</p>", escape(m))).unwrap_or_default();
    let html = format!(
        r#"<!doctype html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
<title>Sign in to authorize {client}</title>
<style>
body{{font-family:system-ui,sans-serif;background:#f4f5f7;display:flex;justify-content:center;padding:3rem 1rem;margin:0}}
main{{background:#fff;max-width:26rem;width:100%;padding:2rem;border-radius:12px;box-shadow:0 2px 12px #0002}}
h1{{font-size:1.3rem;margin-top:0}} label{{display:block;margin:.8rem 0 .2rem}} input[type=text],input[type=password]{{width:100%;padding:.5rem;box-sizing:border-box}}
.buttons{{display:flex;gap:.6rem;margin-top:1.4rem}} button{{flex:1;padding:.6rem;border-radius:6px;border:1px solid #888;font-size:1rem;cursor:pointer}}
button[value=approve]{{background:#1f6feb;color:#fff;border-color:#1f6feb}} .error{{color:#b00020}} .muted{{color:#555;font-size:.9rem}}
</style></head>
<body><main>
<h1><code>{client}</code> wants access to your account</h1>
<p>It asks for:</p><ul>{scopes}</ul>
<p class="muted">You will be sent back to <code>{redirect}</code>.</p>
{message}
<form method="post" action="/authorize">
{hidden}<input type="hidden" name="csrf" value="{csrf}">
<label for="username">Username</label><input id="username" type="text" name="username" autocomplete="username" required>
<label for="password">Password</label><input id="password" type="password" name="password" autocomplete="current-password">
<div class="buttons"><button type="submit" name="decision" value="deny" formnovalidate>Deny</button>
<button type="submit" name="decision" value="approve">Approve</button></div>
</form></main></body></html>
"#,
        client = escape(consent.client().id().as_str()),
        redirect = escape(consent.redirect_uri()),
    );
    let mut response = (StatusCode::OK, html).into_response();
    let h = response.headers_mut();
    h.insert(header::CONTENT_TYPE, HeaderValue::from_static("text/html; charset=utf-8"));
    h.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    h.insert(header::X_FRAME_OPTIONS, HeaderValue::from_static("DENY"));
    h.insert(header::REFERRER_POLICY, HeaderValue::from_static("no-referrer"));
    h.insert(
        header::CONTENT_SECURITY_POLICY,
        HeaderValue::from_static("default-src 'none'; style-src 'unsafe-inline'; frame-ancestors 'none'"),
    );
    if let Ok(cookie) =
        HeaderValue::from_str(&format!("oauth21_csrf={csrf}; Path=/authorize; HttpOnly; SameSite=Strict"))
    {
        h.insert(header::SET_COOKIE, cookie);
    }
    response
}

fn escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}
