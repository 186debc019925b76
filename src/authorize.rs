//! The authorization endpoint (AZ-01..AZ-15, PK-01..PK-05).
//!
//! A request goes through three steps, in the order OAuth 2.1 §2.3.5 requires (AZ-08):
//!
//! 1. read the parameters and the `client_id`: any failure here is
//!    shown to the user as an error page, never redirected;
//! 2. with the client's registration, check `redirect_uri`: still an error
//!    page on failure, since the redirect target is not yet trusted;
//! 3. only then check everything else; failures are redirected to the client with `state` and
//!    `iss`.
//!
//! A valid request becomes a [`ConsentRequest`]: the host authenticates the user, shows what the
//! client asks for, and then answers with an [`Approval`] or a denial.

use crate::client::{Client, GrantType};
use crate::config::ServerConfig;
use crate::error::ErrorCode;
use crate::http::{Method, ParamError, Params, Request, Response, append_form_component};
use crate::pkce::{CodeChallenge, PkceError};
use crate::store::CodeRecord;
use crate::types::{AuthorizationCode, ClientId, GrantId, Issuer, Resource, Scope, Subject, TokenHash};

/// Every parameter the authorization endpoint defines; each may appear at most once (AZ-02).
pub(crate) const DEFINED: [&str; 8] = [
    "client_id",
    "redirect_uri",
    "response_type",
    "scope",
    "state",
    "code_challenge",
    "code_challenge_method",
    "dpop_jkt",
];

/// The parameters the authorization endpoint defines that may appear more than once:
/// `resource` (RFC 8707 §2). Like [`DEFINED`] they are read from the body of a POST only.
pub(crate) const REPEATABLE: [&str; 1] = ["resource"];

/// Why an authorization request failed.
///
/// The first group is never redirected: the client or its redirect URI is not known good, so
/// the user sees an error page (AZ-03, AZ-04, AZ-06, AZ-08). The second group is sent to the
/// client's redirect URI.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum AuthorizeError {
    /// The request could not be read at all (size, encoding, UTF-8).
    #[error("the request could not be read: {0}")]
    Unreadable(ParamError),
    /// Neither GET nor POST (AZ-01).
    #[error("the authorization endpoint accepts only GET and POST")]
    MethodNotAllowed,
    /// A POST without a form body.
    #[error("a POST must have Content-Type application/x-www-form-urlencoded")]
    UnsupportedContentType,
    /// A POST that also carries defined parameters in its query (class 13).
    #[error("parameters must not be sent in both the query and the body")]
    ParametersInQueryAndBody,
    /// `client_id` is missing or malformed (AZ-03).
    #[error("client_id is missing or malformed")]
    MissingClientId,
    /// `client_id` appears more than once (AZ-02).
    #[error("client_id appears more than once")]
    RepeatedClientId,
    /// No client is registered under `client_id` (AZ-03).
    #[error("the client is not registered")]
    UnknownClient,
    /// `redirect_uri` appears more than once (AZ-02).
    #[error("redirect_uri appears more than once")]
    RepeatedRedirectUri,
    /// `redirect_uri` matches none of the client's registered URIs (AZ-04, AZ-05).
    #[error("redirect_uri is not registered for this client")]
    UnregisteredRedirectUri,
    /// `redirect_uri` is required because the client registered several (AZ-06).
    #[error("redirect_uri is required for this client")]
    RedirectUriRequired,

    /// A parameter is missing, repeated or malformed: `invalid_request`.
    #[error("{0}")]
    InvalidRequest(&'static str),
    /// A PKCE parameter is missing or malformed: `invalid_request` (PK-02..PK-04).
    #[error("{0}")]
    Pkce(PkceError),
    /// `response_type` is not `code`: `unsupported_response_type` (AZ-09).
    #[error("response_type must be code")]
    UnsupportedResponseType,
    /// The client may not use the authorization code grant: `unauthorized_client` (AZ-09).
    #[error("the client may not use the authorization code grant")]
    UnauthorizedClient,
    /// The scope is malformed, not allowed, or omitted without a default: `invalid_scope`.
    #[error("{0}")]
    InvalidScope(&'static str),
    /// A `resource` is malformed, or not allowed for the client: `invalid_target` (RI-01).
    #[error("{0}")]
    InvalidTarget(&'static str),
    /// The resource owner denied the request: `access_denied` (AZ-11).
    #[error("the resource owner denied the request")]
    AccessDenied,
    /// The server failed: `server_error` (AZ-11).
    #[error("the authorization server failed to complete the request")]
    ServerError,
    /// The store is unavailable: `temporarily_unavailable` (AZ-11).
    #[error("the authorization server is temporarily unavailable")]
    TemporarilyUnavailable,
}

impl AuthorizeError {
    /// Whether the error may be sent to the client's redirect URI (AZ-08).
    pub fn is_redirectable(&self) -> bool {
        !matches!(
            self,
            Self::Unreadable(_)
                | Self::MethodNotAllowed
                | Self::UnsupportedContentType
                | Self::ParametersInQueryAndBody
                | Self::MissingClientId
                | Self::RepeatedClientId
                | Self::UnknownClient
                | Self::RepeatedRedirectUri
                | Self::UnregisteredRedirectUri
                | Self::RedirectUriRequired
        )
    }

    /// The OAuth error code.
    pub fn code(&self) -> ErrorCode {
        match self {
            Self::UnsupportedResponseType => ErrorCode::UnsupportedResponseType,
            Self::UnauthorizedClient => ErrorCode::UnauthorizedClient,
            Self::InvalidScope(_) => ErrorCode::InvalidScope,
            Self::InvalidTarget(_) => ErrorCode::InvalidTarget,
            Self::AccessDenied => ErrorCode::AccessDenied,
            Self::ServerError => ErrorCode::ServerError,
            Self::TemporarilyUnavailable => ErrorCode::TemporarilyUnavailable,
            _ => ErrorCode::InvalidRequest,
        }
    }

    /// The error page for a non-redirectable error: 400 (405 for a wrong method), plain text.
    pub fn error_page(&self) -> Response {
        let status = match self {
            Self::MethodNotAllowed => 405,
            Self::ServerError => 500,
            Self::TemporarilyUnavailable => 503,
            _ => 400,
        };
        let mut response = Response::new(status)
            .with_header("Content-Type", "text/plain; charset=utf-8")
            .with_header("Cache-Control", "no-store")
            .with_body(format!("{}: {}\n", self.code(), self).into_bytes());
        if status == 405 {
            response = response.with_header("Allow", "GET, POST");
        }
        response
    }
}

/// Where and how a response goes back to the client: the validated redirect URI, the `state`
/// to echo, and whether to answer 303 (after a POST) or 302.
#[derive(Debug, Clone)]
struct RedirectTarget {
    uri: String,
    state: Option<String>,
    see_other: bool,
}

impl RedirectTarget {
    /// Redirects with `params` plus `state` and `iss` in the query (AZ-12, AZ-13, AZ-14).
    fn respond(&self, params: &[(&str, &str)], issuer: &Issuer) -> Response {
        let state = self.state.as_deref().map(|state| ("state", state));
        let all = params.iter().copied().chain(state).chain([("iss", issuer.as_str())]);
        // Escaping at most triples a byte; reserve for the usual case, where little is escaped.
        let estimate = self.uri.len() + all.clone().map(|(n, v)| n.len() + v.len() * 3 / 2 + 2).sum::<usize>();
        let mut location = String::with_capacity(estimate);
        location.push_str(&self.uri);
        // Keep any query the registered URI has; never use the fragment (AZ-14).
        let mut separator = if self.uri.contains('?') { '&' } else { '?' };
        for (name, value) in all {
            location.push(separator);
            separator = '&';
            append_form_component(&mut location, name);
            location.push('=');
            append_form_component(&mut location, value);
        }
        // 303 after a POST so the browser does not re-send the form (SEC-05); never 307.
        Response::redirect(if self.see_other { 303 } else { 302 }, location)
    }

    fn error(&self, error: AuthorizeError, issuer: &Issuer) -> Response {
        let description = error.to_string();
        self.respond(&[("error", error.code().as_str()), ("error_description", &description)], issuer)
    }
}

/// A failed authorization request: the error and where (if anywhere) it may be redirected.
#[derive(Debug, Clone)]
pub(crate) struct AuthorizeFailure {
    error: AuthorizeError,
    target: Option<RedirectTarget>,
}

impl AuthorizeFailure {
    pub(crate) fn page(error: AuthorizeError) -> Self {
        Self { error, target: None }
    }

    pub(crate) fn error(&self) -> AuthorizeError {
        self.error
    }

    /// The redirect (for redirectable errors with a known target) or the error page.
    pub(crate) fn response(&self, issuer: &Issuer) -> Response {
        match &self.target {
            Some(target) if self.error.is_redirectable() => target.error(self.error, issuer),
            _ => self.error.error_page(),
        }
    }
}

impl From<AuthorizeError> for AuthorizeFailure {
    fn from(error: AuthorizeError) -> Self {
        Self::page(error)
    }
}

/// Step 1: reads the request's parameters: the query of a GET, or the form body of a POST.
pub(crate) fn parse<'a>(request: &Request<'a>, config: &ServerConfig) -> Result<Params<'a>, AuthorizeError> {
    let limit = config.max_request_bytes();
    match request.method() {
        Method::Get => Params::parse(request.query(), limit).map_err(AuthorizeError::Unreadable),
        Method::Post => {
            if !request.has_form_content_type() {
                return Err(AuthorizeError::UnsupportedContentType);
            }
            let body = Params::parse(request.body(), limit).map_err(AuthorizeError::Unreadable)?;
            let query = Params::parse(request.query(), limit).map_err(AuthorizeError::Unreadable)?;
            if query.contains_any(&DEFINED) || query.contains_any(&REPEATABLE) {
                return Err(AuthorizeError::ParametersInQueryAndBody);
            }
            Ok(body)
        }
        Method::Other => Err(AuthorizeError::MethodNotAllowed),
    }
}

/// Step 2a: the `client_id` to look up (AZ-02, AZ-03).
pub(crate) fn client_id(params: &Params<'_>) -> Result<ClientId, AuthorizeError> {
    let id = params.get("client_id").map_err(|_| AuthorizeError::RepeatedClientId)?;
    let id = id.ok_or(AuthorizeError::MissingClientId)?;
    ClientId::new(id).map_err(|_| AuthorizeError::MissingClientId)
}

/// Steps 2b and 3: checks the request against the client's registration.
pub(crate) fn validate(
    params: &Params<'_>,
    client: Option<Client>,
    config: &ServerConfig,
    post: bool,
) -> Result<ConsentRequest, AuthorizeFailure> {
    let client = client.ok_or(AuthorizeError::UnknownClient)?;

    // Step 2b: the redirect URI (AZ-04, AZ-05, AZ-06). Nothing is redirected before this passes.
    let requested = params.get("redirect_uri").map_err(|_| AuthorizeError::RepeatedRedirectUri)?;
    let redirect_uri = match (requested, client.redirect_uris()) {
        (Some(uri), registered) => {
            if !registered.iter().any(|r| r.matches(uri, config.localhost_any_port())) {
                return Err(AuthorizeError::UnregisteredRedirectUri.into());
            }
            uri.to_owned()
        }
        (None, [only]) => only.as_str().to_owned(),
        (None, []) => return Err(AuthorizeError::UnregisteredRedirectUri.into()),
        (None, _) => return Err(AuthorizeError::RedirectUriRequired.into()),
    };

    // From here on errors go back to the client.
    let state = params.get("state").ok().flatten().map(str::to_owned);
    let target = RedirectTarget { uri: redirect_uri, state, see_other: post };
    let fail = |error| AuthorizeFailure { error, target: Some(target.clone()) };

    if params.first_repeated(&DEFINED).is_some() {
        return Err(fail(AuthorizeError::InvalidRequest("a parameter appears more than once")));
    }
    let get = |name| params.get(name).ok().flatten();

    match get("response_type") {
        None => return Err(fail(AuthorizeError::InvalidRequest("response_type is required"))),
        Some("code") => {}
        Some(_) => return Err(fail(AuthorizeError::UnsupportedResponseType)),
    }
    if !client.allows_grant(GrantType::AuthorizationCode) {
        return Err(fail(AuthorizeError::UnauthorizedClient));
    }

    let code_challenge = CodeChallenge::from_request(get("code_challenge"), get("code_challenge_method"))
        .map_err(|e| fail(AuthorizeError::Pkce(e)))?;

    let scope = match get("scope") {
        Some(text) => {
            let scope = Scope::parse(text).map_err(|_| fail(AuthorizeError::InvalidScope("scope is malformed")))?;
            if !scope.is_subset_of(client.scope()) {
                return Err(fail(AuthorizeError::InvalidScope("the requested scope is not allowed for this client")));
            }
            scope
        }
        None => match client.default_scope() {
            Some(default) => default.clone(),
            None => return Err(fail(AuthorizeError::InvalidScope("scope is required for this client"))),
        },
    };

    // DP-06: `dpop_jkt` binds the code to a DPoP key: a JWK SHA-256 thumbprint, 43 base64url
    // characters.
    let dpop_jkt = get("dpop_jkt").map(str::to_owned);
    let thumbprint = |t: &str| t.len() == 43 && t.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_');
    if dpop_jkt.as_deref().is_some_and(|t| !thumbprint(t)) {
        return Err(fail(AuthorizeError::InvalidRequest("dpop_jkt must be a JWK SHA-256 thumbprint")));
    }

    // RI-01: the syntax here; whether the client may ask for each is the server's to ask
    // (registration, default audience, host policy).
    let resources = crate::audience::read_all(params).map_err(|why| fail(AuthorizeError::InvalidTarget(why)))?;

    // Every defined parameter as received, for the host's consent form to send back: a new
    // parameter joins `DEFINED` and reaches every host's form without a change there.
    let form = FormFields::from_pairs(|| {
        let defined = DEFINED.iter().filter_map(|name| get(name).map(|value| (*name, value)));
        defined.chain(REPEATABLE.iter().flat_map(|name| params.get_all(name).map(move |value| (*name, value))))
    });
    Ok(ConsentRequest { client, scope, code_challenge, target, form, dpop_jkt, pushed: None, resources })
}

/// RI-01: a request naming a resource the client may not ask for, refused once the client and
/// redirect URI are known good.
pub(crate) fn resource_not_allowed(consent: &ConsentRequest) -> AuthorizeFailure {
    AuthorizeFailure {
        error: AuthorizeError::InvalidTarget("the resource is not allowed for this client"),
        target: Some(consent.target.clone()),
    }
}

/// PAR-05: a plain request from a client (or server) that requires pushed requests, refused
/// once the client and redirect URI are known good.
pub(crate) fn pushed_request_required(consent: &ConsentRequest) -> AuthorizeFailure {
    AuthorizeFailure {
        error: AuthorizeError::InvalidRequest("this client must push its authorization requests first (PAR)"),
        target: Some(consent.target.clone()),
    }
}

/// The answer to [`Server::approve`](crate::Server::approve): the redirect to send, and the grant
/// the issued code belongs to.
#[derive(Debug, Clone)]
#[non_exhaustive]
pub struct Approved {
    response: Response,
    grant_id: Option<GrantId>,
}

impl Approved {
    pub(crate) fn issued(response: Response, grant_id: GrantId) -> Self {
        Self { response, grant_id: Some(grant_id) }
    }

    pub(crate) fn failed(response: Response) -> Self {
        Self { response, grant_id: None }
    }

    /// The redirect to send: the code with `state` and `iss`, or an error redirect.
    pub fn response(&self) -> &Response {
        &self.response
    }

    /// The redirect to send.
    pub fn into_response(self) -> Response {
        self.response
    }

    /// The grant of the issued code: the tokens it is redeemed for belong to it, so
    /// [`Server::revoke_grant`](crate::Server::revoke_grant) ends them all. `None` when no code
    /// was issued (the response is then a `server_error` or `temporarily_unavailable`
    /// redirect).
    pub fn grant_id(&self) -> Option<&GrantId> {
        self.grant_id.as_ref()
    }
}

impl From<Approved> for Response {
    fn from(approved: Approved) -> Self {
        approved.response
    }
}

/// A valid authorization request waiting for the resource owner's decision.
///
/// The host shows the user who asks ([`ConsentRequest::client`]) for what
/// ([`ConsentRequest::scope`]), then passes an [`Approval`] to
/// [`Server::approve`](crate::Server::approve) or calls
/// [`Server::deny`](crate::Server::deny). A host that renders a consent form re-submits the
/// original parameters with the form and calls [`Server::authorize`](crate::Server::authorize)
/// again on the POST, so nothing about the pending request needs to be kept between requests.
#[derive(Debug, Clone)]
pub struct ConsentRequest {
    client: Client,
    scope: Scope,
    code_challenge: CodeChallenge,
    target: RedirectTarget,
    form: FormFields,
    dpop_jkt: Option<String>,
    pushed: Option<PushedOrigin>,
    resources: Vec<Resource>,
}

/// The parameters a consent form sends back, as received: every value in one string, so a
/// request costs two allocations however many parameters it has.
#[derive(Debug, Clone)]
struct FormFields {
    text: String,
    /// Each field's name and the end of its value in `text` (it starts where the last ended).
    fields: Vec<(&'static str, usize)>,
}

impl FormFields {
    /// `pairs` is walked twice: once to size the allocations, once to fill them.
    fn from_pairs<'v, I: Iterator<Item = (&'static str, &'v str)>>(pairs: impl Fn() -> I) -> Self {
        let (count, length) = pairs().fold((0, 0), |(n, len), (_, value)| (n + 1, len + value.len()));
        let mut form = Self { text: String::with_capacity(length), fields: Vec::with_capacity(count) };
        for (name, value) in pairs() {
            form.text.push_str(value);
            form.fields.push((name, form.text.len()));
        }
        form
    }

    fn iter(&self) -> impl ExactSizeIterator<Item = (&'static str, &str)> + '_ {
        (0..self.fields.len()).map(|i| {
            let start = if i == 0 { 0 } else { self.fields[i - 1].1 };
            let (name, end) = self.fields[i];
            (name, &self.text[start..end])
        })
    }
}

/// Where a consent request loaded from a pushed request came from: the `request_uri`'s digest,
/// claimed when the authorization completes (PAR-06), and until when that claim must last.
#[derive(Debug, Clone)]
pub(crate) struct PushedOrigin {
    pub(crate) digest: TokenHash,
    pub(crate) until: time::OffsetDateTime,
}

impl ConsentRequest {
    /// The client asking.
    pub fn client(&self) -> &Client {
        &self.client
    }

    /// The scope asked for (or the client's default scope when the request had none).
    pub fn scope(&self) -> &Scope {
        &self.scope
    }

    /// The resources (RFC 8707) the client asks access to, each allowed for it: what the
    /// consent page should name besides the scope. Empty: the server's default audience.
    pub fn resources(&self) -> &[Resource] {
        &self.resources
    }

    /// The redirect URI the answer will go to.
    pub fn redirect_uri(&self) -> &str {
        &self.target.uri
    }

    /// The client's `state`, echoed back unchanged (AZ-12).
    pub fn state(&self) -> Option<&str> {
        self.target.state.as_deref()
    }

    /// The authorization request's parameters as (name, value) pairs, values decoded: what a
    /// consent form must send back (as hidden inputs, HTML-escaped) so that
    /// [`Server::authorize`](crate::Server::authorize) can re-validate the request on the form's
    /// POST. Only the parameters this endpoint defines are included, each once; unknown ones
    /// were ignored and stay so. Hosts should not list parameter names themselves: a parameter
    /// a later version defines is then carried along without a change to the form.
    ///
    /// ```
    /// # use oauth21::{AuthorizeOutcome, Client, MemoryStore, Request, Server, ServerConfig};
    /// # fn block_on<F: std::future::Future>(f: F) -> F::Output {
    /// #     let mut f = std::pin::pin!(f);
    /// #     let mut cx = std::task::Context::from_waker(std::task::Waker::noop());
    /// #     loop { if let std::task::Poll::Ready(v) = f.as_mut().poll(&mut cx) { return v; } }
    /// # }
    /// # let store = MemoryStore::new();
    /// # store.insert_client(Client::public("app").redirect_uri("http://127.0.0.1/cb").scope("read").build()?);
    /// # let server = Server::new(ServerConfig::builder("https://as.example").build()?, store);
    /// let query = "response_type=code&client_id=app&scope=read&state=a%26b&utm=x\
    ///     &code_challenge=E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM&code_challenge_method=S256";
    /// let AuthorizeOutcome::Consent(consent) = block_on(server.authorize(&Request::get(query))) else {
    ///     panic!()
    /// };
    /// let fields: Vec<_> = consent.form_fields().collect();
    /// assert!(fields.contains(&("state", "a&b")));
    /// assert!(!fields.iter().any(|(name, _)| *name == "utm"));
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn form_fields(&self) -> impl ExactSizeIterator<Item = (&'static str, &str)> + '_ {
        self.form.iter()
    }

    /// The redirect carrying `error` (for example `AccessDenied`) back to the client.
    pub(crate) fn error_response(&self, error: AuthorizeError, issuer: &Issuer) -> Response {
        self.target.error(error, issuer)
    }

    /// The parameters to keep for a pushed request: every defined one, as received.
    pub(crate) fn pushed_params(&self) -> Vec<(String, String)> {
        self.form.iter().map(|(name, value)| (name.to_owned(), value.to_owned())).collect()
    }

    /// This request as loaded from a pushed request: the consent form re-posts only
    /// `client_id` and `request_uri`, and completing it consumes the `request_uri`.
    pub(crate) fn with_pushed_origin(mut self, request_uri: &str, origin: PushedOrigin) -> Self {
        let client_id = self.client.id().clone();
        self.form =
            FormFields::from_pairs(|| [("client_id", client_id.as_str()), ("request_uri", request_uri)].into_iter());
        self.pushed = Some(origin);
        self
    }

    pub(crate) fn pushed(&self) -> Option<&PushedOrigin> {
        self.pushed.as_ref()
    }

    /// Makes the code record for an approval and the redirect that delivers the code.
    pub(crate) fn issue_code(
        &self,
        approval: &Approval,
        code: &AuthorizationCode,
        grant_id: GrantId,
        now: time::OffsetDateTime,
        config: &ServerConfig,
    ) -> (CodeRecord, Response) {
        let record = CodeRecord {
            hash: code.hash(),
            grant_id,
            client_id: self.client.id().clone(),
            redirect_uri: self.target.uri.clone(),
            code_challenge: self.code_challenge.clone(),
            scope: approval.granted_scope(&self.scope),
            subject: approval.subject.clone(),
            issued_at: now,
            expires_at: now + config.code_lifetime(),
            dpop_jkt: self.dpop_jkt.clone(),
            resources: approval.granted_resources(&self.resources),
        };
        let response = self.target.respond(&[("code", code.secret())], config.issuer());
        (record, response)
    }

    /// Checks that `approval` grants no more than was asked.
    pub(crate) fn check(&self, approval: &Approval) -> Result<(), ApprovalError> {
        approval.check_within(&self.scope, &self.resources)
    }
}

/// The resource owner's approval: who approved, and optionally a narrower scope (or fewer
/// resources) than asked.
#[derive(Debug, Clone)]
pub struct Approval {
    subject: Subject,
    scope: Option<Scope>,
    resources: Option<Vec<Resource>>,
}

impl Approval {
    /// `subject` approved everything the request asked for.
    pub fn new(subject: Subject) -> Self {
        Self { subject, scope: None, resources: None }
    }

    /// Grants only `scope`, which must be within what was asked.
    pub fn with_scope(mut self, scope: Scope) -> Self {
        self.scope = Some(scope);
        self
    }

    /// Grants only `resources` (RFC 8707), which must be among those asked for, and at least
    /// one when any was asked for (a request for named resources never falls back to the
    /// default audience).
    pub fn with_resources(mut self, resources: impl IntoIterator<Item = Resource>) -> Self {
        self.resources = Some(resources.into_iter().collect());
        self
    }

    /// The resource owner who approved.
    pub fn subject(&self) -> &Subject {
        &self.subject
    }

    /// The scope granted: the narrower one given, else everything `asked`.
    pub(crate) fn granted_scope(&self, asked: &Scope) -> Scope {
        self.scope.clone().unwrap_or_else(|| asked.clone())
    }

    /// The resources granted: the ones given, else everything `asked`.
    pub(crate) fn granted_resources(&self, asked: &[Resource]) -> Vec<Resource> {
        self.resources.clone().unwrap_or_else(|| asked.to_vec())
    }

    /// Checks that this approval grants no more than `scope` and `resources` asked for.
    pub(crate) fn check_within(&self, scope: &Scope, resources: &[Resource]) -> Result<(), ApprovalError> {
        if self.scope.as_ref().is_some_and(|granted| !granted.is_subset_of(scope)) {
            return Err(ApprovalError::ScopeNotRequested);
        }
        match &self.resources {
            Some(granted) if granted.is_empty() && !resources.is_empty() => Err(ApprovalError::NoResource),
            Some(granted) if !granted.iter().all(|r| resources.contains(r)) => Err(ApprovalError::ResourceNotRequested),
            _ => Ok(()),
        }
    }
}

/// The host asked for something the protocol cannot do: a bug in the host, not in the request.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum ApprovalError {
    /// The approval grants scope the client did not ask for.
    #[error("the approval grants scope the client did not ask for")]
    ScopeNotRequested,
    /// The approval grants a resource the client did not ask for.
    #[error("the approval grants a resource the client did not ask for")]
    ResourceNotRequested,
    /// The approval grants no resource, where the client asked for some.
    #[error("the approval grants none of the resources the client asked for")]
    NoResource,
    /// The approving subject is also a registered client id. A client_credentials token names
    /// its client as `sub`, so the user's tokens and the client's would be indistinguishable to
    /// a resource server (RFC 9068 §5; JWT-04). Give users subjects no client id can take.
    #[error("the subject is a registered client id")]
    SubjectIsAClientId,
}

/// What [`Server::authorize`](crate::Server::authorize) decided.
#[derive(Debug)]
#[must_use]
// Consent is the common outcome; boxing it would add an allocation to every valid request.
#[allow(clippy::large_enum_variant)]
#[non_exhaustive]
pub enum AuthorizeOutcome {
    /// The request is valid: ask the resource owner.
    Consent(ConsentRequest),
    /// The request failed. `response` is the redirect to the client, or an error page when the
    /// error may not be redirected; a host may render its own page from `error` instead.
    Error {
        /// What went wrong.
        error: AuthorizeError,
        /// The response to send.
        response: Response,
    },
}

impl AuthorizeOutcome {
    pub(crate) fn failed(failure: AuthorizeFailure, issuer: &Issuer) -> Self {
        Self::Error { error: failure.error(), response: failure.response(issuer) }
    }
}
