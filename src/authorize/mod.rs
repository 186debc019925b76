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

mod consent;
mod failure;

use crate::client::{Client, GrantType};
use crate::config::ServerConfig;
use crate::http::{Method, Params, Request};
use crate::pkce::CodeChallenge;
use crate::types::{ClientId, Scope};

use consent::FormFields;
pub(crate) use consent::PushedOrigin;
pub use consent::{Approval, ApprovalError, Approved, AuthorizeOutcome, ConsentRequest};
pub use failure::AuthorizeError;
pub(crate) use failure::AuthorizeFailure;
use failure::RedirectTarget;

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
            uri
        }
        (None, [only]) => only.as_str(),
        (None, []) => return Err(AuthorizeError::UnregisteredRedirectUri.into()),
        (None, _) => return Err(AuthorizeError::RedirectUriRequired.into()),
    };

    // From here on errors go back to the client.
    let state = params.get("state").ok().flatten();
    let target = RedirectTarget::new(redirect_uri, state, post);
    let fail = |error| AuthorizeFailure { error, target: Some(target.clone()) };

    // Every defined parameter in one pass over the request, in `DEFINED`'s order.
    let Ok(values) = params.defined(&DEFINED) else {
        return Err(fail(AuthorizeError::InvalidRequest("a parameter appears more than once")));
    };
    let [_client_id, _redirect_uri, response_type, scope, _state, code_challenge, code_challenge_method, dpop_jkt] =
        values;

    match response_type {
        None => return Err(fail(AuthorizeError::InvalidRequest("response_type is required"))),
        Some("code") => {}
        Some(_) => return Err(fail(AuthorizeError::UnsupportedResponseType)),
    }
    if !client.allows_grant(GrantType::AuthorizationCode) {
        return Err(fail(AuthorizeError::UnauthorizedClient));
    }

    let code_challenge = CodeChallenge::from_request(code_challenge, code_challenge_method)
        .map_err(|e| fail(AuthorizeError::Pkce(e)))?;

    let scope = match scope {
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
    let dpop_jkt = dpop_jkt.map(str::to_owned);
    let thumbprint = |t: &str| t.len() == 43 && crate::bytes::BASE64URL.contains_all(t.as_bytes());
    if dpop_jkt.as_deref().is_some_and(|t| !thumbprint(t)) {
        return Err(fail(AuthorizeError::InvalidRequest("dpop_jkt must be a JWK SHA-256 thumbprint")));
    }

    // RI-01: the syntax here; whether the client may ask for each is the server's to ask
    // (registration, default audience, host policy).
    let resources = crate::audience::read_all(params).map_err(|why| fail(AuthorizeError::InvalidTarget(why)))?;

    // Every defined parameter as received, for the host's consent form to send back: a new
    // parameter joins `DEFINED` and reaches every host's form without a change there.
    let form = FormFields::from_pairs(|| {
        let defined = DEFINED.iter().zip(values).filter_map(|(name, value)| value.map(|value| (*name, value)));
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
