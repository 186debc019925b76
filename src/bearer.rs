//! The resource-server side (RFC 6750; RS-01..RS-05): read `Authorization: Bearer`, check the
//! access token through the store, and build the 401 / 403 / 400 answer with its
//! `WWW-Authenticate: Bearer` challenge.
//!
//! [`BearerChecker`] needs only a [`Store`] and a [`Clock`], so a resource server that shares
//! the authorization server's store uses it without the rest of the [`Server`](crate::Server).
//!
//! ```
//! use oauth21::bearer::BearerChecker;
//! use oauth21::{ManualClock, MemoryStore, Request, Scope};
//! # fn block_on<F: std::future::Future>(f: F) -> F::Output {
//! #     let mut f = std::pin::pin!(f);
//! #     let mut cx = std::task::Context::from_waker(std::task::Waker::noop());
//! #     loop { if let std::task::Poll::Ready(v) = f.as_mut().poll(&mut cx) { return v; } }
//! # }
//! let checker = BearerChecker::new(MemoryStore::new(), ManualClock::at_unix(0), "api")?;
//! let request = Request::get("");
//! let error = block_on(checker.check(&request, &Scope::parse("read")?)).unwrap_err();
//! let response = checker.response(&error);
//! assert_eq!(response.status(), 401);
//! assert_eq!(response.header("WWW-Authenticate"), Some(r#"Bearer realm="api""#));
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```

use crate::dpop::{self, DpopError, NonceKey, ProofTarget};
use crate::error::is_valid_description;
use crate::http::{Method, Request, Response};
use crate::jwt::{AccessTokenClaims, JwtError, JwtVerifier};
use crate::provider::Clock;
use crate::store::{AccessTokenRecord, ClaimOutcome, Store, StoreError};
use crate::types::{Scope, TokenHash, constant_time_eq};
use time::OffsetDateTime;

mod credentials;
pub use credentials::{Scheme, read_access_token, read_bearer_token};
use credentials::{read_credentials, token_text};

/// Why a request to a protected resource was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum BearerError {
    /// No bearer credentials: 401 with a bare challenge, no error code (RS-03).
    #[error("no bearer token was sent")]
    NoCredentials,
    /// Malformed credentials, or a token sent by more than one method: 400 (RS-02, RS-04).
    #[error("{0}")]
    InvalidRequest(&'static str),
    /// Unknown, expired, revoked, or meant for another audience: 401 (RS-04, RS-05).
    #[error("{0}")]
    InvalidToken(&'static str),
    /// Valid, but without the scope the resource needs: 403, naming it (RS-04).
    #[error("the access token lacks the required scope")]
    InsufficientScope(Scope),
    /// The store failed: 503, and the token is neither accepted nor blamed.
    #[error("the token could not be checked now")]
    Unavailable,
    /// A DPoP request's proof is missing, defective, stale, replayed, for another request, or
    /// does not name the token (DP-07, DP-11): 401 with a `DPoP` challenge.
    #[error("{0}")]
    InvalidDpopProof(&'static str),
    /// A DPoP-scheme request whose token is unknown, expired, not bound, or bound to another
    /// key (DP-07, DP-11): 401 `invalid_token` with a `DPoP` challenge.
    #[error("{0}")]
    InvalidDpopToken(&'static str),
    /// The resource server requires a fresh nonce in the proof (DP-03): 401 `use_dpop_nonce`
    /// with a `DPoP` challenge and the nonce in `DPoP-Nonce`.
    #[error("a fresh DPoP nonce is required")]
    UseDpopNonce,
    /// The host did not pass what a DPoP check needs (the request's method name and path, or
    /// the resource server's public URL): 500, a host bug, never the client's fault.
    #[error("{0}")]
    Misconfigured(&'static str),
}

/// How a checker accepts DPoP-bound tokens.
#[derive(Debug, Clone)]
struct DpopResource {
    /// The resource server's public URL (scheme, host, port, maybe a path prefix), no trailing
    /// slash: the request path follows it in `htu`.
    base: String,
    window: time::Duration,
    nonces: Option<NonceKey>,
}

/// Checks bearer tokens for one protected resource (one realm).
#[derive(Debug)]
pub struct BearerChecker<S, C> {
    store: S,
    clock: C,
    realm: String,
    audience: Option<String>,
    jwt: Option<JwtVerifier>,
    dpop: Option<DpopResource>,
    /// The URL of the resource's metadata document (RFC 9728), named in every challenge.
    metadata_url: Option<String>,
    /// Whether a token without any audience passes the audience check (an opt-in leniency).
    audienceless: bool,
}

/// The resource server's public URL is not an absolute http(s) URL without query or fragment.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("the resource server's public URL must be an absolute http(s) URL without query or fragment")]
pub struct InvalidResourceUrl;

/// The realm contains a `"`, a `\` or a control character, or is empty.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("the realm must be 1 to 256 characters of %x20-21 / %x23-5B / %x5D-7E")]
pub struct InvalidRealm;

impl<S: Store, C: Clock> BearerChecker<S, C> {
    /// A checker over `store` and `clock`, answering with `realm` in its challenges.
    pub fn new(store: S, clock: C, realm: impl Into<String>) -> Result<Self, InvalidRealm> {
        let realm = realm.into();
        if realm.is_empty() || realm.len() > 256 || !is_valid_description(&realm) {
            return Err(InvalidRealm);
        }
        Ok(Self { store, clock, realm, audience: None, jwt: None, dpop: None, metadata_url: None, audienceless: false })
    }

    /// Accepts only tokens whose audience is exactly `audience` (RS-05, RI-03): this resource
    /// server's own identifier, the `resource` clients ask tokens for. Without it, the
    /// audience is not checked, and a token meant for any other resource is accepted here:
    /// set it on every resource server of a deployment with more than one.
    pub fn require_audience(mut self, audience: impl Into<String>) -> Self {
        self.audience = Some(audience.into());
        self
    }

    /// Also accepts tokens that carry no audience at all (issued by a server without a default
    /// audience, to a request without `resource`), while a token for another resource is still
    /// refused. A leniency for deployments moving to resource indicators: such a token is valid
    /// at every resource server that allows it, so prefer giving the server a default audience.
    pub fn accept_tokens_without_audience(mut self) -> Self {
        self.audienceless = true;
        self
    }

    /// This checker guards the resource `metadata` describes (RFC 9728; PRM-01): tokens must
    /// name its `resource` as their audience ([`BearerChecker::require_audience`]), and every
    /// challenge carries `resource_metadata` with the document's well-known URL, so a client
    /// without a token learns where to get one.
    ///
    /// ```
    /// # use oauth21::bearer::{BearerChecker, BearerError};
    /// # use oauth21::protected_resource::ProtectedResourceMetadata;
    /// # use oauth21::{ManualClock, MemoryStore};
    /// let metadata = ProtectedResourceMetadata::new("https://mcp.example/api")?.authorization_server("https://auth.example");
    /// let checker = BearerChecker::new(MemoryStore::new(), ManualClock::at_unix(0), "mcp")?.protected_resource(&metadata);
    /// let response = checker.response(&BearerError::NoCredentials);
    /// assert_eq!(
    ///     response.header("WWW-Authenticate"),
    ///     Some(r#"Bearer realm="mcp", resource_metadata="https://mcp.example/.well-known/oauth-protected-resource/api""#)
    /// );
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn protected_resource(mut self, metadata: &crate::protected_resource::ProtectedResourceMetadata) -> Self {
        self.audience = Some(metadata.resource.clone());
        // The URL is built from a validated resource: visible ASCII without quotes.
        self.metadata_url = Some(metadata.well_known_url()).filter(|url| is_valid_description(url));
        self
    }

    /// Also accepts DPoP-bound tokens (RFC 9449 §7): `Authorization: DPoP <token>` with a
    /// `DPoP` proof of the token's key for this request. `public_url` is this resource server's
    /// URL as clients address it (behind a proxy, the proxy's), from the host's configuration,
    /// never from the request; the request's path ([`Request::with_path`]) follows it in the
    /// URL a proof must name. The proof's `jti` is claimed once in the store (DP-10), so the
    /// store needs [`Capabilities::SINGLE_USE_CLAIMS`](crate::store::Capabilities::SINGLE_USE_CLAIMS).
    /// A bound token sent as `Bearer` is refused either way (DP-07).
    pub fn accept_dpop(mut self, public_url: &str) -> Result<Self, InvalidResourceUrl> {
        if public_url.contains(['?', '#']) || dpop::normalize_htu(public_url).is_none() {
            return Err(InvalidResourceUrl);
        }
        let base = public_url.trim_end_matches('/').to_owned();
        self.dpop = Some(DpopResource { base, window: dpop::DEFAULT_WINDOW, nonces: None });
        Ok(self)
    }

    /// How far a proof's `iat` may be from now (default 60 s, capped at 5 minutes).
    pub fn dpop_window(mut self, window: time::Duration) -> Self {
        if let Some(dpop) = &mut self.dpop {
            dpop.window = window.clamp(time::Duration::seconds(1), dpop::MAX_WINDOW);
        }
        self
    }

    /// Requires a server nonce in every proof (DP-03), under the same kind of stateless key the
    /// authorization server uses.
    pub fn dpop_nonces(mut self, nonces: NonceKey) -> Self {
        if let Some(dpop) = &mut self.dpop {
            dpop.nonces = Some(nonces);
        }
        self
    }

    /// Also accepts JWT access tokens (RFC 9068) that `verifier` verifies. A JWT must verify
    /// **and** still have its record in the store (found by its `jti`), so revoking it, or its
    /// grant, takes effect at once here as for opaque tokens.
    pub fn accept_jwt(mut self, verifier: JwtVerifier) -> Self {
        self.jwt = Some(verifier);
        self
    }

    /// Checks the request's bearer token and that it carries every token of `required`.
    /// Returns the token's record: its subject, client and scope.
    ///
    /// Only the `Authorization` header carries the token. The body is read for one thing: a
    /// form body with an `access_token` parameter next to the header is two methods and
    /// refused (RS-02). A middleware or extractor that has no body uses
    /// [`BearerChecker::check_authorization`] instead.
    pub async fn check(&self, request: &Request<'_>, required: &Scope) -> Result<AccessTokenRecord, BearerError> {
        match read_credentials(request, true)? {
            (Scheme::Bearer, token) => {
                // The store is awaited here, not in a nested `async fn`, and the record is
                // checked where it lies: each move of it is a copy of some 200 bytes, and the
                // bearer check is the hottest path a resource server has.
                let key = self.lookup_key(token)?;
                let record = match self.store.access_token(&key).await {
                    Ok(Some(record)) => record,
                    Ok(None) => return Err(UNKNOWN_TOKEN),
                    Err(_) => return Err(BearerError::Unavailable),
                };
                self.check_usable(&record)?;
                if record.jkt.is_some() {
                    // DP-07: a bound token is worthless without its key, whatever its scope.
                    return Err(BearerError::InvalidToken("the access token is DPoP-bound: send it with a DPoP proof"));
                }
                check_scope(&record, required)?;
                Ok(record)
            }
            // Boxed: the proof check's state is several times the bearer path's, and a future
            // is moved whole (into a task, through each poll's caller) on every request.
            (_, token) => Box::pin(self.check_dpop(request, token_text(token)?, required)).await,
        }
    }

    /// The DPoP scheme (DP-07, DP-11): the proof for this request, naming this token, of the
    /// key the token is bound to, claimed once.
    async fn check_dpop(
        &self,
        request: &Request<'_>,
        token: &str,
        required: &Scope,
    ) -> Result<AccessTokenRecord, BearerError> {
        // Without DPoP accepted, a DPoP credential is no bearer credential at all (RS-03).
        let Some(dpop) = &self.dpop else { return Err(BearerError::NoCredentials) };
        let proof = match (request.repeated_header(), request.dpop()) {
            (Some("DPoP"), _) => return Err(BearerError::InvalidDpopProof("more than one DPoP header")),
            (_, None) => return Err(BearerError::InvalidDpopProof("a DPoP proof is required")),
            (_, Some(proof)) => proof,
        };
        let (Some(path), method) = (request.path(), request.method_name()) else {
            return Err(BearerError::Misconfigured("the host did not pass the request path"));
        };
        if method.is_empty() || !path.starts_with('/') {
            return Err(BearerError::Misconfigured("the host did not pass the request method and path"));
        }
        let url = format!("{}{path}", dpop.base);
        let now = self.clock.now();
        let proof = dpop::verify(proof, &ProofTarget::new(method, &url), now, dpop.window)
            .map_err(|e| BearerError::InvalidDpopProof(proof_refusal(&e)))?;
        dpop::check_access_token_hash(&proof, token).map_err(|e| BearerError::InvalidDpopProof(proof_refusal(&e)))?;
        if let Some(nonces) = &dpop.nonces {
            if !proof.nonce.as_deref().is_some_and(|nonce| nonces.accepts(nonce, now)) {
                return Err(BearerError::UseDpopNonce);
            }
        }
        let dpop_refusal = |e| match e {
            BearerError::InvalidToken(reason) => BearerError::InvalidDpopToken(reason),
            other => other,
        };
        let key = self.lookup_key(token.as_bytes()).map_err(dpop_refusal)?;
        let record = self.usable(self.store.access_token(&key).await).map_err(dpop_refusal)?;
        match &record.jkt {
            Some(jkt) if constant_time_eq(jkt.as_bytes(), proof.jkt.as_bytes()) => {}
            Some(_) => return Err(BearerError::InvalidDpopToken("the access token is bound to another key")),
            None => return Err(BearerError::InvalidDpopToken("the access token is not DPoP-bound")),
        }
        match self.store.claim_once(&proof.replay_key(), now, proof.replay_until(dpop.window)).await {
            Ok(ClaimOutcome::Claimed) => check_scope(&record, required).map(|()| record),
            Ok(_) => Err(BearerError::InvalidDpopProof(proof_refusal(&DpopError::Replayed))),
            Err(_) => Err(BearerError::Unavailable),
        }
    }

    /// [`BearerChecker::check`] from the `Authorization` header values alone, for middleware
    /// and extractors that see headers but not the body. Pass every value of the header (none
    /// when it is absent): two are refused as ambiguous, an empty one counts as absent.
    ///
    /// ```
    /// # use oauth21::{BearerChecker, BearerError, ManualClock, MemoryStore, Scope};
    /// # fn block_on<F: std::future::Future>(f: F) -> F::Output {
    /// #     let mut f = std::pin::pin!(f);
    /// #     let mut cx = std::task::Context::from_waker(std::task::Waker::noop());
    /// #     loop { if let std::task::Poll::Ready(v) = f.as_mut().poll(&mut cx) { return v; } }
    /// # }
    /// let checker = BearerChecker::new(MemoryStore::new(), ManualClock::at_unix(0), "api")?;
    /// let read = Scope::parse("read")?;
    /// // In an extractor: `parts.headers.get_all(AUTHORIZATION).iter().map(|v| v.as_bytes())`.
    /// let none: [&[u8]; 0] = [];
    /// assert_eq!(block_on(checker.check_authorization(none, &read)), Err(BearerError::NoCredentials));
    /// let unknown = block_on(checker.check_authorization([&b"Bearer abc"[..]], &read));
    /// assert!(matches!(unknown, Err(BearerError::InvalidToken(_))));
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub async fn check_authorization<'h>(
        &self,
        values: impl IntoIterator<Item = &'h [u8]>,
        required: &Scope,
    ) -> Result<AccessTokenRecord, BearerError> {
        let request = values.into_iter().fold(Request::new(Method::Get), |r, value| r.with_authorization(value));
        let (_, token) = read_credentials(&request, false)?;
        let key = self.lookup_key(token)?;
        let record = self.usable(self.store.access_token(&key).await)?;
        if record.jkt.is_some() {
            return Err(BearerError::InvalidToken("the access token is DPoP-bound: send it with a DPoP proof"));
        }
        check_scope(&record, required)?;
        Ok(record)
    }

    /// The store key of a token [`read_credentials`] accepted: its digest, or for a JWT (when
    /// JWTs are accepted) the digest of its `jti`, once its signature and claims verify.
    fn lookup_key(&self, token: &[u8]) -> Result<TokenHash, BearerError> {
        match &self.jwt {
            Some(verifier) if token.contains(&b'.') => {
                let claims = verifier.verify(token_text(token)?, self.clock.now()).map_err(|e| e.bearer_error())?;
                Ok(TokenHash::of_jwt_id(&claims.jwt_id))
            }
            _ => Ok(TokenHash::of_bytes(token)),
        }
    }

    /// The store's answer, if it is a record [`BearerChecker::check_usable`] accepts.
    fn usable(&self, found: Result<Option<AccessTokenRecord>, StoreError>) -> Result<AccessTokenRecord, BearerError> {
        let record = match found {
            Ok(Some(record)) => record,
            Ok(None) => return Err(UNKNOWN_TOKEN),
            Err(_) => return Err(BearerError::Unavailable),
        };
        self.check_usable(&record)?;
        Ok(record)
    }

    /// The checks after the store found the token's record: unexpired, for this resource. The
    /// scope comes last, at the caller, once the token is known to be usable by this request.
    fn check_usable(&self, record: &AccessTokenRecord) -> Result<(), BearerError> {
        if self.clock.now() >= record.expires_at {
            return Err(BearerError::InvalidToken("the access token expired"));
        }
        if let Some(audience) = &self.audience {
            let fits = match record.audience.as_deref() {
                Some(aud) => aud == audience.as_str(),
                None => self.audienceless,
            };
            if !fits {
                return Err(BearerError::InvalidToken("the access token is meant for another resource"));
            }
        }
        Ok(())
    }

    /// The answer for `error`, with its `WWW-Authenticate` challenge (RS-03, RS-04): `Bearer`,
    /// or `DPoP` for the DPoP scheme's errors (with the nonce to use when nonces are on).
    pub fn response(&self, error: &BearerError) -> Response {
        let response = challenge_for(&self.realm, self.metadata_url.as_deref(), error);
        match (error, self.dpop.as_ref().and_then(|d| d.nonces.as_ref())) {
            (BearerError::UseDpopNonce, Some(nonces)) => {
                response.with_header("DPoP-Nonce", nonces.issue(self.clock.now()))
            }
            _ => response,
        }
    }
}

/// The answer for `error` in `realm`, with its `WWW-Authenticate: Bearer` challenge (RS-03,
/// RS-04). Characters that cannot appear in the quoted `realm` (`"`, `\`, controls) are
/// dropped from it.
pub fn challenge(realm: &str, error: &BearerError) -> Response {
    challenge_for(realm, None, error)
}

/// [`challenge`], naming the resource's metadata URL (RFC 9728 §5.1) when there is one.
fn challenge_for(realm: &str, metadata_url: Option<&str>, error: &BearerError) -> Response {
    let realm: String = realm.chars().filter(|c| is_valid_description(c.encode_utf8(&mut [0; 4]))).collect();
    let (status, code) = match error {
        BearerError::NoCredentials => (401, None),
        BearerError::InvalidRequest(_) => (400, Some("invalid_request")),
        BearerError::InvalidToken(_) => (401, Some("invalid_token")),
        BearerError::InsufficientScope(_) => (403, Some("insufficient_scope")),
        BearerError::Unavailable => return Response::new(503).with_header("Retry-After", "1"),
        BearerError::Misconfigured(_) => return Response::new(500).with_header("Cache-Control", "no-store"),
        BearerError::InvalidDpopProof(_) => return dpop_challenge(401, "invalid_dpop_proof", error, metadata_url),
        BearerError::InvalidDpopToken(_) => return dpop_challenge(401, "invalid_token", error, metadata_url),
        BearerError::UseDpopNonce => return dpop_challenge(401, "use_dpop_nonce", error, metadata_url),
    };
    let mut challenge = format!("Bearer realm=\"{realm}\"");
    if let Some(url) = metadata_url {
        challenge.push_str(&format!(", resource_metadata=\"{url}\""));
    }
    if let Some(code) = code {
        challenge.push_str(&format!(", error=\"{code}\", error_description=\"{error}\""));
    }
    if let BearerError::InsufficientScope(scope) = error {
        challenge.push_str(&format!(", scope=\"{scope}\""));
    }
    Response::new(status).with_header("WWW-Authenticate", challenge).with_header("Cache-Control", "no-store")
}

/// A token the store does not know (or no longer hands out).
const UNKNOWN_TOKEN: BearerError = BearerError::InvalidToken("the access token is invalid");

/// Whether `record` carries every scope token of `required` (RS-04).
fn check_scope(record: &AccessTokenRecord, required: &Scope) -> Result<(), BearerError> {
    if required.is_subset_of(&record.scope) { Ok(()) } else { Err(BearerError::InsufficientScope(required.clone())) }
}

/// The `DPoP` challenge (RFC 9449 §7.1): the accepted algorithms, the error and its text.
fn dpop_challenge(status: u16, code: &str, error: &BearerError, metadata_url: Option<&str>) -> Response {
    let algs: Vec<&str> = dpop::ALGORITHMS.iter().map(|a| a.name()).collect();
    let mut challenge = format!("DPoP algs=\"{}\", error=\"{code}\", error_description=\"{error}\"", algs.join(" "));
    if let Some(url) = metadata_url {
        challenge.push_str(&format!(", resource_metadata=\"{url}\""));
    }
    Response::new(status).with_header("WWW-Authenticate", challenge).with_header("Cache-Control", "no-store")
}

/// The `error_description` of a refused proof: fixed text, never the proof's own.
fn proof_refusal(error: &DpopError) -> &'static str {
    match error {
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

// The request-level JWT checks live here, beside the bearer reading they build on (in `credentials`), so that `jwt`
// (token verification) does not depend on the resource-server module.
impl JwtVerifier {
    /// Reads the request's `Authorization: Bearer` token (RS-01, RS-02), verifies it at `now`
    /// and checks that it carries every scope token of `required`, for a resource server that
    /// does not share the store. Answer errors with
    /// [`bearer::challenge`](crate::bearer::challenge).
    pub fn check(
        &self,
        request: &Request<'_>,
        required: &Scope,
        now: OffsetDateTime,
    ) -> Result<AccessTokenClaims, BearerError> {
        let token = read_bearer_token(request)?;
        let claims = self.verify(token, now).map_err(|e| e.bearer_error())?;
        if claims.jkt.is_some() {
            // DP-07: a bound token is worthless without its key.
            return Err(BearerError::InvalidToken("the access token is DPoP-bound: send it with a DPoP proof"));
        }
        if !required.is_subset_of(&claims.scope) {
            return Err(BearerError::InsufficientScope(required.clone()));
        }
        Ok(claims)
    }

    /// [`JwtVerifier::check`] for `Authorization: DPoP` (RFC 9449 §7; DP-07, DP-11), for a
    /// resource server that does not share the store: the JWT verifies, carries `cnf.jkt`, and
    /// the request's proof (for this method and `public_url` plus the request path, naming the
    /// token in `ath`) is made with that key. Returns the claims and the proof.
    ///
    /// The replay check is the caller's and is required (DP-10): claim
    /// [`Proof::replay_key`](crate::dpop::Proof::replay_key) once until
    /// [`Proof::replay_until`](crate::dpop::Proof::replay_until) in a store every instance of
    /// the resource server shares, and refuse the request if it was claimed before.
    pub fn check_dpop(
        &self,
        request: &Request<'_>,
        public_url: &str,
        required: &Scope,
        now: OffsetDateTime,
    ) -> Result<(AccessTokenClaims, dpop::Proof), BearerError> {
        let (Scheme::Dpop, token) = read_access_token(request)? else {
            return Err(BearerError::NoCredentials);
        };
        let proof = match (request.repeated_header(), request.dpop()) {
            (Some("DPoP"), _) => return Err(BearerError::InvalidDpopProof("more than one DPoP header")),
            (_, None) => return Err(BearerError::InvalidDpopProof("a DPoP proof is required")),
            (_, Some(proof)) => proof,
        };
        let (Some(path), method) = (request.path(), request.method_name()) else {
            return Err(BearerError::Misconfigured("the host did not pass the request path"));
        };
        let url = format!("{}{path}", public_url.trim_end_matches('/'));
        let proof = dpop::verify(proof, &ProofTarget::new(method, &url), now, dpop::DEFAULT_WINDOW)
            .map_err(|e| BearerError::InvalidDpopProof(proof_refusal(&e)))?;
        dpop::check_access_token_hash(&proof, token).map_err(|e| BearerError::InvalidDpopProof(proof_refusal(&e)))?;
        let claims = self.verify(token, now).map_err(|e| match e.bearer_error() {
            BearerError::InvalidToken(reason) => BearerError::InvalidDpopToken(reason),
            other => other,
        })?;
        match &claims.jkt {
            Some(jkt) if constant_time_eq(jkt.as_bytes(), proof.jkt.as_bytes()) => {}
            Some(_) => return Err(BearerError::InvalidDpopToken("the access token is bound to another key")),
            None => return Err(BearerError::InvalidDpopToken("the access token is not DPoP-bound")),
        }
        if !required.is_subset_of(&claims.scope) {
            return Err(BearerError::InsufficientScope(required.clone()));
        }
        Ok((claims, proof))
    }
}

impl JwtError {
    /// The resource-server error for this refusal: `invalid_token` (401), or 503 when the
    /// verifier has no keys.
    pub fn bearer_error(&self) -> BearerError {
        match self {
            Self::NoKeys => BearerError::Unavailable,
            Self::Expired => BearerError::InvalidToken("the access token expired"),
            Self::WrongAudience => BearerError::InvalidToken("the access token is meant for another resource"),
            _ => BearerError::InvalidToken("the access token is invalid"),
        }
    }
}
