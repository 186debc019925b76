//! The OAuth error codes shared by every endpoint, and the JSON error body (TK-11).
//!
//! Each endpoint has its own `#[non_exhaustive]` error enum that knows its code, its HTTP status
//! and whether it may be redirected: [`AuthorizeError`](crate::authorize::AuthorizeError),
//! [`TokenError`](crate::token::TokenError) and [`ClientAuthError`](crate::client::ClientAuthError).
//! Error descriptions are fixed text chosen here, so they always stay within the characters the
//! specification allows (`%x20-21 / %x23-5B / %x5D-7E`) and never echo input back.

use serde::Serialize;

/// An error code from OAuth 2.1 (§3.2.4, §4.1.2.1).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum ErrorCode {
    /// `invalid_request`
    InvalidRequest,
    /// `invalid_client`
    InvalidClient,
    /// `invalid_grant`
    InvalidGrant,
    /// `unauthorized_client`
    UnauthorizedClient,
    /// `unsupported_grant_type`
    UnsupportedGrantType,
    /// `invalid_scope`
    InvalidScope,
    /// `access_denied`
    AccessDenied,
    /// `unsupported_response_type`
    UnsupportedResponseType,
    /// `server_error`
    ServerError,
    /// `temporarily_unavailable`
    TemporarilyUnavailable,
    /// `invalid_dpop_proof` (RFC 9449 §5): the DPoP proof is missing, malformed, or wrong.
    InvalidDpopProof,
    /// `use_dpop_nonce` (RFC 9449 §8): the server requires a (fresh) nonce in the proof.
    UseDpopNonce,
    /// `invalid_target` (RFC 8707 §2): the requested resource is malformed, not allowed for the
    /// client, or not within the grant.
    InvalidTarget,
    /// `invalid_redirect_uri` (RFC 7591 §3.2.2): a registration's redirect URI is refused.
    InvalidRedirectUri,
    /// `invalid_client_metadata` (RFC 7591 §3.2.2): a registration's metadata is refused.
    InvalidClientMetadata,
    /// `authorization_pending` (RFC 8628 §3.5): the user has not decided yet.
    AuthorizationPending,
    /// `slow_down` (RFC 8628 §3.5): pending, and polled too often; the interval grew by 5 s.
    SlowDown,
    /// `expired_token` (RFC 8628 §3.5): the `device_code` expired.
    ExpiredToken,
}

impl ErrorCode {
    /// The code as it appears on the wire.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::InvalidRequest => "invalid_request",
            Self::InvalidClient => "invalid_client",
            Self::InvalidGrant => "invalid_grant",
            Self::UnauthorizedClient => "unauthorized_client",
            Self::UnsupportedGrantType => "unsupported_grant_type",
            Self::InvalidScope => "invalid_scope",
            Self::AccessDenied => "access_denied",
            Self::UnsupportedResponseType => "unsupported_response_type",
            Self::ServerError => "server_error",
            Self::TemporarilyUnavailable => "temporarily_unavailable",
            Self::InvalidDpopProof => "invalid_dpop_proof",
            Self::UseDpopNonce => "use_dpop_nonce",
            Self::InvalidTarget => "invalid_target",
            Self::InvalidRedirectUri => "invalid_redirect_uri",
            Self::InvalidClientMetadata => "invalid_client_metadata",
            Self::AuthorizationPending => "authorization_pending",
            Self::SlowDown => "slow_down",
            Self::ExpiredToken => "expired_token",
        }
    }

    /// Every code, for tests and for callers that map codes to their own types. A slice, so
    /// that a new code is not a breaking change.
    pub const ALL: &'static [ErrorCode] = &[
        Self::InvalidRequest,
        Self::InvalidClient,
        Self::InvalidGrant,
        Self::UnauthorizedClient,
        Self::UnsupportedGrantType,
        Self::InvalidScope,
        Self::AccessDenied,
        Self::UnsupportedResponseType,
        Self::ServerError,
        Self::TemporarilyUnavailable,
        Self::InvalidDpopProof,
        Self::UseDpopNonce,
        Self::InvalidTarget,
        Self::InvalidRedirectUri,
        Self::InvalidClientMetadata,
        Self::AuthorizationPending,
        Self::SlowDown,
        Self::ExpiredToken,
    ];
}

impl std::fmt::Display for ErrorCode {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Whether `text` only holds the characters allowed in `error_description` (TK-11, AZ-14).
pub fn is_valid_description(text: &str) -> bool {
    text.bytes().all(|b| matches!(b, 0x20..=0x21 | 0x23..=0x5b | 0x5d..=0x7e))
}

/// The JSON error body `{"error": ..., "error_description": ...}`.
pub(crate) fn error_body(code: ErrorCode, description: &str) -> Vec<u8> {
    #[derive(Serialize)]
    struct Body<'a> {
        error: &'static str,
        #[serde(skip_serializing_if = "str::is_empty")]
        error_description: &'a str,
    }
    debug_assert!(is_valid_description(description), "description outside the allowed charset");
    serde_json::to_vec(&Body { error: code.as_str(), error_description: description })
        .unwrap_or_else(|_| br#"{"error":"server_error"}"#.to_vec())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tk11_error_body_is_json_with_error_and_description() {
        let body = error_body(ErrorCode::InvalidGrant, "the code has expired");
        let v: serde_json::Value = serde_json::from_slice(&body).unwrap();
        assert_eq!(v["error"], "invalid_grant");
        assert_eq!(v["error_description"], "the code has expired");
        let body = error_body(ErrorCode::InvalidClient, "");
        assert_eq!(body, br#"{"error":"invalid_client"}"#);
    }

    #[test]
    fn tk11_description_charset() {
        assert!(is_valid_description("plain text, with: punctuation!"));
        assert!(!is_valid_description("quote \" inside"));
        assert!(!is_valid_description("back\\slash"));
        assert!(!is_valid_description("new\nline"));
    }
}
