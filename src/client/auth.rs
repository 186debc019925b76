//! Client authentication at the endpoints where clients authenticate (TK-04..TK-08): reading
//! the credentials from one request, and checking them against the registration up to the
//! secret itself.

use crate::client::{AuthMethod, Client, ClientKind};
use crate::http::{Params, Request, read_basic_auth};
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
    /// The client assertion is malformed, of another type, not signed by one of the client's
    /// keys, or its claims are wrong (CA-01..CA-03).
    InvalidAssertion,
    /// The client assertion was used before (CA-04).
    AssertionReplayed,
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
    /// A `private_key_jwt` client assertion, unverified.
    pub(crate) assertion: Option<String>,
    pub(crate) header: bool,
}

/// The `client_assertion_type` of a JWT client assertion (RFC 7523 §2.2).
pub(crate) const JWT_BEARER: &str = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer";

/// What remains to verify once the registration allows the method used.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Proof {
    /// A public client: its `client_id` is all there is.
    Nothing,
    /// A secret, against the stored digests.
    Secret,
    /// A client assertion, against the registered keys.
    Assertion,
}

/// Reads the client's credentials from the `Authorization` header and the body (TK-05, TK-07).
///
/// Any `Authorization` header counts as an authentication attempt: one that is not Basic fails
/// as `invalid_client` rather than being ignored.
pub(crate) fn read_credentials(request: &Request<'_>, body: &Params<'_>) -> Result<Credentials, ClientAuthError> {
    let failed = |reason, header| ClientAuthError::Failed { reason, header };
    let body_id = body.get("client_id").map_err(|_| ClientAuthError::MultipleMethods)?;
    let body_secret = body.get("client_secret").map_err(|_| ClientAuthError::MultipleMethods)?;
    let assertion_type = body.get("client_assertion_type").map_err(|_| ClientAuthError::MultipleMethods)?;
    let assertion = body.get("client_assertion").map_err(|_| ClientAuthError::MultipleMethods)?;
    if assertion.is_some() || assertion_type.is_some() {
        // CA-05: one method per request.
        if request.authorization().is_some() || body_secret.is_some() {
            return Err(ClientAuthError::MultipleMethods);
        }
        let (Some(JWT_BEARER), Some(assertion)) = (assertion_type, assertion) else {
            return Err(failed(AuthFailure::InvalidAssertion, false));
        };
        // The client is named by the assertion's `sub` (checked with the signature later); a
        // `client_id` sent beside it must name the same client.
        let subject = assertion_subject(assertion).ok_or(failed(AuthFailure::InvalidAssertion, false))?;
        if body_id.is_some_and(|id| id != subject) {
            return Err(ClientAuthError::ClientIdMismatch);
        }
        let subject = subject.as_str();
        let client_id = ClientId::new(subject).map_err(|_| failed(AuthFailure::InvalidAssertion, false))?;
        return Ok(Credentials {
            client_id,
            method: AuthMethod::PrivateKeyJwt,
            secret: None,
            assertion: Some(assertion.to_owned()),
            header: false,
        });
    }
    if let Some(header) = request.authorization() {
        if body_secret.is_some() {
            return Err(ClientAuthError::MultipleMethods);
        }
        let (client_id, secret) = read_basic_auth(header, |id, secret| {
            // An empty password is no secret, as an empty `client_secret` is (TK-06): it must
            // never be compared with anything.
            (ClientId::new(id), (!secret.is_empty()).then(|| ClientSecret::new(secret)))
        })
        .map_err(|_| failed(AuthFailure::MalformedHeader, true))?;
        let client_id = client_id.map_err(|_| failed(AuthFailure::UnknownClient, true))?;
        if body_id.is_some_and(|b| b != client_id.as_str()) {
            return Err(ClientAuthError::ClientIdMismatch);
        }
        return Ok(Credentials {
            client_id,
            method: AuthMethod::ClientSecretBasic,
            secret,
            assertion: None,
            header: true,
        });
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
            assertion: None,
            header: false,
        },
        None => Credentials { client_id, method: AuthMethod::None, secret: None, assertion: None, header: false },
    })
}

/// The `sub` of a JWT's payload, unverified: only to find whose keys to verify it with (the
/// signature, checked next against that client's keys, decides).
fn assertion_subject(assertion: &str) -> Option<String> {
    use base64::Engine as _;
    if assertion.len() > crate::jose::MAX_TOKEN_BYTES {
        return None;
    }
    let payload = assertion.split('.').nth(1)?;
    let bytes = base64::engine::general_purpose::URL_SAFE_NO_PAD.decode(payload).ok()?;
    let claims = crate::jose::strict_json(&bytes).ok()?;
    claims.get("sub")?.as_str().map(str::to_owned)
}

/// Checks `credentials` against the registration found for their client id, up to the secret
/// or assertion itself (TK-06): a public client must send none, a confidential one must send
/// one by a method it is registered for. Returns the client, and what remains to verify.
pub(crate) fn precheck(client: Option<Client>, credentials: &Credentials) -> Result<(Client, Proof), ClientAuthError> {
    let failed = |reason| ClientAuthError::Failed { reason, header: credentials.header };
    let client = client.ok_or(failed(AuthFailure::UnknownClient))?;
    let presented = match (&credentials.secret, &credentials.assertion) {
        (Some(_), _) => Proof::Secret,
        (None, Some(_)) => Proof::Assertion,
        (None, None) => Proof::Nothing,
    };
    match (client.kind(), presented) {
        (ClientKind::Public, Proof::Nothing) => Ok((client, Proof::Nothing)),
        (ClientKind::Public, Proof::Secret) => Err(failed(AuthFailure::PublicClientWithSecret)),
        (ClientKind::Public, _) => Err(failed(AuthFailure::MethodNotAllowed)),
        (ClientKind::Confidential { .. }, Proof::Nothing) => Err(failed(AuthFailure::SecretRequired)),
        (ClientKind::Confidential { auth_methods, .. }, _) if !auth_methods.contains(&credentials.method) => {
            Err(failed(AuthFailure::MethodNotAllowed))
        }
        (ClientKind::Confidential { .. }, proof) => Ok((client, proof)),
    }
}
