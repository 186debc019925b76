//! The token endpoint (TK-01..TK-11): request reading, client authentication, grant dispatch,
//! and the success and error answers. One submodule per grant.

pub(crate) mod authorization_code;
pub(crate) mod client_credentials;
pub(crate) mod refresh;

use crate::client::{ClientAuthError, Credentials, GrantType, read_credentials};
use crate::config::ServerConfig;
use crate::error::{ErrorCode, error_body};
use crate::http::{JsonObject, Method, ParamError, Params, Request, Response};
use crate::jwt::{self, IssuedClaims};
use crate::provider::RandomError;
use crate::store::{AccessTokenRecord, GrantRecord, NewGrant, RefreshTokenRecord, StoreError, StoreErrorKind};
use crate::types::{ClientId, GrantId, Minted, Resource, Scope, Subject, TokenHash};

/// Every parameter the token endpoint defines for the grants it knows; each may appear at most
/// once (TK-02).
const DEFINED: [&str; 11] = [
    "device_code",
    "grant_type",
    "client_id",
    "client_secret",
    "client_assertion",
    "client_assertion_type",
    "code",
    "code_verifier",
    "redirect_uri",
    "scope",
    "refresh_token",
];

/// Why a token request failed. Each case knows its error code and HTTP status (TK-08, TK-11).
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum TokenError {
    /// Not a POST (TK-01): 405 with `Allow: POST`.
    #[error("the token endpoint accepts only POST")]
    MethodNotAllowed,
    /// The body is not declared as a form (TK-01).
    #[error("Content-Type must be application/x-www-form-urlencoded")]
    UnsupportedContentType,
    /// The body could not be read (size, encoding, UTF-8; TK-01, SEC-08).
    #[error("{0}")]
    Unreadable(ParamError),
    /// A parameter is missing, repeated or malformed: `invalid_request`.
    #[error("{0}")]
    InvalidRequest(&'static str),
    /// Client authentication failed or was malformed (TK-04..TK-08).
    #[error("{0}")]
    ClientAuth(ClientAuthError),
    /// The code (or token) is invalid, expired, used, or bound to something else.
    #[error("{0}")]
    InvalidGrant(&'static str),
    /// The client may not use this grant type (TK-03).
    #[error("the client may not use this grant type")]
    UnauthorizedClient,
    /// The grant type is unknown or not supported (TK-03).
    #[error("the grant type is not supported")]
    UnsupportedGrantType,
    /// The scope is malformed or not allowed.
    #[error("{0}")]
    InvalidScope(&'static str),
    /// The server failed; nothing was issued.
    #[error("the authorization server failed to complete the request")]
    ServerError,
    /// The store is unavailable; nothing was issued and the request may be retried.
    #[error("the authorization server is temporarily unavailable")]
    TemporarilyUnavailable,
    /// The DPoP proof is missing where required, malformed, stale, replayed, or of the wrong
    /// key (DP-01, DP-02, DP-06, DP-12): `invalid_dpop_proof`.
    #[error("{0}")]
    InvalidDpopProof(&'static str),
    /// The server requires a fresh nonce in the DPoP proof (DP-03): `use_dpop_nonce`, with the
    /// nonce to use in a `DPoP-Nonce` header.
    #[error("a fresh DPoP nonce is required")]
    UseDpopNonce,
    /// The `resource` is malformed, repeated, not allowed for the client, or not within the
    /// grant (RI-01..RI-03): `invalid_target`.
    #[error("{0}")]
    InvalidTarget(&'static str),
    /// The user has not approved or denied the device request yet (DG-02):
    /// `authorization_pending`.
    #[error("the user has not decided yet")]
    AuthorizationPending,
    /// The device polls faster than its interval, which grew by 5 s (DG-02): `slow_down`.
    #[error("polling too fast: the interval grew by 5 seconds")]
    SlowDown,
    /// The `device_code` expired (DG-02): `expired_token`.
    #[error("the device code expired")]
    ExpiredToken,
    /// The user denied the device request (DG-02): `access_denied`.
    #[error("the user denied the request")]
    AccessDenied,
}

impl TokenError {
    /// The OAuth error code.
    pub fn code(&self) -> ErrorCode {
        match self {
            Self::ClientAuth(ClientAuthError::Failed { .. }) => ErrorCode::InvalidClient,
            Self::InvalidGrant(_) => ErrorCode::InvalidGrant,
            Self::UnauthorizedClient => ErrorCode::UnauthorizedClient,
            Self::UnsupportedGrantType => ErrorCode::UnsupportedGrantType,
            Self::InvalidScope(_) => ErrorCode::InvalidScope,
            Self::ServerError => ErrorCode::ServerError,
            Self::TemporarilyUnavailable => ErrorCode::TemporarilyUnavailable,
            Self::InvalidDpopProof(_) => ErrorCode::InvalidDpopProof,
            Self::UseDpopNonce => ErrorCode::UseDpopNonce,
            Self::InvalidTarget(_) => ErrorCode::InvalidTarget,
            Self::AuthorizationPending => ErrorCode::AuthorizationPending,
            Self::SlowDown => ErrorCode::SlowDown,
            Self::ExpiredToken => ErrorCode::ExpiredToken,
            Self::AccessDenied => ErrorCode::AccessDenied,
            _ => ErrorCode::InvalidRequest,
        }
    }

    /// The HTTP status: 400 unless stated (TK-11); 401 for `invalid_client` when the
    /// `Authorization` header was used (TK-08).
    pub fn status(&self) -> u16 {
        match self {
            Self::MethodNotAllowed => 405,
            Self::ClientAuth(ClientAuthError::Failed { header: true, .. }) => 401,
            Self::ServerError => 500,
            Self::TemporarilyUnavailable => 503,
            _ => 400,
        }
    }

    /// The JSON error answer, with `Cache-Control: no-store` (TK-10).
    pub fn response(&self) -> Response {
        let mut response = Response::json(self.status(), error_body(self.code(), &self.to_string()));
        match self.status() {
            401 => response = response.with_header("WWW-Authenticate", r#"Basic realm="oauth", charset="UTF-8""#),
            405 => response = response.with_header("Allow", "POST"),
            _ => {}
        }
        response
    }
}

impl From<ClientAuthError> for TokenError {
    fn from(e: ClientAuthError) -> Self {
        Self::ClientAuth(e)
    }
}

impl From<StoreError> for TokenError {
    fn from(e: StoreError) -> Self {
        match e {
            e if e.kind() == StoreErrorKind::Unavailable => Self::TemporarilyUnavailable,
            _ => Self::ServerError,
        }
    }
}

impl From<RandomError> for TokenError {
    fn from(_: RandomError) -> Self {
        Self::ServerError
    }
}

/// A token request read and checked up to the point where the client's registration is needed.
#[derive(Debug)]
pub(crate) struct TokenRequest<'a> {
    pub(crate) params: Params<'a>,
    pub(crate) grant: GrantType,
    pub(crate) credentials: Credentials,
    /// The one resource (RFC 8707) the access token is for, when the request names one.
    pub(crate) resource: Option<Resource>,
}

/// Reads the form body of a POST to an endpoint where clients authenticate (token,
/// revocation, introspection): POST only, a form body, nothing defined in the query (TK-04),
/// no defined parameter twice (TK-02). `repeatable` names parameters that are defined too (so
/// refused in the query) but may appear more than once (`resource`), or whose repetition the
/// caller answers itself.
pub(crate) fn read_form_post<'a>(
    request: &Request<'a>,
    config: &ServerConfig,
    defined: &[&'static str],
    repeatable: &[&'static str],
) -> Result<Params<'a>, TokenError> {
    if request.method() != Method::Post {
        return Err(TokenError::MethodNotAllowed);
    }
    // Two `Authorization` (or `DPoP`) headers are two credentials: refused, never resolved by
    // picking one (TK-07).
    match request.repeated_header() {
        Some("DPoP") => return Err(TokenError::InvalidDpopProof("more than one DPoP header")),
        Some(_) => return Err(TokenError::InvalidRequest("a header was sent more than once")),
        None => {}
    }
    if !request.has_form_content_type() {
        return Err(TokenError::UnsupportedContentType);
    }
    let limit = config.max_request_bytes();
    let query = Params::parse(request.query(), limit).map_err(TokenError::Unreadable)?;
    if query.contains_any(&["client_id", "client_secret", "client_assertion", "client_assertion_type"]) {
        return Err(ClientAuthError::CredentialsInQuery.into());
    }
    if query.contains_any(defined) || query.contains_any(repeatable) {
        return Err(TokenError::InvalidRequest("parameters must be sent in the request body, not the URI query"));
    }
    let params = Params::parse(request.body(), limit).map_err(TokenError::Unreadable)?;
    if params.first_repeated(defined).is_some() {
        return Err(TokenError::InvalidRequest("a parameter appears more than once"));
    }
    Ok(params)
}

/// Reads a token request (TK-01..TK-04, TK-07).
pub(crate) fn parse<'a>(request: &Request<'a>, config: &ServerConfig) -> Result<TokenRequest<'a>, TokenError> {
    let params = read_form_post(request, config, &DEFINED, &["resource"])?;
    let grant = match params.get("grant_type").ok().flatten() {
        None => return Err(TokenError::InvalidRequest("grant_type is required")),
        // The device grant exists only while the device flow is on (MD-06: only what is listed).
        Some(text) => GrantType::parse(text)
            .filter(|grant| *grant != GrantType::DeviceCode || config.device_verification_uri().is_some())
            .ok_or(TokenError::UnsupportedGrantType)?,
    };
    let credentials = read_credentials(request, &params)?;
    let resource = crate::audience::read_one(&params).map_err(TokenError::InvalidTarget)?;
    Ok(TokenRequest { params, grant, credentials, resource })
}

/// The access token of one response, made before its record: an opaque random token, or a JWT
/// already signed, whose `jti` is the same kind of 256 random bits; and the DPoP key it is
/// bound to, if any.
pub(crate) struct NewAccess {
    pub(crate) token: AccessText,
    pub(crate) jkt: Option<String>,
    /// The token's one audience (RI-02), if it has one.
    pub(crate) audience: Option<String>,
}

/// The text of a new access token.
pub(crate) enum AccessText {
    Opaque(Minted),
    Jwt { jwt: String, jti: Minted },
}

impl AccessText {
    /// The token as the client gets it: base64url characters (and a JWT's dots), as bytes,
    /// since a minted token's need no UTF-8 check.
    fn as_bytes(&self) -> &[u8] {
        match self {
            Self::Opaque(token) => token.as_bytes(),
            Self::Jwt { jwt, .. } => jwt.as_bytes(),
        }
    }
}

impl NewAccess {
    /// `token_type` of the answer: `DPoP` for a bound token (DP-04), else `Bearer`.
    pub(crate) fn token_type(&self) -> &'static str {
        if self.jkt.is_some() { "DPoP" } else { "Bearer" }
    }
}

/// The claims of a JWT access token (JWT-02), as the payload to sign. The audience is the
/// requested resource or the configured default; the config builder refuses JWTs without a
/// default (JWT-03), so `None` is a client with a JWT override on a server without one.
#[allow(clippy::too_many_arguments)]
pub(crate) fn jwt_payload(
    config: &ServerConfig,
    subject: &Subject,
    client_id: &ClientId,
    scope: &Scope,
    validity: Validity,
    jti: &str,
    jkt: Option<&str>,
    audience: Option<&str>,
) -> Result<Vec<u8>, TokenError> {
    let claims = IssuedClaims {
        iss: config.issuer().as_str(),
        sub: subject.as_str(),
        aud: audience.ok_or(TokenError::ServerError)?,
        client_id: client_id.as_str(),
        iat: validity.issued_at.unix_timestamp(),
        exp: validity.expires_at.unix_timestamp(),
        jti,
        scope: (!scope.is_empty()).then(|| scope.to_string()),
        cnf: jkt.map(|jkt| jwt::Confirmation { jkt }),
    };
    serde_json::to_vec(&claims).map_err(|_| TokenError::ServerError)
}

/// When an access token is issued and when it ends.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Validity {
    pub(crate) issued_at: time::OffsetDateTime,
    pub(crate) expires_at: time::OffsetDateTime,
}

impl Validity {
    /// The configured access-token lifetime from `now`, cut at `grant_end` when the token belongs
    /// to a grant that ends sooner: no token outlives its grant, so revoking the grant (or its
    /// subject) always reaches every live token through the grant's index entries.
    pub(crate) fn access(
        config: &ServerConfig,
        now: time::OffsetDateTime,
        grant_end: Option<time::OffsetDateTime>,
    ) -> Self {
        let end = now + config.access_token_lifetime();
        Self { issued_at: now, expires_at: grant_end.map_or(end, |grant_end| end.min(grant_end)) }
    }
}

/// The access token and its record. A JWT's record is stored under the digest of its `jti`.
pub(crate) fn mint_access(
    access: NewAccess,
    grant_id: &GrantId,
    client_id: &ClientId,
    subject: &Subject,
    scope: &Scope,
    validity: Validity,
) -> (AccessText, AccessTokenRecord) {
    let hash = match &access.token {
        AccessText::Opaque(token) => token.hash(),
        AccessText::Jwt { jti, .. } => TokenHash::of_jwt_id(jti.as_str()),
    };
    let record = AccessTokenRecord {
        hash,
        grant_id: grant_id.clone(),
        client_id: client_id.clone(),
        subject: subject.clone(),
        scope: scope.clone(),
        audience: access.audience,
        issued_at: validity.issued_at,
        expires_at: validity.expires_at,
        jkt: access.jkt,
    };
    (access.token, record)
}

/// Who authorized what: the grant a code redemption or a device-code redemption creates.
pub(crate) struct Authorization<'a> {
    pub(crate) grant_id: &'a GrantId,
    pub(crate) client_id: &'a ClientId,
    pub(crate) subject: &'a Subject,
    pub(crate) scope: &'a Scope,
    pub(crate) resources: &'a [Resource],
    pub(crate) authorized_at: time::OffsetDateTime,
}

/// The grant to create and the answer to send for an authorization redeemed at the token
/// endpoint. The grant's refresh tokens end `refresh_token_lifetime` after this first token
/// response, whatever rotations follow (RT-09).
pub(crate) fn issue_grant(
    authorization: Authorization<'_>,
    config: &ServerConfig,
    validity: Validity,
    access: NewAccess,
    refresh: Option<&Minted>,
) -> (NewGrant, Response) {
    let Authorization { grant_id, client_id, subject, scope, resources, authorized_at } = authorization;
    let now = validity.issued_at;
    let grant_end = now + config.refresh_token_lifetime();
    let (token_type, jkt) = (access.token_type(), access.jkt.clone());
    let (access, access_record) = mint_access(access, grant_id, client_id, subject, scope, validity);
    let refresh_record = refresh.map(|token| RefreshTokenRecord {
        hash: token.hash(),
        grant_id: grant_id.clone(),
        client_id: client_id.clone(),
        subject: subject.clone(),
        scope: scope.clone(),
        issued_at: now,
        expires_at: config.refresh_token_idle_timeout().map_or(grant_end, |idle| (now + idle).min(grant_end)),
        grant_expires_at: grant_end,
        rotated_at: None,
        jkt,
        resources: resources.to_vec(),
    });
    let grant = GrantRecord {
        grant_id: grant_id.clone(),
        client_id: client_id.clone(),
        subject: subject.clone(),
        scope: scope.clone(),
        authorized_at,
        expires_at: if refresh.is_some() { grant_end } else { access_record.expires_at },
        resources: resources.to_vec(),
    };
    let response = success(&access, token_type, access_record.expires_at - now, refresh, scope);
    (NewGrant { grant, access: access_record, refresh: refresh_record }, response)
}

/// The successful token answer (TK-09, TK-10): absent members are omitted, never null.
pub(crate) fn success(
    access: &AccessText,
    token_type: &'static str,
    expires_in: time::Duration,
    refresh: Option<&Minted>,
    scope: &Scope,
) -> Response {
    let access = access.as_bytes();
    let refresh = refresh.map(|r| &r.as_bytes()[..]);
    let scope = scope.as_bytes();
    // Sized for the whole answer up front: one allocation.
    let estimate = 96 + access.len() + refresh.map_or(0, |r| r.len() + 20) + scope.len();
    let mut body = JsonObject::with_capacity(estimate);
    body.text("access_token", access)
        .string("token_type", token_type)
        .integer("expires_in", expires_in.whole_seconds())
        .optional_text("refresh_token", refresh)
        .optional_text("scope", (!scope.is_empty()).then_some(scope));
    Response::json(200, body.finish())
}

#[cfg(test)]
mod tests {
    use super::*;

    /// TK-09's answer is written into one buffer sized up front: never regrown (a regrown buffer
    /// has at least doubled) and never far larger than the answer.
    #[test]
    fn tk09_the_token_answer_fills_a_buffer_sized_for_it_up_front() {
        let minted = Minted::from_random(&[1; 32]);
        let opaque = (AccessText::Opaque(minted), minted.as_str().to_owned());
        let jwt = (AccessText::Jwt { jwt: "e".repeat(700), jti: Minted::from_random(&[3; 32]) }, "e".repeat(700));
        let refresh = Minted::from_random(&[2; 32]);
        let long_scope = (0..8).map(|i| format!("scope-{i}:with-a-long-name")).collect::<Vec<_>>().join(" ");
        let long_scope = Scope::parse(&long_scope).unwrap();
        assert_eq!(long_scope.as_str().len(), 8 * 24 + 7);
        for (access, text) in [&opaque, &jwt] {
            for refresh in [None, Some(&refresh)] {
                for scope in [Scope::parse("read").unwrap(), long_scope.clone(), Scope::default()] {
                    let response = success(access, "Bearer", time::Duration::seconds(3600), refresh, &scope);
                    let (status, _, body) = response.into_parts();
                    assert_eq!(status, 200);
                    let spare = body.capacity() - body.len();
                    assert!(spare <= 40, "{spare} bytes spare for a {}-byte answer", body.len());
                    let json: serde_json::Value = serde_json::from_slice(&body).unwrap();
                    assert_eq!(json["access_token"], text.as_str());
                    assert_eq!(json.get("refresh_token").and_then(|r| r.as_str()), refresh.map(Minted::as_str));
                }
            }
        }
    }
}
