//! Shared fixtures for the comparison benchmarks: the same five operations done by oauth21
//! (through the public `Server` over `MemoryStore`, real randomness from `SystemRandom`), by
//! oxide-auth 0.6 (through its `endpoint` flows over `ClientMap` / `AuthMap` / `TokenMap`), by
//! oauth-as 1.0.1 (through its `http` service over `MemoryStorage`), and by the "floor": only the
//! primitives each operation cannot avoid.
//!
//! Every operation starts from the bytes an HTTP server would hand over (raw query, raw form
//! body, `Authorization` header) and ends with the answer the server would send. For oxide-auth
//! that includes filling its simple request type from those bytes with `url::form_urlencoded`,
//! which is what one of its frontends does; for oauth-as, building the `http::Request` its service
//! takes.

pub mod floor;
pub mod footprint;
pub mod measure;
pub mod oauth;
pub mod oauth_as;
pub mod oxide;
pub mod stages;
pub mod sysload;
pub mod tail;

/// RFC 7636 Appendix B verifier and its S256 challenge, used by every code flow.
pub const VERIFIER: &str = "dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk";
pub const CHALLENGE: &str = "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM";
/// The public client's redirect URI, registered and requested exactly.
pub const REDIRECT: &str = "https://client.example/cb";
pub const REDIRECT_ENCODED: &str = "https%3A%2F%2Fclient.example%2Fcb";
/// The confidential clients' secret: 43 characters, like a generated 256-bit secret.
pub const SECRET: &str = "kJ3mVq8wX1tY6zR0pL5nB2cD7fG9hA4sE8uI1oK6vMx";

/// The authorization request both servers validate (GET query string).
pub fn authorize_query() -> String {
    format!(
        "response_type=code&client_id=app&redirect_uri={REDIRECT_ENCODED}&state=xyz&scope=read\
         &code_challenge={CHALLENGE}&code_challenge_method=S256"
    )
}

/// `Basic base64(id:secret)`.
pub fn basic(id: &str, secret: &str) -> String {
    use base64::Engine as _;
    format!("Basic {}", base64::engine::general_purpose::STANDARD.encode(format!("{id}:{secret}")))
}

/// Polls a future to completion on this thread. MemoryStore's futures are always ready.
pub fn block_on<F: std::future::Future>(f: F) -> F::Output {
    let mut f = std::pin::pin!(f);
    let mut cx = std::task::Context::from_waker(std::task::Waker::noop());
    loop {
        if let std::task::Poll::Ready(v) = f.as_mut().poll(&mut cx) {
            return v;
        }
    }
}

/// The value of `"name":"..."` in a flat JSON object, without a JSON parser (setup helper).
pub fn json_str<'a>(json: &'a str, name: &str) -> Option<&'a str> {
    let key = format!("\"{name}\":\"");
    let start = json.find(&key)? + key.len();
    let len = json[start..].find('"')?;
    Some(&json[start..start + len])
}
