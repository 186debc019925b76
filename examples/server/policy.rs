//! The demo server's policies: which resources clients may ask tokens for (RFC 8707), and who
//! may register a client (RFC 7591). A real deployment writes its own here.

use std::sync::Arc;

use oauth21::hooks::{Failure, HookFuture, Hooks, SecurityEvent};
use oauth21::registration::{RegistrationDecision, RegistrationRefusal, RegistrationRequest};
use oauth21::{AuthMethod, Client, ClientId, ClientSecret, GrantType, Resource, Scope};

use super::log::Log;

/// The scope a dynamically registered client may have at most.
const REGISTERED_SCOPE: &str = "read write";

/// The server's hooks: the log (when there is one), and the resource policy.
pub struct DemoHooks {
    pub log: Option<Arc<Log>>,
    /// `{issuer}/api/me`, which every client may ask tokens for.
    pub api_resource: String,
}

impl Hooks for DemoHooks {
    fn report(&self, event: &SecurityEvent) {
        if let Some(log) = &self.log {
            log.report(event);
        }
    }

    fn failure(&self, failure: &Failure<'_>) {
        if let Some(log) = &self.log {
            log.failure(failure);
        }
    }

    fn allow_secret_check(&self, client_id: &ClientId) -> HookFuture<'_, bool> {
        match &self.log {
            Some(log) => log.allow_secret_check(client_id),
            None => HookFuture::ready(true),
        }
    }

    fn verify_external_secret<'a>(
        &'a self,
        client_id: &'a ClientId,
        stored: &'a str,
        presented: &'a ClientSecret,
    ) -> HookFuture<'a, bool> {
        match &self.log {
            Some(log) => log.verify_external_secret(client_id, stored, presented),
            None => HookFuture::ready(false),
        }
    }

    /// Every client may ask for `{issuer}/api/me`; the confidential clients also for any
    /// resource that is an absolute `https` URI, or `http` on a loopback host. (Registered
    /// resources and the default audience the core allows without asking.)
    fn allow_resource<'a>(&'a self, client: &'a Client, resource: &'a Resource) -> HookFuture<'a, bool> {
        let own = resource.as_str() == self.api_resource;
        HookFuture::ready(own || (!client.is_public() && is_https_or_loopback(resource.as_str())))
    }
}

/// An `https` URL, or an `http` URL on a loopback host.
fn is_https_or_loopback(uri: &str) -> bool {
    if let Some(rest) = uri.strip_prefix("https://") {
        return !rest.is_empty() && !rest.starts_with('/');
    }
    let Some(rest) = uri.strip_prefix("http://") else { return false };
    let authority = rest.split(['/', '?']).next().unwrap_or("");
    let host = match authority.strip_prefix('[') {
        Some(v6) => v6.split(']').next().map(|h| format!("[{h}]")).unwrap_or_default(),
        None => authority.split(':').next().unwrap_or("").to_owned(),
    };
    matches!(host.as_str(), "127.0.0.1" | "[::1]" | "localhost")
}

/// Open registration for public clients (MCP clients, CLIs, native apps): `none` as the
/// authentication method, redirect URIs on loopback or `https`, the code and refresh grants,
/// scope within `read write` (all of it when none is asked for). Anything else is refused with
/// the RFC 7591 error.
pub fn registration(request: &RegistrationRequest<'_>) -> RegistrationDecision {
    let metadata = request.metadata();
    if metadata.token_endpoint_auth_method != AuthMethod::None {
        return RegistrationDecision::refuse_metadata(
            "this server registers public clients only: token_endpoint_auth_method must be none",
        );
    }
    if let Some(uri) = metadata.redirect_uris.iter().find(|uri| !is_https_or_loopback(uri)) {
        let _ = uri;
        return RegistrationDecision::Refuse(RegistrationRefusal::redirect_uri(
            "redirect URIs must be https or http on a loopback host",
        ));
    }
    let allowed_grants = [GrantType::AuthorizationCode, GrantType::RefreshToken];
    if metadata.grant_types.iter().any(|grant| !allowed_grants.contains(grant)) {
        return RegistrationDecision::refuse_metadata("grant_types may be authorization_code and refresh_token only");
    }
    let allowed = Scope::from_static(REGISTERED_SCOPE);
    if !metadata.scope.is_subset_of(&allowed) {
        return RegistrationDecision::refuse_metadata("scope must be within read write");
    }
    if metadata.scope.is_empty() {
        let mut narrowed = metadata.clone();
        narrowed.scope = allowed;
        return RegistrationDecision::Narrow(narrowed);
    }
    RegistrationDecision::Accept
}
