//! The server's side of dynamic client registration (RFC 7591; REG-01..REG-03): the endpoint
//! that reads the metadata, asks the host's policy, and stores the client. The protocol pieces
//! are in [`crate::registration`].

use crate::bearer::{BearerError, read_bearer_token};
use crate::client::AuthMethod;
use crate::hooks::SecurityEvent;
use crate::registration::{self, ClientMetadata, RegistrationDecision, RegistrationRefusal, RegistrationRequest};
use crate::store::StoreErrorKind;
use crate::types::ClientSecret;

use super::*;

impl<S: Store> Server<S> {
    /// The registration endpoint (RFC 7591; REG-01..REG-03): a `POST` of
    /// `application/json` client metadata. The metadata passes every check of a static
    /// registration (REG-02), then the policy given to [`Server::with_registration`] decides
    /// (REG-03); the client is stored through the store (so every instance sees it) and the
    /// answer is `201` with its `client_id`, a secret for a client that authenticates with one
    /// (shown only here: the store keeps its digest), and the metadata as registered. Errors are
    /// JSON: `invalid_client_metadata` or `invalid_redirect_uri` (400), or the policy's own
    /// refusal. Without a policy the endpoint does not exist: 404.
    pub async fn register(&self, request: &Request<'_>) -> Response {
        match self.register_result(request).await {
            Ok(response) => response,
            Err(refusal) => refusal.response(),
        }
    }

    async fn register_result(&self, request: &Request<'_>) -> Result<Response, RegistrationRefusal> {
        let Some(policy) = self.registration.as_deref() else {
            return Ok(Response::new(404).with_header("Cache-Control", "no-store"));
        };
        if request.method() != Method::Post {
            return Ok(Response::new(405).with_header("Allow", "POST").with_header("Cache-Control", "no-store"));
        }
        if request.repeated_header().is_some() {
            return Err(RegistrationRefusal::metadata("a header was sent more than once"));
        }
        let json = request.content_type().and_then(|v| v.split(|&b| b == b';').next()).map(|v| v.trim_ascii());
        if !json.is_some_and(|v| v.eq_ignore_ascii_case(b"application/json")) {
            return Err(RegistrationRefusal::metadata("Content-Type must be application/json"));
        }
        if request.body().len() > self.config.max_request_bytes() {
            return Err(RegistrationRefusal::metadata("the request is too large"));
        }
        let initial_access_token = match read_bearer_token(request) {
            Ok(token) => Some(token),
            Err(BearerError::NoCredentials) => None,
            Err(_) => return Err(RegistrationRefusal::unauthorized("malformed initial access token")),
        };
        let requested = ClientMetadata::from_json(request.body())?;
        // Every check a registration gets runs before the policy sees it, with a stand-in id.
        self.client_for(&requested, "preview".into(), None)?;
        let review = RegistrationRequest { metadata: &requested, initial_access_token };
        let metadata = match policy.review(&review).await {
            RegistrationDecision::Accept => requested.clone(),
            RegistrationDecision::Narrow(narrowed) => narrowed,
            RegistrationDecision::Refuse(refusal) => return Err(refusal),
        };
        let server_error = || RegistrationRefusal::new_server_error();
        let mut random = [0u8; 16];
        self.fill_random(&mut random).map_err(|_| server_error())?;
        let id = URL_SAFE_NO_PAD.encode(random);
        let secret = match metadata.token_endpoint_auth_method {
            AuthMethod::ClientSecretBasic | AuthMethod::ClientSecretPost => {
                Some(ClientSecret::generate(&*self.random).map_err(|_| server_error())?)
            }
            _ => None,
        };
        let client = self.client_for(&metadata, id, secret.as_ref())?;
        let now = self.clock.now();
        match self.seen("register_client", self.store.register_client(&client, now).await) {
            Ok(()) => {}
            Err(e) if e.kind() == StoreErrorKind::Unavailable => return Err(RegistrationRefusal::unavailable()),
            Err(_) => return Err(server_error()),
        }
        self.hooks.report(&SecurityEvent::ClientRegistered { client_id: client.id().clone() });
        Ok(registration::created(&client, &metadata, secret.as_ref(), now.unix_timestamp()))
    }

    /// The client `metadata` registers, checked as a static registration and against the
    /// server's profile (FAPI-01).
    fn client_for(
        &self,
        metadata: &ClientMetadata,
        id: String,
        secret: Option<&ClientSecret>,
    ) -> Result<Client, RegistrationRefusal> {
        let placeholder;
        // The preview has no secret yet; a stand-in lets the secret methods pass their checks.
        let secret = match (secret, metadata.token_endpoint_auth_method) {
            (Some(secret), _) => Some(secret),
            (None, AuthMethod::ClientSecretBasic | AuthMethod::ClientSecretPost) => {
                placeholder = ClientSecret::new("a stand-in secret, never stored");
                Some(&placeholder)
            }
            (None, _) => None,
        };
        if metadata.grant_types.contains(&GrantType::DeviceCode) && self.config.device_verification_uri().is_none() {
            return Err(RegistrationRefusal::metadata("grant_types names a grant type this server does not offer"));
        }
        let client = metadata.build(id, secret)?;
        self.config.check_client(&client).map_err(|e| RegistrationRefusal::metadata(e.to_string()))?;
        Ok(client)
    }
}
