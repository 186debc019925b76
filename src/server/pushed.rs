//! The server's side of pushed authorization requests (RFC 9126; PAR-01..PAR-07): the endpoint
//! that takes them, loading one at the authorization endpoint, and consuming it when the
//! authorization completes. The protocol pieces are in [`crate::par`].

use crate::authorize::{self, AuthorizeError, AuthorizeFailure, ConsentRequest, PushedOrigin};
use crate::client::{Client, read_credentials};
use crate::http::{Params, Request, Response, encode_form};
use crate::par;
use crate::store::{ClaimOutcome, PushedRequest, Store};
use crate::token::TokenError;
use crate::types::{TokenHash, encode_token};

use super::{Server, store_fault};

impl<S: Store> Server<S> {
    /// The pushed authorization request endpoint (RFC 9126; PAR-01..PAR-03, PAR-07): the
    /// client authenticates as at the token endpoint (a public client sends its `client_id`),
    /// the parameters are checked as the authorization endpoint checks them, and the answer is
    /// `201` with a single-use `request_uri` and its `expires_in`. Errors are JSON, never
    /// redirects; with pushed requests off the answer is 404.
    ///
    /// ```
    /// # use oauth21::{Client, MemoryStore, Request, Server, ServerConfig};
    /// # fn block_on<F: std::future::Future>(f: F) -> F::Output {
    /// #     let mut f = std::pin::pin!(f);
    /// #     let mut cx = std::task::Context::from_waker(std::task::Waker::noop());
    /// #     loop { if let std::task::Poll::Ready(v) = f.as_mut().poll(&mut cx) { return v; } }
    /// # }
    /// let store = MemoryStore::new();
    /// store.insert_client(Client::public("app").redirect_uri("http://127.0.0.1/cb").scope("read").build()?);
    /// let server = Server::new(ServerConfig::builder("https://as.example").build()?, store);
    /// let body = "client_id=app&response_type=code&scope=read&state=s\
    ///             &code_challenge=E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM&code_challenge_method=S256";
    /// let response = block_on(server.pushed_authorization_request(&Request::form_post(body.as_bytes())));
    /// assert_eq!(response.status(), 201);
    /// let answer: serde_json::Value = serde_json::from_slice(response.body())?;
    /// assert!(answer["request_uri"].as_str().unwrap().starts_with("urn:ietf:params:oauth:request_uri:"));
    /// assert_eq!(answer["expires_in"], 60);
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub async fn pushed_authorization_request(&self, request: &Request<'_>) -> Response {
        match self.push(request).await {
            Ok(response) => response,
            Err(error) => error.response(),
        }
    }

    async fn push(&self, request: &Request<'_>) -> Result<Response, TokenError> {
        let Some(lifetime) = self.config.pushed_request_lifetime() else {
            return Ok(Response::new(404).with_header("Cache-Control", "no-store"));
        };
        let params = par::read(request, &self.config).inspect_err(|e| self.report_auth_failure(e, None))?;
        let credentials = read_credentials(request, &params)
            .map_err(TokenError::from)
            .inspect_err(|e| self.report_auth_failure(e, None))?;
        let client = self.authenticated_client(&credentials).await?;
        // PAR-08: under the FAPI 2.0 profile the redirect URI is always named.
        if self.config.fapi2_security_profile() && params.get("redirect_uri").ok().flatten().is_none() {
            return Err(TokenError::InvalidRequest("the FAPI 2.0 profile requires redirect_uri in a pushed request"));
        }
        let consent = match authorize::validate(&params, Some(client), &self.config, false) {
            Ok(consent) => consent,
            Err(failure) => {
                let error = failure.error();
                return Ok(par::invalid(error.code(), &error.to_string()));
            }
        };
        if let Err(failure) = self.check_resources(&consent).await {
            let error = failure.error();
            return Ok(par::invalid(error.code(), &error.to_string()));
        }
        let mut random = [0u8; 32];
        self.fill_random(&mut random)?;
        let random = encode_token(&random);
        let now = self.clock.now();
        let expires_at = now + lifetime;
        let record = PushedRequest::new(consent.client().id().clone(), consent.pushed_params(), expires_at);
        let until = expires_at + par::COMPLETION_WINDOW;
        self.seen(
            "insert_pushed_request",
            self.store.insert_pushed_request(&TokenHash::of(&random), record, now, until).await,
        )?;
        Ok(par::created(&format!("{}{random}", par::REQUEST_URI_PREFIX), lifetime))
    }

    /// PAR-04, PAR-06, PAR-07: the pushed request `request_uri` names, for `client`: issued
    /// here, that client's, and unexpired when first loaded (a later load, the consent form's
    /// POST after sign-in, may come after `expires_in`). Checked again against the current
    /// registration. Every failure is an error page: the browser's request carries nothing
    /// else to trust.
    pub(super) async fn load_pushed(
        &self,
        request_uri: &str,
        client: Option<Client>,
        post: bool,
    ) -> Result<ConsentRequest, AuthorizeFailure> {
        let client = client.ok_or(AuthorizeError::UnknownClient)?;
        let invalid = |why| AuthorizeFailure::page(AuthorizeError::InvalidRequest(why));
        let unavailable = |e| AuthorizeFailure::page(store_fault(&e));
        if self.config.pushed_request_lifetime().is_none() {
            return Err(invalid("pushed authorization requests are not enabled"));
        }
        let digest = par::digest(request_uri).ok_or_else(|| invalid("request_uri was not issued by this server"))?;
        let now = self.clock.now();
        let found = self.seen("pushed_request", self.store.pushed_request(&digest, now).await).map_err(unavailable)?;
        let pushed = found.ok_or_else(|| invalid("request_uri is unknown or has expired"))?;
        if pushed.client_id != *client.id() {
            return Err(invalid("request_uri was issued to another client"));
        }
        let until = pushed.expires_at + par::COMPLETION_WINDOW;
        let first_load = self.store.claim_once(&par::claim_key(&digest, "loaded"), now, until).await;
        let first_load = self.seen("claim_once", first_load).map_err(unavailable)? == ClaimOutcome::Claimed;
        if first_load && now >= pushed.expires_at {
            return Err(invalid("request_uri is unknown or has expired"));
        }
        let pairs: Vec<(&str, &str)> = pushed.params.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect();
        let encoded = encode_form(&pairs);
        let params =
            Params::parse(encoded.as_bytes(), usize::MAX).map_err(|_| invalid("the pushed request is unreadable"))?;
        let consent = authorize::validate(&params, Some(client), &self.config, post)?;
        // Checked again: the registration or the host's policy may have changed since the push.
        self.check_resources(&consent).await?;
        Ok(consent.with_pushed_origin(request_uri, PushedOrigin { digest, until }))
    }

    /// PAR-06: completing the authorization (approve or deny) consumes a pushed request's
    /// `request_uri`, once.
    pub(super) async fn complete_pushed(&self, consent: &ConsentRequest) -> Result<(), AuthorizeError> {
        let Some(origin) = consent.pushed() else { return Ok(()) };
        let now = self.clock.now();
        // The completion claim lasts until `until`; past it, completing is refused outright, so
        // a consent request held in memory can never complete a second time.
        if now >= origin.until {
            return Err(AuthorizeError::InvalidRequest("this request_uri has expired"));
        }
        let key = par::claim_key(&origin.digest, "completed");
        let claimed = self.store.claim_once(&key, now, origin.until).await;
        match self.seen("claim_once", claimed) {
            Ok(ClaimOutcome::Claimed) => Ok(()),
            Ok(_) => Err(AuthorizeError::InvalidRequest("this request_uri was already used")),
            Err(e) => Err(store_fault(&e)),
        }
    }
}
