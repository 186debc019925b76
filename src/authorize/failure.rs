//! Why an authorization request failed, and where the answer goes: an error page, or a
//! redirect to the client once its redirect URI is known good.

use crate::error::ErrorCode;
use crate::http::{ParamError, Response, append_form_component};
use crate::pkce::PkceError;
use crate::types::Issuer;

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
pub(super) struct RedirectTarget {
    /// The redirect URI, then the `state` when there is one: one allocation for both.
    text: String,
    uri_end: usize,
    has_state: bool,
    see_other: bool,
}

impl RedirectTarget {
    pub(super) fn new(uri: &str, state: Option<&str>, see_other: bool) -> Self {
        let mut text = String::with_capacity(uri.len() + state.map_or(0, str::len));
        text.push_str(uri);
        text.push_str(state.unwrap_or_default());
        Self { text, uri_end: uri.len(), has_state: state.is_some(), see_other }
    }

    pub(super) fn uri(&self) -> &str {
        &self.text[..self.uri_end]
    }

    pub(super) fn state(&self) -> Option<&str> {
        self.has_state.then(|| &self.text[self.uri_end..])
    }

    /// Redirects with `params` plus `state` and `iss` in the query (AZ-12, AZ-13, AZ-14).
    pub(super) fn respond(&self, params: &[(&str, &str)], issuer: &Issuer) -> Response {
        let state = self.state().map(|state| ("state", state));
        let all = params.iter().copied().chain(state).chain([("iss", issuer.as_str())]);
        // Escaping at most triples a byte; reserve for the usual case, where little is escaped.
        let estimate = self.uri().len() + all.clone().map(|(n, v)| n.len() + v.len() * 3 / 2 + 2).sum::<usize>();
        let mut location = String::with_capacity(estimate);
        location.push_str(self.uri());
        // Keep any query the registered URI has; never use the fragment (AZ-14).
        let mut separator = if self.uri().contains('?') { '&' } else { '?' };
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

    pub(super) fn error(&self, error: AuthorizeError, issuer: &Issuer) -> Response {
        let description = error.to_string();
        self.respond(&[("error", error.code().as_str()), ("error_description", &description)], issuer)
    }
}

/// A failed authorization request: the error and where (if anywhere) it may be redirected.
#[derive(Debug, Clone)]
pub(crate) struct AuthorizeFailure {
    pub(super) error: AuthorizeError,
    pub(super) target: Option<RedirectTarget>,
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

#[cfg(test)]
mod tests {
    use super::*;

    /// The URI and `state` share one string; an empty `state` is still one to echo (AZ-12).
    #[test]
    fn az12_a_target_keeps_its_uri_and_state_apart_and_an_empty_state_is_echoed() {
        let issuer = Issuer::new("https://as.example").unwrap();
        let with = RedirectTarget::new("https://app.example/cb?x=1", Some("s&t"), false);
        assert_eq!((with.uri(), with.state()), ("https://app.example/cb?x=1", Some("s&t")));
        let location = with.respond(&[("code", "c")], &issuer).location().unwrap().to_owned();
        assert_eq!(location, "https://app.example/cb?x=1&code=c&state=s%26t&iss=https%3A%2F%2Fas.example");

        let empty = RedirectTarget::new("https://app.example/cb", Some(""), true);
        assert_eq!(empty.state(), Some(""));
        let response = empty.respond(&[], &issuer);
        assert_eq!(response.status(), 303);
        assert_eq!(response.location(), Some("https://app.example/cb?state=&iss=https%3A%2F%2Fas.example"));

        let without = RedirectTarget::new("https://app.example/cb", None, false);
        assert_eq!((without.uri(), without.state()), ("https://app.example/cb", None));
        assert_eq!(
            without.respond(&[], &issuer).location(),
            Some("https://app.example/cb?iss=https%3A%2F%2Fas.example")
        );
    }
}
