//! Client authentication at the endpoints where clients authenticate (TK-04..TK-08): reading
//! the credentials from one request, and checking them against the registration up to the
//! secret itself.

use crate::client::{AuthMethod, Client, ClientKind};
use crate::http::{Params, Request, parse_basic_auth};
use crate::types::{ClientId, ClientSecret};

/// Which part of client authentication failed. Reported to the host (for its logs and
/// brute-force limits), never to the client, which only learns `invalid_client`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum AuthFailure {
    /// The `Authorization` header is not a well-formed Basic credential (TK-05).
    MalformedHeader,
    /// No client is registered under the id.
    UnknownClient,
    /// A confidential client sent no secret (TK-06).
    SecretRequired,
    /// A public client sent a secret (class 12: a made-up secret is not authentication).
    PublicClientWithSecret,
    /// The client is not registered for the method it used.
    MethodNotAllowed,
    /// The secret matches none of the client's active secrets.
    WrongSecret,
    /// The host's limiter refused to check a secret for this client now (SEC-06).
    RateLimited,
    /// The request carried no client authentication and no `client_id` at all, at an endpoint
    /// where every caller must identify itself (revocation, introspection).
    NoCredentials,
}

/// A failed client authentication at the token endpoint (TK-04..TK-08).
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum ClientAuthError {
    /// `client_secret` (or another defined parameter) was sent in the URI query (TK-04).
    #[error("client credentials must not be sent in the URI query")]
    CredentialsInQuery,
    /// Basic and `client_secret` in the body were both used (TK-07).
    #[error("only one client authentication method may be used")]
    MultipleMethods,
    /// The body's `client_id` differs from the Basic credential's.
    #[error("client_id does not match the authenticated client")]
    ClientIdMismatch,
    /// The client neither authenticated nor sent `client_id` (AC-02).
    #[error("client_id is required")]
    MissingClientId,
    /// `client_secret` was sent without `client_id`.
    #[error("client_secret requires client_id")]
    SecretWithoutClientId,
    /// Authentication failed: `invalid_client` (TK-08).
    #[error("client authentication failed")]
    Failed {
        /// What failed.
        reason: AuthFailure,
        /// Whether the `Authorization` header was used, which makes the answer a 401 with
        /// `WWW-Authenticate: Basic`.
        header: bool,
    },
}

/// The client's claimed identity and credentials, read from one token-endpoint request.
#[derive(Debug)]
pub(crate) struct Credentials {
    pub(crate) client_id: ClientId,
    pub(crate) method: AuthMethod,
    pub(crate) secret: Option<ClientSecret>,
    pub(crate) header: bool,
}

/// Reads the client's credentials from the `Authorization` header and the body (TK-05, TK-07).
///
/// Any `Authorization` header counts as an authentication attempt: one that is not Basic fails
/// as `invalid_client` rather than being ignored.
pub(crate) fn read_credentials(request: &Request<'_>, body: &Params<'_>) -> Result<Credentials, ClientAuthError> {
    let failed = |reason, header| ClientAuthError::Failed { reason, header };
    let body_id = body.get("client_id").map_err(|_| ClientAuthError::MultipleMethods)?;
    let body_secret = body.get("client_secret").map_err(|_| ClientAuthError::MultipleMethods)?;
    if let Some(header) = request.authorization() {
        if body_secret.is_some() {
            return Err(ClientAuthError::MultipleMethods);
        }
        let (id, secret) = parse_basic_auth(header).map_err(|_| failed(AuthFailure::MalformedHeader, true))?;
        let client_id = ClientId::new(id).map_err(|_| failed(AuthFailure::UnknownClient, true))?;
        if body_id.is_some_and(|b| b != client_id.as_str()) {
            return Err(ClientAuthError::ClientIdMismatch);
        }
        // An empty password is no secret, as an empty `client_secret` is (TK-06): it must never
        // be compared with anything.
        let secret = (!secret.is_empty()).then(|| ClientSecret::new(secret));
        return Ok(Credentials { client_id, method: AuthMethod::ClientSecretBasic, secret, header: true });
    }
    let Some(id) = body_id else {
        return Err(if body_secret.is_some() {
            ClientAuthError::SecretWithoutClientId
        } else {
            ClientAuthError::MissingClientId
        });
    };
    let client_id = ClientId::new(id).map_err(|_| failed(AuthFailure::UnknownClient, false))?;
    Ok(match body_secret {
        Some(secret) => Credentials {
            client_id,
            method: AuthMethod::ClientSecretPost,
            secret: Some(ClientSecret::new(secret)),
            header: false,
        },
        None => Credentials { client_id, method: AuthMethod::None, secret: None, header: false },
    })
}

/// Checks `credentials` against the registration found for their client id, up to the secret
/// itself (TK-06): a public client must send none, a confidential one must send one by a method
/// it is registered for. Returns the client, and whether a secret remains to be verified.
pub(crate) fn precheck(client: Option<Client>, credentials: &Credentials) -> Result<(Client, bool), ClientAuthError> {
    let failed = |reason| ClientAuthError::Failed { reason, header: credentials.header };
    let client = client.ok_or(failed(AuthFailure::UnknownClient))?;
    match (&client.kind, &credentials.secret) {
        (ClientKind::Public, None) => Ok((client, false)),
        (ClientKind::Public, Some(_)) => Err(failed(AuthFailure::PublicClientWithSecret)),
        (ClientKind::Confidential { .. }, None) => Err(failed(AuthFailure::SecretRequired)),
        (ClientKind::Confidential { auth_methods, .. }, Some(_)) if !auth_methods.contains(&credentials.method) => {
            Err(failed(AuthFailure::MethodNotAllowed))
        }
        (ClientKind::Confidential { .. }, Some(_)) => Ok((client, true)),
    }
}
