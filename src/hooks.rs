//! The host's hooks into the server: security events, the brute-force limiter (SEC-06), and
//! verification of secrets stored under the host's own slow hash.
//!
//! No logging crate inside: events go to [`Hooks::report`], and no secret ever appears in one.

use std::future::{Future, ready};

use crate::client::AuthFailure;
use crate::types::{ClientId, ClientSecret, GrantId, Subject};

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
    /// Client authentication failed at the token endpoint.
    ClientAuthenticationFailed {
        /// The client id claimed, when one could be read.
        client_id: Option<ClientId>,
        /// What failed.
        reason: AuthFailure,
    },
}

/// What the host plugs into the server. Every method has a default, so implement only what you
/// need; `()` is the no-op set, and any `Fn(&SecurityEvent) + Send + Sync` closure is an event
/// sink with the other defaults.
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
/// use std::future::{Future, ready};
/// use std::sync::Mutex;
/// use oauth21::ClientId;
/// use oauth21::hooks::{Hooks, SecurityEvent};
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
///     fn allow_secret_check(&self, client_id: &ClientId) -> impl Future<Output = bool> + Send {
///         ready(self.failures.lock().unwrap().get(client_id).copied().unwrap_or(0) < 5)
///     }
/// }
/// ```
pub trait Hooks: Send + Sync {
    /// Reports one event. Called inline, so it should return quickly (queue the event if it
    /// needs I/O). Default: ignore.
    fn report(&self, event: &SecurityEvent) {
        let _ = event;
    }

    /// Asked before a client secret is checked (SEC-06). `false` refuses the attempt as
    /// `invalid_client` without looking at the secret, and reports
    /// [`AuthFailure::RateLimited`]. Default: always allow.
    fn allow_secret_check(&self, client_id: &ClientId) -> impl Future<Output = bool> + Send {
        let _ = client_id;
        ready(true)
    }

    /// Checks `presented` against a secret the host stored under its own hash
    /// ([`StoredSecret::External`](crate::client::StoredSecret::External), e.g. an argon2 PHC
    /// string of a legacy, human-chosen secret). Run slow hashes off the async executor.
    /// Default: no external secrets, always `false`.
    fn verify_external_secret(
        &self,
        client_id: &ClientId,
        stored: &str,
        presented: &ClientSecret,
    ) -> impl Future<Output = bool> + Send {
        let _ = (client_id, stored, presented);
        ready(false)
    }
}

impl Hooks for () {}

/// Shared hooks: the host keeps one `Arc` to read its limiter's or sink's state.
impl<T: Hooks + ?Sized> Hooks for std::sync::Arc<T> {
    fn report(&self, event: &SecurityEvent) {
        (**self).report(event)
    }
    fn allow_secret_check(&self, client_id: &ClientId) -> impl Future<Output = bool> + Send {
        (**self).allow_secret_check(client_id)
    }
    fn verify_external_secret(
        &self,
        client_id: &ClientId,
        stored: &str,
        presented: &ClientSecret,
    ) -> impl Future<Output = bool> + Send {
        (**self).verify_external_secret(client_id, stored, presented)
    }
}

impl<F: Fn(&SecurityEvent) + Send + Sync> Hooks for F {
    fn report(&self, event: &SecurityEvent) {
        self(event)
    }
}
