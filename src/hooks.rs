//! Security events: what the server reports to the host's [`Events`] sink, for logs, alerts
//! and brute-force limits. No logging crate inside; no secret ever appears in an event.

use crate::client::AuthFailure;
use crate::types::{ClientId, GrantId, Subject};

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

/// Receives [`SecurityEvent`]s. Called inline, so it should return quickly (queue the event if
/// it needs I/O).
///
/// `()` ignores every event; any `Fn(&SecurityEvent) + Send + Sync` closure is a sink:
///
/// ```
/// use oauth21::events::{Events, SecurityEvent};
/// let sink = |event: &SecurityEvent| eprintln!("security event: {event:?}");
/// fn takes(_: impl Events) {}
/// takes(sink);
/// ```
pub trait Events: Send + Sync {
    /// Reports one event.
    fn report(&self, event: &SecurityEvent);
}

impl Events for () {
    fn report(&self, _: &SecurityEvent) {}
}

impl<F: Fn(&SecurityEvent) + Send + Sync> Events for F {
    fn report(&self, event: &SecurityEvent) {
        self(event)
    }
}
