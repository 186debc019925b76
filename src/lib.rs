//! # oauth21
//!
//! An embeddable, sans-IO OAuth 2.1 authorization-server core. It makes every protocol decision
//! (what a request means, whether it is allowed, what to store, what to answer) and no I/O: your
//! web framework hands it a [`Request`] and sends back the [`Response`] it returns. Time,
//! randomness, signing keys and storage are yours to supply, through [`Clock`], [`Random`],
//! [`jose::JwtSigner`] and [`Store`].
//!
//! Secure by default: PKCE with S256 for every client, exact redirect URI matching (with the
//! loopback-port exception of RFC 8252), single-use 60-second codes consumed atomically, `iss`
//! on every authorization response, 256-bit tokens stored only as SHA-256 digests, secrets that
//! never print. Every leniency is a named opt-in.
//!
//! ## The flow
//!
//! ```
//! use oauth21::{
//!     Approval, AuthorizeOutcome, Client, GrantType, ManualClock, MemoryStore, Request, Server,
//!     ServerConfig, Subject, SystemRandom,
//! };
//! # fn block_on<F: std::future::Future>(f: F) -> F::Output {
//! #     let mut f = std::pin::pin!(f);
//! #     let mut cx = std::task::Context::from_waker(std::task::Waker::noop());
//! #     loop { if let std::task::Poll::Ready(v) = f.as_mut().poll(&mut cx) { return v; } }
//! # }
//! # block_on(async {
//! // Configuration, a store with one public client, a fixed clock.
//! let config = ServerConfig::builder("https://as.example").build()?;
//! let store = MemoryStore::new();
//! store.insert_client(
//!     Client::public("my-app")
//!         .redirect_uri("http://127.0.0.1/callback")
//!         .grant_types([GrantType::AuthorizationCode, GrantType::RefreshToken])
//!         .scope("read write")
//!         .build()?,
//! );
//! let clock = ManualClock::at_unix(1_700_000_000);
//! let server = Server::with_providers(config, store, clock, SystemRandom::new());
//!
//! // 1. The browser arrives at the authorization endpoint (RFC 7636 App. B challenge).
//! let query = "response_type=code&client_id=my-app&state=xyz&scope=read\
//!     &redirect_uri=http%3A%2F%2F127.0.0.1%3A51004%2Fcallback\
//!     &code_challenge=E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM&code_challenge_method=S256";
//! let AuthorizeOutcome::Consent(consent) = server.authorize(&Request::get(query)).await else {
//!     panic!("valid request")
//! };
//! assert_eq!(consent.scope().to_string(), "read");
//!
//! // 2. The host signs the user in and asks for consent; the user approves.
//! let approved = server.approve(&consent, Approval::new(Subject::new("alice")?)).await?;
//! assert!(approved.grant_id().is_some());
//! let redirect = approved.into_response();
//! assert_eq!(redirect.status(), 302);
//! let location = redirect.location().unwrap();
//! assert!(location.starts_with("http://127.0.0.1:51004/callback?code="));
//! assert!(location.contains("&state=xyz&iss=https%3A%2F%2Fas.example"));
//! let code = location.split(['?', '&']).find_map(|p| p.strip_prefix("code=")).unwrap();
//!
//! // 3. The client redeems the code with its PKCE verifier.
//! let body = format!(
//!     "grant_type=authorization_code&client_id=my-app&code={code}\
//!      &redirect_uri=http%3A%2F%2F127.0.0.1%3A51004%2Fcallback\
//!      &code_verifier=dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk"
//! );
//! let response = server.token(&Request::form_post(body.as_bytes())).await;
//! assert_eq!(response.status(), 200);
//! assert_eq!(response.header("Cache-Control"), Some("no-store"));
//! let json: serde_json::Value = serde_json::from_slice(response.body())?;
//! assert_eq!(json["token_type"], "Bearer");
//! assert_eq!(json["scope"], "read");
//! assert!(json["refresh_token"].is_string());
//!
//! // The code works once (AC-03).
//! let again = server.token(&Request::form_post(body.as_bytes())).await;
//! assert_eq!(again.status(), 400);
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! # }).unwrap();
//! ```
//!
//! ## Layers
//!
//! - The **protocol layer** is pure functions and values, one module per endpoint and grant:
//!   [`authorize`], [`token`], [`pkce`], [`client`]. It never touches a store.
//! - The **server layer**, [`Server`], drives it over your [`Store`], [`Clock`] and [`Random`]: one
//!   async call per endpoint. Its futures are `Send` when the store's are.
//! - **Edges**: [`Request`] borrows the method, raw query, raw body and the `Authorization` and
//!   `Content-Type` headers from your framework's request; [`Response`] is status, headers, body.
//! - **Storage**: the [`Store`] trait and its contract (single-use codes, grant revocation) in
//!   [`store`]; [`MemoryStore`] is the embedded implementation.
//! - **Providers**: [`SystemClock`] and [`SystemRandom`] are the only readers of the system clock
//!   and random generator; [`UserspaceRandom`] (the default) expands seeds from the latter with
//!   ChaCha20; [`ManualClock`] is for tests.
//! - **JWT access tokens** (RFC 9068): [`jose`] signs and strictly verifies JWS with `ring`
//!   (EdDSA, ES256, RS256) and keeps rotatable key sets and their JWKS; [`jwt`] has the claims
//!   and [`jwt::JwtVerifier`] for resource servers. Choose the format with
//!   [`ServerConfigBuilder::access_token_format`]; keys come from [`Server::with_jwt_keys`] (a
//!   [`jose::JwtSigner`], which may be asynchronous, and [`jose::VerificationKeys`]).
//!
//! ## Guides
//!
//! - [`guide::integration`]: wrapping the core in a web framework (axum, actix-web, any other),
//!   the consent page, CORS, protected resources, storage.
//! - [`guide::security`]: threats and defences, client authentication, JOSE pitfalls, and what
//!   the host must do.
//!
//! The repository's `docs/architecture.md` and `docs/conformance.md` hold the design and the
//! rule-by-rule status against the checklist.
//!
//! ## Dependencies in the API
//!
//! Instants and durations are [`time`]'s `OffsetDateTime` and `Duration` (re-exported as
//! [`oauth21::time`](crate::time)), because stored records carry Unix timestamps and lifetimes
//! need calendar-free durations; `time` 0.3 is then part of this crate's public API, and a
//! move to its next major version is a breaking release of this crate.

#![forbid(unsafe_code)]
#![deny(missing_docs)]

mod audience;
pub mod authorize;
pub mod bearer;
mod bytes;
pub mod client;
pub mod config;
pub mod device;
pub mod dpop;
pub mod error;
pub mod hooks;
mod http;
mod introspect;
pub mod jose;
pub mod jwt;
mod memory;
mod metadata;
mod par;
pub mod pkce;
pub mod protected_resource;
pub mod provider;
pub mod registration;
mod revoke;
mod server;
pub mod store;
#[cfg(test)]
mod test_support;
#[cfg(feature = "testing")]
pub mod testing;
pub mod token;
pub mod types;

/// The guides from the repository's `docs/` folder, here so that they are read beside the API.
pub mod guide {
    #[doc = include_str!("../docs/integration.md")]
    pub mod integration {}
    #[doc = include_str!("../docs/security.md")]
    pub mod security {}
}

/// The `time` crate, whose `OffsetDateTime` and `Duration` appear in this crate's API.
pub use time;

pub use authorize::{Approval, ApprovalError, Approved, AuthorizeError, AuthorizeOutcome, ConsentRequest};
pub use bearer::{BearerChecker, BearerError};
pub use client::{
    AuthMethod, Client, ClientAuthError, ClientBuilder, ClientDisplay, ClientKeys, ClientKind, GrantType, RedirectUri,
    RegistrationError,
};
pub use config::AccessTokenFormat;
pub use config::{AssertionAudience, ConfigError, EndpointPaths, ServerConfig, ServerConfigBuilder};
pub use error::ErrorCode;
pub use hooks::{Hooks, SecurityEvent};
pub use http::{Headers, Method, ParamError, Request, Response};
pub use memory::MemoryStore;
pub use metadata::{Metadata, ReservedMember};
pub use pkce::{CodeChallenge, CodeVerifier};
pub use provider::{Clock, ManualClock, Random, SystemClock, SystemRandom, UserspaceRandom};
pub use server::{DeviceConsent, DeviceDecisionError, DeviceVerificationError, MissingCapabilities, Server};
pub use store::{Store, StoreError, StoreErrorKind};
pub use token::TokenError;
pub use types::{
    AccessToken, AuthorizationCode, ClientId, ClientSecret, GrantId, Issuer, RefreshToken, Resource, Scope, Subject,
    TokenHash,
};

/// The README's code examples, compiled as doctests so they cannot drift from the API.
#[cfg(doctest)]
#[doc = include_str!("../README.md")]
pub struct ReadmeDoctests;
