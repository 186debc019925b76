//! The host's hooks into the server: security events, the brute-force limiter (SEC-06), and
//! verification of secrets stored under the host's own slow hash.
//!
//! No logging crate inside: events go to [`Hooks::report`], and no secret ever appears in one.

use std::future::Future;
use std::pin::Pin;
use std::task::{Context, Poll};

use crate::client::{AuthFailure, Client};
use crate::jose::JoseError;
use crate::store::StoreError;
use crate::types::{ClientId, ClientSecret, GrantId, Resource, Subject};

/// Something security-relevant happened. Carries identifiers only, never a code, token or
/// secret.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum SecurityEvent {
    /// An authorization code was presented again with valid bindings; its grant was revoked
    /// (AC-04). A sign of a stolen code, or of a client that retries redemptions.
    CodeReplay {
        /// The client the code was issued to.
        client_id: ClientId,
        /// The revoked grant.
        grant_id: GrantId,
        /// The resource owner.
        subject: Subject,
    },
    /// A rotated-out refresh token was presented again; its family was revoked (RT-07). A
    /// sign of a stolen refresh token.
    RefreshTokenReplay {
        /// The client the token was issued to.
        client_id: ClientId,
        /// The revoked grant.
        grant_id: GrantId,
        /// The resource owner.
        subject: Subject,
    },
    /// A wrong user code was entered at the device verification step (DG-03), by `source`
    /// (the host's name for who typed it: an address, a session). Counted by the built-in
    /// limiter; a host's shared limiter counts it here.
    UserCodeMiss {
        /// Who typed it, as the host named them.
        source: String,
    },
    /// A client registered itself through dynamic registration (RFC 7591).
    ClientRegistered {
        /// The new client's id.
        client_id: ClientId,
    },
    /// Client authentication failed at the token endpoint.
    ClientAuthenticationFailed {
        /// The client id claimed, when one could be read.
        client_id: Option<ClientId>,
        /// What failed.
        reason: AuthFailure,
    },
}

/// A failure inside the server that the client only sees as `server_error` (500) or
/// `temporarily_unavailable` (503), reported to [`Hooks::failure`] with its cause so an operator
/// can learn why. Carries no secret.
#[derive(Debug)]
#[non_exhaustive]
pub enum Failure<'a> {
    /// A store operation failed; `error` keeps the store's cause
    /// ([`std::error::Error::source`]).
    Store {
        /// The [`Store`](crate::Store) method, e.g. `"insert_grant"`.
        operation: &'static str,
        /// What the store returned.
        error: &'a StoreError,
    },
    /// The random source failed; nothing was issued.
    Random,
    /// Signing a JWT access token failed (a remote signer's error, a key that vanished).
    Signing {
        /// What the signer returned.
        error: &'a JoseError,
    },
    /// Access tokens are JWTs for this client, but the server has no signer
    /// ([`Server::with_jwt_keys`](crate::Server::with_jwt_keys) was not called).
    NoSigner,
}

/// What the host plugs into the server. Every method has a default, so implement only what you
/// need; `()` is the no-op set, and any `Fn(&SecurityEvent) + Send + Sync` closure is an event
/// sink with the other defaults.
///
/// The trait is object-safe: the server holds its hooks as an `Arc<dyn Hooks>`, so a server
/// with a closure for hooks still has a type a host can name (`Server<MyStore>`). The
/// asynchronous answers are [`HookFuture`]s: ready values cost nothing, and a hook that waits
/// (a shared rate limiter, a slow hash on a worker pool) boxes its future.
///
/// ```
/// use oauth21::hooks::{Hooks, SecurityEvent};
/// let sink = |event: &SecurityEvent| eprintln!("security event: {event:?}");
/// fn takes(_: impl Hooks) {}
/// takes(sink);
/// ```
///
/// A brute-force limiter (SEC-06) implements [`Hooks::allow_secret_check`] and counts
/// [`SecurityEvent::ClientAuthenticationFailed`] in [`Hooks::report`]:
///
/// ```
/// use std::collections::HashMap;
/// use std::sync::Mutex;
/// use oauth21::ClientId;
/// use oauth21::hooks::{HookFuture, Hooks, SecurityEvent};
///
/// #[derive(Default)]
/// struct Limiter { failures: Mutex<HashMap<ClientId, u32>> }
///
/// impl Hooks for Limiter {
///     fn report(&self, event: &SecurityEvent) {
///         if let SecurityEvent::ClientAuthenticationFailed { client_id: Some(id), .. } = event {
///             *self.failures.lock().unwrap().entry(id.clone()).or_default() += 1;
///         }
///     }
///     fn allow_secret_check(&self, client_id: &ClientId) -> HookFuture<'_, bool> {
///         HookFuture::ready(self.failures.lock().unwrap().get(client_id).copied().unwrap_or(0) < 5)
///     }
/// }
/// ```
pub trait Hooks: Send + Sync {
    /// Reports one event. Called inline, so it should return quickly (queue the event if it
    /// needs I/O). Default: ignore.
    fn report(&self, event: &SecurityEvent) {
        let _ = event;
    }

    /// Reports an internal failure (store, randomness, signing) with its cause. Called inline,
    /// like [`Hooks::report`]. Default: ignore.
    fn failure(&self, failure: &Failure<'_>) {
        let _ = failure;
    }

    /// Asked before a client secret is checked (SEC-06). `false` refuses the attempt as
    /// `invalid_client` without looking at the secret, and reports
    /// [`AuthFailure::RateLimited`]. Default: always allow.
    fn allow_secret_check(&self, client_id: &ClientId) -> HookFuture<'_, bool> {
        let _ = client_id;
        HookFuture::ready(true)
    }

    /// Checks `presented` against a secret the host stored under its own hash
    /// ([`StoredSecret::External`](crate::client::StoredSecret::External), e.g. an argon2 PHC
    /// string of a legacy, human-chosen secret). Run slow hashes off the async executor.
    /// Default: no external secrets, always `false`.
    fn verify_external_secret<'a>(
        &'a self,
        client_id: &'a ClientId,
        stored: &'a str,
        presented: &'a ClientSecret,
    ) -> HookFuture<'a, bool> {
        let _ = (client_id, stored, presented);
        HookFuture::ready(false)
    }

    /// Asked before a user code typed at the device verification step is looked up (DG-03),
    /// with `source`, the host's name for who is typing (an address, a session). `false`
    /// refuses the attempt as too many, without looking. The server's built-in limiter (10
    /// wrong entries per source per 15 minutes, in memory, per instance) applies either way;
    /// this hook adds the host's own: one shared by every instance, or a cap across all
    /// sources against guessing from many addresses. Count failures in [`Hooks::report`]
    /// ([`SecurityEvent::UserCodeMiss`]); never reset a count on a success. Default: allow.
    fn allow_user_code_attempt(&self, source: &str) -> HookFuture<'_, bool> {
        let _ = source;
        HookFuture::ready(true)
    }

    /// Whether `client` may ask tokens for `resource` (RFC 8707; RI-01), asked for a resource
    /// that is neither the server's default audience nor registered for the client
    /// ([`Client::resources`]). `false` refuses the request with `invalid_target`. A host
    /// that knows its resource servers by rule (an MCP gateway: every `https` URI under its own
    /// domain) answers here instead of registering each. Default: nothing beyond the
    /// registration, always `false`.
    fn allow_resource<'a>(&'a self, client: &'a Client, resource: &'a Resource) -> HookFuture<'a, bool> {
        let _ = (client, resource);
        HookFuture::ready(false)
    }
}

/// The answer of a hook: a value at once (no allocation), or a boxed future for hooks that wait.
#[must_use = "a hook's answer is a future: await it"]
pub struct HookFuture<'a, T>(HookState<'a, T>);

enum HookState<'a, T> {
    Ready(Option<T>),
    Waiting(Pin<Box<dyn Future<Output = T> + Send + 'a>>),
}

impl<'a, T> HookFuture<'a, T> {
    /// An answer known now.
    pub fn ready(value: T) -> Self {
        Self(HookState::Ready(Some(value)))
    }

    /// An answer that `future` computes.
    pub fn boxed(future: impl Future<Output = T> + Send + 'a) -> Self {
        Self(HookState::Waiting(Box::pin(future)))
    }
}

impl<T> Future for HookFuture<'_, T> {
    type Output = T;
    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<T> {
        // Unpin: the state holds a value or an already pinned box.
        match &mut Pin::into_inner(self).0 {
            HookState::Ready(value) => Poll::Ready(value.take().expect("a HookFuture polled after it completed")),
            HookState::Waiting(future) => future.as_mut().poll(cx),
        }
    }
}

impl<T> Unpin for HookFuture<'_, T> {}

impl<T> std::fmt::Debug for HookFuture<'_, T> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self.0 {
            HookState::Ready(_) => "HookFuture::Ready",
            HookState::Waiting(_) => "HookFuture::Waiting",
        })
    }
}

impl Hooks for () {}

/// Shared hooks: the host keeps one `Arc` to read its limiter's or sink's state.
impl<T: Hooks + ?Sized> Hooks for std::sync::Arc<T> {
    fn report(&self, event: &SecurityEvent) {
        (**self).report(event)
    }
    fn failure(&self, failure: &Failure<'_>) {
        (**self).failure(failure)
    }
    fn allow_secret_check(&self, client_id: &ClientId) -> HookFuture<'_, bool> {
        (**self).allow_secret_check(client_id)
    }
    fn verify_external_secret<'a>(
        &'a self,
        client_id: &'a ClientId,
        stored: &'a str,
        presented: &'a ClientSecret,
    ) -> HookFuture<'a, bool> {
        (**self).verify_external_secret(client_id, stored, presented)
    }
    fn allow_resource<'a>(&'a self, client: &'a Client, resource: &'a Resource) -> HookFuture<'a, bool> {
        (**self).allow_resource(client, resource)
    }
    fn allow_user_code_attempt(&self, source: &str) -> HookFuture<'_, bool> {
        (**self).allow_user_code_attempt(source)
    }
}

impl<F: Fn(&SecurityEvent) + Send + Sync> Hooks for F {
    fn report(&self, event: &SecurityEvent) {
        self(event)
    }
}
