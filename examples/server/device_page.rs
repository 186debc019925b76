//! The device flow's verification page (RFC 8628 §3.3): where a user types the code a TV or a
//! CLI shows, signs in, and approves or denies. One form; the CSRF token as on the consent page;
//! wrong codes counted per client address by the core's limiter, which answers 429 once an
//! address has made too many.

use std::net::SocketAddr;

use axum::extract::{ConnectInfo, Request as HttpRequest, State};
use axum::http::{HeaderValue, header};
use axum::response::Response as HttpResponse;
use oauth21::{Approval, DeviceConsent, DeviceDecisionError, DeviceVerificationError, Subject};

use super::{AppState, Demo, USERS, collect, constant_time_eq, csrf_cookie, escape, new_csrf_token, page_response};

/// What the page says above the form, and with which status.
struct Notice {
    status: u16,
    text: &'static str,
    error: bool,
}

/// `GET /device[?user_code=...]` shows the form (pre-filled from `verification_uri_complete`);
/// `POST /device` checks the CSRF token, looks the code up, and records the decision.
pub async fn device(State(demo): State<AppState>, request: HttpRequest) -> HttpResponse {
    // Who is typing, for the limiter: the peer address (behind a proxy, configure the proxy to
    // limit too, or key on its forwarded address here).
    let source = request
        .extensions()
        .get::<ConnectInfo<SocketAddr>>()
        .map_or_else(|| "unknown-address".to_owned(), |ConnectInfo(peer)| peer.ip().to_string());
    let request = match collect(request).await {
        Ok(request) => request,
        Err(response) => return response,
    };
    let cookie = csrf_cookie(&demo, request.headers());
    if request.method() != axum::http::Method::POST {
        let query: Vec<(String, String)> =
            serde_urlencoded::from_str(request.uri().query().unwrap_or("")).unwrap_or_default();
        let code = query.iter().find(|(k, _)| k == "user_code").map_or("", |(_, v)| v.as_str());
        return page(&demo, cookie.as_deref(), code, None);
    }
    let fields: Vec<(String, String)> = serde_urlencoded::from_bytes(request.body()).unwrap_or_default();
    let field = |name: &str| fields.iter().find(|(k, _)| k == name).map_or("", |(_, v)| v.as_str());
    let csrf_ok = matches!(cookie.as_deref(), Some(c) if constant_time_eq(c, field("csrf")));
    if !csrf_ok {
        let notice = Notice { status: 403, text: "The form expired. Enter the code again.", error: true };
        return page(&demo, cookie.as_deref(), field("user_code"), Some(notice));
    }
    let code = field("user_code");
    let again = |notice| page(&demo, cookie.as_deref(), code, Some(notice));
    let consent = match demo.server.device_verification(code, &source).await {
        Ok(consent) => consent,
        Err(DeviceVerificationError::TooManyAttempts) => {
            return again(Notice {
                status: 429,
                text: "Too many attempts. Wait a while, then try again.",
                error: true,
            });
        }
        Err(DeviceVerificationError::UnknownCode) => {
            return again(Notice {
                status: 400,
                text: "That code is not valid. Check the code on your device; it may have expired.",
                error: true,
            });
        }
        Err(_) => return again(Notice { status: 503, text: "Please try again in a moment.", error: true }),
    };
    match field("decision") {
        "deny" => decided(&demo, cookie.as_deref(), demo.server.deny_device(&consent).await, false),
        "approve" => {
            let (user, password) = (field("username"), field("password"));
            let known = USERS.iter().any(|(u, p)| constant_time_eq(u, user) & constant_time_eq(p, password));
            let Some(subject) = known.then(|| Subject::new(user).ok()).flatten() else {
                return again(Notice { status: 200, text: "Wrong username or password.", error: true });
            };
            decided(&demo, cookie.as_deref(), demo.server.approve_device(&consent, Approval::new(subject)).await, true)
        }
        _ => shown(&demo, cookie.as_deref(), &consent),
    }
}

/// The page after a decision.
fn decided(demo: &Demo, cookie: Option<&str>, result: Result<(), DeviceDecisionError>, approved: bool) -> HttpResponse {
    let notice = match (result, approved) {
        (Ok(()), true) => {
            Notice { status: 200, text: "Approved. Return to your device: it signs in now.", error: false }
        }
        (Ok(()), false) => Notice { status: 200, text: "Denied. The device will not get access.", error: false },
        (Err(DeviceDecisionError::NotPending), _) => {
            Notice { status: 409, text: "This request was already decided, or it expired.", error: true }
        }
        (Err(_), _) => Notice { status: 503, text: "Please try again in a moment.", error: true },
    };
    page(demo, cookie, "", Some(notice))
}

/// The form again, with the code found, when neither button was pressed.
fn shown(demo: &Demo, cookie: Option<&str>, consent: &DeviceConsent) -> HttpResponse {
    let notice = Notice { status: 200, text: "Choose approve or deny.", error: true };
    page(demo, cookie, consent.user_code(), Some(notice))
}

fn page(demo: &Demo, existing_csrf: Option<&str>, code: &str, notice: Option<Notice>) -> HttpResponse {
    let Some(csrf) = existing_csrf.map(str::to_owned).or_else(|| new_csrf_token(demo)) else {
        return page_response(500, "The server could not create a form token.".into());
    };
    let (status, message) = match notice {
        Some(Notice { status, text, error }) => {
            let class = if error { "error" } else { "done" };
            (status, format!("<p class=\"{class}\" role=\"alert\">{}</p>", escape(text)))
        }
        None => (200, String::new()),
    };
    let html = format!(
        r#"<!doctype html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
<title>Connect a device</title><style>{style}</style></head>
<body><main>
<h1>Connect a device</h1>
<p>Enter the code your device shows, sign in, and approve.</p>
{message}
<form method="post" action="/device">
<input type="hidden" name="csrf" value="{csrf}">
<label for="user_code">Code</label><input id="user_code" type="text" name="user_code" value="{code}" autocomplete="off" autocapitalize="characters">
<label for="username">Username</label><input id="username" type="text" name="username" autocomplete="username">
<label for="password">Password</label><input id="password" type="password" name="password" autocomplete="current-password">
<div class="buttons"><button type="submit" name="decision" value="deny">Deny</button>
<button type="submit" name="decision" value="approve">Approve</button></div>
</form></main></body></html>
"#,
        style = super::STYLE,
        code = escape(code),
    );
    let mut response = page_response(status, html);
    let cookie = if demo.https {
        format!("{}={csrf}; Path=/; Secure; HttpOnly; SameSite=Strict", super::CSRF_COOKIE_HTTPS)
    } else {
        format!("{}={csrf}; Path=/device; HttpOnly; SameSite=Strict", super::CSRF_COOKIE)
    };
    if let Ok(cookie) = HeaderValue::from_str(&cookie) {
        response.headers_mut().insert(header::SET_COOKIE, cookie);
    }
    response
}
