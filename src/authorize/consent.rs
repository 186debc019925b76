//! A validated request waiting for the user ([`ConsentRequest`]), the host's answer
//! ([`Approval`]), and what approving returns.

use super::failure::{AuthorizeError, AuthorizeFailure, RedirectTarget};
use crate::client::Client;
use crate::config::ServerConfig;
use crate::http::Response;
use crate::pkce::CodeChallenge;
use crate::store::CodeRecord;
use crate::types::{GrantId, Issuer, Minted, Resource, Scope, Subject, TokenHash};

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
    pub(super) client: Client,
    pub(super) scope: Scope,
    pub(super) code_challenge: CodeChallenge,
    pub(super) target: RedirectTarget,
    pub(super) form: FormFields,
    pub(super) dpop_jkt: Option<String>,
    pub(super) pushed: Option<PushedOrigin>,
    pub(super) resources: Vec<Resource>,
}

/// The parameters a consent form sends back, as received: every value in one string, so a
/// request costs two allocations however many parameters it has.
#[derive(Debug, Clone)]
pub(super) struct FormFields {
    text: String,
    /// Each field's name and the end of its value in `text` (it starts where the last ended).
    fields: Vec<(&'static str, usize)>,
}

impl FormFields {
    /// `pairs` is walked twice: once to size the allocations, once to fill them.
    pub(super) fn from_pairs<'v, I: Iterator<Item = (&'static str, &'v str)>>(pairs: impl Fn() -> I) -> Self {
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
        self.target.uri()
    }

    /// The client's `state`, echoed back unchanged (AZ-12).
    pub fn state(&self) -> Option<&str> {
        self.target.state()
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
        code: &Minted,
        grant_id: GrantId,
        now: time::OffsetDateTime,
        config: &ServerConfig,
    ) -> (CodeRecord, Response) {
        let record = CodeRecord {
            hash: code.hash(),
            grant_id,
            client_id: self.client.id().clone(),
            redirect_uri: self.target.uri().to_owned(),
            code_challenge: self.code_challenge.clone(),
            scope: approval.granted_scope(&self.scope),
            subject: approval.subject.clone(),
            issued_at: now,
            expires_at: now + config.code_lifetime(),
            dpop_jkt: self.dpop_jkt.clone(),
            resources: approval.granted_resources(&self.resources),
        };
        let response = self.target.respond(&[("code", code.as_str())], config.issuer());
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
