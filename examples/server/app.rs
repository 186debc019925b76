//! The demo authorization server as an axum `Router`: the framework adapter, the login and
//! consent page, and the demo registrations. `main.rs` serves it; the integration tests in
//! `tests/example_server.rs` mount the same router on an ephemeral port.
//!
//! The adapter is the part to copy into another framework: collect the body, convert the
//! `http::Request` into an [`oauth21::Request`] (feature `http`), await the matching
//! [`oauth21::Server`] call, and convert the [`oauth21::Response`] back.

use std::sync::Arc;

use axum::Router;
use axum::body::{Body, Bytes};
use axum::extract::{Request as HttpRequest, State};
use axum::http::{HeaderMap, HeaderValue, Method as HttpMethod, StatusCode, header};
use axum::response::{IntoResponse, Response as HttpResponse};
use axum::routing::{any, get};
use oauth21::jose::{Algorithm, KeySet, SharedKeySet, SigningKey};
use oauth21::jwt::JwtVerifier;
use oauth21::protected_resource::ProtectedResourceMetadata;
use oauth21::provider::Random as _;
use oauth21::{
    AccessTokenFormat, Approval, AuthorizeOutcome, BearerChecker, Client, ConsentRequest, Request, Response, Scope,
    Server, ServerConfig, Subject, SystemClock, SystemRandom,
};

#[path = "clients.rs"]
pub mod clients;
#[path = "device_page.rs"]
mod device_page;
#[path = "log.rs"]
pub mod log;
#[path = "policy.rs"]
pub mod policy;
#[path = "store.rs"]
pub mod store;
pub use clients::{ClientSpec, CorsOrigins, demo_clients};
pub use store::DemoStore;

/// The demo clients' redirect URI (a loopback URI: any port matches).
pub const APP_REDIRECT: &str = "http://127.0.0.1:8765/callback";
/// Largest request body read, in bytes.
const MAX_BODY: usize = 64 * 1024;
/// The consent form's CSRF cookie over http (loopback development) and over https, where the
/// `__Host-` prefix makes the browser refuse it from a sibling subdomain or without `Secure`.
const CSRF_COOKIE: &str = "oauth21_csrf";
const CSRF_COOKIE_HTTPS: &str = "__Host-oauth21_csrf";

/// The demo user accounts: name and password.
pub const USERS: [(&str, &str); 1] = [("alice", "alice-password")];

struct Demo {
    server: Server<DemoStore>,
    /// The protected resource's view: the same store, no authorization server needed.
    api: BearerChecker<DemoStore, SystemClock>,
    /// `/api/me`'s metadata (RFC 9728), which its 401 answers point at.
    api_metadata: ProtectedResourceMetadata,
    keys: SystemRandom,
    /// Signs the consent form's CSRF tokens, so a cookie the server did not issue is refused.
    form_key: ring::hmac::Key,
    /// Whether the issuer is https: the CSRF cookie is then `__Host-` and `Secure`.
    https: bool,
    cors: CorsOrigins,
}

/// What the router needs besides the issuer and the store.
pub struct Options {
    /// The access-token format.
    pub access_tokens: AccessTokenFormat,
    /// The key that signs JWT access tokens (`--signing-key`); `None` generates one for this
    /// process, whose tokens no other instance accepts.
    pub jwt_key: Option<SigningKey>,
    /// The key that signs the consent form's CSRF tokens (the same on every instance).
    pub form_key: [u8; 32],
    /// The browser origins allowed to call `/token` and `/revoke`.
    pub cors: CorsOrigins,
    /// Where security events, failures and requests are logged; `None`: nowhere.
    pub log: Option<Arc<log::Log>>,
    /// Whether DPoP proofs must carry a server nonce (`--dpop-nonces`).
    pub dpop_nonces: bool,
    /// Whether the FAPI 2.0 Security Profile is on (`--fapi2`).
    pub fapi2: bool,
    /// How long a pushed request's `request_uri` lives (`--par-lifetime`; default 60 s).
    pub par_lifetime: Option<time::Duration>,
}

type AppState = Arc<Demo>;

/// The router for an authorization server at `issuer` with `clients` registered in memory,
/// issuing access tokens in `format`.
#[allow(dead_code)] // main.rs goes through `router_on`; tests/example_server.rs calls this.
pub fn router(
    issuer: &str,
    clients: Vec<Client>,
    format: AccessTokenFormat,
) -> Result<Router, Box<dyn std::error::Error>> {
    let mut form_key = [0u8; 32];
    SystemRandom::new().fill_random(&mut form_key)?;
    let cors = CorsOrigins::of(&clients);
    let options = Options {
        access_tokens: format,
        jwt_key: None,
        form_key,
        cors,
        log: None,
        dpop_nonces: false,
        fapi2: false,
        par_lifetime: None,
    };
    router_on(issuer, DemoStore::memory(clients), options)
}

/// The router for an authorization server at `issuer` over `store`, issuing access tokens in
/// `format`. `/api/me` is the protected resource `{issuer}/api/me` (RFC 9728 metadata at
/// `/.well-known/oauth-protected-resource/api/me`), the default audience of every token, so a
/// token asked for without `resource` works there and a token for another resource does not.
/// JWTs are signed with a fresh ES256 key and published at `/jwks.json`; `/api/me` verifies
/// them and still asks the store whether they were revoked. Public clients may register
/// themselves at `/register` (RFC 7591). The key is this process's own: instances sharing one Redis do not accept each
/// other's JWTs at `/api/me` (a deployment gives every instance the same key set).
pub fn router_on(issuer: &str, store: DemoStore, options: Options) -> Result<Router, Box<dyn std::error::Error>> {
    let format = options.access_tokens;
    let resource = format!("{issuer}/api/me");
    let mut config = ServerConfig::builder(issuer).access_token_format(format).device_flow(format!("{issuer}/device"));
    let api_metadata = ProtectedResourceMetadata::new(&resource)?
        .authorization_server(issuer)
        .scopes_supported(["read", "write"])
        .resource_name("oauth21 demo API")
        .dpop(false);
    if options.fapi2 {
        config = config.fapi2_security_profile();
    }
    if let Some(lifetime) = options.par_lifetime {
        config = config.pushed_request_lifetime(lifetime);
    }
    // /api/me is served by this server, so its public URL is the issuer's: a DPoP proof names
    // the issuer plus the path, whatever address the process listens on.
    let mut api = BearerChecker::new(store.clone(), SystemClock, "demo-api")?
        .accept_dpop(issuer)?
        .protected_resource(&api_metadata);
    if options.dpop_nonces {
        // Every instance on one store shares the form key, so they derive the same nonce key.
        let secret: [u8; 32] =
            ring::digest::digest(&ring::digest::SHA256, &[b"dpop-nonces:".as_slice(), &options.form_key].concat())
                .as_ref()
                .try_into()?;
        let step = time::Duration::minutes(5);
        config = config.dpop_nonces(&secret, step);
        api = api.dpop_nonces(oauth21::dpop::NonceKey::new(&secret, step));
    }
    let keys = match format {
        // Opaque tokens asked for without `resource` carry no audience, and /api/me accepts
        // them: so instances started without a shared --issuer (each its own address) still
        // honour each other's tokens. A token for another resource names it, and is refused.
        AccessTokenFormat::Opaque => {
            api = api.accept_tokens_without_audience();
            None
        }
        AccessTokenFormat::Jwt => {
            // JWTs need an audience: /api/me is the default one.
            config = config.access_token_audience(&resource);
            let key = match options.jwt_key {
                Some(key) => key,
                None => {
                    let kid = format!("demo-{}", time::OffsetDateTime::now_utc().unix_timestamp());
                    SigningKey::generate(Algorithm::ES256, kid)?
                }
            };
            let keys = SharedKeySet::new(KeySet::with_active(key));
            api = api.accept_jwt(JwtVerifier::new(keys.clone(), issuer, &resource));
            Some(keys)
        }
        other => return Err(format!("access token format {other:?} is not supported by this server").into()),
    };
    let config = config.build()?;
    let metadata_path = config.metadata_path();
    let jwks_path = config.endpoint_paths().jwks.clone();
    let server = match keys {
        Some(keys) => Server::new(config, store).with_jwt_keys(keys),
        None => Server::new(config, store),
    };
    let hooks = policy::DemoHooks { log: options.log.clone(), api_resource: resource.clone() };
    let server = server.with_hooks(hooks).with_registration(policy::registration)?;
    let api_metadata_path = api_metadata.well_known_path();
    let state = Arc::new(Demo {
        api,
        api_metadata,
        server,
        keys: SystemRandom::new(),
        form_key: ring::hmac::Key::new(ring::hmac::HMAC_SHA256, &options.form_key),
        https: issuer.starts_with("https://"),
        cors: options.cors,
    });
    let router = Router::new()
        .route("/authorize", get(authorize).post(authorize))
        .route("/token", any(token))
        .route("/revoke", any(revoke))
        .route("/par", any(pushed_authorization_request))
        .route("/introspect", any(introspect))
        .route("/register", any(register))
        .route("/device_authorization", any(device_authorization))
        .route("/device", get(device_page::device).post(device_page::device))
        .route(&api_metadata_path, get(protected_resource_metadata))
        .route(&metadata_path, get(metadata))
        .route(&jwks_path, get(jwks))
        .route("/api/me", any(api_me))
        .route("/healthz", get(healthz))
        .with_state(state);
    Ok(match options.log {
        Some(log) => router.layer(axum::middleware::from_fn_with_state(log, log::requests)),
        None => router,
    })
}

/// For the load balancer: 200 when the store answers, 503 when it does not. No detail in the
/// body (the log has the failure).
async fn healthz(State(demo): State<AppState>) -> HttpResponse {
    match demo.server.store().probe().await {
        Ok(()) => (StatusCode::OK, "ok\n").into_response(),
        Err(_) => (StatusCode::SERVICE_UNAVAILABLE, "store unavailable\n").into_response(),
    }
}

/// Collects the body so the core can borrow the whole request.
async fn collect(request: HttpRequest) -> Result<axum::http::Request<Bytes>, HttpResponse> {
    let (parts, body) = request.into_parts();
    match axum::body::to_bytes(body, MAX_BODY).await {
        Ok(bytes) => Ok(axum::http::Request::from_parts(parts, bytes)),
        Err(_) => Err((StatusCode::PAYLOAD_TOO_LARGE, "request body too large\n").into_response()),
    }
}

/// Copies the core's answer into an axum response.
fn http_response(response: Response) -> HttpResponse {
    axum::http::Response::<Vec<u8>>::from(response).map(Body::from)
}

/// The endpoints browser-based clients call with `fetch`, so they answer CORS preflights.
#[derive(Clone, Copy)]
enum BrowserEndpoint {
    Token,
    Revoke,
    PushedRequest,
}

async fn token(State(demo): State<AppState>, request: HttpRequest) -> HttpResponse {
    browser_endpoint(&demo, request, BrowserEndpoint::Token).await
}

async fn revoke(State(demo): State<AppState>, request: HttpRequest) -> HttpResponse {
    browser_endpoint(&demo, request, BrowserEndpoint::Revoke).await
}

/// `POST /par` (RFC 9126): a browser-based public client may push too, so CORS as at `/token`.
async fn pushed_authorization_request(State(demo): State<AppState>, request: HttpRequest) -> HttpResponse {
    browser_endpoint(&demo, request, BrowserEndpoint::PushedRequest).await
}

/// Answers the preflight, or passes the request to the core and marks the answer for an
/// allowed origin.
async fn browser_endpoint(demo: &Demo, request: HttpRequest, endpoint: BrowserEndpoint) -> HttpResponse {
    let origin = allowed_origin(demo, request.headers());
    if request.method() == HttpMethod::OPTIONS {
        return preflight(origin, request.headers());
    }
    let request = match collect(request).await {
        Ok(request) => request,
        Err(response) => return response,
    };
    let request = Request::from(&request);
    let response = match endpoint {
        BrowserEndpoint::Token => demo.server.token(&request).await,
        BrowserEndpoint::Revoke => demo.server.revoke(&request).await,
        BrowserEndpoint::PushedRequest => demo.server.pushed_authorization_request(&request).await,
    };
    with_cors(http_response(response), origin)
}

/// The request's `Origin`, when it is one of the registered clients' (a browser-based client).
fn allowed_origin(demo: &Demo, headers: &HeaderMap) -> Option<HeaderValue> {
    let mut values = headers.get_all(header::ORIGIN).iter();
    let origin = values.next()?;
    if values.next().is_some() {
        return None;
    }
    origin.to_str().ok().filter(|o| demo.cors.allows(o)).map(|_| origin.clone())
}

/// Answers a CORS preflight: allowed for a registered client's origin asking to POST, with no
/// credentials mode (the token endpoint needs no cookies); refused with 403 otherwise.
fn preflight(origin: Option<HeaderValue>, headers: &HeaderMap) -> HttpResponse {
    let wants_post = headers.get(header::ACCESS_CONTROL_REQUEST_METHOD).is_some_and(|m| m == "POST");
    let Some(origin) = origin.filter(|_| wants_post) else {
        return (StatusCode::FORBIDDEN, "cross-origin request not allowed\n").into_response();
    };
    let mut response = StatusCode::NO_CONTENT.into_response();
    let h = response.headers_mut();
    h.insert(header::ACCESS_CONTROL_ALLOW_ORIGIN, origin);
    h.insert(header::ACCESS_CONTROL_ALLOW_METHODS, HeaderValue::from_static("POST"));
    h.insert(header::ACCESS_CONTROL_ALLOW_HEADERS, HeaderValue::from_static("authorization, content-type, dpop"));
    h.insert(header::ACCESS_CONTROL_EXPOSE_HEADERS, HeaderValue::from_static("dpop-nonce"));
    h.insert(header::ACCESS_CONTROL_MAX_AGE, HeaderValue::from_static("600"));
    h.insert(header::VARY, HeaderValue::from_static("Origin"));
    response
}

/// Lets the allowed origin read the answer (errors included, so the client learns why).
fn with_cors(mut response: HttpResponse, origin: Option<HeaderValue>) -> HttpResponse {
    let h = response.headers_mut();
    h.insert(header::VARY, HeaderValue::from_static("Origin"));
    if let Some(origin) = origin {
        h.insert(header::ACCESS_CONTROL_ALLOW_ORIGIN, origin);
        // A browser client reads the next DPoP nonce from the answer.
        h.insert(header::ACCESS_CONTROL_EXPOSE_HEADERS, HeaderValue::from_static("dpop-nonce"));
    }
    response
}

async fn introspect(State(demo): State<AppState>, request: HttpRequest) -> HttpResponse {
    let request = match collect(request).await {
        Ok(request) => request,
        Err(response) => return response,
    };
    http_response(demo.server.introspect(&Request::from(&request)).await)
}

/// `POST /device_authorization` (RFC 8628): a device asks for a user code.
async fn device_authorization(State(demo): State<AppState>, request: HttpRequest) -> HttpResponse {
    let request = match collect(request).await {
        Ok(request) => request,
        Err(response) => return response,
    };
    http_response(demo.server.device_authorization(&Request::from(&request)).await)
}

/// `POST /register` (RFC 7591): open to public clients, under [`policy::registration`].
/// Browser-based MCP clients register with `fetch`, so it answers CORS for any origin: it
/// takes no cookies and creates only public clients.
async fn register(State(demo): State<AppState>, request: HttpRequest) -> HttpResponse {
    if request.method() == HttpMethod::OPTIONS {
        return any_origin(StatusCode::NO_CONTENT.into_response(), true);
    }
    let request = match collect(request).await {
        Ok(request) => request,
        Err(response) => return response,
    };
    any_origin(http_response(demo.server.register(&Request::from(&request)).await), false)
}

/// `/api/me`'s protected-resource metadata: public, readable from any origin.
async fn protected_resource_metadata(State(demo): State<AppState>) -> HttpResponse {
    any_origin(http_response(demo.api_metadata.response()), false)
}

/// Marks a public answer readable from any origin (and answers a preflight for a JSON POST).
fn any_origin(mut response: HttpResponse, preflight: bool) -> HttpResponse {
    let h = response.headers_mut();
    h.insert(header::ACCESS_CONTROL_ALLOW_ORIGIN, HeaderValue::from_static("*"));
    if preflight {
        h.insert(header::ACCESS_CONTROL_ALLOW_METHODS, HeaderValue::from_static("POST"));
        h.insert(header::ACCESS_CONTROL_ALLOW_HEADERS, HeaderValue::from_static("authorization, content-type"));
        h.insert(header::ACCESS_CONTROL_MAX_AGE, HeaderValue::from_static("600"));
    }
    response
}

async fn metadata(State(demo): State<AppState>) -> HttpResponse {
    http_response(demo.server.metadata())
}

async fn jwks(State(demo): State<AppState>) -> HttpResponse {
    http_response(demo.server.jwks())
}

/// A protected resource: needs a bearer token with scope `read`; answers who it belongs to.
async fn api_me(State(demo): State<AppState>, request: HttpRequest) -> HttpResponse {
    let request = match collect(request).await {
        Ok(request) => request,
        Err(response) => return response,
    };
    let Ok(read) = Scope::parse("read") else { return StatusCode::INTERNAL_SERVER_ERROR.into_response() };
    match demo.api.check(&Request::from(&request), &read).await {
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
async fn authorize(State(demo): State<AppState>, request: HttpRequest) -> HttpResponse {
    let request = match collect(request).await {
        Ok(request) => request,
        Err(response) => return response,
    };
    let consent = match demo.server.authorize(&Request::from(&request)).await {
        AuthorizeOutcome::Consent(consent) => consent,
        AuthorizeOutcome::Error { error, response } if !response.is_redirect() => {
            // Never redirected (unknown client, bad redirect URI, unreadable request): tell the
            // user, who is the only one who will see it.
            return error_page(response.status(), &error.to_string());
        }
        AuthorizeOutcome::Error { response, .. } => return http_response(response),
        // An outcome a later version of the crate adds and this server does not handle yet.
        _ => return error_page(500, "This authorization request cannot be handled by this server."),
    };
    let post = request.method() == axum::http::Method::POST;
    // The host's own fields (the OAuth parameters come back through `consent.form_fields()`).
    let fields: Vec<(String, String)> =
        if post { serde_urlencoded::from_bytes(request.body()).unwrap_or_default() } else { Vec::new() };
    let field = |name: &str| fields.iter().find(|(k, _)| k == name).map(|(_, v)| v.as_str());

    let cookie = csrf_cookie(&demo, request.headers());
    let page = |message| consent_page(&demo, &consent, cookie.as_deref(), message);
    if !post {
        return page(None);
    }
    // Double-submit CSRF check: the form field must equal the SameSite=Strict cookie set with
    // the page, which a cross-site form post can neither read nor send; and the cookie must be
    // one this server signed, so a cookie planted by a sibling site is worth nothing.
    let csrf_ok = matches!((cookie.as_deref(), field("csrf")), (Some(c), Some(f)) if constant_time_eq(c, f));
    if !csrf_ok {
        return error_page(403, "The form expired or was not sent from this server. Start again from the application.");
    }
    match field("decision") {
        Some("deny") => http_response(demo.server.deny(&consent).await),
        Some("approve") => {
            let user = field("username").unwrap_or("");
            let password = field("password").unwrap_or("");
            let known = USERS.iter().any(|(u, p)| constant_time_eq(u, user) & constant_time_eq(p, password));
            let Some(subject) = known.then(|| Subject::new(user).ok()).flatten() else {
                return page(Some("Wrong username or password."));
            };
            match demo.server.approve(&consent, Approval::new(subject)).await {
                Ok(approved) => http_response(approved.into_response()),
                Err(e) => error_page(500, &e.to_string()),
            }
        }
        _ => page(Some("Choose approve or deny.")),
    }
}

/// The CSRF cookie, when it is one this server issued (its signature checks out).
fn csrf_cookie(demo: &Demo, headers: &HeaderMap) -> Option<String> {
    let prefix = format!("{}=", if demo.https { CSRF_COOKIE_HTTPS } else { CSRF_COOKIE });
    headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .find_map(|c| c.trim().strip_prefix(prefix.as_str()).map(str::to_owned))
        .filter(|token| csrf_token_is_ours(demo, token))
}

/// A new CSRF token: 16 random bytes and their HMAC-SHA256 under the form key, in hex.
fn new_csrf_token(demo: &Demo) -> Option<String> {
    let mut nonce = [0u8; 16];
    demo.keys.fill_random(&mut nonce).ok()?;
    let tag = ring::hmac::sign(&demo.form_key, &nonce);
    Some(nonce.iter().chain(tag.as_ref()).map(|b| format!("{b:02x}")).collect())
}

fn csrf_token_is_ours(demo: &Demo, token: &str) -> bool {
    if token.len() != 96 || !token.bytes().all(|b| b.is_ascii_hexdigit()) {
        return false;
    }
    let bytes: Vec<u8> = (0..48).filter_map(|i| u8::from_str_radix(&token[2 * i..2 * i + 2], 16).ok()).collect();
    ring::hmac::verify(&demo.form_key, &bytes[..16], &bytes[16..]).is_ok()
}

fn constant_time_eq(a: &str, b: &str) -> bool {
    a.len() == b.len() && a.bytes().zip(b.bytes()).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

const STYLE: &str = "body{font-family:system-ui,sans-serif;background:#f4f5f7;display:flex;justify-content:center;\
padding:3rem 1rem;margin:0}main{background:#fff;max-width:26rem;width:100%;padding:2rem;border-radius:12px;\
box-shadow:0 2px 12px #0002}.done{color:#0a6b2d}h1{font-size:1.3rem;margin-top:0}label{display:block;margin:.8rem 0 .2rem}\
input[type=text],input[type=password]{width:100%;padding:.5rem;box-sizing:border-box}\
.buttons{display:flex;gap:.6rem;margin-top:1.4rem}button{flex:1;padding:.6rem;border-radius:6px;\
border:1px solid #888;font-size:1rem;cursor:pointer}button[value=approve]{background:#1f6feb;color:#fff;\
border-color:#1f6feb}.error{color:#b00020}.muted{color:#555;font-size:.9rem}";

/// Headers every page gets: no caching, no framing (SEC-05), nothing loaded from elsewhere.
fn page_response(status: u16, html: String) -> HttpResponse {
    let mut response = (StatusCode::from_u16(status).unwrap_or(StatusCode::BAD_REQUEST), html).into_response();
    let h = response.headers_mut();
    h.insert(header::CONTENT_TYPE, HeaderValue::from_static("text/html; charset=utf-8"));
    h.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    h.insert(header::X_FRAME_OPTIONS, HeaderValue::from_static("DENY"));
    h.insert(header::REFERRER_POLICY, HeaderValue::from_static("no-referrer"));
    h.insert(
        header::CONTENT_SECURITY_POLICY,
        HeaderValue::from_static("default-src 'none'; style-src 'unsafe-inline'; frame-ancestors 'none'"),
    );
    response
}

fn error_page(status: u16, message: &str) -> HttpResponse {
    let html = format!(
        "<!doctype html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">\
         <meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\
         <title>Authorization failed</title><style>{STYLE}</style></head>\n<body><main>\
         <h1>This authorization request cannot be completed</h1><p class=\"error\" role=\"alert\">{}</p>\
         <p class=\"muted\">You were not sent back to the application, because its request could not be \
         trusted. Return to the application and try again.</p></main></body></html>\n",
        escape(message)
    );
    page_response(status, html)
}

fn consent_page(
    demo: &Demo,
    consent: &ConsentRequest,
    existing_csrf: Option<&str>,
    message: Option<&str>,
) -> HttpResponse {
    // Keep the browser's token if it has one, so a re-rendered form or a second tab stays valid.
    let csrf = match existing_csrf.map(str::to_owned).or_else(|| new_csrf_token(demo)) {
        Some(token) => token,
        None => return error_page(500, "The server could not create a form token."),
    };
    let hidden: String = consent
        .form_fields()
        .map(|(k, v)| format!("<input type=\"hidden\" name=\"{}\" value=\"{}\">\n", escape(k), escape(v)))
        .collect();
    let scopes: String = consent.scope().iter().map(|s| format!("<li><code>{}</code></li>", escape(s))).collect();
    let resources: String =
        consent.resources().iter().map(|r| format!("<li><code>{}</code></li>", escape(r.as_str()))).collect();
    let resources = if resources.is_empty() { resources } else { format!("<p>At:</p><ul>{resources}</ul>") };
    // A registered client names itself: shown as its claim, beside the id nobody can choose.
    let name = consent.client().display().client_name.as_deref().map_or(String::new(), |name| {
        format!("<p class=\"muted\">It calls itself &ldquo;{}&rdquo; (not verified).</p>", escape(name))
    });
    let message = message.map(|m| format!("<p class=\"error\" role=\"alert\">{}</p>", escape(m))).unwrap_or_default();
    let html = format!(
        r#"<!doctype html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
<title>Sign in to authorize {client}</title><style>{STYLE}</style></head>
<body><main>
<h1><code>{client}</code> wants access to your account</h1>
{name}<p>It asks for:</p><ul>{scopes}</ul>{resources}
<p class="muted">You will be sent back to <code>{redirect}</code>.</p>
{message}
<form method="post" action="/authorize">
{hidden}<input type="hidden" name="csrf" value="{csrf}">
<label for="username">Username</label><input id="username" type="text" name="username" autocomplete="username">
<label for="password">Password</label><input id="password" type="password" name="password" autocomplete="current-password">
<div class="buttons"><button type="submit" name="decision" value="deny">Deny</button>
<button type="submit" name="decision" value="approve">Approve</button></div>
</form></main></body></html>
"#,
        client = escape(consent.client().id().as_str()),
        redirect = escape(consent.redirect_uri()),
    );
    let mut response = page_response(200, html);
    let cookie = if demo.https {
        // `__Host-` requires Secure and Path=/ and forbids Domain: only this exact host sets it.
        format!("{CSRF_COOKIE_HTTPS}={csrf}; Path=/; Secure; HttpOnly; SameSite=Strict")
    } else {
        format!("{CSRF_COOKIE}={csrf}; Path=/authorize; HttpOnly; SameSite=Strict")
    };
    if let Ok(cookie) = HeaderValue::from_str(&cookie) {
        response.headers_mut().insert(header::SET_COOKIE, cookie);
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
