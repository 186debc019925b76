//! [`Server`]: drives the protocol modules over the caller's [`Store`], [`Clock`], [`Random`],
//! JWT keys and [`Hooks`].
//!
//! One async method per endpoint, a [`Response`] out. It adds no protocol rule of its own: every
//! decision is made by the pure functions in [`authorize`] and
//! [`token`]; the server only fetches what they need and stores what they decide.

use std::sync::Arc;

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;

use crate::audience;
use crate::authorize::{
    self, Approval, ApprovalError, Approved, AuthorizeError, AuthorizeFailure, AuthorizeOutcome, ConsentRequest,
};
use crate::bytes::BASE64URL;
use crate::client::{
    AuthFailure, AuthMethod, AuthProof, Client, ClientAuthError, Credentials, GrantType, assertion, precheck,
};
use crate::config::AccessTokenFormat;
use crate::config::ServerConfig;
use crate::device::UserCodeLimiter;
use crate::dpop::{self, DpopError, Proof, ProofTarget};
use crate::hooks::{Failure, Hooks, SecurityEvent};
use crate::http::{Method, Params, Request, Response};
use crate::introspect;
use crate::jose::{self, JwtSigner, KeySet, VerificationKeys};
use crate::jwt;
use crate::metadata::Metadata;
use crate::provider::{Clock, Random, RandomError, SystemClock, UserspaceRandom};
use crate::registration::RegistrationPolicy;
use crate::revoke::{self, TokenKind, TokenReference};
use crate::store::{
    AccessTokenRecord, Capabilities, ClaimOutcome, CodeTake, InsertOutcome, RefreshTokenRecord, RotateOutcome, Store,
    StoreError, StoreErrorKind,
};
use crate::token::refresh::{self, Presentation};
use crate::token::{self, TokenError, authorization_code, client_credentials};
use crate::token::{AccessText, NewAccess, Validity};
use crate::types::{ClientId, GrantId, Minted, Resource, Scope, Subject, TokenHash, encode_token};

mod authorization;
mod device;
mod grants;

pub use device::{DeviceConsent, DeviceDecisionError, DeviceVerificationError};
mod pushed;
mod registration;
mod revocation;

/// The authorization server: configuration plus the caller's store, clock, randomness, JWT
/// keys and hooks (security events, brute-force limits, external secret hashes).
///
/// Generic over the store only: the other providers are shared trait objects, so the type is
/// `Server<MyStore>` whatever clock, generator or hooks it was given, easy to name in a host's
/// state. Its futures are `Send` whenever the store's are, so it runs inside any multi-threaded
/// runtime; it spawns nothing and never blocks. Share it behind an `Arc`, or derive a server
/// over a per-request store (a database transaction) with [`Server::with_store`].
pub struct Server<S> {
    config: Arc<ServerConfig>,
    store: S,
    clock: Arc<dyn Clock>,
    random: Arc<dyn Random>,
    signer: Option<Arc<dyn JwtSigner>>,
    verification: Option<Arc<dyn VerificationKeys>>,
    hooks: Arc<dyn Hooks>,
    registration: Option<Arc<dyn RegistrationPolicy>>,
    /// Wrong user codes per source (DG-03), shared by every server derived from this one.
    user_codes: Arc<UserCodeLimiter>,
}

impl<S: std::fmt::Debug> std::fmt::Debug for Server<S> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Server")
            .field("issuer", &self.config.issuer())
            .field("store", &self.store)
            .field("jwt_keys", &self.signer.is_some())
            .finish_non_exhaustive()
    }
}

impl<S: Store> Server<S> {
    /// A server on the system clock and a [`UserspaceRandom`] generator (seeded from the
    /// operating system), with no JWT keys and no hooks; the `with_*` methods change each.
    pub fn new(config: ServerConfig, store: S) -> Self {
        Self {
            config: Arc::new(config),
            store,
            clock: Arc::new(SystemClock),
            random: Arc::new(UserspaceRandom::new()),
            signer: None,
            verification: None,
            hooks: Arc::new(()),
            registration: None,
            user_codes: Arc::new(UserCodeLimiter::default()),
        }
    }

    /// A server whose store is checked, at start-up, for every optional operation the
    /// configuration needs ([`Store::capabilities`]): DPoP (on by default) needs single-use
    /// claims to stop proof replays. Prefer it to [`Server::new`], which finds a missing
    /// operation only at the first request that needs it (and then fails that request closed).
    pub fn try_new(config: ServerConfig, store: S) -> Result<Self, MissingCapabilities> {
        let missing = store.capabilities().missing(required_capabilities(&config));
        if missing.is_empty() { Ok(Self::new(config, store)) } else { Err(MissingCapabilities(missing)) }
    }

    /// A server on the given clock and randomness (a fixed clock for tests, say).
    pub fn with_providers(
        config: ServerConfig,
        store: S,
        clock: impl Clock + 'static,
        random: impl Random + 'static,
    ) -> Self {
        Self::new(config, store).with_clock(clock).with_random(random)
    }

    /// The same server on `clock`.
    pub fn with_clock(mut self, clock: impl Clock + 'static) -> Self {
        self.clock = Arc::new(clock);
        self
    }

    /// The same server drawing randomness from `random`.
    pub fn with_random(mut self, random: impl Random + 'static) -> Self {
        self.random = Arc::new(random);
        self
    }

    /// The same server signing JWT access tokens with `keys` and verifying its own with them
    /// (introspection, revocation, the JWKS): a [`SharedKeySet`](crate::jose::SharedKeySet),
    /// say.
    pub fn with_jwt_keys(self, keys: impl JwtSigner + VerificationKeys + 'static) -> Self {
        let keys = Arc::new(keys);
        self.with_jwt_signer(keys.clone(), keys)
    }

    /// The same server signing JWTs through `signer` (a KMS or an HSM) and verifying its own
    /// with `verification` (the public keys, which its JWKS publishes).
    pub fn with_jwt_signer(
        mut self,
        signer: impl JwtSigner + 'static,
        verification: impl VerificationKeys + 'static,
    ) -> Self {
        self.signer = Some(Arc::new(signer));
        self.verification = Some(Arc::new(verification));
        self
    }

    /// The same server with `hooks`: a [`SecurityEvent`] sink (any closure), a brute-force
    /// limiter, or a verifier of external secret hashes; see [`Hooks`].
    pub fn with_hooks(mut self, hooks: impl Hooks + 'static) -> Self {
        self.hooks = Arc::new(hooks);
        self
    }

    /// The same server with dynamic client registration (RFC 7591) enabled under `policy`,
    /// which decides on every request ([`Server::register`]); `registration_endpoint` is then
    /// in the metadata. Refused when the store does not declare
    /// [`Capabilities::CLIENT_REGISTRATION`]: new clients must reach every instance.
    pub fn with_registration(mut self, policy: impl RegistrationPolicy + 'static) -> Result<Self, MissingCapabilities> {
        let missing = self.store.capabilities().missing(Capabilities::CLIENT_REGISTRATION);
        if !missing.is_empty() {
            return Err(MissingCapabilities(missing));
        }
        self.registration = Some(Arc::new(policy));
        Ok(self)
    }

    /// A server like this one (configuration and providers shared, nothing copied but a few
    /// reference counts) over `store`: for hosts that hold a database transaction across one
    /// request, as `server.with_store(&transaction)`.
    pub fn with_store<T: Store>(&self, store: T) -> Server<T> {
        Server {
            config: self.config.clone(),
            store,
            clock: self.clock.clone(),
            random: self.random.clone(),
            signer: self.signer.clone(),
            verification: self.verification.clone(),
            hooks: self.hooks.clone(),
            registration: self.registration.clone(),
            user_codes: self.user_codes.clone(),
        }
    }

    /// Reports a store failure, with its cause, to the hooks ([`Hooks::failure`]); the client
    /// only ever learns `server_error` or `temporarily_unavailable`.
    fn seen<T>(&self, operation: &'static str, result: Result<T, StoreError>) -> Result<T, StoreError> {
        if let Err(error) = &result {
            self.hooks.failure(&Failure::Store { operation, error });
        }
        result
    }

    /// Fills `dest` from the server's random source, reporting a failure to the hooks.
    fn fill_random(&self, dest: &mut [u8]) -> Result<(), RandomError> {
        self.random.fill_random(dest).inspect_err(|_| self.hooks.failure(&Failure::Random))
    }

    /// The configuration.
    pub fn config(&self) -> &ServerConfig {
        &self.config
    }

    /// The store.
    pub fn store(&self) -> &S {
        &self.store
    }

    /// The token endpoint (TK-01..TK-11): every answer is JSON with `Cache-Control: no-store`.
    /// A request with a `DPoP` proof gets DPoP-bound tokens (RFC 9449; `token_type` `DPoP`).
    pub async fn token(&self, request: &Request<'_>) -> Response {
        let response = match self.token_result(request).await {
            Ok(response) => response,
            Err(error) => error.response(),
        };
        // DP-03: with nonces on, every answer carries the nonce to use next, errors included.
        match self.config.dpop_nonces() {
            Some(nonces) if request.dpop().is_some() || response.status() == 400 => {
                response.with_header("DPoP-Nonce", nonces.issue(self.clock.now()))
            }
            _ => response,
        }
    }

    /// The token endpoint, with the error as a value for hosts that log or count failures.
    pub async fn token_result(&self, request: &Request<'_>) -> Result<Response, TokenError> {
        let http = request;
        let request = token::parse(request, &self.config).inspect_err(|e| self.report_auth_failure(e, None))?;
        let client = self.authenticated_client(&request.credentials).await?;
        if !client.allows_grant(request.grant) {
            return Err(TokenError::UnauthorizedClient);
        }
        let proof = self.dpop_proof(http).await?;
        // DP-06: a client registered with dpop_bound_access_tokens gets bound tokens only.
        if self.config.fapi2_security_profile() && proof.is_none() {
            return Err(TokenError::InvalidDpopProof("the FAPI 2.0 profile issues DPoP-bound tokens only"));
        }
        if client.dpop_bound_access_tokens() && proof.is_none() {
            return Err(TokenError::InvalidDpopProof("this client's tokens are DPoP-bound: a DPoP proof is required"));
        }
        let (proof, resource) = (proof.as_ref(), request.resource.as_ref());
        match request.grant {
            GrantType::AuthorizationCode => self.redeem_code(&request.params, &client, proof, resource).await,
            GrantType::RefreshToken => self.refresh(&request.params, &client, proof, resource).await,
            GrantType::ClientCredentials => self.client_credentials(&request.params, &client, proof, resource).await,
            GrantType::DeviceCode => self.redeem_device_code(&request.params, &client, proof, resource).await,
        }
    }

    /// The request's DPoP proof for the token endpoint, verified (DP-01, DP-02, DP-08, DP-09),
    /// with a valid nonce when nonces are on (DP-03), and claimed once in the store (DP-10).
    /// `None` without a `DPoP` header, or when DPoP is off.
    async fn dpop_proof(&self, request: &Request<'_>) -> Result<Option<Proof>, TokenError> {
        let (Some(window), Some(header)) = (self.config.dpop_window(), request.dpop()) else { return Ok(None) };
        let now = self.clock.now();
        let url = self.config.endpoint_url(&self.config.endpoint_paths().token);
        let proof = dpop::verify(header, &ProofTarget::new("POST", &url), now, window)
            .map_err(|e| TokenError::InvalidDpopProof(dpop_reason(&e)))?;
        if let Some(nonces) = self.config.dpop_nonces() {
            if !proof.nonce.as_deref().is_some_and(|nonce| nonces.accepts(nonce, now)) {
                return Err(TokenError::UseDpopNonce);
            }
        }
        let claim = self.store.claim_once(&proof.replay_key(), now, proof.replay_until(window)).await;
        match self.seen("claim_once", claim)? {
            ClaimOutcome::Claimed => Ok(Some(proof)),
            _ => Err(TokenError::InvalidDpopProof(dpop_reason(&DpopError::Replayed))),
        }
    }

    /// Looks the client up and authenticates it, reporting failures to the hooks.
    async fn authenticated_client(&self, credentials: &Credentials) -> Result<Client, TokenError> {
        let client = self.seen("client", self.store.client(&credentials.client_id).await)?;
        self.authenticate(client, credentials)
            .await
            .inspect_err(|e| self.report_auth_failure(e, Some(&credentials.client_id)))
    }

    /// The metadata document's HTTP answer (RFC 8414; MD-01..MD-06); serve it at
    /// [`ServerConfig::metadata_path`].
    /// `jwks_uri` is listed whenever the server has JWT keys.
    pub fn metadata(&self) -> Response {
        self.metadata_document().response()
    }

    /// The metadata document itself, for a host that publishes more than the configuration
    /// says (`scopes_supported`, its own members): extend it, then serve
    /// [`Metadata::response`].
    pub fn metadata_document(&self) -> Metadata {
        let mut metadata = Metadata::new(&self.config);
        if self.verification.is_some() {
            metadata = metadata.with_jwks_uri(&self.config);
        }
        if self.registration.is_some() {
            metadata = metadata.with_registration_endpoint(&self.config);
        }
        metadata
    }

    /// Client authentication (TK-06): the registration's rules, then the secret, after asking
    /// the limiter (SEC-06).
    async fn authenticate(&self, client: Option<Client>, credentials: &Credentials) -> Result<Client, TokenError> {
        let failed = |reason| TokenError::ClientAuth(ClientAuthError::Failed { reason, header: credentials.header });
        // FAPI-01: under the profile, clients authenticate with private_key_jwt and nothing else.
        if self.config.fapi2_security_profile() && credentials.method != AuthMethod::PrivateKeyJwt {
            return Err(failed(AuthFailure::MethodNotAllowed));
        }
        let (client, proof) = precheck(client, credentials)?;
        if proof == AuthProof::Nothing {
            return Ok(client);
        }
        // SEC-06: the limiter is asked before any secret or assertion is checked.
        if !self.hooks.allow_secret_check(client.id()).await {
            return Err(failed(AuthFailure::RateLimited));
        }
        if let (AuthProof::Assertion, Some(assertion)) = (proof, &credentials.assertion) {
            // CA-01..CA-03, then CA-04: the jti is claimed only once every other check passed.
            let now = self.clock.now();
            let verified = assertion::verify(assertion, &client, &self.config, now).map_err(failed)?;
            let claim = self.store.claim_once(&verified.replay_key, now, verified.replay_until).await;
            return match self.seen("claim_once", claim)? {
                ClaimOutcome::Claimed => Ok(client),
                _ => Err(failed(AuthFailure::AssertionReplayed)),
            };
        }
        let Some(secret) = credentials.secret.as_ref() else { return Err(failed(AuthFailure::SecretRequired)) };
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

    fn report_auth_failure(&self, error: &TokenError, client_id: Option<&ClientId>) {
        if let TokenError::ClientAuth(ClientAuthError::Failed { reason, .. }) = error {
            let reason: AuthFailure = *reason;
            self.hooks.report(&SecurityEvent::ClientAuthenticationFailed { client_id: client_id.cloned(), reason });
        }
    }

    /// Revokes grant `id`: its refresh and access tokens stop working, and a code of the grant
    /// not yet redeemed can no longer be (RT-09).
    pub async fn revoke_grant(&self, id: &GrantId) -> Result<(), StoreError> {
        let now = self.clock.now();
        self.seen("revoke_grant", self.store.revoke_grant(id, now, now + self.config.grant_memory()).await)
    }

    /// Revokes every grant of `subject`, including codes issued but not yet redeemed: for
    /// logout everywhere or a password change (RT-09).
    pub async fn revoke_subject(&self, subject: &Subject) -> Result<(), StoreError> {
        let now = self.clock.now();
        self.seen("revoke_subject", self.store.revoke_subject(subject, now, now + self.config.grant_memory()).await)
    }

    /// A code (256 bits) and its grant id (128 bits), from one call for randomness.
    fn fresh_code(&self) -> Result<(Minted, GrantId), RandomError> {
        let mut random = [0u8; 48];
        self.fill_random(&mut random)?;
        let (code, grant) = random.split_first_chunk::<32>().ok_or(RandomError)?;
        Ok((Minted::from_random(code), grant_id_from(grant)?))
    }

    /// The random part of an access token (an opaque token, or a JWT's `jti`) and, when
    /// `with_refresh`, a refresh token (256 bits each), from one call for randomness.
    fn fresh_tokens(&self, with_refresh: bool) -> Result<(Minted, Option<Minted>), RandomError> {
        let mut random = [[0u8; 32]; 2];
        let needed = if with_refresh { 2 } else { 1 };
        self.fill_random(random[..needed].as_flattened_mut())?;
        let [access, refresh] = &random;
        Ok((Minted::from_random(access), with_refresh.then(|| Minted::from_random(refresh))))
    }

    /// The access-token format for `client`: its registration's, else the server's.
    fn format(&self, client: &Client) -> AccessTokenFormat {
        client.access_token_format().unwrap_or(self.config.access_token_format())
    }

    /// The key under which a presented access token's record is stored, with the `jti` when
    /// it is one of our JWTs: a JWT that verifies with this server's keys is found by its
    /// `jti`; anything else is treated as an opaque token, whose characters are base64url
    /// only. A string that is neither finds nothing, so a JWT's `jti` (or its `jti:` key text)
    /// cannot stand in for the token.
    fn access_token_key(&self, token: &str) -> Option<(TokenHash, Option<String>)> {
        if token.contains('.') {
            let keys = self.jwt_verification_keys()?;
            let issuer = self.config.issuer().as_str();
            // Expiry and audience are the record's to judge; only authenticity matters here.
            let claims = jwt::verify_with(&keys, token, self.clock.now(), issuer, None, jwt::MAX_LEEWAY).ok()?;
            return Some((TokenHash::of_jwt_id(&claims.jwt_id), Some(claims.jwt_id)));
        }
        is_opaque_token_text(token).then(|| (TokenHash::of(token), None))
    }

    fn jwt_verification_keys(&self) -> Option<Arc<KeySet>> {
        self.verification.as_ref()?.verification_keys()
    }

    /// The JWKS document of the server's JWT keys (RFC 7517 §5; MD-03), to serve at
    /// [`EndpointPaths::jwks`](crate::EndpointPaths::jwks): 200 with the keys that verify now,
    /// cacheable for five minutes, or 404 when the server has no JWT keys.
    pub fn jwks(&self) -> Response {
        match self.jwt_verification_keys() {
            // Public keys, meant to be cached: not the no-store JSON of the token endpoints.
            Some(keys) => Response::new(200)
                .with_header("Content-Type", "application/json")
                .with_header("Cache-Control", "public, max-age=300")
                .with_body(keys.jwks(self.clock.now()).into_bytes()),
            None => Response::new(404),
        }
    }
}

/// The store lacks optional operations the configuration needs ([`Server::try_new`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("the store does not support {0}, which the configuration needs")]
pub struct MissingCapabilities(pub Capabilities);

/// The optional store operations `config` needs: single-use claims while DPoP is on, and
/// pushed requests (with claims) while those are on.
fn required_capabilities(config: &ServerConfig) -> Capabilities {
    let mut needed = Capabilities::NONE;
    if config.dpop_window().is_some() {
        needed = needed.union(Capabilities::SINGLE_USE_CLAIMS);
    }
    if config.pushed_request_lifetime().is_some() {
        needed = needed.union(Capabilities::SINGLE_USE_CLAIMS).union(Capabilities::PUSHED_REQUESTS);
    }
    if config.device_verification_uri().is_some() {
        needed = needed.union(Capabilities::DEVICE_REQUESTS);
    }
    needed
}

/// The `error_description` of a refused proof: fixed text, never the proof's own.
fn dpop_reason(error: &DpopError) -> &'static str {
    match error {
        DpopError::Repeated => "more than one DPoP header",
        DpopError::Jose(_) => "the DPoP proof is not a valid dpop+jwt signed by its jwk",
        DpopError::Malformed(_) => "the DPoP proof lacks a claim or has one of the wrong type",
        DpopError::WrongMethod => "the DPoP proof is for another method",
        DpopError::WrongUrl => "the DPoP proof is for another URL",
        DpopError::NotFresh => "the DPoP proof is too old or from the future",
        DpopError::AccessTokenHash => "the DPoP proof does not name this access token",
        DpopError::Replayed => "the DPoP proof was used before",
        _ => "the DPoP proof is invalid",
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
    !token.is_empty() && token.len() <= 512 && BASE64URL.contains_all(token.as_bytes())
}

/// A grant id from 16 random bytes.
fn grant_id_from(random: &[u8]) -> Result<GrantId, RandomError> {
    // Encoded on the stack: the id's one allocation is its own.
    let mut text = [0u8; 24];
    let written = URL_SAFE_NO_PAD.encode_slice(random, &mut text).map_err(|_| RandomError)?;
    let text = std::str::from_utf8(&text[..written]).map_err(|_| RandomError)?;
    GrantId::new(text).map_err(|_| RandomError)
}

/// The authorization-endpoint error for a store failure (AZ-11).
fn store_fault(error: &StoreError) -> AuthorizeError {
    match error {
        e if e.kind() == StoreErrorKind::Unavailable => AuthorizeError::TemporarilyUnavailable,
        _ => AuthorizeError::ServerError,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::memory::MemoryStore;
    use crate::test_support::block_on;

    fn assert_send<T: Send>(_: &T) {}
    fn assert_send_sync<T: Send + Sync>() {}

    /// Every endpoint's future is `Send` over a `Send` store, also for a per-request server over
    /// a borrowed store, so hosts can await them inside multi-threaded runtimes.
    #[test]
    fn every_endpoint_future_is_send_over_a_send_store() {
        assert_send_sync::<Server<MemoryStore>>();
        let config = ServerConfig::builder("https://as.example").build().unwrap();
        let store = MemoryStore::new();
        store.insert_client(
            crate::Client::public("app").redirect_uri("http://127.0.0.1/cb").scope("read").build().unwrap(),
        );
        let server = Server::new(config, store).with_hooks(|_: &SecurityEvent| {});
        let query = "response_type=code&client_id=app&scope=read\
            &code_challenge=E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM&code_challenge_method=S256";
        let req = Request::get(query);
        assert_send(&server.authorize(&req));
        let AuthorizeOutcome::Consent(consent) = block_on(server.authorize(&req)) else { panic!("consent") };
        let subject = Subject::new("alice").unwrap();
        assert_send(&server.approve(&consent, Approval::new(subject.clone())));
        assert_send(&server.token(&req));
        assert_send(&server.token_result(&req));
        assert_send(&server.revoke(&req));
        assert_send(&server.introspect(&req));
        let grant = GrantId::new("g").unwrap();
        assert_send(&server.revoke_grant(&grant));
        assert_send(&server.revoke_subject(&subject));
        let per_request = server.with_store(server.store());
        assert_send(&per_request.token(&req));
        assert_send(&per_request.authorize(&req));
    }
}
