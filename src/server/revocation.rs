//! The revocation (RFC 7009) and introspection (RFC 7662) endpoints, which share one request
//! shape and one token lookup.

use super::*;

impl<S: Store> Server<S> {
    /// The revocation endpoint (RFC 7009; RV-01..RV-06): 200 whenever the request is valid,
    /// whether or not anything was revoked; 503 when the store fails.
    pub async fn revoke(&self, request: &Request<'_>) -> Response {
        match self.revoke_result(request).await {
            Ok(response) => response,
            // RV-06: a store failure must make the client retry, never look like success.
            Err(TokenError::ServerError) => TokenError::TemporarilyUnavailable.response(),
            Err(error) => error.response(),
        }
    }

    async fn revoke_result(&self, request: &Request<'_>) -> Result<Response, TokenError> {
        let reference = revoke::parse(request, &self.config).inspect_err(|e| self.report_auth_failure(e, None))?;
        let client = self.authenticated_client(&reference.credentials).await?;
        match self.find_token(&reference).await? {
            Some(Found::Access(record, _)) if record.client_id == *client.id() => {
                self.seen("revoke_access_token", self.store.revoke_access_token(&record.hash).await)?;
            }
            // RV-04: a refresh token takes its whole grant with it.
            Some(Found::Refresh(record)) if record.client_id == *client.id() => {
                self.revoke_grant(&record.grant_id).await?;
            }
            // RV-05, RV-06: another client's token, or an unknown one, is left alone with the
            // same answer.
            _ => {}
        }
        Ok(revoke::revoked())
    }

    /// The introspection endpoint (RFC 7662; IN-01..IN-05). Callers authenticate as
    /// confidential clients; failures are 401.
    pub async fn introspect(&self, request: &Request<'_>) -> Response {
        match self.introspect_result(request).await {
            Ok(response) => response,
            Err(error) => error.response(),
        }
    }

    async fn introspect_result(&self, request: &Request<'_>) -> Result<Response, TokenError> {
        // IN-02: authentication failures are 401 here, whichever way credentials came.
        let as_401 = |e: TokenError| match e {
            TokenError::ClientAuth(ClientAuthError::Failed { reason, .. }) => {
                TokenError::ClientAuth(ClientAuthError::Failed { reason, header: true })
            }
            e => e,
        };
        let reference = revoke::parse(request, &self.config).inspect_err(|e| self.report_auth_failure(e, None));
        let reference = reference.map_err(as_401)?;
        let client = self.authenticated_client(&reference.credentials).await.map_err(as_401)?;
        if client.is_public() {
            let e =
                TokenError::ClientAuth(ClientAuthError::Failed { reason: AuthFailure::MethodNotAllowed, header: true });
            self.report_auth_failure(&e, Some(client.id()));
            return Err(e);
        }
        let now = self.clock.now();
        Ok(match self.find_token(&reference).await? {
            Some(Found::Access(record, jti)) => introspect::access(&record, jti.as_deref(), &client, &self.config, now),
            Some(Found::Refresh(record)) => introspect::refresh(&record, &client, &self.config, now),
            None => introspect::inactive(),
        })
    }

    /// Looks the referenced token up, the hinted kind first; a hint never limits the search
    /// (RV-03).
    async fn find_token(&self, reference: &TokenReference) -> Result<Option<Found>, StoreError> {
        for kind in reference.search {
            let found = match kind {
                TokenKind::Access => match self.access_token_key(reference.token.secret()) {
                    Some((key, jti)) => self
                        .seen("access_token", self.store.access_token(&key).await)?
                        .map(|record| Found::Access(record, jti)),
                    None => None,
                },
                TokenKind::Refresh => self
                    .seen("refresh_token", self.store.refresh_token(&reference.token.hash()).await)?
                    .map(Found::Refresh),
            };
            if found.is_some() {
                return Ok(found);
            }
        }
        Ok(None)
    }
}
