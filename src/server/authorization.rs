//! The authorization endpoint (AZ-01..AZ-15): the request checked into a consent request, then
//! the host's approval or denial.

use super::*;

impl<S: Store> Server<S> {
    /// The authorization endpoint: checks the request and either asks for consent or answers
    /// with an error (AZ-01..AZ-15).
    ///
    /// Call it for the GET that starts the flow and again for the POST of the host's consent
    /// form (which re-sends the original parameters), then pass the [`ConsentRequest`] to
    /// [`Server::approve`] or [`Server::deny`]. A code is only issued after approval (AZ-11).
    pub async fn authorize(&self, request: &Request<'_>) -> AuthorizeOutcome {
        let issuer = self.config.issuer();
        let params = match authorize::parse(request, &self.config) {
            Ok(params) => params,
            Err(error) => return AuthorizeOutcome::failed(error.into(), issuer),
        };
        match self.consent_request(&params, request.method() == Method::Post).await {
            Ok(consent) => AuthorizeOutcome::Consent(consent),
            Err(failure) => AuthorizeOutcome::failed(failure, issuer),
        }
    }

    async fn consent_request(&self, params: &Params<'_>, post: bool) -> Result<ConsentRequest, AuthorizeFailure> {
        let id = authorize::client_id(params)?;
        // The redirect URI is not validated yet, so a store failure is an error page.
        let client =
            self.seen("client", self.store.client(&id).await).map_err(|e| AuthorizeFailure::page(store_fault(&e)))?;
        // PAR-04: with a `request_uri`, the pushed parameters are the request; any others the
        // browser carried are ignored.
        match params.get("request_uri") {
            Ok(Some(request_uri)) => return self.load_pushed(request_uri, client, post).await,
            Ok(None) => {}
            Err(_) => return Err(AuthorizeError::InvalidRequest("request_uri appears more than once").into()),
        }
        let consent = authorize::validate(params, client, &self.config, post)?;
        // PAR-05: a client (or server) that requires pushed requests gets none of this kind.
        if self.config.requires_pushed_requests() || consent.client().require_pushed_requests() {
            return Err(authorize::pushed_request_required(&consent));
        }
        self.check_resources(&consent).await?;
        Ok(consent)
    }

    /// RI-01: every resource a consent request names is allowed for its client.
    pub(super) async fn check_resources(&self, consent: &ConsentRequest) -> Result<(), AuthorizeFailure> {
        if self.resources_allowed(consent.client(), consent.resources()).await {
            Ok(())
        } else {
            Err(authorize::resource_not_allowed(consent))
        }
    }

    /// Whether `client` may ask tokens for every one of `resources` (RI-01).
    pub(super) async fn resources_allowed(&self, client: &Client, resources: &[Resource]) -> bool {
        for resource in resources {
            if !self.resource_allowed(client, resource).await {
                return false;
            }
        }
        true
    }

    /// JWT-04: whether `subject` is also a registered client id, so that a user's tokens and a
    /// client's own (whose `sub` is its id) would be indistinguishable.
    pub(super) async fn subject_is_a_client(&self, subject: &Subject) -> Result<bool, StoreError> {
        let Some(as_client) = ClientId::spelled_by(subject) else { return Ok(false) };
        Ok(self.seen("client", self.store.client(&as_client).await)?.is_some())
    }

    /// Whether `client` may ask tokens for `resource` (RI-01): the server's default audience,
    /// a resource registered for the client, or one the host's policy allows.
    pub(super) async fn resource_allowed(&self, client: &Client, resource: &Resource) -> bool {
        self.config.access_token_audience() == Some(resource.as_str())
            || client.resources().contains(resource)
            || self.hooks.allow_resource(client, resource).await
    }

    /// The resource owner approved: issues a code and redirects to the client with `code`,
    /// `state` and `iss` (AZ-11..AZ-15).
    ///
    /// The answer says which grant the code belongs to ([`Approved::grant_id`]: every token the
    /// code is redeemed for joins it, so the host can list or revoke it later). A store or
    /// randomness failure becomes a `server_error` / `temporarily_unavailable` redirect, with
    /// no grant. The only errors are host bugs: an approval wider than the request, or a
    /// subject that is also a registered client id (JWT-04).
    pub async fn approve(&self, consent: &ConsentRequest, approval: Approval) -> Result<Approved, ApprovalError> {
        consent.check(&approval)?;
        let issuer = self.config.issuer();
        let failed = |error| Ok(Approved::failed(consent.error_response(error, issuer)));
        match self.subject_is_a_client(approval.subject()).await {
            Ok(false) => {}
            Ok(true) => return Err(ApprovalError::SubjectIsAClientId),
            Err(e) => return failed(store_fault(&e)),
        }
        if let Err(error) = self.complete_pushed(consent).await {
            return failed(error);
        }
        let now = self.clock.now();
        let (code, grant_id) = match self.fresh_code() {
            Ok(fresh) => fresh,
            Err(_) => return failed(AuthorizeError::ServerError),
        };
        let (record, response) = consent.issue_code(&approval, &code, grant_id.clone(), now, &self.config);
        match self.seen("insert_code", self.store.insert_code(record).await) {
            Ok(()) => Ok(Approved::issued(response, grant_id)),
            Err(e) => failed(store_fault(&e)),
        }
    }

    /// The resource owner denied: redirects to the client with `access_denied` (AZ-11). A
    /// request loaded from a pushed request is consumed by the denial too (PAR-06).
    pub async fn deny(&self, consent: &ConsentRequest) -> Response {
        let error = self.complete_pushed(consent).await.err().unwrap_or(AuthorizeError::AccessDenied);
        consent.error_response(error, self.config.issuer())
    }
}
