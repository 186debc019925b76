//! The grants the token endpoint serves: redeeming a code, rotating a refresh token (with
//! reuse detection), client credentials, and minting the access token they all issue.

use super::*;

impl<S: Store> Server<S> {
    pub(super) async fn client_credentials(
        &self,
        params: &Params<'_>,
        client: &Client,
        proof: Option<&Proof>,
        resource: Option<&Resource>,
    ) -> Result<Response, TokenError> {
        client_credentials::check_client(client)?;
        let scope = client_credentials::scope(params, client)?;
        // RI-01: the client acts for itself, so the resource it names needs no grant, only
        // permission; the token is for that resource alone.
        if let Some(resource) = resource {
            if !self.resource_allowed(client, resource).await {
                return Err(TokenError::InvalidTarget("the resource is not allowed for this client"));
            }
        }
        let audience =
            resource.map(|r| r.as_str().to_owned()).or(self.config.access_token_audience().map(str::to_owned));
        let now = self.clock.now();
        // One system call for all of this request's randomness: each call costs far more than
        // the bytes it returns.
        let mut random = [0u8; 48];
        self.fill_random(&mut random)?;
        let (token, grant) = random.split_first_chunk::<32>().ok_or(RandomError)?;
        let subject = client_credentials::subject(client);
        let validity = Validity::access(&self.config, now, None);
        let access =
            self.new_access(client, Minted::from_random(token), &subject, &scope, validity, proof, audience).await?;
        let grant_id = grant_id_from(grant)?;
        let (grant, response) =
            client_credentials::issue(client, subject, scope, grant_id, resource.cloned(), validity, access);
        match self.seen("insert_grant", self.store.insert_grant(grant).await)? {
            InsertOutcome::Inserted => Ok(response),
            // Only a revocation of the client's own subject can get here.
            InsertOutcome::GrantRevoked => Err(TokenError::InvalidGrant("the client's grants are revoked")),
        }
    }

    pub(super) async fn refresh(
        &self,
        params: &Params<'_>,
        client: &Client,
        proof: Option<&Proof>,
        resource: Option<&Resource>,
    ) -> Result<Response, TokenError> {
        let request = refresh::parse(params)?;
        let now = self.clock.now();
        let invalid = TokenError::InvalidGrant(refresh::INVALID_REFRESH_TOKEN);
        let record =
            self.seen("refresh_token", self.store.refresh_token(&request.token_hash()).await)?.ok_or(invalid)?;
        refresh::check_client(&record, client)?;
        let presentation = refresh::classify(&record, now, &self.config);
        match presentation {
            Presentation::Replay => {
                self.revoke_family(&record.grant_id, &record.client_id, &record.subject, now).await?;
                return Err(invalid);
            }
            Presentation::LostRace => return Err(invalid),
            Presentation::Active | Presentation::GraceRetry => {}
        }
        refresh::check_expiry(&record, now)?;
        refresh::check_binding(&record, client, proof)?;
        let scope = refresh::access_scope(&request, &record)?;
        // RI-02, RI-03: a refresh narrows to one granted resource, never beyond the grant.
        let audience = audience::for_grant(resource, &record.resources, self.config.access_token_audience())
            .map_err(TokenError::InvalidTarget)?;
        let (access, new_refresh) = self.fresh_tokens(refresh::rotates(client, &self.config))?;
        let validity = refresh::access_validity(&record, &self.config, now);
        let access = self.new_access(client, access, &record.subject, &scope, validity, proof, audience).await?;
        let (rotation, response) =
            refresh::issue(&record, presentation, scope, &self.config, validity, access, new_refresh.as_ref());
        match self.seen("rotate_refresh", self.store.rotate_refresh(rotation).await)? {
            RotateOutcome::Rotated => Ok(response),
            // A grace retry that the family no longer allows (already retried, or not the last
            // token rotated out) is a replay.
            RotateOutcome::NotActive if presentation == Presentation::GraceRetry => {
                self.revoke_family(&record.grant_id, &record.client_id, &record.subject, now).await?;
                Err(invalid)
            }
            // Another refresh of this token won the compare-and-swap while this one ran.
            RotateOutcome::NotActive => Err(invalid),
        }
    }

    pub(super) async fn revoke_family(
        &self,
        grant_id: &GrantId,
        client_id: &ClientId,
        subject: &Subject,
        now: time::OffsetDateTime,
    ) -> Result<(), TokenError> {
        self.seen("revoke_grant", self.store.revoke_grant(grant_id, now, now + self.config.grant_memory()).await)?;
        self.hooks.report(&SecurityEvent::RefreshTokenReplay {
            client_id: client_id.clone(),
            grant_id: grant_id.clone(),
            subject: subject.clone(),
        });
        Ok(())
    }

    pub(super) async fn redeem_code(
        &self,
        params: &Params<'_>,
        client: &Client,
        proof: Option<&Proof>,
        resource: Option<&Resource>,
    ) -> Result<Response, TokenError> {
        let redemption = authorization_code::parse(params)?;
        let now = self.clock.now();
        // The store's answer is taken apart in its own statement, so that neither it nor the
        // `?`'s temporaries stay in this future across the awaits below (the future is moved,
        // whole, at every await that starts it).
        let (record, taken_before) =
            match self.seen("take_code", self.store.take_code(&redemption.code_hash()).await)? {
                CodeTake::NotFound => return Err(TokenError::InvalidGrant(authorization_code::INVALID_CODE)),
                CodeTake::AlreadyTaken(record) => (record, true),
                CodeTake::Taken(record) => (record, false),
            };
        if taken_before {
            // AC-04: only a replay that passes every binding revokes the grant.
            authorization_code::check_bindings(&redemption, &record, client)?;
            self.seen(
                "revoke_grant",
                self.store.revoke_grant(&record.grant_id, now, now + self.config.grant_memory()).await,
            )?;
            self.hooks.report(&SecurityEvent::CodeReplay {
                client_id: record.client_id.clone(),
                grant_id: record.grant_id.clone(),
                subject: record.subject.clone(),
            });
            return Err(TokenError::InvalidGrant(authorization_code::INVALID_CODE));
        }
        authorization_code::check_bindings(&redemption, &record, client)?;
        authorization_code::check_expiry(&record, now)?;
        authorization_code::check_dpop_binding(&record, proof)?;
        // A replay may revoke the grant while this redemption runs: then nothing is issued.
        let revoked = TokenError::InvalidGrant(authorization_code::INVALID_CODE);
        let authorization = authorization_code::authorization(&record);
        self.issue_authorization(client, authorization, proof, resource, now, revoked).await
    }

    /// The tokens for an authorization the resource owner granted (a redeemed code, an approved
    /// device request): one granted resource as the audience (RI-02), a refresh token when the
    /// client may refresh, and the grant stored, unless it was revoked meanwhile (`revoked` is
    /// then the answer).
    pub(super) async fn issue_authorization(
        &self,
        client: &Client,
        authorization: token::Authorization<'_>,
        proof: Option<&Proof>,
        resource: Option<&Resource>,
        now: time::OffsetDateTime,
        revoked: TokenError,
    ) -> Result<Response, TokenError> {
        let audience = audience::for_grant(resource, authorization.resources, self.config.access_token_audience())
            .map_err(TokenError::InvalidTarget)?;
        let (access, refresh) = self.fresh_tokens(client.allows_grant(GrantType::RefreshToken))?;
        let validity = authorization_code::access_validity(&self.config, now, refresh.is_some());
        let (subject, scope) = (authorization.subject, authorization.scope);
        let access = self.new_access(client, access, subject, scope, validity, proof, audience).await?;
        let (tokens, response) = token::issue_grant(authorization, &self.config, validity, access, refresh.as_ref());
        match self.seen("insert_grant", self.store.insert_grant(tokens).await)? {
            InsertOutcome::Inserted => Ok(response),
            InsertOutcome::GrantRevoked => Err(revoked),
        }
    }

    /// The access token for `client`, of its format: the random value itself, or a JWT with it
    /// as `jti`, signed through the server's signer. A JWT server without a signer (or whose
    /// signer fails) is misconfigured or down: `server_error`, nothing issued.
    #[allow(clippy::too_many_arguments)]
    pub(super) async fn new_access(
        &self,
        client: &Client,
        random: Minted,
        subject: &Subject,
        scope: &Scope,
        validity: Validity,
        proof: Option<&Proof>,
        audience: Option<String>,
    ) -> Result<NewAccess, TokenError> {
        let jkt = proof.map(|p| p.jkt.clone());
        let token = match self.format(client) {
            AccessTokenFormat::Opaque => AccessText::Opaque(random),
            AccessTokenFormat::Jwt => {
                let Some(signer) = self.signer.as_deref() else {
                    self.hooks.failure(&Failure::NoSigner);
                    return Err(TokenError::ServerError);
                };
                let payload = token::jwt_payload(
                    &self.config,
                    subject,
                    client.id(),
                    scope,
                    validity,
                    random.as_str(),
                    jkt.as_deref(),
                    audience.as_deref(),
                )?;
                let jwt = jose::sign_with(signer, "at+jwt", &payload).await.map_err(|error| {
                    self.hooks.failure(&Failure::Signing { error: &error });
                    TokenError::ServerError
                })?;
                AccessText::Jwt { jwt, jti: random }
            }
        };
        Ok(NewAccess { token, jkt, audience })
    }
}
