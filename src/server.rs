//! [`Server`]: drives the protocol modules over the caller's [`Store`], [`Clock`] and [`Keys`].
//!
//! One async method per endpoint, a [`Response`] out. It adds no protocol rule of its own: every
//! decision is made by the pure functions in [`authorize`] and
//! [`token`]; the server only fetches what they need and stores what they decide.

use std::sync::Arc;

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;

use crate::authorize::{
    self, Approval, ApprovalError, AuthorizeError, AuthorizeFailure, AuthorizeOutcome, ConsentRequest,
};
use crate::client::{AuthFailure, Client, ClientAuthError, Credentials, GrantType, precheck};
use crate::config::AccessTokenFormat;
use crate::config::ServerConfig;
use crate::hooks::{Hooks, SecurityEvent};
use crate::http::{Method, Params, Request, Response};
use crate::introspect;
use crate::jose::KeySet;
use crate::jwt;
use crate::metadata::Metadata;
use crate::provider::{Clock, Keys, RandomError, SystemClock, SystemKeys};
use crate::revoke::{self, TokenKind, TokenReference};
use crate::store::{AccessTokenRecord, CodeTake, InsertOutcome, RefreshTokenRecord, RotateOutcome, Store, StoreError};
use crate::token::NewAccess;
use crate::token::refresh::{self, Presentation};
use crate::token::{self, TokenError, authorization_code, client_credentials};
use crate::types::{AuthorizationCode, ClientId, GrantId, RefreshToken, Subject, TokenHash, encode_token};

/// The authorization server: configuration plus the caller's store, clock, randomness and
/// hooks (security events, brute-force limits, external secret hashes).
///
/// Its futures are `Send` whenever the store's are, so it runs inside any multi-threaded
/// runtime; it spawns nothing and never blocks. Share it behind an `Arc`.
#[derive(Debug)]
pub struct Server<S, C = SystemClock, K = SystemKeys, H = ()> {
    config: ServerConfig,
    store: S,
    clock: C,
    keys: K,
    hooks: H,
}

impl<S: Store> Server<S> {
    /// A server on the system clock and the system random generator.
    pub fn new(config: ServerConfig, store: S) -> Self {
        Self::with_providers(config, store, SystemClock, SystemKeys::new())
    }
}

impl<S: Store, C: Clock, K: Keys> Server<S, C, K> {
    /// A server on the given clock and randomness (a fixed clock for tests, say).
    pub fn with_providers(config: ServerConfig, store: S, clock: C, keys: K) -> Self {
        Self { config, store, clock, keys, hooks: () }
    }
}

impl<S: Store, C: Clock, K: Keys, H: Hooks> Server<S, C, K, H> {
    /// The same server with `hooks`: a [`SecurityEvent`] sink (any closure), a brute-force
    /// limiter, or a verifier of external secret hashes; see [`Hooks`].
    pub fn with_hooks<H2: Hooks>(self, hooks: H2) -> Server<S, C, K, H2> {
        let Self { config, store, clock, keys, .. } = self;
        Server { config, store, clock, keys, hooks }
    }

    /// The configuration.
    pub fn config(&self) -> &ServerConfig {
        &self.config
    }

    /// The store.
    pub fn store(&self) -> &S {
        &self.store
    }

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
        let client = self.store.client(&id).await.map_err(|e| AuthorizeFailure::page(store_fault(&e)))?;
        authorize::validate(params, client, &self.config, post)
    }

    /// The resource owner approved: issues a code and redirects to the client with `code`,
    /// `state` and `iss` (AZ-11..AZ-15).
    ///
    /// A store or randomness failure becomes a `server_error` / `temporarily_unavailable`
    /// redirect. The only errors are host bugs: an approval wider than the request, or a
    /// subject that is also a registered client id (JWT-04).
    pub async fn approve(&self, consent: &ConsentRequest, approval: Approval) -> Result<Response, ApprovalError> {
        consent.check(&approval)?;
        let issuer = self.config.issuer();
        // JWT-04: a user must never share a `sub` with a client acting for itself.
        if let Ok(as_client) = ClientId::new(approval.subject().as_str()) {
            match self.store.client(&as_client).await {
                Ok(None) => {}
                Ok(Some(_)) => return Err(ApprovalError::SubjectIsAClientId),
                Err(e) => return Ok(consent.error_response(store_fault(&e), issuer)),
            }
        }
        let now = self.clock.now();
        let (code, grant_id) = match self.fresh_code() {
            Ok(fresh) => fresh,
            Err(_) => return Ok(consent.error_response(AuthorizeError::ServerError, issuer)),
        };
        let (record, response) = consent.issue_code(&approval, &code, grant_id, now, &self.config);
        match self.store.insert_code(record).await {
            Ok(()) => Ok(response),
            Err(e) => Ok(consent.error_response(store_fault(&e), issuer)),
        }
    }

    /// The resource owner denied: redirects to the client with `access_denied` (AZ-11).
    pub fn deny(&self, consent: &ConsentRequest) -> Response {
        consent.error_response(AuthorizeError::AccessDenied, self.config.issuer())
    }

    /// The token endpoint (TK-01..TK-11): every answer is JSON with `Cache-Control: no-store`.
    pub async fn token(&self, request: &Request<'_>) -> Response {
        match self.token_result(request).await {
            Ok(response) => response,
            Err(error) => error.response(),
        }
    }

    /// The token endpoint, with the error as a value for hosts that log or count failures.
    pub async fn token_result(&self, request: &Request<'_>) -> Result<Response, TokenError> {
        let request = token::parse(request, &self.config).inspect_err(|e| self.report_auth_failure(e, None))?;
        let client = self.authenticated_client(&request.credentials).await?;
        if !client.allows_grant(request.grant) {
            return Err(TokenError::UnauthorizedClient);
        }
        match request.grant {
            GrantType::AuthorizationCode => self.redeem_code(&request.params, &client).await,
            GrantType::RefreshToken => self.refresh(&request.params, &client).await,
            GrantType::ClientCredentials => self.client_credentials(&request.params, &client).await,
        }
    }

    /// Looks the client up and authenticates it, reporting failures to the hooks.
    async fn authenticated_client(&self, credentials: &Credentials) -> Result<Client, TokenError> {
        let client = self.store.client(&credentials.client_id).await?;
        self.authenticate(client, credentials).await.map_err(|e| {
            let e = TokenError::from(e);
            self.report_auth_failure(&e, Some(&credentials.client_id));
            e
        })
    }

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
                self.store.revoke_access_token(&record.hash).await?;
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
                    Some((key, jti)) => self.store.access_token(&key).await?.map(|record| Found::Access(record, jti)),
                    None => None,
                },
                TokenKind::Refresh => self.store.refresh_token(&reference.token.hash()).await?.map(Found::Refresh),
            };
            if found.is_some() {
                return Ok(found);
            }
        }
        Ok(None)
    }

    /// The metadata document's HTTP answer (RFC 8414; MD-01..MD-06); serve it at
    /// [`ServerConfig::metadata_path`].
    /// `jwks_uri` is listed whenever the server has JWT keys.
    pub fn metadata(&self) -> Response {
        let metadata = Metadata::new(&self.config);
        let metadata = if self.keys.jwt_keys().is_some() { metadata.with_jwks_uri(&self.config) } else { metadata };
        metadata.response()
    }

    /// Client authentication (TK-06): the registration's rules, then the secret, after asking
    /// the limiter (SEC-06).
    async fn authenticate(&self, client: Option<Client>, credentials: &Credentials) -> Result<Client, ClientAuthError> {
        let (client, needs_secret) = precheck(client, credentials)?;
        let Some(secret) = credentials.secret.as_ref().filter(|_| needs_secret) else { return Ok(client) };
        let failed = |reason| ClientAuthError::Failed { reason, header: credentials.header };
        if !self.hooks.allow_secret_check(client.id()).await {
            return Err(failed(AuthFailure::RateLimited));
        }
        if client.verify_secret(secret) {
            return Ok(client);
        }
        let mut external_ok = false;
        for stored in client.external_secrets() {
            if self.hooks.verify_external_secret(client.id(), stored, secret).await {
                external_ok = true;
                break;
            }
        }
        if external_ok { Ok(client) } else { Err(failed(AuthFailure::WrongSecret)) }
    }

    async fn client_credentials(&self, params: &Params<'_>, client: &Client) -> Result<Response, TokenError> {
        client_credentials::check_client(client)?;
        let scope = client_credentials::scope(params, client)?;
        let now = self.clock.now();
        // One system call for all of this request's randomness: each call costs far more than
        // the bytes it returns.
        let mut random = [0u8; 48];
        self.keys.fill_random(&mut random)?;
        let (token, grant) = random.split_at(32);
        let keys = self.signing_keys(client)?;
        let access = NewAccess::new(encode_token(token), self.format(client), keys.as_deref())?;
        let grant_id = grant_id_from(grant)?;
        let (grant, response) = client_credentials::issue(client, scope, grant_id, &self.config, now, access)?;
        match self.store.insert_grant(grant).await? {
            InsertOutcome::Inserted => Ok(response),
            // Only a revocation of the client's own subject can get here.
            InsertOutcome::GrantRevoked => Err(TokenError::InvalidGrant("the client's grants are revoked")),
        }
    }

    fn report_auth_failure(&self, error: &TokenError, client_id: Option<&ClientId>) {
        if let TokenError::ClientAuth(ClientAuthError::Failed { reason, .. }) = error {
            let reason: AuthFailure = *reason;
            self.hooks.report(&SecurityEvent::ClientAuthenticationFailed { client_id: client_id.cloned(), reason });
        }
    }

    /// Revokes grant `id`: its refresh and access tokens stop working, and a code of the grant
    /// not yet redeemed can no longer be (RT-09).
    pub async fn revoke_grant(&self, id: &GrantId) -> Result<(), StoreError> {
        self.store.revoke_grant(id, self.clock.now() + self.config.grant_memory()).await
    }

    /// Revokes every grant of `subject`, including codes issued but not yet redeemed: for
    /// logout everywhere or a password change (RT-09).
    pub async fn revoke_subject(&self, subject: &Subject) -> Result<(), StoreError> {
        let now = self.clock.now();
        self.store.revoke_subject(subject, now, now + self.config.grant_memory()).await
    }

    async fn refresh(&self, params: &Params<'_>, client: &Client) -> Result<Response, TokenError> {
        let request = refresh::parse(params)?;
        let now = self.clock.now();
        let invalid = TokenError::InvalidGrant(refresh::INVALID_REFRESH_TOKEN);
        let record = self.store.refresh_token(&request.token.hash()).await?.ok_or(invalid)?;
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
        let scope = refresh::access_scope(&request, &record)?;
        let (access, new_refresh) = self.fresh_tokens(refresh::rotates(client, &self.config))?;
        let keys = self.signing_keys(client)?;
        let access = NewAccess::new(access, self.format(client), keys.as_deref())?;
        let (rotation, response) =
            refresh::issue(&record, presentation, scope, &self.config, now, access, new_refresh.as_ref())?;
        match self.store.rotate_refresh(rotation).await? {
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

    async fn revoke_family(
        &self,
        grant_id: &GrantId,
        client_id: &ClientId,
        subject: &Subject,
        now: time::OffsetDateTime,
    ) -> Result<(), TokenError> {
        self.store.revoke_grant(grant_id, now + self.config.grant_memory()).await?;
        self.hooks.report(&SecurityEvent::RefreshTokenReplay {
            client_id: client_id.clone(),
            grant_id: grant_id.clone(),
            subject: subject.clone(),
        });
        Ok(())
    }

    async fn redeem_code(&self, params: &Params<'_>, client: &Client) -> Result<Response, TokenError> {
        let redemption = authorization_code::parse(params)?;
        let now = self.clock.now();
        match self.store.take_code(&redemption.code.hash()).await? {
            CodeTake::NotFound => Err(TokenError::InvalidGrant(authorization_code::INVALID_CODE)),
            CodeTake::AlreadyTaken(record) => {
                // AC-04: only a replay that passes every binding revokes the grant.
                authorization_code::check_bindings(&redemption, &record, client)?;
                self.store.revoke_grant(&record.grant_id, now + self.config.grant_memory()).await?;
                self.hooks.report(&SecurityEvent::CodeReplay {
                    client_id: record.client_id.clone(),
                    grant_id: record.grant_id.clone(),
                    subject: record.subject.clone(),
                });
                Err(TokenError::InvalidGrant(authorization_code::INVALID_CODE))
            }
            CodeTake::Taken(record) => {
                authorization_code::check_bindings(&redemption, &record, client)?;
                authorization_code::check_expiry(&record, now)?;
                let (access, refresh) = self.fresh_tokens(client.allows_grant(GrantType::RefreshToken))?;
                let keys = self.signing_keys(client)?;
                let access = NewAccess::new(access, self.format(client), keys.as_deref())?;
                let (tokens, response) =
                    authorization_code::issue(&record, &self.config, now, access, refresh.as_ref())?;
                match self.store.insert_grant(tokens).await? {
                    InsertOutcome::Inserted => Ok(response),
                    // A replay revoked the grant while this redemption was running.
                    InsertOutcome::GrantRevoked => Err(TokenError::InvalidGrant(authorization_code::INVALID_CODE)),
                }
            }
        }
    }

    /// A code (256 bits) and its grant id (128 bits), from one call for randomness.
    fn fresh_code(&self) -> Result<(AuthorizationCode, GrantId), RandomError> {
        let mut random = [0u8; 48];
        self.keys.fill_random(&mut random)?;
        let (code, grant) = random.split_at(32);
        Ok((AuthorizationCode::new(encode_token(code)), grant_id_from(grant)?))
    }

    /// The random part of an access token (an opaque token, or a JWT's `jti`) and, when
    /// `with_refresh`, a refresh token (256 bits each), from one call for randomness.
    fn fresh_tokens(&self, with_refresh: bool) -> Result<(String, Option<RefreshToken>), RandomError> {
        let mut random = [0u8; 64];
        let needed = if with_refresh { 64 } else { 32 };
        self.keys.fill_random(&mut random[..needed])?;
        let (access, refresh) = random.split_at(32);
        Ok((encode_token(access), with_refresh.then(|| RefreshToken::new(encode_token(refresh)))))
    }

    /// The access-token format for `client`: its registration's, else the server's.
    fn format(&self, client: &Client) -> AccessTokenFormat {
        client.access_token_format().unwrap_or(self.config.access_token_format())
    }

    /// The key set to sign `client`'s access tokens with, when they are JWTs. A JWT server
    /// whose [`Keys`] has no key set is misconfigured: `server_error`, nothing issued.
    fn signing_keys(&self, client: &Client) -> Result<Option<Arc<KeySet>>, TokenError> {
        match self.format(client) {
            AccessTokenFormat::Opaque => Ok(None),
            AccessTokenFormat::Jwt => self.keys.jwt_keys().map(Some).ok_or(TokenError::ServerError),
        }
    }

    /// The key under which a presented access token's record is stored: a JWT that verifies
    /// with this server's keys is found by its `jti`; anything else is treated as an opaque
    /// token, whose characters are base64url only. A string that is neither finds nothing,
    /// so a JWT's `jti` (or its `jti:` key text) cannot stand in for the token.
    /// The store key of a presented access token, with its `jti` when it is one of our JWTs.
    fn access_token_key(&self, token: &str) -> Option<(TokenHash, Option<String>)> {
        if token.contains('.') {
            let keys = self.keys.jwt_keys()?;
            let issuer = self.config.issuer().as_str();
            // Expiry and audience are the record's to judge; only authenticity matters here.
            let claims = jwt::verify_with(&keys, token, self.clock.now(), issuer, None, jwt::MAX_LEEWAY).ok()?;
            return Some((TokenHash::of_jwt_id(&claims.jwt_id), Some(claims.jwt_id)));
        }
        is_opaque_token_text(token).then(|| (TokenHash::of(token), None))
    }

    /// The JWKS document of the server's JWT keys (RFC 7517 §5; MD-03), to serve at
    /// [`EndpointPaths::jwks`](crate::EndpointPaths::jwks): 200 with the keys that verify now,
    /// cacheable for five minutes, or 404 when the server has no JWT keys.
    pub fn jwks(&self) -> Response {
        match self.keys.jwt_keys() {
            // Public keys, meant to be cached: not the no-store JSON of the token endpoints.
            Some(keys) => Response::new(200)
                .with_header("Content-Type", "application/json")
                .with_header("Cache-Control", "public, max-age=300")
                .with_body(keys.jwks(self.clock.now()).into_bytes()),
            None => Response::new(404),
        }
    }
}

/// A token found by [`Server::find_token`].
enum Found {
    /// An access token, with its `jti` when it is a JWT.
    Access(AccessTokenRecord, Option<String>),
    Refresh(RefreshTokenRecord),
}

/// Whether `token` could be an opaque token of this server: 1 to 512 base64url characters.
fn is_opaque_token_text(token: &str) -> bool {
    !token.is_empty()
        && token.len() <= 512
        && token.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
}

/// A grant id from 16 random bytes.
fn grant_id_from(random: &[u8]) -> Result<GrantId, RandomError> {
    GrantId::new(URL_SAFE_NO_PAD.encode(random)).map_err(|_| RandomError)
}

/// The authorization-endpoint error for a store failure (AZ-11).
fn store_fault(error: &StoreError) -> AuthorizeError {
    match error {
        StoreError::Unavailable(_) => AuthorizeError::TemporarilyUnavailable,
        _ => AuthorizeError::ServerError,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::memory::MemoryStore;

    fn assert_send<T: Send>(_: &T) {}

    #[test]
    fn server_futures_are_send_over_a_send_store() {
        let config = ServerConfig::builder("https://as.example").build().unwrap();
        let server = Server::new(config, MemoryStore::new());
        let req = Request::get("");
        assert_send(&server.authorize(&req));
        assert_send(&server.token(&req));
    }
}
