//! The server's side of the device authorization grant (RFC 8628; DG-01..DG-04): the device
//! authorization endpoint, the verification step behind the host's page, and the device's
//! polling at the token endpoint. The protocol pieces are in [`crate::device`].

use crate::client::read_credentials;
use crate::device::{self, normalize_user_code};
use crate::store::{DeviceDecided, DeviceInsert, DevicePoll, DeviceRequest, DeviceState};
use crate::token::{Authorization, read_form_post};

use super::*;

/// A device request found by its user code, waiting for the user's decision: what the host's
/// verification page shows ("`client` asks for `scope`") before the user approves
/// ([`Server::approve_device`]) or denies ([`Server::deny_device`]).
#[derive(Debug, Clone)]
pub struct DeviceConsent {
    client: Client,
    request: DeviceRequest,
    hash: TokenHash,
    user_code: String,
}

impl DeviceConsent {
    /// The client (the device's application) asking.
    pub fn client(&self) -> &Client {
        &self.client
    }

    /// The scope asked for.
    pub fn scope(&self) -> &Scope {
        &self.request.scope
    }

    /// The resources asked for (RFC 8707).
    pub fn resources(&self) -> &[Resource] {
        &self.request.resources
    }

    /// The user code, as `XXXX-XXXX`: for the page to show back, so the user can compare it with
    /// the one on the device.
    pub fn user_code(&self) -> &str {
        &self.user_code
    }

    /// When the request expires.
    pub fn expires_at(&self) -> time::OffsetDateTime {
        self.request.expires_at
    }
}

/// Why the verification step found no request to decide.
#[derive(Debug, Clone, thiserror::Error)]
#[non_exhaustive]
pub enum DeviceVerificationError {
    /// The source made too many wrong entries (DG-03): the page says so, or answers 429.
    #[error("too many attempts; try again later")]
    TooManyAttempts,
    /// No live, pending request has this code (mistyped, expired, already decided, or the
    /// device flow is off). Counted as a wrong entry.
    #[error("the code is not valid")]
    UnknownCode,
    /// The store failed; nothing was counted.
    #[error("the request could not be checked now")]
    Unavailable(StoreError),
}

/// Why a decision on a device request was not recorded.
#[derive(Debug, Clone, thiserror::Error)]
#[non_exhaustive]
pub enum DeviceDecisionError {
    /// The approval asks for something the protocol refuses (a host bug).
    #[error(transparent)]
    Approval(#[from] ApprovalError),
    /// The request was decided in the meantime, or expired: the page asks the user to start
    /// again from the device.
    #[error("the request was already decided, or expired")]
    NotPending,
    /// The store failed; nothing was recorded.
    #[error("the decision could not be recorded now")]
    Unavailable(StoreError),
}

impl<S: Store> Server<S> {
    /// The device authorization endpoint (RFC 8628 §3.1; DG-01): the client authenticates as at
    /// the token endpoint (a public client sends its `client_id`), must be registered for the
    /// device grant, and asks for `scope` (and `resource`s) as at the token endpoint. The answer
    /// is `200` with `device_code` (256 bits; the store keeps its digest), `user_code`
    /// (`XXXX-XXXX`), `verification_uri`, `verification_uri_complete`, `expires_in` and
    /// `interval`. Errors are the token endpoint's JSON; with the device flow off, 404.
    pub async fn device_authorization(&self, request: &Request<'_>) -> Response {
        match self.device_authorization_result(request).await {
            Ok(response) => response,
            Err(error) => error.response(),
        }
    }

    async fn device_authorization_result(&self, request: &Request<'_>) -> Result<Response, TokenError> {
        let (Some(uri), Some(lifetime), Some(interval)) = (
            self.config.device_verification_uri(),
            self.config.device_code_lifetime(),
            self.config.device_poll_interval(),
        ) else {
            return Ok(Response::new(404).with_header("Cache-Control", "no-store"));
        };
        let params = read_form_post(request, &self.config, &device::DEFINED, &authorize::REPEATABLE)
            .inspect_err(|e| self.report_auth_failure(e, None))?;
        let credentials = read_credentials(request, &params)
            .map_err(TokenError::from)
            .inspect_err(|e| self.report_auth_failure(e, None))?;
        let client = self.authenticated_client(&credentials).await?;
        if !client.allows_grant(GrantType::DeviceCode) {
            return Err(TokenError::UnauthorizedClient);
        }
        let scope = client_credentials::scope(&params, &client)?;
        let resources = audience::read_all(&params).map_err(TokenError::InvalidTarget)?;
        if !self.resources_allowed(&client, &resources).await {
            return Err(TokenError::InvalidTarget("the resource is not allowed for this client"));
        }
        let now = self.clock.now();
        // A live request may hold the same user code (2^34.6 of them): draw again, a few times.
        for _ in 0..4 {
            // 32 bytes of device code, 16 of grant id, 32 to draw 8 letters from.
            let mut random = [0u8; 80];
            self.fill_random(&mut random)?;
            let (device_code, rest) = random.split_at(32);
            let (grant, letters) = rest.split_at(16);
            let mut letters = letters.iter().copied();
            let Some(user_code) = device::user_code(|| letters.next()) else { continue };
            let digest = device::user_code_digest(&user_code.replace('-', ""));
            let record = DeviceRequest::new(
                client.id().clone(),
                grant_id_from(grant)?,
                scope.clone(),
                resources.clone(),
                digest,
                now,
                now + lifetime,
                interval.whole_seconds(),
            );
            let hash = TokenHash::of(&encode_token(device_code));
            match self.seen("insert_device_request", self.store.insert_device_request(&hash, record, now).await)? {
                DeviceInsert::Inserted => return Ok(device::answer(device_code, &user_code, uri, lifetime, interval)),
                _ => continue,
            }
        }
        Err(TokenError::ServerError)
    }

    /// The verification step (DG-03): finds the live, pending request whose user code the user
    /// typed (case, dashes and spaces ignored), for the host's page to show and decide.
    /// `source` names who is typing (the client address, or a session id): wrong entries count
    /// against it in the built-in limiter and through
    /// [`Hooks::allow_user_code_attempt`](crate::hooks::Hooks::allow_user_code_attempt), and a
    /// source over the limit gets [`DeviceVerificationError::TooManyAttempts`] without a lookup.
    /// The page must protect its form against cross-site request forgery, as the consent page.
    pub async fn device_verification(
        &self,
        user_code: &str,
        source: &str,
    ) -> Result<DeviceConsent, DeviceVerificationError> {
        let now = self.clock.now();
        if !self.user_codes.allows(source, now) || !self.hooks.allow_user_code_attempt(source).await {
            return Err(DeviceVerificationError::TooManyAttempts);
        }
        let miss = || {
            self.user_codes.failed(source, now);
            self.hooks.report(&SecurityEvent::UserCodeMiss { source: source.to_owned() });
            DeviceVerificationError::UnknownCode
        };
        let Some(normalized) = normalize_user_code(user_code) else { return Err(miss()) };
        if self.config.device_verification_uri().is_none() {
            return Err(miss());
        }
        let digest = device::user_code_digest(&normalized);
        let found =
            self.seen("device_request_by_user_code", self.store.device_request_by_user_code(&digest, now).await);
        let (hash, request) = match found {
            Ok(Some((hash, request))) if request.state == DeviceState::Pending => (hash, request),
            Ok(_) => return Err(miss()),
            Err(e) => return Err(DeviceVerificationError::Unavailable(e)),
        };
        let client = match self.seen("client", self.store.client(&request.client_id).await) {
            Ok(Some(client)) => client,
            Ok(None) => return Err(miss()),
            Err(e) => return Err(DeviceVerificationError::Unavailable(e)),
        };
        Ok(DeviceConsent { client, request, hash, user_code: device::display(&normalized) })
    }

    /// The user approved the device request (DG-04): the subject, and the scope and resources
    /// granted (within those asked for), are recorded, and the device's next poll gets the
    /// tokens. Of an approval and a denial racing, one is recorded; the other gets
    /// [`DeviceDecisionError::NotPending`].
    pub async fn approve_device(&self, consent: &DeviceConsent, approval: Approval) -> Result<(), DeviceDecisionError> {
        approval.check_within(consent.scope(), consent.resources())?;
        match self.subject_is_a_client(approval.subject()).await {
            Ok(false) => {}
            Ok(true) => return Err(ApprovalError::SubjectIsAClientId.into()),
            Err(e) => return Err(DeviceDecisionError::Unavailable(e)),
        }
        let now = self.clock.now();
        let decision = DeviceState::Approved {
            subject: approval.subject().clone(),
            scope: approval.granted_scope(consent.scope()),
            resources: approval.granted_resources(consent.resources()),
            approved_at: now,
        };
        self.decide_device(consent, decision, now).await
    }

    /// The user denied the device request: the device's next poll gets `access_denied`.
    pub async fn deny_device(&self, consent: &DeviceConsent) -> Result<(), DeviceDecisionError> {
        self.decide_device(consent, DeviceState::Denied, self.clock.now()).await
    }

    async fn decide_device(
        &self,
        consent: &DeviceConsent,
        decision: DeviceState,
        now: time::OffsetDateTime,
    ) -> Result<(), DeviceDecisionError> {
        let decided = self.store.decide_device_request(&consent.hash, decision, now).await;
        match self.seen("decide_device_request", decided) {
            Ok(DeviceDecided::Decided) => Ok(()),
            Ok(_) => Err(DeviceDecisionError::NotPending),
            Err(e) => Err(DeviceDecisionError::Unavailable(e)),
        }
    }

    /// The device polls (DG-02): `authorization_pending`, `slow_down` (its interval grows by
    /// 5 s), `access_denied`, `expired_token`, or, once after the approval, the tokens.
    pub(super) async fn redeem_device_code(
        &self,
        params: &Params<'_>,
        client: &Client,
        proof: Option<&Proof>,
        resource: Option<&Resource>,
    ) -> Result<Response, TokenError> {
        // The grant type is refused before this while the device flow is off (token::parse).
        let code =
            params.get("device_code").ok().flatten().ok_or(TokenError::InvalidRequest("device_code is required"))?;
        let invalid = TokenError::InvalidGrant("the device code is invalid or was already used");
        let now = self.clock.now();
        let poll = self.store.poll_device_request(&TokenHash::of(code), client.id(), now).await;
        let request = match self.seen("poll_device_request", poll)? {
            None => return Err(invalid),
            Some(DevicePoll::SlowDown(_)) => return Err(TokenError::SlowDown),
            Some(DevicePoll::Current(request)) if now >= request.expires_at => return Err(TokenError::ExpiredToken),
            Some(DevicePoll::Current(request)) => {
                return Err(match request.state {
                    DeviceState::Pending => TokenError::AuthorizationPending,
                    DeviceState::Denied => TokenError::AccessDenied,
                    _ => invalid,
                });
            }
            Some(DevicePoll::Redeemed(request)) => request,
        };
        let DeviceState::Approved { subject, scope, resources, approved_at } = &request.state else {
            return Err(TokenError::ServerError);
        };
        let authorization = Authorization {
            grant_id: &request.grant_id,
            client_id: &request.client_id,
            subject,
            scope,
            resources,
            authorized_at: *approved_at,
        };
        // The user's grants may have been revoked (a logout everywhere) since the approval.
        self.issue_authorization(client, authorization, proof, resource, now, invalid).await
    }
}
